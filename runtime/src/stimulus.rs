//! Stimulus arrays (`.npy` or CSV) read and validated before a run.
//!
//! Accepted shapes, for a target population of `N` neurons and `B` batch items:
//! * `[N]`: a constant drive, the same every step;
//! * `[T, N]`: one row per step, the same for every batch item;
//! * `[T, B, N]`: one row per step and batch item (B must match the run's batch).
//!
//! CSV files are `[T, N]`: rows are steps, columns neurons, with an optional
//! header row. Any float or integer dtype is accepted and converted to `f64`.
//! A `[T, …]` stimulus must cover the run: [`Stimulus::require_steps`]
//! refuses `T` below the run's step count (rows past it are ignored); use
//! `[N]` for a drive constant in time (a `[1, N]` array is one step long).

use std::path::Path;

use crate::array_file::{is_csv, read_csv, read_npy, require_finite, NumericArray};
use crate::error::{FileRole, RuntimeError};

/// How the values vary over steps and batch items.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StimulusLayout {
    /// `[N]`.
    Constant,
    /// `[T, N]`.
    PerStep { steps: u64 },
    /// `[T, B, N]`.
    PerStepPerBatch { steps: u64, batch: u64 },
}

/// A validated stimulus array.
#[derive(Debug, Clone, PartialEq)]
pub struct Stimulus {
    pub name: String,
    pub neurons: u32,
    pub layout: StimulusLayout,
    /// C-order values in the layout's shape.
    pub values: Vec<f64>,
}

impl Stimulus {
    /// Steps covered (`None` for a constant stimulus, which covers every step).
    #[must_use]
    pub fn steps(&self) -> Option<u64> {
        match self.layout {
            StimulusLayout::Constant => None,
            StimulusLayout::PerStep { steps } | StimulusLayout::PerStepPerBatch { steps, .. } => {
                Some(steps)
            }
        }
    }

    /// Refuse a `[T, …]` stimulus read from `path` with fewer rows than the
    /// run's `steps`; a constant `[N]` stimulus covers any run.
    pub fn require_steps(&self, path: &Path, steps: u64) -> Result<(), RuntimeError> {
        match self.steps() {
            Some(rows) if rows < steps => Err(RuntimeError::StimulusTooShort {
                role: FileRole::Stimulus(self.name.clone()),
                path: path.to_path_buf(),
                rows,
                steps,
            }),
            _ => Ok(()),
        }
    }

    /// The `N` values for `step` and batch item `batch`, or `None` past the end.
    #[must_use]
    pub fn row(&self, step: u64, batch: u64) -> Option<&[f64]> {
        let n = self.neurons as usize;
        let start = match self.layout {
            StimulusLayout::Constant => 0,
            StimulusLayout::PerStep { steps } => {
                if step >= steps {
                    return None;
                }
                step as usize * n
            }
            StimulusLayout::PerStepPerBatch { steps, batch: b } => {
                if step >= steps || batch >= b {
                    return None;
                }
                (step as usize * b as usize + batch as usize) * n
            }
        };
        self.values.get(start..start + n)
    }

    /// The value for one neuron.
    #[must_use]
    pub fn value(&self, step: u64, batch: u64, neuron: u32) -> Option<f64> {
        self.row(step, batch)?.get(neuron as usize).copied()
    }
}

fn expected_shapes(neurons: u32, batch: u32) -> String {
    if batch > 1 {
        format!("[T, {neurons}] or [T, {batch}, {neurons}] or [{neurons}] with T ≥ 1")
    } else {
        format!("[T, {neurons}] or [T, B, {neurons}] or [{neurons}] with T ≥ 1")
    }
}

fn layout_of(shape: &[u64], neurons: u32, batch: u32) -> Option<StimulusLayout> {
    let n = u64::from(neurons);
    match *shape {
        [len] if len == n => Some(StimulusLayout::Constant),
        [t, len] if t >= 1 && len == n => Some(StimulusLayout::PerStep { steps: t }),
        // With a batch of one, [T, 1, N] is accepted; otherwise B must match.
        [t, b, len] if t >= 1 && len == n && b == u64::from(batch.max(1)) => {
            Some(StimulusLayout::PerStepPerBatch { steps: t, batch: b })
        }
        _ => None,
    }
}

/// Load stimulus `name` from `path` for a population of `neurons` neurons and
/// a run of `batch` items (1 when not batched).
pub fn load_stimulus(
    name: &str,
    path: &Path,
    neurons: u32,
    batch: u32,
) -> Result<Stimulus, RuntimeError> {
    let role = FileRole::Stimulus(name.to_string());
    let shape_error = |found: Vec<u64>| RuntimeError::Shape {
        role: role.clone(),
        path: path.to_path_buf(),
        expected: expected_shapes(neurons, batch),
        found,
    };
    let array = if is_csv(path) {
        let table = read_csv(&role, path)?;
        NumericArray {
            shape: vec![table.rows() as u64, table.columns as u64],
            data: table.data,
        }
    } else {
        read_npy(&role, path, |shape| {
            match layout_of(shape, neurons, batch) {
                Some(_) => Ok(()),
                None => Err(shape_error(shape.to_vec())),
            }
        })?
    };
    stimulus_from_array(name, path, array, neurons, batch)
}

/// Validate an array already in memory (read from `source`, or handed over
/// by a caller such as the Python binding, which names it in `source`) as
/// stimulus `name`: the same shapes as [`load_stimulus`] accepts.
pub fn stimulus_from_array(
    name: &str,
    source: &Path,
    array: NumericArray,
    neurons: u32,
    batch: u32,
) -> Result<Stimulus, RuntimeError> {
    let role = FileRole::Stimulus(name.to_string());
    let Some(layout) = layout_of(&array.shape, neurons, batch) else {
        return Err(RuntimeError::Shape {
            role,
            path: source.to_path_buf(),
            expected: expected_shapes(neurons, batch),
            found: array.shape,
        });
    };
    require_finite(&role, source, &array)?;
    Ok(Stimulus {
        name: name.to_string(),
        neurons,
        layout,
        values: array.data,
    })
}
