"""The batched Numba engine's plan: diagonal wirings, held input currents, product counts."""

import numpy as np
from test_numba_batched import rich

from neurotp.circuit import FormTerm, Projection, Rule, RuleForm, compile_circuit
from neurotp.circuit.library import tp_circuit
from neurotp.engines.numba.batched_plan import (
    diagonal_projections,
    held_projections,
    presentation_flops,
    rule_touches,
    step_flops,
)


def test_step_flops_counts_every_gemm():
    comp = compile_circuit(rich(8))
    cur, rule = step_flops(comp, 8)
    assert cur == 2 * 8 * float(np.sum(comp.proj_pre_n * comp.proj_post_n))
    # XH (7x5) has prediction (2B rows), swap (2B) and two_traces (2B); HY (5x3) prediction
    # (2B); YS (3x5) reconstruction (a = b = x: B rows)
    assert rule.tolist() == [2 * 16 * 35, 2 * 16 * 15, 2 * 8 * 15, 2 * 16 * 35, 2 * 16 * 35]
    # windows: the presets [30, 40), swap [20, 40), two_traces the whole 40 ms
    want = 40 * cur + 10 * rule[:3].sum() + 20 * rule[3] + 40 * rule[4]
    assert presentation_flops(comp, 8) == want


def test_diagonal_projections_are_the_static_identity_wirings():
    comp = compile_circuit(rich(4))
    w = comp.initial_state().w
    names = [
        n for n, d in zip(comp.proj_names, diagonal_projections(comp, w, True), strict=True) if d
    ]
    assert names == ["YYT", "LYT", "HHT", "GHT", "SHT"]  # identities no rule changes
    assert diagonal_projections(comp, w, False).tolist() == [
        n in names for n in comp.proj_names
    ]  # the others are not square, or (YTG, tied to YS) not diagonal
    for off_diagonal in (1e-300, np.nan):
        w2 = w.copy()
        comp.proj_matrix(w2, "HHT")[0, 1] = off_diagonal
        assert not diagonal_projections(comp, w2, True)[comp.proj_names.index("HHT")]
    # HHT's weights learned by a rule: a GEMM again
    c = rich(4)
    form = RuleForm([FormTerm("rate:HT", 0.5)], "pre", 1.0, "post", "pre")
    c.rules.append(Rule("hht", "general", "HHT", lr=0.01, window=(30.0, 40.0), form=form))
    comp2 = compile_circuit(c)
    d = diagonal_projections(comp2, comp2.initial_state().w, True)
    assert not d[comp2.proj_names.index("HHT")]
    cur, _ = step_flops(comp, 4, diagonal_projections(comp, w, True))
    sizes = comp.proj_pre_n * np.where([n in names for n in comp.proj_names], 1, comp.proj_post_n)
    assert cur == 2 * 4 * float(np.sum(sizes))


def test_held_projections_are_the_first_currents_from_the_input():
    comp = compile_circuit(rich(4))
    d = diagonal_projections(comp, comp.initial_state().w, True)
    held = [n for n, h in zip(comp.proj_names, held_projections(comp, d), strict=True) if h]
    assert held == ["XH"]  # the only projection from X; the others read rates that move
    # a second projection from X onto H comes after XH: it adds to a current that is not the
    # bias alone, so it is not held; one onto Y from X is (Y's first current is then XY)
    c = rich(4)
    c.projections.insert(1, Projection("XH2", "X", "H"))
    c.projections.insert(0, Projection("XY", "X", "Y"))
    comp2 = compile_circuit(c)
    d2 = diagonal_projections(comp2, comp2.initial_state().w, True)
    flags = dict(zip(comp2.proj_names, held_projections(comp2, d2), strict=True))
    assert flags["XY"] and flags["XH"] and not flags["XH2"] and not flags["HY"]
    # no holding in a circuit whose first current onto H is not from the input
    c3 = rich(4)
    c3.projections.insert(0, Projection("YH", "Y", "H"))
    comp3 = compile_circuit(c3)
    d3 = diagonal_projections(comp3, comp3.initial_state().w, True)
    assert not held_projections(comp3, d3)[comp3.proj_names.index("XH")]


def test_rule_touches_weights_ties_and_biases():
    c = tp_circuit((7, 5, 3))
    comp = compile_circuit(c)
    t = rule_touches(comp)
    names, rules = comp.proj_names, comp.rule_names
    row = dict(zip(rules, t, strict=True))
    on = {r: {names[p] for p in np.flatnonzero(row[r])} for r in rules}
    # prediction_XH learns XH and H's bias: XH, and every projection onto H... of which XH
    assert "XH" in on["prediction_XH"]
    assert "HY" not in on["prediction_XH"]
    # the reconstruction rule learns YS, and YTG is tied to it (one weight block)
    assert {"YS", "YTG"} <= on["reconstruction_YS"]
    # a rule with a bias on H touches every projection onto H, whatever weights it learns
    c.rules.append(
        Rule("hb", "general", "HY", lr=0.01, bias=True,
             form=RuleForm([FormTerm("rate:YT")], "pre", 1.0, "post", "pre"))
    )  # fmt: skip
    comp2 = compile_circuit(c)
    t2 = rule_touches(comp2)
    k = comp2.rule_names.index("hb")
    assert t2[k, comp2.proj_names.index("HY")]
    onto_y = [
        p
        for p in range(len(comp2.proj_names))
        if comp2.proj_post_off[p] == comp2.proj_post_off[comp2.proj_names.index("HY")]
    ]
    assert all(t2[k, p] for p in onto_y)
    assert not t2[k, comp2.proj_names.index("XH")]
