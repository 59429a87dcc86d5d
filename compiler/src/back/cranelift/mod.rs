//! The Cranelift JIT backend: the validated IR lowered to native code
//! (f32x4 / f64x2 SIMD over neurons), run by a step loop on several threads.
//!
//! * [`lower`]: IR → CLIF, one fused kernel per population (currents,
//!   integration, refractory, threshold, reset, spike compaction, align-post
//!   synapse decay), per-synapse kernels, and one event-delivery kernel per
//!   projection.
//! * [`math`]: inline `exp`, `exprel`, `log` (no calls in the hot loop).
//! * [`exec`]: state layout (structure of arrays per batch item, padded to the
//!   vector width), threads (neurons split in contiguous chunks; each thread
//!   also owns the synapses whose target is in its chunks, so results do not
//!   depend on the thread count), ring buffers for delays, callbacks.
//!
//! Semantics are the reference's ([`crate::ir`] "one time step"); random
//! draws call the reference's keyed Philox, so they are bitwise identical.

pub mod exec;
pub mod lower;
pub mod math;
pub mod rt;

use std::fmt;
use std::sync::Arc;

use cranelift_codegen::ir::{types, AbiParam, Signature, UserFuncName};
use cranelift_codegen::isa::{TargetFrontendConfig, TargetIsa};
use cranelift_codegen::settings::{self, Configurable};
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};
use cranelift_jit::{JITBuilder, JITModule};
use cranelift_module::{default_libcall_names, Linkage, Module as _};

use crate::ir::{MathOp, Module, ValidModule};
pub use exec::{execute, execute_cached, execute_with, Jit, JitOptions};
use lower::{Kernel, KernelKind, Plan, Slot};
use math::Shape;

/// Why code could not be generated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JitError {
    pub message: String,
}

impl fmt::Display for JitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cranelift JIT: {}", self.message)
    }
}

impl std::error::Error for JitError {}

fn err(m: impl fmt::Display) -> JitError {
    JitError {
        message: m.to_string(),
    }
}

/// The host ISA, optimising for speed.
fn isa() -> Result<Arc<dyn TargetIsa>, JitError> {
    let mut flags = settings::builder();
    for (k, v) in [
        ("opt_level", "speed"),
        ("is_pic", "false"),
        ("use_colocated_libcalls", "false"),
    ] {
        flags.set(k, v).map_err(err)?;
    }
    let builder =
        cranelift_native::builder().map_err(|m| err(format!("host not supported: {m}")))?;
    builder
        .finish(settings::Flags::new(flags))
        .map_err(|e| err(format!("ISA: {e}")))
}

/// Kernels, guarding against a panic in the lowering (a bug) so that a valid
/// module never aborts the process.
fn generate(m: &Module, plan: &Plan, cc: TargetFrontendConfig) -> Result<Vec<Kernel>, JitError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| lower::kernels(m, plan, cc)))
        .map_err(|_| err("internal error while lowering the module to CLIF"))
}

/// Text of every generated function (`snnc compile --emit clif`).
pub fn emit_clif(valid: ValidModule<'_>, f32: bool) -> Result<String, JitError> {
    let m = valid.module();
    let plan = Plan::from_module(m, f32);
    let isa = isa()?;
    let ks = generate(m, &plan, isa.frontend_config())?;
    let mut out = String::new();
    for k in &ks {
        out.push_str(&format!("; kernel {} ({:?})\n; ctx slots:", k.name, k.kind));
        for (i, s) in k.slots.iter().enumerate() {
            out.push_str(&format!(" [{i}] {s:?}"));
        }
        out.push('\n');
        out.push_str(&k.func.display().to_string());
        out.push('\n');
    }
    Ok(out)
}

/// Seconds to lower and compile `valid` to native code (for benchmarks).
pub fn compile_seconds(valid: ValidModule<'_>, f32: bool) -> Result<f64, JitError> {
    let t = std::time::Instant::now();
    let plan = Plan::from_module(valid.module(), f32);
    let _code = compile(valid.module(), &plan)?;
    Ok(t.elapsed().as_secs_f64())
}

/// `fn(ctx, step, a, b, c, d) -> i64`.
pub(crate) type KernelFn = unsafe extern "C" fn(*const u64, i64, u64, u64, u64, u64) -> i64;

/// Native code for a module: keeps the code memory alive.
pub(crate) struct Compiled {
    _module: JITModule,
    pub kernels: Vec<(KernelKind, Vec<Slot>, KernelFn)>,
}

// SAFETY: the finalized code is immutable; function pointers are plain
// addresses into it, callable from any thread.
unsafe impl Send for Compiled {}
unsafe impl Sync for Compiled {}

pub(crate) fn compile(m: &Module, plan: &Plan) -> Result<Compiled, JitError> {
    let isa = isa()?;
    let ks = generate(m, plan, isa.frontend_config())?;
    let mut jm = JITModule::new(JITBuilder::with_isa(isa, default_libcall_names()));
    let mut ids = Vec::new();
    let mut ctx = jm.make_context();
    for k in ks {
        let id = jm
            .declare_function(&k.name, Linkage::Local, &k.func.signature)
            .map_err(|e| err(format!("{}: {e}", k.name)))?;
        ctx.func = k.func;
        ctx.func.name = UserFuncName::user(0, id.as_u32());
        let disasm = std::env::var_os("SNNC_JIT_DISASM").is_some();
        ctx.set_disasm(disasm);
        jm.define_function(id, &mut ctx)
            .map_err(|e| err(format!("{}: {e:?}", k.name)))?;
        if disasm {
            if let Some(code) = ctx.compiled_code().and_then(|c| c.vcode.clone()) {
                eprintln!("; {}\n{code}", k.name);
            }
        }
        let size = ctx.compiled_code().map_or(0, |c| c.code_info().total_size);
        jm.clear_context(&mut ctx);
        ids.push((k.kind, k.slots, id, k.name, size));
    }
    jm.finalize_definitions().map_err(err)?;
    // `SNNC_PERF_MAP=1`: `perf report` names JIT code through a symbol map
    // at the one place perf looks for it, `/tmp/perf-<pid>.map` (perf's
    // convention, not a path of ours; a profiling aid, off by default).
    let mut perf_map = std::env::var_os("SNNC_PERF_MAP").map(|_| String::new());
    let kernels = ids
        .into_iter()
        .map(|(kind, slots, id, name, size)| {
            let p = jm.get_finalized_function(id);
            if let Some(map) = &mut perf_map {
                map.push_str(&format!("{:x} {size:x} snnc_{name}\n", p as usize));
            }
            // SAFETY: every kernel was generated with `lower::signature`.
            let f = unsafe { std::mem::transmute::<*const u8, KernelFn>(p) };
            (kind, slots, f)
        })
        .collect();
    if let Some(map) = perf_map {
        let path = format!("/tmp/perf-{}.map", std::process::id());
        std::fs::write(&path, map).map_err(|e| err(format!("{path}: {e}")))?;
    }
    Ok(Compiled {
        _module: jm,
        kernels,
    })
}

/// Compiled kernels kept between runs ("compile once, run many"): keyed by
/// what the generated code depends on, the (folded) module and the [`Plan`]
/// (precision, seed, table facts). Values that reach the kernels through
/// their context (swept or overridden params, inputs, durations, batch
/// size) do not change the key, so a rerun with other values compiles
/// nothing. Holds the last [`JitCache::CAPACITY`] kernel sets.
#[derive(Default)]
pub struct JitCache {
    entries: Vec<(String, Plan, Arc<Compiled>)>,
    compiles: u64,
}

impl JitCache {
    /// Kernel sets kept; the oldest is dropped beyond this.
    pub const CAPACITY: usize = 8;

    /// How many times code was generated through this cache.
    #[must_use]
    pub fn compiles(&self) -> u64 {
        self.compiles
    }

    /// The kernels of `m` under `plan`, compiled now if not cached.
    pub(crate) fn kernels(&mut self, m: &Module, plan: &Plan) -> Result<Arc<Compiled>, JitError> {
        // The module's full printout: every value the code can embed.
        let fingerprint = format!("{m:?}");
        if let Some((_, _, code)) = self
            .entries
            .iter()
            .find(|(f, p, _)| p == plan && *f == fingerprint)
        {
            return Ok(Arc::clone(code));
        }
        let code = Arc::new(compile(m, plan)?);
        self.compiles += 1;
        if self.entries.len() == Self::CAPACITY {
            self.entries.remove(0);
        }
        self.entries
            .push((fingerprint, plan.clone(), Arc::clone(&code)));
        Ok(code)
    }
}

impl fmt::Debug for JitCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JitCache")
            .field("entries", &self.entries.len())
            .field("compiles", &self.compiles)
            .finish()
    }
}

/// One inline math function compiled on its own over arrays (SIMD body,
/// scalar tail): for accuracy tests of [`math`].
pub struct MathFn {
    _module: JITModule,
    f: unsafe extern "C" fn(*const u8, *mut u8, i64),
    f32: bool,
}

impl MathFn {
    pub fn new(op: MathOp, f32: bool) -> Result<Self, JitError> {
        let isa = isa()?;
        let cc = isa.default_call_conv();
        let fc = isa.frontend_config();
        let mut sig = Signature::new(cc);
        for _ in 0..3 {
            sig.params.push(AbiParam::new(types::I64));
        }
        let mut jm = JITModule::new(JITBuilder::with_isa(isa, default_libcall_names()));
        let id = jm
            .declare_function("math", Linkage::Local, &sig)
            .map_err(err)?;
        let mut ctx = jm.make_context();
        ctx.func.signature = sig;
        ctx.func.name = UserFuncName::user(0, id.as_u32());
        let mut fctx = FunctionBuilderContext::new();
        {
            use cranelift_codegen::ir::condcodes::IntCC;
            use cranelift_codegen::ir::{InstBuilder, MemFlagsData};
            let mut b = FunctionBuilder::new(&mut ctx.func, &mut fctx);
            let entry = b.create_block();
            b.append_block_params_for_function_params(entry);
            b.switch_to_block(entry);
            let ps = b.block_params(entry).to_vec();
            let (src, dst, n) = (ps[0], ps[1], ps[2]);
            let mf = MemFlagsData::new().with_notrap();
            // Vector part, then scalar tail.
            let mut start = b.ins().iconst(types::I64, 0);
            for sh in [Shape::simd(f32), Shape::scalar(f32)] {
                let l = i64::from(sh.lanes);
                let header = b.create_block();
                b.append_block_param(header, types::I64);
                let body = b.create_block();
                let exit = b.create_block();
                b.append_block_param(exit, types::I64);
                b.ins().jump(header, &[start.into()]);
                b.switch_to_block(header);
                let i = b.block_params(header)[0];
                let end = b.ins().iadd_imm_s(i, l);
                let c = b.ins().icmp(IntCC::SignedLessThanOrEqual, end, n);
                b.ins().brif(c, body, &[], exit, &[i.into()]);
                b.switch_to_block(body);
                let off = b.ins().imul_imm_s(i, sh.elem());
                let a = b.ins().iadd(src, off);
                let x = b.ins().load(sh.fty(), mf, a, 0);
                let y = match op {
                    MathOp::Exp => math::exp(&mut b, sh, x),
                    MathOp::Exprel => math::exprel(&mut b, sh, x),
                    MathOp::Log => math::log(&mut b, sh, x),
                    _ => x,
                };
                let a = b.ins().iadd(dst, off);
                b.ins().store(mf, y, a, 0);
                b.ins().jump(header, &[end.into()]);
                b.switch_to_block(exit);
                start = b.block_params(exit)[0];
            }
            b.ins().return_(&[]);
            b.seal_all_blocks();
            b.finalize(fc);
        }
        jm.define_function(id, &mut ctx)
            .map_err(|e| err(format!("{e:?}")))?;
        jm.finalize_definitions().map_err(err)?;
        let p = jm.get_finalized_function(id);
        // SAFETY: built with the signature above.
        let f = unsafe {
            std::mem::transmute::<*const u8, unsafe extern "C" fn(*const u8, *mut u8, i64)>(p)
        };
        Ok(Self {
            _module: jm,
            f,
            f32,
        })
    }

    /// Apply to f64 inputs (compiled for f64).
    #[must_use]
    pub fn apply_f64(&self, xs: &[f64]) -> Vec<f64> {
        assert!(!self.f32, "compiled for f32");
        let mut out = vec![0.0; xs.len()];
        // SAFETY: both buffers hold xs.len() f64s.
        unsafe {
            (self.f)(xs.as_ptr().cast(), out.as_mut_ptr().cast(), xs.len() as i64);
        }
        out
    }

    /// Apply to f32 inputs (compiled for f32).
    #[must_use]
    pub fn apply_f32(&self, xs: &[f32]) -> Vec<f32> {
        assert!(self.f32, "compiled for f64");
        let mut out = vec![0.0; xs.len()];
        // SAFETY: both buffers hold xs.len() f32s.
        unsafe {
            (self.f)(xs.as_ptr().cast(), out.as_mut_ptr().cast(), xs.len() as i64);
        }
        out
    }
}
