"""Update-alignment diagnostics: BP gradient, DTP update, angles."""

import numpy as np
import pytest

from neurotp.circuit import compile_circuit
from neurotp.circuit.library import tp_circuit
from neurotp.metrics.alignment import (
    angle_degrees,
    bp_update,
    dtp_update,
    hidden_rates,
    read_network,
)


@pytest.fixture()
def net():
    comp = compile_circuit(tp_circuit((6, 5, 4, 3), seed=1))
    return read_network(comp, comp.initial_state())


def bce(net, x, t):
    h = x
    for l, (w, b) in enumerate(zip(net.W, net.b, strict=True), start=1):
        a = h @ w.T + b
        h = 1 / (1 + np.exp(-a)) if l == len(net.W) else np.tanh(a)
    return -np.sum(t * np.log(h) + (1 - t) * np.log(1 - h))


def test_bp_update_is_minus_the_gradient(net):
    rng = np.random.default_rng(0)
    x, t = rng.random((7, 6)), np.eye(3)[rng.integers(0, 3, 7)]
    upd = bp_update(net, x, t)
    eps = 1e-6
    for l, w in enumerate(net.W):
        i, j = 1, 2
        w[i, j] += eps
        up = bce(net, x, t)
        w[i, j] -= 2 * eps
        down = bce(net, x, t)
        w[i, j] += eps
        assert upd[l][i, j] == pytest.approx(-(up - down) / (2 * eps), rel=1e-5, abs=1e-9)


def test_dtp_top_layer_is_the_delta_rule_with_derivative(net):
    rng = np.random.default_rng(1)
    x, t = rng.random((5, 6)), np.eye(3)[rng.integers(0, 3, 5)]
    dtp, bp = dtp_update(net, x, t), bp_update(net, x, t)
    assert net.beta == pytest.approx(0.5)
    # top: beta (t - y) y (1 - y) h^T, a positive rescaling per unit of BP's (t - y) h^T
    assert angle_degrees(dtp[-1], bp[-1]) < 30.0
    assert len(dtp) == 3 and dtp[0].shape == net.W[0].shape


def test_angle_degrees():
    assert angle_degrees(np.array([1.0, 0.0]), np.array([0.0, 2.0])) == pytest.approx(90.0)
    assert angle_degrees(np.array([1.0, 1.0]), np.array([2.0, 2.0])) == pytest.approx(0.0, abs=1e-4)
    assert np.isnan(angle_degrees(np.zeros(2), np.ones(2)))


def test_hidden_rates_shapes(net):
    hs = hidden_rates(net, np.ones((2, 6)))
    assert [h.shape for h in hs] == [(2, 5), (2, 4)]
    assert all(np.all(np.abs(h) < 1) for h in hs)
