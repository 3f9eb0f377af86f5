"""The Brian2 rate network (neurotp/engines/brian2/rate.py): exact delays, bounds only where
a rule applies, rules on tied projections, a new preset without Brian2 changes, what it
refuses."""

from __future__ import annotations

import numpy as np
import pytest

brian2 = pytest.importorskip("brian2", reason="pip install 'neurotp[brian2]'")

from neurotp.circuit import compile_circuit, make_drive, rules  # noqa: E402
from neurotp.circuit.library import random_circuit  # noqa: E402
from neurotp.circuit.spec import (  # noqa: E402
    Circuit,
    FormTerm,
    Population,
    Projection,
    Protocol,
    Rule,
    RuleForm,
    TargetTerm,
    Trace,
    WeightInit,
)
from neurotp.engines.brian2 import Brian2Engine  # noqa: E402
from neurotp.engines.brian2.rate import build_rate_network, check_supported  # noqa: E402
from neurotp.engines.reference import ReferenceEngine  # noqa: E402

pytestmark = pytest.mark.brian2
KEYS = ("r", "hist", "tr", "w", "b")


def _drive(comp, n: int, train: bool, seed: int = 0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, comp.label_n, n) if comp.label_n else None
    return make_drive(
        comp, rng.random((n, comp.input_n)), y, np.random.default_rng(seed + 1), train=train
    )


def _assert_same(a, b, tol: float = 1e-9) -> None:
    for key in KEYS:
        np.testing.assert_allclose(getattr(a, key), getattr(b, key), atol=tol, rtol=0, err_msg=key)


def test_delay_line_delivers_exactly_d_steps_later():
    pops = [Population("X", 3, "linear", role="input"), Population("H", 3, "linear", tau=1.0)]
    projs = [Projection("XH", "X", "H", delay=3.0, init=WeightInit("identity", 1.0))]
    proto = Protocol(dt=1.0, present=5.0, gap=5.0, input="X", readout="H")
    comp = compile_circuit(Circuit("delay", pops, projs, protocol=proto))
    x = np.array([[0.5, -1.0, 2.0]])
    drive = make_drive(comp, x, None, np.random.default_rng(0), train=False)
    res = Brian2Engine(comp).run(drive, record_every=1)
    h = res.record[:, comp.pop_slice("H")]
    # input on during steps 0..4; H after step k equals X(k - 3): steps 3..7 carry x
    expected = np.zeros((10, 3))
    expected[3:8] = x
    np.testing.assert_array_equal(h, expected)


def _bounded_circuit() -> Circuit:
    """X -> H with a delta rule whose bounds (±0.1) the initial weights (0.5) lie outside of,
    open in steps 10..20 of a 30-step presentation, then a 5-step gap."""
    pops = [
        Population("X", 4, "linear", role="input"),
        Population("T", 3, "linear", tau=2.0),
        Population("H", 3, "tanh", tau=2.0),
    ]
    projs = [
        Projection("XT", "X", "T", delay=1.0, init=WeightInit("normal", 1.0)),
        Projection("XH", "X", "H", delay=1.0, init=WeightInit("constant", 0.5)),
    ]
    rule = Rule(
        "d",
        "delta",
        "XH",
        lr=0.05,
        targets=[TargetTerm("T")],
        window=(10.0, 20.0),
        bounds=(-0.1, 0.1),
    )
    proto = Protocol(dt=1.0, present=30.0, gap=5.0, input="X", readout="H")
    return Circuit("bounded", pops, projs, rules=[rule], protocol=proto)


def test_bounds_hold_only_where_the_rule_applies():
    """Issue 13: Brian2 clipped to the bounds at every step, also with learning off."""
    comp = compile_circuit(_bounded_circuit())
    w0 = comp.proj_matrix(comp.initial_state().w, "XH").copy()
    eng = Brian2Engine(comp)
    eng.run(_drive(comp, 2, train=False))
    np.testing.assert_array_equal(comp.proj_matrix(eng.state.w, "XH"), w0)
    # learning on: the weights are clipped once the window opens, as the reference does
    ref = ReferenceEngine(comp, state=eng.state.copy())
    drive = _drive(comp, 2, train=True, seed=4)
    eng.run(drive)
    ref.run(drive)
    _assert_same(eng.state, ref.state)
    assert np.abs(comp.proj_matrix(eng.state.w, "XH")).max() <= 0.1


def test_rule_on_tied_projection_and_every_rule_kind_match_the_reference():
    c = random_circuit(2, present=20.0, general=True)
    # rules on the tied projection YS (weights shared with TS), one of them general
    c.traces.append(Trace("S_bar2", "S", tau=3.0))
    c.traces.append(Trace("Y_bar", "Y", tau=2.0, delay=1.0))
    c.rules.append(
        Rule("rec_YS", "reconstruction", "YS", lr=0.02, forward_trace="S_bar2", bias=True)
    )
    form = RuleForm([FormTerm("rate:H", 0.5), FormTerm("trace:S_bar", -0.3)], "trace:Y_bar")
    c.rules.append(Rule("gen_YS", "general", "YS", lr=0.01, bias=True, form=form))
    c.rules.append(
        Rule("pred2", "prediction", "XH", lr=0.01, targets=[TargetTerm("H")], pre_trace="X_bar")
    )
    comp = compile_circuit(c)
    drive = _drive(comp, 3, train=True)
    b2e, ref = Brian2Engine(comp), ReferenceEngine(comp)
    b2e.run(drive)
    ref.run(drive)
    _assert_same(b2e.state, ref.state)
    assert np.abs(ref.state.w - comp.initial_state().w).max() > 1e-3


def test_a_new_element_wise_preset_needs_no_brian2_change(monkeypatch):
    """A preset added to neurotp.circuit.rules runs on Brian2 as on the reference engine."""
    preset = rules.Preset(
        "anti-Hebbian on the pre trace: −p·x̄",
        lambda r: RuleForm([FormTerm("post", 0.0)], "pre", 1.0, "post", f"trace:{r.pre_trace}"),
        needs=("pre_trace",),
    )
    monkeypatch.setitem(rules.PRESETS, "anti_hebb", preset)
    c = random_circuit(3, present=20.0)
    c.rules.append(Rule("ah", "anti_hebb", "XH", lr=0.02, pre_trace="X_bar", bounds=(-2.0, 2.0)))
    comp = compile_circuit(c)
    drive = _drive(comp, 2, train=True)
    b2e, ref = Brian2Engine(comp), ReferenceEngine(comp)
    b2e.run(drive)
    ref.run(drive)
    _assert_same(b2e.state, ref.state)


def test_oja_must_come_first_on_its_weights():
    c = random_circuit(0)
    c.rules.insert(0, Rule("delta_GH", "delta", "GH", lr=0.001, targets=[TargetTerm("H")]))
    with pytest.raises(ValueError, match=r"Oja's rule must be the first rule on projection 'GH'"):
        check_supported(compile_circuit(c))


def test_oja_on_a_tied_projection_is_refused():
    c = random_circuit(0)
    c.rules.append(Rule("oja_YS", "oja", "YS", lr=0.001))
    with pytest.raises(ValueError, match=r"rules\[\d+\] \(oja_YS\)\.projection: 'YS' is tied"):
        Brian2Engine(compile_circuit(c))


def test_the_network_records_every_step_and_reads_back_the_state():
    comp = compile_circuit(random_circuit(0, present=10.0))
    state = comp.initial_state()
    drive = _drive(comp, 2, train=True)
    brian2.start_scope()
    rn = build_rate_network(comp, state, drive)
    assert set(rn.groups) == {"U", "DL", "TR"}
    assert rn.groups["DL"].N == comp.hist_len * comp.n_units
    rn.net.run(rn.duration(), namespace=rn.namespace)
    rates = rn.read_state(state)
    assert rates.shape == (2 * comp.steps_per_presentation, comp.n_units)
    assert state.t == 2 * comp.steps_per_presentation
    np.testing.assert_array_equal(rates[-1], state.r)
