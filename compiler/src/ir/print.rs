//! `impl Display for Module`: the text of `snnc compile --emit ir`.
//! Expressions are printed inline (the arena is an implementation detail);
//! numbers are SI, printed with `{:e}`-free shortest round-trip formatting.

use std::fmt::{self, Write};

use super::arena::{Arena, Handle};
use super::expr::{BinaryOp, Expr, MathOp, RandomKind, UnaryOp, Var};
use super::{Assign, AssignOp, Connect, Module, Ode, Record, Refractory, SynapseLayout};
use snnc_runtime::connectivity::Rule;
use snnc_runtime::rng::Distribution;

/// Names of the variables a piece of code can read.
pub(crate) struct Names<'a> {
    pub(crate) states: &'a [String],
    pub(crate) currents: &'a [String],
    pub(crate) params: &'a [String],
    pub(crate) syn_states: &'a [String],
    pub(crate) syn_params: &'a [String],
    pub(crate) post_states: &'a [String],
    pub(crate) post_currents: &'a [String],
    pub(crate) pre_states: &'a [String],
    pub(crate) inputs: &'a [String],
}

fn name(list: &[String], i: u32, prefix: &str) -> String {
    list.get(i as usize)
        .cloned()
        .unwrap_or_else(|| format!("{prefix}#{i}"))
}

fn var(n: &Names, v: Var) -> String {
    match v {
        Var::State(i) => name(n.states, i, "state"),
        Var::Current(i) => name(n.currents, i, "current"),
        Var::Param(i) => format!("${}", name(n.params, i, "param")),
        Var::Syn(i) => name(n.syn_states, i, "syn"),
        Var::SynParam(i) => format!("${}", name(n.syn_params, i, "param")),
        Var::PostState(i) => format!("post.{}", name(n.post_states, i, "state")),
        Var::PostCurrent(i) => format!("post.{}", name(n.post_currents, i, "current")),
        Var::PreState(i) => format!("pre.{}", name(n.pre_states, i, "state")),
        Var::Weight => "w".into(),
        Var::Time => "t".into(),
        Var::Dt => "dt".into(),
        Var::Input(i) => format!("input({})", name(n.inputs, i, "input")),
        Var::Local(i) => format!("%{i}"),
        Var::Sum(k) => format!("sum[{k}]"),
    }
}

pub(crate) fn expr(a: &Arena<Expr>, n: &Names, h: Handle<Expr>) -> String {
    let Some(e) = a.get(h) else {
        return format!("<bad {h:?}>");
    };
    match *e {
        Expr::Const(v) => format!("{v:?}"),
        Expr::Load(v) => var(n, v),
        Expr::Unary(UnaryOp::Neg, x) => format!("-{}", expr(a, n, x)),
        Expr::Unary(UnaryOp::Not, x) => format!("not {}", expr(a, n, x)),
        Expr::Binary(op, x, y) => {
            let sym = match op {
                BinaryOp::Add => "+",
                BinaryOp::Sub => "-",
                BinaryOp::Mul => "*",
                BinaryOp::Div => "/",
                BinaryOp::Pow => "^",
                BinaryOp::Lt => "<",
                BinaryOp::Le => "<=",
                BinaryOp::Gt => ">",
                BinaryOp::Ge => ">=",
                BinaryOp::Eq => "==",
                BinaryOp::Ne => "!=",
                BinaryOp::And => "and",
                BinaryOp::Or => "or",
                BinaryOp::Min => return format!("min({}, {})", expr(a, n, x), expr(a, n, y)),
                BinaryOp::Max => return format!("max({}, {})", expr(a, n, x), expr(a, n, y)),
            };
            format!("({} {sym} {})", expr(a, n, x), expr(a, n, y))
        }
        Expr::Math(op, x) => {
            let f = match op {
                MathOp::Exp => "exp",
                MathOp::Exprel => "exprel",
                MathOp::Log => "log",
                MathOp::Sqrt => "sqrt",
                MathOp::Abs => "abs",
                MathOp::Sin => "sin",
                MathOp::Cos => "cos",
                MathOp::Tanh => "tanh",
                MathOp::Floor => "floor",
                MathOp::Ceil => "ceil",
            };
            format!("{f}({})", expr(a, n, x))
        }
        Expr::Select(c, x, y) => format!(
            "select({}, {}, {})",
            expr(a, n, c),
            expr(a, n, x),
            expr(a, n, y)
        ),
        Expr::Random { kind, slot } => match kind {
            RandomKind::Uniform => format!("rand#{slot}()"),
            RandomKind::Normal => format!("randn#{slot}()"),
        },
    }
}

fn dist(d: &Distribution) -> String {
    match d {
        Distribution::Constant(v) => format!("{v:?}"),
        Distribution::Uniform { low, high } => format!("uniform({low:?}, {high:?})"),
        Distribution::Normal { mean, sd } => format!("normal({mean:?}, {sd:?})"),
        Distribution::LogNormal { median, sigma } => {
            format!("lognormal({median:?}, {sigma:?})")
        }
        Distribution::Clipped { inner, low, high } => {
            format!("clip({}, {low:?}, {high:?})", dist(inner))
        }
    }
}

fn connect(c: &Connect) -> String {
    match c {
        Connect::Rule(r) => rule(r),
        Connect::File { path, .. } => format!("from_file({path:?})"),
    }
}

fn rule(r: &Rule) -> String {
    match *r {
        Rule::FixedProb(p) => format!("fixed_prob({p:?})"),
        Rule::FixedInDegree(k) => format!("fixed_in_degree({k})"),
        Rule::FixedOutDegree(k) => format!("fixed_out_degree({k})"),
        Rule::FixedTotalNumber(n) => format!("fixed_total_number({n})"),
        Rule::AllToAll => "all_to_all".into(),
        Rule::OneToOne => "one_to_one".into(),
    }
}

fn odes(
    out: &mut String,
    a: &Arena<Expr>,
    n: &Names,
    odes: &[Ode],
    states: &[String],
) -> fmt::Result {
    for o in odes {
        let s = name(states, o.state, "state");
        writeln!(out, "    ; {}", o.note)?;
        writeln!(out, "    d{s}/dt = {}", expr(a, n, o.rhs))?;
        if let Some(u) = o.update {
            writeln!(out, "    {s} <- {}", expr(a, n, u))?;
        } else {
            writeln!(out, "    {s} <- {}(d{s}/dt)", o.method.name())?;
        }
    }
    Ok(())
}

fn assigns(
    out: &mut String,
    a: &Arena<Expr>,
    n: &Names,
    list: &[Assign],
    indent: &str,
) -> fmt::Result {
    for s in list {
        let op = match s.op {
            AssignOp::Set => "=",
            AssignOp::Add => "+=",
        };
        writeln!(
            out,
            "{indent}{} {op} {}",
            var(n, s.target),
            expr(a, n, s.value)
        )?;
    }
    Ok(())
}

impl fmt::Display for Module {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = String::new();
        let a = &self.exprs;
        let names = |v: &[super::StateVar]| v.iter().map(|s| s.name.clone()).collect::<Vec<_>>();
        let values = |v: &[super::NamedValue]| v.iter().map(|s| s.name.clone()).collect::<Vec<_>>();
        let inputs: Vec<String> = self.inputs.iter().map(|i| i.name.clone()).collect();
        let empty: Vec<String> = Vec::new();
        writeln!(
            out,
            "network {} {{ dt = {:?} s, duration = {:?} s, seed = {} }}",
            self.name, self.dt, self.duration, self.seed
        )?;
        for (k, input) in self.inputs.iter().enumerate() {
            writeln!(
                out,
                "input #{k} {} -> population #{}",
                input.name, input.population
            )?;
        }
        for (k, p) in self.populations.iter().enumerate() {
            let states = names(&p.states);
            let params = values(&p.params);
            let n = Names {
                states: &states,
                currents: &p.currents,
                params: &params,
                syn_states: &empty,
                syn_params: &empty,
                post_states: &empty,
                post_currents: &empty,
                pre_states: &empty,
                inputs: &inputs,
            };
            writeln!(
                out,
                "\npopulation #{k} {} = {}[{}]",
                p.name, p.model, p.size
            )?;
            for q in &p.params {
                writeln!(out, "    param ${} = {:?}", q.name, q.value)?;
            }
            for s in &p.states {
                writeln!(out, "    state {} = {}", s.name, expr(a, &n, s.init))?;
            }
            for c in &p.currents {
                writeln!(out, "    current {c}")?;
            }
            odes(&mut out, a, &n, &p.odes, &states)?;
            if let Some(s) = p.spike {
                writeln!(out, "    spike when {}", expr(a, &n, s))?;
            }
            if !p.reset.is_empty() {
                writeln!(out, "    reset:")?;
                assigns(&mut out, a, &n, &p.reset, "        ")?;
            }
            if let Some(r) = p.refractory {
                let held: Vec<String> = p.held.iter().map(|&h| name(&states, h, "state")).collect();
                writeln!(
                    out,
                    "    refractory {}{} (holds {})",
                    match r {
                        Refractory::Period(_) => "",
                        Refractory::While(_) => "while ",
                    },
                    expr(a, &n, r.expr()),
                    held.join(", ")
                )?;
            }
            for inj in self
                .injections
                .iter()
                .filter(|i| i.population as usize == k)
            {
                writeln!(
                    out,
                    "    inject {} += {}",
                    name(&p.currents, inj.current, "current"),
                    expr(a, &n, inj.value)
                )?;
            }
        }
        for j in &self.projections {
            let (Some(pre), Some(post)) = (
                self.populations.get(j.pre as usize),
                self.populations.get(j.post as usize),
            ) else {
                writeln!(out, "\nprojection {} <bad populations>", j.name)?;
                continue;
            };
            let syn_states = names(&j.synapse.states);
            let syn_params = values(&j.synapse.params);
            let post_states = names(&post.states);
            let pre_states = names(&pre.states);
            let n = Names {
                states: &empty,
                currents: &empty,
                params: &empty,
                syn_states: &syn_states,
                syn_params: &syn_params,
                post_states: &post_states,
                post_currents: &post.currents,
                pre_states: &pre_states,
                inputs: &inputs,
            };
            writeln!(
                out,
                "\nprojection {}: {} -> {}",
                j.name, pre.name, post.name
            )?;
            writeln!(
                out,
                "    connect {}{}",
                connect(&j.connect),
                if j.allow_autapses { " (autapses)" } else { "" }
            )?;
            writeln!(out, "    weight {}", dist(&j.weight))?;
            writeln!(out, "    delay {} s", dist(&j.delay))?;
            let layout = match j.synapse.layout {
                SynapseLayout::AlignPost => "align post",
                SynapseLayout::PerSynapse => "per synapse",
            };
            writeln!(out, "    synapse {} ({layout})", j.synapse.model)?;
            for q in &j.synapse.params {
                writeln!(out, "    param ${} = {:?}", q.name, q.value)?;
            }
            for s in &j.synapse.states {
                writeln!(out, "    state {} = {}", s.name, expr(a, &n, s.init))?;
            }
            odes(&mut out, a, &n, &j.synapse.odes, &syn_states)?;
            if !j.synapse.on_pre.is_empty() {
                writeln!(out, "    on_pre:")?;
                assigns(&mut out, a, &n, &j.synapse.on_pre, "        ")?;
            }
            if !j.synapse.on_post.is_empty() {
                writeln!(out, "    on_post:")?;
                assigns(&mut out, a, &n, &j.synapse.on_post, "        ")?;
            }
            if let Some(o) = &j.output {
                writeln!(
                    out,
                    "    output {}: post.{} += {}",
                    o.model,
                    name(&post.currents, o.current, "current"),
                    expr(a, &n, o.value)
                )?;
            }
        }
        if !self.records.is_empty() {
            writeln!(out)?;
        }
        for r in &self.records {
            let pop = |k: u32| self.populations.get(k as usize);
            match r {
                Record::Spikes { population } => {
                    let name = pop(*population).map_or("?", |p| p.name.as_str());
                    writeln!(out, "record spikes of {name}")?;
                }
                Record::Trace {
                    population,
                    state,
                    neurons,
                    every,
                } => {
                    let p = pop(*population);
                    let state = p
                        .and_then(|p| p.states.get(*state as usize))
                        .map_or("?", |s| s.name.as_str());
                    writeln!(
                        out,
                        "record {}.{state}{}{}",
                        p.map_or("?", |p| p.name.as_str()),
                        neurons
                            .as_ref()
                            .map(|n| format!(" {n:?}"))
                            .unwrap_or_default(),
                        if *every > 1 {
                            format!(" every {every} steps")
                        } else {
                            String::new()
                        }
                    )?;
                }
            }
        }
        f.write_str(&out)
    }
}
