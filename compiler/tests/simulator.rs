//! Compile once, run many (`snnc::run::Simulator`, the Python binding's
//! engine): recordings in memory equal the files `snnc run` writes, bit for
//! bit; reruns with other values compile nothing; arrays are refused as the
//! same data in a file would be.

use std::path::{Path, PathBuf};

use snnc::ir::Module;
use snnc::pipeline::compile_source;
use snnc::run::{run, Backend, Precision, RunError, RunOptions, Simulator, Sweep};
use snnc::source::DiskLoader;
use snnc_runtime::array_file::{read_npy, NumericArray};
use snnc_runtime::{FileRole, RuntimeError};

fn example(name: &str) -> (Module, PathBuf) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
    let path = dir.join(name);
    let text = std::fs::read_to_string(&path).expect("example readable");
    let compiled = compile_source(&path.display().to_string(), &text, &DiskLoader, None);
    (compiled.module.expect("example compiles"), dir)
}

fn out_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("snnc-sim-tests-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn npy(path: &Path) -> NumericArray {
    read_npy(&FileRole::Stimulus("test".into()), path, |_| Ok(())).expect("npy readable")
}

fn drive(dir: &Path) -> NumericArray {
    npy(&dir.join("data/drive.npy"))
}

fn options(backend: Backend, precision: Precision, out: PathBuf, dir: &Path) -> RunOptions {
    let mut opts = RunOptions::new(out);
    opts.backend = backend;
    opts.precision = precision;
    opts.model_dir = dir.to_path_buf();
    opts
}

#[test]
fn memory_recordings_equal_the_files_of_a_run_bit_for_bit() {
    let (m, dir) = example("stimulus_file.snn");
    for (backend, precision) in [
        (Backend::Cranelift, Precision::F32),
        (Backend::Reference, Precision::F64),
    ] {
        let out = out_dir(&format!("files-{backend:?}"));
        let mut opts = options(backend, precision, out.clone(), &dir);
        opts.inputs
            .push(("drive".into(), dir.join("data/drive.npy")));
        let summary = run(&m, &opts).expect("file run");

        let mut sim = Simulator::new(m.clone(), dir.clone());
        let inputs = [("drive".to_string(), drive(&dir))];
        let got = sim.run(&opts, &inputs, None).expect("memory run");
        assert_eq!(got.summary.populations, summary.populations);

        let spikes = npy(&out.join("spikes_E.npy"));
        let rows: Vec<f64> = got.recorded.spikes[0]
            .rows
            .iter()
            .map(|&x| f64::from(x))
            .collect();
        assert!(!rows.is_empty(), "{backend:?}: the example spikes");
        assert_eq!(rows, spikes.data, "{backend:?}: spikes");

        let trace = npy(&out.join("trace_E_V.npy"));
        let mem = &got.recorded.traces[0];
        assert_eq!((mem.population.as_str(), mem.state.as_str()), ("E", "V"));
        assert_eq!(mem.values, trace.data, "{backend:?}: trace");
        // `every 1 ms` at dt = 0.1 ms over 1000 steps: steps 0, 10, …, 990.
        assert_eq!(mem.steps, (0..100).map(|k| k * 10).collect::<Vec<u64>>());
        assert_eq!(trace.shape, vec![100, 3]);
    }
}

#[test]
fn reruns_with_other_values_compile_nothing() {
    let (m, dir) = example("coba.snn");
    let mut sim = Simulator::new(m, dir.clone());
    let mut opts = options(Backend::Cranelift, Precision::F32, out_dir("unused"), &dir);
    opts.duration = Some(0.01);
    let sweep = |values: Vec<f64>| Sweep {
        population: "E".into(),
        param: "tau".into(),
        from: values[0],
        to: values[values.len() - 1],
        values,
    };
    let mut rates = Vec::new();
    for k in 0..10 {
        opts.sweeps = vec![sweep(vec![0.010 + 0.002 * f64::from(k)])];
        let out = sim.run(&opts, &[], None).expect("run");
        rates.push(out.summary.populations[0].spikes);
    }
    assert_eq!(sim.compiles(), 1, "ten values of E.tau: one compilation");
    // The last run again, with kernels and tables from the caches: the
    // same spikes as a fresh run of its own.
    let again = sim.run(&opts, &[], None).expect("rerun").recorded;
    let fresh = Simulator::new(sim.module().clone(), dir.clone())
        .run(&opts, &[], None)
        .expect("fresh run")
        .recorded;
    assert_eq!(again, fresh);
    assert!(!fresh.spikes[0].rows.is_empty());
    assert!(
        rates.windows(2).any(|w| w[0] != w[1]),
        "tau changes the run: {rates:?}"
    );

    // Batch, duration and a batch sweep: still the same code.
    opts.batch = 3;
    opts.duration = Some(0.005);
    opts.sweeps = vec![sweep(vec![0.01, 0.02, 0.03])];
    sim.run(&opts, &[], None).expect("batched run");
    assert_eq!(sim.compiles(), 1);

    // The seed is compiled into the draws: a new seed compiles once, and
    // going back to an earlier one finds its kernels in the cache.
    opts.seed = Some(7);
    sim.run(&opts, &[], None).expect("seed 7");
    assert_eq!(sim.compiles(), 2);
    opts.seed = None;
    sim.run(&opts, &[], None).expect("default seed again");
    assert_eq!(sim.compiles(), 2);

    // Another set of params kept as loads is other code.
    opts.sweeps = vec![Sweep {
        param: "R".into(),
        ..sweep(vec![1e8, 1e8, 1e8])
    }];
    sim.run(&opts, &[], None).expect("R sweep");
    assert_eq!(sim.compiles(), 3);
}

#[test]
fn arrays_are_refused_like_files_naming_expected_and_found() {
    let (m, dir) = example("stimulus_file.snn");
    let mut sim = Simulator::new(m, dir.clone());
    let opts = options(Backend::Cranelift, Precision::F32, out_dir("bad"), &dir);
    let bad = NumericArray {
        shape: vec![5, 7],
        data: vec![0.0; 35],
    };
    let err = sim.run(&opts, &[("drive".into(), bad)], None).unwrap_err();
    let RunError::Runtime(RuntimeError::Shape {
        expected, found, ..
    }) = &err
    else {
        panic!("expected a shape error, got {err}");
    };
    assert_eq!(found, &vec![5, 7]);
    assert!(expected.contains("[T, 10]"), "{expected}");
    assert!(err.to_string().contains("inputs['drive']"), "{err}");

    let err = sim
        .run(
            &opts,
            &[("drive".into(), drive(&dir)), ("nope".into(), drive(&dir))],
            None,
        )
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("no input named 'nope'") && err.contains("(inputs: drive)"),
        "{err}"
    );
    let err = sim.run(&opts, &[], None).unwrap_err().to_string();
    assert!(err.contains("input 'drive' is not bound"), "{err}");
    assert_eq!(sim.compiles(), 0, "refused before compiling");
}

#[test]
fn a_stop_request_ends_the_run_at_a_chunk_boundary() {
    let (m, dir) = example("coba.snn");
    let mut sim = Simulator::new(m, dir.clone());
    let mut opts = options(Backend::Cranelift, Precision::F32, out_dir("stop"), &dir);
    opts.duration = Some(0.5);
    let mut asked = 0;
    let mut stop = || {
        asked += 1;
        asked == 3
    };
    let err = sim.run(&opts, &[], Some(&mut stop)).unwrap_err();
    // Asked at steps 0, 1000 and 2000: stopped at the third.
    assert!(
        matches!(
            err,
            RunError::Runtime(RuntimeError::Interrupted { step: 2000, .. })
        ),
        "{err}"
    );
}
