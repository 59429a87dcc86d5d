//! SIGINT / SIGTERM during `snnc run` (the real binary): the run stops at a
//! step boundary, every recording ends at that step (spikes of both
//! populations, traces with as many rows as sampled steps before it),
//! `summary.json` says `"interrupted": true` with the step reached, and the
//! process exits with 128 + the signal and one line on stderr.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use snnc_runtime::array_file::read_npy;
use snnc_runtime::summary::Summary;
use snnc_runtime::FileRole;

/// CUBA (examples/cuba.snn) for 1000 s, with traces of both populations
/// every 10 steps: far longer than a test waits.
const MODEL: &str = "
import std.{LIF, Expon, CUBA}
network cuba {
    dt = 0.1 ms
    duration = 1000 s
    seed = 42
    population E = LIF[3200] {
        V_rest = -49 mV, V_reset = -60 mV, V_th = -50 mV,
        tau = 20 ms, R = 100 Mohm, t_ref = 5 ms,
        V ~ uniform(-60 mV, -50 mV)
    }
    population I = LIF[800] {
        V_rest = -49 mV, V_reset = -60 mV, V_th = -50 mV,
        tau = 20 ms, R = 100 Mohm, t_ref = 5 ms,
        V ~ uniform(-60 mV, -50 mV)
    }
    projection E -> E, I {
        connect fixed_prob(0.02)
        weight 16.2 pA
        synapse Expon(tau = 5 ms)
        output CUBA
    }
    projection I -> E, I {
        connect fixed_prob(0.02)
        weight -90 pA
        synapse Expon(tau = 10 ms)
        output CUBA
    }
    record spikes of E, I
    record V of E[0:4] every 1 ms
    record V of I[0:4] every 1 ms
}
";

const TRACE_EVERY: u64 = 10;

fn npy(path: &Path) -> (Vec<u64>, Vec<f64>) {
    let a = read_npy(&FileRole::Stimulus("recording".into()), path, |_| Ok(()))
        .unwrap_or_else(|e| panic!("{} is not a valid .npy: {e}", path.display()));
    (a.shape, a.data)
}

fn folder(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("snnc-interrupt-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Start `snnc run` on [`MODEL`], send `signal` once it is stepping, and
/// check what it leaves. A run still compiling when the signal comes stops
/// before step 0 (valid, but it shows nothing): then again, waiting longer.
fn interrupt(name: &str, backend: &str, threads: &str, signal: &str, code: i32) {
    for wait_ms in [1500, 4000, 10_000] {
        if interrupt_after(name, backend, threads, signal, code, wait_ms) > 0 {
            return;
        }
    }
    panic!("{name}: the run never got past step 0");
}

/// One try: the steps the run reached.
fn interrupt_after(
    name: &str,
    backend: &str,
    threads: &str,
    signal: &str,
    code: i32,
    wait_ms: u64,
) -> u64 {
    let dir = folder(name);
    let model = dir.join("cuba.snn");
    std::fs::write(&model, MODEL).unwrap();
    let out = dir.join("out");
    let child = Command::new(env!("CARGO_BIN_EXE_snnc"))
        .args(["run", "--backend", backend, "--out"])
        .arg(&out)
        .arg(&model)
        .env("SNNC_THREADS", threads)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("snnc starts");
    // The output folder is created once everything is checked, just before
    // the first step (the recordings' files appear at their first flush);
    // give the run a moment to be well inside the step loop.
    let started = Instant::now();
    let mut child = child;
    while !out.exists() {
        if started.elapsed() > Duration::from_secs(120) {
            // Never leave a 1000 s run behind a failed test.
            let _ = child.kill();
            let _ = child.wait();
            panic!("the run never started");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(wait_ms));
    let sent = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let mask = signal_masks(child.id());
    // A run that ignores the signal must fail this test, not hang the suite.
    let signalled = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if signalled.elapsed() > Duration::from_secs(120) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{name}: the run went on 120 s after {signal} ({mask})");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(code), "{name}: {stderr}");
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "{name}: one message line, got {stderr}");
    let signal_name = if signal == "-INT" {
        "SIGINT"
    } else {
        "SIGTERM"
    };
    assert!(
        lines[0].starts_with(&format!("error: interrupted by {signal_name} after ")),
        "{}",
        lines[0]
    );

    let summary: Summary =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert!(summary.interrupted);
    let reached = summary.steps_done;
    assert!(reached < summary.steps, "{reached}");
    if reached == 0 {
        return 0;
    }
    assert!(
        lines[0].contains(&format!(" after {reached} steps")),
        "{}",
        lines[0]
    );
    assert!((summary.simulated_s - reached as f64 * 1e-4).abs() < 1e-9);

    // Spikes: everything before the step reached, nothing after. CUBA fires
    // a few spikes per step in E and about one every few steps in I, so each
    // file's last spike lies within 100 steps of the end if it was flushed.
    for pop in ["E", "I"] {
        let (_, rows) = npy(&out.join(format!("spikes_{pop}.npy")));
        let last = rows.chunks(3).map(|r| r[0] as u64).max().unwrap_or(0);
        assert!(last < reached, "{name}: {pop} spike at {last} ≥ {reached}");
        assert!(
            last + 100 >= reached,
            "{name}: spikes_{pop} ends at step {last}, the run at {reached}"
        );
        // The summary counts every spike of the steps done: all are in the file.
        let counted = summary.populations.iter().find(|p| p.name == pop).unwrap();
        assert_eq!(counted.spikes, (rows.len() / 3) as u64, "{name}: {pop}");
    }
    // Traces: one row per sampled step before the step reached.
    for pop in ["E", "I"] {
        let (shape, values) = npy(&out.join(format!("trace_{pop}_V.npy")));
        assert_eq!(
            shape,
            vec![reached.div_ceil(TRACE_EVERY), 4],
            "{name}: trace_{pop}_V"
        );
        assert!(values.iter().all(|v| v.is_finite()));
    }
    eprintln!("{name}: stopped after {reached} steps");
    reached
}

/// The blocked and ignored signal masks of process `pid`, as Linux shows
/// them (for the message of a run that did not stop).
fn signal_masks(pid: u32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .map(|s| {
            s.lines()
                .filter(|l| l.starts_with("SigBlk") || l.starts_with("SigIgn"))
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default()
}

/// The test's own process may have been started with SIGTERM blocked (its
/// children inherit the mask): the run unblocks what it handles.
#[test]
fn a_run_started_with_sigterm_blocked_still_stops_on_it() {
    use std::os::unix::process::CommandExt;
    let dir = folder("blocked");
    let model = dir.join("cuba.snn");
    std::fs::write(&model, MODEL).unwrap();
    let out = dir.join("out");
    let mut command = Command::new(env!("CARGO_BIN_EXE_snnc"));
    command
        .args(["run", "--backend", "reference", "--out"])
        .arg(&out)
        .arg(&model)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        command.pre_exec(|| {
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&raw mut set);
            libc::sigaddset(&raw mut set, libc::SIGTERM);
            libc::pthread_sigmask(libc::SIG_BLOCK, &raw const set, std::ptr::null_mut());
            Ok(())
        });
    }
    let mut child = command.spawn().expect("snnc starts");
    let started = Instant::now();
    while !out.exists() && started.elapsed() < Duration::from_secs(120) {
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(500));
    let mask = signal_masks(child.id());
    unsafe {
        libc::kill(child.id() as i32, libc::SIGTERM);
    }
    let signalled = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if signalled.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the run went on 60 s after SIGTERM ({mask})");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(child.wait().unwrap().code(), Some(143));
}

#[test]
fn sigint_stops_the_reference_run_with_every_recording_at_the_same_step() {
    interrupt("ref-int", "reference", "1", "-INT", 130);
}

#[test]
fn sigterm_stops_a_threaded_jit_run_with_every_recording_at_the_same_step() {
    interrupt("jit-term", "cranelift", "2", "-TERM", 143);
}
