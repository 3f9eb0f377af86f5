"""The batched reference engine: B copies of the circuit, the obviously right loop.

The step of :mod:`neurotp.engines.reference`, with every per-unit array carrying a leading
copy axis (rates ``r`` (B, N), ring buffer ``hist`` (L, B, N), traces (B, M)) and the
weights and biases shared (:mod:`neurotp.engines.batching` says how samples reach copies).
Plasticity: for each open rule, in declaration order, every copy with a sample computes the
update the single-copy reference would make from its own rates and traces, one copy at a
time, and their mean (over the copies with a sample) is added to the shared weights (then
the bounds). It is the ground truth
the batched Numba engine is tested against; it is slow on purpose.
"""

from __future__ import annotations

import numpy as np

from neurotp.circuit.activations import ACTIVATION_CODES, activation
from neurotp.circuit.compiled import Compiled, State
from neurotp.circuit.protocol import Drive
from neurotp.circuit.rules import OJA, SRC_PRE, SRC_RATE, post_slope
from neurotp.engines.base import Engine, RunResult
from neurotp.engines.batching import (
    batch_of,
    batched_state,
    refuse_recording,
    rounds,
    unround,
)

_PHI = {code: activation(name) for name, code in ACTIVATION_CODES.items()}


class BatchedReferenceEngine(Engine):
    """B = ``protocol.batch`` copies of the reference engine sharing their weights."""

    name = "reference"

    def __init__(self, comp: Compiled, dtype: type = np.float64, state: State | None = None):
        if np.dtype(dtype) != np.float64:
            raise ValueError("dtype: the reference engine runs float64 only; allowed: float64")
        self.batch = batch_of(comp)
        if state is None:
            state = batched_state(comp, self.batch, np.float64)
        super().__init__(comp, dtype, state)

    def _matrix(self, p: int) -> np.ndarray:
        c = self.comp
        n = int(c.proj_post_n[p] * c.proj_pre_n[p])
        off = int(c.proj_w_off[p])
        return self.state.w[off : off + n].reshape(int(c.proj_post_n[p]), int(c.proj_pre_n[p]))

    def _delayed(self, off: int, n: int, d: int) -> np.ndarray:
        s = self.state
        return s.hist[(s.t - d) % self.comp.hist_len, :, off : off + n]  # (B, n)

    # ---- one step ----------------------------------------------------------------------
    def _step(self, stim, labels, clamp, noise, open_rules, live) -> None:
        """One step of every copy: ``stim`` (B, n_input), ``labels`` (B, n_label) or None,
        ``clamp`` (B,) bool, ``noise`` (B, n_noisy), ``open_rules`` (R,), ``live`` (B,): the
        copies whose update counts."""
        c, s = self.comp, self.state
        r = s.r
        inp = slice(c.input_off, c.input_off + c.input_n)
        r[:, inp] = stim
        clamped = np.zeros(r.shape, dtype=bool)
        clamped[:, inp] = True
        if labels is not None and clamp.any():
            lab = slice(c.label_off, c.label_off + c.label_n)
            r[clamp, lab] = labels[clamp]
            clamped[clamp, lab] = True

        s.hist[s.t % c.hist_len] = r

        current = np.repeat(s.b[None], self.batch, axis=0)
        for p in range(len(c.proj_names)):
            x = self._delayed(c.proj_pre_off[p], c.proj_pre_n[p], c.proj_delay[p])
            post = slice(c.proj_post_off[p], c.proj_post_off[p] + c.proj_post_n[p])
            current[:, post] += x @ self._matrix(p).T
        current[:, c.noise_idx] += c.unit_sigma[c.noise_idx] * noise
        for q in range(len(c.cpl_dst)):
            n, src, dst = int(c.cpl_n[q]), int(c.cpl_src[q]), int(c.cpl_dst[q])
            nudge = r[:, src : src + n]
            if c.cpl_rest[q] >= 0:
                nudge = nudge - s.tr[:, c.cpl_rest[q] : c.cpl_rest[q] + n]
            current[:, dst : dst + n] += c.cpl_gain[q] * nudge

        for k in np.nonzero(open_rules)[0]:
            self._apply_rule(int(k), live)

        for i in range(len(c.trace_names)):
            src = self._delayed(c.tr_src_off[i], c.tr_n[i], c.tr_delay[i])
            tr = s.tr[:, c.tr_off[i] : c.tr_off[i] + c.tr_n[i]]
            tr += c.tr_alpha[i] * (src - tr)

        phi = np.empty(r.shape)
        for code, f in _PHI.items():
            m = c.unit_act == code
            phi[:, m] = f(current[:, m])
        new = r + c.unit_alpha * (-r + phi)
        r[~clamped] = new[~clamped]
        s.t += 1
        bad = ~np.isfinite(r)
        if bad.any():
            raise self._divergence(s.t, int(np.nonzero(bad.any(axis=0))[0][0]))

    def _apply_rule(self, k: int, live: np.ndarray) -> None:
        """Rule k: the mean over the live copies of each copy's own update, then the bounds."""
        c, s, rt = self.comp, self.state, self.comp.rules
        p = int(rt.proj[k])
        w = self._matrix(p)
        xs = self._delayed(c.proj_pre_off[p], c.proj_pre_n[p], c.proj_delay[p])
        n_post = int(c.proj_post_n[p])
        post = slice(c.proj_post_off[p], c.proj_post_off[p] + n_post)
        eta = rt.eta[k]
        dw = np.zeros_like(w)
        db = np.zeros(n_post)
        for j in np.nonzero(live)[0]:
            x, rj, trj = xs[j], s.r[j], s.tr[j]
            if rt.form[k] == OJA:  # p (x - W^T p), W before this rule's update
                y = rj[post]
                dw += eta * np.outer(y, x - w.T @ y)
                continue

            def signal(src: int, off: int, n: int, x=x, rj=rj, trj=trj) -> np.ndarray:
                if src == SRC_PRE:
                    return x
                return (rj if src == SRC_RATE else trj)[off : off + n]

            plus = np.zeros(n_post)
            for q in range(rt.term_ptr[k], rt.term_ptr[k + 1]):
                plus += rt.term_coef[q] * signal(rt.term_src[q], rt.term_off[q], n_post)
            minus = rt.neg_coef[k] * signal(rt.neg_src[k], rt.neg_off[k], n_post)
            if rt.slope_off[k] >= 0:  # post_slope: this copy's post units' own φ′(p)
                g = post_slope(rt, k, rj, n_post)
                plus, minus = g * plus, g * minus
            a = signal(rt.a_src[k], rt.a_off[k], len(x))
            b = signal(rt.b_src[k], rt.b_off[k], len(x))
            dw += eta * (np.outer(plus, a) - np.outer(minus, b))
            db += eta * (plus - minus)
        n_live = max(int(np.count_nonzero(live)), 1)
        w += dw / n_live
        if rt.form[k] != OJA and rt.bias[k]:
            s.b[post] += db / n_live
        if np.isfinite(rt.lo[k]) or np.isfinite(rt.hi[k]):
            np.clip(w, rt.lo[k], rt.hi[k], out=w)

    # ---- a drive -----------------------------------------------------------------------
    def run(
        self, drive: Drive, record_every: int = 0, record_units: np.ndarray | None = None
    ) -> RunResult:
        refuse_recording(record_every)
        c = self.comp
        rd = rounds(c, drive, self.batch)
        spp = c.steps_per_presentation
        r0, r1 = c.readout_win
        step_open = c.rules_active(np.arange(spp))
        closed = np.zeros(len(c.rule_names), dtype=bool)
        zero_in = np.zeros((self.batch, c.input_n))
        means = np.zeros((*rd.active.shape, c.n_units))
        g = 0
        with np.errstate(over="ignore", invalid="ignore"):
            for q in range(rd.active.shape[0]):
                live = rd.active[q]
                labels = None if rd.labels is None else rd.labels[q]
                for k in range(spp):
                    presenting = k < c.present_steps
                    frame = k * drive.frames // c.present_steps
                    self._step(
                        rd.stim[q, :, frame] if presenting else zero_in,
                        labels,
                        live & (drive.clamp and presenting and k >= c.label_steps),
                        rd.noise[g],
                        step_open[k] if (drive.learn and presenting) else closed,
                        live,
                    )
                    if r0 <= k < r1:
                        means[q] += self.state.r
                    g += 1
        means /= r1 - r0
        return RunResult(means=unround(c, means, rd.index, drive.n_presentations))
