//! Network statements besides populations and projections: settings
//! (`dt = 0.1 ms`), injections (`E.I += drive`), stimuli and records.

use super::model::{declare, value_ty, Env, NameKind};
use super::suggest::closest;
use super::ty::{unit_ty, Ty};
use super::Scope;
use crate::diagnostic::Diagnostic;
use crate::front::ast::{AssignOp, Expr, Ident, ModelDef, NetItem, RecordDecl, StimulusKind};
use crate::front::units::{Base, Dimension};
use crate::front::vocabulary::SETTINGS;
use std::collections::HashMap;

fn time() -> Ty {
    Ty::dim(Dimension::base(Base::Time), Some("ms".into()))
}

/// E0203 unless `found` fits `expected`; `what` names the target
/// (`` `I` of `LIF` ``) for the label.
fn expect(
    found: &Ty,
    expected: &Ty,
    value: &Expr,
    what: Option<&str>,
    diags: &mut Vec<Diagnostic>,
) {
    if found.fits(expected) {
        return;
    }
    let label = match what {
        Some(w) => format!(
            "this is {}, but {w} is {}",
            found.describe(),
            expected.show()
        ),
        None => format!("this is {}", found.describe()),
    };
    let mut d = Diagnostic::error(
        "E0203",
        format!("expected {}, found {}", expected.show(), found.show()),
    )
    .with_primary(value.span, label);
    if let Some(h) = found.unit_help(expected, value) {
        d = d.with_help(h);
    }
    diags.push(d);
}

/// The values a network expression may name: its array stimuli.
pub fn network_env(items: &[NetItem]) -> Env {
    let mut env = Env::empty();
    for item in items {
        if let NetItem::Stimulus(s) = item {
            if let StimulusKind::Array { unit, .. } = &s.kind {
                let ty = unit_ty(unit, &mut Vec::new());
                env.names
                    .insert(s.name.name.clone(), (NameKind::Let, ty, s.name.span));
            }
        }
    }
    env
}

/// Checks one statement; `pops` maps population names to their neuron model
/// (`None` for spike-train stimuli, which have no variables).
pub fn check_statement(
    item: &NetItem,
    env: &Env,
    pops: &HashMap<&str, Option<&str>>,
    scope: &Scope,
    diags: &mut Vec<Diagnostic>,
) {
    let population = |id: &Ident, diags: &mut Vec<Diagnostic>| -> Option<Option<&ModelDef>> {
        match pops.get(id.name.as_str()) {
            Some(model) => Some(model.and_then(|m| scope.get(m)).map(AsRef::as_ref)),
            None => {
                let mut d = Diagnostic::error("E0103", format!("unknown population `{}`", id.name))
                    .with_primary(id.span, "not a population of this network");
                if let Some(s) = closest(&id.name, pops.keys().copied()) {
                    d = d.with_help(format!("did you mean `{s}`?"));
                }
                diags.push(d);
                None
            }
        }
    };
    // The unit of variable `var` of `model`, or E0302.
    let variable = |model: &ModelDef, var: &Ident, diags: &mut Vec<Diagnostic>| -> Ty {
        let vars = declare(model, &mut Vec::new());
        match vars.names.get(&var.name) {
            Some((NameKind::Let, _, _)) | None => {
                let mut d = Diagnostic::error(
                    "E0302",
                    format!(
                        "`{}` has no state or current `{}`",
                        model.name.name, var.name
                    ),
                )
                .with_primary(var.span, "not a variable of this model");
                let names = vars
                    .names
                    .iter()
                    .filter(|(_, (k, _, _))| *k != NameKind::Let)
                    .map(|(k, _)| k.as_str());
                if let Some(s) = closest(&var.name, names) {
                    d = d.with_help(format!("did you mean `{s}`?"));
                }
                diags.push(d);
                Ty::Any
            }
            Some((_, ty, _)) => ty.clone(),
        }
    };
    match item {
        NetItem::Setting(s) => {
            let found = value_ty(env, &s.value, diags);
            match s.name.name.as_str() {
                "dt" | "duration" => {
                    let what = format!("`{}`", s.name.name);
                    expect(&found, &time(), &s.value, Some(&what), diags);
                    diags.extend(positive_time(&s.name.name, &s.value));
                }
                "seed" => {
                    expect(&found, &Ty::number(), &s.value, Some("`seed`"), diags);
                    diags.extend(seed_in_range(&s.value));
                }
                other => {
                    let mut d = Diagnostic::error("E0103", format!("unknown setting `{other}`"))
                        .with_primary(s.name.span, "not a network setting");
                    if let Some(x) = closest(other, SETTINGS.iter().copied()) {
                        d = d.with_help(format!("did you mean `{x}`?"));
                    }
                    diags.push(d);
                }
            }
        }
        NetItem::Inject(inj) => {
            let found = value_ty(env, &inj.value, diags);
            let [pop, var] = inj.target.segments.as_slice() else {
                diags.push(
                    Diagnostic::error("E0103", "an injection target is `population.variable`")
                        .with_primary(inj.target.span, "expected e.g. `E.I`"),
                );
                return;
            };
            let Some(Some(model)) = population(pop, diags) else {
                return;
            };
            let expected = variable(model, var, diags);
            match inj.op {
                AssignOp::Mul | AssignOp::Div => {
                    expect(&found, &Ty::number(), &inj.value, None, diags);
                }
                _ => {
                    let what = format!("`{}` of `{}`", var.name, model.name.name);
                    expect(&found, &expected, &inj.value, Some(&what), diags);
                }
            }
        }
        NetItem::Stimulus(s) => {
            if let StimulusKind::Array { population: p, .. } = &s.kind {
                population(p, diags);
            }
        }
        NetItem::Record(RecordDecl::Spikes { populations, .. }) => {
            for p in populations {
                population(p, diags);
            }
        }
        NetItem::Record(RecordDecl::Trace {
            variables,
            of,
            every,
            ..
        }) => {
            if let Some(Some(model)) = population(&of.population, diags) {
                for v in variables {
                    variable(model, v, diags);
                }
            }
            if let Some(e) = every {
                let found = value_ty(env, e, diags);
                expect(&found, &time(), e, Some("a recording period"), diags);
            }
        }
        NetItem::Population(_) | NetItem::Projection(_) | NetItem::Error(_) => {}
    }
}

/// The largest seed (2⁶⁴, read as a number; a seed keys the random streams
/// as a `u64`, so 2⁶⁴ acts as 2⁶⁴ − 1, which a number cannot hold exactly).
pub const SEED_MAX: f64 = 18_446_744_073_709_551_616.0;

/// E0307: `seed` is a whole number from 0 to 2⁶⁴ (when it is a constant
/// number; its unit is checked apart).
fn seed_in_range(value: &Expr) -> Option<Diagnostic> {
    let v = super::constant::network_value(value)?;
    if (0.0..=SEED_MAX).contains(&v) && v.fract() == 0.0 {
        return None;
    }
    Some(
        Diagnostic::error(
            "E0307",
            format!("`seed` must be a whole number from 0 to 2^64, found {v}"),
        )
        .with_primary(value.span, "not a whole number in range")
        .with_help("write e.g. `seed = 42`"),
    )
}

/// E0307: `dt` must be a positive time, `duration` one that is not negative
/// (a constant; the lowering would otherwise build an invalid module).
fn positive_time(setting: &str, value: &Expr) -> Option<Diagnostic> {
    let v = super::constant::network_value(value)?;
    let fits = if setting == "dt" { v > 0.0 } else { v >= 0.0 };
    if fits && v.is_finite() {
        return None;
    }
    let needs = if setting == "dt" {
        "positive"
    } else {
        "zero or positive"
    };
    Some(
        Diagnostic::error(
            "E0307",
            format!("`{setting}` must be {needs}, found {} ms", v * 1e3),
        )
        .with_primary(value.span, format!("{} ms", v * 1e3)),
    )
}
