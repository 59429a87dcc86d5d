//! Every diagnostic code the compiler can emit is explained in `spec/errors.md`,
//! so a user who searches for a code always finds it.

use std::collections::BTreeSet;
use std::path::Path;

fn codes_in(dir: &Path, found: &mut BTreeSet<String>) {
    for entry in std::fs::read_dir(dir).expect("source folder is readable") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            codes_in(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&path).expect("source file is readable");
            let bytes = text.as_bytes();
            let quoted = text.match_indices("\"E0").chain(text.match_indices("\"W0"));
            for (i, _) in quoted {
                let code = &bytes[i + 1..(i + 6).min(bytes.len())];
                if code.len() == 5 && code[1..].iter().all(u8::is_ascii_digit) {
                    found.insert(String::from_utf8_lossy(code).into_owned());
                }
            }
        }
    }
}

#[test]
fn every_emitted_code_is_documented() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut codes = BTreeSet::new();
    codes_in(&root.join("src"), &mut codes);
    assert!(
        codes.len() >= 20,
        "expected the parser's and checker's codes, found {codes:?}"
    );
    let doc = std::fs::read_to_string(root.join("../spec/errors.md")).expect("spec/errors.md");
    let missing: Vec<_> = codes
        .iter()
        .filter(|c| !doc.contains(&format!("| {c} |")))
        .collect();
    assert!(
        missing.is_empty(),
        "codes missing from spec/errors.md: {missing:?}"
    );
}
