//! Checks a network: populations name neuron models (E0301), overrides name
//! a param or state of that model with a matching unit (E0302, E0203), and
//! projections connect populations (E0103); see [`super::projection`].

use super::model::{declare, NameKind};
use super::suggest::closest;
use super::Scope;
use crate::diagnostic::Diagnostic;
use crate::front::ast::{ModelKind, NetItem, NetworkDef, StimulusKind};
use std::collections::HashMap;

pub fn check_network(n: &NetworkDef, scope: &Scope) -> Vec<Diagnostic> {
    let mut diags = Vec::new();
    // Population (or spike-train stimulus) name → its neuron model, if known.
    let mut pops: HashMap<&str, Option<&str>> = HashMap::new();
    for item in &n.items {
        match item {
            NetItem::Population(p) => {
                pops.insert(&p.name.name, Some(&p.model.name));
            }
            NetItem::Stimulus(s) if matches!(s.kind, StimulusKind::SpikeTrain { .. }) => {
                pops.insert(&s.name.name, None);
            }
            _ => {}
        }
    }
    let env = super::statements::network_env(&n.items);
    for item in &n.items {
        match item {
            NetItem::Population(p) => {
                let model = scope
                    .get(&p.model.name)
                    .filter(|m| m.kind == ModelKind::Neuron);
                let Some(model) = model else {
                    let neurons = scope
                        .iter()
                        .filter(|(_, m)| m.kind == ModelKind::Neuron)
                        .map(|(k, _)| k.as_str());
                    let mut d = Diagnostic::error(
                        "E0301",
                        format!("`{}` is not a neuron model in scope", p.model.name),
                    )
                    .with_primary(p.model.span, "expected a neuron model");
                    if let Some(s) = closest(&p.model.name, neurons) {
                        d = d.with_help(format!("did you mean `{s}`?"));
                    } else if !scope.contains_key(&p.model.name) {
                        d = d.with_help("import it, e.g. `import std.{LIF}`");
                    }
                    diags.push(d);
                    continue;
                };
                // Declarations are checked with the model; only the names here.
                let vars = declare(model, &mut Vec::new());
                for o in &p.overrides {
                    match vars.names.get(&o.name.name) {
                        Some((NameKind::Param | NameKind::State, ty, _)) => {
                            let found = super::model::value_ty(&env, &o.value, &mut diags);
                            if !found.fits(ty) {
                                diags.push(
                                    Diagnostic::error(
                                        "E0203",
                                        format!("expected {}, found {}", ty.show(), found.show()),
                                    )
                                    .with_primary(
                                        o.value.span,
                                        format!("this is {}", found.show()),
                                    ),
                                );
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
                let posts: Vec<_> = pr
                    .targets
                    .iter()
                    .filter_map(|t| pops.get(t.name.as_str()).copied().flatten())
                    .filter_map(|m| scope.get(m))
                    .filter(|m| m.kind == ModelKind::Neuron)
                    .collect();
                super::projection::check_projection(pr, scope, &posts, &mut diags);
            }
            other => super::statements::check_statement(other, &env, &pops, scope, &mut diags),
        }
    }
    diags
}
