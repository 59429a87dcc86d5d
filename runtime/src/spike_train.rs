//! Spike trains from a file: `.npy` of shape `[K, 2]` (neuron, time in
//! seconds; any numeric dtype) or a CSV with header `neuron,time`, turned into
//! a sorted event list of (step, neuron) with `step = round(time / dt)`.

use std::path::Path;

use crate::array_file::{as_index, is_csv, read_csv, read_npy, require_finite, NumericArray};
use crate::error::{FileRole, RuntimeError};

/// Spikes sorted by (step, neuron), one entry per spike. Kept as a sorted
/// event list rather than one slot per step, so a single late spike cannot
/// make the table as long as the run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpikeTrain {
    pub name: String,
    /// Step of each spike, ascending.
    pub steps: Vec<u64>,
    /// Neuron of each spike (ascending within a step).
    pub neurons: Vec<u32>,
}

impl SpikeTrain {
    /// One past the last spike's step (0 when there is no spike).
    #[must_use]
    pub fn end_step(&self) -> u64 {
        self.steps.last().map_or(0, |&s| s + 1)
    }

    /// Neurons spiking at `step` (binary search; executors stepping in order
    /// can instead keep a cursor into `steps`).
    #[must_use]
    pub fn at(&self, step: u64) -> &[u32] {
        let start = self.steps.partition_point(|&s| s < step);
        let end = self.steps.partition_point(|&s| s <= step);
        &self.neurons[start..end]
    }
}

/// Load spike train `name` for a population of `neurons` neurons, binning
/// times to steps of `dt` seconds.
pub fn load_spike_train(
    name: &str,
    path: &Path,
    neurons: u32,
    dt: f64,
) -> Result<SpikeTrain, RuntimeError> {
    let role = FileRole::SpikeTrain(name.to_string());
    let data = if is_csv(path) {
        let table = read_csv(&role, path)?;
        let names: Vec<&str> = table.header.iter().flatten().map(String::as_str).collect();
        if names != ["neuron", "time"] {
            return Err(RuntimeError::CsvHeader {
                role,
                path: path.to_path_buf(),
                expected: "'neuron,time'".to_string(),
                found: table.header.unwrap_or_default(),
            });
        }
        table.data
    } else {
        let check = |shape: &[u64]| match shape {
            [_, 2] => Ok(()),
            _ => Err(RuntimeError::Shape {
                role: role.clone(),
                path: path.to_path_buf(),
                expected: SPIKE_TRAIN_SHAPE.to_string(),
                found: shape.to_vec(),
            }),
        };
        read_npy(&role, path, check)?.data
    };
    from_pairs(name, path, &data, neurons, dt)
}

/// The expected shape of a spike-train array.
pub const SPIKE_TRAIN_SHAPE: &str = "[K, 2] (neuron, time in seconds)";

/// Validate an array already in memory (handed over by a caller such as the
/// Python binding, which names it in `source`) as spike train `name`: the
/// same shape and values as [`load_spike_train`] accepts from a `.npy` file.
pub fn spike_train_from_array(
    name: &str,
    source: &Path,
    array: &NumericArray,
    neurons: u32,
    dt: f64,
) -> Result<SpikeTrain, RuntimeError> {
    if !matches!(array.shape[..], [_, 2]) {
        return Err(RuntimeError::Shape {
            role: FileRole::SpikeTrain(name.to_string()),
            path: source.to_path_buf(),
            expected: SPIKE_TRAIN_SHAPE.to_string(),
            found: array.shape.clone(),
        });
    }
    require_finite(&FileRole::SpikeTrain(name.to_string()), source, array)?;
    from_pairs(name, source, &array.data, neurons, dt)
}

/// `(neuron, time)` pairs in C order as a sorted event list.
fn from_pairs(
    name: &str,
    source: &Path,
    data: &[f64],
    neurons: u32,
    dt: f64,
) -> Result<SpikeTrain, RuntimeError> {
    let role = FileRole::SpikeTrain(name.to_string());
    let path = source;

    let mut events = Vec::with_capacity(data.len() / 2);
    for (entry, pair) in data.chunks_exact(2).enumerate() {
        let neuron = as_index(pair[0], neurons).ok_or_else(|| RuntimeError::IndexOutOfRange {
            role: role.clone(),
            path: path.to_path_buf(),
            entry: entry as u64,
            column: "neuron",
            value: pair[0],
            size: neurons,
        })?;
        let time = pair[1];
        let step = (time / dt).round();
        if !(time.is_finite() && time >= 0.0 && step < 2f64.powi(53)) {
            return Err(RuntimeError::BadSpikeTime {
                role: role.clone(),
                path: path.to_path_buf(),
                entry: entry as u64,
                value: time,
            });
        }
        events.push((step as u64, neuron));
    }
    events.sort_unstable();
    let (steps, neurons) = events.into_iter().unzip();
    Ok(SpikeTrain {
        name: name.to_string(),
        steps,
        neurons,
    })
}
