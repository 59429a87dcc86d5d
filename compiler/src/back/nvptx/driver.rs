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

mod buffers;
mod chunks;
mod delivery;

use std::time::Instant;

use super::host::HostOptions;
use super::kernels::{Elem, KernelKind, Plan};
use crate::back::{BackendError, ExecError};
use crate::back::{Outcome, PopState, Setup};
use crate::ir::{Module, ValidModule};
use buffers::Snapshots;
use chunks::{Chunks, Counted, Queued};
use delivery::Delivery;
use snnc_runtime::synapse_values::SynapseTable;

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
    fn create(&mut self, id: usize, elem: Elem, data: Data) -> Result<(), BackendError>;
    /// All buffers exist: build the address table. `launches` is one step's
    /// launch sequence (kernel, threads), identical for every step (the CUDA
    /// device captures it as a graph here).
    fn finish_setup(&mut self, launches: &[(KernelKind, u64)]) -> Result<(), BackendError>;
    /// Queue a write of `data` (`region.count()` values, row after row).
    fn write(&mut self, region: Region, data: Data) -> Result<(), BackendError>;
    /// Queue a copy of `len` elements from `src[src_off..]` to `dst[dst_off..]`.
    fn copy(
        &mut self,
        elem: Elem,
        src: usize,
        src_off: usize,
        dst: usize,
        dst_off: usize,
        len: usize,
    ) -> Result<(), BackendError>;
    /// Queue `n` steps (the launch sequence `n` times).
    fn steps(&mut self, n: u64) -> Result<(), BackendError>;
    /// Queue reads of `regions` as they are once the work queued so far has
    /// run; does not wait. Returns a ticket for [`Device::wait_read`]. The
    /// regions must not be written by work queued before the wait (the
    /// driver's ring sizes guarantee it; the host device reads only at the
    /// wait, so a violation shows in the host tests).
    fn read_async(&mut self, regions: &[Region]) -> Result<usize, BackendError>;
    /// Waits for a ticket's reads: one `Data` per region, rows concatenated.
    fn wait_read(&mut self, ticket: usize) -> Result<Vec<Data>, BackendError>;
    /// Wait for all queued work.
    fn sync(&mut self) -> Result<(), BackendError>;
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

/// Run the module on `dev` (see the module docs).
pub fn run<D: Device>(
    valid: ValidModule<'_>,
    mut setup: Setup<'_>,
    dev: &mut D,
    plan: &Plan,
    opts: &HostOptions,
) -> Result<Outcome, ExecError> {
    let m = valid.module();
    let start = Instant::now();
    let lay = layout(m, &setup, opts);
    check_plan_fits(plan, &lay)?;
    buffers::create_plan_buffers(dev, m, &setup, plan, lay.slots)?;
    let snapshots = Snapshots::create(dev, m, plan, lay.snaps as usize)?;
    dev.finish_setup(&buffers::launch_shapes(m, plan, setup.tables))?;

    let every = state_every(m, &setup, opts);
    let needs_state = |step: u64| every.iter().any(|e| step.is_multiple_of(*e));
    let trains = crate::back::spike_sources(m, setup.inputs);
    let steps = setup.steps;
    let nbz = plan.nb as usize;
    let traced = traced_every(m, opts);
    let mut delivery = Delivery::new(m, setup.tables, nbz, steps, traced, &snapshots);
    let mut chunks = Chunks {
        dev,
        m,
        plan,
        snapshots,
        slots: lay.slots,
    };
    let mut pipeline = Pipeline::default();
    let (mut first, mut index) = (0u64, 0usize);
    while first < steps {
        let end = (first + u64::from(lay.chunk)).min(steps);
        chunks.upload_inputs(setup.inputs, first, end)?;
        chunks.upload_trains(&trains, first, end)?;
        let recorded: Vec<u64> = (first..end).filter(|&s| needs_state(s)).collect();
        let half = index % 2;
        chunks.queue_steps(first, end, half, &recorded)?;
        let queued = chunks.read_counters(first, end, half, recorded)?;
        pipeline.push(queued, &mut chunks, &mut delivery, &mut setup)?;
        first = end;
        index += 1;
    }
    pipeline.drain(&mut chunks, &mut delivery, &mut setup)?;
    chunks.dev.sync()?;
    if setup.watch.is_some() {
        let end = final_states(chunks.dev, m, plan, nbz)?;
        if let Some(w) = setup.watch.as_mut() {
            (w.sink)(steps, &end)?;
        }
    }
    Ok(Outcome {
        spikes: delivery.spikes,
        synaptic_events: delivery.events,
        wall_s: start.elapsed().as_secs_f64(),
        threads: 1,
        // Plastic projections are refused on the GPU.
        final_weights: vec![None; m.projections.len()],
    })
}

/// The plan's spike ring and input window hold the run's layout.
fn check_plan_fits(plan: &Plan, lay: &Layout) -> Result<(), BackendError> {
    let nbz = plan.nb as usize;
    let ring_ok = plan
        .pops
        .iter()
        .all(|pb| plan.bufs[pb.cnt].len >= lay.slots as usize * nbz);
    if plan.window < lay.window || !ring_ok {
        return Err(BackendError::Internal {
            backend: "NVPTX",
            what: "the plan's ring or input window is smaller than the run's layout",
        });
    }
    Ok(())
}

/// The chunks between queueing and delivery: the device runs up to two
/// chunks ahead of the callbacks.
#[derive(Default)]
struct Pipeline {
    /// The last chunk queued: its counters are being read.
    queued: Option<Queued>,
    /// The one before: its spike rows are being read.
    counted: Option<Counted>,
}

impl Pipeline {
    /// `next` queued: the previous chunk's spike rows are asked for, and the
    /// one before is delivered.
    fn push<D: Device>(
        &mut self,
        next: Queued,
        chunks: &mut Chunks<'_, D>,
        delivery: &mut Delivery<'_>,
        setup: &mut Setup<'_>,
    ) -> Result<(), ExecError> {
        if let Some(prev) = self.queued.replace(next) {
            let now = chunks.count(prev)?;
            if let Some(old) = self.counted.replace(now) {
                let rows = chunks.spike_rows(&old)?;
                delivery.deliver(&old, &rows, setup)?;
            }
        }
        Ok(())
    }

    /// Delivers what is left, in order.
    fn drain<D: Device>(
        &mut self,
        chunks: &mut Chunks<'_, D>,
        delivery: &mut Delivery<'_>,
        setup: &mut Setup<'_>,
    ) -> Result<(), ExecError> {
        if let Some(old) = self.counted.take() {
            let rows = chunks.spike_rows(&old)?;
            delivery.deliver(&old, &rows, setup)?;
        }
        if let Some(prev) = self.queued.take() {
            let now = chunks.count(prev)?;
            let rows = chunks.spike_rows(&now)?;
            delivery.deliver(&now, &rows, setup)?;
        }
        Ok(())
    }
}

/// Every population's states after the last step, per batch item (for the
/// divergence guard's final check; currents and counters left empty).
fn final_states<D: Device>(
    dev: &mut D,
    m: &Module,
    plan: &Plan,
    nbz: usize,
) -> Result<Vec<Vec<PopState>>, BackendError> {
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
