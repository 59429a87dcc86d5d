//! `snnc lsp`: a language server over stdio.
//!
//! Each open document is checked as `snnc check` does ([`crate::pipeline::check_all`]:
//! the checker, then lowering of every network) on open and on every change (full sync); imports are read from the open
//! buffers first, then from disk ([`server::BufferLoader`]). The result, an
//! [`Analysis`], answers hover ([`hover`]), go-to-definition ([`definition`])
//! and completion ([`completion`]) until the next change.
//!
//! The standard library is embedded in the binary; so that an editor can open
//! it, it is written once to `$XDG_CACHE_HOME/snnc/stdlib/<version>/` (or
//! `~/.cache/…`) and definitions point there.
//!
//! Nothing here may take the server down: every handler runs under
//! `catch_unwind`, and failures are logged to stderr.

pub mod analysis;
pub mod completion;
pub mod definition;
pub mod hover;
pub mod position;
pub mod server;
pub mod transport;

use crate::front::check::CheckOutput;
use crate::source::{SourceId, Span};
use analysis::Occurrence;
use lsp_types::{Location, Range};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

pub use server::run;

/// One checked document.
pub struct Analysis {
    pub uri: String,
    /// The name the checker knows the root file by: its path for `file://`
    /// URIs, else the URI itself.
    pub name: String,
    pub out: CheckOutput,
    /// Every name occurrence of the root file.
    pub occurrences: Vec<Occurrence>,
    /// The user modules loaded: display name → (importing file, module path).
    pub loaded: HashMap<String, (String, Vec<String>)>,
}

impl Analysis {
    /// Checks `text`, the document at `uri` known to the checker as `name`.
    pub fn new(uri: &str, name: String, text: &str, loader: &server::BufferLoader) -> Analysis {
        // As `snnc check`: the networks are lowered too, so an editor shows
        // every error a compile or run of the file would give before it
        // starts (E04xx).
        let out = crate::pipeline::check_all(&name, text, loader);
        let occurrences = analysis::occurrences(&out.root().ast);
        Analysis {
            uri: uri.to_string(),
            name,
            out,
            occurrences,
            loaded: loader.loaded.borrow().clone(),
        }
    }

    pub fn text(&self) -> &str {
        &self.out.sources.get(self.out.root().source).text
    }
}

/// Where files live for the editor: the stdlib copy on disk.
#[derive(Clone, Debug, Default)]
pub struct Places {
    /// The folder holding `neurons.snn`, `synapses.snn`, … (None when it
    /// could not be written).
    pub stdlib_dir: Option<PathBuf>,
    /// The open documents with a path, under the URI the client spelled
    /// (clients percent-encode differently; answers must use their spelling).
    pub open: HashMap<PathBuf, String>,
}

impl Places {
    /// The path of a stdlib file named `std/<module>.snn` in diagnostics.
    pub fn stdlib_path(&self, name: &str) -> Option<PathBuf> {
        let file = name.strip_prefix("std/")?;
        Some(self.stdlib_dir.as_ref()?.join(file))
    }

    /// The URI of a file the checker read in `a`.
    pub fn uri_of(&self, a: &Analysis, id: SourceId) -> Option<String> {
        if id == a.out.root().source {
            return Some(a.uri.clone());
        }
        let name = &a.out.sources.get(id).name;
        if crate::stdlib::MODULES.iter().any(|(_, f, _)| f == name) {
            return self.stdlib_path(name).map(|p| position::path_to_uri(&p));
        }
        let path = Path::new(name);
        let abs = if path.is_absolute() {
            path.to_path_buf()
        } else {
            std::env::current_dir().ok()?.join(path)
        };
        if let Some(uri) = self.open.get(&abs) {
            return Some(uri.clone());
        }
        Some(position::path_to_uri(&abs))
    }

    /// The LSP location of a span of any file of `a`.
    pub fn location(&self, a: &Analysis, span: Span) -> Option<Location> {
        let uri = self.uri_of(a, span.source)?;
        let range = range_of(a, span);
        Some(Location::new(uri.parse().ok()?, range))
    }
}

/// The LSP range of a span (in whichever file it lies).
pub fn range_of(a: &Analysis, span: Span) -> Range {
    let text = &a.out.sources.get(span.source).text;
    position::LineIndex::new(text).range(span.range())
}

/// Writes the embedded stdlib to the cache folder (once per content) and
/// returns the folder.
pub fn write_stdlib() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|v| !v.is_empty())
                .map(|h| PathBuf::from(h).join(".cache"))
        })
        .unwrap_or_else(std::env::temp_dir);
    let dir = base
        .join("snnc")
        .join("stdlib")
        .join(env!("CARGO_PKG_VERSION"));
    if let Err(e) = std::fs::create_dir_all(&dir) {
        eprintln!("snnc lsp: cannot create {}: {e}", dir.display());
        return None;
    }
    for (_, name, text) in crate::stdlib::MODULES {
        let file = dir.join(name.trim_start_matches("std/"));
        if std::fs::read_to_string(&file).ok().as_deref() == Some(*text) {
            continue;
        }
        // Write beside and rename, so a concurrent server never reads half a file.
        let tmp = file.with_extension(format!("snn.{}.tmp", std::process::id()));
        let written = std::fs::write(&tmp, text).and_then(|()| std::fs::rename(&tmp, &file));
        if let Err(e) = written {
            eprintln!("snnc lsp: cannot write {}: {e}", file.display());
            let _ = std::fs::remove_file(&tmp);
            return None;
        }
    }
    Some(dir)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;

    /// Every query at every offset of every example and stdlib file, whole
    /// and cut short at many points: nothing may panic.
    #[test]
    fn no_query_panics_on_examples_and_their_prefixes() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let mut texts: Vec<String> = crate::stdlib::MODULES
            .iter()
            .map(|(_, _, t)| t.to_string())
            .collect();
        for dir in ["examples", "tests/ui"] {
            let Ok(entries) = std::fs::read_dir(root.join(dir)) else {
                continue;
            };
            for e in entries.flatten() {
                if e.path().extension().is_some_and(|x| x == "snn") {
                    texts.extend(std::fs::read_to_string(e.path()));
                }
            }
        }
        assert!(texts.len() > 4);
        let open = HashMap::new();
        let places = Places::default();
        for text in &texts {
            let cuts: Vec<usize> = (0..=text.len())
                .step_by((text.len() / 3).max(1))
                .chain([text.len()])
                .filter(|&c| text.is_char_boundary(c))
                .collect();
            for cut in cuts {
                let t = &text[..cut];
                let loader = server::BufferLoader {
                    open: &open,
                    loaded: RefCell::new(HashMap::new()),
                };
                let a = Analysis::new("file:///x/m.snn", "/x/m.snn".into(), t, &loader);
                for offset in (0..=t.len()).step_by(2) {
                    let _ = hover::hover(&a, offset);
                    let _ = definition::definition(&a, &places, offset);
                    if offset % 22 == 0 {
                        let _ = completion::completion(&a, t, offset);
                    }
                }
            }
        }
    }
}
