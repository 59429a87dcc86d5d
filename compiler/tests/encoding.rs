//! Text encodings a model file may come in: a UTF-8 byte order mark is
//! accepted, a lone CR ends a line (positions count it), and bytes that are
//! not UTF-8 give E0006 at the first bad byte, as text or JSON.

use snnc::front::check::check_source;
use snnc::source::{read_text, NoFiles, ReadError};
use std::path::PathBuf;
use std::process::Command;

fn examples() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples")
}

fn error_positions(name: &str, text: &str) -> Vec<(&'static str, usize, usize)> {
    let out = check_source(name, text, &NoFiles);
    out.diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| {
            let span = d.primary_span().expect("a span");
            let (line, col) = out.sources.get(span.source).line_col(span.start as usize);
            (d.code, line, col)
        })
        .collect()
}

#[test]
fn a_byte_order_mark_is_accepted() {
    let coba = std::fs::read_to_string(examples().join("coba.snn")).unwrap();
    assert!(error_positions("coba.snn", &format!("\u{feff}{coba}")).is_empty());
}

/// The same model with `\n`, `\r\n` and lone `\r` line breaks: the same
/// error at the same line and column (found by hand in the `\n` text).
#[test]
fn lone_carriage_returns_are_line_breaks() {
    let coba = std::fs::read_to_string(examples().join("coba.snn")).unwrap();
    let broken = coba.replacen("tau = 5 ms", "tau = 5 mss", 1);
    let offset = broken.find("mss").unwrap();
    let line = broken[..offset].matches('\n').count() + 1;
    let col = offset - broken[..offset].rfind('\n').unwrap();
    let expected = vec![("E0205", line, col)];
    assert_eq!(error_positions("lf.snn", &broken), expected);
    assert_eq!(
        error_positions("crlf.snn", &broken.replace('\n', "\r\n")),
        expected
    );
    assert_eq!(
        error_positions("cr.snn", &broken.replace('\n', "\r")),
        expected
    );
    // A CR-only file is not one long comment: the clean model checks clean
    // and has its network.
    let cr_only = coba.replace('\n', "\r");
    let out = check_source("cr.snn", &cr_only, &NoFiles);
    assert!(out.diagnostics.is_empty(), "{:?}", out.diagnostics);
    let compiled = snnc::pipeline::compile_source("cr.snn", &cr_only, &NoFiles, None);
    assert_eq!(compiled.module.expect("compiles").name, "coba");
}

fn bad_file() -> PathBuf {
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("not_utf8.snn");
    // The bad byte 0xff is on line 2, column 13 (after 12 characters).
    std::fs::write(&path, b"import std.{LIF}\nnetwork n { \xff }\n").unwrap();
    path
}

#[test]
fn bytes_that_are_not_utf8_are_placed() {
    let err = read_text(&bad_file()).unwrap_err();
    assert!(
        matches!(err, ReadError::NotUtf8 { offset: 29, .. }),
        "{err:?}"
    );
    assert_eq!(
        err.describe(),
        "is not UTF-8 text: the first bad byte is at line 2, column 13"
    );
}

#[test]
fn check_reports_bytes_that_are_not_utf8_as_json() {
    let out = Command::new(env!("CARGO_BIN_EXE_snnc"))
        .args(["check", "--format", "json"])
        .arg(bad_file())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    assert_eq!(json[0]["code"], "E0006");
    assert_eq!(json[0]["span"]["line"], 2);
    assert_eq!(json[0]["span"]["column"], 13);
}
