//! The JIT's step loop: memory layout, initial values, threads, spike lists,
//! delay rings and callbacks. Same interface as the reference executor.
//!
//! Layout: per batch item, one array per state / current / refractory
//! counter / synapse state (structure of arrays), padded to a multiple of 4
//! so kernels run whole vectors. Threads: every population is cut into one
//! contiguous chunk per thread (multiples of 4); thread `t` updates its chunks
//! and owns every synapse whose target lies in them (its own sub-CSR), so it
//! alone writes those targets, in the reference's order. The only data that
//! crosses threads are the spike lists, read after one barrier per step
//! (double-buffered by step parity). Results are therefore bitwise identical
//! for any thread count.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::lower::{KernelKind, Plan, Slot};
use super::rt::pack_key;
use super::{Compiled, JitCache, KernelFn};
use crate::back::init::{neuron_initial_values, synapse_initial_values, InitEnv};
use crate::back::reference::eval::eval;
use crate::back::BoundInput;
use crate::back::{Outcome, PopState, Setup};
use crate::ir::SYNAPSE_KEY_BIT;
use crate::ir::{Expr, Module, SynapseLayout, ValidModule};
use snnc_runtime::alloc::vec_filled;
use snnc_runtime::rng::{key_for, Purpose};
use snnc_runtime::spike_train::SpikeTrain;
use snnc_runtime::synapse_values::{Delays, Weights};
use snnc_runtime::RuntimeError;

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

const PAD: usize = 4;

/// Thread chunks start on multiples of this many neurons: whole cache lines
/// of every per-neuron array (16 f32 or f64), whole groups of f32 draws.
const CHUNK: usize = 32;

/// Automatic thread count: one thread per this many work units per step
/// (neuron updates weighted by [`neuron_cost`] + synapses/50). COBA's 4,000
/// LIF neurons and 320,000 synapses are 10,400: one thread. Their step lasts
/// ~5 µs, and on a 2-core VM two threads ranged from 1.8× faster to 2× slower
/// than one (a vCPU taken away for a moment stalls the per-step barrier);
/// COBAHH (4,000 × 29) and the seed network (10,000 × 2 + 20,000) run 1.8–2.2×
/// faster on two.
const AUTO_WORK_PER_THREAD: usize = 16_384;

fn padded(n: usize) -> usize {
    n.div_ceil(PAD) * PAD
}

/// One cache line.
#[derive(Clone, Copy)]
#[repr(C, align(64))]
struct Line([u64; 8]);

/// Raw storage for `len` elements of `elem` bytes, starting on a cache line:
/// with chunk bounds on [`CHUNK`] elements, no two threads write one line.
struct Arr {
    data: Vec<Line>,
}

impl Arr {
    /// Zeroed; allocated fallibly (sizes come from the model).
    fn new(len: usize, elem: usize) -> Result<Self, RuntimeError> {
        let lines = len.saturating_mul(elem).div_ceil(64).max(1);
        Ok(Self {
            data: vec_filled(Line([0; 8]), lines, "the JIT's state arrays")?,
        })
    }
    fn ptr(&mut self) -> *mut u8 {
        self.data.as_mut_ptr().cast()
    }
}

/// A pointer that may cross threads (the step protocol keeps accesses apart).
#[derive(Clone, Copy)]
struct P(*mut u8);
// SAFETY: see the module docs: every location is written by one thread
// between barriers, and read by others only after a barrier.
unsafe impl Send for P {}
unsafe impl Sync for P {}

fn rd(p: P, i: usize, f32: bool) -> f64 {
    // SAFETY: callers pass indices inside the array.
    unsafe {
        if f32 {
            f64::from(*p.0.cast::<f32>().add(i))
        } else {
            *p.0.cast::<f64>().add(i)
        }
    }
}

fn wr(p: P, i: usize, f32: bool, v: f64) {
    // SAFETY: callers pass indices inside the array.
    unsafe {
        if f32 {
            *p.0.cast::<f32>().add(i) = v as f32;
        } else {
            *p.0.cast::<f64>().add(i) = v;
        }
    }
}

fn rd_count(p: P, i: usize, f32: bool) -> u32 {
    // SAFETY: as `rd`.
    unsafe {
        if f32 {
            (*p.0.cast::<i32>().add(i)).max(0) as u32
        } else {
            (*p.0.cast::<i64>().add(i)).clamp(0, i64::from(u32::MAX)) as u32
        }
    }
}

/// State of one batch item.
struct Item {
    states: Vec<Vec<Arr>>,
    currents: Vec<Vec<Arr>>,
    refr: Vec<Arr>,
    syn: Vec<Vec<Arr>>,
    scratch: Vec<Arr>,
    inputs: Vec<Arr>,
}

/// A barrier that spins briefly (a step is microseconds, so sleeping at once
/// would cost more than the work) and then sleeps, so that an oversubscribed
/// machine does not burn the time slice the other thread needs.
struct SpinBarrier {
    n: usize,
    count: AtomicUsize,
    generation: AtomicUsize,
    sleepers: AtomicUsize,
    /// Set when a thread panicked: every wait returns at once.
    broken: AtomicBool,
    lock: Mutex<()>,
    cv: Condvar,
}

impl SpinBarrier {
    fn new(n: usize) -> Self {
        Self {
            n,
            count: AtomicUsize::new(0),
            generation: AtomicUsize::new(0),
            sleepers: AtomicUsize::new(0),
            broken: AtomicBool::new(false),
            lock: Mutex::new(()),
            cv: Condvar::new(),
        }
    }
    /// Release every waiter now and make later waits return at once.
    fn break_all(&self) {
        self.broken.store(true, Ordering::SeqCst);
        self.generation.fetch_add(1, Ordering::SeqCst);
        let _l = self.lock.lock().unwrap_or_else(PoisonError::into_inner);
        self.cv.notify_all();
    }

    fn wait(&self) {
        if self.n <= 1 || self.broken.load(Ordering::SeqCst) {
            return;
        }
        let g = self.generation.load(Ordering::SeqCst);
        if self.count.fetch_add(1, Ordering::SeqCst) + 1 == self.n {
            self.count.store(0, Ordering::SeqCst);
            self.generation.fetch_add(1, Ordering::SeqCst);
            if self.sleepers.load(Ordering::SeqCst) > 0 {
                let _l = self.lock.lock().unwrap_or_else(PoisonError::into_inner);
                self.cv.notify_all();
            }
            return;
        }
        for _ in 0..4000 {
            if self.generation.load(Ordering::SeqCst) != g || self.broken.load(Ordering::SeqCst) {
                return;
            }
            std::hint::spin_loop();
        }
        self.sleepers.fetch_add(1, Ordering::SeqCst);
        let mut l = self.lock.lock().unwrap_or_else(PoisonError::into_inner);
        while self.generation.load(Ordering::SeqCst) == g && !self.broken.load(Ordering::SeqCst) {
            l = self
                .cv
                .wait_timeout(l, Duration::from_millis(1))
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        drop(l);
        self.sleepers.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Dropped when a worker's step loop ends; if it ends by a panic, the
/// barrier is broken and `abort` set, so that the other threads leave at
/// their next barrier instead of waiting for this one for ever.
struct ReleaseOnPanic<'a> {
    barrier: &'a SpinBarrier,
    abort: &'a AtomicBool,
}

impl Drop for ReleaseOnPanic<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.abort.store(true, Ordering::Release);
            self.barrier.break_all();
        }
    }
}

/// A worker thread's panic as the run's error.
fn worker_panicked(thread: usize, payload: &(dyn std::any::Any + Send)) -> RuntimeError {
    let message = payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "no message".into());
    RuntimeError::Backend {
        backend: "cranelift".into(),
        message: format!("worker thread {thread} panicked: {message}"),
    }
}

fn jit_error(e: &super::JitError) -> RuntimeError {
    RuntimeError::Backend {
        backend: "cranelift".into(),
        message: e.message.clone(),
    }
}

/// Refractory count for a host-computable period, as the reference computes it.
fn host_count(m: &Module, p: usize, params: &[f64], f32: bool) -> u64 {
    let Some(crate::ir::Refractory::Period(rf)) = m.populations[p].refractory else {
        return 0;
    };
    let v = eval(
        &m.exprs,
        rf,
        &InitEnv {
            s: &[],
            params,
            synapse: false,
            dt: m.dt,
            key: [0, 0],
            index: 0,
            batch: 0,
            f32,
        },
    ) / m.dt;
    let cap = if f32 {
        f64::from(i32::MAX)
    } else {
        f64::from(u32::MAX)
    };
    if v.is_finite() && v > 0.0 {
        v.round().min(cap) as u64
    } else {
        0
    }
}

/// Runnable threads on the machine right now besides this one (Linux), if
/// known. Instantaneous, unlike the load average, which still counts a
/// compiler that finished half a minute ago.
fn others_running() -> Option<usize> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let n: usize = stat
        .lines()
        .find_map(|l| l.strip_prefix("procs_running"))?
        .trim()
        .parse()
        .ok()?;
    Some(n.saturating_sub(1))
}

/// Rough cost of one neuron's update, in units of a plain LIF update: the
/// distinct IR nodes of its ODE updates, spike condition and injections, a
/// transcendental function or a draw counting as 20 (an HH neuron costs about
/// 30 LIF neurons, so 4,000 of them need both cores while COBA's 4,000 LIF
/// neurons do not).
fn neuron_cost(m: &Module, p: usize) -> usize {
    let pop = &m.populations[p];
    let mut roots: Vec<_> = pop
        .odes
        .iter()
        .map(|o| o.update.unwrap_or(o.rhs))
        .chain(pop.spike)
        .collect();
    roots.extend(
        m.injections
            .iter()
            .filter(|i| i.population as usize == p)
            .map(|i| i.value),
    );
    let mut seen = std::collections::HashSet::new();
    let mut cost = 0;
    while let Some(h) = roots.pop() {
        if !seen.insert(h.index()) {
            continue;
        }
        let e = &m.exprs[h];
        cost += match e {
            Expr::Const(_) | Expr::Load(_) => 0,
            Expr::Math(..) | Expr::Random { .. } => 20,
            _ => 1,
        };
        roots.extend(e.children());
    }
    (cost / 12).max(1)
}

/// Threads for a run: `opts.threads`, else `SNNC_THREADS`, else by the work
/// per step (neuron updates and expected synaptic events), at most the cores.
fn thread_count(
    m: &Module,
    nb: usize,
    tables: &[snnc_runtime::synapse_values::SynapseTable],
    opts: &JitOptions,
) -> usize {
    let env = std::env::var("SNNC_THREADS")
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|&n| n > 0);
    let avail = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    opts.threads
        .or(env)
        .unwrap_or_else(|| {
            let neurons: usize = (0..m.populations.len())
                .map(|p| m.populations[p].size as usize * neuron_cost(m, p))
                .sum();
            let synapses: usize = tables.iter().map(|t| t.structure.len()).sum();
            // Work units per step: a neuron update ~ 1, a synapse ~ 1/50
            // (a few percent of the synapses see an event each step).
            let work = (neurons + synapses / 50) * nb;
            let by_work = avail.min((work / AUTO_WORK_PER_THREAD).max(1));
            // On an oversubscribed machine a per-step barrier waits for a
            // descheduled thread (measured: 2 threads twice as slow as 1 with
            // 4 busy threads on 2 cores): then one thread, unless steps are
            // long enough that a barrier's wait does not matter.
            let small_steps = work < 16 * AUTO_WORK_PER_THREAD;
            if small_steps && others_running().is_some_and(|n| n >= avail) {
                1
            } else {
                by_work
            }
        })
        .clamp(1, 64)
}

/// Run on the JIT with default options.
pub fn execute(valid: ValidModule<'_>, setup: Setup<'_>) -> Result<Outcome, RuntimeError> {
    execute_with(valid, setup, &JitOptions::default())
}

/// The synapses of one projection that one thread owns (those whose target
/// lies in its chunk), by presynaptic row, in table order. Without a copy of
/// the table: row `r`'s owned synapses are `lo[r]..hi[r]` (global synapse
/// indices) when every row is sorted by target (or one thread owns all);
/// otherwise (`indirect`) `syn[rp[r]..rp[r + 1]]` lists them.
struct Sub {
    /// Address of `lo[0]` / `hi[0]` (u64 arrays of `n_pre` entries): into the
    /// table's `row_ptr` or into `Part::splits`.
    lo: u64,
    hi: u64,
    indirect: bool,
    rp: Vec<u64>,
    /// Owned synapse indices: for `indirect`, and for per-synapse kernels.
    syn: Vec<u32>,
}

/// Whether every row of a table lists its targets in ascending order.
fn rows_sorted(st: &snnc_runtime::connectivity::Structure) -> bool {
    (0..st.n_pre as usize).all(|r| {
        let a = st.row_ptr[r] as usize;
        let b = st.row_ptr[r + 1] as usize;
        st.cols[a..b].windows(2).all(|w| w[0] <= w[1])
    })
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
    fn execute(
        &mut self,
        valid: ValidModule<'_>,
        setup: Setup<'_>,
    ) -> Result<Outcome, RuntimeError> {
        execute_cached(valid, setup, &self.options, self.cache)
    }
}

/// Run with `opts`, compiling the kernels for this run alone.
pub fn execute_with(
    valid: ValidModule<'_>,
    setup: Setup<'_>,
    opts: &JitOptions,
) -> Result<Outcome, RuntimeError> {
    execute_cached(valid, setup, opts, &mut JitCache::default())
}

/// Run with `opts`, taking the kernels from `cache` when the same module and
/// plan were compiled before (and adding them to it otherwise).
#[allow(clippy::too_many_lines)]
pub fn execute_cached(
    valid: ValidModule<'_>,
    setup: Setup<'_>,
    opts: &JitOptions,
    cache: &mut JitCache,
) -> Result<Outcome, RuntimeError> {
    let m = valid.module();
    let start = Instant::now();
    let f32 = setup.f32;
    let es = if f32 { 4 } else { 8 };
    let nb = setup.batch.max(1) as usize;
    let tables = setup.tables;
    let pre_of = crate::back::init::pre_indices(m, tables)?;
    // Synapse code reading `pre.X` reads neurons other threads update: its
    // synapse dynamics run after the step's barrier (all neurons updated),
    // and a second barrier ends the step (no neuron of the next step is
    // updated while a delivery still reads it).
    let reads_pre: Vec<bool> = pre_of.iter().map(Option::is_some).collect();
    let step_end_barrier = reads_pre.iter().any(|r| *r);
    let npop = m.populations.len();
    let nproj = m.projections.len();
    if tables.len() < nproj {
        return Err(jit_error(&super::err(
            "fewer synapse tables than projections",
        )));
    }

    let mut plan = Plan::from_module(m, f32);
    plan.seed = setup.seed;
    for (k, t) in tables.iter().enumerate().take(nproj) {
        plan.homogeneous_weight[k] = matches!(t.weights, Weights::Homogeneous(_));
        plan.homogeneous_delay[k] = matches!(t.delays, Delays::Homogeneous(_));
    }
    let spike_sources: Vec<Option<&SpikeTrain>> = (0..npop)
        .map(|pi| {
            m.inputs
                .iter()
                .zip(setup.inputs)
                .find_map(|(input, data)| match data {
                    BoundInput::Spikes(t) if input.population as usize == pi => Some(t),
                    _ => None,
                })
        })
        .collect();
    for (p, s) in spike_sources.iter().enumerate() {
        plan.spike_source[p] = s.is_some();
    }
    // Threads and partition.
    let threads = thread_count(m, nb, tables, opts);
    let ranges: Vec<Vec<(usize, usize)>> = m
        .populations
        .iter()
        .map(|p| {
            let np = padded(p.size as usize);
            let q = np.div_ceil(threads).div_ceil(CHUNK) * CHUNK;
            (0..threads)
                .map(|t| ((t * q).min(np), ((t + 1) * q).min(np)))
                .collect()
        })
        .collect();
    let sorted: Vec<bool> = tables
        .iter()
        .take(nproj)
        .map(|tb| threads == 1 || rows_sorted(&tb.structure))
        .collect();
    for (k, s) in sorted.iter().enumerate() {
        plan.deliver_indirect[k] = !s;
    }
    // splits[k][b - 1][r]: first synapse of row r whose target is ≥ the start
    // of thread b's chunk (sorted tables, b in 1..threads).
    let splits: Vec<Vec<Vec<u64>>> = m
        .projections
        .iter()
        .zip(tables)
        .enumerate()
        .map(|(k, (j, tb))| {
            if !sorted[k] {
                return Vec::new();
            }
            let st = &tb.structure;
            (1..threads)
                .map(|b| {
                    let c0 = ranges[j.post as usize][b].0;
                    (0..st.n_pre as usize)
                        .map(|r| {
                            let a = st.row_ptr[r] as usize;
                            let e = st.row_ptr[r + 1] as usize;
                            (a + st.cols[a..e].partition_point(|&c| (c as usize) < c0)) as u64
                        })
                        .collect()
                })
                .collect()
        })
        .collect();
    // subs[t][k]
    let subs: Vec<Vec<Sub>> = (0..threads)
        .map(|t| {
            m.projections
                .iter()
                .zip(tables)
                .enumerate()
                .map(|(k, (j, tb))| {
                    let (lo, hi) = ranges[j.post as usize][t];
                    let st = &tb.structure;
                    let rp0 = st.row_ptr.as_ptr() as u64;
                    let per_syn = j.synapse.layout == SynapseLayout::PerSynapse
                        && (j.output.is_some() || !j.synapse.odes.is_empty());
                    let owned = |s: usize| {
                        let c = st.cols[s] as usize;
                        c >= lo && c < hi
                    };
                    if sorted[k] {
                        let lo_a = if t == 0 {
                            rp0
                        } else {
                            splits[k][t - 1].as_ptr() as u64
                        };
                        let hi_a = if t + 1 == threads {
                            rp0 + 8
                        } else {
                            splits[k][t].as_ptr() as u64
                        };
                        let syn = if per_syn {
                            (0..st.len())
                                .filter(|&s| owned(s))
                                .map(|s| s as u32)
                                .collect()
                        } else {
                            Vec::new()
                        };
                        return Sub {
                            lo: lo_a,
                            hi: hi_a,
                            indirect: false,
                            rp: Vec::new(),
                            syn,
                        };
                    }
                    let mut rp = Vec::with_capacity(st.n_pre as usize + 1);
                    let mut syn = Vec::new();
                    rp.push(0u64);
                    for pre in 0..st.n_pre as usize {
                        let a = st.row_ptr[pre] as usize;
                        let b = st.row_ptr[pre + 1] as usize;
                        syn.extend((a..b).filter(|&s| owned(s)).map(|s| s as u32));
                        rp.push(syn.len() as u64);
                    }
                    let a = rp.as_ptr() as u64;
                    Sub {
                        lo: a,
                        hi: a + 8,
                        indirect: true,
                        rp,
                        syn,
                    }
                })
                .collect()
        })
        .collect();
    let compiled: Arc<Compiled> = cache.kernels(m, &plan).map_err(|e| jit_error(&e))?;

    // Memory and initial values.
    let mut items: Vec<Item> = Vec::with_capacity(nb);
    for b in 0..nb {
        let params = &setup.params[b];
        let mut item = Item {
            states: Vec::new(),
            currents: Vec::new(),
            refr: Vec::new(),
            syn: Vec::new(),
            scratch: Vec::new(),
            inputs: Vec::new(),
        };
        for (k, p) in m.populations.iter().enumerate() {
            let np = padded(p.size as usize);
            let mut st: Vec<Arr> = (0..p.states.len())
                .map(|_| Arr::new(np, es))
                .collect::<Result<_, _>>()?;
            let prm: &[f64] = params.get(k).map_or(&[], Vec::as_slice);
            let ptrs: Vec<P> = st.iter_mut().map(|a| P(a.ptr())).collect();
            neuron_initial_values(m, k, prm, setup.seed, b as u32, f32, &mut |s, i, v| {
                wr(ptrs[s], i, f32, v);
            });
            item.states.push(st);
            item.currents.push(
                (0..p.currents.len())
                    .map(|_| Arr::new(np, es))
                    .collect::<Result<_, _>>()?,
            );
            item.refr.push(Arr::new(np, es)?);
        }
        for (k, (j, t)) in m.projections.iter().zip(tables).enumerate() {
            let n_post = m.populations[j.post as usize].size as usize;
            let len = match j.synapse.layout {
                SynapseLayout::AlignPost => n_post,
                SynapseLayout::PerSynapse => t.structure.len(),
            };
            let ns = j.synapse.states.len();
            let mut arrs: Vec<Arr> = (0..ns)
                .map(|_| Arr::new(padded(len), es))
                .collect::<Result<_, _>>()?;
            let ptrs: Vec<P> = arrs.iter_mut().map(|a| P(a.ptr())).collect();
            synapse_initial_values(m, k, len, setup.seed, b as u32, f32, &mut |s, x, v| {
                wr(ptrs[s], x, f32, v);
            });
            item.syn.push(arrs);
            item.scratch.push(Arr::new(padded(n_post), es)?);
        }
        for input in &m.inputs {
            let n = m.populations[input.population as usize].size as usize;
            item.inputs.push(Arr::new(padded(n), es)?);
        }
        items.push(item);
    }

    // Context tables: ctxs[kernel][batch].
    let mut ctxs: Vec<Vec<Vec<u64>>> = Vec::new();
    for (_, slots, _) in &compiled.kernels {
        let mut per_b = Vec::new();
        for (b, item) in items.iter_mut().enumerate() {
            let mut c = Vec::with_capacity(slots.len());
            for s in slots {
                c.push(match *s {
                    Slot::State { pop, state } => {
                        item.states[pop as usize][state as usize].ptr() as u64
                    }
                    Slot::Current { pop, cur } => {
                        item.currents[pop as usize][cur as usize].ptr() as u64
                    }
                    Slot::Refr { pop } => item.refr[pop as usize].ptr() as u64,
                    Slot::Param { pop, q } => setup
                        .params
                        .get(b)
                        .and_then(|x| x.get(pop as usize))
                        .and_then(|x| x.get(q as usize))
                        .copied()
                        .unwrap_or(m.populations[pop as usize].params[q as usize].value)
                        .to_bits(),
                    Slot::RefCount { pop } => {
                        let prm: &[f64] =
                            setup.params[b].get(pop as usize).map_or(&[], Vec::as_slice);
                        host_count(m, pop as usize, prm, f32)
                    }
                    Slot::Syn { proj, state } => {
                        item.syn[proj as usize][state as usize].ptr() as u64
                    }
                    Slot::Scratch { proj } => item.scratch[proj as usize].ptr() as u64,
                    Slot::Cols { proj } => tables[proj as usize].structure.cols.as_ptr() as u64,
                    Slot::PreOf { proj } => pre_of[proj as usize]
                        .as_ref()
                        .map_or(0, |v| v.as_ptr() as u64),
                    Slot::Weights { proj } => match &tables[proj as usize].weights {
                        Weights::PerSynapse(v) => v.as_ptr() as u64,
                        Weights::Homogeneous(_) => 0,
                    },
                    Slot::Weight { proj } => match &tables[proj as usize].weights {
                        Weights::Homogeneous(w) if f32 => u64::from(w.to_bits()),
                        Weights::Homogeneous(w) => f64::from(*w).to_bits(),
                        Weights::PerSynapse(_) => 0,
                    },
                    Slot::Input { input } => item.inputs[input as usize].ptr() as u64,
                    Slot::KeyNoise { pop } => {
                        pack_key(key_for(setup.seed, Purpose::ModelNoise { population: pop }))
                    }
                    Slot::KeyInjection { inj } => {
                        pack_key(key_for(setup.seed, Purpose::Injection { injection: inj }))
                    }
                    Slot::KeySyn { proj } => pack_key(key_for(
                        setup.seed,
                        Purpose::ModelNoise {
                            population: SYNAPSE_KEY_BIT | proj,
                        },
                    )),
                    Slot::Batch => b as u64,
                });
            }
            per_b.push(c);
        }
        ctxs.push(per_b);
    }

    // Raw views for the threads.
    let state_ptrs: Vec<Vec<Vec<P>>> = items
        .iter_mut()
        .map(|it| {
            it.states
                .iter_mut()
                .map(|v| v.iter_mut().map(|a| P(a.ptr())).collect())
                .collect()
        })
        .collect();
    let cur_ptrs: Vec<Vec<Vec<P>>> = items
        .iter_mut()
        .map(|it| {
            it.currents
                .iter_mut()
                .map(|v| v.iter_mut().map(|a| P(a.ptr())).collect())
                .collect()
        })
        .collect();
    let refr_ptrs: Vec<Vec<P>> = items
        .iter_mut()
        .map(|it| it.refr.iter_mut().map(|a| P(a.ptr())).collect())
        .collect();
    let scratch_ptrs: Vec<Vec<P>> = items
        .iter_mut()
        .map(|it| it.scratch.iter_mut().map(|a| P(a.ptr())).collect())
        .collect();
    let input_ptrs: Vec<Vec<P>> = items
        .iter_mut()
        .map(|it| it.inputs.iter_mut().map(|a| P(a.ptr())).collect())
        .collect();

    // Spike buffers: spk[t][b][p][parity], counts alike.
    let mut spk_store: Vec<Vec<u32>> = Vec::new();
    let mut spk_index = vec![vec![vec![[0usize; 2]; npop]; nb]; threads];
    for (t, per_t) in spk_index.iter_mut().enumerate() {
        for per_b in per_t.iter_mut() {
            for (p, slot) in per_b.iter_mut().enumerate() {
                let (lo, hi) = ranges[p][t];
                for par in slot.iter_mut() {
                    *par = spk_store.len();
                    spk_store.push(vec![0u32; hi - lo + PAD]);
                }
            }
        }
    }
    let spk_ptrs: Vec<P> = spk_store
        .iter_mut()
        .map(|v| P(v.as_mut_ptr().cast()))
        .collect();
    let spk_counts: Vec<AtomicUsize> = (0..spk_store.len()).map(|_| AtomicUsize::new(0)).collect();

    let state_every: Vec<u64> = opts
        .state_every
        .clone()
        .unwrap_or_else(|| m.trace_intervals());
    let traced = |step: u64| state_every.iter().any(|e| step.is_multiple_of(*e));
    let watch_every = setup.watch.as_ref().map_or(0, |w| w.every);
    let watched = |step: u64| watch_every > 0 && step.is_multiple_of(watch_every);
    let needs_state = |step: u64| traced(step) || watched(step);

    let barrier = SpinBarrier::new(threads);
    let abort = AtomicBool::new(false);
    let kernels = &compiled.kernels;
    let steps = setup.steps;

    // The work of thread `t`; thread 0 also runs the callbacks (`cb`).
    type Cb<'c> = Option<&'c mut dyn FnMut(Phase<'_>) -> Result<(), RuntimeError>>;
    let work = |t: usize, mut cb: Cb<'_>| -> (u64, Option<RuntimeError>) {
        let _release = ReleaseOnPanic {
            barrier: &barrier,
            abort: &abort,
        };
        let mut events = 0u64;
        let mut error = None;
        // rings[k][b][slot]
        let mut rings: Vec<Vec<Vec<Vec<u32>>>> = tables
            .iter()
            .take(nproj)
            .map(|tb| vec![vec![Vec::new(); tb.delays.max_steps() as usize + 1]; nb])
            .collect();
        let mut fired: Vec<Vec<u32>> = vec![Vec::new(); npop];
        for step in 0..steps {
            if needs_state(step) && threads > 1 {
                barrier.wait();
            }
            if let Some(cb) = cb.as_mut() {
                if error.is_none() {
                    if let Err(e) = cb(Phase::Start(step, needs_state(step))) {
                        error = Some(e);
                    }
                }
            }
            if needs_state(step) && threads > 1 {
                barrier.wait();
            }
            let par = (step & 1) as usize;
            // Inputs for this step, this thread's neurons.
            for (x, input) in m.inputs.iter().enumerate() {
                let Some(BoundInput::Array(_)) = setup.inputs.get(x) else {
                    continue;
                };
                let pi = input.population as usize;
                let (lo, hi) = ranges[pi][t];
                let n = m.populations[pi].size as usize;
                for (b, ptrs) in input_ptrs.iter().enumerate() {
                    for i in lo..hi.min(n) {
                        let v = setup.inputs[x].value(step, b as u64, i as u32);
                        wr(ptrs[x], i, f32, v);
                    }
                }
            }
            for b in 0..nb {
                for (ki, (kind, _, f)) in kernels.iter().enumerate() {
                    let ctx = ctxs[ki][b].as_ptr();
                    let f: KernelFn = *f;
                    // SAFETY: kernels read and write only the arrays their
                    // context names, within the ranges given here.
                    unsafe {
                        match *kind {
                            KernelKind::SynOut(k) => {
                                let j = &m.projections[k as usize];
                                let (lo, hi) = ranges[j.post as usize][t];
                                let sp = scratch_ptrs[b][k as usize];
                                for i in lo..hi {
                                    wr(sp, i, f32, 0.0);
                                }
                                let s = &subs[t][k as usize];
                                f(
                                    ctx,
                                    step as i64,
                                    s.syn.as_ptr() as u64,
                                    s.syn.len() as u64,
                                    0,
                                    0,
                                );
                            }
                            KernelKind::Pop(p) => {
                                let (lo, hi) = ranges[p as usize][t];
                                let idx = spk_index[t][b][p as usize][par];
                                let n = f(
                                    ctx,
                                    step as i64,
                                    lo as u64,
                                    hi as u64,
                                    spk_ptrs[idx].0 as u64,
                                    0,
                                );
                                spk_counts[idx].store(n as usize, Ordering::Relaxed);
                            }
                            // After the barrier: see `reads_pre`.
                            KernelKind::SynDecay(k) if reads_pre[k as usize] => {}
                            KernelKind::SynDecay(k) => {
                                let s = &subs[t][k as usize];
                                f(
                                    ctx,
                                    step as i64,
                                    s.syn.as_ptr() as u64,
                                    s.syn.len() as u64,
                                    0,
                                    0,
                                );
                            }
                            KernelKind::RangeDecay(k) => {
                                let j = &m.projections[k as usize];
                                let (lo, hi) = ranges[j.post as usize][t];
                                let n = m.populations[j.post as usize].size as usize;
                                f(ctx, step as i64, lo as u64, hi.min(n) as u64, 0, 0);
                            }
                            KernelKind::Deliver { .. } => {}
                        }
                    }
                }
            }
            // `abort` is written only here, before this barrier, and read
            // only after it: every thread leaves at the same step (a thread
            // that left one step early would leave the others waiting at the
            // next barrier for ever).
            if error.is_some() {
                abort.store(true, Ordering::Release);
            }
            barrier.wait();
            if abort.load(Ordering::Acquire) {
                break;
            }
            for b in 0..nb {
                // This step's spikes of every population, in neuron order.
                for (p, list) in fired.iter_mut().enumerate() {
                    list.clear();
                    if let Some(train) = spike_sources[p] {
                        list.extend_from_slice(train.at(step));
                        continue;
                    }
                    if plan.spike_source[p] {
                        continue;
                    }
                    for per_t in spk_index.iter() {
                        let idx = per_t[b][p][par];
                        let n = spk_counts[idx].load(Ordering::Relaxed);
                        // SAFETY: written before the barrier, n ≤ capacity.
                        let s =
                            unsafe { std::slice::from_raw_parts(spk_ptrs[idx].0.cast::<u32>(), n) };
                        list.extend_from_slice(s);
                    }
                }
                for (ki, (kind, _, f)) in kernels.iter().enumerate() {
                    match *kind {
                        KernelKind::SynDecay(k) if reads_pre[k as usize] => {
                            let s = &subs[t][k as usize];
                            let ctx = ctxs[ki][b].as_ptr();
                            // SAFETY: as before the barrier; every neuron is
                            // updated and none is written until the step ends.
                            unsafe {
                                f(
                                    ctx,
                                    step as i64,
                                    s.syn.as_ptr() as u64,
                                    s.syn.len() as u64,
                                    0,
                                    0,
                                );
                            }
                        }
                        _ => {}
                    }
                }
                for (ki, (kind, _, f)) in kernels.iter().enumerate() {
                    let KernelKind::Deliver { proj, rows } = *kind else {
                        continue;
                    };
                    let k = proj as usize;
                    let j = &m.projections[k];
                    let tb = &tables[k];
                    let sub = &subs[t][k];
                    let ring = &mut rings[k][b];
                    let slots = ring.len() as u64;
                    let pre = &fired[j.pre as usize];
                    match &tb.delays {
                        Delays::Homogeneous(d) if rows => {
                            let slot = ((step + u64::from(*d)) % slots) as usize;
                            ring[slot].extend_from_slice(pre);
                        }
                        delays => {
                            let mut push = |s: u32| {
                                let d = match delays {
                                    Delays::Homogeneous(d) => u64::from(*d),
                                    Delays::PerSynapse(v) => {
                                        v.get(s as usize).copied().map_or(0, u64::from)
                                    }
                                };
                                ring[((step + d) % slots) as usize].push(s);
                            };
                            for &p in pre {
                                let p = p as usize;
                                if sub.indirect {
                                    let a = sub.rp[p] as usize;
                                    let e = sub.rp[p + 1] as usize;
                                    sub.syn[a..e].iter().for_each(|&s| push(s));
                                } else {
                                    // SAFETY: lo/hi address n_pre u64s (see `Sub`).
                                    let (a, e) = unsafe {
                                        (
                                            *(sub.lo as *const u64).add(p),
                                            *(sub.hi as *const u64).add(p),
                                        )
                                    };
                                    (a as u32..e as u32).for_each(&mut push);
                                }
                            }
                        }
                    }
                    let slot = (step % slots) as usize;
                    let due = &ring[slot];
                    if !due.is_empty() {
                        let ctx = ctxs[ki][b].as_ptr();
                        // SAFETY: the list holds row or synapse indices of this table.
                        let n = unsafe {
                            f(
                                ctx,
                                step as i64,
                                due.as_ptr() as u64,
                                due.len() as u64,
                                sub.lo,
                                if sub.indirect {
                                    sub.syn.as_ptr() as u64
                                } else {
                                    sub.hi
                                },
                            )
                        };
                        events += n as u64;
                    }
                    ring[slot].clear();
                }
                if let Some(cb) = cb.as_mut() {
                    if error.is_none() {
                        for (p, list) in fired.iter().enumerate() {
                            if let Err(e) = cb(Phase::Spikes(p as u32, step as u32, b as u32, list))
                            {
                                error = Some(e);
                                break;
                            }
                        }
                    }
                }
            }
            if step_end_barrier && threads > 1 {
                barrier.wait();
            }
        }
        (events, error)
    };

    let mut spikes = vec![0u64; npop];
    let mut snapshot: Vec<Vec<PopState>> = Vec::new();
    let view = JitView {
        states: &state_ptrs,
        sizes: m.populations.iter().map(|p| p.size as usize).collect(),
        f32,
    };
    let mut watch = setup.watch;
    let mut on_cb = |ph: Phase<'_>| -> Result<(), RuntimeError> {
        match ph {
            Phase::Start(step, full) => {
                if let Some(w) = watch.as_mut().filter(|w| full && w.due(step)) {
                    (w.sink)(step, &view)?;
                }
                if full && traced(step) {
                    snapshot.clear();
                    for b in 0..nb {
                        snapshot.push(
                            m.populations
                                .iter()
                                .enumerate()
                                .map(|(p, pop)| {
                                    let n = pop.size as usize;
                                    PopState {
                                        states: state_ptrs[b][p]
                                            .iter()
                                            .map(|&a| (0..n).map(|i| rd(a, i, f32)).collect())
                                            .collect(),
                                        currents: cur_ptrs[b][p]
                                            .iter()
                                            .map(|&a| (0..n).map(|i| rd(a, i, f32)).collect())
                                            .collect(),
                                        refractory: (0..n)
                                            .map(|i| rd_count(refr_ptrs[b][p], i, f32))
                                            .collect(),
                                    }
                                })
                                .collect(),
                        );
                    }
                    (setup.on_step)(step, &snapshot)
                } else {
                    (setup.on_step)(step, &[])
                }
            }
            Phase::Spikes(p, step, b, list) => {
                spikes[p as usize] += list.len() as u64;
                (setup.on_spikes)(p, step, b, list)
            }
        }
    };
    let (events, error) = std::thread::scope(|scope| {
        let handles: Vec<_> = (1..threads)
            .map(|t| {
                let work = &work;
                scope.spawn(move || work(t, None))
            })
            .collect();
        let first =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| work(0, Some(&mut on_cb))));
        let (mut ev, mut err0) = first.unwrap_or_else(|p| (0, Some(worker_panicked(0, &*p))));
        for (t, h) in handles.into_iter().enumerate() {
            match h.join() {
                Ok((e, _)) => ev += e,
                Err(p) => {
                    err0.get_or_insert_with(|| worker_panicked(t + 1, &*p));
                }
            }
        }
        (ev, err0)
    });
    if let Some(e) = error {
        return Err(e);
    }
    if let Some(w) = watch.as_mut() {
        (w.sink)(steps, &view)?;
    }
    drop(items);
    Ok(Outcome {
        spikes,
        synaptic_events: events,
        wall_s: start.elapsed().as_secs_f64(),
        threads: threads as u32,
    })
}

/// What thread 0 reports to the callbacks.
enum Phase<'a> {
    /// Start of a step; whether the full state is wanted.
    Start(u64, bool),
    Spikes(u32, u32, u32, &'a [u32]),
}

/// The guard's view of the JIT's state arrays (read between steps, while
/// every other thread waits at the barrier).
struct JitView<'a> {
    /// `states[b][p][s]`.
    states: &'a [Vec<Vec<P>>],
    /// Neurons per population.
    sizes: Vec<usize>,
    f32: bool,
}

impl crate::back::guard::StateView for JitView<'_> {
    fn values(&self, batch: usize, pop: usize, state: usize) -> crate::back::guard::Values<'_> {
        let p = self.states[batch][pop][state].0;
        let n = self.sizes[pop];
        // SAFETY: the array holds at least `n` elements of the run's type
        // (padded), and no thread writes it while a view is read (see
        // `JitView`).
        unsafe {
            if self.f32 {
                crate::back::guard::Values::F32(std::slice::from_raw_parts(p.cast::<f32>(), n))
            } else {
                crate::back::guard::Values::F64(std::slice::from_raw_parts(p.cast::<f64>(), n))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::SpinBarrier;

    #[test]
    fn a_broken_barrier_releases_its_waiters_and_every_later_wait() {
        // Three parties, two arrive: without `break_all` they wait for ever.
        let barrier = SpinBarrier::new(3);
        std::thread::scope(|scope| {
            let waiters: Vec<_> = (0..2)
                .map(|_| {
                    scope.spawn(|| {
                        barrier.wait();
                        barrier.wait();
                    })
                })
                .collect();
            std::thread::sleep(std::time::Duration::from_millis(50));
            barrier.break_all();
            for w in waiters {
                w.join().unwrap();
            }
        });
    }

    #[test]
    fn a_barrier_of_two_lets_both_through_many_times() {
        let barrier = SpinBarrier::new(2);
        let crossed = std::sync::atomic::AtomicUsize::new(0);
        std::thread::scope(|scope| {
            for _ in 0..2 {
                scope.spawn(|| {
                    for _ in 0..10_000 {
                        barrier.wait();
                        crossed.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                });
            }
        });
        assert_eq!(crossed.into_inner(), 20_000);
    }
}
