//! An output model reads a state of the projection's synapse (`g`) and adds
//! to a current of the post neuron (`I`); neither is declared in the output.
//! Here both are looked up once the projection names the three models (E0302).

use super::model::{declare, NameKind};
use crate::diagnostic::Diagnostic;
use crate::front::ast::{Expr, ExprKind, Member, ModelDef, Stmt};
use crate::front::units::is_unit_name;
use crate::source::Span;

/// Checks `output` against `synapse` and every post neuron model in `posts`;
/// whether they pair up (no error reported).
pub fn check_pairing(
    output: &ModelDef,
    synapse: Option<&ModelDef>,
    posts: &[&ModelDef],
    used_at: Span,
    diags: &mut Vec<Diagnostic>,
) -> bool {
    let before = diags.len();
    let own = declare(output, &mut Vec::new());
    let mut reads = Vec::new();
    for member in &output.members {
        let Member::Stmt(Stmt::Assign { target, value, .. }) = member else {
            continue;
        };
        free_names(value, &mut reads);
        let [name] = target.segments.as_slice() else {
            continue;
        };
        if own.names.contains_key(&name.name) {
            continue;
        }
        for post in posts {
            let env = declare(post, &mut Vec::new());
            if !matches!(env.names.get(&name.name), Some((NameKind::Current, _, _))) {
                diags.push(
                    Diagnostic::error(
                        "E0302",
                        format!(
                            "output `{}` adds to `{}`, but neuron `{}` has no current `{}`",
                            output.name.name, name.name, post.name.name, name.name
                        ),
                    )
                    .with_primary(name.span, "written here")
                    .with_secondary(used_at, "used by this projection"),
                );
            }
        }
    }
    let Some(synapse) = synapse else {
        return diags.len() == before;
    };
    let syn = declare(synapse, &mut Vec::new());
    // A name the synapse lacks may be a unit used as a value (`V / mV`); but
    // an output that reads no synapse state at all is paired wrongly (`g` is
    // also the gram, so Delta + CUBA would otherwise slip through).
    let missing: Vec<_> = reads
        .into_iter()
        .filter(|(n, _)| !own.names.contains_key(n) && !matches!(n.as_str(), "t" | "dt"))
        .filter(|(n, _)| !matches!(syn.names.get(n), Some((NameKind::State, _, _))))
        .collect();
    let reads_a_state = output.members.iter().any(|m| {
        let Member::Stmt(Stmt::Assign { value, .. }) = m else {
            return false;
        };
        let mut names = Vec::new();
        free_names(value, &mut names);
        names.iter().any(|(n, _)| {
            !own.names.contains_key(n) && matches!(syn.names.get(n), Some((NameKind::State, _, _)))
        })
    });
    for (name, span) in missing {
        if reads_a_state && is_unit_name(&name) {
            continue;
        }
        diags.push(
            Diagnostic::error(
                "E0302",
                format!(
                    "output `{}` reads `{name}`, but synapse `{}` has no state `{name}`",
                    output.name.name, synapse.name.name
                ),
            )
            .with_primary(span, "read here")
            .with_secondary(used_at, "used by this projection"),
        );
    }
    diags.len() == before
}

/// Single-segment names read by `e` (not `post.X`, not function names).
fn free_names(e: &Expr, out: &mut Vec<(String, Span)>) {
    match &e.kind {
        ExprKind::Path(p) => {
            if let [one] = p.segments.as_slice() {
                out.push((one.name.clone(), one.span));
            }
        }
        ExprKind::Unary { operand, .. } => free_names(operand, out),
        ExprKind::Binary { lhs, rhs, .. } => {
            free_names(lhs, out);
            free_names(rhs, out);
        }
        ExprKind::Call { args, .. } => args.iter().for_each(|a| free_names(&a.value, out)),
        ExprKind::If {
            condition,
            then_value,
            else_value,
        } => {
            free_names(condition, out);
            free_names(then_value, out);
            free_names(else_value, out);
        }
        ExprKind::Number(_)
        | ExprKind::Quantity { .. }
        | ExprKind::Bool(_)
        | ExprKind::String(_)
        | ExprKind::Error => {}
    }
}
