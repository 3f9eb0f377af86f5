"""Which code computed a cached result: a hash of the package's own source.

A figure script caches each point under a key made of what it ran (the resolved circuit,
epochs, ...), and the package version stays 0.1.0 while the engines change under it, so a
cache can outlive the code that filled it: ``figures/time.png`` was once drawn from points an
earlier engine had computed (found on 4 December; README, "What time does").
:func:`source_hash` names the code instead: the SHA-256 of every ``.py`` file of the package
(path and bytes, in path order), so a result can say which code made it and a cache can tell
a stale point from a current one. Any edit of the package changes it, comments included:
stale means "computed by other code", not "wrong".
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent


def source_hash(root: Path | str | None = None) -> str:
    """The first 16 hex digits of the SHA-256 of the ``.py`` files under ``root`` (default:
    the installed ``neurotp`` package), each as its relative path and its bytes."""
    return _hash(str(Path(root).resolve()) if root is not None else str(PACKAGE))


@functools.cache
def _hash(root: str) -> str:
    h = hashlib.sha256()
    base = Path(root)
    for f in sorted(base.rglob("*.py")):
        h.update(f.relative_to(base).as_posix().encode() + b"\0")
        h.update(f.read_bytes() + b"\0")
    return h.hexdigest()[:16]
