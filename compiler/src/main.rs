//! The `snnc` command line: `check`, `compile`, `run`, `plot`, `doc`, `lsp`.
//!
//! Everything here is I/O and argument handling; the work happens in the
//! library (front → ir → back).

mod cli;
mod reference_cli;

use clap::{Parser, Subcommand, ValueEnum};
use snnc::diagnostic::{not_utf8, render_json, render_text};
use snnc::source::{DiskLoader, ReadError};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "snnc",
    version,
    about = "A compiler for spiking-neural-network models"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    /// rustc-style text on stderr
    Text,
    /// a JSON array of diagnostics on stdout
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Parse and check model files (imports, names, units); report every error with its location.
    Check {
        /// The `.snn` files to check.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
    },
    /// Compile a model's network and print it: the IR (`--emit ir`, default) or native code.
    Compile {
        /// The `.snn` file holding the network.
        file: PathBuf,
        #[arg(long, value_enum, default_value = "ir")]
        emit: Emit,
        /// GPU architecture for `--emit ptx` (80 = A100; its PTX also runs on 86–90, e.g. H100).
        #[arg(long, default_value_t = 80)]
        sm: u32,
        /// Which network, when the file defines several.
        #[arg(long)]
        network: Option<String>,
    },
    /// Simulate a model's network and write spikes, traces and summary.json.
    Run {
        /// The `.snn` file holding the network.
        file: PathBuf,
        /// Which network, when the file defines several.
        #[arg(long)]
        network: Option<String>,
        /// Simulated time, e.g. `1s`, `200ms` (default: the network's `duration`).
        #[arg(long)]
        duration: Option<String>,
        /// Independent trials run together (sharing connectivity).
        #[arg(long, default_value_t = 1)]
        batch: usize,
        /// Random seed (default: the network's `seed`).
        #[arg(long)]
        seed: Option<u64>,
        /// Bind a stimulus to a file: `--input drive=drive.npy` (repeatable).
        #[arg(long = "input", value_name = "NAME=FILE")]
        inputs: Vec<String>,
        /// Vary a param across the batch: `E.tau=10ms:30ms` (evenly spaced) or `E.tau=5ms,10ms,20ms` (sets the batch); repeatable.
        #[arg(long = "sweep", value_name = "POP.PARAM=FROM:TO")]
        sweeps: Vec<String>,
        /// Output folder (default: results/<model name>).
        #[arg(long)]
        out: Option<PathBuf>,
        #[arg(long, value_enum, default_value = "cranelift")]
        backend: BackendArg,
        /// Floating-point precision of the state (default: f32 on cranelift, f64 on reference).
        #[arg(long, value_enum)]
        precision: Option<PrecisionArg>,
        /// No progress bar and no summary table.
        #[arg(long, short)]
        quiet: bool,
        /// Worker threads of the cranelift backend (default: chosen from the
        /// model's work per step and the free cores; results are the same for
        /// every count).
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1024))]
        threads: Option<u32>,
    },
    /// Draw a run's results (spike raster, population rate, traces) to PNG and SVG.
    Plot(reference_cli::PlotArgs),
    /// Write a model reference (Markdown, HTML) of the standard library and of model files.
    Doc(reference_cli::DocArgs),
    /// Run the language server on stdin/stdout (for editors).
    Lsp,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Check { files, format } => check(&files, format),
        Command::Compile {
            file,
            emit,
            sm,
            network,
        } => compile(&file, emit, sm, network.as_deref()),
        Command::Run {
            file,
            network,
            duration,
            batch,
            seed,
            inputs,
            sweeps,
            out,
            backend,
            precision,
            quiet,
            threads,
        } => cli::run(cli::RunArgs {
            model: file,
            network,
            duration,
            batch,
            seed,
            inputs,
            out,
            backend: match backend {
                BackendArg::Reference => snnc::run::Backend::Reference,
                BackendArg::Cranelift => snnc::run::Backend::Cranelift,
                BackendArg::Cuda => snnc::run::Backend::Cuda,
            },
            precision: precision.map(|p| match p {
                PrecisionArg::F32 => snnc::run::Precision::F32,
                PrecisionArg::F64 => snnc::run::Precision::F64,
            }),
            sweeps,
            quiet,
            threads: threads.map(|n| n as usize),
        }),
        Command::Plot(args) => reference_cli::plot(args),
        Command::Doc(args) => reference_cli::doc(args),
        Command::Lsp => ExitCode::from(snnc::lsp::run() as u8),
    }
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Emit {
    /// the IR: populations, fused step code, projections (readable text)
    Ir,
    /// the step program: the kernels of one time step in order, with their statements
    Kernels,
    /// Cranelift IR of every JIT kernel (f32, as `snnc run` uses by default)
    Clif,
    /// Cranelift IR of every JIT kernel in f64
    ClifF64,
    /// PTX of the GPU kernels (f32; builds with the `cuda` feature)
    Ptx,
    /// PTX of the GPU kernels in f64
    PtxF64,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum BackendArg {
    /// native code through the Cranelift JIT (default; f32 unless --precision f64)
    Cranelift,
    /// the plain f64 interpreter (the oracle other backends are tested against)
    Reference,
    /// NVPTX kernels on an NVIDIA GPU (builds with the `cuda` feature; f32 unless --precision f64)
    Cuda,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum PrecisionArg {
    F32,
    F64,
}

fn compile(file: &std::path::Path, emit: Emit, sm: u32, network: Option<&str>) -> ExitCode {
    let (_, module) = match cli::compile_file(file, network) {
        Ok(x) => x,
        Err(code) => return code,
    };
    use std::io::Write;
    match emit {
        Emit::Ir => {
            let _ = write!(std::io::stdout(), "{module}");
        }
        Emit::Kernels => {
            let valid = match snnc::ir::validate(&module) {
                Ok(v) => v,
                Err(e) => {
                    eprintln!("internal error: the compiled module is invalid: {e:?}");
                    return ExitCode::from(3);
                }
            };
            let program = snnc::kernel::schedule(&valid);
            let _ = write!(
                std::io::stdout(),
                "{}",
                snnc::kernel::print::program(&module, &program)
            );
        }
        Emit::Clif | Emit::ClifF64 | Emit::Ptx | Emit::PtxF64 => {
            // What runs: parameters folded into constants, as `snnc run` does.
            let folded = snnc::ir::fold::fold_params(&module, &|_, _| false);
            let valid = match snnc::ir::validate(&folded) {
                Ok(v) => v,
                Err(e) => {
                    eprintln!("internal error: the compiled module is invalid: {e:?}");
                    return ExitCode::from(3);
                }
            };
            let text = match emit {
                Emit::Clif | Emit::ClifF64 => {
                    snnc::back::cranelift::emit_clif(valid, emit == Emit::Clif)
                        .map_err(|e| e.to_string())
                }
                _ => emit_ptx(valid, sm, emit == Emit::Ptx),
            };
            match text {
                Ok(text) => {
                    let _ = write!(std::io::stdout(), "{text}");
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    return ExitCode::from(1);
                }
            }
        }
    }
    ExitCode::SUCCESS
}

#[cfg(feature = "cuda")]
fn emit_ptx(valid: snnc::ir::ValidModule<'_>, sm: u32, f32: bool) -> Result<String, String> {
    snnc::back::nvptx::emit_ptx(valid, sm, f32)
}

#[cfg(not(feature = "cuda"))]
fn emit_ptx(_: snnc::ir::ValidModule<'_>, _: u32, _: bool) -> Result<String, String> {
    Err(snnc::run::NO_CUDA_FEATURE.to_string())
}

fn check(files: &[PathBuf], format: Format) -> ExitCode {
    let mut failed = false;
    let mut json_items: Vec<serde_json::Value> = Vec::new();
    for path in files {
        let name = path.display().to_string();
        let (diagnostics, sources) = match snnc::source::read_text(path) {
            Ok(text) => {
                let out = snnc::pipeline::check_all(&name, &text, &DiskLoader);
                (out.diagnostics, out.sources)
            }
            Err(ReadError::NotUtf8 { lossy, offset }) => not_utf8(&name, lossy, offset),
            Err(ReadError::Io(e)) => {
                eprintln!("error: cannot read `{name}`: {e}");
                return ExitCode::from(2);
            }
        };
        let errors = diagnostics.iter().filter(|d| d.is_error()).count();
        failed |= errors > 0;
        match format {
            Format::Text => {
                let color = std::io::stderr().is_terminal();
                eprint!("{}", render_text(&diagnostics, &sources, color));
                if errors > 0 {
                    eprintln!(
                        "error: `{name}` has {errors} error{}",
                        if errors == 1 { "" } else { "s" }
                    );
                } else {
                    eprintln!("ok: {name}");
                }
            }
            Format::Json => {
                let rendered = render_json(&diagnostics, &sources);
                if let Ok(serde_json::Value::Array(items)) = serde_json::from_str(&rendered) {
                    json_items.extend(items);
                }
            }
        }
    }
    if format == Format::Json {
        use std::io::Write;
        // A closed pipe (`snnc check --format json … | head`) is not an error of ours.
        let _ = writeln!(
            std::io::stdout(),
            "{}",
            serde_json::to_string_pretty(&json_items).expect("JSON values serialise")
        );
    }
    if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
