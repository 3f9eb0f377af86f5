"""What every engine shares: the result of a run of presentations, divergence errors, the engine
interface, and the check that a state fits the compiled circuit before any kernel sees it."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from neurotp.circuit.compiled import Compiled, State
from neurotp.circuit.protocol import Drive


class DivergenceError(FloatingPointError):
    """Rates became NaN or infinite; names the simulated time and the population."""

    def __init__(self, time_ms: float, population: str, checkpoint: str | None = None):
        self.time_ms = time_ms
        self.population = population
        self.checkpoint = checkpoint
        where = f"; last good checkpoint: {checkpoint}" if checkpoint else ""
        super().__init__(
            f"divergence: population {population!r} became NaN/inf at t={time_ms:g} ms{where}"
        )


class StateMismatchError(ValueError):
    """A state (e.g. from a checkpoint) whose arrays do not fit the compiled circuit."""


def expected_shapes(comp: Compiled, batch: int = 0) -> dict[str, tuple[int, ...]]:
    """Shape of every float array of a :class:`State` of ``comp``; with ``batch`` B >= 1 the
    batched engines' state (:mod:`neurotp.engines.batching`): a leading copy axis on the
    rates and traces, ``hist`` (L, B, N), the weights and biases shared."""
    if batch:
        return {
            "r": (batch, comp.n_units),
            "hist": (comp.hist_len, batch, comp.n_units),
            "tr": (batch, comp.n_trace_units),
            "w": (comp.n_weights,),
            "b": (comp.n_units,),
        }
    return {
        "r": (comp.n_units,),
        "hist": (comp.hist_len, comp.n_units),
        "tr": (comp.n_trace_units,),
        "w": (comp.n_weights,),
        "b": (comp.n_units,),
    }


def check_state(comp: Compiled, state: State, dtype: type = np.float64, batch: int = 0) -> None:
    """Raise :class:`StateMismatchError` naming the first array of ``state`` whose type, shape or
    dtype does not fit ``comp`` run in ``dtype`` (kernels index these arrays unchecked);
    ``batch``: as in :func:`expected_shapes`."""
    want = np.dtype(dtype)
    for key, shape in expected_shapes(comp, batch).items():
        a = getattr(state, key)
        if not isinstance(a, np.ndarray):
            raise StateMismatchError(
                f"state array {key!r}: {type(a).__name__} is not a NumPy array"
            )
        if a.shape != shape:
            raise StateMismatchError(
                f"state array {key!r}: shape {a.shape} does not fit circuit "
                f"{comp.circuit.name!r}, which needs {shape}"
            )
        if a.dtype != want:
            raise StateMismatchError(
                f"state array {key!r}: dtype {a.dtype} does not fit an engine run in {want}"
            )
    t = state.t
    if isinstance(t, bool) or not isinstance(t, (int, np.integer)) or t < 0:
        raise StateMismatchError(f"state step count 't': {t!r} is not a whole number >= 0")


@dataclass
class RunResult:
    """Per presentation, every unit's mean rate over the readout window (n_pres, N); and the
    decimated recording of the chosen units (n_records, n_recorded) if one was asked for."""

    means: np.ndarray
    record: np.ndarray | None = None


class Engine:
    """Runs a compiled circuit. Subclasses implement :meth:`run`."""

    name = "base"
    supports_spiking = False
    batch = 0  # batched engines: the number of copies B (their state has a copy axis)

    def __init__(self, comp: Compiled, dtype: type = np.float64, state: State | None = None):
        spiking = [p.name for p in comp.circuit.populations if p.model != "rate"]
        if spiking and not self.supports_spiking:
            raise ValueError(
                f"populations {spiking}: model 'poisson'/'lif' runs on backend 'brian2' only; "
                f"the {self.name} engine allows model 'rate'"
            )
        self.comp = comp
        self.dtype = np.dtype(dtype)
        self.state = state if state is not None else comp.initial_state(self.dtype)

    @property
    def state(self) -> State:
        return self._state

    @state.setter
    def state(self, state: State) -> None:
        """Every state an engine is given is checked against its circuit and dtype first."""
        check_state(self.comp, state, self.dtype, self.batch)
        self._state = state

    def run(
        self, drive: Drive, record_every: int = 0, record_units: np.ndarray | None = None
    ) -> RunResult:  # pragma: no cover - interface
        raise NotImplementedError

    def _divergence(self, t_step: int, unit: int) -> DivergenceError:
        pop = self.comp.pop_names[int(self.comp.unit_pop[unit])]
        return DivergenceError(t_step * self.comp.dt, pop)
