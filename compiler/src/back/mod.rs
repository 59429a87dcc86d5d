//! Backends: executors of a validated IR module. The reference interpreter is
//! the oracle every faster backend (JIT, GPU) is tested against.

pub mod cranelift;
pub mod guard;
pub mod init;
#[cfg(feature = "cuda")]
pub mod nvptx;
pub mod reference;

use snnc_runtime::spike_train::SpikeTrain;
use snnc_runtime::stimulus::Stimulus;

/// The data bound to one `module.inputs` entry, validated and in SI units.
#[derive(Debug, Clone)]
pub enum BoundInput {
    /// For [`crate::ir::InputKind::Array`].
    Array(Stimulus),
    /// For [`crate::ir::InputKind::SpikeTrain`]: the population's spikes.
    Spikes(SpikeTrain),
}

impl BoundInput {
    /// The value of an array input for (step, batch item, neuron); zero past
    /// the end of a finite stimulus and for spike trains.
    #[must_use]
    pub fn value(&self, step: u64, batch: u64, neuron: u32) -> f64 {
        match self {
            BoundInput::Array(s) => s.value(step, batch, neuron).unwrap_or(0.0),
            BoundInput::Spikes(_) => 0.0,
        }
    }
}
