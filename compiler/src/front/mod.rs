//! The front end: text → syntax tree → checked model.
//!
//! Invariant: nothing here does I/O. Files arrive through
//! [`crate::source::SourceLoader`]; diagnostics leave as data.

pub mod ast;
pub mod check;
pub mod lexer;
pub mod parser;
pub mod units;
pub mod vocabulary;

pub use parser::parse;
