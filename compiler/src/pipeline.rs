//! The whole front half in one call: read, check, lower. Used by the CLI
//! (`snnc compile`, `snnc run`) and by tests that start from `.snn` text.

use crate::diagnostic::Diagnostic;
use crate::front::check::{check_source, CheckOutput};
use crate::ir::Module;
use crate::source::{SourceLoader, SourceMap};

/// A compiled network, or the diagnostics that stopped it (with the files
/// they point into, for rendering).
pub struct Compiled {
    /// Warnings when the module exists, errors (and warnings) otherwise.
    pub diagnostics: Vec<Diagnostic>,
    pub module: Option<Module>,
    /// The checked files (their `sources` render the diagnostics).
    pub checked: CheckOutput,
    /// `stimulus x: … from "file"`: (stimulus, file as written, relative to
    /// the model file) for the network compiled; used when no `--input`
    /// binds the stimulus.
    pub default_inputs: Vec<(String, String)>,
}

impl Compiled {
    #[must_use]
    pub fn sources(&self) -> &SourceMap {
        &self.checked.sources
    }
}

/// Check `text` (named `name`, imports through `loader`) and lower its
/// network (`network` picks one when there are several).
pub fn compile_source(
    name: &str,
    text: &str,
    loader: &dyn SourceLoader,
    network: Option<&str>,
) -> Compiled {
    let checked = check_source(name, text, loader);
    let mut diagnostics = checked.diagnostics.clone();
    let module = if checked.has_errors() {
        None
    } else {
        match crate::lower::lower(&checked, network) {
            Ok(m) => Some(m),
            Err(d) => {
                diagnostics.extend(d);
                None
            }
        }
    };
    let default_inputs = module
        .as_ref()
        .map(|m| defaults(&checked, &m.name))
        .unwrap_or_default();
    Compiled {
        diagnostics,
        module,
        checked,
        default_inputs,
    }
}

/// What `snnc check` reports: the checker's diagnostics and, when it found
/// no error, those of lowering every network of the file, so that `check`
/// accepts nothing `compile` or `run` would refuse.
#[must_use]
pub fn check_all(name: &str, text: &str, loader: &dyn SourceLoader) -> CheckOutput {
    let mut checked = check_source(name, text, loader);
    if checked.has_errors() {
        return checked;
    }
    let networks: Vec<String> = checked
        .root()
        .ast
        .items
        .iter()
        .filter_map(|item| match item {
            crate::front::ast::Item::Network(n) => Some(n.name.name.clone()),
            _ => None,
        })
        .collect();
    for network in networks {
        if let Err(diagnostics) = crate::lower::lower(&checked, Some(&network)) {
            checked.diagnostics.extend(diagnostics);
        }
    }
    checked
}

fn defaults(checked: &CheckOutput, network: &str) -> Vec<(String, String)> {
    use crate::front::ast::{Item, NetItem};
    let mut out = Vec::new();
    for item in &checked.root().ast.items {
        if let Item::Network(n) = item {
            if n.name.name != network {
                continue;
            }
            for it in &n.items {
                if let NetItem::Stimulus(s) = it {
                    if let Some((path, _)) = &s.default_file {
                        out.push((s.name.name.clone(), path.clone()));
                    }
                }
            }
        }
    }
    out
}
