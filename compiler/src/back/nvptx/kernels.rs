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
//!   currents (align-post outputs inline, per-synapse outputs by walking the
//!   column index: deterministic, no atomics), injections, integration,
//!   refractory, threshold, reset, and spike compaction (atomic counter into
//!   the population's index list of this slot).
//! * `snn_syn_k`: synapse dynamics, one thread per (batch, x), lowered from
//!   the step program's kernel ([`crate::kernel`], as `on_pre` below).
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
use inkwell::types::BasicTypeEnum;
use inkwell::values::{FloatValue, FunctionValue, IntValue, PointerValue};
use inkwell::{FloatPredicate as P, IntPredicate as I};

use super::llvm::Ir;
use super::math::MathLib;
use super::philox;
use crate::ir::SYNAPSE_KEY_BIT;
use crate::ir::{
    AssignOp, BinaryOp, Connect, Expr, Handle, Method, Module, Ode, SynapseLayout, UnaryOp, Var,
};
use crate::kernel::{Domain, Phase, Place, StepProgram, Stmt, Target};
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

/// The kernels to launch each step.
pub fn kernel_list(m: &Module) -> Vec<KernelKind> {
    let mut v = vec![KernelKind::Prepare, KernelKind::Neurons];
    for (k, j) in m.projections.iter().enumerate() {
        if !j.synapse.odes.is_empty() {
            v.push(KernelKind::Syn(k));
        }
    }
    for (k, j) in m.projections.iter().enumerate() {
        if !j.synapse.on_pre.is_empty() {
            v.push(KernelKind::Events(k));
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

/// Which variables an environment provides (the reference's `NeuronEnv` /
/// `SynEnv`): provided-but-absent reads are 0, others NaN.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Neuron,
    Syn,
}

#[derive(Clone)]
struct Env<'c> {
    kind: Kind,
    /// `State(i)` (neuron) or `Syn(i)` (synapse).
    states: Vec<FloatValue<'c>>,
    vars: HashMap<Var, FloatValue<'c>>,
    key: [u32; 2],
    index: IntValue<'c>,
    step: IntValue<'c>,
    batch: IntValue<'c>,
}

impl<'c> Env<'c> {
    fn with_states(&self, s: Vec<FloatValue<'c>>) -> Self {
        let mut e = self.clone();
        e.states = s;
        e
    }
}

/// The generator: one LLVM module holding every kernel.
/// One element of a synapse kernel: batch item `b`, stored state element
/// `x` (post neuron for align-post, else the synapse), its post neuron, its
/// presynaptic neuron where the code reads `pre.X`, and (events) the weight.
#[derive(Clone, Copy)]
struct SynapseSite<'c> {
    k: usize,
    b: IntValue<'c>,
    x: IntValue<'c>,
    target: IntValue<'c>,
    src: Option<IntValue<'c>>,
    weight: Option<FloatValue<'c>>,
}

pub struct Gen<'c, 'm> {
    pub ir: Ir<'c>,
    math: MathLib<'c>,
    /// The module, its expressions those of `program` (a superset).
    m: &'m Module,
    /// The step program: synapse dynamics and `on_pre` are lowered from it.
    program: &'m StepProgram,
    plan: &'m Plan,
    /// Real type.
    rt: inkwell::types::FloatType<'c>,
    func: Option<FunctionValue<'c>>,
    ctx: Option<PointerValue<'c>>,
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

    /// Address of buffer `id` (loaded from the ctx table).
    fn buf(&self, id: usize) -> PointerValue<'c> {
        let ir = &self.ir;
        let ctx = self.ctx.expect("ctx");
        let a = ir.load_i(ir.i64t, ctx, ir.i64c(id as i64));
        ir.b.build_int_to_ptr(a, ir.gptr, "").unwrap()
    }
    fn ld_real(&self, id: usize, idx: IntValue<'c>) -> FloatValue<'c> {
        self.ir.load_f(self.rt, self.buf(id), idx)
    }
    fn st_real(&self, id: usize, idx: IntValue<'c>, v: FloatValue<'c>) {
        self.ir.store_at(self.rty(), self.buf(id), idx, v);
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

    // ---- expressions --------------------------------------------------------

    fn load(&self, env: &Env<'c>, v: Var) -> FloatValue<'c> {
        let own = match (env.kind, v) {
            (Kind::Neuron, Var::State(i)) | (Kind::Syn, Var::Syn(i)) => Some(i),
            _ => None,
        };
        if let Some(i) = own {
            return env.states.get(i as usize).copied().unwrap_or(self.r(0.0));
        }
        if let Some(x) = env.vars.get(&v) {
            return *x;
        }
        let provided = match env.kind {
            Kind::Neuron => matches!(
                v,
                Var::State(_) | Var::Current(_) | Var::Param(_) | Var::Input(_)
            ),
            Kind::Syn => matches!(
                v,
                Var::Syn(_)
                    | Var::SynParam(_)
                    | Var::PostState(_)
                    | Var::PostCurrent(_)
                    | Var::PreState(_)
                    | Var::Weight
            ),
        };
        match v {
            Var::Time => self.time(env.step),
            Var::Dt => self.r(self.m.dt),
            _ if provided => self.r(0.0),
            _ => self.r(f64::NAN),
        }
    }

    fn expr(&mut self, h: Handle<Expr>, env: &Env<'c>) -> FloatValue<'c> {
        let e = self.m.exprs[h].clone();
        let rt = self.rt;
        match e {
            Expr::Const(v) => self.r(v),
            Expr::Load(v) => self.load(env, v),
            Expr::Unary(UnaryOp::Neg, x) => {
                let x = self.expr(x, env);
                self.ir.fneg(x)
            }
            Expr::Unary(UnaryOp::Not, x) => {
                let x = self.expr(x, env);
                let c = self.ir.fcmp(P::OEQ, x, self.r(0.0));
                self.ir.truth(c, rt)
            }
            Expr::Binary(op, x, y) => {
                let l = self.expr(x, env);
                let r = self.expr(y, env);
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
            Expr::Math(op, x) => {
                let x = self.expr(x, env);
                let x = self.ir.to_f64(x);
                let v = self.math.apply(&self.ir, op, x);
                self.ir.to_real(v, rt)
            }
            Expr::Select(c, x, y) => {
                let c = self.expr(c, env);
                let a = self.expr(x, env);
                let b = self.expr(y, env);
                let t = self.ir.fcmp(P::UNE, c, self.r(0.0));
                self.ir.fsel(t, a, b)
            }
            Expr::Random { kind, slot } => {
                let v = philox::keyed_draw(
                    &self.ir,
                    &mut self.math,
                    env.key,
                    kind,
                    slot,
                    env.index,
                    env.step,
                    env.batch,
                    self.rt == self.ir.f32t,
                );
                self.ir.to_real(v, rt)
            }
        }
    }

    /// New values of the ODE states (the schemes of `kernel::schedule`).
    fn integrate(&mut self, odes: &[Ode], env: &Env<'c>) -> Vec<FloatValue<'c>> {
        let s0 = env.states.clone();
        let mut out = s0.clone();
        let dt = self.r(self.m.dt);
        for o in odes {
            if let Some(u) = o.update {
                out[o.state as usize] = self.expr(u, env);
            }
        }
        let Some(method) = odes.iter().map(|o| o.method).find(|m| *m != Method::Exact) else {
            return out;
        };
        let others: Vec<&Ode> = odes.iter().filter(|o| o.update.is_none()).collect();
        let f = |g: &mut Self, s: &[FloatValue<'c>]| -> Vec<FloatValue<'c>> {
            let e = env.with_states(s.to_vec());
            others.iter().map(|o| g.expr(o.rhs, &e)).collect()
        };
        let shifted = |g: &Self, k: &[FloatValue<'c>], h: FloatValue<'c>| -> Vec<FloatValue<'c>> {
            let mut s = s0.clone();
            for (o, d) in others.iter().zip(k) {
                let i = o.state as usize;
                s[i] = g.ir.fadd(s[i], g.ir.fmul(h, *d));
            }
            s
        };
        let half = self.ir.fdiv(dt, self.r(2.0));
        let k1 = f(self, &s0);
        let incr = match method {
            Method::Euler | Method::Exact => k1,
            Method::Rk2 => {
                let s = shifted(self, &k1, half);
                f(self, &s)
            }
            Method::Rk4 => {
                let s = shifted(self, &k1, half);
                let k2 = f(self, &s);
                let s = shifted(self, &k2, half);
                let k3 = f(self, &s);
                let s = shifted(self, &k3, dt);
                let k4 = f(self, &s);
                let ir = &self.ir;
                (0..k1.len())
                    .map(|i| {
                        let a = ir.fadd(k1[i], ir.fmul(self.r(2.0), k2[i]));
                        let a = ir.fadd(a, ir.fmul(self.r(2.0), k3[i]));
                        let a = ir.fadd(a, k4[i]);
                        ir.fdiv(a, self.r(6.0))
                    })
                    .collect()
            }
        };
        for (o, d) in others.iter().zip(incr) {
            let i = o.state as usize;
            out[i] = self.ir.fadd(s0[i], self.ir.fmul(dt, d));
        }
        out
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
        let f = self.f();
        let t = self.ir.block(f, "then");
        let j = self.ir.block(f, "join");
        self.ir.cbr(c, t, j);
        self.ir.at(t);
        then(self);
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

    /// One (batch item, neuron) of population `p`: steps 1–3.
    fn population(&mut self, p: usize, g: IntValue<'c>) {
        let m = self.m;
        let pop = &m.populations[p];
        let pb = self.plan.pops[p].clone();
        let nb = i64::from(self.plan.nb);
        let n = self.ir.i64c(i64::from(pop.size));
        let b = self.ir.udiv(g, n);
        let i = self.ir.urem(g, n);
        let step = self.step();
        let step32 = self.ir.trunc32(step);
        let b32 = self.ir.trunc32(b);
        let i32v = self.ir.trunc32(i);
        // (q·nb + b)·len + x
        let at = |g: &Self, q: usize, len: IntValue<'c>, x: IntValue<'c>| -> IntValue<'c> {
            let qb = g.ir.iadd(g.ir.i64c(q as i64 * nb), b);
            g.ir.iadd(g.ir.imul(qb, len), x)
        };
        let s0: Vec<FloatValue<'c>> = (0..pop.states.len())
            .map(|q| self.ld_real(pb.st, at(self, q, n, i)))
            .collect();
        let mut vars = HashMap::new();
        for q in 0..pop.params.len() {
            let idx = self.ir.iadd(self.ir.i64c(q as i64 * nb), b);
            vars.insert(Var::Param(q as u32), self.ld_real(pb.prm, idx));
        }
        let mut cur: Vec<FloatValue<'c>> = vec![self.r(0.0); pop.currents.len()];

        // (1) currents: outputs of projections into p, then injections.
        for (k, j) in m.projections.iter().enumerate() {
            let Some(out) = &j.output else { continue };
            if j.post as usize != p {
                continue;
            }
            let jb = self.plan.projs[k].clone();
            let mut svars = HashMap::new();
            for (q, v) in j.synapse.params.iter().enumerate() {
                svars.insert(Var::SynParam(q as u32), self.r(v.value));
            }
            for (q, v) in s0.iter().enumerate() {
                svars.insert(Var::PostState(q as u32), *v);
            }
            svars.insert(Var::Weight, self.r(0.0));
            let key = self.key(Purpose::ModelNoise {
                population: SYNAPSE_KEY_BIT | k as u32,
            });
            let ns = j.synapse.states.len();
            let add = match j.synapse.layout {
                SynapseLayout::AlignPost => {
                    let syn: Vec<_> = (0..ns)
                        .map(|q| self.ld_real(jb.syn, at(self, q, n, i)))
                        .collect();
                    let env = Env {
                        kind: Kind::Syn,
                        states: syn,
                        vars: svars,
                        key,
                        index: i32v,
                        step: step32,
                        batch: b32,
                    };
                    let v = self.expr(out.value, &env);
                    self.ir.fadd(self.r(0.0), v)
                }
                SynapseLayout::PerSynapse => {
                    let acc = self.var(self.r(0.0));
                    let n_pre = i64::from(m.populations[j.pre as usize].size);
                    let nsyn = self.ld_u32(jb.rowptr, self.ir.i64c(n_pre));
                    let lo = self.ld_u32(jb.cptr, i);
                    let hi = self.ld_u32(jb.cptr, self.ir.iadd(i, self.ir.i64c(1)));
                    self.range(lo, hi, &mut |g, t| {
                        let s = g.ld_u32(jb.cidx, t);
                        let syn: Vec<_> = (0..ns)
                            .map(|q| g.ld_real(jb.syn, at(g, q, nsyn, s)))
                            .collect();
                        let env = Env {
                            kind: Kind::Syn,
                            states: syn,
                            vars: svars.clone(),
                            key,
                            index: g.ir.trunc32(s),
                            step: step32,
                            batch: b32,
                        };
                        let v = g.expr(out.value, &env);
                        let a = g.ir.ld_f(g.rt, acc);
                        let a = g.ir.fadd(a, v);
                        g.ir.st(acc, a);
                    });
                    self.ir.ld_f(self.rt, acc)
                }
            };
            let c = out.current as usize;
            if c < cur.len() {
                cur[c] = self.ir.fadd(cur[c], add);
            }
        }
        for (k, inj) in m.injections.iter().enumerate() {
            if inj.population as usize != p {
                continue;
            }
            let mut v = vars.clone();
            for (q, c) in cur.iter().enumerate() {
                v.insert(Var::Current(q as u32), *c);
            }
            for (q, input) in m.inputs.iter().enumerate() {
                if input.population as usize == p {
                    if let Some(id) = self.plan.inputs[q] {
                        // inp[step % W][b][i]
                        let w = self.ir.urem(step, self.window());
                        let wb = self.ir.iadd(self.ir.imul(w, self.ir.i64c(nb)), b);
                        let idx = self.ir.iadd(self.ir.imul(wb, n), i);
                        v.insert(Var::Input(q as u32), self.ld_real(id, idx));
                    }
                }
            }
            let env = Env {
                kind: Kind::Neuron,
                states: s0.clone(),
                vars: v,
                key: self.key(Purpose::Injection {
                    injection: k as u32,
                }),
                index: i32v,
                step: step32,
                batch: b32,
            };
            let val = self.expr(inj.value, &env);
            let c = inj.current as usize;
            if c < cur.len() {
                cur[c] = self.ir.fadd(cur[c], val);
            }
        }
        for (q, c) in cur.iter().enumerate() {
            self.st_real(pb.cur, at(self, q, n, i), *c);
        }
        if pb.source {
            return;
        }

        // (2) integration.
        let mut v = vars.clone();
        for (q, c) in cur.iter().enumerate() {
            v.insert(Var::Current(q as u32), *c);
        }
        let env = Env {
            kind: Kind::Neuron,
            states: s0.clone(),
            vars: v,
            key: self.key(Purpose::ModelNoise {
                population: p as u32,
            }),
            index: i32v,
            step: step32,
            batch: b32,
        };
        let s1 = self.integrate(&pop.odes, &env);
        let s1p: Vec<PointerValue<'c>> = s1.iter().map(|v| self.var(*v)).collect();

        // (3) refractory, threshold, reset.
        let rf_idx = self.ir.iadd(self.ir.imul(b, n), i);
        let rf = self.ld_u32(pb.rf, rf_idx);
        let f = self.f();
        let refr = self.ir.block(f, "refractory");
        let free = self.ir.block(f, "free");
        let join = self.ir.block(f, "stored");
        self.ir
            .cbr(self.ir.icmp(I::UGT, rf, self.ir.i64c(0)), refr, free);
        self.ir.at(refr);
        for &h in &pop.held {
            if let (Some(p), Some(v)) = (s1p.get(h as usize), s0.get(h as usize)) {
                self.ir.st(*p, *v);
            }
        }
        self.st_u32(pb.rf, rf_idx, self.ir.isub(rf, self.ir.i64c(1)));
        self.ir.br(join);
        self.ir.at(free);
        let cur_s =
            |g: &Self| -> Vec<FloatValue<'c>> { s1p.iter().map(|p| g.ir.ld_f(g.rt, *p)).collect() };
        if let Some(cond) = pop.spike {
            let e = env.with_states(cur_s(self));
            let c = self.expr(cond, &e);
            let mut spiking = self.ir.fcmp(P::UNE, c, self.r(0.0));
            // A non-finite state never spikes (see back::guard).
            for v in cur_s(self) {
                let size = self.ir.intr1("llvm.fabs", v);
                let finite = self.ir.fcmp(P::OLT, size, self.r(f64::INFINITY));
                spiking = self.ir.and(spiking, finite);
            }
            let spk = pb.spk;
            let cnt = pb.cnt;
            self.when(spiking, &mut |g| {
                // Compaction: reserve a place in this slot's list.
                let slot = g.ir.urem(step, g.slots());
                let ci = g.ir.iadd(g.ir.imul(slot, g.ir.i64c(nb)), b);
                let cp = g.ir.gep(g.u32ty(), g.buf(cnt), ci);
                let pos = g.ir.atomic_iadd(cp, g.ir.i32c(1));
                let li = g.ir.iadd(g.ir.imul(ci, n), g.ir.zext64(pos));
                g.st_u32(spk, li, i);
                for r in &pop.reset {
                    let e = env.with_states(cur_s(g));
                    let v = g.expr(r.value, &e);
                    if let Var::State(s) = r.target {
                        if let Some(ptr) = s1p.get(s as usize) {
                            let nv = match r.op {
                                AssignOp::Set => v,
                                AssignOp::Add => g.ir.fadd(g.ir.ld_f(g.rt, *ptr), v),
                            };
                            g.ir.st(*ptr, nv);
                        }
                    }
                }
                if let Some(rfe) = pop.refractory {
                    let e = env.with_states(cur_s(g));
                    let v = g.expr(rfe, &e);
                    let v = g.ir.to_f64(v);
                    let v = g.ir.fdiv(v, g.ir.f(g.m.dt));
                    let ok = g.ir.and(
                        g.ir.fcmp(P::OLT, g.ir.intr1("llvm.fabs", v), g.ir.f(f64::INFINITY)),
                        g.ir.fcmp(P::OGT, v, g.ir.f(0.0)),
                    );
                    let vc = g.ir.intr2("llvm.minnum", v, g.ir.f(f64::from(u32::MAX)));
                    let vc = g.ir.fsel(ok, vc, g.ir.f(0.0));
                    let r = g.ir.intr1("llvm.round", vc);
                    let r = g.ir.fptosi(r);
                    g.st_u32(pb.rf, rf_idx, r);
                }
            });
        }
        self.ir.br(join);
        self.ir.at(join);
        for (q, p) in s1p.iter().enumerate() {
            let v = self.ir.ld_f(self.rt, *p);
            self.st_real(pb.st, at(self, q, n, i), v);
        }
    }

    fn syn_len(&self, k: usize) -> IntValue<'c> {
        let j = &self.m.projections[k];
        match j.synapse.layout {
            SynapseLayout::AlignPost => self
                .ir
                .i64c(i64::from(self.m.populations[j.post as usize].size)),
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

    /// `pre.X` loads of projection `k` for presynaptic neuron `src`, batch
    /// item `b`: the states in `read`.
    fn pre_vars(
        &self,
        k: usize,
        read: &std::collections::BTreeSet<u32>,
        b: IntValue<'c>,
        src: IntValue<'c>,
        vars: &mut HashMap<Var, FloatValue<'c>>,
    ) {
        let pre = self.m.projections[k].pre as usize;
        let st = self.plan.pops[pre].st;
        let n_pre = self.ir.i64c(i64::from(self.m.populations[pre].size));
        let nb = i64::from(self.plan.nb);
        for &q in read {
            let qb = self.ir.iadd(self.ir.i64c(i64::from(q) * nb), b);
            let idx = self.ir.iadd(self.ir.imul(qb, n_pre), src);
            vars.insert(Var::PreState(q), self.ld_real(st, idx));
        }
    }

    fn syn_vars(&self, k: usize) -> HashMap<Var, FloatValue<'c>> {
        let mut v = HashMap::new();
        for (q, p) in self.m.projections[k].synapse.params.iter().enumerate() {
            v.insert(Var::SynParam(q as u32), self.r(p.value));
        }
        v
    }

    /// Step 4 for one (batch item, x) of projection `k`: its step-program
    /// kernel.
    fn synapses(&mut self, k: usize, g: IntValue<'c>) {
        let program = self.program;
        let domain = Domain::Synapses { proj: k as u32 };
        let Some(kernel) = program.kernel(Phase::SynapseDynamics, domain) else {
            return;
        };
        let j = &self.m.projections[k];
        let len = self.syn_len(k);
        let b = self.ir.udiv(g, len);
        let x = self.ir.urem(g, len);
        let (target, src) = match j.synapse.layout {
            SynapseLayout::AlignPost => (x, None),
            SynapseLayout::PerSynapse => {
                let jb = &self.plan.projs[k];
                let target = self.ld_u32(jb.cols, x);
                // Only per-synapse states read `pre.X` (see ir::validate).
                let reads_pre = !crate::ir::info::pre_reads(self.m, k).in_odes.is_empty();
                (target, reads_pre.then(|| self.row_of(k, x)))
            }
        };
        let site = SynapseSite {
            k,
            b,
            x,
            target,
            src,
            weight: None,
        };
        self.synapse_statements(site, &kernel.body, kernel.locals);
    }

    /// The statements of a synapse kernel (`Let` and `Store`, all the
    /// scheduler gives synapse domains) for one element: each statement
    /// loads what it reads from memory where it stands. Additions to a place
    /// other elements share (an align-post state, a post neuron's state)
    /// are atomic.
    fn synapse_statements(&mut self, site: SynapseSite<'c>, body: &[Stmt], locals: u32) {
        let m = self.m;
        let k = site.k;
        let j = &m.projections[k];
        let jb = self.plan.projs[k].clone();
        let post = j.post as usize;
        let pst = self.plan.pops[post].st;
        let nb = i64::from(self.plan.nb);
        let b = site.b;
        let len = self.syn_len(k);
        let n_post = self.ir.i64c(i64::from(m.populations[post].size));
        let align = j.synapse.layout == SynapseLayout::AlignPost;
        // (q·nb + b)·len + x
        let at = |g: &Self, q: u32, len: IntValue<'c>, x: IntValue<'c>| -> IntValue<'c> {
            let qb = g.ir.iadd(g.ir.i64c(i64::from(q) * nb), b);
            g.ir.iadd(g.ir.imul(qb, len), x)
        };
        let key = self.key(Purpose::ModelNoise {
            population: SYNAPSE_KEY_BIT | k as u32,
        });
        let step = self.ir.trunc32(self.step());
        let mut local: Vec<Option<FloatValue<'c>>> = vec![None; locals as usize];
        for stmt in body {
            let Some((value, target)) = stmt.assignment() else {
                continue;
            };
            let used = crate::ir::info::loads(m, &[value]);
            let syn: Vec<_> = (0..j.synapse.states.len())
                .map(|q| self.ld_real(jb.syn, at(self, q as u32, len, site.x)))
                .collect();
            let mut vars = self.syn_vars(k);
            for v in &used {
                match *v {
                    Var::PostState(q) => {
                        vars.insert(*v, self.ld_real(pst, at(self, q, n_post, site.target)));
                    }
                    Var::PostCurrent(q) => {
                        let cur = self.plan.pops[post].cur;
                        vars.insert(*v, self.ld_real(cur, at(self, q, n_post, site.target)));
                    }
                    Var::Local(l) => {
                        if let Some(x) = local.get(l as usize).copied().flatten() {
                            vars.insert(*v, x);
                        }
                    }
                    _ => {}
                }
            }
            if let Some(src) = site.src {
                let read = used
                    .iter()
                    .filter_map(|v| match v {
                        Var::PreState(q) => Some(*q),
                        _ => None,
                    })
                    .collect();
                self.pre_vars(k, &read, b, src, &mut vars);
            }
            if let Some(w) = site.weight {
                vars.insert(Var::Weight, w);
            }
            let env = Env {
                kind: Kind::Syn,
                states: syn,
                vars,
                key,
                index: self.ir.trunc32(site.x),
                step,
                batch: self.ir.trunc32(b),
            };
            let v = self.expr(value, &env);
            let (place, op) = match target {
                Target::Local(l) => {
                    local[l as usize] = Some(v);
                    continue;
                }
                Target::Place(place, op) => (place, op),
            };
            let (buf, idx, shared) = match place {
                Place::Syn(q) => (jb.syn, at(self, q, len, site.x), align),
                Place::PostState(q) => (pst, at(self, q, n_post, site.target), true),
                _ => continue,
            };
            let p = self.ir.gep(self.rty(), self.buf(buf), idx);
            match (op, shared) {
                (AssignOp::Add, true) => self.ir.atomic_fadd(p, v),
                (AssignOp::Add, false) => {
                    let old = self.ir.ld_f(self.rt, p);
                    self.ir.st(p, self.ir.fadd(old, v));
                }
                (AssignOp::Set, _) => self.ir.st(p, v),
            }
        }
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
            target,
            src: Some(src),
            weight: Some(w),
        };
        self.synapse_statements(site, &kernel.body, kernel.locals);
    }
}
