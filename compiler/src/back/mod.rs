//! Backends: executors of a validated IR module. The reference interpreter is
//! the oracle every faster backend (JIT, GPU) is tested against.

pub mod reference;
