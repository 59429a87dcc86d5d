//! `snnc plot` and `snnc doc`: their arguments and the one-line error report;
//! the work is in the library (`snnc::plot`, `snnc::doc`).

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use snnc::doc::{DocError, DocFormat};
use snnc::plot::{ImageFormat, PlotOptions};

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ImageFormatArg {
    Png,
    Svg,
    Both,
}

#[derive(Args)]
pub struct PlotArgs {
    /// The folder `snnc run` wrote (spikes_*.npy, trace_*.npy, summary.json).
    results: PathBuf,
    /// Where plot.png / plot.svg go (default: the results folder).
    #[arg(long)]
    out: Option<PathBuf>,
    #[arg(long, value_enum, default_value = "both")]
    format: ImageFormatArg,
    /// Image width in pixels.
    #[arg(long, default_value_t = 1200)]
    width: u32,
    /// Image height in pixels.
    #[arg(long, default_value_t = 900)]
    height: u32,
    /// The batch item to show (batched runs).
    #[arg(long, default_value_t = 0)]
    item: u32,
}

pub fn plot(args: PlotArgs) -> ExitCode {
    let opts = PlotOptions {
        out_dir: args.out.unwrap_or_else(|| args.results.clone()),
        results: args.results,
        format: match args.format {
            ImageFormatArg::Png => ImageFormat::Png,
            ImageFormatArg::Svg => ImageFormat::Svg,
            ImageFormatArg::Both => ImageFormat::Both,
        },
        width: args.width,
        height: args.height,
        item: args.item,
    };
    match snnc::plot::plot(&opts) {
        Ok(report) => {
            for file in &report.files {
                println!(
                    "wrote {} ({} spikes drawn)",
                    file.display(),
                    report.raster_marks
                );
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DocFormatArg {
    Md,
    Html,
    Both,
}

#[derive(Args)]
pub struct DocArgs {
    /// Model files to document after the standard library (none: the standard library alone).
    files: Vec<PathBuf>,
    /// Output folder: stdlib.md/.html, or reference.md/.html when files are given.
    #[arg(long, default_value = "docs")]
    out: PathBuf,
    #[arg(long, value_enum, default_value = "both")]
    format: DocFormatArg,
}

pub fn doc(args: DocArgs) -> ExitCode {
    let format = match args.format {
        DocFormatArg::Md => DocFormat::Markdown,
        DocFormatArg::Html => DocFormat::Html,
        DocFormatArg::Both => DocFormat::Both,
    };
    match snnc::doc::write_reference(&args.files, &args.out, format) {
        Ok(written) => {
            for path in written {
                println!("wrote {}", path.display());
            }
            ExitCode::SUCCESS
        }
        Err(DocError::Check {
            diagnostics,
            sources,
        }) => {
            let color = std::io::stderr().is_terminal();
            eprint!(
                "{}",
                snnc::diagnostic::render_text(&diagnostics, &sources, color)
            );
            ExitCode::from(1)
        }
        Err(DocError::Io { path, message }) => {
            eprintln!("error: {path}: {message}");
            ExitCode::from(2)
        }
    }
}
