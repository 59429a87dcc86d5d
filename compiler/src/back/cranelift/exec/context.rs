//! The context tables: per kernel and batch item, the values of the
//! kernel's slots (array addresses, parameters, random keys), which the
//! kernel reads through its first argument.

use super::memory::ItemMemory;
use crate::back::cranelift::lower::Slot;
use crate::back::cranelift::rt::pack_key;
use crate::back::cranelift::Compiled;
use crate::back::init::InitEnv;
use crate::back::reference::eval::eval;
use crate::back::Setup;
use crate::ir::{Module, SYNAPSE_KEY_BIT};
use snnc_runtime::rng::{key_for, Purpose};
use snnc_runtime::synapse_values::Weights;

/// `contexts[kernel][batch item]`: one u64 per slot of the kernel.
pub(super) type Contexts = Vec<Vec<Vec<u64>>>;

/// What the slots' values come from besides the item's arrays.
pub(super) struct SlotSource<'a, 's> {
    pub(super) m: &'a Module,
    pub(super) setup: &'a Setup<'s>,
    /// Per projection: the presynaptic index of every synapse, where
    /// synapse code reads `pre.X`.
    pub(super) pre_of: &'a [Option<Vec<u32>>],
}

impl SlotSource<'_, '_> {
    /// Every kernel's context for every item.
    pub(super) fn contexts(&self, compiled: &Compiled, items: &mut [ItemMemory]) -> Contexts {
        compiled
            .kernels
            .iter()
            .map(|(_, slots, _)| {
                items
                    .iter_mut()
                    .enumerate()
                    .map(|(b, item)| slots.iter().map(|s| self.value(*s, item, b)).collect())
                    .collect()
            })
            .collect()
    }

    /// The value of `slot` for batch item `b`.
    fn value(&self, slot: Slot, item: &mut ItemMemory, b: usize) -> u64 {
        let (m, setup) = (self.m, self.setup);
        let tables = setup.tables;
        match slot {
            Slot::State { pop, state } => item.states[pop as usize][state as usize].ptr() as u64,
            Slot::Current { pop, cur } => item.currents[pop as usize][cur as usize].ptr() as u64,
            Slot::Refr { pop } => item.refractory[pop as usize].ptr() as u64,
            Slot::Param { pop, q } => setup
                .params
                .get(b)
                .and_then(|x| x.get(pop as usize))
                .and_then(|x| x.get(q as usize))
                .copied()
                .unwrap_or(m.populations[pop as usize].params[q as usize].value)
                .to_bits(),
            Slot::RefCount { pop } => {
                let params: &[f64] = setup.params[b].get(pop as usize).map_or(&[], Vec::as_slice);
                host_count(m, pop as usize, params, setup.f32)
            }
            Slot::Syn { proj, state } => {
                item.synapse_states[proj as usize][state as usize].ptr() as u64
            }
            Slot::Scratch { proj } => item.output_sums[proj as usize].ptr() as u64,
            Slot::Cols { proj } => tables[proj as usize].structure.cols.as_ptr() as u64,
            Slot::PreOf { proj } => self.pre_of[proj as usize]
                .as_ref()
                .map_or(0, |v| v.as_ptr() as u64),
            Slot::Weights { proj } => match (
                &mut item.plastic_weights[proj as usize],
                &tables[proj as usize].weights,
            ) {
                (Some(plastic), _) => plastic.ptr() as u64,
                (None, Weights::PerSynapse(v)) => v.as_ptr() as u64,
                (None, Weights::Homogeneous(_)) => 0,
            },
            Slot::Weight { proj } => match &tables[proj as usize].weights {
                Weights::Homogeneous(w) if setup.f32 => u64::from(w.to_bits()),
                Weights::Homogeneous(w) => f64::from(*w).to_bits(),
                Weights::PerSynapse(_) => 0,
            },
            Slot::Input { input } => item.inputs[input as usize].ptr() as u64,
            Slot::KeyNoise { pop } => {
                pack_key(key_for(setup.seed, Purpose::ModelNoise { population: pop }))
            }
            Slot::KeyInjection { inj } => {
                pack_key(key_for(setup.seed, Purpose::Injection { injection: inj }))
            }
            Slot::KeySyn { proj } => pack_key(key_for(
                setup.seed,
                Purpose::ModelNoise {
                    population: SYNAPSE_KEY_BIT | proj,
                },
            )),
            Slot::Batch => b as u64,
        }
    }
}

/// Refractory count for a host-computable period, as the reference computes it.
fn host_count(m: &Module, p: usize, params: &[f64], f32: bool) -> u64 {
    let Some(crate::ir::Refractory::Period(rf)) = m.populations[p].refractory else {
        return 0;
    };
    let v = eval(
        &m.exprs,
        rf,
        &InitEnv {
            s: &[],
            params,
            synapse: false,
            dt: m.dt,
            key: [0, 0],
            index: 0,
            batch: 0,
            f32,
        },
    ) / m.dt;
    let cap = if f32 {
        f64::from(i32::MAX)
    } else {
        f64::from(u32::MAX)
    };
    if v.is_finite() && v > 0.0 {
        v.round().min(cap) as u64
    } else {
        0
    }
}
