//! The reference as one self-contained HTML page (inline style, no scripts).

use std::fmt::Write;

use super::markdown::anchor;
use super::{kind_word, ModelDoc, Section, Variable};

/// Escape text for HTML element content and attribute values.
#[must_use]
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// Doc text as HTML: escaped, with `code` spans as `<code>`.
fn prose(text: &str) -> String {
    text.lines()
        .map(|line| {
            let parts: Vec<&str> = line.split('`').collect();
            if parts.len().is_multiple_of(2) {
                return escape(line);
            }
            parts
                .iter()
                .enumerate()
                .map(|(k, part)| match k % 2 {
                    0 => escape(part),
                    _ => format!("<code>{}</code>", escape(part)),
                })
                .collect()
        })
        .collect::<Vec<String>>()
        .join("\n")
}

const STYLE: &str =
    "body{font-family:sans-serif;max-width:60em;margin:2em auto;padding:0 1em;line-height:1.45}\
code{background:#f3f3f3;padding:0 .2em}\
table{border-collapse:collapse;margin:.5em 0 1em}\
th,td{border:1px solid #ccc;padding:.2em .5em;text-align:left;vertical-align:top}\
p.doc{white-space:pre-line}\
section.model{border-top:1px solid #ddd;margin-top:1.5em}";

/// The whole page.
#[must_use]
pub fn render(title: &str, intro: &str, sections: &[Section]) -> String {
    let mut out = format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{t}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<h1>{t}</h1>\n<p>{}</p>\n<h2>Contents</h2>\n<ul>\n",
        escape(intro),
        t = escape(title),
    );
    for section in sections {
        let links: Vec<String> = section
            .models
            .iter()
            .map(|m| {
                format!(
                    "<a href=\"#{}\">{}</a>",
                    escape(&anchor(m)),
                    escape(&m.name)
                )
            })
            .collect();
        let _ = writeln!(
            out,
            "<li><code>{}</code>: {}</li>",
            escape(&section.module),
            links.join(", ")
        );
    }
    out.push_str("</ul>\n");
    for section in sections {
        let _ = writeln!(out, "<h2><code>{}</code></h2>", escape(&section.module));
        if !section.import.is_empty() {
            let _ = writeln!(out, "<p><code>{}</code></p>", escape(&section.import));
        }
        for model in &section.models {
            model_html(&mut out, model);
        }
    }
    out.push_str("</body>\n</html>\n");
    out
}

fn model_html(out: &mut String, m: &ModelDoc) {
    let _ = writeln!(
        out,
        "<section class=\"model\" id=\"{}\">\n<h3>{} <small>({})</small></h3>",
        escape(&anchor(m)),
        escape(&m.name),
        kind_word(m.kind)
    );
    for paragraph in std::iter::once(&m.summary).chain(&m.description) {
        if !paragraph.is_empty() {
            let _ = writeln!(out, "<p class=\"doc\">{}</p>", prose(paragraph));
        }
    }
    if let Some(reference) = &m.reference {
        let _ = writeln!(
            out,
            "<p class=\"doc\"><strong>Reference:</strong> {}</p>",
            prose(reference)
        );
    }
    table(out, "param", "default", "(required)", &m.params);
    table(out, "state", "initial", "0", &m.states);
    table(out, "current", "", "", &m.currents);
    table(out, "let", "definition", "", &m.lets);
    let code_list = |out: &mut String, head: &str, items: Vec<String>| {
        if items.is_empty() {
            return;
        }
        let _ = writeln!(out, "<p>{head}:</p>\n<ul>");
        for item in items {
            let _ = writeln!(out, "<li><code>{}</code></li>", escape(&item));
        }
        out.push_str("</ul>\n");
    };
    code_list(out, "Equations", m.equations.clone());
    code_list(
        out,
        "Rules",
        m.rules
            .iter()
            .map(|r| format!("{} {}", r.keyword, r.text))
            .collect(),
    );
    out.push_str("</section>\n");
}

fn table(out: &mut String, head: &str, value_head: &str, missing: &str, rows: &[Variable]) {
    if rows.is_empty() {
        return;
    }
    let value_th = if value_head.is_empty() {
        String::new()
    } else {
        format!("<th>{value_head}</th>")
    };
    let _ = writeln!(
        out,
        "<table>\n<tr><th>{head}</th><th>unit</th>{value_th}<th></th></tr>"
    );
    for v in rows {
        let value_td = if value_head.is_empty() {
            String::new()
        } else {
            match &v.value {
                Some(value) => format!("<td><code>{}</code></td>", escape(value)),
                None => format!("<td>{missing}</td>"),
            }
        };
        let _ = writeln!(
            out,
            "<tr><td><code>{}</code></td><td><code>{}</code></td>{value_td}<td>{}</td></tr>",
            escape(&v.name),
            escape(&v.unit),
            prose(&v.doc)
        );
    }
    out.push_str("</table>\n");
}
