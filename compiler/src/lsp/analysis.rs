//! What each name in a file refers to: a walk over the syntax tree that
//! records every occurrence of a model, member, population, stimulus or unit
//! name with the symbol it denotes. Hover, go-to-definition and completion
//! all start here.

use crate::front::ast::{
    Block, Expr, ExprKind, File, Ident, Item, Member, ModelDef, ModelKind, NetItem, NetworkDef,
    Path, ProjClause, RecordDecl, StimulusKind, Stmt, UnitExpr, UnitExprKind,
};
use crate::front::check::{unit_text, Scope, Ty};
use crate::front::units::{lookup, Dimension};
use crate::source::Span;
use std::collections::{HashMap, HashSet};
use std::ops::Range;

/// Which model a name belongs to: one defined in this file (found by the span
/// of its name) or one in the file's scope (found by name).
#[derive(Clone, Debug, PartialEq)]
pub enum ModelKey {
    Local(Span),
    Scope(String),
}

#[derive(Clone, Debug, PartialEq)]
pub enum Symbol {
    Model(ModelKey),
    /// A param, state, current or let of a model.
    Member {
        model: ModelKey,
        name: String,
    },
    /// A population (or spike-train stimulus) of the network at item `network`.
    Population {
        network: usize,
        name: String,
    },
    /// An array stimulus of the network at item `network`.
    Stimulus {
        network: usize,
        name: String,
    },
    Unit(String),
    /// `t`, `dt`, `w` in a model body.
    Builtin(String),
    /// `dt`, `duration`, `seed` in a network.
    Setting(String),
}

#[derive(Clone, Debug)]
pub struct Occurrence {
    pub range: Range<usize>,
    pub symbol: Symbol,
}

/// Every name occurrence of `file` (only those in file `file.span.source`).
pub fn occurrences(file: &File) -> Vec<Occurrence> {
    let mut w = Walker {
        out: Vec::new(),
        source: file.span.source,
    };
    for (i, item) in file.items.iter().enumerate() {
        match item {
            Item::Import(imp) => {
                if let crate::front::ast::ImportNames::List(names) = &imp.names {
                    for n in names {
                        w.push(n, Symbol::Model(ModelKey::Scope(n.name.clone())));
                    }
                }
            }
            Item::Model(m) => w.model(m),
            Item::Network(n) => w.network(i, n),
            Item::Error(_) => {}
        }
    }
    w.out
}

/// The innermost occurrence at byte `offset` (an offset just after a name counts).
pub fn at(occ: &[Occurrence], offset: usize) -> Option<&Occurrence> {
    occ.iter()
        .filter(|o| o.range.start <= offset && offset <= o.range.end)
        .min_by_key(|o| (o.range.end - o.range.start, o.range.start))
}

struct Walker {
    out: Vec<Occurrence>,
    source: crate::source::SourceId,
}

/// Where an expression is: which names it can see.
enum Cx<'a> {
    Model {
        key: &'a ModelKey,
        names: &'a HashSet<String>,
        kind: ModelKind,
    },
    Network {
        network: usize,
        stimuli: &'a HashSet<String>,
    },
}

impl Walker {
    fn push(&mut self, id: &Ident, symbol: Symbol) {
        // Recovered nodes can carry spans of other files or empty names.
        if id.span.source != self.source || id.name.is_empty() {
            return;
        }
        self.out.push(Occurrence {
            range: id.span.range(),
            symbol,
        });
    }

    fn model(&mut self, m: &ModelDef) {
        let key = ModelKey::Local(m.name.span);
        self.push(&m.name, Symbol::Model(key.clone()));
        let names: HashSet<String> = members(m)
            .into_iter()
            .map(|i| i.name.name.clone())
            .collect();
        let member = |name: &Ident| Symbol::Member {
            model: key.clone(),
            name: name.name.clone(),
        };
        let cx = Cx::Model {
            key: &key,
            names: &names,
            kind: m.kind,
        };
        for mem in &m.members {
            match mem {
                Member::Param(p) => {
                    self.push(&p.name, member(&p.name));
                    self.unit(&p.unit);
                    if let Some(d) = &p.default {
                        self.expr(d, &cx);
                    }
                }
                Member::State(s) => {
                    self.push(&s.name, member(&s.name));
                    self.unit(&s.unit);
                    if let Some(d) = &s.init {
                        self.expr(d, &cx);
                    }
                }
                Member::Current(c) => {
                    self.push(&c.name, member(&c.name));
                    self.unit(&c.unit);
                }
                Member::Let(l) => {
                    self.push(&l.name, member(&l.name));
                    if let Some(u) = &l.unit {
                        self.unit(u);
                    }
                    self.expr(&l.value, &cx);
                }
                Member::Ode(o) => {
                    if names.contains(&o.var.name) {
                        self.push(&o.var, member(&o.var));
                    }
                    self.expr(&o.rhs, &cx);
                }
                Member::Spike(s) => self.expr(&s.condition, &cx),
                Member::Refractory(r) => self.expr(&r.value, &cx),
                Member::Reset(b) | Member::OnPre(b) | Member::OnPost(b) => self.block(b, &cx),
                Member::Stmt(s) => self.stmt(s, &cx),
                Member::Integrate(_) | Member::Error(_) => {}
            }
        }
    }

    fn block(&mut self, b: &Block, cx: &Cx) {
        for s in &b.stmts {
            self.stmt(s, cx);
        }
    }

    fn stmt(&mut self, s: &Stmt, cx: &Cx) {
        match s {
            Stmt::Assign { target, value, .. } => {
                self.path(target, cx);
                self.expr(value, cx);
            }
            Stmt::If {
                condition,
                then_branch,
                else_branch,
                ..
            } => {
                self.expr(condition, cx);
                self.block(then_branch, cx);
                if let Some(e) = else_branch {
                    self.block(e, cx);
                }
            }
            Stmt::Error(_) => {}
        }
    }

    fn path(&mut self, p: &Path, cx: &Cx) {
        let [one] = p.segments.as_slice() else {
            return;
        };
        let n = one.name.as_str();
        match cx {
            Cx::Model { key, names, kind } => {
                if names.contains(n) {
                    let model = (*key).clone();
                    self.push(
                        one,
                        Symbol::Member {
                            model,
                            name: n.to_string(),
                        },
                    );
                } else if n == "t" || n == "dt" || (n == "w" && *kind == ModelKind::Synapse) {
                    self.push(one, Symbol::Builtin(n.to_string()));
                } else if lookup(n).is_some() {
                    self.push(one, Symbol::Unit(n.to_string()));
                }
            }
            Cx::Network { network, stimuli } => {
                if stimuli.contains(n) {
                    self.push(
                        one,
                        Symbol::Stimulus {
                            network: *network,
                            name: n.to_string(),
                        },
                    );
                } else if lookup(n).is_some() {
                    self.push(one, Symbol::Unit(n.to_string()));
                }
            }
        }
    }

    fn expr(&mut self, e: &Expr, cx: &Cx) {
        match &e.kind {
            ExprKind::Quantity { unit, .. } => self.unit(unit),
            ExprKind::Path(p) => self.path(p, cx),
            ExprKind::Unary { operand, .. } => self.expr(operand, cx),
            ExprKind::Binary { lhs, rhs, .. } => {
                self.expr(lhs, cx);
                self.expr(rhs, cx);
            }
            ExprKind::Call { args, .. } => {
                for a in args {
                    self.expr(&a.value, cx);
                }
            }
            ExprKind::If {
                condition,
                then_value,
                else_value,
            } => {
                self.expr(condition, cx);
                self.expr(then_value, cx);
                self.expr(else_value, cx);
            }
            ExprKind::Number(_) | ExprKind::Bool(_) | ExprKind::String(_) | ExprKind::Error => {}
        }
    }

    fn unit(&mut self, u: &UnitExpr) {
        match &u.kind {
            UnitExprKind::Name(n) => {
                if u.span.source == self.source {
                    self.out.push(Occurrence {
                        range: u.span.range(),
                        symbol: Symbol::Unit(n.clone()),
                    });
                }
            }
            UnitExprKind::Mul(a, b) | UnitExprKind::Div(a, b) => {
                self.unit(a);
                self.unit(b);
            }
            UnitExprKind::Pow(a, _) => self.unit(a),
            UnitExprKind::One | UnitExprKind::UnitOf(_) | UnitExprKind::Error => {}
        }
    }

    fn network(&mut self, index: usize, n: &NetworkDef) {
        let pop_models = population_models(n);
        let stimuli: HashSet<String> = n
            .items
            .iter()
            .filter_map(|i| match i {
                NetItem::Stimulus(s) if matches!(s.kind, StimulusKind::Array { .. }) => {
                    Some(s.name.name.clone())
                }
                _ => None,
            })
            .collect();
        let cx = Cx::Network {
            network: index,
            stimuli: &stimuli,
        };
        let pop = |id: &Ident| Symbol::Population {
            network: index,
            name: id.name.clone(),
        };
        let member_of = |model: &str, id: &Ident| Symbol::Member {
            model: ModelKey::Scope(model.to_string()),
            name: id.name.clone(),
        };
        for item in &n.items {
            match item {
                NetItem::Setting(s) => {
                    self.push(&s.name, Symbol::Setting(s.name.name.clone()));
                    self.expr(&s.value, &cx);
                }
                NetItem::Population(p) => {
                    self.push(&p.name, pop(&p.name));
                    self.push(
                        &p.model,
                        Symbol::Model(ModelKey::Scope(p.model.name.clone())),
                    );
                    self.expr(&p.size, &cx);
                    for o in &p.overrides {
                        self.push(&o.name, member_of(&p.model.name, &o.name));
                        self.expr(&o.value, &cx);
                    }
                }
                NetItem::Projection(pr) => {
                    for end in pr.sources.iter().chain(&pr.targets) {
                        self.push(end, pop(end));
                    }
                    for c in &pr.clauses {
                        match c {
                            ProjClause::Connect { args, .. } => {
                                for a in args {
                                    self.expr(&a.value, &cx);
                                }
                            }
                            ProjClause::Weight(e) | ProjClause::Delay(e) => self.expr(e, &cx),
                            ProjClause::Synapse(r) | ProjClause::Output(r) => {
                                self.push(
                                    &r.name,
                                    Symbol::Model(ModelKey::Scope(r.name.name.clone())),
                                );
                                for a in &r.args {
                                    if let Some(name) = &a.name {
                                        self.push(name, member_of(&r.name.name, name));
                                    }
                                    self.expr(&a.value, &cx);
                                }
                            }
                            ProjClause::Error(_) => {}
                        }
                    }
                }
                NetItem::Stimulus(s) => match &s.kind {
                    StimulusKind::Array { unit, population } => {
                        self.push(
                            &s.name,
                            Symbol::Stimulus {
                                network: index,
                                name: s.name.name.clone(),
                            },
                        );
                        self.unit(unit);
                        self.push(population, pop(population));
                    }
                    StimulusKind::SpikeTrain { size } => {
                        self.push(&s.name, pop(&s.name));
                        self.expr(size, &cx);
                    }
                },
                NetItem::Inject(inj) => {
                    if let [p, var, ..] = inj.target.segments.as_slice() {
                        self.push(p, pop(p));
                        if let Some(model) = pop_models.get(p.name.as_str()) {
                            self.push(var, member_of(model, var));
                        }
                    } else if let [p] = inj.target.segments.as_slice() {
                        self.push(p, pop(p));
                    }
                    self.expr(&inj.value, &cx);
                }
                NetItem::Record(r) => match r {
                    RecordDecl::Spikes { populations, .. } => {
                        for p in populations {
                            self.push(p, pop(p));
                        }
                    }
                    RecordDecl::Trace {
                        variables,
                        of,
                        every,
                        ..
                    } => {
                        if let Some(model) = pop_models.get(of.population.name.as_str()) {
                            for v in variables {
                                self.push(v, member_of(model, v));
                            }
                        }
                        self.push(&of.population, pop(&of.population));
                        if let Some((a, b)) = &of.range {
                            self.expr(a, &cx);
                            self.expr(b, &cx);
                        }
                        if let Some(e) = every {
                            self.expr(e, &cx);
                        }
                    }
                },
                NetItem::Error(_) => {}
            }
        }
    }
}

/// Population name → its model's name, for the populations of `n`.
pub fn population_models(n: &NetworkDef) -> HashMap<&str, &str> {
    n.items
        .iter()
        .filter_map(|i| match i {
            NetItem::Population(p) => Some((p.name.name.as_str(), p.model.name.as_str())),
            _ => None,
        })
        .collect()
}

// ---------------------------------------------------------------- members

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemberKind {
    Param,
    State,
    Current,
    Let,
}

impl MemberKind {
    pub fn word(self) -> &'static str {
        match self {
            MemberKind::Param => "param",
            MemberKind::State => "state",
            MemberKind::Current => "current",
            MemberKind::Let => "let",
        }
    }
}

/// One declared name of a model, with its unit.
pub struct MemberInfo<'m> {
    pub kind: MemberKind,
    pub name: &'m Ident,
    /// The annotation as written (`mV/ms`), if any.
    pub unit_text: Option<String>,
    /// The dimension: of the annotation, or inferred from a let's value.
    pub dim: Option<Dimension>,
    /// The default, initial value or let value.
    pub value: Option<&'m Expr>,
    pub doc: Option<&'m str>,
    pub span: Span,
}

/// The params, states, currents and lets of `m`, in source order (a name
/// declared twice appears once, as the checker sees it). Units and
/// dimensions are the checker's own (`declare`), so hover says what the
/// checker checks.
pub fn members(m: &ModelDef) -> Vec<MemberInfo<'_>> {
    let env = crate::front::check::declare(m, &mut Vec::new());
    let dim_of = |name: &str| match env.names.get(name) {
        Some((_, Ty::Num { dim, .. }, _)) => Some(*dim),
        _ => None,
    };
    let mut out: Vec<MemberInfo> = Vec::new();
    for mem in &m.members {
        let info = match mem {
            Member::Param(p) => MemberInfo {
                kind: MemberKind::Param,
                name: &p.name,
                unit_text: Some(unit_text(&p.unit)),
                dim: dim_of(&p.name.name),
                value: p.default.as_ref(),
                doc: p.doc.as_deref(),
                span: p.span,
            },
            Member::State(s) => MemberInfo {
                kind: MemberKind::State,
                name: &s.name,
                unit_text: Some(unit_text(&s.unit)),
                dim: dim_of(&s.name.name),
                value: s.init.as_ref(),
                doc: s.doc.as_deref(),
                span: s.span,
            },
            Member::Current(c) => MemberInfo {
                kind: MemberKind::Current,
                name: &c.name,
                unit_text: Some(unit_text(&c.unit)),
                dim: dim_of(&c.name.name),
                value: None,
                doc: c.doc.as_deref(),
                span: c.span,
            },
            Member::Let(l) => MemberInfo {
                kind: MemberKind::Let,
                name: &l.name,
                unit_text: l.unit.as_ref().map(unit_text),
                dim: dim_of(&l.name.name),
                value: Some(&l.value),
                doc: l.doc.as_deref(),
                span: l.span,
            },
            _ => continue,
        };
        if out.iter().any(|o| o.name.name == info.name.name) {
            continue;
        }
        out.push(info);
    }
    out
}

/// The dimension of an annotation; `None` when it has an unknown unit.
pub fn unit_dim(u: &UnitExpr) -> Option<Dimension> {
    match crate::front::check::unit_ty(u, &mut Vec::new()) {
        Ty::Num { dim, .. } => Some(dim),
        _ => None,
    }
}

/// The model a key names, seen from `file` with `scope`.
pub fn resolve_model<'a>(key: &ModelKey, file: &'a File, scope: &'a Scope) -> Option<&'a ModelDef> {
    match key {
        ModelKey::Local(span) => file.items.iter().find_map(|i| match i {
            Item::Model(m) if m.name.span == *span => Some(m.as_ref()),
            _ => None,
        }),
        ModelKey::Scope(name) => scope.get(name).map(AsRef::as_ref),
    }
}

/// The network at item `index` of `file`.
pub fn network(file: &File, index: usize) -> Option<&NetworkDef> {
    match file.items.get(index) {
        Some(Item::Network(n)) => Some(n),
        _ => None,
    }
}

/// What a population name in network `n` declares.
pub enum PopDecl<'a> {
    Population(&'a crate::front::ast::PopulationDecl),
    SpikeTrain(&'a crate::front::ast::StimulusDecl),
}

pub fn find_population<'a>(n: &'a NetworkDef, name: &str) -> Option<PopDecl<'a>> {
    n.items.iter().find_map(|i| match i {
        NetItem::Population(p) if p.name.name == name => Some(PopDecl::Population(p)),
        NetItem::Stimulus(s)
            if s.name.name == name && matches!(s.kind, StimulusKind::SpikeTrain { .. }) =>
        {
            Some(PopDecl::SpikeTrain(s))
        }
        _ => None,
    })
}

pub fn find_stimulus<'a>(
    n: &'a NetworkDef,
    name: &str,
) -> Option<&'a crate::front::ast::StimulusDecl> {
    n.items.iter().find_map(|i| match i {
        NetItem::Stimulus(s) if s.name.name == name => Some(s),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SourceId;

    #[test]
    fn let_units_are_inferred() {
        let text = "neuron N {\n param tau: ms = 10 ms\n state V: mV = 0 mV\n let r = V / tau\n let q = sqrt(V * V)\n let k: 1 = exp(V / mV)\n}\n";
        let (file, _) = crate::front::parse(SourceId(0), text);
        let Item::Model(m) = &file.items[0] else {
            panic!("not a model")
        };
        let ms = members(m);
        let show = |n: &str| {
            let i = ms.iter().find(|i| i.name.name == n).unwrap();
            crate::front::units::readable(&i.dim.unwrap())
        };
        assert_eq!(show("r"), "V/s");
        assert_eq!(show("q"), "V");
        assert_eq!(show("k"), "1");
    }
}
