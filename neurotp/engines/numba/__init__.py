"""The Numba rate engine (the fast default), as a package of one idea per module:

- :mod:`~neurotp.engines.numba.tables` — the compiled circuit as NamedTuples of arrays, and
  the lowering of the general rule form onto the kernels' one update;
- :mod:`~neurotp.engines.numba.rows` — row loops over one weight matrix (current, update, both);
- :mod:`~neurotp.engines.numba.plasticity` — a rule's row coefficients at a step, a whole rule;
- :mod:`~neurotp.engines.numba.loop` — the step loop, :func:`run_drive`;
- :mod:`~neurotp.engines.numba.blocks` — delay blocks: the plan and their steps;
- :mod:`~neurotp.engines.numba.block_pass` — the one pass over the weights per delay block;
- :mod:`~neurotp.engines.numba.engine` — the driver, :class:`NumbaEngine`.
"""

from neurotp.engines.numba.blocks import MAX_BLOCK_STEPS, block_plan
from neurotp.engines.numba.engine import NumbaEngine
from neurotp.engines.numba.tables import fusable_projections

__all__ = ["MAX_BLOCK_STEPS", "NumbaEngine", "block_plan", "fusable_projections"]
