//! Constant folding in the checker: a model's params are constants (their
//! defaults, or a population's overrides), so every part of the model that
//! reads only params and numbers has one value, known before the run. Values
//! that the run would silently carry as NaN or infinity are refused here:
//!
//! * E0208: a division by a constant zero (`/ tau` with `tau = 0 ms`), or a
//!   constant that is not finite (`log(-1)`, `0/0`, `exp(1000)`);
//! * E0209: a negative `refractory` period.
//!
//! Each fault is reported where the expression is written; when a
//! population's override causes it, the override is the primary label.

use crate::diagnostic::Diagnostic;
use crate::front::ast::{
    Arg, BinaryOp, Block, Expr, ExprKind, Member, ModelDef, Override, RefractoryForm, Stmt,
    UnaryOp, UnitExpr, UnitExprKind,
};
use crate::front::units::lookup;
use crate::source::Span;
use std::collections::{HashMap, HashSet};

/// Something a constant part of a model does wrong.
#[derive(Clone, Debug, PartialEq)]
pub struct Fault {
    pub code: &'static str,
    pub span: Span,
    pub message: String,
    pub label: String,
}

/// What a name means to the folder.
enum Name {
    Constant(f64),
    /// A state, current, `let` or builtin: not known before the run.
    Variable,
}

/// The params of one model instance, in SI units, and its other names.
struct Values<'m> {
    params: HashMap<&'m str, f64>,
    variables: HashSet<&'m str>,
    /// The network's time step, when folding for one network.
    dt: Option<f64>,
}

impl Values<'_> {
    fn name(&self, n: &str) -> Option<Name> {
        if let Some(&v) = self.params.get(n) {
            return Some(Name::Constant(v));
        }
        if let ("dt", Some(dt)) = (n, self.dt) {
            return Some(Name::Constant(dt));
        }
        if self.variables.contains(n) || matches!(n, "t" | "dt" | "w") {
            return Some(Name::Variable);
        }
        // A unit standing alone is one of it: `(V - V_T) / mV`.
        lookup(n).map(|u| Name::Constant(u.scale))
    }
}

/// The SI scale of a unit annotation; `None` for `[w]` or an unknown unit.
pub fn unit_scale(u: &UnitExpr) -> Option<f64> {
    match &u.kind {
        UnitExprKind::Name(n) => lookup(n).map(|u| u.scale),
        UnitExprKind::One => Some(1.0),
        UnitExprKind::Mul(a, b) => Some(unit_scale(a)? * unit_scale(b)?),
        UnitExprKind::Div(a, b) => Some(unit_scale(a)? / unit_scale(b)?),
        UnitExprKind::Pow(a, r) => Some(unit_scale(a)?.powf(f64::from(r.num) / f64::from(r.den))),
        UnitExprKind::UnitOf(_) | UnitExprKind::Error => None,
    }
}

/// The value of a network-level constant (`duration = -5 ms`, an override):
/// `None` when it reads anything but numbers and units.
pub fn network_value(e: &Expr) -> Option<f64> {
    let values = Values {
        params: HashMap::new(),
        variables: HashSet::new(),
        dt: None,
    };
    fold(e, &values, &mut Vec::new())
}

struct Folder<'v, 'm> {
    values: &'v Values<'m>,
    faults: Vec<Fault>,
}

fn fold(e: &Expr, values: &Values, faults: &mut Vec<Fault>) -> Option<f64> {
    let mut f = Folder {
        values,
        faults: Vec::new(),
    };
    let v = f.expr(e);
    faults.append(&mut f.faults);
    v
}

impl Folder<'_, '_> {
    fn not_finite(&mut self, span: Span, what: &str, value: f64) {
        self.faults.push(Fault {
            code: "E0208",
            span,
            message: format!("{what} is {value} for the constant values here"),
            label: format!("this is {value}"),
        });
    }

    /// Every subexpression is visited (a fault may sit inside a part that
    /// reads states); the value when the whole is constant.
    fn expr(&mut self, e: &Expr) -> Option<f64> {
        match &e.kind {
            ExprKind::Number(v) => Some(*v),
            ExprKind::Quantity { value, unit } => unit_scale(unit).map(|s| value * s),
            ExprKind::Bool(b) => Some(f64::from(u8::from(*b))),
            ExprKind::String(_) | ExprKind::Error => None,
            ExprKind::Path(p) => match p.segments.as_slice() {
                [one] => match self.values.name(&one.name)? {
                    Name::Constant(v) => Some(v),
                    Name::Variable => None,
                },
                _ => None,
            },
            ExprKind::Unary { op, operand } => {
                let x = self.expr(operand)?;
                Some(match op {
                    UnaryOp::Neg => -x,
                    UnaryOp::Not => f64::from(u8::from(x == 0.0)),
                })
            }
            ExprKind::Binary { op, lhs, rhs } => self.binary(*op, lhs, rhs, e.span),
            ExprKind::Call { callee, args } => self.call(&callee.name, args, e.span),
            ExprKind::If {
                condition,
                then_value,
                else_value,
            } => {
                let c = self.expr(condition);
                let (a, b) = (self.expr(then_value), self.expr(else_value));
                if c? != 0.0 {
                    a
                } else {
                    b
                }
            }
        }
    }

    fn binary(&mut self, op: BinaryOp, lhs: &Expr, rhs: &Expr, span: Span) -> Option<f64> {
        let (a, b) = (self.expr(lhs), self.expr(rhs));
        if op == BinaryOp::Div && b == Some(0.0) {
            self.faults.push(Fault {
                code: "E0208",
                span: rhs.span,
                message: "division by zero: the divisor is a constant 0".into(),
                label: "this is 0".into(),
            });
            return None;
        }
        let (a, b) = (a?, b?);
        let truth = |x: bool| f64::from(u8::from(x));
        let v = match op {
            BinaryOp::Add => a + b,
            BinaryOp::Sub => a - b,
            BinaryOp::Mul => a * b,
            BinaryOp::Div => a / b,
            BinaryOp::Pow => a.powf(b),
            BinaryOp::Lt => truth(a < b),
            BinaryOp::Le => truth(a <= b),
            BinaryOp::Gt => truth(a > b),
            BinaryOp::Ge => truth(a >= b),
            BinaryOp::Eq => truth(a == b),
            BinaryOp::Ne => truth(a != b),
            BinaryOp::And => truth(a != 0.0 && b != 0.0),
            BinaryOp::Or => truth(a != 0.0 || b != 0.0),
        };
        if !v.is_finite() && a.is_finite() && b.is_finite() {
            self.not_finite(span, "this expression", v);
            return None;
        }
        Some(v)
    }

    fn call(&mut self, name: &str, args: &[Arg], span: Span) -> Option<f64> {
        let values: Vec<Option<f64>> = args.iter().map(|a| self.expr(&a.value)).collect();
        let xs: Vec<f64> = values.into_iter().collect::<Option<_>>()?;
        let v = match (name, xs.as_slice()) {
            ("exp", [x]) => x.exp(),
            ("expm1", [x]) => x.exp_m1(),
            ("exprel", [x]) if *x == 0.0 => 1.0,
            ("exprel", [x]) => x.exp_m1() / x,
            ("log", [x]) => x.ln(),
            ("log10", [x]) => x.log10(),
            ("sqrt", [x]) => x.sqrt(),
            ("abs", [x]) => x.abs(),
            ("sin", [x]) => x.sin(),
            ("cos", [x]) => x.cos(),
            ("tan", [x]) => x.tan(),
            ("tanh", [x]) => x.tanh(),
            ("floor", [x]) => x.floor(),
            ("ceil", [x]) => x.ceil(),
            ("sign", [x]) => {
                if *x == 0.0 {
                    0.0
                } else {
                    x.signum()
                }
            }
            ("pow", [x, y]) => x.powf(*y),
            ("min", [x, y]) => x.min(*y),
            ("max", [x, y]) => x.max(*y),
            ("clip", [x, lo, hi]) => x.max(*lo).min(*hi),
            // Draws and anything unknown: not a constant.
            _ => return None,
        };
        if !v.is_finite() && xs.iter().all(|x| x.is_finite()) {
            self.not_finite(span, &format!("`{name}(…)`"), v);
            return None;
        }
        Some(v)
    }

    fn block(&mut self, b: &Block) {
        for s in &b.stmts {
            self.stmt(s);
        }
    }

    fn stmt(&mut self, s: &Stmt) {
        match s {
            Stmt::Assign { value, .. } => {
                self.expr(value);
            }
            Stmt::If {
                condition,
                then_branch,
                else_branch,
                ..
            } => {
                self.expr(condition);
                self.block(then_branch);
                if let Some(b) = else_branch {
                    self.block(b);
                }
            }
            Stmt::Error(_) => {}
        }
    }
}

/// The faults of model `m` with its param defaults replaced by `overrides`
/// (name → value expression, folded at network level).
fn faults(m: &ModelDef, overrides: &HashMap<&str, f64>) -> Vec<Fault> {
    let (values, out) = instance_values(m, overrides, None);
    body_faults(m, &values, out)
}

/// The constant params of model `m` with `overrides` (and `dt` when
/// known), and the faults found folding the defaults.
fn instance_values<'m>(
    m: &'m ModelDef,
    overrides: &HashMap<&str, f64>,
    dt: Option<f64>,
) -> (Values<'m>, Vec<Fault>) {
    let mut values = Values {
        params: HashMap::new(),
        variables: HashSet::new(),
        dt,
    };
    for member in &m.members {
        match member {
            Member::State(s) => {
                values.variables.insert(&s.name.name);
            }
            Member::Current(c) => {
                values.variables.insert(&c.name.name);
            }
            Member::Let(l) => {
                values.variables.insert(&l.name.name);
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    // Params in order: a default may read the params before it.
    for member in &m.members {
        if let Member::Param(p) = member {
            let name = p.name.name.as_str();
            let default = p.default.as_ref().and_then(|d| fold(d, &values, &mut out));
            match overrides.get(name).copied().or(default) {
                Some(v) => {
                    values.params.insert(name, v);
                }
                None => {
                    values.variables.insert(name);
                }
            }
        }
    }
    (values, out)
}

fn body_faults(m: &ModelDef, values: &Values, out: Vec<Fault>) -> Vec<Fault> {
    let mut f = Folder {
        values,
        faults: out,
    };
    for member in &m.members {
        match member {
            Member::State(s) => {
                if let Some(init) = &s.init {
                    f.expr(init);
                }
            }
            Member::Let(l) => {
                f.expr(&l.value);
            }
            Member::Ode(o) => {
                f.expr(&o.rhs);
            }
            Member::Spike(s) => {
                f.expr(&s.condition);
            }
            Member::Refractory(r) => {
                let value = f.expr(&r.value);
                if let (Some(v), RefractoryForm::For) = (value, r.form) {
                    if v < 0.0 {
                        f.faults.push(Fault {
                            code: "E0209",
                            span: r.value.span,
                            message: format!(
                                "a refractory period cannot be negative, found {} ms",
                                v * 1e3
                            ),
                            label: "negative".into(),
                        });
                    }
                }
            }
            Member::Reset(b) | Member::OnPre(b) | Member::OnPost(b) => f.block(b),
            Member::Stmt(s) => f.stmt(s),
            Member::Param(_) | Member::Current(_) | Member::Integrate(_) | Member::Error(_) => {}
        }
    }
    f.faults
}

fn diagnostic(fault: Fault) -> Diagnostic {
    Diagnostic::error(fault.code, fault.message).with_primary(fault.span, fault.label)
}

/// E0208/E0209 of a model with its defaults.
pub fn model_faults(m: &ModelDef) -> Vec<Diagnostic> {
    faults(m, &HashMap::new())
        .into_iter()
        .map(diagnostic)
        .collect()
}

/// E0208/E0209 that a population's or projection's overrides cause in model
/// `m` (faults of the defaults alone are reported with the model). The
/// override is the primary label; the place in the model the secondary.
pub fn instance_faults<'a>(
    m: &ModelDef,
    overrides: impl IntoIterator<Item = (&'a str, &'a Expr)>,
) -> Vec<Diagnostic> {
    let mut values = HashMap::new();
    let mut spans = Vec::new();
    for (name, value) in overrides {
        if let Some(v) = network_value(value) {
            values.insert(name, v);
            spans.push(value.span);
        }
    }
    if values.is_empty() {
        return Vec::new();
    }
    let by_default = faults(m, &HashMap::new());
    faults(m, &values)
        .into_iter()
        .filter(|f| !by_default.contains(f))
        .map(|f| {
            let mut d = Diagnostic::error(f.code, f.message)
                .with_primary(spans[0], "with this value")
                .with_secondary(f.span, f.label);
            for &s in &spans[1..] {
                d = d.with_secondary(s, "and this value");
            }
            d
        })
        .collect()
}

/// Override pairs of a population (sampled ones, `V ~ uniform(…)`, are
/// draws, not constants).
pub fn population_overrides(overrides: &[Override]) -> impl Iterator<Item = (&str, &Expr)> {
    overrides
        .iter()
        .filter(|o| !o.sampled)
        .map(|o| (o.name.name.as_str(), &o.value))
}

/// The standard library's Poisson source and its rate param: a population
/// of it whose rate is above 1/dt is refused (E0309 here for a constant rate,
/// at run time for a swept or drawn one), not left to saturate.
pub const POISSON_SOURCE: &str = "PoissonSource";
pub const POISSON_RATE: &str = "rate";

/// Whether a Poisson rate (Hz) is above 1/dt: more than one spike a step.
/// Exactly 1/dt (a spike every step) passes, up to rounding.
#[must_use]
pub fn rate_above_one_per_step(rate_hz: f64, dt_s: f64) -> bool {
    rate_hz > (1.0 / dt_s) * (1.0 + 1e-12)
}

/// A population whose spike condition is a draw against a constant
/// probability above 1 (`spike when rand() < rate * dt` with
/// `rate * dt > 1`): it spikes every step, whatever the rate says. For a
/// `PoissonSource` that is an error (E0309, which the run would refuse
/// too); for any other model a warning (W0002).
pub fn saturated_draws<'a>(
    m: &ModelDef,
    overrides: impl IntoIterator<Item = (&'a str, &'a Expr)>,
    dt: f64,
    population: &crate::front::ast::Ident,
) -> Vec<Diagnostic> {
    let overrides: Vec<(&str, &Expr)> = overrides.into_iter().collect();
    let constants: HashMap<&str, f64> = overrides
        .iter()
        .filter_map(|&(n, e)| Some((n, network_value(e)?)))
        .collect();
    let (values, _) = instance_values(m, &constants, Some(dt));
    if m.name.name == POISSON_SOURCE {
        let rate = values.params.get(POISSON_RATE).copied();
        let rate_span = overrides.iter().find(|(n, _)| *n == POISSON_RATE);
        return rate
            .filter(|&r| rate_above_one_per_step(r, dt))
            .map(|r| poisson_rate_too_high(r, dt, population, rate_span.map(|(_, e)| e.span)))
            .into_iter()
            .collect();
    }
    let mut out = Vec::new();
    for member in &m.members {
        let Member::Spike(s) = member else { continue };
        let ExprKind::Binary {
            op: BinaryOp::Lt | BinaryOp::Le,
            lhs,
            rhs,
        } = &s.condition.kind
        else {
            continue;
        };
        let is_draw = matches!(&lhs.kind, ExprKind::Call { callee, args } if callee.name == "rand" && args.is_empty());
        if !is_draw {
            continue;
        }
        if let Some(p) = fold(rhs, &values, &mut Vec::new()).filter(|p| *p > 1.0) {
            out.push(
                Diagnostic::warning(
                    "W0002",
                    format!(
                        "`{}` spikes in every step: its spike probability per step is {p}, above 1",
                        population.name
                    ),
                )
                .with_primary(population.span, "every neuron spikes in every step")
                .with_secondary(rhs.span, format!("{p} per step here, with this network's dt"))
                .with_help("lower the rate below 1/dt (well below, for Poisson statistics) or the time step"),
            );
        }
    }
    out
}

/// E0309: a `PoissonSource` population with a constant `rate_hz` above 1/dt,
/// at the rate override (`rate_span`) or, for the default, at the population.
fn poisson_rate_too_high(
    rate_hz: f64,
    dt: f64,
    population: &crate::front::ast::Ident,
    rate_span: Option<Span>,
) -> Diagnostic {
    let limit = 1.0 / dt;
    let message = format!(
        "`{}` is a {POISSON_SOURCE} with rate {rate_hz} Hz, above 1/dt = {limit} Hz: it can spike at most once a step",
        population.name
    );
    let d = Diagnostic::error("E0309", message);
    let d = match rate_span {
        Some(span) => d
            .with_primary(span, format!("{rate_hz} Hz, more than {limit} Hz"))
            .with_secondary(population.span, "this population"),
        None => d.with_primary(population.span, format!("its default rate, {rate_hz} Hz")),
    };
    d.with_help("lower the rate to at most 1/dt (well below it, for Poisson statistics), or the time step; for a larger total rate, use more sources or a stronger weight")
}
