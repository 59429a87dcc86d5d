//! Source files and spans.
//!
//! The front end never touches the file system: every file it reads comes
//! through a [`SourceLoader`], so the CLI, the language server and the tests
//! can feed it from disk, from an editor buffer or from a string.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

/// Identifies one file inside a [`SourceMap`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub struct SourceId(pub u32);

/// A half-open byte range `start..end` inside one source file.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub struct Span {
    pub source: SourceId,
    pub start: u32,
    pub end: u32,
}

impl Span {
    pub fn new(source: SourceId, range: std::ops::Range<usize>) -> Self {
        Span {
            source,
            start: range.start as u32,
            end: range.end as u32,
        }
    }

    /// The smallest span covering both `self` and `other` (same file).
    pub fn to(self, other: Span) -> Span {
        Span {
            source: self.source,
            start: self.start.min(other.start),
            end: self.end.max(other.end),
        }
    }

    pub fn range(&self) -> std::ops::Range<usize> {
        self.start as usize..self.end as usize
    }
}

impl fmt::Debug for Span {
    // Compact so that AST snapshots stay readable.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}..{}", self.start, self.end)
    }
}

/// The byte offsets where lines start. `\n`, `\r\n` and a lone `\r` each end
/// a line (as the lexer, ariadne and the LSP count them).
#[must_use]
pub fn line_starts(text: &str) -> Vec<usize> {
    let bytes = text.as_bytes();
    let mut starts = vec![0];
    for (i, &b) in bytes.iter().enumerate() {
        let ends_line = b == b'\n' || (b == b'\r' && bytes.get(i + 1) != Some(&b'\n'));
        if ends_line {
            starts.push(i + 1);
        }
    }
    starts
}

/// One loaded source file.
#[derive(Debug)]
pub struct SourceFile {
    /// The name shown in diagnostics: a path, or `std/neurons.snn` for the stdlib.
    pub name: String,
    pub text: Arc<str>,
    line_starts: Vec<usize>,
}

impl SourceFile {
    pub fn new(name: impl Into<String>, text: impl Into<Arc<str>>) -> Self {
        let text: Arc<str> = text.into();
        let line_starts = line_starts(&text);
        SourceFile {
            name: name.into(),
            text,
            line_starts,
        }
    }

    /// 1-based line and column (column counted in characters) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line = match self.line_starts.binary_search(&offset) {
            Ok(l) => l,
            Err(l) => l - 1,
        };
        let start = self.line_starts[line];
        let col = self
            .text
            .get(start..offset)
            .map(|s| s.chars().count())
            .unwrap_or(offset - start);
        (line + 1, col + 1)
    }
}

/// All files that took part in one compilation.
#[derive(Debug, Default)]
pub struct SourceMap {
    files: Vec<SourceFile>,
    by_name: HashMap<String, SourceId>,
}

impl SourceMap {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a file, or returns the id of the file already added under that name.
    pub fn add(&mut self, name: impl Into<String>, text: impl Into<Arc<str>>) -> SourceId {
        let name = name.into();
        if let Some(&id) = self.by_name.get(&name) {
            return id;
        }
        let id = SourceId(self.files.len() as u32);
        self.by_name.insert(name.clone(), id);
        self.files.push(SourceFile::new(name, text));
        id
    }

    pub fn get(&self, id: SourceId) -> &SourceFile {
        &self.files[id.0 as usize]
    }

    pub fn lookup(&self, name: &str) -> Option<SourceId> {
        self.by_name.get(name).copied()
    }

    pub fn iter(&self) -> impl Iterator<Item = (SourceId, &SourceFile)> {
        self.files
            .iter()
            .enumerate()
            .map(|(i, f)| (SourceId(i as u32), f))
    }
}

/// Where imported modules come from. The front end asks; it never opens files itself.
pub trait SourceLoader {
    /// Loads the user module at `path` (for `import models.cortex.{X}` the path is
    /// `["models", "cortex"]`, conventionally `models/cortex.snn` next to the
    /// importing file), imported from the file named `from`. Never asked for
    /// `std`: the standard library is embedded (see [`crate::stdlib`]).
    /// Returns the file's display name and text, or a one-line reason.
    fn load(&self, from: &str, path: &[String]) -> Result<(String, String), String>;
}

/// A loader with no user modules: enough for tests and for any model that
/// imports nothing but `std`.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoFiles;

impl SourceLoader for NoFiles {
    fn load(&self, _from: &str, path: &[String]) -> Result<(String, String), String> {
        Err(format!("module `{}` not found", path.join(".")))
    }
}

/// Loads user modules from disk, relative to the importing file's folder.
#[derive(Debug, Default, Clone, Copy)]
pub struct DiskLoader;

impl SourceLoader for DiskLoader {
    fn load(&self, from: &str, path: &[String]) -> Result<(String, String), String> {
        let base = std::path::Path::new(from)
            .parent()
            .unwrap_or(std::path::Path::new("."));
        let mut file = base.to_path_buf();
        for seg in path {
            file.push(seg);
        }
        file.set_extension("snn");
        let name = file.display().to_string();
        match read_text(&file) {
            Ok(text) => Ok((name, text)),
            Err(ReadError::Io(e)) => Err(format!("cannot read `{name}`: {e}")),
            Err(e @ ReadError::NotUtf8 { .. }) => Err(format!("`{name}` {}", e.describe())),
        }
    }
}

/// Why a model file could not be read as text.
#[derive(Debug)]
pub enum ReadError {
    Io(std::io::Error),
    /// Bytes that are not UTF-8: the text with each bad sequence replaced by
    /// U+FFFD (identical up to the first one, so positions there are right)
    /// and the byte offset of the first bad byte.
    NotUtf8 {
        lossy: String,
        offset: usize,
    },
}

impl ReadError {
    /// "is not UTF-8 text: byte 0xff at line 3, column 7".
    #[must_use]
    pub fn describe(&self) -> String {
        match self {
            ReadError::Io(e) => e.to_string(),
            ReadError::NotUtf8 { lossy, offset } => {
                let (line, col) = SourceFile::new("", lossy.as_str()).line_col(*offset);
                format!("is not UTF-8 text: the first bad byte is at line {line}, column {col}")
            }
        }
    }
}

/// Reads a model file as UTF-8 text.
pub fn read_text(path: &std::path::Path) -> Result<String, ReadError> {
    let bytes = std::fs::read(path).map_err(ReadError::Io)?;
    String::from_utf8(bytes).map_err(|e| {
        let offset = e.utf8_error().valid_up_to();
        let lossy = String::from_utf8_lossy(e.as_bytes()).into_owned();
        ReadError::NotUtf8 { lossy, offset }
    })
}
