//! Recordings: spikes and state traces streamed to `.npy` files.
//!
//! * Spikes: one `uint32` array of shape `[K, 3]`, rows `(step, neuron,
//!   batch)` in the order they were recorded. One file rather than three 1-D
//!   arrays: a row is written atomically, so an interrupted run never leaves
//!   `i` and `t` arrays of different lengths. Time is `step · dt`; `u32`
//!   steps cover 4.9 days of simulated time at dt = 0.1 ms.
//! * Traces: shape `[samples, N]` for an unbatched run, `[samples, B, N]` for
//!   a batch of B, in `f32` or `f64` (the run's precision).
//!
//! Memory stays bounded: rows are buffered up to `flush_bytes` and then
//! written; every flush leaves a valid file (see [`crate::npy_stream`]).

use std::path::Path;

use crate::error::RuntimeError;
use crate::npy_stream::{NpyElement, NpyStreamWriter};

/// Default buffer before a flush: large enough that writes are few, small
/// enough to be irrelevant next to the network's own state.
pub const DEFAULT_FLUSH_BYTES: usize = 4 << 20;

/// Spike recorder writing `[K, 3]` rows of `(step, neuron, batch)`.
#[derive(Debug)]
pub struct SpikeRecorder {
    writer: NpyStreamWriter<u32>,
}

impl SpikeRecorder {
    pub fn create(path: &Path, flush_bytes: usize) -> Result<Self, RuntimeError> {
        Ok(Self {
            writer: NpyStreamWriter::create(path, &[3], flush_bytes)?,
        })
    }

    /// Record one spike.
    pub fn record(&mut self, step: u32, neuron: u32, batch: u32) -> Result<(), RuntimeError> {
        self.writer.push_rows(&[step, neuron, batch])
    }

    /// Record every neuron in `neurons` spiking at `step` in batch item `batch`.
    pub fn record_step(
        &mut self,
        step: u32,
        batch: u32,
        neurons: &[u32],
    ) -> Result<(), RuntimeError> {
        for &n in neurons {
            self.record(step, n, batch)?;
        }
        Ok(())
    }

    /// Spikes recorded so far.
    #[must_use]
    pub fn count(&self) -> u64 {
        self.writer.rows()
    }

    pub fn flush(&mut self) -> Result<(), RuntimeError> {
        self.writer.flush()
    }

    /// Flush and close; returns the number of spikes written.
    pub fn finish(self) -> Result<u64, RuntimeError> {
        self.writer.finish()
    }
}

/// State-trace recorder: one sample = the state of `neurons` recorded neurons
/// for every batch item.
#[derive(Debug)]
pub struct TraceRecorder<T: NpyElement> {
    writer: NpyStreamWriter<T>,
}

impl<T: NpyElement> TraceRecorder<T> {
    /// `batch == None`: shape `[samples, neurons]`; `Some(B)`: `[samples, B, neurons]`.
    pub fn create(
        path: &Path,
        neurons: u32,
        batch: Option<u32>,
        flush_bytes: usize,
    ) -> Result<Self, RuntimeError> {
        let row_shape = match batch {
            None => vec![u64::from(neurons)],
            Some(b) => vec![u64::from(b), u64::from(neurons)],
        };
        Ok(Self {
            writer: NpyStreamWriter::create(path, &row_shape, flush_bytes)?,
        })
    }

    /// Append one sample: `neurons` values, or `B × neurons` (batch-major).
    pub fn sample(&mut self, values: &[T]) -> Result<(), RuntimeError> {
        self.writer.push_rows(values)
    }

    /// Samples recorded so far.
    #[must_use]
    pub fn samples(&self) -> u64 {
        self.writer.rows()
    }

    pub fn flush(&mut self) -> Result<(), RuntimeError> {
        self.writer.flush()
    }

    /// Flush and close; returns the number of samples written.
    pub fn finish(self) -> Result<u64, RuntimeError> {
        self.writer.finish()
    }
}
