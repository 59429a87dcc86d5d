//! The run driver behind `snnc run`: validate the module, bind and validate
//! inputs, check memory, build connectivity, execute on the chosen backend,
//! write recordings (`.npy`) and `summary.json` into the output directory.
//! Everything that can be refused is refused before the first step.
//!
//! Batching: item `k` uses Philox batch counter `k` for every per-neuron draw
//! (initial values, noise, injections); connectivity, weights and delays are
//! drawn once and shared. So item `k` is the same trial whatever the batch
//! size, and item 0 of a batch equals the unbatched run with the same seed.
//! A sweep `E.tau=a:b` sets the parameter of item `k` to `a + (b−a)·k/(B−1)`
//! (`a` when B = 1).

use std::fmt;
use std::path::PathBuf;

use crate::back::guard::{self, Guard, Watch};
use crate::back::reference::{self, PopState, Setup};
use crate::back::BoundInput;
use crate::ir::{self, Module, Record, SynapseLayout};
use crate::run_inputs;
use snnc_runtime::connectivity::{connect, ConnectSpec, Rule};
use snnc_runtime::connectivity_file::{self, FileConnections};
use snnc_runtime::memory::{self, PopulationSize, ProjectionSize, RecordingSize, RunSizes};
use snnc_runtime::record::{SpikeRecorder, TraceRecorder, DEFAULT_FLUSH_BYTES};
use snnc_runtime::spike_train::load_spike_train;
use snnc_runtime::stimulus::{load_stimulus, Stimulus};
use snnc_runtime::summary::{RunFacts, Summary};
use snnc_runtime::synapse_values::Weights;
use snnc_runtime::synapse_values::{self, SynapseTable};
use snnc_runtime::RuntimeError;

pub use snnc_runtime::summary::Summary as RunSummary;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Backend {
    /// The plain f64 interpreter (the oracle).
    Reference,
    /// Native code via Cranelift: the default; `--precision f32` is its
    /// natural precision.
    #[default]
    Cranelift,
    /// NVPTX kernels on an NVIDIA GPU (a build with the `cuda` feature).
    Cuda,
}

/// Why `--backend cuda` cannot run in this build.
pub const NO_CUDA_FEATURE: &str = "this snnc was built without GPU support: rebuild with `cargo build --release -p snnc --features cuda` (needs LLVM 19, see the README)";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Precision {
    #[default]
    F64,
    F32,
}

/// `--sweep POP.PARAM=FROM:TO` (SI values), or an explicit list
/// `POP.PARAM=A,B,C` (then `values` holds one value per batch item and
/// `from`/`to` are its first and last).
#[derive(Debug, Clone, PartialEq)]
pub struct Sweep {
    pub population: String,
    pub param: String,
    pub from: f64,
    pub to: f64,
    pub values: Vec<f64>,
}

#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Seconds; `None`: the network's `duration`.
    pub duration: Option<f64>,
    pub batch: usize,
    /// `None`: the network's `seed`.
    pub seed: Option<u64>,
    /// `--input NAME=FILE`.
    pub inputs: Vec<(String, PathBuf)>,
    pub out_dir: PathBuf,
    pub backend: Backend,
    pub precision: Precision,
    pub sweeps: Vec<Sweep>,
    pub progress: bool,
    /// Bytes the run may use; `None`: what the machine has available now.
    pub memory_limit: Option<u64>,
    /// Folder that relative paths in the model (`from_file("edges.npy")`)
    /// are resolved against: the model file's folder.
    pub model_dir: PathBuf,
    /// Warnings the compiler gave for the model, counted in `summary.json`.
    pub warnings: u32,
}

impl RunOptions {
    #[must_use]
    pub fn new(out_dir: PathBuf) -> Self {
        Self {
            duration: None,
            batch: 1,
            seed: None,
            inputs: Vec::new(),
            out_dir,
            backend: Backend::Reference,
            precision: Precision::F64,
            sweeps: Vec::new(),
            progress: false,
            memory_limit: None,
            warnings: 0,
            model_dir: PathBuf::from("."),
        }
    }
}

/// Why a run was refused or failed: one clear message.
#[derive(Debug)]
pub enum RunError {
    /// The IR is malformed (a compiler bug, not a user error).
    InvalidModule(Vec<ir::ValidationError>),
    /// Bad options: unknown input, missing binding, bad sweep, bad duration.
    Options(String),
    /// Files, shapes, memory, connectivity: from the runtime.
    Runtime(RuntimeError),
    /// Bindings, sweeps, `SNNC_THREADS`, source rates: see `run_inputs`.
    Input(crate::run_inputs::InputError),
}

impl fmt::Display for RunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RunError::InvalidModule(errors) => {
                write!(f, "internal error: the compiled module is invalid")?;
                for e in errors {
                    write!(f, "\n  {e}")?;
                }
                Ok(())
            }
            RunError::Options(m) => f.write_str(m),
            RunError::Runtime(e) => write!(f, "{e}"),
            RunError::Input(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for RunError {}

impl From<RuntimeError> for RunError {
    fn from(e: RuntimeError) -> Self {
        RunError::Runtime(e)
    }
}

fn options(m: impl Into<String>) -> RunError {
    RunError::Options(m.into())
}

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
            let weights = synapse_values::weights(&structure, j.weight, seed, k as u32, 1)?;
            (structure, weights)
        }
        (ir::Connect::File { weight_scale, .. }, Some(f)) => {
            let weights = match f.weights {
                Some(w) => Weights::PerSynapse(
                    w.iter()
                        .map(|&x| (f64::from(x) * weight_scale) as f32)
                        .collect(),
                ),
                None => synapse_values::weights(&f.structure, j.weight, seed, k as u32, 1)?,
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
    let delays =
        synapse_values::delays(&structure, &j.name, j.delay, module.dt, seed, k as u32, 1)?;
    Ok(SynapseTable {
        structure,
        weights,
        delays,
    })
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
    }
}

/// One recorded trace: which state of which neurons, how often, where to.
struct TraceSink {
    pop: usize,
    state: u32,
    neurons: Vec<u32>,
    every: u32,
    rec: TraceRecorder<f64>,
}

/// Run `module` as `opts` say. Returns the summary also written to
/// `out_dir/summary.json`. A refused run leaves no files and removes the
/// output folders it created.
pub fn run(module: &Module, opts: &RunOptions) -> Result<Summary, RunError> {
    let created = run_inputs::missing_dirs(&opts.out_dir);
    let result = run_and_record(module, opts);
    if result.is_err() {
        run_inputs::remove_empty_dirs(&created);
    }
    result
}

fn run_and_record(module: &Module, opts: &RunOptions) -> Result<Summary, RunError> {
    #[cfg(not(feature = "cuda"))]
    if opts.backend == Backend::Cuda {
        return Err(RunError::Options(NO_CUDA_FEATURE.into()));
    }
    run_inputs::check_threads_env()?;
    ir::validate(module).map_err(RunError::InvalidModule)?;
    let batch = opts.batch;
    if batch == 0 || batch > u32::MAX as usize {
        return Err(options(format!(
            "--batch must be between 1 and {}, got {batch}",
            u32::MAX
        )));
    }
    let seed = opts.seed.unwrap_or(module.seed);
    let duration = opts.duration.unwrap_or(module.duration);
    if !(duration.is_finite() && duration >= 0.0) {
        return Err(options(format!(
            "duration must be a non-negative time, got {duration} s"
        )));
    }
    let steps = (duration / module.dt).round();
    if steps > f64::from(u32::MAX) {
        return Err(options(format!(
            "{duration} s is {steps} steps of {} s; at most {} steps are supported",
            module.dt,
            u32::MAX
        )));
    }
    let steps = steps as u64;
    let sweep_targets = run_inputs::sweep_targets(module, &opts.sweeps, batch)?;
    // Parameters not swept become constants (and fold); swept ones stay loads.
    let folded = ir::fold::fold_params(module, &|p, q| {
        let p = &module.populations[p];
        opts.sweeps
            .iter()
            .any(|s| s.population == p.name && s.param == p.params[q].name)
    });
    let valid = ir::validate(&folded).map_err(RunError::InvalidModule)?;

    // Inputs: every declared input bound exactly once, nothing unknown.
    run_inputs::check_bindings(module, &opts.inputs)?;
    let mut bound: Vec<BoundInput> = Vec::new();
    for input in &module.inputs {
        let Some((_, path)) = opts.inputs.iter().find(|(n, _)| n == &input.name) else {
            return Err(options(format!(
                "input '{}' is not bound: pass --input {}=FILE.npy (or .csv)",
                input.name, input.name
            )));
        };
        let n = module.populations[input.population as usize].size;
        bound.push(match input.kind {
            ir::InputKind::Array { scale } => {
                let mut s: Stimulus = load_stimulus(&input.name, path, n, batch as u32)?;
                s.require_steps(path, steps)?;
                if scale != 1.0 {
                    s.values.iter_mut().for_each(|v| *v *= scale);
                }
                BoundInput::Array(s)
            }
            ir::InputKind::SpikeTrain => {
                BoundInput::Spikes(load_spike_train(&input.name, path, n, module.dt)?)
            }
        });
    }

    // Connectivity files are read before the memory check: their size is
    // what the file holds, and the check needs the synapse count.
    let mut from_files: Vec<Option<FileConnections>> = Vec::new();
    for j in &module.projections {
        from_files.push(match &j.connect {
            ir::Connect::File { path, .. } => {
                let path = opts.model_dir.join(path);
                Some(connectivity_file::from_file(
                    &j.name,
                    &path,
                    module.populations[j.pre as usize].size,
                    module.populations[j.post as usize].size,
                )?)
            }
            ir::Connect::Rule(_) => None,
        });
    }

    // Memory, before anything large is allocated.
    let precision_bytes = match opts.precision {
        Precision::F64 => 8,
        Precision::F32 => 4,
    };
    let sizes = RunSizes {
        batch: batch as u64,
        precision_bytes,
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
            .zip(&from_files)
            .map(|(j, file)| {
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
                        || file.as_ref().is_some_and(|f| f.weights.is_some()),
                    per_synapse_delays: j.delay.constant_value().is_none(),
                    post_states: j.synapse.states.len() as u64,
                    post_neurons: if per_syn_state { synapses } else { n_post },
                    max_delay_steps: j
                        .delay
                        .constant_value()
                        .map_or(0, |d| (d / module.dt).round().max(0.0) as u64),
                }
            })
            .collect(),
        recordings: module
            .records
            .iter()
            .map(|_| RecordingSize {
                buffer_bytes: DEFAULT_FLUSH_BYTES as u64,
            })
            .collect(),
        per_item_bytes: run_inputs::bytes_per_item(module),
        input_bytes: run_inputs::input_bytes(&bound),
    };
    let estimate = memory::estimate(&sizes);
    if let Some(available) = opts.memory_limit.or_else(memory::available_memory) {
        memory::check(&estimate, available)?;
    }
    // Sized by the batch: only now that the estimate says it fits.
    let params = run_inputs::item_params(module, &opts.sweeps, &sweep_targets, batch)?;
    run_inputs::check_poisson_rates(module, &params)?;

    // Connectivity, weights, delays: shared by every batch item.
    let tables = from_files
        .into_iter()
        .enumerate()
        .map(|(k, file)| synapse_table(module, k, seed, file))
        .collect::<Result<Vec<_>, _>>()?;

    // Recorders.
    std::fs::create_dir_all(&opts.out_dir).map_err(|e| {
        options(format!(
            "cannot create output directory {}: {e}",
            opts.out_dir.display()
        ))
    })?;
    let batch_dim = (batch > 1).then_some(batch as u32);
    let mut spike_rec: Vec<Option<SpikeRecorder>> =
        module.populations.iter().map(|_| None).collect();
    let mut traces: Vec<TraceSink> = Vec::new();
    for r in &module.records {
        match r {
            Record::Spikes { population } => {
                let name = &module.populations[*population as usize].name;
                let path = opts.out_dir.join(format!("spikes_{name}.npy"));
                spike_rec[*population as usize] =
                    Some(SpikeRecorder::create(&path, DEFAULT_FLUSH_BYTES)?);
            }
            Record::Trace {
                population,
                state,
                neurons,
                every,
            } => {
                let p = &module.populations[*population as usize];
                let ns: Vec<u32> = neurons.clone().unwrap_or_else(|| (0..p.size).collect());
                let path = opts.out_dir.join(format!(
                    "trace_{}_{}.npy",
                    p.name, p.states[*state as usize].name
                ));
                let rec =
                    TraceRecorder::create(&path, ns.len() as u32, batch_dim, DEFAULT_FLUSH_BYTES)?;
                traces.push(TraceSink {
                    pop: *population as usize,
                    state: *state,
                    neurons: ns,
                    every: *every,
                    rec,
                });
            }
        }
    }

    let guard = Guard::new(module, &params);
    let mut spikes_seen = vec![0u64; module.populations.len()];
    let mut on_spikes = |pop: u32, step: u32, b: u32, fired: &[u32]| -> Result<(), RuntimeError> {
        spikes_seen[pop as usize] += fired.len() as u64;
        if let Some(rec) = &mut spike_rec[pop as usize] {
            rec.record_step(step, b, fired)?;
        }
        Ok(())
    };
    let mut row = Vec::new();
    let progress = opts.progress;
    // A bar only for runs that last: it appears once a second has passed
    // (indicatif hides it when stderr is not a terminal).
    let started = std::time::Instant::now();
    let mut bar: Option<indicatif::ProgressBar> = None;
    let mut on_step = |step: u64, items: &[Vec<PopState>]| -> Result<(), RuntimeError> {
        crate::interrupt::check(step)?;
        if progress && step.is_multiple_of(64) {
            match &bar {
                Some(b) => b.set_position(step),
                None if started.elapsed().as_secs_f64() > 1.0 => {
                    let b = indicatif::ProgressBar::new(steps);
                    b.set_style(
                        indicatif::ProgressStyle::with_template(
                            "{bar:40} {pos}/{len} steps · {per_sec} · eta {eta}",
                        )
                        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
                    );
                    b.set_position(step);
                    bar = Some(b);
                }
                None => {}
            }
        }
        for TraceSink {
            pop,
            state,
            neurons: ns,
            every,
            rec,
        } in &mut traces
        {
            if !step.is_multiple_of(u64::from(*every)) {
                continue;
            }
            row.clear();
            for item in items {
                let values = &item[*pop].states[*state as usize];
                row.extend(ns.iter().map(|&n| values[n as usize]));
            }
            guard.check_trace(step, (*pop, *state as usize), ns, &row)?;
            rec.sample(&row)?;
        }
        Ok(())
    };
    let setup = Setup {
        steps,
        batch: batch as u32,
        seed,
        f32: opts.precision == Precision::F32,
        params: params.clone(),
        inputs: &bound,
        tables: &tables,
        on_spikes: &mut on_spikes,
        on_step: &mut on_step,
        watch: Some(Watch {
            every: guard::CHECK_EVERY,
            sink: &mut |step, view| guard.check(step, view),
        }),
    };
    let result = match opts.backend {
        Backend::Reference => reference::execute(valid, setup),
        // States reach `on_step` only on the steps a trace samples.
        Backend::Cranelift => crate::back::cranelift::execute(valid, setup),
        #[cfg(feature = "cuda")]
        Backend::Cuda => crate::back::nvptx::execute_cuda(valid, setup),
        #[cfg(not(feature = "cuda"))]
        Backend::Cuda => return Err(RunError::Options(NO_CUDA_FEATURE.into())),
    };
    let (outcome, stopped) = guard::outcome_or_stop(result, spikes_seen, started)?;
    if let Some(b) = bar.take() {
        b.finish_and_clear();
    }
    for rec in spike_rec.into_iter().flatten() {
        rec.finish()?;
    }
    for TraceSink { rec, .. } in traces {
        rec.finish()?;
    }
    let mut summary = Summary::from_facts(RunFacts {
        backend: match opts.backend {
            Backend::Reference => "reference".into(),
            Backend::Cranelift => "cranelift".into(),
            Backend::Cuda => "cuda".into(),
        },
        precision: match opts.precision {
            Precision::F64 => "f64".into(),
            Precision::F32 => "f32".into(),
        },
        batch: batch as u32,
        seed,
        dt_s: module.dt,
        steps,
        wall_s: outcome.wall_s,
        synaptic_events: outcome.synaptic_events,
        threads: outcome.threads,
        spikes: module
            .populations
            .iter()
            .zip(&outcome.spikes)
            .map(|(p, &s)| (p.name.clone(), p.size, s))
            .collect(),
    });
    summary.warnings = opts.warnings;
    summary.sweeps = opts
        .sweeps
        .iter()
        .map(|sw| {
            let p = module
                .population_index(&sw.population)
                .map_or(0, |i| i as usize);
            let q = module.populations[p]
                .params
                .iter()
                .position(|q| q.name == sw.param)
                .unwrap_or(0);
            snnc_runtime::summary::SweepSummary {
                population: sw.population.clone(),
                param: sw.param.clone(),
                values: params.iter().map(|item| item[p][q]).collect(),
            }
        })
        .collect();
    if let Some(e) = &stopped {
        guard::mark_stopped(&mut summary, e);
    }
    summary.write_json(&opts.out_dir.join("summary.json"))?;
    match stopped {
        Some(e) => Err(e.into()),
        None => Ok(summary),
    }
}
