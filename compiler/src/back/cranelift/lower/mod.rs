//! IR → CLIF. Every kernel has the signature
//! `fn(ctx: *const u64, step: i64, a: i64, b: i64, c: i64, d: i64) -> i64`:
//! `ctx` is a per-(kernel, batch item) table of pointers and values whose
//! layout ([`Slot`]s) the lowering decides; the other arguments depend on the
//! kernel ([`KernelKind`]). Kernels:
//!
//! * `Pop(p)` (a = lo, b = hi, c = spike list out; returns spikes written):
//!   one SIMD pass over neurons `lo..hi` of population `p`, running the step
//!   program's kernels over its neurons and those of the align-post
//!   projections onto it, fused per vector ([`neurons`]).
//! * `SynOut(k)`, `SynDecay(k)` (a = synapse index list, b = its length): per-synapse
//!   projections, scalar, over the synapses whose target a thread owns.
//! * `RangeDecay(k)` (a = lo, b = hi): align-post decay onto a spike source.
//! * `Deliver(k)` (a = list, b = len, c = row pointers, d = synapse indices;
//!   returns synapses delivered): `on_pre` for every synapse of the rows of
//!   the spiking neurons in `list` (homogeneous delay), or of the synapses in
//!   `list` (per-synapse delays).
//! * `DeliverPost(k)` (a = list of post neurons that spiked, b = len, c =
//!   their synapses' start/end in d, d = synapse indices by post neuron;
//!   returns synapses visited): `on_post` for every synapse onto them.
//!
//! A plastic projection's weights (`Slot::Weights`) are per batch item, in
//! the run's precision, read where each statement loads `w` and written by
//! its stores to `w`; a static projection's are the table's f32s.
//!
//! Every kernel lowers statements of the step program ([`crate::kernel`]):
//! the population loop in [`neurons`], synapse kernels with
//! `Gen::synapse_statements` (each statement loads what it reads where it
//! stands). What is left here is iteration, addressing and math.

use std::collections::{HashMap, HashSet};

use cranelift_codegen::cursor::{Cursor, FuncCursor};
use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::{
    types, AbiParam, Block, BlockArg, Function, Inst, InstBuilder, MemFlagsData, SigRef, Signature,
    StackSlot, StackSlotData, StackSlotKind, UserFuncName, Value,
};
use cranelift_codegen::isa::{CallConv, TargetFrontendConfig};
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};

use super::math::{self, fconst, fsel, Shape};
use super::rt;
use crate::ir::SYNAPSE_KEY_BIT;
use crate::ir::{
    AssignOp, BinaryOp, Expr, Handle, InputKind, MathOp, Module, RandomKind, SynapseLayout,
    UnaryOp, Var,
};
use snnc_runtime::rng::{key_for, Purpose};

mod neurons;

/// One entry of a kernel's context table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Slot {
    /// Pointer to state `state` of population `pop`.
    State {
        pop: u32,
        state: u32,
    },
    Current {
        pop: u32,
        cur: u32,
    },
    /// Pointer to the refractory counters (integers of the float's width).
    Refr {
        pop: u32,
    },
    /// f64 bits of a population parameter (per batch item: sweeps).
    Param {
        pop: u32,
        q: u32,
    },
    /// The refractory count in steps, computed by the host.
    RefCount {
        pop: u32,
    },
    Syn {
        proj: u32,
        state: u32,
    },
    /// Per-synapse output sums per post neuron.
    Scratch {
        proj: u32,
    },
    /// Pointer to the CSR column (post index) of each synapse, u32.
    Cols {
        proj: u32,
    },
    /// Pointer to the presynaptic neuron of each synapse, u32 (projections
    /// whose synapse code reads `pre.X`).
    PreOf {
        proj: u32,
    },
    /// Pointer to per-synapse weights, f32.
    Weights {
        proj: u32,
    },
    /// f64 bits of a homogeneous weight (f32 bits in the low word when the
    /// kernels are f32).
    Weight {
        proj: u32,
    },
    /// Pointer to the current step's values of an array input.
    Input {
        input: u32,
    },
    KeyNoise {
        pop: u32,
    },
    KeyInjection {
        inj: u32,
    },
    KeySyn {
        proj: u32,
    },
    Batch,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KernelKind {
    Pop(u32),
    SynOut(u32),
    SynDecay(u32),
    RangeDecay(u32),
    /// `rows`: the list holds spiking neurons (homogeneous delay); else synapses.
    Deliver {
        proj: u32,
        rows: bool,
    },
    /// `on_post` for every synapse onto the post neurons in the list.
    DeliverPost(u32),
}

/// How a population's refractory count is found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RefMode {
    None,
    /// Same for every neuron of a batch item: computed by the host.
    Host,
    /// Evaluated per neuron in the kernel.
    Kernel,
}

/// Decisions the lowering needs beyond the module. With the module, all that
/// the generated code depends on (the key of [`super::JitCache`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Plan {
    pub f32: bool,
    pub spike_source: Vec<bool>,
    pub homogeneous_weight: Vec<bool>,
    pub homogeneous_delay: Vec<bool>,
    pub ref_mode: Vec<RefMode>,
    /// Row delivery reads owned synapses through an index list (rows not
    /// sorted by target, several threads): `c` = row pointers, `d` = list.
    /// Else `c`/`d` point at per-row start/end synapse indices.
    pub deliver_indirect: Vec<bool>,
    /// The run's seed: random keys are compile-time constants.
    pub seed: u64,
}

impl Plan {
    /// From the module alone (the table facts guessed from the IR).
    #[must_use]
    pub fn from_module(module: &Module, f32: bool) -> Self {
        Self {
            f32,
            spike_source: (0..module.populations.len())
                .map(|p| {
                    module.inputs.iter().any(|i| {
                        i.population as usize == p && matches!(i.kind, InputKind::SpikeTrain)
                    })
                })
                .collect(),
            homogeneous_weight: module
                .projections
                .iter()
                .map(|j| {
                    j.weight.constant_value().is_some()
                        && matches!(j.connect, crate::ir::Connect::Rule(_))
                        && !j.synapse.is_plastic()
                })
                .collect(),
            homogeneous_delay: module
                .projections
                .iter()
                .map(|j| j.delay.constant_value().is_some())
                .collect(),
            deliver_indirect: vec![false; module.projections.len()],
            seed: module.seed,
            ref_mode: module
                .populations
                .iter()
                .map(|p| match p.refractory {
                    None | Some(crate::ir::Refractory::While(_)) => RefMode::None,
                    Some(crate::ir::Refractory::Period(h)) if host_computable(module, h) => {
                        RefMode::Host
                    }
                    Some(_) => RefMode::Kernel,
                })
                .collect(),
        }
    }
}

/// Whether `h` reads only params, dt and constants (no draws, states, time).
#[must_use]
pub fn host_computable(module: &Module, h: Handle<Expr>) -> bool {
    let mut stack = vec![h];
    while let Some(x) = stack.pop() {
        match &module.exprs[x] {
            Expr::Load(Var::Param(_) | Var::Dt) | Expr::Const(_) => {}
            Expr::Load(_) | Expr::Random { .. } => return false,
            e => stack.extend(e.children()),
        }
    }
    true
}

use crate::ir::info::loads as used_vars;
use crate::kernel::{Domain, Phase, Place, StepProgram, Stmt, Target};

/// One generated function with its context layout.
pub struct Kernel {
    pub kind: KernelKind,
    pub name: String,
    pub slots: Vec<Slot>,
    pub func: Function,
}

/// The kernel signature.
#[must_use]
pub fn signature(cc: CallConv) -> Signature {
    let mut sig = Signature::new(cc);
    for _ in 0..6 {
        sig.params.push(AbiParam::new(types::I64));
    }
    sig.returns.push(AbiParam::new(types::I64));
    sig
}

/// Random-draw addressing of the code being lowered.
#[derive(Clone, Copy)]
struct Rand {
    key: Value,
    /// The key's words, known at compile time (inline Philox).
    words: [u32; 2],
    /// i32 index of lane 0.
    index: Value,
    step: Value,
    batch: Value,
}

/// What loads resolve to. Missing entries read 0 (as in the reference).
#[derive(Clone)]
struct Scope {
    state: Vec<Option<Value>>,
    cur: Vec<Option<Value>>,
    param: Vec<Option<Value>>,
    syn: Vec<Option<Value>>,
    synparam: Vec<Option<Value>>,
    post_state: Vec<Option<Value>>,
    post_cur: Vec<Option<Value>>,
    pre_state: Vec<Option<Value>>,
    /// The kernel element's locals (step-program code).
    local: Vec<Option<Value>>,
    /// Output sums by projection.
    sum: Vec<Option<Value>>,
    input: Vec<Option<Value>>,
    weight: Option<Value>,
    time: Value,
    dt: Value,
    rand: Option<Rand>,
}

/// One element of a synapse kernel: its stored state element `x` (post
/// neuron for align-post, else the synapse), its post neuron, the synapse
/// (to find its presynaptic neuron) and, for events, the presynaptic neuron
/// when the caller has it and the weight.
#[derive(Clone, Copy)]
struct SynapseSite {
    k: usize,
    x: Value,
    target: Value,
    synapse: Option<Value>,
    pre: Option<Value>,
    weight: Option<Value>,
}

struct Gen<'a, 'f> {
    /// The module, its expressions those of `program` (a superset).
    m: &'a Module,
    /// The step program every kernel lowers.
    program: &'a StepProgram,
    plan: &'a Plan,
    cc: CallConv,
    fb: FunctionBuilder<'f>,
    ctx: Value,
    entry_jump: Option<Inst>,
    slots: Vec<Slot>,
    slot_vals: HashMap<Slot, Value>,
    sigs: HashMap<u8, SigRef>,
    /// f32 uniform draws of the current group of 32 indices, per (key, slot):
    /// see [`Gen::uniform_f32`].
    draw_cache: HashMap<([u32; 2], u32), StackSlot>,
    /// `exp`/`exprel` range reductions by argument, within one block (a
    /// value is only reused where it is sure to dominate).
    exp_parts: HashMap<(Block, Value), math::ExpParts>,
}

fn mem() -> MemFlagsData {
    MemFlagsData::new().with_notrap()
}

impl Gen<'_, '_> {
    /// Emit at the end of the entry block (before its jump): loop invariants.
    fn pre<R>(&mut self, f: impl FnOnce(&mut FuncCursor) -> R) -> R {
        let inst = self.entry_jump.expect("entry jump set");
        let mut cur = FuncCursor::new(self.fb.func).at_inst(inst);
        f(&mut cur)
    }

    /// The raw i64 of a context slot, loaded once in the entry block.
    fn slot(&mut self, s: Slot) -> Value {
        if let Some(v) = self.slot_vals.get(&s) {
            return *v;
        }
        let idx = self.slots.len() as i32;
        self.slots.push(s);
        let ctx = self.ctx;
        let v = self.pre(|c| {
            c.ins().load(
                types::I64,
                MemFlagsData::trusted().with_readonly(),
                ctx,
                idx * 8,
            )
        });
        self.slot_vals.insert(s, v);
        v
    }

    /// Byte offset of a context slot (registered, not loaded).
    fn slot_offset(&mut self, s: Slot) -> i32 {
        let idx = match self.slots.iter().position(|x| *x == s) {
            Some(i) => i,
            None => {
                self.slots.push(s);
                self.slots.len() - 1
            }
        };
        idx as i32 * 8
    }

    /// A slot holding f64 bits, as a float of the working shape (splatted).
    fn slot_float(&mut self, s: Slot, sh: Shape) -> Value {
        let raw = self.slot(s);
        self.pre(|c| {
            let f = c.ins().bitcast(types::F64, MemFlagsData::new(), raw);
            let f = if sh.f32 {
                c.ins().fdemote(types::F32, f)
            } else {
                f
            };
            if sh.vector() {
                c.ins().splat(sh.fty(), f)
            } else {
                f
            }
        })
    }

    /// A float constant emitted in the entry block.
    fn konst(&mut self, sh: Shape, v: f64) -> Value {
        self.pre(|c| {
            let s = if sh.f32 {
                c.ins().f32const(v as f32)
            } else {
                c.ins().f64const(v)
            };
            if sh.vector() {
                c.ins().splat(sh.fty(), s)
            } else {
                s
            }
        })
    }

    fn zero_f(&mut self, sh: Shape) -> Value {
        fconst(&mut self.fb, sh, 0.0)
    }

    fn sig(&mut self, arity: u8) -> SigRef {
        if let Some(s) = self.sigs.get(&arity) {
            return *s;
        }
        let mut sig = Signature::new(self.cc);
        match arity {
            // keyed draw: key, kind, slot, index, step, batch
            0 => {
                sig.params.push(AbiParam::new(types::I64));
                for _ in 0..5 {
                    sig.params.push(AbiParam::new(types::I32));
                }
            }
            n => {
                for _ in 0..n {
                    sig.params.push(AbiParam::new(types::F64));
                }
            }
        }
        sig.returns.push(AbiParam::new(types::F64));
        let r = self.fb.import_signature(sig);
        self.sigs.insert(arity, r);
        r
    }

    /// Apply an f64 host function lane by lane.
    fn call_lanes(&mut self, sh: Shape, f: usize, args: &[Value]) -> Value {
        let sig = self.sig(args.len() as u8);
        let callee = self.fb.ins().iconst(types::I64, f as i64);
        let mut out = if sh.vector() {
            self.zero_f(sh)
        } else {
            args[0]
        };
        for l in 0..sh.lanes {
            let mut xs = Vec::new();
            for &a in args {
                let x = if sh.vector() {
                    self.fb.ins().extractlane(a, l)
                } else {
                    a
                };
                let x = if sh.f32 {
                    self.fb.ins().fpromote(types::F64, x)
                } else {
                    x
                };
                xs.push(x);
            }
            let call = self.fb.ins().call_indirect(sig, callee, &xs);
            let r = self.fb.inst_results(call)[0];
            let r = if sh.f32 {
                self.fb.ins().fdemote(types::F32, r)
            } else {
                r
            };
            out = if sh.vector() {
                self.fb.ins().insertlane(out, r, l)
            } else {
                r
            };
        }
        out
    }

    fn random(&mut self, sh: Shape, rand: Option<Rand>, kind: RandomKind, slot: u32) -> Value {
        let Some(r) = rand else {
            return fconst(&mut self.fb, sh, f64::NAN);
        };
        if kind == RandomKind::Uniform && sh.f32 {
            return self.uniform_f32(sh, r, slot);
        }
        if kind == RandomKind::Uniform {
            // Inline Philox over four consecutive indices; the multipliers
            // and round keys are read from the key's table where used (no
            // registers held across the loop).
            let (step, batch) = (r.step, r.batch);
            let (sv, stv, bv) = self.pre(|c| {
                let s = c.ins().iconst(types::I32, i64::from(slot));
                (
                    c.ins().splat(types::I32X4, s),
                    c.ins().splat(types::I32X4, step),
                    c.ins().splat(types::I32X4, batch),
                )
            });
            let b = &mut self.fb;
            let iv = b.ins().splat(types::I32X4, r.index);
            let iota = math::vconst32(b, [0, 1, 2, 3]);
            let iv = b.ins().iadd(iv, iota);
            let w = math::philox4(b, [sv, iv, stv, bv], r.words);
            return math::uniform_words(b, sh, w[0], w[1]);
        }
        let sig = self.sig(0);
        let callee = self
            .fb
            .ins()
            .iconst(types::I64, rt::snnc_jit_draw as *const () as usize as i64);
        let kind = self.fb.ins().iconst(
            types::I32,
            match kind {
                RandomKind::Uniform => 0,
                RandomKind::Normal => 1,
            },
        );
        let slot = self.fb.ins().iconst(types::I32, i64::from(slot));
        let mut out = self.zero_f(sh);
        for l in 0..sh.lanes {
            let idx = self.fb.ins().iadd_imm_s(r.index, i64::from(l));
            let call = self.fb.ins().call_indirect(
                sig,
                callee,
                &[r.key, kind, slot, idx, r.step, r.batch],
            );
            let v = self.fb.inst_results(call)[0];
            let v = if sh.f32 {
                self.fb.ins().fdemote(types::F32, v)
            } else {
                v
            };
            out = if sh.vector() {
                self.fb.ins().insertlane(out, v, l)
            } else {
                v
            };
        }
        out
    }

    /// The f32 stream (`keyed_draw` with `f32`): index `i` takes word `i % 4`
    /// of block `i / 4`. A vector of four neurons is one block, so Philox
    /// runs once per 32 neurons, on the eight blocks of the group at once
    /// (two interleaved chains); the transposed words wait in a stack slot,
    /// tagged with the group, for the next seven vectors. The tag (not the
    /// loop position) decides a refill, so a draw under a branch or a chunk
    /// starting mid-group stays right.
    fn uniform_f32(&mut self, sh: Shape, r: Rand, slot: u32) -> Value {
        const CHAINS: i32 = 2;
        const ROWS: i32 = 4 * CHAINS;
        let ss = match self.draw_cache.get(&(r.words, slot)) {
            Some(ss) => *ss,
            None => {
                let ss = self.fb.create_sized_stack_slot(StackSlotData::new(
                    StackSlotKind::ExplicitSlot,
                    16 * ROWS as u32 + 16,
                    4,
                ));
                self.pre(|c| {
                    let none = c.ins().iconst(types::I32, -1);
                    c.ins().stack_store(types::I64, none, ss, 16 * ROWS);
                });
                self.draw_cache.insert((r.words, slot), ss);
                ss
            }
        };
        let (sv, stv, bv, iota) = self.pre(|c| {
            let s = c.ins().iconst(types::I32, i64::from(slot));
            let bytes: Vec<u8> = [0u32, 1, 2, 3]
                .iter()
                .flat_map(|x| x.to_le_bytes())
                .collect();
            let k = c.func.dfg.constants.insert(bytes.into());
            (
                c.ins().splat(types::I32X4, s),
                c.ins().splat(types::I32X4, r.step),
                c.ins().splat(types::I32X4, r.batch),
                c.ins().vconst(types::I32X4, k),
            )
        });
        let b = &mut self.fb;
        let group = b
            .ins()
            .ushr_imm_u(r.index, i64::from((4 * ROWS).trailing_zeros()));
        let tag = b.ins().stack_load(types::I64, types::I32, ss, 16 * ROWS);
        let hit = b.ins().icmp(IntCC::Equal, group, tag);
        let fill = b.create_block();
        let join = b.create_block();
        b.ins().brif(hit, join, &[], fill, &[]);
        b.switch_to_block(fill);
        let first = b.ins().ishl_imm_u(group, i64::from(ROWS.trailing_zeros()));
        let first = b.ins().splat(types::I32X4, first);
        let first = b.ins().iadd(first, iota);
        let counters: Vec<[Value; 4]> = (0..CHAINS)
            .map(|h| {
                let off = b.ins().iconst(types::I32, i64::from(4 * h));
                let off = b.ins().splat(types::I32X4, off);
                let blocks = b.ins().iadd(first, off);
                [sv, blocks, stv, bv]
            })
            .collect();
        let ws = math::philox4_interleaved(b, &counters, r.words);
        for (h, w) in ws.into_iter().enumerate() {
            let rows = math::transpose4(b, w);
            for (l, row) in rows.into_iter().enumerate() {
                let at = 16 * (4 * h + l) as i32;
                b.ins().stack_store(types::I64, row, ss, at);
            }
        }
        b.ins().stack_store(types::I64, group, ss, 16 * ROWS);
        b.ins().jump(join, &[]);
        b.switch_to_block(join);
        let base = b.ins().stack_addr(types::I64, ss, 0);
        let row = b.ins().ushr_imm_u(r.index, 2);
        let row = b.ins().band_imm_u(row, i64::from(ROWS - 1));
        let row = b.ins().uextend(types::I64, row);
        let at = if sh.vector() {
            b.ins().imul_imm_s(row, 16)
        } else {
            // One neuron: its own word inside the row.
            let lane = b.ins().band_imm_u(r.index, 3);
            let lane = b.ins().uextend(types::I64, lane);
            let row = b.ins().imul_imm_s(row, 16);
            let lane = b.ins().imul_imm_s(lane, 4);
            b.ins().iadd(row, lane)
        };
        let addr = b.ins().iadd(base, at);
        let ty = if sh.vector() {
            types::I32X4
        } else {
            types::I32
        };
        let words = b.ins().load(ty, MemFlagsData::trusted(), addr, 0);
        math::uniform_f32_words(b, sh, words)
    }

    fn lower(
        &mut self,
        sh: Shape,
        h: Handle<Expr>,
        sc: &Scope,
        memo: &mut HashMap<usize, Value>,
    ) -> Value {
        if let Some(v) = memo.get(&h.index()) {
            return *v;
        }
        let v = self.lower_uncached(sh, h, sc, memo);
        memo.insert(h.index(), v);
        v
    }

    /// `h != 0` as a mask, comparisons and logic directly (no 0/1 floats).
    fn lower_mask(
        &mut self,
        sh: Shape,
        h: Handle<Expr>,
        sc: &Scope,
        memo: &mut HashMap<usize, Value>,
    ) -> math::Mask {
        let cc = |op| match op {
            BinaryOp::Lt => Some(FloatCC::LessThan),
            BinaryOp::Le => Some(FloatCC::LessThanOrEqual),
            BinaryOp::Gt => Some(FloatCC::GreaterThan),
            BinaryOp::Ge => Some(FloatCC::GreaterThanOrEqual),
            BinaryOp::Eq => Some(FloatCC::Equal),
            BinaryOp::Ne => Some(FloatCC::NotEqual),
            _ => None,
        };
        match self.m.exprs[h] {
            Expr::Binary(op, x, y) if cc(op).is_some() => {
                let l = self.lower(sh, x, sc, memo);
                let r = self.lower(sh, y, sc, memo);
                math::fcmp(&mut self.fb, cc(op).expect("comparison"), l, r)
            }
            Expr::Binary(op @ (BinaryOp::And | BinaryOp::Or), x, y) => {
                let a = self.lower_mask(sh, x, sc, memo);
                let c = self.lower_mask(sh, y, sc, memo);
                if op == BinaryOp::And {
                    math::mand(&mut self.fb, a, c)
                } else {
                    math::mor(&mut self.fb, a, c)
                }
            }
            Expr::Unary(UnaryOp::Not, x) => {
                let a = self.lower_mask(sh, x, sc, memo);
                math::mnot(&mut self.fb, sh, a)
            }
            _ => {
                let v = self.lower(sh, h, sc, memo);
                let z = fconst(&mut self.fb, sh, 0.0);
                math::fcmp(&mut self.fb, FloatCC::NotEqual, v, z)
            }
        }
    }

    /// The factors of a product tree (through `*` and `/ constant`): the
    /// non-constant ones in order, and the constants (divisors inverted).
    fn factors(&self, h: Handle<Expr>) -> (Vec<Handle<Expr>>, Vec<f64>) {
        let (mut vars, mut consts) = (Vec::new(), Vec::new());
        let mut stack = vec![h];
        while let Some(x) = stack.pop() {
            if let Some(c) = self.const_of(x) {
                consts.push(c);
                continue;
            }
            match self.m.exprs[x] {
                Expr::Binary(BinaryOp::Mul, a, b) => {
                    stack.push(b);
                    stack.push(a);
                }
                Expr::Binary(BinaryOp::Div, a, b)
                    if self
                        .const_of(b)
                        .is_some_and(|c| c != 0.0 && (1.0 / c).is_finite()) =>
                {
                    consts.push(1.0 / self.const_of(b).expect("checked"));
                    stack.push(a);
                }
                _ => vars.push(x),
            }
        }
        (vars, consts)
    }

    fn lower_product_ok(&self, h: Handle<Expr>) -> bool {
        self.factors(h).1.len() >= 2
    }

    /// The value of `h` when it is a compile-time constant (dt included).
    fn const_of(&self, h: Handle<Expr>) -> Option<f64> {
        match self.m.exprs[h] {
            Expr::Const(v) => Some(v),
            Expr::Load(Var::Dt) => Some(self.m.dt),
            _ => None,
        }
    }

    /// f32 only: a product with several constant factors multiplies by their
    /// product once (`((x·a)·b)·c` → `x·(abc)`, within f32 rounding).
    fn lower_product(
        &mut self,
        sh: Shape,
        h: Handle<Expr>,
        sc: &Scope,
        memo: &mut HashMap<usize, Value>,
    ) -> Option<Value> {
        let (factors, consts) = self.factors(h);
        if consts.len() < 2 {
            return None;
        }
        let c: f64 = consts.iter().product();
        let mut acc: Option<Value> = None;
        for f in factors {
            let v = self.lower(sh, f, sc, memo);
            acc = Some(match acc {
                None => v,
                Some(a) => self.fb.ins().fmul(a, v),
            });
        }
        let k = fconst(&mut self.fb, sh, c);
        Some(match acc {
            None => k,
            Some(a) => self.fb.ins().fmul(a, k),
        })
    }

    fn lower_uncached(
        &mut self,
        sh: Shape,
        h: Handle<Expr>,
        sc: &Scope,
        memo: &mut HashMap<usize, Value>,
    ) -> Value {
        let m = self.m;
        let b = &mut self.fb;
        match m.exprs[h] {
            Expr::Const(v) => fconst(b, sh, v),
            Expr::Load(var) => {
                let at = |xs: &[Option<Value>], i: u32| xs.get(i as usize).copied().flatten();
                let v = match var {
                    Var::State(i) => at(&sc.state, i),
                    Var::Current(i) => at(&sc.cur, i),
                    Var::Param(i) => at(&sc.param, i),
                    Var::Syn(i) => at(&sc.syn, i),
                    Var::SynParam(i) => at(&sc.synparam, i),
                    Var::PostState(i) => at(&sc.post_state, i),
                    Var::PostCurrent(i) => at(&sc.post_cur, i),
                    Var::PreState(i) => at(&sc.pre_state, i),
                    Var::Weight => sc.weight,
                    Var::Time => Some(sc.time),
                    Var::Dt => Some(sc.dt),
                    Var::Input(i) => at(&sc.input, i),
                    Var::Local(l) => at(&sc.local, l),
                    Var::Sum(k) => at(&sc.sum, k),
                };
                match v {
                    Some(v) => v,
                    None => fconst(b, sh, 0.0),
                }
            }
            Expr::Unary(op, x) => {
                let x = self.lower(sh, x, sc, memo);
                let b = &mut self.fb;
                match op {
                    UnaryOp::Neg => b.ins().fneg(x),
                    UnaryOp::Not => {
                        let z = fconst(b, sh, 0.0);
                        let c = math::fcmp(b, FloatCC::Equal, x, z);
                        math::truth(b, sh, c)
                    }
                }
            }
            Expr::Binary(BinaryOp::Mul | BinaryOp::Div, ..)
                if sh.f32 && self.lower_product_ok(h) =>
            {
                self.lower_product(sh, h, sc, memo).expect("checked")
            }
            Expr::Binary(op, x, y) => {
                let l = self.lower(sh, x, sc, memo);
                let r = self.lower(sh, y, sc, memo);
                if op == BinaryOp::Pow {
                    return self.call_lanes(sh, rt::snnc_jit_pow as *const () as usize, &[l, r]);
                }
                let b = &mut self.fb;
                let cmp = |b: &mut FunctionBuilder, cc: FloatCC| {
                    let c = math::fcmp(b, cc, l, r);
                    math::truth(b, sh, c)
                };
                match op {
                    BinaryOp::Add => b.ins().fadd(l, r),
                    BinaryOp::Sub => b.ins().fsub(l, r),
                    BinaryOp::Mul => b.ins().fmul(l, r),
                    // f32: a division by a constant becomes a multiplication
                    // by its reciprocal (within an ulp; f64 keeps the
                    // reference's exact division).
                    BinaryOp::Div => match m.exprs[y] {
                        Expr::Const(c) if sh.f32 && c != 0.0 && (1.0 / c).is_finite() => {
                            let rc = fconst(b, sh, 1.0 / c);
                            b.ins().fmul(l, rc)
                        }
                        _ => b.ins().fdiv(l, r),
                    },
                    BinaryOp::Lt => cmp(b, FloatCC::LessThan),
                    BinaryOp::Le => cmp(b, FloatCC::LessThanOrEqual),
                    BinaryOp::Gt => cmp(b, FloatCC::GreaterThan),
                    BinaryOp::Ge => cmp(b, FloatCC::GreaterThanOrEqual),
                    BinaryOp::Eq => cmp(b, FloatCC::Equal),
                    BinaryOp::Ne => cmp(b, FloatCC::NotEqual),
                    BinaryOp::And | BinaryOp::Or => {
                        let z = fconst(b, sh, 0.0);
                        let a = math::fcmp(b, FloatCC::NotEqual, l, z);
                        let c = math::fcmp(b, FloatCC::NotEqual, r, z);
                        let m = if op == BinaryOp::And {
                            math::mand(b, a, c)
                        } else {
                            math::mor(b, a, c)
                        };
                        math::truth(b, sh, m)
                    }
                    // f64::min/max: a NaN operand yields the other one.
                    BinaryOp::Min | BinaryOp::Max => {
                        let cc = if op == BinaryOp::Min {
                            FloatCC::LessThan
                        } else {
                            FloatCC::GreaterThan
                        };
                        let a = math::fcmp(b, cc, l, r);
                        let n = math::fcmp(b, FloatCC::Unordered, r, r);
                        let m = math::mor(b, a, n);
                        fsel(b, sh, m, l, r)
                    }
                    BinaryOp::Pow => unreachable!("handled above"),
                }
            }
            Expr::Math(op, x) => {
                let x = self.lower(sh, x, sc, memo);
                let host = |f: extern "C" fn(f64) -> f64| f as *const () as usize;
                let b = &mut self.fb;
                match op {
                    MathOp::Exp | MathOp::Exprel => {
                        let here = b.current_block().expect("inside a block");
                        let e = *self
                            .exp_parts
                            .entry((here, x))
                            .or_insert_with(|| math::exp_parts(b, sh, x));
                        if op == MathOp::Exp {
                            math::exp_from(b, sh, e)
                        } else {
                            math::exprel_from(b, sh, x, e)
                        }
                    }
                    MathOp::Log => math::log(b, sh, x),
                    MathOp::Sqrt => b.ins().sqrt(x),
                    MathOp::Abs => b.ins().fabs(x),
                    MathOp::Floor => b.ins().floor(x),
                    MathOp::Ceil => b.ins().ceil(x),
                    MathOp::Sin => self.call_lanes(sh, host(rt::snnc_jit_sin), &[x]),
                    MathOp::Cos => self.call_lanes(sh, host(rt::snnc_jit_cos), &[x]),
                    MathOp::Tanh => self.call_lanes(sh, host(rt::snnc_jit_tanh), &[x]),
                }
            }
            Expr::Select(c, x, y) => {
                let c = self.lower(sh, c, sc, memo);
                let x = self.lower(sh, x, sc, memo);
                let y = self.lower(sh, y, sc, memo);
                let b = &mut self.fb;
                let z = fconst(b, sh, 0.0);
                let m = math::fcmp(b, FloatCC::NotEqual, c, z);
                fsel(b, sh, m, x, y)
            }
            Expr::Random { kind, slot } => self.random(sh, sc.rand, kind, slot),
        }
    }

    fn base_scope(&mut self, sh: Shape, step: Value) -> Scope {
        let dt = self.m.dt;
        let f32 = sh.f32;
        let time = self.pre(|c| {
            let s = c.ins().fcvt_from_sint(types::F64, step);
            let d = c.ins().f64const(dt);
            let t = c.ins().fmul(s, d);
            let t = if f32 {
                c.ins().fdemote(types::F32, t)
            } else {
                t
            };
            if sh.vector() {
                c.ins().splat(sh.fty(), t)
            } else {
                t
            }
        });
        let dtv = self.konst(sh, dt);
        Scope {
            state: Vec::new(),
            cur: Vec::new(),
            param: Vec::new(),
            syn: Vec::new(),
            synparam: Vec::new(),
            post_state: Vec::new(),
            post_cur: Vec::new(),
            pre_state: Vec::new(),
            local: Vec::new(),
            sum: Vec::new(),
            input: Vec::new(),
            weight: None,
            time,
            dt: dtv,
            rand: None,
        }
    }

    fn rand(&mut self, key: Slot, index: Value, step: Value) -> Rand {
        let seed = self.plan.seed;
        let words = match key {
            Slot::KeyNoise { pop } => key_for(seed, Purpose::ModelNoise { population: pop }),
            Slot::KeyInjection { inj } => key_for(seed, Purpose::Injection { injection: inj }),
            Slot::KeySyn { proj } => key_for(
                seed,
                Purpose::ModelNoise {
                    population: SYNAPSE_KEY_BIT | proj,
                },
            ),
            s => unreachable!("not a key slot: {s:?}"),
        };
        let key = self.slot(key);
        let batch = self.slot(Slot::Batch);
        let (step32, batch32) = self.pre(|c| {
            (
                c.ins().ireduce(types::I32, step),
                c.ins().ireduce(types::I32, batch),
            )
        });
        let index = self.fb.ins().ireduce(types::I32, index);
        Rand {
            key,
            words,
            index,
            step: step32,
            batch: batch32,
        }
    }

    /// Address `base + index * size`.
    fn addr(&mut self, base: Value, index: Value, size: i64) -> Value {
        let off = self.fb.ins().imul_imm_s(index, size);
        self.fb.ins().iadd(base, off)
    }

    fn load_f(&mut self, sh: Shape, s: Slot, index: Value) -> Value {
        let base = self.slot(s);
        let a = self.addr(base, index, sh.elem());
        self.fb.ins().load(sh.fty(), mem(), a, 0)
    }

    fn store_f(&mut self, sh: Shape, s: Slot, index: Value, v: Value) {
        let base = self.slot(s);
        let a = self.addr(base, index, sh.elem());
        self.fb.ins().store(mem(), v, a, 0);
    }

    fn synparams(&mut self, sh: Shape, k: usize) -> Vec<Option<Value>> {
        let ps: Vec<f64> = self.m.projections[k]
            .synapse
            .params
            .iter()
            .map(|q| q.value)
            .collect();
        ps.iter().map(|&v| Some(self.konst(sh, v))).collect()
    }

    /// Loads of the synapse states `used` of projection `k` at `index`.
    fn syn_loads(
        &mut self,
        sh: Shape,
        k: usize,
        index: Value,
        used: &HashSet<Var>,
    ) -> Vec<Option<Value>> {
        let ns = self.m.projections[k].synapse.states.len();
        (0..ns)
            .map(|q| {
                used.contains(&Var::Syn(q as u32)).then(|| {
                    self.load_f(
                        sh,
                        Slot::Syn {
                            proj: k as u32,
                            state: q as u32,
                        },
                        index,
                    )
                })
            })
            .collect()
    }

    fn post_loads(
        &mut self,
        sh: Shape,
        k: usize,
        index: Value,
        used: &HashSet<Var>,
    ) -> (Vec<Option<Value>>, Vec<Option<Value>>) {
        let post = self.m.projections[k].post;
        let p = &self.m.populations[post as usize];
        let (ns, nc) = (p.states.len(), p.currents.len());
        let st = (0..ns)
            .map(|q| {
                used.contains(&Var::PostState(q as u32)).then(|| {
                    self.load_f(
                        sh,
                        Slot::State {
                            pop: post,
                            state: q as u32,
                        },
                        index,
                    )
                })
            })
            .collect();
        let cu = (0..nc)
            .map(|q| {
                used.contains(&Var::PostCurrent(q as u32)).then(|| {
                    self.load_f(
                        sh,
                        Slot::Current {
                            pop: post,
                            cur: q as u32,
                        },
                        index,
                    )
                })
            })
            .collect();
        (st, cu)
    }

    /// Loads of the presynaptic states `used` of projection `k`, for
    /// presynaptic neuron `pre`.
    fn pre_loads(
        &mut self,
        sh: Shape,
        k: usize,
        pre: Value,
        used: &HashSet<Var>,
    ) -> Vec<Option<Value>> {
        let pop = self.m.projections[k].pre;
        let ns = self.m.populations[pop as usize].states.len();
        (0..ns)
            .map(|q| {
                used.contains(&Var::PreState(q as u32)).then(|| {
                    self.load_f(
                        sh,
                        Slot::State {
                            pop,
                            state: q as u32,
                        },
                        pre,
                    )
                })
            })
            .collect()
    }

    /// The presynaptic neuron of synapse `x` of projection `k`.
    fn pre_of(&mut self, k: usize, x: Value) -> Value {
        let table = self.slot(Slot::PreOf { proj: k as u32 });
        let a = self.addr(table, x, 4);
        self.fb.ins().uload32(mem(), a, 0)
    }

    fn jump(&mut self, to: Block, args: &[Value]) {
        let args: Vec<BlockArg> = args.iter().map(|v| (*v).into()).collect();
        self.fb.ins().jump(to, &args);
    }

    /// Projection `k`'s synapse dynamics (its step-program kernel) at
    /// `index`: the post neuron for align-post, else the synapse.
    fn decay(&mut self, sh: Shape, k: usize, index: Value, step: Value) {
        let j = &self.m.projections[k];
        let program = self.program;
        let Some(kernel) =
            program.kernel(Phase::SynapseDynamics, Domain::Synapses { proj: k as u32 })
        else {
            return;
        };
        let (target, synapse) = if j.synapse.layout == SynapseLayout::AlignPost {
            (index, None)
        } else {
            let cols = self.slot(Slot::Cols { proj: k as u32 });
            let a = self.addr(cols, index, 4);
            (self.fb.ins().uload32(mem(), a, 0), Some(index))
        };
        let site = SynapseSite {
            k,
            x: index,
            target,
            synapse,
            pre: None,
            weight: None,
        };
        self.synapse_statements(sh, site, &kernel.body, kernel.locals, step);
    }

    /// The statements of a synapse kernel (`Let` and `Store`, which is all
    /// the scheduler gives synapse domains) for one element: every
    /// statement loads what it reads from memory where it stands.
    fn synapse_statements(
        &mut self,
        sh: Shape,
        site: SynapseSite,
        body: &[Stmt],
        locals: u32,
        step: Value,
    ) {
        let k = site.k;
        let post = self.m.projections[k].post;
        let synparam = self.synparams(sh, k);
        let rand = self.rand(Slot::KeySyn { proj: k as u32 }, site.x, step);
        let base = self.base_scope(sh, step);
        let mut local: Vec<Option<Value>> = vec![None; locals as usize];
        let mut pre = site.pre;
        for stmt in body {
            let Some((value, target)) = stmt.assignment() else {
                continue;
            };
            let used = used_vars(self.m, &[value]);
            if pre.is_none() && used.iter().any(|v| matches!(v, Var::PreState(_))) {
                pre = site.synapse.map(|s| self.pre_of(k, s));
            }
            // A plastic weight is memory: read where the statement stands.
            let weight = match (site.weight, site.synapse) {
                (None, Some(s)) if used.contains(&Var::Weight) => {
                    Some(self.load_f(sh, Slot::Weights { proj: k as u32 }, s))
                }
                (w, _) => w,
            };
            let syn = self.syn_loads(sh, k, site.x, &used);
            let (post_state, post_cur) = self.post_loads(sh, k, site.target, &used);
            let pre_state = match pre {
                Some(p) => self.pre_loads(sh, k, p, &used),
                None => Vec::new(),
            };
            let sc = Scope {
                syn,
                synparam: synparam.clone(),
                post_state,
                post_cur,
                pre_state,
                local: local.clone(),
                weight,
                rand: Some(rand),
                ..base.clone()
            };
            let v = self.lower(sh, value, &sc, &mut HashMap::new());
            let (place, op) = match target {
                Target::Local(l) => {
                    local[l as usize] = Some(v);
                    continue;
                }
                Target::Place(place, op) => (place, op),
            };
            let (slot, idx) = match place {
                Place::Syn(q) => (
                    Slot::Syn {
                        proj: k as u32,
                        state: q,
                    },
                    site.x,
                ),
                Place::PostState(q) => (
                    Slot::State {
                        pop: post,
                        state: q,
                    },
                    site.target,
                ),
                Place::Sum(proj) => (Slot::Scratch { proj }, site.target),
                Place::Weight => (
                    Slot::Weights { proj: k as u32 },
                    site.synapse.expect("a weight is written at a synapse"),
                ),
                Place::State(_) | Place::Current(_) => {
                    unreachable!("{place:?} is not a place of a synapse kernel")
                }
            };
            let nv = match op {
                AssignOp::Set => v,
                AssignOp::Add => {
                    let old = self.load_f(sh, slot, idx);
                    self.fb.ins().fadd(old, v)
                }
            };
            self.store_f(sh, slot, idx, nv);
        }
    }

    /// Refractory counts from `v = rf/dt` per lane, as the reference: zero
    /// unless finite and positive, else round half away, capped.
    fn count_lanes(&mut self, sh: Shape, v: Value) -> Value {
        let cap = if sh.f32 {
            f64::from(i32::MAX)
        } else {
            f64::from(u32::MAX)
        };
        let s64 = Shape::scalar(false);
        let mut out = math::iconst(&mut self.fb, sh, 0);
        for lane in 0..sh.lanes {
            let b = &mut self.fb;
            let x = if sh.vector() {
                b.ins().extractlane(v, lane)
            } else {
                v
            };
            let x = if sh.f32 {
                b.ins().fpromote(types::F64, x)
            } else {
                x
            };
            let z = fconst(b, s64, 0.0);
            let inf = fconst(b, s64, f64::INFINITY);
            let pos = math::fcmp(b, FloatCC::GreaterThan, x, z);
            let fin = math::fcmp(b, FloatCC::LessThan, x, inf);
            let ok = b.ins().band(pos, fin);
            let r = math::round_half_away(b, s64, x);
            let capc = fconst(b, s64, cap);
            let r = b.ins().fmin(r, capc);
            let r = b.ins().fmax(r, z);
            let c = b.ins().fcvt_to_sint_sat(types::I64, r);
            let zi = b.ins().iconst(types::I64, 0);
            let c = b.ins().select(ok, c, zi);
            let c = if sh.f32 {
                b.ins().ireduce(types::I32, c)
            } else {
                c
            };
            out = if sh.vector() {
                b.ins().insertlane(out, c, lane)
            } else {
                c
            };
        }
        out
    }

    /// `for pos in 0..len { x = list[pos]; body(x) }`, scalar.
    fn list_loop(&mut self, list: Value, len: Value, body: &mut dyn FnMut(&mut Self, Value)) {
        let header = self.fb.create_block();
        self.fb.append_block_param(header, types::I64);
        let bodyb = self.fb.create_block();
        let exit = self.fb.create_block();
        let zero = self.fb.ins().iconst(types::I64, 0);
        self.jump(header, &[zero]);
        self.fb.switch_to_block(header);
        let pos = self.fb.block_params(header)[0];
        let c = self.fb.ins().icmp(IntCC::SignedLessThan, pos, len);
        self.fb.ins().brif(c, bodyb, &[], exit, &[]);
        self.fb.switch_to_block(bodyb);
        let a = self.addr(list, pos, 4);
        let x = self.fb.ins().uload32(mem(), a, 0);
        body(self, x);
        let next = self.fb.ins().iadd_imm_s(pos, 1);
        self.jump(header, &[next]);
        self.fb.switch_to_block(exit);
    }

    fn simple_open(&mut self) -> Vec<Value> {
        let entry = self.fb.create_block();
        self.fb.append_block_params_for_function_params(entry);
        self.fb.switch_to_block(entry);
        let params = self.fb.block_params(entry).to_vec();
        self.ctx = params[0];
        let start = self.fb.create_block();
        self.fb.ins().jump(start, &[]);
        self.entry_jump = self.fb.func.layout.last_inst(entry);
        self.fb.switch_to_block(start);
        params
    }

    /// A per-synapse projection's output: its sum (`Scratch`, cleared by
    /// the host) at the post neuron of every owned synapse.
    fn syn_out_kernel(&mut self, k: usize) {
        let sh = Shape::scalar(self.plan.f32);
        let params = self.simple_open();
        let (step, list, len) = (params[1], params[2], params[3]);
        let program = self.program;
        if let Some(kernel) = program.kernel(Phase::Output, Domain::Synapses { proj: k as u32 }) {
            self.list_loop(list, len, &mut |g, x| {
                let cols = g.slot(Slot::Cols { proj: k as u32 });
                let a = g.addr(cols, x, 4);
                let target = g.fb.ins().uload32(mem(), a, 0);
                let site = SynapseSite {
                    k,
                    x,
                    target,
                    synapse: Some(x),
                    pre: None,
                    weight: None,
                };
                g.synapse_statements(sh, site, &kernel.body, kernel.locals, step);
            });
        }
        let z = self.fb.ins().iconst(types::I64, 0);
        self.fb.ins().return_(&[z]);
    }

    fn syn_decay_kernel(&mut self, k: usize) {
        let sh = Shape::scalar(self.plan.f32);
        let params = self.simple_open();
        let (step, list, len) = (params[1], params[2], params[3]);
        self.list_loop(list, len, &mut |g, x| g.decay(sh, k, x, step));
        let z = self.fb.ins().iconst(types::I64, 0);
        self.fb.ins().return_(&[z]);
    }

    fn range_decay_kernel(&mut self, k: usize) {
        let sh = Shape::scalar(self.plan.f32);
        let params = self.simple_open();
        let (step, lo, hi) = (params[1], params[2], params[3]);
        let header = self.fb.create_block();
        self.fb.append_block_param(header, types::I64);
        let bodyb = self.fb.create_block();
        let exit = self.fb.create_block();
        self.jump(header, &[lo]);
        self.fb.switch_to_block(header);
        let i = self.fb.block_params(header)[0];
        let c = self.fb.ins().icmp(IntCC::SignedLessThan, i, hi);
        self.fb.ins().brif(c, bodyb, &[], exit, &[]);
        self.fb.switch_to_block(bodyb);
        self.decay(sh, k, i, step);
        let next = self.fb.ins().iadd_imm_s(i, 1);
        self.jump(header, &[next]);
        self.fb.switch_to_block(exit);
        let z = self.fb.ins().iconst(types::I64, 0);
        self.fb.ins().return_(&[z]);
    }

    /// `on_pre` of synapse `x` of projection `k`, whose presynaptic neuron
    /// is `pre` when the caller knows it.
    fn apply(&mut self, sh: Shape, k: usize, x: Value, pre: Option<Value>, step: Value) {
        let m = self.m;
        let j = &m.projections[k];
        let cols = self.slot(Slot::Cols { proj: k as u32 });
        let a = self.addr(cols, x, 4);
        let target = self.fb.ins().uload32(mem(), a, 0);
        let sidx = if j.synapse.layout == SynapseLayout::AlignPost {
            target
        } else {
            x
        };
        let w = if j.synapse.is_plastic() {
            // Read where a statement loads it (see `synapse_statements`).
            None
        } else if self.plan.homogeneous_weight[k] && sh.f32 && !sh.vector() {
            // f32 bits in the slot, read where used (one load, not a
            // conversion the optimiser would repeat per synapse).
            let off = self.slot_offset(Slot::Weight { proj: k as u32 });
            let ctx = self.ctx;
            Some(
                self.fb
                    .ins()
                    .load(types::F32, MemFlagsData::trusted(), ctx, off),
            )
        } else if self.plan.homogeneous_weight[k] {
            Some(self.slot_float(Slot::Weight { proj: k as u32 }, sh))
        } else {
            let ws = self.slot(Slot::Weights { proj: k as u32 });
            let a = self.addr(ws, x, 4);
            let w = self.fb.ins().load(types::F32, mem(), a, 0);
            Some(if sh.f32 {
                w
            } else {
                self.fb.ins().fpromote(types::F64, w)
            })
        };
        let program = self.program;
        let Some(kernel) = program.kernel(Phase::Events, Domain::PreEvents { proj: k as u32 })
        else {
            return;
        };
        let site = SynapseSite {
            k,
            x: sidx,
            target,
            synapse: Some(x),
            pre,
            weight: w,
        };
        self.synapse_statements(sh, site, &kernel.body, kernel.locals, step);
    }

    fn deliver_kernel(&mut self, k: usize, rows: bool) {
        let sh = Shape::scalar(self.plan.f32);
        let params = self.simple_open();
        let (step, list, len, rp, syn) = (params[1], params[2], params[3], params[4], params[5]);
        let count = if rows {
            let rows = Rows {
                list,
                len,
                starts: rp,
                ends_or_synapses: syn,
                indirect: self.plan.deliver_indirect[k],
            };
            self.row_loop(rows, &mut |g, x, pre| g.apply(sh, k, x, Some(pre), step))
        } else {
            self.list_loop(list, len, &mut |g, x| g.apply(sh, k, x, None, step));
            len
        };
        self.fb.ins().return_(&[count]);
    }

    /// `on_post` of every synapse onto the post neurons in the list.
    fn deliver_post_kernel(&mut self, k: usize) {
        let sh = Shape::scalar(self.plan.f32);
        let params = self.simple_open();
        let (step, list, len, col_ptr, synapses) =
            (params[1], params[2], params[3], params[4], params[5]);
        let rows = Rows {
            list,
            len,
            starts: col_ptr,
            ends_or_synapses: synapses,
            indirect: true,
        };
        let program = self.program;
        let kernel = program.kernel(Phase::PostEvents, Domain::PostEvents { proj: k as u32 });
        let count = self.row_loop(rows, &mut |g, s, post| {
            let Some(kernel) = kernel else { return };
            let site = SynapseSite {
                k,
                x: s,
                target: post,
                synapse: Some(s),
                pre: None,
                weight: None,
            };
            g.synapse_statements(sh, site, &kernel.body, kernel.locals, step);
        });
        self.fb.ins().return_(&[count]);
    }

    /// `for row in list { for s in row's synapses { body(s, row) } }`;
    /// returns the synapses visited. Rotated: one test and branch per
    /// synapse.
    fn row_loop(&mut self, r: Rows, body: &mut dyn FnMut(&mut Self, Value, Value)) -> Value {
        let outer = self.fb.create_block();
        self.fb.append_block_param(outer, types::I64);
        self.fb.append_block_param(outer, types::I64);
        let obody = self.fb.create_block();
        let inner = self.fb.create_block();
        self.fb.append_block_param(inner, types::I64);
        let next_row = self.fb.create_block();
        let exit = self.fb.create_block();
        self.fb.append_block_param(exit, types::I64);
        let zero = self.fb.ins().iconst(types::I64, 0);
        self.jump(outer, &[zero, zero]);
        self.fb.switch_to_block(outer);
        let jv = self.fb.block_params(outer)[0];
        let cnt = self.fb.block_params(outer)[1];
        let c = self.fb.ins().icmp(IntCC::SignedLessThan, jv, r.len);
        let cb: BlockArg = cnt.into();
        self.fb.ins().brif(c, obody, &[], exit, &[cb]);
        self.fb.switch_to_block(obody);
        let a = self.addr(r.list, jv, 4);
        let row = self.fb.ins().uload32(mem(), a, 0);
        let a = self.addr(r.starts, row, 8);
        let start = self.fb.ins().load(types::I64, mem(), a, 0);
        let end = if r.indirect {
            self.fb.ins().load(types::I64, mem(), a, 8)
        } else {
            let a = self.addr(r.ends_or_synapses, row, 8);
            self.fb.ins().load(types::I64, mem(), a, 0)
        };
        let rl = self.fb.ins().isub(end, start);
        let cnt2 = self.fb.ins().iadd(cnt, rl);
        let c = self.fb.ins().icmp(IntCC::SignedLessThan, start, end);
        let sb: BlockArg = start.into();
        self.fb.ins().brif(c, inner, &[sb], next_row, &[]);
        self.fb.switch_to_block(inner);
        let pos = self.fb.block_params(inner)[0];
        let x = if r.indirect {
            let a = self.addr(r.ends_or_synapses, pos, 4);
            self.fb.ins().uload32(mem(), a, 0)
        } else {
            pos
        };
        body(self, x, row);
        let pn = self.fb.ins().iadd_imm_s(pos, 1);
        let c = self.fb.ins().icmp(IntCC::SignedLessThan, pn, end);
        let pb: BlockArg = pn.into();
        self.fb.ins().brif(c, inner, &[pb], next_row, &[]);
        self.fb.switch_to_block(next_row);
        let jn = self.fb.ins().iadd_imm_s(jv, 1);
        self.jump(outer, &[jn, cnt2]);
        self.fb.switch_to_block(exit);
        self.fb.block_params(exit)[0]
    }
}

/// The rows a [`Gen::row_loop`] visits: `list[..len]` names rows; row `r`'s
/// synapses are `starts[r]..starts[r + 1]` of `ends_or_synapses` (u32
/// synapse indices) when `indirect`, else `starts[r]..ends_or_synapses[r]`
/// themselves.
#[derive(Clone, Copy)]
struct Rows {
    list: Value,
    len: Value,
    starts: Value,
    ends_or_synapses: Value,
    indirect: bool,
}

/// Generate one kernel.
fn gen(
    m: &Module,
    program: &StepProgram,
    plan: &Plan,
    fc: TargetFrontendConfig,
    kind: KernelKind,
    name: String,
) -> Kernel {
    let cc = fc.default_call_conv;
    let mut func = Function::with_name_signature(UserFuncName::testcase(&name), signature(cc));
    let mut fctx = FunctionBuilderContext::new();
    let slots = {
        let fb = FunctionBuilder::new(&mut func, &mut fctx);
        let mut g = Gen {
            m,
            program,
            plan,
            cc,
            fb,
            ctx: Value::from_u32(0),
            entry_jump: None,
            slots: Vec::new(),
            slot_vals: HashMap::new(),
            draw_cache: HashMap::new(),
            exp_parts: HashMap::new(),
            sigs: HashMap::new(),
        };
        match kind {
            KernelKind::Pop(p) => g.pop_kernel(p),
            KernelKind::SynOut(k) => g.syn_out_kernel(k as usize),
            KernelKind::SynDecay(k) => g.syn_decay_kernel(k as usize),
            KernelKind::RangeDecay(k) => g.range_decay_kernel(k as usize),
            KernelKind::Deliver { proj, rows } => g.deliver_kernel(proj as usize, rows),
            KernelKind::DeliverPost(k) => g.deliver_post_kernel(k as usize),
        }
        g.fb.seal_all_blocks();
        let slots = std::mem::take(&mut g.slots);
        g.fb.finalize(fc);
        slots
    };
    Kernel {
        kind,
        name,
        slots,
        func,
    }
}

/// Every kernel the module needs, in a fixed order.
#[must_use]
pub fn kernels(module: &Module, plan: &Plan, cc: TargetFrontendConfig) -> Vec<Kernel> {
    let program = crate::kernel::schedule_module(module);
    // The module with the program's expressions (the module's, then the
    // scheduler's), so one arena serves both.
    let m = &Module {
        exprs: program.exprs.clone(),
        ..module.clone()
    };
    let gen =
        |m: &Module, plan: &Plan, cc: TargetFrontendConfig, kind: KernelKind, name: String| {
            gen(m, &program, plan, cc, kind, name)
        };
    let mut out = Vec::new();
    for (k, j) in m.projections.iter().enumerate() {
        if j.synapse.layout == SynapseLayout::PerSynapse && j.output.is_some() {
            out.push(gen(
                m,
                plan,
                cc,
                KernelKind::SynOut(k as u32),
                format!("syn_out_{k}"),
            ));
        }
    }
    for (p, _) in m.populations.iter().enumerate() {
        if !plan.spike_source[p] {
            out.push(gen(
                m,
                plan,
                cc,
                KernelKind::Pop(p as u32),
                format!("pop_{p}"),
            ));
        }
    }
    for (k, j) in m.projections.iter().enumerate() {
        if j.synapse.odes.is_empty() {
            continue;
        }
        match j.synapse.layout {
            SynapseLayout::PerSynapse => {
                out.push(gen(
                    m,
                    plan,
                    cc,
                    KernelKind::SynDecay(k as u32),
                    format!("syn_decay_{k}"),
                ));
            }
            SynapseLayout::AlignPost if plan.spike_source[j.post as usize] => {
                out.push(gen(
                    m,
                    plan,
                    cc,
                    KernelKind::RangeDecay(k as u32),
                    format!("range_decay_{k}"),
                ));
            }
            SynapseLayout::AlignPost => {}
        }
    }
    for (k, j) in m.projections.iter().enumerate() {
        let _ = j;
        let rows = plan.homogeneous_delay[k];
        out.push(gen(
            m,
            plan,
            cc,
            KernelKind::Deliver {
                proj: k as u32,
                rows,
            },
            format!("deliver_{k}"),
        ));
    }
    for k in 0..m.projections.len() as u32 {
        if program
            .kernel(Phase::PostEvents, Domain::PostEvents { proj: k })
            .is_some()
        {
            out.push(gen(
                m,
                plan,
                cc,
                KernelKind::DeliverPost(k),
                format!("deliver_post_{k}"),
            ));
        }
    }
    out
}
