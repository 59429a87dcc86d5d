//! Backends: executors of a validated IR module. The reference interpreter is
//! the oracle every faster backend (JIT, GPU) is tested against.

pub mod cranelift;
pub mod error;
pub mod guard;
pub mod init;
#[cfg(feature = "cuda")]
pub mod nvptx;
pub mod reference;

pub use error::{BackendError, ExecError};

use crate::ir::{Module, ValidModule};
use snnc_runtime::spike_train::SpikeTrain;
use snnc_runtime::stimulus::Stimulus;
use snnc_runtime::synapse_values::SynapseTable;
use snnc_runtime::RuntimeError;

// The interface every executor shares: what it is given (`Setup`), what it
// reports while it runs (spikes, states) and what it returns (`Outcome`).

/// Receives (population, step, batch item, spiking neurons).
pub type SpikeSink<'a> = dyn FnMut(u32, u32, u32, &[u32]) -> Result<(), RuntimeError> + 'a;
/// Receives (step, state of every batch item) at the start of each step.
pub type StepSink<'a> = dyn FnMut(u64, &[Vec<PopState>]) -> Result<(), RuntimeError> + 'a;

/// Everything the executor is given besides the module.
pub struct Setup<'a> {
    pub steps: u64,
    pub batch: u32,
    pub seed: u64,
    pub f32: bool,
    /// Per batch item, per population: parameter values (sweeps applied).
    pub params: Vec<Vec<Vec<f64>>>,
    /// One per `module.inputs`, validated.
    pub inputs: &'a [BoundInput],
    /// One per `module.projections`.
    pub tables: &'a [SynapseTable],
    /// Called with (population, step, batch, spiking neurons).
    pub on_spikes: &'a mut SpikeSink<'a>,
    /// Called at the start of each step with every item's state:
    /// `states[batch][population][state][neuron]`.
    pub on_step: &'a mut StepSink<'a>,
    /// The divergence guard's view of the states (see [`guard`]).
    pub watch: Option<guard::Watch<'a>>,
}

/// What the run produced besides the recordings.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Spikes per population, summed over batch items.
    pub spikes: Vec<u64>,
    pub synaptic_events: u64,
    pub wall_s: f64,
    /// CPU threads that stepped the network.
    pub threads: u32,
    /// Per projection: a plastic projection's weights at the end of the
    /// run, per batch item (`[item][synapse]`); `None` for static ones.
    pub final_weights: Vec<Option<Vec<Vec<f64>>>>,
}

/// One population's state for one batch item.
#[derive(Debug, Clone)]
pub struct PopState {
    /// `states[s][i]`.
    pub states: Vec<Vec<f64>>,
    pub currents: Vec<Vec<f64>>,
    pub refractory: Vec<u32>,
}

/// An executor of validated modules: the reference, the JIT, the GPU.
pub trait Executor {
    /// Its name in messages (`--backend` value).
    fn name(&self) -> &'static str;
    /// Run `valid` for `setup.steps` steps.
    fn execute(&mut self, valid: ValidModule<'_>, setup: Setup<'_>) -> Result<Outcome, ExecError>;
}

/// Per population: its spike train, for spike-train sources.
#[must_use]
pub fn spike_sources<'i>(
    m: &crate::ir::Module,
    inputs: &'i [BoundInput],
) -> Vec<Option<&'i SpikeTrain>> {
    (0..m.populations.len())
        .map(|pi| {
            m.inputs
                .iter()
                .zip(inputs)
                .find_map(|(input, data)| match data {
                    BoundInput::Spikes(t) if input.population as usize == pi => Some(t),
                    _ => None,
                })
        })
        .collect()
}

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

/// A projection a backend cannot run yet: its synapse is plastic (an
/// `on_post` or an assignment to `w`), which only the reference runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlasticityUnsupported {
    /// The backend's `--backend` name.
    pub backend: &'static str,
    pub projection: String,
}

impl std::fmt::Display for PlasticityUnsupported {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the {} backend cannot run projection '{}' yet: its synapse is plastic (`on_post` \
             or an assignment to `w`); run it with `--backend cranelift` (the default) or `--backend reference`",
            self.backend, self.projection
        )
    }
}

impl std::error::Error for PlasticityUnsupported {}

/// `Ok` unless `module` has a plastic projection, which `backend` (the GPU
/// for now) refuses before generating code or running a step.
pub fn refuse_plastic(module: &Module, backend: &'static str) -> Result<(), PlasticityUnsupported> {
    match module.projections.iter().find(|j| j.synapse.is_plastic()) {
        Some(j) => Err(PlasticityUnsupported {
            backend,
            projection: j.name.clone(),
        }),
        None => Ok(()),
    }
}
