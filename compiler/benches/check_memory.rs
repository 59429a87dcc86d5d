//! Peak memory of `snnc check` per byte of model.
//!
//! Run with `cargo bench -p snnc --bench check_memory` (optionally followed by
//! sizes in MB, default `10 50`). For each size it writes the generated model
//! of `front_large` to a temporary file, checks it in a child process exactly
//! as `snnc check` does (read the file, check, lower every network), and
//! prints the child's peak resident memory (`VmHWM` of `/proc/self/status`,
//! Linux only) and its ratio to the size of the model.

#[path = "support/generated_model.rs"]
mod generated_model;

use std::path::Path;
use std::process::Command;

/// Set in the child: the model file to check.
const CHILD_ENV: &str = "SNNC_CHECK_MEMORY_MODEL";

fn main() {
    if let Ok(path) = std::env::var(CHILD_ENV) {
        check_in_this_process(Path::new(&path));
        return;
    }
    let sizes_mb: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let sizes_mb = if sizes_mb.is_empty() {
        vec![10, 50]
    } else {
        sizes_mb
    };
    println!("peak memory of `snnc check` on the generated model:");
    for mb in sizes_mb {
        measure(mb * 1_000_000);
    }
}

fn measure(bytes: usize) {
    // A model of one neuron model is one population and one projection of
    // the network too: about what each more adds.
    let per_model = generated_model::model(1).len();
    let text = generated_model::model((bytes / per_model).max(1));
    let path = std::env::temp_dir().join(format!("snnc-check-memory-{}.snn", std::process::id()));
    std::fs::write(&path, &text).expect("write the generated model");
    let out = Command::new(std::env::current_exe().expect("own path"))
        .env(CHILD_ENV, &path)
        .output()
        .expect("run the child");
    let _ = std::fs::remove_file(&path);
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "the child failed: {report}");
    let peak: u64 = report
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("the child printed {report:?}"));
    println!(
        "  {:>6.1} MB model: peak {:>7.1} MB, {:>5.1} bytes of memory per byte of model",
        text.len() as f64 / 1e6,
        peak as f64 / 1e6,
        peak as f64 / text.len() as f64
    );
}

/// What `snnc check FILE` does, then the peak resident memory in bytes on stdout.
fn check_in_this_process(path: &Path) {
    let text = snnc::source::read_text(path).expect("the generated model is UTF-8");
    let name = path.display().to_string();
    let out = snnc::pipeline::check_all(&name, &text, &snnc::source::DiskLoader);
    assert!(
        !out.has_errors(),
        "the generated model checks cleanly: {:?}",
        out.diagnostics.first()
    );
    drop(out);
    drop(text);
    println!("{}", peak_resident_bytes());
}

/// `VmHWM` (the peak resident set) of this process.
fn peak_resident_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("Linux /proc");
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/self/status");
    kb * 1024
}
