//! Warnings (a model that runs, perhaps not as meant): `snnc check` prints
//! them and exits 0, `snnc run` prints them before the run and counts them
//! in `summary.json`.

use std::path::PathBuf;
use std::process::Command;

/// Two ODEs under `integrate exp_euler`, neither linear in its state: two
/// W0001 (the rule in spec/errors.md), no error.
const MODEL: &str = "neuron Quad {
    param tau: ms = 10 ms
    state V: mV = 1 mV
    state u: 1 = 0.5
    dV/dt = -V * V / (tau * mV)
    du/dt = -exp(u) / tau
    integrate exp_euler
}
network n {
    dt = 0.1 ms
    duration = 1 ms
    population P = Quad[2]
    record spikes of P
}
";

fn model_file(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("quad.snn");
    std::fs::write(&path, MODEL).unwrap();
    path
}

#[test]
fn check_prints_warnings_and_succeeds() {
    let out = Command::new(env!("CARGO_BIN_EXE_snnc"))
        .arg("check")
        .arg(model_file("warn-check"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(stderr.matches("[W0001] Warning").count(), 2, "{stderr}");
    assert!(stderr.contains("ok: "), "{stderr}");
}

#[test]
fn run_prints_warnings_first_and_counts_them_in_the_summary() {
    let model = model_file("warn-run");
    let out_dir = model.parent().unwrap().join("out");
    let out = Command::new(env!("CARGO_BIN_EXE_snnc"))
        .args(["run", "--backend", "reference", "-q", "--out"])
        .arg(&out_dir)
        .arg(&model)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(stderr.matches("[W0001] Warning").count(), 2, "{stderr}");
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out_dir.join("summary.json")).unwrap())
            .unwrap();
    assert_eq!(summary["warnings"], 2);
}
