"""Delay blocks: a projection whose delay is at least K steps touches its weights once per K
steps (``docs/engines.md``).

During steps t..t+K−1 such a projection receives presynaptic rates that were all emitted
before t, so its currents over the block are W(t)·x(s) plus the contributions of the block's
own rank-one updates, η·ca′(s′)·(av(s′)·x(s)) − η·cb′(s′)·(x(s′)·x(s)), and the weights
need one pass per block (:func:`neurotp.engines.numba.block_pass.block_pass`): apply the
block's updates and take the next block's products. The numbers are those of the step loop up
to rounding; the memory traffic over the weights falls K-fold. :func:`block_plan` says which
projections; the kernels here run a block's start (:func:`block_start`), each of its steps
(:func:`block_step`) and the end of a drive (:func:`block_flush`).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from neurotp.circuit.compiled import Compiled
from neurotp.engines.numba.block_pass import block_pass
from neurotp.engines.numba.plasticity import fill_rows
from neurotp.engines.numba.rows import FAST, dot, matrix
from neurotp.engines.numba.tables import Projections, fusable_projections, lowering

MAX_BLOCK_STEPS = 16


def block_plan(
    comp: Compiled, block_steps: int | str | None = "delay"
) -> tuple[np.ndarray, np.ndarray]:
    """Delay blocks: how many steps each projection covers with one pass over its weights.

    Eligible: fusable (untied, not Oja's), at most one rule and no weight bounds (clipping is
    not a sum of rank-one terms), a delay of two steps or more, a rule whose pre-side signals
    are x and at most one pre trace (a, b = (x̄, x), (x, x̄), (x, x) or (x̄, x̄); two different
    traces stay on the step loop), that trace delayed by at least K - 1 steps.
    ``block_steps="delay"``: if some eligible projection learns, every eligible projection
    gets K = its delay (at most ``MAX_BLOCK_STEPS``); if none learns, no blocks.
    ``block_steps=K``: every eligible projection with a delay >= K gets K; ``1`` (or None)
    switches delay blocks off. Returns (K per projection, 0 where not blocked; the pre-trace
    index each blocked projection reads, or -1).
    """
    n = len(comp.proj_names)
    rt = comp.rules
    fused = fusable_projections(comp)
    _, av_tr, bv_tr = lowering(comp)
    rules_of: list[list[int]] = [[] for _ in range(n)]
    for k in range(len(rt.form)):
        rules_of[int(rt.proj[k])].append(k)
    pre_tr = np.full(n, -1, dtype=np.int64)
    cand = np.zeros(n, dtype=np.bool_)
    for p in range(n):
        ks = rules_of[p]
        if not fused[p] or len(ks) > 1 or comp.proj_delay[p] < 2:
            continue
        if ks and (np.isfinite(rt.lo[ks[0]]) or np.isfinite(rt.hi[ks[0]]) or bv_tr[ks[0]] >= 0):
            continue
        if ks:
            pre_tr[p] = av_tr[ks[0]]
        cand[p] = True
    ks_per = np.zeros(n, dtype=np.int64)
    if block_steps is None:
        block_steps = 1
    if block_steps == "delay":
        if any(cand[p] and rules_of[p] for p in range(n)):
            for p in range(n):
                if cand[p]:
                    ks_per[p] = min(int(comp.proj_delay[p]), MAX_BLOCK_STEPS)
    else:
        try:
            K = int(block_steps)
        except (TypeError, ValueError):
            K = 0
        if not 1 <= K <= MAX_BLOCK_STEPS or K != block_steps:
            raise ValueError(
                f"block_steps: {block_steps!r} not allowed; allowed: 'delay', None, "
                f"1..{MAX_BLOCK_STEPS}"
            )
        if K >= 2:
            for p in range(n):
                if cand[p] and comp.proj_delay[p] >= K:
                    ks_per[p] = K
    for p in range(n):
        if ks_per[p] and pre_tr[p] >= 0 and comp.tr_delay[pre_tr[p]] < ks_per[p] - 1:
            ks_per[p] = 0
    return ks_per, np.where(ks_per > 0, pre_tr, -1)


class BlockBuffers(NamedTuple):
    """The running and next delay block of every blocked projection (block slot
    ``slot[p]``, −1 where not blocked), in the weights' dtype (float32 runs stay float32)
    except the products: columns ``x[e, h, s]`` = x(s) and ``xb[e, h, s]`` = the pre trace at
    step s, ``h = half[e]`` the running block, ``1 - h`` the next; per step of the running
    block the row coefficients ``ca``, ``cb`` (with η), whether it learned, the products
    ``dot`` = W(block start)·x(s), the Gram entries ``gx[s', s]`` = x(s′)·x(s) and ``gxb[s', s]``
    = x̄(s′)·x(s); ``n_run[e]`` its steps."""

    slot: np.ndarray
    x: np.ndarray
    xb: np.ndarray
    ca: np.ndarray
    cb: np.ndarray
    dot: np.ndarray
    gx: np.ndarray
    gxb: np.ndarray
    learned: np.ndarray
    half: np.ndarray
    n_run: np.ndarray


def block_buffers(projs: Projections, dtype: np.dtype) -> BlockBuffers:
    """Empty buffers for the blocked projections of ``projs`` (a drive starts no block)."""
    blocked = np.nonzero(projs.block_k >= 2)[0]
    slot = np.full(len(projs.block_k), -1, dtype=np.int64)
    slot[blocked] = np.arange(len(blocked))
    nb = max(len(blocked), 1)
    max_pre = int(max([1, *projs.pre_n[blocked].tolist()]))
    max_post = int(max([1, *projs.post_n[blocked].tolist()]))
    kk = int(max([1, *projs.block_k.tolist()]))
    return BlockBuffers(
        slot=slot,
        x=np.zeros((nb, 2, kk, max_pre), dtype=dtype),
        xb=np.zeros((nb, 2, kk, max_pre), dtype=dtype),
        ca=np.zeros((nb, kk, max_post), dtype=dtype),
        cb=np.zeros((nb, kk, max_post), dtype=dtype),
        dot=np.zeros((nb, kk, max_post)),
        gx=np.zeros((nb, kk, kk)),
        gxb=np.zeros((nb, kk, kk)),
        learned=np.zeros((nb, kk), dtype=np.bool_),
        half=np.zeros(nb, dtype=np.int64),
        n_run=np.zeros(nb, dtype=np.int64),
    )


@njit(cache=True)
def block_columns(hist, tr, t, nk, pre_off, pre_n, delay, m, traces, xc, xbc):
    """Columns of a delay block: xc[s] = x(t+s) = r_pre(t+s-delay) for s < nk (all in ``hist``
    already, because delay >= K), and, if the projection's rule reads the pre trace m,
    xbc[s] = that trace at the start of step t+s (advanced exactly as the step loop does; the
    trace delay is >= K-1, so its inputs are in ``hist`` too)."""
    L = hist.shape[0]
    for s in range(nk):
        row = (t + s - delay) % L
        for j in range(pre_n):
            xc[s, j] = hist[row, pre_off + j]
    if m < 0:
        return
    toff = traces.off[m]
    src = traces.src_off[m]
    al = traces.alpha[m]
    tr_delay = traces.delay[m]
    for j in range(pre_n):
        xbc[0, j] = tr[toff + j]
    for s in range(1, nk):
        row = (t + s - 1 - tr_delay) % L
        for j in range(pre_n):
            v = xbc[s - 1, j]
            xbc[s, j] = v + al * (hist[row, src + j] - v)


@njit(cache=True, fastmath=FAST)
def block_gram(xc, xbc, nk, pre_n, has_tr, gx, gxb):
    """gx[s', s] = x(s') . x(s) and gxb[s', s] = xbar(s') . x(s) for s' < s < nk."""
    for s in range(nk):
        for s2 in range(s):
            gx[s2, s] = dot(xc[s2, :pre_n], xc[s, :pre_n])
            if has_tr:
                gxb[s2, s] = dot(xbc[s2, :pre_n], xc[s, :pre_n])


@njit(cache=True)
def block_start(st, t, p, n_new, projs, traces, blk, zero):
    """A new delay block of projection p at step t (``n_new`` steps): its columns and Gram
    entries, then the one pass over its weights (the running block's updates, the new
    block's products)."""
    e = blk.slot[p]
    pre_n = projs.pre_n[p]
    m = projs.block_tr[p]
    q = blk.half[e]
    xn, xbn = blk.x[e, 1 - q], blk.xb[e, 1 - q]
    block_columns(
        st.hist, st.tr, t, n_new, projs.pre_off[p], pre_n, projs.delay[p], m, traces, xn, xbn
    )
    block_gram(xn, xbn, n_new, pre_n, m >= 0, blk.gx[e], blk.gxb[e])
    W = matrix(st.w, projs.w_off[p], projs.post_n[p], pre_n)
    block_pass(W, blk, e, n_new, m >= 0, zero)
    learned = blk.learned
    for s in range(learned.shape[1]):
        learned[e, s] = False
    blk.half[e] = 1 - q
    blk.n_run[e] = n_new


@njit(cache=True)
def block_step(st, scratch, blk, s, k, p, learning, projs, rules, step_open):
    """Step s of the running delay block of projection p (step k of a presentation): its
    current W(s) x(s) = W(0) x(s) + sum_{s' < s} (ca(s') av(s') . x(s) - cb(s') x(s') . x(s)),
    and, if its rule is open, that step's row coefficients (the weights change at the next
    block pass) and the bias update."""
    e = blk.slot[p]
    post_off = projs.post_off[p]
    post_n = projs.post_n[p]
    cur = scratch.cur
    bdot, bca, bcb, bgx, bgxb, blearn = blk.dot, blk.ca, blk.cb, blk.gx, blk.gxb, blk.learned
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
    ca, cb, db = scratch.ca, scratch.cb, scratch.db
    for kr in range(rules.proj.shape[0]):
        if rules.proj[kr] != p or not step_open[k, kr]:
            continue
        fill_rows(kr, rules, st.r, st.tr, post_n, ca, cb, db)
        eta = rules.eta[kr]
        for a in range(post_n):
            bca[e, s, a] = eta * ca[a]
            bcb[e, s, a] = eta * cb[a]
        blearn[e, s] = True
        if rules.bias[kr]:
            b = st.b
            for a in range(post_n):
                b[post_off + a] += eta * db[a]


@njit(cache=True)
def block_flush(w, projs, blk, zero):
    """Apply the pending updates of each projection's running block (at the end of a drive,
    whether it ended or diverged)."""
    for p in range(projs.pre_n.shape[0]):
        e = blk.slot[p]
        if e < 0:
            continue
        W = matrix(w, projs.w_off[p], projs.post_n[p], projs.pre_n[p])
        block_pass(W, blk, e, 0, projs.block_tr[p] >= 0, zero)
        for s in range(blk.learned.shape[1]):
            blk.learned[e, s] = False
