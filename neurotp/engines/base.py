"""What every engine shares: the result of a run of presentations, divergence errors, the
engine interface."""

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

    def run(
        self, drive: Drive, record_every: int = 0, record_units: np.ndarray | None = None
    ) -> RunResult:  # pragma: no cover - interface
        raise NotImplementedError

    def _divergence(self, t_step: int, unit: int) -> DivergenceError:
        pop = self.comp.pop_names[int(self.comp.unit_pop[unit])]
        return DivergenceError(t_step * self.comp.dt, pop)
