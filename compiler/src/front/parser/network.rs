//! `network name { … }`: settings, populations, projections, stimuli,
//! injections and recordings.

use super::{fitted, PResult, Parser, Reported, ITEM_KEYWORDS, NET_ITEM_KEYWORDS};
use crate::front::ast::*;
use crate::front::lexer::TokenKind;
use crate::source::Span;

impl Parser<'_> {
    /// `network coba { … }` (the current token is `network`).
    pub(super) fn network(&mut self, doc: Option<String>) -> PResult<NetworkDef> {
        let start = self.start();
        self.bump();
        let name = self.expect_name("a network name", "after `network`")?;
        let what = format!("the body of network `{}`", name.name);
        let open = self.expect(TokenKind::LBrace, &format!("to start {what}"))?;
        let mut items = Vec::new();
        loop {
            let doc = self.take_docs();
            match self.kind() {
                TokenKind::RBrace => {
                    self.bump();
                    break;
                }
                TokenKind::Eof => {
                    self.unclosed(open, &what);
                    break;
                }
                TokenKind::Keyword(k) if ITEM_KEYWORDS.contains(k) => {
                    self.unclosed(open, &what);
                    break;
                }
                _ => {}
            }
            let before = self.pos;
            let item_start = self.start();
            match self.net_item(doc) {
                Ok(item) => {
                    items.push(item);
                    self.end_of_line("the network item");
                }
                Err(Reported) => {
                    self.recover_line();
                    if self.pos == before {
                        self.bump();
                    }
                    items.push(NetItem::Error(self.span_from(item_start)));
                }
            }
        }
        Ok(NetworkDef {
            name,
            doc,
            items: fitted(items),
            span: self.span_from(start),
        })
    }

    fn net_item(&mut self, doc: Option<String>) -> PResult<NetItem> {
        let start = self.start();
        match self.kind().clone() {
            TokenKind::Keyword("population") => self.population(doc).map(NetItem::Population),
            TokenKind::Keyword("projection") => self.projection().map(NetItem::Projection),
            TokenKind::Keyword("stimulus") => self.stimulus().map(NetItem::Stimulus),
            TokenKind::Keyword("record") => self.record().map(NetItem::Record),
            TokenKind::Ident(name) if self.nth(1) == &TokenKind::Eq => {
                let span = self.bump().span;
                self.bump();
                let value = self.expr()?;
                Ok(NetItem::Setting(Setting {
                    name: Ident { name, span },
                    value,
                    span: self.span_from(start),
                }))
            }
            TokenKind::Ident(name) => {
                let span = self.bump().span;
                let target = self.path_rest(Ident { name, span })?;
                let op = self.assign_op(&target)?;
                let value = self.expr()?;
                Ok(NetItem::Inject(Inject {
                    target,
                    op,
                    value,
                    span: self.span_from(start),
                }))
            }
            _ => {
                let d = self.expected("a network item", "").with_note(
                    "network items are settings (`dt = 0.1 ms`), `population`, `projection`, \
                         `stimulus`, injections (`E.I += 0.2 nA`) and `record`",
                );
                Err(self.report(d))
            }
        }
    }

    /// `population E = LIF[3200] { tau = 20 ms, V ~ uniform(-60 mV, -50 mV) }`
    fn population(&mut self, doc: Option<String>) -> PResult<PopulationDecl> {
        let start = self.start();
        self.bump();
        let name = self.expect_name("a population name", "after `population`")?;
        self.expect(TokenKind::Eq, &format!("after `population {}`", name.name))?;
        let model = self.expect_name("a neuron model", "after `=`")?;
        if !self.at(&TokenKind::LBracket) {
            let d = self
                .expected(
                    "`[` and the population size",
                    &format!("after `{}`", model.name),
                )
                .with_help(format!(
                    "give the number of neurons: `population {} = {}[100]`",
                    name.name, model.name
                ));
            return Err(self.report(d));
        }
        let open = self.bump().span;
        let size = self.expr()?;
        self.close_bracket(open)?;
        let mut overrides = Vec::new();
        if self.at(&TokenKind::LBrace) {
            let open = self.bump().span;
            let list = self.comma_list(
                open,
                TokenKind::RBrace,
                "the overrides",
                |p| p.override_item(),
                |span| Override {
                    name: Ident {
                        name: String::new(),
                        span,
                    },
                    sampled: false,
                    value: Expr {
                        kind: ExprKind::Error,
                        span,
                    },
                    span,
                },
            );
            overrides = list;
        }
        Ok(PopulationDecl {
            name,
            model,
            size,
            overrides,
            doc,
            span: self.span_from(start),
        })
    }

    fn close_bracket(&mut self, open: Span) -> PResult<()> {
        if self.eat(&TokenKind::RBracket).is_some() {
            return Ok(());
        }
        let d = self
            .expected("`]`", "")
            .with_secondary(open, "to close this `[`");
        Err(self.report(d))
    }

    /// `tau = 20 ms` or `V ~ uniform(-60 mV, -50 mV)`.
    fn override_item(&mut self) -> PResult<Override> {
        let start = self.start();
        let name = match self.kind() {
            TokenKind::Ident(_) | TokenKind::Keyword(_) => {
                self.expect_name("an override", "in the override list")?
            }
            _ => {
                let d = self.expected("an override (`name = value` or `name ~ distribution`)", "");
                return Err(self.report(d));
            }
        };
        let sampled = match self.kind() {
            TokenKind::Eq => false,
            TokenKind::Tilde => true,
            _ => {
                let d = self.expected("`=` or `~`", &format!("after `{}`", name.name));
                return Err(self.report(d));
            }
        };
        self.bump();
        let value = self.expr()?;
        Ok(Override {
            name,
            sampled,
            value,
            span: self.span_from(start),
        })
    }

    /// `A, B` (at least one name).
    fn name_list(&mut self, what: &str, context: &str) -> PResult<Vec<Ident>> {
        let mut names = vec![self.expect_name(what, context)?];
        while self.eat(&TokenKind::Comma).is_some() {
            names.push(self.expect_name(what, "after `,`")?);
        }
        Ok(names)
    }

    /// `projection E -> E, I { clauses }`
    fn projection(&mut self) -> PResult<ProjectionDecl> {
        let start = self.start();
        self.bump();
        let sources = self.name_list("a source population", "after `projection`")?;
        self.expect(TokenKind::Arrow, "after the source populations")?;
        let targets = self.name_list("a target population", "after `->`")?;
        let open = self.expect(TokenKind::LBrace, "to start the projection's clauses")?;
        let mut clauses = Vec::new();
        loop {
            self.skip_separators();
            match self.kind() {
                TokenKind::RBrace => {
                    self.bump();
                    break;
                }
                TokenKind::Eof => {
                    self.unclosed(open, "the projection");
                    break;
                }
                TokenKind::Keyword(k)
                    if (ITEM_KEYWORDS.contains(k) || NET_ITEM_KEYWORDS.contains(k))
                        && !matches!(*k, "synapse" | "output") =>
                {
                    self.unclosed(open, "the projection");
                    break;
                }
                _ => {}
            }
            let before = self.pos;
            let clause_start = self.start();
            match self.clause() {
                Ok(clause) => {
                    clauses.push(clause);
                    self.end_of_line("the clause");
                }
                Err(Reported) => {
                    self.recover_line();
                    if self.pos == before {
                        self.bump();
                    }
                    clauses.push(ProjClause::Error(self.span_from(clause_start)));
                }
            }
        }
        Ok(ProjectionDecl {
            sources,
            targets,
            clauses: fitted(clauses),
            span: self.span_from(start),
        })
    }

    fn clause(&mut self) -> PResult<ProjClause> {
        let start = self.start();
        match self.kind() {
            TokenKind::Keyword("connect") => {
                self.bump();
                let rule = self.expect_name("a connection rule", "after `connect`")?;
                let args = if self.at(&TokenKind::LParen) {
                    self.call_args("the rule's arguments")?
                } else {
                    Vec::new()
                };
                Ok(ProjClause::Connect {
                    rule,
                    args,
                    span: self.span_from(start),
                })
            }
            TokenKind::Keyword("synapse") => {
                self.bump();
                Ok(ProjClause::Synapse(self.model_ref("synapse", start)?))
            }
            TokenKind::Keyword("output") => {
                self.bump();
                Ok(ProjClause::Output(self.model_ref("output", start)?))
            }
            TokenKind::Ident(w) if w == "weight" => {
                self.bump();
                Ok(ProjClause::Weight(self.expr()?))
            }
            TokenKind::Ident(w) if w == "delay" => {
                self.bump();
                Ok(ProjClause::Delay(self.expr()?))
            }
            _ => {
                let d = self.expected(
                    "a projection clause (`connect`, `weight`, `delay`, `synapse` or `output`)",
                    "",
                );
                Err(self.report(d))
            }
        }
    }

    /// `Expon` or `Expon(tau = 5 ms)` after `synapse`/`output`.
    fn model_ref(&mut self, keyword: &str, start: u32) -> PResult<ModelRef> {
        let name =
            self.expect_name(&format!("a {keyword} model"), &format!("after `{keyword}`"))?;
        let args = if self.at(&TokenKind::LParen) {
            self.call_args("the model's arguments")?
        } else {
            Vec::new()
        };
        Ok(ModelRef {
            name,
            args,
            span: self.span_from(start),
        })
    }

    /// `stimulus drive: nA[E] from input` or `stimulus S: spikes[100] from input`;
    /// `from "file.npy"` instead of `from input` names a default file.
    fn stimulus(&mut self) -> PResult<StimulusDecl> {
        let start = self.start();
        self.bump();
        let name = self.expect_name("a stimulus name", "after `stimulus`")?;
        self.expect(TokenKind::Colon, &format!("after `stimulus {}`", name.name))?;
        let kind = if self.at_word("spikes") && self.nth(1) == &TokenKind::LBracket {
            self.bump();
            let open = self.bump().span;
            let size = self.expr()?;
            self.close_bracket(open)?;
            StimulusKind::SpikeTrain { size }
        } else {
            let unit = self.unit_annotation("after `:`")?;
            let open = self.expect(TokenKind::LBracket, "and the population after the unit")?;
            let population = self.expect_name("a population", "in `[…]`")?;
            self.close_bracket(open)?;
            StimulusKind::Array { unit, population }
        };
        self.expect_word("from", "after the stimulus type")?;
        let default_file = if let TokenKind::Str(path) = self.nth(0).clone() {
            let span = self.bump().span;
            Some((path, span))
        } else {
            self.expect_word("input", "after `from` (or a file in quotes)")?;
            None
        };
        Ok(StimulusDecl {
            name,
            kind,
            default_file,
            span: self.span_from(start),
        })
    }

    /// `record spikes of E, I` or `record V, w of E[0:10] every 1 ms`.
    fn record(&mut self) -> PResult<RecordDecl> {
        let start = self.start();
        self.bump();
        if self.at_word("spikes") && matches!(self.nth(1), TokenKind::Ident(w) if w == "of") {
            self.bump();
            self.bump();
            let populations = self.name_list("a population", "after `record spikes of`")?;
            return Ok(RecordDecl::Spikes {
                populations,
                span: self.span_from(start),
            });
        }
        let variables = self.name_list("a variable to record", "after `record`")?;
        self.expect_word("of", "after the recorded variables")?;
        let of_start = self.start();
        let population = self.expect_name("a population", "after `of`")?;
        let range = if self.at(&TokenKind::LBracket) {
            let open = self.bump().span;
            let from = self.expr()?;
            self.expect(TokenKind::Colon, "in the index range `[from:to]`")?;
            let to = self.expr()?;
            self.close_bracket(open)?;
            Some((from, to))
        } else {
            None
        };
        let of = PopSlice {
            population,
            range,
            span: self.span_from(of_start),
        };
        let every = if self.at_word("every") {
            self.bump();
            Some(self.expr()?)
        } else {
            None
        };
        Ok(RecordDecl::Trace {
            variables,
            of,
            every,
            span: self.span_from(start),
        })
    }
}
