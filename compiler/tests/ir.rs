//! IR text snapshots and validator checks. The examples in `examples/` are
//! snapshotted once the checker's Program can be lowered; until then the
//! hand-lowered models of `run_support` stand in.

mod run_support;

use run_support::{coba, single_lif};
use snnc::ir::{validate, Var};

#[test]
fn coba_ir_text() {
    let m = coba(3200, 800, 0.02, 1.0);
    assert!(validate(&m).is_ok());
    insta::assert_snapshot!(m.to_string());
}

#[test]
fn lif_ir_text() {
    let m = single_lif(2e-9, 0.002, 0.1);
    insta::assert_snapshot!(m.to_string());
}

#[test]
fn folded_params_become_constants() {
    let m = single_lif(2e-9, 0.002, 0.1);
    let folded = snnc::ir::fold::fold_params(&m, &|_, q| q == 3);
    assert!(validate(&folded).is_ok());
    insta::assert_snapshot!(folded.to_string());
}

#[test]
fn validator_reports_every_problem() {
    let mut m = single_lif(2e-9, 0.0, 0.1);
    m.populations[0].reset[0].target = Var::Current(0);
    m.injections[0].current = 5;
    m.dt = 0.0;
    let errors: Vec<String> = validate(&m)
        .unwrap_err()
        .iter()
        .map(|e| e.to_string())
        .collect();
    insta::assert_debug_snapshot!(errors);
}
