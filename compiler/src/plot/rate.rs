//! Population rates from spikes: counts in bins of whole steps.

/// Bin widths a rate plot uses (seconds): the smallest that gives at most
/// about 100 bins, and at least one step.
const NICE_BINS_S: [f64; 13] = [
    1e-4, 2e-4, 5e-4, 1e-3, 2e-3, 5e-3, 1e-2, 2e-2, 5e-2, 0.1, 0.2, 0.5, 1.0,
];

/// Steps per rate bin for a run of `steps` steps of `dt_s` seconds.
#[must_use]
pub fn bin_steps(steps: u64, dt_s: f64) -> u64 {
    let wanted = steps as f64 * dt_s / 100.0;
    let bin_s = NICE_BINS_S
        .iter()
        .copied()
        .find(|&b| b >= wanted)
        .unwrap_or(wanted);
    ((bin_s / dt_s).round() as u64).max(1)
}

/// The rate of a population of `neurons` neurons in each bin of `bin` steps,
/// over `steps` steps: (bin centre in seconds, spikes / (neurons · bin seconds)).
/// The last bin may be shorter; its rate uses its own length.
#[must_use]
pub fn binned_rate(
    spike_steps: impl IntoIterator<Item = u32>,
    neurons: u32,
    steps: u64,
    bin: u64,
    dt_s: f64,
) -> Vec<(f64, f64)> {
    let bins = steps.div_ceil(bin) as usize;
    let mut counts = vec![0u64; bins];
    for step in spike_steps {
        if let Some(count) = counts.get_mut((u64::from(step) / bin) as usize) {
            *count += 1;
        }
    }
    counts
        .iter()
        .enumerate()
        .map(|(k, &count)| {
            let start = k as u64 * bin;
            let len = bin.min(steps - start);
            let centre_s = (start as f64 + len as f64 / 2.0) * dt_s;
            let rate = count as f64 / (f64::from(neurons.max(1)) * len as f64 * dt_s);
            (centre_s, rate)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bins_are_nice_whole_steps() {
        // 1 s at 0.1 ms: 10 ms bins (100 of them).
        assert_eq!(bin_steps(10_000, 1e-4), 100);
        // 50 ms at 0.1 ms: 0.5 ms bins.
        assert_eq!(bin_steps(500, 1e-4), 5);
        // Never below one step.
        assert_eq!(bin_steps(10, 1e-4), 1);
    }

    #[test]
    fn rate_counts_spikes_per_neuron_and_second() {
        // 10 neurons, dt 1 ms, 25 steps in bins of 10: [0,10) [10,20) [20,25).
        let spikes = [0, 3, 9, 10, 24, 24];
        let rate = binned_rate(spikes, 10, 25, 10, 1e-3);
        assert_eq!(rate.len(), 3);
        // 3 spikes / (10 neurons · 10 ms) = 30 Hz, centred at 5 ms.
        assert!((rate[0].0 - 5e-3).abs() < 1e-12 && (rate[0].1 - 30.0).abs() < 1e-9);
        assert!((rate[1].1 - 10.0).abs() < 1e-9);
        // The short last bin: 2 spikes / (10 · 5 ms) = 40 Hz, centred at 22.5 ms.
        assert!((rate[2].0 - 22.5e-3).abs() < 1e-12 && (rate[2].1 - 40.0).abs() < 1e-9);
    }
}
