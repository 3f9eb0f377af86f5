"""The batched Numba engine: B copies of the circuit, the step as matrix-matrix products.

The step of :mod:`neurotp.engines.batched_reference` (the same order), with the copies' work
on each projection done as one GEMM on the state arrays in place (:func:`numba.blas.gemm
<neurotp.engines.numba.blas.gemm>`: BLAS on strided blocks, α and β):

- current: cur[:, post] += X · Wᵀ, X (B × pre) the copies' delayed presynaptic rates read in
  the ring buffer ``hist`` (L, B, N) (a block with row stride N), added straight into the
  currents (β = 1); a diagonal projection that no rule of the drive changes (an identity
  wiring, :func:`diagonal_projections`) is d ⊙ x instead;
- plasticity: the B rank-one updates of a rule, Σ_b η·(ca_b ⊗ av_b − cb_b ⊗ bv_b), are one or
  two products Pᵀ·S added into W with α = η / B_live (the mean over the copies with a
  sample), P the copies' coefficient rows and S the pre-side signal read in place (``hist``
  or ``tr``); a rule with bounds goes through a buffer and is clipped.

The thread count is BLAS's, set around each drive with ``threadpoolctl`` (``threads``; the
default is every core this process may use). No ``parallel=True`` kernel is involved, so the
kernels cache like the single-copy ones (a ``parallel`` kernel called from a cached one
segfaulted when loaded from the cache, numba issue #8578). The element-wise part of the step
(clamps, ring buffer, couplings, traces, rates) runs on one thread, one pass per copy over
1-D rows; the rates update is :mod:`neurotp.engines.numba.batched_rates` (vectorised).
Stimulus frames, ``protocol.label_delay``, compartments and stream mode run as in the
single-copy engines. Oja's rule (it reads Wᵀp, a product over all rows) and delay blocks
are batch-1 devices and are refused. ``docs/engines.md`` has where a step's time goes.
"""

from __future__ import annotations

import functools
import os
from typing import NamedTuple

import numpy as np
from numba import njit

from neurotp.circuit.compiled import Compiled, State
from neurotp.circuit.protocol import Drive
from neurotp.circuit.rules import OJA
from neurotp.engines.base import Engine, RunResult
from neurotp.engines.batching import (
    batch_of,
    batched_state,
    refuse_recording,
    rounds,
    unround,
)
from neurotp.engines.numba.batched_plan import (
    diagonal_projections,
    held_projections,
    rule_touches,
)
from neurotp.engines.numba.batched_rates import first_nonfinite, nonfinite, rate_segments, rates
from neurotp.engines.numba.blas import gemm
from neurotp.engines.numba.plasticity import fill_rows
from neurotp.engines.numba.tables import (
    LOWER_SAME_TR,
    LOWER_SAME_X,
    check_dtype,
    lowering,
    projection_table,
    rule_rows,
    rules_open,
    state_arrays,
    trace_table,
    unit_table,
)


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
    """Work arrays: currents and clamps per copy, flat blocks reshaped per projection."""

    cur: np.ndarray  # (B, N)
    clamped: np.ndarray  # (B, N)
    cbuf: np.ndarray  # (2 B · max post,): a rule's coefficient rows P
    dbuf: np.ndarray  # (max post · pre,): a bounded rule's update
    ca: np.ndarray  # (max post,)
    cb: np.ndarray
    db: np.ndarray
    dbias: np.ndarray
    hold: np.ndarray  # (B, N): the held currents, at their post units (held_projections)
    hold_ver: np.ndarray  # per projection: the input version its held current read; -1 none
    row_ver: np.ndarray  # (L,): the input version in each ring-buffer row; -1 not known
    flops: np.ndarray  # (1,): floating-point operations of the products done


@functools.cache
def blas_controller():
    """One ``threadpoolctl`` controller for the process, made after SciPy's BLAS (the one
    :mod:`neurotp.engines.numba.blas` calls) is loaded: a new ``threadpool_limits`` per drive
    scans the loaded libraries again, 1.6 ms each time."""
    import scipy.linalg  # noqa: F401 - load SciPy's BLAS so the controller sees it
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


def default_threads() -> int:
    """Every core this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


@njit(cache=True)
def _pre_gemm(m_tr, st, traces, x_off, dims, alpha, p, beta, c):
    """C (post × pre) ← α·Pᵀ·S + β·C, S (B × pre) the copies' pre-side signal read in place:
    trace m_tr of ``st.tr`` (ld: the trace width), or (m_tr < 0) the delayed rates x at flat
    offset ``x_off`` of the ring buffer (ld N). ``dims`` (post, pre); ``p`` (P, first row);
    ``c`` (array, offset) of C (ld pre)."""
    B, N = st.r.shape
    post_n, pre_n = dims
    P, p_row = p
    pb = (P, p_row * post_n, post_n, True)
    cb = (c[0], c[1], pre_n)
    if m_tr >= 0:
        tr = (st.tr, traces.off[m_tr], st.tr.shape[1], False)
        gemm(post_n, pre_n, B, alpha, pb, tr, beta, cb)
    else:
        gemm(post_n, pre_n, B, alpha, pb, (st.hist, x_off, N, False), beta, cb)


@njit(cache=True)
def _rule(kr, st, t, projs, traces, rules, scr, live):
    """Rule kr: the mean of the live copies' updates, Σ_b (ca_b ⊗ av_b − cb_b ⊗ bv_b), as one
    or two products Pᵀ·S added into W (α = η / B_live, β = 1; S read in place), or through
    ``dbuf`` when the rule has bounds; then the bias."""
    p = rules.proj[kr]
    B = st.r.shape[0]
    L = st.hist.shape[0]
    pre_off, pre_n = projs.pre_off[p], projs.pre_n[p]
    post_off, post_n = projs.post_off[p], projs.post_n[p]
    w_off = projs.w_off[p]
    row = (t - projs.delay[p]) % L
    x_off = row * B * st.r.shape[1] + pre_off  # the delayed rates' block in the ring buffer
    dims = (post_n, pre_n)
    lower = rules.lower[kr]
    one = lower == LOWER_SAME_X or lower == LOWER_SAME_TR
    P = scr.cbuf[: 2 * B * post_n].reshape((2 * B, post_n))
    ca, cb, db, dbias = scr.ca, scr.cb, scr.db, scr.dbias
    for a in range(post_n):
        dbias[a] = 0.0
    n_live = 0
    for j in range(B):
        if not live[j]:  # a pad copy's rows are zero: it adds nothing
            for a in range(post_n):
                P[j, a] = 0.0
                P[B + j, a] = 0.0
            continue
        n_live += 1
        fill_rows(kr, rules, st.r[j], st.tr[j], post_n, ca, cb, db)
        for a in range(post_n):
            dbias[a] += db[a]
        if lower == LOWER_SAME_X:  # update d ⊗ x, d = −cb′
            for a in range(post_n):
                P[j, a] = -cb[a]
        else:
            for a in range(post_n):
                P[j, a] = ca[a]
        for a in range(post_n):
            P[B + j, a] = -cb[a]
    eta = rules.eta[kr] / max(n_live, 1)
    lo, hi = rules.lo[kr], rules.hi[kr]
    bounded = lo > -np.inf or hi < np.inf
    av_tr, bv_tr = rules.av_tr[kr], rules.bv_tr[kr]
    if bounded:
        D = scr.dbuf[: post_n * pre_n]
        _pre_gemm(av_tr, st, traces, x_off, dims, 1.0, (P, 0), 0.0, (D, 0))
        if not one:
            _pre_gemm(bv_tr, st, traces, x_off, dims, 1.0, (P, B), 1.0, (D, 0))
        w = st.w
        for e in range(post_n * pre_n):
            w[w_off + e] = min(max(w[w_off + e] + eta * D[e], lo), hi)
    else:
        _pre_gemm(av_tr, st, traces, x_off, dims, eta, (P, 0), 1.0, (st.w, w_off))
        if not one:
            _pre_gemm(bv_tr, st, traces, x_off, dims, eta, (P, B), 1.0, (st.w, w_off))
    if rules.bias[kr]:
        for a in range(post_n):
            st.b[post_off + a] += eta * dbias[a]
    scr.flops[0] += (2.0 * B if one else 4.0 * B) * pre_n * post_n


@njit(cache=True)
def run_batched(st, t0, units, projs, traces, rules, drive, scr, means):
    """Run every round of a batched drive from step ``t0``; ``means`` (Q, B, N) gets the
    readout sums. Returns (status, t, unit) as :func:`neurotp.engines.numba.loop.run_drive`
    (the unit: the first non-finite one of the first copy that has one)."""
    r, hist, tr, b = st.r, st.hist, st.tr, st.b
    cur, clamped = scr.cur, scr.clamped
    B, N = r.shape
    L = hist.shape[0]
    input_off, input_n = units.input_off, units.input_n
    input_end = input_off + input_n
    label_off, label_n = units.label_off, units.label_n
    act, alpha, sigma, noise_idx = units.act, units.alpha, units.sigma, units.noise_idx
    n_proj = projs.pre_off.shape[0]
    n_rules = rules.proj.shape[0]
    n_tr = traces.off.shape[0]
    hold, hold_ver, row_ver = scr.hold, scr.hold_ver, scr.row_ver
    ver = 0  # the input version: a new one each time the input rates are rewritten
    t = t0
    g = 0
    bad = -1
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
            for j in range(B):
                rj, cj, hj = r[j], cur[j], hist[slot, j]  # 1-D rows: the loops vectorise
                if new_frame:
                    if presenting:
                        sj = drive.stim[q, j, f]
                        for u in range(input_n):
                            rj[input_off + u] = sj[u]
                    else:
                        for u in range(input_n):
                            rj[input_off + u] = 0.0
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
                for u in range(input_off):
                    hj[u] = rj[u]
                if fresh:
                    for u in range(input_off, input_end):
                        hj[u] = rj[u]
                for u in range(input_end, N):
                    hj[u] = rj[u]
                # the inputs are clamped: their currents are never read
                for u in range(input_off):
                    cj[u] = b[u]
                for u in range(input_end, N):
                    cj[u] = b[u]
            # ---- currents: cur[:, post] += X·Wᵀ per projection, X read in the ring buffer ----
            for p in range(n_proj):
                row = (t - projs.delay[p]) % L
                post_n, pre_n = projs.post_n[p], projs.pre_n[p]
                if drive.diagonal[p]:  # d ⊙ x (diagonal_projections)
                    w, pre_off, post_off = st.w, projs.pre_off[p], projs.post_off[p]
                    w_off = projs.w_off[p]
                    for j in range(B):
                        cj, xj = cur[j, post_off : post_off + post_n], hist[row, j, pre_off:]
                        for a in range(post_n):
                            cj[a] += w[w_off + a * (pre_n + 1)] * xj[a]
                    scr.flops[0] += 2.0 * B * post_n
                    continue
                post_off = projs.post_off[p]
                if drive.held[p] and hold_ver[p] >= 0 and hold_ver[p] == row_ver[row]:
                    for j in range(B):  # the product held: the same inputs, weights, bias
                        cj, hj = cur[j, post_off : post_off + post_n], hold[j, post_off:]
                        for a in range(post_n):
                            cj[a] = hj[a]
                    continue
                x = (hist, row * B * N + projs.pre_off[p], N, False)
                w_t = (st.w, projs.w_off[p], pre_n, True)
                gemm(B, post_n, pre_n, 1.0, x, w_t, 1.0, (cur, post_off, N))
                scr.flops[0] += 2.0 * B * pre_n * post_n
                if drive.held[p]:
                    hold_ver[p] = row_ver[row]
                    for j in range(B):
                        cj, hj = cur[j, post_off : post_off + post_n], hold[j, post_off:]
                        for a in range(post_n):
                            hj[a] = cj[a]
            for j in range(B):
                for m in range(noise_idx.shape[0]):
                    u = noise_idx[m]
                    cur[j, u] += sigma[u] * drive.noise[g, j, m]
            # ---- compartments nudge their somata: gain·(a − ā) ----
            for m in range(units.cpl_dst.shape[0]):
                src, dst, rest = units.cpl_src[m], units.cpl_dst[m], units.cpl_rest[m]
                gain = units.cpl_gain[m]
                for j in range(B):
                    for u in range(units.cpl_n[m]):
                        nudge = r[j, src + u]
                        if rest >= 0:
                            nudge = nudge - tr[j, rest + u]
                        cur[j, dst + u] += gain * nudge
            # ---- plasticity: one GEMM-shaped update per open rule, in declaration order ----
            if drive.learn and presenting:
                for kr in range(n_rules):
                    if drive.step_open[k, kr]:
                        _rule(kr, st, t, projs, traces, rules, scr, live)
                        for p in range(n_proj):
                            if drive.touches[kr, p]:
                                hold_ver[p] = -1
            # ---- traces ----
            for m in range(n_tr):
                row = (t - traces.delay[m]) % L
                off, src, n, al = traces.off[m], traces.src_off[m], traces.n[m], traces.alpha[m]
                for j in range(B):
                    tj, hj = tr[j, off : off + n], hist[row, j, src : src + n]
                    for u in range(n):
                        tj[u] += al * (hj[u] - tj[u])
            # ---- rates (the inputs are clamped), finiteness, readout sums: one pass a copy ----
            summing = drive.rw0 <= k < drive.rw1
            for j in range(B):
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
                    for u in range(N):
                        mj[u] += rj[u]
            t += 1
            if bad >= 0:
                return 1, t, bad
            g += 1
    return 0, t, bad


class BatchedNumbaEngine(Engine):
    """B = ``protocol.batch`` copies on the Numba kernels above; ``threads``: BLAS threads for
    the GEMMs (default :func:`default_threads`)."""

    name = "numba"

    def __init__(
        self,
        comp: Compiled,
        dtype: type = np.float64,
        state: State | None = None,
        threads: int | None = None,
        block_steps: int | str | None = None,
    ):
        check_dtype(dtype)
        if block_steps not in (None, 1):
            raise ValueError(
                f"block_steps: {block_steps!r}; delay blocks are a batch-1 device, the batched "
                "engine runs the plain step; allowed: leave --block-steps out with "
                "protocol.batch > 1"
            )
        oja = [n for n, f in zip(comp.rule_names, comp.rules.form, strict=True) if f == OJA]
        if oja:
            raise ValueError(
                f"rules ({oja[0]}).kind: oja is not batched on numba (it reads Wᵀp over all "
                "rows); allowed: protocol.batch 1, or --backend reference"
            )
        if threads is not None and (isinstance(threads, bool) or int(threads) < 1):
            raise ValueError(f"threads: {threads!r}; allowed: a whole number >= 1")
        self.threads = default_threads() if threads is None else int(threads)
        self.batch = batch_of(comp)
        dt = np.dtype(dtype).type
        super().__init__(
            comp, dtype, state if state is not None else batched_state(comp, self.batch, dt)
        )
        zeros = np.zeros(len(comp.proj_names), dtype=np.int64)
        self._units = unit_table(comp)
        self._projs = projection_table(comp, zeros, zeros)
        self._traces = trace_table(comp)
        self._lowered = lowering(comp)
        self._step_open = rules_open(comp)
        self._segments = rate_segments(comp)
        self._touches = rule_touches(comp)
        self.hold = True  # hold input currents between steps (batched_plan); False: never
        self.product_flops = 0.0  # the products' floating-point operations done so far

    def _scratch(self) -> BatchScratch:
        c, B = self.comp, self.batch
        wdt = self.state.w.dtype
        max_post = int(max(c.proj_post_n.max(initial=0), 1))
        max_w = int(max((c.proj_pre_n * c.proj_post_n).max(initial=0), 1))
        clamped = np.zeros((B, c.n_units), dtype=np.bool_)
        clamped[:, c.input_off : c.input_off + c.input_n] = True
        return BatchScratch(
            np.empty((B, c.n_units), dtype=wdt),
            clamped,
            np.empty(2 * B * max_post, dtype=wdt),
            np.empty(max_w, dtype=wdt),
            np.empty(max_post, dtype=wdt),
            np.empty(max_post, dtype=wdt),
            np.empty(max_post, dtype=wdt),
            np.empty(max_post, dtype=wdt),
            np.empty((B, c.n_units), dtype=wdt),
            np.full(len(c.proj_names), -1, dtype=np.int64),
            np.full(self.state.hist.shape[0], -1, dtype=np.int64),
            np.zeros(1),
        )

    def run(
        self, drive: Drive, record_every: int = 0, record_units: np.ndarray | None = None
    ) -> RunResult:
        refuse_recording(record_every)
        c, s = self.comp, self.state
        rd = rounds(c, drive, self.batch)
        labels = rd.labels if rd.labels is not None else np.zeros((*rd.active.shape, 0))
        diagonal = diagonal_projections(c, s.w, bool(drive.learn))
        bd = BatchDrive(
            np.ascontiguousarray(rd.stim, dtype=np.float64),
            np.ascontiguousarray(labels, dtype=np.float64),
            rd.active,
            rd.noise,
            self._step_open,
            bool(drive.clamp),
            bool(drive.learn),
            int(c.present_steps),
            int(c.steps_per_presentation),
            int(c.readout_win[0]),
            int(c.readout_win[1]),
            int(drive.frames),
            int(c.label_steps),
            not bool(np.isfinite(rd.stim).all()),
            diagonal,
            self._segments,
            held_projections(c, diagonal) & self.hold,
            self._touches,
        )
        means = np.zeros((*rd.active.shape, c.n_units))
        rules = rule_rows(c, self._lowered)  # the step factors as they are now
        scr = self._scratch()
        with blas_controller().limit(limits=self.threads, user_api="blas"):
            status, t, unit = run_batched(
                state_arrays(s), s.t, self._units, self._projs, self._traces, rules, bd, scr, means
            )
        self.product_flops += float(scr.flops[0])
        s.t = int(t)
        if status != 0:
            raise self._divergence(s.t, int(unit))
        means /= c.readout_win[1] - c.readout_win[0]
        return RunResult(means=unround(c, means, rd.index, drive.n_presentations))
