"""Classification data sets as flat float32 arrays in [0, 1].

``digits`` ships with scikit-learn (8x8 images, 1797 examples, fixed stratified 70/30
split). ``fashion-mnist`` and ``mnist`` are read from IDX files found on disk; nothing is
downloaded implicitly (see :mod:`neurotp.data.download` and ``neurotp data download``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from neurotp.circuit.validate import DATASET_CLASSES
from neurotp.data.idx import read_idx

DATASET_NAMES: tuple[str, ...] = ("digits", "fashion-mnist", "mnist")
assert set(DATASET_NAMES) == set(DATASET_CLASSES), "keep DATASET_CLASSES in step"
IDX_DATASETS: tuple[str, ...] = ("fashion-mnist", "mnist")

# Logical part -> file stem; ``.gz`` or raw files are both accepted.
IDX_FILES: dict[str, str] = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}

SYSTEM_DATA_DIR = Path("/usr/share/datasets")


class DataNotFoundError(FileNotFoundError, ValueError):
    """A data set's files were not found in any searched folder (or not in the one given).

    Also a ``ValueError``: like every other user mistake, the CLI prints it as one line."""


@dataclass(frozen=True)
class Dataset:
    """A train/test classification split; images flattened to rows of ``x``."""

    name: str
    x_train: np.ndarray  # float32, (N, D), values in [0, 1]
    y_train: np.ndarray  # int64, (N,)
    x_test: np.ndarray
    y_test: np.ndarray
    n_classes: int
    image_shape: tuple[int, int]
    x_val: np.ndarray | None = None  # held out of the training set (``validation``), or None
    y_val: np.ndarray | None = None

    @property
    def n_features(self) -> int:
        return int(self.x_train.shape[1])


def cache_dir() -> Path:
    """The user cache folder for downloads: ``$XDG_CACHE_HOME/neurotp`` or ``~/.cache/neurotp``."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "neurotp"


def search_dirs(name: str, root: str | os.PathLike | None = None) -> list[Path]:
    """Folders searched, in order, for the IDX files of data set ``name``.

    An explicit ``root`` is tried both as the folder holding the files and as a parent
    holding ``<name>/``; then ``$NEUROTP_DATA/<name>``, the user cache folder, and
    ``/usr/share/datasets/<name>`` (Debian's ``dataset-fashion-mnist``).
    """
    dirs: list[Path] = []
    if root is not None:
        dirs += [Path(root), Path(root) / name]
    env = os.environ.get("NEUROTP_DATA")
    if env:
        dirs.append(Path(env) / name)
    dirs.append(cache_dir() / name)
    dirs.append(SYSTEM_DATA_DIR / name)
    return dirs


def _find_file(folder: Path, stem: str) -> Path | None:
    for candidate in (folder / f"{stem}.gz", folder / stem):
        if candidate.is_file():
            return candidate
    return None


def find_idx_files(name: str, root: str | os.PathLike | None = None) -> dict[str, Path]:
    """Locate the four IDX files of ``name``: the first folder holding all four wins.

    Raises :class:`DataNotFoundError` listing every folder tried and how to get the data.
    An explicit ``root`` (``--data-dir``) is the only place looked in: when neither ``root``
    nor ``root/<name>`` holds all four files the error names the folder and the missing
    files (no silent fallback to another copy).
    """
    _check_name(name, IDX_DATASETS)
    if root is not None:
        return _find_in_root(name, Path(root))
    tried: list[str] = []
    for folder in search_dirs(name, root):
        found = {part: _find_file(folder, stem) for part, stem in IDX_FILES.items()}
        if all(found.values()):
            return {k: v for k, v in found.items() if v is not None}
        missing = [IDX_FILES[k] for k, v in found.items() if v is None]
        if folder.is_dir():
            tried.append(f"  {folder} (missing: {', '.join(missing)}[.gz])")
        else:
            tried.append(f"  {folder} (no such folder)")
    hint = f"run `neurotp data download {name}`"
    if name == "fashion-mnist":
        hint += " or `apt-get install dataset-fashion-mnist`"
    raise DataNotFoundError(
        f"{name}: IDX files not found. Looked in:\n" + "\n".join(tried) + f"\nTo get them, {hint}"
        " (or pass root=DIR / --data-dir DIR, or set NEUROTP_DATA=DIR)."
    )


def _find_in_root(name: str, root: Path) -> dict[str, Path]:
    if not root.is_dir():
        what = "is not a folder" if root.exists() else "does not exist"
        raise DataNotFoundError(
            f"{name}: data folder {root} {what}; pass the folder holding the four IDX files "
            f"({', '.join(IDX_FILES.values())}, each raw or .gz) or its parent holding {name}/"
        )
    best: tuple[Path, list[str]] | None = None
    for folder in (root, root / name):
        found = {part: _find_file(folder, stem) for part, stem in IDX_FILES.items()}
        if all(found.values()):
            return {k: v for k, v in found.items() if v is not None}
        missing = [IDX_FILES[k] for k, v in found.items() if v is None]
        if folder.is_dir() and (best is None or len(missing) < len(best[1])):
            best = (folder, missing)
    assert best is not None  # root is a folder
    folder, missing = best
    hint = f"`neurotp data download {name} --dir {root}`"
    raise DataNotFoundError(
        f"{name}: data folder {folder} is incomplete; missing: "
        + ", ".join(f"{m}[.gz]" for m in missing)
        + f" (found {4 - len(missing)} of 4). Get them with {hint}, or leave out --data-dir "
        "to search the default places"
    )


def _check_name(name: str, allowed: tuple[str, ...]) -> None:
    if name not in allowed:
        raise ValueError(f"dataset name: unknown {name!r}; allowed: {', '.join(allowed)}")


def _check_count(field: str, value: int | None, available: int) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{field}: must be an int or None, got {type(value).__name__}")
    if not 1 <= value <= available:
        raise ValueError(f"{field}: {value} out of range; allowed 1..{available} (or None = all)")


def _subset(
    x: np.ndarray, y: np.ndarray, n: int | None, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    if n is None:
        return x, y
    idx = rng.permutation(len(x))[:n]
    return x[idx], y[idx]


def _load_digits() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = load_digits()
    x = (d.data / 16.0).astype(np.float32)
    y = d.target.astype(np.int64)
    x_tr, x_te, y_tr, y_te = train_test_split(
        x, y, test_size=0.3, stratify=y, random_state=0, shuffle=True
    )
    return x_tr, y_tr, x_te, y_te


def _load_idx(name: str, root: str | os.PathLike | None):
    files = find_idx_files(name, root)
    arrays = {part: read_idx(path) for part, path in files.items()}
    for split in ("train", "test"):
        imgs, labels = arrays[f"{split}_images"], arrays[f"{split}_labels"]
        if imgs.ndim != 3 or labels.ndim != 1 or imgs.shape[0] != labels.shape[0]:
            raise ValueError(
                f"{name}: {split} images {files[f'{split}_images']} shape {imgs.shape} and "
                f"labels {files[f'{split}_labels']} shape {labels.shape} disagree "
                "(need (N, H, W) and (N,))"
            )
    shape = arrays["train_images"].shape[1:]
    if arrays["test_images"].shape[1:] != shape:
        raise ValueError(
            f"{name}: train image shape {shape} != test image shape "
            f"{arrays['test_images'].shape[1:]}"
        )

    def flat(a: np.ndarray) -> np.ndarray:
        a = a.reshape(a.shape[0], -1).astype(np.float32)
        return a / 255.0 if a.size and a.max() > 1.0 else a

    return (
        flat(arrays["train_images"]),
        arrays["train_labels"].astype(np.int64),
        flat(arrays["test_images"]),
        arrays["test_labels"].astype(np.int64),
        (int(shape[0]), int(shape[1])),
    )


def load_dataset(
    name: str,
    root: str | os.PathLike | None = None,
    n_train: int | None = None,
    n_test: int | None = None,
    seed: int = 0,
    validation: float = 0.0,
) -> Dataset:
    """Load data set ``name`` (one of :data:`DATASET_NAMES`).

    ``n_train`` / ``n_test`` keep the first N examples after a shuffle seeded by ``seed``
    (the full sets keep their published order). The digits split itself is fixed
    (stratified 70/30, ``random_state=0``) and does not depend on ``seed``. ``validation``
    holds that fraction of the (subset) training set out, stratified by class and seeded by
    ``seed``, as ``x_val``/``y_val``; the training set is the rest.
    """
    _check_name(name, DATASET_NAMES)
    if name == "digits":
        x_tr, y_tr, x_te, y_te = _load_digits()
        image_shape = (8, 8)
    else:
        x_tr, y_tr, x_te, y_te, image_shape = _load_idx(name, root)
    _check_count("n_train", n_train, len(x_tr))
    _check_count("n_test", n_test, len(x_te))
    rng = np.random.default_rng(seed)
    x_tr, y_tr = _subset(x_tr, y_tr, n_train, rng)
    x_te, y_te = _subset(x_te, y_te, n_test, rng)
    x_va = y_va = None
    if validation > 0:
        x_tr, y_tr, x_va, y_va = split_validation(x_tr, y_tr, validation, seed)
    n_classes = DATASET_CLASSES[name]  # digits 0-9, MNIST digits, Fashion-MNIST's garments
    return Dataset(
        name=name,
        x_train=np.ascontiguousarray(x_tr, dtype=np.float32),
        y_train=np.ascontiguousarray(y_tr, dtype=np.int64),
        x_test=np.ascontiguousarray(x_te, dtype=np.float32),
        y_test=np.ascontiguousarray(y_te, dtype=np.int64),
        n_classes=n_classes,
        image_shape=image_shape,
        x_val=None if x_va is None else np.ascontiguousarray(x_va, dtype=np.float32),
        y_val=None if y_va is None else np.ascontiguousarray(y_va, dtype=np.int64),
    )


def split_validation(
    x: np.ndarray, y: np.ndarray, fraction: float, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(x_train, y_train, x_val, y_val): ``fraction`` of each class (rounded, at least one
    example of every class with two or more) held out at random, seeded by ``seed``; both
    parts keep the original order."""
    if not 0 < fraction < 1:
        raise ValueError(f"validation: {fraction} must lie in (0, 1)")
    rng = np.random.default_rng([seed, 20140728])
    held = np.zeros(len(y), dtype=bool)
    for c in np.unique(y):
        idx = np.nonzero(y == c)[0]
        k = int(round(fraction * len(idx)))
        k = min(max(k, 1 if len(idx) > 1 else 0), len(idx) - 1)
        held[rng.permutation(idx)[:k]] = True
    return x[~held], y[~held], x[held], y[held]
