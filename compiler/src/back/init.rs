//! Initial values, as every backend computes them on the host before the
//! first step: each state's `init` expression of one neuron (or synapse),
//! reading the params and the states declared before it, drawing from the
//! initial-value stream.

use super::reference::eval::{eval, keyed_draw, Env};
use crate::ir::SYNAPSE_KEY_BIT;
use crate::ir::{Expr, Handle, Module, RandomKind, Var};
use snnc_runtime::connectivity::ByPost;
use snnc_runtime::rng::{key_for, Purpose};
use snnc_runtime::synapse_values::{Delays, SynapseTable, Weights};
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
/// neuron, as computed (a backend stores them at its precision).
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
    let inits: Vec<_> = p.states.iter().map(|s| s.init).collect();
    let stream = Purpose::InitialValues {
        population: k as u32,
    };
    let at = Elements {
        module,
        params,
        synapse: false,
        key: key_for(seed, stream),
        batch: b,
        f32,
    };
    at.initial_values(&inits, p.size as usize, put);
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
    let inits: Vec<_> = j.synapse.states.iter().map(|s| s.init).collect();
    let params: Vec<f64> = j.synapse.params.iter().map(|q| q.value).collect();
    let stream = Purpose::InitialValues {
        population: SYNAPSE_KEY_BIT | k as u32,
    };
    let at = Elements {
        module,
        params: &params,
        synapse: true,
        key: key_for(seed, stream),
        batch: b,
        f32,
    };
    at.initial_values(&inits, len, put);
}

/// The elements (neurons or synapse states) of one population or
/// projection of one batch item, as their `init` expressions see them.
struct Elements<'a> {
    module: &'a Module,
    params: &'a [f64],
    /// Synapse states: read as `Syn`/`SynParam`, and each value rounded to
    /// the run's precision before a later init reads it.
    synapse: bool,
    key: [u32; 2],
    batch: u32,
    f32: bool,
}

impl Elements<'_> {
    /// For each of `n` elements, each state's `init` in declaration order
    /// (reading the params and the states before it, drawing from `key`):
    /// `put(state, element, value)`, the value as the next init reads it.
    fn initial_values(
        &self,
        inits: &[Handle<Expr>],
        n: usize,
        put: &mut dyn FnMut(usize, usize, f64),
    ) {
        let mut local = vec![0.0; inits.len()];
        for x in 0..n {
            local.iter_mut().for_each(|v| *v = 0.0);
            for (s, &init) in inits.iter().enumerate() {
                let env = InitEnv {
                    s: &local,
                    params: self.params,
                    synapse: self.synapse,
                    dt: self.module.dt,
                    key: self.key,
                    index: x as u32,
                    batch: self.batch,
                    f32: self.f32,
                };
                let v = eval(&self.module.exprs, init, &env);
                local[s] = if self.synapse && self.f32 {
                    f64::from(v as f32)
                } else {
                    v
                };
                put(s, x, local[s]);
            }
        }
    }
}

/// The weight synapse `s` of `table` starts with (a plastic projection's
/// learned weights start here too).
#[must_use]
pub fn weight_of(table: &SynapseTable, s: usize) -> f64 {
    match &table.weights {
        Weights::Homogeneous(w) => f64::from(*w),
        Weights::PerSynapse(v) => v.get(s).copied().map_or(0.0, f64::from),
    }
}

/// Per projection: its synapses by post neuron, for those with an `on_post`.
pub fn post_indices(
    module: &Module,
    tables: &[SynapseTable],
) -> Result<Vec<Option<ByPost>>, RuntimeError> {
    module
        .projections
        .iter()
        .zip(tables)
        .map(|(j, t)| {
            (!j.synapse.on_post.is_empty())
                .then(|| t.structure.by_post())
                .transpose()
        })
        .collect()
}
