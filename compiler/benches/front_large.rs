//! Front-end speed on a generated 5,000-line model file.
//!
//! Run with `cargo bench -p snnc --bench front_large`. Prints the median time to
//! parse and to check the file, and the ratio to a baseline measured in the same process
//! (lexing alone), so the number is comparable across machines.

use snnc::source::SourceMap;
use std::fmt::Write;
use std::time::{Duration, Instant};

/// A realistic file: many neuron models with params, states, lets and ODEs, and
/// one network wiring populations of them.
fn generate(lines_wanted: usize) -> String {
    let mut s = String::from("import std.{Expon, COBA}\n\n");
    let mut i = 0;
    while s.lines().count() + 40 < lines_wanted {
        writeln!(
            s,
            "/// Generated adaptive neuron {i}.
neuron N{i} {{
    param V_rest: mV = -65 mV
    param V_th: mV = -50 mV
    param tau: ms = {tau} ms
    param tau_w: ms = 100 ms
    param a: nS = 2 nS
    param b: nA = 0.05 nA
    param R: Mohm = 100 Mohm
    state V: mV = V_rest
    state w: nA = 0
    current I: nA
    let drive = R * (I - w)
    dV/dt = (V_rest - V + drive) / tau
    dw/dt = (a * (V - V_rest) - w) / tau_w
    spike when V >= V_th
    reset {{ V = V_rest; w += b }}
    refractory 2 ms
}}
",
            tau = 10 + i % 20
        )
        .unwrap();
        i += 1;
    }
    s.push_str("network big {\n    dt = 0.1 ms\n    duration = 1 s\n");
    for k in 0..i {
        writeln!(s, "    population P{k} = N{k}[100] {{ tau = 20 ms }}").unwrap();
    }
    for k in 0..i {
        writeln!(
            s,
            "    projection P{k} -> P{} {{ connect fixed_prob(0.1); weight 1 nS; synapse Expon(tau = 5 ms); output COBA(E = 0 mV) }}",
            (k + 1) % i
        )
        .unwrap();
    }
    s.push_str("}\n");
    s
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
