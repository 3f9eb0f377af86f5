"""neurotp.metrics.loops: each loop's current into a compartment and its share of the rule."""

from pathlib import Path

import numpy as np
import pytest

from neurotp.circuit import compile_circuit, load_circuit
from neurotp.circuit.protocol import make_drive
from neurotp.engines.reference import ReferenceEngine
from neurotp.metrics.loops import loop_summary, record_loops

DEEP = Path(__file__).resolve().parents[1] / "circuits" / "digits_temporal_deep.yaml"


def _data(n: int = 3, seed: int = 1):
    rng = np.random.default_rng(seed)
    return rng.uniform(0, 1, (n, 64)), rng.integers(0, 10, n)


def _comp(overrides=()):
    return compile_circuit(load_circuit(DEEP, list(overrides)))


def test_the_currents_add_up_to_the_compartment():
    # H1.apical is linear with tau = dt and bias 0: a(t + 1) = sum of the currents at step t
    comp = _comp()
    state = comp.initial_state()
    x, y = _data()
    sig = record_loops(comp, state, x, y, "H1.apical")
    assert sig.names == ["G_short", "G_long"]
    assert sig.delays_ms == [1.0, 6.0]
    assert sig.currents.shape == (2, 3, comp.steps_per_presentation, 16)
    engine = ReferenceEngine(comp, state=state.copy())
    drive = make_drive(comp, x, y, np.random.default_rng(0), train=True)
    drive.learn = False
    rec = engine.run(drive, record_every=1).record[:, comp.pop_slice("H1.apical")]
    total = sig.currents.sum(axis=0).reshape(-1, 16)
    np.testing.assert_allclose(rec, total, atol=1e-12)
    # nothing reaches H1.apical before the label is clamped (but for the previous label's
    # tail at the start of the next presentation: 10 ms is past the long loop's delay)
    assert np.abs(sig.currents[:, 0, : sig.label_step]).max() == 0.0
    assert np.abs(sig.currents[:, 1:, 10 : sig.label_step]).max() == 0.0
    assert np.abs(sig.currents[:, :, sig.label_step :]).max() > 0.01


def test_the_split_rule_matches_the_weight_change_it_makes():
    # only the positive apical term of learn_XH1 learns, at a tiny rate: the real change of W1
    # over the presentations is the sum of the loops' parts (to O(lr): W1 moves the currents)
    others = ["learn_H1H2", "learn_H2Y", "learn_G2", "learn_G_short", "learn_G_long"]
    comp = _comp(
        [f"rules.{r}.lr=0" for r in others]
        # (the feedback rules' bounds would clip the initial weights at the first step)
        + [f"rules.{r}.bounds=[-10,10]" for r in others[2:]]
        + [
            "rules.learn_XH1.lr=0.000001",
            "rules.learn_XH1.form.minus_coef=0",
            "rules.learn_XH1.bias=false",
        ]
    )
    state = comp.initial_state()
    x, y = _data()
    sig = record_loops(comp, state, x, y, "H1.apical")
    assert sig.rule == "learn_XH1"
    engine = ReferenceEngine(comp, state=state.copy())
    engine.run(make_drive(comp, x, y, np.random.default_rng(0), train=True))
    real = comp.proj_matrix(engine.state.w, "XH1") - comp.proj_matrix(state.w, "XH1")
    split = sig.updates.sum(axis=(0, 1))
    assert np.abs(real).max() > 1e-8
    np.testing.assert_allclose(split, real, rtol=0, atol=1e-3 * np.abs(real).max())


def test_summary_shares_add_up_and_a_cut_loop_contributes_nothing():
    comp = _comp()
    state = comp.initial_state()
    x, y = _data(4)
    s = loop_summary(record_loops(comp, state, x, y, "H1.apical"))
    loops = s["loops"]
    assert loops["G_short"]["update_share"] + loops["G_long"]["update_share"] == pytest.approx(1)
    # the long loop's 6 ms delay arrives later after the label than the short loop's 1 ms
    assert loops["G_long"]["latency_ms"] > loops["G_short"]["latency_ms"]
    assert -1 <= s["between"]["change_correlation"] <= 1
    comp.proj_matrix(state.w, "G_long")[...] = 0.0
    cut = loop_summary(record_loops(comp, state, x, y, "H1.apical"))["loops"]
    assert cut["G_long"]["change_rms"] == 0.0
    assert cut["G_long"]["latency_ms"] is None
    assert cut["G_long"]["update_share"] == 0.0
    assert cut["G_short"]["update_share"] == pytest.approx(1)


def test_errors_name_the_argument():
    comp = _comp()
    x, y = _data(1)
    with pytest.raises(ValueError, match="compartment: 'H1' is not a compartment; allowed: "):
        record_loops(comp, comp.initial_state(), x, y, "H1")
    sig = record_loops(comp, comp.initial_state(), x, y, "H1.apical")
    with pytest.raises(ValueError, match="before_ms"):
        loop_summary(sig, before_ms=100.0)
