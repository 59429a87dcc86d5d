//! Text → tokens.
//!
//! A small hand-written lexer: the one place that knows about comments,
//! number and string syntax, and — the reason it is not a one-liner — where a
//! line break is a separator. Inside `(…)` and `[…]` line breaks are
//! whitespace; at file level and inside `{…}` each one becomes a
//! [`TokenKind::Newline`] (runs of them collapse into one). The parser then never
//! has to ask which kind of bracket it is in to know whether a newline matters.
//!
//! Every token also records whether a line break and whether any space came
//! before it: the parser needs both for the unit after a number (`10 mV` on one
//! line, `mV/ms` written tight; see `parser/units.rs`).
//!
//! The lexer never fails: characters it cannot read become
//! [`TokenKind::Unknown`] tokens plus a diagnostic, and it always ends the
//! stream with one [`TokenKind::Eof`].

use crate::diagnostic::Diagnostic;
use crate::front::vocabulary;
use crate::source::{SourceId, Span};
use std::collections::VecDeque;
use std::fmt;

#[derive(Clone, Debug, PartialEq)]
pub enum TokenKind {
    /// A name (contextual keywords such as `weight` are names too).
    Ident(String),
    /// A reserved word from [`vocabulary::KEYWORDS`].
    Keyword(&'static str),
    /// `42`, `0.02`, `1e-3`. `integer` is true when written with digits only,
    /// which is what a unit exponent (`cm^2`) accepts.
    Number {
        value: f64,
        integer: bool,
    },
    /// `"edges.npy"`, escapes resolved.
    Str(String),
    /// One `/// text` line (the text after `///` and one optional space).
    Doc(String),
    /// A line break where line breaks separate (file level and inside `{}`).
    Newline,
    Semi,
    Comma,
    Colon,
    Dot,
    LParen,
    RParen,
    LBracket,
    RBracket,
    LBrace,
    RBrace,
    Plus,
    Minus,
    Star,
    Slash,
    /// `^` or `**`
    Caret,
    Eq,
    PlusEq,
    MinusEq,
    StarEq,
    SlashEq,
    EqEq,
    /// `!=`
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    /// `&&` (same as `and`)
    AndAnd,
    /// `||` (same as `or`)
    OrOr,
    /// `!` (same as `not`)
    Bang,
    Tilde,
    /// `->`
    Arrow,
    /// `:=`, not an operator of the language: lexed as one token so that the
    /// parser can say "use `=`" instead of stumbling on `:`.
    ColonEq,
    /// `=>`, likewise (a typo for `=` or `>=`).
    FatArrow,
    /// A character the language does not use (already reported).
    Unknown(char),
    Eof,
}

impl fmt::Display for TokenKind {
    /// How a token is named in "found …" messages.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use TokenKind::*;
        let sym = match self {
            Ident(name) => return write!(f, "`{name}`"),
            Keyword(kw) => return write!(f, "keyword `{kw}`"),
            Number { .. } => return write!(f, "a number"),
            Str(_) => return write!(f, "a string"),
            Doc(_) => return write!(f, "a doc comment"),
            Newline => return write!(f, "end of line"),
            Unknown(c) => return write!(f, "`{c}`"),
            Eof => return write!(f, "end of file"),
            Semi => ";",
            Comma => ",",
            Colon => ":",
            Dot => ".",
            LParen => "(",
            RParen => ")",
            LBracket => "[",
            RBracket => "]",
            LBrace => "{",
            RBrace => "}",
            Plus => "+",
            Minus => "-",
            Star => "*",
            Slash => "/",
            Caret => "^",
            Eq => "=",
            PlusEq => "+=",
            MinusEq => "-=",
            StarEq => "*=",
            SlashEq => "/=",
            EqEq => "==",
            Ne => "!=",
            Lt => "<",
            Le => "<=",
            Gt => ">",
            Ge => ">=",
            AndAnd => "&&",
            OrOr => "||",
            Bang => "!",
            Tilde => "~",
            Arrow => "->",
            ColonEq => ":=",
            FatArrow => "=>",
        };
        write!(f, "`{sym}`")
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Token {
    pub kind: TokenKind,
    pub span: Span,
    /// A line break (possibly swallowed inside parentheses) comes before it.
    pub line_break_before: bool,
    /// Whitespace or a comment comes before it.
    pub space_before: bool,
}

/// Splits `text` into tokens (the last one is always `Eof`), with a diagnostic
/// for every character, string or comment that could not be read.
///
/// The parser does not use this: it pulls tokens one at a time from a
/// [`Lexer`], so that checking a large file never holds all of its tokens.
pub fn lex(source: SourceId, text: &str) -> (Vec<Token>, Vec<Diagnostic>) {
    let mut lexer = Lexer::new(source, text);
    let mut tokens = Vec::new();
    loop {
        let token = lexer.next_token();
        let done = token.kind == TokenKind::Eof;
        tokens.push(token);
        if done {
            return (tokens, lexer.into_diagnostics());
        }
    }
}

/// The tokens of one text, made on demand ([`Lexer::next_token`]).
pub struct Lexer<'t> {
    source: SourceId,
    text: &'t str,
    pos: usize,
    /// Tokens made but not yet handed out (a line break and the keyword
    /// after it come out together; see `push`).
    queue: VecDeque<Token>,
    diags: Vec<Diagnostic>,
    /// Open brackets: `(`, `[` or `{`.
    brackets: Vec<char>,
    line_break: bool,
    space: bool,
    /// A line break inside `(…)`/`[…]`, kept until the next token shows
    /// whether a bracket was left open (see [`crate::front::vocabulary::is_line_start_keyword`]).
    pending_newline: Option<usize>,
    /// The last token made is a `Newline` (runs of line breaks make one).
    last_is_newline: bool,
    /// Where the last token that is not a `Newline` ends: `Eof` points there.
    last_token_end: u32,
    /// The `Eof` token, once made: every later call hands out a copy.
    eof: Option<Token>,
}

impl<'t> Lexer<'t> {
    #[must_use]
    pub fn new(source: SourceId, text: &'t str) -> Self {
        Lexer {
            source,
            text,
            // A UTF-8 byte order mark (some Windows editors write one) is not
            // part of the text.
            pos: if text.starts_with('\u{feff}') { 3 } else { 0 },
            queue: VecDeque::new(),
            diags: Vec::new(),
            brackets: Vec::new(),
            line_break: false,
            space: false,
            pending_newline: None,
            last_is_newline: false,
            last_token_end: 0,
            eof: None,
        }
    }

    /// The next token; after the end of the text, `Eof` again and again.
    pub fn next_token(&mut self) -> Token {
        loop {
            if let Some(token) = self.queue.pop_front() {
                if token.kind == TokenKind::Eof {
                    self.eof = Some(token.clone());
                }
                return token;
            }
            if let Some(eof) = &self.eof {
                return eof.clone();
            }
            self.step();
        }
    }

    /// The diagnostics of the text read so far (all of them once `Eof` was
    /// handed out).
    #[must_use]
    pub fn into_diagnostics(self) -> Vec<Diagnostic> {
        self.diags
    }
}

impl Lexer<'_> {
    fn span(&self, start: usize, end: usize) -> Span {
        Span::new(self.source, start..end)
    }

    fn peek(&self) -> Option<char> {
        self.text[self.pos..].chars().next()
    }

    fn peek_at(&self, n: usize) -> Option<char> {
        self.text[self.pos..].chars().nth(n)
    }

    fn newlines_separate(&self) -> bool {
        matches!(self.brackets.last(), None | Some('{'))
    }

    fn push(&mut self, kind: TokenKind, start: usize) {
        if let Some(at) = self.pending_newline.take() {
            if let TokenKind::Keyword(kw) = &kind {
                if crate::front::vocabulary::is_line_start_keyword(kw) {
                    while matches!(self.brackets.last(), Some('(' | '[')) {
                        self.brackets.pop();
                    }
                    self.push_newline(at);
                }
            }
        }
        self.last_is_newline = kind == TokenKind::Newline;
        if !self.last_is_newline {
            self.last_token_end = self.pos as u32;
        }
        self.queue.push_back(Token {
            kind,
            span: self.span(start, self.pos),
            line_break_before: self.line_break,
            space_before: self.space,
        });
        self.line_break = false;
        self.space = false;
    }

    fn push_newline(&mut self, at: usize) {
        if !self.last_is_newline {
            self.last_is_newline = true;
            self.queue.push_back(Token {
                kind: TokenKind::Newline,
                span: self.span(at, at + 1),
                line_break_before: self.line_break,
                space_before: self.space,
            });
        }
    }

    fn error(&mut self, code: &'static str, message: String, start: usize, end: usize) {
        let span = self.span(start, end);
        let label = match code {
            "E0001" => "not part of the language",
            "E0002" => "this string is never closed",
            "E0003" => "unknown escape",
            "E0004" => "this comment is never closed",
            _ => "here",
        };
        self.diags
            .push(Diagnostic::error(code, message).with_primary(span, label));
    }

    /// Reads the next token, line break, space or comment (making at most
    /// two tokens), or, at the end of the text, the `Eof` token.
    fn step(&mut self) {
        let Some(c) = self.peek() else {
            // "found end of file" points just after the last token, not at a
            // trailing line break, so that the report shows the last line.
            let end = self.last_token_end as usize;
            self.pending_newline = None;
            self.pos = end;
            self.push(TokenKind::Eof, end);
            return;
        };
        let start = self.pos;
        match c {
            // `\n`, `\r\n` (the `\r` is whitespace) and a lone `\r` (old
            // Mac files) end a line.
            '\n' | '\r' if c == '\n' || self.peek_at(1) != Some('\n') => {
                self.pos += 1;
                if self.newlines_separate() {
                    self.push_newline(start);
                } else if self.pending_newline.is_none() {
                    self.pending_newline = Some(start);
                }
                self.line_break = true;
                self.space = true;
            }
            c if c.is_whitespace() => {
                self.pos += c.len_utf8();
                self.space = true;
            }
            '/' if self.peek_at(1) == Some('/') => self.line_comment(),
            '/' if self.peek_at(1) == Some('*') => self.block_comment(),
            '"' => self.string(),
            c if c.is_ascii_digit() => self.number(),
            c if c.is_alphabetic() || c == '_' => self.word(),
            _ => self.punct(c),
        }
    }

    fn line_comment(&mut self) {
        let start = self.pos;
        let end = self.text[start..]
            .find(['\n', '\r'])
            .map_or(self.text.len(), |i| start + i);
        let body = &self.text[start..end];
        // `///` is a doc comment, `////…` a plain one (as in Rust). Docs are
        // only kept where they can attach to something: at file level and in
        // braces, never inside an expression's parentheses.
        let is_doc = body.starts_with("///") && !body.starts_with("////");
        self.pos = end;
        if is_doc && self.newlines_separate() {
            let text = body[3..].strip_prefix(' ').unwrap_or(&body[3..]);
            let text = text.trim_end().to_string();
            self.push(TokenKind::Doc(text), start);
        } else {
            self.space = true;
        }
    }

    fn block_comment(&mut self) {
        let start = self.pos;
        self.pos += 2;
        // Block comments nest, so that commenting out code that already holds
        // one works.
        let mut depth = 1;
        while depth > 0 {
            let rest = &self.text[self.pos..];
            if rest.starts_with("*/") {
                depth -= 1;
                self.pos += 2;
            } else if rest.starts_with("/*") {
                depth += 1;
                self.pos += 2;
            } else if let Some(c) = rest.chars().next() {
                if c == '\n' || c == '\r' {
                    self.line_break = true;
                }
                self.pos += c.len_utf8();
            } else {
                self.error(
                    "E0004",
                    "unterminated block comment".into(),
                    start,
                    start + 2,
                );
                break;
            }
        }
        self.space = true;
    }

    fn string(&mut self) {
        let start = self.pos;
        self.pos += 1;
        let mut value = String::new();
        loop {
            match self.peek() {
                Some('"') => {
                    self.pos += 1;
                    break;
                }
                Some('\\') => {
                    let esc_start = self.pos;
                    self.pos += 1;
                    match self.peek() {
                        Some(c @ ('"' | '\\')) => {
                            value.push(c);
                            self.pos += 1;
                        }
                        Some('n') => {
                            value.push('\n');
                            self.pos += 1;
                        }
                        Some('t') => {
                            value.push('\t');
                            self.pos += 1;
                        }
                        Some(c) if c != '\n' && c != '\r' => {
                            self.pos += c.len_utf8();
                            self.error(
                                "E0003",
                                format!("unknown escape `\\{c}` in a string"),
                                esc_start,
                                self.pos,
                            );
                            let last = self.diags.len() - 1;
                            self.diags[last].help =
                                Some("the escapes are `\\\"`, `\\\\`, `\\n` and `\\t`".into());
                            value.push(c);
                        }
                        _ => {}
                    }
                }
                Some('\n' | '\r') | None => {
                    self.error(
                        "E0002",
                        "unterminated string".into(),
                        start,
                        self.pos.max(start + 1),
                    );
                    let last = self.diags.len() - 1;
                    self.diags[last].help =
                        Some("close the string with `\"` on the same line".into());
                    break;
                }
                Some(c) => {
                    value.push(c);
                    self.pos += c.len_utf8();
                }
            }
        }
        self.push(TokenKind::Str(value), start);
    }

    fn number(&mut self) {
        let start = self.pos;
        let bytes = self.text.as_bytes();
        let digits = |mut i: usize| {
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
            i
        };
        let mut end = digits(start);
        let mut integer = true;
        // A fraction needs a digit after the dot: `3.x` stays `3` `.` `x`.
        if end + 1 < bytes.len() && bytes[end] == b'.' && bytes[end + 1].is_ascii_digit() {
            end = digits(end + 1);
            integer = false;
        }
        if end < bytes.len() && (bytes[end] == b'e' || bytes[end] == b'E') {
            let mut exp = end + 1;
            if exp < bytes.len() && (bytes[exp] == b'+' || bytes[exp] == b'-') {
                exp += 1;
            }
            // Only an exponent when digits follow: `2eV` is not `2e…`.
            if exp < bytes.len() && bytes[exp].is_ascii_digit() {
                end = digits(exp);
                integer = false;
            }
        }
        self.pos = end;
        let lexeme = &self.text[start..end];
        let value = lexeme.parse::<f64>().unwrap_or(f64::INFINITY);
        if !value.is_finite() {
            self.error(
                "E0005",
                format!("the number `{lexeme}` is too large"),
                start,
                end,
            );
        }
        self.push(TokenKind::Number { value, integer }, start);
    }

    fn word(&mut self) {
        let start = self.pos;
        let len = self.text[start..]
            .find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .unwrap_or(self.text.len() - start);
        self.pos = start + len;
        let word = &self.text[start..self.pos];
        let kind = match vocabulary::KEYWORDS.iter().find(|k| **k == word) {
            Some(kw) => TokenKind::Keyword(kw),
            None => TokenKind::Ident(word.to_string()),
        };
        self.push(kind, start);
    }

    fn punct(&mut self, c: char) {
        use TokenKind::*;
        let start = self.pos;
        let next = self.peek_at(1);
        let (kind, len) = match (c, next) {
            ('*', Some('*')) => (Caret, 2),
            ('+', Some('=')) => (PlusEq, 2),
            ('-', Some('=')) => (MinusEq, 2),
            ('*', Some('=')) => (StarEq, 2),
            ('/', Some('=')) => (SlashEq, 2),
            ('=', Some('=')) => (EqEq, 2),
            ('=', Some('>')) => (FatArrow, 2),
            ('!', Some('=')) => (Ne, 2),
            ('<', Some('=')) => (Le, 2),
            ('>', Some('=')) => (Ge, 2),
            ('&', Some('&')) => (AndAnd, 2),
            ('|', Some('|')) => (OrOr, 2),
            ('-', Some('>')) => (Arrow, 2),
            (':', Some('=')) => (ColonEq, 2),
            (';', _) => (Semi, 1),
            (',', _) => (Comma, 1),
            (':', _) => (Colon, 1),
            ('.', _) => (Dot, 1),
            ('(', _) => (LParen, 1),
            (')', _) => (RParen, 1),
            ('[', _) => (LBracket, 1),
            (']', _) => (RBracket, 1),
            ('{', _) => (LBrace, 1),
            ('}', _) => (RBrace, 1),
            ('+', _) => (Plus, 1),
            ('-', _) => (Minus, 1),
            ('*', _) => (Star, 1),
            ('/', _) => (Slash, 1),
            ('^', _) => (Caret, 1),
            ('=', _) => (Eq, 1),
            ('<', _) => (Lt, 1),
            ('>', _) => (Gt, 1),
            ('!', _) => (Bang, 1),
            ('~', _) => (Tilde, 1),
            _ => (Unknown(c), c.len_utf8()),
        };
        self.pos += len;
        match kind {
            LParen => self.brackets.push('('),
            LBracket => self.brackets.push('['),
            LBrace => self.brackets.push('{'),
            RParen | RBracket | RBrace => self.close(&kind),
            Unknown(c) => {
                let what = if c.is_control() {
                    format!("unexpected character U+{:04X}", c as u32)
                } else {
                    format!("unexpected character `{c}`")
                };
                self.error("E0001", what, start, self.pos);
            }
            _ => {}
        }
        self.push(kind, start);
    }

    /// Keeps the bracket stack in step with a closing bracket. A mismatch is
    /// the parser's to report; here it only decides where newlines count
    /// again: a `}` also closes any `(`/`[` left open inside its braces.
    fn close(&mut self, kind: &TokenKind) {
        let open = match kind {
            TokenKind::RParen => '(',
            TokenKind::RBracket => '[',
            _ => '{',
        };
        if let Some(i) = self.brackets.iter().rposition(|&b| b == open) {
            if open == '{' || self.brackets[i + 1..].iter().all(|&b| b != '{') {
                self.brackets.truncate(i);
            }
        }
        if self.newlines_separate() {
            self.pending_newline = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<TokenKind> {
        lex(SourceId(0), text)
            .0
            .into_iter()
            .map(|t| t.kind)
            .collect()
    }

    #[test]
    fn newlines_count_only_outside_parentheses() {
        use TokenKind::*;
        let k = kinds("a (\n b\n)\n\n c");
        assert_eq!(
            k,
            vec![
                Ident("a".into()),
                LParen,
                Ident("b".into()),
                RParen,
                Newline,
                Ident("c".into()),
                Eof
            ]
        );
    }

    #[test]
    fn unclosed_paren_is_closed_at_a_line_start_keyword() {
        let k = kinds("{ x = (1\n spike when x }");
        assert!(k.contains(&TokenKind::Newline), "{k:?}");
    }

    #[test]
    fn numbers_and_units() {
        use TokenKind::*;
        let k = kinds("1.5E+2 10ms 2eV 3.x");
        assert_eq!(
            k[0],
            Number {
                value: 150.0,
                integer: false
            }
        );
        assert_eq!(k[2], Ident("ms".into()));
        assert_eq!(k[4], Ident("eV".into()));
        assert_eq!(k[6], Dot);
    }

    #[test]
    fn unicode_names_and_strings() {
        use TokenKind::*;
        let k = kinds("µF MΩ \"a\\\"b\\\\\"");
        assert_eq!(k[0], Ident("µF".into()));
        assert_eq!(k[1], Ident("MΩ".into()));
        assert_eq!(k[2], Str("a\"b\\".into()));
    }

    #[test]
    fn every_vocabulary_keyword_is_a_keyword() {
        for kw in vocabulary::KEYWORDS {
            assert_eq!(kinds(kw)[0], TokenKind::Keyword(kw));
        }
        for word in vocabulary::CONTEXTUAL_KEYWORDS {
            assert_eq!(kinds(word)[0], TokenKind::Ident(word.to_string()));
        }
    }

    #[test]
    fn eof_points_after_the_last_token_and_repeats() {
        // `a` ends at byte 1; the two line breaks after it make one Newline.
        let mut lexer = Lexer::new(SourceId(0), "a\n\n");
        let tokens: Vec<Token> = (0..4).map(|_| lexer.next_token()).collect();
        let kinds: Vec<_> = tokens.iter().map(|t| t.kind.clone()).collect();
        use TokenKind::*;
        assert_eq!(kinds, vec![Ident("a".into()), Newline, Eof, Eof]);
        assert_eq!(tokens[2].span.range(), 1..1);
        assert_eq!(tokens[3], tokens[2]);
    }

    #[test]
    fn bad_input_is_reported_not_fatal() {
        let (tokens, diags) = lex(SourceId(0), "a $ \"open\n/* never");
        assert_eq!(tokens.last().unwrap().kind, TokenKind::Eof);
        let codes: Vec<_> = diags.iter().map(|d| d.code).collect();
        assert_eq!(codes, vec!["E0001", "E0002", "E0004"]);
    }
}
