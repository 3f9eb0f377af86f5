"""Circuits built in Python: the random test circuit and the benchmark circuit."""

from __future__ import annotations

from neurotp.circuit.spec import (
    Circuit,
    Population,
    Projection,
    Protocol,
    Rule,
    TargetTerm,
    Trace,
    WeightInit,
)


def random_circuit(seed: int = 0, n: int = 12, dt: float = 0.5, present: float = 50.0) -> Circuit:
    """A small circuit exercising every feature: delays, traces, noise, a tied projection, a
    label population, and every rule kind. Used by the cross-engine tests."""
    pops = [
        Population("X", n, "linear", role="input"),
        Population("H", n, "tanh", tau=2.0, noise=0.05, bias=0.1),
        Population("Y", n // 2, "sigmoid", tau=1.5),
        Population("L", n // 2, "linear", tau=1.0, role="label"),
        Population("T", n // 2, "linear", tau=1.0),
        Population("S", n, "tanh", tau=1.0, noise=0.02),
        Population("G", n, "relu", tau=3.0),
        Population("Z", n, "sign", tau=1.0),
        Population("Q", n // 2, "step", tau=2.0),
    ]
    projs = [
        Projection("XH", "X", "H", delay=1.0, init=WeightInit("normal", 1.0)),
        Projection("HY", "H", "Y", delay=1.5, init=WeightInit("uniform", 1.0)),
        Projection("YT", "Y", "T", delay=0.5, init=WeightInit("identity", 0.8)),
        Projection("LT", "L", "T", delay=0.5, init=WeightInit("identity", 0.2)),
        Projection("YL", "Y", "L", delay=1.0, init=WeightInit("identity", 1.0)),
        Projection("TS", "T", "S", delay=2.0, init=WeightInit("normal", 1.0)),
        Projection("YS", "Y", "S", delay=1.0, tie="TS"),
        Projection("HG", "H", "G", delay=0.5, init=WeightInit("normal", 1.0)),
        Projection("GH", "G", "H", delay=3.0, init=WeightInit("normal", 0.3)),
        Projection("HZ", "H", "Z", delay=1.0, init=WeightInit("normal", 1.0)),
        Projection("ZQ", "Z", "Q", delay=0.5, init=WeightInit("normal", 1.0)),
    ]
    traces = [
        Trace("X_bar", "X", tau=5.0, delay=1.0),
        Trace("H_bar", "H", tau=4.0),
        Trace("H_bar_d", "H", tau=3.0, delay=1.5),
        Trace("S_bar", "S", tau=2.0),
        Trace("Q_bar", "Q", tau=2.0),
    ]
    rules = [
        Rule(
            "pred_XH",
            "prediction",
            "XH",
            lr=0.01,
            window=(10.0, 50.0),
            bias=True,
            targets=[TargetTerm("S", 0.7), TargetTerm("G", 0.3)],
            pre_trace="X_bar",
        ),
        Rule(
            "pred_HY",
            "prediction",
            "HY",
            lr=0.02,
            bounds=(-1.0, 1.0),
            targets=[TargetTerm("T", 1.0)],
            pre_trace="H_bar_d",
        ),
        Rule("rec_TS", "reconstruction", "TS", lr=0.01, forward_trace="H_bar", bias=True),
        Rule(
            "delta_HG", "delta", "HG", lr=0.005, targets=[TargetTerm("H", 1.0)], window=(5.0, 40.0)
        ),
        Rule("oja_GH", "oja", "GH", lr=0.001),
        Rule("recirc_ZQ", "recirculation", "ZQ", lr=0.003, post_trace="Q_bar", bias=True),
    ]
    proto = Protocol(
        dt=dt,
        present=present,
        gap=5.0,
        input="X",
        label="L",
        readout="Y",
        reconstruction=None,
        input_noise=0.1,
    )
    return Circuit("random", pops, projs, traces, rules, proto, seed=seed)


def bench_circuit(n: int = 1000, dt: float = 1.0) -> Circuit:
    """Two populations of ``n`` units, a forward and a feedback projection with delays, traces,
    and the two section-8 rules on (the ``neurotp bench engines`` circuit)."""
    pops = [
        Population("X", n, "linear", role="input"),
        Population("F", n, "tanh", tau=2.0, noise=0.01),
        Population("R", n, "tanh", tau=2.0),
    ]
    projs = [
        Projection("XF", "X", "F", delay=2.0, init=WeightInit("normal", 1.0)),
        Projection("FR", "F", "R", delay=3.0, init=WeightInit("normal", 1.0)),
    ]
    traces = [Trace("X_bar", "X", tau=5.0, delay=2.0), Trace("F_bar", "F", tau=5.0)]
    rules = [
        Rule(
            "prediction", "prediction", "XF", lr=1e-4, targets=[TargetTerm("R")], pre_trace="X_bar"
        ),
        Rule("reconstruction", "reconstruction", "FR", lr=1e-4, forward_trace="F_bar"),
    ]
    proto = Protocol(dt=dt, present=100.0, gap=0.0, input="X", readout="F")
    return Circuit("bench", pops, projs, traces, rules, proto, seed=0)
