"""Sweeps: one circuit (or ``neurotp train`` config) over a grid of parameters and seeds, on
Dask, each point through ``neurotp run`` (``train``) itself, into a resumable results table
(``docs/sweeps.md``). Needs the optional ``sweep`` extra (dask.distributed, pandas, pyarrow)."""

from neurotp.sweep.point import PointTask, run_point
from neurotp.sweep.runner import SweepError, SweepOutcome, run_sweep
from neurotp.sweep.spec import SweepSpec, SweepSpecError, build_spec, load_spec

__all__ = [
    "PointTask",
    "SweepError",
    "SweepOutcome",
    "SweepSpec",
    "SweepSpecError",
    "build_spec",
    "load_spec",
    "run_point",
    "run_sweep",
]
