"""The general rule form at one step: a rule's row coefficients from the rates and traces of
the step, and a whole rule applied to its matrix (the path for projections whose current and
rules cannot share one pass: tied, several rules open, bounds, two different pre traces).

:func:`fill_rows` lowers row k of the rule table as :mod:`neurotp.engines.numba.tables`
describes: ca = Σ_q c_q·A_q and cb = c_B·B, then (ca′, cb′) for the one update
W += η·(ca′ ⊗ av − cb′ ⊗ bv), and the bias coefficient ca − cb. One loop per term, no call
per unit (a call that passes arrays costs atomic reference-count updates per array).
"""

from __future__ import annotations

from numba import njit

from neurotp.circuit.rules import OJA, SRC_TRACE
from neurotp.engines.numba.rows import matrix, oja_update, rows_update
from neurotp.engines.numba.tables import LOWER_SAME_TR, LOWER_SAME_X, LOWER_SWAP


@njit(cache=True, inline="always")
def slope(code, p):
    """φ′ of activation ``code`` at rate p (:data:`neurotp.circuit.activations.SLOPES`)."""
    if code == 1:
        return 1.0 - p * p
    if code == 2:
        return p * (1.0 - p)
    if code == 3:
        return 1.0 if p > 0.0 else 0.0
    return 1.0


@njit(cache=True)
def fill_rows(k, rules, r, tr, post_n, ca, cb, db):
    """Row coefficients of element-wise rule k at this step into ``ca``, ``cb`` (the update
    ``ca[a] * av_j - cb[a] * bv_j``, before η) and ``db`` (the bias update, before η)."""
    term_ptr, term_coef, term_src, term_off = (
        rules.term_ptr,
        rules.term_coef,
        rules.term_src,
        rules.term_off,
    )
    for a in range(post_n):
        ca[a] = 0.0
    for q in range(term_ptr[k], term_ptr[k + 1]):
        c = term_coef[q]
        off = term_off[q]
        if term_src[q] == SRC_TRACE:
            for a in range(post_n):
                ca[a] += c * tr[off + a]
        else:
            for a in range(post_n):
                ca[a] += c * r[off + a]
    cn = rules.neg_coef[k]
    off = rules.neg_off[k]
    sig = tr if rules.neg_src[k] == SRC_TRACE else r
    lower = rules.lower[k]
    s_off, s_act = rules.slope_off[k], rules.slope_act[k]
    for a in range(post_n):
        pa = ca[a]
        na = cn * sig[off + a]
        if s_off >= 0:  # post_slope: the post unit's own φ′(p)
            g = slope(s_act, r[s_off + a])
            pa = g * pa
            na = g * na
        d = pa - na
        db[a] = d
        if lower == LOWER_SAME_X:
            ca[a] = 0.0
            cb[a] = -d
        elif lower == LOWER_SAME_TR:
            ca[a] = d
            cb[a] = 0.0
        elif lower == LOWER_SWAP:
            ca[a] = -na
            cb[a] = -pa
        else:
            ca[a] = pa
            cb[a] = na


@njit(cache=True)
def pre_signal(m, traces, tr, x, pre_n):
    """The pre-side signal av or bv: trace m (the pre trace x̄), or x if m < 0."""
    if m < 0:
        return x
    off = traces.off[m]
    return tr[off : off + pre_n]


@njit(cache=True)
def apply_rule(k, st, p, x, projs, traces, rules, scratch):
    """Rule k on the whole matrix of projection p (``x``: its delayed pre rates): Oja's rule or
    the general form, clipped to the rule's bounds, and the post bias if the rule learns it."""
    post_off = projs.post_off[p]
    post_n = projs.post_n[p]
    pre_n = projs.pre_n[p]
    W = matrix(st.w, projs.w_off[p], post_n, pre_n)
    eta = rules.eta[k]
    if rules.form[k] == OJA:
        oja_update(W, x, st.r[post_off : post_off + post_n], eta, rules.lo[k], rules.hi[k])
        return
    ca, cb, db = scratch.ca, scratch.cb, scratch.db
    fill_rows(k, rules, st.r, st.tr, post_n, ca, cb, db)
    av = pre_signal(rules.av_tr[k], traces, st.tr, x, pre_n)
    bv = pre_signal(rules.bv_tr[k], traces, st.tr, x, pre_n)
    rows_update(W, av, bv, ca, cb, eta, rules.lo[k], rules.hi[k])
    if rules.bias[k]:
        b = st.b
        for a in range(post_n):
            b[post_off + a] += eta * db[a]
