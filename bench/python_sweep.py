"""Overhead of running from Python: ten COBA simulations of 1 s with ten values
of E.tau, timed from Python, against the simulations' own time
(``summary["wall_s"]``: tables, initial values and the step loop). The code is
compiled by a warm-up run first, as a notebook user's first run would.

    python bench/python_sweep.py [--model examples/coba.snn] [--duration "1 s"] [--check]

Prints one line per run and the overhead ratio; with ``--check`` exits 1 when
the overhead exceeds 10 % (the target of issue 17).
"""

import argparse
import pathlib
import time

import numpy as np

import snnc

ROOT = pathlib.Path(__file__).resolve().parents[1]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=str(ROOT / "examples/coba.snn"))
    ap.add_argument("--duration", default="1 s")
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--check", action="store_true", help="exit 1 above 10%% overhead")
    args = ap.parse_args()

    model = snnc.load(args.model)
    model.run(duration="10 ms", sweep={"E.tau": [0.02]})  # compile once
    compiled = model.compiles
    taus = np.linspace(15e-3, 25e-3, args.runs)
    total_python = 0.0
    total_sim = 0.0
    for tau in taus:
        t0 = time.perf_counter()
        r = model.run(duration=args.duration, sweep={"E.tau": [tau]})
        python_s = time.perf_counter() - t0
        total_python += python_s
        total_sim += r.summary["wall_s"]
        print(f"E.tau = {tau * 1e3:5.2f} ms: python {python_s:.4f} s, "
              f"simulation {r.summary['wall_s']:.4f} s, E rate {r.rates['E']:.2f} Hz")
    overhead = total_python / total_sim - 1.0
    print(f"{args.runs} runs: python {total_python:.3f} s, simulations {total_sim:.3f} s, "
          f"overhead {100 * overhead:.2f} % (target <= 10 %), "
          f"compilations during the sweep: {model.compiles - compiled}")
    if args.check and (overhead > 0.10 or model.compiles != compiled):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
