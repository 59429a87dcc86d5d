//! The step loop shared by the host and CUDA executors: builds every buffer
//! once (initial values by the reference's own evaluator, connectivity from
//! the runtime's tables), then runs the steps in chunks of `K` ([`Layout`])
//! without waiting for the device inside a chunk:
//!
//! 1. the chunk's host-fed data is written ahead of its kernels: array
//!    inputs into a `W = K`-step window (`inp[step % W]`), spike-train
//!    sources into their spike-ring slots (counters, and each row's prefix as
//!    one strided write);
//! 2. the steps are queued ([`Device::steps`]: a CUDA graph replay), with a
//!    device-side copy of the state into a snapshot buffer before each step
//!    a trace samples (two chunks' worth, alternating);
//! 3. phase 1: the chunk's spike counters and snapshots are read
//!    asynchronously ([`Device::read_async`]);
//! 4. one chunk later, when phase 1 has arrived, phase 2 reads each spike
//!    row's prefix as wide as that chunk's largest count (one strided read
//!    per population); one chunk after that the results are delivered, in
//!    the reference's callback order (`on_step`, then `on_spikes` per batch
//!    item and population, step by step).
//!
//! So the device runs up to two chunks ahead of the callbacks; the spike ring
//! holds at least three chunks ([`ring_slots`]). The host executor runs this
//! very loop (its reads happen at the wait, the worst case for the ring), so
//! the host tests cover the chunking.

use std::time::Instant;

use super::host::HostOptions;
use super::kernels::{kernel_list, neuron_offsets, Elem, KernelKind, Plan};
use crate::back::init::{delay_of, neuron_initial_values, synapse_initial_values};
use crate::back::BoundInput;
use crate::back::{Outcome, PopState, Setup};
use crate::ir::{Module, SynapseLayout, ValidModule};
use snnc_runtime::synapse_values::{Delays, SynapseTable, Weights};
use snnc_runtime::RuntimeError;

/// Initial contents of a buffer, or values moved to/from one (reals are
/// converted to and from the run's type).
#[derive(Debug, Clone, PartialEq)]
pub enum Data {
    Real(Vec<f64>),
    U32(Vec<u32>),
}

impl Data {
    /// The reals (empty for a u32 result).
    pub fn into_real(self) -> Vec<f64> {
        match self {
            Data::Real(v) => v,
            Data::U32(_) => Vec::new(),
        }
    }
    /// The u32 values (empty for a real result).
    pub fn into_u32(self) -> Vec<u32> {
        match self {
            Data::U32(v) => v,
            Data::Real(_) => Vec::new(),
        }
    }
}

/// `rows` rows of `len` elements of buffer `id`, row `r` starting at element
/// `offset + r * stride` (one 2-D copy on the GPU).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Region {
    pub id: usize,
    pub elem: Elem,
    pub offset: usize,
    pub len: usize,
    pub stride: usize,
    pub rows: usize,
}

impl Region {
    /// `len` contiguous elements at `offset`.
    pub fn flat(id: usize, elem: Elem, offset: usize, len: usize) -> Self {
        Self {
            id,
            elem,
            offset,
            len,
            stride: len,
            rows: 1,
        }
    }
    /// Elements in the region.
    pub fn count(&self) -> usize {
        self.len * self.rows
    }
    /// One past the last element touched.
    pub fn end(&self) -> usize {
        if self.count() == 0 {
            self.offset
        } else {
            self.offset + (self.rows - 1) * self.stride + self.len
        }
    }
}

/// What the step loop needs from a device. Every `write`, `copy`, `steps`
/// and `read_async` is *queued*, in call order (one CUDA stream); only
/// `wait_read` and `sync` wait.
pub trait Device {
    /// Allocates buffer `id` (in plan order, then the driver's own buffers)
    /// with these contents.
    fn create(&mut self, id: usize, elem: Elem, data: Data) -> Result<(), RuntimeError>;
    /// All buffers exist: build the address table. `launches` is one step's
    /// launch sequence (kernel, threads), identical for every step (the CUDA
    /// device captures it as a graph here).
    fn finish_setup(&mut self, launches: &[(KernelKind, u64)]) -> Result<(), RuntimeError>;
    /// Queue a write of `data` (`region.count()` values, row after row).
    fn write(&mut self, region: Region, data: Data) -> Result<(), RuntimeError>;
    /// Queue a copy of `len` elements from `src[src_off..]` to `dst[dst_off..]`.
    fn copy(
        &mut self,
        elem: Elem,
        src: usize,
        src_off: usize,
        dst: usize,
        dst_off: usize,
        len: usize,
    ) -> Result<(), RuntimeError>;
    /// Queue `n` steps (the launch sequence `n` times).
    fn steps(&mut self, n: u64) -> Result<(), RuntimeError>;
    /// Queue reads of `regions` as they are once the work queued so far has
    /// run; does not wait. Returns a ticket for [`Device::wait_read`]. The
    /// regions must not be written by work queued before the wait (the
    /// driver's ring sizes guarantee it; the host device reads only at the
    /// wait, so a violation shows in the host tests).
    fn read_async(&mut self, regions: &[Region]) -> Result<usize, RuntimeError>;
    /// Waits for a ticket's reads: one `Data` per region, rows concatenated.
    fn wait_read(&mut self, ticket: usize) -> Result<Vec<Data>, RuntimeError>;
    /// Wait for all queued work.
    fn sync(&mut self) -> Result<(), RuntimeError>;
}

fn to_u32(v: u64, what: &str) -> Result<u32, RuntimeError> {
    u32::try_from(v).map_err(|_| {
        super::backend_error(
            "NVPTX",
            format!("{what} ({v}) exceeds the 32-bit indices of the GPU kernels"),
        )
    })
}

/// Which populations are spike-train sources, and their trains.
pub fn sources<'a>(
    m: &Module,
    inputs: &'a [BoundInput],
) -> Vec<Option<&'a snnc_runtime::spike_train::SpikeTrain>> {
    (0..m.populations.len())
        .map(|pi| {
            m.inputs
                .iter()
                .zip(inputs)
                .find_map(|(input, data)| match data {
                    BoundInput::Spikes(t) if input.population as usize == pi => Some(t),
                    _ => None,
                })
        })
        .collect()
}

/// Device memory the driver may spend on trace snapshots and the input
/// window together before it shortens the chunk.
pub const STAGING_BUDGET_BYTES: u64 = 1 << 30;

/// How a run is cut into chunks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    /// Steps per chunk `K`: uploads, recordings and spike readback happen
    /// once per chunk.
    pub chunk: u32,
    /// Spike-ring slots `S`: a multiple of `K`, at least `3K` (the chunk
    /// running, the one whose spikes are being copied back, the next one)
    /// and at least `K + max delay` (a chunk's host-written source spikes
    /// must not overwrite what its events still read).
    pub slots: u32,
    /// Steps of array input on the device (`W = K`).
    pub window: u32,
    /// Trace snapshots one chunk can hold (`R`, two chunks' worth allocated).
    pub snaps: u32,
}

/// Steps at which the state is recorded (`HostOptions::state_every`, or the
/// module's trace periods).
pub fn state_every(m: &Module, setup: &Setup<'_>, opts: &HostOptions) -> Vec<u64> {
    let mut every = traced_every(m, opts);
    every.extend(setup.watch.as_ref().map(|w| w.every).filter(|&e| e > 0));
    every
}

/// The steps whose state `on_step` receives (the rest of [`state_every`] is
/// for the divergence guard).
fn traced_every(m: &Module, opts: &HostOptions) -> Vec<u64> {
    opts.state_every
        .clone()
        .unwrap_or_else(|| m.trace_intervals())
}

/// At most how many recorded steps a window of `k` steps holds.
fn snaps_per_chunk(every: &[u64], k: u32) -> u32 {
    let k64 = u64::from(k);
    let n: u64 = every.iter().map(|&e| k64.div_ceil(e.max(1))).sum();
    n.min(k64) as u32
}

/// Spike-ring length for chunks of `chunk` steps (see [`Layout::slots`]).
pub fn ring_slots(tables: &[SynapseTable], chunk: u32) -> u32 {
    let k = chunk.max(1);
    let max_d = tables
        .iter()
        .map(|t| u32::from(t.delays.max_steps()))
        .max()
        .unwrap_or(0);
    k * 3u32.max(1 + max_d.div_ceil(k))
}

/// Device bytes of the trace snapshots (two chunks' worth) and the input
/// window for chunks of `k` steps.
#[must_use]
pub fn staging_bytes(m: &Module, setup: &Setup<'_>, opts: &HostOptions, k: u32) -> u64 {
    let nb = u64::from(setup.batch.max(1));
    let rs: u64 = if setup.f32 { 4 } else { 8 };
    let every = state_every(m, setup, opts);
    let snap_bytes: u64 = m
        .populations
        .iter()
        .map(|p| {
            let n = u64::from(p.size) * nb;
            (p.states.len() + p.currents.len()) as u64 * n * rs + n * 4
        })
        .sum();
    let input_bytes: u64 = m
        .inputs
        .iter()
        .filter(|i| matches!(i.kind, crate::ir::InputKind::Array { .. }))
        .map(|i| u64::from(m.populations[i.population as usize].size) * nb * rs)
        .sum();
    2 * u64::from(snaps_per_chunk(&every, k)) * snap_bytes + u64::from(k) * input_bytes
}

/// Device memory a run needs: the plan's buffers plus the staging of its
/// chunk length (what the CUDA executor compares with the GPU's free memory
/// before allocating anything).
#[must_use]
pub fn device_bytes(
    m: &Module,
    setup: &Setup<'_>,
    opts: &HostOptions,
    plan: &Plan,
    lay: &Layout,
) -> u64 {
    plan.buffer_bytes() + staging_bytes(m, setup, opts, lay.chunk)
}

/// The chunking of a run: `opts.chunk`, halved until the trace snapshots
/// and the input window fit [`STAGING_BUDGET_BYTES`].
pub fn layout(m: &Module, setup: &Setup<'_>, opts: &HostOptions) -> Layout {
    let every = state_every(m, setup, opts);
    let need = |k: u32| staging_bytes(m, setup, opts, k);
    let mut k = opts.chunk.max(1);
    while k > 1 && need(k) > STAGING_BUDGET_BYTES {
        k = k.div_ceil(2);
    }
    Layout {
        chunk: k,
        slots: ring_slots(setup.tables, k),
        window: k,
        snaps: snaps_per_chunk(&every, k),
    }
}

/// A chunk whose work is queued and whose counters/snapshots are being read.
struct Queued {
    c0: u64,
    c1: u64,
    recorded: Vec<u64>,
    ticket: usize,
}

/// A chunk whose counters/snapshots arrived and whose spikes are being read.
struct Counted {
    c0: u64,
    c1: u64,
    recorded: Vec<u64>,
    /// Per population: `cnt[l][b]` for the chunk's steps.
    counts: Vec<Vec<u32>>,
    /// Per population: snapshot reals and refractory counters.
    snap_real: Vec<Vec<f64>>,
    snap_rf: Vec<Vec<u32>>,
    /// Per population: the row width read back (the chunk's largest count).
    width: Vec<usize>,
    ticket: usize,
}

/// Run the module on `dev` (see the module docs).
#[allow(clippy::too_many_lines)]
pub fn run<D: Device>(
    valid: ValidModule<'_>,
    mut setup: Setup<'_>,
    dev: &mut D,
    plan: &Plan,
    opts: &HostOptions,
) -> Result<Outcome, RuntimeError> {
    let m = valid.module();
    let start = Instant::now();
    let nb = plan.nb;
    let nbz = nb as usize;
    let f32 = plan.f32;
    let tables = setup.tables;
    let lay = layout(m, &setup, opts);
    let chunk = u64::from(lay.chunk);
    let slots = lay.slots;
    let ring_ok = plan
        .pops
        .iter()
        .all(|pb| plan.bufs[pb.cnt].len >= slots as usize * nbz);
    if plan.window < lay.window || !ring_ok {
        return Err(super::backend_error(
            "NVPTX",
            "the plan's ring or input window is smaller than the run's layout (internal error)",
        ));
    }
    let trains = sources(m, setup.inputs);

    // ---- buffers, in plan order --------------------------------------------
    let mut init: Vec<Option<Data>> = (0..plan.bufs.len()).map(|_| None).collect();
    init[plan.ctl] = Some(Data::U32(vec![0, slots, plan.window]));
    for (k, p) in m.populations.iter().enumerate() {
        let pb = &plan.pops[k];
        let n = p.size as usize;
        let ns = p.states.len();
        let mut st = vec![0.0; ns * nbz * n];
        let mut prm = vec![0.0; p.params.len() * nbz];
        for b in 0..nbz {
            let params = setup
                .params
                .get(b)
                .and_then(|x| x.get(k))
                .cloned()
                .unwrap_or_else(|| p.params.iter().map(|q| q.value).collect());
            for (q, v) in params.iter().enumerate().take(p.params.len()) {
                prm[q * nbz + b] = *v;
            }
            neuron_initial_values(m, k, &params, setup.seed, b as u32, f32, &mut |s, i, v| {
                st[(s * nbz + b) * n + i] = v;
            });
        }
        init[pb.st] = Some(Data::Real(st));
        init[pb.prm] = Some(Data::Real(prm));
    }
    for (k, j) in m.projections.iter().enumerate() {
        let jb = &plan.projs[k];
        let t = &tables[k];
        let s = &t.structure;
        let nsyn = s.len();
        to_u32(nsyn as u64, "number of synapses")?;
        let n_post = s.n_post as usize;
        let len = match j.synapse.layout {
            SynapseLayout::AlignPost => n_post,
            SynapseLayout::PerSynapse => nsyn,
        };
        let ns = j.synapse.states.len();
        let mut syn = vec![0.0; ns * nbz * len];
        for b in 0..nbz {
            synapse_initial_values(m, k, len, setup.seed, b as u32, f32, &mut |q, x, v| {
                syn[(q * nbz + b) * len + x] = v;
            });
        }
        init[jb.syn] = Some(Data::Real(syn));
        init[jb.rowptr] = Some(Data::U32(s.row_ptr.iter().map(|&r| r as u32).collect()));
        init[jb.cols] = Some(Data::U32(s.cols.clone()));
        init[jb.w] = Some(Data::Real(match &t.weights {
            Weights::Homogeneous(w) => vec![f64::from(*w)],
            Weights::PerSynapse(v) => v.iter().map(|&w| f64::from(w)).collect(),
        }));
        init[jb.dly] = Some(Data::U32(match &t.delays {
            Delays::Homogeneous(d) => vec![u32::from(*d)],
            Delays::PerSynapse(v) => v.iter().map(|&d| u32::from(d)).collect(),
        }));
        if j.output.is_some() && j.synapse.layout == SynapseLayout::PerSynapse {
            // Column index: synapses of each post neuron in table order.
            let mut cptr = vec![0u32; n_post + 1];
            for &c in &s.cols {
                cptr[c as usize + 1] += 1;
            }
            for i in 0..n_post {
                cptr[i + 1] += cptr[i];
            }
            let mut fill = cptr.clone();
            let mut cidx = vec![0u32; nsyn];
            for (x, &c) in s.cols.iter().enumerate() {
                cidx[fill[c as usize] as usize] = x as u32;
                fill[c as usize] += 1;
            }
            init[jb.cptr] = Some(Data::U32(cptr));
            init[jb.cidx] = Some(Data::U32(cidx));
        }
    }
    for (id, data) in init.into_iter().enumerate() {
        let spec = &plan.bufs[id];
        let data = data.unwrap_or_else(|| match spec.elem {
            Elem::Real => Data::Real(vec![0.0; spec.len]),
            Elem::U32 => Data::U32(vec![0; spec.len]),
        });
        dev.create(id, spec.elem, data)?;
    }
    // The driver's own buffers: per population, two chunks' worth of trace
    // snapshots (`[half][r][st ++ cur]` reals and `[half][r][rf]`).
    let snaps = lay.snaps as usize;
    let zr: Vec<usize> = m
        .populations
        .iter()
        .map(|p| (p.states.len() + p.currents.len()) * nbz * p.size as usize)
        .collect();
    let zu: Vec<usize> = m
        .populations
        .iter()
        .map(|p| nbz * p.size as usize)
        .collect();
    let mut snap_ids = Vec::new();
    for k in 0..m.populations.len() {
        let base = plan.bufs.len() + 2 * k;
        dev.create(
            base,
            Elem::Real,
            Data::Real(vec![0.0; (2 * snaps * zr[k]).max(1)]),
        )?;
        dev.create(
            base + 1,
            Elem::U32,
            Data::U32(vec![0; (2 * snaps * zu[k]).max(1)]),
        )?;
        snap_ids.push((base, base + 1));
    }

    // ---- launch shapes ---------------------------------------------------------
    let kernels = kernel_list(m);
    let off = neuron_offsets(m, nb);
    let launches: Vec<(KernelKind, u64)> = kernels
        .iter()
        .map(|k| {
            let total = match *k {
                KernelKind::Prepare => m.populations.len() as u64 * u64::from(nb),
                KernelKind::Neurons => *off.last().unwrap_or(&0),
                KernelKind::Syn(j) => {
                    let p = &m.projections[j];
                    let len = match p.synapse.layout {
                        SynapseLayout::AlignPost => m.populations[p.post as usize].size as usize,
                        SynapseLayout::PerSynapse => tables[j].structure.len(),
                    };
                    len as u64 * u64::from(nb)
                }
                KernelKind::Events(j) => {
                    let p = &m.projections[j];
                    let nd = if plan.projs[j].d_per_syn {
                        u64::from(tables[j].delays.max_steps()) + 1
                    } else {
                        1
                    };
                    nd * u64::from(nb) * u64::from(m.populations[p.pre as usize].size)
                }
                KernelKind::Advance => 1,
            };
            (k.clone(), total)
        })
        .filter(|(_, total)| *total > 0)
        .collect();
    dev.finish_setup(&launches)?;

    let every = state_every(m, &setup, opts);
    let needs_state = |step: u64| every.iter().any(|e| step.is_multiple_of(*e));
    let traced_steps = traced_every(m, opts);
    let traced = |step: u64| traced_steps.iter().any(|e| step.is_multiple_of(*e));

    // Per projection and row: delays sorted (per-synapse delays only).
    let row_delays: Vec<Option<Vec<Vec<u64>>>> = tables
        .iter()
        .map(|t| match &t.delays {
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
        })
        .collect();
    let steps = setup.steps;
    let npop = m.populations.len();
    let mut spikes = vec![0u64; npop];
    let mut events = 0u64;

    // Delivers a chunk's results in the reference's callback order: per
    // step, `on_step` then `on_spikes` per (batch item, population).
    let mut deliver = |c: Counted,
                       fired_rows: Vec<Vec<u32>>,
                       setup: &mut Setup<'_>|
     -> Result<(), RuntimeError> {
        for s in c.c0..c.c1 {
            let l = (s - c.c0) as usize;
            match c.recorded.iter().position(|&r| r == s) {
                Some(r) => {
                    let mut items = Vec::with_capacity(nbz);
                    for b in 0..nbz {
                        let mut pops = Vec::with_capacity(npop);
                        for (k, p) in m.populations.iter().enumerate() {
                            let n = p.size as usize;
                            let real = &c.snap_real[k][r * zr[k]..(r + 1) * zr[k]];
                            let rf = &c.snap_rf[k][r * zu[k]..(r + 1) * zu[k]];
                            let ns = p.states.len();
                            let at = |q: usize| (q * nbz + b) * n;
                            pops.push(PopState {
                                states: (0..ns).map(|q| real[at(q)..at(q) + n].to_vec()).collect(),
                                currents: (0..p.currents.len())
                                    .map(|q| real[at(ns + q)..at(ns + q) + n].to_vec())
                                    .collect(),
                                refractory: rf[b * n..(b + 1) * n].to_vec(),
                            });
                        }
                        items.push(pops);
                    }
                    if let Some(w) = setup.watch.as_mut().filter(|w| w.due(s)) {
                        (w.sink)(s, &items)?;
                    }
                    (setup.on_step)(s, if traced(s) { &items } else { &[] })?;
                }
                None => (setup.on_step)(s, &[])?,
            }
            for b in 0..nbz {
                for (k, p) in m.populations.iter().enumerate() {
                    let n = p.size as usize;
                    let row = l * nbz + b;
                    let count = (c.counts[k][row] as usize).min(n).min(c.width[k]);
                    let w = c.width[k];
                    let mut fired = fired_rows[k][row * w..row * w + count].to_vec();
                    // GPU compaction order is arbitrary: report ascending.
                    fired.sort_unstable();
                    spikes[k] += fired.len() as u64;
                    for (j, proj) in m.projections.iter().enumerate() {
                        if proj.pre as usize != k {
                            continue;
                        }
                        let t = &tables[j].structure;
                        for &pre in &fired {
                            let lo = t.row_ptr[pre as usize];
                            let hi = t.row_ptr[pre as usize + 1];
                            events += match &row_delays[j] {
                                None => {
                                    if s + delay_of(&tables[j], 0) < steps {
                                        hi - lo
                                    } else {
                                        0
                                    }
                                }
                                Some(rows) => {
                                    let d = &rows[pre as usize];
                                    d.partition_point(|&x| s + x < steps) as u64
                                }
                            };
                        }
                    }
                    (setup.on_spikes)(k as u32, s as u32, b as u32, &fired)?;
                }
            }
        }
        Ok(())
    };
    let slot0 = |c0: u64| (c0 % u64::from(slots)) as usize;
    // Phase 2: the counters of `q` arrived; queue its spike rows (each
    // row's prefix as wide as the chunk's largest count).
    let count_chunk = |dev: &mut D, q: Queued| -> Result<Counted, RuntimeError> {
        let mut got = dev.wait_read(q.ticket)?.into_iter();
        let counts: Vec<Vec<u32>> = (0..npop)
            .map(|_| got.next().map(Data::into_u32).unwrap_or_default())
            .collect();
        let snap_real: Vec<Vec<f64>> = (0..npop)
            .map(|_| got.next().map(Data::into_real).unwrap_or_default())
            .collect();
        let snap_rf: Vec<Vec<u32>> = (0..npop)
            .map(|_| got.next().map(Data::into_u32).unwrap_or_default())
            .collect();
        let l = (q.c1 - q.c0) as usize;
        let mut width = Vec::with_capacity(npop);
        let mut regions = Vec::with_capacity(npop);
        for (k, p) in m.populations.iter().enumerate() {
            let n = p.size as usize;
            let w = counts[k]
                .iter()
                .map(|&c| c as usize)
                .max()
                .unwrap_or(0)
                .min(n);
            width.push(w);
            regions.push(Region {
                id: plan.pops[k].spk,
                elem: Elem::U32,
                offset: slot0(q.c0) * nbz * n,
                len: w,
                stride: n,
                rows: l * nbz,
            });
        }
        let ticket = dev.read_async(&regions)?;
        Ok(Counted {
            c0: q.c0,
            c1: q.c1,
            recorded: q.recorded,
            counts,
            snap_real,
            snap_rf,
            width,
            ticket,
        })
    };

    let mut queued: Option<Queued> = None;
    let mut counted: Option<Counted> = None;
    let mut c0 = 0u64;
    let mut index = 0usize;
    while c0 < steps {
        let c1 = (c0 + chunk).min(steps);
        let l = (c1 - c0) as usize;
        let sl = slot0(c0);
        // ---- host-fed data for the whole chunk, ahead of its kernels --------
        for (q, input) in m.inputs.iter().enumerate() {
            if let Some(id) = plan.inputs[q] {
                let n = m.populations[input.population as usize].size;
                let mut v = Vec::with_capacity(l * nbz * n as usize);
                for s in c0..c1 {
                    for b in 0..nb {
                        for i in 0..n {
                            v.push(setup.inputs[q].value(s, u64::from(b), i));
                        }
                    }
                }
                // inp[step % W]: chunks start at multiples of W.
                let w0 = (c0 % u64::from(plan.window)) as usize;
                let len = v.len();
                dev.write(
                    Region::flat(id, Elem::Real, w0 * nbz * n as usize, len),
                    Data::Real(v),
                )?;
            }
        }
        for (k, train) in trains.iter().enumerate() {
            let Some(train) = train else { continue };
            let pb = &plan.pops[k];
            let n = m.populations[k].size as usize;
            let fired: Vec<Vec<u32>> = (c0..c1)
                .map(|s| {
                    train
                        .at(s)
                        .iter()
                        .copied()
                        .filter(|&i| (i as usize) < n)
                        .collect()
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
            dev.write(
                Region::flat(pb.cnt, Elem::U32, sl * nbz, l * nbz),
                Data::U32(cnt),
            )?;
            if w > 0 {
                dev.write(
                    Region {
                        id: pb.spk,
                        elem: Elem::U32,
                        offset: sl * nbz * n,
                        len: w,
                        stride: n,
                        rows: l * nbz,
                    },
                    Data::U32(rows),
                )?;
            }
        }
        // ---- the steps, with a state snapshot before each recorded one ------
        let half = index % 2;
        let recorded: Vec<u64> = (c0..c1).filter(|&s| needs_state(s)).collect();
        if recorded.len() > snaps {
            return Err(super::backend_error(
                "NVPTX",
                "more recorded steps in a chunk than snapshots (internal error)",
            ));
        }
        let mut at = c0;
        for (r, &s) in recorded.iter().enumerate() {
            dev.steps(s - at)?;
            at = s;
            for (k, p) in m.populations.iter().enumerate() {
                let pb = &plan.pops[k];
                let (sr, su) = snap_ids[k];
                let n = p.size as usize;
                let st_len = p.states.len() * nbz * n;
                let cur_len = p.currents.len() * nbz * n;
                let base = (half * snaps + r) * zr[k];
                if st_len > 0 {
                    dev.copy(Elem::Real, pb.st, 0, sr, base, st_len)?;
                }
                if cur_len > 0 {
                    dev.copy(Elem::Real, pb.cur, 0, sr, base + st_len, cur_len)?;
                }
                if zu[k] > 0 {
                    dev.copy(Elem::U32, pb.rf, 0, su, (half * snaps + r) * zu[k], zu[k])?;
                }
            }
        }
        dev.steps(c1 - at)?;
        // ---- phase 1: counters and snapshots, without waiting ----------------
        let nr = recorded.len();
        let mut regions = Vec::with_capacity(3 * npop);
        for pb in &plan.pops {
            regions.push(Region::flat(pb.cnt, Elem::U32, sl * nbz, l * nbz));
        }
        for (k, &(sr, _)) in snap_ids.iter().enumerate() {
            regions.push(Region::flat(
                sr,
                Elem::Real,
                half * snaps * zr[k],
                nr * zr[k],
            ));
        }
        for (k, &(_, su)) in snap_ids.iter().enumerate() {
            regions.push(Region::flat(
                su,
                Elem::U32,
                half * snaps * zu[k],
                nr * zu[k],
            ));
        }
        let ticket = dev.read_async(&regions)?;
        let next = Queued {
            c0,
            c1,
            recorded,
            ticket,
        };
        // ---- the previous chunk's spikes; the one before is delivered --------
        if let Some(prev) = queued.replace(next) {
            let now = count_chunk(dev, prev)?;
            if let Some(old) = counted.replace(now) {
                let rows = dev.wait_read(old.ticket)?;
                deliver(
                    old,
                    rows.into_iter().map(Data::into_u32).collect(),
                    &mut setup,
                )?;
            }
        }
        c0 = c1;
        index += 1;
    }
    if let Some(old) = counted.take() {
        let rows = dev.wait_read(old.ticket)?;
        deliver(
            old,
            rows.into_iter().map(Data::into_u32).collect(),
            &mut setup,
        )?;
    }
    if let Some(prev) = queued.take() {
        let now = count_chunk(dev, prev)?;
        let rows = dev.wait_read(now.ticket)?;
        deliver(
            now,
            rows.into_iter().map(Data::into_u32).collect(),
            &mut setup,
        )?;
    }
    dev.sync()?;
    if setup.watch.is_some() {
        let end = final_states(dev, m, plan, nbz)?;
        if let Some(w) = setup.watch.as_mut() {
            (w.sink)(steps, &end)?;
        }
    }
    Ok(Outcome {
        spikes,
        synaptic_events: events,
        wall_s: start.elapsed().as_secs_f64(),
        threads: 1,
    })
}

/// Every population's states after the last step, per batch item (for the
/// divergence guard's final check; currents and counters left empty).
fn final_states<D: Device>(
    dev: &mut D,
    m: &Module,
    plan: &Plan,
    nbz: usize,
) -> Result<Vec<Vec<PopState>>, RuntimeError> {
    let len = |p: &crate::ir::Population| p.states.len() * nbz * p.size as usize;
    // Only populations with states have a state buffer worth reading.
    let regions: Vec<Region> = m
        .populations
        .iter()
        .zip(&plan.pops)
        .filter(|(p, _)| len(p) > 0)
        .map(|(p, pb)| Region::flat(pb.st, Elem::Real, 0, len(p)))
        .collect();
    let ticket = dev.read_async(&regions)?;
    let mut got = dev.wait_read(ticket)?.into_iter();
    let per_pop: Vec<Vec<f64>> = m
        .populations
        .iter()
        .map(|p| {
            if len(p) > 0 {
                got.next().map(Data::into_real).unwrap_or_default()
            } else {
                Vec::new()
            }
        })
        .collect();
    Ok((0..nbz)
        .map(|b| {
            m.populations
                .iter()
                .zip(&per_pop)
                .map(|(p, real)| {
                    let n = p.size as usize;
                    let at = |q: usize| ((q * nbz + b) * n).min(real.len());
                    PopState {
                        states: (0..p.states.len())
                            .map(|q| real[at(q)..(at(q) + n).min(real.len())].to_vec())
                            .collect(),
                        currents: Vec::new(),
                        refractory: Vec::new(),
                    }
                })
                .collect()
        })
        .collect())
}
