//! Physical dimensions: exponents over the seven SI base dimensions plus one
//! symbolic variable, `[w]` (the unit of a projection's weight, known only
//! when a synapse model is instantiated by a projection).

use super::rational::Rational;
use serde::Serialize;
use std::fmt;

/// The SI base dimensions, in the fixed order used by [`Dimension`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum Base {
    Length,
    Mass,
    Time,
    Current,
    Temperature,
    Amount,
    Luminosity,
}

impl Base {
    pub const ALL: [Base; 7] = [
        Base::Length,
        Base::Mass,
        Base::Time,
        Base::Current,
        Base::Temperature,
        Base::Amount,
        Base::Luminosity,
    ];
    /// The SI base unit symbol (with `kg` for mass, as SI does).
    pub fn si_symbol(self) -> &'static str {
        match self {
            Base::Length => "m",
            Base::Mass => "kg",
            Base::Time => "s",
            Base::Current => "A",
            Base::Temperature => "K",
            Base::Amount => "mol",
            Base::Luminosity => "cd",
        }
    }
}

/// Exponents are stored densely (seven fixed slots + the `[w]` slot), so
/// derived `PartialEq` is structural equality of dimensions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Dimension {
    base: [Rational; 7],
    /// Exponent of the weight-unit variable `[w]`.
    weight: Rational,
}

/// Exponent arithmetic overflowed `i32` (only reachable with absurd powers).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Overflow;

impl Dimension {
    pub const NONE: Dimension = Dimension {
        base: [Rational::ZERO; 7],
        weight: Rational::ZERO,
    };

    pub fn base(b: Base) -> Dimension {
        Dimension::NONE.with(b, Rational::ONE)
    }
    /// The symbolic weight dimension `[w]`.
    pub fn weight_var() -> Dimension {
        Dimension {
            weight: Rational::ONE,
            ..Dimension::NONE
        }
    }
    /// `self` with base `b`'s exponent replaced by `e`.
    pub fn with(mut self, b: Base, e: Rational) -> Dimension {
        self.base[b as usize] = e;
        self
    }
    pub fn exponent(&self, b: Base) -> Rational {
        self.base[b as usize]
    }
    pub fn weight_exponent(&self) -> Rational {
        self.weight
    }
    pub fn is_dimensionless(&self) -> bool {
        *self == Dimension::NONE
    }
    /// Whether the dimension still mentions `[w]`.
    pub fn has_weight_var(&self) -> bool {
        !self.weight.is_zero()
    }

    fn zip(
        self,
        o: Dimension,
        f: impl Fn(Rational, Rational) -> Option<Rational>,
    ) -> Result<Dimension, Overflow> {
        let mut out = Dimension::NONE;
        for i in 0..7 {
            out.base[i] = f(self.base[i], o.base[i]).ok_or(Overflow)?;
        }
        out.weight = f(self.weight, o.weight).ok_or(Overflow)?;
        Ok(out)
    }
    // Not `std::ops::Mul`: exponent overflow is reported, not panicked on.
    #[allow(clippy::should_implement_trait)]
    pub fn mul(self, o: Dimension) -> Result<Dimension, Overflow> {
        self.zip(o, Rational::checked_add)
    }
    #[allow(clippy::should_implement_trait)]
    pub fn div(self, o: Dimension) -> Result<Dimension, Overflow> {
        self.zip(o, |a, b| a.checked_add(b.negated()))
    }
    pub fn powr(self, e: Rational) -> Result<Dimension, Overflow> {
        self.zip(Dimension::NONE, |a, _| a.checked_mul(e))
    }
    /// Replace `[w]` by `w` (instantiating a synapse for one projection).
    pub fn substitute(self, w: Dimension) -> Result<Dimension, Overflow> {
        let k = self.weight;
        let rest = Dimension {
            weight: Rational::ZERO,
            ..self
        };
        rest.mul(w.powr(k)?)
    }
}

impl fmt::Display for Dimension {
    /// Readable SI form: `kg m^2 s^-3 A^-1` style but using `*` and `/`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&super::display::si_form(self))
    }
}
