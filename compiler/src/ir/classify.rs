//! ODE classification: is `dX/dt = rhs` of the form `A + B·X` with `A`, `B`
//! free of `X`? Then it is integrated exactly (exponential Euler, exact when
//! A and B are constant over the step — they may read other states and
//! currents, taken at the start of the step):
//!
//! `X' = X·e^{B dt} + A·dt·exprel(B dt)`, with `exprel(z) = (e^z − 1)/z`,
//! which equals `X·e^{B dt} + (A/B)(e^{B dt} − 1)` and tends to `X + A dt` as
//! B → 0, so no guard on B = 0 is needed. Anything else is integrated by the
//! model's scheme (default rk2).

use super::arena::Handle;
use super::build::Builder;
use super::expr::{BinaryOp, Expr, UnaryOp, Var};

/// `rhs = a + b·x`; `None` stands for zero.
#[derive(Debug, Clone, Copy)]
pub struct Linear {
    pub a: Option<Handle<Expr>>,
    pub b: Option<Handle<Expr>>,
}

/// Whether `h` reads `x`.
#[must_use]
pub fn depends_on(b: &Builder, h: Handle<Expr>, x: Var) -> bool {
    match b.exprs[h] {
        Expr::Load(v) => v == x,
        ref e => e.children().into_iter().any(|c| depends_on(b, c, x)),
    }
}

/// Split `rhs` into `a + b·x`, or `None` when it is not linear in `x`.
pub fn linear_parts(bld: &mut Builder, rhs: Handle<Expr>, x: Var) -> Option<Linear> {
    if !depends_on(bld, rhs, x) {
        return Some(Linear {
            a: Some(rhs),
            b: None,
        });
    }
    match bld.exprs[rhs].clone() {
        Expr::Load(v) if v == x => {
            let one = bld.c(1.0);
            Some(Linear {
                a: None,
                b: Some(one),
            })
        }
        Expr::Unary(UnaryOp::Neg, e) => {
            let p = linear_parts(bld, e, x)?;
            Some(Linear {
                a: p.a.map(|a| bld.neg(a)),
                b: p.b.map(|b| bld.neg(b)),
            })
        }
        Expr::Binary(op @ (BinaryOp::Add | BinaryOp::Sub), l, r) => {
            let p = linear_parts(bld, l, x)?;
            let q = linear_parts(bld, r, x)?;
            let combine = |bld: &mut Builder, u: Option<Handle<Expr>>, v: Option<Handle<Expr>>| {
                match (u, v) {
                    (None, None) => None,
                    (Some(u), None) => Some(u),
                    (None, Some(v)) => Some(if op == BinaryOp::Add { v } else { bld.neg(v) }),
                    (Some(u), Some(v)) => Some(bld.binary(op, u, v)),
                }
            };
            Some(Linear {
                a: combine(bld, p.a, q.a),
                b: combine(bld, p.b, q.b),
            })
        }
        Expr::Binary(BinaryOp::Mul, l, r) => {
            // Exactly one factor reads x (both would be quadratic).
            let (lin, k) = if depends_on(bld, r, x) {
                (r, l)
            } else {
                (l, r)
            };
            if depends_on(bld, k, x) {
                return None;
            }
            let p = linear_parts(bld, lin, x)?;
            Some(Linear {
                a: p.a.map(|a| bld.mul(k, a)),
                b: p.b.map(|b| bld.mul(k, b)),
            })
        }
        Expr::Binary(BinaryOp::Div, l, r) => {
            if depends_on(bld, r, x) {
                return None;
            }
            let p = linear_parts(bld, l, x)?;
            Some(Linear {
                a: p.a.map(|a| bld.div(a, r)),
                b: p.b.map(|b| bld.div(b, r)),
            })
        }
        _ => None,
    }
}

/// The exact update `X·e^{B dt} + A·dt·exprel(B dt)` for `rhs = A + B·X`.
pub fn exact_update(bld: &mut Builder, lin: Linear, x: Var, dt: f64) -> Handle<Expr> {
    use super::expr::MathOp;
    let xv = bld.load(x);
    let dtc = bld.c(dt);
    let Some(b) = lin.b else {
        // dX/dt = A: X + A dt.
        return match lin.a {
            Some(a) => {
                let adt = bld.mul(a, dtc);
                bld.add(xv, adt)
            }
            None => xv,
        };
    };
    let bdt = bld.mul(b, dtc);
    let decay = bld.math(MathOp::Exp, bdt);
    let kept = bld.mul(xv, decay);
    match lin.a {
        None => kept,
        Some(a) => {
            let rel = bld.math(MathOp::Exprel, bdt);
            let adt = bld.mul(a, dtc);
            let drive = bld.mul(adt, rel);
            bld.add(kept, drive)
        }
    }
}

/// Choose the method of `dX/dt = rhs` (`requested` = the model's `integrate`
/// clause, if any) and expand the exact update when exact. Returns
/// `(method, update, note)`.
pub fn classify(
    bld: &mut Builder,
    rhs: Handle<Expr>,
    x: Var,
    name: &str,
    dt: f64,
    requested: Option<super::Method>,
) -> (super::Method, Option<Handle<Expr>>, String) {
    use super::Method;
    let lin = linear_parts(bld, rhs, x);
    match (requested, lin) {
        (Some(m), _) if m != Method::Exact => (
            m,
            None,
            format!("d{name}/dt: integrate {} (model)", m.name()),
        ),
        (_, Some(lin)) => {
            let up = exact_update(bld, lin, x, dt);
            (
                Method::Exact,
                Some(up),
                format!("d{name}/dt: linear in {name} → exact"),
            )
        }
        (Some(_), None) => (
            Method::Rk2,
            None,
            format!("d{name}/dt: exp_euler requested but not linear in {name} → rk2"),
        ),
        (None, None) => (
            Method::Rk2,
            None,
            format!("d{name}/dt: not linear in {name} → rk2"),
        ),
    }
}

/// Whether `h` reads per-synapse or per-neuron values (anything but
/// constants, parameters, `dt`).
fn reads_state(b: &Builder, h: Handle<Expr>) -> bool {
    match b.exprs[h] {
        Expr::Load(Var::Param(_) | Var::SynParam(_) | Var::Dt) => false,
        Expr::Load(_) | Expr::Random { .. } => true,
        ref e => e.children().into_iter().any(|c| reads_state(b, c)),
    }
}

/// Where a synapse model's state can live. One value per post neuron is
/// exact when every synapse onto a post neuron would evolve by the same
/// linear map — each ODE is `A + B·X` over synapse states with `A`, `B` free
/// of per-synapse and per-neuron values (so `sum_s X_s` follows the same
/// ODE) — and `on_pre` only adds, to synapse states, amounts that do not
/// read synapse state (so adding to the sum is the same as adding to one
/// term). That covers Expon, Alpha, DualExpon and Delta. Otherwise state
/// is per synapse.
pub fn synapse_layout(
    bld: &mut Builder,
    n_states: u32,
    odes: &[(u32, Handle<Expr>)],
    on_pre: &[super::Assign],
) -> super::SynapseLayout {
    use super::{AssignOp, SynapseLayout};
    let linear_system = odes.iter().all(|&(_, rhs)| {
        // Peel off each synapse state as a linear term; what is left, and
        // every coefficient, must be per-projection constant.
        let mut rest = Some(rhs);
        for k in 0..n_states {
            let Some(r) = rest else { break };
            match linear_parts(bld, r, Var::Syn(k)) {
                Some(lin) => {
                    if lin.b.is_some_and(|b| reads_state(bld, b)) {
                        return false;
                    }
                    rest = lin.a;
                }
                None => return false,
            }
        }
        rest.is_none_or(|r| !reads_state(bld, r))
    });
    let additive = on_pre.iter().all(|a| match a.target {
        Var::Syn(_) => {
            a.op == AssignOp::Add && (0..n_states).all(|k| !depends_on(bld, a.value, Var::Syn(k)))
        }
        _ => true,
    });
    if linear_system && additive {
        SynapseLayout::AlignPost
    } else {
        SynapseLayout::PerSynapse
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::arena::Arena;
    use crate::ir::Method;

    #[test]
    fn lif_is_linear_and_exact_matches_closed_form() {
        let mut arena = Arena::new();
        let mut b = Builder::new(&mut arena);
        // (V_rest - V + R*I) / tau with constants folded.
        let vrest = b.c(-0.065);
        let v = b.load(Var::State(0));
        let r = b.c(1e7);
        let i = b.load(Var::Current(0));
        let diff = b.sub(vrest, v);
        let ri = b.mul(r, i);
        let num = b.add(diff, ri);
        let tau = b.c(0.01);
        let rhs = b.div(num, tau);
        let (m, up, note) = classify(&mut b, rhs, Var::State(0), "V", 1e-4, None);
        assert_eq!(m, Method::Exact);
        assert!(note.contains("exact"), "{note}");
        let up = up.unwrap();
        // Evaluate with V = -70 mV, I = 2 nA and compare with the closed form.
        let val = crate::back::reference::eval::eval_const(&arena, up, &|var| match var {
            Var::State(0) => -0.070,
            Var::Current(0) => 2e-9,
            _ => f64::NAN,
        });
        let vinf = -0.065 + 1e7 * 2e-9;
        let want = vinf + (-0.070 - vinf) * (-1e-4f64 / 0.01).exp();
        assert!((val - want).abs() < 1e-15, "{val} vs {want}");
    }

    #[test]
    fn quadratic_and_exp_are_not_linear() {
        let mut arena = Arena::new();
        let mut b = Builder::new(&mut arena);
        let v = b.load(Var::State(0));
        let vv = b.mul(v, v);
        assert!(linear_parts(&mut b, vv, Var::State(0)).is_none());
        let e = b.math(crate::ir::MathOp::Exp, v);
        let (m, _, _) = classify(&mut b, e, Var::State(0), "V", 1e-4, None);
        assert_eq!(m, Method::Rk2);
        // Linear in its own state although it reads another state: exact.
        let w = b.load(Var::State(1));
        let wv = b.mul(w, v);
        let (m, _, _) = classify(&mut b, wv, Var::State(0), "V", 1e-4, None);
        assert_eq!(m, Method::Exact);
        // Zero decay (B = 0): X + A dt.
        let (m, up, _) = classify(&mut b, w, Var::State(0), "V", 0.5, None);
        assert_eq!(m, Method::Exact);
        let val = crate::back::reference::eval::eval_const(&arena, up.unwrap(), &|var| match var {
            Var::State(0) => 1.0,
            Var::State(1) => 4.0,
            _ => f64::NAN,
        });
        assert_eq!(val, 3.0);
    }

    #[test]
    fn synapse_layouts() {
        use crate::ir::{Assign, AssignOp, SynapseLayout};
        let mut arena = Arena::new();
        let mut b = Builder::new(&mut arena);
        // Alpha: dg/dt = (h - g)/tau, dh/dt = -h/tau, on_pre h += w.
        let g = b.load(Var::Syn(0));
        let h = b.load(Var::Syn(1));
        let tau = b.load(Var::SynParam(0));
        let hg = b.sub(h, g);
        let dg = b.div(hg, tau);
        let nh = b.neg(h);
        let dh = b.div(nh, tau);
        let w = b.load(Var::Weight);
        let add_h = Assign {
            target: Var::Syn(1),
            op: AssignOp::Add,
            value: w,
        };
        let odes = [(0, dg), (1, dh)];
        assert_eq!(
            synapse_layout(&mut b, 2, &odes, std::slice::from_ref(&add_h)),
            SynapseLayout::AlignPost
        );
        // Delta: no state, on_pre writes post.V.
        let post = Assign {
            target: Var::PostState(0),
            op: AssignOp::Add,
            value: w,
        };
        assert_eq!(
            synapse_layout(&mut b, 0, &[], &[post]),
            SynapseLayout::AlignPost
        );
        // `g = w` (set) or `g += w * g` needs one value per synapse.
        let set = Assign {
            target: Var::Syn(0),
            op: AssignOp::Set,
            value: w,
        };
        assert_eq!(
            synapse_layout(&mut b, 2, &odes, &[set]),
            SynapseLayout::PerSynapse
        );
        let wg = b.mul(w, g);
        let mult = Assign {
            target: Var::Syn(0),
            op: AssignOp::Add,
            value: wg,
        };
        assert_eq!(
            synapse_layout(&mut b, 2, &odes, &[mult]),
            SynapseLayout::PerSynapse
        );
        // Decay depending on the post potential: per synapse.
        let v = b.load(Var::PostState(0));
        let vg = b.mul(v, g);
        assert_eq!(
            synapse_layout(&mut b, 1, &[(0, vg)], &[add_h]),
            SynapseLayout::PerSynapse
        );
    }

    #[test]
    fn requested_method_wins() {
        let mut arena = Arena::new();
        let mut b = Builder::new(&mut arena);
        let v = b.load(Var::State(0));
        let rhs = b.neg(v);
        let (m, up, _) = classify(&mut b, rhs, Var::State(0), "V", 1e-4, Some(Method::Euler));
        assert_eq!(m, Method::Euler);
        assert!(up.is_none());
    }
}
