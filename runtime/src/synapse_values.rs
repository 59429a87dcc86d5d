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
use crate::error::{RuntimeError, SynapseValue};
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

/// Values per synapse from `value(stream, pre, position)`, each synapse
/// (source neuron `pre`, `position` in its row) with its own stream (see the
/// module docs). Rows are split over `threads`.
pub fn per_synapse<T: Send>(
    structure: &Structure,
    seed: u64,
    purpose: Purpose,
    threads: usize,
    value: impl Fn(&mut Stream, u32, u32) -> T + Sync,
) -> Result<Vec<T>, RuntimeError> {
    let key = key_for(seed, purpose);
    let rows = build_lists(structure.n_pre, threads, |i| {
        (0..structure.row(i).len() as u32)
            .map(|s| value(&mut Stream::from_key(key, i, s, 0), i, s))
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

/// Fallible values per synapse, as [`per_synapse`], collected into one
/// vector or the first error in table order. The first synapse is drawn
/// alone beforehand: a distribution that cannot give an acceptable value is
/// refused at once, not after [`MAX_DRAWS`] draws for every synapse.
fn drawn_per_synapse<T: Send>(
    structure: &Structure,
    seed: u64,
    purpose: Purpose,
    threads: usize,
    what: &'static str,
    value: impl Fn(&mut Stream, u32, u32) -> Result<T, RuntimeError> + Sync,
) -> Result<Vec<T>, RuntimeError> {
    if let Some(pre) = (0..structure.n_pre).find(|&i| !structure.row(i).is_empty()) {
        value(&mut Stream::new(seed, purpose, pre, 0, 0), pre, 0)?;
    }
    let drawn = per_synapse(structure, seed, purpose, threads, value)?;
    let mut values = vec_with_capacity(drawn.len(), what)?;
    for v in drawn {
        values.push(v?);
    }
    Ok(values)
}

/// How many draws one synapse's weight or delay may take before the run is
/// refused ([`RuntimeError::RedrawLimit`]): a distribution that needs more
/// is wrong for its clause, not unlucky.
pub const MAX_DRAWS: u32 = 1000;

/// The first draw of `dist` that `keep` accepts, the redraws being the next
/// values of the same synapse's stream (so the result stays a pure function
/// of the seed and the synapse); `None` after [`MAX_DRAWS`] refused draws.
fn draw_until(dist: &Distribution, stream: &mut Stream, keep: impl Fn(f64) -> bool) -> Option<f64> {
    (0..MAX_DRAWS)
        .map(|_| dist.sample(stream))
        .find(|&v| keep(v))
}

/// Which projection a table is for: its name as the model writes it
/// (`L23E -> L23E`), for messages, and its index, which keys its streams.
#[derive(Debug, Clone, Copy)]
pub struct ProjectionRef<'a> {
    pub name: &'a str,
    pub id: u32,
}

impl ProjectionRef<'_> {
    fn redraw_limit(self, value: SynapseValue, pre: u32, position: u32) -> RuntimeError {
        RuntimeError::RedrawLimit {
            projection: self.name.to_string(),
            projection_id: self.id,
            value,
            draws: MAX_DRAWS,
            pre,
            position,
        }
    }
}

/// Weights drawn from `dist` (stored once when it is a constant). A drawn
/// weight keeps the sign of its distribution's mean (median for
/// `lognormal`): a draw of the other sign is redrawn, as NEST's reference
/// microcircuit does (`normal(-0.35 nA, 0.035 nA)` stays inhibitory); zero
/// is kept. A mean of zero has no sign to keep, and a `clip(…)` is clipped,
/// not redrawn.
pub fn weights(
    structure: &Structure,
    projection: ProjectionRef<'_>,
    dist: &Distribution,
    seed: u64,
    threads: usize,
) -> Result<Weights, RuntimeError> {
    if let Some(w) = dist.constant_value() {
        return Ok(Weights::Homogeneous(w as f32));
    }
    let purpose = Purpose::Weights {
        projection: projection.id,
    };
    let sign = dist.centre().map_or(0.0, f64::signum);
    let keep = |w: f64| w * sign >= 0.0;
    let what = "per-synapse weights";
    drawn_per_synapse(
        structure,
        seed,
        purpose,
        threads,
        what,
        |s, pre, position| {
            draw_until(dist, s, keep)
                .map(|w| w as f32)
                .ok_or_else(|| projection.redraw_limit(SynapseValue::Weight, pre, position))
        },
    )
    .map(Weights::PerSynapse)
}

/// `delay / dt` rounded to whole steps, refused if negative, not finite or
/// beyond `u16::MAX` steps.
pub fn delay_steps(
    projection: ProjectionRef<'_>,
    delay: f64,
    dt: f64,
) -> Result<u16, RuntimeError> {
    steps_of_delay(delay, dt).ok_or_else(|| RuntimeError::BadDelay {
        projection: projection.name.to_string(),
        projection_id: projection.id,
        delay_steps: (delay / dt).round(),
    })
}

/// A delay of `delay` seconds in whole steps of `dt`, round(delay / dt);
/// `None` when that is negative or more than a synapse table holds (65535).
#[must_use]
pub fn steps_of_delay(delay: f64, dt: f64) -> Option<u16> {
    let steps = (delay / dt).round();
    (steps.is_finite() && (0.0..=f64::from(u16::MAX)).contains(&steps)).then_some(steps as u16)
}

/// Delays (in seconds) drawn from `dist`, converted to steps of `dt` seconds.
/// A drawn delay shorter than one step once rounded (below dt / 2) is
/// redrawn, as NEST's reference microcircuit does (`min = dt − dt/2`): every
/// drawn delay is at least D = 1 step. A constant delay may be 0 steps; a
/// `clip(…)` is clipped, not redrawn, and a clipped delay below zero is
/// refused like a negative constant.
pub fn delays(
    structure: &Structure,
    projection: ProjectionRef<'_>,
    dist: &Distribution,
    dt: f64,
    seed: u64,
    threads: usize,
) -> Result<Delays, RuntimeError> {
    if let Some(d) = dist.constant_value() {
        return delay_steps(projection, d, dt).map(Delays::Homogeneous);
    }
    let purpose = Purpose::Delays {
        projection: projection.id,
    };
    let redrawn = dist.centre().is_some();
    let keep = |d: f64| !redrawn || (d / dt).round() >= 1.0;
    let what = "per-synapse delays";
    drawn_per_synapse(
        structure,
        seed,
        purpose,
        threads,
        what,
        |s, pre, position| match draw_until(dist, s, keep) {
            Some(d) => delay_steps(projection, d, dt),
            None => Err(projection.redraw_limit(SynapseValue::Delay, pre, position)),
        },
    )
    .map(Delays::PerSynapse)
}
