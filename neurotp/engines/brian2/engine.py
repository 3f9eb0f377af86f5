"""The Brian2 engine: rate mode (:mod:`.rate`, one network per run, on the ``numpy``,
``cython`` or ``cpp_standalone`` target) or, for circuits of spiking populations, the
spiking runner (:mod:`.spiking`, one network kept across runs)."""

from __future__ import annotations

import dataclasses
import os
import tempfile
import time

import brian2 as b2
import numpy as np

from neurotp.circuit.compiled import Compiled, State
from neurotp.circuit.protocol import Drive
from neurotp.engines.base import Engine, RunResult
from neurotp.engines.brian2.rate import build_rate_network, check_supported
from neurotp.engines.brian2.spiking import SpikingRunner

TARGETS: tuple[str, ...] = ("numpy", "cython", "cpp_standalone")


def run_result(
    comp: Compiled,
    rates: np.ndarray,
    n_pres: int,
    record_every: int,
    record_units: np.ndarray | None,
) -> RunResult:
    """Readout means and the decimated record from the per-step rates (n_steps, N)."""
    spp = comp.steps_per_presentation
    r0, r1 = comp.readout_win
    per = rates.reshape(n_pres, spp, -1)
    means = per[:, r0:r1].sum(axis=1) / (r1 - r0)
    rec = None
    if record_every:
        units = slice(None) if record_units is None else np.asarray(record_units, dtype=np.int64)
        rec = rates[::record_every][:, units].copy()
    return RunResult(means=means, record=rec)


class Brian2Engine(Engine):
    """Brian2 backend: rate mode equal to the Numba engine; spiking populations too.

    ``target`` is the Brian2 code-generation target: ``numpy``, ``cython`` (runtime) or
    ``cpp_standalone`` (the whole run is generated as C++, compiled and run once per
    :meth:`run`); default ``$NEUROTP_BRIAN2_TARGET`` or ``numpy``. ``spiking`` overrides the
    circuit's spiking parameters (``circuit.spiking``: max_rate, tau_syn, tau_m; see
    :class:`neurotp.engines.brian2.spiking.SpikingRunner`). ``timings`` holds the last run's
    build / compile / loop seconds. Every run starts from ``self.state``, which may be
    replaced between runs (a resumed checkpoint).
    """

    name = "brian2"
    supports_spiking = True

    def __init__(
        self,
        comp: Compiled,
        dtype: type = np.float64,
        state: State | None = None,
        target: str | None = None,
        spiking: dict | None = None,
    ):
        if target is None:  # callers that know only (comp, dtype, state), e.g. Simulation
            target = os.environ.get("NEUROTP_BRIAN2_TARGET", "numpy")
        if np.dtype(dtype) != np.float64:
            raise ValueError(
                f"dtype: {np.dtype(dtype)} not supported by the brian2 engine; allowed: float64"
            )
        if target not in TARGETS:
            raise ValueError(
                f"target: unknown Brian2 target {target!r}; allowed: {', '.join(TARGETS)}"
            )
        super().__init__(comp, dtype, state)
        self.target = target
        self.timings: dict[str, float] = {}
        self.is_spiking = any(p.model != "rate" for p in comp.circuit.populations)
        self._spiking: SpikingRunner | None = None
        if self.is_spiking:
            params = dataclasses.asdict(comp.circuit.spiking)  # the circuit's, then overrides
            params.update(spiking or {})
            self._spiking = SpikingRunner(comp, target=target, **params)
        else:
            check_supported(comp)

    def run(
        self, drive: Drive, record_every: int = 0, record_units: np.ndarray | None = None
    ) -> RunResult:
        if self._spiking is not None:
            res = self._spiking.run(self.state, drive, record_every, record_units)
            self.timings = dict(self._spiking.timings)
            return res
        if self.target == "cpp_standalone":
            rates = self._run_standalone(drive)
        else:
            b2.prefs.codegen.target = self.target
            b2.start_scope()
            tb = time.perf_counter()
            rn = build_rate_network(self.comp, self.state, drive)
            tc = time.perf_counter()
            rn.net.run(rn.duration(), namespace=rn.namespace)
            te = time.perf_counter()
            rates = rn.read_state(self.state)
            from brian2.devices.device import get_device

            loop = float(getattr(get_device(), "_last_run_time", te - tc))
            # compile = code generation (+ Cython compilation or cache load) in before_run
            self.timings = {"build": tc - tb, "compile": max(te - tc - loop, 0.0), "loop": loop}
        bad = ~np.isfinite(rates)
        if bad.any():
            step, unit = np.argwhere(bad)[0]
            raise self._divergence(int(self.state.t - len(rates) + step + 1), int(unit))
        return run_result(self.comp, rates, drive.n_presentations, record_every, record_units)

    def _run_standalone(self, drive: Drive) -> np.ndarray:
        from brian2.devices.device import device, reset_device, set_device

        directory = os.environ.get("NEUROTP_BRIAN2_BUILD") or os.path.join(
            tempfile.gettempdir(), f"neurotp_brian2_{os.getuid()}_{os.getpid()}"
        )
        set_device("cpp_standalone", directory=directory, build_on_run=False)
        try:
            device.reinit()
            device.activate(directory=directory, build_on_run=False)
            b2.prefs.devices.cpp_standalone.openmp_threads = 0
            tb = time.perf_counter()
            rn = build_rate_network(self.comp, self.state, drive)
            rn.net.run(rn.duration(), namespace=rn.namespace)
            device.build(directory=directory, compile=False, run=False)
            tc = time.perf_counter()
            device.compile_source(directory, compiler="gcc", clean=False, debug=False)
            tr_ = time.perf_counter()
            device.run(directory, with_output=False, run_args=[])
            te = time.perf_counter()
            loop = float(getattr(device, "_last_run_time", te - tr_) or (te - tr_))
            rates = rn.read_state(self.state)
            self.timings = {
                "build": tc - tb,
                "compile": tr_ - tc,
                "loop": loop,
                "run_process": te - tr_,
            }
        finally:
            device.reinit()
            reset_device("runtime")
        return rates
