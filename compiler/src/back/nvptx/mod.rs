//! The NVPTX (CUDA) backend: the validated IR lowered to LLVM IR kernels
//! (via inkwell, LLVM 19), compiled to PTX for `nvptx64-nvidia-cuda`
//! (sm_80 and up, tuned for sm_90) and launched through the CUDA driver
//! (cudarc, loaded at run time).
//!
//! * [`kernels`]: the memory layout and every kernel, lowered from the step
//!   program ([`crate::kernel`]): one neuron kernel running each
//!   population's kernels fused (currents, outputs, injections, update,
//!   spike compaction), synapse dynamics, event propagation with delay
//!   rings; see its docs.
//! * [`math`]: libdevice-free f64 `exp`, `log`, `sin`, `cos`, `tanh`,
//!   `exprel`, `pow` (accuracy in its docs); [`philox`]: Philox4x32-10 and the
//!   runtime's uniform/normal conversions.
//! * [`driver`]: the step loop shared by both executors (buffers, uploads,
//!   chunked spike readback, recordings), over a [`driver::Device`].
//! * [`host`]: the *same* LLVM IR kernels compiled for the host CPU and run
//!   by looping over thread indices ([`execute_host`]): how the kernel logic
//!   is tested without a GPU. Atomics are LLVM atomics (compare-exchange on
//!   x86); threads run in index order, so float additions happen in the
//!   reference's order and f64 runs of deterministic models are bitwise the
//!   reference's (up to the few-ulp math functions).
//! * [`cuda`]: the cudarc executor ([`execute_cuda`]).
//!
//! Random draws use keys baked into the kernels from the run's seed (the
//! same `key_for(seed, purpose)` as the reference).

pub mod cuda;
pub mod driver;
pub mod host;
pub mod kernels;
pub mod llvm;
pub mod math;
pub mod philox;

use inkwell::context::Context;
use inkwell::passes::PassBuilderOptions;
use inkwell::targets::{
    CodeModel, FileType, InitializationConfig, RelocMode, Target, TargetMachine, TargetTriple,
};
use inkwell::OptimizationLevel;

use crate::ir::{Module, ValidModule};
use kernels::{Gen, Plan};
use llvm::Ir;

pub use cuda::{execute_cuda, Cuda};
pub use host::{execute_host, execute_host_with, HostOptions};

/// GPU architectures `emit_ptx` accepts (LLVM 19 knows them all).
pub const SUPPORTED_SM: [u32; 5] = [80, 86, 87, 89, 90];

/// Generates every kernel of `m` into a fresh module of `cx`, catching a
/// panic in the generator (a bug) so that a valid module never aborts.
pub(crate) fn generate<'c>(
    cx: &'c Context,
    m: &Module,
    plan: &Plan,
    nvptx: bool,
) -> Result<Ir<'c>, String> {
    crate::back::refuse_plastic(m, "cuda").map_err(|e| e.to_string())?;
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let ir = Ir::new(cx, &m.name, nvptx);
        let program = crate::kernel::schedule_module(m);
        let mut g = Gen::new(ir, m, &program, plan);
        g.all();
        g.ir
    }))
    .map_err(|_| "internal error while generating the kernels".to_string())
    .and_then(|ir| {
        ir.m.verify()
            .map_err(|e| format!("generated LLVM IR is invalid: {e}"))?;
        Ok(ir)
    })
}

/// The NVPTX target machine for `sm_<sm>`.
fn nvptx_machine(sm: u32) -> Result<TargetMachine, String> {
    if !SUPPORTED_SM.contains(&sm) {
        return Err(format!(
            "unsupported GPU architecture sm_{sm} (supported: {})",
            SUPPORTED_SM.map(|s| format!("sm_{s}")).join(", ")
        ));
    }
    Target::initialize_nvptx(&InitializationConfig::default());
    let triple = TargetTriple::create("nvptx64-nvidia-cuda");
    let target = Target::from_triple(&triple).map_err(|e| e.to_string())?;
    target
        .create_target_machine(
            &triple,
            &format!("sm_{sm}"),
            "",
            OptimizationLevel::Aggressive,
            RelocMode::Default,
            CodeModel::Default,
        )
        .ok_or_else(|| "LLVM could not create the NVPTX target machine".to_string())
}

/// Runs LLVM's standard pipeline on `ir` for `tm`.
pub(crate) fn optimise(ir: &Ir<'_>, tm: &TargetMachine, level: &str) -> Result<(), String> {
    ir.m.set_triple(&tm.get_triple());
    ir.m.set_data_layout(&tm.get_target_data().get_data_layout());
    ir.m.run_passes(level, tm, PassBuilderOptions::create())
        .map_err(|e| format!("LLVM optimisation failed: {e}"))
}

/// PTX of every kernel of `m` for `sm_<sm>`, with the run parameters given.
pub(crate) fn ptx_for(m: &Module, plan: &Plan, sm: u32) -> Result<String, String> {
    let tm = nvptx_machine(sm)?;
    let cx = Context::create();
    let ir = generate(&cx, m, plan, true)?;
    optimise(&ir, &tm, "default<O3>")?;
    let buf = tm
        .write_to_memory_buffer(&ir.m, FileType::Assembly)
        .map_err(|e| format!("PTX generation failed: {e}"))?;
    String::from_utf8(buf.as_slice().to_vec()).map_err(|e| e.to_string())
}

/// PTX (text) of the module's kernels for `sm_<sm>` (80, 86, 87, 89, 90), in
/// f32 or f64, for one batch item and the module's seed (`snnc compile
/// --emit ptx`). Layout choices that depend on connectivity (per-synapse
/// weights/delays) follow the IR.
pub fn emit_ptx(valid: ValidModule<'_>, sm: u32, f32: bool) -> Result<String, String> {
    let m = valid.module();
    let sources = vec![false; m.populations.len()];
    let sources: Vec<bool> = sources
        .iter()
        .enumerate()
        .map(|(k, _)| {
            m.inputs
                .iter()
                .any(|i| i.population as usize == k && i.kind == crate::ir::InputKind::SpikeTrain)
        })
        .collect();
    let plan = Plan::new(m, 1, f32, m.seed, None, 1, 1, &sources);
    ptx_for(m, &plan, sm)
}

/// Text of the generated LLVM IR (before optimisation), for debugging.
pub fn emit_llvm(valid: ValidModule<'_>, f32: bool) -> Result<String, String> {
    let m = valid.module();
    let sources = vec![false; m.populations.len()];
    let plan = Plan::new(m, 1, f32, m.seed, None, 1, 1, &sources);
    let cx = Context::create();
    let ir = generate(&cx, m, &plan, true)?;
    Ok(ir.m.print_to_string().to_string())
}
