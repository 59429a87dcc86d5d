//! The unit of an expression as the checker sees it, and unit annotations.

use crate::diagnostic::Diagnostic;
use crate::front::ast::{UnitExpr, UnitExprKind};
use crate::front::units::{lookup, readable, Dimension, Rational};

/// What an expression evaluates to.
#[derive(Clone, Debug, PartialEq)]
pub enum Ty {
    /// Not known here (`post.V`, an error already reported): fits anything,
    /// so one mistake is reported once.
    Any,
    Bool,
    /// The literal `0`: a zero of any unit.
    Zero,
    Num {
        dim: Dimension,
        /// The unit as the user wrote it (`mV/ms`), for messages.
        text: Option<String>,
        /// A plain number literal (`-65`): the fix is to add a unit.
        bare: bool,
    },
}

impl Ty {
    pub fn dim(dim: Dimension, text: Option<String>) -> Ty {
        Ty::Num {
            dim,
            text,
            bare: false,
        }
    }
    pub fn number() -> Ty {
        Ty::Num {
            dim: Dimension::NONE,
            text: None,
            bare: true,
        }
    }
    pub fn show(&self) -> String {
        match self {
            Ty::Any => "any unit".into(),
            Ty::Bool => "a condition".into(),
            Ty::Zero => "0".into(),
            Ty::Num { dim, text, .. } => text.clone().unwrap_or_else(|| readable(dim)),
        }
    }
    /// How a label names this value: `a plain number` for a unit-less
    /// literal, else the unit (`this is mV`).
    pub fn describe(&self) -> String {
        match self {
            Ty::Num { bare: true, .. } => "a plain number".into(),
            other => other.show(),
        }
    }
    /// The fix for a unit-less number where a unit is expected: `write `10 ms``.
    pub fn unit_help(&self, expected: &Ty, value: &crate::front::ast::Expr) -> Option<String> {
        let (
            Ty::Num { bare: true, .. },
            Ty::Num {
                text: Some(t), dim, ..
            },
        ) = (self, expected)
        else {
            return None;
        };
        if dim.is_dimensionless() {
            return None;
        }
        Some(match super::model::constant(value) {
            Some(x) => format!("write `{x} {t}`"),
            None => format!("give the numbers a unit, e.g. `1 {t}`"),
        })
    }
    /// Whether a value of this type fits where `expected` is required.
    pub fn fits(&self, expected: &Ty) -> bool {
        match (self, expected) {
            (Ty::Any, _)
            | (_, Ty::Any)
            | (Ty::Zero, Ty::Num { .. })
            | (Ty::Num { .. }, Ty::Zero) => true,
            (Ty::Zero, Ty::Zero) | (Ty::Bool, Ty::Bool) => true,
            (Ty::Num { dim: a, .. }, Ty::Num { dim: b, .. }) => a == b,
            _ => false,
        }
    }
    pub fn is_dimensionless(&self) -> bool {
        match self {
            Ty::Any | Ty::Zero => true,
            Ty::Num { dim, .. } => dim.is_dimensionless(),
            Ty::Bool => false,
        }
    }
}

/// The unit an annotation denotes, as written. Unknown unit names are E0205;
/// `[w]` is the weight variable. `None` after an error.
pub fn unit_ty(u: &UnitExpr, diags: &mut Vec<Diagnostic>) -> Ty {
    match unit_dim(u, diags) {
        Some(dim) => Ty::dim(dim, Some(unit_text(u))),
        None => Ty::Any,
    }
}

fn unit_dim(u: &UnitExpr, diags: &mut Vec<Diagnostic>) -> Option<Dimension> {
    match &u.kind {
        UnitExprKind::Name(n) => match lookup(n) {
            Some(unit) => Some(unit.dim),
            None => {
                let mut d = Diagnostic::error("E0205", format!("unknown unit `{n}`"))
                    .with_primary(u.span, "not a unit");
                if let Some(s) = super::suggest::closest_unit(n) {
                    d = d.with_help(format!("did you mean `{s}`?"));
                }
                diags.push(d);
                None
            }
        },
        UnitExprKind::One => Some(Dimension::NONE),
        UnitExprKind::Mul(a, b) => {
            let (a, b) = (unit_dim(a, diags), unit_dim(b, diags));
            refuse_overflow(a?.mul(b?), u, diags)
        }
        UnitExprKind::Div(a, b) => {
            let (a, b) = (unit_dim(a, diags), unit_dim(b, diags));
            refuse_overflow(a?.div(b?), u, diags)
        }
        UnitExprKind::Pow(a, r) => {
            let e = Rational::new(i64::from(r.num), i64::from(r.den))?;
            let base = unit_dim(a, diags)?;
            refuse_overflow(base.powr(e), u, diags)
        }
        UnitExprKind::UnitOf(id) if id.name == "w" => Some(Dimension::weight_var()),
        UnitExprKind::UnitOf(id) => {
            diags.push(
                Diagnostic::error("E0205", format!("unknown unit `[{}]`", id.name)).with_primary(
                    id.span,
                    "only `[w]`, the projection's weight unit, is known",
                ),
            );
            None
        }
        UnitExprKind::Error => None,
    }
}

/// E0207: a unit whose exponents no longer fit the exact fractions units
/// are computed with (`m^(1/997) * m^(1/991) * …`). Refused rather than
/// accepted as any unit.
pub fn exponent_overflow(span: crate::source::Span) -> Diagnostic {
    Diagnostic::error(
        "E0207",
        "the exponents of this unit are too large to compute with",
    )
    .with_primary(span, "the unit's exponents overflow here")
    .with_help("unit exponents must be fractions with numerator and denominator below 2^31")
}

fn refuse_overflow<E>(
    dim: Result<Dimension, E>,
    u: &UnitExpr,
    diags: &mut Vec<Diagnostic>,
) -> Option<Dimension> {
    match dim {
        Ok(d) => Some(d),
        Err(_) => {
            diags.push(exponent_overflow(u.span));
            None
        }
    }
}

/// The annotation as the user would write it: `mV/ms`, `uF/cm^2`, `[w]`.
pub fn unit_text(u: &UnitExpr) -> String {
    let compound = |u: &UnitExpr| {
        let t = unit_text(u);
        if matches!(u.kind, UnitExprKind::Mul(..) | UnitExprKind::Div(..)) {
            format!("({t})")
        } else {
            t
        }
    };
    match &u.kind {
        UnitExprKind::Name(n) => n.clone(),
        UnitExprKind::One => "1".into(),
        UnitExprKind::Mul(a, b) => format!("{}*{}", unit_text(a), compound(b)),
        UnitExprKind::Div(a, b) => format!("{}/{}", unit_text(a), compound(b)),
        UnitExprKind::Pow(a, r) if r.den == 1 => format!("{}^{}", compound(a), r.num),
        UnitExprKind::Pow(a, r) => format!("{}^({}/{})", compound(a), r.num, r.den),
        UnitExprKind::UnitOf(id) => format!("[{}]", id.name),
        UnitExprKind::Error => "?".into(),
    }
}
