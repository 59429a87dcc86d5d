//! Per-synapse values (weights, delays) and a projection's complete table.
//!
//! A homogeneous value is stored once: most models (COBA, Vogels–Abbott) use
//! one weight per projection, and a per-synapse `Vec<f32>` would double the
//! table. Random values draw synapse `s` of row `i` (its position `s` within
//! the row) from the stream at `(Purpose::Weights|Delays{projection}, index =
//! i, sub = s)`, so each value is a pure function of the seed and its place
//! in the table.

use crate::alloc::vec_with_capacity;
use crate::connectivity::{build_lists, Structure};
use crate::error::RuntimeError;
use crate::rng::{key_for, Distribution, Purpose, Stream};

/// Synaptic weights, in the projection weight's unit (SI base, as f32).
#[derive(Debug, Clone, PartialEq)]
pub enum Weights {
    Homogeneous(f32),
    /// One per synapse, in table order.
    PerSynapse(Vec<f32>),
}

/// Synaptic delays in whole time steps (`round(delay / dt)`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delays {
    Homogeneous(u16),
    /// One per synapse, in table order.
    PerSynapse(Vec<u16>),
}

impl Delays {
    /// Longest delay in steps (sizes the spike ring buffer: `max + 1` slots).
    #[must_use]
    pub fn max_steps(&self) -> u16 {
        match self {
            Delays::Homogeneous(d) => *d,
            Delays::PerSynapse(v) => v.iter().copied().max().unwrap_or(0),
        }
    }
}

/// A projection's full table: structure, weights, delays.
#[derive(Debug, Clone, PartialEq)]
pub struct SynapseTable {
    pub structure: Structure,
    pub weights: Weights,
    pub delays: Delays,
}

impl SynapseTable {
    /// Bytes held by the table (row pointers, targets, weights, delays).
    #[must_use]
    pub fn bytes(&self) -> u64 {
        let s = &self.structure;
        let weights = match &self.weights {
            Weights::Homogeneous(_) => 4,
            Weights::PerSynapse(v) => 4 * v.len() as u64,
        };
        let delays = match &self.delays {
            Delays::Homogeneous(_) => 2,
            Delays::PerSynapse(v) => 2 * v.len() as u64,
        };
        8 * s.row_ptr.len() as u64 + 4 * s.cols.len() as u64 + weights + delays
    }

    /// Bytes per synapse, the figure to compare backends by: 4 (target) +
    /// 4 if weights are per-synapse + 2 if delays are per-synapse.
    #[must_use]
    pub fn bytes_per_synapse(&self) -> u64 {
        4 + match self.weights {
            Weights::Homogeneous(_) => 0,
            Weights::PerSynapse(_) => 4,
        } + match self.delays {
            Delays::Homogeneous(_) => 0,
            Delays::PerSynapse(_) => 2,
        }
    }
}

/// Values per synapse from `value(stream, pre, post)`, each synapse with its
/// own stream (see the module docs). Rows are split over `threads`.
pub fn per_synapse<T: Send>(
    structure: &Structure,
    seed: u64,
    purpose: Purpose,
    threads: usize,
    value: impl Fn(&mut Stream, u32, u32) -> T + Sync,
) -> Result<Vec<T>, RuntimeError> {
    let key = key_for(seed, purpose);
    let rows = build_lists(structure.n_pre, threads, |i| {
        structure
            .row(i)
            .iter()
            .enumerate()
            .map(|(s, &j)| value(&mut Stream::from_key(key, i, s as u32, 0), i, j))
            .collect::<Vec<T>>()
    });
    // One value per synapse: allocated fallibly, the synapse count is only
    // bounded by the memory estimate.
    let mut values = vec_with_capacity(structure.len(), "per-synapse values")?;
    for row in rows {
        values.extend(row);
    }
    Ok(values)
}

/// Weights drawn from `dist` (stored once when it is a constant).
pub fn weights(
    structure: &Structure,
    dist: Distribution,
    seed: u64,
    projection_id: u32,
    threads: usize,
) -> Result<Weights, RuntimeError> {
    if let Some(w) = dist.constant_value() {
        return Ok(Weights::Homogeneous(w as f32));
    }
    let purpose = Purpose::Weights {
        projection: projection_id,
    };
    per_synapse(structure, seed, purpose, threads, |s, _, _| {
        dist.sample(s) as f32
    })
    .map(Weights::PerSynapse)
}

/// `delay / dt` rounded to whole steps, refused if negative, not finite or
/// beyond `u16::MAX` steps.
pub fn delay_steps(projection: &str, delay: f64, dt: f64) -> Result<u16, RuntimeError> {
    let steps = (delay / dt).round();
    if steps.is_finite() && (0.0..=f64::from(u16::MAX)).contains(&steps) {
        Ok(steps as u16)
    } else {
        Err(RuntimeError::BadDelay {
            projection: projection.to_string(),
            delay_steps: steps,
        })
    }
}

/// Delays (in seconds) drawn from `dist`, converted to steps of `dt` seconds.
/// A random delay below zero is refused rather than silently clipped: it
/// means the distribution is wrong for a delay.
pub fn delays(
    structure: &Structure,
    projection: &str,
    dist: Distribution,
    dt: f64,
    seed: u64,
    projection_id: u32,
    threads: usize,
) -> Result<Delays, RuntimeError> {
    if let Some(d) = dist.constant_value() {
        return delay_steps(projection, d, dt).map(Delays::Homogeneous);
    }
    let purpose = Purpose::Delays {
        projection: projection_id,
    };
    let steps = per_synapse(structure, seed, purpose, threads, |s, _, _| {
        delay_steps(projection, dist.sample(s), dt)
    })?;
    let mut delays = vec_with_capacity(steps.len(), "per-synapse delays")?;
    for step in steps {
        delays.push(step?);
    }
    Ok(Delays::PerSynapse(delays))
}
