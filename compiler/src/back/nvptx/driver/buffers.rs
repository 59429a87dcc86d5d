//! The driver's setup: every buffer of the plan created with its initial
//! contents (initial values by the reference's own evaluator, connectivity
//! from the runtime's tables), the driver's own snapshot buffers, and one
//! step's launch sequence.

use super::{Data, Device};
use crate::back::init::{neuron_initial_values, synapse_initial_values};
use crate::back::nvptx::kernels::{kernel_list, neuron_offsets, Elem, KernelKind, Plan};
use crate::back::{BackendError, Setup};
use crate::ir::{Module, SynapseLayout};
use snnc_runtime::connectivity::Structure;
use snnc_runtime::synapse_values::{Delays, SynapseTable, Weights};

/// Creates every buffer of `plan` on `dev`, in plan order: initial states,
/// parameters and connectivity; zeros elsewhere (the control block holds
/// the ring's `slots` and the input window).
pub(super) fn create_plan_buffers<D: Device>(
    dev: &mut D,
    m: &Module,
    setup: &Setup<'_>,
    plan: &Plan,
    slots: u32,
) -> Result<(), BackendError> {
    let mut init: Vec<Option<Data>> = (0..plan.bufs.len()).map(|_| None).collect();
    init[plan.ctl] = Some(Data::U32(vec![0, slots, plan.window]));
    population_buffers(&mut init, m, setup, plan);
    projection_buffers(&mut init, m, setup, plan)?;
    for (id, data) in init.into_iter().enumerate() {
        let spec = &plan.bufs[id];
        let data = data.unwrap_or_else(|| match spec.elem {
            Elem::Real => Data::Real(vec![0.0; spec.len]),
            Elem::U32 => Data::U32(vec![0; spec.len]),
        });
        dev.create(id, spec.elem, data)?;
    }
    Ok(())
}

/// Every population's initial states and per-item parameters
/// (`[state][item][neuron]`, `[param][item]`).
fn population_buffers(init: &mut [Option<Data>], m: &Module, setup: &Setup<'_>, plan: &Plan) {
    let nbz = plan.nb as usize;
    for (k, p) in m.populations.iter().enumerate() {
        let pb = &plan.pops[k];
        let n = p.size as usize;
        let mut states = vec![0.0; p.states.len() * nbz * n];
        let mut params_by_item = vec![0.0; p.params.len() * nbz];
        for b in 0..nbz {
            let params = setup
                .params
                .get(b)
                .and_then(|x| x.get(k))
                .cloned()
                .unwrap_or_else(|| p.params.iter().map(|q| q.value).collect());
            for (q, v) in params.iter().enumerate().take(p.params.len()) {
                params_by_item[q * nbz + b] = *v;
            }
            let (seed, f32) = (setup.seed, plan.f32);
            neuron_initial_values(m, k, &params, seed, b as u32, f32, &mut |s, i, v| {
                states[(s * nbz + b) * n + i] = v;
            });
        }
        init[pb.st] = Some(Data::Real(states));
        init[pb.prm] = Some(Data::Real(params_by_item));
    }
}

/// Every projection's initial synapse states, its table (rows, columns,
/// weights, delays) and, for per-synapse outputs, its column index.
fn projection_buffers(
    init: &mut [Option<Data>],
    m: &Module,
    setup: &Setup<'_>,
    plan: &Plan,
) -> Result<(), BackendError> {
    let nbz = plan.nb as usize;
    for (k, j) in m.projections.iter().enumerate() {
        let jb = &plan.projs[k];
        let t = &setup.tables[k];
        let s = &t.structure;
        let nsyn = s.len();
        if u32::try_from(nsyn).is_err() {
            return Err(BackendError::IndexOverflow {
                what: "number of synapses",
                value: nsyn as u64,
            });
        }
        let len = match j.synapse.layout {
            SynapseLayout::AlignPost => s.n_post as usize,
            SynapseLayout::PerSynapse => nsyn,
        };
        let mut syn = vec![0.0; j.synapse.states.len() * nbz * len];
        for b in 0..nbz {
            let (seed, f32) = (setup.seed, plan.f32);
            synapse_initial_values(m, k, len, seed, b as u32, f32, &mut |q, x, v| {
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
            let (cptr, cidx) = column_index(s);
            init[jb.cptr] = Some(Data::U32(cptr));
            init[jb.cidx] = Some(Data::U32(cidx));
        }
    }
    Ok(())
}

/// The synapses of each post neuron, in table order: `cidx[cptr[i]..cptr[i
/// + 1]]` are neuron `i`'s.
fn column_index(s: &Structure) -> (Vec<u32>, Vec<u32>) {
    let n_post = s.n_post as usize;
    let mut cptr = vec![0u32; n_post + 1];
    for &c in &s.cols {
        cptr[c as usize + 1] += 1;
    }
    for i in 0..n_post {
        cptr[i + 1] += cptr[i];
    }
    let mut fill = cptr.clone();
    let mut cidx = vec![0u32; s.len()];
    for (x, &c) in s.cols.iter().enumerate() {
        cidx[fill[c as usize] as usize] = x as u32;
        fill[c as usize] += 1;
    }
    (cptr, cidx)
}

/// The driver's own buffers: per population, two chunks' worth of state
/// snapshots (`[half][r][st ++ cur]` reals and `[half][r][rf]` counters).
pub(super) struct Snapshots {
    /// Snapshots per chunk (`R`).
    pub(super) per_chunk: usize,
    /// Per population: reals in one snapshot (states and currents, every item).
    pub(super) reals: Vec<usize>,
    /// Per population: refractory counters in one snapshot.
    pub(super) counters: Vec<usize>,
    /// Per population: (reals buffer, counters buffer).
    pub(super) ids: Vec<(usize, usize)>,
}

impl Snapshots {
    /// Creates the buffers after the plan's.
    pub(super) fn create<D: Device>(
        dev: &mut D,
        m: &Module,
        plan: &Plan,
        per_chunk: usize,
    ) -> Result<Self, BackendError> {
        let nbz = plan.nb as usize;
        let reals: Vec<usize> = m
            .populations
            .iter()
            .map(|p| (p.states.len() + p.currents.len()) * nbz * p.size as usize)
            .collect();
        let counters: Vec<usize> = m
            .populations
            .iter()
            .map(|p| nbz * p.size as usize)
            .collect();
        let mut ids = Vec::new();
        for k in 0..m.populations.len() {
            let base = plan.bufs.len() + 2 * k;
            let real_len = (2 * per_chunk * reals[k]).max(1);
            dev.create(base, Elem::Real, Data::Real(vec![0.0; real_len]))?;
            let counter_len = (2 * per_chunk * counters[k]).max(1);
            dev.create(base + 1, Elem::U32, Data::U32(vec![0; counter_len]))?;
            ids.push((base, base + 1));
        }
        Ok(Self {
            per_chunk,
            reals,
            counters,
            ids,
        })
    }
}

/// One step's launch sequence: every kernel with its thread count (kernels
/// with no threads left out).
pub(super) fn launch_shapes(
    m: &Module,
    plan: &Plan,
    tables: &[SynapseTable],
) -> Vec<(KernelKind, u64)> {
    let nb = plan.nb;
    let off = neuron_offsets(m, nb);
    kernel_list(m)
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
        .collect()
}
