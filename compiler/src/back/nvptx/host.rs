//! Host execution of the GPU kernels: the same generated LLVM IR (kernel
//! bodies, Philox, math) compiled by LLVM for the host CPU (MCJIT) instead of
//! NVPTX. Each kernel becomes `k(ctx, total, lo, hi)`, which runs the body
//! for thread indices `lo..hi` in order (the CUDA grid's blocks one after
//! another); atomics are LLVM atomics (x86 lowers float `atomicrmw fadd` to
//! a compare-exchange loop). Buffers are host arrays whose addresses fill
//! the `ctx` table, exactly as device addresses do on the GPU.

use inkwell::context::Context;
use inkwell::targets::{CodeModel, InitializationConfig, RelocMode, Target};
use inkwell::OptimizationLevel;

use super::driver::{self, Data, Device, Region};
use super::kernels::{kernel_list, Elem, KernelKind, Plan};
use super::{generate, optimise};
use crate::back::{BackendError, ExecError, Outcome, Setup};
use crate::ir::ValidModule;

/// Options of the GPU-kernel executors.
#[derive(Debug, Clone)]
pub struct HostOptions {
    /// Steps at which `on_step` receives the state (None: the module's trace
    /// periods); other steps get an empty slice.
    pub state_every: Option<Vec<u64>>,
    /// Steps per chunk: host-fed inputs are uploaded, and spikes and trace
    /// snapshots read back, once per chunk (see [`driver`]); shortened when
    /// the snapshots would not fit [`driver::STAGING_BUDGET_BYTES`].
    pub chunk: u32,
    /// Threads per block of the emulated grid (host) or of launches (CUDA).
    pub block: u32,
}

impl Default for HostOptions {
    fn default() -> Self {
        Self {
            state_every: None,
            chunk: 16,
            block: 256,
        }
    }
}

type KernelFn = unsafe extern "C" fn(*const u64, i64, i64, i64);

struct HostDevice {
    f32: bool,
    /// Backing store per buffer (u64 words: 8-byte aligned).
    mem: Vec<Vec<u64>>,
    elems: Vec<Elem>,
    ctx: Vec<u64>,
    fns: Vec<(KernelKind, KernelFn)>,
    block: u64,
    /// One step's launches (resolved at setup).
    seq: Vec<(KernelFn, i64)>,
    /// Queued reads, performed at `wait_read` (the latest moment a GPU copy
    /// could run: a ring slot reused too early shows up as wrong spikes).
    reads: Vec<Option<Vec<Region>>>,
}

impl HostDevice {
    fn real_size(&self) -> usize {
        if self.f32 {
            4
        } else {
            8
        }
    }
    fn size_of(&self, elem: Elem) -> usize {
        match elem {
            Elem::Real => self.real_size(),
            Elem::U32 => 4,
        }
    }
    fn bytes(&mut self, id: usize) -> Result<&mut [u8], BackendError> {
        let v = self.mem.get_mut(id).ok_or_else(oob)?;
        // SAFETY: a u64 buffer viewed as its bytes.
        Ok(unsafe { std::slice::from_raw_parts_mut(v.as_mut_ptr().cast::<u8>(), v.len() * 8) })
    }
    fn encode(&self, data: &Data) -> Vec<u8> {
        match data {
            Data::Real(v) if self.f32 => v.iter().flat_map(|x| (*x as f32).to_ne_bytes()).collect(),
            Data::Real(v) => v.iter().flat_map(|x| x.to_ne_bytes()).collect(),
            Data::U32(v) => v.iter().flat_map(|x| x.to_ne_bytes()).collect(),
        }
    }
    fn read_region(&mut self, r: &Region) -> Result<Data, BackendError> {
        let es = self.size_of(r.elem);
        let f32 = self.f32;
        let b = self.bytes(r.id)?;
        if r.end() * es > b.len() {
            return Err(oob());
        }
        let mut raw = Vec::with_capacity(r.count() * es);
        for row in 0..r.rows {
            let at = (r.offset + row * r.stride) * es;
            raw.extend_from_slice(&b[at..at + r.len * es]);
        }
        Ok(decode(&raw, r.elem, f32))
    }
}

/// Values of `raw` (native-endian bytes) as `elem` of a run in f32 or f64.
pub(crate) fn decode(raw: &[u8], elem: Elem, f32: bool) -> Data {
    match elem {
        Elem::U32 => Data::U32(
            raw.chunks_exact(4)
                .map(|c| u32::from_ne_bytes([c[0], c[1], c[2], c[3]]))
                .collect(),
        ),
        Elem::Real if f32 => Data::Real(
            raw.chunks_exact(4)
                .map(|c| f64::from(f32::from_ne_bytes([c[0], c[1], c[2], c[3]])))
                .collect(),
        ),
        Elem::Real => Data::Real(
            raw.chunks_exact(8)
                .map(|c| {
                    let mut a = [0u8; 8];
                    a.copy_from_slice(c);
                    f64::from_ne_bytes(a)
                })
                .collect(),
        ),
    }
}

fn oob() -> BackendError {
    internal("buffer access out of range")
}

/// A broken invariant of the host device (a bug).
fn internal(what: &'static str) -> BackendError {
    BackendError::Internal {
        backend: "NVPTX host",
        what,
    }
}

impl Device for HostDevice {
    fn create(&mut self, id: usize, elem: Elem, data: Data) -> Result<(), BackendError> {
        let bytes = self.encode(&data);
        let words = bytes.len().div_ceil(8).max(1);
        while self.mem.len() <= id {
            self.mem.push(Vec::new());
            self.elems.push(Elem::U32);
        }
        self.mem[id] = vec![0u64; words];
        self.elems[id] = elem;
        self.bytes(id)?[..bytes.len()].copy_from_slice(&bytes);
        Ok(())
    }
    fn finish_setup(&mut self, launches: &[(KernelKind, u64)]) -> Result<(), BackendError> {
        self.ctx = self.mem.iter().map(|v| v.as_ptr() as u64).collect();
        self.seq.clear();
        for (kernel, total) in launches {
            let f = self
                .fns
                .iter()
                .find(|(k, _)| k == kernel)
                .map(|(_, f)| *f)
                .ok_or_else(|| internal("kernel missing"))?;
            self.seq.push((f, *total as i64));
        }
        Ok(())
    }
    fn write(&mut self, r: Region, data: Data) -> Result<(), BackendError> {
        let es = self.size_of(r.elem);
        let src = self.encode(&data);
        if src.len() != r.count() * es {
            return Err(oob());
        }
        let b = self.bytes(r.id)?;
        if r.end() * es > b.len() {
            return Err(oob());
        }
        for row in 0..r.rows {
            let at = (r.offset + row * r.stride) * es;
            let from = row * r.len * es;
            b[at..at + r.len * es].copy_from_slice(&src[from..from + r.len * es]);
        }
        Ok(())
    }
    fn copy(
        &mut self,
        elem: Elem,
        src: usize,
        src_off: usize,
        dst: usize,
        dst_off: usize,
        len: usize,
    ) -> Result<(), BackendError> {
        let es = self.size_of(elem);
        let from = self.bytes(src)?;
        let chunk = from
            .get(src_off * es..(src_off + len) * es)
            .ok_or_else(oob)?
            .to_vec();
        let to = self.bytes(dst)?;
        to.get_mut(dst_off * es..(dst_off + len) * es)
            .ok_or_else(oob)?
            .copy_from_slice(&chunk);
        Ok(())
    }
    fn steps(&mut self, n: u64) -> Result<(), BackendError> {
        for _ in 0..n {
            for &(f, total) in &self.seq {
                // The grid: blocks of `block` threads, one after another.
                let mut lo = 0i64;
                while lo < total {
                    let hi = (lo + self.block as i64).min(total);
                    // SAFETY: the kernel reads/writes only the buffers of
                    // `ctx`, within the sizes the plan gave them (indices
                    // bounded by the counts and table entries it loads).
                    unsafe { f(self.ctx.as_ptr(), total, lo, hi) };
                    lo = hi;
                }
            }
        }
        Ok(())
    }
    fn read_async(&mut self, regions: &[Region]) -> Result<usize, BackendError> {
        self.reads.push(Some(regions.to_vec()));
        Ok(self.reads.len() - 1)
    }
    fn wait_read(&mut self, ticket: usize) -> Result<Vec<Data>, BackendError> {
        let regions = self
            .reads
            .get_mut(ticket)
            .and_then(Option::take)
            .ok_or_else(|| internal("unknown read ticket"))?;
        regions.iter().map(|r| self.read_region(r)).collect()
    }
    fn sync(&mut self) -> Result<(), BackendError> {
        Ok(())
    }
}

/// Run on the host CPU through the GPU kernels (see the module docs).
pub fn execute_host(valid: ValidModule<'_>, setup: Setup<'_>) -> Result<Outcome, ExecError> {
    execute_host_with(valid, setup, &HostOptions::default())
}

/// [`execute_host`] with options.
pub fn execute_host_with(
    valid: ValidModule<'_>,
    setup: Setup<'_>,
    opts: &HostOptions,
) -> Result<Outcome, ExecError> {
    let m = valid.module();
    let err = |message: String| BackendError::CodeGen {
        target: "host",
        message,
    };
    let nb = setup.batch.max(1);
    let lay = driver::layout(m, &setup, opts);
    let sources: Vec<bool> = crate::back::spike_sources(m, setup.inputs)
        .iter()
        .map(Option::is_some)
        .collect();
    let plan = Plan::new(
        m,
        nb,
        setup.f32,
        setup.seed,
        Some(setup.tables),
        lay.slots,
        lay.window,
        &sources,
    );
    let cx = Context::create();
    let ir = generate(&cx, m, &plan, false).map_err(err)?;
    Target::initialize_native(&InitializationConfig::default()).map_err(err)?;
    let triple = inkwell::targets::TargetMachine::get_default_triple();
    let target = Target::from_triple(&triple).map_err(|e| err(e.to_string()))?;
    let tm = target
        .create_target_machine(
            &triple,
            "x86-64",
            "",
            OptimizationLevel::Default,
            RelocMode::Default,
            CodeModel::JITDefault,
        )
        .ok_or_else(|| err("LLVM could not create the host target machine".into()))?;
    optimise(&ir, &tm, "default<O2>").map_err(err)?;
    let ee =
        ir.m.create_jit_execution_engine(OptimizationLevel::Default)
            .map_err(|e| err(e.to_string()))?;
    let mut fns = Vec::new();
    for k in kernel_list(m) {
        let addr = ee
            .get_function_address(&k.name())
            .map_err(|e| err(format!("kernel {}: {e}", k.name())))?;
        // SAFETY: the function was generated with exactly this signature.
        let f: KernelFn = unsafe { std::mem::transmute::<usize, KernelFn>(addr) };
        fns.push((k, f));
    }
    let mut dev = HostDevice {
        f32: setup.f32,
        mem: Vec::new(),
        elems: Vec::new(),
        ctx: Vec::new(),
        fns,
        block: u64::from(opts.block.max(1)),
        seq: Vec::new(),
        reads: Vec::new(),
    };
    let out = driver::run(valid, setup, &mut dev, &plan, opts);
    drop(ee);
    out
}

/// The backend's Philox, random conversions and math, compiled for the host
/// from the same IR generators the kernels use (for tests and accuracy
/// checks).
pub struct Probe {
    _cx: &'static Context,
    ee: inkwell::execution_engine::ExecutionEngine<'static>,
}

impl Probe {
    /// JIT-compiles the probe functions.
    pub fn new() -> Result<Self, String> {
        use super::llvm::Ir;
        use super::math::MathLib;
        use super::philox;
        use crate::ir::{MathOp, RandomKind};
        let cx: &'static Context = Box::leak(Box::new(Context::create()));
        let ir = Ir::new(cx, "probe", false);
        let mut math = MathLib::default();
        let f64t = ir.f64t;
        let i32t = ir.i32t;
        // philox(ptr io[6]): io[0..4] counter in / block out, io[4..6] key.
        let f = ir.m.add_function(
            "philox",
            cx.void_type().fn_type(&[ir.gptr.into()], false),
            None,
        );
        ir.at(ir.block(f, "entry"));
        let p = f.get_nth_param(0).unwrap().into_pointer_value();
        let w: Vec<_> = (0..6).map(|k| ir.load_i(i32t, p, ir.i64c(k))).collect();
        let out = philox::philox4x32_10(&ir, [w[0], w[1], w[2], w[3]], [w[4], w[5]]);
        for (k, v) in out.iter().enumerate() {
            ir.store_at(i32t.into(), p, ir.i64c(k as i64), *v);
        }
        ir.b.build_return(None).unwrap();
        // draw_u / draw_n / draw_uf (f32 stream)(ptr io[6] = counter, key) -> f64
        for (name, kind, f32) in [
            ("draw_u", RandomKind::Uniform, false),
            ("draw_n", RandomKind::Normal, false),
            ("draw_uf", RandomKind::Uniform, true),
        ] {
            let f =
                ir.m.add_function(name, f64t.fn_type(&[ir.gptr.into()], false), None);
            ir.at(ir.block(f, "entry"));
            let p = f.get_nth_param(0).unwrap().into_pointer_value();
            let w: Vec<_> = (0..6).map(|k| ir.load_i(i32t, p, ir.i64c(k))).collect();
            let v = philox::draw(
                &ir,
                &mut math,
                kind,
                f32,
                [w[0], w[1], w[2], w[3]],
                [w[4], w[5]],
            );
            ir.b.build_return(Some(&v)).unwrap();
        }
        for (k, op) in MATH_OPS.iter().enumerate() {
            let f = ir.m.add_function(
                &format!("math_{k}"),
                f64t.fn_type(&[f64t.into()], false),
                None,
            );
            ir.at(ir.block(f, "entry"));
            let x = f.get_nth_param(0).unwrap().into_float_value();
            let v = math.apply(&ir, *op, x);
            ir.b.build_return(Some(&v)).unwrap();
        }
        let f = ir.m.add_function(
            "pow",
            f64t.fn_type(&[f64t.into(), f64t.into()], false),
            None,
        );
        ir.at(ir.block(f, "entry"));
        let x = f.get_nth_param(0).unwrap().into_float_value();
        let y = f.get_nth_param(1).unwrap().into_float_value();
        let v = math.pow(&ir, x, y);
        ir.b.build_return(Some(&v)).unwrap();
        let _ = MathOp::Exp;
        ir.m.verify().map_err(|e| e.to_string())?;
        Target::initialize_native(&InitializationConfig::default())?;
        let ee =
            ir.m.create_jit_execution_engine(OptimizationLevel::Default)
                .map_err(|e| e.to_string())?;
        Ok(Self { _cx: cx, ee })
    }

    fn addr(&self, name: &str) -> usize {
        self.ee.get_function_address(name).expect("probe function")
    }

    /// Philox4x32-10 block.
    pub fn philox(&self, counter: [u32; 4], key: [u32; 2]) -> [u32; 4] {
        let mut io = [
            counter[0], counter[1], counter[2], counter[3], key[0], key[1],
        ];
        // SAFETY: generated with this signature; io has 6 words.
        unsafe {
            let f: unsafe extern "C" fn(*mut u32) = std::mem::transmute(self.addr("philox"));
            f(io.as_mut_ptr());
        }
        [io[0], io[1], io[2], io[3]]
    }

    /// `keyed_draw` with counter `[slot, index, step, batch]` (f64 run).
    pub fn draw(&self, key: [u32; 2], kind: crate::ir::RandomKind, counter: [u32; 4]) -> f64 {
        let name = match kind {
            crate::ir::RandomKind::Uniform => "draw_u",
            crate::ir::RandomKind::Normal => "draw_n",
        };
        self.call_draw(name, key, counter)
    }

    /// A uniform `keyed_draw` of an f32 run.
    pub fn draw_uniform_f32(&self, key: [u32; 2], counter: [u32; 4]) -> f64 {
        self.call_draw("draw_uf", key, counter)
    }

    fn call_draw(&self, name: &str, key: [u32; 2], counter: [u32; 4]) -> f64 {
        let mut io = [
            counter[0], counter[1], counter[2], counter[3], key[0], key[1],
        ];
        // SAFETY: generated with this signature.
        unsafe {
            let f: unsafe extern "C" fn(*mut u32) -> f64 = std::mem::transmute(self.addr(name));
            f(io.as_mut_ptr())
        }
    }

    /// One math op as the kernels compute it (f64).
    pub fn math(&self, op: crate::ir::MathOp, x: f64) -> f64 {
        let k = MATH_OPS.iter().position(|o| *o == op).expect("op");
        // SAFETY: generated with this signature.
        unsafe {
            let f: unsafe extern "C" fn(f64) -> f64 =
                std::mem::transmute(self.addr(&format!("math_{k}")));
            f(x)
        }
    }

    /// `pow` as the kernels compute it.
    pub fn pow(&self, x: f64, y: f64) -> f64 {
        // SAFETY: generated with this signature.
        unsafe {
            let f: unsafe extern "C" fn(f64, f64) -> f64 = std::mem::transmute(self.addr("pow"));
            f(x, y)
        }
    }
}

const MATH_OPS: [crate::ir::MathOp; 10] = {
    use crate::ir::MathOp::*;
    [Exp, Exprel, Log, Sqrt, Abs, Sin, Cos, Tanh, Floor, Ceil]
};
