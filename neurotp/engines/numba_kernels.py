"""Pure Numba step kernels: functions of (state arrays, circuit tables, drive) only.

The engine class in :mod:`neurotp.engines.numba_engine` owns the arrays and calls
:func:`run_block`; nothing here holds state. The step is the one documented in
:mod:`neurotp.engines.reference`, with two optimisations (``docs/engines.md``):

- a projection whose weight block no other projection reads (no ``tie``) and whose rules are
  all element-wise (not Oja's) computes its current and applies its rules in a single pass
  over the matrix; the result is the same, because each weight is read for the current before
  it is updated and no other projection reads it in this step;
- delay blocks: a projection whose delay is at least K steps touches its weights once per K
  steps (``_block_*`` below; which projections: ``numba_engine.block_plan``).
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
def _rows_update(w, woff, pre_n, post_n, x, xb, ca, cb, eta, lo, hi):
    """W += eta (ca xbᵀ - cb xᵀ), then clip to [lo, hi]."""
    W = w[woff : woff + post_n * pre_n].reshape((post_n, pre_n))
    bounded = lo > -np.inf or hi < np.inf
    for a in range(post_n):
        ka = ca[a]
        kb = cb[a]
        for j in range(pre_n):
            W[a, j] = W[a, j] + eta * (ka * xb[j] - kb * x[j])
        if bounded:
            for j in range(pre_n):
                W[a, j] = min(max(W[a, j], lo), hi)


# The row loops below index a 2-D view of the flat weights instead of slicing a row per unit:
# each slice (or call that receives one) costs two atomic reference-count updates, which at
# 1000 x 1000 took a quarter of the step.


@njit(cache=True, fastmath=_FAST)
def _rows_dot(w, woff, pre_n, post_n, x, cur, post_off):
    """cur[post] += W x, row by row."""
    W = w[woff : woff + post_n * pre_n].reshape((post_n, pre_n))
    for a in range(post_n):
        acc = 0.0
        for j in range(pre_n):
            acc += W[a, j] * x[j]
        cur[post_off + a] += acc


@njit(cache=True, fastmath=_FAST)
def _rows_dot_update(w, woff, pre_n, post_n, x, xb, ca, cb, eta, cur, post_off):
    """cur[post] += W x with the old weights, and W += eta (ca xbᵀ - cb xᵀ), in one pass."""
    W = w[woff : woff + post_n * pre_n].reshape((post_n, pre_n))
    for a in range(post_n):
        acc = 0.0
        ka = ca[a]
        kb = cb[a]
        for j in range(pre_n):
            wj = W[a, j]
            acc += wj * x[j]
            W[a, j] = wj + eta * (ka * xb[j] - kb * x[j])
        cur[post_off + a] += acc


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
    """Row coefficients of element-wise rule k: for post unit a the update is
    ``ca[a] * xbar_j - cb[a] * x_j`` and the bias update ``db[a]``. Returns whether the rule
    reads the pre trace (prediction rule). One loop per kind, no call per unit: a call that
    passes arrays costs atomic reference-count updates per array."""
    kind = rule_kind[k]
    if kind == PREDICTION:
        sc = 0.0
        for q in range(tgt_ptr[k], tgt_ptr[k + 1]):
            sc += tgt_w[q]
        for a in range(post_n):
            row_ca[a] = 0.0
        for q in range(tgt_ptr[k], tgt_ptr[k + 1]):
            cw = tgt_w[q]
            to = tgt_off[q]
            for a in range(post_n):
                row_ca[a] += cw * r[to + a]
        for a in range(post_n):
            cb = sc * r[post_off + a]
            row_cb[a] = cb
            row_db[a] = row_ca[a] - cb
        return True
    if kind == DELTA:
        to = tgt_off[tgt_ptr[k]]
        for a in range(post_n):
            d = r[to + a] - r[post_off + a]
            row_ca[a] = 0.0
            row_cb[a] = -d
            row_db[a] = d
        return False
    # RECONSTRUCTION and RECIRCULATION: (trace - y) x
    toff = tr_off[rule_trace[k]]
    for a in range(post_n):
        d = tr[toff + a] - r[post_off + a]
        row_ca[a] = 0.0
        row_cb[a] = -d
        row_db[a] = d
    return False


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
    _rows_update(w, woff, pre_n, post_n, x, xb, row_ca, row_cb, eta, rule_lo[k], rule_hi[k])
    if rule_bias[k]:
        for a in range(post_n):
            b[post_off + a] += eta * row_db[a]


@njit(cache=True)
def _block_columns(
    hist, tr, t, L, nk, pre_off, pre_n, delay, m, tr_off, tr_src_off, tr_alpha, tr_delay, xc, xbc
):
    """Columns of a delay block: xc[s] = x(t+s) = r_pre(t+s-delay) for s < nk (all in ``hist``
    already, because delay >= K), and, if the projection's rule reads the pre trace m,
    xbc[s] = that trace at the start of step t+s (advanced exactly as the step loop does; the
    trace delay is >= K-1, so its inputs are in ``hist`` too)."""
    for s in range(nk):
        row = (t + s - delay) % L
        for j in range(pre_n):
            xc[s, j] = hist[row, pre_off + j]
    if m < 0:
        return
    toff = tr_off[m]
    src = tr_src_off[m]
    al = tr_alpha[m]
    for j in range(pre_n):
        xbc[0, j] = tr[toff + j]
    for s in range(1, nk):
        row = (t + s - 1 - tr_delay[m]) % L
        for j in range(pre_n):
            v = xbc[s - 1, j]
            xbc[s, j] = v + al * (hist[row, src + j] - v)


@njit(cache=True, fastmath=_FAST)
def _block_gram(xc, xbc, nk, pre_n, has_tr, gx, gxb):
    """gx[s', s] = x(s') . x(s) and gxb[s', s] = xbar(s') . x(s) for s' < s < nk."""
    for s in range(nk):
        for s2 in range(s):
            gx[s2, s] = _dot(xc[s2, :pre_n], xc[s, :pre_n])
            if has_tr:
                gxb[s2, s] = _dot(xbc[s2, :pre_n], xc[s, :pre_n])


@njit(cache=True, fastmath=_FAST)
def _quad_sweep2(W, n4, pre_n, ca, cb, xbo, xo, xn, cdot, has_tr, zero):
    """Rows 0..n4-1 (n4 a multiple of 4) of a K = 2 block pass, four rows per sweep: each row
    takes its two pending updates, W += ca[s] xbar(s)ᵀ - cb[s] x(s)ᵀ (s = 0, 1, in order), and
    the new block's products cdot[s] = W x_new(s) (``xbo``, ``xo``, ``xn``: the blocks' 2 x
    pre_n columns). Four rows share every load of a column vector (six vectors of ``pre_n``
    spill the L1 cache: one row per sweep ran 1.4x slower)."""
    xbo0, xbo1 = xbo[0], xbo[1]
    xo0, xo1 = xo[0], xo[1]
    xn0, xn1 = xn[0], xn[1]
    for a in range(0, n4, 4):
        a0 = ca[0, a]
        a1 = ca[0, a + 1]
        a2 = ca[0, a + 2]
        a3 = ca[0, a + 3]
        b0 = cb[0, a]
        b1 = cb[0, a + 1]
        b2 = cb[0, a + 2]
        b3 = cb[0, a + 3]
        c0 = ca[1, a]
        c1 = ca[1, a + 1]
        c2 = ca[1, a + 2]
        c3 = ca[1, a + 3]
        d0 = cb[1, a]
        d1 = cb[1, a + 1]
        d2 = cb[1, a + 2]
        d3 = cb[1, a + 3]
        s00 = zero
        s01 = zero
        s10 = zero
        s11 = zero
        s20 = zero
        s21 = zero
        s30 = zero
        s31 = zero
        for j in range(pre_n):
            q0 = xo0[j]
            q1 = xo1[j]
            y0 = xn0[j]
            y1 = xn1[j]
            if has_tr:  # loop-invariant: LLVM unswitches it (measured: no slower)
                p0 = xbo0[j]
                p1 = xbo1[j]
                v0 = (W[a, j] + (a0 * p0 - b0 * q0)) + (c0 * p1 - d0 * q1)
                v1 = (W[a + 1, j] + (a1 * p0 - b1 * q0)) + (c1 * p1 - d1 * q1)
                v2 = (W[a + 2, j] + (a2 * p0 - b2 * q0)) + (c2 * p1 - d2 * q1)
                v3 = (W[a + 3, j] + (a3 * p0 - b3 * q0)) + (c3 * p1 - d3 * q1)
            else:
                v0 = (W[a, j] - b0 * q0) - d0 * q1
                v1 = (W[a + 1, j] - b1 * q0) - d1 * q1
                v2 = (W[a + 2, j] - b2 * q0) - d2 * q1
                v3 = (W[a + 3, j] - b3 * q0) - d3 * q1
            W[a, j] = v0
            W[a + 1, j] = v1
            W[a + 2, j] = v2
            W[a + 3, j] = v3
            s00 += v0 * y0
            s01 += v0 * y1
            s10 += v1 * y0
            s11 += v1 * y1
            s20 += v2 * y0
            s21 += v2 * y1
            s30 += v3 * y0
            s31 += v3 * y1
        cdot[0, a] = s00
        cdot[1, a] = s01
        cdot[0, a + 1] = s10
        cdot[1, a + 1] = s11
        cdot[0, a + 2] = s20
        cdot[1, a + 2] = s21
        cdot[0, a + 3] = s30
        cdot[1, a + 3] = s31


@njit(cache=True, fastmath=_FAST)
def _quad_sweep3(W, n4, pre_n, ca, cb, xbo, xo, xn, cdot, has_tr, zero):
    """:func:`_quad_sweep2` for K = 3 (``xbo``, ``xo``, ``xn``: the block's 3 x pre_n columns)."""
    xbo0, xbo1, xbo2 = xbo[0], xbo[1], xbo[2]
    xo0, xo1, xo2 = xo[0], xo[1], xo[2]
    xn0, xn1, xn2 = xn[0], xn[1], xn[2]
    for a in range(0, n4, 4):
        b00 = cb[0, a]
        b01 = cb[1, a]
        b02 = cb[2, a]
        b10 = cb[0, a + 1]
        b11 = cb[1, a + 1]
        b12 = cb[2, a + 1]
        b20 = cb[0, a + 2]
        b21 = cb[1, a + 2]
        b22 = cb[2, a + 2]
        b30 = cb[0, a + 3]
        b31 = cb[1, a + 3]
        b32 = cb[2, a + 3]
        a00 = ca[0, a]
        a01 = ca[1, a]
        a02 = ca[2, a]
        a10 = ca[0, a + 1]
        a11 = ca[1, a + 1]
        a12 = ca[2, a + 1]
        a20 = ca[0, a + 2]
        a21 = ca[1, a + 2]
        a22 = ca[2, a + 2]
        a30 = ca[0, a + 3]
        a31 = ca[1, a + 3]
        a32 = ca[2, a + 3]
        s00 = zero
        s01 = zero
        s02 = zero
        s10 = zero
        s11 = zero
        s12 = zero
        s20 = zero
        s21 = zero
        s22 = zero
        s30 = zero
        s31 = zero
        s32 = zero
        for j in range(pre_n):
            q0 = xo0[j]
            q1 = xo1[j]
            q2 = xo2[j]
            y0 = xn0[j]
            y1 = xn1[j]
            y2 = xn2[j]
            if has_tr:  # loop-invariant: LLVM unswitches it
                p0 = xbo0[j]
                p1 = xbo1[j]
                p2 = xbo2[j]
                v0 = ((W[a, j] + (a00 * p0 - b00 * q0)) + (a01 * p1 - b01 * q1)) + (
                    a02 * p2 - b02 * q2
                )
                v1 = ((W[a + 1, j] + (a10 * p0 - b10 * q0)) + (a11 * p1 - b11 * q1)) + (
                    a12 * p2 - b12 * q2
                )
                v2 = ((W[a + 2, j] + (a20 * p0 - b20 * q0)) + (a21 * p1 - b21 * q1)) + (
                    a22 * p2 - b22 * q2
                )
                v3 = ((W[a + 3, j] + (a30 * p0 - b30 * q0)) + (a31 * p1 - b31 * q1)) + (
                    a32 * p2 - b32 * q2
                )
            else:
                v0 = ((W[a, j] - b00 * q0) - b01 * q1) - b02 * q2
                v1 = ((W[a + 1, j] - b10 * q0) - b11 * q1) - b12 * q2
                v2 = ((W[a + 2, j] - b20 * q0) - b21 * q1) - b22 * q2
                v3 = ((W[a + 3, j] - b30 * q0) - b31 * q1) - b32 * q2
            W[a, j] = v0
            W[a + 1, j] = v1
            W[a + 2, j] = v2
            W[a + 3, j] = v3
            s00 += v0 * y0
            s01 += v0 * y1
            s02 += v0 * y2
            s10 += v1 * y0
            s11 += v1 * y1
            s12 += v1 * y2
            s20 += v2 * y0
            s21 += v2 * y1
            s22 += v2 * y2
            s30 += v3 * y0
            s31 += v3 * y1
            s32 += v3 * y2
        cdot[0, a] = s00
        cdot[1, a] = s01
        cdot[2, a] = s02
        cdot[0, a + 1] = s10
        cdot[1, a + 1] = s11
        cdot[2, a + 1] = s12
        cdot[0, a + 2] = s20
        cdot[1, a + 2] = s21
        cdot[2, a + 2] = s22
        cdot[0, a + 3] = s30
        cdot[1, a + 3] = s31
        cdot[2, a + 3] = s32


@njit(cache=True, fastmath=_FAST)
def _block_pass(
    w, woff, pre_n, post_n, n_old, learned, ca, cb, xb_old, x_old, n_new, x_new, cdot, has_tr, zero
):
    """One pass over a projection's weights per delay block: apply the pending updates of the
    block that ended (W += ca[s] xbar(s)ᵀ - cb[s] x(s)ᵀ for its steps s, in order; ca, cb
    already carry the learning rate) and take the next block's products with the updated rows,
    cdot[s] = W x_new(s). With two or three steps on each side (K = 2 or 3) rows go four at a
    time through one sweep each (:func:`_quad_sweep2`, :func:`_quad_sweep3`); the other rows,
    and other K, a sweep per step. Rows are indexed in a 2-D view, never sliced: a slice per
    row costs two atomic reference-count updates, a third of the time at 1000 x 1000.

    Serial on purpose: a ``parallel=True`` version of this loop ran 2x faster on two idle
    cores, but called from the cached :func:`run_block` it segfaults when loaded from the
    cache (numba issue #8578), and under oversubscription it was 5-10x slower."""
    W = w[woff : woff + post_n * pre_n].reshape((post_n, pre_n))
    any_learned = False
    for s in range(n_old):
        any_learned = any_learned or learned[s]
    a_rest = 0
    if any_learned and n_old == n_new and (n_new == 2 or n_new == 3):
        # a step that did not learn has ca = cb = 0, so the sweeps may apply every step
        a_rest = post_n - post_n % 4
        if n_new == 2:
            _quad_sweep2(W, a_rest, pre_n, ca, cb, xb_old, x_old, x_new, cdot, has_tr, zero)
        else:
            _quad_sweep3(W, a_rest, pre_n, ca, cb, xb_old, x_old, x_new, cdot, has_tr, zero)
    for a in range(a_rest, post_n):
        for s in range(n_old):
            if not learned[s]:
                continue
            ka = ca[s, a]
            kb = cb[s, a]
            if has_tr:
                for j in range(pre_n):
                    W[a, j] = W[a, j] + (ka * xb_old[s, j] - kb * x_old[s, j])
            else:
                for j in range(pre_n):
                    W[a, j] = W[a, j] - kb * x_old[s, j]
        s = 0
        while s + 1 < n_new:
            acc0 = zero
            acc1 = zero
            for j in range(pre_n):
                v = W[a, j]
                acc0 += v * x_new[s, j]
                acc1 += v * x_new[s + 1, j]
            cdot[s, a] = acc0
            cdot[s + 1, a] = acc1
            s += 2
        if s < n_new:
            acc0 = zero
            for j in range(pre_n):
                acc0 += W[a, j] * x_new[s, j]
            cdot[s, a] = acc0


@njit(cache=True)
def _block_step(
    e,
    s,
    k,
    p,
    learning,
    r,
    tr,
    b,
    cur,
    post_off,
    post_n,
    bdot,
    bca,
    bcb,
    bgx,
    bgxb,
    blearn,
    step_open,
    rule_kind,
    rule_proj,
    rule_eta,
    rule_bias,
    rule_trace,
    tr_off,
    tgt_ptr,
    tgt_off,
    tgt_w,
    row_ca,
    row_cb,
    row_db,
):
    """Step s of a delay block for blocked projection p (block slot e): its current
    W(s) x(s) = W(0) x(s) + sum_{s' < s} (eta ca(s') xbar(s') . x(s) - eta cb(s') x(s') . x(s)),
    and, if its rule is open, that step's row coefficients (the weights change at the next
    block pass)."""
    for a in range(post_n):
        v = bdot[e, s, a]
        for s2 in range(s):
            if blearn[e, s2]:
                v += bca[e, s2, a] * bgxb[e, s2, s] - bcb[e, s2, a] * bgx[e, s2, s]
        cur[post_off + a] += v
    # a step that does not learn leaves zero coefficients (the block pass may sweep them)
    for a in range(post_n):
        bca[e, s, a] = 0.0
        bcb[e, s, a] = 0.0
    if not learning:
        return
    for kr in range(rule_kind.shape[0]):
        if rule_proj[kr] != p or not step_open[k, kr]:
            continue
        _fill_row_coeffs(
            kr,
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
        eta = rule_eta[kr]
        for a in range(post_n):
            bca[e, s, a] = eta * row_ca[a]
            bcb[e, s, a] = eta * row_cb[a]
        blearn[e, s] = True
        if rule_bias[kr]:
            for a in range(post_n):
                b[post_off + a] += eta * row_db[a]


@njit(cache=True)
def _block_flush(
    w,
    proj_w_off,
    proj_pre_n,
    proj_post_n,
    eidx,
    block_tr,
    n_run,
    blearn,
    bca,
    bcb,
    bxb,
    bx,
    par,
    bdot,
    zero,
):
    """Apply the pending updates of each projection's running block (at the end of a run)."""
    for p in range(eidx.shape[0]):
        e = eidx[p]
        if e < 0:
            continue
        _block_pass(
            w,
            proj_w_off[p],
            proj_pre_n[p],
            proj_post_n[p],
            n_run[e],
            blearn[e],
            bca[e],
            bcb[e],
            bxb[e, par[e]],
            bx[e, par[e]],
            0,
            bx[e, par[e]],
            bdot[e],
            block_tr[p] >= 0,
            zero,
        )
        for s in range(blearn.shape[1]):
            blearn[e, s] = False


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
    proj_k,
    block_tr,
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
    total = n_pres * spp
    bad = -1  # the unit that became NaN/inf, if any
    # ---- delay blocks (see _block_pass): projection p with proj_k[p] = K >= 2 reads and
    # writes its weights once per K steps
    eidx = np.full(n_proj, -1, dtype=np.int64)
    n_blk = 0
    max_pre = 1
    max_post = 1
    KK = 1
    for p in range(n_proj):
        if proj_k[p] >= 2:
            eidx[p] = n_blk
            n_blk += 1
            max_pre = max(max_pre, proj_pre_n[p])
            max_post = max(max_post, proj_post_n[p])
            KK = max(KK, proj_k[p])
    # column vectors and row coefficients in the weights' dtype (float32 runs stay float32)
    zero = np.zeros(1, dtype=w.dtype)[0]
    bx = np.zeros((max(n_blk, 1), 2, KK, max_pre), dtype=w.dtype)  # x(s), running/next block
    bxb = np.zeros((max(n_blk, 1), 2, KK, max_pre), dtype=w.dtype)  # pre trace at each step
    bca = np.zeros((max(n_blk, 1), KK, max_post), dtype=w.dtype)  # eta * ca per step (rows)
    bcb = np.zeros((max(n_blk, 1), KK, max_post), dtype=w.dtype)  # eta * cb per step (rows)
    bdot = np.zeros((max(n_blk, 1), KK, max_post))  # W(block start) x(s)
    bgx = np.zeros((max(n_blk, 1), KK, KK))
    bgxb = np.zeros((max(n_blk, 1), KK, KK))
    blearn = np.zeros((max(n_blk, 1), KK), dtype=np.bool_)
    par = np.zeros(max(n_blk, 1), dtype=np.int64)  # which half of bx/bxb is the running block
    n_run = np.zeros(max(n_blk, 1), dtype=np.int64)  # steps in each running block
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
            # ---- a new delay block: one pass over the blocked projection's weights ----
            if n_blk > 0:
                for p in range(n_proj):
                    e = eidx[p]
                    if e < 0 or g % proj_k[p] != 0:
                        continue
                    n_new = min(proj_k[p], total - g)
                    pre_n = proj_pre_n[p]
                    q = par[e]
                    _block_columns(
                        hist,
                        tr,
                        t,
                        L,
                        n_new,
                        proj_pre_off[p],
                        pre_n,
                        proj_delay[p],
                        block_tr[p],
                        tr_off,
                        tr_src_off,
                        tr_alpha,
                        tr_delay,
                        bx[e, 1 - q],
                        bxb[e, 1 - q],
                    )
                    _block_gram(
                        bx[e, 1 - q],
                        bxb[e, 1 - q],
                        n_new,
                        pre_n,
                        block_tr[p] >= 0,
                        bgx[e],
                        bgxb[e],
                    )
                    _block_pass(
                        w,
                        proj_w_off[p],
                        pre_n,
                        proj_post_n[p],
                        n_run[e],
                        blearn[e],
                        bca[e],
                        bcb[e],
                        bxb[e, q],
                        bx[e, q],
                        n_new,
                        bx[e, 1 - q],
                        bdot[e],
                        block_tr[p] >= 0,
                        zero,
                    )
                    for s in range(KK):
                        blearn[e, s] = False
                    par[e] = 1 - q
                    n_run[e] = n_new
            # ---- currents, fused with element-wise plasticity where allowed ----
            for p in range(n_proj):
                e = eidx[p]
                if e >= 0:
                    _block_step(
                        e,
                        g % proj_k[p],
                        k,
                        p,
                        learning,
                        r,
                        tr,
                        b,
                        cur,
                        proj_post_off[p],
                        proj_post_n[p],
                        bdot,
                        bca,
                        bcb,
                        bgx,
                        bgxb,
                        blearn,
                        step_open,
                        rule_kind,
                        rule_proj,
                        rule_eta,
                        rule_bias,
                        rule_trace,
                        tr_off,
                        tgt_ptr,
                        tgt_off,
                        tgt_w,
                        row_ca,
                        row_cb,
                        row_db,
                    )
                    continue
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
                    bad = u
                    break
            if bad >= 0:
                break
            if rw0 <= k < rw1:
                for u in range(n_units):
                    means[i, u] += r[u]
            if record_every > 0 and g % record_every == 0:
                for q in range(record_units.shape[0]):
                    rec[n_rec, q] = r[record_units[q]]
                n_rec += 1
            g += 1
        if bad >= 0:
            break
    # pending delay-block updates reach the weights, whether the run ended or diverged
    _block_flush(
        w,
        proj_w_off,
        proj_pre_n,
        proj_post_n,
        eidx,
        block_tr,
        n_run,
        blearn,
        bca,
        bcb,
        bxb,
        bx,
        par,
        bdot,
        zero,
    )
    return (1 if bad >= 0 else 0), t, bad
