//! The step loop shared by the host and CUDA executors: builds every buffer
//! once (initial values by the reference's own evaluator, connectivity from
//! the runtime's tables), then per step writes the host-fed inputs, launches
//! the kernels in order, reads spikes back in chunks of the spike ring, and
//! states only on the steps a trace samples.

use std::time::Instant;

use super::host::HostOptions;
use super::kernels::{kernel_list, neuron_offsets, Elem, KernelKind, Plan};
use crate::back::reference::eval::{eval, keyed_draw, Env};
use crate::back::reference::{Outcome, PopState, Setup, SYNAPSE_KEY_BIT};
use crate::back::BoundInput;
use crate::ir::{Module, RandomKind, Record, SynapseLayout, ValidModule, Var};
use snnc_runtime::rng::{key_for, Purpose};
use snnc_runtime::synapse_values::{Delays, SynapseTable, Weights};
use snnc_runtime::RuntimeError;

/// Initial contents of a buffer (reals are converted to the run's type).
pub enum Data {
    Real(Vec<f64>),
    U32(Vec<u32>),
}

/// What the step loop needs from a device.
pub trait Device {
    /// Allocates buffer `id` (in plan order) with these contents.
    fn create(&mut self, id: usize, elem: Elem, data: Data) -> Result<(), RuntimeError>;
    /// All buffers exist: build the address table.
    fn finish_setup(&mut self) -> Result<(), RuntimeError>;
    fn write_u32(&mut self, id: usize, offset: usize, data: &[u32]) -> Result<(), RuntimeError>;
    fn write_real(&mut self, id: usize, offset: usize, data: &[f64]) -> Result<(), RuntimeError>;
    fn read_u32(&mut self, id: usize, offset: usize, len: usize) -> Result<Vec<u32>, RuntimeError>;
    fn read_real(&mut self, id: usize, offset: usize, len: usize)
        -> Result<Vec<f64>, RuntimeError>;
    /// Launch `kernel` over `total` threads (queued; ordered with the others).
    fn launch(&mut self, kernel: &KernelKind, total: u64) -> Result<(), RuntimeError>;
    /// Wait for queued work.
    fn sync(&mut self) -> Result<(), RuntimeError>;
}

struct Vars<'a> {
    s: &'a [f64],
    params: &'a [f64],
    neuron: bool,
    dt: f64,
    key: [u32; 2],
    index: u32,
    batch: u32,
}

impl Env for Vars<'_> {
    fn load(&self, v: Var) -> f64 {
        let at = |xs: &[f64], i: u32| xs.get(i as usize).copied().unwrap_or(0.0);
        match (self.neuron, v) {
            (true, Var::State(i)) | (false, Var::Syn(i)) => at(self.s, i),
            (true, Var::Param(i)) | (false, Var::SynParam(i)) => at(self.params, i),
            (true, Var::Current(_) | Var::Input(_)) => 0.0,
            (false, Var::PostState(_) | Var::PostCurrent(_) | Var::PreState(_) | Var::Weight) => {
                0.0
            }
            (_, Var::Time) => 0.0,
            (_, Var::Dt) => self.dt,
            _ => f64::NAN,
        }
    }
    fn random(&self, kind: RandomKind, slot: u32) -> f64 {
        keyed_draw(self.key, kind, slot, self.index, 0, self.batch)
    }
}

fn round(f32: bool, v: f64) -> f64 {
    if f32 {
        v as f32 as f64
    } else {
        v
    }
}

/// Delay of synapse `s` in steps.
fn delay_of(t: &SynapseTable, s: usize) -> u64 {
    match &t.delays {
        Delays::Homogeneous(d) => u64::from(*d),
        Delays::PerSynapse(v) => v.get(s).copied().map_or(0, u64::from),
    }
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

/// Spike-ring length for a run whose spikes are read back every `chunk` steps.
pub fn ring_slots(tables: &[SynapseTable], chunk: u32) -> u32 {
    let max_d = tables
        .iter()
        .map(|t| u32::from(t.delays.max_steps()))
        .max()
        .unwrap_or(0);
    (max_d + 1).max(chunk.max(1))
}

/// Run the module on `dev` (see the module docs).
#[allow(clippy::too_many_lines)]
pub fn run<D: Device>(
    valid: ValidModule<'_>,
    setup: Setup<'_>,
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
    let chunk = opts.chunk.max(1);
    let slots = ring_slots(tables, chunk);
    let trains = sources(m, setup.inputs);

    // ---- buffers, in plan order --------------------------------------------
    let mut init: Vec<Option<Data>> = (0..plan.bufs.len()).map(|_| None).collect();
    init[plan.ctl] = Some(Data::U32(vec![0, slots]));
    for (k, p) in m.populations.iter().enumerate() {
        let pb = &plan.pops[k];
        let n = p.size as usize;
        let ns = p.states.len();
        let mut st = vec![0.0; ns * nbz * n];
        let mut prm = vec![0.0; p.params.len() * nbz];
        let key = key_for(
            setup.seed,
            Purpose::InitialValues {
                population: k as u32,
            },
        );
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
            let mut local = vec![0.0; ns];
            for i in 0..n {
                local.iter_mut().for_each(|x| *x = 0.0);
                for s in 0..ns {
                    let env = Vars {
                        s: &local,
                        params: &params,
                        neuron: true,
                        dt: m.dt,
                        key,
                        index: i as u32,
                        batch: b as u32,
                    };
                    local[s] = eval(&m.exprs, p.states[s].init, &env);
                }
                for s in 0..ns {
                    st[(s * nbz + b) * n + i] = local[s];
                }
            }
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
        let sp: Vec<f64> = j.synapse.params.iter().map(|q| q.value).collect();
        let key = key_for(
            setup.seed,
            Purpose::InitialValues {
                population: SYNAPSE_KEY_BIT | k as u32,
            },
        );
        let mut syn = vec![0.0; ns * nbz * len];
        let mut local = vec![0.0; ns];
        for b in 0..nbz {
            for x in 0..len {
                local.iter_mut().for_each(|v| *v = 0.0);
                for q in 0..ns {
                    let env = Vars {
                        s: &local,
                        params: &sp,
                        neuron: false,
                        dt: m.dt,
                        key,
                        index: x as u32,
                        batch: b as u32,
                    };
                    local[q] = round(f32, eval(&m.exprs, j.synapse.states[q].init, &env));
                }
                for q in 0..ns {
                    syn[(q * nbz + b) * len + x] = local[q];
                }
            }
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
    dev.finish_setup()?;

    // ---- launch shapes ---------------------------------------------------------
    let kernels = kernel_list(m);
    let off = neuron_offsets(m, nb);
    let totals: Vec<u64> = kernels
        .iter()
        .map(|k| match *k {
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
        })
        .collect();

    let state_every: Vec<u64> = opts.state_every.clone().unwrap_or_else(|| {
        m.records
            .iter()
            .filter_map(|r| match r {
                Record::Trace { every, .. } => Some(u64::from(*every).max(1)),
                Record::Spikes { .. } => None,
            })
            .collect()
    });
    let needs_state = |step: u64| state_every.iter().any(|e| step.is_multiple_of(*e));

    let mut spikes = vec![0u64; m.populations.len()];
    let mut events = 0u64;
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
    let mut chunk_start = 0u64;
    for step in 0..steps {
        if needs_state(step) {
            dev.sync()?;
            let mut items = Vec::with_capacity(nbz);
            for b in 0..nbz {
                let mut pops = Vec::with_capacity(m.populations.len());
                for (k, p) in m.populations.iter().enumerate() {
                    let pb = &plan.pops[k];
                    let n = p.size as usize;
                    let mut states = Vec::new();
                    for q in 0..p.states.len() {
                        states.push(dev.read_real(pb.st, (q * nbz + b) * n, n)?);
                    }
                    let mut currents = Vec::new();
                    for q in 0..p.currents.len() {
                        currents.push(dev.read_real(pb.cur, (q * nbz + b) * n, n)?);
                    }
                    let refractory = dev.read_u32(pb.rf, b * n, n)?;
                    pops.push(PopState {
                        states,
                        currents,
                        refractory,
                    });
                }
                items.push(pops);
            }
            (setup.on_step)(step, &items)?;
        } else {
            (setup.on_step)(step, &[])?;
        }
        let slot = (step % u64::from(slots)) as usize;
        // Host-fed data: array inputs and spike-train sources.
        for (q, input) in m.inputs.iter().enumerate() {
            if let Some(id) = plan.inputs[q] {
                let n = m.populations[input.population as usize].size;
                let mut v = Vec::with_capacity(nbz * n as usize);
                for b in 0..nb {
                    for i in 0..n {
                        v.push(setup.inputs[q].value(step, u64::from(b), i));
                    }
                }
                dev.write_real(id, 0, &v)?;
            }
        }
        for (k, train) in trains.iter().enumerate() {
            let Some(train) = train else { continue };
            let pb = &plan.pops[k];
            let n = m.populations[k].size as usize;
            let fired: Vec<u32> = train
                .at(step)
                .iter()
                .copied()
                .filter(|&i| (i as usize) < n)
                .collect();
            let count = fired.len() as u32;
            for b in 0..nbz {
                dev.write_u32(pb.spk, (slot * nbz + b) * n, &fired)?;
                dev.write_u32(pb.cnt, slot * nbz + b, &[count])?;
            }
        }
        for (k, total) in kernels.iter().zip(&totals) {
            if *total > 0 {
                dev.launch(k, *total)?;
            }
        }
        // Spikes of the finished chunk, in the reference's callback order.
        let last = step + 1 == steps;
        if (step + 1).is_multiple_of(u64::from(chunk)) || last {
            dev.sync()?;
            for s in chunk_start..=step {
                let sl = (s % u64::from(slots)) as usize;
                for b in 0..nbz {
                    for (k, p) in m.populations.iter().enumerate() {
                        let pb = &plan.pops[k];
                        let n = p.size as usize;
                        let count = dev.read_u32(pb.cnt, sl * nbz + b, 1)?[0] as usize;
                        let mut fired = dev.read_u32(pb.spk, (sl * nbz + b) * n, count.min(n))?;
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
            chunk_start = step + 1;
        }
    }
    dev.sync()?;
    Ok(Outcome {
        spikes,
        synaptic_events: events,
        wall_s: start.elapsed().as_secs_f64(),
    })
}
