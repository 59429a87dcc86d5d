//! Binding the network's inputs to data: files named on the command line
//! (`--input NAME=FILE`) or arrays handed over in memory (the Python
//! binding). Both go through the runtime's validators (shape, values), so an
//! array is refused exactly where the same data in a `.npy` file would be.

use std::path::{Path, PathBuf};

use super::{options, RunError};
use crate::back::BoundInput;
use crate::ir::{self, Module};
use snnc_runtime::array_file::NumericArray;
use snnc_runtime::spike_train::{load_spike_train, spike_train_from_array};
use snnc_runtime::stimulus::{load_stimulus, stimulus_from_array, Stimulus};

/// Where the data for `module.inputs` comes from.
#[derive(Debug, Clone, Copy)]
pub enum InputSource<'a> {
    /// `--input NAME=FILE` (`.npy` or `.csv`).
    Files(&'a [(String, PathBuf)]),
    /// Arrays in memory, by input name (already converted to `f64`).
    Arrays(&'a [(String, NumericArray)]),
}

impl InputSource<'_> {
    fn names(&self) -> Vec<&str> {
        match self {
            InputSource::Files(v) => v.iter().map(|(n, _)| n.as_str()).collect(),
            InputSource::Arrays(v) => v.iter().map(|(n, _)| n.as_str()).collect(),
        }
    }

    /// How the caller binds input `name`, for messages.
    fn binding(&self, name: &str) -> String {
        match self {
            InputSource::Files(_) => format!("--input {name}=FILE.npy (or .csv)"),
            InputSource::Arrays(_) => format!("inputs={{'{name}': array}}"),
        }
    }
}

/// The name an in-memory array goes by in messages (where a file's path
/// would be).
#[must_use]
pub fn array_source(name: &str) -> PathBuf {
    PathBuf::from(format!("inputs['{name}']"))
}

/// Every declared input bound exactly once, nothing unknown, each validated
/// for a run of `batch` items.
pub(super) fn bind_inputs(
    module: &Module,
    source: InputSource<'_>,
    batch: usize,
    steps: u64,
) -> Result<Vec<BoundInput>, RunError> {
    for name in source.names() {
        if !module.inputs.iter().any(|i| i.name == name) {
            let known: Vec<&str> = module.inputs.iter().map(|i| i.name.as_str()).collect();
            let given = match source {
                InputSource::Files(_) => format!("--input {name}=…"),
                InputSource::Arrays(_) => format!("inputs['{name}']"),
            };
            return Err(options(format!(
                "{given}: the network has no input named '{name}' (inputs: {})",
                if known.is_empty() {
                    "none".to_string()
                } else {
                    known.join(", ")
                }
            )));
        }
    }
    module
        .inputs
        .iter()
        .map(|input| bind_one(module, input, source, batch, steps))
        .collect()
}

fn bind_one(
    module: &Module,
    input: &ir::Input,
    source: InputSource<'_>,
    batch: usize,
    steps: u64,
) -> Result<BoundInput, RunError> {
    let unbound = || {
        options(format!(
            "input '{}' is not bound: pass {}",
            input.name,
            source.binding(&input.name)
        ))
    };
    let n = module.populations[input.population as usize].size;
    let name = input.name.as_str();
    Ok(match (input.kind, source) {
        (ir::InputKind::Array { scale }, _) => {
            let (mut s, path): (Stimulus, PathBuf) = match source {
                InputSource::Files(files) => {
                    let path = find(files, name).ok_or_else(unbound)?;
                    (load_stimulus(name, path, n, batch as u32)?, path.clone())
                }
                InputSource::Arrays(arrays) => {
                    let array = find(arrays, name).ok_or_else(unbound)?;
                    let path = array_source(name);
                    let s = stimulus_from_array(name, &path, array.clone(), n, batch as u32)?;
                    (s, path)
                }
            };
            s.require_steps(&path, steps)?;
            if scale != 1.0 {
                s.values.iter_mut().for_each(|v| *v *= scale);
            }
            BoundInput::Array(s)
        }
        (ir::InputKind::SpikeTrain, InputSource::Files(files)) => {
            let path: &Path = find(files, name).ok_or_else(unbound)?;
            BoundInput::Spikes(load_spike_train(name, path, n, module.dt)?)
        }
        (ir::InputKind::SpikeTrain, InputSource::Arrays(arrays)) => {
            let array = find(arrays, name).ok_or_else(unbound)?;
            BoundInput::Spikes(spike_train_from_array(
                name,
                &array_source(name),
                array,
                n,
                module.dt,
            )?)
        }
    })
}

fn find<'a, T>(bindings: &'a [(String, T)], name: &str) -> Option<&'a T> {
    bindings.iter().find(|(n, _)| n == name).map(|(_, v)| v)
}
