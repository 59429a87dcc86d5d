//! Per batch item memory: one cache-line-aligned array per state, current,
//! refractory counter, synapse state, output sum and input (structure of
//! arrays), padded to a multiple of [`PAD`] so kernels run whole vectors,
//! with the initial values written in; and the raw pointers the threads use.

use crate::back::init::{neuron_initial_values, synapse_initial_values};
use crate::back::Setup;
use crate::ir::{Module, SynapseLayout};
use snnc_runtime::alloc::vec_filled;
use snnc_runtime::RuntimeError;

/// Elements per SIMD vector of the kernels: every array holds a multiple.
pub(super) const PAD: usize = 4;

pub(super) fn padded(n: usize) -> usize {
    n.div_ceil(PAD) * PAD
}

/// One cache line.
#[derive(Clone, Copy)]
#[repr(C, align(64))]
struct Line([u64; 8]);

/// Raw storage for `len` elements of `elem` bytes, starting on a cache line:
/// with chunk bounds on [`super::partition::CHUNK`] elements, no two threads
/// write one line.
pub(super) struct LineArray {
    lines: Vec<Line>,
}

impl LineArray {
    /// Zeroed; allocated fallibly (sizes come from the model).
    fn new(len: usize, elem: usize) -> Result<Self, RuntimeError> {
        let lines = len.saturating_mul(elem).div_ceil(64).max(1);
        Ok(Self {
            lines: vec_filled(Line([0; 8]), lines, "the JIT's state arrays")?,
        })
    }
    pub(super) fn ptr(&mut self) -> *mut u8 {
        self.lines.as_mut_ptr().cast()
    }
    fn shared(&mut self) -> SharedPtr {
        SharedPtr(self.ptr())
    }
}

/// A pointer into a [`LineArray`] (or a spike list) that may cross threads
/// (the step protocol keeps accesses apart).
#[derive(Clone, Copy)]
pub(super) struct SharedPtr(pub(super) *mut u8);
// SAFETY: see the module docs of `exec`: every location is written by one
// thread between barriers, and read by others only after a barrier.
unsafe impl Send for SharedPtr {}
unsafe impl Sync for SharedPtr {}

/// Element `i` of a real array of the run's type.
#[inline]
pub(super) fn read_real(p: SharedPtr, i: usize, f32: bool) -> f64 {
    // SAFETY: callers pass indices inside the array.
    unsafe {
        if f32 {
            f64::from(*p.0.cast::<f32>().add(i))
        } else {
            *p.0.cast::<f64>().add(i)
        }
    }
}

#[inline]
pub(super) fn write_real(p: SharedPtr, i: usize, f32: bool, v: f64) {
    // SAFETY: callers pass indices inside the array.
    unsafe {
        if f32 {
            *p.0.cast::<f32>().add(i) = v as f32;
        } else {
            *p.0.cast::<f64>().add(i) = v;
        }
    }
}

/// Element `i` of a refractory counter array (i32 or i64), as u32.
#[inline]
pub(super) fn read_count(p: SharedPtr, i: usize, f32: bool) -> u32 {
    // SAFETY: as `read_real`.
    unsafe {
        if f32 {
            (*p.0.cast::<i32>().add(i)).max(0) as u32
        } else {
            (*p.0.cast::<i64>().add(i)).clamp(0, i64::from(u32::MAX)) as u32
        }
    }
}

/// The arrays of one batch item.
pub(super) struct ItemMemory {
    /// `states[population][state]`.
    pub(super) states: Vec<Vec<LineArray>>,
    /// `currents[population][current]`.
    pub(super) currents: Vec<Vec<LineArray>>,
    /// Refractory counters per population.
    pub(super) refractory: Vec<LineArray>,
    /// `synapse_states[projection][state]`.
    pub(super) synapse_states: Vec<Vec<LineArray>>,
    /// Per projection: its synapses' outputs summed per target neuron.
    pub(super) output_sums: Vec<LineArray>,
    /// Per `module.inputs` entry: this step's values per neuron.
    pub(super) inputs: Vec<LineArray>,
    /// Per projection: the item's own weights (reals of the run's width),
    /// for plastic projections only.
    pub(super) plastic_weights: Vec<Option<LineArray>>,
}

impl ItemMemory {
    /// Batch item `b`'s arrays, with the initial values written in.
    pub(super) fn allocate(m: &Module, setup: &Setup<'_>, b: usize) -> Result<Self, RuntimeError> {
        let mut item = ItemMemory {
            states: Vec::new(),
            currents: Vec::new(),
            refractory: Vec::new(),
            synapse_states: Vec::new(),
            output_sums: Vec::new(),
            inputs: Vec::new(),
            plastic_weights: Vec::new(),
        };
        let (f32, es) = (setup.f32, elem_bytes(setup));
        for (k, p) in m.populations.iter().enumerate() {
            let np = padded(p.size as usize);
            let params: &[f64] = setup.params[b].get(k).map_or(&[], Vec::as_slice);
            let states = initialised_arrays(p.states.len(), np, f32, |put| {
                neuron_initial_values(m, k, params, setup.seed, b as u32, f32, put);
            })?;
            item.states.push(states);
            item.currents.push(
                (0..p.currents.len())
                    .map(|_| LineArray::new(np, es))
                    .collect::<Result<_, _>>()?,
            );
            item.refractory.push(LineArray::new(np, es)?);
        }
        for (k, (j, t)) in m.projections.iter().zip(setup.tables).enumerate() {
            let n_post = m.populations[j.post as usize].size as usize;
            let len = match j.synapse.layout {
                SynapseLayout::AlignPost => n_post,
                SynapseLayout::PerSynapse => t.structure.len(),
            };
            let states = initialised_arrays(j.synapse.states.len(), padded(len), f32, |put| {
                synapse_initial_values(m, k, len, setup.seed, b as u32, f32, put);
            })?;
            item.synapse_states.push(states);
            item.output_sums.push(LineArray::new(padded(n_post), es)?);
            item.plastic_weights.push(if j.synapse.is_plastic() {
                let n = t.structure.len();
                let mut weights = initialised_arrays(1, padded(n), f32, |put| {
                    for s in 0..n {
                        put(0, s, crate::back::init::weight_of(t, s));
                    }
                })?;
                weights.pop()
            } else {
                None
            });
        }
        for input in &m.inputs {
            let n = m.populations[input.population as usize].size as usize;
            item.inputs.push(LineArray::new(padded(n), es)?);
        }
        Ok(item)
    }
}

impl ItemMemory {
    /// Projection `k`'s `n` learned weights, if it is plastic.
    pub(super) fn learned_weights(&mut self, k: usize, n: usize, f32: bool) -> Option<Vec<f64>> {
        let weights = self.plastic_weights[k].as_mut()?.shared();
        Some((0..n).map(|s| read_real(weights, s, f32)).collect())
    }
}

/// `count` zeroed arrays of `len` reals, with the initial values `init`
/// gives through (array, index, value).
fn initialised_arrays(
    count: usize,
    len: usize,
    f32: bool,
    init: impl FnOnce(&mut dyn FnMut(usize, usize, f64)),
) -> Result<Vec<LineArray>, RuntimeError> {
    let es = if f32 { 4 } else { 8 };
    let mut arrays: Vec<LineArray> = (0..count)
        .map(|_| LineArray::new(len, es))
        .collect::<Result<_, _>>()?;
    let ptrs: Vec<SharedPtr> = arrays.iter_mut().map(LineArray::shared).collect();
    init(&mut |s, i, v| write_real(ptrs[s], i, f32, v));
    Ok(arrays)
}

/// Bytes per real of the run.
fn elem_bytes(setup: &Setup<'_>) -> usize {
    if setup.f32 {
        4
    } else {
        8
    }
}

/// One batch item's arrays as pointers the threads share.
pub(super) struct ItemPtrs {
    /// `states[population][state]`.
    pub(super) states: Vec<Vec<SharedPtr>>,
    /// `currents[population][current]`.
    pub(super) currents: Vec<Vec<SharedPtr>>,
    pub(super) refractory: Vec<SharedPtr>,
    /// Per projection.
    pub(super) output_sums: Vec<SharedPtr>,
    /// Per `module.inputs` entry.
    pub(super) inputs: Vec<SharedPtr>,
}

impl ItemPtrs {
    pub(super) fn new(item: &mut ItemMemory) -> Self {
        let per_pop = |arrays: &mut Vec<Vec<LineArray>>| -> Vec<Vec<SharedPtr>> {
            arrays
                .iter_mut()
                .map(|v| v.iter_mut().map(LineArray::shared).collect())
                .collect()
        };
        Self {
            states: per_pop(&mut item.states),
            currents: per_pop(&mut item.currents),
            refractory: item.refractory.iter_mut().map(LineArray::shared).collect(),
            output_sums: item.output_sums.iter_mut().map(LineArray::shared).collect(),
            inputs: item.inputs.iter_mut().map(LineArray::shared).collect(),
        }
    }
}
