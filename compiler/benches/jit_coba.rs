//! Speed of the Cranelift JIT (f32) on COBA, CUBA and the seed network, next
//! to the hand-written vectorised C loop (`bench/c/coba.c`) timed in the same
//! process run, plus the JIT's memory per synapse.
//!
//! Run with `cargo bench -p snnc --bench jit_coba`. Knobs (environment):
//! `JIT_BENCH_REPS` (runs per case, the minimum is reported; default 5),
//! `JIT_BENCH_SEED64_MS` (simulated ms of the batch-64 seed run; default 20),
//! `JIT_BENCH_ONLY` (labels without spaces, comma-separated: `COBA,seedb64`),
//! `JIT_BENCH_NO_MEM` (skip the memory probe), `SNNC_THREADS` (as for `snnc run`). Prints one line per case and the ratio
//! of each to the C loop's COBA time.
//!
//! Memory: the bench re-runs itself (`--mem P`) on a 20,000-neuron seed-like
//! network with connection probability P and with P ≈ 0, resets the peak RSS
//! after the synapse tables are built, runs a few steps and reads `VmHWM`:
//! (peak at P − peak at 0) / synapses is what the tables plus everything the
//! JIT adds cost per synapse.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use snnc::back::cranelift::{self, compile_seconds, JitOptions};
use snnc::back::{Outcome, PopState, Setup};
use snnc::ir::{self, Module};
use snnc::source::DiskLoader;
use snnc_runtime::synapse_values::SynapseTable;
use snnc_runtime::RuntimeError;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

/// The folded module of an example, as `snnc run` folds it.
fn module_from_text(name: &str, text: &str) -> Module {
    let m = snnc::pipeline::compile_source(name, text, &DiskLoader, None)
        .module
        .unwrap_or_else(|| panic!("{name} does not compile"));
    ir::fold::fold_params(&m, &|_, _| false)
}

fn example(name: &str) -> (String, String) {
    let path = root().join("examples").join(format!("{name}.snn"));
    let text = std::fs::read_to_string(&path).expect("example readable");
    (path.display().to_string(), text)
}

fn tables(m: &Module) -> Vec<SynapseTable> {
    snnc::run::rule_tables(m, m.seed).expect("synapse tables")
}

/// One JIT run (f32): (outcome, spikes).
fn run(m: &Module, tables: &[SynapseTable], steps: u64, batch: u32) -> (Outcome, u64) {
    let valid = ir::validate(m).expect("valid");
    let params: Vec<Vec<Vec<f64>>> = (0..batch)
        .map(|_| {
            m.populations
                .iter()
                .map(|p| p.params.iter().map(|q| q.value).collect())
                .collect()
        })
        .collect();
    let mut spikes = 0u64;
    let mut on_spikes = |_: u32, _: u32, _: u32, s: &[u32]| -> Result<(), RuntimeError> {
        spikes += s.len() as u64;
        Ok(())
    };
    let mut on_step = |_: u64, _: &[Vec<PopState>]| -> Result<(), RuntimeError> { Ok(()) };
    let setup = Setup {
        steps,
        batch,
        seed: m.seed,
        f32: true,
        params,
        inputs: &[],
        tables,
        on_spikes: &mut on_spikes,
        on_step: &mut on_step,
        watch: None,
    };
    let opts = JitOptions {
        threads: None,
        state_every: Some(Vec::new()),
    };
    let out = cranelift::execute_with(valid, setup, &opts).expect("runs");
    (out, spikes)
}

/// The C loop's simulation seconds for COBA (min over `reps`), if a C
/// compiler is around.
fn c_loop(reps: usize) -> Option<f64> {
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let exe = std::env::temp_dir().join(format!("snnc_jit_bench_coba_{}", std::process::id()));
    let src = root().join("bench").join("c").join("coba.c");
    let ok = Command::new(&cc)
        .args(["-O3", "-march=native", "-fno-trapping-math", "-o"])
        .arg(&exe)
        .arg(&src)
        .arg("-lm")
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        eprintln!("(no C compiler `{cc}`: the C-loop ratio is skipped)");
        return None;
    }
    let mut best = f64::INFINITY;
    for _ in 0..reps {
        let out = Command::new(&exe).output().ok()?;
        let text = String::from_utf8_lossy(&out.stdout);
        let key = "\"sim_s\": ";
        let at = text.find(key)? + key.len();
        let end = text[at..].find(',')? + at;
        best = best.min(text[at..end].trim().parse().ok()?);
    }
    let _ = std::fs::remove_file(&exe);
    Some(best)
}

fn vm_hwm_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<u64>().ok())
        })
        .map_or(0, |kib| kib * 1024)
}

/// Child mode: the seed-like network with 20,000 neurons at probability `p`,
/// with one weight or (`per_synapse`) a weight drawn per synapse;
/// prints `synapses peak_bytes`.
fn mem_child(p: f64, per_synapse: bool) {
    let (name, text) = example("seed");
    let mut text = text
        .replace("LIF[10000]", "LIF[20000]")
        .replace("fixed_prob(0.01)", &format!("fixed_prob({p})"));
    if per_synapse {
        text = text.replace("weight 0.005 nA", "weight uniform(0.004 nA, 0.006 nA)");
    }
    let m = module_from_text(&name, &text);
    let t = tables(&m);
    let synapses: usize = t.iter().map(|x| x.structure.len()).sum();
    // Reset the peak to what is resident now (tables built), so the build's
    // temporaries do not count.
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let _ = run(&m, &t, 20, 1);
    println!("{synapses} {}", vm_hwm_bytes());
}

fn bytes_per_synapse(per_synapse: bool) -> Option<(f64, usize)> {
    let exe = std::env::current_exe().ok()?;
    let kind = if per_synapse { "per-synapse" } else { "one" };
    let probe = |p: &str| -> Option<(usize, f64)> {
        let out = Command::new(&exe).args(["--mem", p, kind]).output().ok()?;
        let text = String::from_utf8_lossy(&out.stdout);
        let mut it = text.split_whitespace();
        Some((it.next()?.parse().ok()?, it.next()?.parse().ok()?))
    };
    let (n, big) = probe("0.02")?;
    let (n0, small) = probe("0.0000001")?;
    Some(((big - small) / (n - n0).max(1) as f64, n - n0))
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--mem") {
        let per_synapse = args.get(i + 2).is_some_and(|k| k == "per-synapse");
        mem_child(args[i + 1].parse().expect("probability"), per_synapse);
        return;
    }
    let reps: usize = std::env::var("JIT_BENCH_REPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5)
        .max(1);
    let seed64_ms: u64 = std::env::var("JIT_BENCH_SEED64_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);

    let c = c_loop(reps);
    // (label, example, batch, steps or None for the network's duration)
    let cases: [(&str, &str, u32, Option<u64>); 4] = [
        ("COBA", "coba", 1, None),
        ("CUBA", "cuba", 1, None),
        ("seed b1", "seed", 1, None),
        ("seed b64", "seed", 64, Some(seed64_ms * 10)),
    ];
    println!("JIT (f32) on {} cores, min of {reps} runs", {
        std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
    });
    let only = std::env::var("JIT_BENCH_ONLY").unwrap_or_default();
    for (label, name, batch, steps) in cases {
        if !only.is_empty() && !only.split(',').any(|o| label.replace(' ', "") == o) {
            continue;
        }
        let (path, text) = example(name);
        let m = module_from_text(&path, &text);
        let steps = steps.unwrap_or_else(|| (m.duration / m.dt).round() as u64);
        let valid = ir::validate(&m).expect("valid");
        let compile = (0..reps)
            .map(|_| compile_seconds(valid, true).expect("compiles"))
            .fold(f64::INFINITY, f64::min);
        let t0 = Instant::now();
        let tb = tables(&m);
        let build = t0.elapsed().as_secs_f64();
        let mut best = f64::INFINITY;
        let mut events = 0;
        let mut spikes = 0;
        for _ in 0..reps {
            let (o, s) = run(&m, &tb, steps, batch);
            best = best.min(o.wall_s);
            events = o.synaptic_events;
            spikes = s;
        }
        let ratio = c.map_or(String::new(), |c| format!(", {:.2}× the C loop", best / c));
        println!(
            "{label:9} {steps} steps × batch {batch}: {best:.4} s ({:.0} steps/s, {:.3e} events/s, {spikes} spikes), JIT compile {:.2} ms, tables {:.3} s{ratio}",
            steps as f64 / best,
            events as f64 / best,
            compile * 1e3,
            build
        );
    }
    if let Some(c) = c {
        println!("C loop (bench/c/coba.c, gcc -O3 -march=native): COBA {c:.4} s");
    }
    if std::env::var_os("JIT_BENCH_NO_MEM").is_some() {
        return;
    }
    for (per_synapse, what, target) in [
        (false, "homogeneous weight", 4.5),
        (true, "per-synapse weights", 8.5),
    ] {
        match bytes_per_synapse(per_synapse) {
            Some((b, n)) => println!(
                "memory: {b:.2} bytes per synapse ({what}; target {target}; {n} synapses, peak RSS over p≈0)"
            ),
            None => println!("memory: could not measure ({what})"),
        }
    }
}
