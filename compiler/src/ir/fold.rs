//! Parameter folding: parameters that are not swept across the batch become
//! constants, and constant subtrees fold (`exp(-dt/tau)` becomes a number).
//! Swept parameters stay `Load(Param)` so a backend reads them from a
//! per-item buffer. Folded copies are appended to the arena; the roots of
//! the module are rewritten to point at them.

use std::collections::HashMap;

use super::build::Builder;
use super::expr::{Expr, Var};
use super::{Handle, Module};

struct Folder<'a, 'b> {
    b: Builder<'a>,
    subst: &'b dyn Fn(Var) -> Option<f64>,
    memo: HashMap<Handle<Expr>, Handle<Expr>>,
}

impl Folder<'_, '_> {
    fn fold(&mut self, h: Handle<Expr>) -> Handle<Expr> {
        if let Some(&done) = self.memo.get(&h) {
            return done;
        }
        let new = match self.b.exprs[h].clone() {
            Expr::Load(v) => match (self.subst)(v) {
                Some(c) => self.b.c(c),
                None => h,
            },
            Expr::Const(_) | Expr::Random { .. } => h,
            Expr::Unary(super::UnaryOp::Neg, x) => {
                let x = self.fold(x);
                self.b.neg(x)
            }
            Expr::Unary(op, x) => {
                let x = self.fold(x);
                self.b.exprs.append(Expr::Unary(op, x))
            }
            Expr::Binary(op, x, y) => {
                let (x, y) = (self.fold(x), self.fold(y));
                self.b.binary(op, x, y)
            }
            Expr::Math(op, x) => {
                let x = self.fold(x);
                self.b.math(op, x)
            }
            Expr::Select(c, x, y) => {
                let (c, x, y) = (self.fold(c), self.fold(x), self.fold(y));
                self.b.exprs.append(Expr::Select(c, x, y))
            }
        };
        self.memo.insert(h, new);
        new
    }
}

/// Fold every parameter except `swept(population, param)` into constants.
#[must_use]
pub fn fold_params(module: &Module, swept: &dyn Fn(usize, usize) -> bool) -> Module {
    let mut m = module.clone();
    let Module {
        exprs,
        populations,
        projections,
        injections,
        ..
    } = &mut m;
    for (pi, p) in populations.iter_mut().enumerate() {
        let values: Vec<f64> = p.params.iter().map(|q| q.value).collect();
        let subst = |v: Var| match v {
            Var::Param(i) if !swept(pi, i as usize) => values.get(i as usize).copied(),
            _ => None,
        };
        let mut f = Folder {
            b: Builder::new(exprs),
            subst: &subst,
            memo: HashMap::new(),
        };
        for s in &mut p.states {
            s.init = f.fold(s.init);
        }
        for o in &mut p.odes {
            o.rhs = f.fold(o.rhs);
            o.update = o.update.map(|u| f.fold(u));
        }
        p.spike = p.spike.map(|h| f.fold(h));
        p.refractory = p.refractory.map(|r| r.with_expr(f.fold(r.expr())));
        for r in &mut p.reset {
            r.value = f.fold(r.value);
        }
        for inj in injections
            .iter_mut()
            .filter(|i| i.population as usize == pi)
        {
            inj.value = f.fold(inj.value);
        }
    }
    for j in projections.iter_mut() {
        let values: Vec<f64> = j.synapse.params.iter().map(|q| q.value).collect();
        let subst = |v: Var| match v {
            Var::SynParam(i) => values.get(i as usize).copied(),
            _ => None,
        };
        let mut f = Folder {
            b: Builder::new(exprs),
            subst: &subst,
            memo: HashMap::new(),
        };
        for s in &mut j.synapse.states {
            s.init = f.fold(s.init);
        }
        for o in &mut j.synapse.odes {
            o.rhs = f.fold(o.rhs);
            o.update = o.update.map(|u| f.fold(u));
        }
        for r in j.synapse.on_pre.iter_mut().chain(&mut j.synapse.on_post) {
            r.value = f.fold(r.value);
        }
        if let Some(o) = &mut j.output {
            o.value = f.fold(o.value);
        }
    }
    m
}
