//! The step program, interpreted: each kernel runs its statements for every
//! element of its domain in order; loads read memory as the statements
//! before them left it (see [`crate::kernel`] for the rules).

use super::eval::{eval, keyed_draw, Env};
use super::PopState;
use crate::back::init::{delay_of, post_indices, pre_indices, weight_of};
use crate::back::BoundInput;
use crate::ir::{AssignOp, Module, RandomKind, SynapseLayout, Var};
use crate::kernel::{Cond, Domain, Kernel, Place, StepProgram, Stmt};
use snnc_runtime::connectivity::ByPost;
use snnc_runtime::rng::key_for;
use snnc_runtime::spike_train::SpikeTrain;
use snnc_runtime::synapse_values::SynapseTable;
use snnc_runtime::RuntimeError;

/// A value as stored by a run of the given precision.
pub(super) fn round(f32: bool, v: f64) -> f64 {
    if f32 {
        f64::from(v as f32)
    } else {
        v
    }
}

/// One projection's state for one batch item.
pub(super) struct ProjState {
    /// `syn[s][x]`: x = post neuron (align post) or synapse index.
    pub syn: Vec<Vec<f64>>,
    /// Synapse indices whose event is due at slot `step % len`.
    pub ring: Vec<Vec<u32>>,
    /// A plastic projection's weights (this item's own, per synapse).
    pub weights: Option<Vec<f64>>,
}

/// The memory of one batch item.
pub(super) struct Memory<'a> {
    pub pops: &'a mut [PopState],
    pub projs: &'a mut [ProjState],
    /// `sums[k][post neuron]`: projection k's output sum (f64).
    pub sums: &'a mut [Vec<f64>],
}

/// What a kernel's element is.
#[derive(Clone, Copy)]
enum Element {
    Neuron {
        pop: usize,
        i: usize,
    },
    Synapse {
        proj: usize,
        /// The stored state element.
        x: usize,
        /// Its post neuron.
        target: usize,
        /// Its presynaptic neuron, where the synapse reads `pre.X`.
        pre: Option<usize>,
        /// The synapse index and its weight from the table (events only; a
        /// plastic projection's weight is read from memory instead).
        s: usize,
        w: f64,
    },
}

impl Element {
    /// The index draws are keyed by.
    fn index(self) -> u32 {
        match self {
            Element::Neuron { i, .. } => i as u32,
            Element::Synapse { x, .. } => x as u32,
        }
    }
}

/// Everything that stays fixed over a run.
pub(super) struct Run<'p> {
    module: &'p Module,
    program: &'p StepProgram,
    /// One per kernel: the key of its random stream.
    keys: Vec<[u32; 2]>,
    tables: &'p [SynapseTable],
    inputs: &'p [BoundInput],
    /// Per population: its spike train, if it is a source.
    trains: Vec<Option<&'p SpikeTrain>>,
    /// Per projection: the presynaptic neuron of each synapse (where read).
    pre_of: Vec<Option<Vec<u32>>>,
    /// Per projection with an `on_post`: its synapses by post neuron.
    by_post: Vec<Option<ByPost>>,
    f32: bool,
    /// This step's spikes per population (of the item being stepped).
    fired: Vec<Vec<u32>>,
    pub spikes: Vec<u64>,
    pub events: u64,
}

/// The state an element's expressions read.
struct ElementEnv<'e> {
    run: &'e Run<'e>,
    memory: &'e Memory<'e>,
    params: &'e [Vec<f64>],
    locals: &'e [f64],
    element: Element,
    key: [u32; 2],
    step: u64,
    batch: u32,
}

impl Env for ElementEnv<'_> {
    fn load(&self, v: Var) -> f64 {
        let m = self.run.module;
        let at = |xs: &[f64], i: usize| xs.get(i).copied().unwrap_or(0.0);
        let row =
            |rows: &[Vec<f64>], q: u32, i: usize| rows.get(q as usize).map_or(0.0, |r| at(r, i));
        match (v, self.element) {
            (Var::Local(l), _) => at(self.locals, l as usize),
            (Var::Time, _) => self.step as f64 * m.dt,
            (Var::Dt, _) => m.dt,
            (Var::State(q), Element::Neuron { pop, i }) => row(&self.memory.pops[pop].states, q, i),
            (Var::Current(c), Element::Neuron { pop, i }) => {
                row(&self.memory.pops[pop].currents, c, i)
            }
            (Var::Param(q), Element::Neuron { pop, .. }) => {
                self.params.get(pop).map_or(0.0, |p| at(p, q as usize))
            }
            (Var::Input(x), Element::Neuron { pop, i }) => {
                if m.inputs
                    .get(x as usize)
                    .is_some_and(|input| input.population as usize == pop)
                {
                    // Past the end of a finite stimulus the drive is zero.
                    self.run.inputs[x as usize].value(self.step, u64::from(self.batch), i as u32)
                } else {
                    0.0
                }
            }
            (Var::Sum(k), Element::Neuron { i, .. }) => at(&self.memory.sums[k as usize], i),
            (Var::Syn(q), Element::Synapse { proj, x, .. }) => {
                row(&self.memory.projs[proj].syn, q, x)
            }
            (Var::SynParam(q), Element::Synapse { proj, .. }) => m.projections[proj]
                .synapse
                .params
                .get(q as usize)
                .map_or(0.0, |p| p.value),
            (Var::PostState(q), Element::Synapse { proj, target, .. }) => {
                let post = m.projections[proj].post as usize;
                row(&self.memory.pops[post].states, q, target)
            }
            (Var::PostCurrent(c), Element::Synapse { proj, target, .. }) => {
                let post = m.projections[proj].post as usize;
                row(&self.memory.pops[post].currents, c, target)
            }
            (Var::PreState(q), Element::Synapse { proj, pre, .. }) => pre.map_or(0.0, |p| {
                let pop = m.projections[proj].pre as usize;
                row(&self.memory.pops[pop].states, q, p)
            }),
            (Var::Weight, Element::Synapse { proj, s, w, .. }) => {
                match &self.memory.projs[proj].weights {
                    Some(ws) => at(ws, s),
                    None => w,
                }
            }
            (Var::Sum(k), Element::Synapse { target, .. }) => {
                at(&self.memory.sums[k as usize], target)
            }
            _ => f64::NAN,
        }
    }

    fn random(&self, kind: RandomKind, slot: u32) -> f64 {
        keyed_draw(
            self.key,
            kind,
            slot,
            self.element.index(),
            self.step as u32,
            self.batch,
            self.run.f32,
        )
    }
}

impl<'p> Run<'p> {
    pub fn new(
        module: &'p Module,
        program: &'p StepProgram,
        tables: &'p [SynapseTable],
        inputs: &'p [BoundInput],
        seed: u64,
        f32: bool,
    ) -> Result<Self, RuntimeError> {
        let trains = (0..module.populations.len())
            .map(|p| {
                module
                    .inputs
                    .iter()
                    .zip(inputs)
                    .find_map(|(input, data)| match data {
                        BoundInput::Spikes(t) if input.population as usize == p => Some(t),
                        _ => None,
                    })
            })
            .collect();
        Ok(Self {
            module,
            program,
            keys: program
                .kernels
                .iter()
                .map(|k| key_for(seed, k.draws))
                .collect(),
            tables,
            inputs,
            trains,
            pre_of: pre_indices(module, tables)?,
            by_post: post_indices(module, tables)?,
            f32,
            fired: vec![Vec::new(); module.populations.len()],
            spikes: vec![0; module.populations.len()],
            events: 0,
        })
    }

    /// One step of batch item `batch`: every kernel in program order.
    pub fn step(
        &mut self,
        step: u64,
        batch: u32,
        mut memory: Memory<'_>,
        params: &[Vec<f64>],
        on_spikes: &mut crate::back::SpikeSink<'_>,
    ) -> Result<(), RuntimeError> {
        for (k, kernel) in self.program.kernels.iter().enumerate() {
            if let Domain::Neurons { pop } | Domain::SpikeSource { pop } = kernel.domain {
                if kernel.fires() {
                    self.fired[pop as usize].clear();
                }
            }
            let mut at = At {
                element: Element::Neuron { pop: 0, i: 0 },
                key: self.keys[k],
                step,
                batch,
                params,
            };
            // One buffer for the locals of every element of the kernel.
            let mut locals = vec![0.0; kernel.locals as usize];
            match kernel.domain {
                Domain::Neurons { pop } => {
                    let n = self.module.populations[pop as usize].size as usize;
                    for i in 0..n {
                        at.element = Element::Neuron {
                            pop: pop as usize,
                            i,
                        };
                        self.element(kernel, &mut at, &mut locals, &mut memory);
                    }
                }
                Domain::SpikeSource { pop } => {
                    if let Some(train) = self.trains[pop as usize] {
                        self.fired[pop as usize].extend_from_slice(train.at(step));
                    }
                }
                Domain::Synapses { proj } => {
                    let p = proj as usize;
                    let j = &self.module.projections[p];
                    let table = &self.tables[p];
                    let align = j.synapse.layout == SynapseLayout::AlignPost;
                    let len = if align {
                        table.structure.n_post as usize
                    } else {
                        table.structure.len()
                    };
                    for x in 0..len {
                        let (target, pre) = if align {
                            (x, None)
                        } else {
                            let pre = self.pre_of[p].as_ref().map(|v| v[x] as usize);
                            (table.structure.cols[x] as usize, pre)
                        };
                        at.element = Element::Synapse {
                            proj: p,
                            x,
                            target,
                            pre,
                            s: x,
                            w: 0.0,
                        };
                        self.element(kernel, &mut at, &mut locals, &mut memory);
                    }
                }
                Domain::PreEvents { proj } => {
                    self.events_of(kernel, proj as usize, &mut at, &mut locals, &mut memory);
                }
                Domain::PostEvents { proj } => {
                    self.post_events_of(kernel, proj as usize, &mut at, &mut locals, &mut memory);
                }
            }
            if let Domain::Neurons { pop } | Domain::SpikeSource { pop } = kernel.domain {
                if kernel.fires() {
                    let p = pop as usize;
                    self.spikes[p] += self.fired[p].len() as u64;
                    on_spikes(pop, step as u32, batch, &self.fired[p])?;
                }
            }
        }
        Ok(())
    }

    /// Queue this step's spikes of the presynaptic population, then run the
    /// kernel for every event due now.
    fn events_of(
        &mut self,
        kernel: &Kernel,
        p: usize,
        at: &mut At<'_>,
        locals: &mut [f64],
        memory: &mut Memory<'_>,
    ) {
        let step = at.step;
        let j = &self.module.projections[p];
        let table = &self.tables[p];
        let slots = memory.projs[p].ring.len() as u64;
        for &pre in &self.fired[j.pre as usize] {
            let start = table.structure.row_ptr[pre as usize] as usize;
            for s in start..start + table.structure.row(pre).len() {
                let slot = ((step + delay_of(table, s)) % slots) as usize;
                memory.projs[p].ring[slot].push(s as u32);
            }
        }
        let slot = (step % slots) as usize;
        let due = std::mem::take(&mut memory.projs[p].ring[slot]);
        self.events += due.len() as u64;
        let align = j.synapse.layout == SynapseLayout::AlignPost;
        for &s in &due {
            let s = s as usize;
            let target = table.structure.cols[s] as usize;
            at.element = Element::Synapse {
                proj: p,
                x: if align { target } else { s },
                target,
                pre: self.pre_of[p].as_ref().map(|v| v[s] as usize),
                s,
                w: weight_of(table, s),
            };
            self.element(kernel, at, locals, memory);
        }
        let mut due = due;
        due.clear();
        memory.projs[p].ring[slot] = due;
    }

    /// The kernel for every synapse of projection `p` onto a neuron that
    /// spiked in this step, in ascending synapse index.
    fn post_events_of(
        &mut self,
        kernel: &Kernel,
        p: usize,
        at: &mut At<'_>,
        locals: &mut [f64],
        memory: &mut Memory<'_>,
    ) {
        let j = &self.module.projections[p];
        let table = &self.tables[p];
        let Some(by_post) = &self.by_post[p] else {
            return;
        };
        let mut synapses: Vec<u32> = self.fired[j.post as usize]
            .iter()
            .flat_map(|&post| by_post.onto(post).iter().copied())
            .collect();
        synapses.sort_unstable();
        for s in synapses {
            let s = s as usize;
            at.element = Element::Synapse {
                proj: p,
                x: s,
                target: table.structure.cols[s] as usize,
                pre: self.pre_of[p].as_ref().map(|v| v[s] as usize),
                s,
                w: weight_of(table, s),
            };
            self.element(kernel, at, locals, memory);
        }
    }

    /// The kernel's body for the element `at` names; its locals start at 0.
    fn element(
        &mut self,
        kernel: &Kernel,
        at: &mut At<'_>,
        locals: &mut [f64],
        memory: &mut Memory<'_>,
    ) {
        locals.fill(0.0);
        self.block(&kernel.body, at, locals, memory);
    }

    fn eval(
        &self,
        h: crate::ir::Handle<crate::ir::Expr>,
        at: &At<'_>,
        locals: &[f64],
        memory: &Memory<'_>,
    ) -> f64 {
        let env = ElementEnv {
            run: self,
            memory,
            params: at.params,
            locals,
            element: at.element,
            key: at.key,
            step: at.step,
            batch: at.batch,
        };
        eval(&self.program.exprs, h, &env)
    }

    fn block(
        &mut self,
        body: &[Stmt],
        at: &mut At<'_>,
        locals: &mut [f64],
        memory: &mut Memory<'_>,
    ) {
        for stmt in body {
            match stmt {
                Stmt::Let { local, value } => {
                    locals[*local as usize] = self.eval(*value, at, locals, memory);
                }
                Stmt::Store { place, op, value } => {
                    let v = self.eval(*value, at, locals, memory);
                    self.store(*place, *op, v, at.element, memory);
                }
                Stmt::If {
                    cond,
                    then,
                    otherwise,
                } => {
                    let holds = match cond {
                        Cond::Nonzero(h) => self.eval(*h, at, locals, memory) != 0.0,
                        Cond::Refractory => match at.element {
                            Element::Neuron { pop, i } => memory.pops[pop].refractory[i] > 0,
                            Element::Synapse { .. } => false,
                        },
                        Cond::AllFinite(ls) => ls
                            .iter()
                            .all(|&l| round(self.f32, locals[l as usize]).is_finite()),
                    };
                    self.block(if holds { then } else { otherwise }, at, locals, memory);
                }
                Stmt::EmitSpike => {
                    if let Element::Neuron { pop, i } = at.element {
                        self.fired[pop].push(i as u32);
                    }
                }
                Stmt::SetRefractory { duration } => {
                    let v = self.eval(*duration, at, locals, memory) / self.module.dt;
                    if let Element::Neuron { pop, i } = at.element {
                        // At least zero steps; NaN counts as zero.
                        memory.pops[pop].refractory[i] = if v.is_finite() && v > 0.0 {
                            v.round().min(f64::from(u32::MAX)) as u32
                        } else {
                            0
                        };
                    }
                }
                Stmt::CountDownRefractory => {
                    if let Element::Neuron { pop, i } = at.element {
                        let r = &mut memory.pops[pop].refractory[i];
                        *r = r.saturating_sub(1);
                    }
                }
                Stmt::StartRefractory | Stmt::EndRefractory => {
                    if let Element::Neuron { pop, i } = at.element {
                        let refractory = matches!(stmt, Stmt::StartRefractory);
                        memory.pops[pop].refractory[i] = u32::from(refractory);
                    }
                }
            }
        }
    }

    fn store(&self, place: Place, op: AssignOp, v: f64, element: Element, memory: &mut Memory<'_>) {
        let m = self.module;
        let slot: &mut f64 = match (place, element) {
            (Place::State(q), Element::Neuron { pop, i }) => {
                &mut memory.pops[pop].states[q as usize][i]
            }
            (Place::Current(c), Element::Neuron { pop, i }) => {
                &mut memory.pops[pop].currents[c as usize][i]
            }
            (Place::Sum(k), Element::Neuron { i, .. }) => &mut memory.sums[k as usize][i],
            (Place::Syn(q), Element::Synapse { proj, x, .. }) => {
                &mut memory.projs[proj].syn[q as usize][x]
            }
            (Place::PostState(q), Element::Synapse { proj, target, .. }) => {
                let post = m.projections[proj].post as usize;
                &mut memory.pops[post].states[q as usize][target]
            }
            (Place::Sum(k), Element::Synapse { target, .. }) => {
                &mut memory.sums[k as usize][target]
            }
            (Place::Weight, Element::Synapse { proj, s, .. }) => {
                match memory.projs[proj]
                    .weights
                    .as_mut()
                    .and_then(|ws| ws.get_mut(s))
                {
                    Some(w) => w,
                    None => return,
                }
            }
            _ => return,
        };
        let new = match op {
            AssignOp::Set => v,
            AssignOp::Add => *slot + v,
        };
        // Output sums stay f64 until they are added to a current.
        *slot = if matches!(place, Place::Sum(_)) {
            new
        } else {
            round(self.f32, new)
        };
    }
}

/// Where in the run an element's statements execute.
struct At<'a> {
    element: Element,
    key: [u32; 2],
    step: u64,
    batch: u32,
    params: &'a [Vec<f64>],
}
