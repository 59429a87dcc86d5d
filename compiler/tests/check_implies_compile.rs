//! Whatever `snnc check` accepts, `snnc compile` accepts (issue 14): random,
//! mostly well-formed models (generated neuron, synapse and output models
//! next to the standard library's, populations with drawn params,
//! projections with every connect rule, drawn weights and delays, stimuli,
//! injections, records, every integration method) go through
//! `pipeline::check_all`. When it reports no error, the same text must
//! lower, validate (as written and with params folded, as `snnc compile
//! --emit clif` and `snnc run` do), generate and compile the JIT's kernels
//! in f32 and f64, and run a few steps on the reference backend and on the
//! JIT, failing at most with a runtime outcome the model's numbers may
//! legitimately lead to (a state that diverges, a drawn delay or weight
//! that cannot be brought within its bound). Nothing may panic.
//!
//! The generator reads its choices from a list of numbers (choice 0 is
//! always the simplest), so proptest shrinks a failure to a short model;
//! the runner's seed is fixed, so CI runs the same cases every time.
//! Counterexamples found so far are plain regression tests at the end.

use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner};
use snnc::pipeline::{check_all, compile_source};
use snnc::run::{Backend, Precision, RunError, RunOptions, Simulator};
use snnc::source::DiskLoader;
use snnc_runtime::array_file::NumericArray;
use snnc_runtime::RuntimeError;
use std::fmt::Write;
use std::path::PathBuf;

/// The generator's source of decisions: a list of numbers, read in order,
/// zeros once it runs out.
struct Choices<'a> {
    data: &'a [u32],
    at: usize,
}

impl Choices<'_> {
    fn below(&mut self, n: usize) -> usize {
        let v = self.data.get(self.at).copied().unwrap_or(0);
        self.at += 1;
        if n == 0 {
            0
        } else {
            v as usize % n
        }
    }

    /// True with probability about `percent` / 100 (false on zeros).
    fn chance(&mut self, percent: usize) -> bool {
        100 - self.below(100) <= percent
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }
}

/// The dimensions the generated expressions use, with the unit written for
/// each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dim {
    Voltage,
    Current,
    Time,
    One,
    Conductance,
    Resistance,
    Rate,
    /// `[w]`: the unit of the weight, in a synapse model (checked before a
    /// projection gives it a unit, so only `w`, `[w]` states and 0 have it).
    Weight,
}

impl Dim {
    fn unit(self) -> &'static str {
        match self {
            Dim::Voltage => "mV",
            Dim::Current => "nA",
            Dim::Time => "ms",
            Dim::One => "1",
            Dim::Conductance => "nS",
            Dim::Resistance => "Mohm",
            Dim::Rate => "Hz",
            Dim::Weight => "[w]",
        }
    }

    /// A typical constant of this dimension.
    fn constant(self, c: &mut Choices) -> String {
        if self == Dim::Weight {
            return "0".to_string();
        }
        let magnitudes: &[&str] = match self {
            Dim::Voltage => &["-65", "-50", "0", "10", "-70", "2.5"],
            Dim::Current => &["0.5", "0", "1.2", "-0.3", "2"],
            Dim::Time => &["10", "5", "1", "20", "0.5"],
            Dim::One => &["0.5", "1", "2", "0", "-1", "0.1"],
            Dim::Conductance => &["10", "1", "6"],
            Dim::Resistance => &["10", "100", "1"],
            Dim::Rate => &["10", "100", "1"],
            Dim::Weight => &[],
        };
        let m = c.pick(magnitudes);
        if self == Dim::One {
            m.to_string()
        } else {
            format!("{m} {}", self.unit())
        }
    }
}

const DIMS: &[Dim] = &[
    Dim::Voltage,
    Dim::Current,
    Dim::Time,
    Dim::One,
    Dim::Conductance,
    Dim::Resistance,
    Dim::Rate,
];

/// Names a code site may read, with their dimensions, and whether it may
/// draw random numbers.
#[derive(Clone, Default)]
struct Site {
    names: Vec<(String, Dim)>,
    draws: bool,
    /// `t` and `dt` may be read (a model body, an injection; not a param's
    /// default or an initial value, where they are drawn rarely).
    time: bool,
}

impl Site {
    fn with(mut self, name: impl Into<String>, dim: Dim) -> Self {
        self.names.push((name.into(), dim));
        self
    }

    fn of(&self, dim: Dim) -> Vec<&str> {
        self.names
            .iter()
            .filter(|(_, d)| *d == dim)
            .map(|(n, _)| n.as_str())
            .collect()
    }
}

/// An expression of dimension `dim` over the names of `site`.
fn expr(c: &mut Choices, site: &Site, dim: Dim, depth: u32) -> String {
    if depth == 0 || c.below(3) == 0 {
        return leaf(c, site, dim);
    }
    let d = depth - 1;
    match c.below(12) {
        0 => format!("({} + {})", expr(c, site, dim, d), expr(c, site, dim, d)),
        1 => format!("({} - {})", expr(c, site, dim, d), expr(c, site, dim, d)),
        2 => format!("{} * {}", expr(c, site, Dim::One, d), expr(c, site, dim, d)),
        3 => format!(
            "{} / (1 + abs({}))",
            expr(c, site, dim, d),
            expr(c, site, Dim::One, d)
        ),
        4 => format!(
            "{}({}, {})",
            c.pick(&["min", "max"]),
            expr(c, site, dim, d),
            expr(c, site, dim, d)
        ),
        5 => format!(
            "if {} {{ {} }} else {{ {} }}",
            cond(c, site, d),
            expr(c, site, dim, d),
            expr(c, site, dim, d)
        ),
        6 => format!(
            "clip({}, {}, {})",
            expr(c, site, dim, d),
            dim.constant(c),
            dim.constant(c)
        ),
        7 => format!("-{}", paren(expr(c, site, dim, d))),
        8 => format!("abs({})", expr(c, site, dim, d)),
        9 => format!(
            "sqrt(abs({} * {}))",
            expr(c, site, dim, d),
            expr(c, site, dim, d)
        ),
        10 => product(c, site, dim, d),
        _ if dim == Dim::One => dimensionless(c, site, d),
        _ => format!(
            "{} * {}",
            paren(expr(c, site, Dim::One, d)),
            dim.unit_value()
        ),
    }
}

impl Dim {
    /// Bounds lo < hi of this dimension, for `clip`.
    fn bounds(self) -> (&'static str, &'static str) {
        match self {
            Dim::Voltage => ("-70 mV", "10 mV"),
            Dim::Current => ("-0.3 nA", "2 nA"),
            Dim::Time => ("0.1 ms", "5 ms"),
            Dim::One => ("-1", "1"),
            Dim::Conductance => ("0 nS", "10 nS"),
            Dim::Resistance => ("1 Mohm", "100 Mohm"),
            Dim::Rate => ("1 Hz", "100 Hz"),
            Dim::Weight => ("0", "0"),
        }
    }

    /// The unit as a value (`mV` in an expression is one millivolt).
    fn unit_value(self) -> &'static str {
        match self {
            Dim::One => "1",
            Dim::Weight => "w",
            other => other.unit(),
        }
    }
}

fn paren(s: String) -> String {
    format!("({s})")
}

/// `dim` as a product or quotient of other dimensions.
fn product(c: &mut Choices, site: &Site, dim: Dim, d: u32) -> String {
    let (a, op, b) = match (dim, c.below(2)) {
        (Dim::Voltage, 0) => (Dim::Resistance, "*", Dim::Current),
        (Dim::Voltage, _) => (Dim::Current, "/", Dim::Conductance),
        (Dim::Current, 0) => (Dim::Conductance, "*", Dim::Voltage),
        (Dim::Current, _) => (Dim::Voltage, "/", Dim::Resistance),
        (Dim::Time, _) => (Dim::One, "/", Dim::Rate),
        (Dim::Rate, _) => (Dim::One, "/", Dim::Time),
        (Dim::Conductance, _) => (Dim::Current, "/", Dim::Voltage),
        (Dim::Resistance, _) => (Dim::Voltage, "/", Dim::Current),
        (Dim::One, 0) => (Dim::Rate, "*", Dim::Time),
        (Dim::One, _) => (Dim::Voltage, "/", Dim::Voltage),
        (Dim::Weight, _) => (Dim::One, "*", Dim::Weight),
    };
    format!(
        "{} {op} {}",
        paren(expr(c, site, a, d)),
        paren(expr(c, site, b, d))
    )
}

/// A dimensionless expression built with the math functions.
fn dimensionless(c: &mut Choices, site: &Site, d: u32) -> String {
    let x = expr(c, site, Dim::One, d);
    match c.below(12) {
        0 => format!("exp(-abs({x}))"),
        1 => format!("exprel({x})"),
        2 => format!("log(1 + abs({x}))"),
        3 => format!("tanh({x})"),
        4 => format!("pow({x}, 2)"),
        5 => format!("({x})^3"),
        6 => format!("sin({x})"),
        7 => format!("expm1(-abs({x}))"),
        8 => format!("{}({x})", c.pick(&["floor", "ceil", "sign", "cos"])),
        9 => format!("{} / mV", paren(expr(c, site, Dim::Voltage, d))),
        10 if c.chance(50) => format!("log10(2 + abs({x}))"),
        10 => format!("t / {}", Dim::Time.constant(c)),
        _ => format!("dt / {}", Dim::Time.constant(c)),
    }
}

fn leaf(c: &mut Choices, site: &Site, dim: Dim) -> String {
    let names = site.of(dim);
    match c.below(4) {
        0 | 1 if !names.is_empty() => names[c.below(names.len())].to_string(),
        2 if dim == Dim::One && site.draws => {
            c.pick(&["rand()", "randn()", "uniform(0, 1)"]).to_string()
        }
        2 if dim == Dim::Time && (site.time || c.chance(5)) => c.pick(&["dt", "t"]).to_string(),
        _ => dim.constant(c),
    }
}

/// A boolean expression.
fn cond(c: &mut Choices, site: &Site, d: u32) -> String {
    let dim = c.pick(DIMS);
    let op = c.pick(&["<", "<=", ">", ">=", "==", "!="]);
    let base = format!("{} {op} {}", expr(c, site, dim, d), expr(c, site, dim, d));
    match c.below(6) {
        1 if d > 0 => format!("({base}) and ({})", cond(c, site, d - 1)),
        2 if d > 0 => format!("({base}) or ({})", cond(c, site, d - 1)),
        3 => format!("not ({base})"),
        _ => base,
    }
}

/// One generated neuron model: its text and what a synapse may read of it.
struct NeuronModel {
    name: String,
    text: String,
    states: Vec<(String, Dim)>,
    params: Vec<(String, Dim)>,
}

fn neuron(c: &mut Choices, name: &str) -> NeuronModel {
    let mut text = format!("neuron {name} {{\n");
    let mut site = Site::default();
    let mut params = vec![
        ("V_th".to_string(), Dim::Voltage, Dim::Voltage.constant(c)),
        ("tau".to_string(), Dim::Time, Dim::Time.constant(c)),
        (
            "R".to_string(),
            Dim::Resistance,
            Dim::Resistance.constant(c),
        ),
        (
            "t_ref".to_string(),
            Dim::Time,
            c.pick(&["0 ms", "1 ms", "0.2 ms"]).to_string(),
        ),
    ];
    for k in 0..c.below(3) {
        let dim = c.pick(DIMS);
        let mut sofar = params
            .iter()
            .fold(Site::default(), |s, (n, d, _)| s.with(n.clone(), *d));
        sofar.draws = c.chance(5);
        params.push((format!("p{k}"), dim, expr(c, &sofar, dim, 1)));
    }
    for (n, d, v) in &params {
        if n.starts_with('p') && c.chance(10) {
            // No default: a population must set it.
            let _ = writeln!(text, "    param {n}: {}", d.unit());
        } else {
            let _ = writeln!(text, "    param {n}: {} = {v}", d.unit());
        }
        site = site.with(n.clone(), *d);
    }
    let init_site = Site {
        draws: c.chance(15),
        ..site.clone()
    };
    let mut states = vec![("V".to_string(), Dim::Voltage)];
    for k in 0..c.below(3) {
        states.push((format!("s{k}"), c.pick(DIMS)));
    }
    for (n, d) in &states {
        let init = if c.chance(50) {
            d.constant(c)
        } else {
            expr(c, &init_site, *d, 1)
        };
        let _ = writeln!(text, "    state {n}: {} = {init}", d.unit());
    }
    for (n, d) in &states {
        site = site.with(n.clone(), *d);
    }
    text.push_str("    current I: nA\n");
    site = site.with("I", Dim::Current);
    site.draws = c.chance(20);
    site.time = true;
    for k in 0..c.below(3) {
        let dim = c.pick(DIMS);
        let value = expr(c, &site, dim, 2);
        if c.chance(50) {
            let _ = writeln!(text, "    let l{k}: {} = {value}", dim.unit());
        } else {
            let _ = writeln!(text, "    let l{k} = {value}");
        }
        site = site.with(format!("l{k}"), dim);
    }
    let depth = if c.chance(10) { 5 } else { 2 };
    let drive = if c.chance(70) {
        format!(
            "(-65 mV - V + R * I + {}) / tau",
            expr(c, &site, Dim::Voltage, depth)
        )
    } else {
        format!("{} / tau", expr(c, &site, Dim::Voltage, depth + 1))
    };
    let _ = writeln!(text, "    dV/dt = {drive}");
    for (n, d) in states.iter().skip(1) {
        match c.below(3) {
            0 => {}
            1 => {
                let _ = writeln!(
                    text,
                    "    d{n}/dt = ({} - {n}) / tau",
                    expr(c, &site, *d, 2)
                );
            }
            _ => {
                let _ = writeln!(text, "    d{n}/dt = {} / tau", expr(c, &site, *d, 2));
            }
        }
    }
    let spike = if c.chance(70) {
        "V >= V_th".to_string()
    } else {
        cond(c, &site, 2)
    };
    let _ = writeln!(text, "    spike when {spike}");
    if c.chance(85) {
        let _ = writeln!(text, "    reset {{\n{}    }}", block(c, &site, &states, 2));
    }
    if c.chance(70) {
        text.push_str("    refractory t_ref\n");
    } else if c.chance(10) {
        let _ = writeln!(text, "    refractory {}", expr(c, &site, Dim::Time, 2));
    }
    if c.chance(40) {
        let m = c.pick(&["euler", "rk2", "rk4", "exact", "exp_euler"]);
        let _ = writeln!(text, "    integrate {m}");
    }
    text.push_str("}\n");
    NeuronModel {
        name: name.to_string(),
        text,
        states,
        params: params.into_iter().map(|(n, d, _)| (n, d)).collect(),
    }
}

/// Statements assigning `targets` (name, dimension), reading `site`.
fn block(c: &mut Choices, site: &Site, targets: &[(String, Dim)], depth: u32) -> String {
    let mut out = String::new();
    let indent = "    ".repeat(4 - depth as usize);
    for _ in 0..1 + c.below(3) {
        let (n, d) = &targets[c.below(targets.len())];
        match c.below(8) {
            7 if depth > 0 => {
                let _ = write!(
                    out,
                    "{indent}if {} {{\n{}{indent}}}",
                    cond(c, site, 1),
                    block(c, site, targets, depth - 1)
                );
                if c.chance(50) {
                    let _ = write!(
                        out,
                        " else {{\n{}{indent}}}",
                        block(c, site, targets, depth - 1)
                    );
                }
                out.push('\n');
            }
            1 => {
                let op = c.pick(&["*=", "/="]);
                let _ = writeln!(out, "{indent}{n} {op} {}", expr(c, site, Dim::One, 1));
            }
            2 | 3 => {
                let op = c.pick(&["+=", "-="]);
                let _ = writeln!(out, "{indent}{n} {op} {}", expr(c, site, *d, 1));
            }
            _ => {
                let _ = writeln!(out, "{indent}{n} = {}", expr(c, site, *d, 1));
            }
        }
    }
    out
}

/// What a projection's weight carries, and so which output fits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum WeightKind {
    /// A current (`I += g`).
    Current,
    /// A conductance (`I += g * (E - post.V)`).
    Conductance,
    /// A voltage written onto `post.V` by the synapse itself.
    Voltage,
}

impl WeightKind {
    fn dim(self) -> Dim {
        match self {
            WeightKind::Current => Dim::Current,
            WeightKind::Conductance => Dim::Conductance,
            WeightKind::Voltage => Dim::Voltage,
        }
    }
}

/// What one side of a projection is: a generated model (with what it
/// declares), a standard model, or a spike-train stimulus.
#[derive(Clone)]
struct Side {
    pop: String,
    /// Its model's name (projections from or onto several populations
    /// group populations of one model).
    model: String,
    size: u32,
    states: Vec<(String, Dim)>,
    params: Vec<(String, Dim)>,
    /// Params drawn per neuron by an override (stored as states).
    drawn: Vec<String>,
}

/// A synapse model for one projection and its output model, if any.
fn synapse_and_output(
    c: &mut Choices,
    k: usize,
    kind: WeightKind,
    pre: &Side,
    post: &Side,
) -> (String, Option<String>) {
    let w = Dim::Weight;
    let mut site = Site::default().with("tau_s", Dim::Time).with("w", w);
    for (n, d) in post.states.iter().chain(&post.params) {
        site = site.with(format!("post.{n}"), *d);
    }
    if c.chance(5) {
        // A current of the neuron (summed afresh every step).
        site = site.with("post.I", Dim::Current);
    }
    // `pre.X` of a param that is the same for every neuron works; of a state
    // or a drawn param it is refused by this version (E0401), so rarely.
    for (n, d) in &pre.params {
        if !pre.drawn.contains(n) || c.chance(10) {
            site = site.with(format!("pre.{n}"), *d);
        }
    }
    if c.chance(8) {
        for (n, d) in &pre.states {
            site = site.with(format!("pre.{n}"), *d);
        }
    }
    let mut text = format!(
        "synapse S{k} {{\n    param tau_s: ms = {}\n",
        Dim::Time.constant(c)
    );
    let mut states = vec![("g".to_string(), w)];
    if c.chance(40) {
        states.push(("h".to_string(), w));
    }
    if c.chance(20) {
        states.push(("z".to_string(), Dim::One));
    }
    for (n, d) in &states {
        let init = d.constant(c);
        let _ = writeln!(text, "    state {n}: {} = {init}", d.unit());
    }
    for (n, d) in &states {
        site = site.with(n.clone(), *d);
    }
    site.draws = c.chance(10);
    site.time = true;
    for k in 0..c.below(2) {
        let dim = c.pick(&[Dim::One, Dim::Weight, Dim::Voltage]);
        let _ = writeln!(text, "    let sl{k} = {}", expr(c, &site, dim, 2));
        site = site.with(format!("sl{k}"), dim);
    }
    let h = if states.iter().any(|(n, _)| n == "h") {
        "h"
    } else {
        "0 * g"
    };
    let extra = if c.chance(25) {
        format!(" * {}", paren(expr(c, &site, Dim::One, 2)))
    } else {
        String::new()
    };
    let _ = writeln!(text, "    dg/dt = ({h} - g){extra} / tau_s");
    if states.iter().any(|(n, _)| n == "h") {
        text.push_str("    dh/dt = -h / tau_s\n");
    }
    if states.iter().any(|(n, _)| n == "z") && c.chance(50) {
        let _ = writeln!(text, "    dz/dt = {} / tau_s", expr(c, &site, Dim::One, 1));
    }
    if c.chance(60) {
        let _ = writeln!(
            text,
            "    integrate {}",
            c.pick(&["exact", "euler", "rk2", "rk4", "exp_euler"])
        );
    }
    let mut targets = states.clone();
    if kind == WeightKind::Voltage || c.chance(15) {
        targets.push(("post.V".to_string(), Dim::Voltage));
    }
    if c.chance(10) {
        // Any state of the target neuron; rarely a param (refused).
        for (n, d) in post.states.iter().skip(1) {
            targets.push((format!("post.{n}"), *d));
        }
        if c.chance(20) {
            for (n, d) in &post.params {
                targets.push((format!("post.{n}"), *d));
            }
        }
    }
    let first = if kind == WeightKind::Voltage {
        "post.V += w".to_string()
    } else {
        format!("g += w * {}", paren(expr(c, &site, Dim::One, 1)))
    };
    let _ = writeln!(
        text,
        "    on_pre {{\n        {first}\n{}    }}\n}}",
        if c.chance(50) {
            block(c, &site, &targets, 2)
        } else {
            String::new()
        }
    );
    let output = match kind {
        WeightKind::Voltage => None,
        WeightKind::Current => Some(current_output(c, k, post)),
        WeightKind::Conductance => Some(format!(
            "output O{k} {{\n    param E: mV = {}\n    I += g * (E - post.V)\n}}",
            Dim::Voltage.constant(c)
        )),
    };
    (text, output)
}

/// `I += g`, perhaps scaled by what the output reads of the neuron, through
/// a `let`, with a param.
fn current_output(c: &mut Choices, k: usize, post: &Side) -> String {
    let mut text = format!("output O{k} {{\n");
    let mut site = post_site(post);
    if c.chance(30) {
        let _ = writeln!(text, "    param q: 1 = {}", Dim::One.constant(c));
        site = site.with("q", Dim::One);
    }
    let scale = if c.chance(40) {
        format!(" * {}", paren(expr(c, &site, Dim::One, 2)))
    } else {
        String::new()
    };
    if c.chance(30) {
        let _ = writeln!(
            text,
            "    let contribution = g{scale}\n    I += contribution"
        );
    } else {
        let op = c.pick(&["+=", "-="]);
        let _ = writeln!(text, "    I {op} g{scale}");
    }
    text.push('}');
    text
}

fn post_site(post: &Side) -> Site {
    let mut site = Site::default();
    for (n, d) in post.states.iter().chain(&post.params) {
        site = site.with(format!("post.{n}"), *d);
    }
    site
}

/// A standard-library neuron and what it declares.
struct StdNeuron {
    name: &'static str,
    states: &'static [(&'static str, Dim)],
    params: &'static [(&'static str, Dim)],
}

const STD_NEURONS: &[StdNeuron] = &[
    StdNeuron {
        name: "LIF",
        states: &[("V", Dim::Voltage)],
        params: &[
            ("V_th", Dim::Voltage),
            ("tau", Dim::Time),
            ("R", Dim::Resistance),
        ],
    },
    StdNeuron {
        name: "AdEx",
        states: &[("V", Dim::Voltage), ("w_ad", Dim::Current)],
        params: &[("V_T", Dim::Voltage), ("g_L", Dim::Conductance)],
    },
    StdNeuron {
        name: "Izhikevich",
        states: &[("V", Dim::Voltage), ("U", Dim::Voltage)],
        params: &[("c", Dim::Voltage), ("R", Dim::Resistance)],
    },
    StdNeuron {
        name: "HH",
        states: &[("V", Dim::Voltage), ("m", Dim::One), ("h", Dim::One)],
        params: &[("E_L", Dim::Voltage), ("t_ref", Dim::Time)],
    },
    StdNeuron {
        name: "ExpIF",
        states: &[("V", Dim::Voltage)],
        params: &[("V_T", Dim::Voltage), ("delta_T", Dim::Voltage)],
    },
    StdNeuron {
        name: "QIF",
        states: &[("V", Dim::Voltage)],
        params: &[("V_c", Dim::Voltage), ("V_cut", Dim::Voltage)],
    },
];

/// A generated model file: its text and the inputs a run binds.
#[derive(Debug)]
struct Case {
    text: String,
    /// Spike-train stimuli (name, size) and current stimuli (name, size).
    spike_inputs: Vec<(String, u32)>,
    current_inputs: Vec<(String, u32)>,
    dt: f64,
    /// Networks besides `random` (compiled, not run).
    others: Vec<&'static str>,
}

fn model(c: &mut Choices) -> Case {
    let mut text = String::from("import std.{LIF, AdEx, Izhikevich, HH, ExpIF, QIF, PoissonSource, Expon, CUBA, COBA, Delta}\n\n");
    let neurons: Vec<NeuronModel> = (0..1 + c.below(2))
        .map(|k| neuron(c, &format!("N{k}")))
        .collect();
    for n in &neurons {
        text.push_str(&n.text);
        text.push('\n');
    }
    let (dt_text, dt) = c.pick(&[
        ("0.1 ms", 1e-4),
        ("0.05 ms", 5e-5),
        ("1 ms", 1e-3),
        ("0.25 ms", 2.5e-4),
    ]);
    let mut net = format!(
        "network random {{\n    dt = {dt_text}\n    duration = {} ms\n    seed = {}\n",
        c.pick(&["1", "2", "0", "0.15", "1", "2"]),
        // Seeds at and past the edges of what a seed can be.
        if c.chance(10) {
            c.pick(&[
                "18446744073709551615",
                "18446744073709551616",
                "2.5",
                "1e30",
                "-1",
            ])
        } else {
            c.pick(&["0", "3", "42"])
        }
    );
    // Populations that can be a projection's target (they have V and I),
    // and sources (those plus spike sources).
    let mut targets: Vec<Side> = Vec::new();
    let mut sources: Vec<Side> = Vec::new();
    let mut spike_inputs = Vec::new();
    let mut current_inputs = Vec::new();
    for k in 0..1 + c.below(3) {
        let pop = format!("P{k}");
        let size = c.pick(&[1u32, 3, 4, 10]);
        let mut side = Side {
            pop: pop.clone(),
            model: String::new(),
            size,
            states: Vec::new(),
            params: Vec::new(),
            drawn: Vec::new(),
        };
        let model_name;
        if c.chance(60) {
            let n = &neurons[c.below(neurons.len())];
            model_name = n.name.clone();
            side.model.clone_from(&model_name);
            side.states = n.states.clone();
            side.params = n.params.clone();
        } else {
            let s = &STD_NEURONS[c.below(STD_NEURONS.len())];
            model_name = s.name.to_string();
            side.model.clone_from(&model_name);
            side.states = s.states.iter().map(|(n, d)| (n.to_string(), *d)).collect();
            side.params = s.params.iter().map(|(n, d)| (n.to_string(), *d)).collect();
        }
        let mut overrides = Vec::new();
        for (n, d) in side.params.clone() {
            match c.below(6) {
                0 => overrides.push(format!("{n} = {}", d.constant(c))),
                1 => {
                    side.drawn.push(n.clone());
                    let (a, b) = (d.constant(c), d.constant(c));
                    overrides.push(format!(
                        "{n} = {}({a}, {b})",
                        c.pick(&["uniform", "normal"])
                    ));
                }
                _ => {}
            }
        }
        if c.chance(50) {
            overrides.push("V ~ uniform(-65 mV, -50 mV)".to_string());
        }
        let _ = write!(net, "    population {pop} = {model_name}[{size}]");
        if !overrides.is_empty() {
            let _ = write!(net, " {{ {} }}", overrides.join(", "));
        }
        net.push('\n');
        targets.push(side.clone());
        sources.push(side);
    }
    if c.chance(30) {
        let size = c.pick(&[2u32, 5]);
        // The standard Poisson source, or a generated source without states.
        let model = if c.chance(50) {
            "PoissonSource"
        } else {
            let site = Site::default().with("rate", Dim::Rate);
            let _ = writeln!(
                text,
                "neuron Source {{\n    param rate: Hz = 10 Hz\n    spike when rand() < rate * dt or {}\n}}\n",
                cond(c, &site, 1)
            );
            "Source"
        };
        let _ = writeln!(
            net,
            "    population Src = {model}[{size}] {{ rate = {} }}",
            c.pick(&["50 Hz", "200 Hz", "1 kHz"])
        );
        sources.push(Side {
            pop: "Src".into(),
            model: model.into(),
            size,
            states: Vec::new(),
            params: vec![("rate".into(), Dim::Rate)],
            drawn: Vec::new(),
        });
    }
    if c.chance(25) {
        let size = c.pick(&[1u32, 3]);
        let _ = writeln!(net, "    stimulus Trains: spikes[{size}] from input");
        spike_inputs.push(("Trains".to_string(), size));
        sources.push(Side {
            pop: "Trains".into(),
            model: "spikes".into(),
            size,
            states: Vec::new(),
            params: Vec::new(),
            drawn: Vec::new(),
        });
    }
    let mut models = String::new();
    for k in 0..c.below(4) {
        let pre = sources[c.below(sources.len())].clone();
        let post = targets[c.below(targets.len())].clone();
        let kind = c.pick(&[
            WeightKind::Current,
            WeightKind::Conductance,
            WeightKind::Voltage,
        ]);
        let std_synapse = c.chance(25);
        let (synapse, output) = if std_synapse {
            match kind {
                WeightKind::Current => ("Expon(tau = 2 ms)".to_string(), Some("CUBA".to_string())),
                WeightKind::Conductance => {
                    ("Expon".to_string(), Some("COBA(E = -80 mV)".to_string()))
                }
                WeightKind::Voltage => ("Delta".to_string(), None),
            }
        } else {
            let (s, o) = synapse_and_output(c, k, kind, &pre, &post);
            models.push_str(&s);
            models.push('\n');
            let args = match c.below(5) {
                1 => format!("(tau_s = {})", Dim::Time.constant(c)),
                3 if c.chance(30) => format!("(tau_s = {})", drawn(c, Dim::Time)),
                2 => format!("(g = {})", drawn(c, kind.dim())),
                _ => String::new(),
            };
            let out = o.map(|o| {
                models.push_str(&o);
                models.push('\n');
                if kind == WeightKind::Conductance && c.chance(40) {
                    let e = if c.chance(15) {
                        drawn(c, Dim::Voltage)
                    } else {
                        Dim::Voltage.constant(c)
                    };
                    format!("O{k}(E = {e})")
                } else {
                    format!("O{k}")
                }
            });
            (format!("S{k}{args}"), out)
        };
        let _ = writeln!(
            net,
            "    projection {} -> {} {{",
            same_model(c, &pre, &sources),
            same_model(c, &post, &targets)
        );
        let _ = writeln!(net, "        connect {}", connect(c, &pre, &post));
        let _ = writeln!(net, "        weight {}", drawn(c, kind.dim()));
        if c.chance(60) {
            let _ = writeln!(net, "        delay {}", drawn(c, Dim::Time));
        }
        let _ = writeln!(net, "        synapse {synapse}");
        if let Some(o) = output {
            let _ = writeln!(net, "        output {o}");
        }
        net.push_str("    }\n");
    }
    if c.chance(25) {
        let t = &targets[c.below(targets.len())];
        let _ = writeln!(net, "    stimulus drive: nA[{}] from input", t.pop);
        let _ = writeln!(net, "    {}.I += drive", t.pop);
        current_inputs.push(("drive".to_string(), t.size));
    }
    for _ in 0..c.below(3) {
        let t = &targets[c.below(targets.len())];
        let site = Site {
            draws: true,
            time: true,
            ..Site::default()
        };
        let op = c.pick(&["+=", "+=", "-=", "=", "*=", "/="]);
        let dim = if matches!(op, "*=" | "/=") {
            Dim::One
        } else {
            Dim::Current
        };
        let _ = writeln!(net, "    {}.I {op} {}", t.pop, expr(c, &site, dim, 2));
    }
    let all: Vec<&str> = sources.iter().map(|s| s.pop.as_str()).collect();
    let _ = writeln!(net, "    record spikes of {}", all.join(", "));
    if c.chance(50) {
        let t = &targets[c.below(targets.len())];
        let mut recordable: Vec<&str> = t.states.iter().map(|(n, _)| n.as_str()).collect();
        recordable.extend(t.drawn.iter().map(String::as_str));
        if c.chance(10) {
            // A param the same for every neuron: not a state.
            recordable.extend(t.params.iter().map(|(n, _)| n.as_str()));
        }
        let n = recordable[c.below(recordable.len())];
        // Mostly a range inside the population, sometimes one past it,
        // empty or reversed; mostly every step, sometimes a period that is
        // no whole number of steps.
        let (from, to) = if c.chance(10) {
            c.pick(&[(1, t.size + 1), (2, 2), (3, 1)])
        } else {
            c.pick(&[(0, 1), (0, t.size), (t.size - 1, t.size)])
        };
        let every = if c.chance(10) {
            c.pick(&["0.15 ms", "0 ms"])
        } else {
            c.pick(&[dt_text, "1 ms"])
        };
        let _ = writeln!(
            net,
            "    record {n} of {}[{from}:{to}] every {every}",
            t.pop
        );
    }
    net.push_str("}\n");
    text.push_str(&models);
    text.push_str(&net);
    let mut others = Vec::new();
    if c.chance(10) {
        // A second network of the same models: `check` lowers both.
        let n = &neurons[c.below(neurons.len())];
        let site = Site {
            draws: true,
            time: true,
            ..Site::default()
        };
        let _ = writeln!(
            text,
            "network other {{\n    dt = {}\n    population Q = {}[2]\n    Q.I += {}\n    record spikes of Q\n}}",
            c.pick(&["0.1 ms", "0.5 ms"]),
            n.name,
            expr(c, &site, Dim::Current, 2)
        );
        others.push("other");
    }
    Case {
        text,
        spike_inputs,
        current_inputs,
        dt,
        others,
    }
}

fn connect(c: &mut Choices, pre: &Side, post: &Side) -> String {
    match c.below(7) {
        0 => format!("fixed_prob({})", c.pick(&["0.5", "1", "0", "0.1"])),
        1 => "one_to_one".to_string(),
        2 => format!("all_to_all(autapses = {})", c.pick(&["true", "false"])),
        3 => format!("fixed_total_number({})", c.pick(&[0u32, 1, 7])),
        4 => format!(
            "fixed_in_degree({}{})",
            c.below(pre.size as usize + 1),
            autapses(c)
        ),
        5 => format!(
            "fixed_out_degree({}{})",
            c.below(post.size as usize + 1),
            autapses(c)
        ),
        _ => format!(
            "fixed_total_number({}, autapses = false)",
            c.pick(&[1u32, 5])
        ),
    }
}

/// `side`'s population, sometimes with another of the same model (a
/// projection from or onto several populations).
fn same_model(c: &mut Choices, side: &Side, all: &[Side]) -> String {
    let others: Vec<&Side> = all
        .iter()
        .filter(|o| o.model == side.model && o.pop != side.pop)
        .collect();
    if others.is_empty() || !c.chance(40) {
        return side.pop.clone();
    }
    format!("{}, {}", side.pop, others[c.below(others.len())].pop)
}

/// Sometimes `, autapses = false` (or `true`).
fn autapses(c: &mut Choices) -> &'static str {
    c.pick(&["", "", ", autapses = false", ", autapses = true"])
}

/// A weight or delay: a constant or a draw.
fn drawn(c: &mut Choices, dim: Dim) -> String {
    let (a, b) = (dim.constant(c), dim.constant(c));
    match c.below(6) {
        0 => format!("uniform({a}, {b})"),
        1 => format!("normal({a}, {b})"),
        2 => format!("lognormal({a}, {})", c.pick(&["0.1", "0.5"])),
        3 => {
            // Mostly lo ≤ hi (lo > hi is refused).
            let (lo, hi) = dim.bounds();
            if c.chance(10) {
                format!("clip(normal({a}, {b}), {hi}, {lo})")
            } else {
                format!("clip(normal({a}, {b}), {lo}, {hi})")
            }
        }
        _ => a,
    }
}

/// Ways a run of an accepted model may end other than with success: what
/// the numbers of a random model can lead to, not a compiler's refusal.
fn legitimate(e: &RunError) -> bool {
    matches!(
        e,
        RunError::Runtime(
            RuntimeError::Diverged(_)
                | RuntimeError::RedrawLimit { .. }
                | RuntimeError::BadDelay { .. }
        ) | RunError::Input(snnc::run::checks::InputError::PoissonRateTooHigh { .. })
    )
}

fn inputs(case: &Case) -> Vec<(String, NumericArray)> {
    let mut out = Vec::new();
    for (name, size) in &case.spike_inputs {
        // One spike per source neuron, at steps 0, 1, 2, …
        let mut data = Vec::new();
        for k in 0..*size {
            data.extend([f64::from(k), f64::from(k) * case.dt]);
        }
        out.push((
            name.clone(),
            NumericArray {
                shape: vec![u64::from(*size), 2],
                data,
            },
        ));
    }
    for (name, size) in &case.current_inputs {
        out.push((
            name.clone(),
            NumericArray {
                shape: vec![u64::from(*size)],
                data: vec![0.5; *size as usize],
            },
        ));
    }
    out
}

/// How a case ended: refused by check, or compiled and run.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    /// Check refused it; the code of its first error.
    Refused(&'static str),
    /// Compiled; `ran`: both short runs ended without an error.
    Compiled { ran: bool },
}

/// The property for one model text: if check accepts it, compile accepts it
/// (lower, validate, JIT in both precisions) and a short run fails at most
/// legitimately. `Err` describes a counterexample.
fn check_then_compile(case: &Case) -> Result<Outcome, String> {
    let name = "random.snn";
    let checked = check_all(name, &case.text, &DiskLoader);
    if let Some(first) = checked.diagnostics.iter().find(|d| d.is_error()) {
        return Ok(Outcome::Refused(first.code));
    }
    for other in &case.others {
        compile(&case.text, other)?;
    }
    let module = compile(&case.text, "random")?;
    let inputs = inputs(case);
    let mut sim = Simulator::new(module, PathBuf::from("."));
    let mut ran = true;
    for (backend, precision, batch) in [
        (Backend::Reference, Precision::F64, 1),
        (Backend::Cranelift, Precision::F32, 2),
    ] {
        let mut opts = RunOptions::new(PathBuf::from("unused"));
        opts.duration = Some(case.dt * 3.0);
        opts.memory_limit = Some(1 << 28);
        opts.backend = backend;
        opts.precision = precision;
        opts.batch = batch;
        match sim.run(&opts, &inputs, None) {
            Ok(_) => {}
            Err(e) if legitimate(&e) => ran = false,
            Err(e) => return Err(format!("{backend:?} run failed: {e}")),
        }
    }
    Ok(Outcome::Compiled { ran })
}

/// What `snnc compile --network NAME` does, and the JIT's code generation
/// in both precisions: the module, or why it failed.
fn compile(text: &str, network: &str) -> Result<snnc::ir::Module, String> {
    let compiled = compile_source("random.snn", text, &DiskLoader, Some(network));
    let Some(module) = compiled.module else {
        let codes: Vec<String> = compiled
            .diagnostics
            .iter()
            .map(|d| format!("{}: {}", d.code, d.message))
            .collect();
        return Err(format!(
            "check accepted, compile refused {network}: {codes:?}"
        ));
    };
    snnc::ir::validate(&module).map_err(|e| format!("invalid module: {e:?}"))?;
    let folded = snnc::ir::fold::fold_params(&module, &|_, _| false);
    let valid = snnc::ir::validate(&folded).map_err(|e| format!("invalid folded module: {e:?}"))?;
    for f32 in [true, false] {
        snnc::back::cranelift::emit_clif(valid, f32)
            .map_err(|e| format!("--emit clif (f32 {f32}) failed: {e}"))?;
        snnc::back::cranelift::compile_seconds(valid, f32)
            .map_err(|e| format!("JIT compile (f32 {f32}) failed: {e}"))?;
    }
    Ok(module)
}

fn case_from(choices: &[u32]) -> Case {
    model(&mut Choices {
        data: choices,
        at: 0,
    })
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Cases per run: enough to reach every generator branch, few enough for
/// about a minute in a debug build.
const CASES: u32 = 600;

#[test]
fn whatever_check_accepts_compiles() {
    // `SNNC_CHECKPROP_CASES` and `SNNC_CHECKPROP_SEED` explore further.
    let cases = env_or("SNNC_CHECKPROP_CASES", CASES);
    let seed = env_or("SNNC_CHECKPROP_SEED", 14u8);
    let config = Config {
        cases,
        failure_persistence: None,
        max_shrink_iters: 300,
        ..Config::default()
    };
    let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &[seed; 32]);
    let mut runner = TestRunner::new_with_rng(config, rng);
    let accepted = std::cell::Cell::new(0u32);
    let ran = std::cell::Cell::new(0u32);
    let refusals = std::cell::RefCell::new(std::collections::BTreeMap::<&str, u32>::new());
    let result = runner.run(&prop::collection::vec(any::<u32>(), 0..600), |choices| {
        let case = case_from(&choices);
        let outcome = std::panic::catch_unwind(|| check_then_compile(&case))
            .map_err(|_| TestCaseError::fail(format!("panicked on\n{}", case.text)))?;
        match outcome {
            Ok(Outcome::Compiled { ran: both }) => {
                accepted.set(accepted.get() + 1);
                ran.set(ran.get() + u32::from(both));
                Ok(())
            }
            Ok(Outcome::Refused(code)) => {
                *refusals.borrow_mut().entry(code).or_default() += 1;
                Ok(())
            }
            Err(why) => Err(TestCaseError::fail(format!(
                "{why}\n--- model ---\n{}",
                case.text
            ))),
        }
    });
    match result {
        Ok(()) => {}
        Err(proptest::test_runner::TestError::Fail(why, _)) => {
            panic!("smallest failing model: {why}")
        }
        Err(e) => panic!("{e}"),
    }
    println!(
        "{} of {cases} random models passed check and compiled ({} ran 3 steps without a runtime error); refused by check: {:?}",
        accepted.get(),
        ran.get(),
        refusals.borrow()
    );
    assert!(
        accepted.get() >= cases / 2,
        "the generator should mostly make models check accepts: {} of {cases}",
        accepted.get()
    );
    assert!(
        ran.get() >= accepted.get() / 2,
        "most accepted models should run: {} of {}",
        ran.get(),
        accepted.get()
    );
}

// ---------------------------------------------------------------- found cases
// Models the property test found that check accepted and a run refused; each
// is now refused by check, with its code, at the place named.

/// The first error `check_all` reports for `text`: its code and the source
/// text its primary label points at.
fn first_error(text: &str) -> Option<(&'static str, String)> {
    let checked = check_all("found.snn", text, &DiskLoader);
    let d = checked.diagnostics.iter().find(|d| d.is_error())?;
    let label = d.labels.iter().find(|l| l.primary)?;
    let at = label.span.start as usize..label.span.end as usize;
    Some((d.code, text[at].to_string()))
}

/// The checker alone (what the language server runs) reports exactly one
/// diagnostic for `text`, with `code`, and `snnc check` reports it first, its
/// primary label on `at`.
fn checker_refuses(text: &str, code: &str, at: &str) {
    let checked = snnc::front::check::check_source("found.snn", text, &DiskLoader);
    let codes: Vec<&str> = checked.diagnostics.iter().map(|d| d.code).collect();
    assert_eq!(codes, [code], "{text}");
    let (first, label) = first_error(text).expect("an error");
    assert_eq!((first, label.as_str()), (code, at), "{text}");
}

/// A network of one std.LIF population `P` of `size` neurons projecting onto
/// itself by `rule`.
fn onto_itself(size: u32, rule: &str) -> String {
    format!(
        "import std.{{LIF, Expon, CUBA}}\n\
         network n {{\n    population P = LIF[{size}]\n    projection P -> P {{\n        \
         connect {rule}\n        weight 0.1 nA\n        synapse Expon\n        output CUBA\n    }}\n}}\n"
    )
}

#[test]
fn total_number_without_autapses_from_one_neuron_onto_itself_is_refused() {
    let text = onto_itself(1, "fixed_total_number(5, autapses = false)");
    assert_eq!(first_error(&text), Some(("E0304", "5".to_string())));
    // With autapses, or with no synapse to draw, there is nothing to refuse.
    assert_eq!(first_error(&onto_itself(1, "fixed_total_number(5)")), None);
    assert_eq!(
        first_error(&onto_itself(1, "fixed_total_number(0, autapses = false)")),
        None
    );
    assert_eq!(
        first_error(&onto_itself(2, "fixed_total_number(5, autapses = false)")),
        None
    );
}

#[test]
fn degree_without_autapses_onto_itself_counts_one_neuron_less() {
    // 3 neurons onto themselves without autapses: 2 candidates each.
    for rule in ["fixed_in_degree", "fixed_out_degree"] {
        let refused = onto_itself(3, &format!("{rule}(3, autapses = false)"));
        assert_eq!(
            first_error(&refused),
            Some(("E0304", "3".to_string())),
            "{rule}"
        );
        let fits = onto_itself(3, &format!("{rule}(2, autapses = false)"));
        assert_eq!(first_error(&fits), None, "{rule}");
        let with_autapses = onto_itself(3, &format!("{rule}(3)"));
        assert_eq!(first_error(&with_autapses), None, "{rule}");
    }
}

#[test]
fn seed_out_of_range_is_refused_by_the_checker() {
    // Lowering refused these too (E0401); the checker now says which setting
    // is out of range, as it does for `dt` and `duration`.
    for seed in ["-1", "2.5", "1e30"] {
        let text = format!(
            "import std.LIF\nnetwork n {{\n    seed = {seed}\n    population P = LIF[1]\n}}\n"
        );
        checker_refuses(&text, "E0307", seed);
    }
    let largest = "import std.LIF\nnetwork n {\n    seed = 18446744073709551615\n    population P = LIF[1]\n}\n";
    assert_eq!(first_error(largest), None);
}

#[test]
fn record_range_and_period_are_checked_against_size_and_dt() {
    // Refused by lowering (E0401) before, and so only by `snnc check`, not
    // by the checker the language server runs; now by the checker (E0308).
    let model = |record: &str| {
        format!("import std.LIF\nnetwork n {{\n    dt = 0.25 ms\n    population P = LIF[4]\n    {record}\n}}\n")
    };
    for (record, at) in [
        ("record V of P[2:5]", "P[2:5]"),
        ("record V of P[3:3]", "P[3:3]"),
        ("record V of P[0:1] every 0.3 ms", "0.3 ms"),
        ("record V of P every 0 ms", "0 ms"),
    ] {
        let text = model(record);
        checker_refuses(&text, "E0308", at);
    }
    for record in ["record V of P[0:4]", "record V of P[3:4] every 0.5 ms"] {
        assert_eq!(first_error(&model(record)), None, "{record}");
    }
}

#[test]
fn params_without_default_must_be_set_where_the_model_is_used() {
    // Lowering refused these (E0401, "set it here"); the checker now does.
    let model = |population: &str, synapse: &str| {
        format!(
            "import std.CUBA\n\
             neuron N {{\n    param tau: ms\n    state V: mV = 0 mV\n    current I: nA\n    dV/dt = -V / tau\n    spike when V > 1 mV\n}}\n\
             synapse S {{\n    param tau_s: ms\n    state g: [w] = 0\n    dg/dt = -g / tau_s\n    on_pre {{ g += w }}\n}}\n\
             network n {{\n    population P = {population}\n    projection P -> P {{\n        connect all_to_all\n        weight 1 nA\n        synapse {synapse}\n        output CUBA\n    }}\n}}\n"
        )
    };
    assert_eq!(
        first_error(&model("N[2]", "S(tau_s = 2 ms)")),
        Some(("E0302", "N".to_string()))
    );
    assert_eq!(
        first_error(&model("N[2] { tau = 5 ms }", "S")),
        Some(("E0302", "S".to_string()))
    );
    assert_eq!(
        first_error(&model("N[2] { tau = 5 ms }", "S(tau_s = 2 ms)")),
        None
    );
}

#[test]
fn time_cannot_be_read_by_a_param_default_or_an_initial_value() {
    // Lowering refused these (E0401); the checker now does, as it does for a
    // state read there.
    let model = |member: &str| {
        format!(
            "import std.LIF\nneuron N {{\n    {member}\n    state V: mV = 0 mV\n    dV/dt = -V / (10 ms)\n    spike when V > 1 mV\n}}\n\
             network n {{\n    population P = N[2]\n}}\n"
        )
    };
    for (member, at) in [
        ("param tau: ms = dt", "dt"),
        ("param tau: ms = 2 * t", "t"),
        ("state u: ms = dt", "dt"),
    ] {
        let text = model(member);
        checker_refuses(&text, "E0103", at);
    }
    assert_eq!(first_error(&model("param tau: ms = 2 ms")), None);
}
