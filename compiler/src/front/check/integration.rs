//! `integrate exp_euler` (or `exact`) asks for the exact update of an ODE
//! linear in its state, `dX/dt = A + B·X`. An equation that is not linear in
//! `X` is integrated with rk2 instead; under `exp_euler` that change of
//! meaning is a warning at the equation (W0001), so it is not seen only in
//! `--emit ir`; under `exact` it is an error (E0210), as the language
//! reference says.
//!
//! Linearity is decided on the syntax tree with the rule the IR uses
//! (`ir::classify::linear_parts`): `X` itself, sums and differences of linear
//! parts, a linear part times or divided by something that does not read
//! `X`; anything else that reads `X` (a product of two parts that read it, a
//! power, a function, an `if`, a comparison) is not linear. `let`s are
//! expanded.

use crate::diagnostic::Diagnostic;
use crate::front::ast::{BinaryOp, Expr, ExprKind, Member, ModelDef, UnaryOp};
use std::collections::HashMap;

/// How an expression depends on the state `X`.
#[derive(Clone, Copy, PartialEq)]
enum Form {
    /// Does not read `X`.
    Free,
    /// `A + B·X` with `A`, `B` free of `X`.
    Linear,
    NonLinear,
}

struct Lets<'m> {
    values: HashMap<&'m str, &'m Expr>,
    /// The lets being expanded (a cycle is reported elsewhere; here it
    /// simply counts as not linear).
    open: Vec<&'m str>,
    /// The form of each let already expanded: a let read twice by the next
    /// one (`let s2 = s1 + s1`) would otherwise cost twice as much per level.
    done: HashMap<&'m str, Form>,
}

fn form<'m>(e: &'m Expr, x: &str, lets: &mut Lets<'m>) -> Form {
    match &e.kind {
        ExprKind::Path(p) => match p.segments.as_slice() {
            [one] if one.name == x => Form::Linear,
            [one] => match lets.values.get(one.name.as_str()).copied() {
                Some(_) if lets.open.contains(&one.name.as_str()) => Form::NonLinear,
                Some(_) if lets.done.contains_key(one.name.as_str()) => {
                    lets.done[one.name.as_str()]
                }
                Some(value) => {
                    lets.open.push(&one.name);
                    let f = form(value, x, lets);
                    lets.open.pop();
                    lets.done.insert(&one.name, f);
                    f
                }
                None => Form::Free,
            },
            _ => Form::Free,
        },
        ExprKind::Unary {
            op: UnaryOp::Neg,
            operand,
        } => form(operand, x, lets),
        ExprKind::Binary { op, lhs, rhs } => {
            let (a, b) = (form(lhs, x, lets), form(rhs, x, lets));
            match (op, a, b) {
                (_, Form::Free, Form::Free) => Form::Free,
                (_, Form::NonLinear, _) | (_, _, Form::NonLinear) => Form::NonLinear,
                (BinaryOp::Add | BinaryOp::Sub, _, _) => Form::Linear,
                (BinaryOp::Mul, Form::Linear, Form::Free)
                | (BinaryOp::Mul, Form::Free, Form::Linear)
                | (BinaryOp::Div, Form::Linear, Form::Free) => Form::Linear,
                _ => Form::NonLinear,
            }
        }
        _ => {
            if children(e)
                .into_iter()
                .all(|c| form(c, x, lets) == Form::Free)
            {
                Form::Free
            } else {
                Form::NonLinear
            }
        }
    }
}

fn children(e: &Expr) -> Vec<&Expr> {
    match &e.kind {
        ExprKind::Unary { operand, .. } => vec![operand],
        ExprKind::Binary { lhs, rhs, .. } => vec![lhs, rhs],
        ExprKind::Call { args, .. } => args.iter().map(|a| &a.value).collect(),
        ExprKind::If {
            condition,
            then_value,
            else_value,
        } => vec![condition, then_value, else_value],
        _ => Vec::new(),
    }
}

/// W0001 for each ODE of `m` that its `integrate exp_euler`/`exact` clause
/// cannot integrate exactly.
pub fn fallback_warnings(m: &ModelDef) -> Vec<Diagnostic> {
    let Some(method) = m.members.iter().find_map(|member| match member {
        Member::Integrate(id) if matches!(id.name.as_str(), "exp_euler" | "exact") => Some(id),
        _ => None,
    }) else {
        return Vec::new();
    };
    let mut lets = Lets {
        values: m
            .members
            .iter()
            .filter_map(|member| match member {
                Member::Let(l) => Some((l.name.name.as_str(), &l.value)),
                _ => None,
            })
            .collect(),
        open: Vec::new(),
        done: HashMap::new(),
    };
    let mut out = Vec::new();
    for member in &m.members {
        let Member::Ode(ode) = member else { continue };
        let x = ode.var.name.as_str();
        lets.done.clear();
        if form(&ode.rhs, x, &mut lets) == Form::NonLinear {
            // The language reference: `exact` on a non-linear ODE is an
            // error; `exp_euler` falls back to rk2, which is worth a warning.
            let d = if method.name == "exact" {
                Diagnostic::error(
                    "E0210",
                    format!("`integrate exact` needs an equation linear in `{x}`"),
                )
            } else {
                Diagnostic::warning(
                    "W0001",
                    format!(
                        "`integrate exp_euler` needs an equation linear in `{x}`; d{x}/dt is integrated with rk2 instead"
                    ),
                )
            };
            out.push(
                d
                .with_primary(ode.rhs.span, format!("not linear in `{x}`"))
                .with_secondary(method.span, "requested here")
                .with_help(format!(
                    "write `integrate rk2` (or `rk4`) to say which method runs, or make d{x}/dt linear in `{x}`"
                )),
            );
        }
    }
    out
}
