//! `snnc doc`: a model reference (Markdown and HTML) from the checked syntax
//! trees of the standard library and of model files, with their `///` docs.
//!
//! [`collect`] turns each model definition into a [`ModelDoc`] (declarations
//! as written, read through their spans); [`markdown`] and [`html`] render a
//! list of them.

pub mod html;
pub mod markdown;

use crate::diagnostic::Diagnostic;
use crate::front::ast::{Block, Item, Member, ModelDef, ModelKind, RefractoryForm, Stmt};
use crate::front::check::{check_source, unit_text, CheckOutput};
use crate::source::{NoFiles, SourceLoader, SourceMap, Span};

/// One documented declaration: a param, state, current or `let`.
#[derive(Debug, Clone, PartialEq)]
pub struct Variable {
    pub name: String,
    /// The unit as written (`mV`, `[w]`); empty for a `let` without one.
    pub unit: String,
    /// Default, initial value or definition, as written; `None`: none given
    /// (a param without default must be set; a state starts at 0).
    pub value: Option<String>,
    pub doc: String,
}

/// A rule of the model: `spike when …`, `reset { … }`, `on_pre { … }`, …
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    /// `spike when`, `reset`, `refractory`, `on_pre`, `integrate`, `output`.
    pub keyword: &'static str,
    pub text: String,
}

/// Everything the reference says about one model.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelDoc {
    pub kind: ModelKind,
    pub name: String,
    /// Where it is defined: `std.neurons` or the file's path.
    pub module: String,
    /// The first paragraph of its `///` doc.
    pub summary: String,
    /// The other paragraphs, without the reference.
    pub description: Vec<String>,
    /// The literature reference: the doc text after `Reference:`.
    pub reference: Option<String>,
    pub params: Vec<Variable>,
    pub states: Vec<Variable>,
    pub currents: Vec<Variable>,
    pub lets: Vec<Variable>,
    /// `dV/dt = …`, as written.
    pub equations: Vec<String>,
    pub rules: Vec<Rule>,
}

/// A group of models from one source: a stdlib module or a model file.
#[derive(Debug, Clone, PartialEq)]
pub struct Section {
    pub module: String,
    /// How a model file uses it: `import std.{LIF, …}`, or empty for a file.
    pub import: String,
    pub models: Vec<ModelDoc>,
}

/// The models of every stdlib module, in `stdlib::MODULES` order.
pub fn stdlib_sections() -> Result<Vec<Section>, DocError> {
    crate::stdlib::MODULES
        .iter()
        .map(|(module, file, text)| {
            let checked = checked(file, text, &NoFiles)?;
            let models = root_models(&checked, &format!("std.{module}"));
            let names: Vec<&str> = models.iter().map(|m| m.name.as_str()).collect();
            Ok(Section {
                module: format!("std.{module}"),
                import: format!("import std.{{{}}}", names.join(", ")),
                models,
            })
        })
        .collect()
}

/// The models defined in the model file `name` (imports are checked, not documented).
pub fn file_section(
    name: &str,
    text: &str,
    loader: &dyn SourceLoader,
) -> Result<Section, DocError> {
    let checked = checked(name, text, loader)?;
    Ok(Section {
        module: name.to_string(),
        import: String::new(),
        models: root_models(&checked, name),
    })
}

/// Why no reference could be written.
#[derive(Debug)]
pub enum DocError {
    /// A file has errors: its diagnostics and the sources to render them with.
    Check {
        diagnostics: Vec<Diagnostic>,
        sources: Box<SourceMap>,
    },
    /// A file could not be read or written.
    Io { path: String, message: String },
}

fn checked(name: &str, text: &str, loader: &dyn SourceLoader) -> Result<CheckOutput, DocError> {
    let out = check_source(name, text, loader);
    if out.diagnostics.iter().any(Diagnostic::is_error) {
        return Err(DocError::Check {
            diagnostics: out.diagnostics,
            sources: Box::new(out.sources),
        });
    }
    Ok(out)
}

fn root_models(out: &CheckOutput, module: &str) -> Vec<ModelDoc> {
    let root = out.root();
    let text = &out.sources.get(root.source).text;
    root.ast
        .items
        .iter()
        .filter_map(|item| match item {
            Item::Model(m) => Some(model_doc(m, text, module)),
            _ => None,
        })
        .collect()
}

/// The source text of `span`, without `//` comments, whitespace collapsed.
fn source_text(text: &str, span: Span) -> String {
    text[span.range()]
        .lines()
        .map(|line| line.split("//").next().unwrap_or(""))
        .flat_map(str::split_whitespace)
        .collect::<Vec<_>>()
        .join(" ")
}

fn stmt_span(stmt: &Stmt) -> Span {
    match stmt {
        Stmt::Assign { span, .. } | Stmt::If { span, .. } | Stmt::Error(span) => *span,
    }
}

/// `{ a; b }`: one statement per entry, as written.
fn block_text(text: &str, block: &Block) -> String {
    let stmts: Vec<String> = block
        .stmts
        .iter()
        .map(|s| source_text(text, stmt_span(s)))
        .collect();
    format!("{{ {} }}", stmts.join("; "))
}

fn model_doc(m: &ModelDef, text: &str, module: &str) -> ModelDoc {
    let (summary, description, reference) = split_doc(m.doc.as_deref().unwrap_or(""));
    let mut doc = ModelDoc {
        kind: m.kind,
        name: m.name.name.clone(),
        module: module.to_string(),
        summary,
        description,
        reference,
        params: Vec::new(),
        states: Vec::new(),
        currents: Vec::new(),
        lets: Vec::new(),
        equations: Vec::new(),
        rules: Vec::new(),
    };
    let code = |span: Span| source_text(text, span);
    let doc_of = |d: &Option<String>| d.clone().unwrap_or_default();
    for member in &m.members {
        match member {
            Member::Param(p) => doc.params.push(Variable {
                name: p.name.name.clone(),
                unit: unit_text(&p.unit),
                value: p.default.as_ref().map(|e| code(e.span)),
                doc: doc_of(&p.doc),
            }),
            Member::State(s) => doc.states.push(Variable {
                name: s.name.name.clone(),
                unit: unit_text(&s.unit),
                value: s.init.as_ref().map(|e| code(e.span)),
                doc: doc_of(&s.doc),
            }),
            Member::Current(c) => doc.currents.push(Variable {
                name: c.name.name.clone(),
                unit: unit_text(&c.unit),
                value: None,
                doc: doc_of(&c.doc),
            }),
            Member::Let(l) => doc.lets.push(Variable {
                name: l.name.name.clone(),
                unit: l.unit.as_ref().map(unit_text).unwrap_or_default(),
                value: Some(code(l.value.span)),
                doc: doc_of(&l.doc),
            }),
            Member::Ode(o) => {
                doc.equations
                    .push(format!("d{}/dt = {}", o.var.name, code(o.rhs.span)))
            }
            Member::Spike(s) => doc.rules.push(Rule {
                keyword: "spike when",
                text: code(s.condition.span),
            }),
            Member::Reset(b) => doc.rules.push(Rule {
                keyword: "reset",
                text: block_text(text, b),
            }),
            Member::Refractory(r) => doc.rules.push(Rule {
                keyword: match r.form {
                    RefractoryForm::For => "refractory",
                    RefractoryForm::While => "refractory while",
                },
                text: code(r.value.span),
            }),
            Member::OnPre(b) => doc.rules.push(Rule {
                keyword: "on_pre",
                text: block_text(text, b),
            }),
            Member::OnPost(b) => doc.rules.push(Rule {
                keyword: "on_post",
                text: block_text(text, b),
            }),
            Member::Integrate(method) => doc.rules.push(Rule {
                keyword: "integrate",
                text: method.name.clone(),
            }),
            Member::Stmt(s) => doc.rules.push(Rule {
                keyword: "output",
                text: code(stmt_span(s)),
            }),
            Member::Error(_) => {}
        }
    }
    doc
}

/// Split a `///` doc into its first paragraph, the other paragraphs, and the
/// reference: the lines from one starting `Reference:` up to the end of its
/// paragraph or a line starting `Default` (which stays in the description).
fn split_doc(doc: &str) -> (String, Vec<String>, Option<String>) {
    let mut paragraphs: Vec<Vec<&str>> = vec![Vec::new()];
    for line in doc.lines().map(str::trim_end) {
        match (line.trim().is_empty(), paragraphs.last_mut()) {
            (true, Some(last)) if !last.is_empty() => paragraphs.push(Vec::new()),
            (false, Some(last)) => last.push(line),
            _ => {}
        }
    }
    paragraphs.retain(|p| !p.is_empty());
    let mut reference = None;
    let mut description = Vec::new();
    for paragraph in paragraphs.iter().skip(1) {
        let Some(start) = paragraph.iter().position(|l| l.starts_with("Reference:")) else {
            description.push(paragraph.join("\n"));
            continue;
        };
        let end = paragraph[start..]
            .iter()
            .position(|l| l.starts_with("Default"))
            .map_or(paragraph.len(), |k| start + k);
        let cited = paragraph[start..end].join("\n");
        reference = Some(cited["Reference:".len()..].trim().to_string());
        let rest: Vec<&str> = paragraph[..start]
            .iter()
            .chain(&paragraph[end..])
            .copied()
            .collect();
        if !rest.is_empty() {
            description.push(rest.join("\n"));
        }
    }
    let summary = paragraphs.first().map(|p| p.join("\n")).unwrap_or_default();
    (summary, description, reference)
}

/// Which files `snnc doc` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocFormat {
    Markdown,
    Html,
    Both,
}

const STDLIB_TITLE: &str = "snnc standard library reference";
const STDLIB_INTRO: &str = "Every model of the standard library (stdlib/*.snn), generated by snnc doc from the source and its /// docs: do not edit by hand, regenerate with: snnc doc --out docs. Units and values are as written in the source; a model file uses them after import std.{...}.";
const FILES_TITLE: &str = "snnc model reference";
const FILES_INTRO: &str = "The models of the standard library and of the given model files, generated by snnc doc from the source and its /// docs.";

/// The stdlib reference as (Markdown, HTML): what `snnc doc` writes to
/// `stdlib.md` and `stdlib.html`.
pub fn stdlib_reference() -> Result<(String, String), DocError> {
    let sections = stdlib_sections()?;
    Ok((
        markdown::render(STDLIB_TITLE, STDLIB_INTRO, &sections),
        html::render(STDLIB_TITLE, STDLIB_INTRO, &sections),
    ))
}

/// Write the reference of the stdlib (no `files`: `stdlib.md`/`.html`) or of
/// the stdlib and `files` (`reference.md`/`.html`) into `out_dir`.
pub fn write_reference(
    files: &[std::path::PathBuf],
    out_dir: &std::path::Path,
    format: DocFormat,
) -> Result<Vec<std::path::PathBuf>, DocError> {
    let mut sections = stdlib_sections()?;
    for path in files {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| DocError::Io {
            path: name.clone(),
            message: e.to_string(),
        })?;
        sections.push(file_section(&name, &text, &crate::source::DiskLoader)?);
    }
    let (stem, title, intro) = if files.is_empty() {
        ("stdlib", STDLIB_TITLE, STDLIB_INTRO)
    } else {
        ("reference", FILES_TITLE, FILES_INTRO)
    };
    let io = |path: &std::path::Path, e: std::io::Error| DocError::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    };
    std::fs::create_dir_all(out_dir).map_err(|e| io(out_dir, e))?;
    let mut written = Vec::new();
    let outputs = [
        (
            DocFormat::Markdown,
            "md",
            markdown::render as fn(&str, &str, &[Section]) -> String,
        ),
        (DocFormat::Html, "html", html::render),
    ];
    for (kind, extension, render) in outputs {
        if format == kind || format == DocFormat::Both {
            let path = out_dir.join(format!("{stem}.{extension}"));
            std::fs::write(&path, render(title, intro, &sections)).map_err(|e| io(&path, e))?;
            written.push(path);
        }
    }
    Ok(written)
}

/// `neuron`, `synapse` or `output`.
#[must_use]
pub fn kind_word(kind: ModelKind) -> &'static str {
    match kind {
        ModelKind::Neuron => "neuron",
        ModelKind::Synapse => "synapse",
        ModelKind::Output => "output",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doc_splits_into_summary_description_and_reference() {
        let doc = "Leaky neuron.\n\nIt leaks.\n\nReference: Lapicque 1907;\nGerstner 2014.\nDefaults: the seed network.";
        let (summary, description, reference) = split_doc(doc);
        assert_eq!(summary, "Leaky neuron.");
        assert_eq!(description, ["It leaks.", "Defaults: the seed network."]);
        assert_eq!(reference.as_deref(), Some("Lapicque 1907;\nGerstner 2014."));
    }

    #[test]
    fn lif_is_documented_from_its_declarations() {
        let sections = stdlib_sections().unwrap();
        let lif = sections
            .iter()
            .flat_map(|s| &s.models)
            .find(|m| m.name == "LIF")
            .unwrap();
        assert_eq!(lif.kind, ModelKind::Neuron);
        let tau = lif.params.iter().find(|p| p.name == "tau").unwrap();
        assert_eq!(
            (tau.unit.as_str(), tau.value.as_deref()),
            ("ms", Some("10 ms"))
        );
        assert_eq!(tau.doc, "membrane time constant");
        assert_eq!(lif.states[0].value.as_deref(), Some("V_rest"));
        assert_eq!(lif.equations, ["dV/dt = (V_rest - V + R * I) / tau"]);
        assert!(lif.rules.contains(&Rule {
            keyword: "reset",
            text: "{ V = V_reset }".into()
        }));
        assert!(lif
            .reference
            .as_deref()
            .unwrap()
            .starts_with("Lapicque 1907"));
    }
}
