"""What a run returns: spikes and traces as numpy arrays, rates, the summary,
and matplotlib pictures of them."""

import json

import numpy as np


class Trace:
    """One recorded state.

    ``values``: shape ``(samples, neurons)``, or ``(samples, batch, neurons)``
    for a batched run; ``t``: the time of each sample in seconds; ``steps``:
    its step; ``neurons``: the recorded neuron indices.
    """

    def __init__(self, name, raw, dt):
        self.name = name
        self.values = raw["values"]
        self.steps = raw["steps"]
        self.neurons = raw["neurons"]
        self.t = self.steps * dt

    def __repr__(self):
        return f"<snnc.Trace {self.name}: shape {self.values.shape}>"


class Results:
    """The recordings and summary of one run.

    * ``spikes["E"]``: ``(K, 3)`` uint32 array of rows (step, neuron, batch
      item), the same rows as ``spikes_E.npy`` of ``snnc run``;
    * ``traces["E.V"]``: a :class:`Trace` (values with their time axis);
    * ``rates``: population -> mean rate in Hz (over neurons, batch items and
      time);
    * ``summary``: the dict ``snnc run`` writes as ``summary.json``;
    * ``dt``, ``duration``: seconds.
    """

    def __init__(self, raw):
        self.summary = json.loads(raw["summary_json"])
        self.dt = raw["dt"]
        self.duration = self.summary["simulated_s"]
        self.spikes = dict(raw["spikes"])
        self.traces = {k: Trace(k, v, self.dt) for k, v in raw["traces"].items()}
        self.rates = {p["name"]: p["rate_hz"] for p in self.summary["populations"]}

    def spike_times(self, population, batch_item=0):
        """``(t, i)``: spike times in seconds and neuron indices of one batch item."""
        s = self.spikes[population]
        s = s[s[:, 2] == batch_item]
        return s[:, 0] * self.dt, s[:, 1]

    def population_rate(self, population, bin="5 ms", batch_item=0):
        """``(t, rate)``: the population's rate in Hz in bins of ``bin`` (a
        string with a unit or seconds)."""
        width = _seconds(bin)
        size = next(p["neurons"] for p in self.summary["populations"] if p["name"] == population)
        t, _ = self.spike_times(population, batch_item)
        edges = np.arange(0.0, self.duration + width, width)
        counts, _ = np.histogram(t, bins=edges)
        return edges[:-1], counts / (size * width)

    def raster(self, population=None, ax=None, batch_item=0, **style):
        """A spike raster (needs matplotlib): every recorded population, or one,
        stacked by neuron index. Returns the matplotlib Axes."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(8, 4))
        pops = [population] if population else list(self.spikes)
        marker = style.pop("marker", "|")
        markersize = style.pop("markersize", 2)
        offset = 0
        sizes = {p["name"]: p["neurons"] for p in self.summary["populations"]}
        for name in pops:
            t, i = self.spike_times(name, batch_item)
            ax.plot(t, i + offset, linestyle="none", marker=marker,
                    markersize=markersize, label=name, **style)
            offset += sizes[name]
        ax.set_xlabel("time (s)")
        ax.set_ylabel("neuron")
        ax.set_xlim(0, self.duration)
        if len(pops) > 1:
            ax.legend(loc="upper right", markerscale=4)
        return ax

    def plot(self, batch_item=0, bin="5 ms"):
        """Raster, population rates below it, and every recorded trace (needs
        matplotlib). Returns the Figure."""
        import matplotlib.pyplot as plt

        rows = 2 + len(self.traces)
        fig, axes = plt.subplots(rows, 1, figsize=(8, 2.5 * rows), sharex=True,
                                 gridspec_kw={"height_ratios": [3, 1] + [1] * len(self.traces)})
        self.raster(ax=axes[0], batch_item=batch_item)
        for name in self.spikes:
            t, rate = self.population_rate(name, bin, batch_item)
            axes[1].step(t, rate, where="post", label=name)
        axes[1].set_ylabel("rate (Hz)")
        for ax, (name, trace) in zip(axes[2:], self.traces.items()):
            values = trace.values[:, batch_item, :] if trace.values.ndim == 3 else trace.values
            ax.plot(trace.t, values)
            ax.set_ylabel(name)
        axes[-1].set_xlabel("time (s)")
        fig.tight_layout()
        return fig

    def __repr__(self):
        rates = ", ".join(f"{k}: {v:.2f} Hz" for k, v in self.rates.items())
        return f"<snnc.Results {self.duration} s, batch {self.summary['batch']}: {rates}>"


def _seconds(value):
    """Seconds from a number or a string with a unit, parsed as snnc parses
    ``--duration``."""
    if isinstance(value, str):
        from ._snnc import parse_time

        return parse_time(value, "bin")
    return float(value)
