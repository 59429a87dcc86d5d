//! Units and dimension algebra.
//!
//! * [`Rational`]: exact exponents (`sqrt` halves them).
//! * [`Dimension`]: exponents over the 7 SI base dimensions plus the weight
//!   variable `[w]`.
//! * [`Unit`]: scale to SI + dimension; [`lookup`] resolves prefixed names.
//! * [`UnitForm`]: a dimension with the user's spelling, for messages.

mod dimension;
mod display;
mod rational;
mod table;

pub use dimension::{Base, Dimension, Overflow};
pub use display::{readable, si_form, UnitForm};
pub use rational::Rational;
pub use table::{is_unit_name, lookup, prefixes, unit_names, Unit};

#[cfg(test)]
mod tests;
