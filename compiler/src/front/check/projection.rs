//! Checks a projection's clauses: `synapse`/`output` name models of that kind
//! (E0301), their arguments name a param or state (E0302) with a matching
//! unit (E0203; `[w]` states take the unit of the weight), and the delay is a
//! time (E0203).

use super::model::{declare, value_ty, Env, NameKind};
use super::suggest::closest;
use super::ty::Ty;
use super::Scope;
use crate::diagnostic::Diagnostic;
use crate::front::ast::{ModelDef, ModelKind, ModelRef, ProjClause, ProjectionDecl};
use crate::front::units::{Base, Dimension};

/// `posts`: the neuron models of the target populations (those known).
pub fn check_projection(
    pr: &ProjectionDecl,
    scope: &Scope,
    posts: &[&ModelDef],
    diags: &mut Vec<Diagnostic>,
) {
    let empty = Env::empty();
    // The weight's unit instantiates `[w]`; unknown until a weight is seen.
    let mut weight = Ty::Any;
    for c in &pr.clauses {
        if let ProjClause::Weight(e) = c {
            weight = value_ty(&empty, e, diags);
        }
    }
    for c in &pr.clauses {
        match c {
            ProjClause::Delay(e) => {
                let found = value_ty(&empty, e, diags);
                let time = Ty::dim(Dimension::base(Base::Time), Some("ms".into()));
                if !found.fits(&time) {
                    diags.push(
                        Diagnostic::error("E0203", format!("expected ms, found {}", found.show()))
                            .with_primary(e.span, "a delay is a time"),
                    );
                }
            }
            ProjClause::Synapse(r) => model_ref(r, ModelKind::Synapse, &weight, scope, diags),
            ProjClause::Output(r) => model_ref(r, ModelKind::Output, &weight, scope, diags),
            ProjClause::Connect { .. } | ProjClause::Weight(_) | ProjClause::Error(_) => {}
        }
    }
    let find = |kind: ModelKind| {
        pr.clauses.iter().find_map(|c| match c {
            ProjClause::Synapse(r) if kind == ModelKind::Synapse => scope.get(&r.name.name),
            ProjClause::Output(r) if kind == ModelKind::Output => scope.get(&r.name.name),
            _ => None,
        })
    };
    let synapse = find(ModelKind::Synapse).filter(|m| m.kind == ModelKind::Synapse);
    let output_ref = pr.clauses.iter().find_map(|c| match c {
        ProjClause::Output(r) => Some(r.span),
        _ => None,
    });
    if let (Some(output), Some(used_at)) = (
        find(ModelKind::Output).filter(|m| m.kind == ModelKind::Output),
        output_ref,
    ) {
        super::pairing::check_pairing(output, synapse, posts, used_at, diags);
    }
}

fn model_ref(
    r: &ModelRef,
    kind: ModelKind,
    weight: &Ty,
    scope: &Scope,
    diags: &mut Vec<Diagnostic>,
) {
    let what = match kind {
        ModelKind::Synapse => "synapse",
        ModelKind::Output => "output",
        ModelKind::Neuron => "neuron",
    };
    let Some(model) = scope.get(&r.name.name).filter(|m| m.kind == kind) else {
        let names = scope
            .iter()
            .filter(|(_, m)| m.kind == kind)
            .map(|(k, _)| k.as_str());
        let mut d = Diagnostic::error(
            "E0301",
            format!("`{}` is not a {what} model in scope", r.name.name),
        )
        .with_primary(r.name.span, format!("expected a {what} model"));
        if let Some(s) = closest(&r.name.name, names) {
            d = d.with_help(format!("did you mean `{s}`?"));
        }
        diags.push(d);
        return;
    };
    let env = declare(model, &mut Vec::new());
    for arg in &r.args {
        let Some(name) = &arg.name else {
            diags.push(
                Diagnostic::error("E0302", "model arguments are named: `tau = 5 ms`")
                    .with_primary(arg.span, "unnamed argument"),
            );
            continue;
        };
        let Some((NameKind::Param | NameKind::State, declared, _)) = env.names.get(&name.name)
        else {
            let names = env
                .names
                .iter()
                .filter(|(_, (k, _, _))| matches!(k, NameKind::Param | NameKind::State))
                .map(|(k, _)| k.as_str());
            let mut d = Diagnostic::error(
                "E0302",
                format!("`{}` has no param or state `{}`", r.name.name, name.name),
            )
            .with_primary(name.span, "not a param or state of this model");
            if let Some(s) = closest(&name.name, names) {
                d = d.with_help(format!("did you mean `{s}`?"));
            }
            diags.push(d);
            continue;
        };
        let expected = match (declared, weight) {
            (Ty::Num { dim, .. }, Ty::Num { dim: w, text, .. }) if dim.has_weight_var() => {
                match dim.substitute(*w) {
                    Ok(d) if d == *w => Ty::dim(d, text.clone()),
                    Ok(d) => Ty::dim(d, None),
                    Err(_) => Ty::Any,
                }
            }
            (Ty::Num { dim, .. }, _) if dim.has_weight_var() => Ty::Any,
            _ => declared.clone(),
        };
        let found = value_ty(&Env::empty(), &arg.value, diags);
        if !found.fits(&expected) {
            diags.push(
                Diagnostic::error(
                    "E0203",
                    format!("expected {}, found {}", expected.show(), found.show()),
                )
                .with_primary(arg.value.span, format!("this is {}", found.show())),
            );
        }
    }
}
