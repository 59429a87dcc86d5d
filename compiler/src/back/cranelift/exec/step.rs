//! The step loop every worker thread runs over its share (see
//! [`super::partition`]). Per step: the state callback (thread 0, the
//! others waiting), this step's inputs, then per batch item the kernels
//! that update the thread's neurons and owned synapses; one barrier; then per
//! item the step's spike lists of all threads gathered, the synapse
//! dynamics that read `pre.X`, event delivery through the delay rings, and
//! the spike callbacks (thread 0).

use std::sync::atomic::{AtomicU64, Ordering};

use super::barrier::{ReleaseOnPanic, SpinBarrier};
use super::context::Contexts;
use super::memory::{write_real, ItemPtrs};
use super::partition::{OwnedSynapses, Partition};
use super::report::{Reporter, StateSchedule};
use super::spikes::SpikeLists;
use crate::back::cranelift::lower::{KernelKind, Slot};
use crate::back::cranelift::KernelFn;
use crate::back::BoundInput;
use crate::ir::Module;
use snnc_runtime::connectivity::ByPost;
use snnc_runtime::spike_train::SpikeTrain;
use snnc_runtime::synapse_values::{Delays, SynapseTable};
use snnc_runtime::RuntimeError;

/// What every thread's loop reads (and the barrier they share).
pub(super) struct StepLoop<'a> {
    pub(super) m: &'a Module,
    pub(super) inputs: &'a [BoundInput],
    pub(super) tables: &'a [SynapseTable],
    pub(super) f32: bool,
    /// Batch items.
    pub(super) nb: usize,
    pub(super) steps: u64,
    pub(super) threads: usize,
    pub(super) partition: &'a Partition,
    pub(super) kernels: &'a [(KernelKind, Vec<Slot>, KernelFn)],
    pub(super) contexts: &'a Contexts,
    pub(super) items: &'a [ItemPtrs],
    pub(super) spike_lists: &'a SpikeLists,
    /// Per population: its spike train, for spike-train sources.
    pub(super) spike_sources: &'a [Option<&'a SpikeTrain>],
    /// Per projection: its synapse code reads `pre.X`, which other threads
    /// update, so its synapse dynamics run after the step's barrier (all
    /// neurons updated).
    pub(super) reads_pre: &'a [bool],
    /// A second barrier ends every step (some projection reads `pre.X`: no
    /// neuron of the next step is updated while a delivery still reads it).
    pub(super) step_end_barrier: bool,
    /// Per projection with an `on_post`: its synapses by post neuron.
    pub(super) by_post: &'a [Option<ByPost>],
    pub(super) schedule: &'a StateSchedule,
    pub(super) barrier: SpinBarrier,
    /// The step after whose mid-step barrier every thread leaves
    /// (`u64::MAX`: none yet): set by thread 0 before that barrier when a
    /// callback fails, or to 0 when a thread panics.
    pub(super) stop_at: AtomicU64,
}

/// One thread's own state in the loop.
struct Worker<'l, 'a> {
    run: &'l StepLoop<'a>,
    /// The thread's index.
    t: usize,
    /// `rings[projection][item][slot]`: what is delivered at each step of a
    /// delay ring (rows or synapses).
    rings: Vec<Vec<Vec<Vec<u32>>>>,
    /// Per population: one item's spikes of this step, in neuron order.
    fired: Vec<Vec<u32>>,
    /// The spikes of this step of the thread's own neurons of one population
    /// (for `on_post`).
    own_fired: Vec<u32>,
    /// Synaptic events delivered by this thread.
    events: u64,
    /// The first callback error (thread 0).
    error: Option<RuntimeError>,
}

impl StepLoop<'_> {
    /// The loop of thread `t` (thread 0 also reports, through `reporter`):
    /// its synaptic events, and the error that stopped the run.
    pub(super) fn work(
        &self,
        t: usize,
        mut reporter: Option<&mut Reporter<'_, '_>>,
    ) -> (u64, Option<RuntimeError>) {
        let _release = ReleaseOnPanic {
            barrier: &self.barrier,
            stop_at: &self.stop_at,
        };
        let mut w = Worker::new(self, t);
        for step in 0..self.steps {
            w.start_step(step, reporter.as_deref_mut());
            w.write_inputs(step);
            let parity = (step & 1) as usize;
            for b in 0..self.nb {
                w.update_before_barrier(step, b, parity);
            }
            // Every thread leaves at the same step: a thread that left one
            // step early would leave the others waiting at the next barrier
            // for ever. A flag would not do: with no barrier between two
            // steps' mid-step barriers, thread 0 can set it for this step
            // before a slower thread has read it after the previous one.
            if w.error.is_some() {
                self.stop_at.fetch_min(step, Ordering::AcqRel);
            }
            self.barrier.wait();
            if self.stop_at.load(Ordering::Acquire) <= step {
                break;
            }
            for b in 0..self.nb {
                w.gather_fired(step, b, parity);
                w.update_reading_pre(step, b);
                w.deliver(step, b);
                w.deliver_post(step, b);
                w.report_spikes(step, b, reporter.as_deref_mut());
            }
            if self.step_end_barrier && self.threads > 1 {
                self.barrier.wait();
            }
        }
        (w.events, w.error)
    }
}

impl<'l, 'a> Worker<'l, 'a> {
    fn new(run: &'l StepLoop<'a>, t: usize) -> Self {
        let nb = run.nb;
        Self {
            run,
            t,
            rings: run
                .tables
                .iter()
                .take(run.m.projections.len())
                .map(|tb| vec![vec![Vec::new(); tb.delays.max_steps() as usize + 1]; nb])
                .collect(),
            fired: vec![Vec::new(); run.m.populations.len()],
            own_fired: Vec::new(),
            events: 0,
            error: None,
        }
    }

    /// The state callback, with every other thread waiting when it reads
    /// the state.
    fn start_step(&mut self, step: u64, reporter: Option<&mut Reporter<'_, '_>>) {
        let run = self.run;
        let needs_state = run.schedule.needs_state(step);
        if needs_state && run.threads > 1 {
            run.barrier.wait();
        }
        if let Some(reporter) = reporter {
            if self.error.is_none() {
                if let Err(e) = reporter.step_start(step, needs_state) {
                    self.error = Some(e);
                }
            }
        }
        if needs_state && run.threads > 1 {
            run.barrier.wait();
        }
    }

    /// This step's array inputs for the thread's neurons, every item.
    fn write_inputs(&self, step: u64) {
        let run = self.run;
        for (x, input) in run.m.inputs.iter().enumerate() {
            let Some(BoundInput::Array(_)) = run.inputs.get(x) else {
                continue;
            };
            let pi = input.population as usize;
            let (lo, hi) = run.partition.ranges[pi][self.t];
            let n = run.m.populations[pi].size as usize;
            for (b, item) in run.items.iter().enumerate() {
                for i in lo..hi.min(n) {
                    let v = run.inputs[x].value(step, b as u64, i as u32);
                    write_real(item.inputs[x], i, run.f32, v);
                }
            }
        }
    }

    /// Item `b`'s kernels over the thread's neurons and owned synapses,
    /// except those that run after the barrier (deliveries, synapse
    /// dynamics that read `pre.X`).
    fn update_before_barrier(&self, step: u64, b: usize, parity: usize) {
        let (run, t) = (self.run, self.t);
        let ranges = &run.partition.ranges;
        for (ki, (kind, _, f)) in run.kernels.iter().enumerate() {
            let ctx = run.contexts[ki][b].as_ptr();
            let f: KernelFn = *f;
            // SAFETY: kernels read and write only the arrays their
            // context names, within the ranges given here.
            unsafe {
                match *kind {
                    KernelKind::SynOut(k) => {
                        let j = &run.m.projections[k as usize];
                        let (lo, hi) = ranges[j.post as usize][t];
                        let sums = run.items[b].output_sums[k as usize];
                        for i in lo..hi {
                            write_real(sums, i, run.f32, 0.0);
                        }
                        let s = &run.partition.owned[t][k as usize];
                        over_owned(f, ctx, step, s);
                    }
                    KernelKind::Pop(p) => {
                        let (lo, hi) = ranges[p as usize][t];
                        let list = run.spike_lists.list(t, b, p as usize, parity);
                        let out = run.spike_lists.ptr(list).0 as u64;
                        let n = f(ctx, step as i64, lo as u64, hi as u64, out, 0);
                        run.spike_lists.set_len(list, n as usize);
                    }
                    // After the barrier: see `reads_pre`.
                    KernelKind::SynDecay(k) if run.reads_pre[k as usize] => {}
                    KernelKind::SynDecay(k) => {
                        let s = &run.partition.owned[t][k as usize];
                        over_owned(f, ctx, step, s);
                    }
                    KernelKind::RangeDecay(k) => {
                        let j = &run.m.projections[k as usize];
                        let (lo, hi) = ranges[j.post as usize][t];
                        let n = run.m.populations[j.post as usize].size as usize;
                        f(ctx, step as i64, lo as u64, hi.min(n) as u64, 0, 0);
                    }
                    KernelKind::Deliver { .. } | KernelKind::DeliverPost(_) => {}
                }
            }
        }
    }

    /// Item `b`'s spikes of this step, every population, in neuron order:
    /// the trains of spike-train sources, the threads' lists of the others.
    fn gather_fired(&mut self, step: u64, b: usize, parity: usize) {
        let run = self.run;
        for (p, list) in self.fired.iter_mut().enumerate() {
            list.clear();
            if let Some(train) = run.spike_sources[p] {
                list.extend_from_slice(train.at(step));
                continue;
            }
            for u in 0..run.spike_lists.threads() {
                let l = run.spike_lists.list(u, b, p, parity);
                // SAFETY: after the barrier that follows the lists' writing.
                list.extend_from_slice(unsafe { run.spike_lists.read(l) });
            }
        }
    }

    /// Item `b`'s synapse dynamics that read `pre.X` (see `reads_pre`).
    fn update_reading_pre(&self, step: u64, b: usize) {
        let run = self.run;
        for (ki, (kind, _, f)) in run.kernels.iter().enumerate() {
            match *kind {
                KernelKind::SynDecay(k) if run.reads_pre[k as usize] => {
                    let s = &run.partition.owned[self.t][k as usize];
                    let ctx = run.contexts[ki][b].as_ptr();
                    // SAFETY: as before the barrier; every neuron is
                    // updated and none is written until the step ends.
                    unsafe {
                        over_owned(*f, ctx, step, s);
                    }
                }
                _ => {}
            }
        }
    }

    /// Item `b`'s spikes into the delay rings of their projections, and the
    /// events due now delivered to the thread's owned synapses.
    fn deliver(&mut self, step: u64, b: usize) {
        let (run, t) = (self.run, self.t);
        for (ki, (kind, _, f)) in run.kernels.iter().enumerate() {
            let KernelKind::Deliver { proj, rows } = *kind else {
                continue;
            };
            let k = proj as usize;
            let j = &run.m.projections[k];
            let sub = &run.partition.owned[t][k];
            let ring = &mut self.rings[k][b];
            let pre = &self.fired[j.pre as usize];
            queue_events(ring, &run.tables[k].delays, sub, pre, step, rows);
            let slot = (step % ring.len() as u64) as usize;
            let due = &ring[slot];
            if !due.is_empty() {
                let ctx = run.contexts[ki][b].as_ptr();
                let last = if sub.indirect {
                    sub.syn.as_ptr() as u64
                } else {
                    sub.hi
                };
                // SAFETY: the list holds row or synapse indices of this table.
                let n = unsafe {
                    f(
                        ctx,
                        step as i64,
                        due.as_ptr() as u64,
                        due.len() as u64,
                        sub.lo,
                        last,
                    )
                };
                self.events += n as u64;
            }
            ring[slot].clear();
        }
    }

    /// Item `b`'s `on_post` for the synapses onto the thread's neurons that
    /// spiked in this step (after every `on_pre` of the step: each synapse
    /// belongs to the thread of its post neuron).
    fn deliver_post(&mut self, step: u64, b: usize) {
        let (run, t) = (self.run, self.t);
        for (ki, (kind, _, f)) in run.kernels.iter().enumerate() {
            let KernelKind::DeliverPost(k) = *kind else {
                continue;
            };
            let Some(by_post) = &run.by_post[k as usize] else {
                continue;
            };
            let post = run.m.projections[k as usize].post as usize;
            let (lo, hi) = run.partition.ranges[post][t];
            let own = &mut self.own_fired;
            own.clear();
            let mine = |i: &&u32| (lo..hi).contains(&(**i as usize));
            own.extend(self.fired[post].iter().filter(mine));
            if own.is_empty() {
                continue;
            }
            let ctx = run.contexts[ki][b].as_ptr();
            // SAFETY: the list holds post neurons of this projection; the
            // index addresses `n_post + 1` starts and their synapses.
            unsafe {
                f(
                    ctx,
                    step as i64,
                    own.as_ptr() as u64,
                    own.len() as u64,
                    by_post.col_ptr.as_ptr() as u64,
                    by_post.synapses.as_ptr() as u64,
                );
            }
        }
    }

    /// Item `b`'s spikes to the spike callback (thread 0, until an error).
    fn report_spikes(&mut self, step: u64, b: usize, reporter: Option<&mut Reporter<'_, '_>>) {
        let Some(reporter) = reporter else {
            return;
        };
        if self.error.is_some() {
            return;
        }
        for (p, list) in self.fired.iter().enumerate() {
            if let Err(e) = reporter.spikes(p as u32, step as u32, b as u32, list) {
                self.error = Some(e);
                break;
            }
        }
    }
}

/// Runs a per-synapse kernel over the synapses `owned` lists.
///
/// # Safety
/// As every kernel call: `ctx` is the kernel's context for this item.
#[inline]
unsafe fn over_owned(f: KernelFn, ctx: *const u64, step: u64, owned: &OwnedSynapses) {
    let (list, len) = (owned.syn.as_ptr() as u64, owned.syn.len() as u64);
    // SAFETY: as the caller promises; the list holds synapse indices.
    unsafe { f(ctx, step as i64, list, len, 0, 0) };
}

/// The presynaptic spikes `pre` into `ring`: whole rows at their delay
/// (`rows`: a homogeneous delay), else each owned synapse at its own.
#[inline]
fn queue_events(
    ring: &mut [Vec<u32>],
    delays: &Delays,
    sub: &OwnedSynapses,
    pre: &[u32],
    step: u64,
    rows: bool,
) {
    let slots = ring.len() as u64;
    match delays {
        Delays::Homogeneous(d) if rows => {
            let slot = ((step + u64::from(*d)) % slots) as usize;
            ring[slot].extend_from_slice(pre);
        }
        delays => {
            let mut push = |s: u32| {
                let d = match delays {
                    Delays::Homogeneous(d) => u64::from(*d),
                    Delays::PerSynapse(v) => v.get(s as usize).copied().map_or(0, u64::from),
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
                    // SAFETY: lo/hi address n_pre u64s (see `OwnedSynapses`).
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
}
