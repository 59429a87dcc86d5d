//! `reset { … }` and `on_pre { … }` blocks: statements run in order, with
//! `if`s, and compound assignments. The IR runs a block as a flat list of
//! `target = value` / `target += value` in order, so the block is executed
//! symbolically: each assigned variable's final value is expressed in terms
//! of the values before the block (an `if` becomes a select), and the
//! assignments are ordered so that no value reads a variable assigned before
//! it in the list. Then running them in order equals running the source.

use std::collections::HashSet;

use super::expr::Lower;
use super::{LowerError, Unchecked};
use crate::front::ast::{self, Block, Stmt};
use crate::ir::classify::depends_on;
use crate::ir::{Assign, AssignOp, BinaryOp, Expr, Handle, Var};

/// The lowered block and the variables it assigns with `=` somewhere.
pub struct Lowered {
    pub assigns: Vec<Assign>,
    pub set_with_eq: HashSet<Var>,
}

/// Lower `block`; `target` resolves an assignment target path to a variable.
pub fn lower_block<'a>(
    lw: &mut Lower<'_, 'a>,
    block: &'a Block,
    target: &dyn Fn(&ast::Path) -> Result<Var, LowerError>,
) -> Result<Lowered, LowerError> {
    lw.names.current.clear();
    lw.names.reset_lets();
    let mut order = Vec::new();
    let mut set_with_eq = HashSet::new();
    stmts(lw, &block.stmts, target, &mut order, &mut set_with_eq)?;
    let finals: Vec<(Var, Handle<Expr>)> =
        order.iter().map(|v| (*v, lw.names.current[v])).collect();
    lw.names.current.clear();
    lw.names.reset_lets();
    let ordered = schedule(lw, &finals).ok_or(LowerError::Crosswise { span: block.span })?;
    let assigns = ordered
        .into_iter()
        .filter_map(|(v, h)| as_assign(lw, v, h))
        .collect();
    Ok(Lowered {
        assigns,
        set_with_eq,
    })
}

fn stmts<'a>(
    lw: &mut Lower<'_, 'a>,
    list: &'a [Stmt],
    target: &dyn Fn(&ast::Path) -> Result<Var, LowerError>,
    order: &mut Vec<Var>,
    eq: &mut HashSet<Var>,
) -> Result<(), LowerError> {
    for s in list {
        match s {
            Stmt::Assign {
                target: path,
                op,
                value,
                ..
            } => {
                let var = target(path)?;
                // Lets read the block's current values: recompute them.
                lw.names.reset_lets();
                let v = lw.expr(value)?;
                let old = match lw.names.current.get(&var) {
                    Some(&h) => h,
                    None => lw.b.load(var),
                };
                let new = match op {
                    ast::AssignOp::Set => {
                        eq.insert(var);
                        v
                    }
                    ast::AssignOp::Add => lw.b.add(old, v),
                    ast::AssignOp::Sub => lw.b.sub(old, v),
                    ast::AssignOp::Mul => lw.b.mul(old, v),
                    ast::AssignOp::Div => lw.b.div(old, v),
                };
                if !order.contains(&var) {
                    order.push(var);
                }
                lw.names.current.insert(var, new);
            }
            Stmt::If {
                condition,
                then_branch,
                else_branch,
                ..
            } => {
                lw.names.reset_lets();
                let c = lw.expr(condition)?;
                let before = lw.names.current.clone();
                stmts(lw, &then_branch.stmts, target, order, eq)?;
                let then_vals = std::mem::replace(&mut lw.names.current, before.clone());
                if let Some(e) = else_branch {
                    stmts(lw, &e.stmts, target, order, eq)?;
                }
                let else_vals = std::mem::take(&mut lw.names.current);
                let mut merged = before.clone();
                for v in order.iter() {
                    let (a, b) = (then_vals.get(v), else_vals.get(v));
                    if a.is_none() && b.is_none() {
                        continue;
                    }
                    let unchanged = |lw: &mut Lower| match before.get(v) {
                        Some(&h) => h,
                        None => lw.b.load(*v),
                    };
                    let a = a.copied().unwrap_or_else(|| unchanged(lw));
                    let b = b.copied().unwrap_or_else(|| unchanged(lw));
                    let sel = lw.select(c, a, b);
                    merged.insert(*v, sel);
                }
                lw.names.current = merged;
            }
            Stmt::Error(span) => {
                return Err(LowerError::NotChecked {
                    span: *span,
                    what: Unchecked::StatementWithError,
                })
            }
        }
    }
    Ok(())
}

/// Order the final assignments so that no value reads a variable assigned
/// earlier in the list (a value reading its own variable is fine). `None`
/// when the reads form a cycle.
fn schedule(lw: &Lower, finals: &[(Var, Handle<Expr>)]) -> Option<Vec<(Var, Handle<Expr>)>> {
    // `a` must come before `b` when `a`'s value reads `b`.
    let n = finals.len();
    let reads: Vec<Vec<usize>> = finals
        .iter()
        .enumerate()
        .map(|(i, &(_, h))| {
            (0..n)
                .filter(|&j| j != i && depends_on(&lw.b, h, finals[j].0))
                .collect()
        })
        .collect();
    // Kahn's algorithm on "i before j" edges, stable in source order.
    let mut indegree = vec![0usize; n];
    for rs in &reads {
        for &j in rs {
            indegree[j] += 1;
        }
    }
    let mut done = vec![false; n];
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let next = (0..n).find(|&i| !done[i] && indegree[i] == 0)?;
        done[next] = true;
        for &j in &reads[next] {
            indegree[j] -= 1;
        }
        out.push(finals[next]);
    }
    Some(out)
}

/// `x = x + e` becomes `x += e` (what lets synapse state live per post
/// neuron and lets a GPU use atomics); an unchanged variable is dropped.
fn as_assign(lw: &mut Lower, v: Var, h: Handle<Expr>) -> Option<Assign> {
    let is_v = |lw: &Lower, x: Handle<Expr>| matches!(lw.b.exprs[x], Expr::Load(l) if l == v);
    if is_v(lw, h) {
        return None;
    }
    let add = |value| Assign {
        target: v,
        op: AssignOp::Add,
        value,
    };
    match lw.b.exprs[h] {
        Expr::Binary(BinaryOp::Add, a, e) if is_v(lw, a) && !depends_on(&lw.b, e, v) => {
            return Some(add(e))
        }
        Expr::Binary(BinaryOp::Add, e, a) if is_v(lw, a) && !depends_on(&lw.b, e, v) => {
            return Some(add(e))
        }
        Expr::Binary(BinaryOp::Sub, a, e) if is_v(lw, a) && !depends_on(&lw.b, e, v) => {
            let neg = lw.b.neg(e);
            return Some(add(neg));
        }
        _ => {}
    }
    Some(Assign {
        target: v,
        op: AssignOp::Set,
        value: h,
    })
}
