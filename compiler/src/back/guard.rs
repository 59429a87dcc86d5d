//! The divergence guard: the one place that decides when a run's states are
//! checked for NaN/±inf, which values, and how the likely cause is named.
//! Backends only expose their states ([`StateView`]) at the steps
//! [`Watch::due`] names and once after the last step; the run driver also
//! checks every value it records.
//!
//! Policy: every state of every population, of every batch item, at the start
//! of each step that is a multiple of [`CHECK_EVERY`] and at the end of the
//! run. A scan reads each state once: for COBA (4,000 neurons × 3 states)
//! about 5 µs every 256 steps (~1.3 ms of run time on the JIT). The first
//! non-finite value in (batch item, population, state, neuron) order is
//! reported; the error names the latest check that found everything finite,
//! so the divergence happened between the two.
//!
//! A non-finite state never fires a spike (every backend masks it before the
//! threshold), so a value that overflows to +inf stays visible to the next
//! check instead of being hidden by a reset.

use std::cell::Cell;

use crate::back::{ExecError, Outcome};
use crate::ir::{BinaryOp, Expr, Handle, MathOp, Method, Module, Population, Var};
use snnc_runtime::divergence::{Cause, Divergence, Seen};
use snnc_runtime::summary::Summary;
use snnc_runtime::RuntimeError;

/// Steps between two scans of the state.
pub const CHECK_EVERY: u64 = 256;

/// One state variable's values for one population and batch item.
#[derive(Debug, Clone, Copy)]
pub enum Values<'a> {
    F64(&'a [f64]),
    F32(&'a [f32]),
}

impl Values<'_> {
    /// The first neuron whose value is NaN or ±inf, and that value.
    #[must_use]
    pub fn first_non_finite(self) -> Option<(usize, f64)> {
        match self {
            Values::F64(v) => first_bad(v.iter().copied()),
            Values::F32(v) => first_bad(v.iter().map(|&x| f64::from(x))),
        }
    }
}

fn first_bad(values: impl Iterator<Item = f64>) -> Option<(usize, f64)> {
    values.enumerate().find(|(_, v)| !v.is_finite())
}

/// A backend's states between two steps.
pub trait StateView {
    /// State `state` of population `pop` in batch item `batch`, one value per
    /// neuron (at least the population's size; padding is ignored).
    fn values(&self, batch: usize, pop: usize, state: usize) -> Values<'_>;
}

/// The reference's (and the GPU drivers') per-item states.
impl StateView for Vec<Vec<crate::back::PopState>> {
    fn values(&self, batch: usize, pop: usize, state: usize) -> Values<'_> {
        Values::F64(&self[batch][pop].states[state])
    }
}

/// Receives (step, states) at the steps [`Watch::due`] names and after the
/// last step (step = the run's step count).
pub type WatchSink<'a> = dyn FnMut(u64, &dyn StateView) -> Result<(), RuntimeError> + 'a;

/// What a backend owes the guard: its states every `every` steps, given
/// to `sink` before `on_step` sees the same step, and once after the last
/// step.
pub struct Watch<'a> {
    pub every: u64,
    pub sink: &'a mut WatchSink<'a>,
}

impl Watch<'_> {
    /// Whether the state at the start of `step` goes to the sink.
    #[must_use]
    pub fn due(&self, step: u64) -> bool {
        self.every > 0 && step.is_multiple_of(self.every)
    }
}

/// The checks of one run: the module (before parameter folding, so that
/// parameters are still named in its expressions) and each batch item's
/// parameter values.
pub struct Guard<'m> {
    module: &'m Module,
    params: &'m [Vec<Vec<f64>>],
    /// The latest step at which a scan found every state finite.
    finite_at: Cell<Option<u64>>,
}

impl<'m> Guard<'m> {
    #[must_use]
    pub fn new(module: &'m Module, params: &'m [Vec<Vec<f64>>]) -> Self {
        Self {
            module,
            params,
            finite_at: Cell::new(None),
        }
    }

    /// Scan every state of every batch item at the start of `step`.
    pub fn check(&self, step: u64, view: &dyn StateView) -> Result<(), RuntimeError> {
        for batch in 0..self.params.len() {
            for (pop, p) in self.module.populations.iter().enumerate() {
                for state in 0..p.states.len() {
                    let values = view.values(batch, pop, state);
                    let found = match values {
                        Values::F64(v) => Values::F64(&v[..v.len().min(p.size as usize)]),
                        Values::F32(v) => Values::F32(&v[..v.len().min(p.size as usize)]),
                    }
                    .first_non_finite();
                    if let Some((neuron, value)) = found {
                        let at = Location {
                            batch,
                            pop,
                            state,
                            neuron: neuron as u32,
                        };
                        return Err(self.diverged(step, at, value, Seen::StateCheck));
                    }
                }
            }
        }
        self.finite_at.set(Some(step));
        Ok(())
    }

    /// Check a trace row about to be recorded at the start of `step`: state
    /// `(pop, state)` of `neurons`, batch item after batch item.
    pub fn check_trace(
        &self,
        step: u64,
        (pop, state): (usize, usize),
        neurons: &[u32],
        row: &[f64],
    ) -> Result<(), RuntimeError> {
        let Some((k, value)) = first_bad(row.iter().copied()) else {
            return Ok(());
        };
        let per_item = neurons.len().max(1);
        let at = Location {
            batch: k / per_item,
            pop,
            state,
            neuron: neurons.get(k % per_item).copied().unwrap_or(0),
        };
        Err(self.diverged(step, at, value, Seen::Recorded))
    }

    fn diverged(&self, step: u64, at: Location, value: f64, seen: Seen) -> RuntimeError {
        let p = &self.module.populations[at.pop];
        RuntimeError::Diverged(Box::new(Divergence {
            population: p.name.clone(),
            variable: p.states[at.state].name.clone(),
            neuron: at.neuron,
            batch: at.batch as u32,
            value,
            step,
            dt_s: self.module.dt,
            finite_at: self.finite_at.get().filter(|&s| s < step),
            seen,
            causes: likely_causes(self.module, p, &self.params[at.batch][at.pop]),
        }))
    }
}

/// Where a value lives: batch item, population, state, neuron.
#[derive(Debug, Clone, Copy)]
pub struct Location {
    pub batch: usize,
    pub pop: usize,
    pub state: usize,
    pub neuron: u32,
}

/// The step count at which a run stopped by the guard or a signal ended:
/// every recording holds the steps before it. `None` for other errors.
#[must_use]
pub fn stopped_at(e: &RuntimeError) -> Option<u64> {
    match e {
        RuntimeError::Diverged(d) => Some(d.step),
        RuntimeError::Interrupted { step, .. } => Some(*step),
        _ => None,
    }
}

/// A backend's result as (outcome, why it stopped early): a run stopped by
/// the guard or a signal still gets its recordings finished and a summary,
/// from the spikes the driver counted (`spikes`); synaptic events and
/// threads are not known then (0). Other errors are returned.
pub fn outcome_or_stop(
    result: Result<Outcome, ExecError>,
    spikes: Vec<u64>,
    started: std::time::Instant,
) -> Result<(Outcome, Option<RuntimeError>), ExecError> {
    match result {
        Ok(outcome) => Ok((outcome, None)),
        Err(ExecError::Runtime(e)) if stopped_at(&e).is_some() => Ok((
            Outcome {
                spikes,
                synaptic_events: 0,
                wall_s: started.elapsed().as_secs_f64(),
                threads: 0,
                final_weights: Vec::new(),
            },
            Some(e),
        )),
        Err(e) => Err(e),
    }
}

/// Mark the summary of a run that `e` stopped early.
pub fn mark_stopped(summary: &mut Summary, e: &RuntimeError) {
    if let Some(step) = stopped_at(e) {
        summary.stopped_after(step);
    }
    summary.interrupted = matches!(e, RuntimeError::Interrupted { .. });
    if let RuntimeError::Diverged(d) = e {
        summary.diverged = Some(d.to_string());
    }
}

/// Why population `p` (with parameter values `values`) most likely
/// diverged, most specific first: non-finite parameters, zero parameters the
/// equations divide by, explicit methods, `exp` overflow.
#[must_use]
pub fn likely_causes(module: &Module, p: &Population, values: &[f64]) -> Vec<Cause> {
    let mut causes: Vec<Cause> = p
        .params
        .iter()
        .zip(values)
        .filter(|(_, v)| !v.is_finite())
        .map(|(q, &value)| Cause::NonFiniteParam {
            param: q.name.clone(),
            value,
        })
        .collect();
    // The equations as written (not the exact updates derived from them,
    // whose exp(-dt/tau) is no overflow risk).
    let roots: Vec<Handle<Expr>> = p
        .odes
        .iter()
        .map(|o| o.rhs)
        .chain(p.reset.iter().map(|r| r.value))
        .collect();
    let shape = walk(module, &roots);
    for (q, param) in p.params.iter().enumerate() {
        if values.get(q) == Some(&0.0) && shape.divisors.contains(&(q as u32)) {
            causes.push(Cause::ZeroDivisor {
                param: param.name.clone(),
            });
        }
    }
    if let Some(o) = p.odes.iter().find(|o| o.method != Method::Exact) {
        causes.push(Cause::ExplicitMethod {
            method: o.method.name().into(),
            dt_s: module.dt,
        });
    }
    if shape.has_exp {
        causes.push(Cause::ExpOverflow);
    }
    causes
}

/// What the guard needs to know about a population's expressions.
#[derive(Default)]
struct Shape {
    /// Parameters read inside a divisor.
    divisors: Vec<u32>,
    has_exp: bool,
}

fn walk(module: &Module, roots: &[Handle<Expr>]) -> Shape {
    let mut shape = Shape::default();
    // (node, inside a divisor)
    let mut todo: Vec<(Handle<Expr>, bool)> = roots.iter().map(|&h| (h, false)).collect();
    let mut seen = std::collections::HashSet::new();
    while let Some((h, in_divisor)) = todo.pop() {
        if !seen.insert((h.index(), in_divisor)) {
            continue;
        }
        match &module.exprs[h] {
            Expr::Load(Var::Param(q)) if in_divisor => shape.divisors.push(*q),
            Expr::Binary(BinaryOp::Div, a, b) => {
                todo.push((*a, in_divisor));
                todo.push((*b, true));
            }
            e => {
                if matches!(e, Expr::Math(MathOp::Exp, _)) {
                    shape.has_exp = true;
                }
                todo.extend(e.children().into_iter().map(|c| (c, in_divisor)));
            }
        }
    }
    shape
}
