//! The Cranelift JIT's own machinery: results independent of the thread
//! count, the CLIF it prints, and the accuracy of its inline math. How the
//! JIT's runs compare with the reference's, model by model, is the
//! conformance suite's (`conformance.rs`).

mod backend_support;
mod run_support;

use backend_support::{assert_states_close, run, Backend, Opts};
use snnc::back::cranelift::{emit_clif, MathFn};
use snnc::ir::{self, MathOp};

const JIT1: Backend = Backend::Jit { threads: 1 };
const JIT2: Backend = Backend::Jit { threads: 2 };

#[test]
fn one_and_two_threads_are_bitwise_identical() {
    for f32 in [false, true] {
        let m = run_support::coba(1600, 400, 0.02, 0.1);
        let o = Opts {
            f32,
            batch: 2,
            state_every: Some(333),
            ..Opts::default()
        };
        let a = run(&m, JIT1, &o);
        let b = run(&m, JIT2, &o);
        assert!(a.spikes.len() > 100);
        assert_eq!(a.spikes, b.spikes);
        assert_eq!(a.events, b.events);
        assert_states_close(&a, &b, 0.0);
        let c = run(&m, Backend::Jit { threads: 3 }, &o);
        assert_eq!(a.spikes, c.spikes);
    }
}

#[test]
fn emit_clif_prints_every_kernel() {
    let m = run_support::coba(40, 10, 0.1, 0.01);
    let valid = ir::validate(&m).unwrap();
    let text = emit_clif(valid, true).unwrap();
    assert!(text.contains("; kernel pop_0"));
    assert!(text.contains("; kernel deliver_3"));
    assert!(text.contains("f32x4"));
    let text = emit_clif(valid, false).unwrap();
    assert!(text.contains("f64x2"));
}

// ---- math accuracy ----

fn ulps64(a: f64, b: f64) -> u64 {
    if a == b || (a.is_nan() && b.is_nan()) {
        return 0;
    }
    if a.is_nan() || b.is_nan() {
        return u64::MAX;
    }
    let key = |x: f64| {
        let i = x.to_bits() as i64;
        if i < 0 {
            i64::MIN - i
        } else {
            i
        }
    };
    key(a).abs_diff(key(b))
}

fn ulps32(a: f32, b: f32) -> u64 {
    if a == b || (a.is_nan() && b.is_nan()) {
        return 0;
    }
    if a.is_nan() || b.is_nan() {
        return u64::MAX;
    }
    let key = |x: f32| {
        let i = x.to_bits() as i32;
        i64::from(if i < 0 { i32::MIN - i } else { i })
    };
    key(a).abs_diff(key(b))
}

/// Deterministic samples: dense over [lo, hi], plus specials.
fn samples(lo: f64, hi: f64, n: usize, specials: &[f64]) -> Vec<f64> {
    let mut v: Vec<f64> = (0..n)
        .map(|i| {
            // Golden-ratio sequence: well spread, reproducible.
            let u = (i as f64 * 0.618_033_988_749_894_8).fract();
            lo + (hi - lo) * u
        })
        .collect();
    v.extend_from_slice(specials);
    v
}

fn reference(op: MathOp, x: f64) -> f64 {
    ir::build::apply_math(op, x)
}

fn max_ulps(op: MathOp, xs: &[f64], bound64: u64) -> (u64, u64) {
    let f64s = MathFn::new(op, false).unwrap().apply_f64(xs);
    let e64 = xs
        .iter()
        .zip(&f64s)
        .map(|(&x, &y)| {
            let u = ulps64(y, reference(op, x));
            assert!(
                u <= bound64,
                "{op:?} f64 at {x:e}: {y:e} vs {:e} ({u} ulp)",
                reference(op, x)
            );
            u
        })
        .max()
        .unwrap_or(0);
    let x32: Vec<f32> = xs.iter().map(|&x| x as f32).collect();
    let f32s = MathFn::new(op, true).unwrap().apply_f32(&x32);
    let e32 = x32
        .iter()
        .zip(&f32s)
        .map(|(&x, &y)| {
            let want = match op {
                MathOp::Exp => x.exp(),
                MathOp::Log => x.ln(),
                _ => reference(op, f64::from(x)) as f32,
            };
            let u = ulps32(y, want);
            assert!(u <= 2, "{op:?} f32 at {x:e}: {y:e} vs {want:e} ({u} ulp)");
            u
        })
        .max()
        .unwrap_or(0);
    (e64, e32)
}

const SPECIALS: [f64; 10] = [
    0.0,
    -0.0,
    f64::INFINITY,
    f64::NEG_INFINITY,
    f64::NAN,
    1e-300,
    -1e-300,
    1e-9,
    -1e-9,
    5e-324,
];

#[test]
fn inline_exp_is_within_one_ulp_f64_two_ulp_f32() {
    let mut xs = samples(-760.0, 720.0, 200_000, &SPECIALS);
    xs.extend(samples(-1.0, 1.0, 50_000, &[]));
    xs.extend(samples(-110.0, 95.0, 50_000, &[]));
    let (u64_, u32_) = max_ulps(MathOp::Exp, &xs, 1);
    eprintln!("exp: max {u64_} ulp (f64), {u32_} ulp (f32)");
}

#[test]
/// exprel is expm1(x)/x, two roundings in the reference too: 2 ulp in f64.
fn inline_exprel_is_within_two_ulp() {
    let mut xs = samples(-760.0, 720.0, 100_000, &SPECIALS);
    xs.extend(samples(-2.0, 2.0, 100_000, &[]));
    xs.extend(samples(-1e-6, 1e-6, 20_000, &[1e-8, -1e-8, 0.5, -0.5]));
    xs.extend(samples(-30.0, 30.0, 50_000, &[]));
    let (u64_, u32_) = max_ulps(MathOp::Exprel, &xs, 2);
    eprintln!("exprel: max {u64_} ulp (f64), {u32_} ulp (f32)");
}

#[test]
fn inline_log_is_within_one_ulp_f64_two_ulp_f32() {
    let mut xs: Vec<f64> = samples(0.0, 1e6, 50_000, &SPECIALS);
    xs.extend(samples(
        0.5,
        2.0,
        100_000,
        &[-1.0, 1.0, f64::MAX, f64::MIN_POSITIVE],
    ));
    // Log-spaced over the whole range, subnormals included.
    xs.extend((0..100_000).map(|i| (-744.0 + 1453.0 * f64::from(i) / 100_000.0).exp()));
    xs.extend((0..20_000).map(|i| 5e-324 * f64::from(i + 1) * 1e10));
    let (u64_, u32_) = max_ulps(MathOp::Log, &xs, 1);
    eprintln!("log: max {u64_} ulp (f64), {u32_} ulp (f32)");
}
