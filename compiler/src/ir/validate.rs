//! The validator: every handle in range, every load legal where it sits and
//! every index in range, sizes and dt sane. Backends take a [`ValidModule`],
//! so they can index without checks and never panic on a malformed module.

use std::collections::HashSet;
use std::fmt;

use super::arena::Handle;
use super::expr::{Expr, Var};
use super::{AssignOp, Module, Record, Refractory, SynapseLayout};

/// A module that passed [`validate`].
#[derive(Debug, Clone, Copy)]
pub struct ValidModule<'a> {
    module: &'a Module,
}

impl<'a> ValidModule<'a> {
    #[must_use]
    pub fn module(&self) -> &'a Module {
        self.module
    }
}

/// One problem the validator found: where it sits and what it is.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidationError {
    pub place: Place,
    pub problem: Problem,
}

/// The part of the module a [`ValidationError`] is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    /// `dt`, `duration`: the module as a whole.
    Network,
    /// A population, by name.
    Population(String),
    /// A projection, by name.
    Projection(String),
    /// The `k`-th injection.
    Injection(usize),
    /// An input, by name.
    Input(String),
    /// The `k`-th record.
    Record(usize),
}

/// What is wrong at a [`Place`].
#[derive(Debug, Clone, PartialEq)]
pub enum Problem {
    DtNotPositive(f64),
    DurationNegative(f64),
    /// A handle past the end of the expression arena.
    ExprOutOfRange(Handle<Expr>),
    /// A load of a variable this code may not read, or an index past its end.
    LoadNotAllowed(Var),
    /// An expression whose child does not come before it in the arena.
    ForwardReference {
        expr: Handle<Expr>,
        child: Handle<Expr>,
    },
    /// An index past the end of what it indexes.
    OutOfRange {
        slot: Slot,
        index: u32,
    },
    ExactOdeWithoutUpdate,
    ResetTargetNotState(Var),
    /// An `on_pre` (`handler` "on_pre") or `on_post` target that is not the
    /// synapse's own state, its weight, or (`on_pre` only) a post state.
    HandlerTarget {
        handler: &'static str,
        target: Var,
    },
    AlignPostSetInHandler {
        handler: &'static str,
    },
    /// `on_post` or an assignment to `w` in an align-post synapse.
    PlasticAlignPost,
    /// The projection reads `pre` state `state` of `population` while the
    /// `on_pre` of projection `writer` writes it.
    PreReadConflict {
        state: u32,
        population: u32,
        writer: String,
    },
    /// A record whose population, state, neuron or interval is out of range.
    RecordOutOfRange(Record),
}

/// What an index in [`Problem::OutOfRange`] points into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    OdeState,
    SynapseOdeState,
    HeldState,
    PrePopulation,
    PostPopulation,
    Population,
    OutputCurrent,
    Current,
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Place::Network => f.write_str("network"),
            Place::Population(name) => write!(f, "population {name}"),
            Place::Projection(name) => write!(f, "projection {name}"),
            Place::Injection(k) => write!(f, "injection {k}"),
            Place::Input(name) => write!(f, "input {name}"),
            Place::Record(k) => write!(f, "record {k}"),
        }
    }
}

impl fmt::Display for Slot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Slot::OdeState => "ODE of state",
            Slot::SynapseOdeState => "ODE of synapse state",
            Slot::HeldState => "held state",
            Slot::PrePopulation => "pre population",
            Slot::PostPopulation => "post population",
            Slot::Population => "population",
            Slot::OutputCurrent => "output current",
            Slot::Current => "current",
        })
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::DtNotPositive(dt) => write!(f, "dt must be positive, got {dt}"),
            Problem::DurationNegative(d) => write!(f, "duration must be ≥ 0, got {d}"),
            Problem::ExprOutOfRange(h) => write!(f, "expression {h:?} out of range"),
            Problem::LoadNotAllowed(v) => {
                write!(f, "load of {v:?} is not allowed or out of range here")
            }
            Problem::ForwardReference { expr, child } => {
                write!(f, "{expr:?} refers forward to {child:?}")
            }
            Problem::OutOfRange { slot, index } => write!(f, "{slot} {index} out of range"),
            Problem::ExactOdeWithoutUpdate => f.write_str("exact ODE without an update"),
            Problem::ResetTargetNotState(v) => write!(f, "reset target {v:?} is not a state"),
            Problem::HandlerTarget { handler, target } => {
                write!(f, "{handler} target {target:?} is not allowed or out of range")
            }
            Problem::AlignPostSetInHandler { handler } => {
                write!(f, "align-post synapse state assigned with `=` in {handler}")
            }
            Problem::PlasticAlignPost => f.write_str(
                "a plastic synapse (on_post or an assignment to w) must be per synapse",
            ),
            Problem::PreReadConflict {
                state,
                population,
                writer,
            } => write!(
                f,
                "reads pre state {state} of population {population} while the on_pre of projection {writer} writes it"
            ),
            Problem::RecordOutOfRange(r) => write!(f, "{r:?} out of range"),
        }
    }
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid IR in {}: {}", self.place, self.problem)
    }
}

/// What a piece of code may read.
#[derive(Clone, Copy)]
struct Scope {
    states: usize,
    currents: usize,
    params: usize,
    syn: Option<SynScope>,
    inputs: usize,
}

#[derive(Clone, Copy)]
struct SynScope {
    states: usize,
    params: usize,
    post_states: usize,
    post_currents: usize,
    pre_states: usize,
    weight: bool,
}

struct Checker<'m> {
    module: &'m Module,
    errors: Vec<ValidationError>,
}

impl Checker<'_> {
    fn err(&mut self, place: &Place, problem: Problem) {
        self.errors.push(ValidationError {
            place: place.clone(),
            problem,
        });
    }

    /// Check the tree under `h`; shared subtrees are visited once per root.
    fn expr(&mut self, place: &Place, h: Handle<Expr>, scope: Scope) {
        let mut seen = HashSet::new();
        self.walk(place, h, scope, &mut seen);
    }

    fn walk(
        &mut self,
        place: &Place,
        h: Handle<Expr>,
        scope: Scope,
        seen: &mut HashSet<Handle<Expr>>,
    ) {
        if !seen.insert(h) {
            return;
        }
        let Some(e) = self.module.exprs.get(h) else {
            self.err(place, Problem::ExprOutOfRange(h));
            return;
        };
        if let Expr::Load(v) = *e {
            let ok = match (v, scope.syn) {
                (Var::State(i), None) => (i as usize) < scope.states,
                (Var::Current(i), None) => (i as usize) < scope.currents,
                (Var::Param(i), None) => (i as usize) < scope.params,
                (Var::Input(i), None) => (i as usize) < scope.inputs,
                (Var::Syn(i), Some(s)) => (i as usize) < s.states,
                (Var::SynParam(i), Some(s)) => (i as usize) < s.params,
                (Var::PostState(i), Some(s)) => (i as usize) < s.post_states,
                (Var::PostCurrent(i), Some(s)) => (i as usize) < s.post_currents,
                (Var::PreState(i), Some(s)) => (i as usize) < s.pre_states,
                (Var::Weight, Some(s)) => s.weight,
                (Var::Time | Var::Dt, _) => true,
                _ => false,
            };
            if !ok {
                self.err(place, Problem::LoadNotAllowed(v));
            }
        }
        // Children have lower handles than their parent (the arena is built
        // bottom-up), which also rules out cycles.
        for c in e.children() {
            if c.index() >= h.index() {
                self.err(place, Problem::ForwardReference { expr: h, child: c });
            } else {
                self.walk(place, c, scope, seen);
            }
        }
    }
}

/// Check `module`; all problems are returned, not just the first.
pub fn validate(module: &Module) -> Result<ValidModule<'_>, Vec<ValidationError>> {
    let mut ck = Checker {
        module,
        errors: Vec::new(),
    };
    if !(module.dt > 0.0 && module.dt.is_finite()) {
        ck.err(&Place::Network, Problem::DtNotPositive(module.dt));
    }
    if !(module.duration >= 0.0 && module.duration.is_finite()) {
        ck.err(&Place::Network, Problem::DurationNegative(module.duration));
    }
    let pops = module.populations.len();
    for p in &module.populations {
        let place = Place::Population(p.name.clone());
        let scope = Scope {
            states: p.states.len(),
            currents: p.currents.len(),
            params: p.params.len(),
            syn: None,
            inputs: module.inputs.len(),
        };
        for (i, s) in p.states.iter().enumerate() {
            // Initial values may only read earlier states.
            ck.expr(&place, s.init, Scope { states: i, ..scope });
        }
        for o in &p.odes {
            if o.state as usize >= p.states.len() {
                ck.err(
                    &place,
                    Problem::OutOfRange {
                        slot: Slot::OdeState,
                        index: o.state,
                    },
                );
            }
            ck.expr(&place, o.rhs, scope);
            if let Some(u) = o.update {
                ck.expr(&place, u, scope);
            } else if o.method == super::Method::Exact {
                ck.err(&place, Problem::ExactOdeWithoutUpdate);
            }
        }
        for h in p
            .spike
            .into_iter()
            .chain(p.refractory.map(Refractory::expr))
        {
            ck.expr(&place, h, scope);
        }
        for a in &p.reset {
            if !matches!(a.target, Var::State(i) if (i as usize) < p.states.len()) {
                ck.err(&place, Problem::ResetTargetNotState(a.target));
            }
            ck.expr(&place, a.value, scope);
        }
        for &h in p.held.iter().filter(|&&h| h as usize >= p.states.len()) {
            ck.err(
                &place,
                Problem::OutOfRange {
                    slot: Slot::HeldState,
                    index: h,
                },
            );
        }
    }
    for j in &module.projections {
        let place = Place::Projection(j.name.clone());
        let mut ends_in_range = true;
        for (slot, index) in [(Slot::PrePopulation, j.pre), (Slot::PostPopulation, j.post)] {
            if index as usize >= pops {
                ck.err(&place, Problem::OutOfRange { slot, index });
                ends_in_range = false;
            }
        }
        if !ends_in_range {
            continue;
        }
        let pre = &module.populations[j.pre as usize];
        let post = &module.populations[j.post as usize];
        let syn = &j.synapse;
        let s = SynScope {
            states: syn.states.len(),
            params: syn.params.len(),
            post_states: post.states.len(),
            post_currents: post.currents.len(),
            pre_states: pre.states.len(),
            weight: false,
        };
        let scope = Scope {
            states: 0,
            currents: 0,
            params: 0,
            syn: Some(s),
            inputs: 0,
        };
        // Initial values read the synapse's params and earlier states only
        // (they are computed before any neuron has a state).
        for (i, st) in syn.states.iter().enumerate() {
            let init = SynScope {
                states: i,
                post_states: 0,
                post_currents: 0,
                pre_states: 0,
                ..s
            };
            ck.expr(
                &place,
                st.init,
                Scope {
                    syn: Some(init),
                    ..scope
                },
            );
        }
        // An align-post state stands for every synapse onto a post neuron:
        // there is no one presynaptic neuron whose state it could read.
        let ode_scope = Scope {
            syn: Some(SynScope {
                pre_states: match syn.layout {
                    SynapseLayout::AlignPost => 0,
                    SynapseLayout::PerSynapse => pre.states.len(),
                },
                ..s
            }),
            ..scope
        };
        for o in &syn.odes {
            if o.state as usize >= syn.states.len() {
                ck.err(
                    &place,
                    Problem::OutOfRange {
                        slot: Slot::SynapseOdeState,
                        index: o.state,
                    },
                );
            }
            ck.expr(&place, o.rhs, ode_scope);
            if let Some(u) = o.update {
                ck.expr(&place, u, ode_scope);
            }
        }
        let on_pre = Scope {
            syn: Some(SynScope { weight: true, ..s }),
            ..scope
        };
        // `on_post` runs once per synapse onto a neuron that spiked: it
        // writes only what belongs to the synapse.
        let handlers = [
            ("on_pre", &syn.on_pre, true),
            ("on_post", &syn.on_post, false),
        ];
        for (handler, assigns, writes_post) in handlers {
            for a in assigns {
                let ok = match a.target {
                    Var::Syn(i) => (i as usize) < syn.states.len(),
                    Var::PostState(i) => writes_post && (i as usize) < post.states.len(),
                    Var::Weight => true,
                    _ => false,
                };
                if !ok {
                    ck.err(
                        &place,
                        Problem::HandlerTarget {
                            handler,
                            target: a.target,
                        },
                    );
                }
                if syn.layout == SynapseLayout::AlignPost
                    && a.op == AssignOp::Set
                    && matches!(a.target, Var::Syn(_))
                {
                    ck.err(&place, Problem::AlignPostSetInHandler { handler });
                }
                ck.expr(&place, a.value, on_pre);
            }
        }
        if syn.is_plastic() && syn.layout == SynapseLayout::AlignPost {
            ck.err(&place, Problem::PlasticAlignPost);
        }
        if let Some(o) = &j.output {
            if o.current as usize >= post.currents.len() {
                ck.err(
                    &place,
                    Problem::OutOfRange {
                        slot: Slot::OutputCurrent,
                        index: o.current,
                    },
                );
            }
            // Currents are being summed while outputs run: not readable.
            let output = Scope {
                syn: Some(SynScope {
                    pre_states: 0,
                    post_currents: 0,
                    ..s
                }),
                ..scope
            };
            ck.expr(&place, o.value, output);
        }
    }
    if let Some(c) = super::info::pre_read_conflict(module) {
        ck.err(
            &Place::Projection(module.projections[c.reader].name.clone()),
            Problem::PreReadConflict {
                state: c.state,
                population: c.population,
                writer: module.projections[c.writer].name.clone(),
            },
        );
    }
    for (k, inj) in module.injections.iter().enumerate() {
        let place = Place::Injection(k);
        let Some(p) = module.populations.get(inj.population as usize) else {
            ck.err(
                &place,
                Problem::OutOfRange {
                    slot: Slot::Population,
                    index: inj.population,
                },
            );
            continue;
        };
        if inj.current as usize >= p.currents.len() {
            ck.err(
                &place,
                Problem::OutOfRange {
                    slot: Slot::Current,
                    index: inj.current,
                },
            );
        }
        let scope = Scope {
            states: p.states.len(),
            currents: p.currents.len(),
            params: p.params.len(),
            syn: None,
            inputs: module.inputs.len(),
        };
        ck.expr(&place, inj.value, scope);
    }
    for input in &module.inputs {
        if input.population as usize >= pops {
            ck.err(
                &Place::Input(input.name.clone()),
                Problem::OutOfRange {
                    slot: Slot::Population,
                    index: input.population,
                },
            );
        }
    }
    for (k, r) in module.records.iter().enumerate() {
        let ok = match r {
            Record::Spikes { population } => (*population as usize) < pops,
            Record::Trace {
                population,
                state,
                neurons,
                every,
            } => {
                *every >= 1
                    && module
                        .populations
                        .get(*population as usize)
                        .is_some_and(|p| {
                            (*state as usize) < p.states.len()
                                && neurons
                                    .as_ref()
                                    .is_none_or(|ns| ns.iter().all(|&n| n < p.size))
                        })
            }
        };
        if !ok {
            ck.err(&Place::Record(k), Problem::RecordOutOfRange(r.clone()));
        }
    }
    if ck.errors.is_empty() {
        Ok(ValidModule { module })
    } else {
        Err(ck.errors)
    }
}
