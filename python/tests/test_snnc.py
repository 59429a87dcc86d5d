"""The Python package against the command line and its own promises:
the same spikes as ``snnc run``, no recompilation for new values, clear
errors for bad input, a working README line, pictures with every spike."""

import ast
import json
import os
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

import snnc


def cli_run(snnc_cli, tmp_path, model, *args):
    out = tmp_path / "cli"
    snnc_cli("run", model, "--out", out, "--quiet", *args)
    return out


def test_spikes_equal_the_cli_files(root, snnc_cli, tmp_path):
    out = cli_run(snnc_cli, tmp_path, "examples/coba.snn", "--duration", "200ms", "--seed", "3")
    r = snnc.load(root / "examples/coba.snn").run(duration="200 ms", seed=3)
    for pop in ("E", "I"):
        expected = np.load(out / f"spikes_{pop}.npy")
        assert expected.shape[0] > 100, "COBA spikes"
        assert r.spikes[pop].dtype == np.uint32
        np.testing.assert_array_equal(r.spikes[pop], expected)
    summary = json.loads((out / "summary.json").read_text())
    assert [p["spikes"] for p in summary["populations"]] == [
        p["spikes"] for p in r.summary["populations"]
    ]
    assert r.rates == {p["name"]: p["rate_hz"] for p in summary["populations"]}


def test_batched_sweep_and_traces_equal_the_cli_files(root, snnc_cli, tmp_path):
    out = cli_run(snnc_cli, tmp_path, "examples/stimulus_file.snn",
                  "--sweep", "E.tau=8ms,10ms,12ms")
    drive = np.load(root / "examples/data/drive.npy")
    model = snnc.load(root / "examples/stimulus_file.snn")
    r = model.run(sweep={"E.tau": ["8 ms", "10 ms", "12 ms"]}, inputs={"drive": drive})
    np.testing.assert_array_equal(r.spikes["E"], np.load(out / "spikes_E.npy"))
    trace = r.traces["E.V"]
    np.testing.assert_array_equal(trace.values, np.load(out / "trace_E_V.npy"))
    # `every 1 ms` over 100 ms, batch of 3, neurons 0..3.
    assert trace.values.shape == (100, 3, 3)
    np.testing.assert_allclose(trace.t, np.arange(100) * 1e-3)
    assert set(r.spikes["E"][:, 2]) == {0, 1, 2}


def test_a_sweep_of_ten_values_compiles_once(root):
    model = snnc.load(root / "examples/coba.snn")
    assert model.compiles == 0
    counts = []
    for tau in np.linspace(15e-3, 25e-3, 10):
        r = model.run(duration="20 ms", sweep={"E.tau": [tau]})
        counts.append(r.summary["populations"][0]["spikes"])
    assert model.compiles == 1, "ten values of E.tau reuse one compilation"
    assert len(set(counts)) > 1, "tau changes the spikes"
    # Other inputs to the same code: params, batch, duration.
    model.run(duration="10 ms", batch=2, params={"E.tau": "18 ms"})
    assert model.compiles == 1
    # The seed is compiled into the random draws: once per new seed.
    model.run(duration="10 ms", seed=5, sweep={"E.tau": [0.02]})
    assert model.compiles == 2


def test_bad_inputs_raise_naming_expected_and_found(root, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    model = snnc.load(root / "examples/stimulus_file.snn")
    good = np.load(root / "examples/data/drive.npy")
    with pytest.raises(ValueError, match=r"expected shape \[T, 10\].*found \[1000, 9\]"):
        model.run(inputs={"drive": good[:, :9]})
    with pytest.raises(ValueError, match=r"expected a float or integer array, found dtype 'complex128'"):
        model.run(inputs={"drive": good.astype(complex)})
    with pytest.raises(ValueError, match=r"no input named 'drv' \(inputs: drive\)"):
        model.run(inputs={"drv": good})
    with pytest.raises(ValueError, match=r'duration="100 mV": expected a time such as `1s` or `200ms`, found V'):
        model.run(duration="100 mV")
    with pytest.raises(ValueError, match=r'duration="1 parsec": `parsec` is not a unit'):
        model.run(duration="1 parsec")
    with pytest.raises(ValueError, match=r"E.tau: expected a value in s, found `5 mV` \(in V\)"):
        model.run(params={"E.tau": "5 mV"})
    with pytest.raises(ValueError, match=r"`E.taux`: the model has no such param"):
        model.run(sweep={"E.taux": [1.0]})
    with pytest.raises(ValueError, match=r"precision=\"f16\": expected"):
        model.run(precision="f16")
    assert model.compiles == 0, "refused before compiling"
    assert list(tmp_path.iterdir()) == [], "nothing written"


def test_compile_errors_carry_the_cli_report_and_a_list(snnc_cli, tmp_path):
    text = "import std.LIF\nnetwork n {\n    population E = LIF[10] { tau = 5 mV }\n}\n"
    path = tmp_path / "bad.snn"
    path.write_text(text)
    with pytest.raises(snnc.CompileError) as info:
        snnc.compile_str(text, name=str(path))
    report = str(info.value)
    # The same report as the command line's, word for word.
    cli = snnc_cli("check", path, ok=False)
    assert report.strip() == cli.stderr.strip()
    diags = [d for d in info.value.diagnostics if d["severity"] == "error"]
    assert len(diags) == 1, report
    first = diags[0]
    # `5 mV` starts at line 3, column 36 (1-based), as the report says.
    assert (first["code"], first["file"], first["line"], first["column"]) == (
        "E0203", str(path), 3, 36)
    assert f"[{first['code']}]" in report and first["message"] in report
    with pytest.raises(snnc.CompileError):
        snnc.load(path)


def test_readme_one_liner_works(root):
    line = ("import snnc; r = snnc.load('examples/coba.snn').run(duration='1 s'); "
            "print(r.rates)")
    done = subprocess.run([sys.executable, "-c", line], cwd=root,
                          capture_output=True, text=True, check=True)
    rates = ast.literal_eval(done.stdout)
    assert set(rates) == {"E", "I"}
    # bench/MODELS.md: COBA fires at about 15-20 Hz.
    assert all(10 < v < 30 for v in rates.values()), rates


def test_ctrl_c_stops_a_run_with_keyboard_interrupt_and_the_gil_is_free(root):
    model = snnc.load(root / "examples/coba.snn")
    model.run(duration="1 ms")  # compile first
    ticks = []
    stop = threading.Event()

    def other_thread():
        while not stop.is_set():
            ticks.append(1)
            time.sleep(0.01)

    worker = threading.Thread(target=other_thread)
    worker.start()
    timer = threading.Timer(0.5, lambda: os.kill(os.getpid(), signal.SIGINT))
    timer.start()
    started = time.perf_counter()
    try:
        with pytest.raises(KeyboardInterrupt):
            model.run(duration="500 s")
    finally:
        stop.set()
        worker.join()
        timer.cancel()
    assert time.perf_counter() - started < 20, "stopped long before the end of 500 s of COBA"
    assert len(ticks) >= 10, "another Python thread ran during the simulation"
    r = model.run(duration="10 ms")
    assert r.summary["steps"] == 100, "the model still runs after an interrupt"


def test_raster_draws_one_mark_per_spike(root):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    r = snnc.load(root / "examples/stimulus_file.snn").run()
    ax = r.raster()
    xs = np.concatenate([line.get_xdata() for line in ax.get_lines()])
    assert len(xs) == len(r.spikes["E"]) > 0
    fig = r.plot()
    assert len(fig.axes) == 3, "raster, rate, the V trace"
    # The rate below the raster: every spike counted once, in 5 ms bins.
    t, rate = r.population_rate("E", bin="5 ms")
    assert len(t) == 20
    assert round(float(rate.sum()) * 10 * 5e-3) == len(r.spikes["E"])
    with pytest.raises(ValueError, match=r'bin="5 mV": expected a time'):
        r.population_rate("E", bin="5 mV")


def test_the_example_notebook_runs_headless(root):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    nb = nbformat.read(root / "examples/coba_python.ipynb", as_version=4)
    client = nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                                     resources={"metadata": {"path": str(root / "examples")}})
    client.execute()
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    printed = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert "compilations for the other nine values: 0" in printed


SPIKE_SOURCE = """import std.{LIF, Expon, CUBA}
network relay {
    dt = 0.1 ms
    duration = 50 ms
    stimulus S: spikes[3] from input
    population E = LIF[2] { V_rest = -65 mV, V_th = -50 mV, tau = 10 ms, R = 10 Mohm, t_ref = 2 ms }
    projection S -> E {
        connect all_to_all
        weight 20 nA
        delay 1 ms
        synapse Expon(tau = 2 ms)
        output CUBA
    }
    record spikes of S, E
}
"""


def test_spike_train_arrays_act_like_spike_train_files(snnc_cli, tmp_path):
    model_file = tmp_path / "relay.snn"
    model_file.write_text(SPIKE_SOURCE)
    pairs = np.array([[0, 0.010], [2, 0.010], [1, 0.030], [2, 0.0301]])
    np.save(tmp_path / "s.npy", pairs)
    out = tmp_path / "cli"
    snnc_cli("run", model_file, "--input", f"S={tmp_path / 's.npy'}", "--out", out, "--quiet")
    r = snnc.load(model_file).run(inputs={"S": pairs})
    np.testing.assert_array_equal(r.spikes["S"], np.load(out / "spikes_S.npy"))
    np.testing.assert_array_equal(r.spikes["E"], np.load(out / "spikes_E.npy"))
    # The sources spike where the array says: step round(t / dt).
    assert r.spikes["S"][:, :2].tolist() == [[100, 0], [100, 2], [300, 1], [301, 2]]
    with pytest.raises(ValueError, match=r"spike train 'S' \(inputs\['S'\]\): expected shape "
                                         r"\[K, 2\] \(neuron, time in seconds\), found \[4\]"):
        snnc.load(model_file).run(inputs={"S": pairs[:, 1]})
    with pytest.raises(ValueError, match=r"found dtype 'bool'"):
        snnc.load(model_file).run(inputs={"S": pairs > 0})
