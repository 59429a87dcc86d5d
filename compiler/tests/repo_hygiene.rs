//! The repository stands alone: no committed file points a user at a folder
//! outside it, and no file records an absolute path of the machine that built it.

use std::path::{Path, PathBuf};
use std::process::Command;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// Every file git tracks (or would track: untracked but not ignored), so a new
/// file is checked before its first commit too.
fn repository_files(root: &Path) -> Vec<PathBuf> {
    let out = Command::new("git")
        .args([
            "ls-files",
            "--cached",
            "--others",
            "--exclude-standard",
            "-z",
        ])
        .current_dir(root)
        .output()
        .expect("git is needed to list the repository's files");
    assert!(out.status.success(), "git ls-files failed: {out:?}");
    out.stdout
        .split(|b| *b == 0)
        .filter(|name| !name.is_empty())
        .map(|name| root.join(String::from_utf8_lossy(name).as_ref()))
        .filter(|path| path.is_file())
        .collect()
}

/// Text that would send a reader outside the repository or leak a build path.
const FORBIDDEN: &[&str] = &["../shared", "/work/", "/home/", "/root/", "/tmp/snnc"];

#[test]
fn no_file_points_outside_the_repository() {
    let root = repo_root();
    let this_file = root.join("compiler/tests/repo_hygiene.rs");
    let mut offences = Vec::new();
    for path in repository_files(&root) {
        if path == this_file {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue; // binary data files
        };
        for (number, line) in text.lines().enumerate() {
            if let Some(bad) = FORBIDDEN.iter().find(|bad| line.contains(*bad)) {
                let shown = path.strip_prefix(&root).unwrap().display();
                offences.push(format!("{shown}:{}: `{bad}` in {line:?}", number + 1));
            }
        }
    }
    assert!(
        offences.is_empty(),
        "files that point outside the repository:\n{}",
        offences.join("\n")
    );
}
