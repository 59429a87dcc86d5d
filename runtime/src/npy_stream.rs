//! A `.npy` file written row by row that is a valid `.npy` file after every
//! flush.
//!
//! Why not npyz's `WriterBuilder`: it fills in the row count only in
//! `finish()`, so a run killed halfway leaves a file whose header says zero
//! rows (or garbage). Here the header has a fixed, padded length (room for a
//! 20-digit row count), and every flush appends the buffered rows and then
//! rewrites the header in place with the count of rows now on disk. A crash
//! between the two leaves extra bytes after the data, which readers ignore
//! because the header's count is still the old, correct one.
//!
//! The file is created at the first flush that has rows, or by `finish`:
//! a run refused before its first step (a backend that cannot compile the
//! model, say) leaves no file behind, and a finished run with no rows leaves
//! a valid empty array.
//!
//! Format: NPY version 1.0, little-endian, C order; the header is padded with
//! spaces to a multiple of 64 bytes and ends in `\n`, as numpy writes it.

use std::fs::File;
use std::io::{Seek, SeekFrom, Write};
use std::marker::PhantomData;
use std::path::{Path, PathBuf};

use crate::error::RuntimeError;

/// An element type a recording can hold.
pub trait NpyElement: Copy {
    /// The numpy dtype string.
    const DESCR: &'static str;
    fn append_le(self, out: &mut Vec<u8>);
}

macro_rules! npy_element {
    ($ty:ty, $descr:literal) => {
        impl NpyElement for $ty {
            const DESCR: &'static str = $descr;
            fn append_le(self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_le_bytes());
            }
        }
    };
}
npy_element!(f32, "<f4");
npy_element!(f64, "<f8");
npy_element!(u32, "<u4");
npy_element!(i32, "<i4");
npy_element!(u64, "<u8");

const MAGIC: &[u8] = b"\x93NUMPY\x01\x00";

/// Streaming writer of an array of shape `[rows, row_shape…]`.
#[derive(Debug)]
pub struct NpyStreamWriter<T: NpyElement> {
    /// `None` until the first flush with rows (or `finish`) creates the file.
    file: Option<File>,
    path: PathBuf,
    row_shape: Vec<u64>,
    row_len: usize,
    /// Rows on disk (and in the header).
    rows_flushed: u64,
    /// Complete rows waiting in `buffer`.
    rows_buffered: u64,
    buffer: Vec<u8>,
    /// Flush once the buffer reaches this many bytes: bounds memory however
    /// long the run.
    flush_bytes: usize,
    header_len: usize,
    _element: PhantomData<T>,
}

fn io_error(path: &Path, err: &std::io::Error) -> RuntimeError {
    RuntimeError::Io {
        role: None,
        path: path.to_path_buf(),
        message: err.to_string(),
    }
}

/// The header dictionary for `rows` rows, padded to exactly `len` bytes of
/// header text when `len` is given.
fn header_text(descr: &str, rows: u64, row_shape: &[u64], width: Option<usize>) -> Vec<u8> {
    let mut shape = rows.to_string();
    if row_shape.is_empty() {
        shape.push(',');
    }
    for d in row_shape {
        shape.push_str(&format!(", {d}"));
    }
    let dict = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': ({shape}), }}");
    let mut text = dict.into_bytes();
    let total = match width {
        Some(w) => w,
        None => {
            // Room for the longest row count (20 digits of u64), then pad so
            // magic + length + text is a multiple of 64.
            let min = text.len() + 20 + 1;
            (MAGIC.len() + 2 + min).div_ceil(64) * 64 - MAGIC.len() - 2
        }
    };
    text.resize(total - 1, b' ');
    text.push(b'\n');
    text
}

impl<T: NpyElement> NpyStreamWriter<T> {
    /// A writer of rows of shape `row_shape` to `path`; the file is created
    /// (truncated) by the first flush with rows, or by `finish`.
    pub fn create(
        path: &Path,
        row_shape: &[u64],
        flush_bytes: usize,
    ) -> Result<Self, RuntimeError> {
        let text = header_text(T::DESCR, 0, row_shape, None);
        Ok(Self {
            file: None,
            path: path.to_path_buf(),
            row_shape: row_shape.to_vec(),
            row_len: row_shape.iter().product::<u64>() as usize,
            rows_flushed: 0,
            rows_buffered: 0,
            buffer: Vec::new(),
            flush_bytes: flush_bytes.max(1),
            header_len: MAGIC.len() + 2 + text.len(),
            _element: PhantomData,
        })
    }

    /// Create the file with the header of the rows flushed so far, once.
    fn open(&mut self) -> Result<(), RuntimeError> {
        if self.file.is_none() {
            let file = File::create(&self.path).map_err(|e| io_error(&self.path, &e))?;
            self.file = Some(file);
            self.write_header()?;
        }
        Ok(())
    }

    /// The file being written.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Rows pushed so far (flushed or not).
    #[must_use]
    pub fn rows(&self) -> u64 {
        self.rows_flushed + self.rows_buffered
    }

    /// Append whole rows (`values.len()` a multiple of the row length); flushes
    /// when the buffer is full.
    pub fn push_rows(&mut self, values: &[T]) -> Result<(), RuntimeError> {
        if self.row_len == 0 || !values.len().is_multiple_of(self.row_len) {
            return Err(RuntimeError::Io {
                role: None,
                path: self.path.clone(),
                message: format!(
                    "{} values are not whole rows of {} values",
                    values.len(),
                    self.row_len
                ),
            });
        }
        for &v in values {
            v.append_le(&mut self.buffer);
        }
        self.rows_buffered += (values.len() / self.row_len) as u64;
        if self.buffer.len() >= self.flush_bytes {
            self.flush()?;
        }
        Ok(())
    }

    /// Write buffered rows, then the header with the new row count.
    pub fn flush(&mut self) -> Result<(), RuntimeError> {
        if self.rows_buffered == 0 {
            return Ok(());
        }
        let row_bytes = self.row_len as u64 * std::mem::size_of::<T>() as u64;
        let offset = self.header_len as u64 + self.rows_flushed * row_bytes;
        self.open()?;
        if let Some(file) = self.file.as_mut() {
            file.seek(SeekFrom::Start(offset))
                .and_then(|_| file.write_all(&self.buffer))
                .map_err(|e| io_error(&self.path, &e))?;
        }
        self.rows_flushed += self.rows_buffered;
        self.rows_buffered = 0;
        self.buffer.clear();
        self.write_header()
    }

    /// Flush and close (creating the file if no flush has); returns the
    /// number of rows in the file.
    pub fn finish(mut self) -> Result<u64, RuntimeError> {
        self.open()?;
        self.flush()?;
        Ok(self.rows_flushed)
    }

    fn write_header(&mut self) -> Result<(), RuntimeError> {
        let width = self.header_len - MAGIC.len() - 2;
        let text = header_text(T::DESCR, self.rows_flushed, &self.row_shape, Some(width));
        let mut header = Vec::with_capacity(self.header_len);
        header.extend_from_slice(MAGIC);
        header.extend_from_slice(&(text.len() as u16).to_le_bytes());
        header.extend_from_slice(&text);
        let path = self.path.clone();
        let Some(file) = self.file.as_mut() else {
            return Ok(());
        };
        file.seek(SeekFrom::Start(0))
            .and_then(|_| file.write_all(&header))
            .and_then(|_| file.flush())
            .map_err(|e| io_error(&path, &e))
    }
}

impl<T: NpyElement> Drop for NpyStreamWriter<T> {
    fn drop(&mut self) {
        // Best effort: an error here has nowhere to go; `finish` reports it.
        let _ = self.flush();
    }
}
