//! Unit expressions: in annotations (`param tau: ms`, `state g: [w]`,
//! `param k: 1/mV`) and after a number (`10 ms`, `1 uF/cm^2`).
//!
//! Annotations use the full unit grammar. After a number the parser cannot
//! know which names are units (`5 mV / tau`), so the rule is lexical:
//!
//! * the name right after the number, on the same line, starts the unit
//!   (any name but a contextual keyword: `delay 1 ms` / `every 1 ms` work);
//!   an unknown one (`10 msec`) is the checker's to report, with suggestions;
//! * the unit goes on across `*` or `/` only when the operator is written
//!   tight — no space on either side — and the next name is a known unit
//!   name: `10 mV/ms` is one quantity, `10 mV / tau` is `(10 mV) / tau`, and
//!   `1 ms * m` (a gate `m`) stays a product. Written with spaces,
//!   `10 mV / ms` is `(10 mV) / ms`: the same value;
//! * `^` and an exponent after a unit name belong to the unit, spaces or not:
//!   `1 uF/cm^2` is per square centimetre, never `(1 uF/cm)^2`.

use super::{PResult, Parser};
use crate::diagnostic::Diagnostic;
use crate::front::ast::*;
use crate::front::lexer::TokenKind;
use crate::front::units::is_unit_name;
use crate::front::vocabulary;

impl Parser<'_> {
    /// A unit annotation: `mV`, `mV/ms`, `nS*mV`, `1/ms`, `uF/cm^2`, `1`, `[w]`.
    pub(super) fn unit_annotation(&mut self, context: &str) -> PResult<UnitExpr> {
        self.nested(|p| {
            let links_before = p.links;
            let result = (|| {
                let mut lhs = p.unit_term(context)?;
                loop {
                    let div = match p.kind() {
                        TokenKind::Star => false,
                        TokenKind::Slash => true,
                        _ => return Ok(lhs),
                    };
                    p.link()?;
                    p.bump();
                    let rhs = p.unit_term("after the operator")?;
                    lhs = combine(lhs, div, rhs);
                }
            })();
            p.links = links_before;
            result
        })
    }

    fn unit_term(&mut self, context: &str) -> PResult<UnitExpr> {
        let start = self.start();
        let atom = match self.kind().clone() {
            TokenKind::Ident(name) => {
                self.bump();
                UnitExprKind::Name(name)
            }
            TokenKind::Number {
                value: 1.0,
                integer: true,
            } => {
                self.bump();
                UnitExprKind::One
            }
            TokenKind::Number { .. } => {
                let d = self
                    .expected("a unit", context)
                    .with_help("the only number that is a unit is `1` (dimensionless)");
                return Err(self.report(d));
            }
            TokenKind::LParen => {
                let open = self.bump().span;
                let inner = self.unit_annotation("after `(`")?;
                if self.eat(&TokenKind::RParen).is_none() {
                    let d = self
                        .expected("`)`", "in the unit")
                        .with_secondary(open, "to close this `(`");
                    return Err(self.report(d));
                }
                inner.kind
            }
            TokenKind::LBracket => {
                self.bump();
                let name = self.expect_name("a name", "in `[…]`")?;
                self.expect(TokenKind::RBracket, "after the name in `[…]`")?;
                UnitExprKind::UnitOf(name)
            }
            _ => {
                let d = self
                    .expected("a unit", context)
                    .with_help("a unit is written like `mV`, `nS*mV`, `1/ms`, `uF/cm^2` or `1`");
                return Err(self.report(d));
            }
        };
        let base = UnitExpr {
            kind: atom,
            span: self.span_from(start),
        };
        if !self.at(&TokenKind::Caret) {
            return Ok(base);
        }
        let caret = self.bump().span;
        match self.exponent_ahead(0) {
            Some((Ok(ratio), len)) => {
                for _ in 0..len {
                    self.bump();
                }
                Ok(pow(base, ratio, self.span_from(start)))
            }
            Some((Err(message), len)) => {
                let from = self.start();
                for _ in 0..len {
                    self.bump();
                }
                let d = Diagnostic::error("E0015", message)
                    .with_primary(self.span_from(from), "this exponent");
                Err(self.report(d))
            }
            None => {
                let d = Diagnostic::error(
                    "E0015",
                    format!(
                        "expected an exponent after `^` in the unit, found {}",
                        self.kind()
                    ),
                )
                .with_primary(self.span(), "expected an exponent")
                .with_secondary(caret, "")
                .with_help("unit exponents are integers or fractions: `cm^2`, `s^-1`, `m^(1/2)`");
                Err(self.report(d))
            }
        }
    }

    /// The unit right after a number, if one is written there (see the rules
    /// at the top of this file). The number is already consumed.
    pub(super) fn unit_after_number(&mut self) -> Option<UnitExpr> {
        let first = self.tok();
        let TokenKind::Ident(name) = &first.kind else {
            return None;
        };
        if first.line_break_before || vocabulary::CONTEXTUAL_KEYWORDS.contains(&name.as_str()) {
            return None;
        }
        let links_before = self.links;
        let unit = self.unit_chain_after_number();
        self.links = links_before;
        Some(unit)
    }

    /// `mV*ms^-1…` after a number: the factors written tight against their
    /// operators. A chain too long for the tree-depth budget ends early (the
    /// error is reported; the rest of the statement is skipped by recovery).
    fn unit_chain_after_number(&mut self) -> UnitExpr {
        let mut unit = self.unit_factor_after_number();
        loop {
            let op = self.tok();
            let div = match op.kind {
                TokenKind::Star => false,
                TokenKind::Slash => true,
                _ => return unit,
            };
            let next = self.nth_token(1);
            let tight = !op.space_before && !next.space_before;
            let is_unit = matches!(&next.kind, TokenKind::Ident(n) if is_unit_name(n));
            if !(tight && is_unit) || self.link().is_err() {
                return unit;
            }
            self.bump();
            let rhs = self.unit_factor_after_number();
            unit = combine(unit, div, rhs);
        }
    }

    /// A unit name (the current token) and the exponent after it, if any.
    fn unit_factor_after_number(&mut self) -> UnitExpr {
        let start = self.start();
        let name = match self.bump().kind {
            TokenKind::Ident(name) => name,
            _ => String::new(),
        };
        let base = UnitExpr {
            kind: UnitExprKind::Name(name),
            span: self.span_from(start),
        };
        if !self.at(&TokenKind::Caret) || self.tok().line_break_before {
            return base;
        }
        match self.exponent_ahead(1) {
            Some((Ok(ratio), len)) => {
                for _ in 0..=len {
                    self.bump();
                }
                pow(base, ratio, self.span_from(start))
            }
            Some((Err(message), len)) => {
                self.bump();
                let from = self.start();
                for _ in 0..len {
                    self.bump();
                }
                let d = Diagnostic::error("E0015", message)
                    .with_primary(self.span_from(from), "this exponent");
                self.report(d);
                pow(base, Ratio { num: 1, den: 1 }, self.span_from(start))
            }
            // `10 mV ^ x`: not a unit exponent; the expression parser takes it.
            None => base,
        }
    }

    /// Looks for a unit exponent `offset` tokens ahead: `2`, `-1`, `(-1)`,
    /// `(1/2)`, `(-3/2)`. Returns the exponent (or why it is invalid) and how
    /// many tokens it spans; `None` when no exponent is written there.
    fn exponent_ahead(&self, offset: usize) -> Option<(Result<Ratio, String>, usize)> {
        let int_at = |n: usize| match self.nth(offset + n) {
            TokenKind::Number {
                value,
                integer: true,
            } => Some(*value),
            _ => None,
        };
        let signed_at = |n: usize| -> Option<(f64, usize)> {
            if self.nth(offset + n) == &TokenKind::Minus {
                int_at(n + 1).map(|v| (-v, 2))
            } else {
                int_at(n).map(|v| (v, 1))
            }
        };
        if let Some((num, len)) = signed_at(0) {
            return Some((ratio(num, 1.0), len));
        }
        if self.nth(offset) != &TokenKind::LParen {
            return None;
        }
        let (num, len) = signed_at(1)?;
        let mut n = 1 + len;
        let mut den = 1.0;
        if self.nth(offset + n) == &TokenKind::Slash {
            den = int_at(n + 1)?;
            n += 2;
        }
        if self.nth(offset + n) != &TokenKind::RParen {
            return None;
        }
        Some((ratio(num, den), n + 1))
    }
}

fn ratio(num: f64, den: f64) -> Result<Ratio, String> {
    let limit = 1000.0;
    if num.abs() > limit || den > limit {
        return Err(format!("the unit exponent {num}/{den} is too large"));
    }
    if den == 0.0 {
        return Err("a unit exponent cannot divide by zero".into());
    }
    let (mut num, mut den) = (num as i32, den as i32);
    let g = gcd(num.unsigned_abs(), den.unsigned_abs()).max(1) as i32;
    num /= g;
    den /= g;
    Ok(Ratio { num, den })
}

fn gcd(a: u32, b: u32) -> u32 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

fn combine(lhs: UnitExpr, div: bool, rhs: UnitExpr) -> UnitExpr {
    let span = lhs.span.to(rhs.span);
    let (l, r) = (Box::new(lhs), Box::new(rhs));
    UnitExpr {
        kind: if div {
            UnitExprKind::Div(l, r)
        } else {
            UnitExprKind::Mul(l, r)
        },
        span,
    }
}

fn pow(base: UnitExpr, ratio: Ratio, span: crate::source::Span) -> UnitExpr {
    UnitExpr {
        kind: UnitExprKind::Pow(Box::new(base), ratio),
        span,
    }
}
