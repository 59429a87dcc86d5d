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

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationError {
    /// Where: `population E`, `projection E->I`, …
    pub place: String,
    pub message: String,
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid IR in {}: {}", self.place, self.message)
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
    fn err(&mut self, place: &str, message: String) {
        self.errors.push(ValidationError {
            place: place.to_string(),
            message,
        });
    }

    /// Check the tree under `h`; shared subtrees are visited once per root.
    fn expr(&mut self, place: &str, h: Handle<Expr>, scope: Scope) {
        let mut seen = HashSet::new();
        self.walk(place, h, scope, &mut seen);
    }

    fn walk(
        &mut self,
        place: &str,
        h: Handle<Expr>,
        scope: Scope,
        seen: &mut HashSet<Handle<Expr>>,
    ) {
        if !seen.insert(h) {
            return;
        }
        let Some(e) = self.module.exprs.get(h) else {
            self.err(place, format!("expression {h:?} out of range"));
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
                self.err(
                    place,
                    format!("load of {v:?} is not allowed or out of range here"),
                );
            }
        }
        // Children have lower handles than their parent (the arena is built
        // bottom-up), which also rules out cycles.
        for c in e.children() {
            if c.index() >= h.index() {
                self.err(place, format!("{h:?} refers forward to {c:?}"));
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
        ck.err("network", format!("dt must be positive, got {}", module.dt));
    }
    if !(module.duration >= 0.0 && module.duration.is_finite()) {
        ck.err(
            "network",
            format!("duration must be ≥ 0, got {}", module.duration),
        );
    }
    let pops = module.populations.len();
    for p in &module.populations {
        let place = format!("population {}", p.name);
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
                ck.err(&place, format!("ODE of state {} out of range", o.state));
            }
            ck.expr(&place, o.rhs, scope);
            if let Some(u) = o.update {
                ck.expr(&place, u, scope);
            } else if o.method == super::Method::Exact {
                ck.err(&place, "exact ODE without an update".into());
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
                ck.err(
                    &place,
                    format!("reset target {:?} is not a state", a.target),
                );
            }
            ck.expr(&place, a.value, scope);
        }
        if p.held.iter().any(|&h| h as usize >= p.states.len()) {
            ck.err(&place, "held state out of range".into());
        }
    }
    for j in &module.projections {
        let place = format!("projection {}", j.name);
        if j.pre as usize >= pops || j.post as usize >= pops {
            ck.err(&place, "pre or post population out of range".into());
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
                    format!("ODE of synapse state {} out of range", o.state),
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
        for a in &syn.on_pre {
            let ok = match a.target {
                Var::Syn(i) => (i as usize) < syn.states.len(),
                Var::PostState(i) => (i as usize) < post.states.len(),
                _ => false,
            };
            if !ok {
                ck.err(
                    &place,
                    format!(
                        "on_pre target {:?} is not a synapse or post state",
                        a.target
                    ),
                );
            }
            if syn.layout == SynapseLayout::AlignPost
                && a.op == AssignOp::Set
                && matches!(a.target, Var::Syn(_))
            {
                ck.err(
                    &place,
                    "align-post synapse state assigned with `=` in on_pre".into(),
                );
            }
            ck.expr(&place, a.value, on_pre);
        }
        if let Some(o) = &j.output {
            if o.current as usize >= post.currents.len() {
                ck.err(&place, format!("output current {} out of range", o.current));
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
            &format!("projection {}", module.projections[c.reader].name),
            format!(
                "reads pre state {} of population {} while the on_pre of projection {} writes it",
                c.state, c.population, module.projections[c.writer].name
            ),
        );
    }
    for (k, inj) in module.injections.iter().enumerate() {
        let place = format!("injection {k}");
        let Some(p) = module.populations.get(inj.population as usize) else {
            ck.err(&place, "population out of range".into());
            continue;
        };
        if inj.current as usize >= p.currents.len() {
            ck.err(&place, "current out of range".into());
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
                &format!("input {}", input.name),
                "population out of range".into(),
            );
        }
    }
    for r in &module.records {
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
            ck.err("record", format!("{r:?} out of range"));
        }
    }
    if ck.errors.is_empty() {
        Ok(ValidModule { module })
    } else {
        Err(ck.errors)
    }
}
