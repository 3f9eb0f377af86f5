"""The vectorisable tanh of neurotp.engines.numba.vtanh against NumPy's."""

import numpy as np
from numba import njit

from neurotp.engines.numba.vtanh import sigmoid, tanh


@njit(error_model="numpy")
def _apply(x, out, which):
    for u in range(x.size):
        out[u] = tanh(x[u]) if which == 0 else sigmoid(x[u])


def _ulps(got, want):
    ok = np.isfinite(want) & (want != 0)
    return np.abs(got[ok] - want[ok]) / np.spacing(np.abs(want[ok]))


def test_tanh_within_a_few_ulp_of_numpy_everywhere():
    rng = np.random.default_rng(0)
    x = np.concatenate(
        [
            np.linspace(-25.0, 25.0, 200001),
            rng.standard_normal(20000) * 1e-3,
            np.nextafter(0.625, [0.0, 1.0]),  # both sides of the switch between the two forms
            -np.nextafter(0.625, [0.0, 1.0]),
            [1e-300, -1e-310, 19.999, 20.0, 700.0, -1e300],
        ]
    )
    out = np.empty_like(x)
    _apply(x, out, 0)
    assert _ulps(out, np.tanh(x)).max() <= 4
    assert np.all(np.abs(out) <= 1.0)
    assert np.array_equal(np.sign(out), np.sign(x))


def test_tanh_special_values():
    x = np.array([0.0, -0.0, np.inf, -np.inf, np.nan])
    out = np.empty_like(x)
    _apply(x, out, 0)
    assert out[0] == 0.0 and not np.signbit(out[0])
    assert out[1] == 0.0 and np.signbit(out[1])
    assert out[2] == 1.0 and out[3] == -1.0
    assert np.isnan(out[4])  # a diverging rate stays NaN


def test_sigmoid_is_the_logistic_function():
    x = np.linspace(-40.0, 40.0, 20001)
    out = np.empty_like(x)
    _apply(x, out, 1)
    want = 0.5 * (1.0 + np.tanh(0.5 * x))
    np.testing.assert_allclose(out, want, rtol=0, atol=1e-15)
