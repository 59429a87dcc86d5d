//! `snnc compile` and `snnc run`: argument parsing beyond clap (quantities
//! with units, sweeps, input bindings), diagnostics, and the summary table.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use snnc::diagnostic::render_text;
use snnc::ir::Module;
use snnc::pipeline::{compile_source, Compiled};
use snnc::run::args::{parse_duration, parse_sweep};
use snnc::run::{Backend, Precision, RunOptions};
use snnc::source::DiskLoader;

/// Read, check and lower `path`; print diagnostics; `None` on failure.
pub fn compile_file(path: &Path, network: Option<&str>) -> Result<(Compiled, Module), ExitCode> {
    let name = path.display().to_string();
    let text = match snnc::source::read_text(path) {
        Ok(t) => t,
        Err(snnc::source::ReadError::NotUtf8 { lossy, offset }) => {
            let (diags, sources) = snnc::diagnostic::not_utf8(&name, lossy, offset);
            eprint!(
                "{}",
                render_text(&diags, &sources, std::io::stderr().is_terminal())
            );
            return Err(ExitCode::from(1));
        }
        Err(e) => {
            eprintln!("error: cannot read `{name}`: {}", e.describe());
            return Err(ExitCode::from(2));
        }
    };
    let mut compiled = compile_source(&name, &text, &DiskLoader, network);
    let color = std::io::stderr().is_terminal();
    if !compiled.diagnostics.is_empty() {
        eprint!(
            "{}",
            render_text(&compiled.diagnostics, compiled.sources(), color)
        );
    }
    match compiled.module.take() {
        Some(m) => Ok((compiled, m)),
        None => {
            let errors = compiled.diagnostics.iter().filter(|d| d.is_error()).count();
            eprintln!(
                "error: `{name}` has {errors} error{}",
                if errors == 1 { "" } else { "s" }
            );
            Err(ExitCode::from(1))
        }
    }
}

pub fn parse_input(text: &str) -> Result<(String, PathBuf), String> {
    match text.split_once('=') {
        Some((name, path)) if !name.is_empty() && !path.is_empty() => {
            Ok((name.to_string(), PathBuf::from(path)))
        }
        _ => Err(format!(
            "--input {text}: expected NAME=FILE, e.g. --input drive=drive.npy"
        )),
    }
}

/// The folder results go to when `--out` is not given: `results/<model>`.
pub fn default_out_dir(model: &Path) -> PathBuf {
    let stem = model
        .file_stem()
        .map_or_else(|| "run".to_string(), |s| s.to_string_lossy().into_owned());
    PathBuf::from("results").join(stem)
}

pub struct RunArgs {
    pub model: PathBuf,
    pub network: Option<String>,
    pub duration: Option<String>,
    pub batch: usize,
    pub seed: Option<u64>,
    pub inputs: Vec<String>,
    pub out: Option<PathBuf>,
    pub backend: Backend,
    pub precision: Option<Precision>,
    pub sweeps: Vec<String>,
    pub quiet: bool,
    pub threads: Option<usize>,
}

pub fn run(args: RunArgs) -> ExitCode {
    let (compiled, module) = match compile_file(&args.model, args.network.as_deref()) {
        Ok(x) => x,
        Err(code) => return code,
    };
    let out_dir = args
        .out
        .clone()
        .unwrap_or_else(|| default_out_dir(&args.model));
    let mut opts = RunOptions::new(out_dir.clone());
    opts.batch = args.batch;
    opts.seed = args.seed;
    opts.backend = args.backend;
    // f32 is the JIT's natural precision; the reference is the f64 oracle.
    opts.precision = args.precision.unwrap_or(match args.backend {
        Backend::Cranelift | Backend::Cuda => Precision::F32,
        Backend::Reference => Precision::F64,
    });
    opts.progress = !args.quiet;
    opts.threads = args.threads;
    opts.model_dir = args
        .model
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    let fail = |m: String| {
        eprintln!("error: {m}");
        ExitCode::from(2)
    };
    if let Some(d) = &args.duration {
        match parse_duration(d) {
            Ok(v) => opts.duration = Some(v),
            Err(e) => return fail(e),
        }
    }
    for i in &args.inputs {
        match parse_input(i) {
            Ok(b) => opts.inputs.push(b),
            Err(e) => return fail(e),
        }
    }
    // Stimuli with a default file (`from "data/drive.npy"`) and no --input.
    for (name, path) in &compiled.default_inputs {
        if !opts.inputs.iter().any(|(n, _)| n == name) {
            opts.inputs.push((name.clone(), opts.model_dir.join(path)));
        }
    }
    for s in &args.sweeps {
        match parse_sweep(s, &compiled) {
            Ok(sw) => {
                // A list sets B when --batch was left at 1.
                if args.batch == 1 && sw.values.len() > 1 {
                    opts.batch = sw.values.len();
                }
                opts.sweeps.push(sw);
            }
            Err(e) => return fail(e),
        }
    }
    opts.warnings = compiled
        .diagnostics
        .iter()
        .filter(|d| !d.is_error())
        .count() as u32;
    if let Err(e) = snnc::interrupt::install() {
        eprintln!("warning: Ctrl-C will not stop the run cleanly: {e}");
    }
    match snnc::run::run(&module, &opts) {
        Ok(summary) => {
            if !args.quiet {
                print_summary(&summary, &out_dir);
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            match snnc::run::value_error_at_source(&e, &module) {
                Some(d) => eprint!(
                    "{}",
                    render_text(&[d], compiled.sources(), std::io::stderr().is_terminal())
                ),
                None => eprintln!("error: {e}"),
            }
            ExitCode::from(snnc::interrupt::exit_code(&e))
        }
    }
}

fn print_summary(s: &snnc::run::RunSummary, out: &Path) {
    println!(
        "{} steps of {} ms ({} s simulated{}), {} backend, {}{}",
        s.steps,
        s.dt_s * 1e3,
        s.simulated_s,
        if s.batch > 1 {
            format!(", batch {}", s.batch)
        } else {
            String::new()
        },
        s.backend,
        s.precision,
        if s.threads > 1 {
            format!(", {} threads", s.threads)
        } else {
            String::new()
        }
    );
    println!();
    println!(
        "{:<16} {:>10} {:>12} {:>10}",
        "population", "neurons", "spikes", "rate (Hz)"
    );
    for p in &s.populations {
        println!(
            "{:<16} {:>10} {:>12} {:>10.2}",
            p.name, p.neurons, p.spikes, p.rate_hz
        );
    }
    println!();
    println!(
        "wall {:.3} s · {:.0} steps/s · {} synaptic events ({:.3e}/s)",
        s.wall_s, s.steps_per_s, s.synaptic_events, s.synaptic_events_per_s
    );
    println!("results in {}", out.display());
}
