//! What `snnc run` refuses about its inputs and flags before anything sized
//! by them is allocated or written: input bindings (unknown or repeated
//! names), sweeps (unknown, repeated, non-finite, wrong count), the
//! `SNNC_THREADS` variable, `PoissonSource` rates a step cannot hold; then
//! the per-item parameter values, allocated fallibly once the memory estimate
//! has passed; and the output folders a refused run must not leave behind.

use std::fmt;
use std::path::{Path, PathBuf};

use super::{RunError, Sweep};
use crate::back::init::neuron_initial_values;
use crate::back::BoundInput;
use crate::diagnostic::Diagnostic;
use crate::front::check::{rate_above_one_per_step, POISSON_RATE, POISSON_SOURCE};
use crate::ir::{Module, Record};
use snnc_runtime::alloc::vec_filled;

/// A refusal about the run's inputs or flags, with the values involved.
#[derive(Debug, Clone, PartialEq)]
pub enum InputError {
    /// `--input NAME=…` for a name the network does not declare.
    UnknownInput { name: String, known: Vec<String> },
    /// `--input NAME=…` given twice.
    RepeatedInput {
        name: String,
        first: PathBuf,
        second: PathBuf,
    },
    /// `--sweep POP.PARAM=…` given twice.
    RepeatedSweep { population: String, param: String },
    /// `--sweep` of a population the network does not have.
    SweepUnknownPopulation { population: String, param: String },
    /// `--sweep` of a parameter the population does not have.
    SweepUnknownParam {
        population: String,
        param: String,
        params: Vec<String>,
    },
    /// `--sweep` with a NaN or infinite bound or value.
    SweepNotFinite { population: String, param: String },
    /// `--sweep POP.PARAM=A,B,C` with a count other than the batch.
    SweepCount {
        population: String,
        param: String,
        values: usize,
        batch: usize,
    },
    /// `SNNC_THREADS` set to something other than a whole number ≥ 1.
    BadThreads { value: String },
    /// A `PoissonSource` whose rate is above 1/dt: it would spike every step
    /// and report less than the rate asked for.
    PoissonRateTooHigh {
        population: String,
        rate_hz: f64,
        dt_s: f64,
        /// The batch item (a sweep can raise the rate of some items only).
        item: usize,
        /// The neuron, for a rate drawn per neuron.
        neuron: Option<u32>,
    },
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use InputError::*;
        match self {
            UnknownInput { name, known } => write!(
                f,
                "--input {name}=…: the network has no input named '{name}' (inputs: {})",
                if known.is_empty() {
                    "none".to_string()
                } else {
                    known.join(", ")
                }
            ),
            RepeatedInput {
                name,
                first,
                second,
            } => write!(
                f,
                "--input {name}=… is given twice ({} and {}): bind each input once",
                first.display(),
                second.display()
            ),
            RepeatedSweep { population, param } => write!(
                f,
                "--sweep {population}.{param} is given twice: sweep each parameter once (a list A,B,C gives any values)"
            ),
            SweepUnknownPopulation { population, param } => write!(
                f,
                "--sweep {population}.{param}: no population named '{population}'"
            ),
            SweepUnknownParam {
                population,
                param,
                params,
            } => write!(
                f,
                "--sweep {population}.{param}: population '{population}' has no parameter '{param}' (parameters: {})",
                params.join(", ")
            ),
            SweepNotFinite { population, param } => write!(
                f,
                "--sweep {population}.{param}: values must be finite"
            ),
            SweepCount {
                population,
                param,
                values,
                batch,
            } => write!(
                f,
                "--sweep {population}.{param}: {values} values for a batch of {batch} (give --batch {values} or as many values)"
            ),
            BadThreads { value } => write!(
                f,
                "SNNC_THREADS={value}: expected a whole number of threads ≥ 1 (or leave it unset to choose by the work)"
            ),
            PoissonRateTooHigh {
                population,
                rate_hz,
                dt_s,
                item,
                neuron,
            } => {
                let neuron = neuron.map_or(String::new(), |i| format!(" of neuron {i}"));
                write!(
                    f,
                    "population {population}: PoissonSource rate {rate_hz} Hz{neuron} (batch item {item}) is above 1/dt = {} Hz: at most one spike per step; lower the rate or dt",
                    1.0 / dt_s
                )
            }
        }
    }
}

impl std::error::Error for InputError {}

impl From<InputError> for RunError {
    fn from(e: InputError) -> Self {
        RunError::Input(e)
    }
}

/// Every `--input` names a declared input, and none is bound twice.
pub fn check_bindings(module: &Module, inputs: &[(String, PathBuf)]) -> Result<(), InputError> {
    for (k, (name, path)) in inputs.iter().enumerate() {
        if !module.inputs.iter().any(|i| &i.name == name) {
            return Err(InputError::UnknownInput {
                name: name.clone(),
                known: module.inputs.iter().map(|i| i.name.clone()).collect(),
            });
        }
        if let Some((_, first)) = inputs[..k].iter().find(|(n, _)| n == name) {
            return Err(InputError::RepeatedInput {
                name: name.clone(),
                first: first.clone(),
                second: path.clone(),
            });
        }
    }
    Ok(())
}

/// Where a sweep writes: population index and parameter index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SweepTarget {
    pub population: usize,
    pub param: usize,
}

/// Check every sweep against the module and the batch (nothing allocated
/// per item): the targets, in the order of `sweeps`.
pub fn sweep_targets(
    module: &Module,
    sweeps: &[Sweep],
    batch: usize,
) -> Result<Vec<SweepTarget>, InputError> {
    let mut targets = Vec::with_capacity(sweeps.len());
    for (k, sw) in sweeps.iter().enumerate() {
        let named = |population: &str, param: &str| (population.to_string(), param.to_string());
        let (population, param) = named(&sw.population, &sw.param);
        if sweeps[..k]
            .iter()
            .any(|s| s.population == sw.population && s.param == sw.param)
        {
            return Err(InputError::RepeatedSweep { population, param });
        }
        let Some(pi) = module.population_index(&sw.population) else {
            return Err(InputError::SweepUnknownPopulation { population, param });
        };
        let p = &module.populations[pi as usize];
        let Some(qi) = p.params.iter().position(|q| q.name == sw.param) else {
            let params = p.params.iter().map(|q| q.name.clone()).collect();
            return Err(InputError::SweepUnknownParam {
                population,
                param,
                params,
            });
        };
        if !(sw.from.is_finite() && sw.to.is_finite() && sw.values.iter().all(|v| v.is_finite())) {
            return Err(InputError::SweepNotFinite { population, param });
        }
        if !sw.values.is_empty() && sw.values.len() != batch {
            return Err(InputError::SweepCount {
                population,
                param,
                values: sw.values.len(),
                batch,
            });
        }
        targets.push(SweepTarget {
            population: pi as usize,
            param: qi,
        });
    }
    Ok(targets)
}

/// Bytes each batch item adds besides its neuron and synapse state, for the
/// memory estimate: its parameter values (`item_params`' layout, held twice:
/// by the driver and by the backend), its list of fired neurons (up to one
/// `u32` per neuron), the JIT's per-thread spike-list bounds (two `usize` per
/// population and thread) and its share of a trace sample row.
#[must_use]
pub fn bytes_per_item(module: &Module) -> u64 {
    const MAX_THREADS: u64 = 64;
    let neurons: u64 = module.populations.iter().map(|p| u64::from(p.size)).sum();
    let fired = 4 * neurons;
    let spike_bounds = 16 * module.populations.len() as u64 * MAX_THREADS;
    let vec_header = std::mem::size_of::<Vec<f64>>() as u64;
    let params: u64 = module
        .populations
        .iter()
        .map(|p| vec_header + 8 * p.params.len() as u64)
        .sum::<u64>()
        + vec_header;
    let traced: u64 = module
        .records
        .iter()
        .map(|r| match r {
            Record::Trace {
                population,
                neurons,
                ..
            } => neurons.as_ref().map_or_else(
                || u64::from(module.populations[*population as usize].size),
                |ns| ns.len() as u64,
            ),
            Record::Spikes { .. } => 0,
        })
        .sum();
    2 * params + fired + spike_bounds + 8 * traced
}

/// Bytes the loaded inputs hold (stimulus values, spike events).
#[must_use]
pub fn input_bytes(inputs: &[BoundInput]) -> u64 {
    inputs
        .iter()
        .map(|input| match input {
            BoundInput::Array(s) => 8 * s.values.len() as u64,
            BoundInput::Spikes(t) => 12 * t.steps.len() as u64,
        })
        .sum()
}

/// Per item, per population parameter values with the sweeps applied: item
/// `k` of `FROM:TO` gets `FROM + (TO − FROM)·k/(B−1)`. Allocated fallibly:
/// call it after the memory estimate.
pub fn item_params(
    module: &Module,
    sweeps: &[Sweep],
    targets: &[SweepTarget],
    batch: usize,
) -> Result<Vec<Vec<Vec<f64>>>, RunError> {
    let base: Vec<Vec<f64>> = module
        .populations
        .iter()
        .map(|p| p.params.iter().map(|q| q.value).collect())
        .collect();
    let mut items = vec_filled(base, batch, "the per-item parameter values")?;
    for (sw, t) in sweeps.iter().zip(targets) {
        for (k, item) in items.iter_mut().enumerate() {
            let frac = if batch > 1 {
                k as f64 / (batch - 1) as f64
            } else {
                0.0
            };
            item[t.population][t.param] = match sw.values.get(k) {
                Some(&v) => v,
                None => sw.from + (sw.to - sw.from) * frac,
            };
        }
    }
    Ok(items)
}

/// Refuse a `PoissonSource` whose rate is above 1/dt: it spikes with
/// probability `rate·dt` per step, so a rate above 1/dt would silently
/// saturate at one spike per step. The rate is a param (one value per batch
/// item, after sweeps) or, drawn per neuron (`rate = uniform(…)`), a state
/// whose initial values are computed as the backends compute them (`seed`,
/// `f32`: the run's random stream and precision).
pub fn check_poisson_rates(
    module: &Module,
    params: &[Vec<Vec<f64>>],
    seed: u64,
    f32: bool,
) -> Result<(), InputError> {
    for (pi, p) in module.populations.iter().enumerate() {
        if p.model != POISSON_SOURCE {
            continue;
        }
        let refuse = |rate_hz, item, neuron| InputError::PoissonRateTooHigh {
            population: p.name.clone(),
            rate_hz,
            dt_s: module.dt,
            item,
            neuron,
        };
        if let Some(qi) = p.params.iter().position(|q| q.name == POISSON_RATE) {
            for (item, values) in params.iter().enumerate() {
                let rate_hz = values[pi][qi];
                if rate_above_one_per_step(rate_hz, module.dt) {
                    return Err(refuse(rate_hz, item, None));
                }
            }
        } else if let Some(si) = p.states.iter().position(|s| s.name == POISSON_RATE) {
            let drawn = DrawnRates {
                module,
                population: pi,
                state: si,
                seed,
                f32,
            };
            for (item, values) in params.iter().enumerate() {
                if let Some((rate_hz, neuron)) = drawn.first_above_one_per_step(&values[pi], item) {
                    return Err(refuse(rate_hz, item, Some(neuron)));
                }
            }
        }
    }
    Ok(())
}

/// The rates of a population whose `rate` is drawn per neuron: the initial
/// values of its `state` as every backend computes them.
struct DrawnRates<'m> {
    module: &'m Module,
    population: usize,
    state: usize,
    seed: u64,
    f32: bool,
}

impl DrawnRates<'_> {
    /// The first neuron (and its rate) of batch `item`, with `params`, whose
    /// drawn rate is above 1/dt.
    fn first_above_one_per_step(&self, params: &[f64], item: usize) -> Option<(f64, u32)> {
        let dt = self.module.dt;
        let mut first = None;
        let mut put = |s: usize, i: usize, v: f64| {
            if s == self.state && first.is_none() && rate_above_one_per_step(v, dt) {
                first = Some((v, i as u32));
            }
        };
        let b = item as u32;
        neuron_initial_values(
            self.module,
            self.population,
            params,
            self.seed,
            b,
            self.f32,
            &mut put,
        );
        first
    }
}

/// A `PoissonSource` rate refused at run time as a diagnostic (E0309, the
/// rule `snnc check` applies to constant rates) at the population's `rate`
/// override, or at the population when it is swept from the default.
/// `None` for any other error, or for a module built by hand.
#[must_use]
pub fn rate_error_at_source(error: &InputError, module: &Module) -> Option<Diagnostic> {
    let InputError::PoissonRateTooHigh {
        population,
        rate_hz,
        neuron,
        ..
    } = error
    else {
        return None;
    };
    let index = module.population_index(population)?;
    let source = module.populations[index as usize].source.as_ref()?;
    let span = source
        .overrides
        .iter()
        .find(|(name, _)| name == POISSON_RATE)
        .map_or(source.decl, |&(_, span)| span);
    // A constant rate is refused by the checker: at run time the rate was
    // drawn per neuron or swept.
    let label = match neuron {
        Some(i) => format!("drawn {rate_hz} Hz for neuron {i}"),
        None => format!("swept to {rate_hz} Hz"),
    };
    Some(Diagnostic::error("E0309", error.to_string()).with_primary(span, label))
}

/// `SNNC_THREADS`, when set, must be a whole number ≥ 1 (the JIT reads it).
pub fn check_threads_env() -> Result<(), InputError> {
    match std::env::var("SNNC_THREADS") {
        Ok(value) => match value.trim().parse::<usize>() {
            Ok(n) if n >= 1 => Ok(()),
            _ => Err(InputError::BadThreads { value }),
        },
        Err(std::env::VarError::NotPresent) => Ok(()),
        Err(std::env::VarError::NotUnicode(raw)) => Err(InputError::BadThreads {
            value: raw.to_string_lossy().into_owned(),
        }),
    }
}

/// The folders `dir` and its missing ancestors, deepest first: what creating
/// `dir` adds, so a refused run can remove them again.
#[must_use]
pub fn missing_dirs(dir: &Path) -> Vec<PathBuf> {
    dir.ancestors()
        .take_while(|d| !d.as_os_str().is_empty() && !d.exists())
        .map(Path::to_path_buf)
        .collect()
}

/// Remove the folders of `missing_dirs` that are empty, deepest first: a
/// refused run leaves nothing; a run that wrote records keeps them.
pub fn remove_empty_dirs(dirs: &[PathBuf]) {
    for d in dirs {
        // Fails (and keeps the folder) when it holds anything.
        if std::fs::remove_dir(d).is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::compile_source;
    use crate::source::NoFiles;

    fn module(text: &str) -> Module {
        compile_source("t.snn", text, &NoFiles, None)
            .module
            .expect("the test model compiles")
    }

    const TWO_POPULATIONS: &str = "import std.{LIF, PoissonSource}
network n {
    dt = 0.1 ms
    duration = 1 ms
    population E = LIF[10] { tau = 10 ms }
    population X = PoissonSource[5] { rate = 10 kHz }
    record V of E[0:4]
}";

    #[test]
    fn bytes_per_item_counts_params_fired_lists_spike_bounds_and_traces() {
        let m = module(TWO_POPULATIONS);
        let params: u64 = m.populations.iter().map(|p| p.params.len() as u64).sum();
        // Vec headers: one per item, one per population (24 bytes each);
        // params held twice; 15 neurons × 4; 2 populations × 64 threads × 16;
        // 4 traced neurons × 8.
        let expected = 2 * (24 * 3 + 8 * params) + 15 * 4 + 2 * 64 * 16 + 4 * 8;
        assert_eq!(bytes_per_item(&m), expected);
    }

    #[test]
    fn a_poisson_rate_of_one_per_step_passes_and_above_it_is_refused() {
        let m = module(TWO_POPULATIONS);
        let x = m.population_index("X").unwrap() as usize;
        let rate = m.populations[x]
            .params
            .iter()
            .position(|q| q.name == "rate")
            .unwrap();
        let mut items = item_params(&m, &[], &[], 2).unwrap();
        // 10 kHz at dt = 0.1 ms: exactly one spike per step.
        assert!(check_poisson_rates(&m, &items, 0, false).is_ok());
        items[1][x][rate] = 10_001.0;
        assert_eq!(
            check_poisson_rates(&m, &items, 0, false),
            Err(InputError::PoissonRateTooHigh {
                population: "X".into(),
                rate_hz: 10_001.0,
                dt_s: m.dt,
                item: 1,
                neuron: None,
            })
        );
    }

    /// A rate drawn per neuron is checked neuron by neuron, at the run's
    /// precision: `uniform(1 kHz, 10 kHz)` never exceeds 1/dt = 10 kHz (the
    /// upper bound is excluded); `uniform(9 kHz, 10.5 kHz)` puts a third of
    /// 300 neurons above it (none above: (2/3)^300).
    #[test]
    fn a_poisson_rate_drawn_per_neuron_above_one_per_step_is_refused_with_its_neuron() {
        let drawn = |rates: &str| {
            module(&format!(
                "import std.PoissonSource
network n {{
    dt = 0.1 ms
    duration = 1 ms
    population X = PoissonSource[300] {{ rate = uniform({rates}) }}
}}"
            ))
        };
        for f32 in [false, true] {
            let below = drawn("1 kHz, 10 kHz");
            let items = item_params(&below, &[], &[], 2).unwrap();
            assert!(check_poisson_rates(&below, &items, 7, f32).is_ok());

            let above = drawn("9 kHz, 10.5 kHz");
            let items = item_params(&above, &[], &[], 2).unwrap();
            match check_poisson_rates(&above, &items, 7, f32) {
                Err(InputError::PoissonRateTooHigh {
                    population,
                    rate_hz,
                    item: 0,
                    neuron: Some(neuron),
                    ..
                }) => {
                    assert_eq!(population, "X");
                    assert!(rate_hz > 10_000.0 && rate_hz < 10_500.0, "{rate_hz}");
                    assert!(neuron < 300);
                }
                other => panic!("expected a refusal naming a neuron, got {other:?}"),
            }
        }
    }

    #[test]
    fn swept_values_are_spaced_evenly_and_a_repeat_is_refused() {
        let m = module(TWO_POPULATIONS);
        let sweep = |from, to| Sweep {
            population: "E".into(),
            param: "tau".into(),
            from,
            to,
            values: Vec::new(),
        };
        let sweeps = [sweep(0.5, 1.5)];
        let targets = sweep_targets(&m, &sweeps, 3).unwrap();
        let items = item_params(&m, &sweeps, &targets, 3).unwrap();
        let t = targets[0];
        let taus: Vec<f64> = items.iter().map(|i| i[t.population][t.param]).collect();
        assert_eq!(taus, [0.5, 1.0, 1.5]);
        let twice = [sweep(0.01, 0.03), sweep(0.02, 0.04)];
        assert_eq!(
            sweep_targets(&m, &twice, 3),
            Err(InputError::RepeatedSweep {
                population: "E".into(),
                param: "tau".into()
            })
        );
    }

    #[test]
    fn a_repeated_binding_names_both_files() {
        let m = module(
            "import std.LIF
network n {
    dt = 0.1 ms
    duration = 1 ms
    population E = LIF[2]
    stimulus drive: nA[E] from input
    E.I += drive
}",
        );
        let bind = |f: &str| ("drive".to_string(), PathBuf::from(f));
        assert!(check_bindings(&m, &[bind("a.npy")]).is_ok());
        assert_eq!(
            check_bindings(&m, &[bind("a.npy"), bind("b.npy")]),
            Err(InputError::RepeatedInput {
                name: "drive".into(),
                first: "a.npy".into(),
                second: "b.npy".into(),
            })
        );
    }

    #[test]
    fn only_the_folders_a_run_created_and_left_empty_are_removed() {
        let root = std::env::temp_dir().join(format!("snnc-dirs-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(&root).unwrap();
        let out = root.join("a/b/c");
        let created = missing_dirs(&out);
        assert_eq!(created, [out.clone(), root.join("a/b"), root.join("a")]);
        std::fs::create_dir_all(&out).unwrap();
        remove_empty_dirs(&created);
        assert!(!root.join("a").exists() && root.exists());
        // A folder holding a record stays, and so do its parents.
        std::fs::create_dir_all(&out).unwrap();
        std::fs::write(out.join("spikes_E.npy"), b"x").unwrap();
        remove_empty_dirs(&created);
        assert!(out.join("spikes_E.npy").exists());
        let _ = std::fs::remove_dir_all(&root);
    }
}
