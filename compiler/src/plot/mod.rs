//! `snnc plot`: pictures of a run's results folder (what `snnc run` wrote):
//! a spike raster of every recorded population, the population rate below it,
//! and the recorded state traces, as PNG and SVG (plotters).
//!
//! [`data`] reads the files back for one batch item, [`rate`] bins spikes
//! into rates, [`draw`] lays out the figure on any plotters backend.

pub mod data;
pub mod draw;
pub mod rate;

use std::fmt;
use std::path::{Path, PathBuf};

use snnc_runtime::error::RuntimeError;

/// Which image files to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageFormat {
    Png,
    Svg,
    Both,
}

/// What to plot and where.
#[derive(Debug, Clone)]
pub struct PlotOptions {
    /// The folder `snnc run` wrote.
    pub results: PathBuf,
    /// Where the images go (`plot.png`, `plot.svg`).
    pub out_dir: PathBuf,
    pub format: ImageFormat,
    pub width: u32,
    pub height: u32,
    /// The batch item shown.
    pub item: u32,
}

/// Image sizes a plot can be drawn at (pixels, each side).
pub const SIZE_RANGE: std::ops::RangeInclusive<u32> = 200..=20_000;

/// What was drawn: the files and the number of raster marks (one per spike).
#[derive(Debug, Clone, PartialEq)]
pub struct PlotReport {
    pub files: Vec<PathBuf>,
    pub raster_marks: usize,
}

/// Why a plot could not be made.
#[derive(Debug, Clone, PartialEq)]
pub enum PlotError {
    /// The results path is missing or not a folder.
    NotAFolder(PathBuf),
    /// The folder holds no `spikes_<population>.npy` of a population in its summary.
    NoSpikeFiles(PathBuf),
    /// `summary.json` is missing or unreadable (or the folder cannot be listed).
    Summary { path: PathBuf, message: String },
    /// A spike or trace file is malformed, of the wrong shape or out of range.
    Read(RuntimeError),
    /// `--item` beyond the run's batch.
    ItemOutOfRange { item: u32, batch: u32 },
    /// `--width`/`--height` outside [`SIZE_RANGE`].
    BadSize { width: u32, height: u32 },
    /// The output folder or an image could not be written.
    Write { path: PathBuf, message: String },
}

impl fmt::Display for PlotError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PlotError::NotAFolder(path) => write!(
                f,
                "`{}` is not a results folder (expected the folder `snnc run` wrote, e.g. results/coba)",
                path.display()
            ),
            PlotError::NoSpikeFiles(path) => write!(
                f,
                "`{}` holds no spikes_<population>.npy file of a population in its summary.json (does the model `record spikes of …`?)",
                path.display()
            ),
            PlotError::Summary { path, message } => {
                write!(f, "{}: {message}", path.display())
            }
            PlotError::Read(e) => write!(f, "{e}"),
            PlotError::ItemOutOfRange { item, batch } => write!(
                f,
                "--item {item} is not a batch item of this run (it has {batch}: 0..{batch})"
            ),
            PlotError::BadSize { width, height } => write!(
                f,
                "image size {width}×{height} is outside {}..={} pixels per side",
                SIZE_RANGE.start(),
                SIZE_RANGE.end()
            ),
            PlotError::Write { path, message } => {
                write!(f, "cannot write {}: {message}", path.display())
            }
        }
    }
}

impl std::error::Error for PlotError {}

/// Read the results and write the images.
pub fn plot(opts: &PlotOptions) -> Result<PlotReport, PlotError> {
    if !SIZE_RANGE.contains(&opts.width) || !SIZE_RANGE.contains(&opts.height) {
        return Err(PlotError::BadSize {
            width: opts.width,
            height: opts.height,
        });
    }
    let results = data::load(&opts.results, opts.item)?;
    std::fs::create_dir_all(&opts.out_dir).map_err(|e| write_error(&opts.out_dir, e))?;
    let size = (opts.width, opts.height);
    let mut files = Vec::new();
    let mut raster_marks = 0;
    if matches!(opts.format, ImageFormat::Png | ImageFormat::Both) {
        let path = opts.out_dir.join("plot.png");
        raster_marks = draw::png(&path, size, &results)?;
        files.push(path);
    }
    if matches!(opts.format, ImageFormat::Svg | ImageFormat::Both) {
        let path = opts.out_dir.join("plot.svg");
        raster_marks = draw::svg(&path, size, &results)?;
        files.push(path);
    }
    Ok(PlotReport {
        files,
        raster_marks,
    })
}

fn write_error(path: &Path, e: impl fmt::Display) -> PlotError {
    PlotError::Write {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}
