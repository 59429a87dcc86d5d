//! `snnc compile` and `snnc run`: argument parsing beyond clap (quantities
//! with units, sweeps, input bindings), diagnostics, and the summary table.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use snnc::diagnostic::render_text;
use snnc::front::ast::{self, Member, NetItem};
use snnc::front::check::Ty;
use snnc::front::units::{lookup, readable, Base, Dimension};
use snnc::ir::Module;
use snnc::pipeline::{compile_source, Compiled};
use snnc::run::{Backend, Precision, RunOptions, Sweep};
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

/// `12ms`, `1 s`, `0.5s`, `20` (with `default_unit`): an SI value and its dimension.
pub fn parse_quantity(text: &str) -> Result<(f64, Dimension), String> {
    let t = text.trim();
    let split = t
        .char_indices()
        .find(|&(i, c)| {
            c.is_alphabetic() && !((c == 'e' || c == 'E') && exponent_follows(t, i)) || c == 'µ'
        })
        .map_or(t.len(), |(i, _)| i);
    let (num, unit) = t.split_at(split);
    let value: f64 = num
        .trim()
        .parse()
        .map_err(|_| format!("`{text}` is not a number with a unit (e.g. `20ms`)"))?;
    let unit = unit.trim();
    if unit.is_empty() {
        return Ok((value, Dimension::NONE));
    }
    // A unit here is a name with an optional `/name` (`mV/ms`, `Hz`).
    let mut scale = 1.0;
    let mut dim = Dimension::NONE;
    for (k, part) in unit.split('/').enumerate() {
        let u = lookup(part.trim()).ok_or_else(|| format!("`{part}` is not a unit"))?;
        if k == 0 {
            scale *= u.scale;
            dim = dim.mul(u.dim).map_err(|_| "unit too large".to_string())?;
        } else {
            scale /= u.scale;
            dim = dim.div(u.dim).map_err(|_| "unit too large".to_string())?;
        }
    }
    Ok((value * scale, dim))
}

fn exponent_follows(t: &str, i: usize) -> bool {
    let rest = &t[i + 1..];
    let rest = rest.strip_prefix(['+', '-']).unwrap_or(rest);
    rest.starts_with(|c: char| c.is_ascii_digit()) && t[..i].ends_with(|c: char| c.is_ascii_digit())
}

fn time() -> Dimension {
    Dimension::base(Base::Time)
}

/// `--duration`: a time.
pub fn parse_duration(text: &str) -> Result<f64, String> {
    let (v, d) = parse_quantity(text)?;
    if d != time() {
        return Err(format!(
            "--duration {text}: expected a time such as `1s` or `200ms`, found {}",
            if d.is_dimensionless() {
                "a number without a unit".to_string()
            } else {
                readable(&d)
            }
        ));
    }
    Ok(v)
}

/// `--sweep E.tau=10ms:30ms`, checked against the param's declared unit.
pub fn parse_sweep(text: &str, compiled: &Compiled) -> Result<Sweep, String> {
    let (target, range) = text.split_once('=').ok_or_else(|| {
        format!("--sweep {text}: expected POP.PARAM=FROM:TO, e.g. E.tau=10ms:30ms")
    })?;
    let (pop, param) = target
        .split_once('.')
        .ok_or_else(|| format!("--sweep {text}: expected POP.PARAM before `=`"))?;
    // `A:B` (evenly spaced over the batch) or `A,B,C` (one per batch item).
    let parts: Vec<&str> = if range.contains(',') {
        range.split(',').collect()
    } else {
        let (from, to) = range
            .split_once(':')
            .ok_or_else(|| format!("--sweep {text}: expected FROM:TO or a list A,B,C after `=`"))?;
        vec![from, to]
    };
    let mut values = Vec::new();
    let mut d1 = None;
    for part in &parts {
        let (v, d) = parse_quantity(part).map_err(|e| format!("--sweep {text}: {e}"))?;
        if d1.is_some_and(|d1| d1 != d) {
            return Err(format!("--sweep {text}: the values have different units"));
        }
        d1 = Some(d);
        values.push(v);
    }
    let d1 = d1.unwrap_or(Dimension::NONE);
    let (from, to) = (values[0], values[values.len() - 1]);
    let values = if range.contains(',') {
        values
    } else {
        Vec::new()
    };
    // The declared unit of the param, from the population's model.
    let root = compiled.checked.root();
    let model = root.ast.items.iter().find_map(|i| match i {
        ast::Item::Network(n) => n.items.iter().find_map(|it| match it {
            NetItem::Population(p) if p.name.name == pop => root.scope.get(&p.model.name),
            _ => None,
        }),
        _ => None,
    });
    if let Some(model) = model {
        let declared = model.members.iter().find_map(|m| match m {
            Member::Param(p) if p.name.name == param => Some(&p.unit),
            _ => None,
        });
        let declared = declared.map(|u| snnc::front::check::unit_ty(u, &mut Vec::new()));
        if let Some(Ty::Num { dim, .. }) = declared {
            if dim != d1 {
                return Err(format!(
                    "--sweep {text}: `{param}` of `{pop}` is {}, the bounds are {}",
                    readable(&dim),
                    if d1.is_dimensionless() {
                        "plain numbers".to_string()
                    } else {
                        readable(&d1)
                    }
                ));
            }
        }
    }
    Ok(Sweep {
        population: pop.to_string(),
        param: param.to_string(),
        from,
        to,
        values,
    })
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
            eprintln!("error: {e}");
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
