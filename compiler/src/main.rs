//! The `snnc` command line: `check`, `compile`, `run`.
//!
//! Everything here is I/O and argument handling; the work happens in the
//! library (front → ir → back).

use clap::{Parser, Subcommand, ValueEnum};
use snnc::diagnostic::{render_json, render_text};
use snnc::front::check::check_source;
use snnc::source::DiskLoader;
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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Check { files, format } => check(&files, format),
    }
}

fn check(files: &[PathBuf], format: Format) -> ExitCode {
    let mut failed = false;
    let mut json_items: Vec<serde_json::Value> = Vec::new();
    for path in files {
        let name = path.display().to_string();
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("error: cannot read `{name}`: {e}");
                return ExitCode::from(2);
            }
        };
        let out = check_source(&name, &text, &DiskLoader);
        let (diagnostics, sources) = (out.diagnostics, out.sources);
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
