//! IR expressions: unit-free f64 constants (SI), variable loads, abstract math
//! ops and keyed random draws. Math stays abstract (`Exp`, `Exprel`, …) so each
//! backend lowers it its own way (libm, a Cranelift call, a PTX intrinsic).

use super::arena::Handle;

/// What a load reads. Which variants are legal depends on where the
/// expression sits (see [`super::validate`]): neuron code reads `State`,
/// `Current`, `Param`; synapse code reads `Syn`, `Weight`, `Post*`, `Pre*`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Var {
    /// A state of the population (neuron code), by index.
    State(u32),
    /// A current accumulator of the population, by index.
    Current(u32),
    /// A parameter of the population; a load because it may be swept.
    Param(u32),
    /// A state of the synapse (synapse/output code), by index.
    Syn(u32),
    /// A parameter of the synapse or output model, by index in its table.
    SynParam(u32),
    /// `post.X`: a state of the postsynaptic neuron.
    PostState(u32),
    /// `post.I`: a current of the postsynaptic neuron.
    PostCurrent(u32),
    /// `pre.X`: a state of the presynaptic neuron.
    PreState(u32),
    /// `w`: the weight of the synapse that fired (on_pre only).
    Weight,
    /// `t`: time at the start of the step, seconds.
    Time,
    /// `dt`: the step, seconds.
    Dt,
    /// The value of external input `k` (a stimulus file) for this neuron and step.
    Input(u32),
    /// Local `k` of a kernel element ([`crate::kernel`] only; never in a
    /// module).
    Local(u32),
    /// Projection `k`'s output sum at this post neuron ([`crate::kernel`]
    /// only).
    Sum(u32),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UnaryOp {
    Neg,
    Not,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
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
    Min,
    Max,
}

/// One-argument math functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MathOp {
    Exp,
    /// `(e^x - 1) / x`, 1 at 0: the exact-integration factor without a 0/0.
    Exprel,
    Log,
    Sqrt,
    Abs,
    Sin,
    Cos,
    Tanh,
    Floor,
    Ceil,
}

/// A unit draw; `uniform(a,b)`, `normal(mu,s)`, `lognormal(mu,s)` are lowered
/// to arithmetic around these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RandomKind {
    /// U(0, 1).
    Uniform,
    /// N(0, 1).
    Normal,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// A unit-free number (SI scale applied).
    Const(f64),
    Load(Var),
    Unary(UnaryOp, Handle<Expr>),
    Binary(BinaryOp, Handle<Expr>, Handle<Expr>),
    Math(MathOp, Handle<Expr>),
    /// `if c { a } else { b }`: `c` is true when non-zero.
    Select(Handle<Expr>, Handle<Expr>, Handle<Expr>),
    /// A draw keyed by (purpose of the enclosing code, object, neuron, step,
    /// batch item, `slot`). `slot` is unique within its code block, so the value
    /// does not depend on evaluation order: evaluating the same node twice in a
    /// step (rk2 stages) gives the same draw.
    Random {
        kind: RandomKind,
        slot: u32,
    },
}

impl Expr {
    /// Children in order, for walkers.
    #[must_use]
    pub fn children(&self) -> Vec<Handle<Expr>> {
        match *self {
            Expr::Const(_) | Expr::Load(_) | Expr::Random { .. } => Vec::new(),
            Expr::Unary(_, a) | Expr::Math(_, a) => vec![a],
            Expr::Binary(_, a, b) => vec![a, b],
            Expr::Select(c, a, b) => vec![c, a, b],
        }
    }
}
