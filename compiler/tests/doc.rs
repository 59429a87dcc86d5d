//! `snnc doc`: the committed stdlib reference is what the generator writes
//! now, it documents every model defined in `stdlib/*.snn`, and model files
//! are documented with their text escaped.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn snnc(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_snnc"))
        .args(args)
        .current_dir(repo())
        .output()
        .expect("snnc runs")
}

fn fresh_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("snnc-doc-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn committed_stdlib_reference_is_up_to_date() {
    let (markdown, html) =
        snnc::doc::stdlib_reference().unwrap_or_else(|_| panic!("stdlib checks"));
    for (file, generated) in [("docs/stdlib.md", markdown), ("docs/stdlib.html", html)] {
        let committed = std::fs::read_to_string(repo().join(file)).unwrap_or_default();
        assert!(
            committed == generated,
            "{file} differs from what `snnc doc` generates from stdlib/*.snn now; \
             regenerate it with `cargo run -p snnc -- doc --out docs`"
        );
    }
}

/// `(kind, name)` of every `neuron|synapse|output NAME {` line in stdlib/*.snn.
fn models_in_stdlib_sources() -> BTreeSet<(String, String)> {
    let definition = regex::Regex::new(r"(?m)^(neuron|synapse|output)\s+(\w+)\s*\{").unwrap();
    let mut models = BTreeSet::new();
    for entry in std::fs::read_dir(repo().join("stdlib")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "snn") {
            let text = std::fs::read_to_string(&path).unwrap();
            for c in definition.captures_iter(&text) {
                models.insert((c[1].to_string(), c[2].to_string()));
            }
        }
    }
    models
}

#[test]
fn the_reference_documents_every_stdlib_model() {
    let defined = models_in_stdlib_sources();
    assert!(defined.len() >= 13, "{defined:?}");
    let out = fresh_dir("stdlib");
    let o = snnc(&["doc", "--out", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let markdown = std::fs::read_to_string(out.join("stdlib.md")).unwrap();
    let heading = regex::Regex::new(r"(?m)^### (\w+) \((neuron|synapse|output)\)$").unwrap();
    let documented: BTreeSet<(String, String)> = heading
        .captures_iter(&markdown)
        .map(|c| (c[2].to_string(), c[1].to_string()))
        .collect();
    assert_eq!(documented, defined);
    assert_eq!(heading.captures_iter(&markdown).count(), defined.len());
    let html = std::fs::read_to_string(out.join("stdlib.html")).unwrap();
    assert_eq!(
        html.matches("<section class=\"model\"").count(),
        defined.len()
    );
    // Every model has its literature reference.
    assert_eq!(markdown.matches("**Reference:**").count(), defined.len());
}

const MODEL: &str = r#"import std.{Expon}

/// A leaky neuron for <b>testing</b> & escaping; the `tau` is *short*.
///
/// Reference: Doe & Roe, J. Tests 1 (2026).
neuron Leaky {
    /// time constant
    param tau: ms = 2 ms
    param V_th: mV
    state V: mV = -70 mV
    current I: nA
    dV/dt = (-70 mV - V) / tau + I * 1 Mohm / tau
    spike when V >= V_th
    reset { V = -70 mV }
}
"#;

#[test]
fn a_model_file_is_documented_and_escaped() {
    let dir = fresh_dir("file");
    let model = dir.join("leaky.snn");
    std::fs::write(&model, MODEL).unwrap();
    let out = dir.join("ref");
    let o = snnc(&[
        "doc",
        model.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let markdown = std::fs::read_to_string(out.join("reference.md")).unwrap();
    assert!(markdown.contains("### Leaky (neuron)"), "{markdown}");
    assert!(
        markdown.contains("### LIF (neuron)"),
        "the stdlib comes first"
    );
    assert!(
        markdown.contains("| `tau` | `ms` | `2 ms` | time constant |"),
        "{markdown}"
    );
    assert!(
        markdown.contains("| `V_th` | `mV` | (required) |"),
        "{markdown}"
    );
    assert!(markdown.contains("* `reset { V = -70 mV }`"), "{markdown}");
    assert!(markdown.contains("\\<b\\>testing\\</b\\> & escaping; the `tau` is \\*short\\*."));
    assert!(markdown.contains("**Reference:** Doe & Roe, J. Tests 1 (2026)."));
    let html = std::fs::read_to_string(out.join("reference.html")).unwrap();
    assert!(
        html.contains(
            "&lt;b&gt;testing&lt;/b&gt; &amp; escaping; the <code>tau</code> is *short*."
        ),
        "{html}"
    );
    assert!(!html.contains("<b>"));
    assert!(html.contains("<td><code>V_th</code></td><td><code>mV</code></td><td>(required)</td>"));
}

#[test]
fn a_model_with_errors_gets_its_diagnostics() {
    let dir = fresh_dir("bad");
    let model = dir.join("bad.snn");
    std::fs::write(&model, "neuron Bad {\n    param tau: ms = 2 mV\n}\n").unwrap();
    let o = snnc(&[
        "doc",
        model.to_str().unwrap(),
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(stderr.contains("bad.snn:2:"), "{stderr}");
    assert!(!dir.join("reference.md").exists());

    let missing = dir.join("missing.snn");
    let o = snnc(&[
        "doc",
        missing.to_str().unwrap(),
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).starts_with("error: "));
}
