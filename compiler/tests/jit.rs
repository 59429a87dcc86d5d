//! The Cranelift JIT against the reference executor (the oracle): the same
//! spikes, states within stated tolerances, thread-count independence, and
//! the accuracy of the inline math.
//!
//! Tolerances: in f64 the JIT performs the reference's operations in the same
//! order; only `exp`/`exprel`/`log` (inline, ≤ 2 ulp from std) may differ, so
//! spike steps of non-chaotic models are identical and traces agree to 1e-9
//! (relative to the state's scale). With parameters folded (as `snnc run`
//! does) the exponentials are constants and even chaotic COBA is bitwise
//! identical. In f32 the JIT computes in f32 (the reference in f64, rounding
//! stores): traces agree to 1e-4 relative, chaotic rates within 5 %.

mod backend_support;
mod random_models;
mod run_support;

use backend_support::{assert_states_close, rate, run, steps_of, Backend, Opts, Run};
use proptest::prelude::*;
use run_support::{add_lif, delayed, expon_net, noisy, quadratic, LIF};
use snnc::back::cranelift::{emit_clif, MathFn};
use snnc::ir::build::Builder;
use snnc::ir::{self, Expr, Injection, MathOp, Method, Module, RandomKind, SynapseLayout, Var};
use snnc_runtime::rng::Distribution;

const JIT1: Backend = Backend::Jit { threads: 1 };
const JIT2: Backend = Backend::Jit { threads: 2 };
const REF: Backend = Backend::Reference;

fn folded(m: &Module) -> Module {
    ir::fold::fold_params(m, &|_, _| false)
}

#[test]
fn single_lif_matches_reference_and_analytic_period() {
    for (i_amp, t_ref) in [(2e-9, 0.0), (2e-9, 0.002), (3.3e-9, 0.004)] {
        let m = run_support::single_lif(i_amp, t_ref, 0.2);
        let r = run(&m, REF, &Opts::default());
        let j = run(&m, JIT1, &Opts::default());
        let jf = run(
            &m,
            JIT1,
            &Opts {
                f32: true,
                ..Opts::default()
            },
        );
        let rs = steps_of(&r, 0, 0, 0);
        assert!(rs.len() > 3, "reference spikes: {rs:?}");
        assert_eq!(rs, steps_of(&j, 0, 0, 0));
        // Analytic: T = t_ref + tau ln(RI / (RI - (V_th - V_rest))).
        let ri: f64 = 1e7 * i_amp;
        let period = t_ref + 0.010 * (ri / (ri - 0.015)).ln();
        let js = steps_of(&j, 0, 0, 0);
        for w in js.windows(2) {
            let got = f64::from(w[1] - w[0]) * 1e-4;
            assert!((got - period).abs() <= 1.01e-4, "period {got} vs {period}");
        }
        let fs = steps_of(&jf, 0, 0, 0);
        assert_eq!(fs.len(), js.len(), "f32 spike count");
        for (a, b) in fs.iter().zip(&js) {
            assert!(a.abs_diff(*b) <= 1, "f32 spike step {a} vs {b}");
        }
    }
}

#[test]
fn coba_folded_f64_is_bitwise_the_reference() {
    let m = folded(&run_support::coba(400, 100, 0.08, 0.1));
    let o = Opts {
        state_every: Some(250),
        ..Opts::default()
    };
    let r = run(&m, REF, &o);
    let j = run(&m, JIT2, &o);
    assert!(r.spikes.len() > 100, "{} spikes", r.spikes.len());
    assert_eq!(r.spikes, j.spikes);
    assert_eq!(r.events, j.events);
    assert_states_close(&r, &j, 0.0);
}

#[test]
fn coba_unfolded_f64_and_f32_rates_agree() {
    // Params stay loads: exp(-dt/tau) is the inline exp each step (chaos
    // amplifies its ulps), and the f32 run differs in every rounding.
    let m = run_support::coba(800, 200, 0.04, 0.25);
    let r = run(&m, REF, &Opts::default());
    let j = run(&m, JIT2, &Opts::default());
    let f = run(
        &m,
        JIT2,
        &Opts {
            f32: true,
            ..Opts::default()
        },
    );
    for (pop, n) in [(0, 800), (1, 200)] {
        let rr = rate(&r, pop, n, 0.25, 0);
        let rj = rate(&j, pop, n, 0.25, 0);
        let rf = rate(&f, pop, n, 0.25, 0);
        assert!(rr > 2.0, "reference rate {rr}");
        assert!((rj - rr).abs() <= 0.05 * rr, "f64 {rj} vs {rr}");
        assert!((rf - rr).abs() <= 0.05 * rr, "f32 {rf} vs {rr}");
    }
    // The first 20 ms (before chaos amplifies) spike for spike in f64.
    let early = |x: &Run| -> Vec<(u32, u32, u32, u32)> {
        x.spikes.iter().copied().filter(|s| s.1 < 200).collect()
    };
    assert_eq!(early(&r), early(&j));
}

#[test]
fn delays_match_reference() {
    for (delay, d) in [(0.0, 0u32), (0.002, 20), (0.00049, 5)] {
        let m = delayed(delay);
        let r = run(&m, REF, &Opts::default());
        let j = run(&m, JIT1, &Opts::default());
        let pre = steps_of(&j, 0, 0, 0);
        let post = steps_of(&j, 1, 0, 0);
        assert!(!pre.is_empty());
        let want: Vec<u32> = pre.iter().map(|s| s + d + 1).filter(|&s| s < 500).collect();
        assert_eq!(post, want, "delay {delay}");
        assert_eq!(r.spikes, j.spikes, "delay {delay}");
    }
}

#[test]
fn euler_rk2_rk4_traces_match_reference() {
    for method in [Some(Method::Euler), None, Some(Method::Rk4)] {
        let m = quadratic(method, 3);
        let o = Opts {
            state_every: Some(1),
            ..Opts::default()
        };
        let r = run(&m, REF, &o);
        let j = run(&m, JIT1, &o);
        assert_eq!(r.states.len(), 100);
        // Pure + - * /: the same operations in the same order.
        assert_states_close(&r, &j, 0.0);
        let f = run(&m, JIT1, &Opts { f32: true, ..o });
        assert_states_close(&r, &f, 1e-5);
    }
}

#[test]
fn per_synapse_and_align_post_match_reference() {
    for layout in [SynapseLayout::AlignPost, SynapseLayout::PerSynapse] {
        for delay in [
            Distribution::Constant(0.0005),
            Distribution::Uniform {
                low: 0.0,
                high: 0.002,
            },
        ] {
            let m = expon_net(layout, delay.clone());
            let o = Opts {
                state_every: Some(1),
                ..Opts::default()
            };
            let r = run(&m, REF, &o);
            let j = run(&m, JIT2, &o);
            let moved = r
                .states
                .iter()
                .any(|(_, x)| (x[0][1].states[0][0] + 0.065).abs() > 1e-3);
            assert!(moved, "the synapses must drive the post neurons");
            assert_eq!(r.spikes, j.spikes, "{layout:?} {delay:?}");
            assert_eq!(r.events, j.events);
            assert_states_close(&r, &j, 1e-9);
        }
    }
}

#[test]
fn random_draws_are_the_reference_draws() {
    let m = noisy();
    let o = Opts {
        state_every: Some(50),
        ..Opts::default()
    };
    let r = run(&m, REF, &o);
    let j = run(&m, JIT1, &o);
    assert!(r.spikes.len() > 20);
    assert_eq!(r.spikes, j.spikes);
    assert_states_close(&r, &j, 1e-12);
}

/// The inline (vectorised) Philox: every uniform draw of a 50-neuron
/// population (padding lanes included in the vectors) is the reference's
/// `keyed_draw`, bitwise in f64 and in f32 (the f32 stream: one word per
/// draw, Philox once per 32 neurons, chunks starting mid-group), on 1 and 2
/// threads and for batch items 0 and 1.
#[test]
fn inline_uniform_draws_are_the_reference_draws() {
    let mut m = Module::new("draws", 1e-4, 0.003, 11);
    let pop = add_lif(&mut m, "E", 50, &LIF, |b| b.load(Var::Param(0)));
    let u = m.exprs.append(Expr::Random {
        kind: RandomKind::Uniform,
        slot: 0,
    });
    m.injections.push(Injection {
        population: pop,
        current: 0,
        value: u,
    });
    let o = Opts {
        batch: 2,
        state_every: Some(1),
        ..Opts::default()
    };
    let r64 = run(&m, REF, &o);
    // f32 runs draw from the f32 stream (one word per draw): compare with
    // the reference run in f32.
    let r32 = run(
        &m,
        REF,
        &Opts {
            f32: true,
            ..o.clone()
        },
    );
    let mut checked = 0;
    for (backend, f32) in [(JIT1, false), (JIT2, false), (JIT1, true), (JIT2, true)] {
        let r = if f32 { &r32 } else { &r64 };
        let j = run(
            &m,
            backend,
            &Opts {
                f32,
                batch: 2,
                state_every: Some(1),
                ..Opts::default()
            },
        );
        assert_eq!(r.states.len(), j.states.len());
        for ((sr, xr), (sj, xj)) in r.states.iter().zip(&j.states) {
            assert_eq!(sr, sj);
            for (ir_, ij) in xr.iter().zip(xj) {
                let (cr, cj) = (&ir_[0].currents[0], &ij[0].currents[0]);
                for (a, b) in cr.iter().zip(cj) {
                    assert_eq!(
                        a.to_bits(),
                        b.to_bits(),
                        "step {sr} (f32 {f32}): {b} vs {a}"
                    );
                    checked += usize::from(*a != 0.0);
                }
            }
        }
    }
    assert!(checked > 4 * 2 * 50 * 25, "{checked} draws compared");
}

/// Scalar draws (a synapse's `on_pre`, one synapse at a time) of the f32
/// stream: the same numbers as the reference run in f32.
#[test]
fn scalar_f32_draws_in_on_pre_are_the_reference_draws() {
    let with_slot = |slot: u32| {
        let mut m = expon_net(SynapseLayout::PerSynapse, Distribution::Constant(0.0));
        let k = m.projections.len() - 1;
        let u = m.exprs.append(Expr::Random {
            kind: RandomKind::Uniform,
            slot,
        });
        let pre = &mut m.projections[k].synapse.on_pre[0];
        let w = pre.value;
        pre.value = Builder::new(&mut m.exprs).mul(w, u);
        m
    };
    let o = Opts {
        f32: true,
        state_every: Some(1),
        ..Opts::default()
    };
    let m = with_slot(0);
    let r = run(&m, REF, &o);
    assert!(r.events > 20, "{} events", r.events);
    // f32 arithmetic differs from the reference's rounded f64 by an ulp or
    // two; other draws would move V by far more (checked on slot 1).
    let close = |a: &Run| {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            assert_states_close(&r, a, 1e-5);
        }))
        .is_ok()
    };
    for backend in [JIT1, JIT2] {
        let j = run(&m, backend, &o);
        assert_eq!(r.spikes, j.spikes);
        assert!(close(&j), "{backend:?} differs from the reference");
    }
    assert!(
        !close(&run(&with_slot(1), JIT1, &o)),
        "other draws pass too"
    );
}

#[test]
fn batch_and_sweep_match_reference() {
    let m = noisy();
    let base: Vec<Vec<f64>> = m
        .populations
        .iter()
        .map(|p| p.params.iter().map(|q| q.value).collect())
        .collect();
    // Sweep tau over 3 items.
    let params: Vec<Vec<Vec<f64>>> = (0..3)
        .map(|k| {
            let mut p = base.clone();
            p[0][3] = 0.008 + 0.002 * f64::from(k);
            p
        })
        .collect();
    let o = Opts {
        batch: 3,
        params: Some(params),
        state_every: Some(100),
        ..Opts::default()
    };
    let r = run(&m, REF, &o);
    let j = run(&m, JIT2, &o);
    assert_eq!(r.spikes, j.spikes);
    assert_states_close(&r, &j, 1e-12);
    let single = run(&m, JIT1, &Opts::default());
    let item0: Vec<_> = j.spikes.iter().filter(|s| s.2 == 0).copied().collect();
    assert_ne!(item0, single.spikes, "item 0 has a swept tau");
}

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

// ---- random small models ----

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]
    #[test]
    fn random_models_spike_like_the_reference(m in random_models::model()) {
        let r = run(&m, REF, &Opts::default());
        let j = run(&m, JIT2, &Opts::default());
        prop_assert_eq!(&r.spikes, &j.spikes);
        prop_assert_eq!(r.events, j.events);
    }
}
