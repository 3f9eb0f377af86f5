"""The strided-block GEMM of neurotp.engines.numba.blas against NumPy."""

import numpy as np
import pytest

from neurotp.engines.numba.blas import gemm


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("trans_a", [False, True])
@pytest.mark.parametrize("trans_b", [False, True])
def test_gemm_on_blocks_equals_numpy(dtype, trans_a, trans_b):
    rng = np.random.default_rng(0)
    m, n, k = 5, 7, 11
    # each operand a block inside a larger array, rows further apart than its width
    a_big = rng.standard_normal((3, 20, 30)).astype(dtype)
    b_big = rng.standard_normal((25, 40)).astype(dtype)
    c_big = rng.standard_normal((9, 17)).astype(dtype)
    ar, ac = (k, m) if trans_a else (m, k)
    br, bc = (n, k) if trans_b else (k, n)
    a = a_big[1, 2 : 2 + ar, 4 : 4 + ac]
    b = b_big[3 : 3 + br, 5 : 5 + bc]
    want = c_big.copy()
    op_a = a.T if trans_a else a
    op_b = b.T if trans_b else b
    want[1 : 1 + m, 6 : 6 + n] = 0.5 * want[1 : 1 + m, 6 : 6 + n] + 1.5 * op_a @ op_b
    c = c_big.copy()
    a_block = (a_big, 600 + 2 * 30 + 4, 30, trans_a)
    gemm(m, n, k, 1.5, a_block, (b_big, 3 * 40 + 5, 40, trans_b), 0.5, (c, 17 + 6, 17))
    tol = 1e-12 if dtype == np.float64 else 1e-4
    np.testing.assert_allclose(c, want, rtol=0, atol=tol)
    outside = np.ones(c.shape, dtype=bool)
    outside[1 : 1 + m, 6 : 6 + n] = False
    np.testing.assert_array_equal(c[outside], c_big[outside])  # nothing else written


def test_beta_zero_ignores_c_and_k_zero_scales():
    a = np.ones((2, 3))
    b = np.ones((3, 2))
    c = np.full((2, 2), np.nan)
    gemm(2, 2, 3, 1.0, (a, 0, 3, False), (b, 0, 2, False), 0.0, (c, 0, 2))
    np.testing.assert_array_equal(c, np.full((2, 2), 3.0))
    gemm(2, 2, 0, 1.0, (a, 0, 3, False), (b, 0, 2, False), 2.0, (c, 0, 2))
    np.testing.assert_array_equal(c, np.full((2, 2), 6.0))
    gemm(2, 2, 0, 1.0, (a, 0, 3, False), (b, 0, 2, False), 0.0, (c, 0, 2))
    np.testing.assert_array_equal(c, np.zeros((2, 2)))


def test_blocks_outside_their_array_are_refused():
    a, b, c = np.ones((4, 4)), np.ones((4, 4)), np.zeros((4, 4))
    with pytest.raises(ValueError, match="past the end"):
        gemm(4, 4, 4, 1.0, (a, 1, 4, False), (b, 0, 4, False), 0.0, (c, 0, 4))
    with pytest.raises(ValueError, match="past the end"):
        gemm(4, 4, 4, 1.0, (a, 0, 4, False), (b, 0, 4, False), 0.0, (c, 0, 5))
    with pytest.raises(ValueError, match="ld < its columns"):
        gemm(2, 2, 4, 1.0, (a, 0, 3, False), (b, 0, 4, False), 0.0, (c, 0, 4))
    with pytest.raises(ValueError, match="negative"):
        gemm(2, 2, 2, 1.0, (a, -1, 4, False), (b, 0, 4, False), 0.0, (c, 0, 4))
