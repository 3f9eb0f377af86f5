"""A rule's ``post_slope``: the update at each post unit times φ′ of its own rate, on every
engine (the cross-engine tests run ``random_circuit(slopes=True)`` as ``random_slopes``)."""

import numpy as np
import pytest
from helpers import REPO

from neurotp.circuit import CircuitError, compile_circuit, load_circuit, make_drive
from neurotp.circuit.activations import SLOPES, activation
from neurotp.circuit.library import random_circuit, tp_circuit
from neurotp.engines.batched_reference import BatchedReferenceEngine
from neurotp.engines.numba import NumbaEngine
from neurotp.engines.numba.batched import BatchedNumbaEngine
from neurotp.engines.reference import ReferenceEngine


def test_slopes_are_the_derivatives_at_the_rate():
    u = np.linspace(-3, 3, 101)
    for name in ("linear", "tanh", "sigmoid", "relu"):
        h = 1e-6
        numeric = (activation(name)(u + h) - activation(name)(u - h)) / (2 * h)
        keep = np.abs(u) > 1e-3  # relu's kink
        np.testing.assert_allclose(
            SLOPES[name](activation(name)(u))[keep], numeric[keep], atol=1e-6
        )


def _one_rule_update(slope: bool):
    """ΔW and Δb of fmnist-like tp_circuit's prediction rule on X→H from one state."""
    c = tp_circuit((6, 5, 3))
    c.rules[0].post_slope = slope
    comp = compile_circuit(c)
    eng = ReferenceEngine(comp)
    rng = np.random.default_rng(0)
    eng.state.r[:] = np.tanh(rng.standard_normal(comp.n_units))
    eng.state.tr[:] = rng.standard_normal(eng.state.tr.shape)
    x = rng.uniform(0, 1, 6)
    w0, b0 = comp.proj_matrix(eng.state.w, "XH").copy(), eng.state.b.copy()
    eng._apply_rule(0, lambda off, n, d: x[:n])
    h = eng.state.r[comp.pop_slice("H")]
    dw = comp.proj_matrix(eng.state.w, "XH") - w0
    return dw, (eng.state.b - b0)[comp.pop_slice("H")], h


def test_the_update_is_scaled_by_the_post_units_own_slope():
    dw, db, h = _one_rule_update(False)
    dws, dbs, hs = _one_rule_update(True)
    np.testing.assert_array_equal(h, hs)
    assert np.abs(dw).max() > 1e-6
    np.testing.assert_allclose(dws, (1 - h**2)[:, None] * dw, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(dbs, (1 - h**2) * db, rtol=1e-12, atol=1e-15)


def test_slopes_change_the_trajectory_and_the_batched_engines_agree():
    runs = {}
    for slopes in (False, True):
        c = random_circuit(1, general=True, slopes=slopes)
        c.rules = [r for r in c.rules if r.kind != "oja"]  # not batched on Numba
        c.protocol.batch = 3
        comp = compile_circuit(c)
        ref, nb = BatchedReferenceEngine(comp), BatchedNumbaEngine(comp, threads=2)
        rng = np.random.default_rng(0)
        x, y = rng.uniform(0, 1, (7, comp.input_n)), rng.integers(0, comp.label_n, 7)
        d = make_drive(comp, x, y, np.random.default_rng(1), train=True)
        np.testing.assert_allclose(nb.run(d).means, ref.run(d).means, rtol=0, atol=1e-9)
        for key in ("r", "tr", "w", "b"):
            np.testing.assert_allclose(
                getattr(nb.state, key), getattr(ref.state, key), rtol=0, atol=1e-9, err_msg=key
            )
        runs[slopes] = ref.state.w.copy()
    assert np.abs(runs[True] - runs[False]).max() > 1e-4  # the flag does something


def test_single_numba_equals_reference_with_slopes():
    comp = compile_circuit(random_circuit(2, general=True, slopes=True))
    ref, nb = ReferenceEngine(comp), NumbaEngine(comp)
    rng = np.random.default_rng(3)
    x, y = rng.uniform(0, 1, (4, comp.input_n)), rng.integers(0, comp.label_n, 4)
    d = make_drive(comp, x, y, np.random.default_rng(4), train=True)
    np.testing.assert_allclose(nb.run(d).means, ref.run(d).means, rtol=0, atol=1e-9)
    np.testing.assert_allclose(nb.state.w, ref.state.w, rtol=0, atol=1e-9)


@pytest.mark.parametrize(
    ("override", "words"),
    [
        ('rules.prediction_XH.post_slope="yes"', "allowed: true or false"),
        ("populations.H.activation=sign", "has no slope; allowed with activations linear"),
    ],
)
def test_refusals_name_the_field_and_the_allowed_values(override, words):
    sets = ["rules.prediction_XH.post_slope=true", override]
    with pytest.raises(CircuitError, match=words):
        load_circuit(REPO / "circuits" / "fmnist_tp.yaml", sets)


def test_oja_has_no_slope():
    c = random_circuit(0)
    next(r for r in c.rules if r.kind == "oja").post_slope = True
    from neurotp.circuit import validate

    with pytest.raises(CircuitError, match="Oja's rule has no slope"):
        validate(c)


@pytest.mark.brian2
def test_spiking_rules_read_the_slope_at_the_decoded_rate():
    pytest.importorskip("brian2")
    from neurotp.engines.brian2.spiking_rules import SpikingRules

    c = random_circuit(0, slopes=True)
    comp = compile_circuit(c)
    rules = SpikingRules(comp, {g.name: (0.0, 1.0) for g in c.groups()})
    by_name = {r.name: k for k, r in enumerate(c.rules)}
    assert "(1 - xdec**2)*" in rules.code[by_name["pred_XH"]].coef  # tanh
    assert "(xdec*(1 - xdec))*" in rules.code[by_name["pred_HY"]].coef  # sigmoid
    assert "int(xdec > 0)*" in rules.code[by_name["delta_HG"]].coef  # relu
    assert "xdec**2" not in rules.code[by_name["recirc_ZQ"]].coef  # no slope there
