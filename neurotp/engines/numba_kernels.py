"""Pure Numba step kernels: functions of (state arrays, circuit tables, drive) only.

The engine class in :mod:`neurotp.engines.numba_engine` owns the arrays and calls
:func:`run_block`; nothing here holds state. The step is the one documented in
:mod:`neurotp.engines.reference`, with one optimisation: a projection whose weight block no
other projection reads (no ``tie``) and whose rules are all element-wise (not Oja's) computes
its current and applies its rules in a single pass over the matrix. The result is the same,
because each weight is read for the current before it is updated and no other projection
reads it in this step.
"""

from __future__ import annotations

import numpy as np
from numba import njit

# rule kind codes (same order as neurotp.circuit.validate.RULE_KINDS)
PREDICTION, RECONSTRUCTION, DELTA, OJA, RECIRCULATION = 0, 1, 2, 3, 4


@njit(cache=True, fastmath=False)
def _phi(code, v):
    if code == 0:
        return v
    if code == 1:
        return np.tanh(v)
    if code == 2:
        return 0.5 * (1.0 + np.tanh(0.5 * v))
    if code == 3:
        return v if v > 0.0 else 0.0
    if code == 4:
        return 1.0 if v >= 0.0 else -1.0
    return 1.0 if v >= 0.0 else 0.0


# Reductions may be reordered (vectorised); results differ from NumPy's by rounding only.
_FAST = {"reassoc", "contract", "nsz"}


@njit(cache=True, fastmath=_FAST)
def _dot(wrow, x):
    acc = 0.0
    for j in range(wrow.shape[0]):
        acc += wrow[j] * x[j]
    return acc


@njit(cache=True, fastmath=_FAST)
def _dot_update(wrow, x, xb, ca, cb, eta):
    """Return wrow . x (old weights) and apply wrow += eta (ca xb - cb x), in one pass."""
    acc = 0.0
    for j in range(wrow.shape[0]):
        wj = wrow[j]
        acc += wj * x[j]
        wrow[j] = wj + eta * (ca * xb[j] - cb * x[j])
    return acc


@njit(cache=True, fastmath=_FAST)
def _update(wrow, x, xb, ca, cb, eta, lo, hi):
    """wrow += eta (ca xb - cb x), then clip to [lo, hi]."""
    for j in range(wrow.shape[0]):
        wrow[j] = wrow[j] + eta * (ca * xb[j] - cb * x[j])
    if lo > -np.inf or hi < np.inf:
        for j in range(wrow.shape[0]):
            wrow[j] = min(max(wrow[j], lo), hi)


@njit(cache=True, fastmath=_FAST)
def _rows_dot(w, woff, pre_n, post_n, x, cur, post_off):
    """cur[post] += W x, row by row."""
    for a in range(post_n):
        base = woff + a * pre_n
        cur[post_off + a] += _dot(w[base : base + pre_n], x)


@njit(cache=True, fastmath=_FAST)
def _rows_dot_update(w, woff, pre_n, post_n, x, xb, ca, cb, eta, cur, post_off):
    """cur[post] += W x with the old weights, and W += eta (ca xbᵀ - cb xᵀ), row by row."""
    for a in range(post_n):
        base = woff + a * pre_n
        cur[post_off + a] += _dot_update(w[base : base + pre_n], x, xb, ca[a], cb[a], eta)


@njit(cache=True)
def _rule_row_coeffs(k, a, r, tr, post_off, rule_kind, rule_trace, tr_off, tgt_ptr, tgt_off, tgt_w):
    """For rule k and post unit a, the update is  ca * xbar_j - cb * x_j  (element-wise rules).

    Returns (ca, cb, uses_trace_of_pre, db).
    """
    kind = rule_kind[k]
    y = r[post_off + a]
    if kind == PREDICTION:
        ta = 0.0
        sc = 0.0
        for q in range(tgt_ptr[k], tgt_ptr[k + 1]):
            ta += tgt_w[q] * r[tgt_off[q] + a]
            sc += tgt_w[q]
        return ta, sc * y, True, ta - sc * y
    elif kind == DELTA:
        q = tgt_ptr[k]
        d = r[tgt_off[q] + a] - y
        return 0.0, -d, False, d
    else:  # RECONSTRUCTION and RECIRCULATION: (trace - y) x
        d = tr[tr_off[rule_trace[k]] + a] - y
        return 0.0, -d, False, d


@njit(cache=True)
def _fill_row_coeffs(
    k,
    post_n,
    post_off,
    r,
    tr,
    rule_kind,
    rule_trace,
    tr_off,
    tgt_ptr,
    tgt_off,
    tgt_w,
    row_ca,
    row_cb,
    row_db,
):
    """Fill row_ca/row_cb/row_db[:post_n] for rule k; return whether it reads the pre trace."""
    use_tr = False
    for a in range(post_n):
        ca, cb, use_tr, db = _rule_row_coeffs(
            k, a, r, tr, post_off, rule_kind, rule_trace, tr_off, tgt_ptr, tgt_off, tgt_w
        )
        row_ca[a] = ca
        row_cb[a] = cb
        row_db[a] = db
    return use_tr


@njit(cache=True)
def _apply_rule(
    k,
    w,
    b,
    woff,
    pre_n,
    post_n,
    post_off,
    x,
    r,
    tr,
    rule_kind,
    rule_trace,
    tr_off,
    tgt_ptr,
    tgt_off,
    tgt_w,
    rule_eta,
    rule_lo,
    rule_hi,
    rule_bias,
    row_ca,
    row_cb,
    row_db,
):
    """One element-wise rule (not Oja's) on a whole matrix: W += eta (ca xbᵀ - cb xᵀ), clip,
    and the post bias if the rule learns it."""
    use_tr = _fill_row_coeffs(
        k,
        post_n,
        post_off,
        r,
        tr,
        rule_kind,
        rule_trace,
        tr_off,
        tgt_ptr,
        tgt_off,
        tgt_w,
        row_ca,
        row_cb,
        row_db,
    )
    toff = tr_off[rule_trace[k]] if use_tr else 0
    xb = tr[toff : toff + pre_n] if use_tr else x
    eta = rule_eta[k]
    for a in range(post_n):
        base = woff + a * pre_n
        _update(w[base : base + pre_n], x, xb, row_ca[a], row_cb[a], eta, rule_lo[k], rule_hi[k])
        if rule_bias[k]:
            b[post_off + a] += eta * row_db[a]


@njit(cache=True)
def run_block(
    r,
    hist,
    tr,
    w,
    b,
    t0,
    # unit tables
    unit_act,
    unit_alpha,
    unit_sigma,
    noise_idx,
    clampable_input_off,
    input_n,
    label_off,
    label_n,
    # projections
    proj_pre_off,
    proj_pre_n,
    proj_post_off,
    proj_post_n,
    proj_delay,
    proj_w_off,
    proj_fused,
    # traces
    tr_off,
    tr_src_off,
    tr_n,
    tr_alpha,
    tr_delay,
    # rules
    rule_kind,
    rule_proj,
    rule_eta,
    rule_bias,
    rule_lo,
    rule_hi,
    rule_trace,
    tgt_ptr,
    tgt_off,
    tgt_w,
    # drive
    stim,
    labels,
    clamp,
    learn,
    noise,
    step_open,
    present_steps,
    spp,
    rw0,
    rw1,
    # outputs
    means,
    record_every,
    record_units,
    rec,
):
    """Run ``stim.shape[0]`` presentations. Returns (status, t, unit): status 0 ok, 1 diverged
    at step t in unit ``unit``. Arrays r, hist, tr, w, b are updated in place."""
    n_units = r.shape[0]
    L = hist.shape[0]
    n_proj = proj_pre_off.shape[0]
    n_tr = tr_off.shape[0]
    n_rules = rule_kind.shape[0]
    n_noisy = noise_idx.shape[0]
    cur = np.empty(n_units, dtype=np.float64)
    row_ca = np.empty(n_units, dtype=np.float64)
    row_cb = np.empty(n_units, dtype=np.float64)
    row_db = np.empty(n_units, dtype=np.float64)
    clamped = np.zeros(n_units, dtype=np.bool_)
    for u in range(clampable_input_off, clampable_input_off + input_n):
        clamped[u] = True
    t = t0
    g = 0
    n_rec = 0
    n_pres = stim.shape[0]
    for i in range(n_pres):
        for k in range(spp):
            presenting = k < present_steps
            for u in range(input_n):
                r[clampable_input_off + u] = stim[i, u] if presenting else 0.0
            lab_on = clamp and presenting and label_n > 0
            for u in range(label_n):
                clamped[label_off + u] = lab_on
                if lab_on:
                    r[label_off + u] = labels[i, u]
            slot = t % L
            for u in range(n_units):
                hist[slot, u] = r[u]
            for u in range(n_units):
                cur[u] = b[u]
            learning = learn and presenting
            # ---- currents, fused with element-wise plasticity where allowed ----
            for p in range(n_proj):
                row = (t - proj_delay[p]) % L
                pre_off = proj_pre_off[p]
                pre_n = proj_pre_n[p]
                post_off = proj_post_off[p]
                woff = proj_w_off[p]
                x = hist[row, pre_off : pre_off + pre_n]
                n_open = 0
                only = -1
                if learning and proj_fused[p]:
                    for kr in range(n_rules):
                        if rule_proj[kr] == p and step_open[k, kr]:
                            n_open += 1
                            only = kr
                post_n = proj_post_n[p]
                if n_open == 0:
                    _rows_dot(w, woff, pre_n, post_n, x, cur, post_off)
                    continue
                if n_open == 1 and rule_lo[only] == -np.inf and rule_hi[only] == np.inf:
                    # the common case: one unbounded rule, one pass over the matrix
                    use_tr = _fill_row_coeffs(
                        only,
                        post_n,
                        post_off,
                        r,
                        tr,
                        rule_kind,
                        rule_trace,
                        tr_off,
                        tgt_ptr,
                        tgt_off,
                        tgt_w,
                        row_ca,
                        row_cb,
                        row_db,
                    )
                    toff = tr_off[rule_trace[only]] if use_tr else 0
                    xb = tr[toff : toff + pre_n] if use_tr else x
                    _rows_dot_update(
                        w, woff, pre_n, post_n, x, xb, row_ca, row_cb, rule_eta[only], cur, post_off
                    )
                    if rule_bias[only]:
                        for a in range(post_n):
                            b[post_off + a] += rule_eta[only] * row_db[a]
                    continue
                # several rules or bounds: currents with the old weights, then each open rule
                # in declaration order (element by element the same sequence as the reference)
                _rows_dot(w, woff, pre_n, post_n, x, cur, post_off)
                for kr in range(n_rules):
                    if rule_proj[kr] == p and step_open[k, kr]:
                        _apply_rule(
                            kr,
                            w,
                            b,
                            woff,
                            pre_n,
                            post_n,
                            post_off,
                            x,
                            r,
                            tr,
                            rule_kind,
                            rule_trace,
                            tr_off,
                            tgt_ptr,
                            tgt_off,
                            tgt_w,
                            rule_eta,
                            rule_lo,
                            rule_hi,
                            rule_bias,
                            row_ca,
                            row_cb,
                            row_db,
                        )
            for q in range(n_noisy):
                u = noise_idx[q]
                cur[u] += unit_sigma[u] * noise[g, q]
            # ---- plasticity on projections that could not be fused, in declaration order ----
            if learning:
                for kr in range(n_rules):
                    p = rule_proj[kr]
                    if proj_fused[p] or not step_open[k, kr]:
                        continue
                    row = (t - proj_delay[p]) % L
                    pre_off = proj_pre_off[p]
                    pre_n = proj_pre_n[p]
                    post_off = proj_post_off[p]
                    post_n = proj_post_n[p]
                    woff = proj_w_off[p]
                    eta = rule_eta[kr]
                    lo = rule_lo[kr]
                    hi = rule_hi[kr]
                    bounded = lo > -np.inf or hi < np.inf
                    if rule_kind[kr] == OJA:
                        # p (x - W^T p): needs W^T p from the weights before this rule
                        back = np.zeros(pre_n)
                        for a in range(post_n):
                            ya = r[post_off + a]
                            for j in range(pre_n):
                                back[j] += w[woff + a * pre_n + j] * ya
                        for a in range(post_n):
                            ya = r[post_off + a]
                            for j in range(pre_n):
                                v = w[woff + a * pre_n + j] + eta * ya * (
                                    hist[row, pre_off + j] - back[j]
                                )
                                if bounded:
                                    v = min(max(v, lo), hi)
                                w[woff + a * pre_n + j] = v
                        continue
                    _apply_rule(
                        kr,
                        w,
                        b,
                        woff,
                        pre_n,
                        post_n,
                        post_off,
                        hist[row, pre_off : pre_off + pre_n],
                        r,
                        tr,
                        rule_kind,
                        rule_trace,
                        tr_off,
                        tgt_ptr,
                        tgt_off,
                        tgt_w,
                        rule_eta,
                        rule_lo,
                        rule_hi,
                        rule_bias,
                        row_ca,
                        row_cb,
                        row_db,
                    )
            # ---- traces ----
            for m in range(n_tr):
                row = (t - tr_delay[m]) % L
                for u in range(tr_n[m]):
                    tr[tr_off[m] + u] += tr_alpha[m] * (
                        hist[row, tr_src_off[m] + u] - tr[tr_off[m] + u]
                    )
            # ---- rates ----
            for u in range(n_units):
                if not clamped[u]:
                    r[u] = r[u] + unit_alpha[u] * (-r[u] + _phi(unit_act[u], cur[u]))
            t += 1
            for u in range(n_units):
                if not np.isfinite(r[u]):
                    return 1, t, u
            if rw0 <= k < rw1:
                for u in range(n_units):
                    means[i, u] += r[u]
            if record_every > 0 and g % record_every == 0:
                for q in range(record_units.shape[0]):
                    rec[n_rec, q] = r[record_units[q]]
                n_rec += 1
            g += 1
    return 0, t, -1
