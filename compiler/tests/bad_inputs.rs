//! The bad-input table: every case of `tests/bad_inputs/cases.json` runs the
//! real `snnc` binary in a folder of its own holding only the case's files,
//! and must be refused: a non-zero exit that is not a panic (101) or a
//! signal, stderr holding the expected error code or message and no panic
//! text, and the folder left exactly as it was (no results, no header-only
//! `.npy` files, no empty output folders).
//!
//! Files come from `tests/bad_inputs/data/` (models, CSV) and from
//! [`npy_fixtures`] (binary `.npy` files written here, byte by byte). A case
//! names them as `{"name in the case folder": "fixture"}`; `{examples}` in an
//! argument is the repository's `examples/` folder.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

/// An `.npy` (version 1.0) file: header for `descr` and `shape`, then `payload`.
fn npy(descr: &str, shape: &[u64], payload: &[u8]) -> Vec<u8> {
    let dims: Vec<String> = shape.iter().map(u64::to_string).collect();
    let shape = match dims.len() {
        1 => format!("({},)", dims[0]),
        _ => format!("({})", dims.join(", ")),
    };
    let mut header =
        format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}").into_bytes();
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(b' ');
    }
    header.push(b'\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(&header);
    out.extend_from_slice(payload);
    out
}

fn f64s(values: &[f64]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

fn i64s(values: &[i64]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// `[rows, 3]` of 0.5 with `value` at `(row, col)` when given.
fn stimulus(rows: u64, bad: Option<(usize, usize, f64)>) -> Vec<u8> {
    let mut values = vec![0.5; rows as usize * 3];
    if let Some((r, c, v)) = bad {
        values[r * 3 + c] = v;
    }
    npy("<f8", &[rows, 3], &f64s(&values))
}

/// The binary fixtures, by file name.
fn npy_fixtures() -> Vec<(&'static str, Vec<u8>)> {
    let ok = stimulus(10, None);
    let mut trailing = ok.clone();
    trailing.extend_from_slice(&[0; 8]);
    vec![
        ("stim_ok.npy", ok.clone()),
        ("stim_wrong_n.npy", npy("<f8", &[10, 4], &f64s(&[0.0; 40]))),
        (
            "stim_rank4.npy",
            npy("<f8", &[10, 1, 1, 3], &f64s(&[0.0; 30])),
        ),
        ("stim_rank0.npy", npy("<f8", &[], &f64s(&[1.0]))),
        ("stim_bool.npy", npy("|b1", &[10, 3], &[0; 30])),
        ("stim_str.npy", npy("<U3", &[3], &[0; 36])),
        ("stim_short.npy", stimulus(5, None)),
        ("stim_one_row.npy", stimulus(1, None)),
        ("stim_nan.npy", stimulus(10, Some((4, 1, f64::NAN)))),
        ("stim_inf.npy", stimulus(10, Some((9, 2, f64::INFINITY)))),
        ("stim_trailing.npy", trailing),
        ("stim_empty.npy", Vec::new()),
        ("stim_trunc_header.npy", ok[..20].to_vec()),
        ("stim_trunc_data.npy", ok[..ok.len() - 16].to_vec()),
        ("stim_not_npy.npy", b"time,drive\n0,1\n".to_vec()),
        (
            "stim_batch3.npy",
            npy("<f8", &[10, 3, 3], &f64s(&[0.0; 90])),
        ),
        ("spk_cols.npy", npy("<f8", &[2, 3], &f64s(&[0.0; 6]))),
        ("spk_range.npy", npy("<f8", &[1, 2], &f64s(&[5.0, 1e-4]))),
        (
            "spk_negative.npy",
            npy("<f8", &[1, 2], &f64s(&[0.0, -1e-3])),
        ),
        ("spk_nan.npy", npy("<f8", &[1, 2], &f64s(&[0.0, f64::NAN]))),
        ("edges_range.npy", npy("<i8", &[2, 2], &i64s(&[0, 1, 1, 7]))),
        ("edges_negative.npy", npy("<i8", &[1, 2], &i64s(&[-1, 0]))),
        (
            "edges_nan.npy",
            npy("<f8", &[2, 3], &f64s(&[0.0, 1.0, 0.5, 1.0, 2.0, f64::NAN])),
        ),
        ("edges_bool.npy", npy("|b1", &[2, 2], &[0, 1, 1, 0])),
        ("edges_cols.npy", npy("<i8", &[2, 4], &i64s(&[0; 8]))),
    ]
}

/// One row of the table.
struct Case {
    name: String,
    args: Vec<String>,
    files: BTreeMap<String, String>,
    env: BTreeMap<String, String>,
    expect: String,
    unless_feature: Option<String>,
}

fn strings(value: &serde_json::Value) -> Vec<String> {
    value
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

fn string_map(value: &serde_json::Value) -> BTreeMap<String, String> {
    value
        .as_object()
        .map(|o| {
            o.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                .collect()
        })
        .unwrap_or_default()
}

fn cases() -> Vec<Case> {
    let path = repo().join("tests/bad_inputs/cases.json");
    let text = std::fs::read_to_string(&path).expect("read cases.json");
    let json: serde_json::Value = serde_json::from_str(&text).expect("cases.json is JSON");
    json["cases"]
        .as_array()
        .expect("a `cases` array")
        .iter()
        .map(|c| Case {
            name: c["name"].as_str().expect("a case name").to_string(),
            args: strings(&c["args"]),
            files: string_map(&c["files"]),
            env: string_map(&c["env"]),
            expect: c["expect"].as_str().expect("an expect string").to_string(),
            unless_feature: c["unless_feature"].as_str().map(String::from),
        })
        .collect()
}

/// Every path under `dir`, relative, sorted (folders included).
fn listing(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).expect("read case folder").flatten() {
            let p = entry.path();
            out.push(p.strip_prefix(dir).expect("under dir").to_path_buf());
            if p.is_dir() {
                todo.push(p);
            }
        }
    }
    out.sort();
    out
}

/// The fixture pool: the committed data files and the generated `.npy` files.
fn fixture_pool(root: &Path) -> PathBuf {
    let pool = root.join("pool");
    std::fs::create_dir_all(&pool).expect("create pool");
    for entry in std::fs::read_dir(repo().join("tests/bad_inputs/data"))
        .expect("tests/bad_inputs/data")
        .flatten()
    {
        std::fs::copy(entry.path(), pool.join(entry.file_name())).expect("copy fixture");
    }
    for (name, bytes) in npy_fixtures() {
        std::fs::write(pool.join(name), bytes).expect("write npy fixture");
    }
    pool
}

/// How one case went.
struct Outcome {
    code: Option<i32>,
    stderr: String,
    timed_out: bool,
}

fn run_case(case: &Case, dir: &Path) -> Outcome {
    let examples = repo().join("examples");
    let args: Vec<String> = case
        .args
        .iter()
        .map(|a| a.replace("{examples}", &examples.display().to_string()))
        .collect();
    let mut child = Command::new(env!("CARGO_BIN_EXE_snnc"))
        .args(&args)
        .current_dir(dir)
        .env_remove("SNNC_THREADS")
        .env_remove("RUST_BACKTRACE")
        .envs(&case.env)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start snnc");
    // A refusal is immediate; a case that runs is an error, not a hang.
    let started = Instant::now();
    let mut timed_out = false;
    while child.try_wait().expect("wait for snnc").is_none() {
        if started.elapsed() > Duration::from_secs(120) {
            let _ = child.kill();
            timed_out = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let output = child.wait_with_output().expect("snnc output");
    Outcome {
        code: output.status.code(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        timed_out,
    }
}

#[test]
fn every_bad_input_is_refused_with_its_reason_and_leaves_no_files() {
    let root = std::env::temp_dir().join(format!("snnc-bad-inputs-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let pool = fixture_pool(&root);
    let cases = cases();
    let (mut ran, mut accepted, mut panics) = (0, 0, 0);
    let mut failures = Vec::new();
    for case in &cases {
        if case
            .unless_feature
            .as_deref()
            .is_some_and(|f| f == "cuda" && cfg!(feature = "cuda"))
        {
            continue;
        }
        ran += 1;
        let dir = root.join("cases").join(&case.name);
        std::fs::create_dir_all(&dir).expect("case folder");
        for (to, from) in &case.files {
            std::fs::copy(pool.join(from), dir.join(to))
                .unwrap_or_else(|e| panic!("case {}: fixture {from}: {e}", case.name));
        }
        let before = listing(&dir);
        let out = run_case(case, &dir);
        let panicked = out.code == Some(101)
            || out.code.is_none()
            || out.stderr.contains("panicked")
            || out.stderr.contains("RUST_BACKTRACE");
        let mut problems = Vec::new();
        if out.timed_out {
            problems.push("still running after 120 s".to_string());
        }
        if out.code == Some(0) {
            accepted += 1;
            problems.push("accepted (exit 0)".to_string());
        }
        if panicked {
            panics += 1;
            problems.push(format!("panic or signal (exit {:?})", out.code));
        }
        if !out.stderr.contains(&case.expect) {
            problems.push(format!("stderr lacks {:?}", case.expect));
        }
        let after = listing(&dir);
        if after != before {
            let new: Vec<_> = after.iter().filter(|p| !before.contains(p)).collect();
            problems.push(format!("left files behind: {new:?}"));
        }
        if !problems.is_empty() {
            failures.push(format!(
                "{}: {}\n  stderr: {}",
                case.name,
                problems.join("; "),
                out.stderr.trim()
            ));
        }
    }
    println!("bad inputs: {ran} cases, {accepted} accepted, {panics} panics");
    assert!(
        ran >= 40,
        "the table must hold at least 40 cases, it has {ran}"
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn the_npy_writer_here_writes_what_numpy_reads() {
    // The header of a [2, 3] float64 array, as numpy 1.x writes it: 118 bytes
    // of text after the 10-byte prefix make 128, a multiple of 64.
    let bytes = npy("<f8", &[2, 3], &f64s(&[0.0; 6]));
    assert_eq!(&bytes[..8], b"\x93NUMPY\x01\x00");
    let header_len = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
    assert_eq!((10 + header_len) % 64, 0);
    assert_eq!(bytes.len(), 10 + header_len + 48);
    let header = std::str::from_utf8(&bytes[10..10 + header_len]).unwrap();
    assert!(header.starts_with("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }"));
    assert!(header.ends_with('\n'));
    // A 1-D shape keeps numpy's trailing comma.
    let one = npy("<f8", &[3], &[]);
    assert!(std::str::from_utf8(&one[10..])
        .unwrap()
        .contains("'shape': (3,)"));
}

/// The other side of the rules: inputs at the edge of what is allowed run.
#[test]
fn inputs_at_the_edge_of_the_rules_are_accepted() {
    let root = std::env::temp_dir().join(format!("snnc-good-inputs-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let pool = fixture_pool(&root);
    std::fs::write(
        pool.join("stim_constant.npy"),
        npy("<f8", &[3], &f64s(&[0.5, 0.5, 0.5])),
    )
    .unwrap();
    let accepted = [
        // As many rows as the run has steps (10).
        ("rows_equal_steps", "drive.npy<stim_ok.npy", vec![]),
        ("csv_rows_equal_steps", "drive.csv<stim_ok.csv", vec![]),
        // More rows than steps: the extra rows are unused.
        (
            "rows_above_steps",
            "drive.npy<stim_ok.npy",
            vec!["--duration", "0.5ms"],
        ),
        // [N]: constant in time, any duration.
        (
            "constant",
            "drive.npy<stim_constant.npy",
            vec!["--duration", "5ms"],
        ),
    ];
    for (name, file, extra) in accepted {
        let (to, from) = file.split_once('<').unwrap();
        let case = Case {
            name: name.to_string(),
            args: ["run", "stim.snn", "--input", &format!("drive={to}"), "-q"]
                .iter()
                .chain(&extra)
                .map(|s| s.to_string())
                .collect(),
            files: [("stim.snn", "stim.snn"), (to, from)]
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect(),
            env: BTreeMap::new(),
            expect: String::new(),
            unless_feature: None,
        };
        let dir = root.join(name);
        std::fs::create_dir_all(&dir).unwrap();
        for (to, from) in &case.files {
            std::fs::copy(pool.join(from), dir.join(to)).unwrap();
        }
        let out = run_case(&case, &dir);
        assert_eq!(out.code, Some(0), "{name}: {}", out.stderr);
        assert!(dir.join("results/stim/summary.json").exists(), "{name}");
    }
    // A Poisson rate of exactly 1/dt (a spike every step) is allowed.
    let dir = root.join("poisson_at_limit");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(pool.join("poisson.snn"), dir.join("poisson.snn")).unwrap();
    let case = Case {
        name: "poisson_at_limit".into(),
        args: ["run", "poisson.snn", "--sweep", "X.rate=10kHz:10kHz", "-q"]
            .iter()
            .map(|s| s.to_string())
            .collect(),
        files: BTreeMap::new(),
        env: BTreeMap::new(),
        expect: String::new(),
        unless_feature: None,
    };
    let out = run_case(&case, &dir);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let summary = std::fs::read_to_string(dir.join("results/poisson/summary.json")).unwrap();
    // 4 sources × 10 steps, each spiking every step.
    assert!(summary.contains("\"spikes\": 40"), "{summary}");
    let _ = std::fs::remove_dir_all(&root);
}
