//! Step semantics of the reference executor: synaptic delays, non-linear
//! integration schemes and traces, per-synapse vs align-post state, noise.

mod run_support;

use std::path::{Path, PathBuf};

use run_support::{add_lif, delayed, expon_net, quadratic, scaled_draw, LIF};
use snnc::ir::build::Builder;
use snnc::ir::{Injection, Method, Module, RandomKind, Record, SynapseLayout, Var};
use snnc::run::{run, RunOptions};
use snnc_runtime::array_file::read_npy;
use snnc_runtime::rng::Distribution;
use snnc_runtime::FileRole;

fn out_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("snnc-sem-tests-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn npy(path: &Path) -> (Vec<u64>, Vec<f64>) {
    let a = read_npy(&FileRole::Stimulus("test".into()), path, |_| Ok(())).expect("readable");
    (a.shape, a.data)
}

fn spike_steps(path: &Path, neuron: u32) -> Vec<u32> {
    let (_, d) = npy(path);
    d.chunks(3)
        .filter(|r| r[1] as u32 == neuron)
        .map(|r| r[0] as u32)
        .collect()
}

#[test]
fn delayed_events_arrive_d_steps_later() {
    for (delay, d_steps) in [(0.0, 0u32), (0.002, 20), (0.00049, 5)] {
        let m = delayed(delay);
        let dir = out_dir(&format!("delay-{d_steps}"));
        run(&m, &RunOptions::new(dir.clone())).unwrap();
        let pre = spike_steps(&dir.join("spikes_Pre.npy"), 0);
        let post = spike_steps(&dir.join("spikes_Post.npy"), 0);
        assert!(!pre.is_empty());
        // on_pre runs at the end of step n + D; the post neuron, pushed above
        // threshold, spikes in the next step.
        let want: Vec<u32> = pre
            .iter()
            .map(|s| s + d_steps + 1)
            .filter(|&s| s < 500)
            .collect();
        assert_eq!(post, want, "delay {delay}");
    }
}

fn final_error(method: Option<Method>) -> f64 {
    let m = quadratic(method, 1);
    let dir = out_dir(&format!("quad-{method:?}"));
    run(&m, &RunOptions::new(dir.clone())).unwrap();
    let (shape, x) = npy(&dir.join("trace_Q_X.npy"));
    assert_eq!(shape, vec![100, 1]);
    // Sample k is the state at the start of step k, i.e. at t = k dt.
    let t = 99.0 * 1e-3;
    (x[99] - 1.0 / (1.0 + 20.0 * t)).abs()
}

#[test]
fn nonlinear_odes_use_the_requested_scheme_with_its_order() {
    let m = quadratic(None, 1);
    assert_eq!(m.populations[0].odes[0].method, Method::Rk2);
    assert!(m.to_string().contains("; dX/dt: not linear in X → rk2"));
    let euler = final_error(Some(Method::Euler));
    let rk2 = final_error(None);
    let rk4 = final_error(Some(Method::Rk4));
    assert!(euler > 1e-4 && euler < 1e-2, "euler {euler}");
    assert!(rk2 < euler / 20.0, "rk2 {rk2} vs euler {euler}");
    assert!(rk4 < rk2 / 20.0, "rk4 {rk4} vs rk2 {rk2}");
}

#[test]
fn per_synapse_state_matches_align_post() {
    let mut traces = Vec::new();
    for layout in [SynapseLayout::AlignPost, SynapseLayout::PerSynapse] {
        let dir = out_dir(&format!("layout-{layout:?}"));
        run(
            &expon_net(layout, Distribution::Constant(0.0005)),
            &RunOptions::new(dir.clone()),
        )
        .unwrap();
        traces.push(npy(&dir.join("trace_Post_V.npy")).1);
    }
    let moved = traces[0].iter().any(|v| (v + 0.065).abs() > 1e-3);
    assert!(moved, "the synapses must drive the post neurons");
    for (a, b) in traces[0].iter().zip(&traces[1]) {
        assert!((a - b).abs() < 1e-12, "{a} vs {b}");
    }
}

#[test]
fn injected_noise_is_per_neuron_per_step_and_reproducible() {
    // I += 3.2 nA * rand(): mean drive 1.6 nA, just above rheobase 1.5 nA.
    let mut m = Module::new("noise", 1e-4, 0.05, 5);
    let pop = add_lif(&mut m, "E", 50, &LIF, |b| b.load(Var::Param(0)));
    let mut b = Builder::new(&mut m.exprs);
    let value = scaled_draw(&mut b, RandomKind::Uniform, 0, 3.2e-9);
    m.injections.push(Injection {
        population: pop,
        current: 0,
        value,
    });
    m.records.push(Record::Trace {
        population: pop,
        state: 0,
        neurons: Some(vec![0, 1]),
        every: 1,
    });
    let go = |name: &str, batch: usize| {
        let mut o = RunOptions::new(out_dir(name));
        o.batch = batch;
        run(&m, &o).unwrap();
        npy(&o.out_dir.join("trace_E_V.npy"))
    };
    let (shape, a) = go("noise-a", 1);
    let (_, b) = go("noise-b", 1);
    assert_eq!(shape, vec![500, 2]);
    assert_eq!(a, b);
    assert_ne!(a[2 * 10], a[2 * 10 + 1], "neurons draw their own noise");
    let (shape2, c) = go("noise-c", 2);
    assert_eq!(shape2, vec![500, 2, 2]);
    // [step, item, neuron]: item 0 equals the unbatched run, item 1 differs.
    let item = |k: usize| {
        (0..500)
            .flat_map(|s| [c[s * 4 + k * 2], c[s * 4 + k * 2 + 1]])
            .collect::<Vec<_>>()
    };
    assert_eq!(item(0), a);
    assert_ne!(item(1), a);
}
