//! Small constructors for IR expressions, with constant folding of
//! constant-only subtrees (so `exp(-dt/tau)` with a folded `tau` becomes a
//! number). Used by the lowering and by hand-built modules in tests.

use super::arena::{Arena, Handle};
use super::expr::{BinaryOp, Expr, MathOp, UnaryOp, Var};

/// Builds expressions into an arena.
pub struct Builder<'a> {
    pub exprs: &'a mut Arena<Expr>,
}

impl<'a> Builder<'a> {
    pub fn new(exprs: &'a mut Arena<Expr>) -> Self {
        Self { exprs }
    }

    pub fn c(&mut self, v: f64) -> Handle<Expr> {
        self.exprs.append(Expr::Const(v))
    }

    pub fn load(&mut self, v: Var) -> Handle<Expr> {
        self.exprs.append(Expr::Load(v))
    }

    fn konst(&self, h: Handle<Expr>) -> Option<f64> {
        match self.exprs[h] {
            Expr::Const(v) => Some(v),
            _ => None,
        }
    }

    pub fn binary(&mut self, op: BinaryOp, a: Handle<Expr>, b: Handle<Expr>) -> Handle<Expr> {
        if let (Some(x), Some(y)) = (self.konst(a), self.konst(b)) {
            if let Some(v) = fold_binary(op, x, y) {
                return self.c(v);
            }
        }
        // Identities that keep expanded updates readable; exact in IEEE
        // arithmetic for finite operands.
        match (op, self.konst(a), self.konst(b)) {
            (BinaryOp::Add, Some(0.0), _) => return b,
            (BinaryOp::Add | BinaryOp::Sub, _, Some(0.0)) => return a,
            (BinaryOp::Mul, Some(1.0), _) => return b,
            (BinaryOp::Mul | BinaryOp::Div, _, Some(1.0)) => return a,
            (BinaryOp::Pow, _, Some(n))
                if n.fract() == 0.0 && (1.0..=MAX_POWER).contains(&n.abs()) =>
            {
                return self.integer_power(a, n);
            }
            _ => {}
        }
        self.exprs.append(Expr::Binary(op, a, b))
    }

    /// `x^n` for a small integer `n` as a multiplication chain: gates like
    /// `m^3 h` and `n^4` sit in every HH step, and a `pow` call there costs
    /// more than the rest of the update. All backends read this IR, so they
    /// round identically (at most one ulp per multiplication away from
    /// `powf`).
    fn integer_power(&mut self, x: Handle<Expr>, n: f64) -> Handle<Expr> {
        let mut k = n.abs() as u32;
        let mut base = x;
        let mut acc: Option<Handle<Expr>> = None;
        loop {
            if k & 1 == 1 {
                acc = Some(match acc {
                    None => base,
                    Some(a) => self.exprs.append(Expr::Binary(BinaryOp::Mul, a, base)),
                });
            }
            k >>= 1;
            if k == 0 {
                break;
            }
            base = self.exprs.append(Expr::Binary(BinaryOp::Mul, base, base));
        }
        let p = acc.expect("n >= 1");
        if n < 0.0 {
            let one = self.c(1.0);
            self.exprs.append(Expr::Binary(BinaryOp::Div, one, p))
        } else {
            p
        }
    }

    pub fn add(&mut self, a: Handle<Expr>, b: Handle<Expr>) -> Handle<Expr> {
        self.binary(BinaryOp::Add, a, b)
    }
    pub fn sub(&mut self, a: Handle<Expr>, b: Handle<Expr>) -> Handle<Expr> {
        self.binary(BinaryOp::Sub, a, b)
    }
    pub fn mul(&mut self, a: Handle<Expr>, b: Handle<Expr>) -> Handle<Expr> {
        self.binary(BinaryOp::Mul, a, b)
    }
    pub fn div(&mut self, a: Handle<Expr>, b: Handle<Expr>) -> Handle<Expr> {
        self.binary(BinaryOp::Div, a, b)
    }

    pub fn neg(&mut self, a: Handle<Expr>) -> Handle<Expr> {
        if let Some(x) = self.konst(a) {
            return self.c(-x);
        }
        self.exprs.append(Expr::Unary(UnaryOp::Neg, a))
    }

    pub fn math(&mut self, op: MathOp, a: Handle<Expr>) -> Handle<Expr> {
        if let Some(x) = self.konst(a) {
            return self.c(apply_math(op, x));
        }
        self.exprs.append(Expr::Math(op, a))
    }
}

/// Largest |n| that `x^n` expands into multiplications (at most 5 of them).
const MAX_POWER: f64 = 16.0;

/// Folds only ops whose result is a plain number (no division by zero).
fn fold_binary(op: BinaryOp, x: f64, y: f64) -> Option<f64> {
    let v = match op {
        BinaryOp::Add => x + y,
        BinaryOp::Sub => x - y,
        BinaryOp::Mul => x * y,
        BinaryOp::Div if y != 0.0 => x / y,
        BinaryOp::Pow => x.powf(y),
        BinaryOp::Min => x.min(y),
        BinaryOp::Max => x.max(y),
        _ => return None,
    };
    v.is_finite().then_some(v)
}

/// The meaning of each [`MathOp`] in f64; backends must match it.
#[must_use]
pub fn apply_math(op: MathOp, x: f64) -> f64 {
    match op {
        MathOp::Exp => x.exp(),
        MathOp::Exprel => {
            if x.abs() < 1e-8 {
                1.0 + x / 2.0
            } else {
                x.exp_m1() / x
            }
        }
        MathOp::Log => x.ln(),
        MathOp::Sqrt => x.sqrt(),
        MathOp::Abs => x.abs(),
        MathOp::Sin => x.sin(),
        MathOp::Cos => x.cos(),
        MathOp::Tanh => x.tanh(),
        MathOp::Floor => x.floor(),
        MathOp::Ceil => x.ceil(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::back::reference::eval::{eval, Env};
    use crate::ir::RandomKind;

    struct X(f64);
    impl Env for X {
        fn load(&self, _: Var) -> f64 {
            self.0
        }
        fn random(&self, _: RandomKind, _: u32) -> f64 {
            f64::NAN
        }
    }

    fn pows(n: f64) -> (Arena<Expr>, Handle<Expr>) {
        let mut a = Arena::new();
        let mut b = Builder::new(&mut a);
        let x = b.load(Var::State(0));
        let e = b.c(n);
        let h = b.binary(BinaryOp::Pow, x, e);
        (a, h)
    }

    /// Small integer powers become multiplications (no `pow` node left)
    /// within a few ulp of `powf`; other exponents stay `pow`.
    #[test]
    fn integer_powers_are_multiplication_chains() {
        for n in [-16.0, -3.0, -1.0, 1.0, 2.0, 3.0, 4.0, 5.0, 7.0, 16.0] {
            let (a, h) = pows(n);
            let has_pow = a
                .iter()
                .any(|(_, e)| matches!(e, Expr::Binary(BinaryOp::Pow, ..)));
            assert!(!has_pow, "x^{n} kept a pow");
            for x in [0.0, 0.026, 0.5, 0.99, 1.7, -2.3, 1e-3] {
                if x == 0.0 && n < 0.0 {
                    continue;
                }
                let got = eval(&a, h, &X(x));
                let want = f64::powf(x, n);
                let tol = 4.0 * f64::EPSILON * want.abs();
                assert!((got - want).abs() <= tol, "{x}^{n}: {got} vs {want}");
            }
        }
        for n in [0.5, 2.5, 17.0, 0.0] {
            let (a, h) = pows(n);
            let has_pow = a
                .iter()
                .any(|(_, e)| matches!(e, Expr::Binary(BinaryOp::Pow, ..)));
            assert!(has_pow, "x^{n} should stay a pow");
            assert_eq!(eval(&a, h, &X(1.3)), f64::powf(1.3, n));
        }
    }
}
