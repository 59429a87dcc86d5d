//! The reference as Markdown (CommonMark with GitHub tables).

use std::fmt::Write;

use super::{kind_word, ModelDoc, Section, Variable};

/// Doc text as Markdown: `code` spans kept, other markup characters
/// backslash-escaped, line breaks kept (as hard breaks).
fn prose(text: &str) -> String {
    let lines: Vec<String> = text.lines().map(prose_line).collect();
    lines.join("\\\n")
}

fn prose_line(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let balanced = line.matches('`').count().is_multiple_of(2);
    let mut in_code = false;
    for c in line.chars() {
        if c == '`' && balanced {
            in_code = !in_code;
        } else if !in_code && "\\`*_[]<>|#".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// An inline code span (backticks in the code become quotes).
fn code(text: &str) -> String {
    format!("`{}`", text.replace('`', "'"))
}

/// The anchor GitHub gives the heading `### LIF (neuron)`.
#[must_use]
pub fn anchor(model: &ModelDoc) -> String {
    format!("{}-{}", model.name.to_lowercase(), kind_word(model.kind))
}

/// The whole reference.
#[must_use]
pub fn render(title: &str, intro: &str, sections: &[Section]) -> String {
    let mut out = format!("# {}\n\n{}\n\n## Contents\n\n", prose(title), prose(intro));
    for section in sections {
        let links: Vec<String> = section
            .models
            .iter()
            .map(|m| format!("[{}](#{})", m.name, anchor(m)))
            .collect();
        let _ = writeln!(out, "* {}: {}", code(&section.module), links.join(", "));
    }
    for section in sections {
        let _ = write!(out, "\n## {}\n\n", code(&section.module));
        if !section.import.is_empty() {
            let _ = write!(out, "{}\n\n", code(&section.import));
        }
        for model in &section.models {
            model_md(&mut out, model);
        }
    }
    out
}

fn model_md(out: &mut String, m: &ModelDoc) {
    let _ = write!(out, "### {} ({})\n\n", m.name, kind_word(m.kind));
    if !m.summary.is_empty() {
        let _ = write!(out, "{}\n\n", prose(&m.summary));
    }
    for paragraph in &m.description {
        let _ = write!(out, "{}\n\n", prose(paragraph));
    }
    if let Some(reference) = &m.reference {
        let _ = write!(out, "**Reference:** {}\n\n", prose(reference));
    }
    table(out, "param", "default", "(required)", &m.params);
    table(out, "state", "initial", "0", &m.states);
    table(out, "current", "", "", &m.currents);
    table(out, "let", "definition", "", &m.lets);
    if !m.equations.is_empty() {
        out.push_str("Equations:\n\n");
        for eq in &m.equations {
            let _ = writeln!(out, "* {}", code(eq));
        }
        out.push('\n');
    }
    if !m.rules.is_empty() {
        out.push_str("Rules:\n\n");
        for rule in &m.rules {
            let _ = writeln!(
                out,
                "* {}",
                code(&format!("{} {}", rule.keyword, rule.text))
            );
        }
        out.push('\n');
    }
}

/// A table of declarations; `value_head` empty: no value column.
fn table(out: &mut String, head: &str, value_head: &str, missing: &str, rows: &[Variable]) {
    if rows.is_empty() {
        return;
    }
    let cell = |text: &str| text.replace('|', "\\|");
    if value_head.is_empty() {
        let _ = write!(out, "| {head} | unit | |\n|---|---|---|\n");
    } else {
        let _ = write!(
            out,
            "| {head} | unit | {value_head} | |\n|---|---|---|---|\n"
        );
    }
    for v in rows {
        let unit = if v.unit.is_empty() {
            String::new()
        } else {
            code(&v.unit)
        };
        let doc = prose(&v.doc.replace('\n', " "));
        if value_head.is_empty() {
            let _ = writeln!(out, "| {} | {} | {} |", code(&v.name), cell(&unit), doc);
        } else {
            let value = v.value.as_deref().map_or_else(|| missing.to_string(), code);
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} |",
                code(&v.name),
                cell(&unit),
                cell(&value),
                doc
            );
        }
    }
    out.push('\n');
}
