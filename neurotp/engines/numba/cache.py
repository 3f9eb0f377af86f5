"""Where Numba keeps this engine's compiled kernels, and whether they are there: the one place
that reads Numba's (private) cache attributes, for the progress bar's "compiling kernels"
message and for sweeps that share the cache between workers."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> str:
    """Numba's cache folder for the kernels (``NUMBA_CACHE_DIR`` if set, else ``__pycache__``
    beside them or Numba's user-wide cache)."""
    try:
        from neurotp.engines.numba import loop

        return str(loop.run_drive._cache._cache_path)
    except Exception:  # noqa: BLE001 - a Numba without that private attribute
        return os.environ.get("NUMBA_CACHE_DIR", "numba-default")


def kernels_cached() -> bool:
    """Whether the step loop's compiled kernel is on disk and newer than its source (cheap; a
    cold cache means ~25 s of compilation in the first drive)."""
    try:
        from neurotp.engines.numba import loop

        index = Path(loop.run_drive._cache._cache_file._index_path)
        return index.stat().st_mtime >= Path(loop.__file__).stat().st_mtime
    except Exception:  # noqa: BLE001 - numba internals moved or no cache yet: assume cold
        return False
