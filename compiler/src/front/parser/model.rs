//! Model definitions (`neuron`, `synapse`, `output`), their members, and the
//! statements of `reset`, `on_pre` and model bodies.

use super::{fitted, PResult, Parser, Reported, ITEM_KEYWORDS};
use crate::diagnostic::Diagnostic;
use crate::front::ast::*;
use crate::front::lexer::TokenKind;
use crate::source::Span;

impl Parser<'_> {
    /// `neuron LIF { … }` (the current token is the kind keyword).
    pub(super) fn model(&mut self, doc: Option<String>) -> PResult<ModelDef> {
        let start = self.start();
        let (kind, word) = match self.bump().kind {
            TokenKind::Keyword("synapse") => (ModelKind::Synapse, "synapse"),
            TokenKind::Keyword("output") => (ModelKind::Output, "output"),
            _ => (ModelKind::Neuron, "neuron"),
        };
        let name = self.expect_name("a model name", &format!("after `{word}`"))?;
        let what = format!("the body of {word} `{}`", name.name);
        let open = self.expect(TokenKind::LBrace, &format!("to start {what}"))?;
        let members = self.members(open, &what);
        Ok(ModelDef {
            kind,
            name,
            doc,
            members,
            span: self.span_from(start),
        })
    }

    /// Members up to and including the closing `}`.
    fn members(&mut self, open: Span, what: &str) -> Vec<Member> {
        let mut members = Vec::new();
        loop {
            let doc = self.take_docs();
            match self.kind() {
                TokenKind::RBrace => {
                    self.bump();
                    return fitted(members);
                }
                TokenKind::Eof => {
                    self.unclosed(open, what);
                    return fitted(members);
                }
                TokenKind::Keyword(k) if ITEM_KEYWORDS.contains(k) => {
                    self.unclosed(open, what);
                    return fitted(members);
                }
                _ => {}
            }
            let before = self.pos;
            let start = self.start();
            match self.member(doc) {
                Ok(member) => {
                    members.push(member);
                    self.end_of_line("the member");
                }
                Err(Reported) => {
                    self.recover_line();
                    if self.pos == before {
                        self.bump();
                    }
                    members.push(Member::Error(self.span_from(start)));
                }
            }
        }
    }

    fn member(&mut self, doc: Option<String>) -> PResult<Member> {
        let start = self.start();
        match self.kind().clone() {
            TokenKind::Keyword("param") => self.param(doc).map(Member::Param),
            TokenKind::Keyword("state") => self.state(doc).map(Member::State),
            TokenKind::Keyword("current") => self.current(doc).map(Member::Current),
            TokenKind::Keyword("let") => self.let_decl(doc).map(Member::Let),
            TokenKind::Keyword("spike") => {
                self.bump();
                self.expect_kw("when", "after `spike`")?;
                let condition = self.expr()?;
                Ok(Member::Spike(SpikeDecl {
                    condition,
                    span: self.span_from(start),
                }))
            }
            TokenKind::Keyword("reset") => {
                self.bump();
                self.block("after `reset`").map(Member::Reset)
            }
            TokenKind::Keyword("on_pre") => {
                self.bump();
                self.block("after `on_pre`").map(Member::OnPre)
            }
            TokenKind::Keyword("on_post") => {
                self.bump();
                self.block("after `on_post`").map(Member::OnPost)
            }
            TokenKind::Keyword("refractory") => {
                self.bump();
                let form = self.refractory_form();
                let value = self.expr()?;
                Ok(Member::Refractory(RefractoryDecl {
                    form,
                    value,
                    span: self.span_from(start),
                }))
            }
            TokenKind::Keyword("integrate") => {
                self.bump();
                let method = self.expect_name(
                    "an integration method (`exp_euler`, `euler`, `rk2`, `rk4`)",
                    "after `integrate`",
                )?;
                Ok(Member::Integrate(method))
            }
            TokenKind::Ident(name) if self.is_derivative_head(&name) => {
                self.ode(name).map(Member::Ode)
            }
            TokenKind::Ident(_) | TokenKind::Keyword("if") => self.stmt().map(Member::Stmt),
            _ => {
                let d = self.expected("a member", "in the model body").with_note(
                    "members are `param`, `state`, `current`, `let`, `dX/dt = …`, `spike when`, \
                     `reset`, `refractory`, `on_pre`, `on_post`, `integrate` and statements like `I += g`",
                );
                Err(self.report(d))
            }
        }
    }

    /// `dV/…` at the start of a member: a derivative, even if what follows the
    /// slash is wrong (reported by [`Self::ode`]).
    /// After `refractory`: `while` followed by more on its line starts a
    /// condition (a param named `while` may still be the whole period).
    fn refractory_form(&mut self) -> RefractoryForm {
        let more = !matches!(self.nth(1), TokenKind::Newline | TokenKind::Eof)
            && !self.nth_token(1).line_break_before;
        if self.at_word("while") && more {
            self.bump();
            RefractoryForm::While
        } else {
            RefractoryForm::For
        }
    }

    fn is_derivative_head(&self, name: &str) -> bool {
        name.len() > 1
            && name.starts_with('d')
            && self.nth(1) == &TokenKind::Slash
            && matches!(self.nth(2), TokenKind::Ident(_))
            && matches!(self.nth(3), TokenKind::Eq | TokenKind::ColonEq)
    }

    /// `dV/dt = rhs`.
    fn ode(&mut self, name: String) -> PResult<OdeDecl> {
        let start = self.start();
        let head = self.bump().span;
        let var = Ident {
            // `d` is one byte, so the state's name starts one byte in.
            name: name[1..].to_string(),
            span: Span {
                start: head.start + 1,
                ..head
            },
        };
        self.bump(); // `/`
        let dt = self.bump();
        if dt.kind != TokenKind::Ident("dt".into()) {
            let d = Diagnostic::error(
                "E0017",
                format!(
                    "expected `dt` in the derivative `{name}/dt`, found {}",
                    dt.kind
                ),
            )
            .with_primary(dt.span, "expected `dt`")
            .with_help("time derivatives are written `dV/dt = …`");
            return Err(self.report(d));
        }
        self.assign_eq(&format!("after `{name}/dt`"))?;
        let rhs = self.expr()?;
        Ok(OdeDecl {
            var,
            rhs,
            span: self.span_from(start),
        })
    }

    /// Expects `=`; takes `:=` (and reports it) so that one wrong character
    /// does not cost the rest of the line.
    fn assign_eq(&mut self, context: &str) -> PResult<()> {
        match self.kind() {
            TokenKind::Eq => {}
            TokenKind::ColonEq => {
                let d = Diagnostic::error("E0019", format!("`:=` is not an operator {context}"))
                    .with_primary(self.span(), "not an operator")
                    .with_help("use `=`");
                self.report(d);
            }
            _ => {
                let d = self.expected("`=`", context);
                return Err(self.report(d));
            }
        }
        self.bump();
        Ok(())
    }

    /// `name: unit`, or `name` alone with a diagnostic: the name, the unit
    /// (an `Error` unit when missing) and whether a unit was written.
    fn name_and_unit(&mut self, keyword: &str) -> PResult<(Ident, UnitExpr)> {
        let name = self.expect_name("a name", &format!("after `{keyword}`"))?;
        if self.eat(&TokenKind::Colon).is_some() {
            let unit = self.unit_annotation(&format!("after `{}:`", name.name))?;
            return Ok((name, unit));
        }
        let at = self.span();
        let mut d = Diagnostic::error(
            "E0014",
            format!("the {keyword} `{}` has no unit", name.name),
        )
        .with_primary(name.span, "expected `: unit` after this name")
        .with_help(format!(
            "a {keyword} needs a unit: `{keyword} {}: {}` (write `: 1` for a plain number)",
            name.name,
            if keyword == "current" {
                "nA"
            } else {
                "mV = …"
            },
        ));
        if !matches!(
            self.kind(),
            TokenKind::Eq
                | TokenKind::Newline
                | TokenKind::Semi
                | TokenKind::RBrace
                | TokenKind::Eof
        ) {
            // Not just a missing annotation: something else is in the way.
            d = self.expected("`:` and a unit", &format!("after the {keyword} name"));
            self.report(d);
            return Err(Reported);
        }
        self.report(d);
        let unit = UnitExpr {
            kind: UnitExprKind::Error,
            span: Span {
                start: name.span.end,
                end: name.span.end,
                ..at
            },
        };
        Ok((name, unit))
    }

    /// `= value` after a declaration, if present.
    fn optional_default(&mut self, what: &str) -> PResult<Option<Expr>> {
        match self.kind() {
            TokenKind::Eq | TokenKind::ColonEq => {
                self.assign_eq(&format!("after the {what} type"))?;
                Ok(Some(self.expr()?))
            }
            TokenKind::Newline | TokenKind::Semi | TokenKind::RBrace | TokenKind::Eof => Ok(None),
            _ => {
                let d = self.expected("`=`", &format!("after the {what} type"));
                Err(self.report(d))
            }
        }
    }

    fn param(&mut self, doc: Option<String>) -> PResult<ParamDecl> {
        let start = self.start();
        self.bump();
        let (name, unit) = self.name_and_unit("param")?;
        let default = self.optional_default("param")?;
        Ok(ParamDecl {
            name,
            unit,
            default,
            doc,
            span: self.span_from(start),
        })
    }

    fn state(&mut self, doc: Option<String>) -> PResult<StateDecl> {
        let start = self.start();
        self.bump();
        let (name, unit) = self.name_and_unit("state")?;
        let init = self.optional_default("state")?;
        Ok(StateDecl {
            name,
            unit,
            init,
            doc,
            span: self.span_from(start),
        })
    }

    fn current(&mut self, doc: Option<String>) -> PResult<CurrentDecl> {
        let start = self.start();
        self.bump();
        let (name, unit) = self.name_and_unit("current")?;
        if self.at(&TokenKind::Eq) {
            let d = self
                .expected("the end of the line", "after the current's unit")
                .with_help("a current has no initial value: it is summed afresh every step");
            return Err(self.report(d));
        }
        Ok(CurrentDecl {
            name,
            unit,
            doc,
            span: self.span_from(start),
        })
    }

    fn let_decl(&mut self, doc: Option<String>) -> PResult<LetDecl> {
        let start = self.start();
        self.bump();
        let name = self.expect_name("a name", "after `let`")?;
        let unit = if self.eat(&TokenKind::Colon).is_some() {
            Some(self.unit_annotation(&format!("after `{}:`", name.name))?)
        } else {
            None
        };
        self.assign_eq(&format!("after `let {}`", name.name))?;
        let value = self.expr()?;
        Ok(LetDecl {
            name,
            unit,
            value,
            doc,
            span: self.span_from(start),
        })
    }

    // ------------------------------------------------------------ statements

    /// `{ stmt; stmt ⏎ stmt }` up to and including the `}`.
    pub(super) fn block(&mut self, context: &str) -> PResult<Block> {
        let start = self.start();
        let open = self.expect(TokenKind::LBrace, context)?;
        self.nested(|p| {
            let mut stmts = Vec::new();
            loop {
                p.skip_separators();
                match p.kind() {
                    TokenKind::RBrace => {
                        p.bump();
                        break;
                    }
                    TokenKind::Eof => {
                        p.unclosed(open, "the block");
                        break;
                    }
                    _ if p.line_start_keyword_at(0) => {
                        p.unclosed(open, "the block");
                        break;
                    }
                    _ => {}
                }
                let before = p.pos;
                let stmt_start = p.start();
                match p.stmt() {
                    Ok(stmt) => {
                        stmts.push(stmt);
                        p.end_of_line("the statement");
                    }
                    Err(Reported) => {
                        p.recover_line();
                        if p.pos == before {
                            p.bump();
                        }
                        stmts.push(Stmt::Error(p.span_from(stmt_start)));
                    }
                }
            }
            Ok(Block {
                stmts: fitted(stmts),
                span: p.span_from(start),
            })
        })
    }

    /// `target op value` or `if c { … } else { … }`.
    pub(super) fn stmt(&mut self) -> PResult<Stmt> {
        let start = self.start();
        if self.at_kw("if") {
            self.bump();
            let condition = self.expr()?;
            let then_branch = self.block("after the `if` condition")?;
            self.skip_newlines_before_else();
            let else_branch = if self.at_kw("else") {
                self.bump();
                if self.at_kw("if") {
                    // `else if`: a block holding one `if`.
                    let inner_start = self.start();
                    let inner = self.nested(|p| p.stmt())?;
                    Some(Block {
                        stmts: vec![inner],
                        span: self.span_from(inner_start),
                    })
                } else {
                    Some(self.block("after `else`")?)
                }
            } else {
                None
            };
            return Ok(Stmt::If {
                condition,
                then_branch,
                else_branch,
                span: self.span_from(start),
            });
        }
        let target = match self.kind().clone() {
            TokenKind::Ident(name) => {
                let span = self.bump().span;
                self.path_rest(Ident { name, span })?
            }
            _ => {
                let d = self.expected(
                    "a statement",
                    "",
                ).with_help("statements assign (`V = V_reset`, `g += w`, `post.V += w`) or branch (`if … { … }`)");
                return Err(self.report(d));
            }
        };
        let op = self.assign_op(&target)?;
        let value = self.expr()?;
        Ok(Stmt::Assign {
            target,
            op,
            value,
            span: self.span_from(start),
        })
    }

    /// `=`, `+=`, `-=`, `*=`, `/=` after `target`. Near misses (`:=`, `=>`,
    /// `==`) are reported and read as `=`, so the value is still checked.
    pub(super) fn assign_op(&mut self, target: &Path) -> PResult<AssignOp> {
        let op = match self.kind() {
            TokenKind::Eq => AssignOp::Set,
            TokenKind::PlusEq => AssignOp::Add,
            TokenKind::MinusEq => AssignOp::Sub,
            TokenKind::StarEq => AssignOp::Mul,
            TokenKind::SlashEq => AssignOp::Div,
            TokenKind::ColonEq | TokenKind::FatArrow | TokenKind::EqEq => {
                let found = self.kind().to_string();
                let help = match self.kind() {
                    TokenKind::EqEq => "`==` compares; to assign, use `=`",
                    TokenKind::FatArrow => "to assign, use `=` (`>=` compares)",
                    _ => "use `=`",
                };
                let d = Diagnostic::error(
                    "E0019",
                    format!("expected an assignment operator, found {found}"),
                )
                .with_primary(self.span(), "not an assignment operator")
                .with_help(help);
                self.report(d);
                AssignOp::Set
            }
            _ => {
                let target = super::path_text(&target.segments);
                let d = self.expected(
                    "an assignment operator (`=`, `+=`, `-=`, `*=`, `/=`)",
                    &format!("after `{target}`"),
                );
                return Err(self.report(d));
            }
        };
        self.bump();
        Ok(op)
    }
}
