//! `summary.json`: what a run did and how fast, for people and for the
//! benchmark scripts.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::RuntimeError;

/// Spikes of one population.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PopulationSummary {
    pub name: String,
    pub neurons: u32,
    /// Spikes over all batch items.
    pub spikes: u64,
    /// Mean rate per neuron in Hz: `spikes / (neurons · batch · simulated seconds)`.
    pub rate_hz: f64,
}

/// A param varied across the batch: its value in each batch item (SI).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepSummary {
    pub population: String,
    pub param: String,
    pub values: Vec<f64>,
}

/// The whole run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub backend: String,
    /// `"f32"` or `"f64"`.
    pub precision: String,
    pub batch: u32,
    pub seed: u64,
    pub dt_s: f64,
    pub steps: u64,
    pub simulated_s: f64,
    pub wall_s: f64,
    pub steps_per_s: f64,
    /// Delivered synaptic events (spikes × out-degree) over the run; 0 when
    /// the run stopped early (interrupted or diverged: not counted then).
    pub synaptic_events: u64,
    pub synaptic_events_per_s: f64,
    /// CPU threads that stepped the network (the JIT picks them from the
    /// work per step unless `SNNC_THREADS` is set; 1 for the other backends;
    /// 0 when the run stopped early).
    #[serde(default)]
    pub threads: u32,
    pub populations: Vec<PopulationSummary>,
    /// Params swept across the batch (`--sweep`), empty otherwise.
    #[serde(default)]
    pub sweeps: Vec<SweepSummary>,
    /// Warnings the compiler gave for the model (shown before the run).
    #[serde(default)]
    pub warnings: u32,
    /// The run was stopped by SIGINT/SIGTERM before its last step.
    #[serde(default)]
    pub interrupted: bool,
    /// Steps done: `steps`, or where an interrupted or diverged run stopped
    /// (every recording ends there).
    #[serde(default)]
    pub steps_done: u64,
    /// Why a diverged run stopped (the error message), if it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diverged: Option<String>,
}

/// The inputs a summary is computed from.
#[derive(Debug, Clone)]
pub struct RunFacts {
    pub backend: String,
    pub precision: String,
    pub batch: u32,
    pub seed: u64,
    pub dt_s: f64,
    pub steps: u64,
    pub wall_s: f64,
    pub synaptic_events: u64,
    pub threads: u32,
    /// (name, neurons, spikes) per population.
    pub spikes: Vec<(String, u32, u64)>,
}

fn per_second(count: f64, seconds: f64) -> f64 {
    if seconds > 0.0 {
        count / seconds
    } else {
        0.0
    }
}

impl Summary {
    /// Derive rates and throughputs from the raw counts.
    #[must_use]
    pub fn from_facts(facts: RunFacts) -> Self {
        let simulated_s = facts.steps as f64 * facts.dt_s;
        let populations = facts
            .spikes
            .into_iter()
            .map(|(name, neurons, spikes)| PopulationSummary {
                rate_hz: per_second(
                    spikes as f64,
                    f64::from(neurons) * f64::from(facts.batch.max(1)) * simulated_s,
                ),
                name,
                neurons,
                spikes,
            })
            .collect();
        Self {
            steps_per_s: per_second(facts.steps as f64, facts.wall_s),
            synaptic_events_per_s: per_second(facts.synaptic_events as f64, facts.wall_s),
            backend: facts.backend,
            precision: facts.precision,
            batch: facts.batch,
            seed: facts.seed,
            dt_s: facts.dt_s,
            steps: facts.steps,
            simulated_s,
            wall_s: facts.wall_s,
            synaptic_events: facts.synaptic_events,
            threads: facts.threads,
            populations,
            sweeps: Vec::new(),
            warnings: 0,
            interrupted: false,
            steps_done: facts.steps,
            diverged: None,
        }
    }

    /// A run that stopped after `steps_done` of its `steps`: simulated time,
    /// rates and throughput count the steps done.
    pub fn stopped_after(&mut self, steps_done: u64) {
        self.steps_done = steps_done;
        self.simulated_s = steps_done as f64 * self.dt_s;
        self.steps_per_s = per_second(steps_done as f64, self.wall_s);
        for p in &mut self.populations {
            p.rate_hz = per_second(
                p.spikes as f64,
                f64::from(p.neurons) * f64::from(self.batch.max(1)) * self.simulated_s,
            );
        }
    }

    /// Write as pretty JSON.
    pub fn write_json(&self, path: &Path) -> Result<(), RuntimeError> {
        let io = |message: String| RuntimeError::Io {
            role: None,
            path: path.to_path_buf(),
            message,
        };
        let mut text = serde_json::to_string_pretty(self).map_err(|e| io(e.to_string()))?;
        text.push('\n');
        std::fs::write(path, text).map_err(|e| io(e.to_string()))
    }
}
