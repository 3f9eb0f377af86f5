"""The Brian2 engine: exact delays, errors, divergence, targets, spiking populations.

Rate mode vs Numba on every circuit file is in tests/test_cross_engine.py.
"""

from __future__ import annotations

import numpy as np
import pytest

brian2 = pytest.importorskip("brian2", reason="pip install 'neurotp[brian2]'")

from neurotp.circuit import compile_circuit, make_drive  # noqa: E402
from neurotp.circuit.library import random_circuit  # noqa: E402
from neurotp.circuit.spec import (  # noqa: E402
    Circuit,
    Population,
    Projection,
    Protocol,
    Rule,
    TargetTerm,
    Trace,
    WeightInit,
)
from neurotp.engines import DivergenceError, get_engine  # noqa: E402
from neurotp.engines.brian2_engine import Brian2Engine  # noqa: E402
from neurotp.engines.numba import NumbaEngine  # noqa: E402

pytestmark = pytest.mark.brian2


def delay_circuit(delay: float = 3.0, model: str = "rate", present: float = 5.0, gap: float = 5.0):
    """X -> H, identity weights, linear, tau = dt: H(t + 1) = X(t - delay)."""
    pops = [
        Population("X", 3, "linear", role="input", model=model),
        Population("H", 3, "linear", tau=1.0, model=model),
    ]
    projs = [Projection("XH", "X", "H", delay=delay, init=WeightInit("identity", 1.0))]
    proto = Protocol(dt=1.0, present=present, gap=gap, input="X", readout="H")
    return Circuit("delay", pops, projs, protocol=proto)


def test_get_engine_returns_the_brian2_engine():
    assert get_engine("brian2") is Brian2Engine
    assert Brian2Engine.supports_spiking


def test_bad_target_and_dtype_name_the_field():
    comp = compile_circuit(random_circuit())
    with pytest.raises(
        ValueError, match=r"target: .*'fortran'.*allowed: numpy, cython, cpp_standalone"
    ):
        Brian2Engine(comp, target="fortran")
    with pytest.raises(ValueError, match=r"dtype: float32 .*allowed: float64"):
        Brian2Engine(comp, dtype=np.float32)


def test_delay_line_delivers_exactly_d_steps_later():
    comp = compile_circuit(delay_circuit(delay=3.0))
    x = np.array([[0.5, -1.0, 2.0]])
    drive = make_drive(comp, x, None, np.random.default_rng(0), train=False)
    res = Brian2Engine(comp).run(drive, record_every=1)
    h = res.record[:, comp.pop_slice("H")]
    # input on during steps 0..4; H after step k equals X(k - 3): steps 3..7 carry x
    expected = np.zeros((10, 3))
    expected[3:8] = x
    np.testing.assert_array_equal(h, expected)


def test_two_blocks_equal_one_block_and_numba():
    """The delay line, traces and weights carry over between run() calls."""
    comp = compile_circuit(random_circuit(1, present=20.0))
    rng = np.random.default_rng(3)
    x = rng.random((4, comp.input_n))
    y = rng.integers(0, comp.label_n, 4)
    drive = make_drive(comp, x, y, np.random.default_rng(4), train=True)
    spp = comp.steps_per_presentation

    def part(a, b):
        return type(drive)(
            drive.stim[a:b],
            drive.labels[a:b],
            drive.clamp,
            drive.learn,
            drive.noise[a * spp : b * spp],
        )

    b2e = Brian2Engine(comp)
    m1 = b2e.run(part(0, 1)).means
    m2 = b2e.run(part(1, 4)).means
    nb = NumbaEngine(comp)
    mn = nb.run(drive).means
    np.testing.assert_allclose(np.vstack([m1, m2]), mn, atol=1e-9, rtol=0)
    for key in ("r", "hist", "tr", "w", "b"):
        np.testing.assert_allclose(getattr(b2e.state, key), getattr(nb.state, key), atol=1e-9)
    assert b2e.state.t == nb.state.t == 4 * spp


@pytest.mark.filterwarnings("ignore:overflow encountered", "ignore:invalid value encountered")
def test_divergence_names_population_and_time():
    pops = [
        Population("X", 2, "linear", role="input"),
        Population("Boom", 2, "linear", tau=1.0),
    ]
    projs = [
        Projection("XB", "X", "Boom", delay=1.0, init=WeightInit("identity", 1.0)),
        Projection("BB", "Boom", "Boom", delay=1.0, init=WeightInit("identity", 1e200)),
    ]
    c = Circuit("boom", pops, projs, protocol=Protocol(dt=1.0, present=20.0, input="X"))
    comp = compile_circuit(c)
    drive = make_drive(comp, np.ones((1, 2)), None, np.random.default_rng(0), train=False)
    with pytest.raises(DivergenceError, match=r"population 'Boom' became NaN/inf at t=(\d+) ms"):
        Brian2Engine(comp).run(drive)
    nb = NumbaEngine(comp)
    with pytest.raises(DivergenceError) as e_nb:
        nb.run(drive)
    b2e = Brian2Engine(comp)
    with pytest.raises(DivergenceError) as e_b2:
        b2e.run(drive)
    assert e_b2.value.time_ms == e_nb.value.time_ms


def test_rule_on_tied_projection_and_every_rule_kind_match_numba():
    c = random_circuit(2, present=20.0)
    # add a rule on the tied projection YS (weights shared with TS)
    c.traces.append(Trace("S_bar2", "S", tau=3.0))
    c.rules.append(
        Rule("rec_YS", "reconstruction", "YS", lr=0.02, forward_trace="S_bar2", bias=True)
    )
    c.rules.append(
        Rule("pred2", "prediction", "XH", lr=0.01, targets=[TargetTerm("H")], pre_trace="X_bar")
    )
    comp = compile_circuit(c)
    rng = np.random.default_rng(0)
    drive = make_drive(
        comp,
        rng.random((3, comp.input_n)),
        rng.integers(0, comp.label_n, 3),
        np.random.default_rng(1),
        train=True,
    )
    b2e, nb = Brian2Engine(comp), NumbaEngine(comp)
    b2e.run(drive)
    nb.run(drive)
    for key in ("r", "hist", "tr", "w", "b"):
        np.testing.assert_allclose(getattr(b2e.state, key), getattr(nb.state, key), atol=1e-9)
    assert np.abs(nb.state.w - comp.initial_state().w).max() > 1e-3


def test_oja_must_come_first_on_its_weights():
    c = random_circuit(0)
    c.rules.insert(0, Rule("delta_GH", "delta", "GH", lr=0.001, targets=[TargetTerm("H")]))
    comp = compile_circuit(c)
    with pytest.raises(ValueError, match=r"Oja's rule must be the first rule on projection 'GH'"):
        Brian2Engine(comp)


# ---- spiking -------------------------------------------------------------------------------
def test_lif_rates_decode_to_the_rate_model():
    """Regular LIF units fire at the rate the rate model asks for; the readout decodes it."""
    comp = compile_circuit(delay_circuit(delay=2.0, model="lif", present=200.0, gap=0.0))
    comp.readout_win = (50, 200)
    x = np.array([[0.5, -0.5, 0.0], [0.9, 0.2, -0.8]])
    drive = make_drive(comp, x, None, np.random.default_rng(0), train=False)
    eng = Brian2Engine(comp, spiking={"max_rate": 200.0})
    res = eng.run(drive, record_every=1)
    xd = res.means[:, comp.pop_slice("X")]
    hd = res.means[:, comp.pop_slice("H")]
    # 150 ms at up to 200 Hz: at most 30 spikes, period rounding to whole steps costs < 0.1
    assert np.max(np.abs(xd - x)) < 0.1, xd
    # H (tau = dt) follows the ripple of its one input's spike current, and its rate model is
    # clipped to [-1, 1] before it sets the firing rate: H's spikes decode to that clipped
    # rate (observed within 0.03), whose mean sits below x for x near 1
    r = res.record[:, comp.pop_slice("H")].reshape(2, 200, 3)[:, 49:199, :]
    assert np.max(np.abs(hd - np.clip(r, -1.0, 1.0).mean(axis=1))) < 0.06, hd
    assert res.record.shape == (400, 6)


def test_spike_currents_have_the_rate_mode_mean_in_discrete_time():
    """E[I] = Σ w·x̂ at dt = 1 ms: the per-spike increment is the discrete-time one.

    With the continuous-time increment 1/(ν_max·τ_s) the current read each step averaged
    (dt/τ_s)/(1 − exp(−dt/τ_s)) = 1.103 times the spike-rate part, i.e. a bias of
    0.103·(x + 1) for a linear presynaptic unit (≥ 0.08 for the rates used here).
    """
    comp = compile_circuit(delay_circuit(delay=1.0, model="lif", present=200.0, gap=0.0))
    x = np.array([[0.5, 0.0, 0.9], [-0.2, 0.2, 0.6]])
    drive = make_drive(comp, x, None, np.random.default_rng(0), train=False)
    eng = Brian2Engine(comp, spiking={"max_rate": 200.0})
    res = eng.run(drive, record_every=1)
    h = res.record[:, comp.pop_slice("H")].reshape(2, 200, 3)[:, 50:, :].mean(axis=1)
    # H (tau = dt) is its input current one step later; LIF rates are within ~2.3 Hz of ν
    assert np.max(np.abs(h - x)) < 0.04, h - x
    assert eng._spiking.spike_increment(5.0) == pytest.approx(-np.expm1(-0.2) / 0.2)


def test_poisson_spikes_arrive_after_the_axonal_delay():
    comp = compile_circuit(delay_circuit(delay=4.0, model="poisson", present=100.0, gap=0.0))
    drive = make_drive(comp, np.ones((1, 3)), None, np.random.default_rng(0), train=False)
    eng = Brian2Engine(comp, spiking={"max_rate": 200.0})
    eng.run(drive)
    xi, xt = eng._spiking.last_spikes["X"]
    hi, ht = eng._spiking.last_spikes["H"]
    assert len(xt) > 40 and len(ht) > 20  # 3 units at 200 Hz for 100 ms: ~60
    # rate model needs one step to respond; the spikes reach H 4 ms after X's first spikes
    assert ht.min() >= xt.min() + 4.0


def test_spiking_errors_name_the_field():
    comp = compile_circuit(delay_circuit(model="lif"))
    with pytest.raises(ValueError, match="target: .*allowed: numpy, cython"):
        Brian2Engine(comp, target="cpp_standalone")
    mixed = delay_circuit(model="lif")
    mixed.populations[1].model = "rate"
    with pytest.raises(ValueError, match=r"populations \['H'\]: model 'rate' mixed"):
        Brian2Engine(compile_circuit(mixed))
    with pytest.raises(ValueError, match="model 'poisson'/'lif' runs on backend 'brian2' only"):
        NumbaEngine(comp)


# ---- other targets (compilation takes minutes on 2 cores) --------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("target", ["cython", "cpp_standalone"])
def test_compiled_targets_equal_numba(target):
    comp = compile_circuit(random_circuit(0, present=20.0))
    rng = np.random.default_rng(0)
    drive = make_drive(
        comp,
        rng.random((3, comp.input_n)),
        rng.integers(0, comp.label_n, 3),
        np.random.default_rng(1),
        train=True,
    )
    b2e, nb = Brian2Engine(comp, target=target), NumbaEngine(comp)
    mb, mn = b2e.run(drive).means, nb.run(drive).means
    np.testing.assert_allclose(mb, mn, atol=1e-6, rtol=0)
    for key in ("r", "hist", "tr", "w", "b"):
        np.testing.assert_allclose(getattr(b2e.state, key), getattr(nb.state, key), atol=1e-6)
    assert set(b2e.timings) >= {"build", "compile", "loop"}


def test_spiking_parameters_come_from_the_circuit_and_the_engine_overrides_them():
    c = delay_circuit(delay=1.0, model="lif")
    c.spiking.max_rate = 400.0
    c.spiking.tau_syn = 7.0
    comp = compile_circuit(c)
    eng = Brian2Engine(comp)
    assert (eng._spiking.max_rate, eng._spiking.tau_syn, eng._spiking.tau_m) == (400.0, 7.0, 50.0)
    eng = Brian2Engine(comp, spiking={"max_rate": 250.0})
    assert (eng._spiking.max_rate, eng._spiking.tau_syn) == (250.0, 7.0)
