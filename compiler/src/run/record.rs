//! Where a run's recordings go: `.npy` files in the output folder (the
//! command line), or arrays in memory (the Python binding). Both receive the
//! same rows in the same order, so the two are equal value for value.

use std::path::Path;

use super::{options, RunError};
use crate::back::guard::Guard;
use crate::back::PopState;
use crate::ir::{Module, Record};
use snnc_runtime::record::{SpikeRecorder, TraceRecorder, DEFAULT_FLUSH_BYTES};
use snnc_runtime::RuntimeError;

/// The destination of a run's recordings.
#[derive(Debug, Clone, Copy)]
pub enum RecordTo<'a> {
    /// `spikes_<pop>.npy`, `trace_<pop>_<state>.npy` and `summary.json` in
    /// this folder (created if missing).
    Files(&'a Path),
    /// [`Recorded`] arrays; nothing is written.
    Memory,
}

/// The recordings of a run kept in memory.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Recorded {
    pub spikes: Vec<RecordedSpikes>,
    pub traces: Vec<RecordedTrace>,
}

/// The spikes of one population: rows `(step, neuron, batch item)` in the
/// order they happened, as in `spikes_<pop>.npy`.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedSpikes {
    pub population: String,
    /// `[K, 3]` in C order.
    pub rows: Vec<u32>,
}

/// One recorded state: `values` has shape `[samples, neurons]`, or
/// `[samples, batch, neurons]` when `batch` is `Some` (as
/// `trace_<pop>_<state>.npy`); sample `i` was taken at step `steps[i]`.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedTrace {
    pub population: String,
    pub state: String,
    /// The recorded neurons (indices into the population).
    pub neurons: Vec<u32>,
    pub batch: Option<u32>,
    pub steps: Vec<u64>,
    pub values: Vec<f64>,
}

enum SpikeOut {
    File(SpikeRecorder),
    Memory(Vec<u32>),
}

/// The spike recorder of each population (`None`: not recorded).
pub(super) struct SpikeSinks {
    sinks: Vec<Option<(String, SpikeOut)>>,
}

enum TraceOut {
    File(TraceRecorder<f64>),
    Memory(RecordedTrace),
}

/// One recorded trace: which state of which neurons, how often, where to.
struct TraceSink {
    pop: usize,
    state: u32,
    neurons: Vec<u32>,
    every: u32,
    out: TraceOut,
}

pub(super) struct TraceSinks {
    sinks: Vec<TraceSink>,
    row: Vec<f64>,
}

fn create_dir(dir: &Path) -> Result<(), RunError> {
    std::fs::create_dir_all(dir).map_err(|e| {
        options(format!(
            "cannot create output directory {}: {e}",
            dir.display()
        ))
    })
}

/// The recorders of `module.records` for a run of `batch` items.
pub(super) fn create(
    module: &Module,
    batch: usize,
    to: RecordTo<'_>,
) -> Result<(SpikeSinks, TraceSinks), RunError> {
    if let RecordTo::Files(dir) = to {
        create_dir(dir)?;
    }
    let batch_dim = (batch > 1).then_some(batch as u32);
    let mut spikes = SpikeSinks {
        sinks: module.populations.iter().map(|_| None).collect(),
    };
    let mut traces = TraceSinks {
        sinks: Vec::new(),
        row: Vec::new(),
    };
    for r in &module.records {
        match r {
            Record::Spikes { population } => {
                let name = &module.populations[*population as usize].name;
                let out = match to {
                    RecordTo::Files(dir) => SpikeOut::File(SpikeRecorder::create(
                        &dir.join(format!("spikes_{name}.npy")),
                        DEFAULT_FLUSH_BYTES,
                    )?),
                    RecordTo::Memory => SpikeOut::Memory(Vec::new()),
                };
                spikes.sinks[*population as usize] = Some((name.clone(), out));
            }
            Record::Trace {
                population,
                state,
                neurons,
                every,
            } => {
                let p = &module.populations[*population as usize];
                let ns: Vec<u32> = neurons.clone().unwrap_or_else(|| (0..p.size).collect());
                let state_name = &p.states[*state as usize].name;
                let out = match to {
                    RecordTo::Files(dir) => TraceOut::File(TraceRecorder::create(
                        &dir.join(format!("trace_{}_{state_name}.npy", p.name)),
                        ns.len() as u32,
                        batch_dim,
                        DEFAULT_FLUSH_BYTES,
                    )?),
                    RecordTo::Memory => TraceOut::Memory(RecordedTrace {
                        population: p.name.clone(),
                        state: state_name.clone(),
                        neurons: ns.clone(),
                        batch: batch_dim,
                        steps: Vec::new(),
                        values: Vec::new(),
                    }),
                };
                traces.sinks.push(TraceSink {
                    pop: *population as usize,
                    state: *state,
                    neurons: ns,
                    every: *every,
                    out,
                });
            }
        }
    }
    Ok((spikes, traces))
}

impl SpikeSinks {
    /// `fired` spiked in population `pop` at `step` in batch item `batch`.
    pub(super) fn record(
        &mut self,
        pop: u32,
        step: u32,
        batch: u32,
        fired: &[u32],
    ) -> Result<(), RuntimeError> {
        match self.sinks.get_mut(pop as usize) {
            Some(Some((_, SpikeOut::File(rec)))) => rec.record_step(step, batch, fired),
            Some(Some((_, SpikeOut::Memory(rows)))) => {
                for &n in fired {
                    rows.extend_from_slice(&[step, n, batch]);
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// Close the files; the spikes kept in memory.
    fn finish(self) -> Result<Vec<RecordedSpikes>, RuntimeError> {
        let mut kept = Vec::new();
        for (population, out) in self.sinks.into_iter().flatten() {
            match out {
                SpikeOut::File(rec) => {
                    rec.finish()?;
                }
                SpikeOut::Memory(rows) => kept.push(RecordedSpikes { population, rows }),
            }
        }
        Ok(kept)
    }
}

impl TraceSinks {
    /// The state of every batch item at the start of `step` (an empty
    /// `items` on steps no trace samples).
    pub(super) fn sample(
        &mut self,
        step: u64,
        items: &[Vec<PopState>],
        guard: &Guard<'_>,
    ) -> Result<(), RuntimeError> {
        for sink in &mut self.sinks {
            if !step.is_multiple_of(u64::from(sink.every)) {
                continue;
            }
            self.row.clear();
            for item in items {
                let values = &item[sink.pop].states[sink.state as usize];
                self.row
                    .extend(sink.neurons.iter().map(|&n| values[n as usize]));
            }
            guard.check_trace(
                step,
                (sink.pop, sink.state as usize),
                &sink.neurons,
                &self.row,
            )?;
            match &mut sink.out {
                TraceOut::File(rec) => rec.sample(&self.row)?,
                TraceOut::Memory(trace) => {
                    trace.steps.push(step);
                    trace.values.extend_from_slice(&self.row);
                }
            }
        }
        Ok(())
    }

    fn finish(self) -> Result<Vec<RecordedTrace>, RuntimeError> {
        let mut kept = Vec::new();
        for sink in self.sinks {
            match sink.out {
                TraceOut::File(rec) => {
                    rec.finish()?;
                }
                TraceOut::Memory(trace) => kept.push(trace),
            }
        }
        Ok(kept)
    }
}

/// Close every recorder; what was recorded to memory.
pub(super) fn finish(spikes: SpikeSinks, traces: TraceSinks) -> Result<Recorded, RuntimeError> {
    Ok(Recorded {
        spikes: spikes.finish()?,
        traces: traces.finish()?,
    })
}

/// A plastic projection's weights at the end of a run.
#[derive(Debug, Clone, PartialEq)]
pub struct FinalWeights {
    /// As the model names it (`Pre -> Post`).
    pub projection: String,
    /// The presynaptic and the postsynaptic neuron of each synapse.
    pub pre: Vec<u32>,
    pub post: Vec<u32>,
    /// Batch items.
    pub batch: usize,
    /// `values[b * n + s]`: synapse `s`'s weight in item `b` (SI units).
    pub values: Vec<f64>,
}

/// The file name part of a projection: `Pre->Post` → `Pre_to_Post`.
fn file_stem(projection: &str) -> String {
    projection.replace("->", "_to_").replace([' ', '/'], "")
}

/// The plastic projections' weights at the end of the run; to files too
/// (`weights_P.npy`, `[batch, synapses]` f64, and `synapses_P.npy`,
/// `[synapses, 2]` u32 pre/post) when the run writes files.
pub(super) fn final_weights(
    module: &Module,
    tables: &[snnc_runtime::synapse_values::SynapseTable],
    learned: &[Option<Vec<Vec<f64>>>],
    to: RecordTo<'_>,
) -> Result<Vec<FinalWeights>, RunError> {
    let mut out = Vec::new();
    for ((j, table), items) in module.projections.iter().zip(tables).zip(learned) {
        let Some(items) = items else { continue };
        let st = &table.structure;
        let weights = FinalWeights {
            projection: j.name.clone(),
            pre: st.pre_of_each()?,
            post: st.cols.clone(),
            batch: items.len(),
            values: items.concat(),
        };
        if let RecordTo::Files(dir) = to {
            write_weights(dir, &weights)?;
        }
        out.push(weights);
    }
    Ok(out)
}

fn write_weights(dir: &Path, w: &FinalWeights) -> Result<(), RuntimeError> {
    use snnc_runtime::npy_stream::NpyStreamWriter;
    let stem = file_stem(&w.projection);
    let n = w.pre.len() as u64;
    let mut values =
        NpyStreamWriter::<f64>::create(&dir.join(format!("weights_{stem}.npy")), &[n], 1 << 20)?;
    values.push_rows(&w.values)?;
    values.finish()?;
    let pairs: Vec<u32> = w
        .pre
        .iter()
        .zip(&w.post)
        .flat_map(|(&a, &b)| [a, b])
        .collect();
    let mut synapses =
        NpyStreamWriter::<u32>::create(&dir.join(format!("synapses_{stem}.npy")), &[2], 1 << 20)?;
    synapses.push_rows(&pairs)?;
    synapses.finish()?;
    Ok(())
}
