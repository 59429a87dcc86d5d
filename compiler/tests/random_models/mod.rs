//! Random small IR models for the backend property tests: one to three
//! std.LIF populations (size, time constant, refractory period, constant or
//! noisy drive, integration scheme) joined by up to three Expon/CUBA
//! projections (fixed probability, random weights, constant or random
//! delays, per-synapse or post-aligned state). The conformance suite
//! (`conformance.rs`) runs them on every executor against the reference.

use proptest::prelude::*;
use snnc::ir::build::Builder;
use snnc::ir::classify::classify;
use snnc::ir::{
    Connect, Injection, Method, Module, Projection, RandomKind, Record, SynapseLayout, Var,
};
use snnc_runtime::connectivity::Rule;
use snnc_runtime::rng::Distribution;

use crate::run_support::{add_lif, expon_cuba, scaled_draw, Lif, LIF};

#[derive(Debug, Clone)]
struct PopSpec {
    size: u32,
    tau: f64,
    drive: f64,
    noise: bool,
    method: Option<Method>,
    t_ref: f64,
}

#[derive(Debug, Clone)]
struct ProjSpec {
    pre: usize,
    post: usize,
    p: f64,
    w: f64,
    delay_steps: u32,
    random_delay: bool,
    per_synapse: bool,
}

fn pop_spec() -> impl Strategy<Value = PopSpec> {
    (
        1u32..40,
        0.005f64..0.03,
        1.0e-9f64..4.0e-9,
        any::<bool>(),
        prop_oneof![
            Just(None),
            Just(Some(Method::Euler)),
            Just(Some(Method::Rk2)),
            Just(Some(Method::Rk4))
        ],
        prop_oneof![Just(0.0), 0.0005f64..0.004],
    )
        .prop_map(|(size, tau, drive, noise, method, t_ref)| PopSpec {
            size,
            tau,
            drive,
            noise,
            method,
            t_ref,
        })
}

fn proj_spec(npops: usize) -> impl Strategy<Value = ProjSpec> {
    (
        0..npops,
        0..npops,
        0.05f64..0.6,
        -4e-10f64..8e-10,
        0u32..30,
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(
            |(pre, post, p, w, delay_steps, random_delay, per_synapse)| ProjSpec {
                pre,
                post,
                p,
                w,
                delay_steps,
                random_delay,
                per_synapse,
            },
        )
}

fn build(pops: &[PopSpec], projs: &[ProjSpec]) -> Module {
    let mut m = Module::new("random", 1e-4, 0.03, 11);
    let dt = m.dt;
    for (k, ps) in pops.iter().enumerate() {
        let lif = Lif {
            tau: ps.tau,
            t_ref: ps.t_ref,
            ..LIF
        };
        let pop = add_lif(&mut m, &format!("P{k}"), ps.size, &lif, |b| {
            let su = scaled_draw(b, RandomKind::Uniform, 0, 0.015);
            let base = b.c(-0.065);
            b.add(base, su)
        });
        let mut b = Builder::new(&mut m.exprs);
        let value = if ps.noise {
            let su = scaled_draw(&mut b, RandomKind::Normal, 3, ps.drive * 0.3);
            let d = b.c(ps.drive);
            b.add(d, su)
        } else {
            b.c(ps.drive)
        };
        m.injections.push(Injection {
            population: pop,
            current: 0,
            value,
        });
        if let Some(method) = ps.method {
            let rhs = m.populations[k].odes[0].rhs;
            let mut b = Builder::new(&mut m.exprs);
            let (method, update, note) =
                classify(&mut b, rhs, Var::State(0), "V", dt, Some(method));
            let ode = &mut m.populations[k].odes[0];
            ode.method = method;
            ode.update = update;
            ode.note = note;
        }
    }
    for ps in projs {
        let layout = if ps.per_synapse {
            SynapseLayout::PerSynapse
        } else {
            SynapseLayout::AlignPost
        };
        let (synapse, output) = expon_cuba(&mut m, 0.004, layout);
        let delay = if ps.random_delay {
            // A drawn delay is redrawn until it rounds to one step or more:
            // the range reaches past dt / 2 even for delay_steps = 0.
            Distribution::Uniform {
                low: 0.0,
                high: f64::from(ps.delay_steps + 1) * dt,
            }
        } else {
            Distribution::Constant(f64::from(ps.delay_steps) * dt)
        };
        m.projections.push(Projection {
            name: format!("{}->{}", ps.pre, ps.post),
            pre: ps.pre as u32,
            post: ps.post as u32,
            connect: Connect::Rule(Rule::FixedProb(ps.p)),
            allow_autapses: false,
            weight: Distribution::Uniform {
                low: ps.w * 0.5,
                high: ps.w * 1.5,
            },
            delay,
            synapse,
            output: Some(output),
            source: None,
        });
    }
    m.records.push(Record::Spikes { population: 0 });
    m
}

pub fn model() -> impl Strategy<Value = Module> {
    prop::collection::vec(pop_spec(), 1..4).prop_flat_map(|pops| {
        let n = pops.len();
        prop::collection::vec(proj_spec(n), 0..4).prop_map(move |projs| build(&pops, &projs))
    })
}
