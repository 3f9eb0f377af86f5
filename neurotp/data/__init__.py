"""Data sets: sklearn digits, Fashion-MNIST / MNIST from IDX files (see :func:`load_dataset`)."""

from neurotp.data.datasets import (
    DATASET_NAMES,
    DataNotFoundError,
    Dataset,
    find_idx_files,
    load_dataset,
    search_dirs,
)
from neurotp.data.idx import read_idx

__all__ = [
    "DATASET_NAMES",
    "DataNotFoundError",
    "Dataset",
    "find_idx_files",
    "load_dataset",
    "read_idx",
    "search_dirs",
]
