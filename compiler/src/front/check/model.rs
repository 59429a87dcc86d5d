//! Checks one model body: member names (E0102), names in expressions (E0103)
//! and the units of every expression (E0201–E0205).

use super::suggest::{closest, closest_unit};
use super::ty::{unit_ty, Ty};
use crate::diagnostic::Diagnostic;
use crate::front::ast::{
    AssignOp, BinaryOp, Block, Expr, ExprKind, Ident, Member, ModelDef, ModelKind, Path,
    RefractoryDecl, RefractoryForm, Stmt, UnaryOp, UnitExpr,
};
use crate::front::units::{lookup, Base, Dimension, Rational};
use crate::front::vocabulary::{INTEGRATION_METHODS, MATH_FUNCTIONS, RANDOM_FUNCTIONS};
use crate::source::Span;
use std::collections::HashMap;
use std::rc::Rc;

/// What a name declared in a model is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NameKind {
    Param,
    State,
    Current,
    Let,
}

impl NameKind {
    /// The keyword that declares it: `param`, `state`, `current`, `let`.
    pub fn word(self) -> &'static str {
        match self {
            NameKind::Param => "param",
            NameKind::State => "state",
            NameKind::Current => "current",
            NameKind::Let => "let",
        }
    }
}

/// The names a model declares with their units, in declaration order.
#[derive(Clone)]
pub struct Env {
    pub kind: ModelKind,
    pub names: HashMap<String, (NameKind, Ty, Span)>,
}

impl Env {
    /// No declared names: for values written in a network, which see only
    /// units, numbers and functions.
    pub fn empty() -> Env {
        Env {
            kind: ModelKind::Neuron,
            names: HashMap::new(),
        }
    }
}

fn time() -> Ty {
    Ty::dim(Dimension::base(Base::Time), Some("ms".into()))
}

/// Checks a model and returns its diagnostics.
pub fn check_model(m: &ModelDef) -> Vec<Diagnostic> {
    check_instance(m, None).diags
}

/// A neuron model on one side of a projection, as `post.X` / `pre.X` see it.
#[derive(Clone)]
pub struct Neighbour {
    /// The population's name (`E`), for messages.
    pub population: String,
    /// Its neuron model's name (`LIF`); `None` for a spike-train stimulus,
    /// which has no variables.
    pub model: Option<String>,
    pub env: Env,
}

/// How one projection uses a synapse or output model: the unit of its
/// weight and the neurons on either side. `None` fields stay open (`Any`).
#[derive(Clone)]
pub struct Inst {
    /// The projection weight's unit, replacing `[w]`; `Ty::Any` keeps every
    /// `[w]` quantity open.
    pub weight: Ty,
    pub post: Option<Neighbour>,
    pub pre: Option<Neighbour>,
    /// For an output: the states of the synapse it reads (already
    /// instantiated with the same weight).
    pub synapse: Option<Env>,
}

impl Inst {
    /// `ty` with `[w]` replaced by the weight's unit.
    pub fn subst(&self, ty: Ty) -> Ty {
        subst_weight(ty, &self.weight)
    }
}

/// `ty` with `[w]` replaced by `weight` (`Any` when the weight is unknown).
pub fn subst_weight(ty: Ty, weight: &Ty) -> Ty {
    let Ty::Num { dim, text, bare } = ty else {
        return ty;
    };
    if !dim.has_weight_var() {
        return Ty::Num { dim, text, bare };
    }
    let Ty::Num {
        dim: w, text: wt, ..
    } = weight
    else {
        return Ty::Any;
    };
    let Ok(d) = dim.substitute(*w) else {
        return Ty::Any;
    };
    let text = match (text, wt) {
        (Some(t), Some(wt)) if t == "[w]" => Some(wt.clone()),
        (Some(t), Some(wt)) if wt.contains(['*', '/']) => {
            Some(t.replace("[w]", &format!("({wt})")))
        }
        (Some(t), Some(wt)) => Some(t.replace("[w]", wt)),
        _ => None,
    };
    Ty::Num {
        dim: d,
        text,
        bare: false,
    }
}

/// An assignment whose value does not fit its target, as units (the
/// projection checks use it to work out which weight would fit).
#[derive(Clone, Debug)]
pub struct Mismatch {
    /// The value assigned.
    pub span: Span,
    pub found: Ty,
    pub expected: Ty,
    /// The target as written (`post.V`, `I`).
    pub target: String,
}

/// What checking one model (as one projection uses it) found.
pub struct Checked {
    pub diags: Vec<Diagnostic>,
    pub mismatches: Vec<Mismatch>,
}

/// Checks `m` as instantiated by `inst` (or generically, with `[w]` and
/// `post.X` open, when `None`).
pub fn check_instance(m: &ModelDef, inst: Option<&Inst>) -> Checked {
    let mut diags = Vec::new();
    let env = declare_instance(m, &mut diags, inst);
    let mut cx = Cx {
        env,
        diags,
        output_targets: false,
        only: None,
        inst: inst.cloned(),
        mismatches: Vec::new(),
        broken: is_broken(m),
        in_on_post: false,
    };
    cx.members(m);
    Checked {
        diags: cx.diags,
        mismatches: cx.mismatches,
    }
}

/// The declared names of `m` (params, states, currents, lets), reporting
/// duplicates. Lets get the unit of their value, in source order.
pub fn declare(m: &ModelDef, diags: &mut Vec<Diagnostic>) -> Env {
    declare_instance(m, diags, None)
}

/// [`declare`] with `[w]` and `post.X` as `inst` fixes them.
pub fn declare_instance(m: &ModelDef, diags: &mut Vec<Diagnostic>, inst: Option<&Inst>) -> Env {
    let mut env = Env {
        kind: m.kind,
        names: HashMap::new(),
    };
    let annot = |u: &UnitExpr, diags: &mut Vec<Diagnostic>| annot(inst, u, diags);
    for member in &m.members {
        let (name, kind, ty) = match member {
            Member::Param(p) => (&p.name, NameKind::Param, annot(&p.unit, diags)),
            Member::State(s) => (&s.name, NameKind::State, annot(&s.unit, diags)),
            Member::Current(c) => (&c.name, NameKind::Current, annot(&c.unit, diags)),
            Member::Let(l) => {
                // A let's unit is its value's: typed with the names so far.
                let mut cx = Cx {
                    env: Env {
                        kind: env.kind,
                        names: std::mem::take(&mut env.names),
                    },
                    diags: Vec::new(),
                    output_targets: false,
                    only: None,
                    inst: inst.cloned(),
                    mismatches: Vec::new(),
                    broken: is_broken(m),
                    in_on_post: false,
                };
                let value = cx.expr(&l.value);
                let declared = l.unit.as_ref().map(|u| annot(u, &mut cx.diags));
                env.names = cx.env.names;
                diags.extend(cx.diags);
                let ty = match declared {
                    Some(d) => {
                        mismatch(&value, &d, &l.value, diags);
                        d
                    }
                    None => value,
                };
                (&l.name, NameKind::Let, ty)
            }
            _ => continue,
        };
        if let Some((_, _, first)) = env.names.get(&name.name) {
            diags.push(
                Diagnostic::error("E0102", format!("`{}` is declared twice", name.name))
                    .with_primary(name.span, "declared again here")
                    .with_secondary(*first, "first declared here"),
            );
            continue;
        }
        env.names.insert(name.name.clone(), (kind, ty, name.span));
    }
    env
}

/// Whether a member of `m` could not be parsed.
fn is_broken(m: &ModelDef) -> bool {
    m.members.iter().any(|x| matches!(x, Member::Error(_)))
}

/// The unit an annotation denotes, with `[w]` fixed by `inst`.
fn annot(inst: Option<&Inst>, u: &UnitExpr, diags: &mut Vec<Diagnostic>) -> Ty {
    let ty = unit_ty(u, diags);
    match inst {
        Some(i) => i.subst(ty),
        None => ty,
    }
}

/// E0203 when `found` does not fit `expected`.
fn mismatch(found: &Ty, expected: &Ty, value: &Expr, diags: &mut Vec<Diagnostic>) {
    if found.fits(expected) {
        return;
    }
    let mut d = Diagnostic::error(
        "E0203",
        format!("expected {}, found {}", expected.show(), found.show()),
    )
    .with_primary(value.span, format!("this is {}", found.describe()));
    if let Some(h) = found.unit_help(expected, value) {
        d = d.with_help(h);
    }
    diags.push(d);
}

/// The params a default or initial value may read: the first `before`
/// params of the model (by declaration order), and why others are refused.
/// The order is shared, so setting this up costs the same for every param.
struct Readable {
    order: Rc<HashMap<String, usize>>,
    before: usize,
    why: &'static str,
}

impl Readable {
    fn allows(&self, name: &str) -> bool {
        self.order.get(name).is_some_and(|&i| i < self.before)
    }
}

struct Cx {
    env: Env,
    diags: Vec<Diagnostic>,
    /// Inside an output model's statements: bare assignment targets are the
    /// post neuron's currents, unknown reads the synapse's state.
    output_targets: bool,
    /// While checking a param default or a state's initial value: the
    /// declared names it may read, and why others are refused.
    only: Option<Readable>,
    /// When checking a model as one projection uses it: the weight's unit
    /// and the neurons behind `post.X` / `pre.X`.
    inst: Option<Inst>,
    /// Assignments whose value did not fit (for the projection checks).
    mismatches: Vec<Mismatch>,
    /// The model has a member with a syntax error: unknown names are not
    /// reported (the broken member may declare them).
    broken: bool,
    /// Inside a synapse's `on_post`: `post.X` cannot be written.
    in_on_post: bool,
}

impl Cx {
    fn members(&mut self, m: &ModelDef) {
        let mut odes: HashMap<&str, Span> = HashMap::new();
        // Each param's place in declaration order (the first, for a name
        // declared twice).
        let mut param_order: HashMap<String, usize> = HashMap::new();
        for member in &m.members {
            if let Member::Param(p) = member {
                let next = param_order.len();
                param_order.entry(p.name.name.clone()).or_insert(next);
            }
        }
        let param_order = Rc::new(param_order);
        let mut params_seen = 0;
        self.one_refractory(m);
        for member in &m.members {
            self.placement(m, member);
            match member {
                Member::Param(p) => {
                    if let Some(d) = &p.default {
                        // The annotation again: a duplicate name maps to the first one.
                        let expected = annot(self.inst.as_ref(), &p.unit, &mut Vec::new());
                        self.only = Some(Readable {
                            order: Rc::clone(&param_order),
                            before: params_seen,
                            why: "a param's default may use only params declared before it",
                        });
                        let found = self.expr(d);
                        self.only = None;
                        mismatch(&found, &expected, d, &mut self.diags);
                    }
                    params_seen += 1;
                }
                Member::State(s) => {
                    if let Some(d) = &s.init {
                        let expected = annot(self.inst.as_ref(), &s.unit, &mut Vec::new());
                        self.only = Some(Readable {
                            order: Rc::clone(&param_order),
                            before: usize::MAX,
                            why: "an initial value may use only params",
                        });
                        let found = self.expr(d);
                        self.only = None;
                        mismatch(&found, &expected, d, &mut self.diags);
                    }
                }
                Member::Current(_) | Member::Let(_) | Member::Error(_) => {}
                Member::Ode(o) => {
                    if let Some(first) = odes.insert(&o.var.name, o.var.span) {
                        self.diags.push(
                            Diagnostic::error(
                                "E0102",
                                format!("`{}` has two equations", o.var.name),
                            )
                            .with_primary(o.var.span, "second equation here")
                            .with_secondary(first, "first equation here"),
                        );
                    }
                    let state = match self.env.names.get(&o.var.name) {
                        Some((NameKind::State, ty, _)) => Some(ty.clone()),
                        Some((kind, _, _)) => {
                            self.diags.push(
                                Diagnostic::error(
                                    "E0103",
                                    format!(
                                        "`d{}/dt`: `{}` is not a state",
                                        o.var.name, o.var.name
                                    ),
                                )
                                .with_primary(o.var.span, format!("declared as a {}", kind.word())),
                            );
                            None
                        }
                        None => {
                            self.unknown(&o.var.name, o.var.span);
                            None
                        }
                    };
                    let rhs = self.expr(&o.rhs);
                    if let Some(state) = state {
                        self.ode(&state, &rhs, o.rhs.span);
                    }
                }
                Member::Spike(s) => {
                    let c = self.expr(&s.condition);
                    self.condition(&c, s.condition.span);
                }
                Member::Reset(b) | Member::OnPre(b) => self.block(b),
                Member::OnPost(b) => {
                    self.in_on_post = true;
                    self.block(b);
                    self.in_on_post = false;
                }
                Member::Refractory(r) => self.refractory(r),
                Member::Integrate(method) => {
                    if !INTEGRATION_METHODS.contains(&method.name.as_str()) {
                        let mut d = Diagnostic::error(
                            "E0103",
                            format!("unknown integration method `{}`", method.name),
                        )
                        .with_primary(method.span, "not an integration method");
                        if let Some(s) = closest(&method.name, INTEGRATION_METHODS.iter().copied())
                        {
                            d = d.with_help(format!("did you mean `{s}`?"));
                        }
                        self.diags.push(d);
                    }
                }
                Member::Stmt(s) => {
                    self.output_targets = m.kind == ModelKind::Output;
                    self.stmt(s);
                    self.output_targets = false;
                }
            }
        }
    }

    /// E0104: members that only some kinds of model may have (spec §5).
    fn placement(&mut self, m: &ModelDef, member: &Member) {
        use ModelKind::*;
        let (what, allowed, span): (&str, &[ModelKind], Span) = match member {
            Member::State(d) => ("a state", &[Neuron, Synapse], d.span),
            Member::Current(d) => ("a current", &[Neuron], d.span),
            Member::Ode(d) => ("an equation", &[Neuron, Synapse], d.span),
            Member::Spike(d) => ("`spike when`", &[Neuron], d.span),
            Member::Reset(b) => ("`reset`", &[Neuron], b.span),
            Member::Refractory(d) => ("`refractory`", &[Neuron], d.span),
            Member::OnPre(b) => ("`on_pre`", &[Synapse], b.span),
            Member::OnPost(b) => ("`on_post`", &[Synapse], b.span),
            Member::Integrate(i) => ("`integrate`", &[Neuron, Synapse], i.span),
            Member::Stmt(Stmt::Assign { span, .. } | Stmt::If { span, .. }) => {
                ("a statement", &[Output], *span)
            }
            _ => return,
        };
        if !allowed.contains(&m.kind) {
            let kind = match m.kind {
                Neuron => "neuron",
                Synapse => "synapse",
                Output => "output",
            };
            self.diags.push(
                Diagnostic::error("E0104", format!("{what} is not allowed in a {kind} model"))
                    .with_primary(span, format!("not allowed in `{kind}`")),
            );
        }
    }

    /// E0202: the right-hand side of `dX/dt` must have X's unit per time.
    fn ode(&mut self, state: &Ty, rhs: &Ty, span: Span) {
        let Ty::Num { dim, text, .. } = state else {
            return;
        };
        let Ok(expected) = dim.div(Dimension::base(Base::Time)) else {
            return;
        };
        let text = text.as_ref().map(|t| {
            if t.contains(['*', '/']) {
                format!("({t})/ms")
            } else {
                format!("{t}/ms")
            }
        });
        let expected = Ty::dim(expected, text);
        if rhs.fits(&expected) {
            return;
        }
        let mut d = Diagnostic::error(
            "E0202",
            format!("expected {}, found {}", expected.show(), rhs.show()),
        )
        .with_primary(span, format!("this is {}", rhs.show()));
        if rhs.fits(state) {
            d = d.with_help("divide by a time constant such as `tau`");
        }
        self.diags.push(d);
    }

    fn condition(&mut self, c: &Ty, span: Span) {
        if !matches!(c, Ty::Bool | Ty::Any) {
            self.diags.push(
                Diagnostic::error("E0201", format!("expected a condition, found {}", c.show()))
                    .with_primary(span, "this is not a comparison"),
            );
        }
    }

    /// E0102: a model has at most one `refractory` (of either form).
    fn one_refractory(&mut self, m: &ModelDef) {
        let mut spans = m.members.iter().filter_map(|x| match x {
            Member::Refractory(r) => Some(r.span),
            _ => None,
        });
        let Some(first) = spans.next() else { return };
        for again in spans {
            self.diags.push(
                Diagnostic::error("E0102", "`refractory` is written twice")
                    .with_primary(again, "written again here")
                    .with_secondary(first, "first written here")
                    .with_help("a model has one refractory rule: a time or `while` a condition"),
            );
        }
    }

    /// `refractory t_ref` takes a time, `refractory while c` a condition;
    /// each one's misuse points at the other form.
    fn refractory(&mut self, r: &RefractoryDecl) {
        let ty = self.expr(&r.value);
        let before = self.diags.len();
        let other = match r.form {
            RefractoryForm::For => {
                mismatch(&ty, &time(), &r.value, &mut self.diags);
                matches!(ty, Ty::Bool).then_some(
                    "to stay refractory while a condition holds, write `refractory while …`",
                )
            }
            RefractoryForm::While => {
                self.condition(&ty, r.value.span);
                ty.fits(&time())
                    .then_some("a refractory period of a fixed time is written without `while`")
            }
        };
        if let Some(help) = other.filter(|_| self.diags.len() > before) {
            let d = self.diags.remove(before);
            self.diags.insert(before, d.with_help(help));
        }
    }

    fn block(&mut self, b: &Block) {
        for s in &b.stmts {
            self.stmt(s);
        }
    }

    fn stmt(&mut self, s: &Stmt) {
        match s {
            Stmt::Assign {
                target, op, value, ..
            } => {
                let target_ty = self.target(target);
                let value_ty = self.expr(value);
                let expected = match op {
                    AssignOp::Set | AssignOp::Add | AssignOp::Sub => target_ty.clone(),
                    AssignOp::Mul | AssignOp::Div => Ty::number(),
                };
                if value_ty.fits(&expected) {
                    return;
                }
                self.mismatches.push(Mismatch {
                    span: value.span,
                    found: value_ty.clone(),
                    expected: expected.clone(),
                    target: path_text(target),
                });
                let before = self.diags.len();
                mismatch(&value_ty, &expected, value, &mut self.diags);
                // Name the target: `this is nS, but `post.V` is mV`.
                if let (Some(d), AssignOp::Set | AssignOp::Add | AssignOp::Sub) =
                    (self.diags.get_mut(before), op)
                {
                    let name = path_text(target);
                    if let Some(l) = d.labels.first_mut() {
                        l.message = format!(
                            "this is {}, but `{name}` is {}",
                            value_ty.describe(),
                            target_ty.show()
                        );
                    }
                }
            }
            Stmt::If {
                condition,
                then_branch,
                else_branch,
                ..
            } => {
                let c = self.expr(condition);
                self.condition(&c, condition.span);
                self.block(then_branch);
                if let Some(e) = else_branch {
                    self.block(e);
                }
            }
            Stmt::Error(_) => {}
        }
    }

    /// The unit of an assignment target: a state (or current), or `post.X`.
    fn target(&mut self, p: &Path) -> Ty {
        match p.segments.as_slice() {
            [one] => match self.env.names.get(&one.name) {
                Some((NameKind::State | NameKind::Current, ty, _)) => ty.clone(),
                Some((kind, _, _)) => {
                    self.diags.push(
                        Diagnostic::error(
                            "E0103",
                            format!("cannot assign to `{}`: it is a {}", one.name, kind.word()),
                        )
                        .with_primary(one.span, "only states and currents can be assigned"),
                    );
                    Ty::Any
                }
                // The post neuron's current, once a projection names it
                // (a missing one is reported by the pairing check).
                None if self.output_targets => match &self.inst {
                    Some(Inst { post: Some(nb), .. }) => match nb.env.names.get(&one.name) {
                        Some((NameKind::Current, ty, _)) => ty.clone(),
                        _ => Ty::Any,
                    },
                    _ => Ty::Any,
                },
                // The weight: a synapse's statements make it plastic.
                None if one.name == "w" && self.env.kind == ModelKind::Synapse => self.path(p),
                None => {
                    self.unknown(&one.name, one.span);
                    Ty::Any
                }
            },
            [side, _] if side.name == "post" && self.in_on_post => {
                self.diags.push(
                    Diagnostic::error(
                        "E0103",
                        format!("cannot assign to `{}` in `on_post`", path_text(p)),
                    )
                    .with_primary(p.span, "the postsynaptic neuron cannot be written here")
                    .with_help(
                        "`on_post` runs once per synapse onto the neuron that spiked; it writes \
                             the synapse's own states and `w`",
                    ),
                );
                Ty::Any
            }
            [side, x] if side.name == "post" && self.env.kind == ModelKind::Synapse => {
                self.neighbour(p, side, x, true)
            }
            [side, _] if side.name == "pre" && self.env.kind == ModelKind::Synapse => {
                self.diags.push(
                    Diagnostic::error("E0103", format!("cannot assign to `{}`", path_text(p)))
                        .with_primary(p.span, "the presynaptic neuron cannot be written")
                        .with_help("a synapse writes its own states and `post.X`"),
                );
                Ty::Any
            }
            _ => self.path(p),
        }
    }

    /// `post.X` or `pre.X`: a param or state of the neuron on that side,
    /// known once a projection uses the model (`Any` until then).
    fn neighbour(&mut self, p: &Path, side: &Ident, x: &Ident, assign: bool) -> Ty {
        let nb = match (&self.inst, side.name.as_str()) {
            (Some(i), "post") => i.post.as_ref(),
            (Some(i), _) => i.pre.as_ref(),
            (None, _) => None,
        };
        let Some(nb) = nb else { return Ty::Any };
        let what = if side.name == "post" {
            "postsynaptic"
        } else {
            "presynaptic"
        };
        let Some(model) = &nb.model else {
            self.diags.push(
                Diagnostic::error(
                    "E0103",
                    format!(
                        "`{}`: the {what} population `{}` is a spike-train stimulus",
                        path_text(p),
                        nb.population
                    ),
                )
                .with_primary(p.span, "a stimulus has no params or states"),
            );
            return Ty::Any;
        };
        let found = nb.env.names.get(&x.name);
        match found {
            Some((NameKind::State, ty, _)) => return ty.clone(),
            Some((NameKind::Param, ty, _)) if !assign => return ty.clone(),
            _ => {}
        }
        let wanted = if assign { "state" } else { "param or state" };
        let mut d = match found {
            Some((kind, _, _)) => Diagnostic::error(
                "E0103",
                format!(
                    "`{}`: `{}` is a {} of `{model}`, not a {wanted}",
                    path_text(p),
                    x.name,
                    kind.word()
                ),
            )
            .with_primary(
                p.span,
                if assign {
                    "only a state of the neuron can be written"
                } else {
                    "only a param or state of the neuron can be read"
                },
            ),
            None => Diagnostic::error(
                "E0103",
                format!(
                    "`{}`: neuron `{model}` has no {wanted} `{}`",
                    path_text(p),
                    x.name
                ),
            )
            .with_primary(
                p.span,
                format!(
                    "`{}` is a `{model}` here (population `{}`)",
                    side.name, nb.population
                ),
            ),
        };
        let names = nb
            .env
            .names
            .iter()
            .filter(|(_, (k, _, _))| *k == NameKind::State || (*k == NameKind::Param && !assign))
            .map(|(n, _)| n.as_str());
        if let Some(s) = closest(&x.name, names) {
            d = d.with_help(format!("did you mean `{}.{s}`?", side.name));
        }
        self.diags.push(d);
        Ty::Any
    }

    fn unknown(&mut self, name: &str, span: Span) {
        if self.broken {
            // The member the parser could not read may declare it.
            return;
        }
        let mut candidates: Vec<&str> = self.env.names.keys().map(String::as_str).collect();
        candidates.extend(["t", "dt"]);
        if self.env.kind == ModelKind::Synapse {
            candidates.push("w");
        }
        candidates.extend(MATH_FUNCTIONS.iter().chain(RANDOM_FUNCTIONS));
        let mut d = Diagnostic::error("E0103", format!("unknown name `{name}`"))
            .with_primary(span, "not declared in this model");
        // Declared names first: a unit is suggested only when no name is close.
        let suggestion = closest(name, candidates)
            .map(str::to_string)
            .or_else(|| closest_unit(name));
        if let Some(s) = suggestion {
            d = d.with_help(format!("did you mean `{s}`?"));
        }
        self.diags.push(d);
    }

    /// The unit of a name used as a value. Local names shadow units.
    fn path(&mut self, p: &Path) -> Ty {
        match p.segments.as_slice() {
            [one] => {
                let n = one.name.as_str();
                if let Some((_, ty, _)) = self.env.names.get(n) {
                    if let Some(readable) = &self.only {
                        if !readable.allows(n) {
                            self.diags.push(
                                Diagnostic::error("E0103", format!("`{n}` cannot be used here"))
                                    .with_primary(one.span, readable.why),
                            );
                        }
                    }
                    return ty.clone();
                }
                if self.env.kind == ModelKind::Output {
                    if let Some(Inst {
                        synapse: Some(syn), ..
                    }) = &self.inst
                    {
                        if let Some((NameKind::State, ty, _)) = syn.names.get(n) {
                            return ty.clone();
                        }
                    }
                }
                match n {
                    "t" | "dt" => {
                        // Params and initial values are computed once, before
                        // the first step: there is no time to read yet.
                        if let Some(readable) = &self.only {
                            self.diags.push(
                                Diagnostic::error("E0103", format!("`{n}` cannot be used here"))
                                    .with_primary(one.span, readable.why),
                            );
                        }
                        return time();
                    }
                    "w" if self.env.kind == ModelKind::Synapse => {
                        let w = Ty::dim(Dimension::weight_var(), Some("[w]".into()));
                        return match &self.inst {
                            Some(i) => i.subst(w),
                            None => w,
                        };
                    }
                    _ => {}
                }
                if let Some(u) = lookup(n) {
                    return Ty::dim(u.dim, Some(n.to_string()));
                }
                if self.env.kind == ModelKind::Output {
                    // The synapse state the output reads (`g`): checked
                    // against the synapse when a projection uses the pair.
                    return Ty::Any;
                }
                self.unknown(n, one.span);
                Ty::Any
            }
            [side, x]
                if side.name == "post" && self.env.kind != ModelKind::Neuron
                    || side.name == "pre" && self.env.kind == ModelKind::Synapse =>
            {
                // The neuron on that side is known only per projection.
                self.neighbour(p, side, x, false)
            }
            _ => {
                self.diags.push(
                    Diagnostic::error("E0103", "unknown dotted name").with_primary(
                        p.span,
                        "only `post.X` (synapse and output models) and `pre.X` (synapse models)",
                    ),
                );
                Ty::Any
            }
        }
    }

    /// The unit of an expression, reporting every mismatch inside it.
    pub fn expr(&mut self, e: &Expr) -> Ty {
        match &e.kind {
            ExprKind::Number(x) if *x == 0.0 => Ty::Zero,
            ExprKind::Number(_) => Ty::number(),
            ExprKind::Quantity { unit, .. } => annot(self.inst.as_ref(), unit, &mut self.diags),
            ExprKind::Bool(_) => Ty::Bool,
            ExprKind::String(_) | ExprKind::Error => Ty::Any,
            ExprKind::Path(p) => self.path(p),
            ExprKind::Unary { op, operand } => {
                let t = self.expr(operand);
                match op {
                    UnaryOp::Neg => t,
                    UnaryOp::Not => Ty::Bool,
                }
            }
            ExprKind::Binary { op, lhs, rhs } => {
                let a = self.expr(lhs);
                let b = self.expr(rhs);
                self.binary(*op, a, b, rhs)
            }
            ExprKind::Call { callee, args } => {
                let tys: Vec<(Ty, Span)> = args
                    .iter()
                    .map(|a| (self.expr(&a.value), a.value.span))
                    .collect();
                self.call(
                    &callee.name,
                    callee.span,
                    &tys,
                    args.iter().map(|a| &a.value),
                )
            }
            ExprKind::If {
                condition,
                then_value,
                else_value,
            } => {
                let c = self.expr(condition);
                self.condition(&c, condition.span);
                let a = self.expr(then_value);
                let b = self.expr(else_value);
                self.same(a, b, else_value.span)
            }
        }
    }

    /// E0201 unless `a` and `b` have the same unit; the common unit.
    fn same(&mut self, a: Ty, b: Ty, span: Span) -> Ty {
        if !b.fits(&a) {
            self.diags.push(
                Diagnostic::error(
                    "E0201",
                    format!("expected {}, found {}", a.show(), b.show()),
                )
                .with_primary(span, format!("this is {}", b.show())),
            );
            return Ty::Any;
        }
        match (&a, &b) {
            (Ty::Zero | Ty::Any, _) => b,
            _ => a,
        }
    }

    fn binary(&mut self, op: BinaryOp, a: Ty, b: Ty, rhs: &Expr) -> Ty {
        use BinaryOp::*;
        match op {
            Add | Sub => self.same(a, b, rhs.span),
            Lt | Le | Gt | Ge | Eq | Ne => {
                self.same(a, b, rhs.span);
                Ty::Bool
            }
            And | Or => Ty::Bool,
            Mul | Div => match (&a, &b) {
                (Ty::Any, _) | (_, Ty::Any) => Ty::Any,
                (Ty::Zero, _) => Ty::Zero,
                (_, Ty::Zero) if op == Mul => Ty::Zero,
                (
                    Ty::Num {
                        dim: x,
                        text: tx,
                        bare: bx,
                    },
                    Ty::Num {
                        dim: y,
                        text: ty,
                        bare: by,
                    },
                ) => {
                    let r = if op == Mul { x.mul(*y) } else { x.div(*y) };
                    let Ok(dim) = r else {
                        self.diags.push(super::ty::exponent_overflow(rhs.span));
                        return Ty::Any;
                    };
                    let text = match (tx, ty) {
                        _ if y.is_dimensionless() => tx.clone(),
                        _ if x.is_dimensionless() && op == Mul => ty.clone(),
                        (Some(p), Some(q)) => {
                            let sym = if op == Mul { "*" } else { "/" };
                            let q = if q.contains(['*', '/']) {
                                format!("({q})")
                            } else {
                                q.clone()
                            };
                            Some(format!("{p}{sym}{q}"))
                        }
                        _ => None,
                    };
                    Ty::Num {
                        dim,
                        text,
                        bare: *bx && *by,
                    }
                }
                (Ty::Num { .. }, Ty::Zero) => a,
                _ => Ty::Any,
            },
            Pow => self.power(a, b, rhs),
        }
    }

    /// `x ^ n`: the exponent is dimensionless; with a unit, a constant.
    fn power(&mut self, base: Ty, exp: Ty, exp_expr: &Expr) -> Ty {
        if !exp.is_dimensionless() {
            self.diags.push(
                Diagnostic::error("E0204", format!("expected 1, found {}", exp.show()))
                    .with_primary(exp_expr.span, "an exponent must be dimensionless"),
            );
            return Ty::Any;
        }
        match base {
            Ty::Num { dim, .. } if !dim.is_dimensionless() => {
                let Some(r) = constant(exp_expr).and_then(Rational::from_f64) else {
                    self.diags.push(
                        Diagnostic::error(
                            "E0204",
                            "the exponent of a quantity with a unit must be a constant number",
                        )
                        .with_primary(exp_expr.span, "not a constant"),
                    );
                    return Ty::Any;
                };
                match dim.powr(r) {
                    Ok(d) => Ty::dim(d, None),
                    Err(_) => Ty::Any,
                }
            }
            other => other,
        }
    }

    fn call<'e>(
        &mut self,
        name: &str,
        span: Span,
        args: &[(Ty, Span)],
        exprs: impl Iterator<Item = &'e Expr>,
    ) -> Ty {
        let exprs: Vec<&Expr> = exprs.collect();
        let arity = |cx: &mut Cx, n: usize| -> bool {
            if args.len() != n {
                cx.diags.push(
                    Diagnostic::error(
                        "E0204",
                        format!("`{name}` takes {n} argument(s), found {}", args.len()),
                    )
                    .with_primary(span, "wrong number of arguments"),
                );
                return false;
            }
            true
        };
        match name {
            "exp" | "expm1" | "exprel" | "log" | "log10" | "sin" | "cos" | "tan" | "tanh" => {
                if !arity(self, 1) {
                    return Ty::Any;
                }
                let (t, s) = &args[0];
                if !t.is_dimensionless() {
                    self.diags.push(
                        Diagnostic::error(
                            "E0204",
                            format!(
                                "`{name}` needs a dimensionless argument, found {}",
                                t.show()
                            ),
                        )
                        .with_primary(*s, format!("this is {}", t.show()))
                        .with_help("divide by a reference value, e.g. `(V - V_T) / delta_T`"),
                    );
                }
                Ty::number()
            }
            "sqrt" => {
                if !arity(self, 1) {
                    return Ty::Any;
                }
                match &args[0].0 {
                    Ty::Num { dim, .. } => dim
                        .powr(Rational::new(1, 2).unwrap_or(Rational::ONE))
                        .map(|d| Ty::dim(d, None))
                        .unwrap_or(Ty::Any),
                    other => other.clone(),
                }
            }
            "abs" | "floor" | "ceil" => {
                if !arity(self, 1) {
                    return Ty::Any;
                }
                args[0].0.clone()
            }
            "sign" => {
                arity(self, 1);
                Ty::number()
            }
            "pow" => {
                if !arity(self, 2) {
                    return Ty::Any;
                }
                self.power(args[0].0.clone(), args[1].0.clone(), exprs[1])
            }
            "min" | "max" | "clip" | "uniform" | "normal" => {
                let n = if name == "clip" { 3 } else { 2 };
                if !arity(self, n) {
                    return Ty::Any;
                }
                let mut t = args[0].0.clone();
                for (a, s) in &args[1..] {
                    t = self.same(t, a.clone(), *s);
                }
                t
            }
            "lognormal" => {
                if !arity(self, 2) {
                    return Ty::Any;
                }
                let (sigma, s) = &args[1];
                if !sigma.is_dimensionless() {
                    self.diags.push(
                        Diagnostic::error(
                            "E0204",
                            format!(
                                "the spread of `lognormal` is dimensionless (the sd of the log), found {}",
                                sigma.show()
                            ),
                        )
                        .with_primary(*s, format!("this is {}", sigma.show()))
                        .with_help("write the spread as a number, e.g. `lognormal(0.1 mV, 0.5)`"),
                    );
                }
                args[0].0.clone()
            }
            "rand" | "randn" => {
                arity(self, 0);
                Ty::number()
            }
            _ => {
                let mut d = Diagnostic::error("E0103", format!("unknown function `{name}`"))
                    .with_primary(span, "not a function");
                if let Some(s) =
                    closest(name, MATH_FUNCTIONS.iter().chain(RANDOM_FUNCTIONS).copied())
                {
                    d = d.with_help(format!("did you mean `{s}`?"));
                }
                self.diags.push(d);
                Ty::Any
            }
        }
    }
}

/// `post.V` as written.
fn path_text(p: &Path) -> String {
    p.segments
        .iter()
        .map(|s| s.name.as_str())
        .collect::<Vec<_>>()
        .join(".")
}

/// The value of a constant numeric expression (`2`, `-1`, `1/2`).
pub fn constant(e: &Expr) -> Option<f64> {
    match &e.kind {
        ExprKind::Number(x) => Some(*x),
        ExprKind::Unary {
            op: UnaryOp::Neg,
            operand,
        } => constant(operand).map(|x| -x),
        ExprKind::Binary { op, lhs, rhs } => {
            let (a, b) = (constant(lhs)?, constant(rhs)?);
            match op {
                BinaryOp::Add => Some(a + b),
                BinaryOp::Sub => Some(a - b),
                BinaryOp::Mul => Some(a * b),
                BinaryOp::Div if b != 0.0 => Some(a / b),
                _ => None,
            }
        }
        _ => None,
    }
}

/// The unit of `e` evaluated with the names of `env` only. Network values
/// use the network's names (its stimuli), never a model's: an override
/// `V = -60 mV + 5 mV * randn()` cannot read the model's `V_rest`.
pub fn value_ty(env: &Env, e: &Expr, diags: &mut Vec<Diagnostic>) -> Ty {
    let mut cx = Cx {
        env: Env {
            kind: env.kind,
            names: env.names.clone(),
        },
        diags: Vec::new(),
        output_targets: false,
        only: None,
        inst: None,
        mismatches: Vec::new(),
        broken: false,
        in_on_post: false,
    };
    let ty = cx.expr(e);
    diags.extend(cx.diags);
    ty
}
