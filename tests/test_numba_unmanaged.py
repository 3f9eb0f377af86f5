"""``unmanaged``: the same array (and tuples of arrays) without Numba's reference counting."""

from typing import NamedTuple

import numpy as np
import pytest
from numba import njit
from numba.core.errors import TypingError

from neurotp.engines.numba.unmanaged import unmanaged


class Pair(NamedTuple):
    a: np.ndarray
    n: int
    b: np.ndarray


@njit(cache=True)
def _write_rows(x):
    y = unmanaged(x)
    for j in range(y.shape[0]):
        row = y[j]  # a view of the alias
        for u in range(row.shape[0]):
            row[u] += j * 10 + u
    return y.shape[0], y.shape[1], y.strides[0]


@njit(cache=True)
def _sum_pair(p):
    q = unmanaged(p)
    q.b[1 : 1 + q.n] += q.a[: q.n]
    return q.n


def test_the_alias_is_the_same_memory_shape_and_strides():
    x = np.zeros((3, 4))
    assert _write_rows(x) == (3, 4, 32)
    np.testing.assert_array_equal(x, np.arange(3)[:, None] * 10 + np.arange(4))
    block = np.zeros((5, 6))[1:4, ::2]  # a strided block: the strides are kept
    _write_rows(block)
    np.testing.assert_array_equal(block, np.arange(3)[:, None] * 10 + np.arange(3))


def test_a_named_tuple_keeps_its_numbers_and_aliases_its_arrays():
    p = Pair(np.arange(3.0), 2, np.zeros(4))
    assert _sum_pair(p) == 2
    np.testing.assert_array_equal(p.b, [0.0, 0.0, 1.0, 0.0])


def test_what_is_not_an_array_number_or_tuple_is_refused():
    @njit
    def bad(s):
        return unmanaged(s)

    with pytest.raises(TypingError, match="unmanaged: arrays, numbers and tuples"):
        bad("text")
