//! Expressions: a checked syntax-tree expression becomes an IR expression
//! with SI constants (`5 mV` → `0.005`), resolved loads and keyed draws.
//!
//! Names resolve through a [`Names`] table built by the caller for the place
//! the expression sits (neuron body, synapse, output, network). `let`s are
//! lowered once per table on first use, so a `let` holding a draw is one
//! value wherever it is read.

use std::collections::HashMap;

use super::{LowerError, Unchecked};
use crate::front::ast::{self, Arg, ExprKind, UnitExpr, UnitExprKind};
use crate::front::units::lookup;
use crate::ir::build::Builder;
use crate::ir::{BinaryOp, Expr, Handle, MathOp, RandomKind, UnaryOp, Var};
use crate::source::Span;

/// What a name means where an expression sits.
#[derive(Clone, Copy)]
pub enum Binding<'a> {
    /// A value already in the arena (a load, or a folded constant).
    Value(Handle<Expr>),
    /// A `let`, lowered on first use.
    Let(&'a ast::Expr),
}

/// The names an expression may read, and the state of block lowering.
pub struct Names<'a> {
    pub plain: HashMap<String, Binding<'a>>,
    /// `post.X`.
    pub post: HashMap<String, Var>,
    /// `pre.X`.
    pub pre: HashMap<String, Var>,
    /// `post.p` / `pre.p` for params of the neuron on that side: constants.
    pub post_params: HashMap<String, f64>,
    pub pre_params: HashMap<String, f64>,
    /// Whether `w` means the firing synapse's weight here.
    pub weight: bool,
    /// Whether `t` and `dt` may be read (model bodies, injections).
    pub time: bool,
    /// During reset/on_pre lowering: the value each assigned variable holds
    /// so far, in terms of the values before the block.
    pub current: HashMap<Var, Handle<Expr>>,
    /// Next free random slot of the code block being lowered.
    pub next_slot: u32,
    lets_done: HashMap<String, Handle<Expr>>,
    lets_active: Vec<String>,
}

impl<'a> Names<'a> {
    pub fn new() -> Self {
        Self {
            plain: HashMap::new(),
            post: HashMap::new(),
            pre: HashMap::new(),
            post_params: HashMap::new(),
            pre_params: HashMap::new(),
            weight: false,
            time: false,
            current: HashMap::new(),
            next_slot: 0,
            lets_done: HashMap::new(),
            lets_active: Vec::new(),
        }
    }

    pub fn bind(&mut self, name: &str, h: Handle<Expr>) {
        self.plain.insert(name.to_string(), Binding::Value(h));
    }

    /// Forget memoised `let` values (they depend on block overrides).
    pub fn reset_lets(&mut self) {
        self.lets_done.clear();
    }
}

/// `value · scale` of a unit expression: the SI value of one of it.
pub fn unit_scale(u: &UnitExpr) -> Result<f64, LowerError> {
    Ok(match &u.kind {
        UnitExprKind::Name(n) => match lookup(n) {
            Some(unit) => unit.scale,
            None => {
                return Err(LowerError::NotChecked {
                    span: u.span,
                    what: Unchecked::UnknownUnit(n.clone()),
                })
            }
        },
        UnitExprKind::One => 1.0,
        UnitExprKind::Mul(a, b) => unit_scale(a)? * unit_scale(b)?,
        UnitExprKind::Div(a, b) => unit_scale(a)? / unit_scale(b)?,
        UnitExprKind::Pow(a, r) => unit_scale(a)?.powf(f64::from(r.num) / f64::from(r.den)),
        // `[w]` and `unit_of(x)` only appear in declarations, whose values
        // are SI already.
        UnitExprKind::UnitOf(_) | UnitExprKind::Error => 1.0,
    })
}

pub struct Lower<'b, 'a> {
    pub b: Builder<'b>,
    pub names: Names<'a>,
    pub depths: ExprDepths,
}

/// How deep an IR expression may be. The parser caps each expression's tree
/// (`MAX_TREE_DEPTH`), but `let`s are expanded where they are read, so a chain
/// of `let`s can add up; the IR walkers (validation, printing, the reference
/// interpreter, the JIT) recurse, and this keeps them a few hundred frames deep.
pub const MAX_IR_DEPTH: u32 = 512;

/// How many operations an IR expression may stand for written out as a tree.
/// The IR shares a `let` read twice, but several walkers (ODE
/// classification, the printer, the reference interpreter) visit it once
/// per use: `let s2 = s1 + s1` doubling forty times would take forever.
pub const MAX_IR_TREE: u64 = 100_000;

/// The depth and written-out size of IR expressions, remembered per node:
/// the arena only grows, so they never change. Computed with an explicit
/// stack.
#[derive(Default)]
pub struct ExprDepths {
    /// Node → (depth, size as a tree, saturating).
    known: HashMap<Handle<Expr>, (u32, u64)>,
    /// How many `Lower::expr` calls are open (the lowering's own recursion).
    open: u32,
}

impl ExprDepths {
    /// (depth, size as a tree) of `root`.
    pub fn of(&mut self, exprs: &crate::ir::Arena<Expr>, root: Handle<Expr>) -> (u32, u64) {
        let mut stack = vec![root];
        while let Some(&h) = stack.last() {
            if self.known.contains_key(&h) {
                stack.pop();
                continue;
            }
            let children = exprs[h].children();
            let unknown: Vec<_> = children
                .iter()
                .copied()
                .filter(|c| !self.known.contains_key(c))
                .collect();
            if unknown.is_empty() {
                let below = children.iter().map(|c| self.known[c].0).max().unwrap_or(0);
                let size = children
                    .iter()
                    .fold(1u64, |n, c| n.saturating_add(self.known[c].1));
                self.known.insert(h, (below + 1, size));
                stack.pop();
            } else {
                stack.extend(unknown);
            }
        }
        self.known[&root]
    }
}

impl<'a> Lower<'_, 'a> {
    /// Lowers one expression; refused (E0403) when the lowering recursion or
    /// the IR built gets deeper than [`MAX_IR_DEPTH`].
    pub fn expr(&mut self, e: &'a ast::Expr) -> Result<Handle<Expr>, Box<LowerError>> {
        if self.depths.open >= MAX_IR_DEPTH {
            return Err(LowerError::TooDeep { span: e.span }.into());
        }
        self.depths.open += 1;
        let lowered = self.expr_node(e);
        self.depths.open -= 1;
        let h = lowered?;
        let (depth, size) = self.depths.of(self.b.exprs, h);
        if depth > MAX_IR_DEPTH {
            return Err(LowerError::TooDeep { span: e.span }.into());
        }
        if size > MAX_IR_TREE {
            return Err(LowerError::TooLarge { span: e.span }.into());
        }
        Ok(h)
    }

    fn expr_node(&mut self, e: &'a ast::Expr) -> Result<Handle<Expr>, Box<LowerError>> {
        Ok(match &e.kind {
            ExprKind::Number(v) => self.b.c(*v),
            ExprKind::Quantity { value, unit } => {
                let s = unit_scale(unit)?;
                self.b.c(value * s)
            }
            ExprKind::Bool(v) => self.b.c(if *v { 1.0 } else { 0.0 }),
            ExprKind::String(_) => {
                return Err(LowerError::NotChecked {
                    span: e.span,
                    what: Unchecked::StringValue,
                }
                .into())
            }
            ExprKind::Path(p) => self.path(p)?,
            ExprKind::Unary { op, operand } => {
                let x = self.expr(operand)?;
                match op {
                    ast::UnaryOp::Neg => self.b.neg(x),
                    ast::UnaryOp::Not => self.b.exprs.append(Expr::Unary(UnaryOp::Not, x)),
                }
            }
            ExprKind::Binary { op, lhs, rhs } => {
                let (l, r) = (self.expr(lhs)?, self.expr(rhs)?);
                let op = match op {
                    ast::BinaryOp::Add => BinaryOp::Add,
                    ast::BinaryOp::Sub => BinaryOp::Sub,
                    ast::BinaryOp::Mul => BinaryOp::Mul,
                    ast::BinaryOp::Div => BinaryOp::Div,
                    ast::BinaryOp::Pow => BinaryOp::Pow,
                    ast::BinaryOp::Lt => BinaryOp::Lt,
                    ast::BinaryOp::Le => BinaryOp::Le,
                    ast::BinaryOp::Gt => BinaryOp::Gt,
                    ast::BinaryOp::Ge => BinaryOp::Ge,
                    ast::BinaryOp::Eq => BinaryOp::Eq,
                    ast::BinaryOp::Ne => BinaryOp::Ne,
                    ast::BinaryOp::And => BinaryOp::And,
                    ast::BinaryOp::Or => BinaryOp::Or,
                };
                self.b.binary(op, l, r)
            }
            ExprKind::Call { callee, args } => self.call(callee, args, e.span)?,
            ExprKind::If {
                condition,
                then_value,
                else_value,
            } => {
                let c = self.expr(condition)?;
                let a = self.expr(then_value)?;
                let b = self.expr(else_value)?;
                self.select(c, a, b)
            }
            ExprKind::Error => {
                return Err(LowerError::NotChecked {
                    span: e.span,
                    what: Unchecked::ExpressionWithError,
                }
                .into())
            }
        })
    }

    pub fn select(&mut self, c: Handle<Expr>, a: Handle<Expr>, b: Handle<Expr>) -> Handle<Expr> {
        match self.b.exprs[c] {
            Expr::Const(v) => {
                if v != 0.0 {
                    a
                } else {
                    b
                }
            }
            _ if a == b => a,
            _ => self.b.exprs.append(Expr::Select(c, a, b)),
        }
    }

    /// A load, replaced by its block value when the block assigned it.
    fn load(&mut self, v: Var) -> Handle<Expr> {
        match self.names.current.get(&v) {
            Some(&h) => h,
            None => self.b.load(v),
        }
    }

    fn path(&mut self, p: &'a ast::Path) -> Result<Handle<Expr>, Box<LowerError>> {
        match p.segments.as_slice() {
            [one] => self.name(&one.name, one.span),
            [side, x] if side.name == "post" || side.name == "pre" => {
                let (table, params) = if side.name == "post" {
                    (&self.names.post, &self.names.post_params)
                } else {
                    (&self.names.pre, &self.names.pre_params)
                };
                let param = params.get(&x.name).copied();
                match (table.get(&x.name).copied(), param) {
                    (Some(v), _) => Ok(self.load(v)),
                    (None, Some(c)) => Ok(self.b.c(c)),
                    (None, None) => Err(LowerError::CannotRead {
                        span: p.span,
                        name: format!("{}.{}", side.name, x.name),
                    }
                    .into()),
                }
            }
            _ => Err(LowerError::NotChecked {
                span: p.span,
                what: Unchecked::UnreadablePath,
            }
            .into()),
        }
    }

    fn name(&mut self, name: &str, span: Span) -> Result<Handle<Expr>, Box<LowerError>> {
        match self.names.plain.get(name).copied() {
            Some(Binding::Value(h)) => {
                // A load of an assigned variable reads its block value.
                if let Expr::Load(v) = self.b.exprs[h] {
                    return Ok(self.load(v));
                }
                Ok(h)
            }
            Some(Binding::Let(e)) => {
                if let Some(&h) = self.names.lets_done.get(name) {
                    return Ok(h);
                }
                if self.names.lets_active.iter().any(|n| n == name) {
                    return Err(LowerError::SelfReference {
                        span,
                        name: name.to_string(),
                    }
                    .into());
                }
                self.names.lets_active.push(name.to_string());
                let h = self.expr(e);
                self.names.lets_active.pop();
                let h = h?;
                self.names.lets_done.insert(name.to_string(), h);
                Ok(h)
            }
            None => match name {
                "t" if self.names.time => Ok(self.b.load(Var::Time)),
                "dt" if self.names.time => Ok(self.b.load(Var::Dt)),
                "w" if self.names.weight => Ok(self.b.load(Var::Weight)),
                // A unit standing alone is one of it: `(V - V_T) / mV`.
                _ if lookup(name).is_some() => {
                    let scale = lookup(name).map_or(1.0, |u| u.scale);
                    Ok(self.b.c(scale))
                }
                _ => Err(LowerError::CannotRead {
                    span,
                    name: name.to_string(),
                }
                .into()),
            },
        }
    }

    fn draw(&mut self, kind: RandomKind) -> Handle<Expr> {
        let slot = self.names.next_slot;
        self.names.next_slot += 1;
        self.b.exprs.append(Expr::Random { kind, slot })
    }

    fn call(
        &mut self,
        callee: &ast::Ident,
        args: &'a [Arg],
        span: Span,
    ) -> Result<Handle<Expr>, Box<LowerError>> {
        let f = callee.name.as_str();
        let mut xs = Vec::with_capacity(args.len());
        for a in args {
            xs.push(self.expr(&a.value)?);
        }
        let arity = |n: usize| -> Result<(), Box<LowerError>> {
            if xs.len() == n {
                Ok(())
            } else {
                Err(LowerError::NotChecked {
                    span,
                    what: Unchecked::Arity {
                        function: f.to_string(),
                        expected: n,
                        found: xs.len(),
                    },
                }
                .into())
            }
        };
        let math = |me: &mut Self, op: MathOp| -> Result<Handle<Expr>, Box<LowerError>> {
            arity(1)?;
            Ok(me.b.math(op, xs[0]))
        };
        Ok(match f {
            "exp" => math(self, MathOp::Exp)?,
            "exprel" => math(self, MathOp::Exprel)?,
            "log" => math(self, MathOp::Log)?,
            "sqrt" => math(self, MathOp::Sqrt)?,
            "abs" => math(self, MathOp::Abs)?,
            "sin" => math(self, MathOp::Sin)?,
            "cos" => math(self, MathOp::Cos)?,
            "tanh" => math(self, MathOp::Tanh)?,
            "floor" => math(self, MathOp::Floor)?,
            "ceil" => math(self, MathOp::Ceil)?,
            "expm1" => {
                // exp(x) - 1 = x·exprel(x), accurate near 0.
                arity(1)?;
                let r = self.b.math(MathOp::Exprel, xs[0]);
                self.b.mul(xs[0], r)
            }
            "log10" => {
                arity(1)?;
                let l = self.b.math(MathOp::Log, xs[0]);
                let k = self.b.c(std::f64::consts::LN_10);
                self.b.div(l, k)
            }
            "tan" => {
                arity(1)?;
                let s = self.b.math(MathOp::Sin, xs[0]);
                let c = self.b.math(MathOp::Cos, xs[0]);
                self.b.div(s, c)
            }
            "sign" => {
                arity(1)?;
                let zero = self.b.c(0.0);
                let one = self.b.c(1.0);
                let minus = self.b.c(-1.0);
                let pos = self.b.binary(BinaryOp::Gt, xs[0], zero);
                let neg = self.b.binary(BinaryOp::Lt, xs[0], zero);
                let inner = self.select(neg, minus, zero);
                self.select(pos, one, inner)
            }
            "min" | "max" => {
                arity(2)?;
                let op = if f == "min" {
                    BinaryOp::Min
                } else {
                    BinaryOp::Max
                };
                self.b.binary(op, xs[0], xs[1])
            }
            "pow" => {
                arity(2)?;
                self.b.binary(BinaryOp::Pow, xs[0], xs[1])
            }
            "clip" => {
                arity(3)?;
                let lo = self.b.binary(BinaryOp::Max, xs[0], xs[1]);
                self.b.binary(BinaryOp::Min, lo, xs[2])
            }
            "rand" => {
                arity(0)?;
                self.draw(RandomKind::Uniform)
            }
            "randn" => {
                arity(0)?;
                self.draw(RandomKind::Normal)
            }
            "uniform" => {
                arity(2)?;
                let u = self.draw(RandomKind::Uniform);
                let width = self.b.sub(xs[1], xs[0]);
                let scaled = self.b.mul(width, u);
                self.b.add(xs[0], scaled)
            }
            "normal" => {
                arity(2)?;
                let z = self.draw(RandomKind::Normal);
                let scaled = self.b.mul(xs[1], z);
                self.b.add(xs[0], scaled)
            }
            "lognormal" => {
                arity(2)?;
                // The median `mu` carries the unit: mu · exp(sigma · Z).
                let z = self.draw(RandomKind::Normal);
                let scaled = self.b.mul(xs[1], z);
                let spread = self.b.math(MathOp::Exp, scaled);
                self.b.mul(xs[0], spread)
            }
            _ => {
                return Err(LowerError::NotChecked {
                    span: callee.span,
                    what: Unchecked::UnknownFunction(f.to_string()),
                }
                .into())
            }
        })
    }
}

/// The constant value of a lowered expression, if it folded to one.
pub fn konst(b: &Builder, h: Handle<Expr>) -> Option<f64> {
    match b.exprs[h] {
        Expr::Const(v) => Some(v),
        _ => None,
    }
}
