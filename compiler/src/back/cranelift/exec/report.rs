//! What thread 0 reports while the others wait: the state at the start of
//! the steps a trace or the divergence guard samples, and every step's
//! spikes, to the run's callbacks.

use super::memory::{read_count, read_real, ItemPtrs};
use crate::back::guard::{StateView, Values, Watch};
use crate::back::{PopState, SpikeSink, StepSink};
use crate::ir::Module;
use snnc_runtime::RuntimeError;

/// The steps whose state is wanted.
pub(super) struct StateSchedule {
    /// `on_step` gets the full state at steps that are multiples of one.
    pub(super) traced_every: Vec<u64>,
    /// The divergence guard looks every this many steps (0: never).
    pub(super) watch_every: u64,
}

impl StateSchedule {
    pub(super) fn traced(&self, step: u64) -> bool {
        self.traced_every.iter().any(|e| step.is_multiple_of(*e))
    }
    fn watched(&self, step: u64) -> bool {
        self.watch_every > 0 && step.is_multiple_of(self.watch_every)
    }
    /// Whether the full state is read at the start of `step` (the other
    /// threads wait meanwhile).
    pub(super) fn needs_state(&self, step: u64) -> bool {
        self.traced(step) || self.watched(step)
    }
}

/// Thread 0's link to the run's callbacks.
pub(super) struct Reporter<'r, 's> {
    pub(super) m: &'r Module,
    pub(super) f32: bool,
    pub(super) items: &'r [ItemPtrs],
    pub(super) schedule: &'r StateSchedule,
    pub(super) on_step: &'s mut StepSink<'s>,
    pub(super) on_spikes: &'s mut SpikeSink<'s>,
    pub(super) watch: Option<Watch<'s>>,
    /// Spikes per population, summed over items.
    pub(super) spikes: Vec<u64>,
    /// Neurons per population.
    sizes: Vec<usize>,
    /// Every item's state at the last traced step (kept to reuse its room).
    snapshot: Vec<Vec<PopState>>,
}

impl<'r, 's> Reporter<'r, 's> {
    #[allow(clippy::too_many_arguments)]
    pub(super) fn new(
        m: &'r Module,
        f32: bool,
        items: &'r [ItemPtrs],
        schedule: &'r StateSchedule,
        on_step: &'s mut StepSink<'s>,
        on_spikes: &'s mut SpikeSink<'s>,
        watch: Option<Watch<'s>>,
    ) -> Self {
        Self {
            m,
            f32,
            items,
            schedule,
            on_step,
            on_spikes,
            watch,
            spikes: vec![0; m.populations.len()],
            sizes: m.populations.iter().map(|p| p.size as usize).collect(),
            snapshot: Vec::new(),
        }
    }

    /// The start of `step`; `full`: the state is wanted (see
    /// [`StateSchedule::needs_state`]).
    pub(super) fn step_start(&mut self, step: u64, full: bool) -> Result<(), RuntimeError> {
        if let Some(w) = self.watch.as_mut().filter(|w| full && w.due(step)) {
            let view = JitView {
                items: self.items,
                sizes: &self.sizes,
                f32: self.f32,
            };
            (w.sink)(step, &view)?;
        }
        if full && self.schedule.traced(step) {
            self.take_snapshot();
            (self.on_step)(step, &self.snapshot)
        } else {
            (self.on_step)(step, &[])
        }
    }

    /// Population `p`'s spikes of `step` in batch item `b`.
    pub(super) fn spikes(
        &mut self,
        p: u32,
        step: u32,
        b: u32,
        list: &[u32],
    ) -> Result<(), RuntimeError> {
        self.spikes[p as usize] += list.len() as u64;
        (self.on_spikes)(p, step, b, list)
    }

    /// The guard's look at the states after the last step.
    pub(super) fn finish(&mut self, steps: u64) -> Result<(), RuntimeError> {
        let view = JitView {
            items: self.items,
            sizes: &self.sizes,
            f32: self.f32,
        };
        match self.watch.as_mut() {
            Some(w) => (w.sink)(steps, &view),
            None => Ok(()),
        }
    }

    fn take_snapshot(&mut self) {
        let f32 = self.f32;
        let read = |a, n: usize| (0..n).map(|i| read_real(a, i, f32)).collect();
        self.snapshot.clear();
        for item in self.items {
            let pops = self.m.populations.iter().enumerate().map(|(p, pop)| {
                let n = pop.size as usize;
                PopState {
                    states: item.states[p].iter().map(|&a| read(a, n)).collect(),
                    currents: item.currents[p].iter().map(|&a| read(a, n)).collect(),
                    refractory: (0..n)
                        .map(|i| read_count(item.refractory[p], i, f32))
                        .collect(),
                }
            });
            self.snapshot.push(pops.collect());
        }
    }
}

/// The guard's view of the JIT's state arrays (read between steps, while
/// every other thread waits at the barrier).
struct JitView<'a> {
    items: &'a [ItemPtrs],
    /// Neurons per population.
    sizes: &'a [usize],
    f32: bool,
}

impl StateView for JitView<'_> {
    fn values(&self, batch: usize, pop: usize, state: usize) -> Values<'_> {
        let p = self.items[batch].states[pop][state].0;
        let n = self.sizes[pop];
        // SAFETY: the array holds at least `n` elements of the run's type
        // (padded), and no thread writes it while a view is read (see
        // `JitView`).
        unsafe {
            if self.f32 {
                Values::F32(std::slice::from_raw_parts(p.cast::<f32>(), n))
            } else {
                Values::F64(std::slice::from_raw_parts(p.cast::<f64>(), n))
            }
        }
    }
}
