//! The reference executor: a plain, obviously-correct interpretation of the
//! IR in f64 (optionally rounding every stored value to f32), following the
//! step order documented in [`crate::ir`]. Batch items run in lockstep over
//! shared connectivity; each has its own random streams (batch counter k).

pub mod eval;

use std::time::Instant;

use super::init::delay_of;
use super::BoundInput;
use crate::ir::{
    AssignOp, Expr, Handle, Method, Module, Ode, Population, RandomKind, SynapseLayout,
    ValidModule, Var,
};
use eval::{eval, keyed_draw, Env};
use snnc_runtime::alloc::vec_filled;
use snnc_runtime::rng::{key_for, Purpose};
use snnc_runtime::spike_train::SpikeTrain;
use snnc_runtime::synapse_values::{SynapseTable, Weights};
use snnc_runtime::RuntimeError;

/// Objects ids at or above this in a `Purpose` population field name a
/// projection (its synapse states) rather than a population.
pub const SYNAPSE_KEY_BIT: u32 = 0x8000_0000;

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
    /// The divergence guard's view of the states (see [`super::guard`]).
    pub watch: Option<super::guard::Watch<'a>>,
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
}

/// One population's state for one batch item.
#[derive(Debug, Clone)]
pub struct PopState {
    /// `states[s][i]`.
    pub states: Vec<Vec<f64>>,
    pub currents: Vec<Vec<f64>>,
    pub refractory: Vec<u32>,
}

struct ProjState {
    /// `syn[s][k]`: k = post neuron (align post) or synapse index.
    syn: Vec<Vec<f64>>,
    /// Synapse indices whose event is due at slot `step % len`.
    ring: Vec<Vec<u32>>,
}

/// Environment of neuron code: states/currents/params of one neuron.
struct NeuronEnv<'a> {
    s: &'a [f64],
    cur: &'a [f64],
    params: &'a [f64],
    inputs: &'a [f64],
    t: f64,
    dt: f64,
    key: [u32; 2],
    index: u32,
    step: u32,
    batch: u32,
    /// f32 run: uniform draws use the f32 stream.
    f32: bool,
}

impl Env for NeuronEnv<'_> {
    fn load(&self, v: Var) -> f64 {
        let at = |xs: &[f64], i: u32| xs.get(i as usize).copied().unwrap_or(0.0);
        match v {
            Var::State(i) => at(self.s, i),
            Var::Current(i) => at(self.cur, i),
            Var::Param(i) => at(self.params, i),
            Var::Input(i) => at(self.inputs, i),
            Var::Time => self.t,
            Var::Dt => self.dt,
            _ => f64::NAN,
        }
    }
    fn random(&self, kind: RandomKind, slot: u32) -> f64 {
        keyed_draw(
            self.key, kind, slot, self.index, self.step, self.batch, self.f32,
        )
    }
}

/// Environment of synapse and output code.
struct SynEnv<'a> {
    syn: &'a [f64],
    params: &'a [f64],
    post_s: &'a [f64],
    post_c: &'a [f64],
    pre_s: &'a [f64],
    w: f64,
    t: f64,
    dt: f64,
    key: [u32; 2],
    index: u32,
    step: u32,
    batch: u32,
    /// f32 run: uniform draws use the f32 stream.
    f32: bool,
}

impl Env for SynEnv<'_> {
    fn load(&self, v: Var) -> f64 {
        let at = |xs: &[f64], i: u32| xs.get(i as usize).copied().unwrap_or(0.0);
        match v {
            Var::Syn(i) => at(self.syn, i),
            Var::SynParam(i) => at(self.params, i),
            Var::PostState(i) => at(self.post_s, i),
            Var::PostCurrent(i) => at(self.post_c, i),
            Var::PreState(i) => at(self.pre_s, i),
            Var::Weight => self.w,
            Var::Time => self.t,
            Var::Dt => self.dt,
            _ => f64::NAN,
        }
    }
    fn random(&self, kind: RandomKind, slot: u32) -> f64 {
        keyed_draw(
            self.key, kind, slot, self.index, self.step, self.batch, self.f32,
        )
    }
}

fn round(f32: bool, v: f64) -> f64 {
    if f32 {
        v as f32 as f64
    } else {
        v
    }
}

/// New values of the states with ODEs, from start values `s0`; `deriv(s, out)`
/// evaluates every non-exact rhs at `s`. Exact ODEs use their update at `s0`;
/// the non-exact ones are stepped together by `method`, exact ones held.
fn integrate(
    odes: &[Ode],
    s0: &[f64],
    out: &mut [f64],
    eval_at: &dyn Fn(&[f64], Handle<Expr>) -> f64,
    dt: f64,
) {
    out.copy_from_slice(s0);
    let scheme = odes.iter().map(|o| o.method).find(|m| *m != Method::Exact);
    for o in odes {
        if let Some(u) = o.update {
            out[o.state as usize] = eval_at(s0, u);
        }
    }
    let Some(method) = scheme else { return };
    let others: Vec<&Ode> = odes.iter().filter(|o| o.update.is_none()).collect();
    let f = |s: &[f64]| -> Vec<f64> { others.iter().map(|o| eval_at(s, o.rhs)).collect() };
    let shifted = |k: &[f64], h: f64| -> Vec<f64> {
        let mut s = s0.to_vec();
        for (o, d) in others.iter().zip(k) {
            s[o.state as usize] += h * d;
        }
        s
    };
    let k1 = f(s0);
    let incr: Vec<f64> = match method {
        Method::Euler | Method::Exact => k1,
        Method::Rk2 => f(&shifted(&k1, dt / 2.0)),
        Method::Rk4 => {
            let k2 = f(&shifted(&k1, dt / 2.0));
            let k3 = f(&shifted(&k2, dt / 2.0));
            let k4 = f(&shifted(&k3, dt));
            (0..k1.len())
                .map(|i| (k1[i] + 2.0 * k2[i] + 2.0 * k3[i] + k4[i]) / 6.0)
                .collect()
        }
    };
    for (o, d) in others.iter().zip(incr) {
        out[o.state as usize] = s0[o.state as usize] + dt * d;
    }
}

fn weight_of(table: &SynapseTable, s: usize) -> f64 {
    match &table.weights {
        Weights::Homogeneous(w) => f64::from(*w),
        Weights::PerSynapse(v) => v.get(s).copied().map_or(0.0, f64::from),
    }
}

/// Initial state of population `p` for batch item `b`.
fn init_population(
    module: &Module,
    k: usize,
    p: &Population,
    params: &[f64],
    seed: u64,
    b: u32,
    f32: bool,
) -> Result<PopState, RuntimeError> {
    let key = key_for(
        seed,
        Purpose::InitialValues {
            population: k as u32,
        },
    );
    let n = p.size as usize;
    let mut states = zeroed_rows(p.states.len(), n, "neuron states")?;
    let mut local = vec![0.0; p.states.len()];
    #[allow(clippy::needless_range_loop)] // i is also the draw's neuron index
    for i in 0..n {
        local.iter_mut().for_each(|x| *x = 0.0);
        for (s, st) in p.states.iter().enumerate() {
            let env = NeuronEnv {
                s: &local,
                cur: &[],
                params,
                inputs: &[],
                t: 0.0,
                dt: module.dt,
                key,
                index: i as u32,
                step: 0,
                batch: b,
                f32,
            };
            local[s] = eval(&module.exprs, st.init, &env);
        }
        for (s, v) in local.iter().enumerate() {
            states[s][i] = *v;
        }
    }
    Ok(PopState {
        states,
        currents: zeroed_rows(p.currents.len(), n, "neuron currents")?,
        refractory: vec_filled(0, n, "refractory counters")?,
    })
}

/// `rows` arrays of `len` zeros, allocated fallibly: the sizes come from the
/// model, and a failed allocation is an error, not an abort.
fn zeroed_rows(rows: usize, len: usize, what: &str) -> Result<Vec<Vec<f64>>, RuntimeError> {
    (0..rows).map(|_| vec_filled(0.0, len, what)).collect()
}

/// Run `valid` for `setup.steps` steps.
pub fn execute(valid: ValidModule<'_>, setup: Setup<'_>) -> Result<Outcome, RuntimeError> {
    let module = valid.module();
    let start = Instant::now();
    let a = &module.exprs;
    let dt = module.dt;
    let f32 = setup.f32;
    let nb = setup.batch.max(1);
    let tables = setup.tables;
    let spike_sources: Vec<Option<&SpikeTrain>> = (0..module.populations.len())
        .map(|pi| {
            module
                .inputs
                .iter()
                .zip(setup.inputs)
                .find_map(|(input, data)| match data {
                    BoundInput::Spikes(t) if input.population as usize == pi => Some(t),
                    _ => None,
                })
        })
        .collect();
    let mut pops: Vec<Vec<PopState>> = Vec::with_capacity(nb as usize);
    let mut projs: Vec<Vec<ProjState>> = Vec::with_capacity(nb as usize);
    for b in 0..nb {
        let params = &setup.params[b as usize];
        pops.push(
            module
                .populations
                .iter()
                .enumerate()
                .map(|(k, p)| init_population(module, k, p, &params[k], setup.seed, b, f32))
                .collect::<Result<_, _>>()?,
        );
        let mut item = Vec::new();
        for (k, (j, t)) in module.projections.iter().zip(tables).enumerate() {
            let len = match j.synapse.layout {
                SynapseLayout::AlignPost => t.structure.n_post as usize,
                SynapseLayout::PerSynapse => t.structure.len(),
            };
            let key = key_for(
                setup.seed,
                Purpose::InitialValues {
                    population: SYNAPSE_KEY_BIT | k as u32,
                },
            );
            let sp: Vec<f64> = j.synapse.params.iter().map(|q| q.value).collect();
            let ns = j.synapse.states.len();
            let mut syn = zeroed_rows(ns, len, "synapse states")?;
            let mut local = vec![0.0; ns];
            #[allow(clippy::needless_range_loop)] // x is also the draw's index
            for x in 0..len {
                local.iter_mut().for_each(|v| *v = 0.0);
                for (s, st) in j.synapse.states.iter().enumerate() {
                    let env = SynEnv {
                        syn: &local,
                        params: &sp,
                        post_s: &[],
                        post_c: &[],
                        pre_s: &[],
                        w: 0.0,
                        t: 0.0,
                        dt,
                        key,
                        index: x as u32,
                        step: 0,
                        batch: b,
                        f32,
                    };
                    local[s] = round(f32, eval(a, st.init, &env));
                }
                for s in 0..ns {
                    syn[s][x] = local[s];
                }
            }
            let slots = t.delays.max_steps() as usize + 1;
            item.push(ProjState {
                syn,
                ring: vec![Vec::new(); slots],
            });
        }
        projs.push(item);
    }

    let mut spikes = vec![0u64; module.populations.len()];
    let mut events = 0u64;
    let mut fired: Vec<Vec<u32>> = vec![Vec::new(); module.populations.len()];
    let noise_keys: Vec<[u32; 2]> = (0..module.populations.len())
        .map(|k| {
            key_for(
                setup.seed,
                Purpose::ModelNoise {
                    population: k as u32,
                },
            )
        })
        .collect();
    let inj_keys: Vec<[u32; 2]> = (0..module.injections.len())
        .map(|k| {
            key_for(
                setup.seed,
                Purpose::Injection {
                    injection: k as u32,
                },
            )
        })
        .collect();
    let syn_keys: Vec<[u32; 2]> = (0..module.projections.len())
        .map(|k| {
            key_for(
                setup.seed,
                Purpose::ModelNoise {
                    population: SYNAPSE_KEY_BIT | k as u32,
                },
            )
        })
        .collect();
    // The presynaptic neuron of each synapse, where synapse code reads `pre.X`.
    let pre_of = crate::back::init::pre_indices(module, tables)?;
    let syn_params: Vec<Vec<f64>> = module
        .projections
        .iter()
        .map(|j| j.synapse.params.iter().map(|q| q.value).collect())
        .collect();

    let mut setup = setup;
    for step in 0..setup.steps {
        // The guard first, then the traces (as on every backend).
        if let Some(w) = setup.watch.as_mut().filter(|w| w.due(step)) {
            (w.sink)(step, &pops)?;
        }
        (setup.on_step)(step, &pops)?;
        let t = step as f64 * dt;
        let step32 = step as u32;
        for b in 0..nb {
            let bi = b as usize;
            let params = &setup.params[bi];
            let pst = &mut pops[bi];
            let jst = &mut projs[bi];
            // (1) currents.
            for p in pst.iter_mut() {
                p.currents
                    .iter_mut()
                    .for_each(|c| c.iter_mut().for_each(|x| *x = 0.0));
            }
            for (k, j) in module.projections.iter().enumerate() {
                let Some(out) = &j.output else { continue };
                let post = j.post as usize;
                let n_post = module.populations[post].size as usize;
                let mut add = vec![0.0; n_post];
                let mut syn_local = vec![0.0; j.synapse.states.len()];
                let mut post_local = vec![0.0; pst[post].states.len()];
                let len = jst[k].syn.first().map_or(0, Vec::len);
                let count = if j.synapse.layout == SynapseLayout::AlignPost {
                    n_post
                } else {
                    len
                };
                for x in 0..count {
                    let target = if j.synapse.layout == SynapseLayout::AlignPost {
                        x
                    } else {
                        tables[k].structure.cols[x] as usize
                    };
                    for (s, v) in syn_local.iter_mut().enumerate() {
                        *v = jst[k].syn[s][x];
                    }
                    for (s, v) in post_local.iter_mut().enumerate() {
                        *v = pst[post].states[s][target];
                    }
                    let env = SynEnv {
                        syn: &syn_local,
                        params: &syn_params[k],
                        post_s: &post_local,
                        post_c: &[],
                        pre_s: &[],
                        w: 0.0,
                        t,
                        dt,
                        key: syn_keys[k],
                        index: x as u32,
                        step: step32,
                        batch: b,
                        f32,
                    };
                    add[target] += eval(a, out.value, &env);
                }
                let c = &mut pst[post].currents[out.current as usize];
                for (ci, v) in c.iter_mut().zip(add) {
                    *ci = round(f32, *ci + v);
                }
            }
            for (k, inj) in module.injections.iter().enumerate() {
                let pi = inj.population as usize;
                let p = &module.populations[pi];
                let mut inputs = vec![0.0; module.inputs.len()];
                let mut local = vec![0.0; p.states.len()];
                let mut cur = vec![0.0; p.currents.len()];
                for i in 0..p.size as usize {
                    for (m, input) in module.inputs.iter().enumerate() {
                        inputs[m] = if input.population as usize == pi {
                            // Past the end of a finite stimulus the drive is zero.
                            setup.inputs[m].value(step, u64::from(b), i as u32)
                        } else {
                            0.0
                        };
                    }
                    for (s, v) in local.iter_mut().enumerate() {
                        *v = pst[pi].states[s][i];
                    }
                    for (s, v) in cur.iter_mut().enumerate() {
                        *v = pst[pi].currents[s][i];
                    }
                    let env = NeuronEnv {
                        s: &local,
                        cur: &cur,
                        params: &params[pi],
                        inputs: &inputs,
                        t,
                        dt,
                        key: inj_keys[k],
                        index: i as u32,
                        step: step32,
                        batch: b,
                        f32,
                    };
                    let v = eval(a, inj.value, &env);
                    let c = &mut pst[pi].currents[inj.current as usize][i];
                    *c = round(f32, *c + v);
                }
            }
            // (2) integration and (3) threshold, reset, refractory.
            for (pi, p) in module.populations.iter().enumerate() {
                fired[pi].clear();
                // A spike-train source has no dynamics: it fires what its file says.
                if let Some(train) = spike_sources[pi] {
                    fired[pi].extend_from_slice(train.at(step));
                    spikes[pi] += fired[pi].len() as u64;
                    (setup.on_spikes)(pi as u32, step32, b, &fired[pi])?;
                    continue;
                }
                let ps = &mut pst[pi];
                let prm = &params[pi];
                let ns = p.states.len();
                let mut s0 = vec![0.0; ns];
                let mut s1 = vec![0.0; ns];
                let mut cur = vec![0.0; p.currents.len()];
                for i in 0..p.size as usize {
                    for (s, v) in s0.iter_mut().enumerate() {
                        *v = ps.states[s][i];
                    }
                    for (s, v) in cur.iter_mut().enumerate() {
                        *v = ps.currents[s][i];
                    }
                    let at = |s: &[f64], h: Handle<Expr>| {
                        eval(
                            a,
                            h,
                            &NeuronEnv {
                                s,
                                cur: &cur,
                                params: prm,
                                inputs: &[],
                                t,
                                dt,
                                key: noise_keys[pi],
                                index: i as u32,
                                step: step32,
                                batch: b,
                                f32,
                            },
                        )
                    };
                    integrate(&p.odes, &s0, &mut s1, &at, dt);
                    let refractory = ps.refractory[i] > 0;
                    if refractory {
                        for &h in &p.held {
                            s1[h as usize] = s0[h as usize];
                        }
                        ps.refractory[i] -= 1;
                    } else if let Some(cond) = p.spike {
                        let env = NeuronEnv {
                            s: &s1,
                            cur: &cur,
                            params: prm,
                            inputs: &[],
                            t,
                            dt,
                            key: noise_keys[pi],
                            index: i as u32,
                            step: step32,
                            batch: b,
                            f32,
                        };
                        // A non-finite state never spikes (see back::guard).
                        let spiking = eval(a, cond, &env) != 0.0
                            && s1.iter().all(|v| round(f32, *v).is_finite());
                        if spiking {
                            fired[pi].push(i as u32);
                            for r in &p.reset {
                                let env = NeuronEnv {
                                    s: &s1,
                                    cur: &cur,
                                    params: prm,
                                    inputs: &[],
                                    t,
                                    dt,
                                    key: noise_keys[pi],
                                    index: i as u32,
                                    step: step32,
                                    batch: b,
                                    f32,
                                };
                                let v = eval(a, r.value, &env);
                                if let Var::State(s) = r.target {
                                    let s = s as usize;
                                    s1[s] = match r.op {
                                        AssignOp::Set => v,
                                        AssignOp::Add => s1[s] + v,
                                    };
                                }
                            }
                            if let Some(rf) = p.refractory {
                                let env = NeuronEnv {
                                    s: &s1,
                                    cur: &cur,
                                    params: prm,
                                    inputs: &[],
                                    t,
                                    dt,
                                    key: noise_keys[pi],
                                    index: i as u32,
                                    step: step32,
                                    batch: b,
                                    f32,
                                };
                                let v = eval(a, rf, &env) / dt;
                                // A refractory period is at least zero steps; NaN counts as zero.
                                ps.refractory[i] = if v.is_finite() && v > 0.0 {
                                    v.round().min(f64::from(u32::MAX)) as u32
                                } else {
                                    0
                                };
                            }
                        }
                    }
                    for (s, v) in s1.iter().enumerate() {
                        ps.states[s][i] = round(f32, *v);
                    }
                }
                spikes[pi] += fired[pi].len() as u64;
                (setup.on_spikes)(pi as u32, step32, b, &fired[pi])?;
            }
            // (4) synapse dynamics.
            for (k, j) in module.projections.iter().enumerate() {
                if j.synapse.odes.is_empty() {
                    continue;
                }
                let post = j.post as usize;
                let len = jst[k].syn.first().map_or(0, Vec::len);
                let ns = j.synapse.states.len();
                let mut s0 = vec![0.0; ns];
                let mut s1 = vec![0.0; ns];
                let mut post_local = vec![0.0; pst[post].states.len()];
                let mut post_cur = vec![0.0; pst[post].currents.len()];
                let mut pre_local = vec![0.0; pst[j.pre as usize].states.len()];
                for x in 0..len {
                    let target = if j.synapse.layout == SynapseLayout::AlignPost {
                        x
                    } else {
                        tables[k].structure.cols[x] as usize
                    };
                    for (s, v) in s0.iter_mut().enumerate() {
                        *v = jst[k].syn[s][x];
                    }
                    for (s, v) in post_local.iter_mut().enumerate() {
                        *v = pst[post].states[s][target];
                    }
                    for (s, v) in post_cur.iter_mut().enumerate() {
                        *v = pst[post].currents[s][target];
                    }
                    // Only a per-synapse state has one presynaptic neuron.
                    if let (Some(pre_of), SynapseLayout::PerSynapse) =
                        (&pre_of[k], j.synapse.layout)
                    {
                        let pre = &pst[j.pre as usize];
                        for (s, v) in pre_local.iter_mut().enumerate() {
                            *v = pre.states[s][pre_of[x] as usize];
                        }
                    }
                    let at = |s: &[f64], h: Handle<Expr>| {
                        eval(
                            a,
                            h,
                            &SynEnv {
                                syn: s,
                                params: &syn_params[k],
                                post_s: &post_local,
                                post_c: &post_cur,
                                pre_s: &pre_local,
                                w: 0.0,
                                t,
                                dt,
                                key: syn_keys[k],
                                index: x as u32,
                                step: step32,
                                batch: b,
                                f32,
                            },
                        )
                    };
                    integrate(&j.synapse.odes, &s0, &mut s1, &at, dt);
                    for (s, v) in s1.iter().enumerate() {
                        jst[k].syn[s][x] = round(f32, *v);
                    }
                }
            }
            // (5) events: queue this step's spikes, then deliver what is due now.
            for (k, j) in module.projections.iter().enumerate() {
                let table = &tables[k];
                let slots = jst[k].ring.len() as u64;
                let fired_pre = &fired[j.pre as usize];
                for &pre in fired_pre {
                    let start = table.structure.row_ptr[pre as usize] as usize;
                    let row_len = table.structure.row(pre).len();
                    for s in start..start + row_len {
                        let slot = ((step + delay_of(table, s)) % slots) as usize;
                        jst[k].ring[slot].push(s as u32);
                    }
                }
                let slot = (step % slots) as usize;
                let due = std::mem::take(&mut jst[k].ring[slot]);
                events += due.len() as u64;
                let post = j.post as usize;
                let ns = j.synapse.states.len();
                let mut syn_local = vec![0.0; ns];
                let mut post_local = vec![0.0; pst[post].states.len()];
                let mut pre_local = vec![0.0; pst[j.pre as usize].states.len()];
                for &s in &due {
                    let s = s as usize;
                    let target = table.structure.cols[s] as usize;
                    let x = if j.synapse.layout == SynapseLayout::AlignPost {
                        target
                    } else {
                        s
                    };
                    let w = weight_of(table, s);
                    if let Some(pre_of) = &pre_of[k] {
                        let pre = &pst[j.pre as usize];
                        for (q, v) in pre_local.iter_mut().enumerate() {
                            *v = pre.states[q][pre_of[s] as usize];
                        }
                    }
                    for r in &j.synapse.on_pre {
                        for (q, v) in syn_local.iter_mut().enumerate() {
                            *v = jst[k].syn[q][x];
                        }
                        for (q, v) in post_local.iter_mut().enumerate() {
                            *v = pst[post].states[q][target];
                        }
                        let env = SynEnv {
                            syn: &syn_local,
                            params: &syn_params[k],
                            post_s: &post_local,
                            post_c: &[],
                            pre_s: &pre_local,
                            w,
                            t,
                            dt,
                            key: syn_keys[k],
                            index: x as u32,
                            step: step32,
                            batch: b,
                            f32,
                        };
                        let v = eval(a, r.value, &env);
                        let slot = match r.target {
                            Var::Syn(q) => &mut jst[k].syn[q as usize][x],
                            Var::PostState(q) => &mut pst[post].states[q as usize][target],
                            _ => continue,
                        };
                        *slot = round(
                            f32,
                            match r.op {
                                AssignOp::Set => v,
                                AssignOp::Add => *slot + v,
                            },
                        );
                    }
                }
                let mut due = due;
                due.clear();
                jst[k].ring[slot] = due;
            }
        }
    }
    if let Some(w) = setup.watch.as_mut() {
        (w.sink)(setup.steps, &pops)?;
    }
    Ok(Outcome {
        spikes,
        synaptic_events: events,
        wall_s: start.elapsed().as_secs_f64(),
        threads: 1,
    })
}
