//! The semantic checker: resolves imports and names, and checks the units of
//! every expression.
//!
//! Entry point: [`check_source`]. It parses the root file and every module it
//! imports (stdlib modules are embedded, user modules come through the
//! [`SourceLoader`]), then checks each model body ([`model`]) and each network
//! ([`network`]). Every problem becomes a [`Diagnostic`]; nothing panics.

mod constant;
mod integration;
mod model;
mod network;
mod pairing;
mod projection;
mod record;
mod required;
mod statements;
mod suggest;
mod ty;

pub use constant::{rate_above_one_per_step, POISSON_RATE, POISSON_SOURCE};
pub use model::{declare, Env, NameKind};
pub use record::{is_neuron_range, period_steps};
pub use statements::SEED_MAX;
pub use ty::{unit_text, unit_ty, Ty};

use crate::diagnostic::Diagnostic;
use crate::front::ast::{File, ImportNames, Item, ModelDef};
use crate::source::{SourceId, SourceLoader, SourceMap};
use std::collections::HashMap;
use std::sync::Arc;

/// Everything the checker produced: the files it read (for rendering), their
/// syntax trees with the models each one sees, and the diagnostics of every
/// phase, parse errors included. When `diagnostics` holds no error, the root
/// file's network is ready for lowering (`crate::lower`).
pub struct CheckOutput {
    pub sources: SourceMap,
    pub diagnostics: Vec<Diagnostic>,
    /// Every file read: the root first, then imports in load order.
    pub files: Vec<CheckedFile>,
}

impl CheckOutput {
    /// The file that was checked (not an import).
    #[must_use]
    pub fn root(&self) -> &CheckedFile {
        &self.files[0]
    }

    /// Whether any diagnostic is an error (warnings do not stop a run).
    #[must_use]
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

/// Parses and checks the file `name` with contents `text`.
pub fn check_source(name: &str, text: &str, loader: &dyn SourceLoader) -> CheckOutput {
    let mut cx = Modules {
        sources: SourceMap::new(),
        files: Vec::new(),
        by_path: HashMap::new(),
        diagnostics: Vec::new(),
        loader,
        resolving: Vec::new(),
    };
    let root = cx.parse(name, text);
    cx.resolve_imports(root, 0);

    let Modules {
        sources,
        files,
        mut diagnostics,
        ..
    } = cx;
    // Every loaded file's models are checked once: a stdlib model with a
    // mistake is reported where it is written, not at each use.
    for file in &files {
        for item in &file.ast.items {
            if let Item::Model(m) = item {
                let found = model::check_model(m);
                // Folding a model with errors would pile on them.
                let clean = found.iter().all(|d| !d.is_error());
                diagnostics.extend(found);
                if clean {
                    diagnostics.extend(constant::model_faults(m));
                    diagnostics.extend(integration::fallback_warnings(m));
                }
            }
        }
    }
    let scope = &files[root].scope;
    for item in &files[root].ast.items {
        if let Item::Network(n) = item {
            diagnostics.extend(network::check_network(n, scope, &files[root].ast));
        }
    }
    debug_assert_eq!(root, 0);
    CheckOutput {
        sources,
        diagnostics,
        files,
    }
}

/// The models visible in one file: its own and the ones it imports (shared
/// with the syntax trees that define them, not copied).
pub type Scope = HashMap<String, Arc<ModelDef>>;

/// One file as the checker read it.
pub struct CheckedFile {
    /// The name it was loaded under (a path, or `std/neurons.snn`).
    pub name: String,
    pub source: SourceId,
    pub ast: File,
    /// The models visible in this file: its own and the ones it imports.
    pub scope: Scope,
}

/// Imports may not nest deeper than this (a cycle is cut by the cache; this
/// bounds the recursion on long chains).
const MAX_IMPORT_DEPTH: u32 = 32;

struct Modules<'l> {
    sources: SourceMap,
    files: Vec<CheckedFile>,
    /// Module path (`std.neurons`, `models.cortex`) → index in `files`.
    by_path: HashMap<String, usize>,
    diagnostics: Vec<Diagnostic>,
    loader: &'l dyn SourceLoader,
    /// The files whose imports are being resolved, outermost first: an
    /// import of one of them is a cycle.
    resolving: Vec<usize>,
}

impl Modules<'_> {
    fn parse(&mut self, name: &str, text: &str) -> usize {
        let id: SourceId = self.sources.add(name, text);
        let (ast, diags) = crate::front::parse(id, text);
        self.diagnostics.extend(diags);
        let scope = local_models(&ast);
        self.files.push(CheckedFile {
            name: name.to_string(),
            source: id,
            ast,
            scope,
        });
        self.files.len() - 1
    }

    /// The file index of a module, loading and parsing it on first use.
    fn module(&mut self, path: &[String], from: usize, depth: u32) -> Result<usize, String> {
        let key = path.join(".");
        if let Some(&i) = self.by_path.get(&key) {
            return Ok(i);
        }
        let index = if path.first().map(String::as_str) == Some("std") {
            let [_, m] = path else {
                return Err(format!("`{key}` is not a stdlib module"));
            };
            let (file, text) = crate::stdlib::module(m).ok_or_else(|| {
                let names = crate::stdlib::MODULES.iter().map(|(n, _, _)| *n);
                match suggest::closest(m, names) {
                    Some(s) => format!("no stdlib module `{m}`; did you mean `std.{s}`?"),
                    None => format!("no stdlib module `{m}`"),
                }
            })?;
            self.parse(file, text)
        } else {
            let from_name = self.files[from].name.clone();
            let (name, text) = self.loader.load(&from_name, path)?;
            self.parse(&name, &text)
        };
        self.by_path.insert(key, index);
        if depth < MAX_IMPORT_DEPTH {
            self.resolve_imports(index, depth + 1);
        }
        Ok(index)
    }

    /// Resolves the imports of file `index`, adding the imported models to its scope.
    fn resolve_imports(&mut self, index: usize, depth: u32) {
        self.resolving.push(index);
        self.resolve_imports_of(index, depth);
        self.resolving.pop();
    }

    /// E0105 when importing `key` from file `index` closes a cycle of
    /// imports (the language reference, section 7, forbids them).
    fn import_cycle(
        &self,
        key: &str,
        index: usize,
        imp: &crate::front::ast::Import,
    ) -> Option<Diagnostic> {
        let target = *self.by_path.get(key)?;
        let at = self.resolving.iter().position(|&f| f == target)?;
        let mut chain: Vec<&str> = self.resolving[at..]
            .iter()
            .map(|&f| self.files[f].name.as_str())
            .collect();
        chain.push(self.files[target].name.as_str());
        Some(
            Diagnostic::error("E0105", format!("import cycle: {}", chain.join(" → ")))
                .with_primary(
                    imp.span,
                    format!(
                        "`{}` imports `{key}`, which imports it back",
                        self.files[index].name
                    ),
                )
                .with_help("move the shared models into a module that imports neither"),
        )
    }

    fn resolve_imports_of(&mut self, index: usize, depth: u32) {
        let imports: Vec<_> = self.files[index]
            .ast
            .items
            .iter()
            .filter_map(|i| match i {
                Item::Import(imp) => Some(imp.clone()),
                _ => None,
            })
            .collect();
        for imp in imports {
            let path: Vec<String> = imp.module.iter().map(|i| i.name.clone()).collect();
            // `import std.{X}` searches every stdlib module.
            let modules: Vec<Vec<String>> = if path == ["std"] {
                crate::stdlib::MODULES
                    .iter()
                    .map(|(m, _, _)| vec!["std".to_string(), m.to_string()])
                    .collect()
            } else {
                vec![path.clone()]
            };
            let mut found = Vec::new();
            let mut failed = false;
            for m in &modules {
                if let Some(d) = self.import_cycle(&m.join("."), index, &imp) {
                    self.diagnostics.push(d);
                    failed = true;
                    continue;
                }
                match self.module(m, index, depth) {
                    Ok(i) => found.push(i),
                    Err(reason) => {
                        failed = true;
                        self.diagnostics.push(
                            Diagnostic::error("E0101", format!("cannot import `{}`", m.join(".")))
                                .with_primary(imp.span, reason),
                        );
                    }
                }
            }
            if failed {
                continue;
            }
            let bring = |cx: &mut Self, name: &str| -> bool {
                for &f in &found {
                    if let Some(m) = cx.files[f].scope.get(name).cloned() {
                        let scope = &mut cx.files[index].scope;
                        match scope.get(name) {
                            // Imported twice (two imports, or a glob and a list): fine.
                            Some(old) if old.span == m.span => {}
                            Some(old) => {
                                let d = Diagnostic::error(
                                    "E0102",
                                    format!("`{name}` is imported and also defined here"),
                                )
                                .with_primary(imp.span, "imported here")
                                .with_secondary(old.name.span, "defined here");
                                cx.diagnostics.push(d);
                            }
                            None => {
                                scope.insert(name.to_string(), m);
                            }
                        }
                        return true;
                    }
                }
                false
            };
            match &imp.names {
                ImportNames::Glob(_) => {
                    let names: Vec<String> = found
                        .iter()
                        .flat_map(|&f| self.files[f].scope.keys().cloned().collect::<Vec<_>>())
                        .collect();
                    for n in names {
                        bring(self, &n);
                    }
                }
                ImportNames::List(names) => {
                    for n in names {
                        if !bring(self, &n.name) {
                            let all: Vec<String> = found
                                .iter()
                                .flat_map(|&f| self.files[f].scope.keys().cloned())
                                .collect();
                            let mut d = Diagnostic::error(
                                "E0101",
                                format!("`{}` is not in `{}`", n.name, path.join(".")),
                            )
                            .with_primary(n.span, "not found in this module");
                            if let Some(s) =
                                suggest::closest(&n.name, all.iter().map(String::as_str))
                            {
                                d = d.with_help(format!("did you mean `{s}`?"));
                            }
                            self.diagnostics.push(d);
                        }
                    }
                }
            }
        }
    }
}

/// The models a file defines itself.
fn local_models(file: &File) -> Scope {
    file.items
        .iter()
        .filter_map(|i| match i {
            Item::Model(m) => Some((m.name.name.clone(), Arc::clone(m))),
            _ => None,
        })
        .collect()
}
