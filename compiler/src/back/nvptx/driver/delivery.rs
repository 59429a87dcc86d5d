//! A chunk's results to the callbacks, in the reference's order: per step,
//! `on_step` (with the snapshot where the step was recorded) then
//! `on_spikes` per (batch item, population); and the counts of the
//! outcome (spikes, and the synaptic events the spikes cause within the run).

use super::buffers::Snapshots;
use super::chunks::Counted;
use crate::back::init::delay_of;
use crate::back::{PopState, Setup};
use crate::ir::Module;
use snnc_runtime::synapse_values::{Delays, SynapseTable};
use snnc_runtime::RuntimeError;

pub(super) struct Delivery<'a> {
    m: &'a Module,
    tables: &'a [SynapseTable],
    nbz: usize,
    /// Steps of the run.
    steps: u64,
    /// The steps whose state `on_step` receives are multiples of one.
    traced_every: Vec<u64>,
    /// Per population: reals and refractory counters in one snapshot.
    snap_reals: Vec<usize>,
    snap_counters: Vec<usize>,
    /// Per projection and row: delays sorted (per-synapse delays only).
    row_delays: Vec<Option<Vec<Vec<u64>>>>,
    /// Spikes per population, summed over items.
    pub(super) spikes: Vec<u64>,
    pub(super) events: u64,
}

impl<'a> Delivery<'a> {
    pub(super) fn new(
        m: &'a Module,
        tables: &'a [SynapseTable],
        nbz: usize,
        steps: u64,
        traced_every: Vec<u64>,
        snapshots: &Snapshots,
    ) -> Self {
        Self {
            m,
            tables,
            nbz,
            steps,
            traced_every,
            snap_reals: snapshots.reals.clone(),
            snap_counters: snapshots.counters.clone(),
            row_delays: tables.iter().map(sorted_row_delays).collect(),
            spikes: vec![0; m.populations.len()],
            events: 0,
        }
    }

    /// Chunk `c` with its spike rows (see [`super::chunks::Chunks::spike_rows`]).
    pub(super) fn deliver(
        &mut self,
        c: &Counted,
        fired_rows: &[Vec<u32>],
        setup: &mut Setup<'_>,
    ) -> Result<(), RuntimeError> {
        for s in c.first..c.end {
            let l = (s - c.first) as usize;
            self.report_state(c, s, setup)?;
            for b in 0..self.nbz {
                for (k, p) in self.m.populations.iter().enumerate() {
                    let n = p.size as usize;
                    let row = l * self.nbz + b;
                    let w = c.width[k];
                    let count = (c.counts[k][row] as usize).min(n).min(w);
                    let mut fired = fired_rows[k][row * w..row * w + count].to_vec();
                    // GPU compaction order is arbitrary: report ascending.
                    fired.sort_unstable();
                    self.spikes[k] += fired.len() as u64;
                    self.count_events(k, s, &fired);
                    (setup.on_spikes)(k as u32, s as u32, b as u32, &fired)?;
                }
            }
        }
        Ok(())
    }

    /// `on_step` for step `s` (and the guard, where it is due), with the
    /// state where `s` was recorded.
    fn report_state(&self, c: &Counted, s: u64, setup: &mut Setup<'_>) -> Result<(), RuntimeError> {
        let Some(r) = c.recorded.iter().position(|&x| x == s) else {
            return (setup.on_step)(s, &[]);
        };
        let items = self.snapshot(c, r);
        if let Some(w) = setup.watch.as_mut().filter(|w| w.due(s)) {
            (w.sink)(s, &items)?;
        }
        let traced = self.traced_every.iter().any(|e| s.is_multiple_of(*e));
        (setup.on_step)(s, if traced { &items } else { &[] })
    }

    /// Every item's state in snapshot `r` of chunk `c`.
    fn snapshot(&self, c: &Counted, r: usize) -> Vec<Vec<PopState>> {
        let nbz = self.nbz;
        (0..nbz)
            .map(|b| {
                let pops = self.m.populations.iter().enumerate().map(|(k, p)| {
                    let n = p.size as usize;
                    let (zr, zu) = (self.snap_reals[k], self.snap_counters[k]);
                    let real = &c.snap_real[k][r * zr..(r + 1) * zr];
                    let rf = &c.snap_rf[k][r * zu..(r + 1) * zu];
                    let ns = p.states.len();
                    let at = |q: usize| (q * nbz + b) * n;
                    PopState {
                        states: (0..ns).map(|q| real[at(q)..at(q) + n].to_vec()).collect(),
                        currents: (0..p.currents.len())
                            .map(|q| real[at(ns + q)..at(ns + q) + n].to_vec())
                            .collect(),
                        refractory: rf[b * n..(b + 1) * n].to_vec(),
                    }
                });
                pops.collect()
            })
            .collect()
    }

    /// The events population `k`'s spikes `fired` at step `s` cause before
    /// the run ends, over every projection from `k`.
    fn count_events(&mut self, k: usize, s: u64, fired: &[u32]) {
        for (j, proj) in self.m.projections.iter().enumerate() {
            if proj.pre as usize != k {
                continue;
            }
            let t = &self.tables[j].structure;
            for &pre in fired {
                let lo = t.row_ptr[pre as usize];
                let hi = t.row_ptr[pre as usize + 1];
                self.events += match &self.row_delays[j] {
                    None => {
                        if s + delay_of(&self.tables[j], 0) < self.steps {
                            hi - lo
                        } else {
                            0
                        }
                    }
                    Some(rows) => {
                        let d = &rows[pre as usize];
                        d.partition_point(|&x| s + x < self.steps) as u64
                    }
                };
            }
        }
    }
}

/// Per row: the delays of its synapses, sorted (`None`: one delay for all).
fn sorted_row_delays(t: &SynapseTable) -> Option<Vec<Vec<u64>>> {
    match &t.delays {
        Delays::Homogeneous(_) => None,
        Delays::PerSynapse(_) => Some(
            (0..t.structure.n_pre)
                .map(|pre| {
                    let lo = t.structure.row_ptr[pre as usize] as usize;
                    let hi = t.structure.row_ptr[pre as usize + 1] as usize;
                    let mut d: Vec<u64> = (lo..hi).map(|s| delay_of(t, s)).collect();
                    d.sort_unstable();
                    d
                })
                .collect(),
        ),
    }
}
