//! Parser tests: snapshots of the tree for every construct, of the rendered
//! diagnostics for syntax errors, and the stdlib/examples parsing cleanly.

use snnc::diagnostic::render_text;
use snnc::front::ast::*;
use snnc::front::parse;
use snnc::source::SourceMap;

/// Parses `text` as file `test.snn`; returns the tree and the rendered errors.
fn parse_text(text: &str) -> (snnc::front::ast::File, String) {
    let mut sources = SourceMap::new();
    let id = sources.add("test.snn", text);
    let (file, diags) = parse(id, text);
    (file, render_text(&diags, &sources, false))
}

#[test]
fn stdlib_and_examples_parse_without_errors() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let mut checked = 0;
    for dir in ["stdlib", "examples"] {
        let mut paths: Vec<_> = std::fs::read_dir(format!("{root}/{dir}"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "snn"))
            .collect();
        paths.sort();
        for path in paths {
            let text = std::fs::read_to_string(&path).unwrap();
            let (_, errors) = parse_text(&text);
            assert!(errors.is_empty(), "{}:\n{errors}", path.display());
            checked += 1;
        }
    }
    assert!(checked >= 8, "only {checked} files found");
}

// ---------------------------------------------------------------- helpers

/// The tree of a source that must parse without errors.
fn tree(text: &str) -> File {
    let (file, errors) = parse_text(text);
    assert!(errors.is_empty(), "unexpected errors:\n{errors}");
    file
}

/// The rendered errors of a source that must have some.
fn errors(text: &str) -> String {
    let (_, errors) = parse_text(text);
    assert!(!errors.is_empty(), "expected errors in:\n{text}");
    errors
}

/// An expression as an s-expression: precedence made visible.
fn sexpr(e: &Expr) -> String {
    match &e.kind {
        ExprKind::Number(v) => format!("{v}"),
        ExprKind::Quantity { value, unit } => format!("{value}[{}]", unit_text(unit)),
        ExprKind::Bool(b) => format!("{b}"),
        ExprKind::String(s) => format!("{s:?}"),
        ExprKind::Path(p) => path(p),
        ExprKind::Unary { op, operand } => format!("({op:?} {})", sexpr(operand)),
        ExprKind::Binary { op, lhs, rhs } => {
            format!("({op:?} {} {})", sexpr(lhs), sexpr(rhs))
        }
        ExprKind::Call { callee, args } => {
            let args: Vec<_> = args
                .iter()
                .map(|a| match &a.name {
                    Some(n) => format!("{}={}", n.name, sexpr(&a.value)),
                    None => sexpr(&a.value),
                })
                .collect();
            format!("{}({})", callee.name, args.join(", "))
        }
        ExprKind::If {
            condition,
            then_value,
            else_value,
        } => format!(
            "(if {} {} {})",
            sexpr(condition),
            sexpr(then_value),
            sexpr(else_value)
        ),
        ExprKind::Error => "<error>".into(),
    }
}

fn path(p: &Path) -> String {
    p.segments
        .iter()
        .map(|s| s.name.as_str())
        .collect::<Vec<_>>()
        .join(".")
}

fn unit_text(u: &UnitExpr) -> String {
    match &u.kind {
        UnitExprKind::Name(n) => n.clone(),
        UnitExprKind::One => "1".into(),
        UnitExprKind::Mul(a, b) => format!("({}*{})", unit_text(a), unit_text(b)),
        UnitExprKind::Div(a, b) => format!("({}/{})", unit_text(a), unit_text(b)),
        UnitExprKind::Pow(a, r) if r.den == 1 => format!("{}^{}", unit_text(a), r.num),
        UnitExprKind::Pow(a, r) => format!("{}^({}/{})", unit_text(a), r.num, r.den),
        UnitExprKind::UnitOf(n) => format!("[{}]", n.name),
        UnitExprKind::Error => "<error>".into(),
    }
}

/// The value of `let x = <expr>` in a model, as an s-expression.
fn expr(text: &str) -> String {
    let file = tree(&format!("neuron N {{\n    let x = {text}\n}}"));
    let Item::Model(m) = &file.items[0] else {
        panic!("not a model")
    };
    let Member::Let(l) = &m.members[0] else {
        panic!("not a let: {:?}", m.members[0])
    };
    sexpr(&l.value)
}

/// The unit of `param x: <unit>`, as text.
fn annotation(text: &str) -> String {
    let file = tree(&format!("neuron N {{ param x: {text} }}"));
    let Item::Model(m) = &file.items[0] else {
        panic!("not a model")
    };
    let Member::Param(p) = &m.members[0] else {
        panic!("not a param")
    };
    unit_text(&p.unit)
}

// ---------------------------------------------------------------- expressions

/// The grammar allows an `if` expression anywhere an operand stands,
/// parentheses included: its braces are not a statement boundary (this was
/// once rejected with E0012 "unmatched closing `)`").
#[test]
fn if_expression_inside_parentheses() {
    assert_eq!(
        expr("((if v < -20 mV { 1 } else { 0 }) - armed)"),
        "(Sub (if (Lt v (Neg 20[mV])) 1 0) armed)"
    );
    assert_eq!(
        expr("2 * (if a { (b) } else { c }) + f((if a { b } else { c }))"),
        "(Add (Mul 2 (if a b c)) f((if a b c)))"
    );
    assert_eq!(expr("(if a {\n b\n} else {\n c\n})"), "(if a b c)");
    // A stray `)` after such a parenthesis is still one error.
    let (_, errors) = parse_text("neuron N {\n    let x = (if a { b } else { c })) - d\n}");
    assert_eq!(errors.matches("E0012").count(), 1, "{errors}");
}

#[test]
fn precedence() {
    assert_eq!(expr("a + b * c"), "(Add a (Mul b c))");
    assert_eq!(expr("a - b - c"), "(Sub (Sub a b) c)");
    assert_eq!(expr("a / b / c"), "(Div (Div a b) c)");
    assert_eq!(expr("-x^2"), "(Neg (Pow x 2))");
    assert_eq!(expr("a^b^c"), "(Pow a (Pow b c))");
    assert_eq!(expr("2^-1"), "(Pow 2 (Neg 1))");
    assert_eq!(expr("-a * b"), "(Mul (Neg a) b)");
    assert_eq!(expr("a or b and not c"), "(Or a (And b (Not c)))");
    assert_eq!(expr("not a < b"), "(Not (Lt a b))");
    assert_eq!(expr("a || b && !c"), "(Or a (And b (Not c)))");
    assert_eq!(expr("a + 1 >= b * 2"), "(Ge (Add a 1) (Mul b 2))");
    assert_eq!(expr("(a)"), "a");
    assert_eq!(expr("x ** 2"), "(Pow x 2)");
}

/// A stray `)` is one error, and the expression reads on with what came
/// before it as one operand (so the checker sees `(a + b) / c`, not `a + b`).
#[test]
fn stray_closing_paren_keeps_the_rest_of_the_expression() {
    let (file, errors) = parse_text("neuron N {\n    let x = (a + b)) / c - d\n}");
    assert_eq!(errors.matches("E0012").count(), 1, "{errors}");
    let Item::Model(m) = &file.items[0] else {
        panic!("not a model")
    };
    let Member::Let(l) = &m.members[0] else {
        panic!("not a let")
    };
    assert_eq!(sexpr(&l.value), "(Sub (Div (Add a b) c) d)");
    // Brackets over several lines and call arguments are not stray.
    assert_eq!(expr("(a +\n b) * f(c, (d))"), "(Mul (Add a b) f(c, d))");
}

#[test]
fn atoms() {
    assert_eq!(expr("1.5E+2"), "150");
    assert_eq!(expr("1e-3"), "0.001");
    assert_eq!(expr("true or false"), "(Or true false)");
    assert_eq!(expr("\"edges\\\".npy\""), "\"edges\\\".npy\"");
    assert_eq!(expr("post.V"), "post.V");
    assert_eq!(
        expr("uniform(-60 mV, -50 mV)"),
        "uniform((Neg 60[mV]), (Neg 50[mV]))"
    );
    assert_eq!(expr("Expon(tau = 5 ms)"), "Expon(tau=5[ms])");
    assert_eq!(expr("rand()"), "rand()");
    assert_eq!(
        expr("if V > 0 mV { 1 } else if V < -1 mV { 2 } else { 3 }"),
        "(if (Gt V 0[mV]) 1 (if (Lt V (Neg 1[mV])) 2 3))"
    );
    assert_eq!(expr("if c {\n 1\n }\n else {\n 2\n }"), "(if c 1 2)");
    assert_eq!(expr("(a +\n b)"), "(Add a b)");
    // outside parentheses a line break ends the expression, even after an operator
    let errs = errors("neuron N {\n let x = a +\n b\n}");
    assert!(
        errs.contains("expected an expression, found end of line"),
        "{errs}"
    );
    assert_eq!(expr("f(a,\n b)"), "f(a, b)");
}

#[test]
fn quantities_and_the_unit_after_a_number() {
    assert_eq!(expr("10 ms"), "10[ms]");
    assert_eq!(expr("-65 mV"), "(Neg 65[mV])");
    assert_eq!(expr("10ms"), "10[ms]");
    // tight `/` and `*` with a known unit name continue the unit
    assert_eq!(expr("10 mV/ms"), "10[(mV/ms)]");
    assert_eq!(expr("1 uF/cm^2"), "1[(uF/cm^2)]");
    assert_eq!(expr("2 nS*mV"), "2[(nS*mV)]");
    assert_eq!(expr("20000 um^2"), "20000[um^2]");
    assert_eq!(expr("3 m^(1/2)"), "3[m^(1/2)]");
    assert_eq!(expr("3 s^-1"), "3[s^-1]");
    assert_eq!(expr("1 µF"), "1[µF]");
    // ... but not across spaces, nor onto a name that is not a unit
    assert_eq!(expr("5 mV / tau"), "(Div 5[mV] tau)");
    assert_eq!(expr("5 mV/tau"), "(Div 5[mV] tau)");
    assert_eq!(expr("10 mV / ms"), "(Div 10[mV] ms)");
    assert_eq!(expr("1 ms * m"), "(Mul 1[ms] m)");
    // juxtaposition binds tighter than `*` and `/`
    assert_eq!(expr("10 mV / tau * 2"), "(Mul (Div 10[mV] tau) 2)");
    assert_eq!(expr("(1 uF/cm^2) * area"), "(Mul 1[(uF/cm^2)] area)");
    // a number without a name after it is a plain number
    assert_eq!(expr("0.07 / mV"), "(Div 0.07 mV)");
    assert_eq!(expr("V / mV"), "(Div V mV)");
    // `^` after a unit that is not an exponent belongs to the expression
    assert_eq!(expr("10 mV ^ x"), "(Pow 10[mV] x)");
    // an unknown name after a number is still its unit: the checker reports it
    assert_eq!(expr("10 msec"), "10[msec]");
    // the unit must start on the number's line (inside parentheses)
    let errs = errors("neuron N {\n let x = (10\n mV)\n}");
    assert!(errs.contains("expected `)`"), "{errs}");
}

#[test]
fn unit_annotations() {
    assert_eq!(annotation("mV"), "mV");
    assert_eq!(annotation("mV/ms"), "(mV/ms)");
    assert_eq!(annotation("nS*mV"), "(nS*mV)");
    assert_eq!(annotation("1/ms"), "(1/ms)");
    assert_eq!(annotation("uF/cm^2"), "(uF/cm^2)");
    assert_eq!(annotation("1"), "1");
    assert_eq!(annotation("[w]"), "[w]");
    assert_eq!(annotation("mV / ms"), "(mV/ms)");
    assert_eq!(annotation("s^(-1)"), "s^-1");
    assert_eq!(annotation("m^(2/4)"), "m^(1/2)");
    assert_eq!(annotation("(mV/ms)^2"), "(mV/ms)^2");
    assert_eq!(annotation("MΩ"), "MΩ");
}

// ---------------------------------------------------------------- trees

#[test]
fn imports() {
    insta::assert_debug_snapshot!(tree(
        "import std.{LIF, Expon}\nimport std.neurons.LIF\nimport models.cortex.*\nimport std.{\n  A,\n  B,\n}"
    ));
}

#[test]
fn neuron_with_every_member() {
    insta::assert_debug_snapshot!(tree(
        r#"
/// Leaky integrate-and-fire.
/// Second doc line.
neuron LIF {
    /// resting potential
    param V_rest: mV = -65 mV
    param tau: ms = 10 ms; param k: 1/mV
    state V: mV = V_rest
    state m: 1
    current I: nA
    let v: 1 = (V - V_rest) / mV
    let a = 0.32 / ms
    dV/dt = (V_rest - V + R * I) / tau
    spike when V >= V_th and not t < 1 ms
    reset { V = V_reset; w_ad += b }
    refractory t_ref
    integrate rk4
    if V > 0 mV { V = 0 mV } else if V < -100 mV { V = -100 mV } else { V *= 1 }
}
"#
    ));
}

#[test]
fn synapse_and_output_models() {
    insta::assert_debug_snapshot!(tree(
        "synapse Expon {\n    state g: [w] = 0\n    dg/dt = -g / tau\n    on_pre { g += w }\n}\n\
         synapse Delta { on_pre { post.V += w } }\n\
         output COBA { param E: mV = 0 mV; I += g * (E - post.V) }\n"
    ));
}

#[test]
fn network_items() {
    insta::assert_debug_snapshot!(tree(
        r#"
/// The COBA benchmark.
network coba {
    dt = 0.1 ms
    seed = 42
    /// excitatory
    population E = LIF[3200] { V_rest = -60 mV, tau = 20 ms,
                               V ~ uniform(-60 mV, -50 mV) }
    population X = PoissonSource[10]
    projection E, X -> E, I {
        connect fixed_prob(0.02)
        weight normal(0.6 nS, 0.1 nS)
        delay 1.5 ms
        synapse Expon(tau = 5 ms)
        output COBA(E = 0 mV)
    }
    projection I -> E { connect all_to_all; weight 6.7 nS; synapse Delta; output CUBA }
    stimulus drive: nA[E] from input
    stimulus S: spikes[100] from input
    E.I += drive
    E.I += 3.2 nA * rand()
    record spikes of E, I
    record V, w of E[0:10] every 1 ms
    record V of I
}
"#
    ));
}

// ---------------------------------------------------------------- errors

#[test]
fn error_param_without_unit() {
    insta::assert_snapshot!(errors("neuron N {\n    param tau = 10 ms\n}\n"));
}

#[test]
fn error_colon_equals_in_an_ode() {
    insta::assert_snapshot!(errors("neuron N {\n    dV/dt := -V / tau\n}\n"));
}

#[test]
fn error_wrong_token_after_the_param_type() {
    insta::assert_snapshot!(errors("neuron N {\n    param x: mV : 3 mV\n}\n"));
}

#[test]
fn error_keyword_as_a_name() {
    insta::assert_snapshot!(errors("neuron N {\n    param spike: mV = -50 mV\n}\n"));
}

#[test]
fn error_missing_closing_brace() {
    insta::assert_snapshot!(errors(
        "neuron N {\n    state V: mV = 0 mV\n\nnetwork n {\n    dt = 0.1 ms\n}\n"
    ));
}

#[test]
fn error_unmatched_paren() {
    insta::assert_snapshot!(errors("neuron N {\n    dV/dt = (a - V)) / tau\n}\n"));
}

#[test]
fn error_unclosed_paren_stops_at_the_next_member() {
    insta::assert_snapshot!(errors(
        "neuron N {\n    dV/dt = (a - V / tau\n    spike when V > 1 mV\n}\n"
    ));
}

#[test]
fn error_fat_arrow_in_a_reset() {
    insta::assert_snapshot!(errors("neuron N {\n    reset { V => V_rest }\n}\n"));
}

#[test]
fn error_chained_comparison() {
    insta::assert_snapshot!(errors("neuron N {\n    spike when a < V < b\n}\n"));
}

#[test]
fn error_unknown_projection_clause() {
    insta::assert_snapshot!(errors(
        "network n {\n    projection E -> E {\n        weigth 1 nS\n    }\n}\n"
    ));
}

#[test]
fn error_derivative_not_by_dt() {
    insta::assert_snapshot!(errors("neuron N {\n    dV/dx = -V\n}\n"));
}

#[test]
fn error_population_without_size() {
    insta::assert_snapshot!(errors(
        "network n {\n    population E = LIF { tau = 1 ms }\n}\n"
    ));
}

#[test]
fn error_lexical() {
    insta::assert_snapshot!(errors(
        "network n {\n    x = 3 $ 4\n    s = \"edges\\q.npy\n    y = 1\n}\n/* open"
    ));
}

#[test]
fn error_nested_too_deeply() {
    let text = format!(
        "neuron N {{ let x = {}1{} }}",
        "(".repeat(200),
        ")".repeat(200)
    );
    let errs = errors(&text);
    assert!(errs.contains("E0013"), "{errs}");
    assert_eq!(errs.matches("Error:").count(), 1, "{errs}");
}

/// One run reports every independent error, and the tree still holds the
/// good parts around them.
#[test]
fn three_independent_errors_in_one_run() {
    let text = "\
neuron Cell {
    param tau: ms = 10 ms
    state V: mV = = -65 mV
    dV/dt = -V / tau
}

network n {
    population E = Cell[10] { tau = 20 ms,, V = 0 mV }
    projection E -> E {
        connect fixed_prob(0.1)
        weight 1 nS +
        synapse Expon
    }
}
";
    let (file, errs) = parse_text(text);
    insta::assert_snapshot!(errs);
    assert_eq!(errs.matches("Error:").count(), 3, "{errs}");
    let Item::Model(cell) = &file.items[0] else {
        panic!("{file:?}")
    };
    assert!(matches!(cell.members[1], Member::Error(_)));
    assert!(matches!(cell.members[2], Member::Ode(_)));
    let Item::Network(n) = &file.items[1] else {
        panic!("{file:?}")
    };
    let NetItem::Population(e) = &n.items[0] else {
        panic!("{n:?}")
    };
    let names: Vec<_> = e.overrides.iter().map(|o| o.name.name.as_str()).collect();
    assert_eq!(names, ["tau", "", "V"]);
    let NetItem::Projection(p) = &n.items[1] else {
        panic!("{n:?}")
    };
    assert!(matches!(p.clauses[1], ProjClause::Error(_)));
    assert!(matches!(p.clauses[2], ProjClause::Synapse(_)));
}

#[test]
fn refractory_while_takes_a_condition_and_a_lone_while_is_a_name() {
    let (file, errors) = parse_text(
        "neuron N {\n    refractory while V > -20 mV\n}\n\
         neuron M {\n    param while: ms = 1 ms\n    refractory while\n}\n",
    );
    assert!(errors.is_empty(), "{errors}");
    let rules: Vec<(RefractoryForm, &ExprKind)> = (file.items.iter())
        .filter_map(|i| match i {
            Item::Model(m) => Some(&m.members),
            _ => None,
        })
        .flatten()
        .filter_map(|x| match x {
            Member::Refractory(r) => Some((r.form, &r.value.kind)),
            _ => None,
        })
        .collect();
    assert_eq!(rules.len(), 2, "{rules:?}");
    assert_eq!(rules[0].0, RefractoryForm::While);
    assert!(matches!(rules[0].1, ExprKind::Binary { .. }), "{rules:?}");
    assert_eq!(rules[1].0, RefractoryForm::For);
    assert!(matches!(rules[1].1, ExprKind::Path(_)), "{rules:?}");
}
