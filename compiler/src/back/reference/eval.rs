//! Plain recursive evaluation of IR expressions in f64.

use crate::ir::build::apply_math;
use crate::ir::{Arena, BinaryOp, Expr, Handle, RandomKind, UnaryOp, Var};
use snnc_runtime::rng::{normal_f64, philox4x32_10, uniform_f32, uniform_f64};

/// What an expression reads: variable values and keyed random draws.
pub trait Env {
    fn load(&self, v: Var) -> f64;
    fn random(&self, kind: RandomKind, slot: u32) -> f64;
}

/// A draw keyed by Philox counter `[slot, index, step, batch]` (see `ir` docs).
///
/// In f32 runs (`f32`), uniform draws take one word each: index `i` reads
/// word `i % 4` of the block at counter `[slot, i / 4, step, batch]`, so one
/// Philox block serves four neighbouring neurons (a quarter of the work of
/// the f64 stream, which spends two words on 52 bits). Normal draws are the
/// same in both precisions.
#[must_use]
pub fn keyed_draw(
    key: [u32; 2],
    kind: RandomKind,
    slot: u32,
    index: u32,
    step: u32,
    batch: u32,
    f32: bool,
) -> f64 {
    if f32 && kind == RandomKind::Uniform {
        let block = philox4x32_10([slot, index >> 2, step, batch], key);
        return f64::from(uniform_f32(block[(index & 3) as usize]));
    }
    let block = philox4x32_10([slot, index, step, batch], key);
    match kind {
        RandomKind::Uniform => uniform_f64(block[0], block[1]),
        RandomKind::Normal => normal_f64(block),
    }
}

fn truth(b: bool) -> f64 {
    if b {
        1.0
    } else {
        0.0
    }
}

/// Evaluate `h`. Handles are valid (the module was validated).
pub fn eval(a: &Arena<Expr>, h: Handle<Expr>, env: &dyn Env) -> f64 {
    match a[h] {
        Expr::Const(v) => v,
        Expr::Load(v) => env.load(v),
        Expr::Unary(UnaryOp::Neg, x) => -eval(a, x, env),
        Expr::Unary(UnaryOp::Not, x) => truth(eval(a, x, env) == 0.0),
        Expr::Binary(op, x, y) => {
            let l = eval(a, x, env);
            // Short-circuit logic, so a guarded operand is never evaluated.
            match op {
                BinaryOp::And => return truth(l != 0.0 && eval(a, y, env) != 0.0),
                BinaryOp::Or => return truth(l != 0.0 || eval(a, y, env) != 0.0),
                _ => {}
            }
            let r = eval(a, y, env);
            match op {
                BinaryOp::Add => l + r,
                BinaryOp::Sub => l - r,
                BinaryOp::Mul => l * r,
                BinaryOp::Div => l / r,
                BinaryOp::Pow => l.powf(r),
                BinaryOp::Lt => truth(l < r),
                BinaryOp::Le => truth(l <= r),
                BinaryOp::Gt => truth(l > r),
                BinaryOp::Ge => truth(l >= r),
                BinaryOp::Eq => truth(l == r),
                BinaryOp::Ne => truth(l != r),
                BinaryOp::Min => l.min(r),
                BinaryOp::Max => l.max(r),
                BinaryOp::And | BinaryOp::Or => unreachable!("handled above"),
            }
        }
        Expr::Math(op, x) => apply_math(op, eval(a, x, env)),
        Expr::Select(c, x, y) => {
            if eval(a, c, env) != 0.0 {
                eval(a, x, env)
            } else {
                eval(a, y, env)
            }
        }
        Expr::Random { kind, slot } => env.random(kind, slot),
    }
}

struct FnEnv<'a>(&'a dyn Fn(Var) -> f64);

impl Env for FnEnv<'_> {
    fn load(&self, v: Var) -> f64 {
        (self.0)(v)
    }
    fn random(&self, _: RandomKind, _: u32) -> f64 {
        f64::NAN
    }
}

/// Evaluate with loads from `load` and no random draws (NaN): for tests and
/// folding.
pub fn eval_const(a: &Arena<Expr>, h: Handle<Expr>, load: &dyn Fn(Var) -> f64) -> f64 {
    eval(a, h, &FnEnv(load))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The f32 stream uses every word of a block once: neighbours differ,
    /// the values fill (0, 1) evenly, and the f64 stream is untouched.
    #[test]
    fn f32_uniform_stream_uses_each_word_once() {
        let key = [7, 9];
        let draws: Vec<f64> = (0..40_000)
            .map(|i| keyed_draw(key, RandomKind::Uniform, 0, i, 3, 1, true))
            .collect();
        let mean = draws.iter().sum::<f64>() / draws.len() as f64;
        assert!((mean - 0.5).abs() < 0.005, "mean {mean}");
        let mut bins = [0usize; 10];
        for d in &draws {
            assert!(*d > 0.0 && *d < 1.0);
            bins[(*d * 10.0) as usize] += 1;
        }
        assert!(bins.iter().all(|b| (3_700..4_300).contains(b)), "{bins:?}");
        let mut sorted = draws.clone();
        sorted.sort_by(f64::total_cmp);
        sorted.dedup();
        assert!(sorted.len() > draws.len() - 200, "repeated draws");
        let block = philox4x32_10([0, 5, 3, 1], key);
        for w in 0..4 {
            let d = keyed_draw(key, RandomKind::Uniform, 0, 20 + w, 3, 1, true);
            assert_eq!(d, f64::from(uniform_f32(block[w as usize])));
        }
        let d64 = keyed_draw(key, RandomKind::Uniform, 0, 5, 3, 1, false);
        assert_eq!(d64, uniform_f64(block[0], block[1]));
    }
}
