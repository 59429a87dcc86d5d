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

//!
//! Phases, each in its own module: [`args`] (text → values), [`inputs`]
//! (bind inputs from files or arrays), [`tables`] (connectivity, memory
//! check), [`record`] (recorders to files or memory), [`simulator`] (compile
//! once, run many). [`simulate`] strings them together; [`run`] is the
//! command line's use of it.

pub mod args;
pub mod checks;
pub mod inputs;
pub mod record;
pub mod simulator;
mod tables;

use std::fmt;
use std::path::PathBuf;

use crate::back::cranelift::Jit;
use crate::back::cranelift::{JitCache, JitOptions};
use crate::back::guard::{self, Guard, Watch};
use crate::back::reference;
use crate::back::{BackendError, ExecError, Executor, Outcome, PopState, Setup};
use crate::ir::{self, Module, ValidModule};
use snnc_runtime::summary::{RunFacts, Summary, SweepSummary};
use snnc_runtime::RuntimeError;

pub use inputs::InputSource;
pub use record::{FinalWeights, RecordTo, Recorded, RecordedSpikes, RecordedTrace};
pub use simulator::Simulator;
pub use snnc_runtime::summary::Summary as RunSummary;
pub use tables::{rule_tables, synapse_table, value_error_at_source, TableCache};

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
    /// Worker threads of the cranelift backend (`None`: `SNNC_THREADS`, else
    /// chosen from the work per step).
    pub threads: Option<usize>,
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
            threads: None,
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
    /// Bindings, sweeps, `SNNC_THREADS`, source rates: see [`checks`].
    Input(checks::InputError),
    /// A plastic projection on a backend that cannot run it yet.
    Unsupported(crate::back::PlasticityUnsupported),
    /// The backend could not prepare or run the model.
    Backend(BackendError),
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
            RunError::Unsupported(e) => write!(f, "{e}"),
            RunError::Backend(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for RunError {}

impl From<RuntimeError> for RunError {
    fn from(e: RuntimeError) -> Self {
        RunError::Runtime(e)
    }
}

impl From<ExecError> for RunError {
    fn from(e: ExecError) -> Self {
        match e {
            ExecError::Runtime(e) => RunError::Runtime(e),
            ExecError::Backend(e) => RunError::Backend(e),
        }
    }
}

fn options(m: impl Into<String>) -> RunError {
    RunError::Options(m.into())
}

/// Where a run's data comes from and goes to, and what it may reuse.
pub struct RunIo<'a> {
    pub inputs: InputSource<'a>,
    pub record: RecordTo<'a>,
    /// Kernels kept from earlier runs of the same module (JIT backend).
    pub jit: &'a mut JitCache,
    /// Synapse tables kept from an earlier run of the same module (`None`:
    /// built for this run alone).
    pub tables: Option<&'a mut TableCache>,
    /// Asked every [`POLL_STEPS`] steps whether to stop; `true` ends the run
    /// with [`RuntimeError::Interrupted`].
    pub stop: Option<&'a mut dyn FnMut() -> bool>,
}

/// Steps between two calls of [`RunIo::stop`].
pub const POLL_STEPS: u64 = 1000;

/// What a run produced.
#[derive(Debug, Clone)]
pub struct RunOutput {
    pub summary: Summary,
    /// The recordings, when they went to [`RecordTo::Memory`] (empty for
    /// files).
    pub recorded: Recorded,
    /// Every plastic projection's weights at the end of the run (also
    /// written to `weights_*.npy` / `synapses_*.npy` with files).
    pub weights: Vec<FinalWeights>,
}

/// Run `module` as `opts` say, inputs from `opts.inputs` and recordings to
/// `opts.out_dir`. Returns the summary also written to
/// `out_dir/summary.json`. A refused run leaves no files and removes the
/// output folders it created.
pub fn run(module: &Module, opts: &RunOptions) -> Result<Summary, RunError> {
    let created = checks::missing_dirs(&opts.out_dir);
    let io = RunIo {
        inputs: InputSource::Files(&opts.inputs),
        record: RecordTo::Files(&opts.out_dir),
        jit: &mut JitCache::default(),
        tables: None,
        stop: None,
    };
    let result = simulate(module, opts, io).map(|out| out.summary);
    if result.is_err() {
        checks::remove_empty_dirs(&created);
    }
    result
}

/// The number of steps of a run: `duration` (seconds; `None`: the
/// network's), checked.
fn run_steps(module: &Module, duration: Option<f64>) -> Result<u64, RunError> {
    let duration = duration.unwrap_or(module.duration);
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
    Ok(steps as u64)
}

/// Run `module` as `opts` say, with data from and to `io` (`opts.inputs` and
/// `opts.out_dir` are not used: `io` says where). Everything that can be
/// refused is refused before the first step, and before anything is written.
pub fn simulate(module: &Module, opts: &RunOptions, io: RunIo<'_>) -> Result<RunOutput, RunError> {
    #[cfg(not(feature = "cuda"))]
    if opts.backend == Backend::Cuda {
        return Err(RunError::Options(NO_CUDA_FEATURE.into()));
    }
    checks::check_threads_env()?;
    ir::validate(module).map_err(RunError::InvalidModule)?;
    refuse_plastic_on_gpu(module, opts.backend)?;
    let batch = opts.batch;
    if batch == 0 || batch > u32::MAX as usize {
        return Err(options(format!(
            "--batch must be between 1 and {}, got {batch}",
            u32::MAX
        )));
    }
    let seed = opts.seed.unwrap_or(module.seed);
    let steps = run_steps(module, opts.duration)?;
    let sweep_targets = checks::sweep_targets(module, &opts.sweeps, batch)?;
    // Parameters not swept become constants (and fold); swept ones stay loads.
    let folded = ir::fold::fold_params(module, &|p, q| {
        let p = &module.populations[p];
        opts.sweeps
            .iter()
            .any(|s| s.population == p.name && s.param == p.params[q].name)
    });
    let valid = ir::validate(&folded).map_err(RunError::InvalidModule)?;
    if let InputSource::Files(files) = io.inputs {
        checks::check_bindings(module, files)?;
    }
    let bound = inputs::bind_inputs(module, io.inputs, batch, steps)?;
    let from_files = tables::read_connectivity_files(module, &opts.model_dir)?;
    tables::check_memory(
        module,
        &from_files,
        &bound,
        batch,
        opts.precision,
        opts.memory_limit,
    )?;
    // Sized by the batch: only now that the estimate says it fits.
    let params = checks::item_params(module, &opts.sweeps, &sweep_targets, batch)?;
    checks::check_poisson_rates(module, &params, seed, opts.precision == Precision::F32)?;
    let mut built = Vec::new();
    let tables = tables::tables_for(module, from_files, seed, io.tables, &mut built)?;

    let (mut spike_sinks, mut trace_sinks) = record::create(module, batch, io.record)?;
    let guard = Guard::new(module, &params);
    let mut spikes_seen = vec![0u64; module.populations.len()];
    let mut on_spikes = |pop: u32, step: u32, b: u32, fired: &[u32]| {
        spikes_seen[pop as usize] += fired.len() as u64;
        spike_sinks.record(pop, step, b, fired)
    };
    let mut progress = Progress::new(opts.progress, steps);
    let started = std::time::Instant::now();
    let mut stop = io.stop;
    let mut on_step = |step: u64, items: &[Vec<PopState>]| -> Result<(), RuntimeError> {
        crate::interrupt::check(step)?;
        progress.at(step);
        if step.is_multiple_of(POLL_STEPS) && stop.as_mut().is_some_and(|stop| stop()) {
            // The stop request is the caller's reading of SIGINT (Ctrl-C).
            return Err(RuntimeError::Interrupted { signal: 2, step });
        }
        trace_sinks.sample(step, items, &guard)
    };
    let setup = Setup {
        steps,
        batch: batch as u32,
        seed,
        f32: opts.precision == Precision::F32,
        params: params.clone(),
        inputs: &bound,
        tables,
        on_spikes: &mut on_spikes,
        on_step: &mut on_step,
        watch: Some(Watch {
            every: guard::CHECK_EVERY,
            sink: &mut |step, view| guard.check(step, view),
        }),
    };
    let result = execute(opts, valid, setup, io.jit);
    // A divergence or an interrupt stops the run with what was recorded.
    let (outcome, stopped) = guard::outcome_or_stop(result, spikes_seen, started)?;
    progress.finish();
    let recorded = record::finish(spike_sinks, trace_sinks)?;
    let weights = record::final_weights(module, tables, &outcome.final_weights, io.record)?;
    let mut summary = summarize(module, opts, seed, steps, &outcome, &params);
    if let Some(e) = &stopped {
        guard::mark_stopped(&mut summary, e);
    }
    if let RecordTo::Files(dir) = io.record {
        summary.write_json(&dir.join("summary.json"))?;
    }
    match stopped {
        Some(e) => Err(e.into()),
        None => Ok(RunOutput {
            summary,
            recorded,
            weights,
        }),
    }
}

/// Plastic projections run on the reference and the JIT (for now): refused
/// on the GPU before anything is allocated or written.
fn refuse_plastic_on_gpu(module: &Module, backend: Backend) -> Result<(), RunError> {
    let name = match backend {
        Backend::Reference | Backend::Cranelift => return Ok(()),
        Backend::Cuda => "cuda",
    };
    crate::back::refuse_plastic(module, name).map_err(RunError::Unsupported)
}

/// Execute on `opts.backend`; the JIT takes its kernels from `jit` when it
/// can.
fn execute(
    opts: &RunOptions,
    valid: ValidModule<'_>,
    setup: Setup<'_>,
    jit: &mut JitCache,
) -> Result<Outcome, ExecError> {
    let mut executor: Box<dyn Executor + '_> = match opts.backend {
        Backend::Reference => Box::new(reference::Reference),
        // States reach `on_step` only on the steps a trace samples.
        Backend::Cranelift => Box::new(Jit {
            options: JitOptions {
                threads: opts.threads,
                ..JitOptions::default()
            },
            cache: jit,
        }),
        #[cfg(feature = "cuda")]
        Backend::Cuda => Box::new(crate::back::nvptx::Cuda),
        // Refused at the start of `simulate`.
        #[cfg(not(feature = "cuda"))]
        Backend::Cuda => return Err(BackendError::NoCudaFeature.into()),
    };
    executor.execute(valid, setup)
}

/// A progress bar only for runs that last: it appears once a second has
/// passed (indicatif hides it when stderr is not a terminal).
struct Progress {
    enabled: bool,
    steps: u64,
    started: std::time::Instant,
    bar: Option<indicatif::ProgressBar>,
}

impl Progress {
    fn new(enabled: bool, steps: u64) -> Self {
        Self {
            enabled,
            steps,
            started: std::time::Instant::now(),
            bar: None,
        }
    }

    fn at(&mut self, step: u64) {
        if !self.enabled || !step.is_multiple_of(64) {
            return;
        }
        match &self.bar {
            Some(b) => b.set_position(step),
            None if self.started.elapsed().as_secs_f64() > 1.0 => {
                let b = indicatif::ProgressBar::new(self.steps);
                b.set_style(
                    indicatif::ProgressStyle::with_template(
                        "{bar:40} {pos}/{len} steps · {per_sec} · eta {eta}",
                    )
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
                );
                b.set_position(step);
                self.bar = Some(b);
            }
            None => {}
        }
    }

    fn finish(&mut self) {
        if let Some(b) = self.bar.take() {
            b.finish_and_clear();
        }
    }
}

/// `summary.json` of a finished run.
fn summarize(
    module: &Module,
    opts: &RunOptions,
    seed: u64,
    steps: u64,
    outcome: &Outcome,
    params: &[Vec<Vec<f64>>],
) -> Summary {
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
        batch: opts.batch as u32,
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
            SweepSummary {
                population: sw.population.clone(),
                param: sw.param.clone(),
                values: params.iter().map(|item| item[p][q]).collect(),
            }
        })
        .collect();
    summary
}
