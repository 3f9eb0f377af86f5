"""The batched Numba step loop, run by one or several worker threads.

:func:`run_batched` runs every round of a batched drive (the step of
:mod:`neurotp.engines.batched_reference`, in the same order). Worker ``w`` of ``n`` (a
:class:`Worker`; ``n = 1``: the whole batch on the caller's thread) owns the copies
``[w·B/n, (w+1)·B/n)``: their clamps, ring-buffer rows, currents (its rows of each GEMM
X·Wᵀ), couplings, traces, rates and readout sums. The weights are shared, so a step where
rules are open splits them differently:

1. each worker fills its copies' coefficient rows of every open rule (``P``, ``DB``);
2. barrier; each worker applies every open rule, in declaration order, to its share of the
   **postsynaptic rows** of the weights, W[a0:a1] += α·P[:, a0:a1]ᵀ·S (S all copies'
   pre-side signal, read in place), and of the biases, summing the copies in copy order;
3. barrier (the traces the products read are about to move); then traces and rates.

Those are the only barriers: at a step where no rule is open no worker reads another's
copies, and the weights it reads were last written before a barrier both crossed, so the
workers run the closed steps (30 of fmnist_tp's 40) at their own pace. A worker that finds a
non-finite rate returns at once, reporting its step and first unit, and aborts the others
(a worker waiting at a barrier they have not all reached returns; :func:`~neurotp.engines.
numba.sync.barrier`); the driver (``BatchedNumbaEngine._run_workers``) keeps the earliest
step's report, of the lowest worker at that step: the step and unit one thread finds (the
state past that step is not defined). The barriers are :mod:`neurotp.engines.numba.sync`;
the kernel is ``nogil``. Each element of every product is
the same BLAS sum whatever the split (a GEMM's rows or columns do not change the order over
its inner dimension), which the tests check bit for bit against one worker.

The current of a projection from the clamped input is held between steps
(:mod:`neurotp.engines.numba.batched_plan`): ``Worker.hold_ver`` tells which input version
a worker's held rows were taken from, ``Worker.row_ver`` which version each ring-buffer row
holds (its input rows are rewritten only when stale).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from neurotp.engines.numba.batched_rates import first_nonfinite, nonfinite, rates
from neurotp.engines.numba.blas import gemm
from neurotp.engines.numba.plasticity import fill_rows
from neurotp.engines.numba.sync import abort, barrier
from neurotp.engines.numba.tables import LOWER_SAME_TR, LOWER_SAME_X
from neurotp.engines.numba.unmanaged import unmanaged

ALIGN = 4  # a worker's rows of a weight matrix start at a multiple of this (_share)


class BatchDrive(NamedTuple):
    """A drive in rounds (:class:`neurotp.engines.batching.Rounds`) as the kernel reads it."""

    stim: np.ndarray  # (Q, B, frames, n_input)
    labels: np.ndarray  # (Q, B, n_label)
    active: np.ndarray  # (Q, B)
    noise: np.ndarray  # (Q * spp, B, n_noisy)
    step_open: np.ndarray
    clamp: bool
    learn: bool
    present_steps: int
    spp: int
    rw0: int
    rw1: int
    frames: int
    label_steps: int
    check_input: bool  # the stimulus holds a non-finite value: check the inputs' rates
    diagonal: np.ndarray  # per projection: its current element-wise (diagonal_projections)
    segments: np.ndarray  # (n, 3) runs of the rates update (rate_segments)
    held: np.ndarray  # per projection: its current may be held (held_projections)
    touches: np.ndarray  # (rules, projections): what a rule changes (rule_touches)


class BatchScratch(NamedTuple):
    """Work arrays shared by the workers, each writing only its copies' rows."""

    cur: np.ndarray  # (B, N)
    clamped: np.ndarray  # (B, N)
    P: np.ndarray  # (rules, 2 B, max post): each open rule's coefficient rows [ca; −cb]
    DB: np.ndarray  # (rules, B, max post): each copy's bias update, before η
    CA: np.ndarray  # (B, max post): fill_rows's ca, cb per copy
    CB: np.ndarray
    hold: np.ndarray  # (B, N): the held currents, at their post units


class Worker(NamedTuple):
    """One worker's share and its own state."""

    w: int
    n: int
    sync: np.ndarray  # sync.new_sync(n)
    dbuf: np.ndarray  # (max post · pre,): a bounded rule's update, this worker's rows
    hold_ver: np.ndarray  # per projection: the input version its held rows read; −1 none
    row_ver: np.ndarray  # (L,): the input version in each ring-buffer row; −1 not known
    flops: np.ndarray  # (1,): floating-point operations of the products this worker did


@njit(cache=True, nogil=True)
def _pre_gemm(m_tr, st, traces, x_off, rows, pre_n, alpha, p, beta, c):
    """C (rows a0..a1 × pre) ← α·P[:, a0:a1]ᵀ·S + β·C, S (B × pre) the copies' pre-side
    signal read in place: trace m_tr of ``st.tr``, or (m_tr < 0) the delayed rates at flat
    offset ``x_off`` of the ring buffer. ``p``: (P, flat offset of row 0 column a0, ld);
    ``c``: (array, flat offset of row a0), ld pre."""
    B, N = st.r.shape
    a0, a1 = rows
    P, p_off, ld = p
    pb = (P, p_off, ld, True)
    cb = (c[0], c[1], pre_n)
    if m_tr >= 0:
        s = (st.tr, traces.off[m_tr], st.tr.shape[1], False)
        gemm(a1 - a0, pre_n, B, alpha, pb, s, beta, cb)
    else:
        gemm(a1 - a0, pre_n, B, alpha, pb, (st.hist, x_off, N, False), beta, cb)


@njit(cache=True, nogil=True)
def _copy(dst, src, lo, hi):
    """dst[lo:hi] = src[lo:hi]. Slices and a loop from 0: a loop from a computed start keeps
    Numba's negative-index wraparound check, and LLVM then copies by gather and scatter
    (``perf``: the per-copy loops of a step were a tenth of a B = 128 run that way)."""
    d, s = dst[lo:hi], src[lo:hi]
    for u in range(d.size):
        d[u] = s[u]


@njit(cache=True, nogil=True)
def _add(dst, src, c, lo, hi):
    """dst[lo:hi] += c·src[lo:hi] (as :func:`_copy`; 1·x is x exactly)."""
    d, s = dst[lo:hi], src[lo:hi]
    for u in range(d.size):
        d[u] += c * s[u]


@njit(cache=True, nogil=True)
def _rule_rows(kr, st, rules, projs, scr, live, j0, j1):
    """Rule kr's coefficient rows of copies j0..j1 into ``P[kr]`` and ``DB[kr]`` (a pad
    copy's rows are zero: it adds nothing)."""
    p = rules.proj[kr]
    B = st.r.shape[0]
    post_n = projs.post_n[p]
    lower = rules.lower[kr]
    P, DB = scr.P[kr], scr.DB[kr]
    for j in range(j0, j1):
        pa, pb, ca, cb, db = P[j], P[B + j], scr.CA[j], scr.CB[j], DB[j]
        if not live[j]:
            for a in range(post_n):
                pa[a] = 0.0
                pb[a] = 0.0
            continue
        fill_rows(kr, rules, st.r[j], st.tr[j], post_n, ca, cb, db)
        if lower == LOWER_SAME_X:  # update d ⊗ x, d = −cb′
            for a in range(post_n):
                pa[a] = -cb[a]
        else:
            for a in range(post_n):
                pa[a] = ca[a]
        for a in range(post_n):
            pb[a] = -cb[a]


@njit(cache=True, nogil=True)
def _share(w, n, rows):
    """Where worker w's rows of a weight matrix start: w·rows/n rounded down to a multiple
    of ALIGN (the last worker ends at ``rows``). BLAS's micro-kernels take the rows of C in
    pairs, and a block that starts on an odd row rounds some sums differently; from an even
    row every element is the sum one product over all rows gives (checked on every shape of
    the test circuits and fmnist_tp)."""
    if w >= n:
        return rows
    return (w * rows // n) // ALIGN * ALIGN


@njit(cache=True, nogil=True)
def _rule_apply(kr, st, t, projs, traces, rules, scr, live, wk):
    """Rule kr on this worker's rows of the weights and biases: the mean over the live copies,
    Σ_b (ca_b ⊗ av_b − cb_b ⊗ bv_b), as one or two products added into W (α = η / B_live),
    or through the worker's ``dbuf`` when the rule has bounds; then the bias."""
    p = rules.proj[kr]
    B, N = st.r.shape
    L = st.hist.shape[0]
    pre_off, pre_n = projs.pre_off[p], projs.pre_n[p]
    post_off, post_n = projs.post_off[p], projs.post_n[p]
    a0, a1 = _share(wk.w, wk.n, post_n), _share(wk.w + 1, wk.n, post_n)
    if a1 <= a0:
        return
    w_off = projs.w_off[p]
    row = (t - projs.delay[p]) % L
    x_off = row * B * N + pre_off  # the delayed rates' block in the ring buffer
    lower = rules.lower[kr]
    one = lower == LOWER_SAME_X or lower == LOWER_SAME_TR
    n_live = 0
    for j in range(B):
        if live[j]:
            n_live += 1
    eta = rules.eta[kr] / max(n_live, 1)
    lo, hi = rules.lo[kr], rules.hi[kr]
    av_tr, bv_tr = rules.av_tr[kr], rules.bv_tr[kr]
    P = scr.P
    ld = P.shape[2]
    pa = (P, kr * P.shape[1] * ld + a0, ld)
    pb = (P, (kr * P.shape[1] + B) * ld + a0, ld)
    rows = (a0, a1)
    if lo > -np.inf or hi < np.inf:
        D = wk.dbuf
        _pre_gemm(av_tr, st, traces, x_off, rows, pre_n, 1.0, pa, 0.0, (D, 0))
        if not one:
            _pre_gemm(bv_tr, st, traces, x_off, rows, pre_n, 1.0, pb, 1.0, (D, 0))
        w = st.w
        base = w_off + a0 * pre_n
        for e in range((a1 - a0) * pre_n):
            w[base + e] = min(max(w[base + e] + eta * D[e], lo), hi)
    else:
        c = (st.w, w_off + a0 * pre_n)
        _pre_gemm(av_tr, st, traces, x_off, rows, pre_n, eta, pa, 1.0, c)
        if not one:
            _pre_gemm(bv_tr, st, traces, x_off, rows, pre_n, eta, pb, 1.0, c)
    wk.flops[0] += (2.0 * B if one else 4.0 * B) * (a1 - a0) * pre_n
    if rules.bias[kr]:
        DB = scr.DB[kr]
        for a in range(a0, a1):
            s = 0.0
            for j in range(B):  # copy order, as one thread sums them
                if live[j]:
                    s += DB[j, a]
            st.b[post_off + a] += eta * s


@njit(cache=True, nogil=True)
def run_batched(st, t0, units, projs, traces, rules, drive, scr, means, wk):
    """Worker ``wk``'s part of every round of a batched drive from step ``t0``; ``means``
    (Q, B, N) gets its copies' readout sums. Returns (status, t, unit): 0 done; 1 a rate of
    this worker's copies is not finite at step t − 1, ``unit`` the first one of the first
    such copy; 2 stopped at a barrier (another worker diverged or raised)."""
    # the arrays as aliases Numba does not reference-count (unmanaged): the views the loops
    # take of them cost no atomic operation; the caller holds the arrays for the whole call
    st, scr, wk, means = unmanaged(st), unmanaged(scr), unmanaged(wk), unmanaged(means)
    units, projs, traces, rules = (
        unmanaged(units),
        unmanaged(projs),
        unmanaged(traces),
        unmanaged(rules),
    )
    drive = unmanaged(drive)
    r, hist, tr, b = st.r, st.hist, st.tr, st.b
    cur, clamped, hold = scr.cur, scr.clamped, scr.hold
    B, N = r.shape
    L = hist.shape[0]
    j0, j1 = _share(wk.w, wk.n, B), _share(wk.w + 1, wk.n, B)
    nj = j1 - j0
    input_off, input_n = units.input_off, units.input_n
    input_end = input_off + input_n
    label_off, label_n = units.label_off, units.label_n
    act, alpha, sigma, noise_idx = units.act, units.alpha, units.sigma, units.noise_idx
    n_proj = projs.pre_off.shape[0]
    n_rules = rules.proj.shape[0]
    n_tr = traces.off.shape[0]
    hold_ver, row_ver = wk.hold_ver, wk.row_ver
    phase = 0
    in_pend = 0  # summing steps whose input rates are not yet added (the frame held)
    ver = 0  # the input version: a new one each time the input rates are rewritten
    t = t0
    g = 0
    for q in range(drive.active.shape[0]):
        live = drive.active[q]
        f_prev = -1
        for k in range(drive.spp):
            presenting = k < drive.present_steps
            f = k * drive.frames // drive.present_steps if presenting else -1
            new_frame = f != f_prev  # the input rates change only with the frame (or gap)
            f_prev = f
            slot = t % L
            if new_frame:
                ver += 1
            fresh = row_ver[slot] != ver  # the row's input rates are not this version's
            row_ver[slot] = ver
            for j in range(j0, j1):
                rj, cj, hj = r[j], cur[j], hist[slot, j]  # 1-D rows: the loops vectorise
                if new_frame:
                    if presenting:
                        _copy(rj[input_off:input_end], drive.stim[q, j, f], 0, input_n)
                    else:
                        rj[input_off:input_end] = 0.0
                lab_on = (
                    drive.clamp
                    and presenting
                    and label_n > 0
                    and live[j]
                    and k >= drive.label_steps
                )
                for u in range(label_n):
                    clamped[j, label_off + u] = lab_on
                    if lab_on:
                        rj[label_off + u] = drive.labels[q, j, u]
                _copy(hj, rj, 0, input_off)
                if fresh:
                    _copy(hj, rj, input_off, input_end)
                _copy(hj, rj, input_end, N)
                # the inputs are clamped: their currents are never read
                _copy(cj, b, 0, input_off)
                _copy(cj, b, input_end, N)
            # ---- currents: cur[:, post] += X·Wᵀ per projection, X read in the ring buffer ----
            for p in range(n_proj):
                row = (t - projs.delay[p]) % L
                post_n, pre_n = projs.post_n[p], projs.pre_n[p]
                post_off = projs.post_off[p]
                if drive.diagonal[p]:  # d ⊙ x (diagonal_projections)
                    w, pre_off, w_off = st.w, projs.pre_off[p], projs.w_off[p]
                    for j in range(j0, j1):
                        cj, xj = cur[j, post_off : post_off + post_n], hist[row, j, pre_off:]
                        for a in range(post_n):
                            cj[a] += w[w_off + a * (pre_n + 1)] * xj[a]
                    wk.flops[0] += 2.0 * nj * post_n
                    continue
                if drive.held[p] and hold_ver[p] >= 0 and hold_ver[p] == row_ver[row]:
                    for j in range(j0, j1):  # the product held: the same inputs, weights, bias
                        cj, hj = cur[j, post_off : post_off + post_n], hold[j, post_off:]
                        for a in range(post_n):
                            cj[a] = hj[a]
                    continue
                if nj > 0:
                    x = (hist, (row * B + j0) * N + projs.pre_off[p], N, False)
                    w_t = (st.w, projs.w_off[p], pre_n, True)
                    gemm(nj, post_n, pre_n, 1.0, x, w_t, 1.0, (cur, j0 * N + post_off, N))
                wk.flops[0] += 2.0 * nj * pre_n * post_n
                if drive.held[p]:
                    hold_ver[p] = row_ver[row]
                    for j in range(j0, j1):
                        cj, hj = cur[j, post_off : post_off + post_n], hold[j, post_off:]
                        for a in range(post_n):
                            hj[a] = cj[a]
            for j in range(j0, j1):
                for m in range(noise_idx.shape[0]):
                    u = noise_idx[m]
                    cur[j, u] += sigma[u] * drive.noise[g, j, m]
            # ---- compartments nudge their somata: gain·(a − ā) ----
            for m in range(units.cpl_dst.shape[0]):
                src, dst, rest = units.cpl_src[m], units.cpl_dst[m], units.cpl_rest[m]
                gain = units.cpl_gain[m]
                for j in range(j0, j1):
                    for u in range(units.cpl_n[m]):
                        nudge = r[j, src + u]
                        if rest >= 0:
                            nudge = nudge - tr[j, rest + u]
                        cur[j, dst + u] += gain * nudge
            # ---- plasticity: rows per copy, then each worker's rows of the weights ----
            if drive.learn and presenting:
                any_open = False
                for kr in range(n_rules):
                    if drive.step_open[k, kr]:
                        any_open = True
                        _rule_rows(kr, st, rules, projs, scr, live, j0, j1)
                if any_open:
                    phase += 1
                    if not barrier(wk.sync, wk.w, wk.n, phase):
                        return 2, t, -1
                    for kr in range(n_rules):
                        if drive.step_open[k, kr]:
                            _rule_apply(kr, st, t, projs, traces, rules, scr, live, wk)
                            for p in range(n_proj):
                                if drive.touches[kr, p]:
                                    hold_ver[p] = -1
                    phase += 1
                    if not barrier(wk.sync, wk.w, wk.n, phase):
                        return 2, t, -1
            # ---- per copy: traces, rates (the inputs are clamped), finiteness, readout sums,
            # in one pass while the copy's rows are in cache (no copy reads another's) ----
            summing = drive.rw0 <= k < drive.rw1
            # the clamped inputs' sums: their rates stay until the next frame, so they are
            # added once, times the steps they held, when the window ends or the frame changes
            in_steps = in_pend + 1 if summing else 0
            k1 = k + 1
            f_next = k1 * drive.frames // drive.present_steps if k1 < drive.present_steps else -1
            in_flush = summing and (k1 == drive.rw1 or f_next != f)
            bad = -1
            for j in range(j0, j1):
                for m in range(n_tr):
                    row = (t - traces.delay[m]) % L
                    off, src, n = traces.off[m], traces.src_off[m], traces.n[m]
                    al = traces.alpha[m]
                    tj, hj = tr[j, off : off + n], hist[row, j, src : src + n]
                    for u in range(n):
                        tj[u] += al * (hj[u] - tj[u])
                rj = r[j]
                rates(rj, cur[j], clamped[j], alpha, act, drive.segments)
                first = -1
                if nonfinite(rj, 0, input_off) or nonfinite(rj, input_end, N):
                    first = first_nonfinite(rj, 0, N, input_off, input_end)
                if drive.check_input and nonfinite(rj, input_off, input_end):
                    u = first_nonfinite(rj, input_off, input_end, 0, 0)
                    first = u if first < 0 else min(first, u)
                if bad < 0:
                    bad = first
                if summing:
                    mj = means[q, j]
                    _add(mj, rj, 1.0, 0, input_off)
                    _add(mj, rj, 1.0, input_end, N)
                    if in_flush:
                        _add(mj, rj, float(in_steps), input_off, input_end)
            in_pend = 0 if in_flush or not summing else in_steps
            t += 1
            if bad >= 0:  # the others stop at a barrier this worker never reaches
                if wk.n > 1:
                    abort(wk.sync, wk.n)
                return 1, t, bad
            g += 1
    return 0, t, -1


def stop_others(wk: Worker) -> None:
    """After a worker raised: every other worker's next barrier returns False."""
    abort(wk.sync, wk.n)
