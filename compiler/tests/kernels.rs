//! The step program (`snnc compile --emit kernels`): the phases of a step in
//! the documented order (spec/language.md "one time step"), the integration
//! schemes expanded into statements, and a snapshot of COBA's program.

mod run_support;

use run_support::compile_text;
use snnc::ir::{validate, Method};
use snnc::kernel::{schedule, Domain, Stmt};

const COBA: &str = include_str!("../../examples/coba.snn");

fn position(names: &[String], suffix: &str) -> usize {
    names
        .iter()
        .position(|n| n.ends_with(suffix))
        .unwrap_or_else(|| panic!("no kernel *{suffix} in {names:?}"))
}

#[test]
fn phases_come_in_the_documented_order() {
    let m = compile_text(COBA);
    let program = schedule(&validate(&m).expect("valid"));
    let names: Vec<String> = program.kernels.iter().map(|k| k.name.clone()).collect();
    // 1. currents: zeroed, outputs added, then injections; 2–3. neurons;
    // 4. synapse dynamics; 5. events.
    let zero = position(&names, "E.zero_currents");
    let output = position(&names, "E->E.add_output");
    let update = position(&names, "E.update");
    let events = position(&names, "E->E.on_pre");
    assert!(
        zero < output && output < update && update < events,
        "{names:?}"
    );
    // Every population's update is the kernel that decides its spikes.
    for k in &program.kernels {
        assert_eq!(k.fires(), k.name.ends_with(".update"), "{}", k.name);
    }
    insta::assert_snapshot!(snnc::kernel::print::program(&m, &program));
}

/// rk4 is expanded once, in the scheduler: four slope evaluations per
/// stepped state (k1..k4), three shifted states, then the update.
#[test]
fn rk4_expands_into_four_slopes_per_state() {
    let m = compile_text(
        "
neuron Quad {
    state x: 1 = 0.5
    dx/dt = x * x / (1 ms)
}
network quad {
    dt = 0.1 ms
    population Q = Quad[1]
}",
    );
    assert_eq!(m.populations[0].odes[0].method, Method::Rk2);
    for (method, lets) in [
        (Method::Euler, 1 + 1 + 1),
        (Method::Rk2, 1 + 2 + 1 + 1),
        (Method::Rk4, 1 + 4 + 3 + 1 + 1),
    ] {
        let mut m = m.clone();
        m.populations[0].odes[0].method = method;
        let program = schedule(&validate(&m).expect("valid"));
        let update = program
            .kernels
            .iter()
            .find(|k| k.domain == Domain::Neurons { pop: 0 } && k.fires())
            .expect("update kernel");
        // start value, slopes, shifted states, (rk4: combined slope), new value.
        let count = update
            .body
            .iter()
            .filter(|s| matches!(s, Stmt::Let { .. }))
            .count();
        assert_eq!(count, lets, "{method:?}");
    }
}

/// `refractory while` is written once, in the step program: a spike starts
/// the period (no count), a refractory neuron holds and ends it where the
/// condition over the integrated states is false, and never counts down.
#[test]
fn refractory_while_ends_where_its_condition_is_false() {
    let m = compile_text(
        "
neuron Swing {
    state V: mV = -30 mV
    dV/dt = 4 mV / ms
    spike when V > -20 mV
    reset { V = -25 mV }
    refractory while V >= -20 mV
}
network swing {
    dt = 0.1 ms
    population S = Swing[1]
}",
    );
    let program = schedule(&validate(&m).expect("valid"));
    let text = snnc::kernel::print::program(&m, &program);
    let update: String = text
        .split("kernel ")
        .find(|k| k.starts_with("S.update"))
        .expect("update kernel")
        .lines()
        .map(str::trim)
        .collect::<Vec<_>>()
        .join(" ");
    // V is held (the reset assigns it with `=`), the condition reads the
    // held value (%1 after `%1 = %0`).
    let want = "if refractory { %1 = %0 if (%1 >= -0.02) { } else { end refractory } } else {";
    assert!(update.contains(want), "{update}");
    assert!(
        update.contains("spike %1 = -0.025 refractory until ended"),
        "{update}"
    );
    assert!(!update.contains("count down"), "{update}");
}
