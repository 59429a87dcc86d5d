//! Why an executor failed: its own failures ([`BackendError`]: code
//! generation, worker threads, the CUDA driver) beside the runtime's
//! ([`RuntimeError`]: memory, tables, and whatever the run's callbacks
//! return, an interrupt or a divergence among them).

use std::fmt;

use snnc_runtime::RuntimeError;

/// A backend that could not prepare or run a model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BackendError {
    /// The Cranelift JIT could not compile the model's kernels (a code
    /// generator bug).
    JitCompile { message: String },
    /// A JIT worker thread panicked (a bug): its index and panic message.
    WorkerPanicked { thread: usize, message: String },
    /// This snnc was built without the `cuda` feature.
    NoCudaFeature,
    /// No CUDA driver library (libcuda) on this machine.
    NoCudaDriver,
    /// The CUDA driver loaded but offers no usable GPU.
    NoCudaDevice { reason: String },
    /// The GPU is older than the oldest architecture the backend targets.
    OldGpu { major: i32, minor: i32 },
    /// The run needs more GPU memory than is free (bytes).
    GpuMemory { need: u64, free: u64, total: u64 },
    /// A call into the CUDA driver failed: the call, the driver's result
    /// code and its description.
    CudaDriver {
        call: &'static str,
        code: i32,
        message: String,
    },
    /// LLVM could not generate the GPU kernels (`target`: "PTX" or "host").
    CodeGen {
        target: &'static str,
        message: String,
    },
    /// A count exceeds the 32-bit indices of the GPU kernels.
    IndexOverflow { what: &'static str, value: u64 },
    /// An invariant of the backend does not hold (a bug).
    Internal {
        backend: &'static str,
        what: &'static str,
    },
}

impl BackendError {
    /// The backend in messages (`--backend` value, or the GPU path).
    #[must_use]
    pub fn backend(&self) -> &'static str {
        match self {
            BackendError::JitCompile { .. } | BackendError::WorkerPanicked { .. } => "cranelift",
            BackendError::CodeGen { target: "host", .. } => "NVPTX host",
            BackendError::Internal { backend, .. } => backend,
            BackendError::IndexOverflow { .. } => "NVPTX",
            _ => "CUDA",
        }
    }
}

impl fmt::Display for BackendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} backend: ", self.backend())?;
        match self {
            BackendError::JitCompile { message } => {
                write!(f, "the JIT could not compile the kernels: {message}")
            }
            BackendError::WorkerPanicked { thread, message } => {
                write!(f, "worker thread {thread} panicked: {message}")
            }
            BackendError::NoCudaFeature => f.write_str(crate::run::NO_CUDA_FEATURE),
            BackendError::NoCudaDriver => f.write_str(
                "no CUDA driver (libcuda) was found on this machine; use --backend reference or cranelift",
            ),
            BackendError::NoCudaDevice { reason } => write!(f, "no usable CUDA GPU: {reason}"),
            BackendError::OldGpu { major, minor } => write!(
                f,
                "the GPU's compute capability {major}.{minor} is below 8.0 (sm_80), the oldest this backend targets"
            ),
            BackendError::GpuMemory { need, free, total } => {
                use snnc_runtime::error::human_bytes;
                write!(
                    f,
                    "the run needs {} of GPU memory (state, connectivity, spike ring, staging) but GPU 0 has {} free of {}; use a smaller --batch or --backend cranelift",
                    human_bytes(*need),
                    human_bytes(*free),
                    human_bytes(*total)
                )
            }
            BackendError::CudaDriver {
                call,
                code,
                message,
            } => write!(f, "{call} failed: {message} (CUresult {code})"),
            BackendError::CodeGen { target, message } => {
                write!(f, "generating the {target} kernels failed: {message}")
            }
            BackendError::IndexOverflow { what, value } => write!(
                f,
                "{what} ({value}) exceeds the 32-bit indices of the GPU kernels"
            ),
            BackendError::Internal { what, .. } => write!(f, "{what} (internal error)"),
        }
    }
}

impl std::error::Error for BackendError {}

/// Why a run on an executor failed.
#[derive(Debug)]
pub enum ExecError {
    /// Memory, tables, or a callback's error (an interrupt, a divergence,
    /// a recording that could not be written).
    Runtime(RuntimeError),
    /// The backend itself.
    Backend(BackendError),
}

impl fmt::Display for ExecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExecError::Runtime(e) => write!(f, "{e}"),
            ExecError::Backend(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for ExecError {}

impl From<RuntimeError> for ExecError {
    fn from(e: RuntimeError) -> Self {
        ExecError::Runtime(e)
    }
}

impl From<BackendError> for ExecError {
    fn from(e: BackendError) -> Self {
        ExecError::Backend(e)
    }
}

#[cfg(test)]
mod tests {
    use super::{BackendError, ExecError};
    use crate::run::RunError;
    use snnc_runtime::RuntimeError;

    #[test]
    fn executor_errors_reach_the_run_by_kind() {
        let backend: RunError = ExecError::from(BackendError::NoCudaFeature).into();
        assert!(matches!(
            backend,
            RunError::Backend(BackendError::NoCudaFeature)
        ));
        assert!(backend.to_string().contains("--features cuda"), "{backend}");
        let stop = RuntimeError::Interrupted { signal: 2, step: 7 };
        let runtime: RunError = ExecError::from(stop).into();
        assert!(matches!(
            runtime,
            RunError::Runtime(RuntimeError::Interrupted { step: 7, .. })
        ));
    }

    #[test]
    fn messages_name_the_backend_and_the_failure() {
        let panicked = BackendError::WorkerPanicked {
            thread: 3,
            message: "index out of bounds".into(),
        };
        assert_eq!(
            panicked.to_string(),
            "cranelift backend: worker thread 3 panicked: index out of bounds"
        );
        let driver = BackendError::CudaDriver {
            call: "cuMemAlloc",
            code: 2,
            message: "out of memory".into(),
        };
        assert_eq!(
            driver.to_string(),
            "CUDA backend: cuMemAlloc failed: out of memory (CUresult 2)"
        );
        let host = BackendError::CodeGen {
            target: "host",
            message: "bad IR".into(),
        };
        assert!(host.to_string().starts_with("NVPTX host backend: "));
        let gpu = BackendError::GpuMemory {
            need: 3 << 30,
            free: 1 << 30,
            total: 2 << 30,
        };
        assert!(gpu.to_string().contains("free of"), "{gpu}");
    }
}
