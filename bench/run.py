#!/usr/bin/env python3
"""The benchmark suite: snnc, Brian2 (cpp_standalone), BrainPy (brainstate on
JAX CPU) and a hand-written C loop, side by side on the models of
bench/MODELS.md.

    python3 bench/run.py                  # full runs, writes bench/results.{md,json}
    python3 bench/run.py --quick          # short runs (smoke test), writes bench/out/quick/
    python3 bench/run.py --only snnc,c    # select tools: snnc, brian2, brainpy, c
    python3 bench/run.py --models coba,seed

Needs only python3 (standard library), cargo, a C compiler and, for the peers,
access to PyPI: each peer gets its own virtual environment under bench/.venv/
(created on first use, pinned versions). A tool that cannot be installed,
built or run is reported as failed in the table, with the reason; the script
itself does not stop.
"""
import argparse
import datetime
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time

BENCH = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH)
VENV = os.path.join(BENCH, ".venv")

TOOLS = ["snnc", "brian2", "brainpy", "c"]
MODELS = ["coba", "cuba", "cobahh", "seed"]
# (model, batch) cases in table order.
CASES = [("coba", 1), ("cuba", 1), ("cobahh", 1), ("seed", 1), ("seed", 64)]
# Full biological durations (MODELS.md) and the --quick ones, in seconds.
FULL_DURATION = {"coba": 1.0, "cuba": 1.0, "cobahh": 1.0, "seed": 0.1}
QUICK_DURATION = {"coba": 0.1, "cuba": 0.1, "cobahh": 0.05, "seed": 0.02}
DT = 1e-4

# Pinned peer environments (versions that install and run together here).
PEER_REQUIREMENTS = {
    "brian2": ["brian2==2.9.0", "numpy<2.3"],  # numpy 2.4 removed ndarray.ptp, which brian2 2.9 wraps
    "brainpy": ["brainpy==2.8.2", "brainstate==0.5.4", "brainunit==0.5.2", "brainevent==0.2.1",
                "jax==0.10.2", "numba"],  # numba: brainevent's CPU event-driven kernels
}
PEER_IMPORT = {"brian2": "import brian2", "brainpy": "import brainpy.state, brainstate, jax, numba"}


def log(msg):
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def tail(text, n=600):
    text = (text or "").strip()
    return text[-n:]


def run_child(cmd, cwd=None, timeout=None, env=None):
    """Run a command; return (rc, stdout, stderr, wall_s, peak_rss_kib of that
    child alone: os.wait4 gives the rusage of the one process waited for)."""
    out = tempfile.TemporaryFile("w+")
    err = tempfile.TemporaryFile("w+")
    t0 = time.perf_counter()
    try:
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=out, stderr=err, env=env)
    except OSError as e:
        return 127, "", str(e), 0.0, None
    rc, rusage = None, None
    while True:
        pid, status, ru = os.wait4(proc.pid, os.WNOHANG)
        if pid == proc.pid:
            rc = os.waitstatus_to_exitcode(status)
            rusage = ru
            proc.returncode = rc
            break
        if timeout is not None and time.perf_counter() - t0 > timeout:
            proc.kill()
            _, status, ru = os.wait4(proc.pid, 0)
            proc.returncode = rc = 124
            rusage = ru
            break
        time.sleep(0.01)
    wall = time.perf_counter() - t0
    out.seek(0)
    err.seek(0)
    so, se = out.read(), err.read()
    if rc == 124:
        se += f"\n(timed out after {timeout} s)"
    return rc, so, se, wall, (rusage.ru_maxrss if rusage else None)


def last_json(text):
    for line in reversed((text or "").strip().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                return json.loads(line)
            except json.JSONDecodeError:
                continue
    return None


# ---------------------------------------------------------------- setup

def setup_snnc(args):
    exe = os.path.join(ROOT, "target", "release", "snnc")
    build_s = None
    if not (args.no_build and os.path.exists(exe)):
        t0 = time.perf_counter()
        rc, so, se, _, _ = run_child(["cargo", "build", "--release", "-p", "snnc"], cwd=ROOT,
                                     timeout=3600)
        build_s = time.perf_counter() - t0
        if rc != 0:
            return None, f"cargo build failed: {tail(se, 300)}"
    rc, so, se, _, _ = run_child([exe, "run", "--help"], timeout=60)
    if rc != 0:
        return None, f"`snnc run` is not available in this build ({tail(se or so, 200)})"
    has_compile = run_child([exe, "compile", "--help"], timeout=60)[0] == 0
    backends = parse_backends(so)
    if args.snnc_backends:
        backends = [b.strip() for b in args.snnc_backends.split(",") if b.strip()]
    return {"exe": exe, "cargo_build_s": build_s, "has_compile": has_compile, "backends": backends,
            "version": tail(run_child([exe, "--version"], timeout=60)[1], 80)}, None


def parse_backends(help_text):
    """The values listed under `--backend` in `snnc run --help` (long help)."""
    backends, inside = [], False
    for line in help_text.splitlines():
        stripped = line.strip()
        if stripped.startswith("--backend"):
            inside = True
            continue
        if inside:
            if stripped.startswith("-- ") or (stripped.startswith("-") and not stripped.startswith("- ")):
                break
            if stripped.startswith("- ") and ":" in stripped:
                backends.append(stripped[2:].split(":", 1)[0].strip())
            elif stripped.startswith("[possible values:"):
                backends += [b.strip() for b in stripped[len("[possible values:"):].rstrip("]").split(",")]
    return backends or ["reference"]


def setup_venv(tool, args):
    py = os.path.join(VENV, tool, "bin", "python")
    if not os.path.exists(py) or args.reinstall:
        if args.no_install:
            return None, f"no venv at {os.path.relpath(os.path.dirname(os.path.dirname(py)), ROOT)} (--no-install)"
        log(f"creating venv for {tool} (pip install {' '.join(PEER_REQUIREMENTS[tool])})")
        os.makedirs(VENV, exist_ok=True)
        rc, so, se, _, _ = run_child([sys.executable, "-m", "venv", os.path.join(VENV, tool)],
                                     timeout=600)
        if rc != 0:
            return None, f"venv creation failed: {tail(se, 300)}"
    rc, so, se, _, _ = run_child([py, "-c", PEER_IMPORT[tool]], timeout=300)
    if rc != 0 and not args.no_install:
        rc, so, se, _, _ = run_child([py, "-m", "pip", "install", "-q", *PEER_REQUIREMENTS[tool]],
                                     timeout=1800)
        if rc != 0:
            return None, f"pip install failed (no network or no wheel?): {tail(se, 300)}"
        rc, so, se, _, _ = run_child([py, "-c", PEER_IMPORT[tool]], timeout=300)
    if rc != 0:
        return None, f"import failed: {tail(se, 300)}"
    return {"python": py}, None


def setup_c(args):
    cc = os.environ.get("CC") or shutil.which("gcc") or shutil.which("cc")
    if not cc:
        return None, "no C compiler (gcc/cc) found"
    exe = os.path.join(tempfile.gettempdir(), f"snnc_bench_coba_{os.getpid()}")
    flags = ["-O3", "-march=native", "-fno-trapping-math"]
    t0 = time.perf_counter()
    rc, so, se, _, _ = run_child([cc, *flags, "-o", exe, os.path.join(BENCH, "c", "coba.c"), "-lm"],
                                 timeout=300)
    if rc != 0:
        return None, f"C compile failed: {tail(se, 300)}"
    return {"exe": exe, "compile_s": time.perf_counter() - t0,
            "cc": f"{os.path.basename(cc)} {' '.join(flags)}"}, None


# ---------------------------------------------------------------- runs

def fmt_duration(s):
    return f"{s:g}s"


def run_snnc(ctx, model, batch, duration, args, backend):
    out_dir = tempfile.mkdtemp(prefix=f"snnc_{model}_b{batch}_")
    try:
        compile_s = None
        if ctx["has_compile"]:
            rc, so, se, w, _ = run_child([ctx["exe"], "compile", os.path.join(ROOT, "examples", f"{model}.snn")],
                                         cwd=out_dir, timeout=args.timeout)
            if rc == 0:
                compile_s = w
        cmd = [ctx["exe"], "run", os.path.join(ROOT, "examples", f"{model}.snn"), "--out", out_dir,
               "--duration", fmt_duration(duration), "--backend", backend, "-q"]
        if batch > 1:
            cmd += ["--batch", str(batch)]
        if args.snnc_args:
            cmd += args.snnc_args.split()
        # Best of 3 (the C loop gets best of 5): one cold run on a shared
        # 2-core machine can be 2x off.
        best = None
        for _ in range(3):
            rc, so, se, wall, rss = run_child(cmd, timeout=args.timeout)
            if rc != 0:
                return {"error": f"`snnc run` exited {rc}: {tail(se or so, 300)}"}
            with open(os.path.join(out_dir, "summary.json")) as f:
                s = json.load(f)
            if best is None or s["wall_s"] < best[0]["wall_s"]:
                best = (s, wall, rss)
            if s["wall_s"] > 20:
                break
        s, wall, rss = best
        pops = {p["name"]: p["rate_hz"] for p in s["populations"]}
        n_all = sum(p["neurons"] for p in s["populations"])
        spikes_all = sum(p["spikes"] for p in s["populations"])
        pops["all"] = spikes_all / (n_all * max(1, s["batch"]) * s["simulated_s"]) if n_all else 0.0
        return {
            "setup_s": max(wall - s["wall_s"], 0.0),
            "setup_note": "best of 3 runs; total wall - simulation wall (front end, lowering, connectivity, writing output)"
            + (f"; `snnc compile` (to IR) alone {compile_s:.3f} s" if compile_s is not None else ""),
            "compile_s": compile_s,
            "sim_s": s["wall_s"], "steps": s["steps"], "synaptic_events": s["synaptic_events"],
            "rates_hz": pops, "peak_rss_kib": rss, "batch": s["batch"],
            "precision": s["precision"], "total_wall_s": wall,
            "backend": s["backend"] + (f", {s['threads']} thread(s)" if s.get("threads") else ""),
        }
    finally:
        shutil.rmtree(out_dir, ignore_errors=True)


def run_brian2(ctx, model, batch, duration, args, cache):
    # Brian2 has no batch dimension: batch B is B independent runs, reported as
    # the batch-1 simulation time x B (the batch-1 run is reused).
    key = (model, duration)
    if key not in cache:
        cmd = [ctx["python"], os.path.join(BENCH, "peers", "brian2_bench.py"), model,
               "--duration", str(duration)]
        rc, so, se, wall, _ = run_child(cmd, timeout=args.timeout)
        r = last_json(so)
        if rc != 0 or r is None:
            cache[key] = {"error": f"brian2 exited {rc}: {tail(se or so, 300)}"}
        else:
            cache[key] = r
    r = cache[key]
    if "error" in r:
        return dict(r)
    res = {
        "setup_s": r["build_s"], "setup_note": "construction + code generation + C++ compile; best of 3 runs of the binary",
        "sim_s": r["sim_s"] * batch, "steps": r["steps"], "synaptic_events": r["synaptic_events"] * batch,
        "rates_hz": r["rates_hz"], "peak_rss_kib": r["peak_rss_kib"], "batch": batch,
        "precision": r["precision"], "backend": f"{r['device']}, {r['threads']} thread(s)",
        "version": r["version"],
    }
    if batch > 1:
        res["note"] = f"no batching in Brian2: {batch} x the batch-1 simulation time (extrapolated, not run {batch} times)"
    return res


def run_brainpy(ctx, model, batch, duration, args):
    cmd = [ctx["python"], os.path.join(BENCH, "peers", "brainpy_bench.py"), model,
           "--duration", str(duration), "--batch", str(batch)]
    env = dict(os.environ, JAX_PLATFORMS="cpu")
    rc, so, se, wall, _ = run_child(cmd, timeout=args.timeout, env=env)
    r = last_json(so)
    if rc != 0 or r is None:
        return {"error": f"brainpy exited {rc}: {tail(se or so, 300)}"}
    return {
        "setup_s": r["compile_s"], "setup_note": "jit trace + XLA compile (first call - timed call)",
        "sim_s": r["sim_s"], "steps": r["steps"], "synaptic_events": r["synaptic_events"],
        "rates_hz": r["rates_hz"], "peak_rss_kib": r["peak_rss_kib"], "batch": batch,
        "precision": r["precision"], "backend": f"JAX {r['device']}", "version": r["version"],
        "note": "EventFixedProb: fixed out-degree p*N per neuron",
    }


def run_c(ctx, model, batch, duration, args):
    if model != "coba" or batch != 1:
        return None  # the C loop is COBA only
    best = None
    for _ in range(max(5, args.repeat)):
        rc, so, se, wall, rss = run_child([ctx["exe"], str(duration)], timeout=args.timeout)
        r = last_json(so)
        if rc != 0 or r is None:
            return {"error": f"C loop exited {rc}: {tail(se or so, 300)}"}
        if best is None or r["sim_s"] < best["sim_s"]:
            best = r
    return {
        "setup_s": best["setup_s"] + ctx["compile_s"], "setup_note": "gcc compile + connectivity build",
        "sim_s": best["sim_s"], "steps": best["steps"], "synaptic_events": best["synaptic_events"],
        "rates_hz": best["rates_hz"], "peak_rss_kib": best["peak_rss_kib"], "batch": 1,
        "precision": best["real"], "backend": ctx["cc"], "note": "best of 5 runs",
    }


# ---------------------------------------------------------------- report

def machine_info():
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = None
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    mem = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                                text=True).stdout.strip()
    except OSError:
        commit = None
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gib": mem, "os": platform.platform(),
            "python": platform.python_version(), "git_commit": commit}


def fnum(x, digits=3):
    if x is None:
        return "–"
    if x == 0:
        return "0"
    if abs(x) >= 1e6:
        return f"{x:.3g}".replace("e+0", "e").replace("e+", "e")
    if abs(x) >= 100:
        return f"{x:,.0f}"
    return f"{x:.{digits}g}"


def rates_str(r):
    if not r:
        return "–"
    parts = [f"{k} {v:.2f}" for k, v in r.items() if k != "all"]
    if "all" in r and len(parts) > 1:
        parts.append(f"all {r['all']:.2f}")
    return ", ".join(parts) if parts else f"{r.get('all', 0):.2f}"


NOTES = """
Same models everywhere (checked against MODELS.md; details in bench/README.md):
* COBA: 4000 LIF (3200 E / 800 I), p = 0.02 onto all 4000, taum 20 ms, taue 5 ms, taui 10 ms,
  El = Vr = -60 mV, Vt = -50 mV, Ee 0 mV, Ei -80 mV, refractory 5 ms, ge += 0.6 / gi += 6.7 (x 10 nS),
  v0 = El + (5 N - 5) mV, ge0 = 1.5 N + 4, gi0 = 12 N + 20. Expected 15-20 Hz (C loop on this
  machine kind: 18.6 Hz).
* CUBA: same network, El = -49 mV, Vr = -60 mV, weights +1.62 mV / -9 mV, v0 uniform [Vr, Vt),
  ge = gi = 0. Brian2's example gives about 5-6 Hz.
* COBAHH: Traub-Miles HH, area 20,000 um2, gl 5e-5 S/cm2, gNa 100 mS/cm2, gKd 30 mS/cm2,
  VT -63 mV, we 6 nS, wi 67 nS, spike at v > -20 mV with 3 ms refractory, m = h = n = 0 at start,
  exponential Euler in Brian2 and BrainPy.
* Seed network: 10,000 LIF, tau 10 ms, R 10 Mohm, rest/reset -65 mV, Vt -50 mV, no refractory,
  p = 0.01, Expon 5 ms, +0.005 nA per spike, drive U[0, 3.2) nA fresh every step, 1000 steps.
  Expected about 47-50 Hz (numpy reference: 46.8 Hz over the first 100 ms).
* Rates of these chaotic networks agree statistically, not spike by spike; quick-mode durations
  are short enough that the initial transient weighs on them.
"""


def write_reports(results, meta, md_path, json_path):
    with open(json_path, "w") as f:
        json.dump({"meta": meta, "results": results}, f, indent=2)
        f.write("\n")
    lines = [
        "# Benchmark results",
        "",
        f"Generated by `{meta['command']}` on {meta['date']}.",
        "",
        f"Machine: {meta['machine']['cpu']}, {meta['machine']['cores']} cores, "
        f"{meta['machine']['memory_gib']} GiB; {meta['machine']['os']}; commit {meta['machine']['git_commit']}.",
        "",
        "Models and parameters: bench/MODELS.md (dt = 0.1 ms). "
        + ("**Quick mode: shortened durations, numbers are a smoke test only.** " if meta["quick"] else "")
        + "Durations: " + ", ".join(f"{m} {d:g} s" for m, d in meta["durations"].items()) + ".",
        "",
        "sim s: the simulation loop only. setup s: what a user waits for before it (see notes). "
        "steps/s: time steps per second of the loop (a batched step counts once). "
        "events/s: delivered synaptic events (spikes x out-degree, all batch items) per second. "
        "vs snnc: this tool's sim s / the fastest snnc backend's sim s (above 1: snnc is faster).",
        "",
        "| model | batch | tool | setup s | sim s | steps/s | events/s | peak MiB | rates Hz | vs snnc | notes |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        if "error" in r:
            lines.append(f"| {r['model']} | {r['batch']} | {r['tool']} | – | – | – | – | – | – | – | "
                         f"**failed**: {r['error'].replace('|', '/').replace(chr(10), ' ')[:300]} |")
            continue
        rss = r.get("peak_rss_kib")
        ratio = r.get("vs_snnc")
        notes = "; ".join(x for x in [f"{r.get('precision', '')}, {r.get('backend', '')}",
                                       r.get("setup_note", ""), r.get("note", "")] if x)
        lines.append(
            f"| {r['model']} | {r['batch']} | {r['tool']} | {fnum(r.get('setup_s'))} | {fnum(r['sim_s'], 4)} | "
            f"{fnum(r.get('steps_per_s'))} | {fnum(r.get('events_per_s'))} | "
            f"{fnum(rss / 1024 if rss else None)} | {rates_str(r.get('rates_hz'))} | "
            f"{fnum(ratio) + 'x' if ratio else '–'} | {notes} |")
    lines += ["", "Tool setup:", ""]
    for tool, s in meta["setup"].items():
        lines.append(f"* {tool}: " + (f"failed: {s['error']}" if "error" in s else
                                       ", ".join(f"{k} {v if not isinstance(v, float) else round(v, 2)}"
                                                 for k, v in s.items() if k not in ("exe", "python", "has_compile"))))
    lines += ["", NOTES.strip(), ""]
    with open(md_path, "w") as f:
        f.write("\n".join(lines))


def portable_path(value):
    """A path as results.json records it: relative to the repository, or only the
    file name when it lies outside, so no build machine's absolute path is kept."""
    if not (isinstance(value, str) and os.path.isabs(value)):
        return value
    rel = os.path.relpath(value, ROOT)
    return os.path.basename(value) if rel.startswith("..") else rel


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="short durations (smoke test)")
    ap.add_argument("--only", default=",".join(TOOLS), help=f"comma-separated tools ({','.join(TOOLS)})")
    ap.add_argument("--models", default=",".join(MODELS), help=f"comma-separated models ({','.join(MODELS)})")
    ap.add_argument("--out", default=None, help="directory for results.md/results.json "
                    "(default: bench/ for full runs, bench/out/quick/ for --quick)")
    ap.add_argument("--timeout", type=float, default=1800, help="seconds per run")
    ap.add_argument("--repeat", type=int, default=1, help="runs of the C loop (at least 5)")
    ap.add_argument("--no-build", action="store_true", help="use target/release/snnc as it is (no cargo build)")
    ap.add_argument("--no-install", action="store_true", help="never create venvs or pip install")
    ap.add_argument("--reinstall", action="store_true", help="recreate the peer venvs")
    ap.add_argument("--snnc-args", default="", help="extra arguments for `snnc run` (e.g. '--precision f32')")
    ap.add_argument("--snnc-backends", default="", help="comma-separated snnc backends "
                    "(default: every backend `snnc run --help` lists)")
    ap.add_argument("--render", metavar="JSON", default=None,
                    help="only rewrite results.md next to an existing results.json")
    args = ap.parse_args()

    if args.render:
        with open(args.render) as f:
            data = json.load(f)
        md = os.path.join(os.path.dirname(os.path.abspath(args.render)), "results.md")
        write_reports(data["results"], data["meta"], md, args.render)
        print(f"wrote {md}")
        return

    tools = [t.strip() for t in args.only.split(",") if t.strip()]
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    for t in tools:
        if t not in TOOLS:
            ap.error(f"unknown tool {t!r} (known: {', '.join(TOOLS)})")
    for m in models:
        if m not in MODELS:
            ap.error(f"unknown model {m!r} (known: {', '.join(MODELS)})")
    durations = QUICK_DURATION if args.quick else FULL_DURATION
    out_dir = args.out or (os.path.join(BENCH, "out", "quick") if args.quick else BENCH)
    os.makedirs(out_dir, exist_ok=True)

    setup, ctxs = {}, {}
    for tool in tools:
        log(f"setting up {tool}")
        try:
            if tool == "snnc":
                ctx, err = setup_snnc(args)
            elif tool == "c":
                ctx, err = setup_c(args)
            else:
                ctx, err = setup_venv(tool, args)
        except Exception as e:  # noqa: BLE001 -- a broken tool must not stop the others
            ctx, err = None, f"{type(e).__name__}: {e}"
        if err:
            log(f"{tool}: {err}")
            setup[tool] = {"error": err}
        else:
            ctxs[tool] = ctx
            setup[tool] = {k: portable_path(v) for k, v in ctx.items()}
            if "python" in ctx:
                setup[tool]["venv"] = os.path.relpath(os.path.dirname(os.path.dirname(ctx["python"])), ROOT)
                setup[tool]["requirements"] = " ".join(PEER_REQUIREMENTS[tool])

    results = []
    brian2_cache = {}
    for model, batch in CASES:
        if model not in models:
            continue
        dur = durations[model]
        runs = []
        for tool in tools:
            if tool == "snnc" and tool in ctxs:
                runs += [(tool, b) for b in ctxs[tool]["backends"]]
            else:
                runs.append((tool, None))
        for tool, backend in runs:
            if tool == "c" and (model != "coba" or batch != 1):
                continue
            label = f"snnc ({backend})" if backend else tool
            row = {"model": model, "batch": batch, "tool": label, "duration_s": dur}
            if tool not in ctxs:
                row["error"] = f"not available: {setup[tool]['error']}"
                results.append(row)
                continue
            log(f"running {label} {model} batch {batch} ({dur:g} s)")
            try:
                if tool == "snnc":
                    r = run_snnc(ctxs[tool], model, batch, dur, args, backend)
                elif tool == "brian2":
                    r = run_brian2(ctxs[tool], model, batch, dur, args, brian2_cache)
                elif tool == "brainpy":
                    r = run_brainpy(ctxs[tool], model, batch, dur, args)
                else:
                    r = run_c(ctxs[tool], model, batch, dur, args)
            except Exception as e:  # noqa: BLE001
                r = {"error": f"{type(e).__name__}: {e}"}
            if r is None:
                continue
            row.update(r)
            if "error" not in row and row.get("sim_s"):
                row["steps_per_s"] = row["steps"] / row["sim_s"]
                row["events_per_s"] = row["synaptic_events"] / row["sim_s"]
                log(f"  sim {row['sim_s']:.4g} s, rates {rates_str(row['rates_hz'])}")
            elif "error" in row:
                log(f"  failed: {row['error'][:200]}")
            results.append(row)

    # Ratios to snnc, per (model, batch).
    # The base is the fastest snnc backend for that case.
    snnc = {}
    for r in results:
        if r["tool"].startswith("snnc") and "error" not in r and r.get("sim_s"):
            key = (r["model"], r["batch"])
            snnc[key] = min(snnc.get(key, float("inf")), r["sim_s"])
    for r in results:
        base = snnc.get((r["model"], r["batch"]))
        if base and "error" not in r:
            r["vs_snnc"] = r["sim_s"] / base

    meta = {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "command": "python3 bench/run.py " + " ".join(sys.argv[1:]),
        "quick": args.quick, "durations": {m: durations[m] for m in models},
        "machine": machine_info(), "setup": setup,
    }
    md = os.path.join(out_dir, "results.md")
    js = os.path.join(out_dir, "results.json")
    write_reports(results, meta, md, js)
    log(f"wrote {os.path.relpath(md, ROOT)} and {os.path.relpath(js, ROOT)}")
    with open(md) as f:
        print(f.read())
    if "c" in ctxs:
        try:
            os.remove(ctxs["c"]["exe"])
        except OSError:
            pass


if __name__ == "__main__":
    main()
