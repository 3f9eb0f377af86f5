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
