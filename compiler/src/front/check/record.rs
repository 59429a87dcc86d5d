//! What a trace recording can sample (spec §8, "Recording"): a half-open
//! range of neurons inside the population, every whole number of steps
//! (E0308). The rules are shared with the lowering, which applies them to
//! the values it computes, so `check` refuses what `compile` would.

use super::constant::network_value;
use super::network::Pop;
use crate::diagnostic::Diagnostic;
use crate::front::ast::{Expr, RecordDecl};
use std::collections::HashMap;

/// `a ≤ i < b` names neurons of a population of `size`: whole numbers with
/// 0 ≤ a < b ≤ size.
#[must_use]
pub fn is_neuron_range(a: f64, b: f64, size: u32) -> bool {
    let index = |v: f64| v >= 0.0 && v.fract() == 0.0 && v <= f64::from(size);
    index(a) && index(b) && a < b
}

/// The steps of a recording period of `period` seconds at `dt`, when it is
/// a whole number of them (at least one).
#[must_use]
pub fn period_steps(period: f64, dt: f64) -> Option<u32> {
    let steps = period / dt;
    let whole = steps >= 0.5 && (steps - steps.round()).abs() < 1e-6 * steps.max(1.0);
    whole.then(|| steps.round().min(f64::from(u32::MAX)) as u32)
}

/// E0308 for a trace recording whose constant range or period does not fit
/// the population or `dt` (`None` when the network's dt is not a constant).
pub fn check_trace_shape(
    record: &RecordDecl,
    pops: &HashMap<&str, Pop>,
    dt: Option<f64>,
) -> Vec<Diagnostic> {
    let RecordDecl::Trace { of, every, .. } = record else {
        return Vec::new();
    };
    let mut diags = Vec::new();
    let size = pops.get(of.population.name.as_str()).and_then(|p| p.size);
    if let (Some((a, b)), Some(size)) = (&of.range, size) {
        if let (Some(lo), Some(hi)) = (network_value(a), network_value(b)) {
            if !is_neuron_range(lo, hi, size) {
                diags.push(
                    Diagnostic::error(
                        "E0308",
                        format!(
                            "`{}[{lo}:{hi}]` is not a range of neurons 0 ≤ a < b ≤ {size}",
                            of.population.name
                        ),
                    )
                    .with_primary(
                        of.span,
                        format!("`{}` has {size} neurons", of.population.name),
                    )
                    .with_help("write `[a:b]` with whole numbers, a below b, b at most the size"),
                );
            }
        }
    }
    if let (Some(e), Some(dt)) = (every, dt) {
        diags.extend(period_fault(e, dt));
    }
    diags
}

fn period_fault(every: &Expr, dt: f64) -> Option<Diagnostic> {
    let period = network_value(every)?;
    if period_steps(period, dt).is_some() {
        return None;
    }
    Some(
        Diagnostic::error(
            "E0308",
            format!(
                "`every` must be a whole number of steps of dt = {} ms, found {} ms",
                dt * 1e3,
                period * 1e3
            ),
        )
        .with_primary(every.span, "not a whole number of steps")
        .with_help("sample every step (leave `every` out) or every n · dt"),
    )
}
