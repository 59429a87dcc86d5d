//! The kernels, generated once as LLVM IR for either target.
//!
//! # Memory layout (documented contract with the drivers)
//! Every buffer is a flat array in device memory; kernels find buffer `id`
//! through `ctx[id]`, a table of 64-bit addresses (one kernel argument for
//! every kernel). Reals are `f64` or `f32` (`T`), indices `u32`.
//! * population `p` (size `n`): `st[q][b][i]`, `cur[c][b][i]` (T), `rf[b][i]`
//!   (u32 refractory counters), `prm[q][b]` (T, sweeps per batch item),
//!   spike ring `spk[slot][b][j]` + `cnt[slot][b]` (u32), slot = step % S;
//! * projection `k`: `syn[q][b][x]` (x = post neuron for align-post, synapse
//!   for per-synapse), CSR `rowptr[n_pre+1]`, `cols[nsyn]`, weights `w`
//!   (1 value when homogeneous, else per synapse), delays `dly` (same), and
//!   for per-synapse outputs a column index `cptr[n_post+1]`, `cidx[nsyn]`;
//! * array inputs `inp[w][b][i]` (T), a window of `W` steps, w = step % W,
//!   uploaded by the host `W` steps at a time ahead of the kernels;
//! * `ctl = [step, S, W]` (u32): the step is read from memory, so the launch
//!   sequence of every step is identical (replayed as a CUDA graph).
//!
//! `[state][batch][neuron]`: consecutive threads are consecutive neurons of
//! one batch item, so every state load/store of a warp is one coalesced
//! transaction; batch items are contiguous blocks of threads.
//!
//! # Kernels (one step = `prepare, neurons, syn_k…, events_k…, advance`)
//! * `snn_prepare`: zero this step's spike counters.
//! * `snn_neurons`: every population in one launch (thread ranges per
//!   population, as GeNN's merged groups), one thread per (batch, neuron):
//!   the step program's kernels over that population's neurons, in program
//!   order (currents, injections, the update with its refractory count,
//!   threshold and reset), with the synapse kernels whose element is that
//!   neuron fused in: every projection's output (align-post inline,
//!   per-synapse by walking the column index: deterministic, no atomics) and
//!   align-post synapse dynamics. `EmitSpike` is spike compaction (atomic
//!   counter into the population's index list of this slot).
//! * `snn_syn_k`: per-synapse dynamics, one thread per (batch, synapse).
//! * Every kernel's statements are lowered from the step program
//!   ([`crate::kernel`]) by one walker: locals are entry-block slots, `If`
//!   real branches, and each place is addressed for its element.
//! * `snn_events_k`: one thread per (delay class, batch, spike of that slot):
//!   walks the presynaptic row, runs `on_pre`; additions to shared targets
//!   (align-post state, post-synaptic state) are atomic float adds. With
//!   per-synapse delays the delay classes `D…0` are the slowest index, so a
//!   serial execution delivers in the reference's order.
//! * `snn_advance`: `step += 1`.
//!
//! No FMA contraction (LLVM's default for NVPTX without fast-math): f64
//! results follow the reference operation by operation.

use std::collections::HashMap;

use inkwell::module::Linkage;
use inkwell::types::{BasicTypeEnum, FloatType};
use inkwell::values::{FloatValue, FunctionValue, IntValue, PointerValue};
use inkwell::{FloatPredicate as P, IntPredicate as I};

use super::llvm::Ir;
use super::math::MathLib;
use super::philox;
use crate::ir::{
    Arena, AssignOp, BinaryOp, Connect, Expr, Handle, Module, SynapseLayout, UnaryOp, Var,
};
use crate::kernel::{Cond, Domain, Kernel, Phase, Place, StepProgram, Stmt};
use snnc_runtime::rng::{key_for, Purpose};
use snnc_runtime::synapse_values::{Delays, SynapseTable, Weights};

/// Element type of a buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Elem {
    /// f64, or f32 in f32 runs.
    Real,
    U32,
}

#[derive(Debug, Clone)]
pub struct BufSpec {
    pub name: String,
    pub elem: Elem,
    pub len: usize,
}

#[derive(Debug, Clone)]
pub struct PopBufs {
    pub st: usize,
    pub cur: usize,
    pub rf: usize,
    pub prm: usize,
    pub spk: usize,
    pub cnt: usize,
    /// A spike-train source: its spikes are written by the host.
    pub source: bool,
}

#[derive(Debug, Clone)]
pub struct ProjBufs {
    pub syn: usize,
    pub rowptr: usize,
    pub cols: usize,
    pub w: usize,
    pub dly: usize,
    pub cptr: usize,
    pub cidx: usize,
    pub w_per_syn: bool,
    pub d_per_syn: bool,
}

/// Buffers and static shapes of one run (or of `--emit ptx`).
#[derive(Debug, Clone)]
pub struct Plan {
    pub f32: bool,
    pub nb: u32,
    pub seed: u64,
    pub bufs: Vec<BufSpec>,
    pub ctl: usize,
    pub pops: Vec<PopBufs>,
    pub projs: Vec<ProjBufs>,
    /// Per `module.inputs`: the buffer of an array input (`window` steps).
    pub inputs: Vec<Option<usize>>,
    /// Steps of array input held on the device (`W`).
    pub window: u32,
}

impl Plan {
    /// Bytes of every buffer of the plan on the device: state, parameters,
    /// connectivity, spike ring and counters, input window.
    #[must_use]
    pub fn buffer_bytes(&self) -> u64 {
        let real = if self.f32 { 4 } else { 8 };
        self.bufs
            .iter()
            .map(|b| {
                b.len as u64
                    * match b.elem {
                        Elem::Real => real,
                        Elem::U32 => 4,
                    }
            })
            .sum()
    }

    /// `tables`/`slots`/`window`: the run's connectivity, spike-ring length
    /// and input window; without tables (PTX emission) sizes are placeholders
    /// and layouts follow the IR.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        m: &Module,
        nb: u32,
        f32: bool,
        seed: u64,
        tables: Option<&[SynapseTable]>,
        slots: u32,
        window: u32,
        sources: &[bool],
    ) -> Self {
        let window = window.max(1);
        let nbz = nb as usize;
        let mut bufs = Vec::new();
        let mut add = |name: String, elem: Elem, len: usize| {
            bufs.push(BufSpec {
                name,
                elem,
                len: len.max(1),
            });
            bufs.len() - 1
        };
        let ctl = add("ctl".into(), Elem::U32, 3);
        let mut pops = Vec::new();
        for (k, p) in m.populations.iter().enumerate() {
            let n = p.size as usize;
            pops.push(PopBufs {
                st: add(
                    format!("{}.st", p.name),
                    Elem::Real,
                    p.states.len() * nbz * n,
                ),
                cur: add(
                    format!("{}.cur", p.name),
                    Elem::Real,
                    p.currents.len() * nbz * n,
                ),
                rf: add(format!("{}.rf", p.name), Elem::U32, nbz * n),
                prm: add(format!("{}.prm", p.name), Elem::Real, p.params.len() * nbz),
                spk: add(
                    format!("{}.spk", p.name),
                    Elem::U32,
                    slots as usize * nbz * n,
                ),
                cnt: add(format!("{}.cnt", p.name), Elem::U32, slots as usize * nbz),
                source: sources.get(k).copied().unwrap_or(false),
            });
        }
        let mut projs = Vec::new();
        for (k, j) in m.projections.iter().enumerate() {
            let t = tables.and_then(|t| t.get(k));
            let nsyn = t.map_or(1, |t| t.structure.len());
            let n_pre = m.populations[j.pre as usize].size as usize;
            let n_post = m.populations[j.post as usize].size as usize;
            let w_per_syn = match t {
                Some(t) => matches!(t.weights, Weights::PerSynapse(_)),
                None => {
                    matches!(j.connect, Connect::File { .. }) || j.weight.constant_value().is_none()
                }
            };
            let d_per_syn = match t {
                Some(t) => matches!(t.delays, Delays::PerSynapse(_)),
                None => j.delay.constant_value().is_none(),
            };
            let len = match j.synapse.layout {
                SynapseLayout::AlignPost => n_post,
                SynapseLayout::PerSynapse => nsyn,
            };
            let per_syn_out = j.output.is_some() && j.synapse.layout == SynapseLayout::PerSynapse;
            projs.push(ProjBufs {
                syn: add(
                    format!("{}.syn", j.name),
                    Elem::Real,
                    j.synapse.states.len() * nbz * len,
                ),
                rowptr: add(format!("{}.rowptr", j.name), Elem::U32, n_pre + 1),
                cols: add(format!("{}.cols", j.name), Elem::U32, nsyn),
                w: add(
                    format!("{}.w", j.name),
                    Elem::Real,
                    if w_per_syn { nsyn } else { 1 },
                ),
                dly: add(
                    format!("{}.dly", j.name),
                    Elem::U32,
                    if d_per_syn { nsyn } else { 1 },
                ),
                cptr: add(
                    format!("{}.cptr", j.name),
                    Elem::U32,
                    if per_syn_out { n_post + 1 } else { 1 },
                ),
                cidx: add(
                    format!("{}.cidx", j.name),
                    Elem::U32,
                    if per_syn_out { nsyn } else { 1 },
                ),
                w_per_syn,
                d_per_syn,
            });
        }
        let inputs = m
            .inputs
            .iter()
            .map(|inp| match inp.kind {
                crate::ir::InputKind::Array { .. } => {
                    let n = m.populations[inp.population as usize].size as usize;
                    Some(add(
                        format!("input.{}", inp.name),
                        Elem::Real,
                        window as usize * nbz * n,
                    ))
                }
                crate::ir::InputKind::SpikeTrain => None,
            })
            .collect();
        Plan {
            f32,
            nb,
            seed,
            bufs,
            ctl,
            pops,
            projs,
            inputs,
            window,
        }
    }
}

/// Names of the kernels of a module, in launch order within a step (the
/// `events` and `syn` kernels name their projection).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KernelKind {
    Prepare,
    Neurons,
    Syn(usize),
    Events(usize),
    Advance,
}

impl KernelKind {
    pub fn name(&self) -> String {
        match self {
            KernelKind::Prepare => "snn_prepare".into(),
            KernelKind::Neurons => "snn_neurons".into(),
            KernelKind::Syn(k) => format!("snn_syn_{k}"),
            KernelKind::Events(k) => format!("snn_events_{k}"),
            KernelKind::Advance => "snn_advance".into(),
        }
    }
}

/// The kernels to launch each step: the step program's synapse dynamics
/// not fused into the neuron kernel, and its non-empty `on_pre` kernels.
pub fn kernel_list(m: &Module) -> Vec<KernelKind> {
    let program = crate::kernel::schedule_module(m);
    let mut v = vec![KernelKind::Prepare, KernelKind::Neurons];
    for kernel in &program.kernels {
        match (kernel.phase, kernel.domain) {
            (Phase::SynapseDynamics, Domain::Synapses { proj }) if !fused(m, kernel) => {
                v.push(KernelKind::Syn(proj as usize));
            }
            (Phase::Events, Domain::PreEvents { proj }) if !kernel.body.is_empty() => {
                v.push(KernelKind::Events(proj as usize));
            }
            _ => {}
        }
    }
    v.push(KernelKind::Advance);
    v
}

/// Neuron-kernel thread ranges: population `p` owns `[off[p], off[p+1])`.
pub fn neuron_offsets(m: &Module, nb: u32) -> Vec<u64> {
    let mut off = vec![0u64];
    for p in &m.populations {
        let last = *off.last().unwrap_or(&0);
        off.push(last + u64::from(p.size) * u64::from(nb));
    }
    off
}

/// One element of a synapse-domain kernel: batch item `b`, stored state
/// element `x` (post neuron for align-post, else the synapse) of the `len`
/// stored, its post neuron, its presynaptic neuron where the code reads
/// `pre.X`, and (events) the weight.
#[derive(Clone, Copy)]
struct SynapseSite<'c> {
    k: usize,
    b: IntValue<'c>,
    x: IntValue<'c>,
    len: IntValue<'c>,
    target: IntValue<'c>,
    src: Option<IntValue<'c>>,
    weight: Option<FloatValue<'c>>,
}

/// The element a kernel body runs for: what its loads and stores address
/// (the [`Domain`] docs; the reference's `Element`).
#[derive(Clone, Copy)]
enum Element<'c> {
    /// Neuron `i` of population `pop`, batch item `b`.
    Neuron {
        pop: usize,
        b: IntValue<'c>,
        i: IntValue<'c>,
    },
    Synapse(SynapseSite<'c>),
}

impl<'c> Element<'c> {
    /// The index its draws are keyed by.
    fn index(self) -> IntValue<'c> {
        match self {
            Element::Neuron { i, .. } => i,
            Element::Synapse(s) => s.x,
        }
    }
    fn batch(self) -> IntValue<'c> {
        match self {
            Element::Neuron { b, .. } => b,
            Element::Synapse(s) => s.b,
        }
    }
}

/// One element running one kernel's body.
struct Frame<'c> {
    element: Element<'c>,
    /// The key of the kernel's random stream.
    key: [u32; 2],
    /// The kernel's locals: entry-block slots of the real type.
    locals: Vec<PointerValue<'c>>,
}

/// Where a memory variable lives: its address, its type, and whether other
/// elements of the kernel share it (additions to it are then atomic).
struct Slot<'c> {
    ptr: PointerValue<'c>,
    ty: FloatType<'c>,
    shared: bool,
}

/// The generator: one LLVM module holding every kernel.
pub struct Gen<'c, 'm> {
    pub ir: Ir<'c>,
    math: MathLib<'c>,
    /// The module: sizes, layouts, parameter values.
    m: &'m Module,
    /// The step program: every kernel's statements are lowered from it.
    program: &'m StepProgram,
    plan: &'m Plan,
    /// Real type.
    rt: FloatType<'c>,
    func: Option<FunctionValue<'c>>,
    ctx: Option<PointerValue<'c>>,
    /// While a neuron's thread is generated: per projection onto it, its
    /// output sum (an f64 slot of the thread, as the reference keeps it).
    sums: Vec<Option<PointerValue<'c>>>,
}

impl<'c, 'm> Gen<'c, 'm> {
    pub fn new(ir: Ir<'c>, m: &'m Module, program: &'m StepProgram, plan: &'m Plan) -> Self {
        let rt = if plan.f32 { ir.f32t } else { ir.f64t };
        Self {
            ir,
            math: MathLib::default(),
            m,
            program,
            plan,
            rt,
            func: None,
            ctx: None,
            sums: Vec::new(),
        }
    }

    fn f(&self) -> FunctionValue<'c> {
        self.func.expect("in a function")
    }
    fn r(&self, v: f64) -> FloatValue<'c> {
        self.rt.const_float(v)
    }
    fn rty(&self) -> BasicTypeEnum<'c> {
        self.rt.into()
    }
    fn u32ty(&self) -> BasicTypeEnum<'c> {
        self.ir.i32t.into()
    }

    /// Address of buffer `id`, loaded from the ctx table: 8-byte aligned and
    /// invariant while a kernel runs, so LLVM loads it once however many
    /// stores the kernel makes in between.
    fn buf(&self, id: usize) -> PointerValue<'c> {
        let ir = &self.ir;
        let ctx = self.ctx.expect("ctx");
        let a = ir.load_i(ir.i64t, ctx, ir.i64c(id as i64));
        if let Some(load) = a.as_instruction() {
            let invariant = ir.cx.get_kind_id("invariant.load");
            let marked = load
                .set_alignment(8)
                .and_then(|()| load.set_metadata(ir.cx.metadata_node(&[]), invariant));
            debug_assert!(marked.is_ok(), "a load takes alignment and metadata");
        }
        ir.b.build_int_to_ptr(a, ir.gptr, "").unwrap()
    }
    fn ld_real(&self, id: usize, idx: IntValue<'c>) -> FloatValue<'c> {
        self.ir.load_f(self.rt, self.buf(id), idx)
    }
    /// A u32 element, zero-extended to i64.
    fn ld_u32(&self, id: usize, idx: IntValue<'c>) -> IntValue<'c> {
        let v = self.ir.load_i(self.ir.i32t, self.buf(id), idx);
        self.ir.zext64(v)
    }
    fn st_u32(&self, id: usize, idx: IntValue<'c>, v: IntValue<'c>) {
        let v = self.ir.trunc32(v);
        self.ir.store_at(self.u32ty(), self.buf(id), idx, v);
    }

    fn step(&self) -> IntValue<'c> {
        self.ld_u32(self.plan.ctl, self.ir.i64c(0))
    }
    fn slots(&self) -> IntValue<'c> {
        self.ld_u32(self.plan.ctl, self.ir.i64c(1))
    }
    fn window(&self) -> IntValue<'c> {
        self.ld_u32(self.plan.ctl, self.ir.i64c(2))
    }
    fn time(&self, step: IntValue<'c>) -> FloatValue<'c> {
        let ir = &self.ir;
        let t = ir.fmul(ir.uitofp(step), ir.f(self.m.dt));
        ir.to_real(t, self.rt)
    }

    // ---- places and expressions ---------------------------------------------

    /// `(q·nb + b)·len + x`: element `x` of row `q`, batch item `b`.
    fn at(&self, q: u32, b: IntValue<'c>, len: IntValue<'c>, x: IntValue<'c>) -> IntValue<'c> {
        let qb = self
            .ir
            .iadd(self.ir.i64c(i64::from(q) * i64::from(self.plan.nb)), b);
        self.ir.iadd(self.ir.imul(qb, len), x)
    }

    fn pop_len(&self, pop: usize) -> IntValue<'c> {
        self.ir.i64c(i64::from(self.m.populations[pop].size))
    }

    /// Where memory variable `v` of element `el` lives (`None`: not in
    /// memory for this element).
    fn slot(&self, el: Element<'c>, v: Var) -> Option<Slot<'c>> {
        let real = |buf: usize, idx: IntValue<'c>, shared: bool| Slot {
            ptr: self.ir.gep(self.rty(), self.buf(buf), idx),
            ty: self.rt,
            shared,
        };
        match (v, el) {
            (Var::Sum(k), _) => self
                .sums
                .get(k as usize)
                .copied()
                .flatten()
                .map(|ptr| Slot {
                    ptr,
                    ty: self.ir.f64t,
                    shared: false,
                }),
            (Var::State(q), Element::Neuron { pop, b, i }) => {
                let idx = self.at(q, b, self.pop_len(pop), i);
                Some(real(self.plan.pops[pop].st, idx, false))
            }
            (Var::Current(c), Element::Neuron { pop, b, i }) => {
                let idx = self.at(c, b, self.pop_len(pop), i);
                Some(real(self.plan.pops[pop].cur, idx, false))
            }
            (Var::Syn(q), Element::Synapse(s)) => {
                let align = self.m.projections[s.k].synapse.layout == SynapseLayout::AlignPost;
                let idx = self.at(q, s.b, s.len, s.x);
                Some(real(self.plan.projs[s.k].syn, idx, align))
            }
            (Var::PostState(q) | Var::PostCurrent(q), Element::Synapse(s)) => {
                let post = self.m.projections[s.k].post as usize;
                let pb = &self.plan.pops[post];
                let buf = if matches!(v, Var::PostState(_)) {
                    pb.st
                } else {
                    pb.cur
                };
                let idx = self.at(q, s.b, self.pop_len(post), s.target);
                Some(real(buf, idx, true))
            }
            (Var::PreState(q), Element::Synapse(s)) => s.src.map(|src| {
                let pre = self.m.projections[s.k].pre as usize;
                let idx = self.at(q, s.b, self.pop_len(pre), src);
                real(self.plan.pops[pre].st, idx, true)
            }),
            _ => None,
        }
    }

    /// The value of `v` for the element where the builder stands (memory
    /// as the statements before left it). Variables the element has but
    /// does not hold here read 0, others NaN (as the reference).
    fn load(&self, fr: &Frame<'c>, v: Var) -> FloatValue<'c> {
        if let Some(s) = self.slot(fr.element, v) {
            let x = self.ir.ld_f(s.ty, s.ptr);
            return if s.ty == self.rt {
                x
            } else {
                self.ir.to_real(x, self.rt)
            };
        }
        match (v, fr.element) {
            (Var::Local(l), _) => self.ir.ld_f(self.rt, fr.locals[l as usize]),
            (Var::Time, _) => self.time(self.step()),
            (Var::Dt, _) => self.r(self.m.dt),
            (Var::Param(q), Element::Neuron { pop, b, .. }) => {
                let idx = self
                    .ir
                    .iadd(self.ir.i64c(i64::from(q) * i64::from(self.plan.nb)), b);
                self.ld_real(self.plan.pops[pop].prm, idx)
            }
            (Var::Input(x), Element::Neuron { pop, b, i }) => self.input(x as usize, pop, b, i),
            (Var::SynParam(q), Element::Synapse(s)) => {
                let params = &self.m.projections[s.k].synapse.params;
                self.r(params.get(q as usize).map_or(0.0, |p| p.value))
            }
            (Var::Weight, Element::Synapse(s)) => s.weight.unwrap_or(self.r(0.0)),
            (Var::Sum(_), _)
            | (Var::PreState(_), Element::Synapse(_))
            | (Var::State(_) | Var::Current(_), Element::Neuron { .. }) => self.r(0.0),
            _ => self.r(f64::NAN),
        }
    }

    /// Array input `x` at this step for neuron `i` of `pop`, batch item `b`
    /// (`inp[step % W][b][i]`); 0 for another population's input or a
    /// spike train.
    fn input(&self, x: usize, pop: usize, b: IntValue<'c>, i: IntValue<'c>) -> FloatValue<'c> {
        let ours = self
            .m
            .inputs
            .get(x)
            .is_some_and(|inp| inp.population as usize == pop);
        match self.plan.inputs.get(x).copied().flatten() {
            Some(id) if ours => {
                let w = self.ir.urem(self.step(), self.window());
                let wb = self
                    .ir
                    .iadd(self.ir.imul(w, self.ir.i64c(i64::from(self.plan.nb))), b);
                let idx = self.ir.iadd(self.ir.imul(wb, self.pop_len(pop)), i);
                self.ld_real(id, idx)
            }
            _ => self.r(0.0),
        }
    }

    /// Expression `h` of the program for the frame's element.
    fn value(&mut self, h: Handle<Expr>, fr: &Frame<'c>) -> FloatValue<'c> {
        let mut memo = HashMap::new();
        self.expr(h, fr, &mut memo)
    }

    fn expr(
        &mut self,
        h: Handle<Expr>,
        fr: &Frame<'c>,
        memo: &mut HashMap<Handle<Expr>, FloatValue<'c>>,
    ) -> FloatValue<'c> {
        if let Some(&v) = memo.get(&h) {
            return v;
        }
        let e = self.program.exprs[h].clone();
        let rt = self.rt;
        let v = match e {
            Expr::Const(v) => self.r(v),
            Expr::Load(v) => self.load(fr, v),
            Expr::Unary(UnaryOp::Neg, x) => {
                let x = self.expr(x, fr, memo);
                self.ir.fneg(x)
            }
            Expr::Unary(UnaryOp::Not, x) => {
                let x = self.expr(x, fr, memo);
                let c = self.ir.fcmp(P::OEQ, x, self.r(0.0));
                self.ir.truth(c, rt)
            }
            Expr::Binary(op, x, y) => {
                let l = self.expr(x, fr, memo);
                let r = self.expr(y, fr, memo);
                self.binary(op, l, r)
            }
            Expr::Math(op, x) => {
                let x = self.expr(x, fr, memo);
                let x = self.ir.to_f64(x);
                let v = self.math.apply(&self.ir, op, x);
                self.ir.to_real(v, rt)
            }
            Expr::Select(c, x, y) => {
                let c = self.expr(c, fr, memo);
                let a = self.expr(x, fr, memo);
                let b = self.expr(y, fr, memo);
                let t = self.ir.fcmp(P::UNE, c, self.r(0.0));
                self.ir.fsel(t, a, b)
            }
            Expr::Random { kind, slot } => {
                let el = fr.element;
                let step = self.ir.trunc32(self.step());
                let v = philox::keyed_draw(
                    &self.ir,
                    &mut self.math,
                    fr.key,
                    kind,
                    slot,
                    self.ir.trunc32(el.index()),
                    step,
                    self.ir.trunc32(el.batch()),
                    self.rt == self.ir.f32t,
                );
                self.ir.to_real(v, rt)
            }
        };
        memo.insert(h, v);
        v
    }

    fn binary(&mut self, op: BinaryOp, l: FloatValue<'c>, r: FloatValue<'c>) -> FloatValue<'c> {
        let rt = self.rt;
        let ir = &self.ir;
        let z = self.r(0.0);
        match op {
            BinaryOp::Add => ir.fadd(l, r),
            BinaryOp::Sub => ir.fsub(l, r),
            BinaryOp::Mul => ir.fmul(l, r),
            BinaryOp::Div => ir.fdiv(l, r),
            BinaryOp::Pow => {
                let (a, b) = (ir.to_f64(l), ir.to_f64(r));
                let v = self.math.pow(&self.ir, a, b);
                self.ir.to_real(v, rt)
            }
            BinaryOp::Lt => ir.truth(ir.fcmp(P::OLT, l, r), rt),
            BinaryOp::Le => ir.truth(ir.fcmp(P::OLE, l, r), rt),
            BinaryOp::Gt => ir.truth(ir.fcmp(P::OGT, l, r), rt),
            BinaryOp::Ge => ir.truth(ir.fcmp(P::OGE, l, r), rt),
            BinaryOp::Eq => ir.truth(ir.fcmp(P::OEQ, l, r), rt),
            BinaryOp::Ne => ir.truth(ir.fcmp(P::UNE, l, r), rt),
            // Operands are pure, so evaluating both is the short-circuit's value.
            BinaryOp::And => {
                let c = ir.and(ir.fcmp(P::UNE, l, z), ir.fcmp(P::UNE, r, z));
                ir.truth(c, rt)
            }
            BinaryOp::Or => {
                let c = ir.or(ir.fcmp(P::UNE, l, z), ir.fcmp(P::UNE, r, z));
                ir.truth(c, rt)
            }
            // f64::min/max: the non-NaN operand when one is NaN.
            BinaryOp::Min => ir.intr2("llvm.minnum", l, r),
            BinaryOp::Max => ir.intr2("llvm.maxnum", l, r),
        }
    }

    // ---- statements ---------------------------------------------------------------

    /// `kernel`'s body for one element, its locals starting at 0.
    fn run(&mut self, kernel: &Kernel, element: Element<'c>) {
        let zero = self.r(0.0);
        let locals = (0..kernel.locals).map(|_| self.var(zero)).collect();
        let fr = Frame {
            element,
            key: self.key(kernel.draws),
            locals,
        };
        self.statements(&kernel.body, &fr);
    }

    fn statements(&mut self, body: &[Stmt], fr: &Frame<'c>) {
        for stmt in body {
            match stmt {
                Stmt::Let { local, value } => {
                    let v = self.value(*value, fr);
                    self.ir.st(fr.locals[*local as usize], v);
                }
                Stmt::Store { place, op, value } => {
                    let v = self.value(*value, fr);
                    self.store(fr.element, *place, *op, v);
                }
                Stmt::If {
                    cond,
                    then,
                    otherwise,
                } => {
                    let c = self.cond(cond, fr);
                    self.branch(c, &mut |g| g.statements(then, fr), &mut |g| {
                        g.statements(otherwise, fr)
                    });
                }
                Stmt::EmitSpike => self.emit_spike(fr.element),
                Stmt::SetRefractory { duration } => {
                    let v = self.value(*duration, fr);
                    self.set_refractory(fr.element, v);
                }
                Stmt::CountDownRefractory => self.count_down(fr.element),
                Stmt::StartRefractory => self.set_refractory_flag(fr.element, 1),
                Stmt::EndRefractory => self.set_refractory_flag(fr.element, 0),
            }
        }
    }

    /// `place = v` or `place += v`; additions to a place other elements of
    /// the kernel share are atomic.
    fn store(&mut self, el: Element<'c>, place: Place, op: AssignOp, v: FloatValue<'c>) {
        let var = match place {
            Place::State(q) => Var::State(q),
            Place::Current(c) => Var::Current(c),
            Place::Syn(q) => Var::Syn(q),
            Place::PostState(q) => Var::PostState(q),
            Place::Sum(k) => Var::Sum(k),
            // Plastic projections are refused before code generation
            // (`back::refuse_plastic`).
            Place::Weight => unreachable!("a weight store in GPU code"),
        };
        let Some(s) = self.slot(el, var) else { return };
        let v = if s.ty == self.rt {
            v
        } else {
            self.ir.to_f64(v)
        };
        match (op, s.shared) {
            (AssignOp::Add, true) => self.ir.atomic_fadd(s.ptr, v),
            (AssignOp::Add, false) => {
                let old = self.ir.ld_f(s.ty, s.ptr);
                self.ir.st(s.ptr, self.ir.fadd(old, v));
            }
            (AssignOp::Set, _) => self.ir.st(s.ptr, v),
        }
    }

    fn cond(&mut self, cond: &Cond, fr: &Frame<'c>) -> IntValue<'c> {
        match cond {
            Cond::Nonzero(h) => {
                let v = self.value(*h, fr);
                self.ir.fcmp(P::UNE, v, self.r(0.0))
            }
            Cond::Refractory => match self.refractory_index(fr.element) {
                Some((rf, idx)) => {
                    let left = self.ld_u32(rf, idx);
                    self.ir.icmp(I::UGT, left, self.ir.i64c(0))
                }
                None => self.ir.cx.bool_type().const_zero(),
            },
            Cond::AllFinite(locals) => {
                let mut all = self.ir.cx.bool_type().const_all_ones();
                for &l in locals {
                    let v = self.ir.ld_f(self.rt, fr.locals[l as usize]);
                    let size = self.ir.intr1("llvm.fabs", v);
                    let finite = self.ir.fcmp(P::OLT, size, self.r(f64::INFINITY));
                    all = self.ir.and(all, finite);
                }
                all
            }
        }
    }

    /// A neuron's refractory counter: its buffer and index.
    fn refractory_index(&self, el: Element<'c>) -> Option<(usize, IntValue<'c>)> {
        match el {
            Element::Neuron { pop, b, i } => {
                let idx = self.ir.iadd(self.ir.imul(b, self.pop_len(pop)), i);
                Some((self.plan.pops[pop].rf, idx))
            }
            Element::Synapse(_) => None,
        }
    }

    /// The neuron joins this step's spike list of its population (atomic
    /// counter of the slot, then its index at the place reserved).
    fn emit_spike(&mut self, el: Element<'c>) {
        let Element::Neuron { pop, b, i } = el else {
            return;
        };
        let pb = &self.plan.pops[pop];
        let slot = self.ir.urem(self.step(), self.slots());
        let ci = self
            .ir
            .iadd(self.ir.imul(slot, self.ir.i64c(i64::from(self.plan.nb))), b);
        let cp = self.ir.gep(self.u32ty(), self.buf(pb.cnt), ci);
        let pos = self.ir.atomic_iadd(cp, self.ir.i32c(1));
        let li = self
            .ir
            .iadd(self.ir.imul(ci, self.pop_len(pop)), self.ir.zext64(pos));
        self.st_u32(pb.spk, li, i);
    }

    /// The counter set to `round(duration / dt)` steps, 0 where that is not
    /// finite and positive, at most `u32::MAX`.
    fn set_refractory(&mut self, el: Element<'c>, duration: FloatValue<'c>) {
        let Some((rf, idx)) = self.refractory_index(el) else {
            return;
        };
        let ir = &self.ir;
        let v = ir.fdiv(ir.to_f64(duration), ir.f(self.m.dt));
        let ok = ir.and(
            ir.fcmp(P::OLT, ir.intr1("llvm.fabs", v), ir.f(f64::INFINITY)),
            ir.fcmp(P::OGT, v, ir.f(0.0)),
        );
        let capped = ir.intr2("llvm.minnum", v, ir.f(f64::from(u32::MAX)));
        let steps = ir.intr1("llvm.round", ir.fsel(ok, capped, ir.f(0.0)));
        self.st_u32(rf, idx, self.ir.fptosi(steps));
    }

    /// The counter set to 1 (refractory until ended) or 0 (not refractory).
    fn set_refractory_flag(&mut self, el: Element<'c>, flag: i64) {
        let Some((rf, idx)) = self.refractory_index(el) else {
            return;
        };
        self.st_u32(rf, idx, self.ir.i64c(flag));
    }

    /// One refractory step passes (the counter stays at 0).
    fn count_down(&mut self, el: Element<'c>) {
        let Some((rf, idx)) = self.refractory_index(el) else {
            return;
        };
        let left = self.ld_u32(rf, idx);
        let zero = self.ir.i64c(0);
        let above = self.ir.icmp(I::UGT, left, zero);
        let next = self
            .ir
            .isel(above, self.ir.isub(left, self.ir.i64c(1)), zero);
        self.st_u32(rf, idx, next);
    }

    // ---- kernel scaffolding -----------------------------------------------------

    /// Declares `name` as a kernel whose body maps thread `gid` (< `total`):
    /// on NVPTX an `.entry` reading `%ctaid.x·%ntid.x + %tid.x`; on the host
    /// a function looping `gid` over `[lo, hi)` (the driver's "blocks").
    fn kernel(&mut self, name: &str, body: &mut dyn FnMut(&mut Self, IntValue<'c>, IntValue<'c>)) {
        let ir = &self.ir;
        let i64t = ir.i64t;
        let void = ir.cx.void_type();
        let bname = format!("{name}_body");
        let bty = void.fn_type(&[ir.gptr.into(), i64t.into(), i64t.into()], false);
        let bf = ir.m.add_function(&bname, bty, Some(Linkage::Internal));
        let inline = ir.cx.create_enum_attribute(
            inkwell::attributes::Attribute::get_named_enum_kind_id("alwaysinline"),
            0,
        );
        bf.add_attribute(inkwell::attributes::AttributeLoc::Function, inline);
        let entry = ir.block(bf, "entry");
        ir.at(entry);
        self.func = Some(bf);
        self.ctx = Some(bf.get_nth_param(0).unwrap().into_pointer_value());
        let total = bf.get_nth_param(1).unwrap().into_int_value();
        let gid = bf.get_nth_param(2).unwrap().into_int_value();
        body(self, total, gid);
        self.ir.b.build_return(None).unwrap();

        let ir = &self.ir;
        if ir.nvptx {
            let kty = void.fn_type(&[ir.gptr.into(), i64t.into()], false);
            let k = ir.m.add_function(name, kty, None);
            k.set_call_conventions(71); // PTX_Kernel
            let entry = ir.block(k, "entry");
            let run = ir.block(k, "run");
            let done = ir.block(k, "done");
            ir.at(entry);
            let sreg = |n: &str| -> IntValue<'c> {
                let f =
                    ir.m.get_function(n)
                        .unwrap_or_else(|| ir.m.add_function(n, ir.i32t.fn_type(&[], false), None));
                let v = ir.call(f, &[]).into_int_value();
                ir.zext64(v)
            };
            let ctaid = sreg("llvm.nvvm.read.ptx.sreg.ctaid.x");
            let ntid = sreg("llvm.nvvm.read.ptx.sreg.ntid.x");
            let tid = sreg("llvm.nvvm.read.ptx.sreg.tid.x");
            let gid = ir.iadd(ir.imul(ctaid, ntid), tid);
            let total = k.get_nth_param(1).unwrap().into_int_value();
            ir.cbr(ir.icmp(I::ULT, gid, total), run, done);
            ir.at(run);
            let ctx = k.get_nth_param(0).unwrap();
            ir.call_void(bf, &[ctx.into(), total.into(), gid.into()]);
            ir.br(done);
            ir.at(done);
            ir.b.build_return(None).unwrap();
            // nvvm.annotations: !{ptr @k, !"kernel", i32 1}
            let md = ir.cx.metadata_node(&[
                k.as_global_value().as_pointer_value().into(),
                ir.cx.metadata_string("kernel").into(),
                ir.i32t.const_int(1, false).into(),
            ]);
            ir.m.add_global_metadata("nvvm.annotations", &md).unwrap();
        } else {
            let kty = void.fn_type(
                &[ir.gptr.into(), i64t.into(), i64t.into(), i64t.into()],
                false,
            );
            let k = ir.m.add_function(name, kty, None);
            let entry = ir.block(k, "entry");
            ir.at(entry);
            let ctx = k.get_nth_param(0).unwrap();
            let total = k.get_nth_param(1).unwrap().into_int_value();
            let lo = k.get_nth_param(2).unwrap().into_int_value();
            let hi = k.get_nth_param(3).unwrap().into_int_value();
            ir.for_range(k, lo, hi, &mut |gid| {
                ir.call_void(bf, &[ctx.into(), total.into(), gid.into()]);
            });
            ir.b.build_return(None).unwrap();
        }
        self.func = None;
        self.ctx = None;
    }

    /// `if c { then() }`, continuing after.
    fn when(&mut self, c: IntValue<'c>, then: &mut dyn FnMut(&mut Self)) {
        self.branch(c, then, &mut |_| {});
    }

    /// `if c { then() } else { otherwise() }`, continuing after.
    fn branch(
        &mut self,
        c: IntValue<'c>,
        then: &mut dyn FnMut(&mut Self),
        otherwise: &mut dyn FnMut(&mut Self),
    ) {
        let f = self.f();
        let t = self.ir.block(f, "then");
        let e = self.ir.block(f, "else");
        let j = self.ir.block(f, "join");
        self.ir.cbr(c, t, e);
        self.ir.at(t);
        then(self);
        self.ir.br(j);
        self.ir.at(e);
        otherwise(self);
        self.ir.br(j);
        self.ir.at(j);
    }

    /// `for i in lo..hi { body(i) }` (i64), continuing after the loop.
    fn range(
        &mut self,
        lo: IntValue<'c>,
        hi: IntValue<'c>,
        body: &mut dyn FnMut(&mut Self, IntValue<'c>),
    ) {
        let f = self.f();
        let var = self.ir.alloca_entry_i(f, self.ir.i64t);
        self.ir.st(var, lo);
        let head = self.ir.block(f, "loop");
        let inner = self.ir.block(f, "body");
        let done = self.ir.block(f, "done");
        self.ir.br(head);
        self.ir.at(head);
        let i = self.ir.ld_i(self.ir.i64t, var);
        self.ir.cbr(self.ir.icmp(I::SLT, i, hi), inner, done);
        self.ir.at(inner);
        body(self, i);
        let i = self.ir.ld_i(self.ir.i64t, var);
        self.ir.st(var, self.ir.iadd(i, self.ir.i64c(1)));
        self.ir.br(head);
        self.ir.at(done);
    }

    /// A real in an entry-block alloca.
    fn var(&self, init: FloatValue<'c>) -> PointerValue<'c> {
        let p = self.ir.alloca_entry_f(self.f(), self.rt);
        self.ir.st(p, init);
        p
    }

    fn key(&self, purpose: Purpose) -> [u32; 2] {
        key_for(self.plan.seed, purpose)
    }

    // ---- the kernels ------------------------------------------------------------

    pub fn all(&mut self) {
        let m = self.m;
        for k in kernel_list(m) {
            let name = k.name();
            match k {
                KernelKind::Prepare => self.kernel(&name, &mut |g, _t, gid| g.prepare(gid)),
                KernelKind::Neurons => self.kernel(&name, &mut |g, _t, gid| g.neurons(gid)),
                KernelKind::Syn(j) => self.kernel(&name, &mut |g, _t, gid| g.synapses(j, gid)),
                KernelKind::Events(j) => {
                    self.kernel(&name, &mut |g, t, gid| g.events(j, t, gid));
                }
                KernelKind::Advance => self.kernel(&name, &mut |g, _t, gid| {
                    let c = g.ir.icmp(I::EQ, gid, g.ir.i64c(0));
                    g.when(c, &mut |g| {
                        let s = g.step();
                        let s1 = g.ir.iadd(s, g.ir.i64c(1));
                        g.st_u32(g.plan.ctl, g.ir.i64c(0), s1);
                    });
                }),
            }
        }
    }

    /// Thread `gid` = population q's batch item: zero this slot's counter.
    fn prepare(&mut self, gid: IntValue<'c>) {
        let nb = i64::from(self.plan.nb);
        let slot = self.ir.urem(self.step(), self.slots());
        for (p, pb) in self.plan.pops.iter().enumerate() {
            if pb.source {
                continue;
            }
            let lo = self.ir.i64c(p as i64 * nb);
            let hi = self.ir.i64c((p as i64 + 1) * nb);
            let inside = self
                .ir
                .and(self.ir.icmp(I::SGE, gid, lo), self.ir.icmp(I::SLT, gid, hi));
            let cnt = pb.cnt;
            self.when(inside, &mut |g| {
                let b = g.ir.isub(gid, lo);
                let idx = g.ir.iadd(g.ir.imul(slot, g.ir.i64c(nb)), b);
                g.st_u32(cnt, idx, g.ir.i64c(0));
            });
        }
    }

    fn neurons(&mut self, gid: IntValue<'c>) {
        let off = neuron_offsets(self.m, self.plan.nb);
        for p in 0..self.m.populations.len() {
            if self.m.populations[p].size == 0 {
                continue;
            }
            let lo = self.ir.i64c(off[p] as i64);
            let hi = self.ir.i64c(off[p + 1] as i64);
            let inside = self
                .ir
                .and(self.ir.icmp(I::SGE, gid, lo), self.ir.icmp(I::SLT, gid, hi));
            self.when(inside, &mut |g| {
                let local = g.ir.isub(gid, lo);
                g.population(p, local);
            });
        }
    }

    /// One (batch item, neuron) of population `p`: the step program's
    /// kernels whose elements are its neurons, in program order, with the
    /// synapse kernels whose element is one of its neurons fused in (see
    /// [`fused`]). Spike-train populations fire from the host.
    fn population(&mut self, p: usize, g: IntValue<'c>) {
        let program = self.program;
        let m = self.m;
        let n = self.pop_len(p);
        let b = self.ir.udiv(g, n);
        let i = self.ir.urem(g, n);
        self.sums = m
            .projections
            .iter()
            .map(|j| (j.post as usize == p).then(|| self.ir.alloca_entry_f(self.f(), self.ir.f64t)))
            .collect();
        for kernel in &program.kernels {
            match kernel.domain {
                Domain::Neurons { pop } if pop as usize == p => {
                    self.run(kernel, Element::Neuron { pop: p, b, i });
                }
                Domain::Synapses { proj }
                    if m.projections[proj as usize].post as usize == p && fused(m, kernel) =>
                {
                    self.post_synapses(kernel, proj as usize, b, i);
                }
                _ => {}
            }
        }
        self.sums.clear();
    }

    /// A fused synapse kernel of projection `k` for post neuron `i`: the
    /// element `i` (align-post) or every synapse onto `i`, in synapse order
    /// (the column index), so its output sum needs no atomics.
    fn post_synapses(&mut self, kernel: &Kernel, k: usize, b: IntValue<'c>, i: IntValue<'c>) {
        let len = self.syn_len(k);
        if self.m.projections[k].synapse.layout == SynapseLayout::AlignPost {
            let site = SynapseSite {
                k,
                b,
                x: i,
                len,
                target: i,
                src: None,
                weight: None,
            };
            self.run(kernel, Element::Synapse(site));
            return;
        }
        let jb = self.plan.projs[k].clone();
        let lo = self.ld_u32(jb.cptr, i);
        let hi = self.ld_u32(jb.cptr, self.ir.iadd(i, self.ir.i64c(1)));
        self.range(lo, hi, &mut |g, t| {
            let s = g.ld_u32(jb.cidx, t);
            let site = SynapseSite {
                k,
                b,
                x: s,
                len,
                target: i,
                src: g.pre_of(kernel, k, s),
                weight: None,
            };
            g.run(kernel, Element::Synapse(site));
        });
    }

    /// Stored synapse state elements of projection `k`.
    fn syn_len(&self, k: usize) -> IntValue<'c> {
        let j = &self.m.projections[k];
        match j.synapse.layout {
            SynapseLayout::AlignPost => self.pop_len(j.post as usize),
            SynapseLayout::PerSynapse => {
                let n_pre = i64::from(self.m.populations[j.pre as usize].size);
                self.ld_u32(self.plan.projs[k].rowptr, self.ir.i64c(n_pre))
            }
        }
    }

    /// The presynaptic neuron of synapse `s` of projection `k`: the CSR row
    /// holding it, by binary search over the row pointers (a fixed number of
    /// halvings, so every thread of a warp runs the same instructions).
    fn row_of(&self, k: usize, s: IntValue<'c>) -> IntValue<'c> {
        let n_pre = self.m.populations[self.m.projections[k].pre as usize].size;
        let rowptr = self.plan.projs[k].rowptr;
        // rowptr[lo] ≤ s < rowptr[hi] throughout.
        let mut lo = self.ir.i64c(0);
        let mut hi = self.ir.i64c(i64::from(n_pre));
        for _ in 0..(32 - n_pre.leading_zeros()) {
            let mid = self.ir.lshr(self.ir.iadd(lo, hi), self.ir.i64c(1));
            let below = self.ir.icmp(I::ULE, self.ld_u32(rowptr, mid), s);
            lo = self.ir.isel(below, mid, lo);
            hi = self.ir.isel(below, hi, mid);
        }
        lo
    }

    /// The presynaptic neuron of stored element `x` of projection `k`,
    /// where `kernel` reads `pre.X` (per-synapse layout only, see
    /// ir::validate).
    fn pre_of(&self, kernel: &Kernel, k: usize, x: IntValue<'c>) -> Option<IntValue<'c>> {
        let per_synapse = self.m.projections[k].synapse.layout == SynapseLayout::PerSynapse;
        (per_synapse && reads_pre(&self.program.exprs, &kernel.body)).then(|| self.row_of(k, x))
    }

    /// Step 4 for one (batch item, x) of projection `k`: its step-program
    /// kernel (unless fused into the neuron kernel).
    fn synapses(&mut self, k: usize, g: IntValue<'c>) {
        let program = self.program;
        let domain = Domain::Synapses { proj: k as u32 };
        let Some(kernel) = program.kernel(Phase::SynapseDynamics, domain) else {
            return;
        };
        let len = self.syn_len(k);
        let b = self.ir.udiv(g, len);
        let x = self.ir.urem(g, len);
        let target = match self.m.projections[k].synapse.layout {
            SynapseLayout::AlignPost => x,
            SynapseLayout::PerSynapse => self.ld_u32(self.plan.projs[k].cols, x),
        };
        let site = SynapseSite {
            k,
            b,
            x,
            len,
            target,
            src: self.pre_of(kernel, k, x),
            weight: None,
        };
        self.run(kernel, Element::Synapse(site));
    }

    /// Step 5 for one (delay class, batch item, spike) of projection `k`.
    fn events(&mut self, k: usize, total: IntValue<'c>, g: IntValue<'c>) {
        let m = self.m;
        let j = &m.projections[k];
        let jb = self.plan.projs[k].clone();
        let pre = j.pre as usize;
        let spk = self.plan.pops[pre].spk;
        let cnt = self.plan.pops[pre].cnt;
        let nb = i64::from(self.plan.nb);
        let n_pre = i64::from(m.populations[pre].size);
        let per = self.ir.i64c(nb * n_pre);
        let ir = &self.ir;
        let dd = ir.udiv(g, per);
        let rem = ir.urem(g, per);
        let b = ir.udiv(rem, ir.i64c(n_pre));
        let jx = ir.urem(rem, ir.i64c(n_pre));
        let step = self.step();
        let d = if jb.d_per_syn {
            let nd = self.ir.udiv(total, per);
            self.ir.isub(self.ir.isub(nd, self.ir.i64c(1)), dd)
        } else {
            self.ld_u32(jb.dly, self.ir.i64c(0))
        };
        let ok = self.ir.icmp(I::UGE, step, d);
        self.when(ok, &mut |g| {
            let ir = &g.ir;
            let slot = ir.urem(ir.isub(step, d), g.slots());
            let ci = ir.iadd(ir.imul(slot, ir.i64c(nb)), b);
            let count = g.ld_u32(cnt, ci);
            let has = g.ir.icmp(I::ULT, jx, count);
            g.when(has, &mut |g| {
                let li = g.ir.iadd(g.ir.imul(ci, g.ir.i64c(n_pre)), jx);
                let src = g.ld_u32(spk, li);
                let lo = g.ld_u32(jb.rowptr, src);
                let hi = g.ld_u32(jb.rowptr, g.ir.iadd(src, g.ir.i64c(1)));
                g.range(lo, hi, &mut |g, s| {
                    if jb.d_per_syn {
                        let ds = g.ld_u32(jb.dly, s);
                        let c = g.ir.icmp(I::EQ, ds, d);
                        g.when(c, &mut |g| g.deliver(k, b, src, s));
                    } else {
                        g.deliver(k, b, src, s);
                    }
                });
            });
        });
    }

    /// `on_pre` of synapse `s` of presynaptic neuron `src` (batch item `b`):
    /// its step-program kernel.
    fn deliver(&mut self, k: usize, b: IntValue<'c>, src: IntValue<'c>, s: IntValue<'c>) {
        let program = self.program;
        let Some(kernel) = program.kernel(Phase::Events, Domain::PreEvents { proj: k as u32 })
        else {
            return;
        };
        let jb = &self.plan.projs[k];
        let target = self.ld_u32(jb.cols, s);
        let align = self.m.projections[k].synapse.layout == SynapseLayout::AlignPost;
        let w = if jb.w_per_syn {
            self.ld_real(jb.w, s)
        } else {
            self.ld_real(jb.w, self.ir.i64c(0))
        };
        let site = SynapseSite {
            k,
            b,
            x: if align { target } else { s },
            len: self.syn_len(k),
            target,
            src: Some(src),
            weight: Some(w),
        };
        self.run(kernel, Element::Synapse(site));
    }
}

/// Whether the neuron kernel runs synapse kernel `kernel` in the thread of
/// its element's post neuron: a projection's output (summed over the
/// synapses onto the neuron, from state at the start of the step) and an
/// align-post projection's dynamics (element = post neuron; it reads only
/// that neuron's state after its update, and nothing after it in the
/// program writes what it reads before the events kernels).
fn fused(m: &Module, kernel: &Kernel) -> bool {
    let Domain::Synapses { proj } = kernel.domain else {
        return false;
    };
    match kernel.phase {
        Phase::Output => true,
        Phase::SynapseDynamics => {
            m.projections[proj as usize].synapse.layout == SynapseLayout::AlignPost
        }
        _ => false,
    }
}

/// Whether a body loads a presynaptic state (in a value, a condition or a
/// duration).
fn reads_pre(exprs: &Arena<Expr>, body: &[Stmt]) -> bool {
    let mut todo = Vec::new();
    for stmt in body {
        match stmt {
            Stmt::Let { value, .. } | Stmt::Store { value, .. } => todo.push(*value),
            Stmt::SetRefractory { duration } => todo.push(*duration),
            Stmt::If {
                cond,
                then,
                otherwise,
            } => {
                if reads_pre(exprs, then) || reads_pre(exprs, otherwise) {
                    return true;
                }
                if let Cond::Nonzero(h) = cond {
                    todo.push(*h);
                }
            }
            Stmt::EmitSpike
            | Stmt::CountDownRefractory
            | Stmt::StartRefractory
            | Stmt::EndRefractory => {}
        }
    }
    let mut seen = std::collections::HashSet::new();
    while let Some(h) = todo.pop() {
        if !seen.insert(h) {
            continue;
        }
        match &exprs[h] {
            Expr::Load(Var::PreState(_)) => return true,
            e => todo.extend(e.children()),
        }
    }
    false
}
