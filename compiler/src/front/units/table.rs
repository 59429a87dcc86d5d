//! Unit names, SI prefixes and name lookup.
//!
//! Lookup rule (this resolves every ambiguity): a name is first looked up
//! whole as a base name; only if that fails is a one-character prefix split
//! off and the rest looked up. So `m` is metre, `M` is molar, `mm`
//! millimetre, `ms` millisecond, `mM` millimolar, `Mohm` megaohm, `kg`
//! kilogram. `min` is not a unit (`in` is not a base name): minutes are not
//! supported, write `60 s`. A prefix never stacks (`mms` is not a unit).

use super::dimension::{Base, Dimension};
use super::rational::Rational;

/// A concrete unit: `value_in_SI = number * scale`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Unit {
    pub scale: f64,
    pub dim: Dimension,
}

impl Unit {
    pub const ONE: Unit = Unit {
        scale: 1.0,
        dim: Dimension::NONE,
    };
}

/// SI prefixes accepted in front of any base name (`u` and `µ` are both micro).
const PREFIXES: &[(&str, f64)] = &[
    ("p", 1e-12),
    ("n", 1e-9),
    ("u", 1e-6),
    ("µ", 1e-6),
    ("m", 1e-3),
    ("c", 1e-2),
    ("k", 1e3),
    ("M", 1e6),
    ("G", 1e9),
];

/// Dimension from exponents (length, mass, time, current, amount).
fn d(l: i32, m: i32, t: i32, i: i32, n: i32) -> Dimension {
    Dimension::NONE
        .with(Base::Length, Rational::int(l))
        .with(Base::Mass, Rational::int(m))
        .with(Base::Time, Rational::int(t))
        .with(Base::Current, Rational::int(i))
        .with(Base::Amount, Rational::int(n))
}

/// Every base name with its SI scale and dimension. Long names are aliases.
fn base_units() -> Vec<(&'static str, Unit)> {
    let u = |scale: f64, dim: Dimension| Unit { scale, dim };
    let volt = d(2, 1, -3, -1, 0);
    let siemens = d(-2, -1, 3, 2, 0);
    let farad = d(-2, -1, 4, 2, 0);
    let ohm = d(2, 1, -3, -2, 0);
    vec![
        ("V", u(1.0, volt)),
        ("volt", u(1.0, volt)),
        ("A", u(1.0, d(0, 0, 0, 1, 0))),
        ("amp", u(1.0, d(0, 0, 0, 1, 0))),
        ("S", u(1.0, siemens)),
        ("siemens", u(1.0, siemens)),
        ("F", u(1.0, farad)),
        ("ohm", u(1.0, ohm)),
        ("Ω", u(1.0, ohm)),
        ("s", u(1.0, d(0, 0, 1, 0, 0))),
        ("second", u(1.0, d(0, 0, 1, 0, 0))),
        ("Hz", u(1.0, d(0, 0, -1, 0, 0))),
        ("C", u(1.0, d(0, 0, 1, 1, 0))),
        ("W", u(1.0, d(2, 1, -3, 0, 0))),
        ("J", u(1.0, d(2, 1, -2, 0, 0))),
        // Molar: mol/L = 1e3 mol/m^3.
        ("M", u(1e3, d(-3, 0, 0, 0, 1))),
        ("mol", u(1.0, d(0, 0, 0, 0, 1))),
        ("m", u(1.0, d(1, 0, 0, 0, 0))),
        ("meter", u(1.0, d(1, 0, 0, 0, 0))),
        ("metre", u(1.0, d(1, 0, 0, 0, 0))),
        ("K", u(1.0, Dimension::base(Base::Temperature))),
        // Gram, so that `kg` is the SI kilogram.
        ("g", u(1e-3, d(0, 1, 0, 0, 0))),
        ("L", u(1e-3, d(3, 0, 0, 0, 0))),
        ("l", u(1e-3, d(3, 0, 0, 0, 0))),
    ]
}

fn base_lookup(name: &str) -> Option<Unit> {
    base_units()
        .into_iter()
        .find(|(n, _)| *n == name)
        .map(|(_, u)| u)
}

/// The unit a (possibly prefixed) name denotes, or `None`.
pub fn lookup(name: &str) -> Option<Unit> {
    if let Some(u) = base_lookup(name) {
        return Some(u);
    }
    PREFIXES.iter().find_map(|(p, f)| {
        let rest = name.strip_prefix(p)?;
        let u = base_lookup(rest)?;
        Some(Unit {
            scale: u.scale * f,
            dim: u.dim,
        })
    })
}

/// Whether `name` is a unit name (the parser calls this after a number).
pub fn is_unit_name(name: &str) -> bool {
    lookup(name).is_some()
}

/// Every base (unprefixed) unit name.
pub fn unit_names() -> impl Iterator<Item = String> {
    base_units().into_iter().map(|(n, _)| n.to_string())
}

/// Every SI prefix with its factor.
pub fn prefixes() -> impl Iterator<Item = (&'static str, f64)> {
    PREFIXES.iter().copied()
}
