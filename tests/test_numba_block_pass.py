"""The one pass per delay block (neurotp.engines.numba.block_pass) against NumPy: pending
updates applied in order, then the next block's products, for the four-row sweeps (K = 2, 3)
and the one-row path (other K, rows left over, the flush at the end of a drive)."""

import numpy as np
import pytest

from neurotp.engines.numba.block_pass import block_pass
from neurotp.engines.numba.blocks import BlockBuffers


def _buffers(rng, k_old, k_new, post, pre, learned, dtype=np.float64):
    kk = max(k_old, k_new, 1)
    blk = BlockBuffers(
        slot=np.zeros(1, dtype=np.int64),
        x=rng.standard_normal((1, 2, kk, pre)).astype(dtype),
        xb=rng.standard_normal((1, 2, kk, pre)).astype(dtype),
        ca=1e-2 * rng.standard_normal((1, kk, post)).astype(dtype),
        cb=1e-2 * rng.standard_normal((1, kk, post)).astype(dtype),
        dot=np.zeros((1, kk, post)),
        gx=np.zeros((1, kk, kk)),
        gxb=np.zeros((1, kk, kk)),
        learned=np.zeros((1, kk), dtype=np.bool_),
        half=np.array([1], dtype=np.int64),  # the running block is half 1, the next half 0
        n_run=np.array([k_old], dtype=np.int64),
    )
    blk.learned[0, :k_old] = learned
    for s in range(kk):  # a step that did not learn has zero coefficients
        if not blk.learned[0, s]:
            blk.ca[0, s] = 0.0
            blk.cb[0, s] = 0.0
    return blk


CASES = [
    (2, 2, 8, True, (True, True)),  # K = 2, four-row sweeps, with a pre trace
    (2, 2, 10, False, (True, False)),  # rows left over; a step that did not learn
    (3, 3, 12, True, (False, True, True)),  # K = 3 sweeps
    (3, 3, 9, False, (True, True, True)),
    (5, 5, 6, True, (True, False, True, True, False)),  # other K: one sweep per step
    (3, 0, 7, True, (True, True, True)),  # the flush: no next block
    (2, 1, 8, False, (True, True)),  # a shorter last block
]


@pytest.mark.parametrize(("k_old", "k_new", "post", "has_tr", "learned"), CASES)
def test_block_pass_equals_numpy(k_old, k_new, post, has_tr, learned):
    rng = np.random.default_rng(post + k_old)
    pre = 11
    blk = _buffers(rng, k_old, k_new, post, pre, learned)
    W = rng.standard_normal((post, pre))
    want = W.copy()
    for s in range(k_old):
        if learned[s]:
            av = blk.xb[0, 1, s] if has_tr else np.zeros(pre)
            want += np.outer(blk.ca[0, s], av) - np.outer(blk.cb[0, s], blk.x[0, 1, s])
    block_pass(W, blk, 0, k_new, has_tr, 0.0)
    assert np.max(np.abs(W - want)) <= 1e-13
    for s in range(k_new):
        assert np.max(np.abs(blk.dot[0, s] - want @ blk.x[0, 0, s])) <= 1e-12


def test_block_pass_float32_stays_float32():
    rng = np.random.default_rng(0)
    blk = _buffers(rng, 2, 2, 8, 5, (True, True), dtype=np.float32)
    W = rng.standard_normal((8, 5)).astype(np.float32)
    want = W.astype(np.float64)
    for s in range(2):
        want += np.outer(blk.ca[0, s], blk.xb[0, 1, s]) - np.outer(blk.cb[0, s], blk.x[0, 1, s])
    block_pass(W, blk, 0, 2, True, np.float32(0.0))
    assert W.dtype == np.float32
    assert np.max(np.abs(W - want)) <= 1e-5
