"""The Numba rate engine (the fast default): the driver that owns the state arrays, builds the
kernels' tables once (:mod:`neurotp.engines.numba.tables`) and runs each drive through
:func:`neurotp.engines.numba.loop.run_drive`."""

from __future__ import annotations

import numpy as np

from neurotp.circuit.compiled import Compiled, State
from neurotp.circuit.protocol import Drive
from neurotp.engines.base import Engine, RunResult
from neurotp.engines.numba.blocks import block_buffers, block_plan
from neurotp.engines.numba.loop import run_drive
from neurotp.engines.numba.tables import (
    Outputs,
    check_dtype,
    drive_arrays,
    lowering,
    projection_table,
    rule_rows,
    rules_open,
    scratch,
    state_arrays,
    trace_table,
    unit_table,
)


class NumbaEngine(Engine):
    """Numba rate engine.

    ``block_steps`` sets the delay blocks (:func:`block_plan`; ``block_k`` holds the steps per
    block of each projection, 0 where not blocked): ``"delay"`` (the default, measured faster
    than the step loop in both dtypes, ``docs/engines.md``) gives each eligible projection its
    delay, an int K a common K, 1 (or None) the plain step loop.
    The engine runs on one thread (``docs/engines.md`` says why).
    """

    name = "numba"

    def __init__(
        self,
        comp: Compiled,
        dtype: type = np.float64,
        state: State | None = None,
        block_steps: int | str | None = "delay",
    ):
        check_dtype(dtype)
        super().__init__(comp, dtype, state)
        self.block_k, block_tr = block_plan(comp, block_steps)
        self._units = unit_table(comp)
        self._projs = projection_table(comp, self.block_k, block_tr)
        self._traces = trace_table(comp)
        self._lowered = lowering(comp)
        self._step_open = rules_open(comp)

    def run(
        self, drive: Drive, record_every: int = 0, record_units: np.ndarray | None = None
    ) -> RunResult:
        c, s = self.comp, self.state
        spp = c.steps_per_presentation
        n_pres = drive.n_presentations
        units = (
            np.arange(c.n_units, dtype=np.int64)
            if record_units is None
            else np.asarray(record_units, dtype=np.int64)
        )
        n_rec = (n_pres * spp + record_every - 1) // record_every if record_every else 0
        out = Outputs(
            np.zeros((n_pres, c.n_units)), int(record_every), units, np.zeros((n_rec, len(units)))
        )
        # the step factors as they are now (Simulation rescales comp.rules.eta between epochs)
        rules = rule_rows(c, self._lowered)
        status, t, unit = run_drive(
            state_arrays(s),
            s.t,
            self._units,
            self._projs,
            self._traces,
            rules,
            drive_arrays(c, drive, self._step_open),
            block_buffers(self._projs, s.w.dtype),
            scratch(c),
            out,
        )
        s.t = int(t)
        if status != 0:
            raise self._divergence(s.t, int(unit))
        means = out.means / (c.readout_win[1] - c.readout_win[0])
        return RunResult(means=means, record=out.rec if record_every else None)
