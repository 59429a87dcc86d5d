//! One diagnostic type for every phase, rendered in one place.
//!
//! Each phase keeps its own error enum carrying spans and the values involved
//! (both dimensions of a unit mismatch, the unknown name and its near misses) and
//! converts it into a [`Diagnostic`]. Only this module knows about ariadne.

use crate::source::{SourceId, SourceMap, Span};
use serde::Serialize;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// A labelled span. The primary label marks where the problem is; secondary
/// labels point at related places (the declaration of a unit, say).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Label {
    #[serde(skip)]
    pub span: Span,
    pub message: String,
    pub primary: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Diagnostic {
    pub severity: Severity,
    /// A stable code (`E0301`) explained in `spec/errors.md`.
    pub code: &'static str,
    pub message: String,
    pub labels: Vec<Label>,
    pub notes: Vec<String>,
    /// A suggested fix, when one is likely.
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn error(code: &'static str, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            code,
            message: message.into(),
            labels: Vec::new(),
            notes: Vec::new(),
            help: None,
        }
    }

    pub fn warning(code: &'static str, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(code, message)
        }
    }

    pub fn with_primary(mut self, span: Span, message: impl Into<String>) -> Self {
        self.labels.push(Label {
            span,
            message: message.into(),
            primary: true,
        });
        self
    }

    pub fn with_secondary(mut self, span: Span, message: impl Into<String>) -> Self {
        self.labels.push(Label {
            span,
            message: message.into(),
            primary: false,
        });
        self
    }

    pub fn with_note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(note.into());
        self
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// The span of the primary label (or the first label).
    pub fn primary_span(&self) -> Option<Span> {
        self.labels
            .iter()
            .find(|l| l.primary)
            .or(self.labels.first())
            .map(|l| l.span)
    }
}

/// E0006: the file `name` is not UTF-8 (`lossy` is its text with bad bytes
/// replaced, `offset` the first bad byte). Returns the diagnostic with the
/// source map it points into, for the usual text or JSON rendering.
#[must_use]
pub fn not_utf8(name: &str, lossy: String, offset: usize) -> (Vec<Diagnostic>, SourceMap) {
    let mut sources = SourceMap::new();
    let bad = lossy[offset..].chars().next().map_or(0, char::len_utf8);
    let id = sources.add(name, lossy.as_str());
    let d = Diagnostic::error("E0006", "this file is not UTF-8 text")
        .with_primary(
            Span::new(id, offset..offset + bad),
            "the first byte that is not UTF-8",
        )
        .with_help("save the file as UTF-8 (models are UTF-8 text)");
    (vec![d], sources)
}

/// Renders diagnostics as rustc-style text. `color` is off for snapshots and pipes.
pub fn render_text(diags: &[Diagnostic], sources: &SourceMap, color: bool) -> String {
    use ariadne::{Config, Label as ALabel, Report, ReportKind};

    struct Cache<'a>(&'a SourceMap, Vec<Option<ariadne::Source<String>>>);
    impl ariadne::Cache<SourceId> for Cache<'_> {
        type Storage = String;
        fn fetch(
            &mut self,
            id: &SourceId,
        ) -> Result<&ariadne::Source<String>, impl std::fmt::Debug> {
            let i = id.0 as usize;
            if self.1.len() <= i {
                self.1.resize_with(i + 1, || None);
            }
            if self.1[i].is_none() {
                self.1[i] = Some(ariadne::Source::from(self.0.get(*id).text.to_string()));
            }
            Ok::<_, String>(self.1[i].as_ref().unwrap())
        }
        fn display<'b>(&self, id: &'b SourceId) -> Option<impl std::fmt::Display + 'b> {
            Some(self.0.get(*id).name.clone())
        }
    }

    let mut out = Vec::new();
    let mut cache = Cache(sources, Vec::new());
    for d in diags {
        let kind = match d.severity {
            Severity::Error => ReportKind::Error,
            Severity::Warning => ReportKind::Warning,
        };
        let Some(primary) = d.primary_span() else {
            // A diagnostic without a place (a missing input file, say).
            let sev = match d.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
            };
            out.extend_from_slice(format!("{sev}[{}]: {}\n", d.code, d.message).as_bytes());
            for n in &d.notes {
                out.extend_from_slice(format!("  = note: {n}\n").as_bytes());
            }
            if let Some(h) = &d.help {
                out.extend_from_slice(format!("  = help: {h}\n").as_bytes());
            }
            continue;
        };
        let file = sources.get(primary.source);
        let (line, col) = file.line_col(primary.start as usize);
        let mut report = Report::build(kind, (primary.source, primary.range()))
            .with_config(
                Config::new()
                    .with_color(color)
                    .with_index_type(ariadne::IndexType::Byte),
            )
            .with_code(d.code)
            .with_message(format!("{} ({}:{line}:{col})", d.message, file.name));
        for (i, l) in d.labels.iter().enumerate() {
            let mut label = ALabel::new((l.span.source, l.span.range())).with_order(i as i32);
            if !l.message.is_empty() {
                label = label.with_message(&l.message);
            }
            if !color {
                // keep snapshot text stable
            } else if l.primary {
                label = label.with_color(ariadne::Color::Red);
            } else {
                label = label.with_color(ariadne::Color::Blue);
            }
            report = report.with_label(label);
        }
        for n in &d.notes {
            report = report.with_note(n);
        }
        if let Some(h) = &d.help {
            report = report.with_help(h);
        }
        report
            .finish()
            .write(&mut cache, &mut out)
            .expect("writing to a Vec cannot fail");
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[derive(Serialize)]
struct JsonSpan<'a> {
    file: &'a str,
    /// 1-based line and column of the start and end.
    line: usize,
    column: usize,
    end_line: usize,
    end_column: usize,
    /// Byte offsets.
    start: u32,
    end: u32,
}

#[derive(Serialize)]
struct JsonLabel<'a> {
    message: &'a str,
    primary: bool,
    span: JsonSpan<'a>,
}

#[derive(Serialize)]
struct JsonDiagnostic<'a> {
    severity: Severity,
    code: &'a str,
    message: &'a str,
    /// The primary span, repeated at the top level for simple consumers.
    span: Option<JsonSpan<'a>>,
    labels: Vec<JsonLabel<'a>>,
    notes: &'a [String],
    help: Option<&'a str>,
}

fn json_span<'a>(sources: &'a SourceMap, span: Span) -> JsonSpan<'a> {
    let file = sources.get(span.source);
    let (line, column) = file.line_col(span.start as usize);
    let (end_line, end_column) = file.line_col(span.end as usize);
    JsonSpan {
        file: &file.name,
        line,
        column,
        end_line,
        end_column,
        start: span.start,
        end: span.end,
    }
}

/// The same diagnostics as a JSON array (for editors and other tools).
pub fn render_json(diags: &[Diagnostic], sources: &SourceMap) -> String {
    let items: Vec<JsonDiagnostic> = diags
        .iter()
        .map(|d| JsonDiagnostic {
            severity: d.severity,
            code: d.code,
            message: &d.message,
            span: d.primary_span().map(|s| json_span(sources, s)),
            labels: d
                .labels
                .iter()
                .map(|l| JsonLabel {
                    message: &l.message,
                    primary: l.primary,
                    span: json_span(sources, l.span),
                })
                .collect(),
            notes: &d.notes,
            help: d.help.as_deref(),
        })
        .collect();
    serde_json::to_string_pretty(&items).expect("diagnostics serialise")
}
