//! Tokens → syntax tree, with error recovery.
//!
//! A hand-written recursive-descent parser over the tokens of
//! [`crate::front::lexer`]. Hand-written rather than chumsky combinators for
//! three reasons the language forces on us: the unit after a number depends on
//! spacing and line breaks (see `units.rs`), the depth of nesting must be capped
//! with a diagnostic instead of a stack overflow, and each error message names
//! the construct it is in ("expected `=` after the param type").
//!
//! Recovery works at three levels, so that one run reports every independent
//! error: a broken item, member, statement or clause is skipped up to the next
//! `;`, line break or `}` at its own nesting level and becomes an `Error` node;
//! a broken element of a comma list skips to the next `,`; an unclosed `{`
//! ends where the next line starts with a word that cannot be inside it.
//!
//! Each parsing function returns `PResult<T>`: `Err(Reported)` means the error
//! is already in `diags` and the caller should recover, never report again.

mod expr;
mod model;
mod network;
mod units;

use crate::diagnostic::Diagnostic;
use crate::front::ast::*;
use crate::front::lexer::{Lexer, Token, TokenKind};
use crate::source::{SourceId, Span};
use std::collections::VecDeque;
use std::sync::Arc;

/// Parses one file. Always returns a tree — the parts that could not be read
/// are `Error` nodes — together with every lexical and syntax error found.
/// Never panics, whatever the input.
pub fn parse(source: SourceId, text: &str) -> (File, Vec<Diagnostic>) {
    let mut p = Parser {
        tokens: TokenWindow::new(Lexer::new(source, text)),
        pos: 0,
        source,
        diags: Vec::new(),
        depth: 0,
        links: 0,
        depth_reported: false,
        unwinding: false,
        pending: None,
    };
    let items = p.file_items();
    let file = File {
        items,
        span: Span::new(source, 0..text.len()),
    };
    // The lexer's reports come first, as if the whole text had been read
    // before parsing.
    let mut diags = p.tokens.lexer.into_diagnostics();
    diags.append(&mut p.diags);
    (file, diags)
}

/// How deeply expressions, blocks and units may nest. Deep enough for any
/// real model, shallow enough that a debug build on a 2 MiB test thread never
/// runs out of stack.
const MAX_DEPTH: u32 = 64;

/// How deep the syntax tree may grow: nesting plus the operators of flat
/// chains (`a + b + c` is two levels). The parser reads chains by a loop, but
/// the checker, the lowering and the language server walk the tree
/// recursively; this keeps each walk a few hundred frames deep.
pub(crate) const MAX_TREE_DEPTH: u32 = 256;

/// Marker: the error has been reported; the caller recovers.
#[derive(Debug)]
pub(crate) struct Reported;

pub(crate) type PResult<T> = Result<T, Reported>;

pub(crate) use crate::front::vocabulary::{ITEM_KEYWORDS, NET_ITEM_KEYWORDS};

/// How many tokens past the current one the parser may look at
/// ([`Parser::nth`]): the longest is a unit exponent `^(-3/2)` after its name.
const LOOKAHEAD: usize = 8;

/// The tokens the parser can see: the last one consumed, the current one and
/// [`LOOKAHEAD`] more, pulled from the lexer as the parser moves on. Only
/// these are held, so parsing a large file never keeps all of its tokens.
struct TokenWindow<'t> {
    lexer: Lexer<'t>,
    /// The current token first; never empty, and once `Eof` is in it, `Eof`
    /// is its last token.
    ahead: VecDeque<Token>,
    previous: Option<Token>,
    /// Brackets `(`/`[` consumed since the start of the statement and not
    /// yet closed (a stray closer does not count below zero).
    open_in_statement: u32,
    /// `open_in_statement` as it was at each unclosed `{`: a `{ … }` pair
    /// inside a statement (the values of an `if` expression,
    /// `(if c { 1 } else { 0 }) - a`) is stepped over, and the count before
    /// it comes back at its `}`.
    open_before_brace: Vec<u32>,
}

impl<'t> TokenWindow<'t> {
    fn new(lexer: Lexer<'t>) -> Self {
        let mut window = TokenWindow {
            lexer,
            ahead: VecDeque::with_capacity(LOOKAHEAD + 1),
            previous: None,
            open_in_statement: 0,
            open_before_brace: Vec::new(),
        };
        window.fill();
        window
    }

    fn fill(&mut self) {
        while self.ahead.len() <= LOOKAHEAD
            && self.ahead.back().is_none_or(|t| t.kind != TokenKind::Eof)
        {
            let token = self.lexer.next_token();
            self.ahead.push_back(token);
        }
    }

    /// The token `n` places past the current one (`Eof` past the end).
    fn nth(&self, n: usize) -> &Token {
        debug_assert!(n <= LOOKAHEAD, "the parser looks {n} tokens ahead");
        let last = self.ahead.len() - 1;
        &self.ahead[n.min(last)]
    }

    /// Moves past the current token (never past `Eof`).
    fn advance(&mut self) {
        if self.ahead[0].kind == TokenKind::Eof {
            return;
        }
        let Some(token) = self.ahead.pop_front() else {
            return;
        };
        self.open_in_statement = match token.kind {
            TokenKind::LBrace => {
                self.open_before_brace.push(self.open_in_statement);
                0
            }
            TokenKind::RBrace => self.open_before_brace.pop().unwrap_or(0),
            TokenKind::Newline | TokenKind::Semi => 0,
            TokenKind::LParen | TokenKind::LBracket => self.open_in_statement + 1,
            TokenKind::RParen | TokenKind::RBracket => self.open_in_statement.saturating_sub(1),
            _ => self.open_in_statement,
        };
        self.previous = Some(token);
        self.fill();
    }
}

pub(crate) struct Parser<'t> {
    tokens: TokenWindow<'t>,
    /// How many tokens have been consumed.
    pos: usize,
    source: SourceId,
    diags: Vec<Diagnostic>,
    depth: u32,
    /// Operators of the flat chains open around the current token (each a
    /// level of the tree, though not of the parser's stack).
    links: u32,
    depth_reported: bool,
    /// Set when nesting went too deep: every enclosing bracket would now
    /// report itself unclosed, so nothing is reported until the parser is back
    /// at member or item level.
    unwinding: bool,
    /// An expression already parsed that the next atom must return: what came
    /// before a stray `)` (see `Parser::expr`).
    pending: Option<Expr>,
}

impl Parser<'_> {
    // ------------------------------------------------------------ cursor

    fn tok(&self) -> &Token {
        self.tokens.nth(0)
    }

    fn kind(&self) -> &TokenKind {
        &self.tok().kind
    }

    fn nth(&self, n: usize) -> &TokenKind {
        &self.tokens.nth(n).kind
    }

    fn nth_token(&self, n: usize) -> &Token {
        self.tokens.nth(n)
    }

    fn span(&self) -> Span {
        self.tok().span
    }

    fn bump(&mut self) -> Token {
        let t = self.tok().clone();
        if t.kind != TokenKind::Eof {
            self.pos += 1;
            self.tokens.advance();
        }
        t
    }

    fn at(&self, kind: &TokenKind) -> bool {
        self.kind() == kind
    }

    fn at_kw(&self, kw: &str) -> bool {
        matches!(self.kind(), TokenKind::Keyword(k) if *k == kw)
    }

    /// A contextual keyword (`weight`, `from`, …) is lexed as a name.
    fn at_word(&self, word: &str) -> bool {
        matches!(self.kind(), TokenKind::Ident(n) if n == word)
    }

    fn eat(&mut self, kind: &TokenKind) -> Option<Span> {
        if self.at(kind) {
            Some(self.bump().span)
        } else {
            None
        }
    }

    fn start(&self) -> u32 {
        self.span().start
    }

    /// The end of the last token consumed.
    fn prev_end(&self) -> u32 {
        self.tokens.previous.as_ref().map_or(0, |t| t.span.end)
    }

    fn prev_kind(&self) -> Option<&TokenKind> {
        self.tokens.previous.as_ref().map(|t| &t.kind)
    }

    /// From `start` to the end of the last token consumed.
    fn span_from(&self, start: u32) -> Span {
        Span {
            source: self.source,
            start,
            end: self.prev_end().max(start),
        }
    }

    fn skip_newlines(&mut self) {
        while self.at(&TokenKind::Newline) {
            self.bump();
        }
    }

    /// Skips line breaks and `;` between members, items and statements, and
    /// doc comments that have nothing to attach to.
    fn skip_separators(&mut self) {
        if self.depth == 0 {
            self.unwinding = false;
        }
        while matches!(
            self.kind(),
            TokenKind::Newline | TokenKind::Semi | TokenKind::Doc(_)
        ) {
            self.bump();
        }
    }

    /// Skips separators, collecting the `///` lines on the way: the doc of the
    /// definition that follows.
    fn take_docs(&mut self) -> Option<String> {
        // Called at the top of every member, item and clause: back at a level
        // where reports are independent again.
        if self.depth == 0 {
            self.unwinding = false;
        }
        let mut lines: Vec<String> = Vec::new();
        loop {
            match self.kind() {
                TokenKind::Newline | TokenKind::Semi => {
                    self.bump();
                }
                TokenKind::Doc(text) => {
                    lines.push(text.clone());
                    self.bump();
                }
                _ => break,
            }
        }
        (!lines.is_empty()).then(|| lines.join("\n"))
    }

    /// Whether the token after the current line break starts a line that
    /// cannot belong to what is being skipped or parsed.
    fn line_start_keyword_at(&self, n: usize) -> bool {
        matches!(self.nth(n), TokenKind::Keyword(k)
            if crate::front::vocabulary::is_line_start_keyword(k))
    }

    // ------------------------------------------------------------ diagnostics

    fn report(&mut self, d: Diagnostic) -> Reported {
        // A character the lexer could not read is reported once, by the lexer;
        // the parser stumbling over it would only repeat that.
        if !self.unwinding && !matches!(self.kind(), TokenKind::Unknown(_)) {
            self.diags.push(d);
        }
        Reported
    }

    /// "expected {what} {context}, found {current token}".
    fn expected(&self, what: &str, context: &str) -> Diagnostic {
        let found = self.kind().to_string();
        let message = if context.is_empty() {
            format!("expected {what}, found {found}")
        } else {
            format!("expected {what} {context}, found {found}")
        };
        Diagnostic::error("E0010", message).with_primary(self.span(), format!("expected {what}"))
    }

    fn expect(&mut self, kind: TokenKind, context: &str) -> PResult<Span> {
        if let Some(span) = self.eat(&kind) {
            return Ok(span);
        }
        let d = self.expected(&kind.to_string(), context);
        Err(self.report(d))
    }

    fn expect_kw(&mut self, kw: &'static str, context: &str) -> PResult<Span> {
        self.expect(TokenKind::Keyword(kw), context)
    }

    fn expect_word(&mut self, word: &str, context: &str) -> PResult<Span> {
        if self.at_word(word) {
            return Ok(self.bump().span);
        }
        let d = self.expected(&format!("`{word}`"), context);
        Err(self.report(d))
    }

    /// A name. A reserved word in its place is reported and then used as the
    /// name anyway, so that the rest of the declaration is still checked.
    fn expect_name(&mut self, what: &str, context: &str) -> PResult<Ident> {
        match self.kind().clone() {
            TokenKind::Ident(name) => {
                let span = self.bump().span;
                Ok(Ident { name, span })
            }
            TokenKind::Keyword(kw) => {
                let span = self.bump().span;
                let d = Diagnostic::error(
                    "E0018",
                    format!("expected {what} {context}, found keyword `{kw}`"),
                )
                .with_primary(span, "a reserved word")
                .with_help(format!("`{kw}` is reserved; choose another name"));
                self.report(d);
                Ok(Ident {
                    name: kw.to_string(),
                    span,
                })
            }
            _ => {
                let d = self.expected(what, context);
                Err(self.report(d))
            }
        }
    }

    /// Runs `f` one nesting level deeper, or reports that the input nests
    /// too deeply (once per file) instead of overflowing the stack.
    fn nested<T>(&mut self, f: impl FnOnce(&mut Self) -> PResult<T>) -> PResult<T> {
        if self.depth >= MAX_DEPTH {
            if !self.depth_reported {
                self.depth_reported = true;
                let d = Diagnostic::error("E0013", "this is nested too deeply")
                    .with_primary(self.span(), format!("more than {MAX_DEPTH} levels deep"))
                    .with_help("split the expression with `let`");
                self.report(d);
            }
            self.unwinding = true;
            return Err(Reported);
        }
        self.depth += 1;
        let result = f(self);
        self.depth -= 1;
        result
    }

    /// One more operator in a flat chain; refused (E0020, reported once)
    /// past [`MAX_TREE_DEPTH`]. The caller restores `links` when its chain ends.
    fn link(&mut self) -> PResult<()> {
        if self.depth + self.links >= MAX_TREE_DEPTH {
            if !self.depth_reported {
                self.depth_reported = true;
                let d = Diagnostic::error("E0020", "this expression is too deep")
                    .with_primary(
                        self.span(),
                        format!("more than {MAX_TREE_DEPTH} operators deep"),
                    )
                    .with_help("split the chain into parts with `let` and add the parts");
                self.report(d);
            }
            self.unwinding = true;
            return Err(Reported);
        }
        self.links += 1;
        Ok(())
    }

    // ------------------------------------------------------------ recovery

    /// Skips to the first token in `stops` at the current nesting level
    /// (not consumed), a `}` closing the enclosing braces, or — when
    /// `newline_stops` — a line break. A line break followed by a keyword that
    /// starts an item or member stops it at any nesting: the bracket it is in
    /// was probably never closed.
    fn skip_until(&mut self, stops: &[TokenKind], newline_stops: bool) {
        let mut depth = 0usize;
        loop {
            let kind = self.kind();
            match kind {
                TokenKind::Eof => return,
                TokenKind::Newline if self.line_start_keyword_at(1) => return,
                TokenKind::Newline if depth == 0 && newline_stops => return,
                TokenKind::LParen | TokenKind::LBracket | TokenKind::LBrace => depth += 1,
                TokenKind::RParen | TokenKind::RBracket | TokenKind::RBrace => {
                    if depth == 0 {
                        if stops.contains(kind) || *kind == TokenKind::RBrace {
                            return;
                        }
                        // a stray closing bracket: skip it
                    } else {
                        depth -= 1;
                    }
                }
                _ if depth == 0 && stops.contains(kind) => return,
                _ => {}
            }
            self.bump();
        }
    }

    /// Skips the rest of a broken member, statement, clause or item.
    fn recover_line(&mut self) {
        self.skip_until(&[TokenKind::Semi], true);
    }

    /// After a member, statement, clause or item: the line must end here (or a
    /// `;` or the closing `}` follow). Reports and skips anything else.
    fn end_of_line(&mut self, what: &str) {
        match self.kind() {
            TokenKind::Newline | TokenKind::Semi | TokenKind::RBrace | TokenKind::Eof => {}
            // The line break was already taken (by a body that ended unclosed).
            _ if self.tok().line_break_before => {}
            // `reset { … } spike when …` on one line: a closing brace ends a
            // member as well as a line break does.
            _ if self.prev_kind() == Some(&TokenKind::RBrace) => {}
            TokenKind::RParen | TokenKind::RBracket => {
                let d = Diagnostic::error("E0012", format!("unmatched closing {}", self.kind()))
                    .with_primary(self.span(), "nothing opened here is closed by this");
                self.report(d);
                self.recover_line();
            }
            _ => {
                let d = self.expected("`;` or a new line", &format!("after {what}"));
                self.report(d);
                self.recover_line();
            }
        }
    }

    /// Reports a `{` that is never closed, at the token that ended it.
    fn unclosed(&mut self, open: Span, what: &str) {
        let found = self.kind().to_string();
        let d = Diagnostic::error(
            "E0011",
            format!("expected `}}` to close {what}, found {found}"),
        )
        .with_primary(self.span(), "expected `}` before this")
        .with_secondary(open, "this `{` is never closed");
        self.report(d);
    }

    /// The elements of a comma-separated list after its opening bracket (`open`,
    /// already consumed), up to and including `close`. Line breaks between
    /// elements are allowed (inside `{}` the lexer keeps them, so they are
    /// skipped here). A broken element becomes `error(span)` and the list goes on
    /// at the next comma.
    fn comma_list<T>(
        &mut self,
        open: Span,
        close: TokenKind,
        what: &str,
        mut element: impl FnMut(&mut Self) -> PResult<T>,
        error: impl Fn(Span) -> T,
    ) -> Vec<T> {
        let mut items = Vec::new();
        loop {
            self.skip_newlines();
            if self.eat(&close).is_some() {
                return fitted(items);
            }
            if self.at(&TokenKind::Eof)
                || self.at(&TokenKind::RBrace)
                || self.line_start_keyword_at(0)
            {
                let found = self.kind().to_string();
                let d = Diagnostic::error(
                    "E0011",
                    format!("expected {close} to close {what}, found {found}"),
                )
                .with_primary(self.span(), format!("expected {close} before this"))
                .with_secondary(open, "the list starts here");
                self.report(d);
                return fitted(items);
            }
            let start = self.start();
            match element(self) {
                Ok(item) => items.push(item),
                Err(Reported) => {
                    self.skip_until(&[TokenKind::Comma, close.clone()], false);
                    items.push(error(self.span_from(start)));
                }
            }
            self.skip_newlines();
            if self.eat(&TokenKind::Comma).is_some() || self.at(&close) {
                continue;
            }
            if self.at(&TokenKind::Eof)
                || self.at(&TokenKind::RBrace)
                || self.line_start_keyword_at(0)
            {
                continue; // reported as unclosed at the top of the loop
            }
            let d = self.expected(&format!("`,` or {close}"), &format!("in {what}"));
            self.report(d);
            self.skip_until(&[TokenKind::Comma, close.clone()], false);
            self.eat(&TokenKind::Comma);
        }
    }

    // ------------------------------------------------------------ file

    fn file_items(&mut self) -> Vec<Item> {
        let mut items = Vec::new();
        loop {
            let doc = self.take_docs();
            if self.at(&TokenKind::Eof) {
                return items;
            }
            let before = self.pos;
            let start = self.start();
            let item = match self.kind() {
                TokenKind::Keyword("import") => self.import().map(Item::Import),
                TokenKind::Keyword("neuron" | "synapse" | "output") => {
                    self.model(doc).map(|m| Item::Model(Arc::new(m)))
                }
                TokenKind::Keyword("network") => self.network(doc).map(Item::Network),
                TokenKind::RBrace | TokenKind::RParen | TokenKind::RBracket => {
                    let d =
                        Diagnostic::error("E0012", format!("unmatched closing {}", self.kind()))
                            .with_primary(self.span(), "nothing opened here is closed by this");
                    self.bump();
                    Err(self.report(d))
                }
                _ => {
                    let d = self.expected(
                        "`import`, `neuron`, `synapse`, `output` or `network`",
                        "at the top level",
                    );
                    Err(self.report(d))
                }
            };
            match item {
                Ok(item) => {
                    items.push(item);
                    self.end_of_line("the definition");
                }
                Err(Reported) => {
                    self.recover_line();
                    if self.at(&TokenKind::RBrace) {
                        self.bump(); // no enclosing braces at file level
                    }
                    if self.pos == before {
                        self.bump();
                    }
                    items.push(Item::Error(self.span_from(start)));
                }
            }
        }
    }

    /// `import std.{LIF, Expon}`, `import std.LIF`, `import models.cortex.*`.
    fn import(&mut self) -> PResult<Import> {
        let start = self.start();
        self.bump();
        let mut module = vec![self.expect_name("a module name", "after `import`")?];
        loop {
            if self.eat(&TokenKind::Dot).is_none() {
                let last = module.last().map_or(String::new(), |m| m.name.clone());
                let d = self
                    .expected("`.`", &format!("and the names to import after `{last}`"))
                    .with_help(format!(
                        "name what to import: `import {}.{{A, B}}` or `import {}.*`",
                        path_text(&module),
                        path_text(&module)
                    ));
                return Err(self.report(d));
            }
            match self.kind() {
                TokenKind::LBrace => {
                    let open = self.bump().span;
                    let names = self.comma_list(
                        open,
                        TokenKind::RBrace,
                        "the import list",
                        |p| p.expect_name("a name to import", "in the import list"),
                        |span| Ident {
                            name: String::new(),
                            span,
                        },
                    );
                    let names = names.into_iter().filter(|n| !n.name.is_empty()).collect();
                    return Ok(Import {
                        module,
                        names: ImportNames::List(names),
                        span: self.span_from(start),
                    });
                }
                TokenKind::Star => {
                    let span = self.bump().span;
                    return Ok(Import {
                        module,
                        names: ImportNames::Glob(span),
                        span: self.span_from(start),
                    });
                }
                _ => {
                    let name = self.expect_name("a module or a name", "after `.`")?;
                    if !self.at(&TokenKind::Dot) {
                        return Ok(Import {
                            module,
                            names: ImportNames::List(vec![name]),
                            span: self.span_from(start),
                        });
                    }
                    module.push(name);
                }
            }
        }
    }
}

/// `list` without spare capacity: the syntax tree of a large file keeps
/// every list it holds, and a list grown by pushing has up to four times
/// the room its elements need (a call with one argument).
pub(crate) fn fitted<T>(mut list: Vec<T>) -> Vec<T> {
    list.shrink_to_fit();
    list
}

fn path_text(segments: &[Ident]) -> String {
    segments
        .iter()
        .map(|s| s.name.as_str())
        .collect::<Vec<_>>()
        .join(".")
}
