//! `snnc._snnc`: the Rust half of the Python package. It compiles models
//! (diagnostics become `snnc.CompileError`), keeps each one as a
//! [`Simulator`] (compile once, run many) and runs it with the GIL released,
//! handing recordings back as numpy arrays. The pure-Python half
//! (`python/snnc/`) wraps these in `Model` and `Results` with docstrings and
//! plotting.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use numpy::{PyArray1, PyArrayMethods, PyReadonlyArrayDyn, PyUntypedArrayMethods};
use pyo3::create_exception;
use pyo3::exceptions::{PyException, PyKeyboardInterrupt, PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use snnc::diagnostic::{render_text, Diagnostic};
use snnc::front::units::Dimension;
use snnc::ir::{InputKind, Module};
use snnc::pipeline::{compile_source, Compiled};
use snnc::run::args::{declared_dimension, parse_param_value, parse_time};
use snnc::run::inputs::array_source;
use snnc::run::{
    Backend, Precision, RunError, RunOptions, RunOutput, Simulator, Sweep, NO_CUDA_FEATURE,
};
use snnc::source::{DiskLoader, NoFiles, SourceLoader, SourceMap};
use snnc_runtime::array_file::{is_csv, read_csv, read_npy, NumericArray};
use snnc_runtime::{FileRole, RuntimeError};

create_exception!(
    _snnc,
    CompileError,
    PyException,
    "A model that does not compile. `str(e)` is the report `snnc compile` prints; \
     `e.diagnostics` lists one dict per diagnostic (severity, code, message, file, \
     line, column, end_line, end_column, notes, help)."
);

/// One diagnostic as a dict; positions are 1-based, of the primary label.
fn diagnostic_dict<'py>(
    py: Python<'py>,
    d: &Diagnostic,
    sources: &SourceMap,
) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    dict.set_item("severity", if d.is_error() { "error" } else { "warning" })?;
    dict.set_item("code", d.code)?;
    dict.set_item("message", &d.message)?;
    let position = d.primary_span().map(|span| {
        let file = sources.get(span.source);
        let (line, column) = file.line_col(span.start as usize);
        let (end_line, end_column) = file.line_col(span.end as usize);
        (file.name.clone(), line, column, end_line, end_column)
    });
    let (file, line, column, end_line, end_column) = match position {
        Some((f, l, c, el, ec)) => (Some(f), Some(l), Some(c), Some(el), Some(ec)),
        None => (None, None, None, None, None),
    };
    dict.set_item("file", file)?;
    dict.set_item("line", line)?;
    dict.set_item("column", column)?;
    dict.set_item("end_line", end_line)?;
    dict.set_item("end_column", end_column)?;
    dict.set_item("notes", d.notes.clone())?;
    dict.set_item("help", d.help.clone())?;
    Ok(dict)
}

/// `CompileError` for a failed compilation: the CLI's report and the list.
fn compile_error(py: Python<'_>, compiled: &Compiled, name: &str) -> PyErr {
    let errors = compiled.diagnostics.iter().filter(|d| d.is_error()).count();
    let report = format!(
        "{}error: `{name}` has {errors} error{}",
        render_text(&compiled.diagnostics, compiled.sources(), false),
        if errors == 1 { "" } else { "s" }
    );
    let err = CompileError::new_err(report);
    let list: PyResult<Vec<Bound<'_, PyDict>>> = compiled
        .diagnostics
        .iter()
        .map(|d| diagnostic_dict(py, d, compiled.sources()))
        .collect();
    match list.and_then(|l| PyList::new(py, l)) {
        Ok(list) => match err.value(py).setattr("diagnostics", list) {
            Ok(()) => err,
            Err(e) => e,
        },
        Err(e) => e,
    }
}

/// A run error as the Python exception a user expects: bad arguments and
/// bad input data are `ValueError`, a stop request `KeyboardInterrupt`, the
/// rest `RuntimeError`.
fn run_error(e: RunError) -> PyErr {
    match &e {
        RunError::Options(_) => PyValueError::new_err(e.to_string()),
        RunError::Runtime(RuntimeError::Interrupted { .. }) => {
            PyKeyboardInterrupt::new_err(e.to_string())
        }
        RunError::Runtime(
            RuntimeError::Shape { .. }
            | RuntimeError::UnsupportedDtype { .. }
            | RuntimeError::IndexOutOfRange { .. }
            | RuntimeError::BadSpikeTime { .. }
            | RuntimeError::Io { .. }
            | RuntimeError::Malformed { .. },
        ) => PyValueError::new_err(e.to_string()),
        _ => PyRuntimeError::new_err(e.to_string()),
    }
}

/// A compiled model, ready to run many times.
#[pyclass(frozen, module = "snnc._snnc")]
struct Model {
    simulator: Mutex<Simulator>,
    /// Every param as (population, param, declared dimension).
    declared: Vec<(String, String, Option<Dimension>)>,
    /// Stimuli with a default file (`from "data/drive.npy"`), resolved.
    default_inputs: Vec<(String, PathBuf)>,
}

fn model_from(
    py: Python<'_>,
    name: &str,
    text: &str,
    loader: &dyn SourceLoader,
    model_dir: PathBuf,
    network: Option<&str>,
) -> PyResult<Model> {
    let mut compiled = compile_source(name, text, loader, network);
    let Some(module) = compiled.module.take() else {
        return Err(compile_error(py, &compiled, name));
    };
    let declared = module
        .populations
        .iter()
        .flat_map(|p| {
            let compiled = &compiled;
            p.params.iter().map(move |q| {
                (
                    p.name.clone(),
                    q.name.clone(),
                    declared_dimension(compiled, &p.name, &q.name),
                )
            })
        })
        .collect();
    let default_inputs = compiled
        .default_inputs
        .iter()
        .map(|(input, file)| (input.clone(), model_dir.join(file)))
        .collect();
    Ok(Model {
        simulator: Mutex::new(Simulator::new(module, model_dir)),
        declared,
        default_inputs,
    })
}

/// Compile the model file at `path` (imports resolved next to it).
#[pyfunction]
#[pyo3(signature = (path, network=None))]
fn load(py: Python<'_>, path: PathBuf, network: Option<&str>) -> PyResult<Model> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(&path).map_err(|e| {
        pyo3::exceptions::PyFileNotFoundError::new_err(format!("cannot read `{name}`: {e}"))
    })?;
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    model_from(py, &name, &text, &DiskLoader, dir, network)
}

/// Compile model text (imports: `std` only).
#[pyfunction]
#[pyo3(signature = (text, name="<string>", network=None))]
fn compile_str(py: Python<'_>, text: &str, name: &str, network: Option<&str>) -> PyResult<Model> {
    model_from(py, name, text, &NoFiles, PathBuf::from("."), network)
}

/// A time written with a unit (`"5 ms"`), in seconds: the parser of
/// `snnc run --duration`. `what` names the argument in the message.
#[pyfunction]
#[pyo3(name = "parse_time", signature = (text, what="time"))]
fn parse_time_py(text: &str, what: &str) -> PyResult<f64> {
    parse_time(&format!("{what}={text:?}"), text).map_err(PyValueError::new_err)
}

/// `"POP.PARAM"` split and checked against the model.
fn target<'a>(
    declared: &'a [(String, String, Option<Dimension>)],
    key: &str,
) -> PyResult<&'a (String, String, Option<Dimension>)> {
    let (pop, param) = key.split_once('.').ok_or_else(|| {
        PyValueError::new_err(format!(
            "`{key}`: expected \"POPULATION.PARAM\", e.g. \"E.tau\""
        ))
    })?;
    declared
        .iter()
        .find(|(p, q, _)| p == pop && q == param)
        .ok_or_else(|| {
            let names: Vec<String> = declared
                .iter()
                .map(|(p, q, _)| format!("{p}.{q}"))
                .collect();
            PyValueError::new_err(format!(
                "`{key}`: the model has no such param (params: {})",
                names.join(", ")
            ))
        })
}

/// A param value: a number (SI) or a string with a unit (`"15 ms"`).
fn param_value(key: &str, value: &Bound<'_, PyAny>, declared: Option<Dimension>) -> PyResult<f64> {
    if let Ok(text) = value.extract::<String>() {
        return parse_param_value(key, &text, declared).map_err(PyValueError::new_err);
    }
    value.extract::<f64>().map_err(|_| {
        PyValueError::new_err(format!(
            "{key}: expected a number (SI units) or a string with a unit such as \"15 ms\", found {}",
            value
                .get_type()
                .name()
                .map_or_else(|_| "?".to_string(), |n| n.to_string())
        ))
    })
}

/// `duration`: `None`, seconds, or a string with a unit.
fn duration_value(value: Option<&Bound<'_, PyAny>>) -> PyResult<Option<f64>> {
    let Some(value) = value else { return Ok(None) };
    if value.is_none() {
        return Ok(None);
    }
    if let Ok(text) = value.extract::<String>() {
        return parse_time(&format!("duration={text:?}"), &text)
            .map(Some)
            .map_err(PyValueError::new_err);
    }
    value.extract::<f64>().map(Some).map_err(|_| {
        PyValueError::new_err("duration: expected a string such as \"1 s\" or seconds as a number")
    })
}

/// An input array as `f64` in C order, its dtype checked as a file's is
/// (float32/64, signed or unsigned integers).
fn input_array(
    py: Python<'_>,
    module: &Module,
    name: &str,
    value: &Bound<'_, PyAny>,
) -> PyResult<NumericArray> {
    let np = py.import("numpy")?;
    let array = np.call_method1("asarray", (value,))?;
    let dtype = array.getattr("dtype")?;
    let kind: String = dtype.getattr("kind")?.extract()?;
    let size: usize = dtype.getattr("itemsize")?.extract()?;
    let supported = match kind.as_str() {
        "f" => matches!(size, 4 | 8),
        "i" | "u" => matches!(size, 1 | 2 | 4 | 8),
        _ => false,
    };
    if !supported {
        let role = match module
            .inputs
            .iter()
            .find(|i| i.name == name)
            .map(|i| i.kind)
        {
            Some(InputKind::SpikeTrain) => FileRole::SpikeTrain(name.to_string()),
            _ => FileRole::Stimulus(name.to_string()),
        };
        let found: String = dtype.getattr("name")?.extract()?;
        return Err(run_error(RunError::Runtime(
            RuntimeError::UnsupportedDtype {
                role,
                path: array_source(name),
                found,
            },
        )));
    }
    let float = np.getattr("float64")?;
    let converted = np.call_method1("ascontiguousarray", (array, float))?;
    let converted: PyReadonlyArrayDyn<'_, f64> = converted.extract()?;
    Ok(NumericArray {
        shape: converted.shape().iter().map(|&d| d as u64).collect(),
        data: converted.as_array().iter().copied().collect(),
    })
}

/// A default stimulus file read as an array (validated at the run).
fn default_input(name: &str, path: &Path) -> Result<NumericArray, RunError> {
    let role = FileRole::Stimulus(name.to_string());
    if is_csv(path) {
        let table = read_csv(&role, path)?;
        Ok(NumericArray {
            shape: vec![table.rows() as u64, table.columns as u64],
            data: table.data,
        })
    } else {
        Ok(read_npy(&role, path, |_| Ok(()))?)
    }
}

/// The (key, value) pairs of an optional dict.
fn items<'py>(dict: Option<&Bound<'py, PyDict>>) -> Vec<(Bound<'py, PyAny>, Bound<'py, PyAny>)> {
    dict.map(|d| d.iter().collect()).unwrap_or_default()
}

fn backend_of(name: &str) -> PyResult<Backend> {
    match name {
        "cranelift" => Ok(Backend::Cranelift),
        "reference" => Ok(Backend::Reference),
        "cuda" => Err(PyValueError::new_err(NO_CUDA_FEATURE)),
        other => Err(PyValueError::new_err(format!(
            "backend={other:?}: expected \"cranelift\" or \"reference\""
        ))),
    }
}

fn precision_of(name: Option<&str>, backend: Backend) -> PyResult<Precision> {
    match name {
        // f32 is the JIT's natural precision; the reference is the f64 oracle.
        None if backend == Backend::Reference => Ok(Precision::F64),
        None | Some("f32") => Ok(Precision::F32),
        Some("f64") => Ok(Precision::F64),
        Some(other) => Err(PyValueError::new_err(format!(
            "precision={other:?}: expected \"f32\" or \"f64\""
        ))),
    }
}

/// The recordings and summary as plain Python data (numpy arrays).
fn output_dict<'py>(py: Python<'py>, out: RunOutput, dt: f64) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    let summary =
        serde_json::to_string(&out.summary).map_err(|e| PyRuntimeError::new_err(e.to_string()))?;
    dict.set_item("summary_json", summary)?;
    dict.set_item("dt", dt)?;
    let spikes = PyDict::new(py);
    for s in out.recorded.spikes {
        let rows = s.rows.len() / 3;
        let array = PyArray1::from_vec(py, s.rows).reshape([rows, 3])?;
        spikes.set_item(s.population, array)?;
    }
    dict.set_item("spikes", spikes)?;
    let traces = PyDict::new(py);
    for t in out.recorded.traces {
        let trace = PyDict::new(py);
        let samples = t.steps.len();
        let neurons = t.neurons.len();
        let values = PyArray1::from_vec(py, t.values);
        let values = match t.batch {
            Some(b) => values.reshape(vec![samples, b as usize, neurons])?,
            None => values.reshape(vec![samples, neurons])?,
        };
        trace.set_item("values", values)?;
        trace.set_item("steps", PyArray1::from_vec(py, t.steps))?;
        trace.set_item("neurons", PyArray1::from_vec(py, t.neurons))?;
        traces.set_item(format!("{}.{}", t.population, t.state), trace)?;
    }
    dict.set_item("traces", traces)?;
    Ok(dict)
}

#[pymethods]
impl Model {
    /// Run once; see `snnc.Model.run` for the arguments. Returns a dict of
    /// numpy arrays and the summary as JSON text.
    #[pyo3(signature = (duration=None, batch=1, seed=None, inputs=None, sweep=None, params=None, backend="cranelift", precision=None))]
    #[allow(clippy::too_many_arguments)]
    fn run<'py>(
        &self,
        py: Python<'py>,
        duration: Option<&Bound<'py, PyAny>>,
        batch: usize,
        seed: Option<u64>,
        inputs: Option<&Bound<'py, PyDict>>,
        sweep: Option<&Bound<'py, PyDict>>,
        params: Option<&Bound<'py, PyDict>>,
        backend: &str,
        precision: Option<&str>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let backend = backend_of(backend)?;
        let mut opts = RunOptions::new(PathBuf::new());
        opts.backend = backend;
        opts.precision = precision_of(precision, backend)?;
        opts.duration = duration_value(duration)?;
        opts.seed = seed;
        opts.batch = batch;
        for (key, values) in items(sweep) {
            let key: String = key.extract()?;
            let (pop, param, dim) = target(&self.declared, &key)?;
            let values: Vec<f64> = values
                .try_iter()?
                .map(|v| param_value(&key, &v?, *dim))
                .collect::<PyResult<_>>()?;
            if values.is_empty() {
                return Err(PyValueError::new_err(format!("sweep {key}: no values")));
            }
            // A list sets the batch when it was left at 1, as `--sweep` does.
            if batch == 1 && values.len() > 1 {
                opts.batch = values.len();
            }
            opts.sweeps.push(Sweep {
                population: pop.clone(),
                param: param.clone(),
                from: values[0],
                to: values[values.len() - 1],
                values,
            });
        }
        for (key, value) in items(params) {
            let key: String = key.extract()?;
            let (pop, param, dim) = target(&self.declared, &key)?;
            let v = param_value(&key, &value, *dim)?;
            // Kept as a load like a sweep: another value reuses the code.
            opts.sweeps.push(Sweep {
                population: pop.clone(),
                param: param.clone(),
                from: v,
                to: v,
                values: Vec::new(),
            });
        }
        let module = self.lock()?.module().clone();
        let mut arrays = Vec::new();
        for (key, value) in items(inputs) {
            let name: String = key.extract()?;
            let array = input_array(py, &module, &name, &value)?;
            arrays.push((name, array));
        }
        for (name, path) in &self.default_inputs {
            if !arrays.iter().any(|(n, _)| n == name) {
                arrays.push((name.clone(), default_input(name, path).map_err(run_error)?));
            }
        }
        let mut interrupt: Option<PyErr> = None;
        let result = py.detach(|| {
            let mut stop = || match Python::attach(|py| py.check_signals()) {
                Ok(()) => false,
                Err(e) => {
                    interrupt = Some(e);
                    true
                }
            };
            let mut simulator = self
                .simulator
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            simulator.run(&opts, &arrays, Some(&mut stop))
        });
        if let Some(e) = interrupt {
            return Err(e);
        }
        output_dict(py, result.map_err(run_error)?, module.dt)
    }

    /// How many times this model's kernels were generated (a rerun with
    /// other values reuses them: the count stays).
    #[getter]
    fn compiles(&self) -> PyResult<u64> {
        Ok(self.lock()?.compiles())
    }

    /// The network's name.
    #[getter]
    fn name(&self) -> PyResult<String> {
        Ok(self.lock()?.module().name.clone())
    }

    /// The time step in seconds.
    #[getter]
    fn dt(&self) -> PyResult<f64> {
        Ok(self.lock()?.module().dt)
    }

    /// The network's own duration in seconds.
    #[getter]
    fn duration(&self) -> PyResult<f64> {
        Ok(self.lock()?.module().duration)
    }

    /// Population name → number of neurons, in declaration order.
    #[getter]
    fn populations(&self) -> PyResult<Vec<(String, u32)>> {
        Ok(self
            .lock()?
            .module()
            .populations
            .iter()
            .map(|p| (p.name.clone(), p.size))
            .collect())
    }

    /// `"POP.PARAM"` → value in SI units, for every param.
    #[getter]
    fn params(&self) -> PyResult<Vec<(String, f64)>> {
        Ok(self
            .lock()?
            .module()
            .populations
            .iter()
            .flat_map(|p| {
                p.params
                    .iter()
                    .map(move |q| (format!("{}.{}", p.name, q.name), q.value))
            })
            .collect())
    }

    /// The names of the network's inputs (stimuli and spike trains).
    #[getter]
    fn inputs(&self) -> PyResult<Vec<String>> {
        Ok(self
            .lock()?
            .module()
            .inputs
            .iter()
            .map(|i| i.name.clone())
            .collect())
    }
}

impl Model {
    fn lock(&self) -> PyResult<std::sync::MutexGuard<'_, Simulator>> {
        self.simulator
            .lock()
            .map_err(|_| PyRuntimeError::new_err("a previous run of this model panicked"))
    }
}

#[pymodule]
fn _snnc(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(load, m)?)?;
    m.add_function(wrap_pyfunction!(compile_str, m)?)?;
    m.add_function(wrap_pyfunction!(parse_time_py, m)?)?;
    m.add_class::<Model>()?;
    m.add("CompileError", m.py().get_type::<CompileError>())?;
    Ok(())
}
