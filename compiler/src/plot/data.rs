//! Reading back what `snnc run` wrote: `summary.json`, `spikes_<pop>.npy`
//! ([K, 3] rows of step, neuron, batch item) and `trace_<pop>_<state>.npy`
//! ([S, n] or [S, B, n]), keeping one batch item.

use std::path::{Path, PathBuf};

use snnc_runtime::array_file::{read_npy, NumericArray};
use snnc_runtime::error::{FileRole, RuntimeError};
use snnc_runtime::summary::Summary;

use super::PlotError;

/// The spikes of one population in the plotted batch item.
#[derive(Debug, Clone, PartialEq)]
pub struct PopulationSpikes {
    pub name: String,
    pub neurons: u32,
    /// (step, neuron) of every spike of the item, in file order.
    pub spikes: Vec<(u32, u32)>,
}

/// One recorded state of one population in the plotted batch item.
#[derive(Debug, Clone, PartialEq)]
pub struct Trace {
    pub population: String,
    pub state: String,
    /// Steps between samples, when the sample count determines it.
    pub every: Option<u64>,
    /// `values[k][j]`: sample `k` of the `j`-th recorded neuron (SI units).
    pub values: Vec<Vec<f64>>,
}

/// Everything a plot shows.
#[derive(Debug, Clone, PartialEq)]
pub struct RunResults {
    pub dt_s: f64,
    pub steps: u64,
    /// The batch item shown.
    pub item: u32,
    pub populations: Vec<PopulationSpikes>,
    pub traces: Vec<Trace>,
}

/// Read the results folder `dir`, keeping batch item `item`.
pub fn load(dir: &Path, item: u32) -> Result<RunResults, PlotError> {
    if !dir.is_dir() {
        return Err(PlotError::NotAFolder(dir.to_path_buf()));
    }
    let summary = read_summary(&dir.join("summary.json"))?;
    let batch = summary.batch.max(1);
    if item >= batch {
        return Err(PlotError::ItemOutOfRange { item, batch });
    }
    let mut populations = Vec::new();
    let mut traces = Vec::new();
    for pop in &summary.populations {
        let spikes_path = dir.join(format!("spikes_{}.npy", pop.name));
        if spikes_path.exists() {
            populations.push(read_spikes(&spikes_path, pop, &summary, item)?);
        }
        for (state, path) in trace_files(dir, &pop.name, &summary)? {
            traces.push(read_trace(&path, &pop.name, &state, &summary, item)?);
        }
    }
    if populations.is_empty() {
        return Err(PlotError::NoSpikeFiles(dir.to_path_buf()));
    }
    Ok(RunResults {
        dt_s: summary.dt_s,
        steps: summary.steps,
        item,
        populations,
        traces,
    })
}

fn read_summary(path: &Path) -> Result<Summary, PlotError> {
    let text = std::fs::read_to_string(path).map_err(|e| PlotError::Summary {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    serde_json::from_str(&text).map_err(|e| PlotError::Summary {
        path: path.to_path_buf(),
        message: format!("not the summary.json `snnc run` writes: {e}"),
    })
}

fn read_spikes(
    path: &Path,
    pop: &snnc_runtime::summary::PopulationSummary,
    summary: &Summary,
    item: u32,
) -> Result<PopulationSpikes, PlotError> {
    let role = FileRole::Recording(format!("spikes of {}", pop.name));
    let array = read_npy(&role, path, |shape| {
        if shape.len() == 2 && shape[1] == 3 {
            Ok(())
        } else {
            Err(shape_error(
                &role,
                path,
                "[K, 3] (step, neuron, batch item)",
                shape,
            ))
        }
    })?;
    let mut spikes = Vec::new();
    for (row, values) in array.data.chunks_exact(3).enumerate() {
        let [step, neuron, batch_item] = [values[0], values[1], values[2]];
        let index_error =
            |column: &'static str, value: f64, size: u64| RuntimeError::IndexOutOfRange {
                role: role.clone(),
                path: path.to_path_buf(),
                entry: row as u64,
                column,
                value,
                size: u32::try_from(size).unwrap_or(u32::MAX),
            };
        let whole_below = |v: f64, size: u64| v >= 0.0 && v.fract() == 0.0 && v < size as f64;
        if !whole_below(step, summary.steps) {
            return Err(index_error("step", step, summary.steps).into());
        }
        if !whole_below(neuron, u64::from(pop.neurons)) {
            return Err(index_error("neuron", neuron, u64::from(pop.neurons)).into());
        }
        if !whole_below(batch_item, u64::from(summary.batch.max(1))) {
            return Err(index_error("batch item", batch_item, u64::from(summary.batch)).into());
        }
        if batch_item as u32 == item {
            spikes.push((step as u32, neuron as u32));
        }
    }
    Ok(PopulationSpikes {
        name: pop.name.clone(),
        neurons: pop.neurons,
        spikes,
    })
}

fn shape_error(role: &FileRole, path: &Path, expected: &str, found: &[u64]) -> RuntimeError {
    RuntimeError::Shape {
        role: role.clone(),
        path: path.to_path_buf(),
        expected: expected.to_string(),
        found: found.to_vec(),
    }
}

/// `trace_<pop>_<state>.npy` files of population `pop`, sorted by state name.
/// A longer population name that starts with `pop_` owns its own files.
fn trace_files(
    dir: &Path,
    pop: &str,
    summary: &Summary,
) -> Result<Vec<(String, PathBuf)>, PlotError> {
    let prefix = format!("trace_{pop}_");
    let owned_by_longer_name = |file: &str| {
        summary.populations.iter().any(|other| {
            other.name.len() > pop.len() && file.starts_with(&format!("trace_{}_", other.name))
        })
    };
    let entries = std::fs::read_dir(dir).map_err(|e| PlotError::Summary {
        path: dir.to_path_buf(),
        message: e.to_string(),
    })?;
    let mut found: Vec<(String, PathBuf)> = entries
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let file = entry.file_name().into_string().ok()?;
            let state = file
                .strip_prefix(&prefix)?
                .strip_suffix(".npy")?
                .to_string();
            (!owned_by_longer_name(&file)).then(|| (state, entry.path()))
        })
        .collect();
    found.sort();
    Ok(found)
}

fn read_trace(
    path: &Path,
    pop: &str,
    state: &str,
    summary: &Summary,
    item: u32,
) -> Result<Trace, PlotError> {
    let role = FileRole::Recording(format!("trace of {pop}.{state}"));
    let batched = summary.batch > 1;
    let array = read_npy(&role, path, |shape| match (batched, shape) {
        (false, [_, _]) => Ok(()),
        (true, [_, b, _]) if *b == u64::from(summary.batch) => Ok(()),
        (false, _) => Err(shape_error(&role, path, "[samples, neurons]", shape)),
        (true, _) => Err(shape_error(
            &role,
            path,
            &format!("[samples, {}, neurons]", summary.batch),
            shape,
        )),
    })?;
    let samples = array.shape[0];
    Ok(Trace {
        population: pop.to_string(),
        state: state.to_string(),
        every: sample_interval(summary.steps, samples),
        values: item_rows(&array, item),
    })
}

/// Sample `k` of batch item `item`, for every sample.
fn item_rows(array: &NumericArray, item: u32) -> Vec<Vec<f64>> {
    let neurons = *array.shape.last().unwrap_or(&0) as usize;
    let per_sample = array.shape[1..].iter().product::<u64>() as usize;
    let offset = if array.shape.len() == 3 {
        item as usize * neurons
    } else {
        0
    };
    if per_sample == 0 {
        return vec![Vec::new(); array.shape[0] as usize];
    }
    array
        .data
        .chunks_exact(per_sample)
        .map(|sample| sample[offset..offset + neurons].to_vec())
        .collect()
}

/// The steps between trace samples. A trace sampled every `e` steps over
/// `steps` steps (at steps 0, e, 2e, …) has `ceil(steps / e)` samples; the
/// interval is known when exactly one `e` gives `samples`.
#[must_use]
pub fn sample_interval(steps: u64, samples: u64) -> Option<u64> {
    if samples == 0 || steps == 0 {
        return None;
    }
    let smallest = steps.div_ceil(samples);
    let gives = |e: u64| steps.div_ceil(e) == samples;
    (gives(smallest) && !gives(smallest + 1)).then_some(smallest)
}

impl From<RuntimeError> for PlotError {
    fn from(e: RuntimeError) -> Self {
        PlotError::Read(e)
    }
}

#[cfg(test)]
mod tests {
    use super::{item_rows, sample_interval, NumericArray};

    #[test]
    fn a_batched_trace_keeps_the_chosen_item() {
        // [samples 2, batch 2, neurons 3], values 0..12 in C order.
        let array = NumericArray {
            shape: vec![2, 2, 3],
            data: (0..12).map(f64::from).collect(),
        };
        assert_eq!(
            item_rows(&array, 1),
            [vec![3.0, 4.0, 5.0], vec![9.0, 10.0, 11.0]]
        );
        let unbatched = NumericArray {
            shape: vec![2, 3],
            data: (0..6).map(f64::from).collect(),
        };
        assert_eq!(
            item_rows(&unbatched, 0),
            [vec![0.0, 1.0, 2.0], vec![3.0, 4.0, 5.0]]
        );
    }

    #[test]
    fn sample_interval_is_found_when_the_count_fixes_it() {
        // 1000 steps every 10 → samples at 0, 10, …, 990: 100 of them.
        assert_eq!(sample_interval(1000, 100), Some(10));
        // 1005 steps every 10 → 0 … 1000: 101 samples.
        assert_eq!(sample_interval(1005, 101), Some(10));
        // Every step.
        assert_eq!(sample_interval(500, 500), Some(1));
        // 100 steps, 2 samples: every 50 … 99 all give 2 samples.
        assert_eq!(sample_interval(100, 2), None);
        assert_eq!(sample_interval(100, 0), None);
    }
}
