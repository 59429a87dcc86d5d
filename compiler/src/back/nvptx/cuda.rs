//! The CUDA executor (cudarc, driver API loaded at run time): PTX for the
//! device's architecture, every buffer uploaded once (state, parameters,
//! connectivity built on the host by the runtime crate) and kept on the
//! device; each step queues its kernels on one stream with no host
//! synchronisation (the step number lives in device memory, so every step's
//! launch sequence is identical); spikes come back every `chunk` steps from
//! the spike ring, states only on the steps a trace samples.
//!
//! Not verified on a GPU in this repository's CI (there is none): the PTX is
//! assembled by `ptxas` for sm_80/sm_90 and the kernels' logic is tested on
//! the host ([`super::host`]).

use std::sync::Arc;

use cudarc::driver::{
    CudaContext, CudaFunction, CudaSlice, CudaStream, LaunchConfig, PushKernelArg,
};

use super::driver::{self, Data, Device};
use super::host::HostOptions;
use super::kernels::{kernel_list, Elem, KernelKind, Plan};
use super::{backend_error, ptx_for, SUPPORTED_SM};
use crate::back::reference::{Outcome, Setup};
use crate::ir::ValidModule;
use snnc_runtime::RuntimeError;

const WHAT: &str = "CUDA";

fn cuda_err(e: impl std::fmt::Display) -> RuntimeError {
    backend_error(WHAT, e)
}

struct CudaDevice {
    stream: Arc<CudaStream>,
    f32: bool,
    bufs: Vec<Option<CudaSlice<u8>>>,
    ctx: Option<CudaSlice<u64>>,
    fns: Vec<(KernelKind, CudaFunction)>,
    block: u32,
}

impl CudaDevice {
    fn real_size(&self) -> usize {
        if self.f32 {
            4
        } else {
            8
        }
    }
    fn buf(&mut self, id: usize) -> Result<&mut CudaSlice<u8>, RuntimeError> {
        self.bufs
            .get_mut(id)
            .and_then(Option::as_mut)
            .ok_or_else(|| cuda_err("buffer missing (internal error)"))
    }
    fn write_bytes(&mut self, id: usize, at: usize, bytes: &[u8]) -> Result<(), RuntimeError> {
        let stream = self.stream.clone();
        let b = self.buf(id)?;
        let end = at + bytes.len();
        if end > b.len() {
            return Err(cuda_err("write out of range (internal error)"));
        }
        let mut view = b.slice_mut(at..end);
        stream.memcpy_htod(bytes, &mut view).map_err(cuda_err)
    }
    fn read_bytes(&mut self, id: usize, at: usize, len: usize) -> Result<Vec<u8>, RuntimeError> {
        let stream = self.stream.clone();
        let b = self.buf(id)?;
        let end = at + len;
        if end > b.len() {
            return Err(cuda_err("read out of range (internal error)"));
        }
        if len == 0 {
            return Ok(Vec::new());
        }
        let view = b.slice(at..end);
        stream.clone_dtoh(&view).map_err(cuda_err)
    }
}

impl Device for CudaDevice {
    fn create(&mut self, id: usize, _elem: Elem, data: Data) -> Result<(), RuntimeError> {
        let rs = self.real_size();
        let bytes: Vec<u8> = match data {
            Data::Real(v) if rs == 4 => v.iter().flat_map(|x| (*x as f32).to_ne_bytes()).collect(),
            Data::Real(v) => v.iter().flat_map(|x| x.to_ne_bytes()).collect(),
            Data::U32(v) => v.iter().flat_map(|x| x.to_ne_bytes()).collect(),
        };
        let mut bytes = bytes;
        if bytes.is_empty() {
            bytes.push(0);
        }
        let slice = self.stream.clone_htod(&bytes).map_err(cuda_err)?;
        while self.bufs.len() <= id {
            self.bufs.push(None);
        }
        self.bufs[id] = Some(slice);
        Ok(())
    }
    fn finish_setup(&mut self) -> Result<(), RuntimeError> {
        use cudarc::driver::DevicePtr;
        let mut addrs = Vec::with_capacity(self.bufs.len());
        for b in &self.bufs {
            let b = b
                .as_ref()
                .ok_or_else(|| cuda_err("buffer missing (internal error)"))?;
            let (ptr, _sync) = b.device_ptr(&self.stream);
            addrs.push(ptr);
        }
        self.ctx = Some(self.stream.clone_htod(&addrs).map_err(cuda_err)?);
        Ok(())
    }
    fn write_u32(&mut self, id: usize, offset: usize, data: &[u32]) -> Result<(), RuntimeError> {
        let bytes: Vec<u8> = data.iter().flat_map(|x| x.to_ne_bytes()).collect();
        self.write_bytes(id, offset * 4, &bytes)
    }
    fn write_real(&mut self, id: usize, offset: usize, data: &[f64]) -> Result<(), RuntimeError> {
        let rs = self.real_size();
        let bytes: Vec<u8> = if rs == 4 {
            data.iter()
                .flat_map(|x| (*x as f32).to_ne_bytes())
                .collect()
        } else {
            data.iter().flat_map(|x| x.to_ne_bytes()).collect()
        };
        self.write_bytes(id, offset * rs, &bytes)
    }
    fn read_u32(&mut self, id: usize, offset: usize, len: usize) -> Result<Vec<u32>, RuntimeError> {
        let b = self.read_bytes(id, offset * 4, len * 4)?;
        Ok(b.chunks_exact(4)
            .map(|c| u32::from_ne_bytes([c[0], c[1], c[2], c[3]]))
            .collect())
    }
    fn read_real(
        &mut self,
        id: usize,
        offset: usize,
        len: usize,
    ) -> Result<Vec<f64>, RuntimeError> {
        let rs = self.real_size();
        let b = self.read_bytes(id, offset * rs, len * rs)?;
        Ok(b.chunks_exact(rs)
            .map(|c| {
                if rs == 4 {
                    f64::from(f32::from_ne_bytes([c[0], c[1], c[2], c[3]]))
                } else {
                    let mut a = [0u8; 8];
                    a.copy_from_slice(c);
                    f64::from_ne_bytes(a)
                }
            })
            .collect())
    }
    fn launch(&mut self, kernel: &KernelKind, total: u64) -> Result<(), RuntimeError> {
        let f = self
            .fns
            .iter()
            .find(|(k, _)| k == kernel)
            .map(|(_, f)| f)
            .ok_or_else(|| cuda_err("kernel missing (internal error)"))?;
        let ctx = self
            .ctx
            .as_ref()
            .ok_or_else(|| cuda_err("launch before setup (internal error)"))?;
        let block = self.block;
        let grid = total.div_ceil(u64::from(block));
        let grid = u32::try_from(grid).map_err(|_| cuda_err("grid too large"))?;
        let cfg = LaunchConfig {
            grid_dim: (grid, 1, 1),
            block_dim: (block, 1, 1),
            shared_mem_bytes: 0,
        };
        let total = total as i64;
        let mut args = self.stream.launch_builder(f);
        args.arg(ctx).arg(&total);
        // SAFETY: the kernel's parameters are (global pointer, i64), as
        // generated; it touches only the buffers in `ctx` within their sizes.
        unsafe { args.launch(cfg) }.map_err(cuda_err)?;
        Ok(())
    }
    fn sync(&mut self) -> Result<(), RuntimeError> {
        self.stream.synchronize().map_err(cuda_err)
    }
}

/// Run on the first CUDA device. Without a driver or a GPU this returns one
/// clear sentence as an error (never a panic).
pub fn execute_cuda(valid: ValidModule<'_>, setup: Setup<'_>) -> Result<Outcome, RuntimeError> {
    execute_cuda_with(
        valid,
        setup,
        &HostOptions {
            chunk: 64,
            ..HostOptions::default()
        },
    )
}

/// [`execute_cuda`] with options.
pub fn execute_cuda_with(
    valid: ValidModule<'_>,
    setup: Setup<'_>,
    opts: &HostOptions,
) -> Result<Outcome, RuntimeError> {
    // SAFETY: only probes whether the driver library can be loaded.
    if !unsafe { cudarc::driver::sys::is_culib_present() } {
        return Err(cuda_err(
            "no CUDA driver (libcuda) was found on this machine; use --backend reference or cranelift",
        ));
    }
    let ctx = std::panic::catch_unwind(|| CudaContext::new(0))
        .map_err(|_| cuda_err("the CUDA driver could not be initialised"))?
        .map_err(|e| cuda_err(format!("no usable CUDA GPU: {e}")))?;
    let (major, minor) = ctx.compute_capability().map_err(cuda_err)?;
    let cc = (major as u32) * 10 + minor as u32;
    if cc < 80 {
        return Err(cuda_err(format!(
            "the GPU's compute capability {major}.{minor} is below 8.0 (sm_80), the oldest this backend targets"
        )));
    }
    // The newest architecture LLVM and we support that the device can run.
    let sm = SUPPORTED_SM
        .iter()
        .copied()
        .filter(|s| *s <= cc)
        .max()
        .unwrap_or(80);
    let m = valid.module();
    let nb = setup.batch.max(1);
    let slots = driver::ring_slots(setup.tables, opts.chunk);
    let sources: Vec<bool> = driver::sources(m, setup.inputs)
        .iter()
        .map(Option::is_some)
        .collect();
    let plan = Plan::new(
        m,
        nb,
        setup.f32,
        setup.seed,
        Some(setup.tables),
        slots,
        &sources,
    );
    let ptx = ptx_for(m, &plan, sm).map_err(cuda_err)?;
    let module = ctx
        .load_module(cudarc::nvrtc::Ptx::from_src(ptx))
        .map_err(cuda_err)?;
    let mut fns = Vec::new();
    for k in kernel_list(m) {
        let f = module.load_function(&k.name()).map_err(cuda_err)?;
        fns.push((k, f));
    }
    let mut dev = CudaDevice {
        stream: ctx.default_stream(),
        f32: setup.f32,
        bufs: Vec::new(),
        ctx: None,
        fns,
        block: opts.block.clamp(32, 1024),
    };
    driver::run(valid, setup, &mut dev, &plan, opts)
}
