//! A fuzz target for the whole pipeline, run by `cargo test` (and so by CI):
//! the example models, mutated (seeded byte and token mutations), plus
//! generated deep nesting and flat operator chains, go through check,
//! lowering, IR validation and, when they compile, a few steps on the
//! reference backend. Any panic fails the test with the case's seed and
//! mutant saved for replay; the budget is a case count and a time cap, and
//! the count is printed ("fuzz: N cases, …").
//!
//! `SNNC_FUZZ_CASES=N` and `SNNC_FUZZ_SECONDS=S` change the budget; a
//! `SNNC_FUZZ_SEED` replays another sequence.

use snnc::pipeline::compile_source;
use snnc::run::{run, RunOptions};
use snnc::source::DiskLoader;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// xorshift64*: small, seeded, and the same everywhere.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn examples_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples")
}

fn seeds() -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir(examples_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "snn"))
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect();
    out.sort();
    assert!(out.len() >= 5, "the examples are the fuzz seeds");
    out
}

/// Bytes a mutation inserts: the language's punctuation, line breaks of
/// every kind, a byte order mark, extreme numbers, a multi-byte letter.
const INSERTS: &[&str] = &[
    "(", ")", "{", "}", "[", "]", ",", ";", "+", "-", "*", "/", "^", "=", "~", ".", "\n", "\r",
    "\r\n", "\u{feff}", "0", "-1", "1e308", "1e-308", "0 ms", "-5 ms", "µ", "//", "/*", "\"",
];

/// Numbers a token mutation writes in place of a number.
const NUMBERS: &[&str] = &["0", "-1", "1e308", "1e-320", "0.5", "100000", "3", "1e9"];

fn byte_mutation(text: &str, rng: &mut Rng) -> String {
    let mut bytes = text.as_bytes().to_vec();
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(bytes.len() + 1);
        match rng.below(4) {
            0 => {
                let end = (at + 1 + rng.below(20)).min(bytes.len());
                bytes.drain(at..end);
            }
            1 => {
                let insert = rng.pick(INSERTS).as_bytes().to_vec();
                bytes.splice(at..at, insert);
            }
            2 if at < bytes.len() => bytes[at] = (rng.next() & 0xff) as u8,
            _ => {
                let end = (at + rng.below(40)).min(bytes.len());
                let copy = bytes[at..end].to_vec();
                bytes.splice(at..at, copy);
            }
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Replaces a number by an extreme one, or a word by another word of the
/// file, or swaps, drops or repeats a line.
fn token_mutation(text: &str, rng: &mut Rng) -> String {
    let words: Vec<(usize, usize)> = word_spans(text);
    let mut lines: Vec<&str> = text.lines().collect();
    match rng.below(4) {
        0 | 1 if !words.is_empty() => {
            let (start, end) = *rng.pick(&words);
            let replacement = if text.as_bytes()[start].is_ascii_digit() {
                (*rng.pick(NUMBERS)).to_string()
            } else {
                let (s, e) = *rng.pick(&words);
                text[s..e].to_string()
            };
            format!("{}{}{}", &text[..start], replacement, &text[end..])
        }
        2 if lines.len() > 1 => {
            let (a, b) = (rng.below(lines.len()), rng.below(lines.len()));
            lines.swap(a, b);
            lines.join("\n")
        }
        _ if !lines.is_empty() => {
            let at = rng.below(lines.len());
            if rng.below(2) == 0 {
                lines.remove(at);
            } else {
                lines.insert(at, lines[at]);
            }
            lines.join("\n")
        }
        _ => text.to_string(),
    }
}

/// Byte spans of words and numbers.
fn word_spans(text: &str) -> Vec<(usize, usize)> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_' {
            let start = i;
            while i < bytes.len()
                && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_' || bytes[i] == b'.')
            {
                i += 1;
            }
            out.push((start, i));
        } else {
            i += 1;
        }
    }
    out
}

/// A model whose ODE is deeply nested or a long flat chain.
fn generated(rng: &mut Rng) -> String {
    let n = [10, 60, 70, 250, 260, 2_000, 20_000][rng.below(7)];
    let rhs = match rng.below(5) {
        0 => format!("{}V{}", "(".repeat(n), ")".repeat(n)),
        1 => vec!["V"; n].join(" + "),
        2 => format!("V{}", " * 1".repeat(n)),
        3 => format!("V * ({})", vec!["V > 0 mV"; n].join(" and ")),
        _ => format!("V{}", " * 1 mV/mV".repeat(n)),
    };
    format!(
        "neuron G {{\n state V: mV = 1 mV\n dV/dt = -({rhs}) / (10 ms)\n}}\n\
         network g {{\n dt = 0.1 ms\n duration = 1 ms\n population P = G[3]\n record V of P\n}}\n"
    )
}

/// What one case came to.
#[derive(Default)]
struct Tally {
    cases: usize,
    refused: usize,
    compiled: usize,
    ran: usize,
}

fn short_run(module: &snnc::ir::Module, out: &Path) -> bool {
    let neurons: u64 = module.populations.iter().map(|p| u64::from(p.size)).sum();
    if !(module.dt > 0.0 && module.dt.is_finite()) || neurons > 5_000 {
        return false;
    }
    let mut opts = RunOptions::new(out.to_path_buf());
    opts.duration = Some(module.dt * 5.0);
    opts.memory_limit = Some(1 << 30);
    opts.model_dir = examples_dir();
    let _ = run(module, &opts);
    let _ = std::fs::remove_dir_all(out);
    true
}

fn one_case(text: &str, out: &Path, tally: &mut Tally) {
    let name = examples_dir().join("fuzz.snn").display().to_string();
    let compiled = compile_source(&name, text, &DiskLoader, None);
    // Rendering must not panic either (spans inside the text).
    let _ = snnc::diagnostic::render_text(&compiled.diagnostics, compiled.sources(), false);
    let Some(module) = &compiled.module else {
        tally.refused += 1;
        return;
    };
    tally.compiled += 1;
    if let Err(errors) = snnc::ir::validate::validate(module) {
        panic!("a compiled module is invalid: {errors:?}");
    }
    if short_run(module, out) {
        tally.ran += 1;
    }
}

#[test]
fn mutated_models_never_panic() {
    let cases: usize = env_or("SNNC_FUZZ_CASES", 300);
    let budget = Duration::from_secs(env_or("SNNC_FUZZ_SECONDS", 40));
    let mut rng = Rng(env_or("SNNC_FUZZ_SEED", 0x00f0_22ed_5eed_0016));
    let seeds = seeds();
    let work = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("fuzz-pipeline");
    let started = Instant::now();
    let mut tally = Tally::default();
    let mut panics = Vec::new();
    while tally.cases < cases && started.elapsed() < budget {
        let case_seed = rng.next();
        let mut case_rng = Rng(case_seed | 1);
        let seed = case_rng.pick(&seeds).clone();
        let text = match case_rng.below(10) {
            0 => generated(&mut case_rng),
            1..=4 => byte_mutation(&seed, &mut case_rng),
            _ => token_mutation(&seed, &mut case_rng),
        };
        let out = work.join(format!("case-{}", tally.cases));
        let outcome = catch_unwind(AssertUnwindSafe(|| one_case(&text, &out, &mut tally)));
        tally.cases += 1;
        if outcome.is_err() {
            let saved = work.join(format!("panic-{case_seed:016x}.snn"));
            let _ = std::fs::create_dir_all(&work);
            let _ = std::fs::write(&saved, &text);
            panics.push(saved.display().to_string());
        }
    }
    println!(
        "fuzz: {} cases, {} refused with diagnostics, {} compiled, {} ran on the reference backend, {} panics, {:.1} s",
        tally.cases,
        tally.refused,
        tally.compiled,
        tally.ran,
        panics.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(panics.is_empty(), "panicking mutants saved as {panics:?}");
    assert!(
        tally.cases >= 50,
        "the budget allowed only {} cases",
        tally.cases
    );
    assert!(
        tally.compiled > 0 && tally.refused > 0,
        "mutants both compile and fail"
    );
}
