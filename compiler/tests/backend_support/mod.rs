//! Running a module on an executor directly (no files), with every spike
//! and the states the test asks for: the harness the JIT and GPU tests share.
#![allow(dead_code)]

use snnc::back::cranelift::{self, JitOptions};
use snnc::back::reference;
use snnc::back::BoundInput;
use snnc::back::{ExecError, Outcome, PopState, Setup};
use snnc::ir::{self, Module, ValidModule};
use snnc_runtime::synapse_values::SynapseTable;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Reference,
    Jit { threads: usize },
}

pub struct Run {
    /// (population, step, batch, neuron), in callback order.
    pub spikes: Vec<(u32, u32, u32, u32)>,
    /// (step, states[batch][population]) at the steps asked for.
    pub states: Vec<(u64, Vec<Vec<PopState>>)>,
    pub events: u64,
    /// Spikes per population (the executor's own count).
    pub counts: Vec<u64>,
    pub wall_s: f64,
}

pub fn tables(m: &Module, seed: u64) -> Vec<SynapseTable> {
    snnc::run::rule_tables(m, seed).expect("synapse tables")
}

#[derive(Clone)]
pub struct Opts {
    pub f32: bool,
    pub batch: u32,
    /// Per batch item, per population parameter overrides (None: module's).
    pub params: Option<Vec<Vec<Vec<f64>>>>,
    /// Record the full state every `every` steps.
    pub state_every: Option<u64>,
    pub steps: Option<u64>,
}

impl Default for Opts {
    fn default() -> Self {
        Self {
            f32: false,
            batch: 1,
            params: None,
            state_every: None,
            steps: None,
        }
    }
}

pub fn run(m: &Module, backend: Backend, o: &Opts) -> Run {
    run_on(m, o, &[], |valid, setup, every| match backend {
        Backend::Reference => reference::execute(valid, setup).map_err(ExecError::from),
        Backend::Jit { threads } => cranelift::execute_with(
            valid,
            setup,
            &JitOptions {
                threads: Some(threads),
                state_every: every.map(|e| vec![e]),
            },
        ),
    })
}

/// Run `m` through `exec` (given the module, the setup and the state
/// interval the test asks for), checking that `on_step` comes once per step
/// in order.
pub fn run_on(
    m: &Module,
    o: &Opts,
    inputs: &[BoundInput],
    exec: impl FnOnce(ValidModule<'_>, Setup<'_>, Option<u64>) -> Result<Outcome, ExecError>,
) -> Run {
    run_on_tables(m, o, inputs, &tables(m, m.seed), exec)
}

/// [`run_on`] with the synapse tables built already (by [`tables`] with
/// the module's seed), for runs of one module on several executors.
pub fn run_on_tables(
    m: &Module,
    o: &Opts,
    inputs: &[BoundInput],
    tables: &[SynapseTable],
    exec: impl FnOnce(ValidModule<'_>, Setup<'_>, Option<u64>) -> Result<Outcome, ExecError>,
) -> Run {
    let valid = ir::validate(m).expect("valid");
    let seed = m.seed;
    let steps = o.steps.unwrap_or((m.duration / m.dt).round() as u64);
    let base: Vec<Vec<f64>> = m
        .populations
        .iter()
        .map(|p| p.params.iter().map(|q| q.value).collect())
        .collect();
    let params = o
        .params
        .clone()
        .unwrap_or_else(|| vec![base; o.batch as usize]);
    let mut spikes = Vec::new();
    let mut states = Vec::new();
    let mut order = Vec::new();
    let every = o.state_every;
    let mut on_spikes = |p: u32, s: u32, b: u32, f: &[u32]| {
        spikes.extend(f.iter().map(|&n| (p, s, b, n)));
        Ok(())
    };
    let mut on_step = |step: u64, items: &[Vec<PopState>]| {
        order.push(step);
        if let Some(e) = every {
            if step.is_multiple_of(e) {
                assert!(!items.is_empty(), "state missing at step {step}");
                states.push((step, items.to_vec()));
            }
        }
        Ok(())
    };
    let setup = Setup {
        steps,
        batch: o.batch,
        seed,
        f32: o.f32,
        params,
        inputs,
        tables,
        on_spikes: &mut on_spikes,
        on_step: &mut on_step,
        watch: None,
    };
    let outcome = exec(valid, setup, every).expect("runs");
    assert_eq!(
        order,
        (0..steps).collect::<Vec<_>>(),
        "on_step once per step, in order"
    );
    Run {
        spikes,
        states,
        events: outcome.synaptic_events,
        counts: outcome.spikes,
        wall_s: outcome.wall_s,
    }
}

/// Every state of every neuron agrees within `rel` of the state's scale,
/// and refractory counters agree exactly.
pub fn assert_states_close(a: &Run, b: &Run, rel: f64) {
    assert_eq!(a.states.len(), b.states.len());
    for ((sa, xa), (sb, xb)) in a.states.iter().zip(&b.states) {
        assert_eq!(sa, sb);
        for (ia, ib) in xa.iter().zip(xb) {
            for (pa, pb) in ia.iter().zip(ib) {
                for (va, vb) in pa.states.iter().zip(&pb.states) {
                    let scale = va.iter().fold(0.0f64, |m, x| m.max(x.abs())).max(1e-30);
                    for (x, y) in va.iter().zip(vb) {
                        assert!(
                            (x - y).abs() <= rel * scale || (x.is_nan() && y.is_nan()),
                            "step {sa}: {x} vs {y} (scale {scale})"
                        );
                    }
                }
                assert_eq!(pa.refractory, pb.refractory, "refractory counters");
            }
        }
    }
}

/// Spike steps of one neuron.
pub fn steps_of(r: &Run, pop: u32, batch: u32, neuron: u32) -> Vec<u32> {
    r.spikes
        .iter()
        .filter(|s| s.0 == pop && s.2 == batch && s.3 == neuron)
        .map(|s| s.1)
        .collect()
}

/// Mean rate (Hz) of a population over a run.
pub fn rate(r: &Run, pop: u32, n: u32, seconds: f64, batch: u32) -> f64 {
    let c = r
        .spikes
        .iter()
        .filter(|s| s.0 == pop && s.2 == batch)
        .count();
    c as f64 / f64::from(n) / seconds
}

// ---- every executor, for the tests that run a model on each ----------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Executor {
    Reference,
    Jit {
        threads: usize,
    },
    /// The NVPTX kernels compiled for the host CPU, looping over thread
    /// indices (chunks of 7 steps, blocks of 32 threads).
    #[cfg(feature = "cuda")]
    NvptxHost,
}

/// Every executor; the first is the reference the others are compared with.
pub const EXECUTORS: &[Executor] = &[
    Executor::Reference,
    Executor::Jit { threads: 1 },
    Executor::Jit { threads: 2 },
    #[cfg(feature = "cuda")]
    Executor::NvptxHost,
];

impl Executor {
    pub fn name(self) -> String {
        match self {
            Executor::Reference => "reference".into(),
            Executor::Jit { threads: 1 } => "JIT, 1 thread".into(),
            Executor::Jit { threads } => format!("JIT, {threads} threads"),
            #[cfg(feature = "cuda")]
            Executor::NvptxHost => "NVPTX kernels on the host".into(),
        }
    }

    /// Whether the executor runs `m` at all: the GPU refuses plastic
    /// projections for now (`back::refuse_plastic`, a documented limit).
    pub fn runs(self, m: &Module) -> bool {
        match self {
            #[cfg(feature = "cuda")]
            Executor::NvptxHost => snnc::back::refuse_plastic(m, "cuda").is_ok(),
            _ => {
                let _ = m;
                true
            }
        }
    }

    /// Run `m` with its synapse `tables`; spikes sorted by (step, batch
    /// item, population, neuron) (the GPU kernels compact them with atomics,
    /// in no fixed order).
    pub fn run(self, m: &Module, o: &Opts, inputs: &[BoundInput], tables: &[SynapseTable]) -> Run {
        let mut r = run_on_tables(m, o, inputs, tables, |valid, setup, every| {
            let state_every = every.map(|e| vec![e]);
            match self {
                Executor::Reference => reference::execute(valid, setup).map_err(ExecError::from),
                Executor::Jit { threads } => cranelift::execute_with(
                    valid,
                    setup,
                    &JitOptions {
                        threads: Some(threads),
                        state_every,
                    },
                ),
                #[cfg(feature = "cuda")]
                Executor::NvptxHost => snnc::back::nvptx::execute_host_with(
                    valid,
                    setup,
                    &snnc::back::nvptx::HostOptions {
                        state_every,
                        chunk: 7,
                        block: 32,
                    },
                ),
            }
        });
        r.spikes.sort_by_key(|s| (s.1, s.2, s.0, s.3));
        r
    }
}
