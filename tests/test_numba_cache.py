"""Where the Numba kernels are cached and whether they are: the one reader of Numba's cache."""

import numpy as np

from neurotp.circuit import compile_circuit, make_drive
from neurotp.circuit.library import random_circuit
from neurotp.engines.numba import NumbaEngine, loop
from neurotp.engines.numba.cache import cache_dir, kernels_cached


def test_after_a_drive_the_step_loop_kernel_is_cached_where_cache_dir_says():
    comp = compile_circuit(random_circuit(0, present=10.0))
    d = make_drive(comp, np.zeros((1, comp.input_n)), None, np.random.default_rng(0), train=False)
    NumbaEngine(comp).run(d)
    assert kernels_cached()
    index = loop.run_drive._cache._cache_file._index_path
    assert index.startswith(cache_dir())


def test_a_missing_cache_reads_as_cold(monkeypatch):
    class Gone:
        _cache = None  # no cache attributes at all: assume a cold cache, never raise

    monkeypatch.setattr(loop, "run_drive", Gone())
    assert kernels_cached() is False
    assert isinstance(cache_dir(), str)
