//! The syntax tree of one `.snn` file, as written.
//!
//! Names are not resolved and units are not checked here: that is the checker's
//! job (`check/`). Every node keeps its span. The parser always produces a tree,
//! even for broken input; the parts it could not make sense of become `Error`
//! nodes so that later phases can skip them and still report everything else.

use crate::source::Span;
use serde::{Serialize, Serializer};
use std::sync::Arc;

/// Serializes a shared node as the node itself.
fn serialize_shared<T: Serialize, S: Serializer>(node: &Arc<T>, s: S) -> Result<S::Ok, S::Error> {
    node.as_ref().serialize(s)
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Ident {
    pub name: String,
    pub span: Span,
}

/// A whole file: imports, model definitions and networks, in source order.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct File {
    pub items: Vec<Item>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum Item {
    Import(Import),
    /// Shared with the scopes of the files that see it (no copy per scope).
    Model(#[serde(serialize_with = "serialize_shared")] Arc<ModelDef>),
    Network(NetworkDef),
    /// Text the parser skipped while recovering from a syntax error.
    Error(Span),
}

/// `import std.{LIF, Expon}`, `import std.LIF`, `import models.cortex.*`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Import {
    /// The module path: `std`, `std.neurons`, `models.cortex`.
    pub module: Vec<Ident>,
    pub names: ImportNames,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum ImportNames {
    /// `import m.{A, B}` or `import m.A` (a list of one).
    List(Vec<Ident>),
    /// `import m.*`
    Glob(Span),
}

// ---------------------------------------------------------------- models

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum ModelKind {
    Neuron,
    Synapse,
    Output,
}

/// `neuron LIF { … }`, `synapse Expon { … }`, `output COBA { … }`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ModelDef {
    pub kind: ModelKind,
    pub name: Ident,
    /// The `///` comment lines just above the definition, joined with newlines.
    pub doc: Option<String>,
    pub members: Vec<Member>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum Member {
    /// `param tau: ms = 10 ms` (the default may use earlier params).
    Param(ParamDecl),
    /// `state V: mV = V_rest`, `state g: [w] = 0`.
    State(StateDecl),
    /// `current I: nA`: summed from every synaptic output and stimulus each step.
    Current(CurrentDecl),
    /// `let alpha_m = 0.32 / ms * …`: a named intermediate, recomputed each use.
    Let(LetDecl),
    /// `dV/dt = (V_rest - V + R * I) / tau`
    Ode(OdeDecl),
    /// `spike when V >= V_th`
    Spike(SpikeDecl),
    /// `reset { V = V_reset }`
    Reset(Block),
    /// `refractory t_ref` or `refractory while cond`
    Refractory(RefractoryDecl),
    /// `on_pre { g += w }` (synapses)
    OnPre(Block),
    /// `on_post { w = clip(w + Apre, 0 nS, w_max) }` (synapses)
    OnPost(Block),
    /// `integrate rk4`: the method for every ODE of this model.
    Integrate(Ident),
    /// `I += g * (E - post.V)` at model level (outputs).
    Stmt(Stmt),
    /// A member the parser skipped while recovering.
    Error(Span),
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ParamDecl {
    pub name: Ident,
    pub unit: UnitExpr,
    pub default: Option<Expr>,
    pub doc: Option<String>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StateDecl {
    pub name: Ident,
    pub unit: UnitExpr,
    /// Missing means zero.
    pub init: Option<Expr>,
    pub doc: Option<String>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CurrentDecl {
    pub name: Ident,
    pub unit: UnitExpr,
    pub doc: Option<String>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LetDecl {
    pub name: Ident,
    /// An optional declared unit, checked against the value's.
    pub unit: Option<UnitExpr>,
    pub value: Expr,
    pub doc: Option<String>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct OdeDecl {
    /// The `V` of `dV/dt`.
    pub var: Ident,
    pub rhs: Expr,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SpikeDecl {
    pub condition: Expr,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RefractoryDecl {
    pub form: RefractoryForm,
    /// The period (`For`) or the condition (`While`).
    pub value: Expr,
    pub span: Span,
}

/// How a refractory period ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum RefractoryForm {
    /// `refractory t_ref`: after a time.
    For,
    /// `refractory while v > -20 mV`: once the condition is false.
    While,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Block {
    pub stmts: Vec<Stmt>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum Stmt {
    /// `V = V_reset`, `g += w`, `post.V += w`
    Assign {
        target: Path,
        op: AssignOp,
        value: Expr,
        span: Span,
    },
    /// `if cond { … } else { … }`
    If {
        condition: Expr,
        then_branch: Block,
        else_branch: Option<Block>,
        span: Span,
    },
    Error(Span),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum AssignOp {
    /// `=`
    Set,
    /// `+=`
    Add,
    /// `-=`
    Sub,
    /// `*=`
    Mul,
    /// `/=`
    Div,
}

/// A dotted name: `V`, `post.V`, `E.I`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Path {
    pub segments: Vec<Ident>,
    pub span: Span,
}

// ---------------------------------------------------------------- units

/// A unit as written in a type annotation or after a number: `mV`, `mV/ms`,
/// `nS*mV`, `1/ms`, `uF/cm^2`, `1` (dimensionless), `[w]`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct UnitExpr {
    pub kind: UnitExprKind,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum UnitExprKind {
    /// A unit name with its prefix, as written: `mV`, `Mohm`, `µF`.
    Name(String),
    /// `1`, the dimensionless unit.
    One,
    Mul(Box<UnitExpr>, Box<UnitExpr>),
    Div(Box<UnitExpr>, Box<UnitExpr>),
    /// `cm^2`, `s^-1`, `m^(1/2)`
    Pow(Box<UnitExpr>, Ratio),
    /// `[w]`: the unit of the named model argument (the projection's weight),
    /// fixed only when the model is instantiated.
    UnitOf(Ident),
    Error,
}

/// An exact rational exponent `num/den`, `den > 0`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Ratio {
    pub num: i32,
    pub den: i32,
}

// ---------------------------------------------------------------- expressions

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum ExprKind {
    /// A plain number: `0.02`, `42`, `1e-3`.
    Number(f64),
    /// A number written with a unit: `10 ms`, `0.6 nS`, `1 uF/cm^2`.
    /// (`-65 mV` is `Neg(Quantity)`.)
    Quantity {
        value: f64,
        unit: UnitExpr,
    },
    Bool(bool),
    /// `"edges.npy"`
    String(String),
    /// A name or dotted name: `V`, `tau`, `post.V`, `dt`, `mV` (a unit used as a value).
    Path(Path),
    Unary {
        op: UnaryOp,
        operand: Box<Expr>,
    },
    Binary {
        op: BinaryOp,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
    },
    /// `exp(x)`, `uniform(-60 mV, -50 mV)`, `fixed_prob(0.02)`, `Expon(tau = 5 ms)`
    Call {
        callee: Ident,
        args: Vec<Arg>,
    },
    /// `if c { a } else { b }`
    If {
        condition: Box<Expr>,
        then_value: Box<Expr>,
        else_value: Box<Expr>,
    },
    Error,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum UnaryOp {
    Neg,
    Not,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum BinaryOp {
    Add,
    Sub,
    Mul,
    Div,
    Pow,
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
    And,
    Or,
}

/// A call argument, positional (`0.02`) or named (`tau = 5 ms`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Arg {
    pub name: Option<Ident>,
    pub value: Expr,
    pub span: Span,
}

// ---------------------------------------------------------------- networks

/// `network coba { … }`: instantiates and wires models.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct NetworkDef {
    pub name: Ident,
    pub doc: Option<String>,
    pub items: Vec<NetItem>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum NetItem {
    /// `dt = 0.1 ms`, `duration = 1 s`, `seed = 42`
    Setting(Setting),
    Population(PopulationDecl),
    Projection(ProjectionDecl),
    Stimulus(StimulusDecl),
    /// `E.I += drive`, `E.I += 0.2 nA`, `E.I += 3.2 nA * rand()`
    Inject(Inject),
    Record(RecordDecl),
    Error(Span),
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Setting {
    pub name: Ident,
    pub value: Expr,
    pub span: Span,
}

/// `population E = LIF[3200] { tau = 20 ms, V ~ uniform(-60 mV, -50 mV) }`
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PopulationDecl {
    pub name: Ident,
    pub model: Ident,
    pub size: Expr,
    pub overrides: Vec<Override>,
    pub doc: Option<String>,
    pub span: Span,
}

/// `tau = 20 ms` (a param or a state's initial value), or `V ~ uniform(a, b)`
/// (drawn per neuron; `=` with a random call means the same).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Override {
    pub name: Ident,
    pub sampled: bool,
    pub value: Expr,
    pub span: Span,
}

/// `projection E -> E, I { connect …; weight …; delay …; synapse …; output … }`
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ProjectionDecl {
    pub sources: Vec<Ident>,
    pub targets: Vec<Ident>,
    pub clauses: Vec<ProjClause>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum ProjClause {
    /// `connect fixed_prob(0.02)`, `connect all_to_all`, `connect from_file("e.npy")`
    Connect {
        rule: Ident,
        args: Vec<Arg>,
        span: Span,
    },
    /// `weight 0.6 nS`, `weight normal(0.6 nS, 0.1 nS)`
    Weight(Expr),
    /// `delay 1.5 ms`
    Delay(Expr),
    /// `synapse Expon(tau = 5 ms)` (arguments optional)
    Synapse(ModelRef),
    /// `output COBA(E = 0 mV)`
    Output(ModelRef),
    Error(Span),
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ModelRef {
    pub name: Ident,
    pub args: Vec<Arg>,
    pub span: Span,
}

/// `stimulus drive: nA[E] from input`, `stimulus S: spikes[100] from input`
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StimulusDecl {
    pub name: Ident,
    pub kind: StimulusKind,
    /// `from "data/drive.npy"`: the file bound when the command line binds
    /// none (relative to the model file). `None` for `from input`.
    pub default_file: Option<(String, Span)>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum StimulusKind {
    /// Values in `unit`, one per neuron of `population`, bound from a file
    /// (`--input name=file.npy`) when the model is run.
    Array { unit: UnitExpr, population: Ident },
    /// A population of `size` spike sources whose spike times come from a file.
    /// It can be the source of projections.
    SpikeTrain { size: Expr },
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Inject {
    /// `E.I`: a population and one of its model's currents (or states).
    pub target: Path,
    pub op: AssignOp,
    pub value: Expr,
    pub span: Span,
}

// A file holds a handful of record statements; boxing would only add noise.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum RecordDecl {
    /// `record spikes of E, I`
    Spikes { populations: Vec<Ident>, span: Span },
    /// `record V, w of E[0:10] every 1 ms`
    Trace {
        variables: Vec<Ident>,
        of: PopSlice,
        every: Option<Expr>,
        span: Span,
    },
}

/// `E` or `E[0:10]` (a half-open index range).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PopSlice {
    pub population: Ident,
    pub range: Option<(Expr, Expr)>,
    pub span: Span,
}
