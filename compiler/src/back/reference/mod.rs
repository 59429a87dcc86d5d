//! The reference executor: a plain, obviously-correct interpreter of the
//! step program ([`crate::kernel`]) in f64 (optionally rounding every stored
//! value to f32): each kernel runs for every element of its domain, one
//! statement after another. Batch items run in lockstep over shared
//! connectivity; each has its own random streams (batch counter k).

pub mod eval;
mod interpret;

use std::time::Instant;

use super::init::{neuron_initial_values, synapse_initial_values};
use super::{Outcome, PopState, Setup};
use crate::ir::{Module, SynapseLayout, ValidModule};
use interpret::{Memory, ProjState, Run};
use snnc_runtime::alloc::vec_filled;
use snnc_runtime::synapse_values::SynapseTable;
use snnc_runtime::RuntimeError;

/// Initial state of population `k` for batch item `b`.
fn init_population(
    module: &Module,
    k: usize,
    params: &[f64],
    seed: u64,
    b: u32,
    f32: bool,
) -> Result<PopState, RuntimeError> {
    let p = &module.populations[k];
    let n = p.size as usize;
    let mut states = zeroed_rows(p.states.len(), n, "neuron states")?;
    // Stored at the run's precision, as every later value (and as the
    // compiled backends store it).
    neuron_initial_values(module, k, params, seed, b, f32, &mut |s, i, v| {
        states[s][i] = interpret::round(f32, v);
    });
    Ok(PopState {
        states,
        currents: zeroed_rows(p.currents.len(), n, "neuron currents")?,
        refractory: vec_filled(0, n, "refractory counters")?,
    })
}

/// Initial synapse state of projection `k` for batch item `b`: one element
/// per post neuron (align-post) or per synapse.
fn init_projection(
    module: &Module,
    k: usize,
    table: &SynapseTable,
    seed: u64,
    b: u32,
    f32: bool,
) -> Result<ProjState, RuntimeError> {
    let j = &module.projections[k];
    let len = match j.synapse.layout {
        SynapseLayout::AlignPost => table.structure.n_post as usize,
        SynapseLayout::PerSynapse => table.structure.len(),
    };
    let mut syn = zeroed_rows(j.synapse.states.len(), len, "synapse states")?;
    synapse_initial_values(module, k, len, seed, b, f32, &mut |s, x, v| {
        syn[s][x] = v;
    });
    let slots = table.delays.max_steps() as usize + 1;
    // A plastic projection's weights: this item's copy, from the table.
    let weights = if j.synapse.is_plastic() {
        let mut ws = vec_filled(0.0, table.structure.len(), "plastic weights")?;
        for (s, w) in ws.iter_mut().enumerate() {
            *w = interpret::round(f32, crate::back::init::weight_of(table, s));
        }
        Some(ws)
    } else {
        None
    };
    Ok(ProjState {
        syn,
        ring: vec![Vec::new(); slots],
        weights,
    })
}

/// `rows` arrays of `len` zeros, allocated fallibly: the sizes come from the
/// model, and a failed allocation is an error, not an abort.
fn zeroed_rows(rows: usize, len: usize, what: &str) -> Result<Vec<Vec<f64>>, RuntimeError> {
    (0..rows).map(|_| vec_filled(0.0, len, what)).collect()
}

/// The reference interpreter as an [`Executor`](super::Executor).
pub struct Reference;

impl super::Executor for Reference {
    fn name(&self) -> &'static str {
        "reference"
    }
    fn execute(
        &mut self,
        valid: ValidModule<'_>,
        setup: Setup<'_>,
    ) -> Result<Outcome, super::ExecError> {
        Ok(execute(valid, setup)?)
    }
}

/// Run `valid` for `setup.steps` steps.
pub fn execute(valid: ValidModule<'_>, setup: Setup<'_>) -> Result<Outcome, RuntimeError> {
    let module = valid.module();
    let start = Instant::now();
    let program = crate::kernel::schedule(&valid);
    let nb = setup.batch.max(1);
    // pops[b][p], projs[b][k], sums[b][k][post neuron].
    let mut pops: Vec<Vec<PopState>> = Vec::with_capacity(nb as usize);
    let mut projs: Vec<Vec<ProjState>> = Vec::with_capacity(nb as usize);
    let mut sums: Vec<Vec<Vec<f64>>> = Vec::with_capacity(nb as usize);
    for b in 0..nb {
        let params = &setup.params[b as usize];
        pops.push(
            module
                .populations
                .iter()
                .enumerate()
                .map(|(k, _)| init_population(module, k, &params[k], setup.seed, b, setup.f32))
                .collect::<Result<_, _>>()?,
        );
        projs.push(
            (0..module.projections.len())
                .map(|k| init_projection(module, k, &setup.tables[k], setup.seed, b, setup.f32))
                .collect::<Result<_, _>>()?,
        );
        sums.push(
            module
                .projections
                .iter()
                .map(|j| {
                    let n = module.populations[j.post as usize].size as usize;
                    vec_filled(0.0, n, "output sums")
                })
                .collect::<Result<_, _>>()?,
        );
    }
    let mut run = Run::new(
        module,
        &program,
        setup.tables,
        setup.inputs,
        setup.seed,
        setup.f32,
    )?;
    let mut setup = setup;
    for step in 0..setup.steps {
        // The guard first, then the traces (as on every backend).
        if let Some(w) = setup.watch.as_mut().filter(|w| w.due(step)) {
            (w.sink)(step, &pops)?;
        }
        (setup.on_step)(step, &pops)?;
        for (b, ((pops, projs), sums)) in pops.iter_mut().zip(&mut projs).zip(&mut sums).enumerate()
        {
            let memory = Memory { pops, projs, sums };
            run.step(
                step,
                b as u32,
                memory,
                &setup.params[b],
                &mut *setup.on_spikes,
            )?;
        }
    }
    if let Some(w) = setup.watch.as_mut() {
        (w.sink)(setup.steps, &pops)?;
    }
    let final_weights = (0..module.projections.len())
        .map(|k| {
            let per_item: Option<Vec<Vec<f64>>> =
                projs.iter().map(|item| item[k].weights.clone()).collect();
            per_item
        })
        .collect();
    Ok(Outcome {
        spikes: run.spikes,
        synaptic_events: run.events,
        wall_s: start.elapsed().as_secs_f64(),
        threads: 1,
        final_weights,
    })
}
