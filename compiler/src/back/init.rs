//! Initial values, as every backend computes them on the host before the
//! first step: each state's `init` expression of one neuron (or synapse),
//! reading the params and the states declared before it, drawing from the
//! initial-value stream.

use super::reference::eval::{keyed_draw, Env};
use crate::ir::{Module, RandomKind, Var};
use snnc_runtime::synapse_values::{Delays, SynapseTable};
use snnc_runtime::RuntimeError;

/// What an `init` expression (or a host-computed refractory period) reads.
pub struct InitEnv<'a> {
    /// The states of this neuron or synapse computed so far.
    pub s: &'a [f64],
    pub params: &'a [f64],
    /// A synapse's states (`Syn`/`SynParam`) rather than a neuron's.
    pub synapse: bool,
    pub dt: f64,
    pub key: [u32; 2],
    pub index: u32,
    pub batch: u32,
    /// f32 run: uniform draws use the f32 stream.
    pub f32: bool,
}

impl Env for InitEnv<'_> {
    fn load(&self, v: Var) -> f64 {
        let at = |xs: &[f64], i: u32| xs.get(i as usize).copied().unwrap_or(0.0);
        match (v, self.synapse) {
            (Var::State(i), false) | (Var::Syn(i), true) => at(self.s, i),
            (Var::Param(i), false) | (Var::SynParam(i), true) => at(self.params, i),
            (Var::Dt, _) => self.dt,
            (Var::Time, _) => 0.0,
            (Var::Current(_) | Var::Input(_), false) => 0.0,
            (Var::PostState(_) | Var::PostCurrent(_) | Var::PreState(_) | Var::Weight, true) => 0.0,
            _ => f64::NAN,
        }
    }
    fn random(&self, kind: RandomKind, slot: u32) -> f64 {
        keyed_draw(self.key, kind, slot, self.index, 0, self.batch, self.f32)
    }
}

/// Delay of synapse `s` of `table`, in steps.
#[must_use]
pub fn delay_of(table: &SynapseTable, s: usize) -> u64 {
    match &table.delays {
        Delays::Homogeneous(d) => u64::from(*d),
        Delays::PerSynapse(v) => v.get(s).copied().map_or(0, u64::from),
    }
}

/// Per projection, the presynaptic neuron of each synapse where its synapse
/// code reads `pre.X` (`None` elsewhere): how every backend finds the
/// neuron a synapse index belongs to.
pub fn pre_indices(
    module: &Module,
    tables: &[SynapseTable],
) -> Result<Vec<Option<Vec<u32>>>, RuntimeError> {
    (0..module.projections.len())
        .map(|k| {
            crate::ir::info::pre_reads(module, k)
                .any()
                .then(|| tables[k].structure.pre_of_each())
                .transpose()
        })
        .collect()
}
