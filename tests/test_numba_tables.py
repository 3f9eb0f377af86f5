"""Engine-side tables (neurotp.engines.numba.tables): fusion, the lowering of the general
rule form, the tables built from the compiled circuit."""

import numpy as np

from neurotp.circuit import compile_circuit
from neurotp.circuit.library import random_circuit
from neurotp.engines.numba import fusable_projections
from neurotp.engines.numba.tables import (
    LOWER_AB,
    LOWER_SAME_TR,
    LOWER_SAME_X,
    LOWER_SWAP,
    lowering,
    projection_table,
    rule_rows,
    rules_open,
    scratch,
)


def test_fusion_excludes_tied_and_oja():
    comp = compile_circuit(random_circuit(0))
    fused = dict(zip(comp.proj_names, fusable_projections(comp), strict=True))
    assert not fused["TS"] and not fused["YS"]  # tied
    assert not fused["GH"]  # Oja
    assert fused["XH"] and fused["HY"] and fused["ZQ"]


def test_lowering_of_every_preset_and_general_rule():
    comp = compile_circuit(random_circuit(0, general=True))
    lower, av_tr, bv_tr = lowering(comp)
    tr = comp.trace_names.index
    got = {
        name: (int(lo), int(a), int(b))
        for name, lo, a, b in zip(comp.rule_names, lower, av_tr, bv_tr, strict=True)
    }
    assert got == {
        "pred_XH": (LOWER_AB, tr("X_bar"), -1),  # a = x̄, b = x
        "pred_HY": (LOWER_AB, tr("H_bar_d"), -1),
        "rec_TS": (LOWER_SAME_X, -1, -1),  # a = b = x
        "delta_HG": (LOWER_SAME_X, -1, -1),
        "oja_GH": (LOWER_AB, -1, -1),  # reads x only
        "recirc_ZQ": (LOWER_SAME_X, -1, -1),
        "gen_SZ": (LOWER_SWAP, tr("S_bar_2"), -1),  # a = x, b = x̄
        "gen_HQ": (LOWER_AB, tr("H_bar_1"), -1),
    }


def test_lowering_of_same_trace_and_two_traces():
    c = random_circuit(0, general=True)
    rule = next(r for r in c.rules if r.name == "gen_HQ")
    rule.form.minus_pre = "trace:H_bar_1"
    comp = compile_circuit(c)
    k = comp.rule_names.index("gen_HQ")
    lower, av_tr, bv_tr = lowering(comp)
    assert (lower[k], av_tr[k], bv_tr[k]) == (LOWER_SAME_TR, comp.trace_names.index("H_bar_1"), -1)
    rule.form.minus_pre = "pre"
    rule.form.plus_pre = "pre"
    comp = compile_circuit(c)
    assert lowering(comp)[0][k] == LOWER_SAME_X


def test_rule_rows_take_eta_as_it_is_now():
    comp = compile_circuit(random_circuit(0, general=True))
    lowered = lowering(comp)
    before = rule_rows(comp, lowered).eta.copy()
    comp.rules.eta[:] *= 0.5  # what Simulation does after an epoch (lr_decay)
    second = rule_rows(comp, lowered)
    assert np.array_equal(second.eta, 0.5 * before) and before.max() > 0
    assert np.array_equal(second.term_coef, comp.rules.term_coef)


def test_tables_follow_the_compiled_layout():
    comp = compile_circuit(random_circuit(0))
    k = np.arange(len(comp.proj_names))
    projs = projection_table(comp, k, -k)
    assert projs.block_k.tolist() == k.tolist() and projs.block_tr.tolist() == (-k).tolist()
    assert projs.w_off.tolist() == comp.proj_w_off.tolist()
    assert projs.fused.tolist() == fusable_projections(comp).tolist()
    opened = rules_open(comp)
    assert opened.shape == (comp.steps_per_presentation, len(comp.rule_names))
    win = comp.rules.win[comp.rule_names.index("delta_HG")]
    col = opened[:, comp.rule_names.index("delta_HG")]
    assert np.flatnonzero(col).tolist() == list(range(win[0], win[1]))
    s = scratch(comp)
    inputs = np.zeros(comp.n_units, dtype=bool)
    inputs[comp.input_off : comp.input_off + comp.input_n] = True
    assert np.array_equal(s.clamped, inputs)
