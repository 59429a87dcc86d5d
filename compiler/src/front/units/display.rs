//! How a unit is shown to the user: the names they wrote when we have them
//! (`mV/ms`), otherwise a readable form using derived SI names.

use super::dimension::{Base, Dimension};
use super::rational::Rational;
use super::table::lookup;
use serde::Serialize;
use std::fmt;

/// An expression's unit as the user thinks of it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct UnitForm {
    pub dim: Dimension,
    /// The spelling from the source (`nS*mV`), when the unit came from one.
    pub written: Option<String>,
}

impl UnitForm {
    pub fn new(dim: Dimension) -> UnitForm {
        UnitForm { dim, written: None }
    }
    pub fn written(dim: Dimension, text: impl Into<String>) -> UnitForm {
        UnitForm {
            dim,
            written: Some(text.into()),
        }
    }
}

impl fmt::Display for UnitForm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.written {
            Some(w) => f.write_str(w),
            None => f.write_str(&readable(&self.dim)),
        }
    }
}

const DERIVED: &[&str] = &[
    "V", "A", "S", "F", "ohm", "s", "Hz", "C", "W", "J", "m", "mol", "K", "kg",
];

fn dim_of(name: &str) -> Dimension {
    lookup(name).map(|u| u.dim).unwrap_or(Dimension::NONE)
}

/// A short name for `dim`: one derived unit (`V`), a power (`m^2`), a product
/// or ratio of two (`V/s`, `S*V`), else the SI base form.
pub fn readable(dim: &Dimension) -> String {
    if dim.is_dimensionless() {
        return "1".into();
    }
    if dim.has_weight_var() {
        let rest = dim.substitute(Dimension::NONE).unwrap_or(Dimension::NONE);
        let k = dim.weight_exponent();
        let w = if k == Rational::ONE {
            "[w]".to_string()
        } else {
            format!("[w]^{k}")
        };
        return if rest.is_dimensionless() {
            w
        } else {
            format!("{w}*{}", readable(&rest))
        };
    }
    for a in DERIVED {
        if dim_of(a) == *dim {
            return a.to_string();
        }
    }
    for a in DERIVED {
        for k in [2, 3, -1, -2] {
            if dim_of(a).powr(Rational::int(k)).ok() == Some(*dim) {
                return if k == -1 {
                    format!("1/{a}")
                } else {
                    format!("{a}^{k}")
                };
            }
        }
    }
    for a in DERIVED {
        for b in DERIVED {
            if dim_of(a).mul(dim_of(b)).ok() == Some(*dim) && a <= b {
                return format!("{a}*{b}");
            }
            if dim_of(a).div(dim_of(b)).ok() == Some(*dim) {
                return format!("{a}/{b}");
            }
        }
    }
    si_form(dim)
}

/// Base-SI form: `kg*m^2/(s^3*A)`.
pub fn si_form(dim: &Dimension) -> String {
    let mut num = Vec::new();
    let mut den = Vec::new();
    let term = |sym: &str, e: Rational| {
        if e == Rational::ONE {
            sym.to_string()
        } else {
            format!("{sym}^{e}")
        }
    };
    for b in [
        Base::Mass,
        Base::Length,
        Base::Time,
        Base::Current,
        Base::Temperature,
        Base::Amount,
        Base::Luminosity,
    ] {
        let e = dim.exponent(b);
        if e.to_f64() > 0.0 {
            num.push(term(b.si_symbol(), e));
        } else if e.to_f64() < 0.0 {
            den.push(term(b.si_symbol(), e.negated()));
        }
    }
    let k = dim.weight_exponent();
    if k.to_f64() > 0.0 {
        num.push(term("[w]", k));
    } else if k.to_f64() < 0.0 {
        den.push(term("[w]", k.negated()));
    }
    let n = if num.is_empty() {
        "1".to_string()
    } else {
        num.join("*")
    };
    match den.len() {
        0 => n,
        1 => format!("{n}/{}", den[0]),
        _ => format!("{n}/({})", den.join("*")),
    }
}
