//! Completion: keywords, models (in scope and in the stdlib), units, and the
//! names visible where the cursor is.

use super::analysis::{self, members, MemberKind};
use super::hover::kind_word;
use super::Analysis;
use crate::front::ast::{Item, ModelDef, ModelKind, NetItem, NetworkDef, ProjClause};
use crate::front::units::{lookup, prefixes, unit_names};
use crate::front::vocabulary as vocab;
use lsp_types::{CompletionItem, CompletionItemKind, Documentation};
use std::collections::HashSet;
use std::sync::{Arc, OnceLock};

/// The units most models use, offered first (spec §3).
const COMMON_UNITS: &[&str] = &[
    "s", "ms", "us", "Hz", "kHz", "V", "mV", "uV", "A", "nA", "pA", "uA", "ohm", "kohm", "Mohm",
    "Gohm", "S", "mS", "uS", "nS", "pS", "F", "uF", "nF", "pF", "m", "cm", "mm", "um", "mol", "mM",
    "uM", "K",
];

struct Items {
    out: Vec<CompletionItem>,
    seen: HashSet<String>,
}

impl Items {
    fn add(&mut self, label: &str, kind: CompletionItemKind, detail: Option<String>, rank: u8) {
        self.add_doc(label, kind, detail, None, rank);
    }

    fn add_doc(
        &mut self,
        label: &str,
        kind: CompletionItemKind,
        detail: Option<String>,
        doc: Option<&str>,
        rank: u8,
    ) {
        if label.is_empty() || !self.seen.insert(label.to_string()) {
            return;
        }
        self.out.push(CompletionItem {
            label: label.to_string(),
            kind: Some(kind),
            detail,
            documentation: doc.map(|d| Documentation::String(d.to_string())),
            sort_text: Some(format!("{rank}{label}")),
            ..CompletionItem::default()
        });
    }

    fn model(&mut self, m: &ModelDef, rank: u8) {
        let detail = format!("{} {}", kind_word(m.kind), m.name.name);
        self.add_doc(
            &m.name.name,
            CompletionItemKind::CLASS,
            Some(detail),
            m.doc.as_deref(),
            rank,
        );
    }

    fn members(&mut self, m: &ModelDef, only: &[MemberKind], rank: u8) {
        for i in members(m) {
            if !only.is_empty() && !only.contains(&i.kind) {
                continue;
            }
            let kind = match i.kind {
                MemberKind::Param => CompletionItemKind::CONSTANT,
                MemberKind::State | MemberKind::Current | MemberKind::Let => {
                    CompletionItemKind::VARIABLE
                }
            };
            let mut detail = format!("{} {}", i.kind.word(), i.name.name);
            if let Some(u) = &i.unit_text {
                detail.push_str(&format!(": {u}"));
            }
            self.add_doc(&i.name.name, kind, Some(detail), i.doc, rank);
        }
    }

    fn words(&mut self, words: &[&str], kind: CompletionItemKind, rank: u8) {
        for w in words {
            self.add(w, kind, None, rank);
        }
    }

    fn units(&mut self) {
        for u in COMMON_UNITS {
            self.add(u, CompletionItemKind::UNIT, Some("unit".into()), 5);
        }
        for u in all_units() {
            self.add(u, CompletionItemKind::UNIT, Some("unit".into()), 8);
        }
    }
}

/// Every unit name: the base names and each with every SI prefix.
fn all_units() -> &'static [String] {
    static UNITS: OnceLock<Vec<String>> = OnceLock::new();
    UNITS.get_or_init(|| {
        let mut v: Vec<String> = unit_names().collect();
        for base in unit_names() {
            for (p, _) in prefixes() {
                let name = format!("{p}{base}");
                if p != "µ" && lookup(&name).is_some() && !v.contains(&name) {
                    v.push(name);
                }
            }
        }
        v
    })
}

/// The models of every stdlib module, parsed once.
fn stdlib_models() -> &'static [ModelDef] {
    static MODELS: OnceLock<Vec<ModelDef>> = OnceLock::new();
    MODELS.get_or_init(|| {
        let mut v = Vec::new();
        for (i, (_, _, text)) in crate::stdlib::MODULES.iter().enumerate() {
            let (file, _) = crate::front::parse(crate::source::SourceId(i as u32), text);
            for item in file.items {
                if let Item::Model(m) = item {
                    v.push(Arc::unwrap_or_clone(m));
                }
            }
        }
        v
    })
}

/// The completions at byte `offset` of `text` (the current buffer; the
/// analysis is of the same text).
pub fn completion(a: &Analysis, text: &str, offset: usize) -> Vec<CompletionItem> {
    let mut items = Items {
        out: Vec::new(),
        seen: HashSet::new(),
    };
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let word_start = before
        .char_indices()
        .rev()
        .take_while(|(_, c)| c.is_alphanumeric() || *c == '_')
        .last()
        .map_or(offset, |(i, _)| i);
    let head = &before[..word_start];
    let root = a.out.root();

    // `E.` → the variables of E's model; `std.` → stdlib modules and models.
    if let Some(owner) = head.strip_suffix('.') {
        let owner_start = owner
            .char_indices()
            .rev()
            .take_while(|(_, c)| c.is_alphanumeric() || *c == '_')
            .last()
            .map_or(owner.len(), |(i, _)| i);
        let owner = &owner[owner_start..];
        if owner == "std" {
            for (m, _, _) in crate::stdlib::MODULES {
                items.add(
                    m,
                    CompletionItemKind::MODULE,
                    Some("stdlib module".into()),
                    1,
                );
            }
            for m in stdlib_models() {
                items.model(m, 2);
            }
        } else if let Some(net) = enclosing_network(&root.ast, offset) {
            if let Some(model) = analysis::population_models(net)
                .get(owner)
                .and_then(|m| root.scope.get(*m))
            {
                items.members(model, &[MemberKind::Current, MemberKind::State], 1);
                items.members(model, &[MemberKind::Param], 3);
            }
        }
        return items.out;
    }
    // After `:` or a number, a unit.
    let trimmed = head.trim_end();
    if trimmed.ends_with(':') || trimmed.ends_with(|c: char| c.is_ascii_digit()) {
        items.units();
        return items.out;
    }

    match enclosing_item(&root.ast, offset) {
        Some(Item::Model(m)) => {
            if trimmed.ends_with("refractory") {
                let detail = "refractory while cond: refractory after a spike while cond holds";
                items.add("while", CompletionItemKind::KEYWORD, Some(detail.into()), 0);
            }
            items.members(m, &[], 1);
            items.add(
                "t",
                CompletionItemKind::VARIABLE,
                Some("t: ms (time)".into()),
                2,
            );
            items.add(
                "dt",
                CompletionItemKind::VARIABLE,
                Some("dt: ms (step)".into()),
                2,
            );
            if m.kind == ModelKind::Synapse {
                items.add(
                    "w",
                    CompletionItemKind::VARIABLE,
                    Some("w: [w] (weight)".into()),
                    2,
                );
            }
            if m.kind != ModelKind::Neuron {
                items.add("post", CompletionItemKind::VARIABLE, None, 2);
            }
            if m.kind == ModelKind::Synapse {
                items.add("pre", CompletionItemKind::VARIABLE, None, 2);
            }
            items.words(vocab::MEMBER_KEYWORDS, CompletionItemKind::KEYWORD, 3);
            items.words(vocab::MATH_FUNCTIONS, CompletionItemKind::FUNCTION, 4);
            items.words(vocab::RANDOM_FUNCTIONS, CompletionItemKind::FUNCTION, 4);
            items.words(
                vocab::INTEGRATION_METHODS,
                CompletionItemKind::ENUM_MEMBER,
                6,
            );
        }
        Some(Item::Network(n)) => {
            // Inside `LIF[…] { … }` or `synapse Expon(…)`: that model's names first.
            if let Some(m) = model_being_configured(n, offset).and_then(|m| root.scope.get(m)) {
                items.members(m, &[MemberKind::Param, MemberKind::State], 0);
            }
            for item in &n.items {
                match item {
                    NetItem::Population(p) => {
                        let detail = format!("population {} = {}", p.name.name, p.model.name);
                        items.add_doc(
                            &p.name.name,
                            CompletionItemKind::FIELD,
                            Some(detail),
                            p.doc.as_deref(),
                            1,
                        );
                    }
                    NetItem::Stimulus(s) => items.add(
                        &s.name.name,
                        CompletionItemKind::FIELD,
                        Some("stimulus".into()),
                        1,
                    ),
                    _ => {}
                }
            }
            items.words(vocab::NET_ITEM_KEYWORDS, CompletionItemKind::KEYWORD, 3);
            items.words(vocab::SETTINGS, CompletionItemKind::PROPERTY, 3);
            items.words(
                &["connect", "synapse", "output"],
                CompletionItemKind::KEYWORD,
                3,
            );
            // (`while` belongs to models: `refractory while …`.)
            for w in vocab::CONTEXTUAL_KEYWORDS.iter().filter(|&&w| w != "while") {
                items.add(w, CompletionItemKind::KEYWORD, None, 3);
            }
            items.words(vocab::CONNECT_RULES, CompletionItemKind::FUNCTION, 4);
            items.words(vocab::RANDOM_FUNCTIONS, CompletionItemKind::FUNCTION, 4);
        }
        _ => items.words(vocab::ITEM_KEYWORDS, CompletionItemKind::KEYWORD, 1),
    }
    let mut scope: Vec<&ModelDef> = root.scope.values().map(AsRef::as_ref).collect();
    scope.sort_by(|x, y| x.name.name.cmp(&y.name.name));
    for m in scope {
        items.model(m, 2);
    }
    for m in stdlib_models() {
        items.model(m, 7);
    }
    items.units();
    items.words(vocab::KEYWORDS, CompletionItemKind::KEYWORD, 9);
    items.out
}

/// The item the cursor is in: the last one starting before it (a broken item
/// may end early).
fn enclosing_item(file: &crate::front::ast::File, offset: usize) -> Option<&Item> {
    file.items
        .iter()
        .rev()
        .find(|i| item_span(i).is_some_and(|s| s.start as usize <= offset))
}

fn item_span(i: &Item) -> Option<crate::source::Span> {
    match i {
        Item::Import(x) => Some(x.span),
        Item::Model(m) => Some(m.span),
        Item::Network(n) => Some(n.span),
        Item::Error(_) => None,
    }
}

fn enclosing_network(file: &crate::front::ast::File, offset: usize) -> Option<&NetworkDef> {
    match enclosing_item(file, offset) {
        Some(Item::Network(n)) => Some(n),
        // `E.` in a broken file: any network will do.
        _ => file.items.iter().rev().find_map(|i| match i {
            Item::Network(n) => Some(n),
            _ => None,
        }),
    }
}

/// The model whose params are being set at `offset`: a population's
/// override block or a projection's `synapse`/`output` arguments.
fn model_being_configured(n: &NetworkDef, offset: usize) -> Option<&str> {
    let inside = |s: crate::source::Span| s.start as usize <= offset && offset <= s.end as usize;
    for item in &n.items {
        match item {
            NetItem::Population(p) if inside(p.span) && offset > p.model.span.end as usize => {
                return Some(&p.model.name);
            }
            NetItem::Projection(pr) if inside(pr.span) => {
                for c in &pr.clauses {
                    if let ProjClause::Synapse(r) | ProjClause::Output(r) = c {
                        if inside(r.span) && offset > r.name.span.end as usize {
                            return Some(&r.name.name);
                        }
                    }
                }
            }
            _ => {}
        }
    }
    None
}
