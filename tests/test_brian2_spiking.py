"""The Brian2 spiking runner (neurotp/engines/brian2/spiking.py): decoded rates and currents,
axonal delays, general rules from spikes, bounds only where a rule applies, runs from a
replaced state (resume), divergence as DivergenceError, errors; section 8 in time:
compartments that nudge their soma, the label clamp from label_delay on, stimulus frames."""

from __future__ import annotations

import numpy as np
import pytest

brian2 = pytest.importorskip("brian2", reason="pip install 'neurotp[brian2]'")

from neurotp.circuit import compile_circuit, make_drive  # noqa: E402
from neurotp.circuit.spec import (  # noqa: E402
    Circuit,
    Compartment,
    FormTerm,
    Population,
    Projection,
    Protocol,
    Rule,
    RuleForm,
    Trace,
    WeightInit,
)
from neurotp.engines import DivergenceError  # noqa: E402
from neurotp.engines.brian2 import Brian2Engine  # noqa: E402
from neurotp.engines.numba import NumbaEngine  # noqa: E402

pytestmark = pytest.mark.brian2


def delay_circuit(delay: float = 3.0, model: str = "lif", present: float = 5.0, gap: float = 5.0):
    """X -> H, identity weights, linear, tau = dt: H(t + 1) = X(t - delay)."""
    pops = [
        Population("X", 3, "linear", role="input", model=model),
        Population("H", 3, "linear", tau=1.0, model=model),
    ]
    projs = [Projection("XH", "X", "H", delay=delay, init=WeightInit("identity", 1.0))]
    proto = Protocol(dt=1.0, present=present, gap=gap, input="X", readout="H")
    return Circuit("delay", pops, projs, protocol=proto)


def general_circuit(bounds=(-0.05, 0.05), lr: float = 0.5) -> Circuit:
    """LIF X -> H (weights 0.3, outside ``bounds``) with a general rule reading a target
    population's rate, a post-side trace and a pre-side trace; window 20..60 of 80 ms."""
    pops = [
        Population("X", 4, "linear", role="input", model="lif"),
        Population("T", 3, "sigmoid", tau=2.0, model="lif"),
        Population("H", 3, "tanh", tau=2.0, model="lif"),
    ]
    projs = [
        Projection("XT", "X", "T", delay=1.0, init=WeightInit("normal", 1.0)),
        Projection("XH", "X", "H", delay=2.0, init=WeightInit("constant", 0.3)),
    ]
    traces = [Trace("X_bar", "X", tau=10.0, delay=2.0), Trace("T_bar", "T", tau=8.0)]
    form = RuleForm(
        [FormTerm("rate:T", 1.0), FormTerm("trace:T_bar", 0.5)], "trace:X_bar", 1.5, "post", "pre"
    )
    rule = Rule(
        "g", "general", "XH", lr=lr, window=(20.0, 60.0), bounds=bounds, bias=True, form=form
    )
    proto = Protocol(dt=1.0, present=80.0, gap=10.0, input="X", readout="H")
    return Circuit("gen", pops, projs, traces, [rule], proto)


def nudge_circuit(rest: bool) -> Circuit:
    """X -> H.apical (identity); H's only input is its compartment's nudge 0.8·(a − ā), with
    the rest trace ā (τ 10 ms) or without (0.8·a)."""
    ap = Compartment("linear", tau=1.0, gain=0.8, rest="A_rest" if rest else None)
    pops = [
        Population("X", 3, "linear", role="input", model="lif"),
        Population("H", 3, "linear", tau=1.0, model="lif", apical=ap),
    ]
    projs = [Projection("XA", "X", "H.apical", delay=1.0, init=WeightInit("identity", 1.0))]
    traces = [Trace("A_rest", "H.apical", tau=10.0)] if rest else []
    proto = Protocol(dt=1.0, present=200.0, gap=0.0, input="X", readout="H")
    return Circuit("nudge", pops, projs, traces, protocol=proto)


def _drive(comp, n: int, train: bool, seed: int = 0):
    x = np.random.default_rng(seed).random((n, comp.input_n))
    return make_drive(comp, x, None, np.random.default_rng(seed + 1), train=train)


def test_lif_rates_decode_to_the_rate_model():
    """Regular LIF units fire at the rate the rate model asks for; the readout decodes it."""
    comp = compile_circuit(delay_circuit(delay=2.0, present=200.0, gap=0.0))
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
    comp = compile_circuit(delay_circuit(delay=1.0, present=200.0, gap=0.0))
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


def test_a_general_rule_learns_from_spikes_and_bounds_only_where_it_applies():
    """Learning off: weights outside the bounds stay put (issue 13); on: clipped, moved."""
    comp = compile_circuit(general_circuit())
    w0 = comp.proj_matrix(comp.initial_state().w, "XH").copy()
    eng = Brian2Engine(comp)
    eng.run(_drive(comp, 1, train=False))
    np.testing.assert_array_equal(comp.proj_matrix(eng.state.w, "XH"), w0)
    eng.run(_drive(comp, 2, train=True, seed=2))
    w = comp.proj_matrix(eng.state.w, "XH")
    assert np.abs(w).max() <= 0.05 + 1e-12
    assert len(np.unique(np.round(w, 12))) > 1  # learning, not only the clip, moved them
    unbounded = compile_circuit(general_circuit(bounds=None))
    eng = Brian2Engine(unbounded)
    eng.run(_drive(unbounded, 2, train=True, seed=2))
    moved = comp.proj_matrix(eng.state.w, "XH") - w0
    assert np.abs(moved).max() > 1e-3
    assert np.abs(eng.state.b - unbounded.initial_state().b).max() > 1e-4  # the bias term


def test_a_replaced_state_is_the_one_that_trains():
    """Issue 13: the runner kept its own reference to the first state, so a resumed
    checkpoint (Simulation assigns engine.state) was never trained, nor its time advanced."""
    c = delay_circuit(delay=1.0, present=40.0)
    c.traces.append(Trace("X_bar", "X", tau=5.0))
    c.rules.append(Rule("rec", "reconstruction", "XH", lr=0.02, forward_trace="X_bar"))
    comp = compile_circuit(c)
    eng = Brian2Engine(comp)
    eng.run(_drive(comp, 1, train=True))
    resumed = comp.initial_state()
    resumed.w += 2.0
    resumed.t = 1234
    eng.state = resumed.copy()
    drive = _drive(comp, 1, train=True, seed=5)
    eng.run(drive)
    assert eng.state.t == 1234 + drive.n_presentations * comp.steps_per_presentation
    moved = comp.proj_matrix(eng.state.w, "XH") - comp.proj_matrix(resumed.w, "XH")
    assert 0 < np.abs(moved).max() < 1.0  # trained, from the resumed weights


def test_simulation_resumes_a_spiking_run_from_its_checkpoint(tmp_path):
    """``--backend brian2 --spiking … --resume``: the resumed run trains the checkpoint."""
    from types import SimpleNamespace

    from neurotp.simulation import CHECKPOINT, Simulation

    c = delay_circuit(delay=1.0, present=20.0)
    c.protocol.readout = None  # no labels: nothing to score
    c.traces.append(Trace("X_bar", "X", tau=5.0))
    c.rules.append(Rule("rec", "reconstruction", "XH", lr=0.02, forward_trace="X_bar"))
    rng = np.random.default_rng(0)
    data = SimpleNamespace(
        x_train=rng.random((3, 3)), y_train=np.zeros(3, int), x_test=rng.random((2, 3)), y_test=None
    )
    Simulation(c, backend="brian2", data=data).train(epochs=1, out=tmp_path)
    with np.load(tmp_path / CHECKPOINT) as z:
        saved_t, saved_w = int(z["t"]), z["w"].copy()
    sim = Simulation.resume(c, tmp_path, backend="brian2", data=data)
    assert sim.epoch == 1 and sim.state.t == saved_t
    sim.train(epochs=2, out=tmp_path)
    steps = 3 * sim.comp.steps_per_presentation
    assert sim.state.t == saved_t + steps
    with np.load(tmp_path / CHECKPOINT) as z:
        assert int(z["t"]) == saved_t + steps
        assert np.abs(z["w"] - saved_w).max() > 0  # the second epoch trained the checkpoint


@pytest.mark.filterwarnings("ignore:overflow encountered", "ignore:invalid value encountered")
def test_divergence_is_a_divergence_error_naming_time_and_population():
    pops = [
        Population("X", 2, "linear", role="input", model="lif"),
        Population("Boom", 2, "relu", tau=1.0, bias=0.5, model="lif"),
    ]
    projs = [
        Projection("XB", "X", "Boom", delay=1.0, init=WeightInit("identity", 1.0)),
        Projection("BB", "Boom", "Boom", delay=1.0, init=WeightInit("constant", 1e308)),
    ]
    # a spike adds (hi - lo)·a(τ_s)·w = 0.9·w to the current: two at once make it inf
    c = Circuit("boom", pops, projs, protocol=Protocol(dt=1.0, present=40.0, input="X"))
    comp = compile_circuit(c)
    eng = Brian2Engine(comp)
    eng.state.t = 100
    drive = make_drive(comp, np.ones((1, 2)), None, np.random.default_rng(0), train=False)
    with pytest.raises(DivergenceError, match=r"population 'Boom' became NaN/inf at t=\d+ ms") as e:
        eng.run(drive)
    assert 100 < e.value.time_ms <= 100 + 40


def test_spiking_errors_name_the_field():
    comp = compile_circuit(delay_circuit())
    with pytest.raises(ValueError, match="target: .*allowed: numpy, cython"):
        Brian2Engine(comp, target="cpp_standalone")
    mixed = delay_circuit()
    mixed.populations[1].model = "rate"
    with pytest.raises(ValueError, match=r"populations \['H'\]: model 'rate' mixed"):
        Brian2Engine(compile_circuit(mixed))
    with pytest.raises(ValueError, match="model 'poisson'/'lif' runs on backend 'brian2' only"):
        NumbaEngine(comp)
    with pytest.raises(ValueError, match=r"spiking: max_rate=0.0 Hz.*must all be > 0"):
        Brian2Engine(comp, spiking={"max_rate": 0.0})


@pytest.mark.parametrize("rest", [False, True])
def test_a_compartment_spikes_and_nudges_its_soma(rest):
    c = nudge_circuit(rest)
    c.protocol.frames = 2  # 100 ms of 0, then 100 ms of x
    comp = compile_circuit(c)
    x = np.array([0.8, -0.8, 0.5])
    drive = make_drive(comp, np.zeros((1, 3)), None, np.random.default_rng(0), train=False)
    drive.stim[1] = x
    eng = Brian2Engine(comp, spiking={"max_rate": 1000.0})
    rec = eng.run(drive, record_every=1).record
    assert len(eng._spiking.last_spikes["H.apical"][0]) > 100  # the compartment spikes
    a = rec[150:, comp.pop_slice("H.apical")].mean(axis=0)
    h = rec[150:, comp.pop_slice("H")].mean(axis=0)
    np.testing.assert_allclose(a, x, atol=0.03)  # the compartment follows its input
    # no rest trace: H = 0.8·a; a rest trace that has converged cancels the nudge
    np.testing.assert_allclose(h, np.zeros(3) if rest else 0.8 * x, atol=0.05)
    if rest:  # right after the switch the change of a reaches the soma, then fades (its
        # peak 0.8·x·max(e^(-t/10) - e^(-t/5)) = 0.2·x in the decoded traces, minus the lags)
        early = rec[103:113, comp.pop_slice("H")].mean(axis=0)
        assert np.all(np.sign(early) == np.sign(x)) and np.abs(early).min() > 0.02, early


def test_the_label_arrives_after_its_delay_and_the_frames_follow_each_other():
    pops = [
        Population("X", 2, "linear", role="input", model="poisson"),
        Population("L", 3, "linear", tau=1.0, role="label", model="poisson"),
    ]
    proto = Protocol(
        dt=1.0,
        present=20.0,
        gap=4.0,
        input="X",
        label="L",
        label_delay=6.0,
        frames=4,
        label_off=-0.5,
    )
    comp = compile_circuit(Circuit("late", pops, [], protocol=proto))
    x = np.array([[0.2, 0.4], [0.6, 0.8]])
    drive = make_drive(comp, x, np.array([2, 0]), np.random.default_rng(0), train=True)
    drive.stim[:] = np.arange(drive.stim.size, dtype=float).reshape(drive.stim.shape)  # frames
    rec = Brian2Engine(comp).run(drive, record_every=1).record.reshape(2, 24, -1)
    lab = rec[..., comp.pop_slice("L")]
    np.testing.assert_array_equal(lab[:, :6], 0.0)  # free (no input) before the delay
    np.testing.assert_array_equal(lab[0, 6:20], np.tile([-0.5, -0.5, 1.0], (14, 1)))
    np.testing.assert_array_equal(lab[1, 6:20], np.tile([1.0, -0.5, -0.5], (14, 1)))
    stim = rec[..., comp.pop_slice("X")]
    for i in range(2):
        for k in range(20):
            np.testing.assert_array_equal(stim[i, k], drive.stim[i * 4 + k // 5])
        np.testing.assert_array_equal(stim[i, 20:], 0.0)  # the gap


@pytest.mark.slow
def test_the_temporal_random_circuit_learns_spiking():
    """random_circuit(temporal=True) with every population LIF: compartments (one with a rest
    trace), projections from a compartment, rules reading `apical`, frames, a late label; every
    rule moves its weights (~2 min on the numpy target, most of it code generation)."""
    from neurotp.circuit.library import random_circuit

    c = random_circuit(0, present=20.0, general=True, temporal=True)
    for p in c.populations:
        p.model = "lif"
    comp = compile_circuit(c)
    rng = np.random.default_rng(0)
    x = rng.random((4, comp.input_n))
    y = rng.integers(0, comp.label_n, 4)
    drive = make_drive(comp, x, y, np.random.default_rng(1), train=True)
    eng = Brian2Engine(comp)
    eng.run(drive)
    assert len(eng._spiking.last_spikes["H.apical"][0]) > 0
    assert len(eng._spiking.last_spikes["Y.apical"][0]) > 0
    init = comp.initial_state()
    for rule in c.rules:
        moved = comp.proj_matrix(eng.state.w, rule.projection) - comp.proj_matrix(
            init.w, rule.projection
        )
        assert np.abs(moved).max() > 1e-3, rule.name
