//! The parser never panics and never points outside the text, whatever it is
//! fed: random strings, random soups of the language's own tokens, and a
//! realistic network file with pieces deleted, duplicated or swapped.

use proptest::prelude::*;
use snnc::diagnostic::render_text;
use snnc::front::parse;
use snnc::front::vocabulary;
use snnc::source::SourceMap;

const COBA: &str = r#"import std.{LIF, Expon, COBA}

/// A leaky neuron with adaptation.
neuron Adapt {
    /// resting potential
    param V_rest: mV = -65 mV
    param tau: ms = 10 ms; param k: 1/mV = 0.07 / mV
    param area: um^2 = 20000 um^2
    param C: pF = (1 uF/cm^2) * area
    state V: mV = V_rest
    state g: [w] = 0
    current I: nA
    let v = (V - V_rest) / mV
    dV/dt = (V_rest - V + 10 Mohm * I) / tau - k * v^2 * 1 mV/ms
    spike when V >= -50 mV and not t < 1 ms
    reset { V = V_rest; if V > 0 mV { g += 1 } else { g = 0 } }
    refractory 2 ms
    integrate rk4
}

synapse Ex { state g: [w] = 0; dg/dt = -g / 5 ms; on_pre { g += w } }
output Cond { param E: mV = 0 mV; I += g * (E - post.V) }

network coba {
    dt = 0.1 ms
    duration = 1 s
    population E = LIF[3200] { V_rest = -60 mV, tau = 20 ms,
                               V ~ uniform(-60 mV, -50 mV) }
    population I = LIF[800] { V = if rand() < 0.5 { -60 mV } else { -55 mV } }
    projection E -> E, I {
        connect fixed_prob(0.02)
        weight normal(0.6 nS, 0.1 nS)
        delay 1.5 ms
        synapse Expon(tau = 5 ms)
        output COBA(E = 0 mV)
    }
    projection I -> E, I { connect all_to_all; weight 6.7 nS; synapse Expon; output COBA(E = -80 mV) }
    stimulus drive: nA[E] from input
    stimulus S: spikes[100] from input
    E.I += drive
    E.I += 3.2 nA * rand()
    record spikes of E, I
    record V, g of E[0:10] every 1 ms
}
"#;

/// Parses `text` and checks every span: in the tree (serialised, so that no
/// node kind is missed, `Error` nodes included) and in the diagnostics. Also
/// renders the diagnostics, which must not panic either.
fn check(text: &str) -> Result<(), TestCaseError> {
    let mut sources = SourceMap::new();
    let id = sources.add("fuzz.snn", text);
    let (file, diags) = parse(id, text);
    let len = text.len() as u32;
    let json = serde_json::to_value(&file).expect("the tree serialises");
    let mut spans = Vec::new();
    collect_spans(&json, &mut spans);
    prop_assert!(!spans.is_empty());
    for (start, end) in spans {
        prop_assert!(
            start <= end && end <= len,
            "tree span {start}..{end} in {len}"
        );
    }
    for d in &diags {
        for label in &d.labels {
            let s = label.span;
            prop_assert!(
                s.start <= s.end && s.end <= len && s.source == id,
                "diagnostic span {:?} in {len}: {}",
                s,
                d.message
            );
            prop_assert!(text.is_char_boundary(s.start as usize));
            prop_assert!(text.is_char_boundary(s.end as usize));
        }
        prop_assert!(d.code.starts_with("E00"), "{}", d.code);
    }
    render_text(&diags, &sources, false);
    Ok(())
}

fn collect_spans(value: &serde_json::Value, out: &mut Vec<(u32, u32)>) {
    match value {
        serde_json::Value::Object(map) => {
            if let (Some(start), Some(end), Some(_)) =
                (map.get("start"), map.get("end"), map.get("source"))
            {
                out.push((start.as_u64().unwrap() as u32, end.as_u64().unwrap() as u32));
                return;
            }
            for v in map.values() {
                collect_spans(v, out);
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| collect_spans(v, out)),
        _ => {}
    }
}

/// Pieces of the language: every word of the vocabulary, operators,
/// brackets, numbers, units, strings, comments and line breaks.
fn token_pieces() -> Vec<String> {
    let mut pieces: Vec<String> = vocabulary::KEYWORDS
        .iter()
        .chain(vocabulary::CONTEXTUAL_KEYWORDS)
        .chain(vocabulary::SETTINGS)
        .chain(vocabulary::BUILTIN_NAMES)
        .chain(vocabulary::RANDOM_FUNCTIONS)
        .chain(vocabulary::CONNECT_RULES)
        .map(|s| s.to_string())
        .collect();
    for p in [
        "+", "-", "*", "/", "^", "**", "=", "+=", "-=", "*=", "/=", "==", "!=", "<", "<=", ">",
        ">=", "&&", "||", "!", "~", "->", ":=", "=>", ":", ";", ",", ".", "(", ")", "[", "]", "{",
        "}", "\n", "\n", "\n", "1", "0.5", "1e-3", "10", "mV", "ms", "nS", "uF", "cm", "µF", "dV",
        "dt", "V", "x", "\"s\"", "\"", "// c\n", "/// d\n", "/*", "*/", "$", "[w]",
    ] {
        pieces.push(p.to_string());
    }
    pieces
}

fn soup() -> impl Strategy<Value = String> {
    let pieces = token_pieces();
    prop::collection::vec(
        (
            prop::sample::select(pieces),
            prop::sample::select(vec!["", " ", "\n"]),
        ),
        0..80,
    )
    .prop_map(|parts| {
        parts
            .into_iter()
            .map(|(p, sep)| format!("{p}{sep}"))
            .collect()
    })
}

/// A byte range of `text` on character boundaries, from two fractions.
fn range(text: &str, a: f64, b: f64) -> std::ops::Range<usize> {
    let boundary = |f: f64| {
        let mut i = ((text.len() as f64) * f) as usize;
        while !text.is_char_boundary(i) {
            i -= 1;
        }
        i
    };
    let (x, y) = (boundary(a), boundary(b));
    x.min(y)..x.max(y)
}

#[derive(Debug, Clone)]
enum Mutation {
    Delete(f64, f64),
    Duplicate(f64, f64),
    Swap(f64, f64, f64, f64),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let f = 0.0..1.0f64;
    prop_oneof![
        (f.clone(), f.clone()).prop_map(|(a, b)| Mutation::Delete(a, b.min(a + 0.05))),
        (f.clone(), f.clone()).prop_map(|(a, b)| Mutation::Duplicate(a, b.min(a + 0.05))),
        (f.clone(), f.clone(), f.clone(), f).prop_map(|(a, b, c, d)| Mutation::Swap(
            a,
            b.min(a + 0.03),
            c,
            d.min(c + 0.03)
        )),
    ]
}

fn mutate(text: &str, m: &Mutation) -> String {
    match *m {
        Mutation::Delete(a, b) => {
            let r = range(text, a, b);
            format!("{}{}", &text[..r.start], &text[r.end..])
        }
        Mutation::Duplicate(a, b) => {
            let r = range(text, a, b);
            format!("{}{}", &text[..r.end], &text[r.start..])
        }
        Mutation::Swap(a, b, c, d) => {
            let (r1, r2) = (range(text, a, b), range(text, c, d));
            let (first, second) = if r1.start <= r2.start {
                (r1, r2)
            } else {
                (r2, r1)
            };
            if first.end > second.start {
                return text.to_string();
            }
            format!(
                "{}{}{}{}{}",
                &text[..first.start],
                &text[second.clone()],
                &text[first.end..second.start],
                &text[first.clone()],
                &text[second.end..]
            )
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn random_strings(text in "\\PC{0,200}") {
        check(&text)?;
    }

    #[test]
    fn random_ascii(text in "[ -~\n]{0,200}") {
        check(&text)?;
    }

    #[test]
    fn token_soup(text in soup()) {
        check(&text)?;
    }

    #[test]
    fn mutated_network(mutations in prop::collection::vec(mutation(), 1..4)) {
        let mut text = COBA.to_string();
        for m in &mutations {
            text = mutate(&text, m);
        }
        check(&text)?;
    }
}

#[test]
fn the_unmutated_network_parses_cleanly() {
    let mut sources = SourceMap::new();
    let id = sources.add("coba.snn", COBA);
    let (_, diags) = parse(id, COBA);
    assert!(diags.is_empty(), "{}", render_text(&diags, &sources, false));
}

/// Deep nesting is reported, not a stack overflow.
#[test]
fn deep_nesting() {
    let n = 5_000;
    let inputs = [
        format!("neuron N {{ let x = {}1{} }}", "(".repeat(n), ")".repeat(n)),
        format!("neuron N {{ let x = {}1 }}", "-".repeat(n)),
        format!("neuron N {{ let x = {}1 }}", "not ".repeat(n)),
        format!("neuron N {{ let x = 2{} }}", "^2".repeat(n)),
        format!("neuron N {{ let x = {}1 }}", "f(".repeat(n)),
        format!("neuron N {{ reset {} }}", "{ if c ".repeat(n)),
        format!("neuron N {{ param x: {}mV }}", "(".repeat(n)),
        format!("neuron N {{ let x = {}1 }}", "if c { ".repeat(n)),
        "{".repeat(n),
        "[".repeat(n),
        "(".repeat(n),
        format!("network n {{ E.I += {}", "[(".repeat(n)),
    ];
    for text in &inputs {
        check(text).unwrap();
        let (_, diags) = parse(snnc::source::SourceId(0), text);
        assert!(
            diags.len() <= 2,
            "{} reports for {}…",
            diags.len(),
            &text[..12]
        );
    }
}
