//! The divergence guard (`back::guard`): a state that becomes NaN or ±inf
//! stops the run with an error naming the population, the variable, the
//! neuron and the step, on the reference and on the JIT alike, and the
//! recordings up to that step stay valid `.npy` files.
//!
//! One test per cause: a NaN parameter, a zero time constant, `exp`
//! overflow, an explicit method on a stiff ODE (Hodgkin-Huxley with rk4 at
//! dt = 0.1 ms).

use std::path::{Path, PathBuf};

use snnc::back::guard::CHECK_EVERY;
use snnc::ir::Module;
use snnc::run::{run, Backend, Precision, RunError, RunOptions};
use snnc_runtime::array_file::read_npy;
use snnc_runtime::divergence::{Cause, Divergence, Seen};
use snnc_runtime::summary::Summary;
use snnc_runtime::{FileRole, RuntimeError};

mod run_support;

use run_support::compile_text as compile;

fn dir_of(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("snnc-diverge-{}-{name}", std::process::id()))
}

/// A fresh output folder.
fn out_dir(name: &str) -> PathBuf {
    let dir = dir_of(name);
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// (shape, values) of a recording; panics unless it is a valid `.npy`.
fn npy(path: &Path) -> (Vec<u64>, Vec<f64>) {
    let a = read_npy(&FileRole::Stimulus("recording".into()), path, |_| Ok(()))
        .unwrap_or_else(|e| panic!("{} is not a valid .npy: {e}", path.display()));
    (a.shape, a.data)
}

const BACKENDS: [(Backend, Precision); 3] = [
    (Backend::Reference, Precision::F64),
    (Backend::Cranelift, Precision::F64),
    (Backend::Cranelift, Precision::F32),
];

/// Run `m` on `backend`; it must diverge. Checks what every diverged run
/// leaves: valid recordings that end before the reported step, and a
/// summary that says where the run stopped.
fn diverge(m: &Module, name: &str, (backend, precision): (Backend, Precision)) -> Divergence {
    let dir = out_dir(&format!("{name}-{backend:?}-{precision:?}"));
    let mut opts = RunOptions::new(dir.clone());
    opts.backend = backend;
    opts.precision = precision;
    let d = match run(m, &opts) {
        Err(RunError::Runtime(RuntimeError::Diverged(d))) => *d,
        other => panic!("{name} on {backend:?}: expected a divergence, got {other:?}"),
    };
    for p in &m.populations {
        let spikes = dir.join(format!("spikes_{}.npy", p.name));
        if spikes.exists() {
            let (_, rows) = npy(&spikes);
            assert!(
                rows.chunks(3).all(|r| (r[0] as u64) < d.step),
                "{name}: a spike at or after step {}",
                d.step
            );
        }
    }
    let summary: Summary =
        serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary.steps_done, d.step, "{name}");
    assert!(!summary.interrupted);
    assert_eq!(summary.diverged.as_deref(), Some(d.to_string().as_str()));
    d
}

/// The same divergence, found at the same step, on every backend.
fn diverge_everywhere(m: &Module, name: &str) -> Divergence {
    let first = diverge(m, name, BACKENDS[0]);
    for b in &BACKENDS[1..] {
        let d = diverge(m, name, *b);
        // Causes compared as text: NaN values are not equal to themselves.
        assert_eq!(
            (&d.population, &d.variable, d.neuron, d.batch, d.step),
            (
                &first.population,
                &first.variable,
                first.neuron,
                first.batch,
                first.step,
            ),
            "{name}: {b:?} differs from the reference"
        );
        assert_eq!(
            format!("{:?}", d.causes),
            format!("{:?}", first.causes),
            "{name}: {b:?} differs from the reference"
        );
    }
    first
}

fn set_param(m: &mut Module, pop: &str, param: &str, value: f64) {
    let p = m.population_index(pop).unwrap() as usize;
    let q = m.populations[p].params.iter().position(|q| q.name == param);
    m.populations[p].params[q.unwrap()].value = value;
}

const LIF_NET: &str = "
import std.{LIF}
network n {
    dt = 0.1 ms
    duration = 100 ms
    population E = LIF[20] { V_rest = -49 mV, V_th = -50 mV }
    record spikes of E
}
";

#[test]
fn a_nan_parameter_stops_the_run_at_the_first_check_after_it() {
    let mut m = compile(LIF_NET);
    // What `--sweep` refuses, the library API can still do.
    set_param(&mut m, "E", "tau", f64::NAN);
    let d = diverge_everywhere(&m, "nan-param");
    // V starts finite (V_rest); tau = NaN makes it NaN in the first step,
    // found by the first check after step 0: every neuron, the first one named.
    assert_eq!((d.population.as_str(), d.variable.as_str()), ("E", "V"));
    assert_eq!((d.neuron, d.batch, d.step), (0, 0, CHECK_EVERY));
    assert_eq!(d.finite_at, Some(0));
    assert_eq!(d.seen, Seen::StateCheck);
    assert!(d.value.is_nan());
    assert!(
        matches!(&d.causes[0], Cause::NonFiniteParam { param, value } if param == "tau" && value.is_nan()),
        "{:?}",
        d.causes
    );
    let msg = d.to_string();
    for part in [
        "E.V",
        "neuron 0",
        "step 256",
        "t = 25.6 ms",
        "parameter tau is NaN",
    ] {
        assert!(msg.contains(part), "{msg}");
    }
}

#[test]
fn a_zero_time_constant_is_found_in_the_first_recorded_value_it_spoils() {
    let text = LIF_NET.replace(
        "record spikes of E",
        "record spikes of E\n record V of E[3:5]",
    );
    let mut m = compile(&text);
    set_param(&mut m, "E", "tau", 0.0);
    let d = diverge_everywhere(&m, "zero-tau");
    // The trace samples every step: V of neuron 3 (the first one recorded)
    // is finite at step 0 and not after the first step.
    assert_eq!((d.variable.as_str(), d.neuron, d.step), ("V", 3, 1));
    assert_eq!(d.seen, Seen::Recorded);
    assert_eq!(d.finite_at, Some(0));
    assert!(
        d.causes
            .iter()
            .any(|c| matches!(c, Cause::ZeroDivisor { param } if param == "tau")),
        "{:?}",
        d.causes
    );
    // The trace holds the one finite row (step 0).
    for (backend, precision) in BACKENDS {
        let dir = dir_of(&format!("zero-tau-{backend:?}-{precision:?}"));
        let (shape, v) = npy(&dir.join("trace_E_V.npy"));
        assert_eq!(shape, vec![1, 2]);
        assert!(
            (v[0] - -0.049).abs() < 1e-6,
            "V starts at V_rest = -49 mV, got {v:?}"
        );
    }
}

#[test]
fn a_run_shorter_than_a_check_period_is_checked_at_its_end() {
    let mut m = compile(LIF_NET);
    set_param(&mut m, "E", "tau", 0.0);
    m.duration = 0.001; // 10 steps
    let d = diverge_everywhere(&m, "short");
    assert_eq!((d.step, d.finite_at), (10, Some(0)));
}

#[test]
fn exp_overflow_is_reported_not_counted_as_spikes() {
    // delta_T = 0.01 mV: above V_T the exponential term is exp(>1000),
    // which overflows in the first step to +inf. Such a neuron must not
    // "spike" (and be reset to a finite value) but stop the run.
    let text = "
import std.{ExpIF}
network n {
    dt = 0.1 ms
    duration = 100 ms
    population E = ExpIF[10] { delta_T = 0.01 mV, V = -50 mV }
    record spikes of E
}
";
    let m = compile(text);
    let d = diverge_everywhere(&m, "exp");
    assert_eq!((d.variable.as_str(), d.step), ("V", CHECK_EVERY));
    assert!(d.causes.contains(&Cause::ExpOverflow), "{:?}", d.causes);
    let dir = dir_of("exp-Reference-F64");
    let (_, rows) = npy(&dir.join("spikes_E.npy"));
    assert!(rows.is_empty(), "an infinite V counted as spikes: {rows:?}");
}

#[test]
fn explicit_hodgkin_huxley_at_a_tenth_of_a_millisecond_diverges() {
    // std.HH's equations with `integrate rk4` (std.HH uses exp_euler) and a
    // constant drive: the run turns NaN within the first 26 ms.
    let hh = compile(&format!("{HH_RK4}\n{HH_NET}"));
    let d = diverge_everywhere(&hh, "hh");
    assert_eq!(d.population, "P");
    assert_eq!(d.step, CHECK_EVERY);
    assert!(
        matches!(&d.causes[0], Cause::ExplicitMethod { method, dt_s } if method == "rk4" && (*dt_s - 1e-4).abs() < 1e-12),
        "{:?}",
        d.causes
    );
    assert!(d.to_string().contains("`integrate rk4`"));
    // The same neuron with exp_euler (std.HH) runs the same 100 ms finite.
    let stable = compile(&format!(
        "{}\n{HH_NET}",
        HH_RK4.replace("integrate rk4", "integrate exp_euler")
    ));
    let dir = out_dir("hh-exp-euler");
    run(&stable, &RunOptions::new(dir)).expect("exp_euler stays finite");
}

const HH_NET: &str = "
network hh {
    dt = 0.1 ms
    duration = 100 ms
    population P = HHrk[4]
    record spikes of P
}
";

const HH_RK4: &str = "
neuron HHrk {
    param area: um^2 = 20000 um^2
    param C: pF = (1 uF/cm^2) * area
    param g_L: nS = (0.00005 S/cm^2) * area
    param g_Na: uS = (100 mS/cm^2) * area
    param g_K: uS = (30 mS/cm^2) * area
    param E_L: mV = -60 mV
    param E_Na: mV = 50 mV
    param E_K: mV = -90 mV
    param V_T: mV = -63 mV
    param V_spike: mV = -20 mV
    param t_ref: ms = 3 ms
    param I_b: nA = 1 nA

    state V: mV = E_L
    state m: 1 = 0.026863
    state h: 1 = 0.991306
    state n: 1 = 0.060434

    let v = (V - V_T) / mV
    let alpha_m = 0.32 * 4 / exprel((13 - v) / 4) / ms
    let beta_m = 0.28 * 5 / exprel((v - 40) / 5) / ms
    let alpha_h = 0.128 * exp((17 - v) / 18) / ms
    let beta_h = 4 / (1 + exp((40 - v) / 5)) / ms
    let alpha_n = 0.032 * 5 / exprel((15 - v) / 5) / ms
    let beta_n = 0.5 * exp((10 - v) / 40) / ms

    dV/dt = (g_L * (E_L - V) - g_Na * m^3 * h * (V - E_Na) - g_K * n^4 * (V - E_K) + I_b) / C
    dm/dt = alpha_m * (1 - m) - beta_m * m
    dh/dt = alpha_h * (1 - h) - beta_h * h
    dn/dt = alpha_n * (1 - n) - beta_n * n
    spike when V > V_spike
    refractory t_ref
    integrate rk4
}
";

#[test]
fn a_swept_zero_names_the_batch_item_it_spoils() {
    let m = compile(LIF_NET);
    for (backend, precision) in BACKENDS {
        let mut opts = RunOptions::new(out_dir(&format!("sweep-{backend:?}-{precision:?}")));
        opts.backend = backend;
        opts.precision = precision;
        opts.batch = 2;
        opts.sweeps.push(snnc::run::Sweep {
            population: "E".into(),
            param: "tau".into(),
            from: 0.02,
            to: 0.0,
            values: vec![0.02, 0.0],
        });
        let d = match run(&m, &opts) {
            Err(RunError::Runtime(RuntimeError::Diverged(d))) => *d,
            other => panic!("{backend:?}: expected a divergence, got {other:?}"),
        };
        // Item 0 (tau = 20 ms) stays finite; item 1 (tau = 0) does not.
        assert_eq!(
            (d.batch, d.neuron, d.step),
            (1, 0, CHECK_EVERY),
            "{backend:?}"
        );
        assert_eq!(
            d.causes,
            vec![Cause::ZeroDivisor {
                param: "tau".into()
            }],
            "{backend:?}"
        );
        assert!(d.to_string().contains("(batch item 1)"));
    }
}

#[test]
fn a_check_step_that_is_also_traced_reports_the_state_scan_on_every_backend() {
    // V of neurons 3 and 4 traced every 256 steps: step 256 is both a check
    // and a sample. The scan runs first everywhere, so neuron 0 is named.
    let text = LIF_NET.replace(
        "record spikes of E",
        "record spikes of E\n record V of E[3:5] every 25.6 ms",
    );
    let mut m = compile(&text);
    set_param(&mut m, "E", "tau", f64::NAN);
    let d = diverge_everywhere(&m, "check-and-trace");
    assert_eq!(
        (d.neuron, d.step, d.seen),
        (0, CHECK_EVERY, Seen::StateCheck)
    );
}

#[test]
fn snnc_run_reports_a_divergence_in_one_line_and_fails() {
    let dir = out_dir("cli");
    std::fs::create_dir_all(&dir).unwrap();
    let model = dir.join("hh.snn");
    std::fs::write(&model, format!("{HH_RK4}\n{HH_NET}")).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_snnc"))
        .args(["run", "--out"])
        .arg(dir.join("out"))
        .arg(&model)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(
        lines[0].starts_with("error: the run diverged at step 256 (t = 25.6 ms): P."),
        "{stderr}"
    );
    let (_, rows) = npy(&dir.join("out").join("spikes_P.npy"));
    assert!(rows.chunks(3).all(|r| r[0] < 256.0));
}
