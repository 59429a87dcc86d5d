//! Drift test between the language's vocabulary and the editor grammar in
//! `spec/snn.tmLanguage.json`: a word added to `front/vocabulary.rs` (or a
//! unit added to the unit table) that the grammar does not highlight fails
//! here, so the editor cannot silently fall behind the compiler.
//!
//! The grammar's regexes are Oniguruma; the rules read here are kept to the
//! subset the `regex` crate understands, except for trailing lookaheads that
//! only restrict context (`min(`, `delay` not followed by `=`), which are
//! stripped before compiling. The full grammar is exercised with the real
//! TextMate engine by `editors/highlight-test`.

use regex::Regex;
use serde_json::Value;
use snnc::front::vocabulary;

const GRAMMAR: &str = include_str!("../../spec/snn.tmLanguage.json");

fn grammar() -> Value {
    serde_json::from_str(GRAMMAR).expect("spec/snn.tmLanguage.json is valid JSON")
}

/// The `match` regex of repository rule `name`.
fn rule_match(grammar: &Value, name: &str) -> String {
    grammar["repository"][name]["match"]
        .as_str()
        .unwrap_or_else(|| panic!("grammar rule `{name}` has no `match`"))
        .to_owned()
}

/// Removes trailing `(?=...)` / `(?!...)` groups, which the `regex` crate
/// does not support; they narrow where a word is highlighted, not which words.
fn strip_trailing_lookaheads(pattern: &str) -> String {
    let mut p = pattern.to_owned();
    loop {
        let Some(open) = matching_open_paren(&p) else {
            return p;
        };
        if p[open..].starts_with("(?=") || p[open..].starts_with("(?!") {
            p.truncate(open);
        } else {
            return p;
        }
    }
}

/// Byte index of the `(` matching a `)` that ends `p`, if `p` ends with one.
fn matching_open_paren(p: &str) -> Option<usize> {
    if !p.ends_with(')') || p.ends_with("\\)") {
        return None;
    }
    let bytes = p.as_bytes();
    let mut opens = Vec::new();
    let mut pairs = Vec::new();
    let mut i = 0;
    let mut in_class = false;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 1,
            b'[' if !in_class => in_class = true,
            b']' if in_class => in_class = false,
            b'(' if !in_class => opens.push(i),
            b')' if !in_class => pairs.push((opens.pop()?, i)),
            _ => {}
        }
        i += 1;
    }
    pairs
        .into_iter()
        .find(|&(_, close)| close == p.len() - 1)
        .map(|(open, _)| open)
}

fn compile(pattern: &str) -> Regex {
    let stripped = strip_trailing_lookaheads(pattern);
    Regex::new(&stripped).unwrap_or_else(|e| panic!("cannot compile `{stripped}`: {e}"))
}

/// True when `re`, run on `sample`, matches `word` exactly at `word`'s place
/// in the sample, as the whole match or as one capture group.
fn highlights(re: &Regex, sample: &str, word: &str) -> bool {
    let at = sample.find(word).expect("sample contains the word");
    re.captures_iter(sample).any(|caps| {
        caps.iter()
            .flatten()
            .any(|m| m.start() == at && m.as_str() == word)
    })
}

/// Every word of `words`, put in `template` (`{}` is the word), must be
/// highlighted by one of `rules`; returns the words that are not.
fn missing(grammar: &Value, rules: &[&str], template: &str, words: &[&str]) -> Vec<String> {
    let regexes: Vec<Regex> = rules
        .iter()
        .map(|r| compile(&rule_match(grammar, r)))
        .collect();
    words
        .iter()
        .filter(|w| {
            let sample = template.replace("{}", w);
            !regexes.iter().any(|re| highlights(re, &sample, w))
        })
        .map(|w| w.to_string())
        .collect()
}

const KEYWORD_RULES: &[&str] = &[
    "keyword-control",
    "keyword-import",
    "keyword-model",
    "keyword-member",
    "keyword-event",
    "keyword-network",
    "keyword-contextual",
    "keyword-logical",
    "constant-boolean",
];

#[test]
fn every_keyword_is_highlighted() {
    let g = grammar();
    let missing = missing(&g, KEYWORD_RULES, "{} ", vocabulary::KEYWORDS);
    assert!(
        missing.is_empty(),
        "keywords not in the grammar: {missing:?}"
    );
}

#[test]
fn every_contextual_keyword_is_highlighted() {
    let g = grammar();
    let words = vocabulary::CONTEXTUAL_KEYWORDS;
    let missing = missing(&g, &["keyword-contextual"], "{} E", words);
    assert!(
        missing.is_empty(),
        "contextual keywords not in the grammar: {missing:?}"
    );
}

#[test]
fn every_function_is_highlighted() {
    let g = grammar();
    let math = missing(&g, &["function-math"], "{}(x)", vocabulary::MATH_FUNCTIONS);
    let random = missing(
        &g,
        &["function-random"],
        "{}(x)",
        vocabulary::RANDOM_FUNCTIONS,
    );
    let connect = missing(
        &g,
        &["function-connect"],
        "{}(x)",
        vocabulary::CONNECT_RULES,
    );
    assert!(
        math.is_empty(),
        "math functions not in the grammar: {math:?}"
    );
    assert!(
        random.is_empty(),
        "random functions not in the grammar: {random:?}"
    );
    assert!(
        connect.is_empty(),
        "connect rules not in the grammar: {connect:?}"
    );
}

#[test]
fn every_integration_method_is_highlighted() {
    let g = grammar();
    let words = vocabulary::INTEGRATION_METHODS;
    let missing = missing(&g, &["integrate-statement"], "integrate {}\n", words);
    assert!(
        missing.is_empty(),
        "integration methods not in the grammar: {missing:?}"
    );
}

#[test]
fn every_builtin_and_setting_is_highlighted() {
    let g = grammar();
    let builtins = missing(&g, &["builtin-variable"], "{} ", vocabulary::BUILTIN_NAMES);
    let settings = missing(&g, &["setting"], "    {} = 1", vocabulary::SETTINGS);
    assert!(
        builtins.is_empty(),
        "builtins not in the grammar: {builtins:?}"
    );
    assert!(
        settings.is_empty(),
        "settings not in the grammar: {settings:?}"
    );
}

/// Units the language reference and the examples use; the full table check
/// against `units::unit_names()` is below.
const SPEC_UNITS: &[&str] = &[
    "ms", "s", "mV", "V", "nS", "uS", "nA", "pA", "uA", "pF", "uF", "cm", "um", "Mohm", "Hz", "mM",
    "1",
];

/// The unit part of `#quantity` and `#type-annotation` must be the same
/// alternation as `#unit-name`, which the unit tests below exercise.
#[test]
fn unit_regex_is_shared() {
    let g = grammar();
    let unit = rule_match(&g, "unit-name");
    let body = unit
        .strip_prefix("\\b")
        .and_then(|u| u.strip_suffix("\\b"))
        .expect("#unit-name is `\\b(...)\\b`");
    for rule in ["quantity", "type-annotation"] {
        assert!(
            rule_match(&g, rule).contains(body),
            "#{rule} does not use the #unit-name alternation"
        );
    }
}

fn missing_units(units: &[&str]) -> Vec<String> {
    let g = grammar();
    let re = compile(&rule_match(&g, "unit-name"));
    units
        .iter()
        .filter(|u| **u != "1")
        .filter(|u| !highlights(&re, &format!(" {u} "), u))
        .map(|u| u.to_string())
        .collect()
}

#[test]
fn spec_units_are_highlighted() {
    let missing = missing_units(SPEC_UNITS);
    assert!(missing.is_empty(), "units not in the grammar: {missing:?}");
}

/// The check must be able to fail: a word no rule knows is reported.
#[test]
fn an_unknown_word_is_reported() {
    let g = grammar();
    assert_eq!(
        missing(&g, KEYWORD_RULES, "{} ", &["spike", "synapse_group"]),
        vec!["synapse_group".to_string()]
    );
    assert_eq!(
        missing_units(&["mV", "furlong"]),
        vec!["furlong".to_string()]
    );
}

/// Every unit the checker knows, bare and with every SI prefix, is highlighted
/// as a unit: adding a unit to `front/units` without the grammar fails here.
#[test]
fn every_unit_name_is_highlighted() {
    let mut names: Vec<String> = snnc::front::units::unit_names().collect();
    let bases = names.clone();
    for (prefix, _) in snnc::front::units::prefixes() {
        names.extend(bases.iter().map(|b| format!("{prefix}{b}")));
    }
    let names: Vec<&str> = names
        .iter()
        .map(String::as_str)
        .filter(|n| snnc::front::units::is_unit_name(n))
        .collect();
    assert!(names.len() > 50, "too few unit names to be meaningful");
    let missing = missing_units(&names);
    assert!(missing.is_empty(), "units not in the grammar: {missing:?}");
}
