//! Recordings read back with npyz after every flush, interrupted files,
//! summary.json and the memory check.

mod common;

use common::{read_npy, scratch};
use snnc_runtime::memory::{
    check, estimate, parse_mem_available, PopulationSize, ProjectionSize, RecordingSize, RunSizes,
};
use snnc_runtime::npy_stream::NpyStreamWriter;
use snnc_runtime::record::{SpikeRecorder, TraceRecorder};
use snnc_runtime::summary::{RunFacts, Summary};

#[test]
fn spikes_are_readable_after_every_flush() {
    let dir = scratch("rec-spikes");
    let path = dir.join("spikes.npy");
    // A 24-byte buffer: every second spike triggers a flush by itself.
    let mut rec = SpikeRecorder::create(&path, 24).unwrap();
    // Nothing recorded, nothing on disk: a run refused before its first
    // step leaves no file.
    assert!(!path.exists());
    rec.record(0, 5, 0).unwrap();
    // Buffered, not yet on disk.
    assert!(!path.exists());
    rec.record(1, 7, 1).unwrap();
    assert_eq!(read_npy::<u32>(&path), (vec![2, 3], vec![0, 5, 0, 1, 7, 1]));
    rec.record_step(4, 0, &[1, 2, 3]).unwrap();
    rec.flush().unwrap();
    let (shape, data) = read_npy::<u32>(&path);
    assert_eq!(shape, vec![5, 3]);
    assert_eq!(&data[6..], &[4, 1, 0, 4, 2, 0, 4, 3, 0]);
    assert_eq!(rec.count(), 5);
    assert_eq!(rec.finish().unwrap(), 5);
}

#[test]
fn a_recorder_dropped_without_rows_leaves_no_file_and_finish_writes_an_empty_array() {
    let dir = scratch("rec-lazy");
    let dropped = dir.join("dropped.npy");
    drop(SpikeRecorder::create(&dropped, 24).unwrap());
    assert!(!dropped.exists());
    let finished = dir.join("finished.npy");
    assert_eq!(
        SpikeRecorder::create(&finished, 24)
            .unwrap()
            .finish()
            .unwrap(),
        0
    );
    let (shape, data) = read_npy::<u32>(&finished);
    assert_eq!((shape, data.len()), (vec![0, 3], 0));
}

#[test]
fn an_interrupted_run_leaves_what_was_flushed() {
    let dir = scratch("rec-interrupted");
    let path = dir.join("v.npy");
    let mut rec = TraceRecorder::<f32>::create(&path, 4, None, 1 << 20).unwrap();
    rec.sample(&[1.0, 2.0, 3.0, 4.0]).unwrap();
    rec.flush().unwrap();
    rec.sample(&[5.0, 6.0, 7.0, 8.0]).unwrap();
    // The process dies here: no flush, no drop.
    std::mem::forget(rec);
    assert_eq!(
        read_npy::<f32>(&path),
        (vec![1, 4], vec![1.0, 2.0, 3.0, 4.0])
    );

    // Dropping without finish flushes what is buffered.
    let mut rec = TraceRecorder::<f64>::create(&path, 2, None, 1 << 20).unwrap();
    rec.sample(&[0.5, 1.5]).unwrap();
    drop(rec);
    assert_eq!(read_npy::<f64>(&path), (vec![1, 2], vec![0.5, 1.5]));
}

#[test]
fn batched_traces_and_many_flushes() {
    let dir = scratch("rec-batched");
    let path = dir.join("g.npy");
    let mut rec = TraceRecorder::<f64>::create(&path, 3, Some(2), 100).unwrap();
    let mut all = Vec::new();
    for step in 0..500 {
        let sample: Vec<f64> = (0..6).map(|k| f64::from(step * 10 + k)).collect();
        rec.sample(&sample).unwrap();
        all.extend_from_slice(&sample);
        if step % 97 == 0 && step > 0 {
            // Mid-run, the file holds a prefix of whole samples.
            let (shape, data) = read_npy::<f64>(&path);
            assert_eq!(&shape[1..], &[2, 3]);
            assert_eq!(data, all[..data.len()]);
            assert!(data.len() as u64 == shape[0] * 6);
        }
    }
    assert!(
        rec.sample(&[1.0; 4]).is_err(),
        "a partial sample is refused"
    );
    assert_eq!(rec.finish().unwrap(), 500);
    assert_eq!(read_npy::<f64>(&path), (vec![500, 2, 3], all));
}

#[test]
fn header_is_a_valid_npy_header() {
    let dir = scratch("rec-header");
    let path = dir.join("x.npy");
    let mut w = NpyStreamWriter::<i32>::create(&path, &[], 8).unwrap();
    w.push_rows(&[-1, 2, 3]).unwrap();
    w.finish().unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let header_len = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
    assert_eq!((10 + header_len) % 64, 0, "header padded to 64 bytes");
    assert_eq!(bytes[9 + header_len], b'\n');
    assert_eq!(read_npy::<i32>(&path), (vec![3], vec![-1, 2, 3]));
}

#[test]
fn summary_json_round_trip() {
    let dir = scratch("summary");
    let path = dir.join("summary.json");
    let summary = Summary::from_facts(RunFacts {
        backend: "reference".to_string(),
        precision: "f64".to_string(),
        batch: 2,
        seed: 7,
        dt_s: 1e-4,
        steps: 10_000,
        wall_s: 2.0,
        synaptic_events: 1_000_000,
        threads: 2,
        spikes: vec![("E".to_string(), 100, 4000)],
    });
    // 4000 spikes / (100 neurons · 2 items · 1 s) = 20 Hz.
    assert!((summary.populations[0].rate_hz - 20.0).abs() < 1e-9);
    assert!((summary.steps_per_s - 5000.0).abs() < 1e-9);
    assert!((summary.synaptic_events_per_s - 500_000.0).abs() < 1e-9);
    summary.write_json(&path).unwrap();
    let back: Summary = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(back, summary);
}

#[test]
fn memory_estimate_and_refusal() {
    let sizes = RunSizes {
        batch: 1,
        precision_bytes: 4,
        populations: vec![PopulationSize {
            neurons: 1000,
            states: 4,
        }],
        projections: vec![ProjectionSize {
            pre_neurons: 1000,
            synapses: 1 << 30,
            per_synapse_weights: true,
            per_synapse_delays: false,
            post_states: 1,
            post_neurons: 1000,
            max_delay_steps: 9,
        }],
        recordings: vec![RecordingSize {
            buffer_bytes: 4 << 20,
        }],
        per_item_bytes: 0,
        input_bytes: 0,
    };
    let e = estimate(&sizes);
    assert_eq!(e.neuron_state, 16_000);
    assert_eq!(e.synapse_tables, 8 * (1 << 30) + 8 * 1001);
    assert_eq!(e.ring_buffers, 10 * 1000 * 4);
    assert!(check(&e, e.total()).is_ok());
    let err = check(&e, 3 << 30).unwrap_err();
    assert_eq!(
        err.to_string(),
        "this run needs about 8.0 GiB (8.0 GiB synapse tables, 4.0 MiB recording buffers, \
         39.1 KiB spike ring buffers, 15.6 KiB neuron state, 3.9 KiB synapse state) \
         but 3.0 GiB is available"
    );
    let meminfo = "MemTotal:       32000000 kB\nMemFree: 1 kB\nMemAvailable:   24000000 kB\n";
    assert_eq!(parse_mem_available(meminfo), Some(24_000_000 * 1024));
    assert_eq!(parse_mem_available("MemTotal: 5 kB\n"), None);
}

#[test]
fn memory_estimate_counts_per_item_bytes_and_saturates() {
    let sizes = |batch| RunSizes {
        batch,
        precision_bytes: 4,
        populations: vec![PopulationSize {
            neurons: 4000,
            states: 5,
        }],
        projections: Vec::new(),
        recordings: Vec::new(),
        per_item_bytes: 100,
        input_bytes: 80,
    };
    // 4000 neurons × 5 states × 4 bytes × 3 items; 100 bytes × 3 items; 80 bytes of input.
    let e = estimate(&sizes(3));
    assert_eq!(e.neuron_state, 240_000);
    assert_eq!(e.batch_items, 300);
    assert_eq!(e.total(), 240_000 + 300 + 80);
    // A batch that overflows u64 arithmetic saturates instead of wrapping.
    assert_eq!(estimate(&sizes(u64::MAX / 2)).total(), u64::MAX);
}
