//! From a validated module to its [`StepProgram`]: the phases of a step in
//! order (spec/language.md "one time step", [`crate::ir`] docs), each
//! population's and projection's code placed in its kernel, the integration
//! schemes expanded once into statements.

use std::collections::HashMap;

use super::{Cond, Domain, Kernel, Phase, Place, StepProgram, Stmt};
use crate::ir::SYNAPSE_KEY_BIT;
use crate::ir::{
    Arena, AssignOp, BinaryOp, Expr, Handle, Method, Module, Ode, Refractory, ValidModule, Var,
};
use snnc_runtime::rng::Purpose;

/// The step program of `valid`.
#[must_use]
pub fn schedule(valid: &ValidModule<'_>) -> StepProgram {
    schedule_module(valid.module())
}

/// The step program of a module the caller has validated (a backend that
/// was handed a [`ValidModule`] and kept only its module).
#[must_use]
pub fn schedule_module(m: &Module) -> StepProgram {
    let mut s = Scheduler {
        m,
        exprs: m.exprs.clone(),
        kernels: Vec::new(),
    };
    s.zero_currents();
    s.outputs();
    s.injections();
    s.neuron_updates();
    s.synapse_dynamics();
    s.events();
    s.post_events();
    StepProgram {
        exprs: s.exprs,
        kernels: s.kernels,
    }
}

struct Scheduler<'m> {
    m: &'m Module,
    exprs: Arena<Expr>,
    kernels: Vec<Kernel>,
}

/// The random stream of projection `k`'s synapse code.
fn synapse_draws(k: usize) -> Purpose {
    Purpose::ModelNoise {
        population: SYNAPSE_KEY_BIT | k as u32,
    }
}

/// Locals of one element, handed out in order.
#[derive(Default)]
struct Locals {
    next: u32,
}

impl Locals {
    fn fresh(&mut self) -> u32 {
        self.next += 1;
        self.next - 1
    }
    fn many(&mut self, n: usize) -> Vec<u32> {
        (0..n).map(|_| self.fresh()).collect()
    }
}

impl Scheduler<'_> {
    #[allow(clippy::too_many_arguments)]
    fn push(
        &mut self,
        phase: Phase,
        name: String,
        domain: Domain,
        draws: Purpose,
        locals: u32,
        body: Vec<Stmt>,
    ) {
        self.kernels.push(Kernel {
            name,
            phase,
            domain,
            draws,
            locals,
            body,
        });
    }

    fn konst(&mut self, v: f64) -> Handle<Expr> {
        self.exprs.append(Expr::Const(v))
    }

    fn load(&mut self, v: Var) -> Handle<Expr> {
        self.exprs.append(Expr::Load(v))
    }

    fn binary(&mut self, op: BinaryOp, a: Handle<Expr>, b: Handle<Expr>) -> Handle<Expr> {
        self.exprs.append(Expr::Binary(op, a, b))
    }

    /// `h` with every load `v` for which `with` has a value replaced by it
    /// (new nodes only where something below changed).
    fn substitute(&mut self, h: Handle<Expr>, with: &dyn Fn(Var) -> Option<Expr>) -> Handle<Expr> {
        let mut memo = HashMap::new();
        self.subst(h, with, &mut memo)
    }

    fn subst(
        &mut self,
        h: Handle<Expr>,
        with: &dyn Fn(Var) -> Option<Expr>,
        memo: &mut HashMap<Handle<Expr>, Handle<Expr>>,
    ) -> Handle<Expr> {
        if let Some(&done) = memo.get(&h) {
            return done;
        }
        let e = self.exprs[h].clone();
        let out = match e {
            Expr::Load(v) => match with(v) {
                Some(new) => self.exprs.append(new),
                None => h,
            },
            Expr::Const(_) | Expr::Random { .. } => h,
            Expr::Unary(op, a) => {
                let a2 = self.subst(a, with, memo);
                if a2 == a {
                    h
                } else {
                    self.exprs.append(Expr::Unary(op, a2))
                }
            }
            Expr::Math(op, a) => {
                let a2 = self.subst(a, with, memo);
                if a2 == a {
                    h
                } else {
                    self.exprs.append(Expr::Math(op, a2))
                }
            }
            Expr::Binary(op, a, b) => {
                let (a2, b2) = (self.subst(a, with, memo), self.subst(b, with, memo));
                if (a2, b2) == (a, b) {
                    h
                } else {
                    self.exprs.append(Expr::Binary(op, a2, b2))
                }
            }
            Expr::Select(c, a, b) => {
                let c2 = self.subst(c, with, memo);
                let (a2, b2) = (self.subst(a, with, memo), self.subst(b, with, memo));
                if (c2, a2, b2) == (c, a, b) {
                    h
                } else {
                    self.exprs.append(Expr::Select(c2, a2, b2))
                }
            }
        };
        memo.insert(h, out);
        out
    }

    /// Phase 1a: every current of every population starts the step at 0.
    fn zero_currents(&mut self) {
        for (p, pop) in self.m.populations.iter().enumerate() {
            if pop.currents.is_empty() {
                continue;
            }
            let zero = self.konst(0.0);
            let body = (0..pop.currents.len())
                .map(|c| Stmt::Store {
                    place: Place::Current(c as u32),
                    op: AssignOp::Set,
                    value: zero,
                })
                .collect();
            let draws = Purpose::ModelNoise {
                population: p as u32,
            };
            let domain = Domain::Neurons { pop: p as u32 };
            self.push(
                Phase::ZeroCurrents,
                format!("{}.zero_currents", pop.name),
                domain,
                draws,
                0,
                body,
            );
        }
    }

    /// Phase 1b: each projection's output, summed per post neuron over its
    /// synapses (from synapse and post state at the start of the step), is
    /// added to its current.
    fn outputs(&mut self) {
        let m = self.m;
        for (k, j) in m.projections.iter().enumerate() {
            let Some(out) = &j.output else { continue };
            let post = Domain::Neurons { pop: j.post };
            let draws = synapse_draws(k);
            let zero = self.konst(0.0);
            let clear = vec![Stmt::Store {
                place: Place::Sum(k as u32),
                op: AssignOp::Set,
                value: zero,
            }];
            self.push(
                Phase::ClearSum,
                format!("{}.clear_sum", j.name),
                post,
                draws,
                0,
                clear,
            );
            // Synapse code cannot read post currents (the checker refuses
            // `post.I`, E0103; the validator checks the IR).
            let sum = vec![Stmt::Store {
                place: Place::Sum(k as u32),
                op: AssignOp::Add,
                value: out.value,
            }];
            let domain = Domain::Synapses { proj: k as u32 };
            self.push(
                Phase::Output,
                format!("{}.output", j.name),
                domain,
                draws,
                0,
                sum,
            );
            let total = self.load(Var::Sum(k as u32));
            let add = vec![Stmt::Store {
                place: Place::Current(out.current),
                op: AssignOp::Add,
                value: total,
            }];
            self.push(
                Phase::AddOutput,
                format!("{}.add_output", j.name),
                post,
                draws,
                0,
                add,
            );
        }
    }

    /// Phase 1c: injections add to their population's current (stimulus
    /// values of this step).
    fn injections(&mut self) {
        let m = self.m;
        for (k, inj) in m.injections.iter().enumerate() {
            let pop = &m.populations[inj.population as usize];
            let body = vec![Stmt::Store {
                place: Place::Current(inj.current),
                op: AssignOp::Add,
                value: inj.value,
            }];
            let draws = Purpose::Injection {
                injection: k as u32,
            };
            let domain = Domain::Neurons {
                pop: inj.population,
            };
            self.push(
                Phase::Injection,
                format!("{}.inject{k}", pop.name),
                domain,
                draws,
                0,
                body,
            );
        }
    }

    /// Phases 2–3 of every population: integration, then refractory count
    /// down or threshold, reset and refractory period.
    fn neuron_updates(&mut self) {
        let m = self.m;
        for (p, pop) in m.populations.iter().enumerate() {
            let draws = Purpose::ModelNoise {
                population: p as u32,
            };
            let is_source = m.inputs.iter().any(|i| {
                i.population as usize == p && matches!(i.kind, crate::ir::InputKind::SpikeTrain)
            });
            if is_source {
                let domain = Domain::SpikeSource { pop: p as u32 };
                self.push(
                    Phase::Update,
                    format!("{}.fire_from_train", pop.name),
                    domain,
                    draws,
                    0,
                    Vec::new(),
                );
                continue;
            }
            let mut locals = Locals::default();
            let ns = pop.states.len();
            let start = locals.many(ns);
            let mut body: Vec<Stmt> = start
                .iter()
                .enumerate()
                .map(|(q, &l)| {
                    let value = self.load(Var::State(q as u32));
                    Stmt::Let { local: l, value }
                })
                .collect();
            // Neuron code reads stimulus inputs only through injections.
            let no_input = |v: Var| matches!(v, Var::Input(_)).then_some(Expr::Const(0.0));
            let new = self.integrate(
                &pop.odes,
                &start,
                &|v| match v {
                    Var::State(q) => Some(q),
                    _ => None,
                },
                &no_input,
                &mut locals,
                &mut body,
            );
            let at_new = |v: Var| match v {
                Var::State(q) => Some(Expr::Load(Var::Local(new[q as usize]))),
                other => no_input(other),
            };
            let mut refractory: Vec<Stmt> = pop
                .held
                .iter()
                .map(|&h| {
                    let value = self.load(Var::Local(start[h as usize]));
                    Stmt::Let {
                        local: new[h as usize],
                        value,
                    }
                })
                .collect();
            // The period ends after its steps, or in the first step whose
            // integrated (and held) states make the condition false.
            refractory.push(match pop.refractory {
                Some(Refractory::While(cond)) => Stmt::If {
                    cond: Cond::Nonzero(self.substitute(cond, &at_new)),
                    then: Vec::new(),
                    otherwise: vec![Stmt::EndRefractory],
                },
                _ => Stmt::CountDownRefractory,
            });
            let mut spiking = vec![Stmt::EmitSpike];
            for r in &pop.reset {
                let Var::State(q) = r.target else { continue };
                let v = self.substitute(r.value, &at_new);
                let value = match r.op {
                    AssignOp::Set => v,
                    AssignOp::Add => {
                        let old = self.load(Var::Local(new[q as usize]));
                        self.binary(BinaryOp::Add, old, v)
                    }
                };
                spiking.push(Stmt::Let {
                    local: new[q as usize],
                    value,
                });
            }
            match pop.refractory {
                Some(Refractory::Period(rf)) => {
                    let duration = self.substitute(rf, &at_new);
                    spiking.push(Stmt::SetRefractory { duration });
                }
                Some(Refractory::While(_)) => spiking.push(Stmt::StartRefractory),
                None => {}
            }
            let threshold = match pop.spike {
                Some(cond) => {
                    let cond = self.substitute(cond, &at_new);
                    // A non-finite state never spikes (see back::guard).
                    vec![Stmt::If {
                        cond: Cond::AllFinite(new.clone()),
                        then: vec![Stmt::If {
                            cond: Cond::Nonzero(cond),
                            then: spiking,
                            otherwise: Vec::new(),
                        }],
                        otherwise: Vec::new(),
                    }]
                }
                None => Vec::new(),
            };
            body.push(Stmt::If {
                cond: Cond::Refractory,
                then: refractory,
                otherwise: threshold,
            });
            for (q, &l) in new.iter().enumerate() {
                let value = self.load(Var::Local(l));
                body.push(Stmt::Store {
                    place: Place::State(q as u32),
                    op: AssignOp::Set,
                    value,
                });
            }
            let domain = Domain::Neurons { pop: p as u32 };
            self.push(
                Phase::Update,
                format!("{}.update", pop.name),
                domain,
                draws,
                locals.next,
                body,
            );
        }
    }

    /// Phase 4: synapse states integrated over the step (post and pre
    /// neurons at the end of 2–3).
    fn synapse_dynamics(&mut self) {
        let m = self.m;
        for (k, j) in m.projections.iter().enumerate() {
            let syn = &j.synapse;
            if syn.odes.is_empty() {
                continue;
            }
            let mut locals = Locals::default();
            let start = locals.many(syn.states.len());
            let mut body: Vec<Stmt> = start
                .iter()
                .enumerate()
                .map(|(q, &l)| {
                    let value = self.load(Var::Syn(q as u32));
                    Stmt::Let { local: l, value }
                })
                .collect();
            let new = self.integrate(
                &syn.odes,
                &start,
                &|v| match v {
                    Var::Syn(q) => Some(q),
                    _ => None,
                },
                &|_| None,
                &mut locals,
                &mut body,
            );
            for (q, &l) in new.iter().enumerate() {
                let value = self.load(Var::Local(l));
                body.push(Stmt::Store {
                    place: Place::Syn(q as u32),
                    op: AssignOp::Set,
                    value,
                });
            }
            let domain = Domain::Synapses { proj: k as u32 };
            let draws = synapse_draws(k);
            self.push(
                Phase::SynapseDynamics,
                format!("{}.dynamics", j.name),
                domain,
                draws,
                locals.next,
                body,
            );
        }
    }

    /// Phase 5: each arriving event runs `on_pre`, in order, each
    /// assignment reading memory as the previous one left it.
    fn events(&mut self) {
        let m = self.m;
        for (k, j) in m.projections.iter().enumerate() {
            // Post states read memory as earlier events of the step left it.
            let body = event_stores(&j.synapse.on_pre);
            let domain = Domain::PreEvents { proj: k as u32 };
            let draws = synapse_draws(k);
            self.push(
                Phase::Events,
                format!("{}.on_pre", j.name),
                domain,
                draws,
                0,
                body,
            );
        }
    }

    /// Phase 6: every synapse onto a neuron that spiked in this step runs
    /// `on_post` (projections without one have no kernel).
    fn post_events(&mut self) {
        let m = self.m;
        for (k, j) in m.projections.iter().enumerate() {
            if j.synapse.on_post.is_empty() {
                continue;
            }
            let body = event_stores(&j.synapse.on_post);
            let domain = Domain::PostEvents { proj: k as u32 };
            let draws = synapse_draws(k);
            self.push(
                Phase::PostEvents,
                format!("{}.on_post", j.name),
                domain,
                draws,
                0,
                body,
            );
        }
    }

    /// Statements giving the states with ODEs their new values, from their
    /// values at the start (locals `start`); returns the locals holding every
    /// state's new value. `own(v)` says which state a load names, `other(v)`
    /// what else to replace. Exact ODEs take their update at the start
    /// values; the others are stepped together by the first non-exact
    /// method (Euler, rk2 = explicit midpoint, rk4 = classic), exact ones
    /// held at their start values meanwhile.
    fn integrate(
        &mut self,
        odes: &[Ode],
        start: &[u32],
        own: &dyn Fn(Var) -> Option<u32>,
        other: &dyn Fn(Var) -> Option<Expr>,
        locals: &mut Locals,
        body: &mut Vec<Stmt>,
    ) -> Vec<u32> {
        let mut new = start.to_vec();
        let rw = Rewrite { own, other };
        for o in odes {
            if let Some(update) = o.update {
                let value = self.substitute(update, &|v| rw.at(start, v));
                new[o.state as usize] = self.bind(value, locals, body);
            }
        }
        let Some(method) = odes.iter().map(|o| o.method).find(|m| *m != Method::Exact) else {
            return new;
        };
        let others: Vec<&Ode> = odes.iter().filter(|o| o.update.is_none()).collect();
        let dt = self.m.dt;
        let k1 = self.slopes(&others, start, &rw, locals, body);
        let incr = match method {
            Method::Euler | Method::Exact => k1,
            Method::Rk2 => {
                let mid = self.shifted(&others, start, &k1, dt / 2.0, locals, body);
                self.slopes(&others, &mid, &rw, locals, body)
            }
            Method::Rk4 => {
                let s2 = self.shifted(&others, start, &k1, dt / 2.0, locals, body);
                let k2 = self.slopes(&others, &s2, &rw, locals, body);
                let s3 = self.shifted(&others, start, &k2, dt / 2.0, locals, body);
                let k3 = self.slopes(&others, &s3, &rw, locals, body);
                let s4 = self.shifted(&others, start, &k3, dt, locals, body);
                let k4 = self.slopes(&others, &s4, &rw, locals, body);
                // (k1 + 2·k2 + 2·k3 + k4) / 6, left to right.
                (0..others.len())
                    .map(|i| {
                        let two = self.konst(2.0);
                        let [a, b, c, d] =
                            [k1[i], k2[i], k3[i], k4[i]].map(|l| self.load(Var::Local(l)));
                        let b2 = self.binary(BinaryOp::Mul, two, b);
                        let c2 = self.binary(BinaryOp::Mul, two, c);
                        let ab = self.binary(BinaryOp::Add, a, b2);
                        let abc = self.binary(BinaryOp::Add, ab, c2);
                        let sum = self.binary(BinaryOp::Add, abc, d);
                        let six = self.konst(6.0);
                        let value = self.binary(BinaryOp::Div, sum, six);
                        self.bind(value, locals, body)
                    })
                    .collect()
            }
        };
        for (o, d) in others.iter().zip(incr) {
            let q = o.state as usize;
            new[q] = self.step_from(start[q], d, dt, locals, body);
        }
        new
    }

    /// A new local set to `value`.
    fn bind(&mut self, value: Handle<Expr>, locals: &mut Locals, body: &mut Vec<Stmt>) -> u32 {
        let l = locals.fresh();
        body.push(Stmt::Let { local: l, value });
        l
    }

    /// A local holding `from + h · slope`.
    fn step_from(
        &mut self,
        from: u32,
        slope: u32,
        h: f64,
        locals: &mut Locals,
        body: &mut Vec<Stmt>,
    ) -> u32 {
        let s0 = self.load(Var::Local(from));
        let h = self.konst(h);
        let d = self.load(Var::Local(slope));
        let inc = self.binary(BinaryOp::Mul, h, d);
        let value = self.binary(BinaryOp::Add, s0, inc);
        self.bind(value, locals, body)
    }

    /// The slopes of the stepped ODEs with the states in `state_locals`.
    fn slopes(
        &mut self,
        others: &[&Ode],
        state_locals: &[u32],
        rw: &Rewrite<'_>,
        locals: &mut Locals,
        body: &mut Vec<Stmt>,
    ) -> Vec<u32> {
        others
            .iter()
            .map(|o| {
                let value = self.substitute(o.rhs, &|v| rw.at(state_locals, v));
                self.bind(value, locals, body)
            })
            .collect()
    }

    /// The states at `start` with each stepped state moved by `h · k`.
    fn shifted(
        &mut self,
        others: &[&Ode],
        start: &[u32],
        k: &[u32],
        h: f64,
        locals: &mut Locals,
        body: &mut Vec<Stmt>,
    ) -> Vec<u32> {
        let mut s = start.to_vec();
        for (o, &d) in others.iter().zip(k) {
            let q = o.state as usize;
            s[q] = self.step_from(start[q], d, h, locals, body);
        }
        s
    }
}

/// An event handler's assignments as stores, in order (the lowering ordered
/// them so that running them one after another equals the source block).
fn event_stores(assigns: &[crate::ir::Assign]) -> Vec<Stmt> {
    assigns
        .iter()
        .filter_map(|a| {
            let place = match a.target {
                Var::Syn(q) => Place::Syn(q),
                Var::PostState(q) => Place::PostState(q),
                Var::Weight => Place::Weight,
                _ => return None,
            };
            Some(Stmt::Store {
                place,
                op: a.op,
                value: a.value,
            })
        })
        .collect()
}

/// How a kernel's expressions are rewritten for an integration stage.
struct Rewrite<'a> {
    /// The element's own state a load names (`State(q)` or `Syn(q)`).
    own: &'a dyn Fn(Var) -> Option<u32>,
    /// Other replacements (stimulus inputs read 0 in neuron code).
    other: &'a dyn Fn(Var) -> Option<Expr>,
}

impl Rewrite<'_> {
    /// The replacement of load `v` when the states are in `state_locals`.
    fn at(&self, state_locals: &[u32], v: Var) -> Option<Expr> {
        match (self.own)(v) {
            Some(q) => Some(Expr::Load(Var::Local(state_locals[q as usize]))),
            None => (self.other)(v),
        }
    }
}
