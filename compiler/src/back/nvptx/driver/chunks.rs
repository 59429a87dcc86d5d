//! One chunk's work on the device: its host-fed data written ahead of its
//! kernels, its steps queued with the state snapshots, and its results read
//! back in two phases (counters and snapshots, then the spike rows).

use super::buffers::Snapshots;
use super::{Data, Device, Region};
use crate::back::nvptx::kernels::{Elem, Plan};
use crate::back::{BackendError, BoundInput};
use crate::ir::Module;
use snnc_runtime::spike_train::SpikeTrain;

/// A chunk whose work is queued and whose counters/snapshots are being read.
pub(super) struct Queued {
    /// Its steps: `first..end`.
    pub(super) first: u64,
    pub(super) end: u64,
    /// The steps whose state was snapshotted, in order.
    pub(super) recorded: Vec<u64>,
    ticket: usize,
}

/// A chunk whose counters/snapshots arrived and whose spikes are being read.
pub(super) struct Counted {
    /// Its steps: `first..end`.
    pub(super) first: u64,
    pub(super) end: u64,
    pub(super) recorded: Vec<u64>,
    /// Per population: `counts[l * nb + b]` for the chunk's step `l`, item `b`.
    pub(super) counts: Vec<Vec<u32>>,
    /// Per population: snapshot reals and refractory counters.
    pub(super) snap_real: Vec<Vec<f64>>,
    pub(super) snap_rf: Vec<Vec<u32>>,
    /// Per population: the row width read back (the chunk's largest count).
    pub(super) width: Vec<usize>,
    ticket: usize,
}

/// The device and what its chunks are laid out by.
pub(super) struct Chunks<'r, D: Device> {
    pub(super) dev: &'r mut D,
    pub(super) m: &'r Module,
    pub(super) plan: &'r Plan,
    pub(super) snapshots: Snapshots,
    /// Spike-ring slots (see [`super::Layout::slots`]).
    pub(super) slots: u32,
}

impl<D: Device> Chunks<'_, D> {
    fn nbz(&self) -> usize {
        self.plan.nb as usize
    }

    /// The spike-ring slot of step `step`.
    fn slot(&self, step: u64) -> usize {
        (step % u64::from(self.slots)) as usize
    }

    /// The array inputs of steps `first..end` into the input window
    /// (`inp[step % W]`: chunks start at multiples of `W`).
    pub(super) fn upload_inputs(
        &mut self,
        inputs: &[BoundInput],
        first: u64,
        end: u64,
    ) -> Result<(), BackendError> {
        let (m, nbz) = (self.m, self.nbz());
        for (q, input) in m.inputs.iter().enumerate() {
            let Some(id) = self.plan.inputs[q] else {
                continue;
            };
            let n = m.populations[input.population as usize].size;
            let mut v = Vec::with_capacity((end - first) as usize * nbz * n as usize);
            for s in first..end {
                for b in 0..self.plan.nb {
                    for i in 0..n {
                        v.push(inputs[q].value(s, u64::from(b), i));
                    }
                }
            }
            let w0 = (first % u64::from(self.plan.window)) as usize;
            let len = v.len();
            self.dev.write(
                Region::flat(id, Elem::Real, w0 * nbz * n as usize, len),
                Data::Real(v),
            )?;
        }
        Ok(())
    }

    /// The spikes of spike-train sources for steps `first..end` into their
    /// ring slots: the counters, and each row's prefix as one strided write.
    pub(super) fn upload_trains(
        &mut self,
        trains: &[Option<&SpikeTrain>],
        first: u64,
        end: u64,
    ) -> Result<(), BackendError> {
        let (nbz, sl, l) = (self.nbz(), self.slot(first), (end - first) as usize);
        for (k, train) in trains.iter().enumerate() {
            let Some(train) = train else { continue };
            let pb = &self.plan.pops[k];
            let n = self.m.populations[k].size as usize;
            let fired: Vec<Vec<u32>> = (first..end)
                .map(|s| {
                    let at = train.at(s).iter().copied();
                    at.filter(|&i| (i as usize) < n).collect()
                })
                .collect();
            let w = fired.iter().map(Vec::len).max().unwrap_or(0);
            let mut cnt = Vec::with_capacity(l * nbz);
            let mut rows = Vec::with_capacity(l * nbz * w);
            for f in &fired {
                for _ in 0..nbz {
                    cnt.push(f.len() as u32);
                    rows.extend_from_slice(f);
                    rows.resize(rows.len() + w - f.len(), 0);
                }
            }
            let counters = Region::flat(pb.cnt, Elem::U32, sl * nbz, l * nbz);
            self.dev.write(counters, Data::U32(cnt))?;
            if w > 0 {
                let region = Region {
                    id: pb.spk,
                    elem: Elem::U32,
                    offset: sl * nbz * n,
                    len: w,
                    stride: n,
                    rows: l * nbz,
                };
                self.dev.write(region, Data::U32(rows))?;
            }
        }
        Ok(())
    }

    /// Steps `first..end` queued, with a state snapshot (into half `half` of
    /// the snapshot buffers) before each step of `recorded`.
    pub(super) fn queue_steps(
        &mut self,
        first: u64,
        end: u64,
        half: usize,
        recorded: &[u64],
    ) -> Result<(), BackendError> {
        if recorded.len() > self.snapshots.per_chunk {
            return Err(BackendError::Internal {
                backend: "NVPTX",
                what: "more recorded steps in a chunk than snapshots",
            });
        }
        let mut at = first;
        for (r, &s) in recorded.iter().enumerate() {
            self.dev.steps(s - at)?;
            at = s;
            self.snapshot(half * self.snapshots.per_chunk + r)?;
        }
        self.dev.steps(end - at)
    }

    /// Every population's state copied into snapshot `index`.
    fn snapshot(&mut self, index: usize) -> Result<(), BackendError> {
        let nbz = self.nbz();
        for (k, p) in self.m.populations.iter().enumerate() {
            let pb = &self.plan.pops[k];
            let (reals, counters) = self.snapshots.ids[k];
            let n = p.size as usize;
            let st_len = p.states.len() * nbz * n;
            let cur_len = p.currents.len() * nbz * n;
            let base = index * self.snapshots.reals[k];
            if st_len > 0 {
                self.dev.copy(Elem::Real, pb.st, 0, reals, base, st_len)?;
            }
            if cur_len > 0 {
                let dst = base + st_len;
                self.dev.copy(Elem::Real, pb.cur, 0, reals, dst, cur_len)?;
            }
            let zu = self.snapshots.counters[k];
            if zu > 0 {
                self.dev
                    .copy(Elem::U32, pb.rf, 0, counters, index * zu, zu)?;
            }
        }
        Ok(())
    }

    /// Phase 1: the chunk's spike counters and snapshots, read without
    /// waiting.
    pub(super) fn read_counters(
        &mut self,
        first: u64,
        end: u64,
        half: usize,
        recorded: Vec<u64>,
    ) -> Result<Queued, BackendError> {
        let (nbz, sl, l) = (self.nbz(), self.slot(first), (end - first) as usize);
        let snaps = &self.snapshots;
        let (per_chunk, nr) = (snaps.per_chunk, recorded.len());
        let mut regions = Vec::with_capacity(3 * self.plan.pops.len());
        for pb in &self.plan.pops {
            regions.push(Region::flat(pb.cnt, Elem::U32, sl * nbz, l * nbz));
        }
        // This half's first `nr` snapshots of `size` elements each.
        let recorded_part =
            |id, elem, size: usize| Region::flat(id, elem, half * per_chunk * size, nr * size);
        for (k, &(reals, _)) in snaps.ids.iter().enumerate() {
            regions.push(recorded_part(reals, Elem::Real, snaps.reals[k]));
        }
        for (k, &(_, counters)) in snaps.ids.iter().enumerate() {
            regions.push(recorded_part(counters, Elem::U32, snaps.counters[k]));
        }
        let ticket = self.dev.read_async(&regions)?;
        Ok(Queued {
            first,
            end,
            recorded,
            ticket,
        })
    }

    /// Phase 2: the counters of `q` arrived; queue its spike rows (each
    /// row's prefix as wide as the chunk's largest count).
    pub(super) fn count(&mut self, q: Queued) -> Result<Counted, BackendError> {
        let npop = self.m.populations.len();
        let mut got = self.dev.wait_read(q.ticket)?.into_iter();
        let counts = next_per_pop(&mut got, npop, Data::into_u32);
        let snap_real = next_per_pop(&mut got, npop, Data::into_real);
        let snap_rf = next_per_pop(&mut got, npop, Data::into_u32);
        let (nbz, l) = (self.nbz(), (q.end - q.first) as usize);
        let mut width = Vec::with_capacity(npop);
        let mut regions = Vec::with_capacity(npop);
        for (k, p) in self.m.populations.iter().enumerate() {
            let n = p.size as usize;
            let largest = counts[k].iter().map(|&c| c as usize).max().unwrap_or(0);
            let w = largest.min(n);
            width.push(w);
            regions.push(Region {
                id: self.plan.pops[k].spk,
                elem: Elem::U32,
                offset: self.slot(q.first) * nbz * n,
                len: w,
                stride: n,
                rows: l * nbz,
            });
        }
        let ticket = self.dev.read_async(&regions)?;
        Ok(Counted {
            first: q.first,
            end: q.end,
            recorded: q.recorded,
            counts,
            snap_real,
            snap_rf,
            width,
            ticket,
        })
    }

    /// Waits for `c`'s spike rows: per population, `width` entries per
    /// (step, item) row.
    pub(super) fn spike_rows(&mut self, c: &Counted) -> Result<Vec<Vec<u32>>, BackendError> {
        let rows = self.dev.wait_read(c.ticket)?;
        Ok(rows.into_iter().map(Data::into_u32).collect())
    }
}

/// The next `n` results of a read (one per population), converted by `into`.
fn next_per_pop<T>(
    got: &mut impl Iterator<Item = Data>,
    n: usize,
    into: fn(Data) -> Vec<T>,
) -> Vec<Vec<T>> {
    (0..n)
        .map(|_| got.next().map(into).unwrap_or_default())
        .collect()
}
