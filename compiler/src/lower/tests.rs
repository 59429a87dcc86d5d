//! Lowering refusals, matched by variant rather than by message text.

use super::{lower_network, LowerError};
use crate::front::ast::Item;
use crate::front::check::check_source;
use crate::ir::Module;
use crate::source::NoFiles;

/// Check `text` (which must pass the checker) and lower its one network.
fn lower_text(text: &str) -> Result<Module, LowerError> {
    let checked = check_source("test.snn", text, &NoFiles);
    assert!(!checked.has_errors(), "{:?}", checked.diagnostics);
    let root = checked.root();
    let net = root
        .ast
        .items
        .iter()
        .find_map(|item| match item {
            Item::Network(n) => Some(n),
            _ => None,
        })
        .expect("one network");
    lower_network(net, &root.scope)
}

/// `a = b` on one branch and `b = a` on the other: the new `a` needs the old
/// `b` and the new `b` the old `a`, and no order of single assignments gives
/// that (spec/errors.md, E0401).
#[test]
fn a_block_assigning_crosswise_is_refused_at_the_block() {
    let text = "
neuron Swap {
    state a: mV = 0 mV
    state b: mV = 1 mV
    current I: nA
    da/dt = -a / (10 ms)
    db/dt = -b / (10 ms)
    spike when a >= 1 mV
    reset {
        if a > b { a = b } else { b = a }
    }
}
network swap {
    population P = Swap[1]
}";
    let err = lower_text(text).unwrap_err();
    let LowerError::Crosswise { span } = err else {
        panic!("not refused as crosswise: {err:?}");
    };
    assert!(text[span.start as usize..].starts_with('{'), "{span:?}");
    assert_eq!(err.code(), "E0401");
}

/// A stimulus declared for `E` read by an injection into `F` is named as
/// such, not as a name that cannot be read.
#[test]
fn a_stimulus_injected_into_another_population_is_named() {
    let text = "
import std.LIF
network drive {
    population E = LIF[2]
    population F = LIF[2]
    stimulus drive: nA[E] from \"drive.npy\"
    F.I += drive
}";
    let err = lower_text(text).unwrap_err();
    let LowerError::StimulusOfAnotherPopulation {
        stimulus,
        population,
        ..
    } = &err
    else {
        panic!("not refused as a stimulus of another population: {err:?}");
    };
    assert_eq!((stimulus.as_str(), population.as_str()), ("drive", "F"));
}

/// A constant delay of 10 s at dt = 0.1 ms is 100000 steps, past the 65535
/// a synapse table holds (E0404), and carries both numbers as given.
#[test]
fn a_delay_past_the_table_is_e0404_with_its_numbers() {
    let text = "
import std.{LIF, Delta}
network late {
    dt = 0.1 ms
    population A = LIF[2]
    projection A -> A {
        connect all_to_all
        weight 1 mV
        delay 10 s
        synapse Delta
    }
}";
    let err = lower_text(text).unwrap_err();
    assert_eq!(err.code(), "E0404");
    let LowerError::DelaySteps { delay, dt, .. } = err else {
        panic!("not refused as a delay out of range: {err:?}");
    };
    assert_eq!((delay, dt), (10.0, 1e-4));
    assert_eq!((delay / dt).round(), 100_000.0);
}
