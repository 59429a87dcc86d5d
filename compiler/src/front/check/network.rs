//! Checks a network: populations name neuron models (E0301) and have a
//! positive whole size (E0305), each name is declared once (E0102),
//! overrides name a param or state of that model with a matching unit
//! (E0302, E0203), and projections connect populations (E0103); see
//! [`super::projection`].

use super::model::{constant, declare, value_ty, Env, NameKind};
use super::suggest::closest;
use super::ty::Ty;
use super::Scope;
use crate::diagnostic::Diagnostic;
use crate::front::ast::{
    Expr, ExprKind, File, Ident, ImportNames, Item, ModelDef, ModelKind, NetItem, NetworkDef,
    StimulusKind,
};
use crate::source::Span;
use std::collections::{HashMap, HashSet};

/// A population (or spike-train stimulus) as the projections see it.
pub struct Pop<'a> {
    /// Its neuron model, when it names one in scope.
    pub model: Option<&'a ModelDef>,
    /// A spike-train stimulus: a population without variables.
    pub stimulus: bool,
    /// The size, when it is a valid constant.
    pub size: Option<u32>,
    pub size_span: Span,
}

/// Checks network `n` of `file`, whose models are `scope`.
pub fn check_network(n: &NetworkDef, scope: &Scope, file: &File) -> Vec<Diagnostic> {
    let mut diags = Vec::new();
    // Names a failed import should have brought (E0101 already): using them
    // is not a second error.
    let unresolved: HashSet<&str> = file
        .items
        .iter()
        .filter_map(|i| match i {
            Item::Import(imp) => match &imp.names {
                ImportNames::List(names) => Some(names),
                ImportNames::Glob(_) => None,
            },
            _ => None,
        })
        .flatten()
        .map(|n| n.name.as_str())
        .filter(|n| !scope.contains_key(*n))
        .collect();
    // Population (or spike-train stimulus) name → its neuron model, if known.
    let mut pops: HashMap<&str, Option<&str>> = HashMap::new();
    let mut info: HashMap<&str, Pop> = HashMap::new();
    // Populations and stimuli share one namespace: the first declaration wins.
    let mut first: HashMap<&str, Span> = HashMap::new();
    for item in &n.items {
        let (name, model, stimulus, size) = match item {
            NetItem::Population(p) => (&p.name, Some(&p.model.name), false, Some(&p.size)),
            NetItem::Stimulus(s) => match &s.kind {
                StimulusKind::SpikeTrain { size } => (&s.name, None, true, Some(size)),
                StimulusKind::Array { .. } => (&s.name, None, false, None),
            },
            _ => continue,
        };
        let size = size.map(|e| (population_size(e, &mut diags), e.span));
        if let Some(&at) = first.get(name.name.as_str()) {
            diags.push(
                Diagnostic::error("E0102", format!("`{}` is declared twice", name.name))
                    .with_primary(name.span, "declared again here")
                    .with_secondary(at, "first declared here")
                    .with_help("give each population and stimulus its own name"),
            );
            continue;
        }
        first.insert(&name.name, name.span);
        let Some((size, size_span)) = size else {
            continue;
        };
        pops.insert(&name.name, model.map(String::as_str));
        info.insert(
            &name.name,
            Pop {
                model: model
                    .and_then(|m| scope.get(m))
                    .map(AsRef::as_ref)
                    .filter(|m| m.kind == ModelKind::Neuron),
                stimulus,
                size,
                size_span,
            },
        );
    }
    let env = super::statements::network_env(&n.items);
    for item in &n.items {
        match item {
            NetItem::Population(p) => {
                let model = scope
                    .get(&p.model.name)
                    .filter(|m| m.kind == ModelKind::Neuron);
                let Some(model) = model else {
                    if !unresolved.contains(p.model.name.as_str()) {
                        diags.push(wrong_kind(&p.model, ModelKind::Neuron, scope));
                    }
                    continue;
                };
                // Declarations are checked with the model; only the names here.
                let vars = declare(model, &mut Vec::new());
                let given: Vec<&str> = p.overrides.iter().map(|o| o.name.name.as_str()).collect();
                diags.extend(super::required::missing_params(
                    model,
                    &given,
                    p.model.span,
                    |x| format!("`{} = {}[…] {{ {x} = … }}`", p.name.name, p.model.name),
                ));
                diags.extend(super::constant::instance_faults(
                    model,
                    super::constant::population_overrides(&p.overrides),
                ));
                if let Some(dt) = network_dt(n) {
                    diags.extend(super::constant::saturated_draws(
                        model,
                        super::constant::population_overrides(&p.overrides),
                        dt,
                        &p.name,
                    ));
                }
                for o in &p.overrides {
                    if o.name.name.is_empty() {
                        continue; // a syntax error, reported by the parser
                    }
                    match vars.names.get(&o.name.name) {
                        Some((NameKind::Param | NameKind::State, ty, _)) => {
                            let found = value_ty(&env, &o.value, &mut diags);
                            if !found.fits(ty) {
                                let mut d = Diagnostic::error(
                                    "E0203",
                                    format!("expected {}, found {}", ty.show(), found.show()),
                                )
                                .with_primary(
                                    o.value.span,
                                    format!(
                                        "this is {}, but `{}` is {}",
                                        found.describe(),
                                        o.name.name,
                                        ty.show()
                                    ),
                                );
                                if let Some(h) = found.unit_help(ty, &o.value) {
                                    d = d.with_help(h);
                                }
                                diags.push(d);
                            }
                        }
                        _ => {
                            let names = vars
                                .names
                                .iter()
                                .filter(|(_, (k, _, _))| {
                                    matches!(k, NameKind::Param | NameKind::State)
                                })
                                .map(|(k, _)| k.as_str());
                            let mut d = Diagnostic::error(
                                "E0302",
                                format!(
                                    "`{}` has no param or state `{}`",
                                    p.model.name, o.name.name
                                ),
                            )
                            .with_primary(o.name.span, "not a param or state of this model");
                            if let Some(s) = closest(&o.name.name, names) {
                                d = d.with_help(format!("did you mean `{s}`?"));
                            }
                            diags.push(d);
                        }
                    }
                }
            }
            NetItem::Projection(pr) => {
                for end in pr.sources.iter().chain(&pr.targets) {
                    if !pops.contains_key(end.name.as_str()) {
                        let mut d = Diagnostic::error(
                            "E0103",
                            format!("unknown population `{}`", end.name),
                        )
                        .with_primary(end.span, "not a population of this network");
                        if let Some(s) = closest(&end.name, pops.keys().copied()) {
                            d = d.with_help(format!("did you mean `{s}`?"));
                        }
                        diags.push(d);
                    }
                }
                super::projection::check_projection(pr, scope, &info, &mut diags);
            }
            NetItem::Record(r) => {
                super::statements::check_statement(item, &env, &pops, scope, &mut diags);
                diags.extend(super::record::check_trace_shape(r, &info, step(n)));
            }
            other => super::statements::check_statement(other, &env, &pops, scope, &mut diags),
        }
    }
    // A model used by several projections with the same neurons reports a
    // problem of its own once.
    let mut seen = HashSet::new();
    diags.retain(|d| seen.insert((d.code, d.message.clone(), d.primary_span())));
    diags
}

/// The size of a population (`LIF[3200]`) or spike-train stimulus: a
/// positive whole number that fits in 32 bits (E0305). `None` after an error.
fn population_size(e: &Expr, diags: &mut Vec<Diagnostic>) -> Option<u32> {
    if let ExprKind::String(_) = e.kind {
        diags.push(
            Diagnostic::error("E0305", "a population size is a number, found a string")
                .with_primary(e.span, "a string"),
        );
        return None;
    }
    let ty = value_ty(&Env::empty(), e, diags);
    if matches!(ty, Ty::Any) {
        return None; // reported already (an unknown unit, …)
    }
    let bad = |message: String, label: &str| {
        Diagnostic::error("E0305", message).with_primary(e.span, label.to_string())
    };
    if !matches!(ty, Ty::Zero) && !matches!(&ty, Ty::Num { dim, .. } if dim.is_dimensionless()) {
        let mut d = bad(
            format!(
                "a population size is a number of neurons, found {}",
                ty.show()
            ),
            &format!("this is {}", ty.show()),
        );
        if let ExprKind::Quantity { value, .. } = &e.kind {
            d = d.with_help(format!("write the number alone: `[{value}]`"));
        }
        diags.push(d);
        return None;
    }
    let Some(x) = constant(e) else {
        diags.push(bad(
            "a population size must be a constant number".into(),
            "not a constant",
        ));
        return None;
    };
    if x.fract() != 0.0 {
        diags.push(
            bad(
                format!("a population size is a whole number of neurons, found {x}"),
                "not a whole number",
            )
            .with_help(format!(
                "write `[{}]` or `[{}]`",
                x.floor().max(1.0),
                x.ceil().max(1.0)
            )),
        );
        return None;
    }
    if x < 1.0 {
        diags.push(bad(
            format!("a population needs at least one neuron, found {x}"),
            "must be 1 or more",
        ));
        return None;
    }
    if x > f64::from(u32::MAX) {
        diags.push(bad(
            format!(
                "a population size is at most {} neurons, found {x}",
                u32::MAX
            ),
            "too large",
        ));
        return None;
    }
    Some(x as u32)
}

/// E0301: `id` names no model of `kind` in scope: another kind's model, or
/// nothing at all.
pub fn wrong_kind(id: &Ident, kind: ModelKind, scope: &Scope) -> Diagnostic {
    let what = kind_word(kind);
    let mut of_kind: Vec<&str> = scope
        .iter()
        .filter(|(_, m)| m.kind == kind)
        .map(|(k, _)| k.as_str())
        .collect();
    of_kind.sort_unstable();
    let article = if what == "output" { "an" } else { "a" };
    let mut d = match scope.get(&id.name) {
        Some(m) => Diagnostic::error(
            "E0301",
            format!(
                "`{}` is {} {} model, not {article} {what} model",
                id.name,
                if m.kind == ModelKind::Output {
                    "an"
                } else {
                    "a"
                },
                kind_word(m.kind)
            ),
        ),
        None => Diagnostic::error(
            "E0301",
            format!("no {what} model `{}` is defined or imported", id.name),
        ),
    }
    .with_primary(id.span, format!("expected {article} {what} model"));
    if crate::stdlib::defines(kind_word(kind), &id.name) {
        d = d.with_help(format!(
            "`{}` is in the standard library: `import std.{{{}}}`",
            id.name, id.name
        ));
    } else if let Some(s) = closest(&id.name, of_kind.iter().copied()) {
        d = d.with_help(format!("did you mean `{s}`?"));
    } else if !of_kind.is_empty() {
        let list: Vec<String> = of_kind.iter().map(|n| format!("`{n}`")).collect();
        d = d.with_help(format!("the {what} models in scope: {}", list.join(", ")));
    } else {
        let example = match kind {
            ModelKind::Neuron => "import std.{LIF}",
            ModelKind::Synapse => "import std.{Expon}",
            ModelKind::Output => "import std.{CUBA}",
        };
        d = d.with_help(format!("define one, or import one: `{example}`"));
    }
    d
}

/// `neuron`, `synapse`, `output`.
pub fn kind_word(kind: ModelKind) -> &'static str {
    match kind {
        ModelKind::Neuron => "neuron",
        ModelKind::Synapse => "synapse",
        ModelKind::Output => "output",
    }
}

/// The step a run takes: the network's `dt` (`None` when it is not a
/// positive constant), or 0.1 ms when it sets none (spec §8).
fn step(n: &NetworkDef) -> Option<f64> {
    let sets_dt = n
        .items
        .iter()
        .any(|item| matches!(item, NetItem::Setting(s) if s.name.name == "dt"));
    if sets_dt {
        network_dt(n)
    } else {
        Some(1e-4)
    }
}

/// The network's `dt` in seconds, when it is a positive constant.
fn network_dt(n: &NetworkDef) -> Option<f64> {
    n.items.iter().find_map(|item| match item {
        NetItem::Setting(s) if s.name.name == "dt" => {
            super::constant::network_value(&s.value).filter(|dt| *dt > 0.0)
        }
        _ => None,
    })
}
