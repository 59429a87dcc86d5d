"""snnc from Python: compile a spiking-network model once, run it many times.

    >>> import snnc
    >>> model = snnc.load("examples/coba.snn")
    >>> r = model.run(duration="1 s")
    >>> r.rates                      # population -> mean rate in Hz
    >>> r.spikes["E"]                # (K, 3) uint32 rows: step, neuron, batch item
    >>> r.raster()                   # matplotlib, when installed

A rerun with other param values, inputs, durations, batch sizes or sweeps
reuses the compiled code (``model.compiles`` counts compilations). Results
are bit for bit those of ``snnc run`` for the same model and seed.
"""

from ._snnc import CompileError
from ._snnc import compile_str as _compile_str
from ._snnc import load as _load
from .results import Results, Trace

__all__ = ["load", "compile_str", "Model", "Results", "Trace", "CompileError"]


def load(path, network=None):
    """Compile the model file at ``path`` (imports are resolved next to it).

    ``network`` picks one network when the file declares several. Raises
    :class:`CompileError` (its text is the report ``snnc compile`` prints, its
    ``.diagnostics`` the structured list) when the model does not compile.
    """
    return Model(_load(str(path), network))


def compile_str(text, name="<string>", network=None):
    """Compile model source ``text`` (it may import ``std`` only).

    ``name`` is the file name diagnostics show. Raises :class:`CompileError`.
    """
    return Model(_compile_str(text, name, network))


class Model:
    """A compiled network, ready to run many times.

    Attributes: ``name``, ``dt`` and ``duration`` (seconds), ``populations``
    (name -> size), ``params`` ("POP.PARAM" -> SI value), ``inputs`` (input
    names), ``compiles`` (how many times code was generated so far).
    """

    def __init__(self, inner):
        self._inner = inner

    @property
    def name(self):
        return self._inner.name

    @property
    def dt(self):
        return self._inner.dt

    @property
    def duration(self):
        return self._inner.duration

    @property
    def populations(self):
        return dict(self._inner.populations)

    @property
    def params(self):
        return dict(self._inner.params)

    @property
    def inputs(self):
        return list(self._inner.inputs)

    @property
    def compiles(self):
        return self._inner.compiles

    def run(
        self,
        duration=None,
        batch=1,
        seed=None,
        inputs=None,
        sweep=None,
        params=None,
        backend="cranelift",
        precision=None,
    ):
        """Simulate and return :class:`Results`.

        duration: ``"1 s"``, ``"200 ms"`` (parsed as ``snnc run --duration``
            parses it) or seconds as a number; default: the network's.
        batch: independent trials run together (item ``k`` uses random stream
            ``k``: item 0 equals the unbatched run).
        seed: default: the network's ``seed``.
        inputs: ``{"drive": array}``: numpy arrays checked exactly as
            ``--input`` files are (shape ``[N]``, ``[T, N]`` or ``[T, B, N]``
            for a stimulus, ``[K, 2]`` (neuron, time in s) for a spike train;
            float or integer dtype). Stimuli with a default file use it when
            not given.
        sweep: ``{"E.tau": [0.01, 0.02]}`` or ``{"E.tau": ["10 ms", "20 ms"]}``:
            one value per batch item (sets ``batch`` when it was left at 1).
        params: ``{"E.tau": "15 ms"}``: a value for every batch item.
        backend: ``"cranelift"`` (native code, default) or ``"reference"``.
        precision: ``"f32"`` (default for cranelift) or ``"f64"`` (default for
            the reference).

        Swept and overridden params stay variables of the compiled code, so a
        rerun with other values compiles nothing. The GIL is released while the
        simulation runs; Ctrl-C stops it with ``KeyboardInterrupt``. Bad
        arguments or inputs raise ``ValueError`` naming what was expected and
        what was found, before anything runs.
        """
        raw = self._inner.run(
            duration=duration,
            batch=batch,
            seed=seed,
            inputs=inputs,
            sweep=sweep,
            params=params,
            backend=backend,
            precision=precision,
        )
        return Results(raw)

    def __repr__(self):
        pops = ", ".join(f"{n}[{s}]" for n, s in self._inner.populations)
        return f"<snnc.Model {self.name}: {pops}>"
