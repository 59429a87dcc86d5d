//! How the work is cut between threads: every population into one
//! contiguous chunk of neurons per thread, and every projection's synapses
//! by the chunk their target lies in.

use super::memory::padded;
use crate::ir::{Module, SynapseLayout};
use snnc_runtime::connectivity::Structure;
use snnc_runtime::synapse_values::SynapseTable;

/// Thread chunks start on multiples of this many neurons: whole cache lines
/// of every per-neuron array (16 f32 or f64), whole groups of f32 draws.
pub(super) const CHUNK: usize = 32;

/// The synapses of one projection that one thread owns (those whose target
/// lies in its chunk), by presynaptic row, in table order. Without a copy of
/// the table: row `r`'s owned synapses are `lo[r]..hi[r]` (global synapse
/// indices) when every row is sorted by target (or one thread owns all);
/// otherwise (`indirect`) `syn[rp[r]..rp[r + 1]]` lists them.
pub(super) struct OwnedSynapses {
    /// Address of `lo[0]` / `hi[0]` (u64 arrays of `n_pre` entries): into the
    /// table's `row_ptr` or into [`Partition::splits`].
    pub(super) lo: u64,
    pub(super) hi: u64,
    pub(super) indirect: bool,
    pub(super) rp: Vec<u64>,
    /// Owned synapse indices: for `indirect`, and for per-synapse kernels.
    pub(super) syn: Vec<u32>,
}

/// The threads' shares of the work.
pub(super) struct Partition {
    /// `ranges[population][thread]`: the thread's neurons (padded bounds).
    pub(super) ranges: Vec<Vec<(usize, usize)>>,
    /// Per projection: whether owned synapses are row ranges (every row
    /// sorted by target, or one thread); else index lists.
    pub(super) sorted: Vec<bool>,
    /// `splits[projection][t - 1][r]`: the first synapse of row `r` whose
    /// target is ≥ the start of thread `t`'s chunk (sorted tables, `t` in
    /// `1..threads`). [`OwnedSynapses`] point into it.
    splits: Vec<Vec<Vec<u64>>>,
    /// `owned[thread][projection]`.
    pub(super) owned: Vec<Vec<OwnedSynapses>>,
}

impl Partition {
    pub(super) fn new(m: &Module, tables: &[SynapseTable], threads: usize) -> Self {
        let ranges = chunk_ranges(m, threads);
        let sorted: Vec<bool> = tables
            .iter()
            .take(m.projections.len())
            .map(|tb| threads == 1 || rows_sorted(&tb.structure))
            .collect();
        let mut part = Partition {
            ranges,
            sorted,
            splits: Vec::new(),
            owned: Vec::new(),
        };
        part.splits = part.row_splits(m, tables, threads);
        part.owned = (0..threads)
            .map(|t| {
                (0..m.projections.len())
                    .map(|k| part.owned_synapses(m, &tables[k], k, t, threads))
                    .collect()
            })
            .collect();
        part
    }

    /// See [`Partition::splits`].
    fn row_splits(
        &self,
        m: &Module,
        tables: &[SynapseTable],
        threads: usize,
    ) -> Vec<Vec<Vec<u64>>> {
        m.projections
            .iter()
            .zip(tables)
            .enumerate()
            .map(|(k, (j, tb))| {
                if !self.sorted[k] {
                    return Vec::new();
                }
                let st = &tb.structure;
                (1..threads)
                    .map(|b| {
                        let c0 = self.ranges[j.post as usize][b].0;
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
            .collect()
    }

    /// The synapses of projection `k` that thread `t` owns.
    fn owned_synapses(
        &self,
        m: &Module,
        tb: &SynapseTable,
        k: usize,
        t: usize,
        threads: usize,
    ) -> OwnedSynapses {
        let j = &m.projections[k];
        let (lo, hi) = self.ranges[j.post as usize][t];
        let st = &tb.structure;
        let owned = |s: usize| {
            let c = st.cols[s] as usize;
            c >= lo && c < hi
        };
        if !self.sorted[k] {
            return indirect_rows(st, owned);
        }
        let per_syn = j.synapse.layout == SynapseLayout::PerSynapse
            && (j.output.is_some() || !j.synapse.odes.is_empty());
        let rp0 = st.row_ptr.as_ptr() as u64;
        OwnedSynapses {
            lo: if t == 0 {
                rp0
            } else {
                self.splits[k][t - 1].as_ptr() as u64
            },
            hi: if t + 1 == threads {
                rp0 + 8
            } else {
                self.splits[k][t].as_ptr() as u64
            },
            indirect: false,
            rp: Vec::new(),
            syn: if per_syn {
                (0..st.len())
                    .filter(|&s| owned(s))
                    .map(|s| s as u32)
                    .collect()
            } else {
                Vec::new()
            },
        }
    }
}

/// Owned synapses of an unsorted table: an index list per row.
fn indirect_rows(st: &Structure, owned: impl Fn(usize) -> bool) -> OwnedSynapses {
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
    OwnedSynapses {
        lo: a,
        hi: a + 8,
        indirect: true,
        rp,
        syn,
    }
}

/// `ranges[population][thread]`: chunks of the padded population, each a
/// multiple of [`CHUNK`] neurons long (the last one shorter or empty).
fn chunk_ranges(m: &Module, threads: usize) -> Vec<Vec<(usize, usize)>> {
    m.populations
        .iter()
        .map(|p| {
            let np = padded(p.size as usize);
            let q = np.div_ceil(threads).div_ceil(CHUNK) * CHUNK;
            (0..threads)
                .map(|t| ((t * q).min(np), ((t + 1) * q).min(np)))
                .collect()
        })
        .collect()
}

/// Whether every row of a table lists its targets in ascending order.
fn rows_sorted(st: &Structure) -> bool {
    (0..st.n_pre as usize).all(|r| {
        let a = st.row_ptr[r] as usize;
        let b = st.row_ptr[r + 1] as usize;
        st.cols[a..b].windows(2).all(|w| w[0] <= w[1])
    })
}
