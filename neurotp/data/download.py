"""Explicit download of the Fashion-MNIST / MNIST IDX files, with integrity checks.

Nothing here runs implicitly: ``load_dataset`` only reads files that are already on disk.
``neurotp data download NAME [--dir DIR]`` calls :func:`download`.

Checks. Every file is decompressed and parsed as IDX; its shape must be the published one.
For Fashion-MNIST the SHA-256 of the *decompressed* IDX payload must also match
:data:`PAYLOAD_SHA256`. Those digests were computed from Debian's ``dataset-fashion-mnist``
files (re-compressed copies of the upstream files, so the ``.gz`` bytes differ from
upstream but the payload does not). Hashing the payload keeps the check independent of the
gzip wrapper. For MNIST no digest is pinned (none could be verified offline when this was
written); shape and exact size are checked instead.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import tempfile
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO

from neurotp.data.datasets import IDX_DATASETS, IDX_FILES, cache_dir
from neurotp.data.idx import parse_idx

MIRRORS: dict[str, tuple[str, ...]] = {
    "fashion-mnist": (
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
        "https://github.com/zalandoresearch/fashion-mnist/raw/master/data/fashion/",
    ),
    "mnist": (
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
    ),
}

EXPECTED_SHAPES: dict[str, dict[str, tuple[int, ...]]] = {
    name: {
        "train_images": (60000, 28, 28),
        "train_labels": (60000,),
        "test_images": (10000, 28, 28),
        "test_labels": (10000,),
    }
    for name in IDX_DATASETS
}

# SHA-256 of the decompressed IDX bytes (see module docstring for their provenance).
PAYLOAD_SHA256: dict[str, dict[str, str]] = {
    "fashion-mnist": {
        "train_images": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
        "train_labels": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
        "test_images": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
        "test_labels": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
    },
    "mnist": {},
}

Opener = Callable[..., IO[bytes]]


class ChecksumError(ValueError):
    """A downloaded file failed its integrity check."""


def verify_file(
    path: str | os.PathLike,
    name: str,
    part: str,
    shapes: dict[str, dict[str, tuple[int, ...]]] | None = None,
    digests: dict[str, dict[str, str]] | None = None,
) -> str:
    """Check one IDX file of data set ``name`` (``part`` is a key of ``IDX_FILES``).

    Returns the SHA-256 of the decompressed payload; raises :class:`ChecksumError` naming
    the file on a wrong digest or shape, ``ValueError`` if the file is not valid IDX.
    """
    shapes = EXPECTED_SHAPES if shapes is None else shapes
    digests = PAYLOAD_SHA256 if digests is None else digests
    p = Path(path)
    raw = p.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise ChecksumError(f"{p}: corrupt gzip stream ({exc})") from exc
    arr = parse_idx(raw, source=str(p))
    want_shape = shapes.get(name, {}).get(part)
    if want_shape is not None and tuple(arr.shape) != tuple(want_shape):
        raise ChecksumError(f"{p}: shape {arr.shape}, expected {tuple(want_shape)} for {name}")
    digest = hashlib.sha256(raw).hexdigest()
    want = digests.get(name, {}).get(part)
    if want is not None and digest != want:
        raise ChecksumError(f"{p}: SHA-256 of IDX payload is {digest}, expected {want}")
    return digest


def _fetch(url: str, dest: Path, opener: Opener, timeout: float) -> None:
    with opener(url, timeout=timeout) as resp, open(dest, "wb") as out:
        shutil.copyfileobj(resp, out)


def download(
    name: str,
    dest_dir: str | os.PathLike | None = None,
    *,
    mirrors: Sequence[str] | None = None,
    opener: Opener | None = None,
    force: bool = False,
    timeout: float = 60.0,
    shapes: dict[str, dict[str, tuple[int, ...]]] | None = None,
    digests: dict[str, dict[str, str]] | None = None,
    log: Callable[[str], None] | None = print,
) -> dict[str, Path]:
    """Download and verify the four IDX ``.gz`` files of ``name`` into ``dest_dir``.

    ``dest_dir`` defaults to the user cache (``~/.cache/neurotp/<name>``), where
    :func:`neurotp.data.load_dataset` looks. Files that already verify are kept unless
    ``force``. Each file is written to a temporary name and renamed only after it verifies.
    ``opener`` defaults to ``urllib.request.urlopen`` (tests pass a fake or file:// URLs).
    Raises ``RuntimeError`` listing every mirror's error if no mirror gives a good file.
    """
    if name not in IDX_DATASETS:
        raise ValueError(
            f"dataset name: {name!r} cannot be downloaded; allowed: {', '.join(IDX_DATASETS)}"
        )
    dest = Path(dest_dir) if dest_dir is not None else cache_dir() / name
    dest.mkdir(parents=True, exist_ok=True)
    mirrors = tuple(mirrors) if mirrors is not None else MIRRORS[name]
    opener = opener if opener is not None else urllib.request.urlopen
    say = log or (lambda _msg: None)
    out: dict[str, Path] = {}
    for part, stem in IDX_FILES.items():
        target = dest / f"{stem}.gz"
        if target.exists() and not force:
            try:
                verify_file(target, name, part, shapes, digests)
                say(f"{target}: present and verified")
                out[part] = target
                continue
            except ValueError as exc:
                say(f"{target}: present but fails verification ({exc}); downloading again")
        errors: list[str] = []
        for base in mirrors:
            url = base.rstrip("/") + f"/{stem}.gz"
            fd, tmp_name = tempfile.mkstemp(dir=dest, prefix=f".{stem}.", suffix=".part")
            os.close(fd)
            tmp = Path(tmp_name)
            try:
                say(f"downloading {url}")
                _fetch(url, tmp, opener, timeout)
                digest = verify_file(tmp, name, part, shapes, digests)
                os.replace(tmp, target)
                say(f"{target}: ok (payload sha256 {digest})")
                out[part] = target
                break
            except (OSError, ValueError) as exc:
                errors.append(f"  {url}: {exc}")
            finally:
                if tmp.exists():
                    tmp.unlink()
        else:
            raise RuntimeError(f"{name}: could not get a valid {stem}.gz:\n" + "\n".join(errors))
    return out
