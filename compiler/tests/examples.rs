//! Every example network and every stdlib module must check without errors:
//! they are what users copy from, and what the benchmarks run.

use std::path::{Path, PathBuf};

use snnc::diagnostic::render_text;
use snnc::front::check::check_source;
use snnc::source::{DiskLoader, NoFiles};

fn assert_clean<L: snnc::source::SourceLoader>(name: &str, text: &str, loader: &L) {
    let out = check_source(name, text, loader);
    let errors: Vec<_> = out
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .cloned()
        .collect();
    assert!(
        errors.is_empty(),
        "{name} has errors:\n{}",
        render_text(&errors, &out.sources, false)
    );
}

#[test]
fn examples_check_clean() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("examples/ exists")
        .map(|e| e.expect("readable entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "snn"))
        .collect();
    files.sort();
    let names: Vec<String> = files
        .iter()
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    for required in [
        "coba",
        "cuba",
        "cobahh",
        "seed",
        "brunel2000",
        "stimulus_file",
    ] {
        assert!(
            names.iter().any(|n| n == required),
            "examples/{required}.snn missing"
        );
    }
    for path in &files {
        let text = std::fs::read_to_string(path).expect("readable example");
        assert_clean(&path.display().to_string(), &text, &DiskLoader);
    }
}

#[test]
fn stdlib_modules_check_clean() {
    assert_eq!(snnc::stdlib::MODULES.len(), 4);
    for (module, file, text) in snnc::stdlib::MODULES {
        assert!(text.contains("///"), "std.{module} has no documented model");
        assert_clean(file, text, &NoFiles);
    }
}

/// Importing every stdlib model by name, from `std` and from its own module,
/// resolves: the names the spec promises exist.
#[test]
fn stdlib_names_import() {
    let all = [
        (
            "neurons",
            &["LIF", "ExpIF", "AdEx", "Izhikevich", "HH", "QIF"][..],
        ),
        ("synapses", &["Expon", "Alpha", "DualExpon", "Delta"][..]),
        ("outputs", &["CUBA", "COBA"][..]),
        ("sources", &["PoissonSource"][..]),
    ];
    for (module, names) in all {
        let list = names.join(", ");
        assert_clean("a.snn", &format!("import std.{{{list}}}\n"), &NoFiles);
        assert_clean(
            "b.snn",
            &format!("import std.{module}.{{{list}}}\n"),
            &NoFiles,
        );
    }
}
