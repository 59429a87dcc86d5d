//! The runtime's one error type. Variants carry the values involved (file,
//! names, expected and found shapes); `Display` turns them into the sentence a
//! user sees, so every message is checked in one place.

use std::fmt;
use std::path::PathBuf;

/// What a file is being read for; named in every message about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileRole {
    /// `stimulus 'drive'`.
    Stimulus(String),
    /// `spike train 'input'`.
    SpikeTrain(String),
    /// `projection 'EE' connectivity`.
    Connectivity(String),
    /// A file `snnc run` wrote, read back (`snnc plot`): `recording 'spikes of E'`.
    Recording(String),
}

impl fmt::Display for FileRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FileRole::Stimulus(name) => write!(f, "stimulus '{name}'"),
            FileRole::SpikeTrain(name) => write!(f, "spike train '{name}'"),
            FileRole::Connectivity(name) => write!(f, "projection '{name}' connectivity"),
            FileRole::Recording(name) => write!(f, "recording '{name}'"),
        }
    }
}

/// Which per-synapse value of a projection a message is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SynapseValue {
    Weight,
    Delay,
}

impl fmt::Display for SynapseValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SynapseValue::Weight => "weight",
            SynapseValue::Delay => "delay",
        })
    }
}

/// Everything that can go wrong building tables, reading inputs or writing
/// recordings.
#[derive(Debug, Clone, PartialEq)]
pub enum RuntimeError {
    /// The file could not be opened, read or written.
    Io {
        role: Option<FileRole>,
        path: PathBuf,
        message: String,
    },
    /// The file is not a readable `.npy` / CSV file at all.
    Malformed {
        role: FileRole,
        path: PathBuf,
        message: String,
    },
    /// The array's element type is not a number we convert.
    UnsupportedDtype {
        role: FileRole,
        path: PathBuf,
        found: String,
    },
    /// The array has the wrong shape; `expected` is the human description.
    Shape {
        role: FileRole,
        path: PathBuf,
        expected: String,
        found: Vec<u64>,
    },
    /// A CSV field is not a number.
    CsvValue {
        role: FileRole,
        path: PathBuf,
        line: u64,
        column: usize,
        text: String,
    },
    /// A CSV file has the wrong header (connectivity: `pre,post[,weight]`).
    CsvHeader {
        role: FileRole,
        path: PathBuf,
        expected: String,
        found: Vec<String>,
    },
    /// CSV rows of different lengths.
    CsvRowLength {
        role: FileRole,
        path: PathBuf,
        line: u64,
        expected: usize,
        found: usize,
    },
    /// A neuron index (in column `column`) that is not an integer in `0..size`.
    IndexOutOfRange {
        role: FileRole,
        path: PathBuf,
        entry: u64,
        column: &'static str,
        value: f64,
        size: u32,
    },
    /// A spike time that is negative or not finite.
    BadSpikeTime {
        role: FileRole,
        path: PathBuf,
        entry: u64,
        value: f64,
    },
    /// A connection probability outside [0, 1].
    InvalidProbability { projection: String, p: f64 },
    /// fixed_in_degree / fixed_out_degree asking for more distinct partners
    /// than exist.
    DegreeTooLarge {
        projection: String,
        rule: &'static str,
        k: u32,
        available: u32,
    },
    /// fixed_total_number with synapses to draw but no allowed pair (a
    /// one-neuron population onto itself without autapses).
    NoPairToDraw { projection: String, n: u32 },
    /// one_to_one between populations of different sizes.
    OneToOneSizeMismatch {
        projection: String,
        n_pre: u32,
        n_post: u32,
    },
    /// A delay that is negative, not finite, or longer than the ring buffer
    /// can hold (`u16::MAX` steps). `projection` is named as the model
    /// writes it (`L23E -> L23E`), `projection_id` is its index in the module.
    BadDelay {
        projection: String,
        projection_id: u32,
        delay_steps: f64,
    },
    /// A drawn weight or delay that [`crate::synapse_values::MAX_DRAWS`]
    /// draws in a row did not bring within its bound (a delay of at least
    /// one step, a weight of its distribution's sign).
    RedrawLimit {
        projection: String,
        projection_id: u32,
        value: SynapseValue,
        draws: u32,
        /// The synapse: its source neuron and its position in that row.
        pre: u32,
        position: u32,
    },
    /// The run does not fit in memory.
    InsufficientMemory {
        needed: u64,
        available: u64,
        breakdown: String,
    },
    /// A value in an input file that is NaN or infinite.
    NonFinite {
        role: FileRole,
        path: PathBuf,
        position: ValuePosition,
        value: f64,
    },
    /// An `.npy` file with bytes after the data its header describes.
    TrailingBytes {
        role: FileRole,
        path: PathBuf,
        shape: Vec<u64>,
        extra: u64,
    },
    /// A `[T, N]` or `[T, B, N]` stimulus with fewer rows than the run has steps.
    StimulusTooShort {
        role: FileRole,
        path: PathBuf,
        rows: u64,
        steps: u64,
    },
    /// An allocation sized by the input failed (the memory estimate passed
    /// but the allocator refused): `what` names the buffer.
    AllocationFailed { what: String, bytes: u64 },
    /// A state became NaN or infinite: the run stopped there.
    Diverged(Box<crate::divergence::Divergence>),
    /// SIGINT or SIGTERM (`signal`) arrived: the run stopped at the start of
    /// `step`, with `step` steps done.
    Interrupted { signal: i32, step: u64 },
}

/// Where a value sits in an input file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ValuePosition {
    /// The element's index in an `.npy` array (one entry per axis).
    Element(Vec<u64>),
    /// A CSV field: line and column, both from 1.
    Field { line: u64, column: usize },
}

impl fmt::Display for ValuePosition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ValuePosition::Element(index) => write!(f, "element {}", fmt_shape(index)),
            ValuePosition::Field { line, column } => write!(f, "line {line}, column {column}"),
        }
    }
}

fn fmt_shape(shape: &[u64]) -> String {
    let parts: Vec<String> = shape.iter().map(u64::to_string).collect();
    format!("[{}]", parts.join(", "))
}

/// Bytes as GiB/MiB/KiB with one decimal, the way memory messages print them.
#[must_use]
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [(&str, f64); 3] = [
        ("GiB", 1024.0 * 1024.0 * 1024.0),
        ("MiB", 1024.0 * 1024.0),
        ("KiB", 1024.0),
    ];
    for (name, size) in UNITS {
        if bytes as f64 >= size {
            return format!("{:.1} {name}", bytes as f64 / size);
        }
    }
    format!("{bytes} B")
}

/// `SIGINT` for 2, `SIGTERM` for 15, `signal N` otherwise.
fn signal_name(signal: i32) -> String {
    match signal {
        2 => "SIGINT".into(),
        15 => "SIGTERM".into(),
        n => format!("signal {n}"),
    }
}

impl fmt::Display for RuntimeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use RuntimeError::*;
        match self {
            Io {
                role,
                path,
                message,
            } => match role {
                Some(role) => write!(f, "{role} ({}): {message}", path.display()),
                None => write!(f, "{}: {message}", path.display()),
            },
            Malformed {
                role,
                path,
                message,
            } => write!(f, "{role} ({}): {message}", path.display()),
            UnsupportedDtype { role, path, found } => write!(
                f,
                "{role} ({}): expected a float or integer array, found dtype '{found}'",
                path.display()
            ),
            Shape {
                role,
                path,
                expected,
                found,
            } => write!(
                f,
                "{role} ({}): expected shape {expected}, found {}",
                path.display(),
                fmt_shape(found)
            ),
            CsvValue {
                role,
                path,
                line,
                column,
                text,
            } => write!(
                f,
                "{role} ({}): line {line}, column {column}: '{text}' is not a number",
                path.display()
            ),
            CsvHeader {
                role,
                path,
                expected,
                found,
            } => write!(
                f,
                "{role} ({}): expected header {expected}, found '{}'",
                path.display(),
                found.join(",")
            ),
            CsvRowLength {
                role,
                path,
                line,
                expected,
                found,
            } => write!(
                f,
                "{role} ({}): line {line} has {found} columns, expected {expected}",
                path.display()
            ),
            IndexOutOfRange {
                role,
                path,
                entry,
                column,
                value,
                size,
            } => write!(
                f,
                "{role} ({}): entry {entry}: {column} index {value} is not an integer in 0..{size}",
                path.display()
            ),
            BadSpikeTime {
                role,
                path,
                entry,
                value,
            } => write!(
                f,
                "{role} ({}): entry {entry}: spike time {value} s must be finite and ≥ 0",
                path.display()
            ),
            InvalidProbability { projection, p } => write!(
                f,
                "projection '{projection}': connection probability {p} is not in [0, 1]"
            ),
            DegreeTooLarge {
                projection,
                rule,
                k,
                available,
            } => write!(
                f,
                "projection '{projection}': {rule}({k}) needs {k} distinct partners but only {available} exist"
            ),
            NoPairToDraw { projection, n } => write!(
                f,
                "projection '{projection}': fixed_total_number({n}) has no (source, target) pair \
                 to draw from (a population of one neuron onto itself without autapses)"
            ),
            OneToOneSizeMismatch {
                projection,
                n_pre,
                n_post,
            } => write!(
                f,
                "projection '{projection}': one_to_one needs populations of equal size, found {n_pre} and {n_post}"
            ),
            BadDelay {
                projection,
                delay_steps,
                ..
            } => write!(
                f,
                "delay of projection {projection}: {delay_steps} steps is not in 0..={}",
                u16::MAX
            ),
            RedrawLimit {
                projection,
                value,
                draws,
                pre,
                position,
                ..
            } => {
                write!(
                    f,
                    "{value} of projection {projection}: {draws} draws in a row for synapse \
                     {position} of source neuron {pre} "
                )?;
                match value {
                    SynapseValue::Delay => f.write_str(
                        "were shorter than dt / 2 (a drawn delay is redrawn until it rounds to \
                         at least one step): put the distribution's mass above dt, or write \
                         `clip(…, lo, hi)` to clip instead of redrawing",
                    ),
                    SynapseValue::Weight => f.write_str(
                        "had the opposite sign of the distribution's mean (a drawn weight is \
                         redrawn until it keeps that sign): write `clip(…, lo, hi)` to clip \
                         instead of redrawing",
                    ),
                }
            }
            InsufficientMemory {
                needed,
                available,
                breakdown,
            } => write!(
                f,
                "this run needs about {} ({breakdown}) but {} is available",
                human_bytes(*needed),
                human_bytes(*available)
            ),
            NonFinite {
                role,
                path,
                position,
                value,
            } => write!(
                f,
                "{role} ({}): {position} is {value}; every value must be a finite number",
                path.display()
            ),
            TrailingBytes {
                role,
                path,
                shape,
                extra,
            } => write!(
                f,
                "{role} ({}): {extra} bytes follow the data of the header's shape {}: the file holds more than one array (or its header is wrong)",
                path.display(),
                fmt_shape(shape)
            ),
            StimulusTooShort {
                role,
                path,
                rows,
                steps,
            } => write!(
                f,
                "{role} ({}): the run has {steps} steps but the file has {rows} row{} (one row per step; give a file of at least {steps} rows, a shorter --duration, or an [N] array for a constant drive)",
                path.display(),
                if *rows == 1 { "" } else { "s" }
            ),
            AllocationFailed { what, bytes } => write!(
                f,
                "could not allocate {} for {what}: not enough memory",
                human_bytes(*bytes)
            ),
            Diverged(d) => write!(f, "{d}"),
            Interrupted { signal, step } => write!(
                f,
                "interrupted by {} after {step} steps; the recordings and summary.json \
                 (\"interrupted\": true) end at that step",
                signal_name(*signal)
            ),
        }
    }
}

impl std::error::Error for RuntimeError {}
