//! Connectivity, weights and delays for a run, and the memory it will need:
//! everything built from the module and the seed before the first step.

use super::{checks, options, Precision, RunError};
use crate::back::BoundInput;
use crate::diagnostic::Diagnostic;
use crate::ir::{self, Module, SynapseLayout};
use snnc_runtime::connectivity::{connect, ConnectSpec, Rule};
use snnc_runtime::connectivity_file::{self, FileConnections};
use snnc_runtime::error::SynapseValue;
use snnc_runtime::memory::{self, PopulationSize, ProjectionSize, RecordingSize, RunSizes};
use snnc_runtime::record::DEFAULT_FLUSH_BYTES;
use snnc_runtime::synapse_values::{self, ProjectionRef, SynapseTable, Weights};
use snnc_runtime::RuntimeError;

/// The synapse table of projection `k`: connections from its rule (or from
/// `file`, the connectivity read from disk for a `connect from` projection),
/// weights and delays drawn under `seed`.
pub fn synapse_table(
    module: &Module,
    k: usize,
    seed: u64,
    file: Option<FileConnections>,
) -> Result<SynapseTable, RunError> {
    let j = &module.projections[k];
    let written = written_name(module, j);
    let projection = ProjectionRef {
        name: &written,
        id: k as u32,
    };
    let (structure, weights) = match (&j.connect, file) {
        (ir::Connect::Rule(rule), _) => {
            let spec = ConnectSpec {
                projection: j.name.clone(),
                projection_id: k as u32,
                n_pre: module.populations[j.pre as usize].size,
                n_post: module.populations[j.post as usize].size,
                same_population: j.pre == j.post,
                allow_autapses: j.allow_autapses,
                seed,
                threads: 1,
            };
            let structure = connect(*rule, &spec)?;
            let weights = synapse_values::weights(&structure, projection, &j.weight, seed, 1)?;
            (structure, weights)
        }
        (ir::Connect::File { weight_scale, .. }, Some(f)) => {
            let weights = match f.weights {
                Some(w) => Weights::PerSynapse(
                    w.iter()
                        .map(|&x| (f64::from(x) * weight_scale) as f32)
                        .collect(),
                ),
                None => synapse_values::weights(&f.structure, projection, &j.weight, seed, 1)?,
            };
            (f.structure, weights)
        }
        (ir::Connect::File { path, .. }, None) => {
            return Err(options(format!(
                "projection {} reads its connections from {path}, which was not loaded",
                j.name
            )))
        }
    };
    let delays = synapse_values::delays(&structure, projection, &j.delay, module.dt, seed, 1)?;
    Ok(SynapseTable {
        structure,
        weights,
        delays,
    })
}

/// A projection as the model writes it, `L23E -> L23E` (the IR's name
/// drops the spaces), for messages about its values.
fn written_name(module: &Module, j: &ir::Projection) -> String {
    let name = |p: u32| module.populations[p as usize].name.as_str();
    format!("{} -> {}", name(j.pre), name(j.post))
}

/// A run error about a projection's weight or delay as a diagnostic at the
/// clause of the model that wrote it (at the projection when its delay is
/// the default), or about a population's rate at its override. `None` for
/// any other error, or for a module built by hand.
#[must_use]
pub fn value_error_at_source(e: &RunError, module: &Module) -> Option<Diagnostic> {
    let error = match e {
        RunError::Runtime(error) => error,
        RunError::Input(error) => return checks::rate_error_at_source(error, module),
        _ => return None,
    };
    let (id, value) = match error {
        RuntimeError::BadDelay { projection_id, .. } => (*projection_id, SynapseValue::Delay),
        RuntimeError::RedrawLimit {
            projection_id,
            value,
            ..
        } => (*projection_id, *value),
        _ => return None,
    };
    let source = module.projections.get(id as usize)?.source?;
    let span = match value {
        SynapseValue::Weight => source.weight,
        SynapseValue::Delay => source.delay.unwrap_or(source.decl),
    };
    Some(Diagnostic::error("E0404", error.to_string()).with_primary(span, format!("this {value}")))
}

/// The synapse tables of a module whose projections all use connect rules
/// (tests and benchmarks build networks this way).
pub fn rule_tables(module: &Module, seed: u64) -> Result<Vec<SynapseTable>, RunError> {
    (0..module.projections.len())
        .map(|k| synapse_table(module, k, seed, None))
        .collect()
}

/// Expected synapse count before building (for the memory check).
fn expected_synapses(rule: Rule, n_pre: u64, n_post: u64) -> u64 {
    match rule {
        Rule::FixedProb(p) => (p.clamp(0.0, 1.0) * (n_pre * n_post) as f64).ceil() as u64,
        Rule::FixedInDegree(k) => u64::from(k) * n_post,
        Rule::FixedOutDegree(k) => u64::from(k) * n_pre,
        Rule::AllToAll => n_pre * n_post,
        Rule::OneToOne => n_pre.min(n_post),
        Rule::FixedTotalNumber(n) => u64::from(n),
    }
}

/// The connections of every `connect from "file"` projection (`None` for rule
/// projections), read before the memory check: their size is what the file
/// holds, and the check needs the synapse count.
pub(super) fn read_connectivity_files(
    module: &Module,
    model_dir: &std::path::Path,
) -> Result<Vec<Option<FileConnections>>, RunError> {
    let mut from_files = Vec::with_capacity(module.projections.len());
    for j in &module.projections {
        from_files.push(match &j.connect {
            ir::Connect::File { path, .. } => Some(connectivity_file::from_file(
                &j.name,
                &model_dir.join(path),
                module.populations[j.pre as usize].size,
                module.populations[j.post as usize].size,
            )?),
            ir::Connect::Rule(_) => None,
        });
    }
    Ok(from_files)
}

/// Refuse a run that would not fit in `memory_limit` bytes (`None`: what the
/// machine has available now), before anything large is allocated.
pub(super) fn check_memory(
    module: &Module,
    from_files: &[Option<FileConnections>],
    inputs: &[BoundInput],
    batch: usize,
    precision: Precision,
    memory_limit: Option<u64>,
) -> Result<(), RunError> {
    let sizes = RunSizes {
        batch: batch as u64,
        precision_bytes: match precision {
            Precision::F64 => 8,
            Precision::F32 => 4,
        },
        populations: module
            .populations
            .iter()
            .map(|p| PopulationSize {
                neurons: u64::from(p.size),
                states: (p.states.len() + p.currents.len() + 1) as u64,
            })
            .collect(),
        projections: module
            .projections
            .iter()
            .zip(from_files)
            .map(|(j, file)| projection_size(module, j, file.as_ref()))
            .collect(),
        recordings: module
            .records
            .iter()
            .map(|_| RecordingSize {
                buffer_bytes: DEFAULT_FLUSH_BYTES as u64,
            })
            .collect(),
        per_item_bytes: checks::bytes_per_item(module),
        input_bytes: checks::input_bytes(inputs),
    };
    let estimate = memory::estimate(&sizes);
    if let Some(available) = memory_limit.or_else(memory::available_memory) {
        memory::check(&estimate, available)?;
    }
    Ok(())
}

fn projection_size(
    module: &Module,
    j: &ir::Projection,
    file: Option<&FileConnections>,
) -> ProjectionSize {
    let n_pre = u64::from(module.populations[j.pre as usize].size);
    let n_post = u64::from(module.populations[j.post as usize].size);
    let synapses = match (&j.connect, file) {
        (ir::Connect::Rule(rule), _) => expected_synapses(*rule, n_pre, n_post),
        (ir::Connect::File { .. }, Some(f)) => f.structure.len() as u64,
        (ir::Connect::File { .. }, None) => 0,
    };
    let per_syn_state = j.synapse.layout == SynapseLayout::PerSynapse;
    ProjectionSize {
        pre_neurons: n_pre,
        synapses,
        per_synapse_weights: j.weight.constant_value().is_none()
            || file.is_some_and(|f| f.weights.is_some()),
        per_synapse_delays: j.delay.constant_value().is_none(),
        // A plastic projection's weights are per synapse and batch item,
        // stored like one more synapse state.
        post_states: j.synapse.states.len() as u64 + u64::from(j.synapse.is_plastic()),
        post_neurons: if per_syn_state { synapses } else { n_post },
        max_delay_steps: j
            .delay
            .constant_value()
            .map_or(0, |d| (d / module.dt).round().max(0.0) as u64),
    }
}

/// The synapse tables of the last run of a module, by seed: a rerun with the
/// same seed (other params, inputs, durations) skips building them. Only for
/// modules whose projections all use connect rules: a file may change
/// between runs.
#[derive(Debug, Default)]
pub struct TableCache {
    seed: Option<u64>,
    tables: Vec<SynapseTable>,
}

/// Connectivity, weights and delays of every projection (shared by every
/// batch item): from `cache` when it holds this seed's, else built into
/// `built` (and kept in `cache` when the module allows).
pub(super) fn tables_for<'t>(
    module: &Module,
    from_files: Vec<Option<FileConnections>>,
    seed: u64,
    cache: Option<&'t mut TableCache>,
    built: &'t mut Vec<SynapseTable>,
) -> Result<&'t [SynapseTable], RunError> {
    let cacheable = from_files.iter().all(Option::is_none);
    match cache {
        Some(cache) if cacheable => {
            if cache.seed != Some(seed) {
                cache.seed = None;
                cache.tables = build_tables(module, from_files, seed)?;
                cache.seed = Some(seed);
            }
            Ok(&cache.tables)
        }
        _ => {
            *built = build_tables(module, from_files, seed)?;
            Ok(built)
        }
    }
}

fn build_tables(
    module: &Module,
    from_files: Vec<Option<FileConnections>>,
    seed: u64,
) -> Result<Vec<SynapseTable>, RunError> {
    from_files
        .into_iter()
        .enumerate()
        .map(|(k, file)| synapse_table(module, k, seed, file))
        .collect()
}
