"""The one pass over a blocked projection's weights per delay block
(:mod:`neurotp.engines.numba.blocks`): apply the pending updates of the block that ended and
take the next block's products W·x(s), in one sweep per row, or per four rows for K = 2 and 3
(:func:`quad_sweep2`, :func:`quad_sweep3`).

Each pending update of step s is W += ca[s] avᵀ(s) − cb[s] xᵀ(s) (ca, cb already carry η;
av the pre trace x̄ when the projection's rule reads one, ``has_tr``); without a pre trace
ca is zero (:mod:`neurotp.engines.numba.tables`: a = b = x) and only cb is applied.
"""

from __future__ import annotations

from numba import njit

from neurotp.engines.numba.rows import FAST


@njit(cache=True, fastmath=FAST)
def quad_sweep2(W, n4, pre_n, ca, cb, xbo, xo, xn, cdot, has_tr, zero):
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


@njit(cache=True, fastmath=FAST)
def quad_sweep3(W, n4, pre_n, ca, cb, xbo, xo, xn, cdot, has_tr, zero):
    """:func:`quad_sweep2` for K = 3 (``xbo``, ``xo``, ``xn``: the block's 3 x pre_n columns)."""
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


@njit(cache=True, fastmath=FAST)
def block_pass(W, blk, e, n_new, has_tr, zero):
    """One pass over the weights ``W`` of block slot ``e``: apply the pending updates of the
    running block (its ``n_run[e]`` steps, in order) and take the next block's products with
    the updated rows, ``dot[e, s] = W x_new(s)`` for its ``n_new`` steps (0: flush only). With
    two or three steps on each side (K = 2 or 3) rows go four at a time through one sweep each;
    the other rows, and other K, a sweep per step. Rows are indexed in a 2-D view, never
    sliced: a slice per row costs two atomic reference-count updates, a third of the time at
    1000 x 1000.

    Serial on purpose: a ``parallel=True`` version of this loop ran 2x faster on two idle
    cores, but called from the cached step loop it segfaults when loaded from the cache (numba
    issue #8578), and under oversubscription it was 5-10x slower."""
    post_n, pre_n = W.shape
    q = blk.half[e]
    n_old = blk.n_run[e]
    learned = blk.learned[e]
    ca = blk.ca[e]
    cb = blk.cb[e]
    xb_old = blk.xb[e, q]
    x_old = blk.x[e, q]
    x_new = blk.x[e, 1 - q]
    cdot = blk.dot[e]
    any_learned = False
    for s in range(n_old):
        any_learned = any_learned or learned[s]
    a_rest = 0
    if any_learned and n_old == n_new and (n_new == 2 or n_new == 3):
        # a step that did not learn has ca = cb = 0, so the sweeps may apply every step
        a_rest = post_n - post_n % 4
        if n_new == 2:
            quad_sweep2(W, a_rest, pre_n, ca, cb, xb_old, x_old, x_new, cdot, has_tr, zero)
        else:
            quad_sweep3(W, a_rest, pre_n, ca, cb, xb_old, x_old, x_new, cdot, has_tr, zero)
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
