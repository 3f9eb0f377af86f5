"""Row loops over one weight matrix (neurotp.engines.numba.rows) against NumPy."""

import numpy as np
import pytest

from neurotp.circuit.activations import ACTIVATION_CODES, activation
from neurotp.engines.numba.rows import (
    matrix,
    oja_update,
    phi,
    rows_dot,
    rows_dot_update,
    rows_update,
)


def _case(seed=0, post=5, pre=7):
    rng = np.random.default_rng(seed)
    w = rng.standard_normal(3 + post * pre + 2)
    vecs = [rng.standard_normal(n) for n in (pre, pre, pre, post, post)]
    return w, *vecs


def test_matrix_is_a_view_of_the_flat_weights():
    w = np.arange(20.0)
    W = matrix(w, 3, 2, 5)
    assert W.tolist() == [list(range(3, 8)), list(range(8, 13))]
    W[1, 0] = -1.0
    assert w[8] == -1.0


def test_phi_matches_every_activation():
    v = np.linspace(-3, 3, 13)
    for name, code in ACTIVATION_CODES.items():
        got = np.array([phi(code, x) for x in v])
        assert np.allclose(got, activation(name)(v), atol=1e-15), name


def test_rows_dot_and_update_match_numpy():
    w, x, av, bv, ca, cb = _case()
    W0 = w[3:38].reshape(5, 7).copy()
    cur = np.ones(9)
    rows_dot(matrix(w, 3, 5, 7), x, cur, 2)
    assert np.allclose(cur[2:7], 1 + W0 @ x) and np.all(cur[[0, 1, 7, 8]] == 1)
    rows_update(matrix(w, 3, 5, 7), av, bv, ca, cb, 0.1, -np.inf, np.inf)
    want = W0 + 0.1 * (np.outer(ca, av) - np.outer(cb, bv))
    assert np.allclose(w[3:38].reshape(5, 7), want, atol=1e-14)
    rows_update(matrix(w, 3, 5, 7), av, bv, ca, cb, 0.0, -0.2, 0.3)  # bounds only
    assert np.allclose(w[3:38].reshape(5, 7), np.clip(want, -0.2, 0.3))


def test_rows_dot_update_reads_the_old_weights_for_the_current():
    w, x, av, _, ca, cb = _case(1)
    W0 = w[3:38].reshape(5, 7).copy()
    cur = np.zeros(5)
    rows_dot_update(matrix(w, 3, 5, 7), x, av, ca, cb, 0.05, cur, 0)
    assert np.allclose(cur, W0 @ x, atol=1e-14)
    want = W0 + 0.05 * (np.outer(ca, av) - np.outer(cb, x))
    assert np.allclose(w[3:38].reshape(5, 7), want, atol=1e-14)


@pytest.mark.parametrize("bounds", [(-np.inf, np.inf), (-0.5, 0.5)])
def test_oja_update_matches_numpy(bounds):
    w, x, _, _, y, _ = _case(2)
    W0 = w[3:38].reshape(5, 7).copy()
    oja_update(matrix(w, 3, 5, 7), x, y, 0.1, *bounds)
    want = np.clip(W0 + 0.1 * np.outer(y, x - W0.T @ y), *bounds)
    assert np.allclose(w[3:38].reshape(5, 7), want, atol=1e-14)
