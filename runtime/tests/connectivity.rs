//! Connectivity rules: distributions, exact degrees, determinism across
//! thread counts, per-synapse values.

use std::collections::HashSet;

use snnc_runtime::connectivity::{connect, ConnectSpec, Rule, Structure};
use snnc_runtime::rng::Distribution;
use snnc_runtime::synapse_values::{delays, weights, Delays, ProjectionRef, SynapseTable, Weights};
use snnc_runtime::RuntimeError;

fn spec(n_pre: u32, n_post: u32, same: bool, autapses: bool, threads: usize) -> ConnectSpec {
    ConnectSpec {
        projection: "EE".to_string(),
        projection_id: 0,
        n_pre,
        n_post,
        same_population: same,
        allow_autapses: autapses,
        seed: 1234,
        threads,
    }
}

fn check_csr(s: &Structure) {
    assert_eq!(s.row_ptr.len(), s.n_pre as usize + 1);
    assert_eq!(s.row_ptr[0], 0);
    assert_eq!(*s.row_ptr.last().unwrap(), s.cols.len() as u64);
    assert!(s.row_ptr.windows(2).all(|w| w[0] <= w[1]));
    assert!(s.cols.iter().all(|&j| j < s.n_post));
}

#[test]
fn fixed_prob_in_degrees_follow_the_binomial() {
    let (n_pre, n_post, p) = (2000u32, 2000u32, 0.05);
    let s = connect(Rule::FixedProb(p), &spec(n_pre, n_post, false, true, 1)).unwrap();
    check_csr(&s);
    // Total count ~ Binomial(N·M, p): sd ≈ 436. An off-by-one in the
    // geometric gap (p/(1-p) instead of p) shifts the mean by ~10 000.
    let total = s.len() as f64;
    let expected = f64::from(n_pre) * f64::from(n_post) * p;
    let sd = (expected * (1.0 - p)).sqrt();
    assert!(
        (total - expected).abs() < 4.0 * sd,
        "{total} synapses, expected {expected}"
    );
    // In-degrees ~ Binomial(N, p): mean 100, variance 95. The sample variance
    // of 2000 columns has sd ≈ 95·√(2/2000) ≈ 3.
    let deg: Vec<f64> = s.in_degrees().into_iter().map(f64::from).collect();
    let mean = deg.iter().sum::<f64>() / deg.len() as f64;
    let var = deg.iter().map(|d| (d - mean).powi(2)).sum::<f64>() / (deg.len() - 1) as f64;
    let want_var = f64::from(n_pre) * p * (1.0 - p);
    assert!(
        (var - want_var).abs() < 5.0 * 3.0,
        "in-degree variance {var}, expected {want_var}"
    );
    // Rows are ascending and duplicate-free.
    for i in 0..n_pre {
        assert!(s.row(i).windows(2).all(|w| w[0] < w[1]));
    }
}

#[test]
fn fixed_prob_out_degrees_of_a_small_p_are_poisson_like() {
    // 1 − p close to 1 stresses ln_1p; mean out-degree 10 000 · 0.001 = 10.
    let s = connect(Rule::FixedProb(0.001), &spec(3000, 10_000, false, true, 1)).unwrap();
    let mean = s.len() as f64 / 3000.0;
    assert!(
        (mean - 10.0).abs() < 4.0 * (10.0f64 / 3000.0).sqrt(),
        "{mean}"
    );
}

#[test]
fn fixed_prob_edges() {
    let none = connect(Rule::FixedProb(0.0), &spec(50, 40, false, true, 1)).unwrap();
    assert!(none.is_empty());
    let all = connect(Rule::FixedProb(1.0), &spec(50, 40, false, true, 1)).unwrap();
    assert_eq!(all.len(), 2000);
    let err = connect(Rule::FixedProb(1.5), &spec(5, 5, false, true, 1)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "projection 'EE': connection probability 1.5 is not in [0, 1]"
    );
}

#[test]
fn autapses_follow_the_flag() {
    let has_autapse = |s: &Structure| (0..s.n_pre).any(|i| s.row(i).contains(&i));
    for rule in [
        Rule::FixedProb(0.5),
        Rule::FixedInDegree(30),
        Rule::FixedOutDegree(30),
        Rule::AllToAll,
    ] {
        let without = connect(rule, &spec(60, 60, true, false, 1)).unwrap();
        assert!(!has_autapse(&without), "{rule:?} made an autapse");
        let with = connect(rule, &spec(60, 60, true, true, 1)).unwrap();
        assert!(
            has_autapse(&with),
            "{rule:?} never made an autapse when allowed"
        );
    }
    // Different populations of the same size: i → i is not an autapse.
    let across = connect(Rule::AllToAll, &spec(10, 10, false, false, 1)).unwrap();
    assert_eq!(across.len(), 100);
    let within = connect(Rule::AllToAll, &spec(10, 10, true, false, 1)).unwrap();
    assert_eq!(within.len(), 90);
}

#[test]
fn fixed_in_degree_gives_exactly_k_distinct_sources() {
    // 40 exercises Floyd's sampling, 250 the complement path (k > n/2).
    for (k, autapses) in [(40u32, true), (40, false), (250, true), (299, false)] {
        let s = connect(Rule::FixedInDegree(k), &spec(300, 200, true, autapses, 2)).unwrap();
        check_csr(&s);
        let mut sources = vec![Vec::new(); 200];
        for i in 0..300 {
            for &j in s.row(i) {
                sources[j as usize].push(i);
            }
        }
        for (j, src) in sources.iter().enumerate() {
            assert_eq!(src.len(), k as usize, "post {j} (k = {k})");
            assert_eq!(
                src.iter().collect::<HashSet<_>>().len(),
                k as usize,
                "duplicate source"
            );
            if !autapses {
                assert!(!src.contains(&(j as u32)));
            }
        }
    }
}

#[test]
fn fixed_in_degree_sources_are_spread_uniformly() {
    // Each of 100 sources is picked by 1000 targets with probability 0.1:
    // out-degrees ~ Binomial(1000, 0.1), mean 100, sd ≈ 9.5.
    let s = connect(Rule::FixedInDegree(10), &spec(100, 1000, false, true, 1)).unwrap();
    for i in 0..100 {
        let d = s.row(i).len();
        assert!((55..=145).contains(&d), "source {i} has out-degree {d}");
    }
}

#[test]
fn fixed_out_degree_gives_exactly_k_distinct_targets() {
    let s = connect(Rule::FixedOutDegree(17), &spec(80, 50, true, false, 3)).unwrap();
    check_csr(&s);
    for i in 0..80 {
        let row = s.row(i);
        assert_eq!(row.len(), 17);
        assert!(row.windows(2).all(|w| w[0] < w[1]));
        assert!(!row.contains(&i));
    }
}

#[test]
fn degree_too_large_is_refused() {
    let err = connect(Rule::FixedInDegree(10), &spec(10, 5, true, false, 1)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "projection 'EE': fixed_in_degree(10) needs 10 distinct partners but only 9 exist"
    );
    assert!(matches!(
        connect(Rule::FixedOutDegree(6), &spec(3, 5, false, true, 1)),
        Err(RuntimeError::DegreeTooLarge {
            k: 6,
            available: 5,
            ..
        })
    ));
}

#[test]
fn one_to_one_and_all_to_all() {
    let s = connect(Rule::OneToOne, &spec(7, 7, true, false, 1)).unwrap();
    assert_eq!(s.row_ptr, (0..=7).collect::<Vec<u64>>());
    assert_eq!(s.cols, (0..7).collect::<Vec<u32>>());
    let err = connect(Rule::OneToOne, &spec(7, 8, false, true, 1)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "projection 'EE': one_to_one needs populations of equal size, found 7 and 8"
    );
    let s = connect(Rule::AllToAll, &spec(3, 4, false, true, 2)).unwrap();
    assert_eq!(s.row(2), &[0, 1, 2, 3]);
    assert_eq!(s.len(), 12);
    let empty = connect(Rule::FixedProb(0.5), &spec(0, 0, true, true, 4)).unwrap();
    assert_eq!(empty.row_ptr, vec![0]);
}

#[test]
fn tables_do_not_depend_on_threads_and_do_on_the_seed() {
    let rules = [
        Rule::FixedProb(0.1),
        Rule::FixedInDegree(20),
        Rule::FixedOutDegree(20),
    ];
    for rule in rules {
        let one = connect(rule, &spec(500, 400, true, false, 1)).unwrap();
        let two = connect(rule, &spec(500, 400, true, false, 2)).unwrap();
        let seven = connect(rule, &spec(500, 400, true, false, 7)).unwrap();
        assert_eq!(one, two, "{rule:?}");
        assert_eq!(one, seven, "{rule:?}");
        let again = connect(rule, &spec(500, 400, true, false, 1)).unwrap();
        assert_eq!(one, again);
        let mut other = spec(500, 400, true, false, 1);
        other.seed += 1;
        assert_ne!(
            one,
            connect(rule, &other).unwrap(),
            "{rule:?} ignores the seed"
        );
        let mut other = spec(500, 400, true, false, 1);
        other.projection_id = 1;
        assert_ne!(
            one,
            connect(rule, &other).unwrap(),
            "{rule:?} ignores the projection"
        );
    }
}

const EE: ProjectionRef<'static> = ProjectionRef {
    name: "E -> E",
    id: 0,
};

#[test]
fn weights_and_delays_per_synapse() {
    let s = connect(Rule::FixedProb(0.2), &spec(200, 100, false, true, 1)).unwrap();
    assert_eq!(
        weights(&s, EE, &Distribution::Constant(0.5), 1, 1).unwrap(),
        Weights::Homogeneous(0.5)
    );
    let dist = Distribution::Uniform {
        low: 1.0,
        high: 2.0,
    };
    let Weights::PerSynapse(w1) = weights(&s, EE, &dist, 1, 1).unwrap() else {
        panic!("random weights must be per synapse")
    };
    let Weights::PerSynapse(w2) = weights(&s, EE, &dist, 1, 3).unwrap() else {
        panic!("random weights must be per synapse")
    };
    assert_eq!(w1, w2, "weights depend on the thread count");
    assert_eq!(w1.len(), s.len());
    assert!(w1.iter().all(|&w| (1.0..2.0).contains(&w)));
    let mean = w1.iter().map(|&w| f64::from(w)).sum::<f64>() / w1.len() as f64;
    assert!((mean - 1.5).abs() < 0.02, "{mean}");

    let dt = 1e-4;
    assert_eq!(
        delays(&s, EE, &Distribution::Constant(1.5e-3), dt, 1, 1).unwrap(),
        Delays::Homogeneous(15)
    );
    let uniform = Distribution::Uniform {
        low: 1e-3,
        high: 3e-3,
    };
    let d = delays(&s, EE, &uniform, dt, 1, 2).unwrap();
    let Delays::PerSynapse(steps) = &d else {
        panic!("random delays must be per synapse")
    };
    assert!(steps.iter().all(|&k| (10..=30).contains(&k)));
    assert_eq!(d.max_steps(), *steps.iter().max().unwrap());
    // A clipped delay is not redrawn: one clipped below zero is refused,
    // naming the clause and the projection as the model writes it.
    let below_zero = Distribution::Clipped {
        inner: Box::new(Distribution::Normal {
            mean: 0.0,
            sd: 1e-3,
        }),
        low: -1e-3,
        high: 1e-3,
    };
    let err = delays(&s, EE, &below_zero, dt, 1, 1).unwrap_err();
    assert!(
        matches!(err, RuntimeError::BadDelay { delay_steps, .. } if delay_steps < 0.0),
        "{err:?}"
    );
    assert!(
        err.to_string().starts_with("delay of projection E -> E: -"),
        "{err}"
    );

    let table = SynapseTable {
        structure: s.clone(),
        weights: Weights::PerSynapse(w1),
        delays: d,
    };
    assert_eq!(table.bytes_per_synapse(), 10);
    let n = s.len() as u64;
    assert_eq!(table.bytes(), 8 * 201 + 10 * n);
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Any sizes, any k the rule allows, either autapse setting: every
        /// target gets exactly k distinct sources, and thread count is invisible.
        #[test]
        fn fixed_in_degree_is_exact(
            n_pre in 1u32..60,
            n_post in 1u32..60,
            k_frac in 0.0f64..=1.0,
            same in any::<bool>(),
            autapses in any::<bool>(),
            threads in 1usize..4,
        ) {
            let n_post = if same { n_pre } else { n_post };
            let available = n_pre - u32::from(same && !autapses);
            let k = (f64::from(available) * k_frac) as u32;
            let s = connect(Rule::FixedInDegree(k), &spec(n_pre, n_post, same, autapses, threads)).unwrap();
            prop_assert_eq!(&s, &connect(Rule::FixedInDegree(k), &spec(n_pre, n_post, same, autapses, 1)).unwrap());
            let mut sources = vec![HashSet::new(); n_post as usize];
            for i in 0..n_pre {
                for &j in s.row(i) {
                    prop_assert!(sources[j as usize].insert(i), "duplicate {} -> {}", i, j);
                    prop_assert!(!(same && !autapses && i == j));
                }
            }
            prop_assert!(sources.iter().all(|src| src.len() == k as usize));
        }

        #[test]
        fn fixed_prob_rows_are_sorted_and_in_range(
            n_pre in 0u32..40,
            n_post in 0u32..40,
            p in 0.0f64..=1.0,
            same in any::<bool>(),
            autapses in any::<bool>(),
        ) {
            let n_post = if same { n_pre } else { n_post };
            let s = connect(Rule::FixedProb(p), &spec(n_pre, n_post, same, autapses, 2)).unwrap();
            check_csr(&s);
            for i in 0..n_pre {
                prop_assert!(s.row(i).windows(2).all(|w| w[0] < w[1]));
                prop_assert!(!(same && !autapses && s.row(i).contains(&i)));
            }
        }
    }
}

/// fixed_total_number(N): exactly N synapses; a target's in-degree is
/// Binomial(N, 1/Nt), mean N/Nt and variance N·(1/Nt)·(1 − 1/Nt).
#[test]
fn fixed_total_number_in_degrees_follow_the_binomial() {
    let (n_pre, n_post, n) = (300u32, 1000u32, 200_000u32);
    let s = connect(
        Rule::FixedTotalNumber(n),
        &spec(n_pre, n_post, false, true, 1),
    )
    .unwrap();
    check_csr(&s);
    assert_eq!(s.len(), n as usize);
    assert!(s.row_ptr.windows(2).all(|w| {
        let row = &s.cols[w[0] as usize..w[1] as usize];
        row.windows(2).all(|p| p[0] <= p[1])
    }));
    let degrees = s.in_degrees();
    let count = f64::from(n_post);
    let mean = degrees.iter().map(|&d| f64::from(d)).sum::<f64>() / count;
    let var = degrees
        .iter()
        .map(|&d| (f64::from(d) - mean).powi(2))
        .sum::<f64>()
        / (count - 1.0);
    let q = 1.0 / count;
    let (want_mean, want_var) = (f64::from(n) * q, f64::from(n) * q * (1.0 - q));
    // The total is exact, so the mean is too.
    assert!((mean - want_mean).abs() < 1e-9, "{mean} vs {want_mean}");
    // Sample variance of 1000 binomials: relative sd ≈ sqrt(2/999) ≈ 4.5 %.
    assert!(
        (var / want_var - 1.0).abs() < 0.2,
        "variance {var} vs {want_var}"
    );
    // Out-degrees are Binomial(N, 1/Ns) too: mean 666.7.
    let out_mean = f64::from(n) / f64::from(n_pre);
    let max_out = (0..n_pre).map(|i| s.row(i).len()).max().unwrap() as f64;
    assert!(max_out < out_mean + 6.0 * out_mean.sqrt(), "{max_out}");
}

/// Multapses: with N draws over P = Ns·Nt pairs, the expected number of
/// distinct pairs is P·(1 − (1 − 1/P)^N), so the expected number of
/// synapses that repeat a pair is N minus that. 20 × 20 with N = 400:
/// 400 − 400·(1 − (399/400)^400) = 147.1.
#[test]
fn fixed_total_number_makes_multapses_at_the_expected_rate() {
    let (np, nn) = (20u32, 400u32);
    let pairs = f64::from(np * np);
    let want = f64::from(nn) - pairs * (1.0 - (1.0 - 1.0 / pairs).powi(nn as i32));
    let mut repeats = 0usize;
    let seeds = 50;
    for seed in 0..seeds {
        let mut sp = spec(np, np, false, true, 1);
        sp.seed = seed;
        let s = connect(Rule::FixedTotalNumber(nn), &sp).unwrap();
        let distinct: HashSet<(u32, u32)> = (0..np)
            .flat_map(|i| s.row(i).iter().map(move |&j| (i, j)))
            .collect();
        repeats += s.len() - distinct.len();
    }
    let mean = repeats as f64 / seeds as f64;
    // The count varies by about 6 per table (the occupancy variance
    // P·e⁻¹·(1 − 2e⁻¹) ≈ 39): 50 tables give a standard error near 0.9.
    assert!(
        (mean - want).abs() < 5.0,
        "{mean} repeated synapses vs {want}"
    );
}

#[test]
fn fixed_total_number_does_not_depend_on_threads_and_skips_autapses() {
    // More than one chunk of 2^16 synapses, so threads split the work.
    let n = 3 * (1 << 16) + 123;
    let one = connect(Rule::FixedTotalNumber(n), &spec(500, 500, true, false, 1)).unwrap();
    let four = connect(Rule::FixedTotalNumber(n), &spec(500, 500, true, false, 4)).unwrap();
    assert_eq!(one, four);
    assert_eq!(one.len(), n as usize);
    assert!((0..500).all(|i| !one.row(i).contains(&i)), "an autapse");
    let with = connect(Rule::FixedTotalNumber(n), &spec(500, 500, true, true, 1)).unwrap();
    assert!((0..500).any(|i| with.row(i).contains(&i)));
    // Zero synapses is an empty table; no pair to draw from is refused.
    assert!(
        connect(Rule::FixedTotalNumber(0), &spec(1, 1, true, false, 1))
            .unwrap()
            .is_empty()
    );
    let err = connect(Rule::FixedTotalNumber(3), &spec(1, 1, true, false, 1)).unwrap_err();
    assert!(
        matches!(err, RuntimeError::NoPairToDraw { n: 3, .. }),
        "{err:?}"
    );
}
