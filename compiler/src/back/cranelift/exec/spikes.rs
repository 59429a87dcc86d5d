//! The spike lists the threads exchange: per thread, batch item, population
//! and step parity, the neurons of the thread's chunk that fired, written by
//! the population kernel before the step's barrier and read by every thread
//! after it (double-buffered by step parity, so that the next step's writes
//! never meet this step's reads).

use std::sync::atomic::{AtomicUsize, Ordering};

use super::memory::{SharedPtr, PAD};

pub(super) struct SpikeLists {
    /// The lists' storage (reached through `ptrs`).
    _store: Vec<Vec<u32>>,
    /// `index[thread][batch item][population][parity]`: the list's number.
    index: Vec<Vec<Vec<[usize; 2]>>>,
    /// Per list: its first element.
    ptrs: Vec<SharedPtr>,
    /// Per list: how many neurons it holds.
    counts: Vec<AtomicUsize>,
}

impl SpikeLists {
    /// Room for every neuron of `ranges[population][thread]` (and a vector
    /// more: kernels store whole vectors).
    pub(super) fn new(threads: usize, nb: usize, ranges: &[Vec<(usize, usize)>]) -> Self {
        let npop = ranges.len();
        let mut store: Vec<Vec<u32>> = Vec::new();
        let mut index = vec![vec![vec![[0usize; 2]; npop]; nb]; threads];
        for (t, per_t) in index.iter_mut().enumerate() {
            for per_b in per_t.iter_mut() {
                for (p, slot) in per_b.iter_mut().enumerate() {
                    let (lo, hi) = ranges[p][t];
                    for par in slot.iter_mut() {
                        *par = store.len();
                        store.push(vec![0u32; hi - lo + PAD]);
                    }
                }
            }
        }
        let ptrs = store
            .iter_mut()
            .map(|v| SharedPtr(v.as_mut_ptr().cast()))
            .collect();
        let counts = (0..store.len()).map(|_| AtomicUsize::new(0)).collect();
        Self {
            _store: store,
            index,
            ptrs,
            counts,
        }
    }

    /// The number of thread `t`'s list for (item, population, parity).
    #[inline]
    pub(super) fn list(&self, t: usize, b: usize, p: usize, parity: usize) -> usize {
        self.index[t][b][p][parity]
    }

    /// Where the kernel writes list `list`.
    #[inline]
    pub(super) fn ptr(&self, list: usize) -> SharedPtr {
        self.ptrs[list]
    }

    #[inline]
    pub(super) fn set_len(&self, list: usize, n: usize) {
        self.counts[list].store(n, Ordering::Relaxed);
    }

    /// List `list` as written before the barrier.
    ///
    /// # Safety
    /// Only after the barrier that follows the list's writing.
    #[inline]
    pub(super) unsafe fn read(&self, list: usize) -> &[u32] {
        let n = self.counts[list].load(Ordering::Relaxed);
        // SAFETY: written before the barrier, n ≤ capacity.
        unsafe { std::slice::from_raw_parts(self.ptrs[list].0.cast::<u32>(), n) }
    }

    /// Threads the lists are kept for.
    pub(super) fn threads(&self) -> usize {
        self.index.len()
    }
}
