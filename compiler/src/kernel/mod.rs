//! The kernel IR: one time step as an ordered list of kernels, each a list
//! of statements run for every element of a domain (every neuron of a
//! population, every stored synapse state of a projection, the synapses
//! whose presynaptic spike arrives now). Expressions stay the IR's DAG,
//! extended with the kernel's locals ([`Var::Local`]) and a projection's
//! output sum ([`Var::Sum`]).
//!
//! [`schedule`] turns a validated module into a [`StepProgram`], writing
//! the step's meaning once: the order of the phases, the integration
//! schemes expanded into statements (Euler, rk2, rk4, exact updates), the
//! refractory/threshold/reset logic, the random stream each kernel draws
//! from, and which variables each kernel may read. An executor only decides
//! how to iterate a domain, where each place lives in memory and how to do
//! the math: the reference interprets the program element by element.
//!
//! # Semantics an executor must keep
//! * Kernels run in program order; within a kernel every element runs the
//!   body in domain order (ascending index; arrival order for events).
//!   Elements of one kernel share only the places [`Place`]'s docs call
//!   shared: an executor that runs elements in parallel must keep their
//!   stores in domain order where the order changes the result (`Add`s in
//!   f32/f64, any `Set`), or accept that its result is not bitwise the
//!   reference's (the GPU adds atomically).
//! * A load of a memory variable (`State`, `Current`, `Syn`, `PostState`,
//!   `PreState`, `Sum`, …) reads memory at that point of the body; a
//!   `Store` writes it at once, rounded to the run's precision (except
//!   `Sum`, kept in f64). Locals live for one element and start at 0.
//!   `Weight` is a memory variable too: a plastic projection's stores to
//!   it are read by every later event of the run (of that batch item).
//! * `Random` draws are keyed by the kernel's `draws` purpose, the element
//!   index, the step and the batch item (see [`crate::ir`]): the same node
//!   evaluated twice in one element gives the same value.

pub mod print;
pub mod schedule;

pub use schedule::{schedule, schedule_module};

use crate::ir::{Arena, AssignOp, Expr, Handle};
use snnc_runtime::rng::Purpose;

pub use crate::ir::Var;

/// One time step of a module, for one batch item.
#[derive(Debug, Clone)]
pub struct StepProgram {
    /// The module's expressions followed by those the scheduler added
    /// (integration stages, locals in place of states).
    pub exprs: Arena<Expr>,
    pub kernels: Vec<Kernel>,
}

#[derive(Debug, Clone)]
pub struct Kernel {
    /// What the kernel does, for printing and profiles (`E.update`).
    pub name: String,
    /// Which phase of the step it implements (a compiled backend fuses or
    /// places kernels by it; the statements still say what they do).
    pub phase: Phase,
    pub domain: Domain,
    /// The random stream its draws come from.
    pub draws: Purpose,
    /// Locals `0..locals` of one element.
    pub locals: u32,
    pub body: Vec<Stmt>,
}

/// The phases of a step (spec/language.md "one time step"), in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// 1a. A population's currents start at 0.
    ZeroCurrents,
    /// 1b. A projection's output: its sum cleared, summed over synapses,
    /// added to the post current.
    ClearSum,
    Output,
    AddOutput,
    /// 1c. An injection adds to a current.
    Injection,
    /// 2–3. A population's integration, refractoriness, threshold, reset
    /// (or its spike train).
    Update,
    /// 4. A projection's synapse ODEs.
    SynapseDynamics,
    /// 5. A projection's `on_pre` for every arriving event.
    Events,
    /// 6. A projection's `on_post` for every synapse onto a neuron that
    ///    spiked in this step (after every `Events` kernel of the step).
    PostEvents,
}

/// The elements a kernel runs for, and what each element's loads address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Domain {
    /// Every neuron `i` of population `pop`: `State`, `Current`, `Param`,
    /// `Input` and `Sum(k)` (for projections onto `pop`) are neuron `i`'s.
    Neurons { pop: u32 },
    /// A population fed by a spike train: it fires what the train says
    /// (no body).
    SpikeSource { pop: u32 },
    /// Every stored state element `x` of projection `proj`'s synapse: a
    /// synapse (per-synapse layout) or a post neuron (align-post). `Syn` is
    /// element `x`'s; `PostState`/`PostCurrent` its post neuron's; `PreState`
    /// its presynaptic neuron's (per-synapse only); `Sum` the post neuron's.
    Synapses { proj: u32 },
    /// Every synapse `s` of `proj` whose presynaptic spike (of step
    /// `n − delay(s)`) arrives in this step, in arrival order (ascending
    /// step of the spike, then ascending synapse index): `Weight` is `s`'s,
    /// `Syn` the element holding `s`'s state, `PostState` its target's,
    /// `PreState` its presynaptic neuron's.
    PreEvents { proj: u32 },
    /// Every synapse `s` of `proj` whose post neuron spiked in this step,
    /// in ascending synapse index (no dendritic delay): element addressing
    /// as in `PreEvents`.
    PostEvents { proj: u32 },
}

/// A place a statement writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// A state of the element's neuron (`Neurons`).
    State(u32),
    /// A current of the element's neuron (`Neurons`).
    Current(u32),
    /// A synapse state of the element (shared by every synapse onto one post
    /// neuron in the align-post layout).
    Syn(u32),
    /// A state of the element's post neuron (shared by its synapses).
    PostState(u32),
    /// Projection `k`'s output sum at the element's post neuron (shared by
    /// its synapses; f64, never rounded).
    Sum(u32),
    /// The weight of the element's synapse (`PreEvents`, `PostEvents` of a
    /// plastic projection): one per synapse and batch item, rounded like a
    /// state; `Var::Weight` loads read it.
    Weight,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Stmt {
    /// `locals[local] = value`.
    Let { local: u32, value: Handle<Expr> },
    /// `place = value` or `place = place + value`.
    Store {
        place: Place,
        op: AssignOp,
        value: Handle<Expr>,
    },
    If {
        cond: Cond,
        then: Vec<Stmt>,
        otherwise: Vec<Stmt>,
    },
    /// The element's neuron spikes in this step.
    EmitSpike,
    /// The neuron is refractory for `round(duration / dt)` steps (0 when
    /// that is not finite and positive).
    SetRefractory { duration: Handle<Expr> },
    /// One refractory step passes.
    CountDownRefractory,
    /// The neuron is refractory until an `EndRefractory` (its counter
    /// becomes 1, and nothing counts it down).
    StartRefractory,
    /// The neuron's refractory period ends (its counter becomes 0).
    EndRefractory,
}

/// Where the value of a `Let` or `Store` goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Local(u32),
    Place(Place, AssignOp),
}

impl Stmt {
    /// For `Let` and `Store`: the value computed and where it goes (the
    /// only statements the scheduler gives synapse domains).
    #[must_use]
    pub fn assignment(&self) -> Option<(Handle<Expr>, Target)> {
        match *self {
            Stmt::Let { local, value } => Some((value, Target::Local(local))),
            Stmt::Store { place, op, value } => Some((value, Target::Place(place, op))),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Cond {
    /// The value is not 0.
    Nonzero(Handle<Expr>),
    /// The neuron's refractory counter is above 0.
    Refractory,
    /// Every one of these locals is finite at the run's precision.
    AllFinite(Vec<u32>),
}

impl Kernel {
    /// Whether this kernel decides which neurons of its population spike in
    /// this step (its `EmitSpike`s, or the spike train): a population's
    /// spikes of the step are exactly those its `Update` kernel emits.
    #[must_use]
    pub fn fires(&self) -> bool {
        self.phase == Phase::Update
    }
}

impl StepProgram {
    /// The kernel of `phase` whose domain is `domain`, if the step has one.
    #[must_use]
    pub fn kernel(&self, phase: Phase, domain: Domain) -> Option<&Kernel> {
        self.kernels
            .iter()
            .find(|k| k.phase == phase && k.domain == domain)
    }
}
