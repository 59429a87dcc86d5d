//! The JIT's step loop: memory layout, initial values, threads, spike lists,
//! delay rings and callbacks. Same interface as the reference executor.
//!
//! Layout ([`memory`]): per batch item, one array per state / current /
//! refractory counter / synapse state (structure of arrays), padded to a
//! multiple of 4 so kernels run whole vectors. Threads ([`partition`]): every
//! population is cut into one contiguous chunk per thread (multiples of 4);
//! thread `t` updates its chunks and owns every synapse whose target lies in
//! them (its own sub-CSR), so it alone writes those targets, in the
//! reference's order. The only data that crosses threads are the spike lists
//! ([`spikes`]), read after one barrier per step (double-buffered by step
//! parity). Results are therefore bitwise identical for any thread count.
//!
//! A run, in phases: plan the threads and their shares, compile (or fetch)
//! the kernels, allocate every item's memory with its initial values, build
//! the kernels' context tables ([`context`]), then run the step loop
//! ([`step`]) on every thread, thread 0 reporting to the callbacks
//! ([`report`]).

mod barrier;
mod context;
mod memory;
mod partition;
mod report;
mod spikes;
mod step;
mod threads;

use std::sync::atomic::AtomicU64;
use std::time::Instant;

use super::lower::Plan;
use super::JitCache;
use crate::back::{BackendError, ExecError, Outcome, Setup};
use crate::ir::{Module, ValidModule};
use barrier::SpinBarrier;
use context::SlotSource;
use memory::{ItemMemory, ItemPtrs};
use partition::Partition;
use report::{Reporter, StateSchedule};
use snnc_runtime::spike_train::SpikeTrain;
use snnc_runtime::synapse_values::{Delays, Weights};
use spikes::SpikeLists;
use step::StepLoop;

/// Knobs beyond [`Setup`].
#[derive(Debug, Clone, Default)]
pub struct JitOptions {
    /// Worker threads; `None`: the machine's cores, fewer for small networks.
    pub threads: Option<usize>,
    /// Steps `s` with `s % e == 0` for some `e` get the full state in
    /// `on_step`; on other steps `on_step` receives an empty slice. `None`:
    /// from the module's trace records.
    pub state_every: Option<Vec<u64>>,
}

/// Run on the JIT with default options.
pub fn execute(valid: ValidModule<'_>, setup: Setup<'_>) -> Result<Outcome, ExecError> {
    execute_with(valid, setup, &JitOptions::default())
}

/// The JIT as an [`Executor`](crate::back::Executor): runs with `options`,
/// taking kernels compiled before from `cache`.
pub struct Jit<'c> {
    pub options: JitOptions,
    pub cache: &'c mut JitCache,
}

impl crate::back::Executor for Jit<'_> {
    fn name(&self) -> &'static str {
        "cranelift"
    }
    fn execute(&mut self, valid: ValidModule<'_>, setup: Setup<'_>) -> Result<Outcome, ExecError> {
        execute_cached(valid, setup, &self.options, self.cache)
    }
}

/// Run with `opts`, compiling the kernels for this run alone.
pub fn execute_with(
    valid: ValidModule<'_>,
    setup: Setup<'_>,
    opts: &JitOptions,
) -> Result<Outcome, ExecError> {
    execute_cached(valid, setup, opts, &mut JitCache::default())
}

/// Run with `opts`, taking the kernels from `cache` when the same module and
/// plan were compiled before (and adding them to it otherwise).
pub fn execute_cached(
    valid: ValidModule<'_>,
    setup: Setup<'_>,
    opts: &JitOptions,
    cache: &mut JitCache,
) -> Result<Outcome, ExecError> {
    let m = valid.module();
    let start = Instant::now();
    let nb = setup.batch.max(1) as usize;
    let tables = setup.tables;
    let pre_of = crate::back::init::pre_indices(m, tables)?;
    let by_post = crate::back::init::post_indices(m, tables)?;
    if tables.len() < m.projections.len() {
        return Err(BackendError::Internal {
            backend: "cranelift",
            what: "fewer synapse tables than projections",
        }
        .into());
    }
    let spike_sources = crate::back::spike_sources(m, setup.inputs);
    let threads = threads::thread_count(m, nb, tables, opts);
    let partition = Partition::new(m, tables, threads);
    let plan = kernel_plan(m, &setup, &spike_sources, &partition);
    let compiled = cache
        .kernels(m, &plan)
        .map_err(|e| BackendError::JitCompile { message: e.message })?;

    let mut items: Vec<ItemMemory> = (0..nb)
        .map(|b| ItemMemory::allocate(m, &setup, b))
        .collect::<Result<_, _>>()?;
    let contexts = SlotSource {
        m,
        setup: &setup,
        pre_of: &pre_of,
    }
    .contexts(&compiled, &mut items);
    let item_ptrs: Vec<ItemPtrs> = items.iter_mut().map(ItemPtrs::new).collect();
    let spike_lists = SpikeLists::new(threads, nb, &partition.ranges);
    let schedule = StateSchedule {
        traced_every: opts
            .state_every
            .clone()
            .unwrap_or_else(|| m.trace_intervals()),
        watch_every: setup.watch.as_ref().map_or(0, |w| w.every),
    };
    let reads_pre: Vec<bool> = pre_of.iter().map(Option::is_some).collect();
    let step_loop = StepLoop {
        m,
        inputs: setup.inputs,
        tables,
        f32: setup.f32,
        nb,
        steps: setup.steps,
        threads,
        partition: &partition,
        kernels: &compiled.kernels,
        contexts: &contexts,
        items: &item_ptrs,
        spike_lists: &spike_lists,
        spike_sources: &spike_sources,
        step_end_barrier: reads_pre.iter().any(|r| *r),
        reads_pre: &reads_pre,
        by_post: &by_post,
        schedule: &schedule,
        barrier: SpinBarrier::new(threads),
        stop_at: AtomicU64::new(u64::MAX),
    };
    let mut reporter = Reporter::new(
        m,
        setup.f32,
        &item_ptrs,
        &schedule,
        setup.on_step,
        setup.on_spikes,
        setup.watch,
    );
    let events = run_threads(&step_loop, &mut reporter)?;
    reporter.finish(setup.steps)?;
    let final_weights = (0..m.projections.len())
        .map(|k| {
            let n = tables[k].structure.len();
            let per_item: Option<Vec<Vec<f64>>> = items
                .iter_mut()
                .map(|item| item.learned_weights(k, n, setup.f32))
                .collect();
            per_item
        })
        .collect();
    drop(items);
    Ok(Outcome {
        spikes: reporter.spikes,
        synaptic_events: events,
        wall_s: start.elapsed().as_secs_f64(),
        threads: threads as u32,
        final_weights,
    })
}

/// What the kernels are compiled for: the module's plan with this run's
/// seed, table kinds, spike sources and delivery by index lists.
fn kernel_plan(
    m: &Module,
    setup: &Setup<'_>,
    spike_sources: &[Option<&SpikeTrain>],
    partition: &Partition,
) -> Plan {
    let mut plan = Plan::from_module(m, setup.f32);
    plan.seed = setup.seed;
    for (k, t) in setup.tables.iter().enumerate().take(m.projections.len()) {
        plan.homogeneous_weight[k] =
            matches!(t.weights, Weights::Homogeneous(_)) && !m.projections[k].synapse.is_plastic();
        plan.homogeneous_delay[k] = matches!(t.delays, Delays::Homogeneous(_));
    }
    for (p, s) in spike_sources.iter().enumerate() {
        plan.spike_source[p] = s.is_some();
    }
    for (k, sorted) in partition.sorted.iter().enumerate() {
        plan.deliver_indirect[k] = !sorted;
    }
    plan
}

/// Runs the step loop on every thread, thread 0 (this one) reporting:
/// the synaptic events of all, or the first error (a callback's, or a
/// thread's panic).
fn run_threads(
    step_loop: &StepLoop<'_>,
    reporter: &mut Reporter<'_, '_>,
) -> Result<u64, ExecError> {
    std::thread::scope(|scope| {
        let handles: Vec<_> = (1..step_loop.threads)
            .map(|t| scope.spawn(move || step_loop.work(t, None)))
            .collect();
        let first = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            step_loop.work(0, Some(reporter))
        }));
        let (mut events, mut error): (u64, Option<ExecError>) = match first {
            Ok((events, error)) => (events, error.map(ExecError::from)),
            Err(p) => (0, Some(worker_panicked(0, &*p).into())),
        };
        for (t, h) in handles.into_iter().enumerate() {
            match h.join() {
                Ok((e, _)) => events += e,
                Err(p) => {
                    error.get_or_insert_with(|| worker_panicked(t + 1, &*p).into());
                }
            }
        }
        match error {
            Some(e) => Err(e),
            None => Ok(events),
        }
    })
}

/// A worker thread's panic as the run's error.
fn worker_panicked(thread: usize, payload: &(dyn std::any::Any + Send)) -> BackendError {
    let message = payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "no message".into());
    BackendError::WorkerPanicked { thread, message }
}
