"""A rule at one step (neurotp.engines.numba.plasticity): the lowered row coefficients and the
whole-matrix update equal the general form ΔW = η(Σ c·A ⊗ a − c_B·B ⊗ b) written in NumPy."""

import numpy as np
import pytest

from neurotp.circuit import compile_circuit
from neurotp.circuit.library import random_circuit
from neurotp.circuit.rules import OJA, SRC_PRE, SRC_RATE
from neurotp.engines.numba.plasticity import apply_rule, fill_rows
from neurotp.engines.numba.tables import (
    lowering,
    projection_table,
    rule_rows,
    scratch,
    state_arrays,
    trace_table,
)


def _setup(seed=0):
    comp = compile_circuit(random_circuit(0, general=True))
    s = comp.initial_state()
    rng = np.random.default_rng(seed)
    s.r[:] = rng.standard_normal(s.r.shape)
    s.tr[:] = rng.standard_normal(s.tr.shape)
    s.hist[:] = rng.standard_normal(s.hist.shape)
    n = len(comp.proj_names)
    projs = projection_table(comp, np.zeros(n), np.full(n, -1))
    return comp, s, projs, trace_table(comp), rule_rows(comp, lowering(comp))


def _general_form(comp, s, k, x):
    """(ΣcA, c_B·B, a, b) of element-wise rule k, straight from the rule table."""
    rt = comp.rules
    p = rt.proj[k]
    n_post, n_pre = int(comp.proj_post_n[p]), int(comp.proj_pre_n[p])

    def sig(src, off, n):
        if src == SRC_PRE:
            return x
        return (s.r if src == SRC_RATE else s.tr)[off : off + n]

    plus = sum(
        rt.term_coef[q] * sig(rt.term_src[q], rt.term_off[q], n_post)
        for q in range(rt.term_ptr[k], rt.term_ptr[k + 1])
    )
    minus = rt.neg_coef[k] * sig(rt.neg_src[k], rt.neg_off[k], n_post)
    return plus, minus, sig(rt.a_src[k], rt.a_off[k], n_pre), sig(rt.b_src[k], rt.b_off[k], n_pre)


@pytest.mark.parametrize("seed", [0, 1])
def test_apply_rule_equals_the_general_form_for_every_rule(seed):
    comp, s, projs, traces, rules = _setup(seed)
    assert {int(v) for v in rules.lower} == {0, 1, 3}  # AB, SAME_X and SWAP all present
    for k, name in enumerate(comp.rule_names):
        st = s.copy()
        p = int(comp.rules.proj[k])
        x = st.hist[1, comp.proj_pre_off[p] : comp.proj_pre_off[p] + comp.proj_pre_n[p]]
        W0 = comp.proj_matrix(st.w, comp.proj_names[p]).copy()
        b0 = st.b.copy()
        eta = comp.rules.eta[k]
        post = slice(comp.proj_post_off[p], comp.proj_post_off[p] + comp.proj_post_n[p])
        apply_rule(k, state_arrays(st), p, x, projs, traces, rules, scratch(comp))
        if comp.rules.form[k] == OJA:
            y = st.r[post]
            want = W0 + eta * np.outer(y, x - W0.T @ y)
            want_b = b0[post]
        else:
            plus, minus, a, b = _general_form(comp, st, k, x)
            want = W0 + eta * (np.outer(plus, a) - np.outer(minus, b))
            want_b = b0[post] + (eta * (plus - minus) if comp.rules.bias[k] else 0.0)
        want = np.clip(want, comp.rules.lo[k], comp.rules.hi[k])
        got = comp.proj_matrix(st.w, comp.proj_names[p])
        assert np.max(np.abs(got - want)) <= 1e-14, name
        assert np.max(np.abs(st.b[post] - want_b)) <= 1e-14, name
        assert np.abs(got - W0).max() > 1e-6, name  # the rule did something


def test_fill_rows_keeps_the_presets_arithmetic():
    # the presets' row coefficients are exactly what they always were: prediction
    # ca = Σ w·T, cb = (Σ w)·p; delta and the trace rules ca = 0, cb = -(A - p)
    comp, s, projs, traces, rules = _setup()
    n = comp.n_units
    ca, cb, db = np.empty(n), np.empty(n), np.empty(n)
    r, tr = s.r, s.tr
    rt = comp.rules
    for name in ("pred_XH", "delta_HG", "rec_TS", "recirc_ZQ"):
        k = comp.rule_names.index(name)
        p = int(rt.proj[k])
        m = int(comp.proj_post_n[p])
        post = r[comp.proj_post_off[p] : comp.proj_post_off[p] + m]
        fill_rows(k, rules, r, tr, m, ca, cb, db)
        if name == "pred_XH":
            want_a = 0.0
            for q in range(rt.term_ptr[k], rt.term_ptr[k + 1]):
                want_a = want_a + rt.term_coef[q] * r[rt.term_off[q] : rt.term_off[q] + m]
            want_b = (0.0 + 0.7 + 0.3) * post
            assert np.array_equal(ca[:m], want_a) and np.array_equal(cb[:m], want_b)
            assert np.array_equal(db[:m], want_a - want_b)
            continue
        src = (r if rt.term_src[rt.term_ptr[k]] == SRC_RATE else tr)[rt.term_off[rt.term_ptr[k]] :]
        d = src[:m] - post
        assert np.array_equal(ca[:m], np.zeros(m)) and np.array_equal(cb[:m], -d), name
        assert np.array_equal(db[:m], d), name
