//! The NVPTX backend's own machinery, verified without a GPU: the chunked
//! step loop of the host-run kernels (`execute_host`: the same LLVM IR
//! compiled for the CPU, looping over thread indices) against the reference
//! for every chunk length, buffer sizes, the divergence guard; the Philox
//! and math routines against the runtime and `std` (uniform draws bitwise,
//! normal draws within 1e-13: they go through `log`/`cos`); every example's
//! PTX assembled by NVIDIA's `ptxas` for sm_80 and sm_90 (when found:
//! `$PTXAS`, the CI venv `target/ptxas-venv`, or `PATH`). How the kernels'
//! runs compare with the reference's, model by model, is the conformance
//! suite's (`conformance.rs`).
#![cfg(feature = "cuda")]

mod backend_support;
mod run_support;

use std::path::{Path, PathBuf};

use backend_support::{assert_states_close, run_on, tables, Opts, Run};
use snnc::back::nvptx::{self, host::Probe, HostOptions};
use snnc::back::reference;
use snnc::back::BoundInput;
use snnc::back::{BackendError, ExecError, PopState, Setup};
use snnc::ir::{self, InputKind, MathOp, Module, RandomKind};
use snnc_runtime::rng::{key_for, normal_f64, philox4x32_10, uniform_f64, Purpose};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Backend {
    Reference,
    Host,
}
const REF: Backend = Backend::Reference;
const HOST: Backend = Backend::Host;

/// Run `m` with host-fed inputs and the host executor's chunk length. Spikes
/// are sorted by (step, batch, population, neuron): the kernels compact them
/// with atomics, in no fixed order.
fn run_with(m: &Module, backend: Backend, o: &Opts, inputs: &[BoundInput], chunk: u32) -> Run {
    let mut r = run_on(m, o, inputs, |valid, setup, every| match backend {
        Backend::Reference => reference::execute(valid, setup).map_err(ExecError::from),
        Backend::Host => nvptx::execute_host_with(
            valid,
            setup,
            &HostOptions {
                state_every: every.map(|e| vec![e]),
                chunk,
                block: 32,
            },
        ),
    });
    r.spikes.sort_by_key(|s| (s.1, s.2, s.0, s.3));
    r
}

// ---- Philox and math --------------------------------------------------------------

#[test]
fn philox_kernel_matches_runtime_and_known_answers() {
    let p = Probe::new().expect("probe compiles");
    // Random123 known answers for Philox4x32-10.
    assert_eq!(
        p.philox([0, 0, 0, 0], [0, 0]),
        [0x6627_e8d5, 0xe169_c58d, 0xbc57_ac4c, 0x9b00_dbd8]
    );
    assert_eq!(
        p.philox([u32::MAX; 4], [u32::MAX; 2]),
        [0x408f_276d, 0x41c8_3b0e, 0xa20b_c7c6, 0x6d54_51fd]
    );
    let mut x = 0x1234_5678u32;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        x
    };
    for _ in 0..2000 {
        let c = [next(), next(), next(), next()];
        let k = [next(), next()];
        assert_eq!(p.philox(c, k), philox4x32_10(c, k));
        let block = philox4x32_10(c, k);
        assert_eq!(
            p.draw(k, RandomKind::Uniform, c).to_bits(),
            uniform_f64(block[0], block[1]).to_bits()
        );
        let n = p.draw(k, RandomKind::Normal, c);
        let want = normal_f64(block);
        assert!(
            (n - want).abs() <= 1e-13 * want.abs().max(1.0),
            "{n} vs {want}"
        );
    }
    // A draw as the kernels key it: (seed, purpose) → key, counter [slot, i, step, b].
    let key = key_for(42, Purpose::ModelNoise { population: 0 });
    let want = reference::eval::keyed_draw(key, RandomKind::Uniform, 1, 7, 100, 2, false);
    assert_eq!(p.draw(key, RandomKind::Uniform, [1, 7, 100, 2]), want);
    // f32 runs: one word per uniform draw, four indices per block.
    for i in 0..40 {
        let want = reference::eval::keyed_draw(key, RandomKind::Uniform, 1, i, 100, 2, true);
        assert_eq!(p.draw_uniform_f32(key, [1, i, 100, 2]), want, "index {i}");
    }
}

fn ulps(a: f64, b: f64) -> u64 {
    if a == b || (a.is_nan() && b.is_nan()) {
        return 0;
    }
    let o = |x: f64| {
        let i = x.to_bits() as i64;
        if i < 0 {
            i64::MIN - i
        } else {
            i
        }
    };
    o(a).abs_diff(o(b))
}

#[test]
fn math_is_within_a_few_ulp() {
    let p = Probe::new().expect("probe compiles");
    let mut xs: Vec<f64> = (0..20001)
        .map(|k| -50.0 + 100.0 * f64::from(k) / 20000.0)
        .collect();
    xs.extend((0..2000).map(|k| -745.0 + 1454.0 * f64::from(k) / 2000.0));
    xs.extend((0..2000).map(|k| 10f64.powf(-300.0 + 0.3 * f64::from(k))));
    xs.extend([
        0.0,
        -0.0,
        1e-9,
        -1e-9,
        0.5,
        -0.5,
        1e-300,
        5e-324,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NAN,
    ]);
    for (op, bound, lo, hi) in [
        (MathOp::Exp, 2, -800.0, 800.0),
        (MathOp::Exprel, 3, -800.0, 700.0),
        (MathOp::Log, 2, f64::NEG_INFINITY, f64::INFINITY),
        (MathOp::Sin, 2, -1e5, 1e5),
        (MathOp::Cos, 2, -1e5, 1e5),
        (MathOp::Tanh, 4, f64::NEG_INFINITY, f64::INFINITY),
        (MathOp::Sqrt, 0, f64::NEG_INFINITY, f64::INFINITY),
        (MathOp::Floor, 0, f64::NEG_INFINITY, f64::INFINITY),
    ] {
        let mut worst = (0, 0.0);
        for &x in &xs {
            if !(x.is_nan() || (lo..=hi).contains(&x)) {
                continue;
            }
            let got = p.math(op, x);
            let want = snnc::ir::build::apply_math(op, x);
            // Near zeros of sin/cos the error is absolute.
            let u = if matches!(op, MathOp::Sin | MathOp::Cos) && want.abs() < 1e-3 {
                if (got - want).abs() <= 1e-19 {
                    0
                } else {
                    ulps(got, want)
                }
            } else {
                ulps(got, want)
            };
            if u > worst.0 {
                worst = (u, x);
            }
        }
        assert!(worst.0 <= bound, "{op:?}: {} ulp at {}", worst.0, worst.1);
    }
    for (x, y) in [
        (2.0, 0.5),
        (3.0, 2.0),
        (-2.0, 3.0),
        (10.0, -1.5),
        (0.0, 2.0),
        (-8.0, 1.0 / 3.0),
    ] {
        let got = p.pow(x, y);
        let want: f64 = f64::powf(x, y);
        assert!(
            ulps(got, want) <= 8 || (got.is_nan() && want.is_nan()),
            "pow({x}, {y}) = {got}, want {want}"
        );
    }
}

// ---- PTX and ptxas ----------------------------------------------------------------

fn ptxas() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("PTXAS") {
        return Some(PathBuf::from(p));
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let venv = root.join("target/ptxas-venv/lib");
    if let Ok(rd) = std::fs::read_dir(&venv) {
        for e in rd.flatten() {
            let p = e.path().join("site-packages/nvidia/cu13/bin/ptxas");
            if p.exists() {
                return Some(p);
            }
        }
    }
    std::process::Command::new("ptxas")
        .arg("--version")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|_| PathBuf::from("ptxas"))
}

fn example_modules() -> Vec<(String, Module)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
    let mut out = Vec::new();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("examples")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "snn"))
        .collect();
    files.sort();
    for f in files {
        let text = std::fs::read_to_string(&f).expect("reads");
        let name = f.to_string_lossy().to_string();
        let c = snnc::pipeline::compile_source(&name, &text, &snnc::source::DiskLoader, None);
        let m = c.module.unwrap_or_else(|| panic!("{name} lowers"));
        out.push((name, m));
    }
    out
}

#[test]
fn every_example_emits_ptx_that_ptxas_accepts() {
    let tool = ptxas();
    eprintln!("ptxas: {tool:?}");
    if tool.is_none() {
        eprintln!(
            "note: ptxas not found (set PTXAS or run .ci/run): PTX generated but not assembled"
        );
    }
    let dir = std::env::temp_dir().join(format!("snnc-ptx-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmp");
    for (name, m) in example_modules() {
        // Plastic projections are refused on the GPU for now (tested below).
        if snnc::back::refuse_plastic(&m, "cuda").is_err() {
            continue;
        }
        let valid = ir::validate(&m).expect("valid");
        for sm in [80, 90] {
            for f32 in [false, true] {
                let ptx = nvptx::emit_ptx(valid, sm, f32).unwrap_or_else(|e| panic!("{name}: {e}"));
                assert!(
                    ptx.contains(".entry snn_neurons"),
                    "{name}: kernels are entries"
                );
                assert!(ptx.contains(&format!(".target sm_{sm}")));
                if let Some(tool) = &tool {
                    let file = dir.join(format!(
                        "{}_{sm}_{}.ptx",
                        Path::new(&name).file_stem().unwrap().to_string_lossy(),
                        if f32 { "f32" } else { "f64" }
                    ));
                    std::fs::write(&file, &ptx).expect("writes");
                    let out = std::process::Command::new(tool)
                        .arg(format!("-arch=sm_{sm}"))
                        .arg(&file)
                        .arg("-o")
                        .arg("/dev/null")
                        .output()
                        .expect("ptxas runs");
                    assert!(
                        out.status.success(),
                        "ptxas sm_{sm} rejected {name}: {}",
                        String::from_utf8_lossy(&out.stderr)
                    );
                }
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn unsupported_sm_is_an_error() {
    let m = run_support::single_lif(2e-9, 0.0, 0.01);
    let valid = ir::validate(&m).expect("valid");
    let e = nvptx::emit_ptx(valid, 75, false).unwrap_err();
    assert!(e.contains("sm_75"), "{e}");
}

#[test]
fn execute_cuda_without_a_driver_is_a_clear_error() {
    if std::path::Path::new("/dev/nvidiactl").exists() {
        return;
    }
    let m = run_support::single_lif(2e-9, 0.0, 0.01);
    let valid = ir::validate(&m).expect("valid");
    let tables = tables(&m, m.seed);
    let mut on_spikes = |_: u32, _: u32, _: u32, _: &[u32]| Ok(());
    let mut on_step = |_: u64, _: &[Vec<PopState>]| Ok(());
    let setup = Setup {
        steps: 10,
        batch: 1,
        seed: m.seed,
        f32: false,
        params: vec![vec![m.populations[0]
            .params
            .iter()
            .map(|q| q.value)
            .collect()]],
        inputs: &[],
        tables: &tables,
        on_spikes: &mut on_spikes,
        on_step: &mut on_step,
        watch: None,
    };
    let e = nvptx::execute_cuda(valid, setup).unwrap_err();
    assert!(
        matches!(
            e,
            ExecError::Backend(BackendError::NoCudaDriver | BackendError::NoCudaDevice { .. })
        ),
        "{e}"
    );
    let e = e.to_string();
    assert!(e.contains("CUDA"), "{e}");
    assert!(!e.contains('\n'), "one sentence: {e}");
}

// ---- the chunked step loop (uploads ahead, asynchronous readback) ----------

/// An array stimulus and a spike-train source with a delay longer than small
/// chunks, traced every step.
fn fed_network() -> Module {
    let src = "import std.*\nnetwork fed {\n dt = 0.1 ms\n duration = 23 ms\n \
               population E = LIF[12] { V_rest = -65 mV, V_th = -50 mV, tau = 10 ms, R = 10 Mohm, t_ref = 2 ms }\n \
               stimulus drive: nA[E] from input\n E.I += drive\n \
               stimulus S: spikes[9] from input\n \
               projection S -> E { connect all_to_all; weight 0.4 nA; delay 1.3 ms; synapse Expon; output CUBA }\n \
               record spikes of E\n record V of E every 0.1 ms\n}";
    let c = snnc::pipeline::compile_source("fed.snn", src, &snnc::source::DiskLoader, None);
    c.module
        .unwrap_or_else(|| panic!("fed network lowers: {:?}", c.diagnostics))
}

fn fed_inputs(m: &Module, steps: u64) -> Vec<BoundInput> {
    use snnc_runtime::spike_train::SpikeTrain;
    use snnc_runtime::stimulus::{Stimulus, StimulusLayout};
    m.inputs
        .iter()
        .map(|i| {
            let n = m.populations[i.population as usize].size;
            match i.kind {
                InputKind::SpikeTrain => {
                    let (mut st, mut ns) = (Vec::new(), Vec::new());
                    for s in 0..steps {
                        for j in 0..n {
                            // Irregular: some steps silent, some with several.
                            if (s * 7 + u64::from(j) * 3) % 11 == 0 {
                                st.push(s);
                                ns.push(j);
                            }
                        }
                    }
                    BoundInput::Spikes(SpikeTrain {
                        name: i.name.clone(),
                        steps: st,
                        neurons: ns,
                    })
                }
                InputKind::Array { .. } => BoundInput::Array(Stimulus {
                    name: i.name.clone(),
                    neurons: n,
                    layout: StimulusLayout::PerStep { steps },
                    values: (0..steps * u64::from(n))
                        .map(|k| 1.2 + 0.6 * ((k as f64) * 0.37).sin())
                        .collect(),
                }),
            }
        })
        .collect()
}

#[test]
fn chunked_inputs_sources_and_traces_match_reference_for_any_chunk() {
    let m = fed_network();
    let steps = (m.duration / m.dt).round() as u64;
    let inputs = fed_inputs(&m, steps);
    let o = Opts {
        state_every: Some(1),
        batch: 2,
        ..Opts::default()
    };
    let r = run_with(&m, REF, &o, &inputs, 7);
    assert!(
        r.counts.iter().all(|&c| c > 0),
        "both populations spike: {:?}",
        r.counts
    );
    // 1: every step its own chunk; 4 < the 13-step delay < 16; 64 > the run.
    for chunk in [1, 4, 7, 16, 64, 500] {
        let h = run_with(&m, HOST, &o, &inputs, chunk);
        assert_eq!(h.spikes, r.spikes, "chunk {chunk}");
        assert_eq!(h.counts, r.counts, "chunk {chunk}");
        assert_eq!(h.events, r.events, "chunk {chunk}");
        assert_eq!(h.states.len(), steps as usize, "chunk {chunk}");
        assert_states_close(&h, &r, 1e-12);
    }
}

/// The kernels a step launches (the kernels' docs): an align-post
/// projection's synapse dynamics run inside the neuron kernel (their element
/// is the post neuron), a per-synapse projection's in their own kernel;
/// `on_pre` in an events kernel either way.
#[test]
fn align_post_dynamics_run_in_the_neuron_kernel() {
    use nvptx::kernels::{kernel_list, KernelKind as K};
    use snnc::ir::SynapseLayout;
    use snnc_runtime::rng::Distribution;
    let launches = |layout| {
        kernel_list(&run_support::expon_net(
            layout,
            Distribution::Constant(5e-4),
        ))
    };
    assert_eq!(
        launches(SynapseLayout::AlignPost),
        [K::Prepare, K::Neurons, K::Events(0), K::Advance]
    );
    assert_eq!(
        launches(SynapseLayout::PerSynapse),
        [K::Prepare, K::Neurons, K::Syn(0), K::Events(0), K::Advance]
    );
}

#[test]
fn ring_and_layout_sizes() {
    use nvptx::driver::{layout, ring_slots};
    // At least three chunks and chunk + max delay, a multiple of the chunk.
    let m = fed_network();
    let tables = tables(&m, m.seed);
    let max_d = tables
        .iter()
        .map(|t| u32::from(t.delays.max_steps()))
        .max()
        .unwrap();
    for k in [1, 2, 4, 7, 13, 16, 64] {
        let s = ring_slots(&tables, k);
        assert_eq!(s % k, 0, "k {k}");
        assert!(s >= 3 * k && s >= k + max_d, "k {k}: {s}");
    }
    // A huge trace budget halves the chunk until it fits.
    let inputs = fed_inputs(&m, 10);
    let mut none_s = |_: u32, _: u32, _: u32, _: &[u32]| Ok(());
    let mut none_t = |_: u64, _: &[Vec<PopState>]| Ok(());
    let setup = Setup {
        steps: 10,
        batch: 4,
        seed: 1,
        f32: false,
        params: vec![],
        inputs: &inputs,
        tables: &tables,
        on_spikes: &mut none_s,
        on_step: &mut none_t,
        watch: None,
    };
    let small = layout(
        &m,
        &setup,
        &HostOptions {
            chunk: 32,
            ..HostOptions::default()
        },
    );
    assert_eq!(small.chunk, 32);
    assert_eq!(small.window, 32);
    let big = Module {
        populations: m
            .populations
            .iter()
            .cloned()
            .map(|mut p| {
                p.size = 4_000_000;
                p
            })
            .collect(),
        ..m.clone()
    };
    let l = layout(
        &big,
        &setup,
        &HostOptions {
            chunk: 64,
            state_every: Some(vec![1]),
            ..HostOptions::default()
        },
    );
    assert!(l.chunk < 64 && l.chunk >= 1, "{l:?}");
    assert!(l.snaps <= l.chunk);
}

#[test]
fn device_bytes_count_state_tables_and_spike_ring() {
    use nvptx::driver::{device_bytes, layout};
    use nvptx::kernels::Plan;
    let (_, m) = example_modules()
        .into_iter()
        .find(|(name, _)| name.ends_with("seed.snn"))
        .expect("seed example");
    let tables = tables(&m, m.seed);
    let synapses: u64 = tables.iter().map(|t| t.structure.len() as u64).sum();
    let n = u64::from(m.populations[0].size);
    let per_neuron = (m.populations[0].states.len() + m.populations[0].currents.len()) as u64;
    let opts = HostOptions::default();
    let bytes = |batch: u32| {
        let mut none_s = |_: u32, _: u32, _: u32, _: &[u32]| Ok(());
        let mut none_t = |_: u64, _: &[Vec<PopState>]| Ok(());
        let setup = Setup {
            steps: 1000,
            batch,
            seed: m.seed,
            f32: true,
            params: vec![],
            inputs: &[],
            tables: &tables,
            on_spikes: &mut none_s,
            on_step: &mut none_t,
            watch: None,
        };
        let lay = layout(&m, &setup, &opts);
        let src: Vec<bool> = snnc::back::spike_sources(&m, setup.inputs)
            .iter()
            .map(Option::is_some)
            .collect();
        let plan = Plan::new(
            &m,
            batch,
            true,
            m.seed,
            Some(&tables),
            lay.slots,
            lay.window,
            &src,
        );
        (
            device_bytes(&m, &setup, &opts, &plan, &lay),
            u64::from(lay.slots),
        )
    };
    let (b1, slots) = bytes(1);
    let (b64, _) = bytes(64);
    // Connectivity once (column indices alone: 4 bytes a synapse).
    assert!(b1 >= 4 * synapses, "{b1} bytes for {synapses} synapses");
    // Each further batch item: its state, currents and its spike ring.
    let per_item = 4 * n * (per_neuron + slots);
    assert!(b64 - b1 >= 63 * per_item, "{b64} - {b1} < 63 x {per_item}");
    assert!(
        b64 - b1 <= 63 * (per_item + 16 * n),
        "{b64} - {b1}: more than state and ring"
    );
}

// ---- the divergence guard on the host-run kernels ---------------------------

/// Run `m` for `steps` on the reference or the host kernels with the
/// divergence guard watching; the error it stops with.
fn guarded(m: &Module, steps: u64, backend: Backend) -> snnc_runtime::RuntimeError {
    use snnc::back::guard::{Guard, StateView, Watch, CHECK_EVERY};
    let valid = ir::validate(m).expect("valid");
    let tables = tables(m, m.seed);
    let params: Vec<Vec<Vec<f64>>> = vec![m
        .populations
        .iter()
        .map(|p| p.params.iter().map(|q| q.value).collect())
        .collect()];
    let guard = Guard::new(m, &params);
    let mut on_spikes = |_: u32, _: u32, _: u32, _: &[u32]| Ok(());
    let mut on_step = |_: u64, _: &[Vec<PopState>]| Ok(());
    let mut sink = |step: u64, view: &dyn StateView| guard.check(step, view);
    let setup = Setup {
        steps,
        batch: 1,
        seed: m.seed,
        f32: false,
        params: params.clone(),
        inputs: &[],
        tables: &tables,
        on_spikes: &mut on_spikes,
        on_step: &mut on_step,
        watch: Some(Watch {
            every: CHECK_EVERY,
            sink: &mut sink,
        }),
    };
    let result = match backend {
        REF => reference::execute(valid, setup).map_err(ExecError::from),
        HOST => nvptx::execute_host(valid, setup),
    };
    match result.expect_err("the run diverges") {
        ExecError::Runtime(e) => e,
        ExecError::Backend(e) => panic!("expected a divergence, got {e}"),
    }
}

fn diverged(e: snnc_runtime::RuntimeError) -> snnc_runtime::divergence::Divergence {
    match e {
        snnc_runtime::RuntimeError::Diverged(d) => *d,
        other => panic!("expected a divergence, got {other}"),
    }
}

#[test]
fn host_kernels_stop_where_the_reference_stops_on_a_divergence() {
    use snnc_runtime::divergence::Cause;
    let lif = "import std.{LIF}\nnetwork n {\n dt = 0.1 ms\n duration = 100 ms\n \
               population E = LIF[20] { V_rest = -49 mV, V_th = -50 mV }\n record spikes of E\n}";
    let expif = "import std.{ExpIF}\nnetwork n {\n dt = 0.1 ms\n duration = 100 ms\n \
                 population E = ExpIF[10] { delta_T = 0.01 mV, V = -50 mV }\n record spikes of E\n}";
    let compile = |src: &str| {
        snnc::pipeline::compile_source("d.snn", src, &snnc::source::NoFiles, None)
            .module
            .expect("compiles")
    };
    let mut nan_tau = compile(lif);
    nan_tau.populations[0]
        .params
        .iter_mut()
        .find(|q| q.name == "tau")
        .unwrap()
        .value = f64::NAN;
    // (model, steps, step the guard reports): a check every 256 steps, and
    // one at the end of a shorter run.
    for (m, steps, at) in [
        (&nan_tau, 1000, 256),
        (&nan_tau, 10, 10),
        (&compile(expif), 1000, 256),
    ] {
        let want = diverged(guarded(m, steps, REF));
        let got = diverged(guarded(m, steps, HOST));
        assert_eq!(want.step, at);
        assert_eq!(
            (
                &got.population,
                &got.variable,
                got.neuron,
                got.step,
                got.finite_at
            ),
            (
                &want.population,
                &want.variable,
                want.neuron,
                want.step,
                want.finite_at
            )
        );
        assert!(!got.causes.is_empty() && got.causes.len() == want.causes.len());
    }
    let exp = diverged(guarded(&compile(expif), 1000, HOST));
    assert!(exp.causes.contains(&Cause::ExpOverflow), "{:?}", exp.causes);
}

#[test]
fn the_guard_reads_a_finite_network_with_a_spike_source_without_complaint() {
    use snnc::back::guard::{Guard, StateView, Watch, CHECK_EVERY};
    let m = fed_network();
    let steps = 230;
    let valid = ir::validate(&m).expect("valid");
    let tables = tables(&m, m.seed);
    let params: Vec<Vec<Vec<f64>>> = vec![m
        .populations
        .iter()
        .map(|p| p.params.iter().map(|q| q.value).collect())
        .collect()];
    let inputs = fed_inputs(&m, steps);
    let guard = Guard::new(&m, &params);
    let mut checked = Vec::new();
    let mut on_spikes = |_: u32, _: u32, _: u32, _: &[u32]| Ok(());
    let mut on_step = |_: u64, _: &[Vec<PopState>]| Ok(());
    let mut sink = |step: u64, view: &dyn StateView| {
        checked.push(step);
        guard.check(step, view)
    };
    let setup = Setup {
        steps,
        batch: 1,
        seed: m.seed,
        f32: false,
        params: params.clone(),
        inputs: &inputs,
        tables: &tables,
        on_spikes: &mut on_spikes,
        on_step: &mut on_step,
        watch: Some(Watch {
            every: CHECK_EVERY / 2,
            sink: &mut sink,
        }),
    };
    let opts = HostOptions {
        chunk: 7,
        ..HostOptions::default()
    };
    nvptx::execute_host_with(valid, setup, &opts).expect("finite");
    // Steps 0 and 128, and the end.
    assert_eq!(checked, vec![0, CHECK_EVERY / 2, steps]);
}
