"""BrainPy (brainpy.state on brainstate) runs of the benchmark models on JAX CPU.

Run by bench/run.py inside bench/.venv/brainpy; prints one JSON object on the
last line of stdout.

    python brainpy_bench.py MODEL [--duration S] [--batch B] [--seed S]

Written in the optimised style of BrainPy's "optimize performance" guide
(BrainPy documentation): float32, jit-compiled
loop (`brainstate.transform.for_loop` inside `brainstate.transform.jit`),
event-driven sparse connectivity (`brainstate.nn.EventFixedProb`), batching
with `init_all_states(net, batch_size=B)`. The seed network is the guide's
`OptimizedNetwork` (bp.LIF + AlignPostProj(EventFixedProb, Expon, CUBA)) with
the corrected numbers of MODELS.md; COBA/CUBA are bp.LIFRef networks with
Expon + COBA/CUBA outputs; COBAHH uses a Traub-Miles neuron written here (the
library's HH is the squid-axon model) with exponential Euler, as Brian2.

Differences from Brian2 that the numbers carry (documented in results.md):
* EventFixedProb(conn_num=p) draws a fixed out-degree p*N_post per
  presynaptic neuron (80 for COBA/CUBA/COBAHH, 100 for the seed network)
  rather than independent Bernoulli(p) per pair; the mean is the same.
* LIF/LIFRef integrate with exponential Euler (brainstate.nn.exp_euler_step),
  Brian2's COBA example uses forward Euler.

Timing: `compile_s` = first call (trace + XLA compile + one full run) minus
the timed second run; `sim_s` = the second run, from the same initial state,
ended with block_until_ready. Peak memory is this process's VmHWM (it
includes the Python interpreter, JAX and XLA).
"""
import argparse
import json
import os
import time

os.environ.setdefault("JAX_PLATFORMS", "cpu")


def vm_hwm_kib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return -1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("--duration", type=float, default=None)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--seed", type=int, default=42)
    args = ap.parse_args()

    t0 = time.perf_counter()
    import brainpy
    import brainpy.state as bp
    import brainstate
    import brainunit as u
    import jax
    import jax.numpy as jnp
    import numpy as np
    t_import = time.perf_counter() - t0

    ms, mV, nS, nA, pA, Mohm = u.ms, u.mV, u.nS, u.nA, u.pA, u.Mohm
    dt = 0.1 * ms
    brainstate.environ.set(dt=dt)
    brainstate.random.seed(args.seed)
    model = args.model
    B = args.batch
    key = jax.random.PRNGKey(args.seed)

    def shape(n):
        return (B, n) if B > 1 else (n,)

    def normal(k, n, mean, std):
        return mean + std * jax.random.normal(k, shape(n), dtype=jnp.float32)

    def uniform(k, n, lo, hi):
        return lo + (hi - lo) * jax.random.uniform(k, shape(n), dtype=jnp.float32)

    class EINet(brainstate.nn.Module):
        """COBA or CUBA: 4000 LIFRef (3200 E, 800 I), p = 0.02 onto all 4000."""

        def __init__(self, kind):
            super().__init__()
            self.kind = kind
            n = 4000
            if kind == "coba":
                self.N = bp.LIFRef(n, V_rest=-60 * mV, V_th=-50 * mV, V_reset=-60 * mV,
                                   tau=20 * ms, tau_ref=5 * ms, R=100 * Mohm, spk_reset="hard")
                # g in nS, I = g (E - V), R I in volts with R = 1 / (10 nS).
                self.E = bp.AlignPostProj(
                    comm=brainstate.nn.EventFixedProb(3200, n, conn_num=0.02, conn_weight=6.0 * nS, seed=args.seed),
                    syn=bp.Expon.desc(n, tau=5 * ms), out=bp.COBA.desc(E=0 * mV), post=self.N)
                self.I = bp.AlignPostProj(
                    comm=brainstate.nn.EventFixedProb(800, n, conn_num=0.02, conn_weight=67.0 * nS, seed=args.seed + 1),
                    syn=bp.Expon.desc(n, tau=10 * ms), out=bp.COBA.desc(E=-80 * mV), post=self.N)
            else:
                self.N = bp.LIFRef(n, V_rest=-49 * mV, V_th=-50 * mV, V_reset=-60 * mV,
                                   tau=20 * ms, tau_ref=5 * ms, R=100 * Mohm, spk_reset="hard")
                # ge, gi in volts in the benchmark: R I = ge + gi with R = 100 Mohm,
                # so the weights are currents 16.2 pA and -90 pA; CUBA's output is
                # g * scale with scale 1 V, so g is in pA/V (pS).
                self.E = bp.AlignPostProj(
                    comm=brainstate.nn.EventFixedProb(3200, n, conn_num=0.02, conn_weight=16.2e-3 * nS, seed=args.seed),
                    syn=bp.Expon.desc(n, tau=5 * ms), out=bp.CUBA.desc(), post=self.N)
                self.I = bp.AlignPostProj(
                    comm=brainstate.nn.EventFixedProb(800, n, conn_num=0.02, conn_weight=-90.0e-3 * nS, seed=args.seed + 1),
                    syn=bp.Expon.desc(n, tau=10 * ms), out=bp.CUBA.desc(), post=self.N)
            self.count = None

        def set_initial(self, k):
            k1, k2, k3 = jax.random.split(k, 3)
            n = 4000
            if self.kind == "coba":
                self.N.V.value = normal(k1, n, -65.0, 5.0) * mV
                self.E.syn.g.value = normal(k2, n, 40.0, 15.0) * nS
                self.I.syn.g.value = normal(k3, n, 200.0, 120.0) * nS
            else:
                self.N.V.value = uniform(k1, n, -60.0, -50.0) * mV
                self.E.syn.g.value = jnp.zeros(shape(n), jnp.float32) * nS
                self.I.syn.g.value = jnp.zeros(shape(n), jnp.float32) * nS
            self.N.last_spike_time.value = jnp.full(shape(n), -1e7, jnp.float32) * ms

        def update(self):
            spk = self.N.get_spike()
            self.E(spk[..., :3200])
            self.I(spk[..., 3200:])
            return self.N(0.0 * nA)

    class SeedNet(brainstate.nn.Module):
        """The guide's OptimizedNetwork with the corrected numbers."""

        def __init__(self, n_neurons=10000):
            super().__init__()
            self.n = n_neurons
            self.neurons = bp.LIF(n_neurons, V_rest=-65 * mV, V_th=-50 * mV, V_reset=-65 * mV,
                                  tau=10 * ms, R=10 * Mohm, spk_reset="hard")
            self.recurrent = bp.AlignPostProj(
                comm=brainstate.nn.EventFixedProb(n_neurons, n_neurons, conn_num=0.01,
                                                  conn_weight=0.005 * nS, seed=args.seed),
                syn=bp.Expon.desc(n_neurons, tau=5 * ms),
                out=bp.CUBA.desc(),  # g * 1 V: 0.005 nS -> 0.005 nA
                post=self.neurons)

        def set_initial(self, k):
            self.neurons.V.value = uniform(k, self.n, -65.0, -50.0) * mV
            self.recurrent.syn.g.value = jnp.zeros(shape(self.n), jnp.float32) * nS

        def update(self):
            inp = brainstate.random.rand(*shape(self.n)) * 3.2 * nA  # fresh every step
            spk = self.neurons.get_spike()
            self.recurrent(spk)
            return self.neurons(inp)

    class TraubHH(brainstate.nn.Module):
        """COBAHH with the benchmark's Traub-Miles neuron, exponential Euler.

        Units inside: mV, ms, nS, pF (so nS * mV / pF = mV/ms)."""

        def __init__(self):
            super().__init__()
            self.n = 4000
            self.Ce = brainstate.nn.EventFixedProb(3200, 4000, conn_num=0.02, conn_weight=6.0, seed=args.seed)
            self.Ci = brainstate.nn.EventFixedProb(800, 4000, conn_num=0.02, conn_weight=67.0, seed=args.seed + 1)

        def init_state(self, batch_size=None, **kw):
            z = jnp.zeros(shape(self.n), jnp.float32)
            self.V = brainstate.HiddenState(z)
            self.m = brainstate.HiddenState(z)
            self.h = brainstate.HiddenState(z)
            self.nk = brainstate.HiddenState(z)
            self.ge = brainstate.HiddenState(z)
            self.gi = brainstate.HiddenState(z)
            self.last = brainstate.ShortTermState(z - 1e7)
            self.spike = brainstate.ShortTermState(z)

        def set_initial(self, k):
            k1, k2, k3 = jax.random.split(k, 3)
            self.V.value = normal(k1, self.n, -65.0, 5.0)
            self.ge.value = normal(k2, self.n, 40.0, 15.0)
            self.gi.value = normal(k3, self.n, 200.0, 120.0)
            z = jnp.zeros(shape(self.n), jnp.float32)
            self.m.value, self.h.value, self.nk.value = z, z, z
            self.last.value = z - 1e7
            self.spike.value = z

        def update(self):
            t = brainstate.environ.get("t").to_decimal(ms)
            d = 0.1
            spk = self.spike.value
            ge = self.ge.value + self.Ce(spk[..., :3200])
            gi = self.gi.value + self.Ci(spk[..., 3200:])
            v, m, h, n = self.V.value, self.m.value, self.h.value, self.nk.value
            Cm, gl, El, EK, ENa, gna, gkd, VT = 200.0, 10.0, -60.0, -90.0, 50.0, 20000.0, 6000.0, -63.0

            def exprel(x):
                return jnp.where(jnp.abs(x) < 1e-4, 1.0 + x / 2, jnp.expm1(x) / jnp.where(x == 0, 1.0, x))

            am = 0.32 * 4.0 / exprel((13.0 - v + VT) / 4.0)
            bm = 0.28 * 5.0 / exprel((v - VT - 40.0) / 5.0)
            ah = 0.128 * jnp.exp((17.0 - v + VT) / 18.0)
            bh = 4.0 / (1.0 + jnp.exp((40.0 - v + VT) / 5.0))
            an = 0.032 * 5.0 / exprel((15.0 - v + VT) / 5.0)
            bn = 0.5 * jnp.exp((10.0 - v + VT) / 40.0)
            gna_t = gna * m * m * m * h
            gk_t = gkd * n * n * n * n
            G = gl + ge + gi + gna_t + gk_t          # nS
            A = gl * El + ge * 0.0 + gi * -80.0 + gna_t * ENa + gk_t * EK  # nS*mV
            vinf = A / G
            v_new = vinf + (v - vinf) * jnp.exp(-G / Cm * d)

            def gate(x, a, b):
                s = a + b
                return a / s + (x - a / s) * jnp.exp(-s * d)

            self.m.value = gate(m, am, bm)
            self.h.value = gate(h, ah, bh)
            self.nk.value = gate(n, an, bn)
            self.ge.value = ge * jnp.exp(-d / 5.0)
            self.gi.value = gi * jnp.exp(-d / 10.0)
            self.V.value = v_new
            not_ref = (t - self.last.value) >= 3.0 - 1e-3
            s = (v_new > -20.0) & not_ref
            self.last.value = jnp.where(s, t, self.last.value)
            self.spike.value = s.astype(jnp.float32)
            return self.spike.value

    if model in ("coba", "cuba"):
        net, n_exc, n_tot, default_dur = EINet(model), 3200, 4000, 1.0
    elif model == "cobahh":
        net, n_exc, n_tot, default_dur = TraubHH(), 3200, 4000, 1.0
    elif model == "seed":
        net, n_exc, n_tot, default_dur = SeedNet(), 10000, 10000, 0.1
    else:
        raise SystemExit(f"unknown model {model}")
    duration = default_dur if args.duration is None else args.duration
    steps = int(round(duration / 1e-4))

    t1 = time.perf_counter()
    brainstate.nn.init_all_states(net, batch_size=B if B > 1 else None)
    count = brainstate.ShortTermState(jnp.zeros((n_tot,), jnp.float32))

    def step(i):
        with brainstate.environ.context(i=i, t=i * dt):
            spk = net.update()
            count.value = count.value + (spk.reshape(-1, n_tot).sum(0) if B > 1 else spk)

    @brainstate.transform.jit
    def simulate(indices):
        brainstate.transform.for_loop(step, indices)

    indices = np.arange(steps)

    def run_once():
        net.set_initial(key)
        count.value = jnp.zeros((n_tot,), jnp.float32)
        t = time.perf_counter()
        simulate(indices)
        jax.block_until_ready(count.value)
        return time.perf_counter() - t

    first = run_once()
    setup_s = time.perf_counter() - t1
    sim_s = run_once()
    compile_s = max(setup_s - sim_s, 0.0)
    counts = np.asarray(count.value, dtype=np.float64)

    # Out-degrees (fixed per presynaptic neuron in EventFixedProb).
    if model == "seed":
        comms = [(net.recurrent.comm, 0)]
    elif model == "cobahh":
        comms = [(net.Ce, 0), (net.Ci, 3200)]
    else:
        comms = [(net.E.comm, 0), (net.I.comm, 3200)]
    outdeg = np.zeros(n_tot)
    synapses = 0
    for c, off in comms:
        idx = np.asarray(c.conn.indices)
        outdeg[off:off + idx.shape[0]] = idx.shape[1]
        synapses += idx.size
    events = int((counts * outdeg).sum())
    sim_t = steps * 1e-4
    pops = {"E": counts[:n_exc]}
    if n_exc < n_tot:
        pops["I"] = counts[n_exc:]
    rates = {k: float(v.sum()) / (len(v) * B * sim_t) for k, v in pops.items()}
    rates["all"] = float(counts.sum()) / (n_tot * B * sim_t)
    out = dict(
        tool="brainpy", model=model, version=f"brainpy {brainpy.__version__}, brainstate {brainstate.__version__}, jax {jax.__version__}",
        device=str(jax.devices()[0]), precision="f32", batch=B, import_s=t_import,
        compile_s=compile_s, first_call_s=first, sim_s=sim_s, steps=steps, simulated_s=sim_t,
        synapses=int(synapses), spikes={k: int(v.sum()) for k, v in pops.items()},
        rates_hz=rates, synaptic_events=events, peak_rss_kib=vm_hwm_kib(),
    )
    print(json.dumps(out))


if __name__ == "__main__":
    main()
