"""The step loop: :func:`run_drive` runs a drive (a chunk of presentations), step by step,
on the engine's state arrays. The step is the one documented in
:mod:`neurotp.engines.reference`, with two optimisations (``docs/engines.md``):

- a projection whose weight block no other projection reads (no ``tie``) and whose rules are
  all element-wise (not Oja's) computes its current and applies its one open rule in a single
  pass over the matrix (:func:`project`); the result is the same, because each weight is read
  for the current before it is updated and no other projection reads it in this step;
- delay blocks (:mod:`neurotp.engines.numba.blocks`): a projection whose delay is at least K
  steps touches its weights once per K steps.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from neurotp.engines.numba.blocks import block_flush, block_start, block_step
from neurotp.engines.numba.plasticity import apply_rule, fill_rows, pre_signal
from neurotp.engines.numba.rows import matrix, phi, rows_dot, rows_dot_update


@njit(cache=True)
def project(st, scratch, t, k, p, learning, projs, traces, rules, step_open):
    """The current of projection p (not blocked) at step t (step k of a presentation), with its
    open rules: in one pass over the matrix if it is fused and one unbounded rule whose
    second pre signal is x is open; else the current first, then each open rule in
    declaration order (element by element the sequence of the reference). Rules of
    projections that are not fused wait until the noise is in (:func:`late_rules`)."""
    hist = st.hist
    row = (t - projs.delay[p]) % hist.shape[0]
    pre_off = projs.pre_off[p]
    pre_n = projs.pre_n[p]
    post_off = projs.post_off[p]
    post_n = projs.post_n[p]
    x = hist[row, pre_off : pre_off + pre_n]
    W = matrix(st.w, projs.w_off[p], post_n, pre_n)
    cur = scratch.cur
    n_rules = rules.proj.shape[0]
    n_open = 0
    only = -1
    if learning and projs.fused[p]:
        for kr in range(n_rules):
            if rules.proj[kr] == p and step_open[k, kr]:
                n_open += 1
                only = kr
    if n_open == 0:
        rows_dot(W, x, cur, post_off)
        return
    if (
        n_open == 1
        and rules.lo[only] == -np.inf
        and rules.hi[only] == np.inf
        and rules.bv_tr[only] < 0
    ):
        # the common case: one unbounded rule, one pass over the matrix
        ca, cb, db = scratch.ca, scratch.cb, scratch.db
        fill_rows(only, rules, st.r, st.tr, post_n, ca, cb, db)
        av = pre_signal(rules.av_tr[only], traces, st.tr, x, pre_n)
        eta = rules.eta[only]
        rows_dot_update(W, x, av, ca, cb, eta, cur, post_off)
        if rules.bias[only]:
            b = st.b
            for a in range(post_n):
                b[post_off + a] += eta * db[a]
        return
    rows_dot(W, x, cur, post_off)
    for kr in range(n_rules):
        if rules.proj[kr] == p and step_open[k, kr]:
            apply_rule(kr, st, p, x, projs, traces, rules, scratch)


@njit(cache=True)
def late_rules(st, scratch, t, k, projs, traces, rules, step_open):
    """The open rules of projections that are not fused (tied, Oja's), in declaration order,
    after every current of the step is in."""
    L = st.hist.shape[0]
    for kr in range(rules.proj.shape[0]):
        p = rules.proj[kr]
        if projs.fused[p] or not step_open[k, kr]:
            continue
        row = (t - projs.delay[p]) % L
        pre_off = projs.pre_off[p]
        x = st.hist[row, pre_off : pre_off + projs.pre_n[p]]
        apply_rule(kr, st, p, x, projs, traces, rules, scratch)


@njit(cache=True)
def run_drive(st, t0, units, projs, traces, rules, drive, blk, scratch, out):
    """Run the ``drive.stim.shape[0] // drive.frames`` presentations of a drive from step
    ``t0``. Returns (status, t, unit): status 0 ok, 1 diverged at step t in unit ``unit``.
    The arrays of ``st`` are updated in place; pending delay-block updates reach the weights
    whether the drive ended or diverged."""
    r, hist, tr, b = st.r, st.hist, st.tr, st.b
    cur, clamped = scratch.cur, scratch.clamped
    stim, labels, noise, step_open = drive.stim, drive.labels, drive.noise, drive.step_open
    spp, present_steps = drive.spp, drive.present_steps
    means, rec, record_units = out.means, out.rec, out.record_units
    input_off, input_n = units.input_off, units.input_n
    label_off, label_n = units.label_off, units.label_n
    act, alpha, sigma, noise_idx = units.act, units.alpha, units.sigma, units.noise_idx
    tr_off, tr_src_off, tr_n, tr_alpha, tr_delay = (
        traces.off,
        traces.src_off,
        traces.n,
        traces.alpha,
        traces.delay,
    )
    block_k = projs.block_k
    n_units = r.shape[0]
    L = hist.shape[0]
    n_proj = projs.pre_off.shape[0]
    n_tr = tr_off.shape[0]
    n_noisy = noise_idx.shape[0]
    n_blk = 0
    for p in range(n_proj):
        if block_k[p] >= 2:
            n_blk += 1
    zero = np.zeros(1, dtype=st.w.dtype)[0]
    t = t0
    g = 0
    n_rec = 0
    frames = drive.frames
    n_pres = stim.shape[0] // frames
    cpl_dst, cpl_src, cpl_n, cpl_gain, cpl_rest = (
        units.cpl_dst,
        units.cpl_src,
        units.cpl_n,
        units.cpl_gain,
        units.cpl_rest,
    )
    n_cpl = cpl_dst.shape[0]
    total = n_pres * spp
    bad = -1  # the unit that became NaN/inf, if any
    for i in range(n_pres):
        for k in range(spp):
            presenting = k < present_steps
            row_in = i * frames + (k * frames // present_steps if presenting else 0)
            for u in range(input_n):
                r[input_off + u] = stim[row_in, u] if presenting else 0.0
            lab_on = drive.clamp and presenting and label_n > 0 and k >= drive.label_steps
            for u in range(label_n):
                clamped[label_off + u] = lab_on
                if lab_on:
                    r[label_off + u] = labels[i, u]
            slot = t % L
            for u in range(n_units):
                hist[slot, u] = r[u]
            for u in range(n_units):
                cur[u] = b[u]
            learning = drive.learn and presenting
            # ---- a new delay block: one pass over the blocked projection's weights ----
            if n_blk > 0:
                for p in range(n_proj):
                    if block_k[p] < 2 or g % block_k[p] != 0:
                        continue
                    block_start(st, t, p, min(block_k[p], total - g), projs, traces, blk, zero)
            # ---- currents, fused with element-wise plasticity where allowed ----
            for p in range(n_proj):
                if block_k[p] >= 2:
                    s = g % block_k[p]
                    block_step(st, scratch, blk, s, k, p, learning, projs, rules, step_open)
                else:
                    project(st, scratch, t, k, p, learning, projs, traces, rules, step_open)
            for q in range(n_noisy):
                u = noise_idx[q]
                cur[u] += sigma[u] * noise[g, q]
            # ---- compartments nudge their somata: gain·(a − ā) ----
            for q in range(n_cpl):
                for u in range(cpl_n[q]):
                    nudge = r[cpl_src[q] + u]
                    if cpl_rest[q] >= 0:
                        nudge = nudge - tr[cpl_rest[q] + u]
                    cur[cpl_dst[q] + u] += cpl_gain[q] * nudge
            # ---- plasticity on projections that could not be fused, in declaration order ----
            if learning:
                late_rules(st, scratch, t, k, projs, traces, rules, step_open)
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
                    r[u] = r[u] + alpha[u] * (-r[u] + phi(act[u], cur[u]))
            t += 1
            for u in range(n_units):
                if not np.isfinite(r[u]):
                    bad = u
                    break
            if bad >= 0:
                break
            if drive.rw0 <= k < drive.rw1:
                for u in range(n_units):
                    means[i, u] += r[u]
            if out.record_every > 0 and g % out.record_every == 0:
                for q in range(record_units.shape[0]):
                    rec[n_rec, q] = r[record_units[q]]
                n_rec += 1
            g += 1
        if bad >= 0:
            break
    block_flush(st.w, projs, blk, zero)
    return (1 if bad >= 0 else 0), t, bad
