//! How much memory a run needs, and a refusal before it starts when that is
//! more than the machine has (better than being killed an hour in).

use crate::error::{human_bytes, RuntimeError};

/// Sizes of one population's state.
#[derive(Debug, Clone)]
pub struct PopulationSize {
    pub neurons: u64,
    /// State variables per neuron (including currents and refractory counters).
    pub states: u64,
}

/// Sizes of one projection.
#[derive(Debug, Clone)]
pub struct ProjectionSize {
    pub pre_neurons: u64,
    pub synapses: u64,
    pub per_synapse_weights: bool,
    pub per_synapse_delays: bool,
    /// Synapse state variables stored per postsynaptic neuron (e.g. `g`).
    pub post_states: u64,
    pub post_neurons: u64,
    /// Longest delay in steps: the ring buffer has `max_delay + 1` slots.
    pub max_delay_steps: u64,
}

/// Sizes of one recording's in-memory buffer.
#[derive(Debug, Clone)]
pub struct RecordingSize {
    pub buffer_bytes: u64,
}

/// Everything the estimate reads.
#[derive(Debug, Clone)]
pub struct RunSizes {
    pub batch: u64,
    /// Bytes of one state value (4 or 8).
    pub precision_bytes: u64,
    pub populations: Vec<PopulationSize>,
    pub projections: Vec<ProjectionSize>,
    pub recordings: Vec<RecordingSize>,
    /// Bytes each batch item holds besides its neuron and synapse state
    /// (its copy of the parameter values, per-item bookkeeping).
    pub per_item_bytes: u64,
    /// Bytes of the input arrays held for the run (stimuli, spike trains).
    pub input_bytes: u64,
}

/// The estimate, item by item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemoryEstimate {
    pub neuron_state: u64,
    pub synapse_tables: u64,
    pub synapse_state: u64,
    pub ring_buffers: u64,
    pub recording_buffers: u64,
    pub batch_items: u64,
    pub inputs: u64,
}

impl MemoryEstimate {
    #[must_use]
    pub fn total(&self) -> u64 {
        [
            self.synapse_tables,
            self.synapse_state,
            self.ring_buffers,
            self.recording_buffers,
            self.batch_items,
            self.inputs,
        ]
        .iter()
        .fold(self.neuron_state, |sum, &bytes| sum.saturating_add(bytes))
    }

    /// `"24.0 GiB synapse tables, 1.2 GiB neuron state, …"`, largest first,
    /// zero items left out.
    #[must_use]
    pub fn breakdown(&self) -> String {
        let mut items = [
            (self.neuron_state, "neuron state"),
            (self.synapse_tables, "synapse tables"),
            (self.synapse_state, "synapse state"),
            (self.ring_buffers, "spike ring buffers"),
            (self.recording_buffers, "recording buffers"),
            (self.batch_items, "per-item parameters and spike lists"),
            (self.inputs, "input arrays"),
        ];
        items.sort_by_key(|&(bytes, _)| std::cmp::Reverse(bytes));
        let parts: Vec<String> = items
            .iter()
            .filter(|(bytes, _)| *bytes > 0)
            .map(|(bytes, name)| format!("{} {name}", human_bytes(*bytes)))
            .collect();
        parts.join(", ")
    }
}

/// The product of `factors`, saturating at `u64::MAX` (a size that large is
/// refused by [`check`] whatever the machine).
fn product(factors: &[u64]) -> u64 {
    factors.iter().fold(1, |acc: u64, &f| acc.saturating_mul(f))
}

/// The sum of `terms`, saturating.
fn sum(terms: impl Iterator<Item = u64>) -> u64 {
    terms.fold(0, u64::saturating_add)
}

/// Estimate the bytes a run holds at once. Saturating: sizes from the command
/// line (`--batch`) cannot overflow it.
#[must_use]
pub fn estimate(sizes: &RunSizes) -> MemoryEstimate {
    let batch = sizes.batch.max(1);
    let value = sizes.precision_bytes;
    let neuron_state = sum(sizes
        .populations
        .iter()
        .map(|p| product(&[p.neurons, p.states, batch, value])));
    let synapse_tables = sum(sizes.projections.iter().map(|p| {
        let per_synapse = 4
            + if p.per_synapse_weights { 4 } else { 0 }
            + if p.per_synapse_delays { 2 } else { 0 };
        product(&[p.synapses, per_synapse]).saturating_add(product(&[8, p.pre_neurons + 1]))
    }));
    let synapse_state = sum(sizes
        .projections
        .iter()
        .map(|p| product(&[p.post_states, p.post_neurons, batch, value])));
    // Per-post accumulation slots for each pending delay (what a reference
    // executor delivers into); one value per post per slot.
    let ring_buffers = sum(sizes.projections.iter().map(|p| {
        product(&[
            p.max_delay_steps.saturating_add(1),
            p.post_neurons,
            batch,
            value,
        ])
    }));
    MemoryEstimate {
        neuron_state,
        synapse_tables,
        synapse_state,
        ring_buffers,
        recording_buffers: sum(sizes.recordings.iter().map(|r| r.buffer_bytes)),
        batch_items: product(&[sizes.per_item_bytes, batch]),
        inputs: sizes.input_bytes,
    }
}

/// `MemAvailable` from a `/proc/meminfo` text, in bytes.
#[must_use]
pub fn parse_mem_available(meminfo: &str) -> Option<u64> {
    let line = meminfo.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let mut fields = line.split_whitespace().skip(1);
    let value: u64 = fields.next()?.parse().ok()?;
    match fields.next() {
        Some("kB") | None => Some(value * 1024),
        Some(_) => None,
    }
}

/// Bytes available on this machine, or `None` where `/proc/meminfo` is absent
/// (not Linux): then no check is made.
#[must_use]
pub fn available_memory() -> Option<u64> {
    parse_mem_available(&std::fs::read_to_string("/proc/meminfo").ok()?)
}

/// Refuse a run whose estimate exceeds `available` bytes.
pub fn check(estimate: &MemoryEstimate, available: u64) -> Result<(), RuntimeError> {
    let needed = estimate.total();
    if needed > available {
        return Err(RuntimeError::InsufficientMemory {
            needed,
            available,
            breakdown: estimate.breakdown(),
        });
    }
    Ok(())
}
