//! The `snnc` binary as a user runs it: `compile --emit ir`, `run` with and
//! without inputs, and the one-line refusals for bad arguments.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn snnc(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_snnc"))
        .args(args)
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join(".."))
        .output()
        .expect("snnc runs")
}

fn out_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("snnc-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn compile_emits_ir() {
    let o = snnc(&["compile", "examples/coba.snn", "--emit", "ir"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("population #0 E = LIF[3200]"), "{text}");
    assert!(text.contains("linear in V → exact"));
    assert!(text.contains("(align post)"));
}

#[test]
fn run_with_an_input_writes_spikes_traces_and_summary() {
    let dir = out_dir("stim");
    let d = dir.to_str().unwrap();
    let o = snnc(&[
        "run",
        "examples/stimulus_file.snn",
        "--input",
        "drive=examples/data/drive.npy",
        "--out",
        d,
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let table = String::from_utf8_lossy(&o.stdout);
    assert!(table.contains("population"), "{table}");
    for f in ["spikes_E.npy", "trace_E_V.npy", "summary.json"] {
        assert!(dir.join(f).exists(), "{f} missing");
    }
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap();
    let rate = summary["populations"][0]["rate_hz"].as_f64().unwrap();
    // The example's comment: about 35 Hz over the 100 ms.
    assert!((25.0..45.0).contains(&rate), "{rate}");
}

#[test]
fn missing_input_is_refused_with_the_flag_to_add() {
    let dir = out_dir("noinput");
    std::fs::create_dir_all(&dir).unwrap();
    let model = dir.join("m.snn");
    std::fs::write(
        &model,
        "import std.LIF\nnetwork n {\n    population E = LIF[3]\n    \
         stimulus drive: nA[E] from input\n    E.I += drive\n}\n",
    )
    .unwrap();
    let o = snnc(&[
        "run",
        model.to_str().unwrap(),
        "--out",
        dir.join("out").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert!(
        e.contains("input 'drive' is not bound: pass --input drive="),
        "{e}"
    );
}

/// `from "data/drive.npy"` binds a default file, relative to the model.
#[test]
fn default_stimulus_file_is_used_without_flags() {
    let dir = out_dir("default-input");
    let o = snnc(&[
        "run",
        "examples/stimulus_file.snn",
        "-q",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(dir.join("spikes_E.npy").exists());
}

#[test]
fn bad_arguments_are_refused_in_one_sentence() {
    let d = out_dir("badargs");
    let d = d.to_str().unwrap();
    let o = snnc(&["run", "examples/seed.snn", "--duration", "5 mV", "--out", d]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("expected a time"), "{}", stderr(&o));

    let o = snnc(&[
        "run",
        "examples/seed.snn",
        "--sweep",
        "E.tau=1mV:2mV",
        "--out",
        d,
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("`tau` of `E` is"), "{}", stderr(&o));

    let o = snnc(&["run", "examples/seed.snn", "--input", "nope", "--out", d]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("expected NAME=FILE"), "{}", stderr(&o));
}

#[test]
fn broken_model_gives_a_diagnostic_and_no_run() {
    let dir = out_dir("broken");
    std::fs::create_dir_all(&dir).unwrap();
    let model = dir.join("broken.snn");
    std::fs::write(
        &model,
        "import std.LIF\nnetwork n {\n    population E = LIF[10] { tau = 5 mV }\n}\n",
    )
    .unwrap();
    let o = snnc(&[
        "run",
        model.to_str().unwrap(),
        "--out",
        dir.join("out").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert!(e.contains("broken.snn:3:"), "{e}");
    assert!(!dir.join("out").exists(), "nothing runs");
}

#[test]
fn sweep_and_batch_run_from_the_command_line() {
    let dir = out_dir("sweep");
    let o = snnc(&[
        "run",
        "examples/stimulus_file.snn",
        "--input",
        "drive=examples/data/drive.npy",
        "--batch",
        "3",
        "--sweep",
        "E.tau=5ms:20ms",
        "--duration",
        "50ms",
        "-q",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["batch"], 3);
    assert_eq!(summary["steps"], 500);
}

/// `--sweep E.tau=5ms,10ms,20ms` sets the batch to 3 and records the values.
#[test]
fn sweep_list_sets_the_batch_and_is_recorded() {
    let dir = out_dir("sweep-list");
    let o = snnc(&[
        "run",
        "examples/stimulus_file.snn",
        "--sweep",
        "E.tau=5ms,10ms,20ms",
        "-q",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["batch"], 3);
    assert_eq!(summary["sweeps"][0]["param"], "tau");
    let v: Vec<f64> = summary["sweeps"][0]["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect();
    assert_eq!(v, [0.005, 0.01, 0.02]);
}

/// The shipped stimulus example holds 1000 rows (100 ms at dt = 0.1 ms):
/// 200 ms would need 2000, so the run is refused with the file, the rows and
/// the steps, and writes nothing (it used to run with the drive at 0 after
/// 100 ms and report half the rate).
#[test]
fn the_stimulus_example_run_longer_than_its_file_is_refused() {
    let dir = out_dir("stim-short");
    let o = snnc(&[
        "run",
        "examples/stimulus_file.snn",
        "--duration",
        "200ms",
        "-q",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert!(
        e.contains("drive.npy") && e.contains("the run has 2000 steps but the file has 1000 rows"),
        "{e}"
    );
    assert!(!dir.exists(), "a refused run writes nothing");
}

/// `snnc run` of `text`, written as `file` into a fresh folder for `test`,
/// with the results in its `out` (returned) and `extra` arguments.
fn run_model(test: &str, file: &str, text: &str, extra: &[&str]) -> (Output, PathBuf) {
    let dir = out_dir(test);
    std::fs::create_dir_all(&dir).unwrap();
    let model = dir.join(file);
    std::fs::write(&model, text).unwrap();
    let out = dir.join("out");
    let mut args = vec![
        "run",
        model.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    (snnc(&args), out)
}

/// A `PoissonSource` rate drawn per neuron above 1/dt is refused before the
/// run (it saturated silently at 1/dt), at the rate override, naming the
/// population and the neuron: uniform(9 kHz, 10.5 kHz) puts a third of 30
/// neurons above 10 kHz (none: (2/3)^30 ≈ 5e-6). A swept rate is refused at
/// the population when it has no override.
#[test]
fn a_poisson_rate_above_one_per_step_points_at_the_rate() {
    let model = |population: &str| {
        format!(
            "import std.PoissonSource\nnetwork n {{\n    duration = 1 ms\n    {population}\n}}\n"
        )
    };
    let refused = |o: &Output, wants: &[&str]| {
        assert_eq!(o.status.code(), Some(1), "{}", stderr(o));
        let e = stderr(o);
        for want in wants {
            assert!(e.contains(want), "no {want:?} in {e}");
        }
    };
    let drawn = model("population S = PoissonSource[30] { rate = uniform(9 kHz, 10.5 kHz) }");
    let (o, out) = run_model("poisson-drawn", "rates.snn", &drawn, &[]);
    refused(
        &o,
        &["E0309", "population S", "rates.snn:4:47", "for neuron"],
    );
    assert!(!out.exists(), "a refused run writes nothing");

    let swept = model("population D = PoissonSource[30]");
    let sweep = ["--sweep", "D.rate=1kHz:20kHz", "--batch", "2"];
    let (o, _) = run_model("poisson-swept", "rates.snn", &swept, &sweep);
    refused(
        &o,
        &[
            "E0309",
            "batch item 1",
            "rates.snn:4:16",
            "swept to 20000 Hz",
        ],
    );
}

/// A delay distribution that reaches one step too rarely (P(Z ≥ 3.5) ≈
/// 2.3e-4 per draw, 1000 draws per synapse, 100 synapses) is refused when the
/// tables are built, with the projection as written, the clause, and the
/// place in the model (it once aborted with "delay of -5 steps" and no
/// location).
#[test]
fn a_drawn_delay_that_rarely_reaches_one_step_points_at_its_clause() {
    let text = "import std.{LIF, Delta}\nnetwork n {\n    population E = LIF[10]\n    \
                projection E -> E {\n        connect all_to_all\n        weight 0.1 mV\n        \
                delay normal(-1 ms, 0.3 ms)\n        synapse Delta\n    }\n}\n";
    let (o, _) = run_model("bad-delay", "delays.snn", text, &[]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(e.contains("E0404"), "{e}");
    assert!(
        e.contains("delay of projection E -> E: 1000 draws in a row"),
        "{e}"
    );
    assert!(e.contains("delays.snn:7:15"), "{e}");
}

/// `--threads N` fixes the JIT's thread count (the summary says so), gives
/// the same spikes for every N, and 0 is refused by the argument parser.
#[test]
fn threads_flag_sets_the_thread_count_and_keeps_the_spikes() {
    let mut spikes = Vec::new();
    for n in ["1", "2", "3"] {
        let dir = out_dir(&format!("threads{n}"));
        let d = dir.to_str().unwrap();
        let o = snnc(&[
            "run",
            "examples/coba.snn",
            "--duration",
            "50ms",
            "--threads",
            n,
            "-q",
            "--out",
            d,
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        let summary: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap())
                .unwrap();
        assert_eq!(summary["threads"].as_u64(), Some(n.parse().unwrap()));
        spikes.push(std::fs::read(dir.join("spikes_E.npy")).unwrap());
        let _ = std::fs::remove_dir_all(&dir);
    }
    assert!(spikes.len() == 3 && spikes[0].len() > 128);
    assert!(spikes.iter().all(|s| *s == spikes[0]));
    let o = snnc(&["run", "examples/coba.snn", "--threads", "0"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--threads"), "{}", stderr(&o));
}
