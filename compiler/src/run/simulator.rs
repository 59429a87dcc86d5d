//! Compile once, run many: a network kept with its JIT kernels, run again
//! and again with other param values, inputs, durations, batch sizes or
//! sweeps, recording to memory. Only what changes the generated code (the
//! set of params kept as loads, the precision, the seed, table facts)
//! compiles anew; [`Simulator::compiles`] counts it. The synapse tables of
//! the last seed are kept too (connectivity read from files is read again
//! every run).

use std::path::PathBuf;

use super::{simulate, InputSource, RecordTo, RunError, RunIo, RunOptions, RunOutput, TableCache};
use crate::back::cranelift::JitCache;
use crate::ir::Module;
use snnc_runtime::array_file::NumericArray;

/// A lowered network ready to run repeatedly.
#[derive(Debug)]
pub struct Simulator {
    module: Module,
    model_dir: PathBuf,
    jit: JitCache,
    tables: TableCache,
}

impl Simulator {
    /// `model_dir`: the folder relative paths in the model
    /// (`connect from "edges.npy"`) are read from.
    #[must_use]
    pub fn new(module: Module, model_dir: PathBuf) -> Self {
        Self {
            module,
            model_dir,
            jit: JitCache::default(),
            tables: TableCache::default(),
        }
    }

    #[must_use]
    pub fn module(&self) -> &Module {
        &self.module
    }

    /// Times kernels were generated so far (JIT backend).
    #[must_use]
    pub fn compiles(&self) -> u64 {
        self.jit.compiles()
    }

    /// Run as `opts` say (its `inputs`, `out_dir` and `model_dir` are not
    /// used), with `inputs` by name, recording to memory; `stop` is asked
    /// between chunks of steps whether to end the run early.
    pub fn run<'a>(
        &'a mut self,
        opts: &RunOptions,
        inputs: &'a [(String, NumericArray)],
        stop: Option<&'a mut dyn FnMut() -> bool>,
    ) -> Result<RunOutput, RunError> {
        let opts = RunOptions {
            model_dir: self.model_dir.clone(),
            ..opts.clone()
        };
        let io = RunIo {
            inputs: InputSource::Arrays(inputs),
            record: RecordTo::Memory,
            jit: &mut self.jit,
            tables: Some(&mut self.tables),
            stop,
        };
        simulate(&self.module, &opts, io)
    }
}
