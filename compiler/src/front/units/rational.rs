//! Exact rational numbers for dimension exponents (`sqrt` halves, `^ (1/3)`).

use serde::Serialize;
use std::fmt;

/// A normalised fraction: `den > 0`, `gcd(num, den) == 1`, so structural
/// equality is numeric equality.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Rational {
    num: i32,
    den: i32,
}

fn gcd(mut a: i64, mut b: i64) -> i64 {
    a = a.abs();
    b = b.abs();
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

impl Rational {
    pub const ZERO: Rational = Rational { num: 0, den: 1 };
    pub const ONE: Rational = Rational { num: 1, den: 1 };

    /// `None` when `den == 0` or the normalised value overflows `i32`.
    pub fn new(num: i64, den: i64) -> Option<Rational> {
        if den == 0 {
            return None;
        }
        let g = gcd(num, den).max(1);
        let sign = if den < 0 { -1 } else { 1 };
        let (n, d) = (sign * num / g, sign * den / g);
        Some(Rational {
            num: i32::try_from(n).ok()?,
            den: i32::try_from(d).ok()?,
        })
    }

    pub fn int(n: i32) -> Rational {
        Rational { num: n, den: 1 }
    }
    pub fn num(self) -> i32 {
        self.num
    }
    pub fn den(self) -> i32 {
        self.den
    }
    pub fn is_zero(self) -> bool {
        self.num == 0
    }
    pub fn is_integer(self) -> bool {
        self.den == 1
    }
    pub fn to_f64(self) -> f64 {
        f64::from(self.num) / f64::from(self.den)
    }

    /// The exact rational equal to `x`, if `x` has a small denominator
    /// (exponents written as `0.5` or `1.5`); `None` otherwise.
    pub fn from_f64(x: f64) -> Option<Rational> {
        if !x.is_finite() {
            return None;
        }
        for den in 1..=12i64 {
            let n = x * den as f64;
            if (n - n.round()).abs() < 1e-9 && n.abs() < f64::from(i32::MAX) {
                return Rational::new(n.round() as i64, den);
            }
        }
        None
    }

    pub fn checked_add(self, o: Rational) -> Option<Rational> {
        Rational::new(
            i64::from(self.num) * i64::from(o.den) + i64::from(o.num) * i64::from(self.den),
            i64::from(self.den) * i64::from(o.den),
        )
    }
    pub fn checked_mul(self, o: Rational) -> Option<Rational> {
        Rational::new(
            i64::from(self.num) * i64::from(o.num),
            i64::from(self.den) * i64::from(o.den),
        )
    }
    pub fn negated(self) -> Rational {
        Rational {
            num: -self.num,
            den: self.den,
        }
    }
}

impl fmt::Display for Rational {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.den == 1 {
            write!(f, "{}", self.num)
        } else {
            write!(f, "{}/{}", self.num, self.den)
        }
    }
}
