//! Lowering: a checked network (syntax trees whose names and units the
//! checker accepted) becomes one [`ir::Module`]: unit-free SI numbers, one
//! population per `population` (and per spike-train stimulus), one IR
//! projection per (source, target) pair, injections, inputs and records.
//!
//! Decisions made here (see spec/language.md):
//! * A population param whose value is the same for every neuron is an IR
//!   param (a load, so it can be swept). One whose value draws per neuron
//!   (`tau = normal(20 ms, 2 ms)`) becomes a state with no ODE, initialised
//!   by the draw. Param defaults that read other params are computed from
//!   the values here: sweeping `V_rest` does not move a `V_reset = V_rest`.
//! * `let`s are inlined where they are read (one value per code block).
//! * `reset`/`on_pre` blocks are executed symbolically ([`block`]).
//! * An injection with `=`, `-=`, `*=`, `/=` is expressed as an addition
//!   that reads the current's sum so far.
//!
//! Lowering runs only on a model the checker accepted; what it still
//! refuses (a weight that is neither constant nor a distribution, a block
//! with crosswise reads) is reported as a diagnostic with code E0401.

mod block;
mod error;
mod expr;
#[cfg(test)]
mod tests;

use std::collections::HashMap;

use crate::diagnostic::Diagnostic;
use crate::front::ast::{
    self, Arg, ExprKind, Member, ModelDef, NetItem, NetworkDef, PopulationDecl, ProjClause,
    RecordDecl, StimulusKind,
};
use crate::front::check::{is_neuron_range, period_steps, CheckOutput, Scope, SEED_MAX};
use crate::ir::build::Builder;
use crate::ir::classify::{classify, synapse_layout};
use crate::ir::{
    Arena, Connect, Expr, Handle, Injection, Input, InputKind, Method, Module, NamedValue, Ode,
    Output, Population, PopulationSource, Projection, ProjectionSource, Record, Refractory,
    StateVar, Synapse, SynapseLayout, Var,
};
use crate::source::Span;
pub use error::{LowerError, Unchecked};
use expr::{konst, unit_scale, Binding, ExprDepths, Lower, Names};
use snnc_runtime::connectivity::Rule;
use snnc_runtime::rng::Distribution;
use snnc_runtime::synapse_values::steps_of_delay;

/// Lower the network of the checked root file (`network` picks one by name
/// when the file defines several). Call only when `out` has no errors.
pub fn lower(out: &CheckOutput, network: Option<&str>) -> Result<Module, Vec<Diagnostic>> {
    let root = out.root();
    let nets: Vec<&NetworkDef> = root
        .ast
        .items
        .iter()
        .filter_map(|i| match i {
            ast::Item::Network(n) => Some(n),
            _ => None,
        })
        .collect();
    let file_span = root.ast.span;
    let net = match (network, nets.as_slice()) {
        (None, [one]) => *one,
        (None, []) => {
            return Err(vec![Diagnostic::error(
                "E0402",
                format!("`{}` defines no network to compile", root.name),
            )
            .with_primary(
                Span::new(file_span.source, 0..0),
                "no `network` in this file",
            )
            .with_help(
                "models are compiled as part of a network: add `network name { … }`",
            )])
        }
        (None, many) => {
            let names: Vec<&str> = many.iter().map(|n| n.name.name.as_str()).collect();
            return Err(vec![Diagnostic::error(
                "E0402",
                format!("`{}` defines several networks", root.name),
            )
            .with_primary(many[1].name.span, "a second network")
            .with_help(format!(
                "pick one with `--network NAME` ({})",
                names.join(", ")
            ))]);
        }
        (Some(name), all) => match all.iter().find(|n| n.name.name == name) {
            Some(n) => *n,
            None => {
                let names: Vec<&str> = all.iter().map(|n| n.name.name.as_str()).collect();
                return Err(vec![Diagnostic::error(
                    "E0402",
                    format!("`{}` has no network `{name}`", root.name),
                )
                .with_primary(Span::new(file_span.source, 0..0), "in this file")
                .with_help(format!("networks here: {}", names.join(", ")))]);
            }
        },
    };
    lower_network(net, &root.scope).map_err(|e| vec![e.into_diagnostic()])
}

/// Refuse what the checker should have refused.
fn not_checked<T>(span: Span, what: Unchecked) -> Result<T, LowerError> {
    Err(LowerError::NotChecked { span, what })
}

/// A network value that must fold to a number (`dt`, a size, `p`).
fn constant(exprs: &mut Arena<Expr>, e: &ast::Expr, what: &'static str) -> Result<f64, LowerError> {
    let mut lw = Lower {
        b: Builder::new(exprs),
        names: Names::new(),
        depths: ExprDepths::default(),
    };
    let h = lw.expr(e)?;
    konst(&lw.b, h).ok_or(LowerError::NotConstant { span: e.span, what })
}

/// A weight or delay: a constant, one of `uniform`, `normal`, `lognormal`
/// with constant arguments, or `clip(draw, lo, hi)` of such a draw with
/// constant bounds lo ≤ hi.
fn distribution(
    exprs: &mut Arena<Expr>,
    e: &ast::Expr,
    what: &'static str,
) -> Result<Distribution, LowerError> {
    if let Some(clipped) = clipped_draw(exprs, e, what)? {
        return Ok(clipped);
    }
    if let ExprKind::Call { callee, args } = &e.kind {
        if matches!(callee.name.as_str(), "uniform" | "normal" | "lognormal") {
            let [a, b] = args.as_slice() else {
                return not_checked(
                    e.span,
                    Unchecked::Arity {
                        function: callee.name.clone(),
                        expected: 2,
                        found: args.len(),
                    },
                );
            };
            let a = constant(exprs, &a.value, "a distribution's argument")?;
            let b = constant(exprs, &b.value, "a distribution's argument")?;
            return Ok(match callee.name.as_str() {
                "uniform" => Distribution::Uniform { low: a, high: b },
                "normal" => Distribution::Normal { mean: a, sd: b },
                _ => Distribution::LogNormal {
                    median: a,
                    sigma: b,
                },
            });
        }
    }
    let mut lw = Lower {
        b: Builder::new(exprs),
        names: Names::new(),
        depths: ExprDepths::default(),
    };
    let h = lw.expr(e)?;
    match konst(&lw.b, h) {
        Some(v) => Ok(Distribution::Constant(v)),
        None => Err(LowerError::NotADistribution { span: e.span, what }),
    }
}

/// Below this probability of a draw reaching dt / 2, a drawn delay is
/// refused before the run: each synapse gets 1000 draws
/// ([`snnc_runtime::synapse_values::MAX_DRAWS`]), so the run would stop at
/// its first synapse with a probability above 1 − 1000 · 1e-6 = 0.999.
const HOPELESS_DELAY: f64 = 1e-6;

/// A delay as it is, once known to fit a synapse table at this `dt`: a
/// constant must round to 0..=65535 steps, and a redrawn distribution must
/// reach dt / 2 (one step) with a probability of at least
/// [`HOPELESS_DELAY`]. Each drawn delay is checked again when the run draws
/// it.
fn delay_in_range(d: Distribution, span: Span, dt: f64) -> Result<Distribution, LowerError> {
    if let Some(v) = d.constant_value() {
        return match steps_of_delay(v, dt) {
            Some(_) => Ok(d),
            None => Err(LowerError::DelaySteps { span, delay: v, dt }),
        };
    }
    let reach = d.probability_at_least(dt / 2.0);
    if d.centre().is_some() && reach < HOPELESS_DELAY {
        return Err(LowerError::DelayNeverOneStep { span, dt, reach });
    }
    Ok(d)
}

/// `clip(draw, lo, hi)` with a drawn first argument: clipped, not redrawn.
/// `None` when `e` is no such call (a `clip` of constants folds to one).
fn clipped_draw(
    exprs: &mut Arena<Expr>,
    e: &ast::Expr,
    what: &'static str,
) -> Result<Option<Distribution>, LowerError> {
    let ExprKind::Call { callee, args } = &e.kind else {
        return Ok(None);
    };
    let [inner, lo, hi] = args.as_slice() else {
        return Ok(None);
    };
    if callee.name != "clip" {
        return Ok(None);
    }
    let inner = distribution(exprs, &inner.value, what)?;
    if inner.constant_value().is_some() {
        return Ok(None);
    }
    let low = constant(exprs, &lo.value, "a clip bound")?;
    let high = constant(exprs, &hi.value, "a clip bound")?;
    if low.partial_cmp(&high).is_none_or(std::cmp::Ordering::is_gt) {
        return Err(LowerError::ClipBoundsReversed {
            span: e.span,
            low,
            high,
        });
    }
    Ok(Some(Distribution::Clipped {
        inner: Box::new(inner),
        low,
        high,
    }))
}

/// The SI scale of the first quantity in `e` (`weight normal(1 nS, …)` → 1e-9).
fn written_scale(e: &ast::Expr) -> f64 {
    match &e.kind {
        ExprKind::Quantity { unit, .. } => unit_scale(unit).unwrap_or(1.0),
        ExprKind::Unary { operand, .. } => written_scale(operand),
        ExprKind::Binary { lhs, rhs, .. } => {
            let l = written_scale(lhs);
            if l == 1.0 {
                written_scale(rhs)
            } else {
                l
            }
        }
        ExprKind::Call { args, .. } => args
            .iter()
            .map(|a| written_scale(&a.value))
            .find(|&s| s != 1.0)
            .unwrap_or(1.0),
        _ => 1.0,
    }
}

struct Net<'a> {
    module: Module,
    scope: &'a Scope,
    /// Population name → index.
    pops: HashMap<String, u32>,
    /// Population index → its neuron model (None for spike-train sources).
    models: Vec<Option<&'a ModelDef>>,
    /// Array stimulus name → input index.
    stimuli: HashMap<String, u32>,
}

fn lower_network(n: &NetworkDef, scope: &Scope) -> Result<Module, LowerError> {
    let mut module = Module::new(&n.name.name, 1e-4, 1.0, 0);
    for item in &n.items {
        if let NetItem::Setting(s) = item {
            let v = constant(&mut module.exprs, &s.value, "a setting")?;
            match s.name.name.as_str() {
                "dt" => module.dt = v,
                "duration" => module.duration = v,
                "seed" => {
                    if !((0.0..=SEED_MAX).contains(&v) && v.fract() == 0.0) {
                        return Err(LowerError::SeedNotInteger { span: s.value.span });
                    }
                    module.seed = v as u64;
                }
                other => return not_checked(s.name.span, Unchecked::UnknownSetting(other.into())),
            }
        }
    }
    if !(module.dt.is_finite() && module.dt > 0.0) {
        return Err(LowerError::DtNotPositive { span: n.name.span });
    }
    let mut net = Net {
        module,
        scope,
        pops: HashMap::new(),
        models: Vec::new(),
        stimuli: HashMap::new(),
    };
    // Populations and spike-train sources first, in declaration order, so
    // projections and statements can name any of them.
    for item in &n.items {
        match item {
            NetItem::Population(p) => {
                let model = scope.get(&p.model.name).ok_or(LowerError::NotChecked {
                    span: p.model.span,
                    what: Unchecked::UnknownModel,
                })?;
                let pid = net.module.populations.len() as u32;
                let pop = population(&mut net.module, p, model)?;
                net.pops.insert(p.name.name.clone(), pid);
                net.models.push(Some(model));
                net.module.populations.push(pop);
            }
            NetItem::Stimulus(s) => match &s.kind {
                StimulusKind::SpikeTrain { size } => {
                    let pid = net.module.populations.len() as u32;
                    let n = pop_size(&mut net.module.exprs, size)?;
                    net.module.populations.push(Population {
                        name: s.name.name.clone(),
                        model: "spikes from input".into(),
                        size: n,
                        params: Vec::new(),
                        states: Vec::new(),
                        currents: Vec::new(),
                        odes: Vec::new(),
                        spike: None,
                        reset: Vec::new(),
                        refractory: None,
                        held: Vec::new(),
                        source: None,
                    });
                    net.pops.insert(s.name.name.clone(), pid);
                    net.models.push(None);
                    net.module.inputs.push(Input {
                        name: s.name.name.clone(),
                        population: pid,
                        kind: InputKind::SpikeTrain,
                    });
                }
                StimulusKind::Array { .. } => {}
            },
            _ => {}
        }
    }
    for item in &n.items {
        if let NetItem::Stimulus(s) = item {
            if let StimulusKind::Array { unit, population } = &s.kind {
                let pid = net.pop(population)?;
                let k = net.module.inputs.len() as u32;
                net.module.inputs.push(Input {
                    name: s.name.name.clone(),
                    population: pid,
                    kind: InputKind::Array {
                        scale: unit_scale(unit)?,
                    },
                });
                net.stimuli.insert(s.name.name.clone(), k);
            }
        }
    }
    for item in &n.items {
        match item {
            NetItem::Projection(pr) => net.projection(pr)?,
            NetItem::Inject(inj) => net.injection(inj)?,
            NetItem::Record(r) => net.record(r)?,
            _ => {}
        }
    }
    refuse_pre_read_conflict(&net.module, n.name.span)?;
    Ok(net.module)
}

/// `pre.X` must not read a state that some `on_pre` writes (`post.X += …`
/// onto the same population): within a step its value would depend on the
/// order events are delivered in. Reported at the reading projection.
fn refuse_pre_read_conflict(module: &Module, network: Span) -> Result<(), LowerError> {
    let Some(c) = crate::ir::info::pre_read_conflict(module) else {
        return Ok(());
    };
    let pop = &module.populations[c.population as usize];
    let state = &pop.states[c.state as usize].name;
    let reader = &module.projections[c.reader];
    let writer = &module.projections[c.writer];
    let span = reader.source.as_ref().map_or(network, |s| s.decl);
    Err(LowerError::PreReadConflict {
        span,
        state: state.clone(),
        population: pop.name.clone(),
        writer: writer.name.clone(),
    })
}

fn pop_size(exprs: &mut Arena<Expr>, e: &ast::Expr) -> Result<u32, LowerError> {
    let v = constant(exprs, e, "a population size")?;
    if v >= 1.0 && v.fract() == 0.0 && v <= f64::from(u32::MAX) {
        Ok(v as u32)
    } else {
        Err(LowerError::PopulationSize {
            span: e.span,
            found: v,
        })
    }
}

fn method_of(model: &ModelDef) -> Option<Method> {
    model.members.iter().find_map(|m| match m {
        Member::Integrate(id) => Some(match id.name.as_str() {
            "euler" => Method::Euler,
            "rk2" => Method::Rk2,
            "rk4" => Method::Rk4,
            _ => Method::Exact,
        }),
        _ => None,
    })
}

/// The value of a model param: an override, else the model default.
fn param_value<'a>(
    name: &str,
    default: Option<&'a ast::Expr>,
    args: &[(&'a str, &'a ast::Expr)],
) -> Option<&'a ast::Expr> {
    args.iter()
        .find(|(n, _)| *n == name)
        .map(|(_, e)| *e)
        .or(default)
}

/// Params and states of a model instance: constant params become IR params,
/// per-neuron (drawn) ones become states initialised by their draw.
struct Instance<'a> {
    params: Vec<NamedValue>,
    states: Vec<StateVar>,
    /// Name → how the body reads it.
    names: Vec<(String, Var)>,
    lets: Vec<(&'a str, &'a ast::Expr)>,
}

/// Build params and states of `model` with overrides `args`. `param_var` and
/// `state_var` make the IR variables of the place (population or synapse).
fn instance<'a>(
    exprs: &mut Arena<Expr>,
    model: &'a ModelDef,
    args: &[(&'a str, &'a ast::Expr)],
    span: Span,
    param_var: fn(u32) -> Var,
    state_var: fn(u32) -> Var,
) -> Result<Instance<'a>, LowerError> {
    let mut params = Vec::new();
    let mut states: Vec<StateVar> = Vec::new();
    let mut names: Vec<(String, Var)> = Vec::new();
    let mut lets = Vec::new();
    // Initial values (and drawn params) share one slot counter: they are one
    // code block keyed `InitialValues`.
    let mut slot = 0;
    let mut known: Vec<(String, Handle<Expr>)> = Vec::new();
    for m in &model.members {
        match m {
            Member::Param(p) => {
                let Some(e) = param_value(&p.name.name, p.default.as_ref(), args) else {
                    return Err(LowerError::NoDefault {
                        span,
                        model: model.name.name.clone(),
                        param: p.name.name.clone(),
                    });
                };
                let mut lw = Lower {
                    b: Builder::new(exprs),
                    names: Names::new(),
                    depths: ExprDepths::default(),
                };
                lw.names.next_slot = slot;
                for (n, h) in &known {
                    lw.names.bind(n, *h);
                }
                let h = lw.expr(e)?;
                slot = lw.names.next_slot;
                match konst(&lw.b, h) {
                    Some(v) => {
                        let c = lw.b.c(v);
                        known.push((p.name.name.clone(), c));
                        let k = params.len() as u32;
                        params.push(NamedValue {
                            name: p.name.name.clone(),
                            value: v,
                        });
                        names.push((p.name.name.clone(), param_var(k)));
                    }
                    None => {
                        let k = states.len() as u32;
                        let load = lw.b.load(state_var(k));
                        known.push((p.name.name.clone(), load));
                        states.push(StateVar {
                            name: p.name.name.clone(),
                            init: h,
                        });
                        names.push((p.name.name.clone(), state_var(k)));
                    }
                }
            }
            Member::Let(l) => lets.push((l.name.name.as_str(), &l.value)),
            _ => {}
        }
    }
    // States: inits read params (as loads, so sweeps reach them) and the
    // states before them.
    let mut bound: Vec<(String, Var)> = names.clone();
    for m in &model.members {
        if let Member::State(s) = m {
            let init = param_value(&s.name.name, s.init.as_ref(), args);
            let mut lw = Lower {
                b: Builder::new(exprs),
                names: Names::new(),
                depths: ExprDepths::default(),
            };
            lw.names.next_slot = slot;
            for (n, v) in &bound {
                let h = lw.b.load(*v);
                lw.names.bind(n, h);
            }
            let h = match init {
                Some(e) => lw.expr(e)?,
                None => lw.b.c(0.0),
            };
            slot = lw.names.next_slot;
            let k = states.len() as u32;
            states.push(StateVar {
                name: s.name.name.clone(),
                init: h,
            });
            names.push((s.name.name.clone(), state_var(k)));
            bound.push((s.name.name.clone(), state_var(k)));
        }
    }
    Ok(Instance {
        params,
        states,
        names,
        lets,
    })
}

fn bind_instance<'a>(names: &mut Names<'a>, b: &mut Builder, inst: &Instance<'a>) {
    for (n, v) in &inst.names {
        let h = b.load(*v);
        names.bind(n, h);
    }
    for (n, e) in &inst.lets {
        names.plain.insert((*n).to_string(), Binding::Let(e));
    }
}

fn population(
    module: &mut Module,
    p: &PopulationDecl,
    model: &ModelDef,
) -> Result<Population, LowerError> {
    let size = pop_size(&mut module.exprs, &p.size)?;
    let args: Vec<(&str, &ast::Expr)> = p
        .overrides
        .iter()
        .map(|o| (o.name.name.as_str(), &o.value))
        .collect();
    let inst = instance(
        &mut module.exprs,
        model,
        &args,
        p.span,
        Var::Param,
        Var::State,
    )?;
    let currents: Vec<String> = model
        .members
        .iter()
        .filter_map(|m| match m {
            Member::Current(c) => Some(c.name.name.clone()),
            _ => None,
        })
        .collect();
    let dt = module.dt;
    let mut lw = Lower {
        b: Builder::new(&mut module.exprs),
        names: Names::new(),
        depths: ExprDepths::default(),
    };
    lw.names.time = true;
    bind_instance(&mut lw.names, &mut lw.b, &inst);
    for (k, c) in currents.iter().enumerate() {
        let h = lw.b.load(Var::Current(k as u32));
        lw.names.bind(c, h);
    }
    let state_index = |name: &str| inst.states.iter().position(|s| s.name == name);
    let requested = method_of(model);
    let mut odes = Vec::new();
    let mut spike = None;
    let mut reset = Vec::new();
    let mut held = Vec::new();
    let mut refractory = None;
    for m in &model.members {
        match m {
            Member::Ode(o) => {
                let Some(k) = state_index(&o.var.name) else {
                    return not_checked(o.var.span, Unchecked::NotAState(o.var.name.clone()));
                };
                let rhs = lw.expr(&o.rhs)?;
                let x = Var::State(k as u32);
                let (method, update, note) =
                    classify(&mut lw.b, rhs, x, &o.var.name, dt, requested);
                odes.push(Ode {
                    state: k as u32,
                    rhs,
                    method,
                    update,
                    note,
                });
            }
            Member::Spike(s) => spike = Some(lw.expr(&s.condition)?),
            Member::Refractory(r) => {
                let h = lw.expr(&r.value)?;
                refractory = Some(match r.form {
                    ast::RefractoryForm::For => Refractory::Period(h),
                    ast::RefractoryForm::While => Refractory::While(h),
                });
            }
            _ => {}
        }
    }
    for m in &model.members {
        if let Member::Reset(block) = m {
            let states = &inst.states;
            let target = |path: &ast::Path| -> Result<Var, LowerError> {
                match path.segments.as_slice() {
                    [one] => match states.iter().position(|s| s.name == one.name) {
                        Some(k) => Ok(Var::State(k as u32)),
                        None => not_checked(one.span, Unchecked::NotAState(one.name.clone())),
                    },
                    _ => not_checked(path.span, Unchecked::ResetTarget),
                }
            };
            let out = block::lower_block(&mut lw, block, &target)?;
            held = out
                .set_with_eq
                .iter()
                .filter_map(|v| match v {
                    Var::State(k) => Some(*k),
                    _ => None,
                })
                .collect();
            held.sort_unstable();
            reset = out.assigns;
        }
    }
    Ok(Population {
        name: p.name.name.clone(),
        model: model.name.name.clone(),
        size,
        params: inst.params,
        states: inst.states,
        currents,
        odes,
        spike,
        reset,
        refractory,
        held,
        source: Some(PopulationSource {
            decl: p.name.span,
            overrides: p
                .overrides
                .iter()
                .map(|o| (o.name.name.clone(), o.value.span))
                .collect(),
        }),
    })
}

fn named_args(args: &[Arg]) -> Vec<(&str, &ast::Expr)> {
    args.iter()
        .filter_map(|a| a.name.as_ref().map(|n| (n.name.as_str(), &a.value)))
        .collect()
}

impl<'a> Net<'a> {
    fn pop(&self, id: &ast::Ident) -> Result<u32, LowerError> {
        self.pops
            .get(&id.name)
            .copied()
            .ok_or_else(|| LowerError::NotChecked {
                span: id.span,
                what: Unchecked::UnknownPopulation(id.name.clone()),
            })
    }

    fn model(&self, r: &ast::ModelRef) -> Result<&'a ModelDef, LowerError> {
        let scope: &'a Scope = self.scope;
        scope
            .get(&r.name.name)
            .map(AsRef::as_ref)
            .ok_or(LowerError::NotChecked {
                span: r.name.span,
                what: Unchecked::UnknownModel,
            })
    }

    fn projection(&mut self, pr: &ast::ProjectionDecl) -> Result<(), LowerError> {
        let mut connect = None;
        let mut weight = None;
        let mut delay = None;
        let mut synapse = None;
        let mut output = None;
        for c in &pr.clauses {
            match c {
                ProjClause::Connect { rule, args, span } => connect = Some((rule, args, *span)),
                ProjClause::Weight(e) => weight = Some(e),
                ProjClause::Delay(e) => delay = Some(e),
                ProjClause::Synapse(m) => synapse = Some(m),
                ProjClause::Output(m) => output = Some(m),
                ProjClause::Error(s) => return not_checked(*s, Unchecked::ClauseWithError),
            }
        }
        let Some((rule, rule_args, _)) = connect else {
            return not_checked(pr.span, Unchecked::MissingClause("connect rule(…)"));
        };
        let Some(weight_e) = weight else {
            return not_checked(pr.span, Unchecked::MissingClause("weight …"));
        };
        let Some(syn_ref) = synapse else {
            return not_checked(pr.span, Unchecked::MissingClause("synapse Model"));
        };
        let w = distribution(&mut self.module.exprs, weight_e, "weight")?;
        let d = match delay {
            Some(e) => delay_in_range(
                distribution(&mut self.module.exprs, e, "delay")?,
                e.span,
                self.module.dt,
            )?,
            None => Distribution::Constant(0.0),
        };
        let autapses = match rule_args
            .iter()
            .find(|a| a.name.as_ref().is_some_and(|n| n.name == "autapses"))
        {
            Some(a) => match &a.value.kind {
                ExprKind::Bool(b) => *b,
                _ => return not_checked(a.value.span, Unchecked::AutapsesNotBool),
            },
            None => true,
        };
        let positional: Vec<&ast::Expr> = rule_args
            .iter()
            .filter(|a| a.name.is_none())
            .map(|a| &a.value)
            .collect();
        let syn_model = self.model(syn_ref)?;
        let out_model = match output {
            Some(o) => Some((self.model(o)?, o)),
            None => None,
        };
        for src in &pr.sources {
            for tgt in &pr.targets {
                let pre = self.pop(src)?;
                let post = self.pop(tgt)?;
                let n_pre = self.module.populations[pre as usize].size;
                let n_post = self.module.populations[post as usize].size;
                let count = |me: &mut Self, e: Option<&&ast::Expr>, max: u32, what| {
                    let Some(e) = e else {
                        return Err(LowerError::MissingRuleArgument {
                            span: rule.span,
                            rule: rule.name.clone(),
                            what,
                        });
                    };
                    let v = constant(&mut me.module.exprs, e, what)?;
                    if v >= 0.0 && v.fract() == 0.0 && v <= f64::from(max) {
                        Ok(v as u32)
                    } else {
                        Err(LowerError::CountOutOfRange {
                            span: e.span,
                            what,
                            max,
                            found: v,
                        })
                    }
                };
                let connect = match rule.name.as_str() {
                    "fixed_prob" => {
                        let Some(e) = positional.first() else {
                            return Err(LowerError::MissingRuleArgument {
                                span: rule.span,
                                rule: rule.name.clone(),
                                what: "a probability",
                            });
                        };
                        let p = constant(&mut self.module.exprs, e, "a probability")?;
                        if !(0.0..=1.0).contains(&p) {
                            return Err(LowerError::ProbabilityOutOfRange {
                                span: e.span,
                                found: p,
                            });
                        }
                        Connect::Rule(Rule::FixedProb(p))
                    }
                    "all_to_all" => Connect::Rule(Rule::AllToAll),
                    "one_to_one" => {
                        if n_pre != n_post {
                            return Err(LowerError::OneToOneSizes {
                                span: rule.span,
                                pre: n_pre,
                                post: n_post,
                            });
                        }
                        Connect::Rule(Rule::OneToOne)
                    }
                    "fixed_in_degree" => Connect::Rule(Rule::FixedInDegree(count(
                        self,
                        positional.first(),
                        n_pre,
                        "the in-degree",
                    )?)),
                    "fixed_out_degree" => Connect::Rule(Rule::FixedOutDegree(count(
                        self,
                        positional.first(),
                        n_post,
                        "the out-degree",
                    )?)),
                    "fixed_total_number" => Connect::Rule(Rule::FixedTotalNumber(count(
                        self,
                        positional.first(),
                        u32::MAX,
                        "the number of synapses",
                    )?)),
                    "from_file" => match positional.first().map(|e| &e.kind) {
                        Some(ExprKind::String(path)) => Connect::File {
                            path: path.clone(),
                            weight_scale: written_scale(weight_e),
                        },
                        _ => return not_checked(rule.span, Unchecked::FromFileWithoutPath),
                    },
                    other => {
                        return not_checked(rule.span, Unchecked::UnknownConnectRule(other.into()))
                    }
                };
                let synapse = self.synapse(syn_model, syn_ref, pre, post)?;
                let output = match out_model {
                    Some((m, r)) => Some(self.output(m, r, &synapse, post)?),
                    None => None,
                };
                self.module.projections.push(Projection {
                    name: format!("{}->{}", src.name, tgt.name),
                    pre,
                    post,
                    connect,
                    allow_autapses: autapses,
                    weight: w.clone(),
                    delay: d.clone(),
                    synapse,
                    output,
                    source: Some(ProjectionSource {
                        decl: pr.span,
                        weight: weight_e.span,
                        delay: delay.map(|e| e.span),
                    }),
                });
            }
        }
        Ok(())
    }

    /// Param values of a population, for `post.p` / `pre.p`.
    fn side_params(&self, pid: u32) -> HashMap<String, f64> {
        self.module.populations[pid as usize]
            .params
            .iter()
            .map(|q| (q.name.clone(), q.value))
            .collect()
    }

    /// `post.X` / `pre.X` names of a neuron population for synapse code.
    fn side_names(&self, pid: u32, with_currents: bool) -> HashMap<String, Var> {
        let p = &self.module.populations[pid as usize];
        let mut m: HashMap<String, Var> = p
            .states
            .iter()
            .enumerate()
            .map(|(k, s)| {
                let v = if with_currents {
                    Var::PostState(k as u32)
                } else {
                    Var::PreState(k as u32)
                };
                (s.name.clone(), v)
            })
            .collect();
        if with_currents {
            for (k, c) in p.currents.iter().enumerate() {
                m.insert(c.clone(), Var::PostCurrent(k as u32));
            }
        }
        m
    }

    fn synapse(
        &mut self,
        model: &ModelDef,
        r: &ast::ModelRef,
        pre: u32,
        post: u32,
    ) -> Result<Synapse, LowerError> {
        let args = named_args(&r.args);
        let post_names = self.side_names(post, true);
        let pre_names = self.side_names(pre, false);
        let post_params = self.side_params(post);
        let pre_params = self.side_params(pre);
        let dt = self.module.dt;
        let inst = instance(
            &mut self.module.exprs,
            model,
            &args,
            r.span,
            Var::SynParam,
            Var::Syn,
        )?;
        let mut lw = Lower {
            b: Builder::new(&mut self.module.exprs),
            names: Names::new(),
            depths: ExprDepths::default(),
        };
        lw.names.time = true;
        lw.names.post = post_names;
        lw.names.post_params = post_params;
        lw.names.pre = pre_names;
        lw.names.pre_params = pre_params;
        bind_instance(&mut lw.names, &mut lw.b, &inst);
        let requested = method_of(model);
        let mut odes = Vec::new();
        for m in &model.members {
            if let Member::Ode(o) = m {
                let Some(k) = inst.states.iter().position(|s| s.name == o.var.name) else {
                    return not_checked(o.var.span, Unchecked::NotAState(o.var.name.clone()));
                };
                let rhs = lw.expr(&o.rhs)?;
                let (method, update, note) = classify(
                    &mut lw.b,
                    rhs,
                    Var::Syn(k as u32),
                    &o.var.name,
                    dt,
                    requested,
                );
                odes.push(Ode {
                    state: k as u32,
                    rhs,
                    method,
                    update,
                    note,
                });
            }
        }
        let (mut on_pre, mut on_post) = (Vec::new(), Vec::new());
        lw.names.weight = true;
        let post_states = lw.names.post.clone();
        for m in &model.members {
            let (block, lowered, writes_post) = match m {
                Member::OnPre(block) => (block, &mut on_pre, true),
                Member::OnPost(block) => (block, &mut on_post, false),
                _ => continue,
            };
            let target =
                |path: &ast::Path| event_target(path, &inst.states, &post_states, writes_post);
            *lowered = block::lower_block(&mut lw, block, &target)?.assigns;
        }
        let ode_pairs: Vec<(u32, Handle<Expr>)> = odes.iter().map(|o| (o.state, o.rhs)).collect();
        let plastic = !on_post.is_empty() || on_pre.iter().any(|a| a.target == Var::Weight);
        let layout = if plastic {
            SynapseLayout::PerSynapse
        } else {
            synapse_layout(&mut lw.b, inst.states.len() as u32, &ode_pairs, &on_pre)
        };
        Ok(Synapse {
            model: model.name.name.clone(),
            layout,
            params: inst.params,
            states: inst.states,
            odes,
            method: match requested {
                Some(Method::Exact) | None => Method::Rk2,
                Some(m) => m,
            },
            on_pre,
            on_post,
        })
    }

    fn output(
        &mut self,
        model: &ModelDef,
        r: &ast::ModelRef,
        synapse: &Synapse,
        post: u32,
    ) -> Result<Output, LowerError> {
        let args = named_args(&r.args);
        let post_names = self.side_names(post, true);
        let currents = self.module.populations[post as usize].currents.clone();
        let post_params = self.side_params(post);
        let mut lw = Lower {
            b: Builder::new(&mut self.module.exprs),
            names: Names::new(),
            depths: ExprDepths::default(),
        };
        lw.names.time = true;
        lw.names.post = post_names;
        lw.names.post_params = post_params;
        // Output params are constants of the projection: folded in.
        for m in &model.members {
            if let Member::Param(p) = m {
                let Some(e) = param_value(&p.name.name, p.default.as_ref(), &args) else {
                    return Err(LowerError::OutputParamUnset {
                        span: r.span,
                        param: p.name.name.clone(),
                    });
                };
                let h = lw.expr(e)?;
                if konst(&lw.b, h).is_none() {
                    return Err(LowerError::OutputParamNotConstant { span: e.span });
                }
                lw.names.bind(&p.name.name, h);
            }
        }
        for (k, s) in synapse.states.iter().enumerate() {
            let h = lw.b.load(Var::Syn(k as u32));
            lw.names.bind(&s.name, h);
        }
        for (k, q) in synapse.params.iter().enumerate() {
            if !lw.names.plain.contains_key(&q.name) {
                let h = lw.b.load(Var::SynParam(k as u32));
                lw.names.bind(&q.name, h);
            }
        }
        for m in &model.members {
            if let Member::Let(l) = m {
                lw.names
                    .plain
                    .insert(l.name.name.clone(), Binding::Let(&l.value));
            }
        }
        for m in &model.members {
            if let Member::Stmt(ast::Stmt::Assign {
                target, op, value, ..
            }) = m
            {
                let [name] = target.segments.as_slice() else {
                    return not_checked(target.span, Unchecked::OutputTarget);
                };
                let Some(c) = currents.iter().position(|c| *c == name.name) else {
                    return Err(LowerError::NoCurrent {
                        span: name.span,
                        population: None,
                        current: name.name.clone(),
                    });
                };
                let v = lw.expr(value)?;
                let v = match op {
                    ast::AssignOp::Add => v,
                    ast::AssignOp::Sub => lw.b.neg(v),
                    _ => return not_checked(target.span, Unchecked::OutputOperator),
                };
                return Ok(Output {
                    model: model.name.name.clone(),
                    current: c as u32,
                    value: v,
                });
            }
        }
        not_checked(r.span, Unchecked::OutputAddsNothing)
    }

    fn injection(&mut self, inj: &ast::Inject) -> Result<(), LowerError> {
        let [pop, var] = inj.target.segments.as_slice() else {
            return not_checked(inj.target.span, Unchecked::InjectionTarget);
        };
        let pid = self.pop(pop)?;
        let p = &self.module.populations[pid as usize];
        let Some(c) = p.currents.iter().position(|c| *c == var.name) else {
            return Err(LowerError::NoCurrent {
                span: var.span,
                population: Some(pop.name.clone()),
                current: var.name.clone(),
            });
        };
        let inputs: Vec<(String, u32, u32)> = self
            .stimuli
            .iter()
            .map(|(n, &k)| (n.clone(), k, self.module.inputs[k as usize].population))
            .collect();
        let mut lw = Lower {
            b: Builder::new(&mut self.module.exprs),
            names: Names::new(),
            depths: ExprDepths::default(),
        };
        lw.names.time = true;
        for (name, k, input_pop) in &inputs {
            if *input_pop == pid {
                let h = lw.b.load(Var::Input(*k));
                lw.names.bind(name, h);
            }
        }
        let v = lw.expr(&inj.value).map_err(|e| match *e {
            // A stimulus of another population reads as unknown: say why.
            LowerError::CannotRead { span, name } if inputs.iter().any(|(n, _, _)| *n == name) => {
                LowerError::StimulusOfAnotherPopulation {
                    span,
                    stimulus: name,
                    population: pop.name.clone(),
                }
            }
            e => e,
        })?;
        let cur = lw.b.load(Var::Current(c as u32));
        let value = match inj.op {
            ast::AssignOp::Add => v,
            ast::AssignOp::Sub => lw.b.neg(v),
            // Replace the sum so far: add (v - sum).
            ast::AssignOp::Set => lw.b.sub(v, cur),
            // Scale the sum so far: add sum·(v - 1), or sum·(1/v - 1).
            ast::AssignOp::Mul | ast::AssignOp::Div => {
                let one = lw.b.c(1.0);
                let f = if inj.op == ast::AssignOp::Mul {
                    v
                } else {
                    lw.b.div(one, v)
                };
                let f1 = lw.b.sub(f, one);
                lw.b.mul(cur, f1)
            }
        };
        self.module.injections.push(Injection {
            population: pid,
            current: c as u32,
            value,
        });
        Ok(())
    }

    fn record(&mut self, r: &RecordDecl) -> Result<(), LowerError> {
        match r {
            RecordDecl::Spikes { populations, .. } => {
                for p in populations {
                    let population = self.pop(p)?;
                    let rec = Record::Spikes { population };
                    if !self.module.records.contains(&rec) {
                        self.module.records.push(rec);
                    }
                }
            }
            RecordDecl::Trace {
                variables,
                of,
                every,
                ..
            } => {
                let pid = self.pop(&of.population)?;
                let size = self.module.populations[pid as usize].size;
                let neurons = match &of.range {
                    None => None,
                    Some((a, b)) => {
                        let lo = constant(&mut self.module.exprs, a, "a neuron index")?;
                        let hi = constant(&mut self.module.exprs, b, "a neuron index")?;
                        if !is_neuron_range(lo, hi, size) {
                            return Err(LowerError::NeuronRange {
                                span: of.span,
                                population: of.population.name.clone(),
                                lo,
                                hi,
                                size,
                            });
                        }
                        Some((lo as u32..hi as u32).collect())
                    }
                };
                let every = match every {
                    None => 1,
                    Some(e) => {
                        let v = constant(&mut self.module.exprs, e, "a sampling interval")?;
                        let Some(steps) = period_steps(v, self.module.dt) else {
                            return Err(LowerError::EveryNotWholeSteps {
                                span: e.span,
                                dt: self.module.dt,
                            });
                        };
                        steps
                    }
                };
                for v in variables {
                    let p = &self.module.populations[pid as usize];
                    let Some(state) = p.states.iter().position(|s| s.name == v.name) else {
                        return Err(LowerError::NotRecordable {
                            span: v.span,
                            name: v.name.clone(),
                            population: of.population.name.clone(),
                        });
                    };
                    self.module.records.push(Record::Trace {
                        population: pid,
                        state: state as u32,
                        neurons: neurons.clone(),
                        every,
                    });
                }
            }
        }
        Ok(())
    }
}

/// The variable an `on_pre` / `on_post` statement assigns: a synapse state,
/// the weight `w`, or (`on_pre` only, `writes_post`) a post-neuron state.
fn event_target(
    path: &ast::Path,
    states: &[StateVar],
    post_states: &HashMap<String, Var>,
    writes_post: bool,
) -> Result<Var, LowerError> {
    match path.segments.as_slice() {
        [one] => match states.iter().position(|s| s.name == one.name) {
            Some(k) => Ok(Var::Syn(k as u32)),
            None if one.name == "w" => Ok(Var::Weight),
            None => not_checked(one.span, Unchecked::NotAState(one.name.clone())),
        },
        [side, x] if side.name == "post" && writes_post => match post_states.get(&x.name) {
            Some(Var::PostState(k)) => Ok(Var::PostState(*k)),
            _ => not_checked(path.span, Unchecked::NotAPostState(x.name.clone())),
        },
        _ => not_checked(path.span, Unchecked::EventTarget),
    }
}
