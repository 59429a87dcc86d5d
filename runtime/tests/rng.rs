//! Philox known answers, agreement with `rand_philox`, and the conversions.

use snnc_runtime::rng::{
    key_for, normal_f64, philox4x32_10, uniform_f32, uniform_f64, Distribution, Purpose, Stream,
};

#[test]
fn random123_known_answers() {
    assert_eq!(
        philox4x32_10([0, 0, 0, 0], [0, 0]),
        [0x6627_e8d5, 0xe169_c58d, 0xbc57_ac4c, 0x9b00_dbd8]
    );
    assert_eq!(
        philox4x32_10([0xffff_ffff; 4], [0xffff_ffff; 2]),
        [0x408f_276d, 0x41c8_3b0e, 0xa20b_c7c6, 0x6d54_51fd]
    );
    assert_eq!(
        philox4x32_10(
            [0x243f_6a88, 0x85a3_08d3, 0x1319_8a2e, 0x0370_7344],
            [0xa409_3822, 0x299f_31d0]
        ),
        [0xd16c_fe09, 0x94fd_cceb, 0x5001_e420, 0x2412_6ea1]
    );
}

#[test]
fn matches_rand_philox_block_function() {
    // Walk many (counter, key) pairs derived from the generator itself.
    let mut c = [1u32, 2, 3, 4];
    let mut k = [5u32, 6];
    for _ in 0..2000 {
        let ours = philox4x32_10(c, k);
        assert_eq!(ours, rand_philox::philox4x32_10(c, k));
        c = ours;
        k = [ours[1] ^ k[0], ours[3]];
    }
}

#[test]
fn stream_is_the_pure_function_of_its_address() {
    let key = key_for(42, Purpose::ModelNoise { population: 3 });
    let mut s = Stream::new(42, Purpose::ModelNoise { population: 3 }, 17, 1000, 2);
    let words: Vec<u32> = (0..8).map(|_| s.next_u32()).collect();
    let b0 = philox4x32_10([0, 17, 1000, 2], key);
    let b1 = philox4x32_10([1, 17, 1000, 2], key);
    assert_eq!(words, [b0, b1].concat());
    // A normal takes a fresh block, whatever was used of the current one.
    let mut s = Stream::new(42, Purpose::ModelNoise { population: 3 }, 17, 1000, 2);
    s.next_u32();
    assert_eq!(s.normal(), normal_f64(b1));
}

#[test]
fn purposes_seeds_and_ids_give_different_keys() {
    let keys = [
        key_for(1, Purpose::Connectivity { projection: 0 }),
        key_for(1, Purpose::Connectivity { projection: 1 }),
        key_for(1, Purpose::Weights { projection: 0 }),
        key_for(2, Purpose::Connectivity { projection: 0 }),
        key_for(1, Purpose::InitialValues { population: 0 }),
    ];
    for (i, a) in keys.iter().enumerate() {
        for b in &keys[i + 1..] {
            assert_ne!(a, b);
        }
    }
}

#[test]
fn uniforms_stay_strictly_inside_the_unit_interval() {
    for w in [0u32, 1, u32::MAX, u32::MAX - 1] {
        let f = uniform_f32(w);
        assert!(f > 0.0 && f < 1.0, "{w}: {f}");
        for v in [0u32, u32::MAX] {
            let d = uniform_f64(w, v);
            assert!(d > 0.0 && d < 1.0, "{w},{v}: {d}");
        }
    }
    assert_eq!(uniform_f64(0, 0), 0.5 / 4_503_599_627_370_496.0);
    assert_eq!(
        uniform_f64(u32::MAX, u32::MAX),
        1.0 - 0.5 / 4_503_599_627_370_496.0
    );
}

#[test]
fn distributions_have_the_right_moments() {
    let n = 40_000;
    let moments = |dist: Distribution| {
        let xs: Vec<f64> = (0..n)
            .map(|i| {
                dist.sample(&mut Stream::new(
                    9,
                    Purpose::Weights { projection: 0 },
                    i,
                    0,
                    0,
                ))
            })
            .collect();
        let mean = xs.iter().sum::<f64>() / f64::from(n);
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / f64::from(n - 1);
        (mean, var)
    };
    let (m, v) = moments(Distribution::Normal { mean: 2.0, sd: 3.0 });
    assert!((m - 2.0).abs() < 0.06, "normal mean {m}");
    assert!((v - 9.0).abs() < 0.3, "normal variance {v}");
    let (m, v) = moments(Distribution::Uniform {
        low: -1.0,
        high: 3.0,
    });
    assert!((m - 1.0).abs() < 0.03, "uniform mean {m}");
    assert!((v - 16.0 / 12.0).abs() < 0.04, "uniform variance {v}");
    // Lognormal with median 2 and sigma 0.5: mean 2·e^(σ²/2), variance
    // mean²·(e^(σ²) − 1) (the textbook moments).
    let (m, v) = moments(Distribution::LogNormal {
        median: 2.0,
        sigma: 0.5,
    });
    let mean = 2.0 * (0.125f64).exp();
    assert!((m - mean).abs() < 0.02 * mean, "lognormal mean {m}");
    let var = mean * mean * ((0.25f64).exp() - 1.0);
    assert!((v - var).abs() < 0.06 * var, "lognormal variance {v}");
}

#[test]
fn bounded_is_in_range_and_covers_it() {
    let mut s = Stream::new(3, Purpose::Connectivity { projection: 0 }, 0, 0, 0);
    let mut seen = [0u32; 7];
    for _ in 0..7000 {
        seen[s.bounded(7) as usize] += 1;
    }
    assert!(seen.iter().all(|&c| (850..1150).contains(&c)), "{seen:?}");
    assert_eq!(s.bounded(0), 0);
    assert_eq!(s.bounded(1), 0);
}

/// `probability_at_least` against tables of the normal distribution:
/// P(Z ≥ 1.96) = 0.024998, P(Z ≥ 1) = 0.158655, P(Z ≥ −1) = 0.841345.
#[test]
fn probability_at_least_matches_normal_tables() {
    let close = |got: f64, want: f64| assert!((got - want).abs() < 1e-6, "{got} vs {want}");
    let normal = Distribution::Normal { mean: 1.0, sd: 2.0 };
    close(normal.probability_at_least(1.0 + 2.0 * 1.96), 0.024_998);
    close(normal.probability_at_least(-1.0), 0.841_345);
    // ln of lognormal(m, s) is normal(ln m, s): P(X ≥ m·e^s) = P(Z ≥ 1).
    let lognormal = Distribution::LogNormal {
        median: 2.0,
        sigma: 0.5,
    };
    close(
        lognormal.probability_at_least(2.0 * 0.5f64.exp()),
        0.158_655,
    );
    close(lognormal.probability_at_least(-1.0), 1.0);
    // A negative median: −2·e^(0.5 Z) ≥ −2·e^(−0.5) iff Z ≤ −1.
    let negative = Distribution::LogNormal {
        median: -2.0,
        sigma: 0.5,
    };
    close(
        negative.probability_at_least(-2.0 * (-0.5f64).exp()),
        0.158_655,
    );
    close(negative.probability_at_least(0.0), 0.0);
    let uniform = Distribution::Uniform {
        low: -1.0,
        high: 3.0,
    };
    close(uniform.probability_at_least(2.0), 0.25);
    close(uniform.probability_at_least(5.0), 0.0);
    close(uniform.probability_at_least(-2.0), 1.0);
    close(Distribution::Constant(0.5).probability_at_least(0.5), 1.0);
    let clipped = Distribution::Clipped {
        inner: Box::new(normal),
        low: 0.0,
        high: 2.0,
    };
    close(clipped.probability_at_least(0.0), 1.0);
    close(clipped.probability_at_least(2.5), 0.0);
    close(clipped.probability_at_least(-1.0), 1.0);
    close(clipped.probability_at_least(1.0 + 2.0 * 1.96), 0.0);
    close(clipped.probability_at_least(1.0), 0.5);
}
