//! The snnc IR: one arena-based, backend-neutral description of a network
//! that every executor reads (reference interpreter, and the JIT/GPU backends
//! to come). Nothing here assumes a CPU or f64: values are unit-free SI
//! numbers, math is abstract ops, random draws are keyed ops.
//!
//! # One time step (identical on every backend; spec/language.md "one time step")
//!
//! For step `n` (time `t = n·dt`) and every batch item independently:
//! 1. **Currents.** Every current of every population is set to zero, then
//!    each projection's output expression is evaluated per post neuron (from
//!    synapse and post state at the start of the step) and added to its target
//!    current, then every injection is added (stimulus value for step `n`).
//! 2. **Integration.** Each ODE gets its new value from start-of-step values of
//!    every other state; currents are held constant. `Exact` ODEs use their
//!    expanded `update` expression (exponential Euler, exact for dX/dt = A + B·X);
//!    the others are integrated *together* by the population's scheme
//!    ([`Method`]: Euler, rk2 = explicit midpoint, rk4 = classic), the exact ones
//!    held at their start values. While a neuron is refractory, the states its
//!    reset assigns with `=` (`held`) keep their value.
//! 3. **Threshold.** A refractory neuron (counter > 0) decrements its counter
//!    and cannot spike. Any other neuron evaluates the spike condition; if true
//!    it is recorded as spiking at step `n`, runs its reset in order, and its
//!    counter becomes `round(t_ref/dt)`. With [`Refractory::While`] the
//!    counter is a flag instead: set to 1 by the spike, kept while the
//!    condition holds over the integrated states, cleared in the first step it
//!    does not (the neuron cannot spike in that step either).
//! 4. **Synapse dynamics.** Synapse states are integrated over the step (same
//!    rules as 2, with the post and pre neurons' states at the end of 2–3).
//! 5. **Events.** Each spike of step `n` through a synapse of delay `D` steps
//!    (`round(delay/dt)`) runs the synapse's `on_pre` at the end of step `n + D`
//!    (after 4); delay 0 is visible to the currents of step `n + 1`. `pre.X`
//!    reads the presynaptic neuron's state at the end of 2–3 of step
//!    `n + D`: no `on_pre` writes a state that synapse code reads as `pre.X`
//!    ([`info::pre_read_conflict`]), so delivery order cannot change it.
//! 6. **Post events.** Each spike of step `n` of a projection's post
//!    population runs the synapse's `on_post` for every synapse onto that
//!    neuron, in the same step (no dendritic delay), after every `on_pre` of
//!    step `n` (so a same-step pair is "pre before post", as Brian2 orders
//!    its pathways). `on_pre`/`on_post` may assign the weight `w`
//!    ([`Synapse::is_plastic`]): each batch item then has its own weights.
//!
//! Traces sample states at the start of a step (before 1).
//!
//! # Random draws
//! Every draw is a pure function of `(seed, purpose, object, neuron, step,
//! batch item, slot)` via the runtime's Philox: Philox counter
//! `[slot, neuron, step, batch]`, key `key_for(seed, purpose)`. Purposes:
//! `ModelNoise{population}` for model bodies, `Injection{injection}` for
//! injections, `InitialValues{population}` for initial values (step field 0),
//! and `InitialValues{population: 0x8000_0000 | projection}` for synapse-state
//! initial values (population ids never reach 2^31). Batch item `k` draws with
//! batch counter `k`; connectivity, weights and delays are drawn once (batch 0)
//! and shared, so item `k` of a batch of any size is the same trial.

pub mod arena;
pub mod build;
pub mod classify;
pub mod expr;
pub mod fold;
pub mod info;
pub mod print;
pub mod validate;

/// Objects ids at or above this in a `Purpose` population field name a
/// projection (its synapse states) rather than a population (see the
/// module docs, "Random draws").
pub const SYNAPSE_KEY_BIT: u32 = 0x8000_0000;

pub use arena::{Arena, Handle};
pub use expr::{BinaryOp, Expr, MathOp, RandomKind, UnaryOp, Var};
pub use validate::{validate, Place, Problem, Slot, ValidModule, ValidationError};

use snnc_runtime::connectivity::Rule;
use snnc_runtime::rng::Distribution;

/// How an ODE (or a population's ODE system) is integrated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    /// Closed form for dX/dt = A + B·X: X' = X·e^{B dt} + A·dt·exprel(B dt).
    Exact,
    Euler,
    /// Explicit midpoint: k1 = f(s), k2 = f(s + dt/2·k1), s' = s + dt·k2.
    Rk2,
    Rk4,
}

impl Method {
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Method::Exact => "exact",
            Method::Euler => "euler",
            Method::Rk2 => "rk2",
            Method::Rk4 => "rk4",
        }
    }
}

/// `dX/dt = rhs` for state `state` of the enclosing population or synapse.
#[derive(Debug, Clone)]
pub struct Ode {
    pub state: u32,
    pub rhs: Handle<Expr>,
    pub method: Method,
    /// For `Exact`: the new value, expanded (reads start-of-step values).
    pub update: Option<Handle<Expr>>,
    /// Why this method: printed as a comment in the IR text.
    pub note: String,
}

/// `target = value` or `target += value`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssignOp {
    Set,
    Add,
}

#[derive(Debug, Clone)]
pub struct Assign {
    pub target: Var,
    pub op: AssignOp,
    pub value: Handle<Expr>,
}

#[derive(Debug, Clone)]
pub struct NamedValue {
    pub name: String,
    pub value: f64,
}

/// A state variable with its per-neuron initial value.
#[derive(Debug, Clone)]
pub struct StateVar {
    pub name: String,
    /// Evaluated once per neuron (draws keyed `InitialValues`); may read
    /// params and states initialised before it.
    pub init: Handle<Expr>,
}

/// How a neuron's refractory period after a spike ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refractory {
    /// After this time in seconds (may read params): `round(t/dt)` steps.
    Period(Handle<Expr>),
    /// In the first step whose integrated states make this condition false.
    While(Handle<Expr>),
}

impl Refractory {
    /// The period or the condition.
    #[must_use]
    pub fn expr(self) -> Handle<Expr> {
        match self {
            Refractory::Period(h) | Refractory::While(h) => h,
        }
    }

    /// The same kind of rule over another expression.
    #[must_use]
    pub fn with_expr(self, h: Handle<Expr>) -> Self {
        match self {
            Refractory::Period(_) => Refractory::Period(h),
            Refractory::While(_) => Refractory::While(h),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Population {
    pub name: String,
    pub model: String,
    pub size: u32,
    pub params: Vec<NamedValue>,
    pub states: Vec<StateVar>,
    pub currents: Vec<String>,
    pub odes: Vec<Ode>,
    pub spike: Option<Handle<Expr>>,
    pub reset: Vec<Assign>,
    /// How the refractory period after a spike ends (none: no period).
    pub refractory: Option<Refractory>,
    /// States held while refractory (those the reset assigns with `=`).
    pub held: Vec<u32>,
    /// Where the model declares it, for run-time errors about its values
    /// (`None` for modules built by hand and for spike-train stimuli).
    pub source: Option<PopulationSource>,
}

/// The places in the model of a population that run-time errors point at
/// (a `PoissonSource` rate drawn above 1/dt, say).
#[derive(Debug, Clone)]
pub struct PopulationSource {
    /// The population's name in `population E = Model[n] { … }`.
    pub decl: crate::source::Span,
    /// Each override the declaration writes, `name = value`: the name and
    /// the span of the value.
    pub overrides: Vec<(String, crate::source::Span)>,
}

/// Where a projection's synapse state lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SynapseLayout {
    /// One value per post neuron: valid when the dynamics are linear and
    /// on_pre only adds to synapse states (Expon, Alpha, DualExpon, Delta).
    AlignPost,
    /// One value per synapse.
    PerSynapse,
}

#[derive(Debug, Clone)]
pub struct Synapse {
    pub model: String,
    pub layout: SynapseLayout,
    pub params: Vec<NamedValue>,
    pub states: Vec<StateVar>,
    pub odes: Vec<Ode>,
    pub method: Method,
    /// Run per event; targets `Syn(_)`, `PostState(_)` or `Weight`.
    pub on_pre: Vec<Assign>,
    /// Run for every synapse whose post neuron spiked in this step (after
    /// every `on_pre` of the step); targets `Syn(_)` or `Weight`.
    pub on_post: Vec<Assign>,
}

impl Synapse {
    /// Whether its weights change during a run (it has an `on_post` or
    /// assigns `w`): then they are per synapse and per batch item, and its
    /// state is per synapse.
    #[must_use]
    pub fn is_plastic(&self) -> bool {
        !self.on_post.is_empty() || self.on_pre.iter().any(|a| a.target == Var::Weight)
    }
}

/// `current += expr` on the post population, summed over post neurons
/// (align-post) or synapses (per-synapse).
#[derive(Debug, Clone)]
pub struct Output {
    pub model: String,
    pub current: u32,
    pub value: Handle<Expr>,
}

/// How a projection's synapses are chosen.
#[derive(Debug, Clone, PartialEq)]
pub enum Connect {
    /// Drawn by a rule (keyed by seed and projection).
    Rule(Rule),
    /// Read from an `.npy`/`.csv` file at run time (path as written in the
    /// model, relative to the model file's folder when not absolute). A third
    /// column, when present, gives per-synapse weights that replace `weight`,
    /// in the unit of the `weight` clause: `weight_scale` makes them SI.
    File { path: String, weight_scale: f64 },
}

#[derive(Debug, Clone)]
pub struct Projection {
    pub name: String,
    pub pre: u32,
    pub post: u32,
    pub connect: Connect,
    pub allow_autapses: bool,
    /// Weight in SI units of the weight.
    pub weight: Distribution,
    /// Delay in seconds.
    pub delay: Distribution,
    pub synapse: Synapse,
    pub output: Option<Output>,
    /// Where the model writes it, for run-time errors about its values
    /// (`None` for modules built by hand).
    pub source: Option<ProjectionSource>,
}

/// The places in the model of a projection's clauses that run-time errors
/// point at (a delay that cannot be drawn, say).
#[derive(Debug, Clone, Copy)]
pub struct ProjectionSource {
    /// The `projection A -> B { … }` declaration.
    pub decl: crate::source::Span,
    /// The expression of the `weight` clause.
    pub weight: crate::source::Span,
    /// The expression of the `delay` clause, when there is one.
    pub delay: Option<crate::source::Span>,
}

/// `population.current += value` each step (value may read `Input(k)`).
#[derive(Debug, Clone)]
pub struct Injection {
    pub population: u32,
    pub current: u32,
    pub value: Handle<Expr>,
}

/// What an external input holds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum InputKind {
    /// Values per (step, [batch item,] neuron) of `population`, read by
    /// injections as `Input(k)`; SI units (the unit's scale is in `scale`).
    Array {
        /// Multiplies each file value to make it SI (e.g. 1e-9 for nA).
        scale: f64,
    },
    /// Spike times per neuron: `population` is a source population with no
    /// dynamics whose neuron `i` spikes at the steps the file lists for `i`.
    SpikeTrain,
}

/// An external file bound at run time (`--input name=file.npy`).
#[derive(Debug, Clone)]
pub struct Input {
    pub name: String,
    pub population: u32,
    pub kind: InputKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    Spikes {
        population: u32,
    },
    /// A state of every neuron (or of `neurons`) at the start of every
    /// `every`-th step (steps 0, every, 2·every, …).
    Trace {
        population: u32,
        state: u32,
        neurons: Option<Vec<u32>>,
        every: u32,
    },
}

/// A whole network, ready to execute.
#[derive(Debug, Clone)]
pub struct Module {
    pub name: String,
    pub dt: f64,
    pub duration: f64,
    pub seed: u64,
    pub exprs: Arena<Expr>,
    pub populations: Vec<Population>,
    pub projections: Vec<Projection>,
    pub injections: Vec<Injection>,
    pub inputs: Vec<Input>,
    pub records: Vec<Record>,
}

impl Module {
    /// The sampling interval, in steps, of every trace record (the steps
    /// whose state a backend must hand to the recorders).
    #[must_use]
    pub fn trace_intervals(&self) -> Vec<u64> {
        self.records
            .iter()
            .filter_map(|r| match r {
                Record::Trace { every, .. } => Some(u64::from(*every).max(1)),
                Record::Spikes { .. } => None,
            })
            .collect()
    }

    #[must_use]
    pub fn new(name: &str, dt: f64, duration: f64, seed: u64) -> Self {
        Self {
            name: name.to_string(),
            dt,
            duration,
            seed,
            exprs: Arena::new(),
            populations: Vec::new(),
            projections: Vec::new(),
            injections: Vec::new(),
            inputs: Vec::new(),
            records: Vec::new(),
        }
    }

    #[must_use]
    pub fn population_index(&self, name: &str) -> Option<u32> {
        self.populations
            .iter()
            .position(|p| p.name == name)
            .map(|i| i as u32)
    }
}
