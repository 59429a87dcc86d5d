"""Brian2 cpp_standalone runs of the benchmark models (bench/MODELS.md).

Run by bench/run.py inside bench/.venv/brian2; prints one JSON object on the
last line of stdout.

    python brian2_bench.py MODEL [--duration S] [--workdir DIR] [--threads N]

MODEL is coba, cuba, cobahh or seed. The models are Brian2's own examples
(COBA from Brian2's benchmark scripts, CUBA.py, COBAHH.py) with the parameters
of MODELS.md, and the seed network with its corrected numbers.

Timing: `build_s` is network construction + code generation + C++ compilation
(device.build(run=False)); `sim_s` is the simulation loop as timed by the
standalone binary itself (results/last_run_info.txt); `binary_wall_s` is the
whole binary (loading arrays, initialising, writing results). Peak memory is
the binary's maximum resident set size (getrusage of the child only: the
compiler runs in another process so it is not counted).
"""
import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time


def build_model(name, b):
    """Create the network in the current (standalone) device; return
    (monitors dict pop -> (SpikeMonitor, n)), default duration)."""
    ms, mV, nS, nA, second = b.ms, b.mV, b.nS, b.nA, b.second
    if name == "coba":
        taum, taue, taui = 20 * ms, 5 * ms, 10 * ms
        Vt, Vr, El, Ee, Ei = -50 * mV, -60 * mV, -60 * mV, 0 * mV, -80 * mV
        eqs = """
        dv/dt  = (ge*(Ee-v)+gi*(Ei-v)-(v-El))/taum : volt (unless refractory)
        dge/dt = -ge/taue : 1
        dgi/dt = -gi/taui : 1
        """
        P = b.NeuronGroup(4000, eqs, threshold="v>Vt", reset="v = Vr",
                          refractory=5 * ms, method="euler",
                          namespace=dict(taum=taum, taue=taue, taui=taui, Vt=Vt, Vr=Vr,
                                         El=El, Ee=Ee, Ei=Ei))
        we, wi = 6.0 / 10.0, 67.0 / 10.0
        Ce = b.Synapses(P, P, on_pre="ge += we", namespace=dict(we=we))
        Ci = b.Synapses(P, P, on_pre="gi += wi", namespace=dict(wi=wi))
        Ce.connect("i<3200", p=0.02)
        Ci.connect("i>=3200", p=0.02)
        P.v = "El + (randn() * 5 - 5)*mV"
        P.ge = "randn() * 1.5 + 4"
        P.gi = "randn() * 12 + 20"
        return P, 3200, [Ce, Ci], 1 * second
    if name == "cuba":
        taum, taue, taui = 20 * ms, 5 * ms, 10 * ms
        Vt, Vr, El = -50 * mV, -60 * mV, -49 * mV
        eqs = """
        dv/dt  = (ge+gi-(v-El))/taum : volt (unless refractory)
        dge/dt = -ge/taue : volt
        dgi/dt = -gi/taui : volt
        """
        P = b.NeuronGroup(4000, eqs, threshold="v>Vt", reset="v = Vr",
                          refractory=5 * ms, method="exact",
                          namespace=dict(taum=taum, taue=taue, taui=taui, Vt=Vt, Vr=Vr, El=El))
        P.v = "Vr + rand() * (Vt - Vr)"
        P.ge = 0 * mV
        P.gi = 0 * mV
        we = (60 * 0.27 / 10) * mV
        wi = (-20 * 4.5 / 10) * mV
        Ce = b.Synapses(P, P, on_pre="ge += we", namespace=dict(we=we))
        Ci = b.Synapses(P, P, on_pre="gi += wi", namespace=dict(wi=wi))
        Ce.connect("i<3200", p=0.02)
        Ci.connect("i>=3200", p=0.02)
        return P, 3200, [Ce, Ci], 1 * second
    if name == "cobahh":
        umetre, cm, ufarad, siemens, msiemens = b.umetre, b.cm, b.ufarad, b.siemens, b.msiemens
        area = 20000 * umetre ** 2
        ns = dict(
            Cm=(1 * ufarad * cm ** -2) * area, gl=(5e-5 * siemens * cm ** -2) * area,
            El=-60 * mV, EK=-90 * mV, ENa=50 * mV,
            g_na=(100 * msiemens * cm ** -2) * area, g_kd=(30 * msiemens * cm ** -2) * area,
            VT=-63 * mV, taue=5 * ms, taui=10 * ms, Ee=0 * mV, Ei=-80 * mV,
        )
        eqs = b.Equations("""
        dv/dt = (gl*(El-v)+ge*(Ee-v)+gi*(Ei-v)-
                 g_na*(m*m*m)*h*(v-ENa)-
                 g_kd*(n*n*n*n)*(v-EK))/Cm : volt
        dm/dt = alpha_m*(1-m)-beta_m*m : 1
        dn/dt = alpha_n*(1-n)-beta_n*n : 1
        dh/dt = alpha_h*(1-h)-beta_h*h : 1
        dge/dt = -ge*(1./taue) : siemens
        dgi/dt = -gi*(1./taui) : siemens
        alpha_m = 0.32*(mV**-1)*4*mV/exprel((13*mV-v+VT)/(4*mV))/ms : Hz
        beta_m = 0.28*(mV**-1)*5*mV/exprel((v-VT-40*mV)/(5*mV))/ms : Hz
        alpha_h = 0.128*exp((17*mV-v+VT)/(18*mV))/ms : Hz
        beta_h = 4./(1+exp((40*mV-v+VT)/(5*mV)))/ms : Hz
        alpha_n = 0.032*(mV**-1)*5*mV/exprel((15*mV-v+VT)/(5*mV))/ms : Hz
        beta_n = .5*exp((10*mV-v+VT)/(40*mV))/ms : Hz
        """)
        P = b.NeuronGroup(4000, model=eqs, threshold="v>-20*mV", refractory=3 * ms,
                          method="exponential_euler", namespace=ns)
        Pe, Pi = P[:3200], P[3200:]
        Ce = b.Synapses(Pe, P, on_pre="ge+=we", namespace=dict(we=6 * nS))
        Ci = b.Synapses(Pi, P, on_pre="gi+=wi", namespace=dict(wi=67 * nS))
        Ce.connect(p=0.02)
        Ci.connect(p=0.02)
        P.v = "El + (randn() * 5 - 5)*mV"
        P.ge = "(randn() * 1.5 + 4) * 10.*nS"
        P.gi = "(randn() * 12 + 20) * 10.*nS"
        return P, 3200, [Ce, Ci], 1 * second
    if name == "seed":
        ns = dict(tau=10 * ms, R=10 * b.Mohm, V_rest=-65 * mV, V_th=-50 * mV,
                  tau_s=5 * ms, I_max=3.2 * nA)
        eqs = """
        dv/dt = (V_rest - v + R*(Isyn + Iext))/tau : volt
        dIsyn/dt = -Isyn/tau_s : amp
        Iext = I_max*rand() : amp (constant over dt)
        """
        G = b.NeuronGroup(10000, eqs, threshold="v>=V_th", reset="v = V_rest",
                          method="euler", namespace=ns)
        G.v = "V_rest + rand()*(V_th - V_rest)"
        S = b.Synapses(G, G, on_pre="Isyn += w", namespace=dict(w=0.005 * nA))
        S.connect(p=0.01)
        return G, 10000, [S], 100 * ms
    raise SystemExit(f"unknown model {name}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("--duration", type=float, default=None, help="seconds (default: the model's)")
    ap.add_argument("--workdir", default=None)
    ap.add_argument("--threads", type=int, default=0, help="OpenMP threads (0: Brian2's single-threaded default)")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--reps", type=int, default=3,
                    help="runs of the built binary; the fastest is reported (as for snnc)")
    args = ap.parse_args()

    t0 = time.perf_counter()
    import brian2 as b
    t_import = time.perf_counter() - t0

    workdir = args.workdir or tempfile.mkdtemp(prefix=f"brian2_{args.model}_")
    shutil.rmtree(workdir, ignore_errors=True)
    b.set_device("cpp_standalone", directory=workdir, build_on_run=False)
    if args.threads:
        b.prefs.devices.cpp_standalone.openmp_threads = args.threads
    b.defaultclock.dt = 0.1 * b.ms
    b.seed(args.seed)

    t1 = time.perf_counter()
    P, n_exc, syns, default_dur = build_model(args.model, b)
    duration = default_dur if args.duration is None else args.duration * b.second
    mon = b.SpikeMonitor(P, record=False)
    net = b.Network(P, mon, *syns)
    net.run(duration)
    b.device.build(directory=workdir, compile=True, run=False)
    build_s = time.perf_counter() - t1

    # Run the binary through a wrapper that reports the peak RSS of the
    # binary alone (the compiler ran in other processes).
    rss_file = os.path.join(workdir, "peak_rss_kib.txt")
    b.prefs.devices.cpp_standalone.run_cmd_unix = [
        sys.executable, "-c",
        "import resource,subprocess,sys;"
        "r=subprocess.run(sys.argv[2:]);"
        "open(sys.argv[1],'w').write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss));"
        "sys.exit(r.returncode)",
        rss_file, "./main"]
    # The same binary and seed each time: the runs differ only in timing.
    sim_s = binary_wall_s = float("inf")
    for _ in range(max(1, args.reps)):
        t2 = time.perf_counter()
        b.device.run(directory=workdir, with_output=False)
        binary_wall_s = min(binary_wall_s, time.perf_counter() - t2)
        sim_s = min(sim_s, float(b.device._last_run_time))
    with open(rss_file) as f:
        peak_kib = int(f.read().strip())

    counts = b.asarray(mon.count)
    n = len(counts)
    sim_t = float(duration / b.second)
    steps = int(round(sim_t / 1e-4))
    events = 0
    outdeg = {}
    for syn in syns:
        src = b.asarray(syn.i)
        src_off = syn.source.start if hasattr(syn.source, "start") else 0
        deg = b.np.bincount(src + src_off, minlength=n)
        events += int((deg * counts).sum())
        outdeg[syn.name] = len(src)
    pops = {}
    if args.model == "seed":
        pops["E"] = counts
    else:
        pops["E"], pops["I"] = counts[:n_exc], counts[n_exc:]
    rates = {k: float(v.sum()) / (len(v) * sim_t) for k, v in pops.items()}
    rates["all"] = float(counts.sum()) / (n * sim_t)
    out = dict(
        tool="brian2", model=args.model, version=b.__version__, device="cpp_standalone",
        precision="f64", threads=max(1, args.threads), import_s=t_import, build_s=build_s,
        sim_s=sim_s, binary_wall_s=binary_wall_s, steps=steps, simulated_s=sim_t,
        synapses=int(sum(outdeg.values())), spikes={k: int(v.sum()) for k, v in pops.items()},
        rates_hz=rates, synaptic_events=events, peak_rss_kib=peak_kib,
    )
    print(json.dumps(out))
    if args.workdir is None:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
