//! UI tests: every `tests/ui/*.snn` is a wrong model. Each must produce at
//! least one error, including every code named on its `// expect:` line, and
//! the colourless rendering of all its diagnostics is snapshotted so that a
//! change in wording, spans or help text is reviewed, not silent. Models are
//! checked as `snnc check` does (`check_all`: the checker, then lowering
//! when the checker found no error), so lowering's errors have cases too.

use std::path::{Path, PathBuf};

use snnc::diagnostic::render_text;
use snnc::pipeline::check_all;
use snnc::source::DiskLoader;

fn ui_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/ui")
}

/// The codes listed on the first line: `// expect: E0301, E0204`.
fn expected_codes(text: &str) -> Vec<String> {
    let first = text.lines().next().unwrap_or("");
    let Some(list) = first.trim().strip_prefix("// expect:") else {
        return Vec::new();
    };
    list.split([',', ' '])
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(str::to_owned)
        .collect()
}

#[test]
fn ui_models() {
    let mut files: Vec<PathBuf> = std::fs::read_dir(ui_dir())
        .expect("tests/ui exists")
        .map(|e| e.expect("readable entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "snn"))
        .collect();
    files.sort();
    assert!(files.len() >= 56, "only {} UI models", files.len());

    let mut failures = Vec::new();
    for path in &files {
        let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(path).expect("readable model");
        let expected = expected_codes(&text);
        if expected.is_empty() {
            failures.push(format!(
                "{stem}: first line is not `// expect: E....` (or W....)"
            ));
            continue;
        }
        // Display names relative to the repository, so snapshots do not
        // depend on where the checkout lives.
        let name = format!("tests/ui/{stem}.snn");
        let out = check_all(&path.display().to_string(), &text, &DiskLoader);
        let rendered = render_text(&out.diagnostics, &out.sources, false)
            .replace(&path.display().to_string(), &name)
            .replace(&ui_dir().display().to_string(), "tests/ui");

        // Errors, and warnings (a model whose first line expects only W
        // codes is one that checks but may not run as meant).
        let codes: Vec<&str> = out.diagnostics.iter().map(|d| d.code).collect();
        if codes.is_empty() {
            failures.push(format!("{stem}: no diagnostic reported"));
        }
        let warns_only = expected.iter().all(|c| c.starts_with('W'));
        if warns_only && out.diagnostics.iter().any(|d| d.is_error()) {
            failures.push(format!("{stem}: expected only warnings, got {codes:?}"));
        }
        for code in &expected {
            if !codes.contains(&code.as_str()) {
                failures.push(format!("{stem}: expected {code}, got {codes:?}"));
            }
        }

        // Snapshots live in `compiler/tests/snapshots/ui__<file>.snap`.
        insta::with_settings!({
            description => name.clone(),
            omit_expression => true,
        }, {
            insta::assert_snapshot!(stem.clone(), rendered);
        });
    }
    assert!(failures.is_empty(), "UI failures:\n{}", failures.join("\n"));
}
