//! Hover: what a name is, its unit and its `///` documentation.

use super::analysis::{self, members, MemberInfo, PopDecl, Symbol};
use super::{range_of, Analysis};
use crate::front::ast::{ModelDef, ModelKind, StimulusKind};
use crate::front::units::{lookup, readable, si_form, Dimension, Rational};
use crate::source::Span;
use lsp_types::{Hover, HoverContents, MarkupContent, MarkupKind};

/// The hover text for the name at byte `offset` of the root file.
pub fn hover(a: &Analysis, offset: usize) -> Option<Hover> {
    let occ = analysis::at(&a.occurrences, offset)?;
    let root = a.out.root();
    let text = match &occ.symbol {
        Symbol::Model(key) => {
            let m = analysis::resolve_model(key, &root.ast, &root.scope)?;
            model_text(a, m)
        }
        Symbol::Member { model, name } => {
            let m = analysis::resolve_model(model, &root.ast, &root.scope)?;
            let all = members(m);
            let info = all.iter().find(|i| i.name.name == *name)?;
            member_text(a, m, info)
        }
        Symbol::Population { network, name } => {
            let n = analysis::network(&root.ast, *network)?;
            match analysis::find_population(n, name)? {
                PopDecl::Population(p) => {
                    let size = snippet(a, p.size.span);
                    let mut s = fence(&format!("population {} = {}[{size}]", name, p.model.name));
                    s.push_str(&format!("\n\n{size} neurons"));
                    match root.scope.get(&p.model.name) {
                        Some(m) => {
                            s.push_str(&format!(
                                " of the {} model `{}`",
                                kind_word(m.kind),
                                m.name.name
                            ));
                            if let Some(first) = m.doc.as_deref().and_then(|d| d.lines().next()) {
                                s.push_str(&format!(": {first}"));
                            }
                        }
                        None => s.push_str(&format!(" of `{}` (not in scope)", p.model.name)),
                    }
                    if let Some(doc) = &p.doc {
                        s.push_str(&format!("\n\n---\n\n{doc}"));
                    }
                    s
                }
                PopDecl::SpikeTrain(st) => {
                    let size = match &st.kind {
                        StimulusKind::SpikeTrain { size } => snippet(a, size.span),
                        StimulusKind::Array { .. } => "?".into(),
                    };
                    let mut s = fence(&format!("stimulus {name}: spikes[{size}] from input"));
                    s.push_str(&format!(
                        "\n\n{size} spike sources whose spike times come from a file (`--input {name}=…`)"
                    ));
                    s
                }
            }
        }
        Symbol::Stimulus { network, name } => {
            let n = analysis::network(&root.ast, *network)?;
            let st = analysis::find_stimulus(n, name)?;
            let mut s = fence(&snippet(a, st.span));
            if let StimulusKind::Array { unit, population } = &st.kind {
                s.push_str(&format!(
                    "\n\nAn input array in `{}`, one value per neuron of `{}`, bound at run time with `--input {name}=file.npy`",
                    crate::front::check::unit_text(unit),
                    population.name
                ));
                if let Some(d) = analysis::unit_dim(unit) {
                    s.push_str(&dimension_line(&d));
                }
            }
            s
        }
        Symbol::Unit(name) => {
            let u = lookup(name)?;
            let mut s = fence(&format!("unit {name}"));
            let one = if u.dim.is_dimensionless() {
                "1".to_string()
            } else {
                readable(&u.dim)
            };
            s.push_str(&format!("\n\n1 {name} = {} {one}", scale(u.scale)));
            s.push_str(&dimension_line(&u.dim));
            s
        }
        Symbol::Builtin(name) => match name.as_str() {
            "t" => fence("t: ms") + "\n\nthe simulated time at the start of the step",
            "dt" => fence("dt: ms") + "\n\nthe time step of the network",
            "w" => fence("w: [w]") + "\n\nthe weight of the synapse; its unit is the projection's `weight` unit. Assigned in `on_pre` or `on_post` (`w = clip(w + Apre, 0, w_max)`), it makes the projection plastic: its weights change during the run",
            _ => return None,
        },
        Symbol::Setting(name) => match name.as_str() {
            "dt" => fence("dt: ms") + "\n\nthe time step (default 0.1 ms)",
            "duration" => fence("duration: ms") + "\n\nthe simulated time; steps = round(duration / dt)",
            "seed" => fence("seed: 1") + "\n\nthe random seed (an integer, default 0)",
            _ => return None,
        },
    };
    let range = range_of(
        a,
        Span {
            source: a.out.root().source,
            start: occ.range.start as u32,
            end: occ.range.end as u32,
        },
    );
    Some(Hover {
        contents: HoverContents::Markup(MarkupContent {
            kind: MarkupKind::Markdown,
            value: text,
        }),
        range: Some(range),
    })
}

fn fence(code: &str) -> String {
    format!("```snn\n{code}\n```")
}

pub fn kind_word(k: ModelKind) -> &'static str {
    match k {
        ModelKind::Neuron => "neuron",
        ModelKind::Synapse => "synapse",
        ModelKind::Output => "output",
    }
}

fn snippet(a: &Analysis, span: Span) -> String {
    let text = &a.out.sources.get(span.source).text;
    text.get(span.range()).unwrap_or("?").trim().to_string()
}

/// `10^-3` as `0.001`, `1e6` as `1000000`; very small or large in e-notation.
fn scale(x: f64) -> String {
    if x == 0.0 || (1e-4..1e7).contains(&x.abs()) {
        format!("{x}")
    } else {
        format!("{x:e}")
    }
}

fn dimension_line(d: &Dimension) -> String {
    if d.is_dimensionless() {
        return "\n\ndimensionless".into();
    }
    let (short, base) = (readable(d), si_form(d));
    let mut s = match quantity_name(d) {
        Some(q) => format!("\n\ndimension: {q}, {short}"),
        None => format!("\n\ndimension: {short}"),
    };
    if base != short {
        s.push_str(&format!(" = {base} in SI base units"));
    }
    s
}

/// The physical quantity a dimension measures, for the common ones.
fn quantity_name(d: &Dimension) -> Option<&'static str> {
    const NAMES: &[(&str, &str)] = &[
        ("s", "time"),
        ("Hz", "frequency"),
        ("V", "voltage"),
        ("A", "current"),
        ("ohm", "resistance"),
        ("S", "conductance"),
        ("F", "capacitance"),
        ("C", "charge"),
        ("m", "length"),
        ("m^2", "area"),
        ("M", "concentration"),
        ("K", "temperature"),
        ("kg", "mass"),
        ("mol", "amount of substance"),
        ("W", "power"),
        ("J", "energy"),
        ("V/s", "voltage per time"),
        ("A/s", "current per time"),
        ("F/m^2", "capacitance per area"),
        ("S/m^2", "conductance per area"),
        ("A/m^2", "current density"),
    ];
    let part = |u: &str| -> Option<Dimension> {
        match u.strip_suffix("^2") {
            Some(b) => lookup(b)?.dim.powr(Rational::int(2)).ok(),
            None => Some(lookup(u)?.dim),
        }
    };
    NAMES.iter().find_map(|(unit, name)| {
        let dim = match unit.split_once('/') {
            Some((a, b)) => part(a)?.div(part(b)?).ok()?,
            None => part(unit)?,
        };
        (dim == *d).then_some(*name)
    })
}

fn model_text(a: &Analysis, m: &ModelDef) -> String {
    let mut s = fence(&format!("{} {}", kind_word(m.kind), m.name.name));
    let file = &a.out.sources.get(m.name.span.source).name;
    if m.name.span.source != a.out.root().source {
        s.push_str(&format!("\n\nfrom `{file}`"));
    }
    if let Some(doc) = &m.doc {
        s.push_str(&format!("\n\n{doc}"));
    }
    let ms = members(m);
    if !ms.is_empty() {
        s.push_str("\n\n---\n");
        for i in &ms {
            s.push_str(&format!("\n* `{}`", signature(a, i)));
        }
    }
    s
}

/// `param tau: ms = 10 ms`, `current I: nA`, `let r = V / tau`.
fn signature(a: &Analysis, i: &MemberInfo) -> String {
    let mut s = format!("{} {}", i.kind.word(), i.name.name);
    if let Some(u) = &i.unit_text {
        s.push_str(&format!(": {u}"));
    }
    if let Some(v) = i.value {
        s.push_str(&format!(" = {}", snippet(a, v.span)));
    }
    s
}

fn member_text(a: &Analysis, m: &ModelDef, i: &MemberInfo) -> String {
    let mut head = format!("{} {}", i.kind.word(), i.name.name);
    match (&i.unit_text, &i.dim) {
        (Some(u), _) => head.push_str(&format!(": {u}")),
        (None, Some(d)) => head.push_str(&format!(": {}", readable(d))),
        (None, None) => {}
    }
    if let Some(v) = i.value {
        head.push_str(&format!(" = {}", snippet(a, v.span)));
    }
    let mut s = fence(&head);
    s.push_str(&format!(
        "\n\n{} of the {} model `{}`",
        i.kind.word(),
        kind_word(m.kind),
        m.name.name
    ));
    match &i.dim {
        Some(d) if d.has_weight_var() => {
            s.push_str("\n\nunit: the projection's weight unit `[w]`");
        }
        Some(d) => {
            s.push_str(&format!(
                "\n\nunit: {}",
                i.unit_text.clone().unwrap_or_else(|| readable(d))
            ));
            s.push_str(&dimension_line(d));
        }
        None => {}
    }
    if let Some(doc) = i.doc {
        s.push_str(&format!("\n\n---\n\n{doc}"));
    }
    s
}
