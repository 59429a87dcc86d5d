//! From `.snn` text to spikes: the lowering (checked model → IR) and the
//! run driver together. Analytic results (LIF period, a delta synapse's
//! delay), drawn and per-neuron params, published rates, and the IR of every
//! example pinned as a snapshot. `reset` blocks, injection operators and
//! `if` expressions, known by hand, are conformance cases (`conformance.rs`),
//! run on every executor.

use std::path::{Path, PathBuf};

use snnc::pipeline::compile_source;
use snnc::run::{run, RunOptions};
use snnc::source::DiskLoader;
use snnc_runtime::array_file::read_npy;
use snnc_runtime::FileRole;

mod run_support;

use run_support::compile_text as compile;

fn out_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("snnc-models-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn spike_steps(path: &Path) -> Vec<(u32, u32)> {
    let a = read_npy(&FileRole::Stimulus("test".into()), path, |_| Ok(())).expect("spikes");
    a.data
        .chunks(3)
        .map(|c| (c[0] as u32, c[1] as u32))
        .collect()
}

fn trace(path: &Path) -> Vec<f64> {
    read_npy(&FileRole::Stimulus("test".into()), path, |_| Ok(()))
        .expect("trace")
        .data
}

fn lif_text(current_na: f64, t_ref_ms: f64) -> String {
    format!(
        "import std.LIF
network single {{
    dt = 0.1 ms
    duration = 300 ms
    population N = LIF[1] {{ V_rest = -65 mV, V_reset = -65 mV, V_th = -50 mV,
                            tau = 10 ms, R = 10 Mohm, t_ref = {t_ref_ms} ms }}
    N.I += {current_na} nA
    record spikes of N
}}"
    )
}

/// T = t_ref + tau·ln(RI / (RI − (V_th − V_rest))), to within one step.
#[test]
fn lif_from_snn_fires_with_the_analytic_period() {
    for (i_na, t_ref_ms) in [(2.0, 0.0), (2.0, 2.0), (3.0, 5.0), (5.0, 1.0)] {
        let m = compile(&lif_text(i_na, t_ref_ms));
        let dir = out_dir(&format!("lif-{i_na}-{t_ref_ms}"));
        run(&m, &RunOptions::new(dir.clone())).expect("run");
        let s = spike_steps(&dir.join("spikes_N.npy"));
        assert!(s.len() >= 3, "I = {i_na} nA: {} spikes", s.len());
        let ri = 10.0 * i_na; // mV
        let analytic = t_ref_ms * 1e-3 + 0.010 * (ri / (ri - 15.0)).ln();
        for w in s.windows(2) {
            let period = f64::from(w[1].0 - w[0].0) * 1e-4;
            assert!(
                (period - analytic).abs() <= 1e-4 + 1e-12,
                "I = {i_na} nA, t_ref = {t_ref_ms} ms: period {period} s, analytic {analytic} s"
            );
        }
    }
}

#[test]
fn lif_from_snn_below_threshold_is_silent() {
    // R·I = 14 mV < 15 mV.
    let m = compile(&lif_text(1.4, 0.0));
    let dir = out_dir("lif-sub");
    let summary = run(&m, &RunOptions::new(dir)).expect("run");
    assert_eq!(summary.populations[0].spikes, 0);
}

/// A param drawn per neuron becomes per-neuron state: neurons differ.
#[test]
fn drawn_params_differ_per_neuron_and_constant_ones_do_not() {
    let text = "
import std.LIF
network drawn {
    dt = 0.1 ms
    duration = 0.2 ms
    seed = 7
    population E = LIF[50] { tau = uniform(5 ms, 15 ms), V_th = -50 mV }
    record tau of E
}";
    let m = compile(text);
    let p = &m.populations[0];
    assert!(p.states.iter().any(|s| s.name == "tau"));
    assert!(p.params.iter().any(|q| q.name == "V_th"));
    let dir = out_dir("drawn");
    run(&m, &RunOptions::new(dir.clone())).expect("run");
    let tau = trace(&dir.join("trace_E_tau.npy"));
    let first: Vec<f64> = tau[..50].to_vec();
    assert!(
        first.iter().all(|&t| (0.005..0.015).contains(&t)),
        "{first:?}"
    );
    let mean = first.iter().sum::<f64>() / 50.0;
    assert!((mean - 0.010).abs() < 0.0015, "mean tau {mean}");
    assert!(first.windows(2).any(|w| w[0] != w[1]));
}

/// A delta synapse writes post.V directly, with a delay in steps.
#[test]
fn delta_synapse_with_delay_arrives_after_the_delay() {
    let text = "
import std.{Delta, LIF}
neuron Clock {
    param rate: Hz = 1 kHz
    state phase: 1 = 0
    dphase/dt = rate
    spike when phase >= 1
    reset { phase = 0 }
}
network delayed {
    dt = 0.1 ms
    duration = 3 ms
    population S = Clock[1]
    population T = LIF[1] { V_rest = -65 mV, tau = 1000 ms }
    projection S -> T {
        connect all_to_all
        weight 1 mV
        delay 0.5 ms
        synapse Delta
    }
    record spikes of S
    record V of T
}";
    let m = compile(text);
    let dir = out_dir("delta");
    run(&m, &RunOptions::new(dir.clone())).expect("run");
    let s = spike_steps(&dir.join("spikes_S.npy"));
    let v = trace(&dir.join("trace_T_V.npy"));
    let first = s[0].0 as usize;
    // Delivered at the end of step first + 5, seen at the start of first + 6.
    assert!((v[first + 5] - -0.065).abs() < 1e-9, "{}", v[first + 5]);
    assert!((v[first + 6] - -0.064).abs() < 1e-6, "{}", v[first + 6]);
}

fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples")
}

/// Every example lowers to a valid module; its IR text is pinned.
#[test]
fn examples_lower_to_valid_ir() {
    let mut names: Vec<PathBuf> = std::fs::read_dir(examples_dir())
        .expect("examples/")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "snn"))
        .collect();
    names.sort();
    assert!(names.len() >= 6);
    for path in names {
        let text = std::fs::read_to_string(&path).expect("readable");
        let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
        let mut c = compile_source(&format!("examples/{stem}.snn"), &text, &DiskLoader, None);
        let Some(m) = c.module.take() else {
            panic!(
                "{stem}:\n{}",
                snnc::diagnostic::render_text(&c.diagnostics, c.sources(), false)
            )
        };
        snnc::ir::validate(&m).unwrap_or_else(|e| panic!("{stem}: invalid IR {e:?}"));
        insta::assert_snapshot!(format!("ir_{stem}"), m.to_string());
    }
}

#[test]
fn coba_example_has_the_published_structure() {
    let text = std::fs::read_to_string(examples_dir().join("coba.snn")).unwrap();
    let c = compile_source("coba.snn", &text, &DiskLoader, None);
    let m = c.module.expect("compiles");
    assert_eq!(m.populations.len(), 2);
    assert_eq!(m.populations[0].size + m.populations[1].size, 4000);
    assert_eq!(m.projections.len(), 4, "E->E, E->I, I->E, I->I");
    for j in &m.projections {
        assert_eq!(j.synapse.layout, snnc::ir::SynapseLayout::AlignPost);
        assert!(j.output.is_some());
    }
    assert!((m.dt - 1e-4).abs() < 1e-15);
    assert_eq!((m.duration / m.dt).round() as u64, 10_000);
}

/// The COBA network from its `.snn` file, 200 ms: the Vogels–Abbott rate.
/// Published: about 15–20 Hz; its spread over seeds is a few Hz (seed 1:
/// 22 Hz, seed 2: 18.6 Hz over 500 ms), so the test allows 12–26 Hz.
#[test]
fn coba_example_fires_at_the_published_rate() {
    let text = std::fs::read_to_string(examples_dir().join("coba.snn")).unwrap();
    let m = compile_source("coba.snn", &text, &DiskLoader, None)
        .module
        .expect("compiles");
    let mut opts = RunOptions::new(out_dir("coba-snn"));
    opts.duration = Some(0.2);
    let s = run(&m, &opts).expect("run");
    for p in &s.populations {
        assert!(
            (12.0..26.0).contains(&p.rate_hz),
            "{}: {} Hz",
            p.name,
            p.rate_hz
        );
    }
}

/// CUBA (Brette et al. 2007, benchmark 2) from its `.snn` file, 300 ms.
/// Brian2 on the same model: 5.4 Hz over 1 s (bench/results.md); a few Hz
/// is the published regime, so the test allows 3–10 Hz.
#[test]
fn cuba_example_fires_at_the_published_rate() {
    let text = std::fs::read_to_string(examples_dir().join("cuba.snn")).unwrap();
    let m = compile_source("cuba.snn", &text, &DiskLoader, None)
        .module
        .expect("compiles");
    let mut opts = RunOptions::new(out_dir("cuba-snn"));
    opts.duration = Some(0.3);
    let s = run(&m, &opts).expect("run");
    for p in &s.populations {
        assert!(
            (3.0..10.0).contains(&p.rate_hz),
            "{}: {} Hz",
            p.name,
            p.rate_hz
        );
    }
}

/// The published benchmark run: COBA from its `.snn` file for the full 1 s,
/// on the default backend (Cranelift JIT, f32). Published 15–20 Hz (C loop:
/// 18.9 Hz, Brian2 20.2 Hz in bench/results.md); snnc gives 21.6 Hz at seed
/// 42 and 18.6–22 Hz over other seeds: currents are held over the step
/// (spec §9) where Brian2 uses forward Euler on the conductance form, so the
/// band is 15–23 Hz.
#[test]
fn coba_example_full_second_on_the_jit() {
    use snnc::run::{Backend, Precision};
    let text = std::fs::read_to_string(examples_dir().join("coba.snn")).unwrap();
    let m = compile_source("coba.snn", &text, &DiskLoader, None)
        .module
        .expect("compiles");
    let mut opts = RunOptions::new(out_dir("coba-full"));
    opts.backend = Backend::Cranelift;
    opts.precision = Precision::F32;
    let s = run(&m, &opts).expect("run");
    assert_eq!(s.steps, 10_000);
    let spikes: u64 = s.populations.iter().map(|p| p.spikes).sum();
    let rate = spikes as f64 / 4000.0;
    assert!((15.0..=23.0).contains(&rate), "COBA rate {rate} Hz");
}

/// Mean and variance of a sample.
fn moments(xs: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, var)
}

/// `lognormal(m, s)` has median `m` (with its unit) and log-sd `s`: mean
/// m·e^(s²/2), variance mean²·(e^(s²) − 1), in an initial value (drawn per
/// neuron) and in a weight (drawn per synapse). It once drew values near
/// 1 V for `lognormal(0.1 mV, 0.1)`.
#[test]
fn lognormal_draws_have_the_textbook_moments() {
    let text = "
import std.{LIF, Delta}
network drawn {
    dt = 0.1 ms
    duration = 0.2 ms
    seed = 11
    population E = LIF[20000] { tau = lognormal(10 ms, 0.25) }
    projection E -> E {
        synapse Delta
        connect fixed_in_degree(2)
        weight lognormal(0.1 mV, 0.5)
        delay 1 ms
    }
    record tau of E
}";
    let m = compile(text);
    let lognormal = |median: f64, sigma: f64| {
        let mean = median * (sigma * sigma / 2.0).exp();
        (mean, mean * mean * ((sigma * sigma).exp() - 1.0))
    };
    let dir = out_dir("lognormal");
    run(&m, &RunOptions::new(dir.clone())).expect("run");
    let tau = trace(&dir.join("trace_E_tau.npy"));
    let (mean, var) = moments(&tau[..20000]);
    let (want_mean, want_var) = lognormal(0.010, 0.25);
    assert!((mean / want_mean - 1.0).abs() < 0.01, "mean tau {mean}");
    assert!((var / want_var - 1.0).abs() < 0.05, "var tau {var}");
    log_median_and_sd_are(&tau[..20000], 0.010, 0.25);

    let tables = snnc::run::rule_tables(&m, 11).expect("tables");
    let snnc_runtime::synapse_values::Weights::PerSynapse(w) = &tables[0].weights else {
        panic!("drawn weights are per synapse");
    };
    let w: Vec<f64> = w.iter().map(|&x| f64::from(x)).collect();
    let (mean, var) = moments(&w);
    let (want_mean, want_var) = lognormal(1e-4, 0.5);
    assert_eq!(w.len(), 40000);
    assert!((mean / want_mean - 1.0).abs() < 0.02, "mean weight {mean}");
    assert!((var / want_var - 1.0).abs() < 0.1, "var weight {var}");
    log_median_and_sd_are(&w, 1e-4, 0.5);
}

/// The two arguments of `lognormal(m, s)` as the spec defines them: the
/// sample median is `m` and the sd of the logs is `s`, each within four
/// standard errors of its estimate from n draws: the median's log has
/// standard error √(π/2)·s/√n, the sd of the logs s/√(2n).
fn log_median_and_sd_are(xs: &[f64], median: f64, sigma: f64) {
    let n = xs.len() as f64;
    let mut logs: Vec<f64> = xs.iter().map(|x| x.ln()).collect();
    logs.sort_by(f64::total_cmp);
    let log_median = logs[logs.len() / 2];
    let se_median = (std::f64::consts::FRAC_PI_2).sqrt() * sigma / n.sqrt();
    assert!(
        (log_median - median.ln()).abs() < 4.0 * se_median,
        "median {} vs {median}",
        log_median.exp()
    );
    let (_, log_var) = moments(&logs);
    let se_sd = sigma / (2.0 * n).sqrt();
    assert!(
        (log_var.sqrt() - sigma).abs() < 4.0 * se_sd,
        "log-sd {} vs {sigma}",
        log_var.sqrt()
    );
}

/// A synapse reads a presynaptic state (`pre.V`, see tests/pre_reads.rs for
/// its values) or a presynaptic param (`pre.V_th`, folded to its value):
/// both check and compile.
#[test]
fn presynaptic_state_and_param_reads_compile() {
    let text = |read: &str| {
        format!(
            "
import std.{{LIF, CUBA}}
synapse Scaled {{
    param tau: ms = 5 ms
    state g: [w] = 0
    dg/dt = -g / tau
    on_pre {{ g += w * (1 + {read} / mV) }}
}}
network pre_read {{
    dt = 0.1 ms
    duration = 10 ms
    population A = LIF[2]
    population B = LIF[2]
    projection A -> B {{
        connect one_to_one
        weight 1 nA
        synapse Scaled
        output CUBA
    }}
}}"
        )
    };
    for read in ["pre.V", "pre.V_th"] {
        let text = text(read);
        let out = snnc::pipeline::check_all("test.snn", &text, &snnc::source::NoFiles);
        assert!(!out.has_errors(), "{read}: {:?}", out.diagnostics);
        compile(&text);
    }
}

/// `clip(draw, lo, hi)` in a weight and a delay lowers to a clipped draw
/// (clipped, not redrawn: the clipped delay may be 0 steps, the clipped
/// weight may cross zero), and the tables stay within the bounds.
#[test]
fn clip_of_a_draw_in_weight_and_delay() {
    let text = "
import std.{LIF, Delta}
network clipped {
    dt = 0.1 ms
    duration = 1 ms
    population E = LIF[200]
    projection E -> E {
        synapse Delta
        connect fixed_in_degree(50)
        weight clip(normal(0 mV, 1 mV), -0.5 mV, 0.25 mV)
        delay clip(normal(0.5 ms, 1 ms), 0 ms, 2 ms)
    }
}";
    let m = compile(text);
    assert!(
        m.to_string()
            .contains("clip(normal(0.0, 0.001), -0.0005, 0.00025)"),
        "{m}"
    );
    let tables = snnc::run::rule_tables(&m, 3).expect("tables");
    let snnc_runtime::synapse_values::Weights::PerSynapse(w) = &tables[0].weights else {
        panic!("drawn weights are per synapse");
    };
    assert!(w.iter().all(|&x| (-0.5e-3..=0.25e-3).contains(&x)));
    assert!(w.contains(&-0.5e-3) && w.contains(&0.25e-3));
    let snnc_runtime::synapse_values::Delays::PerSynapse(d) = &tables[0].delays else {
        panic!("drawn delays are per synapse");
    };
    assert!(d.iter().all(|&k| k <= 20));
    // P(draw < dt/2) = Φ(−0.45) ≈ 0.33: clipped (or rounded) to 0 steps.
    let zero = d.iter().filter(|&&k| k == 0).count() as f64 / d.len() as f64;
    assert!((zero - 0.326).abs() < 0.02, "{zero}");

    let bad = text.replace("0 ms, 2 ms)", "2 ms, 0 ms)");
    let c = compile_source("clip.snn", &bad, &DiskLoader, None);
    let msg = snnc::diagnostic::render_text(&c.diagnostics, c.sources(), false);
    assert!(msg.contains("needs lo ≤ hi"), "{msg}");
}

/// A drawn delay that reaches one step too rarely is refused when the tables
/// are built; the error names the projection as written and points at the
/// `delay` clause. normal(-1 ms, 0.3 ms) reaches dt / 2 = 0.05 ms with
/// probability P(Z ≥ 3.5) ≈ 2.3e-4 (above the compile-time bound of 1e-6),
/// so 1000 draws all fail for a synapse with probability ≈ 0.79 and for none
/// of the 100 synapses with probability 0.21^100.
#[test]
fn a_delay_rarely_reaching_one_step_is_reported_at_its_clause() {
    let text = "
import std.{LIF, Delta}
network n {
    population E = LIF[10]
    projection E -> E {
        synapse Delta
        connect all_to_all
        weight 0.1 mV
        delay normal(-1 ms, 0.3 ms)
    }
}";
    let c = compile_source("n.snn", text, &DiskLoader, None);
    let m = c.module.as_ref().expect("compiles");
    let e = run(m, &RunOptions::new(out_dir("bad-delay"))).unwrap_err();
    let d = snnc::run::value_error_at_source(&e, m).expect("a projection error");
    assert_eq!(d.code, "E0404");
    assert!(
        d.message
            .starts_with("delay of projection E -> E: 1000 draws"),
        "{}",
        d.message
    );
    let span = d.primary_span().expect("a place");
    assert_eq!(
        &text[span.start as usize..span.end as usize],
        "normal(-1 ms, 0.3 ms)"
    );
}

/// Delays no run could use are refused when the model compiles (so by
/// `snnc check`), at the clause: a constant that rounds to a negative number
/// of steps or to more than 65535, and a drawn delay that reaches dt / 2
/// with probability below 1e-6 (`normal(-1.5 ms, 0.1 ms)`: P(Z ≥ 15.5);
/// `lognormal(0.001 ms, 0.5)`: P(Z ≥ ln 50 / 0.5 = 7.8)).
/// normal(0 ms, 0.02 ms) reaches it with P(Z ≥ 2.5) ≈ 6e-3 and compiles.
#[test]
fn delays_no_run_could_use_are_refused_at_compile_time() {
    let with_delay = |delay: &str| {
        format!(
            "
import std.{{LIF, Delta}}
network n {{
    dt = 0.1 ms
    population E = LIF[10]
    projection E -> E {{
        synapse Delta
        connect all_to_all
        weight 0.1 mV
        delay {delay}
    }}
}}"
        )
    };
    for delay in [
        "-1 ms",
        "6.6 s",
        "normal(-1.5 ms, 0.1 ms)",
        "uniform(-1 ms, 0.04 ms)",
        "lognormal(0.001 ms, 0.5)",
    ] {
        let text = with_delay(delay);
        let c = compile_source("n.snn", &text, &DiskLoader, None);
        assert!(c.module.is_none(), "{delay} compiled");
        let d = &c.diagnostics[0];
        assert_eq!(d.code, "E0404", "{delay}: {}", d.message);
        let span = d.primary_span().expect("a place");
        assert_eq!(&text[span.start as usize..span.end as usize], delay);
    }
    for delay in [
        "0 ms",
        "6.5 s",
        "normal(0 ms, 0.02 ms)",
        "uniform(-1 ms, 0.06 ms)",
    ] {
        let c = compile_source("n.snn", &with_delay(delay), &DiskLoader, None);
        assert!(c.module.is_some(), "{delay}: {:?}", c.diagnostics);
    }
}

/// `connect fixed_total_number(n)` from `.snn`: exactly n synapses per
/// (source, target) pair of the projection, no autapses when asked.
#[test]
fn fixed_total_number_from_snn() {
    let text = "
import std.{LIF, Delta}
network total {
    dt = 0.1 ms
    duration = 1 ms
    population E = LIF[80]
    population I = LIF[20]
    projection E, I -> E {
        synapse Delta
        connect fixed_total_number(3000, autapses = false)
        weight 0.1 mV
        delay 1 ms
    }
}";
    let m = compile(text);
    assert!(m.to_string().contains("fixed_total_number(3000)"), "{m}");
    let tables = snnc::run::rule_tables(&m, 5).expect("tables");
    assert_eq!(tables.len(), 2);
    for t in &tables {
        assert_eq!(t.structure.len(), 3000);
    }
    let ee = &tables[0].structure;
    assert!((0..80).all(|i| !ee.row(i).contains(&i)), "an autapse");
    run(&m, &RunOptions::new(out_dir("total-number"))).expect("run");
}

/// The model: PD14's excitatory delays `normal(1.5 ms, 0.75 ms)`
/// (once "delay of -5 steps" at run time) and an inhibitory weight that
/// could cross zero now run: every delay is at least one step, every weight
/// keeps the sign of its mean.
#[test]
fn pd14_style_drawn_delays_and_weights_run() {
    let text = "
import std.{LIF, Delta}
network drawn {
    dt = 0.1 ms
    duration = 2 ms
    population E = LIF[300]
    projection E -> E {
        synapse Delta
        connect fixed_total_number(30000)
        weight normal(-0.35 mV, 0.3 mV)
        delay normal(1.5 ms, 0.75 ms)
    }
}";
    let m = compile(text);
    let tables = snnc::run::rule_tables(&m, 9).expect("tables");
    let snnc_runtime::synapse_values::Weights::PerSynapse(w) = &tables[0].weights else {
        panic!("drawn weights are per synapse");
    };
    assert!(w.iter().all(|&x| x <= 0.0), "a weight changed sign");
    let snnc_runtime::synapse_values::Delays::PerSynapse(d) = &tables[0].delays else {
        panic!("drawn delays are per synapse");
    };
    assert_eq!(
        d.iter().copied().min(),
        Some(1),
        "the shortest drawn delay is one step"
    );
    run(&m, &RunOptions::new(out_dir("pd14-draws"))).expect("run");
}
