//! The semantic checker: the shipped examples and stdlib check clean, and
//! each kind of mistake is reported with its code.

use snnc::front::check::check_source;
use snnc::source::NoFiles;

fn errors(text: &str) -> Vec<String> {
    let out = check_source("test.snn", text, &NoFiles);
    out.diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| format!("{} {}", d.code, d.message))
        .collect()
}

fn codes(text: &str) -> Vec<&'static str> {
    let out = check_source("test.snn", text, &NoFiles);
    out.diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| d.code)
        .collect()
}

#[test]
fn examples_check_clean() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("snn") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let name = path.display().to_string();
        let out = check_source(&name, &text, &snnc::source::DiskLoader);
        let errs: Vec<_> = out.diagnostics.iter().filter(|d| d.is_error()).collect();
        assert!(errs.is_empty(), "{name}: {errs:#?}");
        seen += 1;
    }
    assert!(seen >= 5, "found only {seen} examples");
}

#[test]
fn stdlib_checks_clean() {
    for (module, _, _) in snnc::stdlib::MODULES {
        let errs = errors(&format!("import std.{module}.*"));
        assert!(errs.is_empty(), "std.{module}: {errs:#?}");
    }
}

#[test]
fn unknown_import_name_suggests() {
    let out = check_source("test.snn", "import std.{LIF, Expn}", &NoFiles);
    assert_eq!(out.diagnostics.len(), 1, "{:#?}", out.diagnostics);
    assert_eq!(out.diagnostics[0].code, "E0101");
    assert_eq!(
        out.diagnostics[0].help.as_deref(),
        Some("did you mean `Expon`?")
    );
}

#[test]
fn unknown_module() {
    assert_eq!(codes("import std.neuronz.{LIF}"), ["E0101"]);
    assert_eq!(codes("import models.cortex.{X}"), ["E0101"]);
}

#[test]
fn parse_errors_are_included() {
    assert!(!check_source("test.snn", "neuron N { param }", &NoFiles)
        .diagnostics
        .is_empty());
}

#[test]
fn duplicate_member() {
    let src = "neuron N {\n param tau: ms = 10 ms\n state tau: mV = 0 mV\n}";
    assert_eq!(codes(src), ["E0102"]);
}

#[test]
fn unknown_name_suggests() {
    let src = "neuron N {\n param tau: ms = 10 ms\n state V: mV = 0 mV\n dV/dt = -V / tua\n}";
    let out = check_source("test.snn", src, &NoFiles);
    let codes: Vec<_> = out.diagnostics.iter().map(|d| d.code).collect();
    assert_eq!(codes, ["E0103"]);
    assert_eq!(
        out.diagnostics[0].help.as_deref(),
        Some("did you mean `tau`?")
    );
}

#[test]
fn post_only_in_synapses() {
    assert_eq!(
        codes("synapse S { on_pre { post.V += w } }"),
        Vec::<&str>::new()
    );
    assert_eq!(
        codes("neuron N { state V: mV = 0 mV\n spike when post.V > 0 mV }"),
        ["E0103"]
    );
}

#[test]
fn add_mismatch() {
    let src = "neuron N { param a: mV = 1 mV\n param b: ms = 1 ms\n let c = a + b }";
    assert_eq!(errors(src), ["E0201 expected mV, found ms"]);
}

#[test]
fn ode_missing_time_constant() {
    let src = "neuron N { param E: mV = 0 mV\n state V: mV = 0 mV\n dV/dt = E - V }";
    let out = check_source("test.snn", src, &NoFiles);
    assert_eq!(out.diagnostics.len(), 1, "{:#?}", out.diagnostics);
    assert_eq!(out.diagnostics[0].code, "E0202");
    assert_eq!(out.diagnostics[0].message, "expected mV/ms, found mV");
    assert_eq!(
        out.diagnostics[0].help.as_deref(),
        Some("divide by a time constant such as `tau`")
    );
}

#[test]
fn bare_number_default() {
    let out = check_source("test.snn", "neuron N { param V_rest: mV = -65 }", &NoFiles);
    assert_eq!(out.diagnostics.len(), 1, "{:#?}", out.diagnostics);
    assert_eq!(out.diagnostics[0].code, "E0203");
    assert!(out.diagnostics[0]
        .help
        .as_deref()
        .unwrap()
        .contains("-65 mV"));
}

#[test]
fn zero_fits_any_unit() {
    assert!(errors("neuron N { state V: mV = 0\n state g: nS = 0 }").is_empty());
}

#[test]
fn exp_of_quantity() {
    let src = "neuron N { param a: mV = 1 mV\n let b = exp(a) }";
    assert_eq!(codes(src), ["E0204"]);
}

#[test]
fn unknown_unit() {
    assert_eq!(codes("neuron N { param a: mVolt = 1 mV }"), ["E0205"]);
}

#[test]
fn local_names_shadow_units() {
    // `m` is a state here, not the metre; `1 - m` is dimensionless.
    let src = "neuron N { state m: 1 = 0.5\n param r: 1/ms = 1 / ms\n dm/dt = r * (1 - m) }";
    assert!(errors(src).is_empty(), "{:?}", errors(src));
}

#[test]
fn weight_unit_in_synapses() {
    let src = "synapse S { param tau: ms = 5 ms\n state g: [w] = 0\n dg/dt = -g / tau\n on_pre { g += 1 mV } }";
    assert_eq!(codes(src), ["E0203"]);
}

#[test]
fn network_names() {
    let src = "import std.{LIF, Expon, CUBA}\nnetwork n {\n population E = LIFF[10]\n population F = LIF[10] { tau = 20 mV, taux = 1 ms }\n projection E -> G { connect all_to_all; weight 1 nA; synapse Expon; output CUBA }\n}";
    assert_eq!(codes(src), ["E0301", "E0203", "E0302", "E0103"]);
}

#[test]
fn projection_clauses() {
    let net = |clauses: &str| {
        format!(
            "import std.{{LIF, Expon, COBA}}\nnetwork n {{\n population E = LIF[10]\n projection E -> E {{\n connect all_to_all\n {clauses}\n }}\n}}"
        )
    };
    assert!(errors(&net(
        "weight 6 nS\n synapse Expon(g = 1 nS)\n output COBA(E = 0 mV)"
    ))
    .is_empty());
    assert_eq!(
        errors(&net("weight 6 nS\n synapse Expon(g = 1 mV)\n output COBA")),
        ["E0203 expected nS, found mV"]
    );
    assert_eq!(
        codes(&net("weight 6 nS\n synapse Expn\n delay 1 mV")),
        ["E0301", "E0203"]
    );
    assert_eq!(
        codes(&net(
            "weight 6 nS\n synapse Expon(tau_x = 1 ms)\n output Expon"
        )),
        ["E0302", "E0301"]
    );
}

#[test]
fn output_pairs_with_synapse_and_post_neuron() {
    let net = |post: &str, syn: &str| {
        format!(
            "import std.*\nnetwork n {{\n population E = LIF[10]\n population P = {post}[10]\n projection E -> P {{\n connect all_to_all\n weight 1 nA\n synapse {syn}\n output CUBA\n }}\n}}"
        )
    };
    assert!(
        errors(&net("LIF", "Expon")).is_empty(),
        "{:?}",
        errors(&net("LIF", "Expon"))
    );
    assert_eq!(
        errors(&net("PoissonSource", "Expon")),
        ["E0302 output `CUBA` adds to `I`, but neuron `PoissonSource` has no current `I`"]
    );
    assert_eq!(
        errors(&net("LIF", "Delta")),
        [
            // Delta writes `post.V += w` itself: a current weight does not fit.
            "E0306 expected a weight in mV (a voltage), found nA",
            "E0302 output `CUBA` reads `g`, but synapse `Delta` has no state `g`",
        ]
    );
}

#[test]
fn network_statements() {
    let net = |body: &str| {
        format!("import std.{{LIF}}\nnetwork n {{\n population E = LIF[10]\n stimulus drive: nA[E] from input\n {body}\n}}")
    };
    assert!(errors(&net(
        "dt = 0.1 ms\n E.I += drive\n record V of E[0:3] every 1 ms"
    ))
    .is_empty());
    assert_eq!(errors(&net("dt = 0.1 mV")), ["E0203 expected ms, found mV"]);
    assert_eq!(codes(&net("dtt = 0.1 ms")), ["E0103"]);
    assert_eq!(errors(&net("E.I += 2 mV")), ["E0203 expected nA, found mV"]);
    assert_eq!(codes(&net("E.J += drive")), ["E0302"]);
    assert_eq!(codes(&net("F.I += drive")), ["E0103"]);
    assert_eq!(
        codes(&net("record Vm of E\n record spikes of X")),
        ["E0302", "E0103"]
    );
}

#[test]
fn rendered_ode_error_points_at_the_rhs() {
    let src = "neuron N {\n    param E: mV = 0 mV\n    state V: mV = 0 mV\n    dV/dt = E - V\n}\n";
    let out = check_source("n.snn", src, &NoFiles);
    let text = snnc::diagnostic::render_text(&out.diagnostics, &out.sources, false);
    println!("{text}");
    assert!(text.contains("E0202"), "{text}");
    assert!(text.contains("expected mV/ms, found mV"), "{text}");
    assert!(text.contains("n.snn:4"), "{text}");
}

/// Every prefix of every shipped file (cut mid-token, mid-block) checks
/// without panicking.
#[test]
fn truncated_files_never_panic() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
    let mut texts: Vec<String> = snnc::stdlib::MODULES
        .iter()
        .map(|(_, _, t)| t.to_string())
        .collect();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) == Some("snn") {
            texts.push(std::fs::read_to_string(&path).unwrap());
        }
    }
    for text in &texts {
        for cut in (0..text.len())
            .step_by(13)
            .filter(|&c| text.is_char_boundary(c))
        {
            check_source("cut.snn", &text[..cut], &NoFiles);
        }
    }
}

#[test]
fn unknown_name_suggests_a_unit() {
    let out = check_source("test.snn", "neuron N { param a: mV = 1 mv }", &NoFiles);
    // `1 mv` is a quantity with an unknown unit (E0205); the fix is `mV`.
    let helps: Vec<_> = out
        .diagnostics
        .iter()
        .filter_map(|d| d.help.as_deref())
        .collect();
    assert!(
        helps.iter().any(|h| h.contains("`mV`")),
        "{:#?}",
        out.diagnostics
    );
}

/// Serves `models/cortex.snn` from memory.
struct OneModule;

impl snnc::source::SourceLoader for OneModule {
    fn load(&self, _from: &str, path: &[String]) -> Result<(String, String), String> {
        if path == ["models", "cortex"] {
            Ok((
                "models/cortex.snn".into(),
                "import std.{Expon}\nneuron Pyr { state V: mV = 0 mV\n current I: nA\n param tau: ms = 10 ms\n dV/dt = -V / tau + I / nS / tau }".into(),
            ))
        } else {
            Err(format!("no module `{}`", path.join(".")))
        }
    }
}

#[test]
fn user_modules_load_through_the_loader() {
    let src = "import models.cortex.{Pyr}\nnetwork n { population E = Pyr[4] { tau = 5 ms } }";
    let out = check_source("main.snn", src, &OneModule);
    assert!(out.diagnostics.is_empty(), "{:#?}", out.diagnostics);
    assert!(out.sources.lookup("models/cortex.snn").is_some());

    let out = check_source("main.snn", "import models.cortex.{Pyramidal}", &OneModule);
    let codes: Vec<_> = out.diagnostics.iter().map(|d| d.code).collect();
    assert_eq!(codes, ["E0101"]);
}

#[test]
fn import_clashing_with_a_definition() {
    let src = "import std.{LIF}\nneuron LIF { state V: mV = 0 mV }";
    assert_eq!(codes(src), ["E0102"]);
}

#[test]
fn defaults_use_only_earlier_params() {
    assert!(
        errors("neuron N { param a: mV = 1 mV\n param b: mV = a\n state V: mV = b }").is_empty()
    );
    assert_eq!(
        errors("neuron N { param b: mV = a\n param a: mV = 1 mV }"),
        ["E0103 `a` cannot be used here"]
    );
    assert_eq!(
        errors("neuron N { state U: mV = 0 mV\n state V: mV = U }"),
        ["E0103 `U` cannot be used here"]
    );
}

#[test]
fn members_in_the_wrong_kind_of_model() {
    assert_eq!(codes("synapse S { current I: nA }"), ["E0104"]);
    assert_eq!(codes("neuron N { on_pre { } }"), ["E0104"]);
    assert_eq!(codes("output O { state g: nS = 0 }"), ["E0104"]);
}

/// A network with populations `A` (size `na`) and `B` (size `nb`) and one
/// projection `A -> B` with the given clauses.
fn projection(na: u32, nb: u32, clauses: &str) -> String {
    format!(
        "import std.*\nnetwork n {{\n population A = LIF[{na}]\n population B = LIF[{nb}]\n projection A -> B {{\n {clauses}\n }}\n}}"
    )
}

fn with_connect(rule: &str) -> String {
    projection(
        100,
        10,
        &format!("connect {rule}\n weight 0.1 nA\n synapse Expon\n output CUBA"),
    )
}

#[test]
fn connect_rules_and_their_arguments() {
    for ok in [
        "all_to_all",
        "all_to_all(autapses = false)",
        "fixed_prob(0)",
        "fixed_prob(1)",
        "fixed_prob(0.1, autapses = true)",
        "fixed_in_degree(100)", // k == size of the source: every source once
        "fixed_in_degree(0)",
        "fixed_out_degree(10)", // k == size of the target
        "from_file(\"edges.npy\")",
    ] {
        let errs = errors(&with_connect(ok));
        assert!(errs.is_empty(), "{ok}: {errs:?}");
    }
    for bad in [
        "fixed_prob(1.5)",
        "fixed_prob(-0.1)",
        "fixed_prob(0.1 ms)",
        "fixed_prob(rand())",
        "fixed_prob",
        "fixed_prob(0.1, 0.2)",
        "fixed_in_degree(101)",
        "fixed_in_degree(2.5)",
        "fixed_in_degree(-1)",
        "fixed_out_degree(11)",
        "one_to_one",
        "one_to_one(autapses = false)",
        "all_to_all(3)",
        "all_to_all(autapse = false)",
        "all_to_all(autapses = 1)",
        "from_file(42)",
        "from_file(\"e.npy\", autapses = false)",
        "fixed_probability(0.1)",
    ] {
        let c = codes(&with_connect(bad));
        assert!(
            !c.is_empty() && c.iter().all(|c| *c == "E0304"),
            "{bad}: {c:?}"
        );
    }
    let help = |rule: &str| {
        let out = check_source("test.snn", &with_connect(rule), &NoFiles);
        out.diagnostics[0].help.clone().unwrap_or_default()
    };
    assert_eq!(help("fixed_probability(0.1)"), "did you mean `fixed_prob`?");
    assert_eq!(help("fixed_prb(0.1)"), "did you mean `fixed_prob`?");
    assert_eq!(
        help("all_to_all(autapse = false)"),
        "did you mean `autapses`?"
    );
    // Equal sizes are what one_to_one needs.
    let same = projection(
        10,
        10,
        "connect one_to_one\n weight 0.1 nA\n synapse Expon\n output CUBA",
    );
    assert!(errors(&same).is_empty(), "{:?}", errors(&same));
}

#[test]
fn in_degree_is_bounded_by_every_source() {
    let src = "import std.*\nnetwork n {\n population A = LIF[100]\n population C = LIF[5]\n population B = LIF[10]\n projection A, C -> B {\n connect fixed_in_degree(50)\n weight 0.1 nA\n synapse Expon\n output CUBA\n }\n}";
    let errs = errors(src);
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(errs[0].contains("`C` has only 5 neurons"), "{errs:?}");
}

#[test]
fn population_sizes() {
    let net = |size: &str| format!("import std.LIF\nnetwork n {{\n population E = LIF[{size}]\n}}");
    assert!(errors(&net("1")).is_empty());
    assert!(errors(&net("4000")).is_empty());
    for bad in ["0", "10.5", "-3", "10 ms", "\"ten\""] {
        assert_eq!(codes(&net(bad)), ["E0305"], "{bad}");
    }
}

#[test]
fn duplicate_population_and_stimulus_names() {
    let src = "import std.LIF\nnetwork n {\n population E = LIF[10]\n stimulus E: spikes[5] from input\n}";
    assert_eq!(codes(src), ["E0102"]);
}

#[test]
fn required_and_repeated_clauses() {
    let p = |clauses: &str| codes(&projection(10, 10, clauses));
    assert_eq!(
        p("connect all_to_all\n synapse Expon\n output CUBA"),
        ["E0303"]
    );
    assert_eq!(p("weight 1 nA\n synapse Expon\n output CUBA"), ["E0303"]);
    assert_eq!(
        p("connect all_to_all\n weight 1 nA\n output CUBA"),
        ["E0303"]
    );
    // Expon writes no `post.X`: it needs an output.
    assert_eq!(
        p("connect all_to_all\n weight 1 nA\n synapse Expon"),
        ["E0303"]
    );
    // Delta writes `post.V` itself: no output needed; delay defaults to 0 ms.
    assert!(p("connect all_to_all\n weight 0.5 mV\n synapse Delta").is_empty());
    assert_eq!(
        p("connect all_to_all\n weight 1 nA\n weight 2 nA\n synapse Expon\n output CUBA"),
        ["E0303"]
    );
}

#[test]
fn weight_unit_must_fit_the_output() {
    let p = |w: &str, out: &str| {
        errors(&projection(
            10,
            10,
            &format!("connect all_to_all\n weight {w}\n synapse Expon\n output {out}"),
        ))
    };
    assert!(p("6 nS", "COBA").is_empty());
    assert!(p("normal(0.6 nS, 0.1 nS)", "COBA").is_empty());
    assert!(p("50 pA", "CUBA").is_empty());
    assert_eq!(
        p("6 nA", "COBA"),
        ["E0306 expected a weight in nS (a conductance), found nA"]
    );
    assert_eq!(
        p("6 nS", "CUBA"),
        ["E0306 expected a weight in nA (a current), found nS"]
    );
    // The synapse's own states follow the weight too.
    assert!(p("6 nS", "COBA").is_empty());
    let delta = |w: &str| {
        errors(&projection(
            10,
            10,
            &format!("connect all_to_all\n weight {w}\n synapse Delta"),
        ))
    };
    assert!(delta("0.5 mV").is_empty());
    assert_eq!(
        delta("1 nS"),
        ["E0306 expected a weight in mV (a voltage), found nS"]
    );
    // The error is at the weight, with the fix.
    let out = check_source(
        "test.snn",
        &projection(
            10,
            10,
            "connect all_to_all\n weight 6 nA\n synapse Expon\n output COBA",
        ),
        &NoFiles,
    );
    let d = &out.diagnostics[0];
    let at = d.primary_span().unwrap();
    assert_eq!(&out.sources.get(at.source).text[at.range()], "6 nA");
    assert_eq!(
        d.help.as_deref(),
        Some("write the weight in nS: `weight 6 nS`")
    );
}

#[test]
fn post_variables_are_checked_against_the_real_neuron() {
    let src = |body: &str, weight: &str| {
        format!(
            "import std.{{LIF, HH}}\nsynapse S {{\n on_pre {{ {body} }}\n}}\nnetwork n {{\n population A = LIF[10]\n population B = HH[10]\n projection A -> B {{\n connect all_to_all\n weight {weight}\n synapse S\n }}\n}}"
        )
    };
    assert!(errors(&src("post.V += w", "1 mV")).is_empty());
    let errs = errors(&src("post.Vm += w", "1 mV"));
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(errs[0].starts_with("E0103"), "{errs:?}");
    let out = check_source("test.snn", &src("post.Vm += w", "1 mV"), &NoFiles);
    assert_eq!(
        out.diagnostics[0].help.as_deref(),
        Some("did you mean `post.V`?")
    );
    // A fixed unit that does not fit the real post variable.
    assert_eq!(codes(&src("post.V += 1 nA", "1 mV")), ["E0203"]);
    // Reading `pre.X` of the real source neuron.
    assert!(errors(&src("post.V += w * pre.V / mV", "1 mV")).is_empty());
    assert_eq!(codes(&src("post.V += w * pre.Vx / mV", "1 mV")), ["E0103"]);
}

#[test]
fn spike_train_stimulus_is_only_a_source() {
    let src = "import std.*\nnetwork n {\n population E = LIF[10]\n stimulus S: spikes[10] from input\n projection S -> E { connect one_to_one; weight 1 nA; synapse Expon; output CUBA }\n projection E -> S { connect one_to_one; weight 1 nA; synapse Expon; output CUBA }\n}";
    let c = codes(src);
    assert!(c.contains(&"E0301"), "{c:?}");
}
