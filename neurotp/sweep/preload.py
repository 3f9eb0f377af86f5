"""A Dask worker preload (``LocalCluster(preload=[__name__])``): imports what a point's run
needs (the CLI, the simulation, the Numba engine, the plotting of the run folder) while the
worker starts, so that it happens while the client compiles or loads the kernels, not in
each worker's first point. Nothing is compiled or loaded from Numba's cache here: the kernels
are loaded by the first point, after the client has warmed the cache
(:func:`neurotp.sweep.point.warm_numba`)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot  # noqa: E402, F401
import numba  # noqa: E402, F401

import neurotp.cli  # noqa: E402, F401
import neurotp.commands.run  # noqa: E402, F401
import neurotp.engines.numba  # noqa: E402, F401
import neurotp.outputs  # noqa: E402, F401
import neurotp.simulation  # noqa: E402, F401
import neurotp.sweep.point  # noqa: E402, F401
