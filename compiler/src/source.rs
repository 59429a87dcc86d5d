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
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
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
        std::fs::read_to_string(&file)
            .map(|text| (name.clone(), text))
            .map_err(|e| format!("cannot read `{name}`: {e}"))
    }
}
