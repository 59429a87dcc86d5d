//! Front-end speed on a generated 5,000-line model file.
//!
//! Run with `cargo bench -p snnc --bench front_large`. Prints the median time to
//! parse and to check the file, and the ratio to a baseline measured in the same process
//! (lexing alone), so the number is comparable across machines.

use snnc::source::SourceMap;
use std::fmt::Write;
use std::time::{Duration, Instant};

#[path = "support/generated_model.rs"]
mod generated_model;

/// The generated model with about `lines_wanted` lines (20 per neuron model).
fn generate(lines_wanted: usize) -> String {
    generated_model::model(lines_wanted.saturating_sub(40) / 20)
}

fn median(mut f: impl FnMut(), runs: usize) -> Duration {
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect();
    times.sort();
    times[runs / 2]
}

/// One neuron with `n` params, each with a default that reads the one
/// before it (the case that was quadratic: each default saw a copy of every
/// earlier name).
fn many_params(n: usize) -> String {
    let mut s = String::from("neuron Wide {\n    param p0: mV = 1 mV\n");
    for i in 1..n {
        writeln!(s, "    param p{i}: mV = p{} + 1 mV", i - 1).unwrap();
    }
    s.push_str("    state V: mV = p0\n    dV/dt = -V / ms\n}\n");
    s
}

/// Check time for 20k and 40k params with defaults: linear means the second
/// is about twice the first (the target is under 1 s for 40k in release).
fn bench_params() {
    let mut times = Vec::new();
    for n in [20_000, 40_000] {
        let text = many_params(n);
        let t = median(
            || {
                let out =
                    snnc::front::check::check_source("wide.snn", &text, &snnc::source::NoFiles);
                assert!(
                    out.diagnostics.iter().all(|d| !d.is_error()),
                    "the generated model checks cleanly"
                );
                std::hint::black_box(out);
            },
            5,
        );
        println!(
            "  check {n} params with defaults: {:>9.3} ms ({} bytes)",
            t.as_secs_f64() * 1e3,
            text.len()
        );
        times.push(t.as_secs_f64());
    }
    println!("  40k / 20k: {:.2}x (2x is linear)", times[1] / times[0]);
}

fn main() {
    bench_params();
    let text = generate(5_000);
    let lines = text.lines().count();
    let mut sources = SourceMap::new();
    let id = sources.add("big.snn", text.as_str());

    let lex = median(
        || {
            std::hint::black_box(snnc::front::lexer::lex(id, &text));
        },
        21,
    );
    let parse = median(
        || {
            let (tree, diags) = snnc::front::parse(id, &text);
            assert!(diags.is_empty(), "generated model must parse cleanly");
            std::hint::black_box(tree);
        },
        21,
    );
    let check = median(
        || {
            let out = snnc::front::check::check_source("big.snn", &text, &snnc::source::NoFiles);
            let errors: Vec<_> = out.diagnostics.iter().filter(|d| d.is_error()).collect();
            assert!(
                errors.is_empty(),
                "generated model must check cleanly: {errors:?}"
            );
            std::hint::black_box(out);
        },
        11,
    );
    println!(
        "front end on a generated model: {lines} lines, {} bytes",
        text.len()
    );
    println!("  lex   (baseline) {:>9.3} ms", lex.as_secs_f64() * 1e3);
    println!(
        "  parse            {:>9.3} ms  ({:.1}x lexing, {:.0} lines/ms)",
        parse.as_secs_f64() * 1e3,
        parse.as_secs_f64() / lex.as_secs_f64(),
        lines as f64 / (parse.as_secs_f64() * 1e3)
    );
    println!(
        "  check (all)      {:>9.3} ms  ({:.1}x lexing; parse + imports + names + units)",
        check.as_secs_f64() * 1e3,
        check.as_secs_f64() / lex.as_secs_f64()
    );
}
