"""The reference engine against analytic answers."""

import numpy as np

from neurotp.circuit import (
    Circuit,
    Population,
    Projection,
    Protocol,
    Rule,
    TargetTerm,
    Trace,
    WeightInit,
    compile_circuit,
    make_drive,
)
from neurotp.engines.numba import NumbaEngine
from neurotp.engines.reference import ReferenceEngine


def relay(delay: float, tau: float = 1.0) -> Circuit:
    pops = [Population("X", 1, "linear", role="input"), Population("Y", 1, "linear", tau=tau)]
    init = WeightInit("constant", 2.0, fan_in=False)
    projs = [Projection("XY", "X", "Y", delay=delay, init=init)]
    return Circuit("relay", pops, projs, [], [], Protocol(dt=1.0, present=20.0, input="X"))


def test_delay_arrives_exactly_after_d_steps():
    comp = compile_circuit(relay(5.0))
    for engine in (ReferenceEngine(comp), NumbaEngine(comp)):
        d = make_drive(comp, np.ones((1, 1)), None, np.random.default_rng(0), train=False)
        rec = engine.run(d, record_every=1).record[:, 1]
        # tau = dt: r(t+1) = phi(I(t)), I(t) = 2 x(t - 5): first non-zero after step 5
        assert np.all(rec[:5] == 0.0)
        assert np.allclose(rec[5:], 2.0)


def test_leaky_integration_matches_euler_solution():
    comp = compile_circuit(relay(0.0, tau=4.0))
    eng = ReferenceEngine(comp)
    d = make_drive(comp, np.ones((1, 1)), None, np.random.default_rng(0), train=False)
    rec = eng.run(d, record_every=1).record[:, 1]
    n = np.arange(1, 21)
    assert np.allclose(rec, 2.0 * (1 - (1 - 0.25) ** n))


def test_trace_is_exponential_moving_average():
    c = relay(0.0)
    c.traces = [Trace("X_bar", "X", tau=10.0)]
    comp = compile_circuit(c)
    eng = ReferenceEngine(comp)
    eng.run(make_drive(comp, np.ones((1, 1)), None, np.random.default_rng(0), train=False))
    assert np.isclose(eng.state.tr[0], 1 - 0.9**20)


def test_prediction_rule_is_delta_rule_at_steady_state():
    """With constant x (trace converged), the prediction rule is (T - p) x."""
    pops = [
        Population("X", 2, "linear", role="input"),
        Population("P", 1, "linear"),
        Population("T", 1, "linear", role="label"),
    ]
    projs = [Projection("XP", "X", "P", delay=0.0, init=WeightInit("zeros"))]
    traces = [Trace("X_bar", "X", tau=1.0)]
    rules = [
        Rule(
            "pred",
            "prediction",
            "XP",
            lr=0.1,
            window=(5.0, 6.0),
            targets=[TargetTerm("T")],
            pre_trace="X_bar",
        )
    ]
    proto = Protocol(dt=1.0, present=6.0, input="X", label="T")
    comp = compile_circuit(Circuit("p", pops, projs, traces, rules, proto))
    eng = ReferenceEngine(comp)
    x = np.array([[0.5, 2.0]])
    eng.run(make_drive(comp, x, np.array([0]), np.random.default_rng(0), train=True))
    # P stays 0 (zero weights until the only learning step), T = label_on = 1
    assert np.allclose(eng.state.w, 0.1 * 1.0 * (1.0 * x[0] - 0.0))


# ---- section 8 in time: compartments, label timing, frames ----------------------------------
def compartment_relay(rest: bool) -> Circuit:
    """X → H.apical (identity, no delay); H has no other input, so with τ = dt its rate is its
    input: h(t+1) = gain·(a(t) − ā(t)), and a(t+1) = x(t)."""
    from neurotp.circuit import Compartment

    pops = [
        Population("X", 1, "linear", role="input"),
        Population(
            "H",
            1,
            "linear",
            tau=1.0,
            apical=Compartment("linear", tau=1.0, gain=0.5, rest="A_rest" if rest else None),
        ),
    ]
    init = WeightInit("constant", 1.0, fan_in=False)
    projs = [Projection("XA", "X", "H.apical", delay=0.0, init=init)]
    traces = [Trace("A_rest", "H.apical", tau=4.0)]
    return Circuit("crelay", pops, projs, traces, [], Protocol(dt=1.0, present=20.0, input="X"))


def test_a_compartment_nudges_its_soma_by_its_change_against_its_rest_trace():
    for rest in (True, False):
        comp = compile_circuit(compartment_relay(rest))
        drive = make_drive(comp, np.array([[1.0]]), None, np.random.default_rng(0), train=False)
        # analytic: a(t+1) = x(t) = 1; ā(t+1) = ā + (a(t) − ā)/4; h(t+1) = 0.5·(a(t) − ā(t))
        a, abar, h, want = 0.0, 0.0, 0.0, []
        for _ in range(20):
            h = 0.5 * (a - (abar if rest else 0.0))
            abar, a = abar + (a - abar) / 4.0, 1.0
            want.append([h, a])
        for engine in (ReferenceEngine(comp), NumbaEngine(comp)):
            rec = engine.run(drive, record_every=1).record
            np.testing.assert_allclose(rec[:, 1:], want, rtol=0, atol=1e-15)
        if rest:  # the nudge cancels at rest: only the change reaches the soma
            assert abs(want[-1][0]) < 0.01 and max(w[0] for w in want) == 0.5


def label_follower(label_delay: float) -> Circuit:
    pops = [
        Population("X", 2, "linear", role="input"),
        Population("Y", 2, "linear", tau=1.0),
        Population("L", 2, "linear", tau=1.0, role="label"),
    ]
    projs = [
        Projection("XY", "X", "Y", delay=1.0, init=WeightInit("identity", 1.0)),
        Projection("YL", "Y", "L", delay=1.0, init=WeightInit("identity", 1.0)),
    ]
    proto = Protocol(dt=1.0, present=10.0, input="X", label="L", label_delay=label_delay)
    return Circuit("follow", pops, projs, [], [], proto)


def test_the_label_is_clamped_from_label_delay_and_runs_free_before():
    comp = compile_circuit(label_follower(4.0))
    x = np.array([[0.3, 0.7]])
    drive = make_drive(comp, x, np.array([0]), np.random.default_rng(0), train=True)
    for engine in (ReferenceEngine(comp), NumbaEngine(comp)):
        rec = engine.run(drive, record_every=1).record[:, 4:6]  # L after each step
        # steps 0-3 free: L copies Y, which copies X (one step of delay each, and the
        # record holds the rates after each step): L reaches x after step 3
        np.testing.assert_allclose(rec[:3], 0.0, atol=0)
        np.testing.assert_allclose(rec[3], x[0], atol=0)
        # from step 4 on, clamped to the one-hot label (class 0)
        np.testing.assert_allclose(rec[4:], np.tile([1.0, 0.0], (6, 1)), atol=0)


def test_each_frame_of_a_presentation_is_shown_for_its_share_of_the_steps():
    c = relay(0.0)
    c.protocol.frames = 4
    c.protocol.present = 8.0
    comp = compile_circuit(c)
    x = np.array([[1.0], [2.0]])
    drive = make_drive(comp, x, None, np.random.default_rng(0), train=False)
    assert drive.stim.shape == (8, 1) and drive.n_presentations == 2
    drive.stim[:, 0] = np.arange(8.0)  # frame f of presentation i shows i*4 + f
    for engine in (ReferenceEngine(comp), NumbaEngine(comp)):
        rec = engine.run(drive, record_every=1).record[:, 0]
        np.testing.assert_array_equal(rec, np.repeat(np.arange(8.0), 2))
