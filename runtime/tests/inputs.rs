//! Files read before a run: connectivity from_file, stimuli, spike trains.
//! Every error message is checked word for word.

mod common;

use common::{scratch, write_npy, write_npy_order};
use snnc_runtime::connectivity_file::from_file;
use snnc_runtime::spike_train::load_spike_train;
use snnc_runtime::stimulus::{load_stimulus, StimulusLayout};
use snnc_runtime::RuntimeError;

#[test]
fn connectivity_npy_pairs_and_weights() {
    let dir = scratch("conn-npy");
    let pairs = dir.join("pairs.npy");
    write_npy::<i64>(&pairs, &[4, 2], &[2, 0, 0, 1, 2, 3, 0, 0]);
    let c = from_file("EI", &pairs, 3, 4).unwrap();
    assert_eq!(c.structure.row_ptr, vec![0, 2, 2, 4]);
    // Rows keep the file's order.
    assert_eq!(c.structure.cols, vec![1, 0, 0, 3]);
    assert_eq!(c.weights, None);

    let weighted = dir.join("weighted.npy");
    write_npy::<f64>(&weighted, &[2, 3], &[1.0, 2.0, 0.5, 0.0, 1.0, 0.25]);
    let c = from_file("EI", &weighted, 3, 4).unwrap();
    assert_eq!(c.structure.cols, vec![1, 2]);
    assert_eq!(c.weights, Some(vec![0.25, 0.5]));
}

#[test]
fn connectivity_csv() {
    let dir = scratch("conn-csv");
    let path = dir.join("c.csv");
    std::fs::write(&path, "pre,post,weight\n1,2,0.5\n0,1,1.5\n").unwrap();
    let c = from_file("EE", &path, 2, 3).unwrap();
    assert_eq!(c.structure.row_ptr, vec![0, 1, 2]);
    assert_eq!(c.structure.cols, vec![1, 2]);
    assert_eq!(c.weights, Some(vec![1.5, 0.5]));

    std::fs::write(&path, "source,target\n1,2\n").unwrap();
    let err = from_file("EE", &path, 2, 3).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "projection 'EE' connectivity ({}): expected header 'pre,post' or 'pre,post,weight', found 'source,target'",
            path.display()
        )
    );
    std::fs::write(&path, "pre,post\n1,2\n0,x\n").unwrap();
    let err = from_file("EE", &path, 2, 3).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "projection 'EE' connectivity ({}): line 3, column 2: 'x' is not a number",
            path.display()
        )
    );
    std::fs::write(&path, "pre,post\n1,2\n0\n").unwrap();
    let err = from_file("EE", &path, 2, 3).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "projection 'EE' connectivity ({}): line 3 has 1 columns, expected 2",
            path.display()
        )
    );
}

#[test]
fn connectivity_bad_indices_and_shapes() {
    let dir = scratch("conn-bad");
    let path = dir.join("bad.npy");
    write_npy::<i32>(&path, &[2, 2], &[0, 1, 3, 1]);
    let err = from_file("EE", &path, 3, 3).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "projection 'EE' connectivity ({}): entry 1: pre index 3 is not an integer in 0..3",
            path.display()
        )
    );
    write_npy::<i32>(&path, &[1, 2], &[0, -1]);
    let err = from_file("EE", &path, 3, 3).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "projection 'EE' connectivity ({}): entry 0: post index -1 is not an integer in 0..3",
            path.display()
        )
    );
    write_npy::<f32>(&path, &[1, 2], &[0.5, 1.0]);
    let err = from_file("EE", &path, 3, 3).unwrap_err();
    assert!(
        err.to_string()
            .ends_with("entry 0: pre index 0.5 is not an integer in 0..3"),
        "{err}"
    );
    write_npy::<i32>(&path, &[3, 4], &[0; 12]);
    let err = from_file("EE", &path, 3, 3).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "projection 'EE' connectivity ({}): expected shape [E, 2] (pre, post) or [E, 3] (pre, post, weight), found [3, 4]",
            path.display()
        )
    );
    let missing = dir.join("missing.npy");
    let err = from_file("EE", &missing, 3, 3).unwrap_err();
    assert!(
        err.to_string().starts_with(&format!(
            "projection 'EE' connectivity ({}): ",
            missing.display()
        )),
        "{err}"
    );
    // A header claiming far more rows than the file holds.
    write_npy::<i32>(&path, &[2, 2], &[0, 1, 1, 0]);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes.truncate(bytes.len() - 4);
    std::fs::write(&path, &bytes).unwrap();
    let err = from_file("EE", &path, 3, 3).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "projection 'EE' connectivity ({}): the header's shape [2, 2] needs more than the 12 data bytes the file has (truncated file?)",
            path.display()
        )
    );
    std::fs::write(&path, b"not an npy file").unwrap();
    let err = from_file("EE", &path, 3, 3).unwrap_err();
    assert!(err.to_string().contains("not a valid .npy file"), "{err}");
}

#[test]
fn stimulus_shapes_and_dtypes() {
    let dir = scratch("stim");
    let path = dir.join("drive.npy");
    // [T, N] of int32, converted.
    write_npy::<i32>(&path, &[2, 3], &[1, 2, 3, 4, 5, 6]);
    let s = load_stimulus("drive", &path, 3, 1).unwrap();
    assert_eq!(s.layout, StimulusLayout::PerStep { steps: 2 });
    assert_eq!(s.row(1, 0), Some(&[4.0, 5.0, 6.0][..]));
    assert_eq!(s.row(2, 0), None);
    // [N] constant, f32.
    write_npy::<f32>(&path, &[3], &[0.5, 1.5, 2.5]);
    let s = load_stimulus("drive", &path, 3, 4).unwrap();
    assert_eq!(s.layout, StimulusLayout::Constant);
    assert_eq!(s.value(1_000_000, 3, 2), Some(2.5));
    // [T, B, N], u8.
    write_npy::<u8>(&path, &[2, 2, 3], &[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    let s = load_stimulus("drive", &path, 3, 2).unwrap();
    assert_eq!(
        s.layout,
        StimulusLayout::PerStepPerBatch { steps: 2, batch: 2 }
    );
    assert_eq!(s.row(1, 0), Some(&[6.0, 7.0, 8.0][..]));
    assert_eq!(s.value(1, 1, 0), Some(9.0));
    // Fortran order is reordered to C order.
    write_npy_order::<f64>(
        &path,
        &[2, 3],
        &[1.0, 4.0, 2.0, 5.0, 3.0, 6.0],
        npyz::Order::Fortran,
    );
    let s = load_stimulus("drive", &path, 3, 1).unwrap();
    assert_eq!(s.values, vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);

    // The message from the brief, exactly.
    write_npy::<f64>(&path, &[100, 32], &vec![0.0; 3200]);
    let err = load_stimulus("drive", &path, 3200, 1).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "stimulus 'drive' ({}): expected shape [T, 3200] or [T, B, 3200] or [3200] with T ≥ 1, found [100, 32]",
            path.display()
        )
    );
    // Batch mismatch names the run's batch.
    write_npy::<f64>(&path, &[1, 3, 2], &[0.0; 6]);
    let err = load_stimulus("drive", &path, 2, 4).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "stimulus 'drive' ({}): expected shape [T, 2] or [T, 4, 2] or [2] with T ≥ 1, found [1, 3, 2]",
            path.display()
        )
    );
    // T = 0 is refused.
    write_npy::<f64>(&path, &[0, 2], &[]);
    let err = load_stimulus("drive", &path, 2, 1).unwrap_err();
    assert!(err.to_string().ends_with("found [0, 2]"), "{err}");
    // A dtype that is not a number.
    write_npy::<bool>(&path, &[2], &[true, false]);
    let err = load_stimulus("drive", &path, 2, 1).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "stimulus 'drive' ({}): expected a float or integer array, found dtype '|b1'",
            path.display()
        )
    );
}

#[test]
fn stimulus_csv() {
    let dir = scratch("stim-csv");
    let path = dir.join("drive.csv");
    std::fs::write(&path, "n0,n1\n1.0,2\n3,4e-3\n").unwrap();
    let s = load_stimulus("drive", &path, 2, 1).unwrap();
    assert_eq!(s.values, vec![1.0, 2.0, 3.0, 4e-3]);
    std::fs::write(&path, "1,2,3\n4,5,6\n").unwrap();
    let err = load_stimulus("drive", &path, 2, 1).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "stimulus 'drive' ({}): expected shape [T, 2] or [T, B, 2] or [2] with T ≥ 1, found [2, 3]",
            path.display()
        )
    );
}

#[test]
fn spike_trains_from_npy_and_csv() {
    let dir = scratch("spikes");
    let path = dir.join("input.npy");
    // (neuron, time s) with dt = 0.1 ms: steps 10, 0, 10, 25.
    write_npy::<f64>(
        &path,
        &[4, 2],
        &[1.0, 1e-3, 0.0, 0.0, 0.0, 1e-3, 2.0, 2.5e-3],
    );
    let train = load_spike_train("input", &path, 3, 1e-4).unwrap();
    assert_eq!(train.steps, vec![0, 10, 10, 25]);
    assert_eq!(train.at(10), &[0, 1]);
    assert_eq!(train.at(0), &[0]);
    assert!(train.at(11).is_empty());
    assert_eq!(train.end_step(), 26);

    let csv = dir.join("input.csv");
    std::fs::write(&csv, "neuron,time\n2,0.0002\n").unwrap();
    let train = load_spike_train("input", &csv, 3, 1e-4).unwrap();
    assert_eq!(train.at(2), &[2]);

    write_npy::<f64>(&path, &[1, 2], &[3.0, 0.0]);
    let err = load_spike_train("input", &path, 3, 1e-4).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "spike train 'input' ({}): entry 0: neuron index 3 is not an integer in 0..3",
            path.display()
        )
    );
    write_npy::<f64>(&path, &[1, 2], &[0.0, -1.0]);
    let err = load_spike_train("input", &path, 3, 1e-4).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "spike train 'input' ({}): entry 0: spike time -1 s must be finite and ≥ 0",
            path.display()
        )
    );
    write_npy::<f64>(&path, &[2, 3], &[0.0; 6]);
    let err = load_spike_train("input", &path, 3, 1e-4).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "spike train 'input' ({}): expected shape [K, 2] (neuron, time in seconds), found [2, 3]",
            path.display()
        )
    );
    std::fs::write(&csv, "time,neuron\n0,1\n").unwrap();
    let err = load_spike_train("input", &csv, 3, 1e-4).unwrap_err();
    assert!(
        err.to_string()
            .ends_with("expected header 'neuron,time', found 'time,neuron'"),
        "{err}"
    );
}

// Input rules, one test each (README "Inputs", spec "Stimuli"): the message
// names the file, the position and the value.

#[test]
fn a_stimulus_shorter_than_the_run_is_refused_and_a_longer_one_or_a_constant_is_accepted() {
    let dir = scratch("stim-short");
    let path = dir.join("drive.npy");
    write_npy::<f64>(&path, &[4, 2], &[0.0; 8]);
    let s = load_stimulus("drive", &path, 2, 1).unwrap();
    assert_eq!(
        s.require_steps(&path, 5).unwrap_err().to_string(),
        format!(
            "stimulus 'drive' ({}): the run has 5 steps but the file has 4 rows (one row per step; \
             give a file of at least 5 rows, a shorter --duration, or an [N] array for a constant drive)",
            path.display()
        )
    );
    // As many rows as steps, or more: accepted (the extra rows are unused).
    assert!(s.require_steps(&path, 4).is_ok());
    assert!(s.require_steps(&path, 3).is_ok());
    // [T, B, N] follows the same rule.
    write_npy::<f64>(&path, &[3, 2, 2], &[0.0; 12]);
    let s = load_stimulus("drive", &path, 2, 2).unwrap();
    assert!(matches!(
        s.require_steps(&path, 4),
        Err(RuntimeError::StimulusTooShort {
            rows: 3,
            steps: 4,
            ..
        })
    ));
    // [N] is constant in time: it covers any run.
    write_npy::<f64>(&path, &[2], &[1.0, 2.0]);
    let s = load_stimulus("drive", &path, 2, 1).unwrap();
    assert!(s.require_steps(&path, 1_000_000).is_ok());
}

#[test]
fn nan_and_inf_in_an_npy_stimulus_are_refused_with_their_index() {
    let dir = scratch("stim-nan");
    let path = dir.join("drive.npy");
    write_npy::<f64>(&path, &[2, 3], &[0.0, 1.0, 2.0, 3.0, f64::NAN, 5.0]);
    let err = load_stimulus("drive", &path, 3, 1).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "stimulus 'drive' ({}): element [1, 1] is NaN; every value must be a finite number",
            path.display()
        )
    );
    write_npy::<f32>(&path, &[3], &[0.0, 0.0, f32::NEG_INFINITY]);
    let err = load_stimulus("drive", &path, 3, 1).unwrap_err();
    assert!(err.to_string().contains("element [2] is -inf"), "{err}");
}

#[test]
fn nan_and_inf_in_a_csv_are_refused_with_line_and_column() {
    let dir = scratch("stim-csv-nan");
    let path = dir.join("drive.csv");
    std::fs::write(&path, "a,b\n1,2\n3,nan\n").unwrap();
    let err = load_stimulus("drive", &path, 2, 1).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "stimulus 'drive' ({}): line 3, column 2 is NaN; every value must be a finite number",
            path.display()
        )
    );
    std::fs::write(&path, "inf,2\n").unwrap();
    let err = load_stimulus("drive", &path, 2, 1).unwrap_err();
    assert!(err.to_string().contains("line 1, column 1 is inf"), "{err}");
}

#[test]
fn a_nan_weight_in_a_connectivity_file_is_refused() {
    let dir = scratch("conn-nan");
    let path = dir.join("c.npy");
    write_npy::<f64>(&path, &[2, 3], &[0.0, 1.0, 0.5, 1.0, 0.0, f64::NAN]);
    let err = from_file("EE", &path, 2, 2).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "projection 'EE' connectivity ({}): element [1, 2] is NaN; every value must be a finite number",
            path.display()
        )
    );
    let csv = dir.join("c.csv");
    std::fs::write(&csv, "pre,post,weight\n0,1,inf\n").unwrap();
    let err = from_file("EE", &csv, 2, 2).unwrap_err();
    assert!(err.to_string().contains("line 2, column 3 is inf"), "{err}");
}

#[test]
fn an_infinite_spike_time_is_refused() {
    let dir = scratch("spikes-inf");
    let path = dir.join("s.npy");
    write_npy::<f64>(&path, &[1, 2], &[0.0, f64::INFINITY]);
    let err = load_spike_train("S", &path, 2, 1e-4).unwrap_err();
    assert!(err.to_string().contains("element [0, 1] is inf"), "{err}");
}

#[test]
fn trailing_bytes_after_npy_data_are_refused() {
    let dir = scratch("npy-trailing");
    let path = dir.join("drive.npy");
    write_npy::<f64>(&path, &[2], &[1.0, 2.0]);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes.extend_from_slice(&[0u8; 8]);
    std::fs::write(&path, &bytes).unwrap();
    let err = load_stimulus("drive", &path, 2, 1).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "stimulus 'drive' ({}): 8 bytes follow the data of the header's shape [2]: the file holds more than one array (or its header is wrong)",
            path.display()
        )
    );
}
