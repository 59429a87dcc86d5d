//! Synapse tables in CSR form (row = presynaptic neuron) and the rules that
//! build them.
//!
//! Layout decisions:
//! * `row_ptr` is `Vec<u64>`: it costs 8 bytes per *presynaptic neuron*, not
//!   per synapse, and removes the 4 Gi-synapse ceiling of a `u32` table.
//!   `cols` (postsynaptic index) is `u32`: populations are `u32`-sized.
//! * Within a row, targets are in ascending order for every rule except
//!   `from_file`, which keeps the file's order (stable sort by `pre`).
//! * Autapses (i → i in a projection from a population onto itself) are
//!   allowed unless `allow_autapses` is false, as in Brian2 (`connect(p=…)`
//!   makes i → i possible) and NEST (`allow_autapses=True`). A rule that cannot
//!   produce them for other reasons ignores the flag.
//!
//! Randomness: every random rule draws row `i` (or column `j` for
//! fixed_in_degree) from its own [`Stream`] at address
//! `(Purpose::Connectivity{projection}, index = i)`, so rows can be built on
//! any number of threads and the table is identical. fixed_total_number,
//! which has no rows to draw by, draws synapses `c·2¹⁶ …` from the stream at
//! `index = c` ([`TOTAL_NUMBER_CHUNK`] synapses per stream).

use crate::alloc::{vec_filled, vec_with_capacity};
use crate::error::RuntimeError;
use crate::rng::{key_for, Purpose, Stream};

/// How the synapses of a projection are chosen.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Rule {
    /// Each (pre, post) pair independently with probability `p`.
    FixedProb(f64),
    /// Every postsynaptic neuron gets exactly `k` distinct presynaptic sources.
    FixedInDegree(u32),
    /// Every presynaptic neuron gets exactly `k` distinct postsynaptic targets.
    FixedOutDegree(u32),
    /// Every pair.
    AllToAll,
    /// `i → i`; the populations must have equal sizes.
    OneToOne,
    /// Exactly `n` synapses, each with a source and a target drawn uniformly
    /// and independently (NEST's `fixed_total_number`): several synapses
    /// may join one pair (multapses).
    FixedTotalNumber(u32),
}

/// Everything a rule needs besides the rule itself.
#[derive(Debug, Clone)]
pub struct ConnectSpec {
    /// Name for messages.
    pub projection: String,
    /// Index of the projection in the network: selects its random streams.
    pub projection_id: u32,
    pub n_pre: u32,
    pub n_post: u32,
    /// Whether pre and post are the same population (only then can i → i be
    /// an autapse).
    pub same_population: bool,
    pub allow_autapses: bool,
    pub seed: u64,
    /// Worker threads used to build rows; the result does not depend on it.
    pub threads: usize,
}

/// The structure of a projection: which synapses exist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Structure {
    pub n_pre: u32,
    pub n_post: u32,
    /// `row_ptr[i]..row_ptr[i + 1]` are the synapses of presynaptic neuron `i`;
    /// `n_pre + 1` entries.
    pub row_ptr: Vec<u64>,
    /// Postsynaptic neuron of each synapse.
    pub cols: Vec<u32>,
}

impl Structure {
    /// Number of synapses.
    #[must_use]
    pub fn len(&self) -> usize {
        self.cols.len()
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.cols.is_empty()
    }

    /// The targets of presynaptic neuron `pre`.
    #[must_use]
    pub fn row(&self, pre: u32) -> &[u32] {
        let i = pre as usize;
        &self.cols[self.row_ptr[i] as usize..self.row_ptr[i + 1] as usize]
    }

    /// The presynaptic neuron of each synapse (the row it lies in), for
    /// synapse code that reads `pre.X` by synapse index. Allocated
    /// fallibly, like the table.
    pub fn pre_of_each(&self) -> Result<Vec<u32>, RuntimeError> {
        let mut pre = vec_with_capacity(self.cols.len(), "a synapse table's presynaptic indices")?;
        for (i, w) in self.row_ptr.windows(2).enumerate() {
            pre.extend(std::iter::repeat_n(i as u32, (w[1] - w[0]) as usize));
        }
        Ok(pre)
    }

    /// Number of synapses onto each postsynaptic neuron.
    #[must_use]
    pub fn in_degrees(&self) -> Vec<u32> {
        let mut degrees = vec![0u32; self.n_post as usize];
        for &j in &self.cols {
            degrees[j as usize] += 1;
        }
        degrees
    }

    /// The transposed index: the synapses onto each postsynaptic neuron, in
    /// ascending synapse index (for `on_post`, run per synapse onto a neuron
    /// that spiked). Allocated fallibly, like the table.
    pub fn by_post(&self) -> Result<ByPost, RuntimeError> {
        let mut col_ptr = vec_filled(
            0u64,
            self.n_post as usize + 1,
            "a synapse table's post index",
        )?;
        for &j in &self.cols {
            col_ptr[j as usize + 1] += 1;
        }
        for i in 0..self.n_post as usize {
            col_ptr[i + 1] += col_ptr[i];
        }
        let mut synapses = vec_filled(0u32, self.cols.len(), "a synapse table's post index")?;
        let mut next = col_ptr.clone();
        // Synapses in ascending index fill each post neuron's run in order.
        for (s, &j) in self.cols.iter().enumerate() {
            synapses[next[j as usize] as usize] = s as u32;
            next[j as usize] += 1;
        }
        Ok(ByPost { col_ptr, synapses })
    }

    /// Build from rows given in order (one `Vec` of targets per presynaptic
    /// neuron). The table is allocated fallibly: its size is the synapse
    /// count, which only the memory estimate bounds.
    pub fn from_rows(n_pre: u32, n_post: u32, rows: Vec<Vec<u32>>) -> Result<Self, RuntimeError> {
        let mut row_ptr = vec_with_capacity(rows.len() + 1, "a synapse table's row pointers")?;
        row_ptr.push(0u64);
        let total: usize = rows.iter().map(Vec::len).sum();
        let mut cols = vec_with_capacity(total, "a synapse table's targets")?;
        for row in rows {
            cols.extend_from_slice(&row);
            row_ptr.push(cols.len() as u64);
        }
        Ok(Self {
            n_pre,
            n_post,
            row_ptr,
            cols,
        })
    }
}

/// A projection's synapses grouped by postsynaptic neuron ([`Structure::by_post`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ByPost {
    /// `col_ptr[j]..col_ptr[j + 1]` index `synapses` for post neuron `j`;
    /// `n_post + 1` entries.
    pub col_ptr: Vec<u64>,
    /// Synapse indices, ascending within each post neuron.
    pub synapses: Vec<u32>,
}

impl ByPost {
    /// The synapses onto post neuron `post`, ascending.
    #[must_use]
    pub fn onto(&self, post: u32) -> &[u32] {
        let j = post as usize;
        &self.synapses[self.col_ptr[j] as usize..self.col_ptr[j + 1] as usize]
    }
}

/// Build the synapses of a projection by `rule`.
pub fn connect(rule: Rule, spec: &ConnectSpec) -> Result<Structure, RuntimeError> {
    let autapse_free = spec.same_population && !spec.allow_autapses;
    let key = key_for(
        spec.seed,
        Purpose::Connectivity {
            projection: spec.projection_id,
        },
    );
    match rule {
        Rule::FixedProb(p) => {
            if !(0.0..=1.0).contains(&p) {
                return Err(RuntimeError::InvalidProbability {
                    projection: spec.projection.clone(),
                    p,
                });
            }
            let rows = build_lists(spec.n_pre, spec.threads, |i| {
                fixed_prob_row(key, i, spec.n_post, p, autapse_free)
            });
            Structure::from_rows(spec.n_pre, spec.n_post, rows)
        }
        Rule::FixedOutDegree(k) => {
            let available = spec.n_post - u32::from(autapse_free && spec.n_post > 0);
            check_degree(spec, "fixed_out_degree", k, available)?;
            let rows = build_lists(spec.n_pre, spec.threads, |i| {
                let exclude = autapse_free.then_some(i);
                distinct_sample(&mut Stream::from_key(key, i, 0, 0), spec.n_post, k, exclude)
            });
            Structure::from_rows(spec.n_pre, spec.n_post, rows)
        }
        Rule::FixedInDegree(k) => {
            let available = spec.n_pre - u32::from(autapse_free && spec.n_pre > 0);
            check_degree(spec, "fixed_in_degree", k, available)?;
            let columns = build_lists(spec.n_post, spec.threads, |j| {
                let exclude = autapse_free.then_some(j);
                distinct_sample(&mut Stream::from_key(key, j, 0, 0), spec.n_pre, k, exclude)
            });
            transpose(spec.n_pre, spec.n_post, &columns)
        }
        Rule::AllToAll => {
            let rows = build_lists(spec.n_pre, spec.threads, |i| {
                (0..spec.n_post)
                    .filter(|&j| !(autapse_free && j == i))
                    .collect()
            });
            Structure::from_rows(spec.n_pre, spec.n_post, rows)
        }
        Rule::FixedTotalNumber(n) => {
            if n > 0 && (spec.n_pre == 0 || spec.n_post == 0 || (autapse_free && spec.n_pre < 2)) {
                return Err(RuntimeError::NoPairToDraw {
                    projection: spec.projection.clone(),
                    n,
                });
            }
            fixed_total_number(key, spec, n, autapse_free)
        }
        Rule::OneToOne => {
            if spec.n_pre != spec.n_post {
                return Err(RuntimeError::OneToOneSizeMismatch {
                    projection: spec.projection.clone(),
                    n_pre: spec.n_pre,
                    n_post: spec.n_post,
                });
            }
            // i → i is what one_to_one means: the autapse flag does not apply.
            let rows = (0..spec.n_pre).map(|i| vec![i]).collect();
            Structure::from_rows(spec.n_pre, spec.n_post, rows)
        }
    }
}

fn check_degree(
    spec: &ConnectSpec,
    rule: &'static str,
    k: u32,
    available: u32,
) -> Result<(), RuntimeError> {
    if k > available {
        return Err(RuntimeError::DegreeTooLarge {
            projection: spec.projection.clone(),
            rule,
            k,
            available,
        });
    }
    Ok(())
}

/// Row `i` of fixed_prob by geometric skipping: the gap to the next synapse is
/// Geometric(p), so the cost is O(synapses), never O(n_post).
fn fixed_prob_row(key: [u32; 2], i: u32, n_post: u32, p: f64, autapse_free: bool) -> Vec<u32> {
    if p <= 0.0 || n_post == 0 {
        return Vec::new();
    }
    if p >= 1.0 {
        return (0..n_post).filter(|&j| !(autapse_free && j == i)).collect();
    }
    let mut stream = Stream::from_key(key, i, 0, 0);
    let log_q = (-p).ln_1p();
    let expected = (f64::from(n_post) * p * 1.1) as usize + 4;
    let mut row = Vec::with_capacity(expected);
    // `next` is the first candidate not yet decided.
    let mut next: u64 = 0;
    loop {
        // U in (0, 1) open, so ln U is finite and negative.
        let skip = (stream.uniform().ln() / log_q).floor();
        // `as u64` saturates, so a huge skip simply ends the row.
        next = next.saturating_add(skip as u64);
        if next >= u64::from(n_post) {
            break;
        }
        let j = next as u32;
        if !(autapse_free && j == i) {
            row.push(j);
        }
        next += 1;
    }
    row
}

/// `k` distinct values from `0..n` (skipping `exclude`), ascending. Floyd's
/// algorithm for small `k` (k draws); for `k > n/2` the complement is drawn
/// instead so the cost stays O(min(k, n − k)) draws.
fn distinct_sample(stream: &mut Stream, n: u32, k: u32, exclude: Option<u32>) -> Vec<u32> {
    let pool = n - u32::from(exclude.is_some());
    let k = k.min(pool);
    let take_complement = k > pool / 2;
    let draws = if take_complement { pool - k } else { k };
    let mut chosen = std::collections::HashSet::with_capacity(draws as usize);
    for top in (pool - draws)..pool {
        let t = stream.bounded(top + 1);
        if !chosen.insert(t) {
            chosen.insert(top);
        }
    }
    let picked: Vec<u32> = if take_complement {
        (0..pool).filter(|v| !chosen.contains(v)).collect()
    } else {
        let mut v: Vec<u32> = chosen.into_iter().collect();
        v.sort_unstable();
        v
    };
    // Map the pool (which lacks `exclude`) back onto 0..n.
    match exclude {
        Some(e) => picked
            .into_iter()
            .map(|v| if v >= e { v + 1 } else { v })
            .collect(),
        None => picked,
    }
}

/// Synapses per stream of fixed_total_number: the unit of work of a thread.
pub const TOTAL_NUMBER_CHUNK: u32 = 1 << 16;

/// `n` synapses with sources and targets drawn uniformly and independently
/// (with `autapse_free`, a target equal to its source is redrawn, which
/// keeps the pair uniform over the allowed ones), as CSR rows with targets
/// ascending. Chunk `c` of [`TOTAL_NUMBER_CHUNK`] synapses draws from its own
/// stream, so the table does not depend on `spec.threads`.
fn fixed_total_number(
    key: [u32; 2],
    spec: &ConnectSpec,
    n: u32,
    autapse_free: bool,
) -> Result<Structure, RuntimeError> {
    let chunks = n.div_ceil(TOTAL_NUMBER_CHUNK);
    let pairs = build_lists(chunks, spec.threads, |c| {
        let mut stream = Stream::from_key(key, c, 0, 0);
        let count = (n - c * TOTAL_NUMBER_CHUNK).min(TOTAL_NUMBER_CHUNK);
        (0..count)
            .map(|_| {
                let pre = stream.bounded(spec.n_pre);
                let mut post = stream.bounded(spec.n_post);
                while autapse_free && post == pre {
                    post = stream.bounded(spec.n_post);
                }
                (pre, post)
            })
            .collect::<Vec<(u32, u32)>>()
    });
    // Counting sort by source, then each row's targets in ascending order.
    let mut row_ptr = vec_filled(
        0u64,
        spec.n_pre as usize + 1,
        "a synapse table's row pointers",
    )?;
    for &(pre, _) in pairs.iter().flatten() {
        row_ptr[pre as usize + 1] += 1;
    }
    for i in 0..spec.n_pre as usize {
        row_ptr[i + 1] += row_ptr[i];
    }
    let mut fill: Vec<u64> = row_ptr[..spec.n_pre as usize].to_vec();
    let mut cols = vec_filled(0u32, n as usize, "a synapse table's targets")?;
    for &(pre, post) in pairs.iter().flatten() {
        cols[fill[pre as usize] as usize] = post;
        fill[pre as usize] += 1;
    }
    drop(pairs);
    for w in row_ptr.windows(2) {
        cols[w[0] as usize..w[1] as usize].sort_unstable();
    }
    Ok(Structure {
        n_pre: spec.n_pre,
        n_post: spec.n_post,
        row_ptr,
        cols,
    })
}

/// Turn per-postsynaptic source lists into CSR rows (a counting sort; targets
/// come out ascending within each row because columns are visited in order).
fn transpose(n_pre: u32, n_post: u32, columns: &[Vec<u32>]) -> Result<Structure, RuntimeError> {
    let mut row_ptr = vec_filled(0u64, n_pre as usize + 1, "a synapse table's row pointers")?;
    for column in columns {
        for &i in column {
            row_ptr[i as usize + 1] += 1;
        }
    }
    for i in 0..n_pre as usize {
        row_ptr[i + 1] += row_ptr[i];
    }
    let mut fill: Vec<u64> = row_ptr[..n_pre as usize].to_vec();
    let synapses = usize::try_from(row_ptr[n_pre as usize]).unwrap_or(usize::MAX);
    let mut cols = vec_filled(0u32, synapses, "a synapse table's targets")?;
    for (j, column) in columns.iter().enumerate() {
        for &i in column {
            cols[fill[i as usize] as usize] = j as u32;
            fill[i as usize] += 1;
        }
    }
    Ok(Structure {
        n_pre,
        n_post,
        row_ptr,
        cols,
    })
}

/// `make(i)` for `i in 0..n`, in order, split over `threads` scoped threads in
/// contiguous chunks. The output depends only on `make`, never on `threads`.
pub(crate) fn build_lists<T: Send>(
    n: u32,
    threads: usize,
    make: impl Fn(u32) -> T + Sync,
) -> Vec<T> {
    let threads = threads.clamp(1, (n as usize).max(1));
    if threads == 1 {
        return (0..n).map(&make).collect();
    }
    let chunk = (n as usize).div_ceil(threads) as u32;
    std::thread::scope(|scope| {
        let make = &make;
        let handles: Vec<_> = (0..threads as u32)
            .map(|t| {
                let start = (t * chunk).min(n);
                let end = start.saturating_add(chunk).min(n);
                scope.spawn(move || (start..end).map(make).collect::<Vec<T>>())
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    })
}

#[cfg(test)]
mod by_post_tests {
    use super::Structure;

    #[test]
    fn by_post_lists_the_synapses_onto_each_neuron_in_ascending_order() {
        // Synapses 0: 0→1, 1: 0→0, 2: 1→1, 3: 2→2, 4: 2→1.
        let st = Structure::from_rows(3, 4, vec![vec![1, 0], vec![1], vec![2, 1]]).unwrap();
        let t = st.by_post().unwrap();
        assert_eq!(t.onto(0), &[1]);
        assert_eq!(t.onto(1), &[0, 2, 4]);
        assert_eq!(t.onto(2), &[3]);
        assert!(t.onto(3).is_empty());
    }
}
