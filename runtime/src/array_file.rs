//! Reading numeric arrays from `.npy` and CSV files, whatever their numeric
//! dtype, into one plain form (`shape` + C-order `f64` data) that the
//! stimulus, spike-train and connectivity loaders then validate.
//!
//! `f64` holds every f32 exactly and every integer up to 2⁵³ exactly, which
//! covers neuron indices and step counts; checks for "is this an integer" are
//! done on the converted values by the callers.
//!
//! Rules every file obeys, whatever it is read for: every value is a finite
//! number (NaN and ±inf are refused with their position), and an `.npy` file
//! holds exactly the bytes its header describes (fewer: truncated; more:
//! trailing bytes, refused).

use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use npyz::{NpyFile, Order, TypeChar};

use crate::alloc::vec_with_capacity;
use crate::error::{FileRole, RuntimeError, ValuePosition};

/// An array read from a file: its shape and its values in C (row-major) order.
#[derive(Debug, Clone, PartialEq)]
pub struct NumericArray {
    pub shape: Vec<u64>,
    pub data: Vec<f64>,
}

fn io_error(role: &FileRole, path: &Path, err: &std::io::Error) -> RuntimeError {
    RuntimeError::Io {
        role: Some(role.clone()),
        path: path.to_path_buf(),
        message: err.to_string(),
    }
}

/// Read `path` as `.npy`; the header (shape, dtype) is checked by `check_shape`
/// before any data is read, so a huge file of the wrong shape is refused at once.
pub fn read_npy(
    role: &FileRole,
    path: &Path,
    check_shape: impl FnOnce(&[u64]) -> Result<(), RuntimeError>,
) -> Result<NumericArray, RuntimeError> {
    let file = File::open(path).map_err(|e| io_error(role, path, &e))?;
    let npy = NpyFile::new(BufReader::new(file)).map_err(|e| RuntimeError::Malformed {
        role: role.clone(),
        path: path.to_path_buf(),
        message: format!("not a valid .npy file: {e}"),
    })?;
    let shape = npy.shape().to_vec();
    let dtype = npy.dtype();
    let npyz::DType::Plain(ty) = &dtype else {
        return Err(RuntimeError::UnsupportedDtype {
            role: role.clone(),
            path: path.to_path_buf(),
            found: dtype.descr(),
        });
    };
    let supported = match ty.type_char() {
        TypeChar::Float => matches!(ty.size_field(), 4 | 8),
        TypeChar::Int | TypeChar::Uint => matches!(ty.size_field(), 1 | 2 | 4 | 8),
        _ => false,
    };
    if !supported {
        return Err(RuntimeError::UnsupportedDtype {
            role: role.clone(),
            path: path.to_path_buf(),
            found: ty.to_string(),
        });
    }
    check_shape(&shape)?;
    // A header can claim any shape; refuse one the file cannot hold before
    // allocating for it.
    let file_len = std::fs::metadata(path)
        .map_err(|e| io_error(role, path, &e))?
        .len();
    let data_len = file_len.saturating_sub(npy_header_len(path).unwrap_or(0));
    let needed = shape
        .iter()
        .try_fold(ty.size_field(), |acc, &d| acc.checked_mul(d));
    match needed {
        Some(bytes) if bytes == data_len => {}
        Some(bytes) if bytes < data_len => {
            return Err(RuntimeError::TrailingBytes {
                role: role.clone(),
                path: path.to_path_buf(),
                shape,
                extra: data_len - bytes,
            })
        }
        _ => {
            return Err(RuntimeError::Malformed {
                role: role.clone(),
                path: path.to_path_buf(),
                message: format!(
                    "the header's shape {shape:?} needs more than the {data_len} data bytes the file has (truncated file?)"
                ),
            })
        }
    }
    let fortran = npy.order() == Order::Fortran;
    let len = usize::try_from(npy.len()).unwrap_or(usize::MAX);
    let data = match (ty.type_char(), ty.size_field()) {
        (TypeChar::Float, 4) => read_values(npy, len, role, path, |v: f32| f64::from(v))?,
        (TypeChar::Float, _) => read_values(npy, len, role, path, |v: f64| v)?,
        (TypeChar::Int, 1) => read_values(npy, len, role, path, |v: i8| f64::from(v))?,
        (TypeChar::Int, 2) => read_values(npy, len, role, path, |v: i16| f64::from(v))?,
        (TypeChar::Int, 4) => read_values(npy, len, role, path, |v: i32| f64::from(v))?,
        (TypeChar::Int, _) => read_values(npy, len, role, path, |v: i64| v as f64)?,
        (TypeChar::Uint, 1) => read_values(npy, len, role, path, |v: u8| f64::from(v))?,
        (TypeChar::Uint, 2) => read_values(npy, len, role, path, |v: u16| f64::from(v))?,
        (TypeChar::Uint, 4) => read_values(npy, len, role, path, |v: u32| f64::from(v))?,
        (TypeChar::Uint, _) => read_values(npy, len, role, path, |v: u64| v as f64)?,
        _ => unreachable!("dtype support checked above"),
    };
    let data = if fortran {
        fortran_to_c(&shape, &data)?
    } else {
        data
    };
    let array = NumericArray { shape, data };
    require_finite(role, path, &array)?;
    Ok(array)
}

/// Refuse an array (from a file or from memory) holding NaN or ±inf, naming
/// the first such element.
pub fn require_finite(
    role: &FileRole,
    path: &Path,
    array: &NumericArray,
) -> Result<(), RuntimeError> {
    match array.data.iter().position(|v| !v.is_finite()) {
        Some(at) => Err(RuntimeError::NonFinite {
            role: role.clone(),
            path: path.to_path_buf(),
            position: ValuePosition::Element(multi_index(&array.shape, at as u64)),
            value: array.data[at],
        }),
        None => Ok(()),
    }
}

/// Bytes before the data: magic (6), version (2), header length (2 bytes in
/// version 1, 4 in versions 2 and 3), header text.
fn npy_header_len(path: &Path) -> Option<u64> {
    use std::io::Read;
    let mut prefix = [0u8; 12];
    File::open(path).ok()?.read_exact(&mut prefix).ok()?;
    match prefix[6] {
        1 => Some(10 + u64::from(u16::from_le_bytes([prefix[8], prefix[9]]))),
        _ => Some(
            12 + u64::from(u32::from_le_bytes([
                prefix[8], prefix[9], prefix[10], prefix[11],
            ])),
        ),
    }
}

/// The `len` values of `npy` as `f64`, into a buffer allocated fallibly.
fn read_values<T: npyz::Deserialize, R: std::io::Read>(
    npy: NpyFile<R>,
    len: usize,
    role: &FileRole,
    path: &Path,
    to_f64: impl Fn(T) -> f64,
) -> Result<Vec<f64>, RuntimeError> {
    let read_err = |message: String| RuntimeError::Malformed {
        role: role.clone(),
        path: path.to_path_buf(),
        message: format!("could not read the array data: {message}"),
    };
    let mut out = vec_with_capacity(len, &format!("{role} ({})", path.display()))?;
    for value in npy.data::<T>().map_err(|e| read_err(e.to_string()))? {
        out.push(to_f64(value.map_err(|e| read_err(e.to_string()))?));
    }
    Ok(out)
}

/// The C-order multi-index of flat position `at` in an array of `shape`.
fn multi_index(shape: &[u64], mut at: u64) -> Vec<u64> {
    let mut index = vec![0; shape.len()];
    for (axis, &dim) in shape.iter().enumerate().rev() {
        if dim > 0 {
            index[axis] = at % dim;
            at /= dim;
        }
    }
    index
}

/// Reorders a column-major array into row-major order.
fn fortran_to_c(shape: &[u64], data: &[f64]) -> Result<Vec<f64>, RuntimeError> {
    let dims: Vec<usize> = shape.iter().map(|&d| d as usize).collect();
    // Fortran strides: the first axis varies fastest.
    let mut strides = vec![1usize; dims.len()];
    for axis in 1..dims.len() {
        strides[axis] = strides[axis - 1] * dims[axis - 1];
    }
    let mut out = vec_with_capacity(data.len(), "a Fortran-order array reordered to C order")?;
    let mut index = vec![0usize; dims.len()];
    for _ in 0..data.len() {
        let offset: usize = index.iter().zip(&strides).map(|(i, s)| i * s).sum();
        out.push(data[offset]);
        // Advance the C-order multi-index (last axis fastest).
        for axis in (0..dims.len()).rev() {
            index[axis] += 1;
            if index[axis] < dims[axis] {
                break;
            }
            index[axis] = 0;
        }
    }
    Ok(out)
}

/// A CSV file of numbers: an optional header row (kept as names) and
/// equal-length numeric rows.
#[derive(Debug, Clone, PartialEq)]
pub struct CsvTable {
    pub header: Option<Vec<String>>,
    pub columns: usize,
    /// Row-major values, `rows × columns`.
    pub data: Vec<f64>,
}

impl CsvTable {
    pub fn rows(&self) -> usize {
        self.data.len().checked_div(self.columns).unwrap_or(0)
    }
}

/// Read a numeric CSV. The first row is a header when any of its fields is not
/// a number; every later field must be a number.
pub fn read_csv(role: &FileRole, path: &Path) -> Result<CsvTable, RuntimeError> {
    let file = File::open(path).map_err(|e| io_error(role, path, &e))?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .comment(Some(b'#'))
        .from_reader(BufReader::new(file));
    let mut header = None;
    let mut columns = 0usize;
    let mut data = Vec::new();
    let mut first = true;
    for record in reader.records() {
        let record = record.map_err(|e| RuntimeError::Malformed {
            role: role.clone(),
            path: path.to_path_buf(),
            message: format!("not a readable CSV file: {e}"),
        })?;
        let line = record.position().map_or(0, |p| p.line());
        if first {
            first = false;
            columns = record.len();
            if record.iter().any(|field| field.parse::<f64>().is_err()) {
                header = Some(record.iter().map(str::to_string).collect());
                continue;
            }
        }
        if record.len() != columns {
            return Err(RuntimeError::CsvRowLength {
                role: role.clone(),
                path: path.to_path_buf(),
                line,
                expected: columns,
                found: record.len(),
            });
        }
        for (column, field) in record.iter().enumerate() {
            let value = field.parse::<f64>().map_err(|_| RuntimeError::CsvValue {
                role: role.clone(),
                path: path.to_path_buf(),
                line,
                column: column + 1,
                text: field.to_string(),
            })?;
            if !value.is_finite() {
                return Err(RuntimeError::NonFinite {
                    role: role.clone(),
                    path: path.to_path_buf(),
                    position: ValuePosition::Field {
                        line,
                        column: column + 1,
                    },
                    value,
                });
            }
            data.push(value);
        }
    }
    Ok(CsvTable {
        header,
        columns,
        data,
    })
}

/// Whether `path` names a CSV file (by extension); everything else is read as `.npy`.
pub fn is_csv(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"))
}

/// `value` as an index in `0..size`, or `None` when it is negative, fractional,
/// not finite or too large.
pub fn as_index(value: f64, size: u32) -> Option<u32> {
    if value.is_finite() && value >= 0.0 && value.fract() == 0.0 && value < f64::from(size) {
        Some(value as u32)
    } else {
        None
    }
}
