//! The CUDA executor (cudarc, driver API loaded at run time): PTX for the
//! device's architecture, every buffer uploaded once (state, parameters,
//! connectivity built on the host by the runtime crate) and kept on the
//! device. The step loop is [`super::driver`]'s, in chunks:
//!
//! * **Launches**: one step's launch sequence is identical every step (the
//!   step number lives in device memory), so it is captured once into two
//!   CUDA graphs, one step and [`GRAPH_STEPS`] steps, and replayed (`n` steps
//!   = `n / GRAPH_STEPS` long replays + the rest one by one). If capture
//!   fails the kernels are launched one by one (a note on stderr says so).
//! * **Host-fed data** (array inputs, spike-train sources) goes up once per
//!   chunk through pinned staging buffers (two per device buffer, reused
//!   once their copy has finished) with async (2-D for spike rows) copies on
//!   the compute stream.
//! * **Readback** (spike counters, state snapshots taken by device-to-device
//!   copies, then the spike rows) runs on a second stream, after an event
//!   recorded on the compute stream, into pinned host buffers; the host only
//!   waits for a chunk's data one or two chunks later, so the compute stream
//!   never idles on the host.
//!
//! cudarc's automatic event tracking is off (it would make captured launches
//! wait on events recorded outside the capture): the two streams are ordered
//! by the explicit events above.
//!
//! Not verified on a GPU in this repository (none was available): the PTX
//! is assembled by `ptxas` for sm_80/sm_90, and the driver loop and kernels
//! are tested on the host ([`super::host`]).

use std::collections::HashMap;
use std::sync::Arc;

use cudarc::driver::{
    result, sys, CudaContext, CudaEvent, CudaFunction, CudaGraph, CudaSlice, CudaStream,
    DriverError, LaunchConfig, PinnedHostSlice, PushKernelArg,
};

use super::driver::{self, Data, Device, Region};
use super::host::{decode, HostOptions};
use super::kernels::{kernel_list, Elem, KernelKind, Plan};
use super::{ptx_for, SUPPORTED_SM};
use crate::back::{BackendError, ExecError, Outcome, Setup};
use crate::ir::ValidModule;

/// Steps per replay of the long graph.
pub const GRAPH_STEPS: u64 = 16;

/// A failed call of the CUDA driver as the run's error.
fn driver_call(call: &'static str) -> impl Fn(DriverError) -> BackendError {
    move |e| BackendError::CudaDriver {
        call,
        code: e.0 as i32,
        message: e
            .error_string()
            .map_or_else(|_| format!("{e:?}"), |s| s.to_string_lossy().into_owned()),
    }
}

/// A broken invariant of the CUDA device (a bug).
fn internal(what: &'static str) -> BackendError {
    BackendError::Internal {
        backend: "CUDA",
        what,
    }
}

/// Pinned staging of one device buffer's uploads: two buffers, alternating,
/// each with the event of its last copy.
#[derive(Default)]
struct Staging {
    slots: [Option<(PinnedHostSlice<u8>, CudaEvent)>; 2],
    next: usize,
}

/// A queued read: per region its pinned destination (None when empty).
struct Pending {
    dst: Vec<(Region, usize, Option<PinnedHostSlice<u8>>)>,
    done: CudaEvent,
}

struct CudaDevice {
    ctx: Arc<CudaContext>,
    /// Compute stream (kernels, uploads, snapshots; captured into graphs).
    stream: Arc<CudaStream>,
    /// Readback stream.
    copy: Arc<CudaStream>,
    f32: bool,
    bufs: Vec<Option<CudaSlice<u8>>>,
    /// Device addresses of `bufs`.
    ptrs: Vec<u64>,
    table: Option<CudaSlice<u64>>,
    fns: Vec<(KernelKind, CudaFunction)>,
    block: u32,
    /// One step: (index into `fns`, threads).
    seq: Vec<(usize, u64)>,
    /// (one step, `GRAPH_STEPS` steps), or None: plain launches.
    graphs: Option<(CudaGraph, CudaGraph)>,
    staging: HashMap<usize, Staging>,
    reads: Vec<Option<Pending>>,
    /// Free pinned read buffers.
    pool: Vec<PinnedHostSlice<u8>>,
}

/// One 2-D copy (`height` rows of `width` bytes) on `stream`.
///
/// # Safety
/// The addresses must be valid for the extents given, and host memory must
/// be pinned and stay alive until the copy has run.
#[allow(clippy::too_many_arguments)]
unsafe fn copy_2d(
    stream: &CudaStream,
    src: (sys::CUmemorytype, u64, usize),
    dst: (sys::CUmemorytype, u64, usize),
    width: usize,
    height: usize,
) -> Result<(), BackendError> {
    // SAFETY: plain-old-data struct; unused fields (arrays) stay null.
    let mut p: sys::CUDA_MEMCPY2D = unsafe { std::mem::zeroed() };
    p.srcMemoryType = src.0;
    p.dstMemoryType = dst.0;
    if src.0 == sys::CUmemorytype::CU_MEMORYTYPE_HOST {
        p.srcHost = src.1 as *const std::ffi::c_void;
    } else {
        p.srcDevice = src.1;
    }
    if dst.0 == sys::CUmemorytype::CU_MEMORYTYPE_HOST {
        p.dstHost = dst.1 as *mut std::ffi::c_void;
    } else {
        p.dstDevice = dst.1;
    }
    p.srcPitch = src.2;
    p.dstPitch = dst.2;
    p.WidthInBytes = width;
    p.Height = height;
    // SAFETY: as the caller promises.
    unsafe { sys::cuMemcpy2DAsync_v2(&p, stream.cu_stream()) }
        .result()
        .map_err(driver_call("cuMemcpy2DAsync"))
}

impl CudaDevice {
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
    fn encode(&self, data: &Data) -> Vec<u8> {
        match data {
            Data::Real(v) if self.f32 => v.iter().flat_map(|x| (*x as f32).to_ne_bytes()).collect(),
            Data::Real(v) => v.iter().flat_map(|x| x.to_ne_bytes()).collect(),
            Data::U32(v) => v.iter().flat_map(|x| x.to_ne_bytes()).collect(),
        }
    }
    /// Device address of element `at` of buffer `id` (checked against `end`).
    fn addr(&self, id: usize, es: usize, at: usize, end: usize) -> Result<u64, BackendError> {
        let b = self
            .bufs
            .get(id)
            .and_then(Option::as_ref)
            .ok_or_else(|| internal("buffer missing"))?;
        if end * es > b.len() {
            return Err(internal("access out of range"));
        }
        Ok(self.ptrs[id] + (at * es) as u64)
    }
    fn launch_one(&self, f: usize, total: u64) -> Result<(), BackendError> {
        let f = &self.fns[f].1;
        let table = self
            .table
            .as_ref()
            .ok_or_else(|| internal("launch before setup"))?;
        let block = self.block;
        let grid = total.div_ceil(u64::from(block));
        let grid = u32::try_from(grid).map_err(|_| BackendError::IndexOverflow {
            what: "blocks of a launch",
            value: grid,
        })?;
        let cfg = LaunchConfig {
            grid_dim: (grid, 1, 1),
            block_dim: (block, 1, 1),
            shared_mem_bytes: 0,
        };
        let total = total as i64;
        let mut args = self.stream.launch_builder(f);
        args.arg(table).arg(&total);
        // SAFETY: the kernel's parameters are (global pointer, i64), as
        // generated; it touches only the buffers in `ctx` within their sizes.
        unsafe { args.launch(cfg) }.map_err(driver_call("cuLaunchKernel"))?;
        Ok(())
    }
    fn launch_seq(&self) -> Result<(), BackendError> {
        for &(f, total) in &self.seq {
            self.launch_one(f, total)?;
        }
        Ok(())
    }
    /// Captures `n` steps as a graph.
    fn capture(&self, n: u64) -> Result<CudaGraph, BackendError> {
        self.stream
            .begin_capture(sys::CUstreamCaptureMode::CU_STREAM_CAPTURE_MODE_THREAD_LOCAL)
            .map_err(driver_call("cuStreamBeginCapture"))?;
        let queued = (0..n).try_for_each(|_| self.launch_seq());
        // Always end the capture, so the stream is usable afterwards.
        let graph = self
            .stream
            .end_capture(sys::CUgraphInstantiate_flags(0))
            .map_err(driver_call("cuStreamEndCapture"));
        queued?;
        let graph = graph?.ok_or_else(|| internal("the captured graph is empty"))?;
        graph.upload().map_err(driver_call("cuGraphUpload"))?;
        Ok(graph)
    }
    /// A free pinned read buffer of at least `bytes`.
    fn pinned(&mut self, bytes: usize) -> Result<PinnedHostSlice<u8>, BackendError> {
        let best = self
            .pool
            .iter()
            .enumerate()
            .filter(|(_, p)| p.len() >= bytes)
            .min_by_key(|(_, p)| p.len())
            .map(|(i, _)| i);
        match best {
            Some(i) => Ok(self.pool.swap_remove(i)),
            // SAFETY: contents are written by the copy before being read.
            // Flags 0: cached (not write-combined) memory, read by the host.
            None => unsafe {
                self.ctx
                    .alloc_pinned_with_flags::<u8>(bytes.next_power_of_two().max(4096), 0)
            }
            .map_err(driver_call("cuMemHostAlloc")),
        }
    }
}

impl Device for CudaDevice {
    fn create(&mut self, id: usize, _elem: Elem, data: Data) -> Result<(), BackendError> {
        let mut bytes = self.encode(&data);
        if bytes.is_empty() {
            bytes.push(0);
        }
        let slice = self
            .stream
            .clone_htod(&bytes)
            .map_err(driver_call("cuMemcpyHtoDAsync"))?;
        while self.bufs.len() <= id {
            self.bufs.push(None);
        }
        self.bufs[id] = Some(slice);
        Ok(())
    }
    fn finish_setup(&mut self, launches: &[(KernelKind, u64)]) -> Result<(), BackendError> {
        use cudarc::driver::DevicePtr;
        let mut addrs = Vec::with_capacity(self.bufs.len());
        for b in &self.bufs {
            let b = b.as_ref().ok_or_else(|| internal("buffer missing"))?;
            let (ptr, _sync) = b.device_ptr(&self.stream);
            addrs.push(ptr);
        }
        self.table = Some(
            self.stream
                .clone_htod(&addrs)
                .map_err(driver_call("cuMemcpyHtoDAsync"))?,
        );
        self.ptrs = addrs;
        self.seq.clear();
        for (kernel, total) in launches {
            let f = self
                .fns
                .iter()
                .position(|(k, _)| k == kernel)
                .ok_or_else(|| internal("kernel missing"))?;
            self.seq.push((f, *total));
        }
        self.stream
            .synchronize()
            .map_err(driver_call("cuStreamSynchronize"))?;
        let graphs = self
            .capture(1)
            .and_then(|one| Ok((one, self.capture(GRAPH_STEPS)?)));
        match graphs {
            Ok(g) => self.graphs = Some(g),
            Err(e) => {
                eprintln!(
                    "note: CUDA graph capture failed ({e}); launching the kernels one by one"
                );
                // A failed capture may leave an error on the stream: check it.
                self.stream
                    .synchronize()
                    .map_err(driver_call("cuStreamSynchronize"))?;
            }
        }
        Ok(())
    }
    fn write(&mut self, r: Region, data: Data) -> Result<(), BackendError> {
        let es = self.size_of(r.elem);
        let bytes = self.encode(&data);
        if bytes.len() != r.count() * es {
            return Err(internal("write of the wrong size"));
        }
        if bytes.is_empty() {
            return Ok(());
        }
        let dst = self.addr(r.id, es, r.offset, r.end())?;
        let mut st = self.staging.remove(&r.id).unwrap_or_default();
        let k = st.next;
        st.next ^= 1;
        let mut buf = match st.slots[k].take() {
            Some((buf, done)) => {
                // Its previous copy (two writes ago) must have run.
                done.synchronize()
                    .map_err(driver_call("cuEventSynchronize"))?;
                if buf.len() >= bytes.len() {
                    Some(buf)
                } else {
                    None
                }
            }
            None => None,
        };
        if buf.is_none() {
            // SAFETY: fully written below before any copy reads it.
            buf = Some(
                unsafe { self.ctx.alloc_pinned::<u8>(bytes.len().next_power_of_two()) }
                    .map_err(driver_call("cuMemHostAlloc"))?,
            );
        }
        let mut buf = buf.expect("set above");
        buf.as_mut_slice()
            .map_err(driver_call("cuEventSynchronize"))?[..bytes.len()]
            .copy_from_slice(&bytes);
        let src = buf.as_ptr().map_err(driver_call("cuEventSynchronize"))? as u64;
        // SAFETY: pinned source alive until `done` (kept in `staging`);
        // destination checked by `addr`.
        unsafe {
            copy_2d(
                &self.stream,
                (sys::CUmemorytype::CU_MEMORYTYPE_HOST, src, r.len * es),
                (sys::CUmemorytype::CU_MEMORYTYPE_DEVICE, dst, r.stride * es),
                r.len * es,
                r.rows,
            )?;
        }
        let done = self
            .stream
            .record_event(None)
            .map_err(driver_call("cuEventRecord"))?;
        st.slots[k] = Some((buf, done));
        self.staging.insert(r.id, st);
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
        if len == 0 {
            return Ok(());
        }
        let es = self.size_of(elem);
        let s = self.addr(src, es, src_off, src_off + len)?;
        let d = self.addr(dst, es, dst_off, dst_off + len)?;
        // SAFETY: both ranges checked by `addr`.
        unsafe { result::memcpy_dtod_async(d, s, len * es, self.stream.cu_stream()) }
            .map_err(driver_call("cuMemcpyDtoDAsync"))
    }
    fn steps(&mut self, n: u64) -> Result<(), BackendError> {
        match &self.graphs {
            Some((one, long)) => {
                for _ in 0..n / GRAPH_STEPS {
                    long.launch().map_err(driver_call("cuGraphLaunch"))?;
                }
                for _ in 0..n % GRAPH_STEPS {
                    one.launch().map_err(driver_call("cuGraphLaunch"))?;
                }
            }
            None => {
                for _ in 0..n {
                    self.launch_seq()?;
                }
            }
        }
        Ok(())
    }
    fn read_async(&mut self, regions: &[Region]) -> Result<usize, BackendError> {
        // The copy stream starts after everything queued on the compute one.
        let ready = self
            .stream
            .record_event(None)
            .map_err(driver_call("cuEventRecord"))?;
        self.copy
            .wait(&ready)
            .map_err(driver_call("cuStreamWaitEvent"))?;
        let mut dst = Vec::with_capacity(regions.len());
        for r in regions {
            let es = self.size_of(r.elem);
            let bytes = r.count() * es;
            if bytes == 0 {
                dst.push((*r, 0, None));
                continue;
            }
            let src = self.addr(r.id, es, r.offset, r.end())?;
            let mut buf = self.pinned(bytes)?;
            let host = buf
                .as_mut_ptr()
                .map_err(driver_call("cuEventSynchronize"))? as u64;
            // SAFETY: pinned destination of at least `bytes`, kept in
            // `reads` until the wait; source checked by `addr`.
            unsafe {
                copy_2d(
                    &self.copy,
                    (sys::CUmemorytype::CU_MEMORYTYPE_DEVICE, src, r.stride * es),
                    (sys::CUmemorytype::CU_MEMORYTYPE_HOST, host, r.len * es),
                    r.len * es,
                    r.rows,
                )?;
            }
            dst.push((*r, bytes, Some(buf)));
        }
        let done = self
            .copy
            .record_event(None)
            .map_err(driver_call("cuEventRecord"))?;
        self.reads.push(Some(Pending { dst, done }));
        Ok(self.reads.len() - 1)
    }
    fn wait_read(&mut self, ticket: usize) -> Result<Vec<Data>, BackendError> {
        let p = self
            .reads
            .get_mut(ticket)
            .and_then(Option::take)
            .ok_or_else(|| internal("unknown read ticket"))?;
        p.done
            .synchronize()
            .map_err(driver_call("cuEventSynchronize"))?;
        let mut out = Vec::with_capacity(p.dst.len());
        for (r, bytes, buf) in p.dst {
            match buf {
                Some(buf) => {
                    let raw = &buf.as_slice().map_err(driver_call("cuEventSynchronize"))?[..bytes];
                    out.push(decode(raw, r.elem, self.f32));
                    self.pool.push(buf);
                }
                None => out.push(decode(&[], r.elem, self.f32)),
            }
        }
        Ok(out)
    }
    fn sync(&mut self) -> Result<(), BackendError> {
        self.stream
            .synchronize()
            .map_err(driver_call("cuStreamSynchronize"))?;
        self.copy
            .synchronize()
            .map_err(driver_call("cuStreamSynchronize"))
    }
}

/// The GPU as an [`Executor`](crate::back::Executor).
pub struct Cuda;

impl crate::back::Executor for Cuda {
    fn name(&self) -> &'static str {
        "cuda"
    }
    fn execute(&mut self, valid: ValidModule<'_>, setup: Setup<'_>) -> Result<Outcome, ExecError> {
        execute_cuda(valid, setup)
    }
}

/// Run on the first CUDA device. Without a driver or a GPU this returns one
/// clear sentence as an error (never a panic).
pub fn execute_cuda(valid: ValidModule<'_>, setup: Setup<'_>) -> Result<Outcome, ExecError> {
    execute_cuda_with(
        valid,
        setup,
        &HostOptions {
            chunk: 32,
            ..HostOptions::default()
        },
    )
}

/// [`execute_cuda`] with options.
pub fn execute_cuda_with(
    valid: ValidModule<'_>,
    setup: Setup<'_>,
    opts: &HostOptions,
) -> Result<Outcome, ExecError> {
    // SAFETY: only probes whether the driver library can be loaded.
    if !unsafe { cudarc::driver::sys::is_culib_present() } {
        return Err(BackendError::NoCudaDriver.into());
    }
    let ctx = std::panic::catch_unwind(|| CudaContext::new(0))
        .map_err(|_| BackendError::NoCudaDevice {
            reason: "the CUDA driver could not be initialised".into(),
        })?
        .map_err(|e| BackendError::NoCudaDevice {
            reason: e.to_string(),
        })?;
    // SAFETY: streams are ordered by explicit events (see the module docs);
    // set before any buffer exists, so none of them tracks events.
    unsafe { ctx.disable_event_tracking() };
    let (major, minor) = ctx
        .compute_capability()
        .map_err(driver_call("cuDeviceGetAttribute"))?;
    let cc = (major as u32) * 10 + minor as u32;
    if cc < 80 {
        return Err(BackendError::OldGpu { major, minor }.into());
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
    // Refuse before allocating: a run that cannot fit fails here with the
    // numbers, not halfway through the allocations.
    let need = driver::device_bytes(m, &setup, opts, &plan, &lay);
    let (free, total) = ctx.mem_get_info().map_err(driver_call("cuMemGetInfo"))?;
    if need > free as u64 {
        return Err(BackendError::GpuMemory {
            need,
            free: free as u64,
            total: total as u64,
        }
        .into());
    }
    let ptx = ptx_for(m, &plan, sm).map_err(|message| BackendError::CodeGen {
        target: "PTX",
        message,
    })?;
    let module = ctx
        .load_module(cudarc::nvrtc::Ptx::from_src(ptx))
        .map_err(driver_call("cuModuleLoadData"))?;
    let mut fns = Vec::new();
    for k in kernel_list(m) {
        let f = module
            .load_function(&k.name())
            .map_err(driver_call("cuModuleGetFunction"))?;
        fns.push((k, f));
    }
    let stream = ctx.new_stream().map_err(driver_call("cuStreamCreate"))?;
    let copy = ctx.new_stream().map_err(driver_call("cuStreamCreate"))?;
    let mut dev = CudaDevice {
        ctx: ctx.clone(),
        stream,
        copy,
        f32: setup.f32,
        bufs: Vec::new(),
        ptrs: Vec::new(),
        table: None,
        fns,
        block: opts.block.clamp(32, 1024),
        seq: Vec::new(),
        graphs: None,
        staging: HashMap::new(),
        reads: Vec::new(),
        pool: Vec::new(),
    };
    driver::run(valid, setup, &mut dev, &plan, opts)
}
