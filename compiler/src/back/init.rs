//! Initial values, as every backend computes them on the host before the
//! first step: each state's `init` expression of one neuron (or synapse),
//! reading the params and the states declared before it, drawing from the
//! initial-value stream.

use super::reference::eval::{eval, keyed_draw, Env};
use crate::ir::SYNAPSE_KEY_BIT;
use crate::ir::{Module, RandomKind, Var};
use snnc_runtime::rng::{key_for, Purpose};
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

/// The initial values of population `k`'s states for batch item `b` (with
/// its `params`): `put(state, neuron, value)` for every state of every
/// neuron. Each `init` reads the params and the states declared before it,
/// drawing from the population's initial-value stream. Values are as
/// computed (a backend stores them at its precision).
pub fn neuron_initial_values(
    module: &Module,
    k: usize,
    params: &[f64],
    seed: u64,
    b: u32,
    f32: bool,
    put: &mut dyn FnMut(usize, usize, f64),
) {
    let p = &module.populations[k];
    let key = key_for(
        seed,
        Purpose::InitialValues {
            population: k as u32,
        },
    );
    let mut local = vec![0.0; p.states.len()];
    for i in 0..p.size as usize {
        local.iter_mut().for_each(|x| *x = 0.0);
        for (s, st) in p.states.iter().enumerate() {
            let env = InitEnv {
                s: &local,
                params,
                synapse: false,
                dt: module.dt,
                key,
                index: i as u32,
                batch: b,
                f32,
            };
            local[s] = eval(&module.exprs, st.init, &env);
            put(s, i, local[s]);
        }
    }
}

/// The initial values of projection `k`'s synapse states for batch item
/// `b`, over its `len` stored elements (post neurons for align-post,
/// synapses otherwise): `put(state, element, value)`, rounded to the run's
/// precision.
pub fn synapse_initial_values(
    module: &Module,
    k: usize,
    len: usize,
    seed: u64,
    b: u32,
    f32: bool,
    put: &mut dyn FnMut(usize, usize, f64),
) {
    let j = &module.projections[k];
    let key = key_for(
        seed,
        Purpose::InitialValues {
            population: SYNAPSE_KEY_BIT | k as u32,
        },
    );
    let params: Vec<f64> = j.synapse.params.iter().map(|q| q.value).collect();
    let mut local = vec![0.0; j.synapse.states.len()];
    for x in 0..len {
        local.iter_mut().for_each(|v| *v = 0.0);
        for (s, st) in j.synapse.states.iter().enumerate() {
            let env = InitEnv {
                s: &local,
                params: &params,
                synapse: true,
                dt: module.dt,
                key,
                index: x as u32,
                batch: b,
                f32,
            };
            let v = eval(&module.exprs, st.init, &env);
            local[s] = if f32 { f64::from(v as f32) } else { v };
            put(s, x, local[s]);
        }
    }
}
