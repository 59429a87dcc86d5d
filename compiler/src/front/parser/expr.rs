//! Expressions, by precedence climbing, loosest first:
//! `or` < `and` < `not` < comparisons (non-associative) < `+ -` < `* /` <
//! unary `-` < `^` (right-associative, so `-x^2` is `-(x^2)` and `2^-1` works)
//! < a number with its unit, calls, paths and parentheses.
//!
//! A line break ends an expression, even right after an operator (the
//! language reference says so: wrap a long expression in parentheses, inside
//! which the lexer drops line breaks). Inside the braces of an `if`
//! expression the value may stand on its own line.

use super::{PResult, Parser};
use crate::diagnostic::Diagnostic;
use crate::front::ast::*;
use crate::front::lexer::TokenKind;

impl Parser {
    pub(super) fn expr(&mut self) -> PResult<Expr> {
        let mut e = self.nested(|p| p.or_expr())?;
        // `(a + b)) / tau`: report the stray `)` and read on, the expression
        // before it as one operand, so the statement keeps its meaning and the
        // checker does not pile a unit error on the syntax error.
        while self.at_stray_close() && Self::continues(self.nth(1)) {
            let d = Diagnostic::error("E0012", format!("unmatched closing {}", self.kind()))
                .with_primary(self.span(), "nothing opened here is closed by this");
            self.report(d);
            self.bump();
            self.pending = Some(e);
            e = self.nested(|p| p.or_expr())?;
        }
        Ok(e)
    }

    /// A `)` or `]` that no bracket of this statement opened.
    fn at_stray_close(&self) -> bool {
        if !matches!(self.kind(), TokenKind::RParen | TokenKind::RBracket) {
            return false;
        }
        let mut open = 0u32;
        // `{ … }` pairs met on the way back are the values of an `if`
        // expression inside this statement (`(if c { 1 } else { 0 }) - a`):
        // whole sub-expressions, stepped over without looking inside.
        let mut braces = 0u32;
        for t in self.tokens[..self.pos.min(self.tokens.len())].iter().rev() {
            match t.kind {
                TokenKind::RBrace => braces += 1,
                TokenKind::LBrace if braces > 0 => braces -= 1,
                _ if braces > 0 => {}
                // Statement boundaries (inside brackets the lexer emits no
                // line breaks, so a bracket spanning lines is still seen).
                TokenKind::Newline | TokenKind::Semi | TokenKind::LBrace => break,
                TokenKind::RParen | TokenKind::RBracket => open += 1,
                TokenKind::LParen | TokenKind::LBracket => {
                    if open == 0 {
                        return false;
                    }
                    open -= 1;
                }
                _ => {}
            }
        }
        true
    }

    /// Tokens that continue an expression after an operand.
    fn continues(k: &TokenKind) -> bool {
        matches!(
            k,
            TokenKind::Plus
                | TokenKind::Minus
                | TokenKind::Star
                | TokenKind::Slash
                | TokenKind::Caret
                | TokenKind::Lt
                | TokenKind::Le
                | TokenKind::Gt
                | TokenKind::Ge
                | TokenKind::EqEq
                | TokenKind::Ne
                | TokenKind::AndAnd
                | TokenKind::OrOr
                | TokenKind::Keyword("and" | "or")
        )
    }

    fn binary(lhs: Expr, op: BinaryOp, rhs: Expr) -> Expr {
        let span = lhs.span.to(rhs.span);
        Expr {
            kind: ExprKind::Binary {
                op,
                lhs: Box::new(lhs),
                rhs: Box::new(rhs),
            },
            span,
        }
    }

    fn or_expr(&mut self) -> PResult<Expr> {
        self.chain(Self::and_expr, |k| {
            matches!(k, TokenKind::Keyword("or") | TokenKind::OrOr).then_some(BinaryOp::Or)
        })
    }

    fn and_expr(&mut self) -> PResult<Expr> {
        self.chain(Self::not_expr, |k| {
            matches!(k, TokenKind::Keyword("and") | TokenKind::AndAnd).then_some(BinaryOp::And)
        })
    }

    /// `operand (op operand)*`, left-associative, by a loop: a flat chain of
    /// any length costs no stack here. Each operator deepens the tree by one
    /// level, which later phases walk recursively, so each counts against
    /// the tree-depth budget (see [`Parser::link`]).
    fn chain(
        &mut self,
        operand: fn(&mut Self) -> PResult<Expr>,
        op_of: fn(&TokenKind) -> Option<BinaryOp>,
    ) -> PResult<Expr> {
        let links_before = self.links;
        let result = (|| {
            let mut lhs = operand(self)?;
            while let Some(op) = op_of(self.kind()) {
                self.link()?;
                self.bump();
                let rhs = operand(self)?;
                lhs = Self::binary(lhs, op, rhs);
            }
            Ok(lhs)
        })();
        self.links = links_before;
        result
    }

    fn not_expr(&mut self) -> PResult<Expr> {
        if self.pending.is_none()
            && matches!(self.kind(), TokenKind::Keyword("not") | TokenKind::Bang)
        {
            let start = self.start();
            self.bump();
            let operand = self.nested(|p| p.not_expr())?;
            return Ok(Expr {
                kind: ExprKind::Unary {
                    op: UnaryOp::Not,
                    operand: Box::new(operand),
                },
                span: self.span_from(start),
            });
        }
        self.comparison()
    }

    fn comparison_op(&self) -> Option<BinaryOp> {
        Some(match self.kind() {
            TokenKind::Lt => BinaryOp::Lt,
            TokenKind::Le => BinaryOp::Le,
            TokenKind::Gt => BinaryOp::Gt,
            TokenKind::Ge => BinaryOp::Ge,
            TokenKind::EqEq => BinaryOp::Eq,
            TokenKind::Ne => BinaryOp::Ne,
            _ => return None,
        })
    }

    fn comparison(&mut self) -> PResult<Expr> {
        let lhs = self.sum()?;
        let Some(op) = self.comparison_op() else {
            return Ok(lhs);
        };
        self.bump();
        let rhs = self.sum()?;
        let expr = Self::binary(lhs, op, rhs);
        if self.comparison_op().is_some() {
            // `a < b < c` reads as a range test but would compare a boolean
            // with a number: refuse it rather than guess.
            let d = Diagnostic::error("E0016", "comparisons cannot be chained")
                .with_primary(self.span(), "a second comparison")
                .with_secondary(expr.span, "after this comparison")
                .with_help("combine two comparisons with `and`: `a < b and b < c`");
            return Err(self.report(d));
        }
        Ok(expr)
    }

    fn sum(&mut self) -> PResult<Expr> {
        self.chain(Self::product, |k| match k {
            TokenKind::Plus => Some(BinaryOp::Add),
            TokenKind::Minus => Some(BinaryOp::Sub),
            _ => None,
        })
    }

    fn product(&mut self) -> PResult<Expr> {
        self.chain(Self::unary, |k| match k {
            TokenKind::Star => Some(BinaryOp::Mul),
            TokenKind::Slash => Some(BinaryOp::Div),
            _ => None,
        })
    }

    fn unary(&mut self) -> PResult<Expr> {
        if self.pending.is_none() && self.at(&TokenKind::Minus) {
            let start = self.start();
            self.bump();
            let operand = self.nested(|p| p.unary())?;
            return Ok(Expr {
                kind: ExprKind::Unary {
                    op: UnaryOp::Neg,
                    operand: Box::new(operand),
                },
                span: self.span_from(start),
            });
        }
        self.power()
    }

    fn power(&mut self) -> PResult<Expr> {
        let base = self.atom()?;
        if !self.at(&TokenKind::Caret) {
            return Ok(base);
        }
        self.bump();
        // The exponent may carry its own sign (`2^-1`), and `a^b^c` is `a^(b^c)`.
        let exponent = self.nested(|p| p.unary())?;
        Ok(Self::binary(base, BinaryOp::Pow, exponent))
    }

    fn atom(&mut self) -> PResult<Expr> {
        if let Some(e) = self.pending.take() {
            return Ok(e);
        }
        let start = self.start();
        let kind = match self.kind().clone() {
            TokenKind::Number { value, .. } => {
                self.bump();
                match self.unit_after_number() {
                    Some(unit) => ExprKind::Quantity { value, unit },
                    None => ExprKind::Number(value),
                }
            }
            TokenKind::Str(s) => {
                self.bump();
                ExprKind::String(s)
            }
            TokenKind::Keyword("true") => {
                self.bump();
                ExprKind::Bool(true)
            }
            TokenKind::Keyword("false") => {
                self.bump();
                ExprKind::Bool(false)
            }
            TokenKind::Ident(name) => {
                let span = self.bump().span;
                let callee = Ident { name, span };
                if self.at(&TokenKind::LParen) {
                    let args = self.call_args("the arguments")?;
                    ExprKind::Call { callee, args }
                } else {
                    ExprKind::Path(self.path_rest(callee)?)
                }
            }
            TokenKind::LParen => {
                let open = self.bump().span;
                let inner = self.expr()?;
                self.close_paren(open)?;
                // Parentheses leave no node; the span grows to cover them so
                // that diagnostics underline what the user wrote.
                return Ok(Expr {
                    kind: inner.kind,
                    span: self.span_from(start),
                });
            }
            TokenKind::Keyword("if") => return self.nested(|p| p.if_expr()),
            TokenKind::Plus => {
                let d = self
                    .expected("an expression", "")
                    .with_help("there is no unary `+`: remove it");
                return Err(self.report(d));
            }
            _ => {
                let d = self.expected("an expression", "");
                return Err(self.report(d));
            }
        };
        Ok(Expr {
            kind,
            span: self.span_from(start),
        })
    }

    fn close_paren(&mut self, open: crate::source::Span) -> PResult<()> {
        if self.eat(&TokenKind::RParen).is_some() {
            return Ok(());
        }
        let d = self
            .expected("`)`", "")
            .with_secondary(open, "to close this `(`");
        Err(self.report(d))
    }

    /// The rest of a dotted name after its first segment: `post` `.V`.
    pub(super) fn path_rest(&mut self, first: Ident) -> PResult<Path> {
        let start = first.span.start;
        let mut segments = vec![first];
        while self.at(&TokenKind::Dot) {
            self.bump();
            segments.push(self.expect_name("a name", "after `.`")?);
        }
        Ok(Path {
            segments,
            span: self.span_from(start),
        })
    }

    /// `(a, name = b, …)`, the current token being `(`. Arguments that cannot
    /// be read become `Error` expressions; the list always ends at its `)`.
    pub(super) fn call_args(&mut self, what: &str) -> PResult<Vec<Arg>> {
        let open = self.bump().span;
        self.nested(|p| {
            Ok(p.comma_list(
                open,
                TokenKind::RParen,
                what,
                |p| p.arg(),
                |span| Arg {
                    name: None,
                    value: Expr {
                        kind: ExprKind::Error,
                        span,
                    },
                    span,
                },
            ))
        })
    }

    fn arg(&mut self) -> PResult<Arg> {
        let start = self.start();
        let mut name = None;
        if let (TokenKind::Ident(n), TokenKind::Eq) = (self.kind(), self.nth(1)) {
            let n = n.clone();
            let span = self.bump().span;
            self.bump();
            name = Some(Ident { name: n, span });
        }
        let value = self.expr()?;
        Ok(Arg {
            name,
            value,
            span: self.span_from(start),
        })
    }

    /// `if c { a } else { b }` (the `else` is required: it is a value).
    fn if_expr(&mut self) -> PResult<Expr> {
        let start = self.start();
        self.bump();
        let condition = self.expr()?;
        let then_value = self.braced_value("after the `if` condition")?;
        self.skip_newlines_before_else();
        if !self.at_kw("else") {
            let d = self
                .expected("`else`", "after the `if` value")
                .with_help("an `if` expression is a value and needs both branches");
            return Err(self.report(d));
        }
        self.bump();
        let else_value = if self.at_kw("if") {
            self.nested(|p| p.if_expr())?
        } else {
            self.braced_value("after `else`")?
        };
        Ok(Expr {
            kind: ExprKind::If {
                condition: Box::new(condition),
                then_value: Box::new(then_value),
                else_value: Box::new(else_value),
            },
            span: self.span_from(start),
        })
    }

    fn braced_value(&mut self, context: &str) -> PResult<Expr> {
        let open = self.expect(TokenKind::LBrace, context)?;
        self.skip_newlines();
        let value = self.expr()?;
        self.skip_newlines();
        if self.eat(&TokenKind::RBrace).is_none() {
            let d = self
                .expected("`}`", "after the value")
                .with_secondary(open, "to close this `{`");
            return Err(self.report(d));
        }
        Ok(value)
    }

    /// `}⏎ else {`: a line break before `else` does not end the `if`.
    pub(super) fn skip_newlines_before_else(&mut self) {
        let mut n = 0;
        while self.nth(n) == &TokenKind::Newline {
            n += 1;
        }
        if n > 0 && self.nth(n) == &TokenKind::Keyword("else") {
            self.skip_newlines();
        }
    }
}
