//! Drawn weights and delays: redrawn (not clipped) until a delay rounds to at
//! least one step and a weight keeps its distribution's sign, as NEST's
//! reference microcircuit does; `clip(…)` clips instead; a distribution that
//! cannot give an acceptable value is refused after `MAX_DRAWS` draws.
//! Moments are checked against the analytic truncated normal.

use snnc_runtime::connectivity::{connect, ConnectSpec, Rule, Structure};
use snnc_runtime::error::SynapseValue;
use snnc_runtime::rng::{Distribution, Purpose, Stream};
use snnc_runtime::synapse_values::{delays, weights, Delays, ProjectionRef, Weights, MAX_DRAWS};
use snnc_runtime::RuntimeError;

const PROJ: ProjectionRef<'static> = ProjectionRef {
    name: "L23E -> L23E",
    id: 3,
};
const SEED: u64 = 77;

/// 400 × 500 = 200 000 synapses, all to all.
fn table() -> Structure {
    let spec = ConnectSpec {
        projection: "L23E->L23E".into(),
        projection_id: PROJ.id,
        n_pre: 400,
        n_post: 500,
        same_population: false,
        allow_autapses: true,
        seed: SEED,
        threads: 1,
    };
    connect(Rule::AllToAll, &spec).unwrap()
}

/// erfc by the Chebyshev fit of Numerical Recipes (`erfcc`), relative error
/// below 1.2e-7 everywhere: independent of the code under test.
fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let r = t * poly.exp();
    if x >= 0.0 {
        r
    } else {
        2.0 - r
    }
}

fn phi(x: f64) -> f64 {
    (-0.5 * x * x).exp() / (2.0 * std::f64::consts::PI).sqrt()
}

fn cdf(x: f64) -> f64 {
    0.5 * erfc(-x / std::f64::consts::SQRT_2)
}

/// Mean and variance of normal(mean, sd) truncated below at `lo`:
/// λ = φ(α)/(1 − Φ(α)), α = (lo − mean)/sd; mean + sd·λ, sd²·(1 + αλ − λ²).
fn truncated_below(mean: f64, sd: f64, lo: f64) -> (f64, f64) {
    let alpha = (lo - mean) / sd;
    let lambda = phi(alpha) / (1.0 - cdf(alpha));
    (
        mean + sd * lambda,
        sd * sd * (1.0 + alpha * lambda - lambda * lambda),
    )
}

fn moments(values: impl Iterator<Item = f64> + Clone) -> (f64, f64, usize) {
    let n = values.clone().count();
    let mean = values.clone().sum::<f64>() / n as f64;
    let var = values.map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
    (mean, var, n)
}

#[test]
fn erfc_matches_known_values() {
    // Abramowitz & Stegun table 7.1.
    assert!((erfc(0.5) - 0.479_500_122).abs() < 1e-7);
    assert!((erfc(1.0) - 0.157_299_207).abs() < 1e-7);
    assert!((cdf(-1.0) - 0.158_655_254).abs() < 1e-7);
}

/// normal(1 ms, 1 ms) at dt = 0.01 ms: a third of the mass lies below the
/// bound dt/2, so the kept delays follow the truncated normal (mean
/// 1.2896 ms, not 1 ms); every delay is at least one step.
#[test]
fn drawn_delays_follow_the_truncated_normal_and_reach_one_step() {
    let (mean, sd, dt) = (1e-3, 1e-3, 1e-5);
    let dist = Distribution::Normal { mean, sd };
    let Delays::PerSynapse(steps) = delays(&table(), PROJ, &dist, dt, SEED, 1).unwrap() else {
        panic!("drawn delays are per synapse")
    };
    assert!(steps.iter().all(|&d| d >= 1), "a delay below one step");
    let (want_mean, want_var) = truncated_below(mean, sd, 0.5 * dt);
    let (got_mean, got_var, n) = moments(steps.iter().map(|&d| f64::from(d) * dt));
    let se_mean = (want_var / n as f64).sqrt();
    assert!(
        (got_mean - want_mean).abs() < 4.0 * se_mean,
        "mean {got_mean} vs truncated {want_mean} (untruncated {mean}), se {se_mean}"
    );
    // The variance of a sample variance is about 2σ⁴/n (a bit more in the
    // tails); 5 % is several standard errors at n = 200 000, and the
    // untruncated variance is 35 % away.
    assert!(
        (got_var / want_var - 1.0).abs() < 0.05,
        "variance {got_var} vs truncated {want_var}"
    );
}

/// PD14's excitatory delays, normal(1.5 ms, 0.75 ms) at dt = 0.1 ms: no
/// delay is below one step, and the mean number of steps is that of the
/// truncated normal rounded to steps, E[D] = Σ_k k·(Φ(b_k) − Φ(a_k)) / (1 −
/// Φ(α)) with a_k, b_k the bounds of step k, (k ∓ ½)·dt, and α the bound
/// dt/2, all standardised: 15.475 steps, where the untruncated normal gives
/// 15 (30 standard errors away at 200 000 synapses).
#[test]
fn pd14_excitatory_delays_have_the_mean_of_the_rounded_truncated_normal() {
    let (mean, sd, dt) = (1.5e-3, 0.75e-3, 1e-4);
    let Delays::PerSynapse(steps) = delays(
        &table(),
        PROJ,
        &Distribution::Normal { mean, sd },
        dt,
        SEED,
        1,
    )
    .unwrap() else {
        panic!("drawn delays are per synapse")
    };
    assert_eq!(
        steps.iter().copied().min(),
        Some(1),
        "a delay below one step"
    );
    let below = |steps: f64| cdf((steps * dt - mean) / sd);
    let kept = 1.0 - below(0.5);
    let (mut want_mean, mut want_square) = (0.0, 0.0);
    for k in 1..=400 {
        let k = f64::from(k);
        let p = (below(k + 0.5) - below(k - 0.5)) / kept;
        want_mean += k * p;
        want_square += k * k * p;
    }
    let se_mean = ((want_square - want_mean * want_mean) / steps.len() as f64).sqrt();
    let (got_mean, _, _) = moments(steps.iter().map(|&d| f64::from(d)));
    assert!(
        (got_mean - want_mean).abs() < 4.0 * se_mean,
        "mean {got_mean} steps vs {want_mean} (se {se_mean})"
    );
    assert!(
        (want_mean - mean / dt).abs() > 20.0 * se_mean,
        "truncation is visible"
    );
}

/// PD14's delays at dt = 0.1 ms: the smallest drawn delay is D = 1 step.
#[test]
fn pd14_inhibitory_delays_are_at_least_one_step() {
    let dist = Distribution::Normal {
        mean: 0.75e-3,
        sd: 0.375e-3,
    };
    let d = delays(&table(), PROJ, &dist, 1e-4, SEED, 1).unwrap();
    let Delays::PerSynapse(steps) = &d else {
        panic!("per synapse")
    };
    assert_eq!(steps.iter().copied().min(), Some(1));
}

/// A weight keeps its mean's sign: normal(−0.35, 0.35) (in nA, say) is
/// truncated above at 0, mean −0.35 − 0.35·φ(1)/Φ(1) = −0.4507.
#[test]
fn drawn_weights_keep_the_sign_of_their_mean() {
    let (mean, sd) = (-0.35, 0.35);
    let Weights::PerSynapse(w) =
        weights(&table(), PROJ, &Distribution::Normal { mean, sd }, SEED, 1).unwrap()
    else {
        panic!("per synapse")
    };
    assert!(
        w.iter().all(|&x| x <= 0.0),
        "an inhibitory weight turned positive"
    );
    // Mirror image of a lower truncation: −X with X ~ normal(0.35, 0.35), X ≥ 0.
    let (m, var) = truncated_below(-mean, sd, 0.0);
    let (want_mean, want_var) = (-m, var);
    let (got_mean, got_var, n) = moments(w.iter().map(|&x| f64::from(x)));
    let se = (want_var / n as f64).sqrt();
    assert!(
        (got_mean - want_mean).abs() < 4.0 * se,
        "mean {got_mean} vs truncated {want_mean}, se {se}"
    );
    assert!(
        (got_var / want_var - 1.0).abs() < 0.05,
        "{got_var} vs {want_var}"
    );

    // The example: far from zero, the sign is kept with no visible
    // change to the distribution.
    let narrow = Distribution::Normal {
        mean: -0.35e-9,
        sd: 0.035e-9,
    };
    let Weights::PerSynapse(w) = weights(&table(), PROJ, &narrow, SEED, 1).unwrap() else {
        panic!("per synapse")
    };
    assert!(w.iter().all(|&x| x < 0.0));
}

/// The redraws are the next values of the synapse's own stream: the table
/// is a pure function of the seed and the synapse (and so of no thread
/// count).
#[test]
fn redraws_come_from_the_synapse_stream() {
    let s = table();
    let dist = Distribution::Normal {
        mean: 0.1e-3,
        sd: 1e-3,
    };
    let dt = 1e-4;
    let one = delays(&s, PROJ, &dist, dt, SEED, 1).unwrap();
    let four = delays(&s, PROJ, &dist, dt, SEED, 4).unwrap();
    assert_eq!(one, four);
    let Delays::PerSynapse(steps) = &one else {
        panic!("per synapse")
    };
    let (pre, position) = (7u32, 11u32);
    let mut stream = Stream::new(
        SEED,
        Purpose::Delays {
            projection: PROJ.id,
        },
        pre,
        position,
        0,
    );
    let first_kept = (0..MAX_DRAWS)
        .map(|_| dist.sample(&mut stream))
        .find(|d| (d / dt).round() >= 1.0)
        .unwrap();
    let index = s.row_ptr[pre as usize] as usize + position as usize;
    assert_eq!(steps[index], (first_kept / dt).round() as u16);
}

/// `clip(normal(0, 1), -0.5, 0.5)`: clipped, not redrawn: the mass below
/// −0.5 (Φ(−0.5) = 0.3085) sits exactly at −0.5, and negative values stay
/// though the mean is zero.
#[test]
fn clip_clips_instead_of_redrawing() {
    let dist = Distribution::Clipped {
        inner: Box::new(Distribution::Normal { mean: 0.0, sd: 1.0 }),
        low: -0.5,
        high: 0.5,
    };
    let Weights::PerSynapse(w) = weights(&table(), PROJ, &dist, SEED, 1).unwrap() else {
        panic!("per synapse")
    };
    assert!(w.iter().all(|&x| (-0.5..=0.5).contains(&x)));
    let at_low = w.iter().filter(|&&x| x == -0.5).count() as f64 / w.len() as f64;
    let want = cdf(-0.5);
    let se = (want * (1.0 - want) / w.len() as f64).sqrt();
    assert!((at_low - want).abs() < 4.0 * se, "{at_low} vs {want}");

    // A clipped delay may be shorter than one step (0 steps here).
    let delay = Distribution::Clipped {
        inner: Box::new(Distribution::Normal {
            mean: 0.0,
            sd: 1e-3,
        }),
        low: 0.0,
        high: 2e-3,
    };
    let Delays::PerSynapse(steps) = delays(&table(), PROJ, &delay, 1e-4, SEED, 1).unwrap() else {
        panic!("per synapse")
    };
    let zero = steps.iter().filter(|&&d| d == 0).count() as f64 / steps.len() as f64;
    // P(draw < dt/2) = Φ(0.05): clipped to 0 or rounded down to 0.
    assert!((zero - cdf(0.05)).abs() < 0.01, "{zero}");
}

/// A delay distribution with (almost) nothing above dt/2 is refused after
/// MAX_DRAWS draws, naming the clause, the projection and the synapse.
#[test]
fn a_distribution_that_cannot_reach_one_step_is_refused() {
    let dist = Distribution::Normal {
        mean: -10e-3,
        sd: 1e-3,
    };
    let err = delays(&table(), PROJ, &dist, 1e-4, SEED, 1).unwrap_err();
    assert_eq!(
        err,
        RuntimeError::RedrawLimit {
            projection: "L23E -> L23E".into(),
            projection_id: PROJ.id,
            value: SynapseValue::Delay,
            draws: MAX_DRAWS,
            pre: 0,
            position: 0,
        }
    );
    let text = err.to_string();
    assert!(
        text.starts_with("delay of projection L23E -> L23E: 1000 draws in a row"),
        "{text}"
    );
    assert!(text.contains("clip("), "{text}");
}
