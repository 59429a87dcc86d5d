//! `pre.X`: synapse code reads a state of the presynaptic neuron, in
//! `on_pre` and in a synapse ODE, on every executor (reference, JIT on one
//! and two threads, and the NVPTX kernels run on the host in a `cuda`
//! build), checked against closed-form values rather than against each
//! other: a mistake every backend shared (reading 0, as all of them once
//! did) fails here.

mod backend_support;
mod run_support;

use backend_support::{tables, Executor, Opts, Run, EXECUTORS};
use run_support::compile_text;
use snnc::ir::Module;

fn executors() -> Vec<Executor> {
    EXECUTORS.to_vec()
}

/// The run's state at every step.
fn run(m: &Module, on: Executor, f32: bool) -> Run {
    let o = Opts {
        f32,
        state_every: Some(1),
        ..Opts::default()
    };
    on.run(m, &o, &[], &tables(m, m.seed))
}

/// State `state` of neuron `i` of population `pop`, batch item 0, at the
/// start of every step.
fn series(r: &Run, pop: usize, state: usize, i: usize) -> Vec<f64> {
    r.states
        .iter()
        .map(|(_, items)| items[0][pop].states[state][i])
        .collect()
}

/// A neuron whose V climbs 0.1 mV per 0.1 ms step from 0: after step n it
/// is (n + 1)·0.1 mV, so it crosses 5.05 mV in step 50, resets to 0 and
/// crosses again in step 101. Each spike reaches B after `delay` (20
/// steps), where `on_pre` adds `pre.V / mV` to B's y: at steps 70 and 121
/// the ramp has climbed 20 steps since its reset, so each event adds 2.0.
fn on_pre_model(delay: &str) -> Module {
    compile_text(&format!(
        "
neuron Ramp {{
    param slope: mV/ms = 1 mV/ms
    state V: mV = 0 mV
    dV/dt = slope
    spike when V > 5.05 mV
    reset {{ V = 0 mV }}
}}
neuron Counter {{
    state y: 1 = 0
}}
synapse ReadsPre {{
    on_pre {{ post.y += w * pre.V / mV }}
}}
network reads_pre_on_event {{
    dt = 0.1 ms
    duration = 15 ms
    population A = Ramp[1]
    population B = Counter[1]
    projection A -> B {{
        connect one_to_one
        weight 1
        delay {delay}
        synapse ReadsPre
    }}
}}"
    ))
}

#[test]
fn on_pre_reads_the_presynaptic_state_at_delivery() {
    // A homogeneous delay (the JIT walks spiking rows) and a drawn one that
    // rounds to the same 20 steps for every synapse (the JIT walks a list of
    // synapses and looks their presynaptic neuron up).
    for delay in ["2 ms", "uniform(1.96 ms, 2.04 ms)"] {
        let m = on_pre_model(delay);
        for on in executors() {
            for f32 in [false, true] {
                let r = run(&m, on, f32);
                let y = series(&r, 1, 0, 0);
                let tol = if f32 { 1e-5 } else { 1e-12 };
                let want = |step: usize| match step {
                    0..=70 => 0.0,
                    71..=121 => 2.0,
                    _ => 4.0,
                };
                for (step, v) in y.iter().enumerate() {
                    assert!(
                        (v - want(step)).abs() <= tol * 4.0,
                        "{on:?} f32={f32} delay {delay}: y at step {step} is {v}, want {}",
                        want(step)
                    );
                }
            }
        }
    }
}

/// Three presynaptic neurons hold V at a drawn constant; every synapse
/// follows its own neuron's V: dg/dt = (V/mV·nA − g)/τ, g(0) = 0, so
/// g(t) = V/mV·(1 − e^{−t/τ}) nA exactly (the exact scheme is exact for a
/// constant drive). B integrates the summed current, dy/dt = I/(nA·ms), with
/// the currents of step k taken from g at its start: y at the start of step
/// n is Σ_{k<n} S·(1 − e^{−k·dt/τ})·dt/ms, S = Σ V/mV over the three.
#[test]
fn a_synapse_ode_follows_the_presynaptic_state() {
    let m = compile_text(
        "
import std.{CUBA}
neuron Held {
    state V: mV = 0 mV
}
neuron Integrator {
    state y: 1 = 0
    current I: nA
    dy/dt = I / (1 nA * 1 ms)
}
synapse Follow {
    param tau: ms = 2 ms
    state g: nA = 0 nA
    dg/dt = (pre.V / mV * 1 nA - g) / tau
}
network reads_pre_in_ode {
    dt = 0.1 ms
    duration = 5 ms
    population A = Held[3] { V ~ uniform(1 mV, 5 mV) }
    population B = Integrator[2]
    projection A -> B {
        connect all_to_all
        weight 1 nA
        synapse Follow
        output CUBA
    }
}",
    );
    assert_eq!(
        m.projections[0].synapse.layout,
        snnc::ir::SynapseLayout::PerSynapse
    );
    let decay = (-1e-4f64 / 2e-3).exp();
    for on in executors() {
        for f32 in [false, true] {
            let r = run(&m, on, f32);
            let s: f64 = (0..3).map(|i| series(&r, 0, 0, i)[0] * 1e3).sum();
            assert!(s > 3.0 && s < 15.0, "{on:?}: drawn V sum {s} mV");
            for post in 0..2 {
                let y = series(&r, 1, 0, post);
                let mut want = 0.0_f64;
                for (step, v) in y.iter().enumerate() {
                    let tol = if f32 { 1e-5 } else { 1e-11 } * want.max(1.0);
                    assert!(
                        (v - want).abs() <= tol,
                        "{on:?} f32={f32}: y[{post}] at step {step} is {v}, want {want}"
                    );
                    want += s * (1.0 - decay.powi(step as i32)) * 0.1;
                }
            }
        }
    }
}

/// A state that some `on_pre` writes cannot be read as `pre.X`: the value
/// would depend on the order events are delivered in. `snnc check` says so
/// at the reading projection.
#[test]
fn reading_a_state_another_projection_writes_is_refused_at_the_reader() {
    let text = "
import std.{LIF, Delta, CUBA}
synapse Scaled {
    param tau: ms = 5 ms
    state g: [w] = 0
    dg/dt = -g / tau
    on_pre { g += w * (1 + pre.V / mV) }
}
network conflict {
    population A = LIF[2]
    population B = LIF[2]
    projection B -> A {
        connect one_to_one
        weight 1 mV
        synapse Delta
    }
    projection A -> B {
        connect one_to_one
        weight 1 nA
        synapse Scaled
        output CUBA
    }
}";
    let out = snnc::pipeline::check_all("test.snn", text, &snnc::source::NoFiles);
    let errors: Vec<_> = out.diagnostics.iter().filter(|d| d.is_error()).collect();
    assert_eq!(errors.len(), 1, "{:?}", out.diagnostics);
    assert_eq!(errors[0].code, "E0401");
    let span = errors[0].primary_span().expect("span");
    assert!(
        text[span.start as usize..span.end as usize].starts_with("projection A -> B"),
        "{}",
        &text[span.start as usize..span.end as usize]
    );
    assert!(errors[0].message.contains("pre.V"), "{}", errors[0].message);
}
