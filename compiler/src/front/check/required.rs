//! A param declared without a default must be given where its model is used
//! (spec §5): by the overrides of a population, or by the arguments of a
//! projection's `synapse`/`output` clause (E0302).

use crate::diagnostic::Diagnostic;
use crate::front::ast::{Member, ModelDef};
use crate::source::Span;

/// E0302 for every param of `model` without a default that `given` does not
/// name. `at` is the place that uses the model, `how(x)` how to set `x`
/// there (`` `E = N[10] { x = … }` ``).
pub fn missing_params(
    model: &ModelDef,
    given: &[&str],
    at: Span,
    how: impl Fn(&str) -> String,
) -> Vec<Diagnostic> {
    model
        .members
        .iter()
        .filter_map(|m| match m {
            Member::Param(p) if p.default.is_none() && !given.contains(&p.name.name.as_str()) => {
                Some(p)
            }
            _ => None,
        })
        .map(|p| {
            let x = &p.name.name;
            Diagnostic::error(
                "E0302",
                format!(
                    "`{}` has no default for param `{x}`, and it is not set here",
                    model.name.name
                ),
            )
            .with_primary(at, format!("`{x}` must be set here"))
            .with_secondary(p.name.span, "declared without a default")
            .with_help(format!("set it: {}", how(x)))
        })
        .collect()
}
