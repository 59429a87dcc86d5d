//! snnc: a compiler for spiking-neural-network models.
//!
//! Data flows one way: `front` (parse, resolve, check units) → `ir` → `back`.
//! See ARCHITECTURE.md in the workspace root.

pub mod back;
pub mod diagnostic;
pub mod doc;
pub mod front;
pub mod interrupt;
pub mod ir;
pub mod kernel;
pub mod lower;
pub mod lsp;
pub mod pipeline;
pub mod plot;
pub mod run;
pub mod source;
pub mod stdlib;
