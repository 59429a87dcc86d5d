//! A population's loop (`KernelKind::Pop`): the step program's kernels over
//! its neurons, fused into one SIMD pass over `lo..hi`.
//!
//! Which kernels run in the loop, per element `i` and in program order:
//! every kernel over the population's neurons (currents, output sums added,
//! injections, the update), and the `Output` and `SynapseDynamics` kernels of
//! the align-post projections onto it (their element is post neuron `i`). The
//! sums of per-synapse projections are built before the loop (the host
//! clears `Scratch`, `SynOut` kernels add to it), so their `ClearSum` kernels
//! are left out here. Fusing is sound because no kernel in the loop reads
//! another element's values, and no other population's kernels write what
//! these read.
//!
//! Every memory place the loop touches is held in an SSA value
//! ([`ElementValues`]): loaded once at the top of the loop, stored once at
//! the bottom when it changed. Statements lower lane-wise: an `If` runs both
//! branches under complementary masks, with selects for what they assign,
//! except a branch that emits spikes, which sits in a cold block entered
//! only when one of its lanes is set (most vectors have no spike).

use std::collections::BTreeMap;

use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::{types, BlockArg, InstBuilder, Type, Value};

use super::{mem, Gen, Rand, RefMode, Scope, Slot};
use crate::back::cranelift::math::{self, fsel, Mask, Shape};
use crate::ir::{AssignOp, Module, SynapseLayout, Var};
use crate::kernel::{Cond, Domain, Kernel, Phase, Place, StepProgram, Stmt};
use snnc_runtime::rng::Purpose;

/// A memory place of the loop's element, named absolutely (a kernel's
/// [`Place`] is relative to its domain).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Loc {
    State(u32),
    Current(u32),
    Syn {
        proj: u32,
        state: u32,
    },
    /// Projection `proj`'s output sum at the neuron.
    Sum(u32),
    /// An array input's value at the neuron (read only).
    Input(u32),
}

/// The element's values while its kernels are lowered.
#[derive(Clone)]
struct ElementValues {
    places: BTreeMap<Loc, Value>,
    /// The current kernel's locals.
    locals: Vec<Value>,
    /// The refractory counter (integers with the float's lane layout).
    refractory: Option<Value>,
    /// Spikes written to the output list so far (i64).
    spikes: Value,
}

impl ElementValues {
    fn values(&self) -> Vec<Value> {
        let mut v: Vec<Value> = self.places.values().copied().collect();
        v.extend(&self.locals);
        v.extend(self.refractory);
        v.push(self.spikes);
        v
    }

    fn types(&self, sh: Shape) -> Vec<Type> {
        let mut t = vec![sh.fty(); self.places.len() + self.locals.len()];
        if self.refractory.is_some() {
            t.push(sh.ity());
        }
        t.push(types::I64);
        t
    }

    /// The same layout holding `values` (as [`Self::values`] lists them).
    fn with_values(&self, values: &[Value]) -> Self {
        let mut it = values.iter().copied();
        let mut next = || it.next().expect("one value per entry");
        let places = self.places.keys().map(|&l| (l, next())).collect();
        let locals = self.locals.iter().map(|_| next()).collect();
        let refractory = self.refractory.map(|_| next());
        let spikes = next();
        Self {
            places,
            locals,
            refractory,
            spikes,
        }
    }
}

/// What stays fixed while one population's loop body is lowered.
struct NeuronLoop {
    pop: u32,
    sh: Shape,
    /// First neuron of the vector (i64).
    i: Value,
    step: Value,
    /// The spike list the loop writes (u32 neuron indices).
    out: Value,
    base: Scope,
    param: Vec<Option<Value>>,
    /// The value the loop stores for a place set to 0 (an `Add` to it in f32
    /// is the added value itself, as `0 + x` is except for `x = -0`).
    zero: Value,
}

/// How a kernel of the loop addresses its places and draws.
#[derive(Clone, Copy)]
struct KernelSite {
    domain: Domain,
    draws: Purpose,
}

/// The kernels [`Gen::pop_kernel`] fuses for `pop`, in program order (see
/// the module docs).
fn loop_kernels<'p>(m: &Module, program: &'p StepProgram, pop: u32) -> Vec<&'p Kernel> {
    let per_synapse_sum =
        |k: u32| m.projections[k as usize].synapse.layout == SynapseLayout::PerSynapse;
    program
        .kernels
        .iter()
        .filter(|kernel| match kernel.domain {
            Domain::Neurons { pop: p } if p == pop => !matches!(
                (kernel.phase, kernel.body.as_slice()),
                (Phase::ClearSum, [Stmt::Store { place: Place::Sum(k), .. }])
                    if per_synapse_sum(*k)
            ),
            Domain::Synapses { proj } => {
                let j = &m.projections[proj as usize];
                j.post == pop
                    && j.synapse.layout == SynapseLayout::AlignPost
                    && matches!(kernel.phase, Phase::Output | Phase::SynapseDynamics)
            }
            _ => false,
        })
        .collect()
}

impl Gen<'_, '_> {
    fn loc(site: KernelSite, place: Place) -> Loc {
        match (site.domain, place) {
            (_, Place::Sum(k)) => Loc::Sum(k),
            (Domain::Synapses { .. }, Place::PostState(q)) | (_, Place::State(q)) => Loc::State(q),
            (_, Place::Current(c)) => Loc::Current(c),
            (Domain::Synapses { proj }, Place::Syn(q)) => Loc::Syn { proj, state: q },
            (domain, place) => unreachable!("{place:?} is not a place of {domain:?}"),
        }
    }

    /// The place a load reads in `site`, if it reads the element's memory.
    fn loc_of_var(site: KernelSite, var: Var) -> Option<Loc> {
        let place = match var {
            Var::State(q) | Var::PostState(q) => Place::State(q),
            Var::Current(c) | Var::PostCurrent(c) => Place::Current(c),
            Var::Syn(q) => Place::Syn(q),
            Var::Sum(k) => Place::Sum(k),
            Var::Input(x) => return Some(Loc::Input(x)),
            _ => return None,
        };
        Some(Self::loc(site, place))
    }

    /// The places the loop must load before its first statement: those whose
    /// first access is not an unconditional `Set`. Whether any statement
    /// uses the refractory counter.
    fn loop_loads(&self, kernels: &[&Kernel]) -> (Vec<Loc>, bool) {
        let mut first: BTreeMap<Loc, bool> = BTreeMap::new();
        let mut refractory = false;
        for kernel in kernels {
            let site = KernelSite {
                domain: kernel.domain,
                draws: kernel.draws,
            };
            self.first_accesses(site, &kernel.body, true, &mut first, &mut refractory);
        }
        let loads = first.into_iter().filter(|(_, load)| *load).map(|(l, _)| l);
        (loads.collect(), refractory)
    }

    fn first_accesses(
        &self,
        site: KernelSite,
        body: &[Stmt],
        top: bool,
        first: &mut BTreeMap<Loc, bool>,
        refractory: &mut bool,
    ) {
        let read = |first: &mut BTreeMap<Loc, bool>, h| {
            for v in super::used_vars(self.m, &[h]) {
                if let Some(l) = Self::loc_of_var(site, v) {
                    first.entry(l).or_insert(true);
                }
            }
        };
        for stmt in body {
            match stmt {
                Stmt::Let { value, .. } => read(first, *value),
                Stmt::Store { place, op, value } => {
                    read(first, *value);
                    let set_here = top && *op == AssignOp::Set;
                    first.entry(Self::loc(site, *place)).or_insert(!set_here);
                }
                Stmt::If {
                    cond,
                    then,
                    otherwise,
                } => {
                    match cond {
                        Cond::Nonzero(h) => read(first, *h),
                        Cond::Refractory => *refractory = true,
                        Cond::AllFinite(_) => {}
                    }
                    self.first_accesses(site, then, false, first, refractory);
                    self.first_accesses(site, otherwise, false, first, refractory);
                }
                Stmt::SetRefractory { duration } => {
                    read(first, *duration);
                    *refractory = true;
                }
                Stmt::CountDownRefractory | Stmt::StartRefractory | Stmt::EndRefractory => {
                    *refractory = true;
                }
                Stmt::EmitSpike => {}
            }
        }
    }

    /// Memory of a loaded place at neuron `i` (`None`: the place has none).
    fn loc_slot(&self, pop: u32, l: Loc) -> Option<Slot> {
        Some(match l {
            Loc::State(state) => Slot::State { pop, state },
            Loc::Current(cur) => Slot::Current { pop, cur },
            Loc::Syn { proj, state } => Slot::Syn { proj, state },
            Loc::Input(input) => Slot::Input { input },
            Loc::Sum(proj) => {
                let layout = self.m.projections[proj as usize].synapse.layout;
                return (layout == SynapseLayout::PerSynapse).then_some(Slot::Scratch { proj });
            }
        })
    }

    /// `for i in lo..hi step by lanes` over population-sized arrays: the
    /// loop's kernels for every vector of neurons.
    pub(super) fn pop_kernel(&mut self, pi: u32) {
        let sh = Shape::simd(self.plan.f32);
        let entry = self.fb.create_block();
        self.fb.append_block_params_for_function_params(entry);
        self.fb.switch_to_block(entry);
        let params = self.fb.block_params(entry).to_vec();
        self.ctx = params[0];
        // A rotated loop: the test at the bottom is the only branch taken
        // per vector (the entry tests once whether there is any work).
        let header = self.fb.create_block();
        self.fb.append_block_param(header, types::I64);
        self.fb.append_block_param(header, types::I64);
        let exit = self.fb.create_block();
        self.fb.append_block_param(exit, types::I64);
        let zero_n = self.fb.ins().iconst(types::I64, 0);
        let any = self
            .fb
            .ins()
            .icmp(IntCC::SignedLessThan, params[2], params[3]);
        let (lo, z): (BlockArg, BlockArg) = (params[2].into(), zero_n.into());
        self.fb.ins().brif(any, header, &[lo, z], exit, &[z]);
        self.entry_jump = self.fb.func.layout.last_inst(entry);
        let (step, hi, out) = (params[1], params[3], params[4]);
        let base = self.base_scope(sh, step);
        let n_params = self.m.populations[pi as usize].params.len() as u32;
        let param = (0..n_params)
            .map(|q| Some(self.slot_float(Slot::Param { pop: pi, q }, sh)))
            .collect();
        let zero = self.konst(sh, 0.0);
        self.fb.switch_to_block(header);
        let i = self.fb.block_params(header)[0];
        let spikes = self.fb.block_params(header)[1];
        let cx = NeuronLoop {
            pop: pi,
            sh,
            i,
            step,
            out,
            base,
            param,
            zero,
        };
        let kernels = loop_kernels(self.m, self.program, pi);
        let vals = self.loop_body(&cx, &kernels, spikes);
        let inext = self.fb.ins().iadd_imm_s(i, i64::from(sh.lanes));
        let more = self.fb.ins().icmp(IntCC::SignedLessThan, inext, hi);
        let (a, b): (BlockArg, BlockArg) = (inext.into(), vals.spikes.into());
        self.fb.ins().brif(more, header, &[a, b], exit, &[b]);
        self.fb.switch_to_block(exit);
        let r = self.fb.block_params(exit)[0];
        self.fb.ins().return_(&[r]);
    }

    /// Loads, the kernels' statements, stores: one vector of neurons.
    fn loop_body(&mut self, cx: &NeuronLoop, kernels: &[&Kernel], spikes: Value) -> ElementValues {
        let (loads, uses_refractory) = self.loop_loads(kernels);
        let mut loaded = BTreeMap::new();
        for l in loads {
            let v = match self.loc_slot(cx.pop, l) {
                Some(slot) => self.load_f(cx.sh, slot, cx.i),
                None => cx.zero,
            };
            loaded.insert(l, v);
        }
        let refractory = uses_refractory.then(|| {
            let counters = self.slot(Slot::Refr { pop: cx.pop });
            let a = self.addr(counters, cx.i, cx.sh.elem());
            self.fb.ins().load(cx.sh.ity(), mem(), a, 0)
        });
        let mut vals = ElementValues {
            places: loaded.clone(),
            locals: Vec::new(),
            refractory,
            spikes,
        };
        for kernel in kernels {
            let site = KernelSite {
                domain: kernel.domain,
                draws: kernel.draws,
            };
            vals.locals = vec![cx.zero; kernel.locals as usize];
            self.statements(cx, site, &kernel.body, None, &mut vals);
        }
        vals.locals.clear();
        for (&l, &v) in &vals.places {
            if loaded.get(&l) == Some(&v) {
                continue;
            }
            if let (Some(slot), false) = (self.loc_slot(cx.pop, l), matches!(l, Loc::Sum(_))) {
                self.store_f(cx.sh, slot, cx.i, v);
            }
        }
        if let (Some(c), Some(c0)) = (vals.refractory, refractory) {
            if c != c0 {
                let counters = self.slot(Slot::Refr { pop: cx.pop });
                let a = self.addr(counters, cx.i, cx.sh.elem());
                self.fb.ins().store(mem(), c, a, 0);
            }
        }
        vals
    }

    /// What the loads of a statement in `site` resolve to.
    fn element_scope(&mut self, cx: &NeuronLoop, site: KernelSite, vals: &ElementValues) -> Scope {
        let m = self.m;
        let pop = &m.populations[cx.pop as usize];
        let place = |l: Loc| vals.places.get(&l).copied();
        let state: Vec<Option<Value>> = (0..pop.states.len() as u32)
            .map(|q| place(Loc::State(q)))
            .collect();
        let cur: Vec<Option<Value>> = (0..pop.currents.len() as u32)
            .map(|c| place(Loc::Current(c)))
            .collect();
        let sum = (0..m.projections.len() as u32)
            .map(|k| place(Loc::Sum(k)))
            .collect();
        let local = vals.locals.iter().copied().map(Some).collect();
        let rand = Some(self.element_rand(site.draws, cx.i, cx.step));
        match site.domain {
            Domain::Synapses { proj } => {
                let n_syn = m.projections[proj as usize].synapse.states.len() as u32;
                let syn = (0..n_syn)
                    .map(|state| place(Loc::Syn { proj, state }))
                    .collect();
                Scope {
                    syn,
                    synparam: self.synparams(cx.sh, proj as usize),
                    post_state: state,
                    post_cur: cur,
                    sum,
                    local,
                    rand,
                    ..cx.base.clone()
                }
            }
            _ => {
                let input = (0..m.inputs.len() as u32)
                    .map(|x| place(Loc::Input(x)))
                    .collect();
                Scope {
                    state,
                    cur,
                    param: cx.param.clone(),
                    input,
                    sum,
                    local,
                    rand,
                    ..cx.base.clone()
                }
            }
        }
    }

    /// The stream `draws` at element `index`.
    fn element_rand(&mut self, draws: Purpose, index: Value, step: Value) -> Rand {
        let key = match draws {
            Purpose::Injection { injection } => Slot::KeyInjection { inj: injection },
            Purpose::ModelNoise { population } if population & crate::ir::SYNAPSE_KEY_BIT != 0 => {
                Slot::KeySyn {
                    proj: population & !crate::ir::SYNAPSE_KEY_BIT,
                }
            }
            Purpose::ModelNoise { population } => Slot::KeyNoise { pop: population },
            other => unreachable!("no neuron-loop kernel draws from {other:?}"),
        };
        self.rand(key, index, step)
    }

    fn expr_value(
        &mut self,
        cx: &NeuronLoop,
        site: KernelSite,
        h: crate::ir::Handle<crate::ir::Expr>,
        vals: &ElementValues,
    ) -> Value {
        if matches!(self.m.exprs[h], crate::ir::Expr::Const(c) if c.to_bits() == 0) {
            return cx.zero;
        }
        let sc = self.element_scope(cx, site, vals);
        self.lower(cx.sh, h, &sc, &mut std::collections::HashMap::new())
    }

    /// `mask ? new : old` (`new` where there is no mask).
    fn guarded(&mut self, sh: Shape, mask: Option<Mask>, new: Value, old: Value) -> Value {
        match mask {
            None => new,
            Some(m) if new != old => fsel(&mut self.fb, sh, m, new, old),
            Some(_) => old,
        }
    }

    fn guarded_int(&mut self, sh: Shape, mask: Option<Mask>, new: Value, old: Value) -> Value {
        match mask {
            None => new,
            Some(m) => math::isel(&mut self.fb, sh, m, new, old),
        }
    }

    /// `body` for the lanes of `mask` (every lane when `None`).
    fn statements(
        &mut self,
        cx: &NeuronLoop,
        site: KernelSite,
        body: &[Stmt],
        mask: Option<Mask>,
        vals: &mut ElementValues,
    ) {
        let sh = cx.sh;
        for stmt in body {
            match stmt {
                Stmt::Let { local, value } => {
                    let v = self.expr_value(cx, site, *value, vals);
                    let old = vals.locals[*local as usize];
                    vals.locals[*local as usize] = self.guarded(sh, mask, v, old);
                }
                Stmt::Store { place, op, value } => {
                    let l = Self::loc(site, *place);
                    let v = self.expr_value(cx, site, *value, vals);
                    let old = vals.places.get(&l).copied();
                    let new = match (op, old) {
                        (AssignOp::Set, _) => v,
                        (AssignOp::Add, Some(o)) if sh.f32 && o == cx.zero => v,
                        (AssignOp::Add, Some(o)) => self.fb.ins().fadd(o, v),
                        (AssignOp::Add, None) => unreachable!("{l:?} is loaded before an add"),
                    };
                    let new = match old {
                        Some(o) => self.guarded(sh, mask, new, o),
                        None => new,
                    };
                    vals.places.insert(l, new);
                }
                Stmt::If {
                    cond,
                    then,
                    otherwise,
                } => self.branch(cx, site, (cond, then, otherwise), mask, vals),
                Stmt::EmitSpike => self.emit_spikes(cx, mask, vals),
                Stmt::SetRefractory { duration } => {
                    let count = self.refractory_count(cx, site, *duration, vals);
                    let old = vals.refractory.expect("counter loaded");
                    vals.refractory = Some(self.guarded_int(sh, mask, count, old));
                }
                Stmt::CountDownRefractory => {
                    let old = vals.refractory.expect("counter loaded");
                    let one = math::iconst(&mut self.fb, sh, 1);
                    let less = self.fb.ins().isub(old, one);
                    vals.refractory = Some(self.guarded_int(sh, mask, less, old));
                }
                Stmt::StartRefractory | Stmt::EndRefractory => {
                    let flag = i64::from(matches!(stmt, Stmt::StartRefractory));
                    let old = vals.refractory.expect("counter loaded");
                    let set = math::iconst(&mut self.fb, sh, flag);
                    vals.refractory = Some(self.guarded_int(sh, mask, set, old));
                }
            }
        }
    }

    fn cond_mask(
        &mut self,
        cx: &NeuronLoop,
        site: KernelSite,
        cond: &Cond,
        vals: &ElementValues,
    ) -> Mask {
        let sh = cx.sh;
        match cond {
            Cond::Nonzero(h) => {
                let sc = self.element_scope(cx, site, vals);
                self.lower_mask(sh, *h, &sc, &mut std::collections::HashMap::new())
            }
            Cond::Refractory => {
                let c = vals.refractory.expect("counter loaded");
                let z = math::iconst(&mut self.fb, sh, 0);
                math::icmp(&mut self.fb, IntCC::SignedGreaterThan, c, z)
            }
            Cond::AllFinite(locals) => {
                // x - x is NaN exactly when x is NaN or ±inf.
                let mut all: Option<Mask> = None;
                for &l in locals {
                    let x = vals.locals[l as usize];
                    let d = self.fb.ins().fsub(x, x);
                    let finite = math::fcmp(&mut self.fb, FloatCC::Ordered, d, d);
                    all = Some(match all {
                        None => finite,
                        Some(a) => math::mand(&mut self.fb, a, finite),
                    });
                }
                all.unwrap_or_else(|| {
                    let z = math::iconst(&mut self.fb, sh, 0);
                    math::icmp(&mut self.fb, IntCC::Equal, z, z)
                })
            }
        }
    }

    fn and_mask(&mut self, a: Option<Mask>, b: Mask) -> Mask {
        match a {
            None => b,
            Some(a) => math::mand(&mut self.fb, a, b),
        }
    }

    /// An `If`. A chain `if a { if b { … } }` (no else) whose outer test is
    /// `AllFinite` tests `b` first and `a` only inside (tests are pure). A
    /// then-branch that emits spikes is a cold block.
    fn branch(
        &mut self,
        cx: &NeuronLoop,
        site: KernelSite,
        (cond, then, otherwise): (&Cond, &[Stmt], &[Stmt]),
        outer: Option<Mask>,
        vals: &mut ElementValues,
    ) {
        let sh = cx.sh;
        if let (
            Cond::AllFinite(_),
            [Stmt::If {
                cond: inner,
                then: body,
                otherwise: none,
            }],
            [],
        ) = (cond, then, otherwise)
        {
            if none.is_empty() {
                let c = self.cond_mask(cx, site, inner, vals);
                let m = self.and_mask(outer, c);
                return self.then_branch(cx, site, (Some(cond), body), m, vals);
            }
        }
        let c = self.cond_mask(cx, site, cond, vals);
        let m = self.and_mask(outer, c);
        self.then_branch(cx, site, (None, then), m, vals);
        if !otherwise.is_empty() {
            let not_c = math::mnot(&mut self.fb, sh, c);
            let m_else = self.and_mask(outer, not_c);
            self.statements(cx, site, otherwise, Some(m_else), vals);
        }
    }

    /// `body` for the lanes of `mask` that also pass `deferred` (tested
    /// here, inside the cold block when there is one).
    fn then_branch(
        &mut self,
        cx: &NeuronLoop,
        site: KernelSite,
        (deferred, body): (Option<&Cond>, &[Stmt]),
        mask: Mask,
        vals: &mut ElementValues,
    ) {
        let sh = cx.sh;
        let cold = body.iter().any(|s| matches!(s, Stmt::EmitSpike));
        let inside = |g: &mut Self, vals: &mut ElementValues| {
            let m = match deferred {
                Some(c) => {
                    let d = g.cond_mask(cx, site, c, vals);
                    math::mand(&mut g.fb, mask, d)
                }
                None => mask,
            };
            g.statements(cx, site, body, Some(m), vals);
        };
        if !cold {
            inside(self, vals);
            return;
        }
        let any = math::many(&mut self.fb, sh, mask);
        let slow = self.fb.create_block();
        self.fb.set_cold_block(slow);
        let join = self.fb.create_block();
        for t in vals.types(sh) {
            self.fb.append_block_param(join, t);
        }
        let fall: Vec<BlockArg> = vals.values().into_iter().map(BlockArg::from).collect();
        self.fb.ins().brif(any, slow, &[], join, &fall);
        self.fb.switch_to_block(slow);
        inside(self, vals);
        self.jump(join, &vals.values());
        self.fb.switch_to_block(join);
        let merged = self.fb.block_params(join).to_vec();
        *vals = vals.with_values(&merged);
    }

    /// Appends the lanes of `mask` that are neurons of the population (not
    /// padding past its end) to the spike list.
    fn emit_spikes(&mut self, cx: &NeuronLoop, mask: Option<Mask>, vals: &mut ElementValues) {
        let sh = cx.sh;
        let size = i64::from(self.m.populations[cx.pop as usize].size);
        let i = cx.i;
        let valid = if sh.vector() {
            // size - lane per lane, built once: i < size - lane.
            let lim = self.pre(|c| {
                let z = c.ins().iconst(sh.scalar_i(), size);
                let mut v = c.ins().splat(sh.ity(), z);
                for lane in 1..sh.lanes {
                    let x = c.ins().iconst(sh.scalar_i(), size - i64::from(lane));
                    v = c.ins().insertlane(v, x, lane);
                }
                v
            });
            let b = &mut self.fb;
            let ii = if sh.f32 {
                b.ins().ireduce(types::I32, i)
            } else {
                i
            };
            let iv = b.ins().splat(sh.ity(), ii);
            b.ins().icmp(IntCC::SignedLessThan, iv, lim)
        } else {
            self.fb.ins().icmp_imm_s(IntCC::SignedLessThan, i, size)
        };
        let spike = self.and_mask(mask, valid);
        // Compaction: store every lane's index, advance by its bit.
        let mut n = vals.spikes;
        let i32v = self.fb.ins().ireduce(types::I32, i);
        for lane in 0..sh.lanes {
            let bit = math::mlane(&mut self.fb, sh, spike, lane);
            let idx = self.fb.ins().iadd_imm_s(i32v, i64::from(lane));
            let a = self.addr(cx.out, n, 4);
            self.fb.ins().store(mem(), idx, a, 0);
            let bit = self.fb.ins().uextend(types::I64, bit);
            n = self.fb.ins().iadd(n, bit);
        }
        vals.spikes = n;
    }

    /// The refractory period in steps, per lane.
    fn refractory_count(
        &mut self,
        cx: &NeuronLoop,
        site: KernelSite,
        duration: crate::ir::Handle<crate::ir::Expr>,
        vals: &ElementValues,
    ) -> Value {
        let sh = cx.sh;
        if self.plan.ref_mode[cx.pop as usize] == RefMode::Host {
            let raw = self.slot(Slot::RefCount { pop: cx.pop });
            return self.pre(|cu| {
                let v = if sh.f32 {
                    cu.ins().ireduce(types::I32, raw)
                } else {
                    raw
                };
                if sh.vector() {
                    cu.ins().splat(sh.ity(), v)
                } else {
                    v
                }
            });
        }
        let v = self.expr_value(cx, site, duration, vals);
        let dtc = self.konst(sh, self.m.dt);
        let v = self.fb.ins().fdiv(v, dtc);
        self.count_lanes(sh, v)
    }
}
