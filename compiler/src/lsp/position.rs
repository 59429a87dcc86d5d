//! Byte offsets ↔ LSP positions (UTF-16 columns), and `file://` URIs ↔ paths.

use lsp_types::{Position, Range};
use std::path::{Path, PathBuf};

/// Line starts of one text, for converting offsets both ways.
pub struct LineIndex<'t> {
    text: &'t str,
    starts: Vec<usize>,
}

impl<'t> LineIndex<'t> {
    pub fn new(text: &'t str) -> Self {
        let starts = crate::source::line_starts(text);
        LineIndex { text, starts }
    }

    /// The position of byte `offset` (clamped to the text, and moved back to a
    /// character boundary), with the column counted in UTF-16 code units.
    pub fn position(&self, offset: usize) -> Position {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        let line = match self.starts.binary_search(&offset) {
            Ok(l) => l,
            Err(l) => l - 1,
        };
        let start = self.starts[line];
        let col: usize = self.text[start..offset].chars().map(char::len_utf16).sum();
        Position::new(line as u32, col as u32)
    }

    pub fn range(&self, range: std::ops::Range<usize>) -> Range {
        Range::new(self.position(range.start), self.position(range.end))
    }

    /// The byte offset of an LSP position; a column past the end of its line
    /// means the end of the line, a line past the end the end of the text.
    pub fn offset(&self, pos: Position) -> usize {
        let Some(&start) = self.starts.get(pos.line as usize) else {
            return self.text.len();
        };
        let end = self
            .starts
            .get(pos.line as usize + 1)
            .map_or(self.text.len(), |&next| next - 1);
        let line = &self.text[start..end];
        let mut units = 0usize;
        for (i, c) in line.char_indices() {
            if units >= pos.character as usize {
                return start + i;
            }
            units += c.len_utf16();
        }
        // Strip a `\r` before the `\n`: the end of the visible line.
        end - usize::from(line.ends_with('\r'))
    }
}

/// The file path of a `file://` URI, percent-decoded; `None` for other schemes.
pub fn uri_to_path(uri: &str) -> Option<PathBuf> {
    let rest = uri.strip_prefix("file://")?;
    // `file:///path` (empty authority) or `file://localhost/path`.
    let rest = rest.strip_prefix("localhost").unwrap_or(rest);
    if !rest.starts_with('/') {
        return None;
    }
    let decoded = percent_decode(rest)?;
    // `file:///C:/x` on Windows is the path `C:/x`.
    let bytes = decoded.as_bytes();
    if bytes.len() >= 3 && bytes[0] == b'/' && bytes[2] == b':' && bytes[1].is_ascii_alphabetic() {
        return Some(PathBuf::from(&decoded[1..]));
    }
    Some(PathBuf::from(decoded))
}

/// A `file://` URI for an absolute path, percent-encoding what needs it.
pub fn path_to_uri(path: &Path) -> String {
    let s = path.to_string_lossy().replace('\\', "/");
    let mut out = String::from("file://");
    if !s.starts_with('/') {
        out.push('/');
    }
    for b in s.bytes() {
        // As VS Code spells them: only unreserved characters and `/` stay.
        let keep = b.is_ascii_alphanumeric() || b"/-_.~".contains(&b);
        if keep {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf16_columns() {
        let text = "a µ b\n😀x\r\nlast";
        let ix = LineIndex::new(text);
        // `b` is at byte 5 (µ is 2 bytes), column 4 in UTF-16.
        assert_eq!(ix.position(5), Position::new(0, 4));
        // `x` after an astral character: 2 UTF-16 units.
        let x = text.find('x').unwrap();
        assert_eq!(ix.position(x), Position::new(1, 2));
        assert_eq!(ix.offset(Position::new(1, 2)), x);
        assert_eq!(ix.offset(Position::new(0, 4)), 5);
        // Past the end of a CRLF line: before the `\r`.
        assert_eq!(ix.offset(Position::new(1, 99)), x + 1);
        assert_eq!(ix.offset(Position::new(9, 0)), text.len());
        // Inside a multi-byte character: moved back to its start.
        assert_eq!(ix.position(3), Position::new(0, 2));
    }

    #[test]
    fn uris() {
        let p = uri_to_path("file:///models/a%20b/m.snn").unwrap();
        assert_eq!(p, PathBuf::from("/models/a b/m.snn"));
        assert_eq!(path_to_uri(&p), "file:///models/a%20b/m.snn");
        assert_eq!(uri_to_path("untitled:Untitled-1"), None);
        assert_eq!(uri_to_path("file:///bad%zz"), None);
    }
}
