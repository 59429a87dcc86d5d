//! IR text snapshots and validator checks. The examples in `examples/` are
//! snapshotted once the checker's Program can be lowered; until then the
//! hand-lowered models of `run_support` stand in.

mod run_support;

use run_support::{coba, single_lif};
use snnc::ir::{validate, Expr, Handle, Place, Problem, Slot, UnaryOp, ValidationError, Var};

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
    let errors = validate(&m).unwrap_err();
    assert_eq!(
        errors,
        [
            ValidationError {
                place: Place::Network,
                problem: Problem::DtNotPositive(0.0),
            },
            ValidationError {
                place: Place::Population("N".into()),
                problem: Problem::ResetTargetNotState(Var::Current(0)),
            },
            ValidationError {
                place: Place::Injection(0),
                problem: Problem::OutOfRange {
                    slot: Slot::Current,
                    index: 5,
                },
            },
        ]
    );
    let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
    insta::assert_debug_snapshot!(text);
}

/// A neuron reading the synaptic weight, an expression whose child comes
/// after it in the arena and a held state past the last state: each named,
/// with its handles or index.
#[test]
fn validator_names_loads_forward_references_and_indices() {
    let mut m = single_lif(2e-9, 0.0, 0.1);
    let weight = m.exprs.append(Expr::Load(Var::Weight));
    let after = Handle::new(m.exprs.len() as u32 + 1);
    let forward = m.exprs.append(Expr::Unary(UnaryOp::Neg, after));
    m.populations[0].spike = Some(weight);
    m.populations[0].refractory = Some(snnc::ir::Refractory::Period(forward));
    let states = m.populations[0].states.len() as u32;
    m.populations[0].held = vec![states];
    let problems: Vec<Problem> = validate(&m)
        .unwrap_err()
        .into_iter()
        .map(|e| {
            assert_eq!(e.place, Place::Population("N".into()));
            e.problem
        })
        .collect();
    assert_eq!(
        problems,
        [
            Problem::LoadNotAllowed(Var::Weight),
            Problem::ForwardReference {
                expr: forward,
                child: after,
            },
            Problem::OutOfRange {
                slot: Slot::HeldState,
                index: states,
            },
        ]
    );
}
