//! Checks one projection (spec §8):
//!
//! * its clauses: each at most once, `connect`, `weight` and `synapse`
//!   required, `output` required unless the synapse writes `post.X` (E0303);
//! * the connect rule and its arguments against the population sizes (E0304);
//! * `synapse`/`output` name models of that kind (E0301) whose arguments name
//!   a param or state (E0302) with a matching unit (E0203; `[w]` states take
//!   the unit of the weight); the delay is a time (E0203);
//! * the synapse and output models again, as this projection instantiates
//!   them: `[w]` is the weight's unit and `post.X` / `pre.X` the neurons on
//!   either side (E0103, E0203). A weight whose unit makes the output's
//!   contribution (or a `post.X` write) the wrong unit is E0306, reported at
//!   the weight (spec §6).

use super::model::{
    check_instance, check_model, constant, declare, declare_instance, value_ty, Env, Inst,
    Mismatch, NameKind, Neighbour,
};
use super::network::Pop;
use super::suggest::closest;
use super::ty::Ty;
use super::Scope;
use crate::diagnostic::Diagnostic;
use crate::front::ast::{
    Arg, Block, Expr, ExprKind, Ident, Member, ModelDef, ModelKind, ModelRef, ProjClause,
    ProjectionDecl, Stmt, UnaryOp,
};
use crate::front::units::{lookup, readable, Base, Dimension};
use crate::front::vocabulary::CONNECT_RULES;
use crate::source::Span;
use std::collections::{HashMap, HashSet};

/// The clauses of one projection, the first of each kind.
#[derive(Default)]
struct Clauses<'p> {
    connect: Option<(&'p Ident, &'p [Arg])>,
    weight: Option<&'p Expr>,
    delay: Option<&'p Expr>,
    synapse: Option<&'p ModelRef>,
    output: Option<&'p ModelRef>,
    /// A clause the parser could not read: a missing clause may be that one.
    broken: bool,
}

/// Collects the clauses, reporting repeated ones (E0303).
fn clauses<'p>(pr: &'p ProjectionDecl, diags: &mut Vec<Diagnostic>) -> Clauses<'p> {
    let mut c = Clauses::default();
    let mut first: HashMap<&str, Span> = HashMap::new();
    for clause in &pr.clauses {
        let (word, span) = match clause {
            ProjClause::Connect { span, .. } => ("connect", *span),
            ProjClause::Weight(e) => ("weight", e.span),
            ProjClause::Delay(e) => ("delay", e.span),
            ProjClause::Synapse(r) => ("synapse", r.span),
            ProjClause::Output(r) => ("output", r.span),
            ProjClause::Error(_) => {
                c.broken = true;
                continue;
            }
        };
        if let Some(&at) = first.get(word) {
            diags.push(
                Diagnostic::error(
                    "E0303",
                    format!("`{word}` is given twice in one projection"),
                )
                .with_primary(span, "given again here")
                .with_secondary(at, "first given here")
                .with_help(format!("keep one `{word}` clause")),
            );
            continue;
        }
        first.insert(word, span);
        match clause {
            ProjClause::Connect { rule, args, .. } => c.connect = Some((rule, args)),
            ProjClause::Weight(e) => c.weight = Some(e),
            ProjClause::Delay(e) => c.delay = Some(e),
            ProjClause::Synapse(r) => c.synapse = Some(r),
            ProjClause::Output(r) => c.output = Some(r),
            ProjClause::Error(_) => {}
        }
    }
    c
}

/// `pops`: the populations (and spike-train stimuli) of the network, by name.
pub fn check_projection(
    pr: &ProjectionDecl,
    scope: &Scope,
    pops: &HashMap<&str, Pop>,
    out: &mut Vec<Diagnostic>,
) {
    let mut diags = Vec::new();
    projection(pr, scope, pops, &mut diags);
    // In source order; those pointing into a model's file come last.
    diags.sort_by_key(|d| {
        d.primary_span()
            .filter(|s| s.source == pr.span.source)
            .map_or(u32::MAX, |s| s.start)
    });
    out.extend(diags);
}

fn projection(
    pr: &ProjectionDecl,
    scope: &Scope,
    pops: &HashMap<&str, Pop>,
    diags: &mut Vec<Diagnostic>,
) {
    let c = clauses(pr, diags);
    let empty = Env::empty();
    // The weight's unit instantiates `[w]`; open (`Any`) without a weight.
    let weight = match c.weight {
        Some(e) => value_ty(&empty, e, diags),
        None => Ty::Any,
    };
    if let Some(e) = c.delay {
        let found = value_ty(&empty, e, diags);
        if !found.fits(&time()) {
            diags.push(
                Diagnostic::error("E0203", format!("expected ms, found {}", found.show()))
                    .with_primary(e.span, "a delay is a time"),
            );
        }
    }
    if let Some((rule, args)) = c.connect {
        check_connect(pr, rule, args, pops, diags);
    }
    // Only neuron populations receive input.
    for t in &pr.targets {
        if let Some(p) = pops.get(t.name.as_str()) {
            if p.stimulus {
                diags.push(
                    Diagnostic::error(
                        "E0301",
                        format!(
                            "`{}` is a spike-train stimulus, not a neuron population",
                            t.name
                        ),
                    )
                    .with_primary(t.span, "a stimulus cannot receive a projection")
                    .with_help("a spike-train stimulus can only be a projection's source"),
                );
            }
        }
    }
    let synapse = c
        .synapse
        .and_then(|r| model_ref(r, ModelKind::Synapse, &weight, scope, diags));
    let output = c
        .output
        .and_then(|r| model_ref(r, ModelKind::Output, &weight, scope, diags));
    missing_clauses(pr, &c, synapse, diags);

    let posts: Vec<&ModelDef> = pr
        .targets
        .iter()
        .filter_map(|t| pops.get(t.name.as_str()).and_then(|p| p.model))
        .collect();
    let paired = match (output, c.output) {
        (Some(o), Some(r)) => super::pairing::check_pairing(o, synapse, &posts, r.span, diags),
        _ => true,
    };
    if let (Some(syn), Some(syn_ref)) = (synapse, c.synapse) {
        let output = output.zip(c.output).filter(|_| paired);
        instances(pr, syn, syn_ref, output, &weight, c.weight, pops, diags);
    }
}

fn time() -> Ty {
    Ty::dim(Dimension::base(Base::Time), Some("ms".into()))
}

/// `A, B -> C`: the projection's header, where a missing clause is reported.
fn header(pr: &ProjectionDecl) -> Span {
    match (pr.sources.first(), pr.targets.last()) {
        (Some(a), Some(b)) if a.span.source == b.span.source => a.span.to(b.span),
        _ => pr.span,
    }
}

/// E0303 for a required clause that is absent (spec §8's table).
fn missing_clauses(
    pr: &ProjectionDecl,
    c: &Clauses,
    synapse: Option<&ModelDef>,
    diags: &mut Vec<Diagnostic>,
) {
    if c.broken {
        return; // the clause the parser could not read may be the missing one
    }
    let mut missing = |word: &str, help: String| {
        diags.push(
            Diagnostic::error("E0303", format!("this projection has no `{word}` clause"))
                .with_primary(header(pr), format!("needs `{word}`"))
                .with_help(help),
        );
    };
    if c.connect.is_none() {
        missing(
            "connect",
            "add a connection rule, e.g. `connect fixed_prob(0.1)`".into(),
        );
    }
    if c.weight.is_none() {
        missing(
            "weight",
            "add the synaptic weight, e.g. `weight 0.6 nS` (with COBA) or `weight 50 pA` (with CUBA)"
                .into(),
        );
    }
    if c.synapse.is_none() {
        missing(
            "synapse",
            "add a synapse model, e.g. `synapse Expon(tau = 5 ms)`".into(),
        );
    }
    if let (None, Some(syn)) = (c.output, synapse) {
        if !writes_post(syn) {
            missing(
                "output",
                format!(
                    "synapse `{}` does not write `post.X` itself: add an output, e.g. `output CUBA` (current-based) or `output COBA` (conductance-based)",
                    syn.name.name
                ),
            );
        }
    }
}

/// Whether a synapse model's `on_pre` writes a variable of the post neuron
/// (`post.V += w`): such a synapse needs no output model.
fn writes_post(m: &ModelDef) -> bool {
    fn block(b: &Block) -> bool {
        b.stmts.iter().any(stmt)
    }
    fn stmt(s: &Stmt) -> bool {
        match s {
            Stmt::Assign { target, .. } => {
                matches!(target.segments.as_slice(), [side, _] if side.name == "post")
            }
            Stmt::If {
                then_branch,
                else_branch,
                ..
            } => block(then_branch) || else_branch.as_ref().is_some_and(block),
            Stmt::Error(_) => false,
        }
    }
    m.members.iter().any(|member| match member {
        Member::OnPre(b) => block(b),
        _ => false,
    })
}

// ------------------------------------------------------------------ connect

/// What a connect rule takes (spec §8): its one positional argument, if any,
/// and whether it accepts `autapses = true|false`.
struct RuleSpec {
    positional: Option<&'static str>,
    autapses: bool,
}

fn rule_spec(name: &str) -> Option<RuleSpec> {
    let (positional, autapses) = match name {
        "all_to_all" => (None, true),
        "one_to_one" => (None, false),
        "fixed_prob" => (Some("the connection probability"), true),
        "fixed_in_degree" => (Some("the number of sources per target"), true),
        "fixed_out_degree" => (Some("the number of targets per source"), true),
        "fixed_total_number" => (Some("the number of synapses"), true),
        "from_file" => (Some("the path of the edge file"), false),
        _ => return None,
    };
    Some(RuleSpec {
        positional,
        autapses,
    })
}

/// The example a help line shows for a rule.
fn rule_example(name: &str) -> &'static str {
    match name {
        "fixed_prob" => "fixed_prob(0.1)",
        "fixed_in_degree" => "fixed_in_degree(100)",
        "fixed_out_degree" => "fixed_out_degree(100)",
        "fixed_total_number" => "fixed_total_number(10000)",
        "from_file" => "from_file(\"edges.npy\")",
        "one_to_one" => "one_to_one",
        _ => "all_to_all",
    }
}

/// The size of a population, with the span of its size expression.
fn size_of<'a>(pops: &'a HashMap<&str, Pop>, id: &Ident) -> Option<(u32, &'a Pop<'a>)> {
    let p = pops.get(id.name.as_str())?;
    Some((p.size?, p))
}

/// E0304: the connect rule exists and its arguments fit it and the sizes of
/// the populations it connects.
fn check_connect(
    pr: &ProjectionDecl,
    rule: &Ident,
    args: &[Arg],
    pops: &HashMap<&str, Pop>,
    diags: &mut Vec<Diagnostic>,
) {
    let Some(spec) = rule_spec(&rule.name) else {
        let mut d = Diagnostic::error("E0304", format!("unknown connection rule `{}`", rule.name))
            .with_primary(rule.span, "not a connection rule");
        let suggestion = closest(&rule.name, CONNECT_RULES.iter().copied()).or_else(|| {
            // `fixed_probability`, `prob`: a longer or shorter spelling.
            CONNECT_RULES
                .iter()
                .copied()
                .filter(|r| {
                    rule.name.starts_with(r) || (rule.name.len() >= 3 && r.contains(&*rule.name))
                })
                .max_by_key(|r| r.len())
        });
        d = match suggestion {
            Some(s) => d.with_help(format!("did you mean `{s}`?")),
            None => d.with_help(format!(
                "the rules are {}",
                CONNECT_RULES
                    .iter()
                    .map(|r| format!("`{r}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        };
        diags.push(d);
        return;
    };
    let name = rule.name.as_str();
    let positional: Vec<&Expr> = args
        .iter()
        .filter(|a| a.name.is_none())
        .map(|a| &a.value)
        .collect();

    // Named options: only `autapses`, only where the rule has it, once.
    let mut seen: HashMap<&str, Span> = HashMap::new();
    for a in args {
        let Some(n) = &a.name else { continue };
        if let Some(&at) = seen.get(n.name.as_str()) {
            diags.push(
                Diagnostic::error("E0304", format!("`{}` is given twice", n.name))
                    .with_primary(n.span, "given again here")
                    .with_secondary(at, "first given here"),
            );
            continue;
        }
        seen.insert(&n.name, n.span);
        if n.name == "autapses" && spec.autapses {
            if !matches!(a.value.kind, ExprKind::Bool(_) | ExprKind::Error) {
                diags.push(
                    Diagnostic::error("E0304", "`autapses` is `true` or `false`")
                        .with_primary(a.value.span, "not `true` or `false`")
                        .with_help("write `autapses = false` to forbid i → i connections"),
                );
            }
            continue;
        }
        let mut d = Diagnostic::error("E0304", format!("`{name}` has no option `{}`", n.name))
            .with_primary(n.span, "not an option of this rule");
        d = if n.name == "autapses" {
            d.with_help(match name {
                "one_to_one" => {
                    "`one_to_one` connects i → i; `autapses` does not apply".to_string()
                }
                _ => "a file lists its connections; `autapses` does not apply".to_string(),
            })
        } else if spec.autapses {
            match closest(&n.name, ["autapses"]) {
                Some(s) => d.with_help(format!("did you mean `{s}`?")),
                None => d.with_help(format!(
                    "the only option of `{name}` is `autapses = true|false`"
                )),
            }
        } else {
            d.with_help(format!("`{name}` takes no options"))
        };
        diags.push(d);
    }

    // The positional argument: how many.
    let wanted = usize::from(spec.positional.is_some());
    if positional.len() > wanted {
        let extra = positional[wanted];
        let message = match spec.positional {
            Some(what) => format!(
                "`{name}` takes one argument ({what}), found {}",
                positional.len()
            ),
            None => format!("`{name}` takes no argument, found {}", positional.len()),
        };
        diags.push(
            Diagnostic::error("E0304", message)
                .with_primary(extra.span, "unexpected argument")
                .with_help(format!("write `connect {}`", rule_example(name))),
        );
        return;
    }
    let (Some(what), Some(&value)) = (spec.positional, positional.first()) else {
        if let Some(what) = spec.positional {
            diags.push(
                Diagnostic::error("E0304", format!("`{name}` needs {what}"))
                    .with_primary(rule.span, format!("missing {what}"))
                    .with_help(format!("write e.g. `connect {}`", rule_example(name))),
            );
        }
        if name == "one_to_one" {
            one_to_one_sizes(pr, rule, pops, diags);
        }
        return;
    };

    if name == "from_file" {
        if !matches!(value.kind, ExprKind::String(_) | ExprKind::Error) {
            diags.push(
                Diagnostic::error("E0304", "`from_file` takes a file path in quotes")
                    .with_primary(value.span, "not a string")
                    .with_help(
                        "write the path relative to the model file, e.g. `connect from_file(\"edges.npy\")`",
                    ),
            );
        }
        return;
    }

    // A plain constant number.
    let found = value_ty(&Env::empty(), value, diags);
    let noun = match name {
        "fixed_prob" => "a connection probability",
        "fixed_in_degree" => "an in-degree",
        "fixed_total_number" => "a synapse count",
        _ => "an out-degree",
    };
    match &found {
        Ty::Any => return, // reported already
        Ty::Zero => {}
        Ty::Num { dim, .. } if dim.is_dimensionless() => {}
        other => {
            let mut d = Diagnostic::error(
                "E0304",
                format!("{noun} is a plain number, found {}", other.show()),
            )
            .with_primary(value.span, format!("this is {}", other.show()));
            if let Some(x) = literal(value) {
                d = d.with_help(format!("write `{name}({x})`"));
            }
            diags.push(d);
            return;
        }
    }
    let Some(x) = constant(value) else {
        diags.push(
            Diagnostic::error("E0304", format!("{noun} must be a constant number"))
                .with_primary(value.span, "not a constant")
                .with_help(format!(
                    "connectivity is drawn once, before the run: {what} is fixed"
                )),
        );
        return;
    };
    if name == "fixed_prob" {
        if !(0.0..=1.0).contains(&x) {
            let mut d = Diagnostic::error(
                "E0304",
                format!("a connection probability is between 0 and 1, found {x}"),
            )
            .with_primary(value.span, "not in [0, 1]");
            if x > 1.0 && x <= 100.0 {
                d = d.with_help(format!(
                    "a probability is a fraction: for {x} %, write `fixed_prob({})`",
                    x / 100.0
                ));
            }
            diags.push(d);
        }
        return;
    }
    // fixed_in_degree / fixed_out_degree: a whole number, at most the size
    // of the population it draws from.
    if x < 0.0 {
        diags.push(
            Diagnostic::error("E0304", format!("{noun} cannot be negative, found {x}"))
                .with_primary(value.span, "a number of synapses is 0 or more"),
        );
        return;
    }
    if x.fract() != 0.0 {
        diags.push(
            Diagnostic::error(
                "E0304",
                format!("{noun} is a whole number of synapses, found {x}"),
            )
            .with_primary(value.span, "not a whole number"),
        );
        return;
    }
    let no_autapses = forbids_autapses(args);
    if name == "fixed_total_number" {
        // Multapses are allowed: any count fits any populations, except a
        // one-neuron population onto itself without autapses.
        if x > f64::from(u32::MAX) {
            diags.push(
                Diagnostic::error(
                    "E0304",
                    format!(
                        "`fixed_total_number` takes at most {} synapses, found {x}",
                        u32::MAX
                    ),
                )
                .with_primary(value.span, "too many synapses for one projection"),
            );
        } else if x > 0.0 && no_autapses {
            total_number_has_pairs(pr, x, value.span, pops, diags);
        }
        return;
    }
    degrees_fit(pr, name, x, value.span, no_autapses, pops, diags);
}

/// `autapses = false` among a rule's arguments (every rule that takes the
/// option allows autapses by default).
fn forbids_autapses(args: &[Arg]) -> bool {
    args.iter().any(|a| {
        a.name.as_ref().is_some_and(|n| n.name == "autapses")
            && matches!(a.value.kind, ExprKind::Bool(false))
    })
}

/// `fixed_in_degree(k)` / `fixed_out_degree(k)`: every (source, target) pair
/// of populations has k distinct partners to draw from on the side the rule
/// draws from, one fewer when a population projects onto itself with
/// `autapses = false`. Each population is reported once per case.
fn degrees_fit(
    pr: &ProjectionDecl,
    name: &str,
    k: f64,
    at: Span,
    no_autapses: bool,
    pops: &HashMap<&str, Pop>,
    diags: &mut Vec<Diagnostic>,
) {
    let in_degree = name == "fixed_in_degree";
    let (role, each) = if in_degree {
        ("sources", "target")
    } else {
        ("targets", "source")
    };
    let mut reported: HashSet<(&str, bool)> = HashSet::new();
    for s in &pr.sources {
        for t in &pr.targets {
            let drawn_from = if in_degree { s } else { t };
            let Some((n, pop)) = size_of(pops, drawn_from) else {
                continue;
            };
            let onto_itself = no_autapses && s.name == t.name;
            let available = n.saturating_sub(u32::from(onto_itself));
            if k <= f64::from(available) || !reported.insert((&drawn_from.name, onto_itself)) {
                continue;
            }
            let p = &drawn_from.name;
            let (message, primary, help) = if onto_itself {
                (
                    format!("`{name}({k})` with `autapses = false` needs {k} distinct {role} per {each} other than the {each} itself, but `{p}` projects onto itself and has only {n} neurons"),
                    format!("more than the {available} other neurons of `{p}`"),
                    format!("use at most `{name}({available}, autapses = false)`, or allow autapses"),
                )
            } else {
                (
                    format!("`{name}({k})` needs {k} distinct {role} per {each}, but `{p}` has only {n} neurons"),
                    format!("more than the {n} neurons of `{p}`"),
                    format!("use at most `{name}({n})`, or `fixed_prob` for a random number of {role}"),
                )
            };
            let d = Diagnostic::error("E0304", message)
                .with_primary(at, primary)
                .with_secondary(pop.size_span, format!("`{p}` has {n} neurons"))
                .with_help(help);
            diags.push(d);
        }
    }
}

/// `fixed_total_number(n)` with n > 0 and `autapses = false`: a population
/// of one neuron projecting onto itself has no (source, target) pair to
/// draw a synapse from.
fn total_number_has_pairs(
    pr: &ProjectionDecl,
    n: f64,
    at: Span,
    pops: &HashMap<&str, Pop>,
    diags: &mut Vec<Diagnostic>,
) {
    for s in &pr.sources {
        if !pr.targets.iter().any(|t| t.name == s.name) {
            continue;
        }
        let Some((1, pop)) = size_of(pops, s) else {
            continue;
        };
        diags.push(
            Diagnostic::error(
                "E0304",
                format!(
                    "`fixed_total_number({n})` with `autapses = false` has no pair to draw from: `{}` has one neuron and projects onto itself",
                    s.name
                ),
            )
            .with_primary(at, format!("{n} synapses, but no allowed (source, target) pair"))
            .with_secondary(pop.size_span, format!("`{}` has 1 neuron", s.name))
            .with_help("allow autapses, or give the population more than one neuron"),
        );
    }
}

/// `one_to_one` connects i → i: every source must have every target's size.
fn one_to_one_sizes(
    pr: &ProjectionDecl,
    rule: &Ident,
    pops: &HashMap<&str, Pop>,
    diags: &mut Vec<Diagnostic>,
) {
    for s in &pr.sources {
        for t in &pr.targets {
            let (Some((ns, sp)), Some((nt, tp))) = (size_of(pops, s), size_of(pops, t)) else {
                continue;
            };
            if ns != nt {
                diags.push(
                    Diagnostic::error(
                        "E0304",
                        format!(
                            "`one_to_one` needs populations of the same size, but `{}` has {ns} neurons and `{}` has {nt}",
                            s.name, t.name
                        ),
                    )
                    .with_primary(rule.span, "connects neuron i to neuron i")
                    .with_secondary(sp.size_span, format!("`{}` has {ns} neurons", s.name))
                    .with_secondary(tp.size_span, format!("`{}` has {nt} neurons", t.name))
                    .with_help("give both populations the same size, or use another rule (`fixed_prob`, `all_to_all`)"),
                );
            }
        }
    }
}

/// The number written (`0.1`, `-2`, the `0.1` of `0.1 ms`), for help lines.
fn literal(e: &Expr) -> Option<f64> {
    match &e.kind {
        ExprKind::Number(x) => Some(*x),
        ExprKind::Quantity { value, .. } => Some(*value),
        ExprKind::Unary {
            op: UnaryOp::Neg,
            operand,
        } => literal(operand).map(|x| -x),
        _ => None,
    }
}

// ------------------------------------------------------------ model clauses

/// The model a `synapse`/`output` clause names, after checking its
/// arguments; `None` (after E0301) when no model of that kind has the name.
fn model_ref<'s>(
    r: &ModelRef,
    kind: ModelKind,
    weight: &Ty,
    scope: &'s Scope,
    diags: &mut Vec<Diagnostic>,
) -> Option<&'s ModelDef> {
    let Some(model) = scope.get(&r.name.name).filter(|m| m.kind == kind) else {
        diags.push(super::network::wrong_kind(&r.name, kind, scope));
        return None;
    };
    let env = declare(model, &mut Vec::new());
    let named = r
        .args
        .iter()
        .filter_map(|a| Some((a.name.as_ref()?.name.as_str(), &a.value)));
    diags.extend(super::constant::instance_faults(model, named));
    let given: Vec<&str> = r
        .args
        .iter()
        .filter_map(|a| Some(a.name.as_ref()?.name.as_str()))
        .collect();
    diags.extend(super::required::missing_params(
        model,
        &given,
        r.name.span,
        |x| format!("`{}({x} = …)`", r.name.name),
    ));
    for arg in &r.args {
        let Some(name) = &arg.name else {
            diags.push(
                Diagnostic::error("E0302", "model arguments are named: `tau = 5 ms`")
                    .with_primary(arg.span, "unnamed argument"),
            );
            continue;
        };
        let Some((NameKind::Param | NameKind::State, declared, _)) = env.names.get(&name.name)
        else {
            let names = env
                .names
                .iter()
                .filter(|(_, (k, _, _))| matches!(k, NameKind::Param | NameKind::State))
                .map(|(k, _)| k.as_str());
            let mut d = Diagnostic::error(
                "E0302",
                format!("`{}` has no param or state `{}`", r.name.name, name.name),
            )
            .with_primary(name.span, "not a param or state of this model");
            if let Some(s) = closest(&name.name, names) {
                d = d.with_help(format!("did you mean `{s}`?"));
            }
            diags.push(d);
            continue;
        };
        let expected = super::model::subst_weight(declared.clone(), weight);
        let found = value_ty(&Env::empty(), &arg.value, diags);
        if !found.fits(&expected) {
            let mut d = Diagnostic::error(
                "E0203",
                format!("expected {}, found {}", expected.show(), found.show()),
            )
            .with_primary(
                arg.value.span,
                format!(
                    "this is {}, but `{}` is {}",
                    found.describe(),
                    name.name,
                    expected.show()
                ),
            );
            if let Some(h) = found.unit_help(&expected, &arg.value) {
                d = d.with_help(h);
            }
            diags.push(d);
        }
    }
    Some(model)
}

// ---------------------------------------------------------------- instances

/// A population as `post.X` / `pre.X` see it; `None` when its model is
/// unknown (reported at the population).
fn neighbour(pops: &HashMap<&str, Pop>, id: &Ident) -> Option<Neighbour> {
    let p = pops.get(id.name.as_str())?;
    if p.stimulus {
        return Some(Neighbour {
            population: id.name.clone(),
            model: None,
            env: Env::empty(),
        });
    }
    let m = p.model?;
    Some(Neighbour {
        population: id.name.clone(),
        model: Some(m.name.name.clone()),
        env: declare(m, &mut Vec::new()),
    })
}

/// Checks the synapse (per source and target) and the output (per target)
/// as this projection instantiates them.
#[allow(clippy::too_many_arguments)]
fn instances(
    pr: &ProjectionDecl,
    synapse: &ModelDef,
    syn_ref: &ModelRef,
    output: Option<(&ModelDef, &ModelRef)>,
    weight: &Ty,
    weight_expr: Option<&Expr>,
    pops: &HashMap<&str, Pop>,
    diags: &mut Vec<Diagnostic>,
) {
    let syn_generic = generic_keys(synapse);
    let out_generic = output.map(|(o, _)| generic_keys(o));
    for t in &pr.targets {
        let Some(post) = neighbour(pops, t) else {
            continue;
        };
        if post.model.is_none() {
            continue; // a stimulus as target: reported above
        }
        for s in &pr.sources {
            let pre = neighbour(pops, s);
            let make = |weight: Ty| Inst {
                weight,
                post: Some(post.clone()),
                pre: pre.clone(),
                synapse: None,
            };
            instance(
                synapse,
                &make,
                weight,
                &syn_generic,
                syn_ref.span,
                weight_expr,
                diags,
            );
        }
        if let (Some((out, out_ref)), Some(generic)) = (output, &out_generic) {
            // The output reads the synapse's states, `[w]` instantiated alike.
            let make = |weight: Ty| {
                let syn_inst = Inst {
                    weight,
                    post: Some(post.clone()),
                    pre: None,
                    synapse: None,
                };
                let syn_env = declare_instance(synapse, &mut Vec::new(), Some(&syn_inst));
                Inst {
                    synapse: Some(syn_env),
                    ..syn_inst
                }
            };
            instance(
                out,
                &make,
                weight,
                generic,
                out_ref.span,
                weight_expr,
                diags,
            );
        }
    }
}

type Key = (&'static str, String, Option<Span>);

fn key(d: &Diagnostic) -> Key {
    (d.code, d.message.clone(), d.primary_span())
}

/// What the model reports on its own (reported once, where it is written).
fn generic_keys(m: &ModelDef) -> HashSet<Key> {
    check_model(m).iter().map(key).collect()
}

/// Checks `model` as `inst` uses it, reporting what the generic check could
/// not see. A mismatch that a different weight unit would resolve is the
/// weight's fault: E0306 at the weight instead of E0203 in the model.
fn instance(
    model: &ModelDef,
    make: &dyn Fn(Ty) -> Inst,
    weight: &Ty,
    generic: &HashSet<Key>,
    used_at: Span,
    weight_expr: Option<&Expr>,
    diags: &mut Vec<Diagnostic>,
) {
    let inst = &make(weight.clone());
    let checked = check_instance(model, Some(inst));
    let mut explained = HashSet::new();
    if let (Some(we), Ty::Num { dim: w, .. }) = (weight_expr, weight) {
        for m in &checked.mismatches {
            let Some(fit) = fitting_weight(m, *w) else {
                continue;
            };
            let alt = make(Ty::dim(fit, None));
            let again = check_instance(model, Some(&alt));
            if again.mismatches.iter().any(|m2| m2.span == m.span) {
                continue;
            }
            explained.insert(m.span);
            diags.push(weight_error(model, inst, m, fit, we));
        }
    }
    for d in checked.diags {
        if generic.contains(&key(&d)) {
            continue;
        }
        if d.primary_span().is_some_and(|s| explained.contains(&s)) {
            continue;
        }
        diags.push(d.with_secondary(used_at, "as this projection uses it"));
    }
}

/// The weight dimension that would make `m` fit, when the mismatch scales
/// with the weight: expected · w / found.
fn fitting_weight(m: &Mismatch, w: Dimension) -> Option<Dimension> {
    let (Ty::Num { dim: found, .. }, Ty::Num { dim: expected, .. }) = (&m.found, &m.expected)
    else {
        return None;
    };
    let fit = expected.mul(w).ok()?.div(*found).ok()?;
    (fit != w).then_some(fit)
}

/// A unit and what it measures, for a dimension a weight commonly has.
fn friendly(dim: Dimension) -> (String, Option<&'static str>) {
    const COMMON: &[(&str, &str)] = &[
        ("nS", "a conductance"),
        ("nA", "a current"),
        ("mV", "a voltage"),
        ("ms", "a time"),
        ("pF", "a capacitance"),
        ("Mohm", "a resistance"),
        ("Hz", "a rate"),
    ];
    if dim.is_dimensionless() {
        return ("1".into(), Some("a plain number"));
    }
    for (u, noun) in COMMON {
        if lookup(u).is_some_and(|x| x.dim == dim) {
            return ((*u).to_string(), Some(noun));
        }
    }
    (readable(&dim), None)
}

/// E0306: the weight's unit makes an output's contribution (or a synapse's
/// `post.X` write) the wrong unit.
fn weight_error(
    model: &ModelDef,
    inst: &Inst,
    m: &Mismatch,
    fit: Dimension,
    weight_expr: &Expr,
) -> Diagnostic {
    let (unit, noun) = friendly(fit);
    let found_w = inst.weight.show();
    let wanted = match noun {
        Some(n) => format!("{unit} ({n})"),
        None => unit.clone(),
    };
    let kind = match model.kind {
        ModelKind::Output => "output",
        ModelKind::Synapse => "synapse",
        ModelKind::Neuron => "neuron",
    };
    let post = inst
        .post
        .as_ref()
        .and_then(|p| p.model.as_ref().map(|m| (m.clone(), p.population.clone())));
    let target = match (&post, m.target.strip_prefix("post.")) {
        (Some((pm, _)), Some(x)) => format!("`{x}` of `{pm}`"),
        (Some((pm, _)), None) => format!("`{}` of `{pm}`", m.target),
        (None, _) => format!("`{}`", m.target),
    };
    let d = Diagnostic::error(
        "E0306",
        format!("expected a weight in {wanted}, found {found_w}"),
    )
    .with_primary(
        weight_expr.span,
        format!(
            "this is {found_w}: with it, {kind} `{}` writes {} to {target}, which is {}",
            model.name.name,
            m.found.show(),
            m.expected.show()
        ),
    )
    .with_secondary(
        m.span,
        format!(
            "with a weight in {found_w} this is {}, but `{}` is {}",
            m.found.show(),
            m.target,
            m.expected.show()
        ),
    );
    match literal(weight_expr) {
        Some(x) if lookup(&unit).is_some() => {
            d.with_help(format!("write the weight in {unit}: `weight {x} {unit}`"))
        }
        _ if unit == "1" => d.with_help("give the weight as a plain number"),
        _ => d.with_help(format!("give the weight in {unit}")),
    }
}
