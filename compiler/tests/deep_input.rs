//! Input that could drive recursion deep: flat operator chains and long unit
//! products. Each case runs on a thread with a 2 MiB stack (the default of
//! test threads) through check, lowering and IR validation; it must end in a
//! model or a diagnostic, never a stack overflow.

use snnc::pipeline::compile_source;
use snnc::source::NoFiles;

const STACK: usize = 2 << 20;

/// A neuron whose ODE is `dV/dt = (<chain>) / tau` and a network that uses it.
fn model_with_rhs(rhs: &str) -> String {
    format!(
        "neuron N {{\n param tau: ms = 10 ms\n param a: mV = 1 mV\n state V: mV = 0 mV\n \
         dV/dt = ({rhs}) / tau\n}}\n\
         network n {{\n dt = 0.1 ms\n duration = 1 ms\n population P = N[2]\n}}\n"
    )
}

/// Compiles `text` on a thread with the test stack; the error codes found.
fn compile_codes(text: String) -> Vec<&'static str> {
    std::thread::Builder::new()
        .stack_size(STACK)
        .spawn(move || {
            let compiled = compile_source("deep.snn", &text, &NoFiles, None);
            if let Some(module) = &compiled.module {
                snnc::ir::validate::validate(module).expect("a compiled module is valid");
            }
            compiled
                .diagnostics
                .iter()
                .filter(|d| d.is_error())
                .map(|d| d.code)
                .collect()
        })
        .unwrap()
        .join()
        .expect("no stack overflow")
}

fn chain(term: &str, op: &str, n: usize) -> String {
    vec![term; n].join(op)
}

#[test]
fn flat_sum_of_20000_terms_is_refused_with_a_diagnostic() {
    assert_eq!(
        compile_codes(model_with_rhs(&chain("a", " + ", 20_000))),
        ["E0020"]
    );
}

#[test]
fn flat_products_and_conjunctions_of_20000_terms_are_refused_with_a_diagnostic() {
    assert_eq!(
        compile_codes(model_with_rhs(&chain("a", " * 1 * ", 10_000))),
        ["E0020"]
    );
    let condition = chain("V > a", " and ", 20_000);
    let text = model_with_rhs("a").replace(
        "\n}\nnetwork",
        &format!("\n spike when {condition}\n}}\nnetwork"),
    );
    assert_eq!(compile_codes(text), ["E0020"]);
}

#[test]
fn a_unit_product_of_10000_factors_is_refused_with_a_diagnostic() {
    let unit = chain("mV", "*", 10_000);
    let declared = model_with_rhs("a").replace("param a: mV", &format!("param a: {unit}"));
    assert_eq!(compile_codes(declared), ["E0020"]);
    let written = model_with_rhs("a").replace("= 1 mV", &format!("= 1 {unit}"));
    assert_eq!(compile_codes(written), ["E0020"]);
}

/// Just under the budget everything compiles: the later phases' recursion
/// fits the stack at the deepest tree the parser lets through.
#[test]
fn chains_just_under_the_budget_compile() {
    let deepest = 255;
    assert_eq!(
        compile_codes(model_with_rhs(&chain("a", " + ", deepest))),
        Vec::<&str>::new()
    );
    assert_eq!(
        compile_codes(model_with_rhs(&format!("a{}", " * 1".repeat(deepest - 1)))),
        Vec::<&str>::new()
    );
    // One more operator is one too many.
    assert_eq!(
        compile_codes(model_with_rhs(&chain("a", " + ", deepest + 2))),
        ["E0020"]
    );
}

/// `let`s are expanded into the expressions that use them: chains of
/// `let`s, each under the budget, must not add up to a tree too deep for
/// the lowering and the backends.
#[test]
fn a_chain_of_lets_too_deep_once_expanded_is_refused() {
    let part = chain("a", " + ", 200);
    let mut lets = String::from(" let s0 = a\n");
    for i in 1..200 {
        lets.push_str(&format!(" let s{i} = s{} + {part}\n", i - 1));
    }
    let text = model_with_rhs("s199").replace(" dV/dt", &format!("{lets} dV/dt"));
    assert_eq!(compile_codes(text), ["E0403"]);
}

/// `let`s that each read the one before twice: 40 levels stand for 2^40
/// operations written out. Checked in linear time; refused by the lowering
/// before any walker that visits a shared `let` once per use.
#[test]
fn doubling_lets_are_refused_quickly() {
    let mut lets = String::from(" let s0 = a\n");
    for i in 1..=40 {
        lets.push_str(&format!(" let s{i} = s{} + s{}\n", i - 1, i - 1));
    }
    let text = model_with_rhs("s40")
        .replace(" dV/dt", &format!("{lets} dV/dt"))
        .replace("\n}\nnetwork", "\n integrate exp_euler\n}\nnetwork");
    let started = std::time::Instant::now();
    assert_eq!(compile_codes(text), ["E0403"]);
    assert!(
        started.elapsed().as_secs() < 10,
        "took {:?}",
        started.elapsed()
    );
}
