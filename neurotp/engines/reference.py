"""The reference engine: plain NumPy, one step at a time, written to be obviously right.

It is the ground truth the other engines are tested against. Each step of simulated time:

1. clamp: input units take the stimulus frame of this step (0 during the gap); label units
   take the label when clamped (training, from ``protocol.label_delay`` after onset to the end
   of the presentation), otherwise they run free;
2. write r(t) into the ring buffer ``hist[t % L]``;
3. input current of each projection: W · r_pre(t − d) (read from the ring buffer), plus bias
   and σ·ξ(t); then each compartment's nudge of its soma, gain·(a(t) − ā(t)) (ā the
   compartment's ``rest`` trace; gain·a(t) without one);
4. plasticity: every open rule adds lr·dt·term to its weights, in declaration order;
5. traces: x̄ += dt/τ_trace · (r(t − delay) − x̄);
6. rates of free units: r += dt/τ · (−r + φ(I));
7. stop with :class:`DivergenceError` if a rate is not finite.
"""

from __future__ import annotations

import numpy as np

from neurotp.circuit.activations import ACTIVATION_CODES, activation
from neurotp.circuit.compiled import Compiled, State
from neurotp.circuit.protocol import Drive
from neurotp.circuit.rules import OJA, SRC_PRE, SRC_RATE, post_slope
from neurotp.engines.base import Engine, RunResult

_PHI = {code: activation(name) for name, code in ACTIVATION_CODES.items()}


class ReferenceEngine(Engine):
    name = "reference"

    def __init__(self, comp: Compiled, dtype: type = np.float64, state: State | None = None):
        if np.dtype(dtype) != np.float64:
            raise ValueError("dtype: the reference engine runs float64 only; allowed: float64")
        super().__init__(comp, dtype, state)

    # ---- one step ------------------------------------------------------------------------
    def _step(self, stim_row, label_row, clamp, noise_row, open_rules) -> None:
        c, s = self.comp, self.state
        r = s.r
        L = c.hist_len
        inp = slice(c.input_off, c.input_off + c.input_n)
        r[inp] = stim_row
        clamped = np.zeros(c.n_units, dtype=bool)
        clamped[inp] = True
        if clamp and label_row is not None:
            lab = slice(c.label_off, c.label_off + c.label_n)
            r[lab] = label_row
            clamped[lab] = True

        s.hist[s.t % L] = r

        def delayed(off: int, n: int, d: int) -> np.ndarray:
            return s.hist[(s.t - d) % L, off : off + n]

        current = s.b.copy()
        for p in range(len(c.proj_names)):
            x = delayed(c.proj_pre_off[p], c.proj_pre_n[p], c.proj_delay[p])
            w = self._matrix(p)
            post = slice(c.proj_post_off[p], c.proj_post_off[p] + c.proj_post_n[p])
            current[post] += w @ x
        current[c.noise_idx] += c.unit_sigma[c.noise_idx] * noise_row
        for q in range(len(c.cpl_dst)):
            n, src, dst = int(c.cpl_n[q]), int(c.cpl_src[q]), int(c.cpl_dst[q])
            nudge = r[src : src + n]
            if c.cpl_rest[q] >= 0:
                nudge = nudge - s.tr[c.cpl_rest[q] : c.cpl_rest[q] + n]
            current[dst : dst + n] += c.cpl_gain[q] * nudge

        for k in np.nonzero(open_rules)[0]:
            self._apply_rule(int(k), delayed)

        for i in range(len(c.trace_names)):
            src = delayed(c.tr_src_off[i], c.tr_n[i], c.tr_delay[i])
            tr = s.tr[c.tr_off[i] : c.tr_off[i] + c.tr_n[i]]
            tr += c.tr_alpha[i] * (src - tr)

        phi = np.empty(c.n_units)
        for code, f in _PHI.items():
            m = c.unit_act == code
            phi[m] = f(current[m])
        new = r + c.unit_alpha * (-r + phi)
        r[~clamped] = new[~clamped]
        s.t += 1
        bad = ~np.isfinite(r)
        if bad.any():
            raise self._divergence(s.t, int(np.nonzero(bad)[0][0]))

    def _matrix(self, p: int) -> np.ndarray:
        c = self.comp
        n = int(c.proj_post_n[p] * c.proj_pre_n[p])
        off = int(c.proj_w_off[p])
        return self.state.w[off : off + n].reshape(int(c.proj_post_n[p]), int(c.proj_pre_n[p]))

    def _apply_rule(self, k: int, delayed) -> None:
        """Rule k of the table: the general element-wise form (neurotp.circuit.rules) or
        Oja's subspace rule, then the bounds."""
        c, s, rt = self.comp, self.state, self.comp.rules
        p = int(rt.proj[k])
        w = self._matrix(p)
        x = delayed(c.proj_pre_off[p], c.proj_pre_n[p], c.proj_delay[p])
        n_post = int(c.proj_post_n[p])
        post = slice(c.proj_post_off[p], c.proj_post_off[p] + n_post)
        eta = rt.eta[k]
        if rt.form[k] == OJA:  # p (x - W^T p)
            y = s.r[post]
            w += eta * np.outer(y, x - w.T @ y)
        else:

            def signal(src: int, off: int, n: int) -> np.ndarray:
                if src == SRC_PRE:
                    return x
                return (s.r if src == SRC_RATE else s.tr)[off : off + n]

            plus = np.zeros(n_post)
            for q in range(rt.term_ptr[k], rt.term_ptr[k + 1]):
                plus += rt.term_coef[q] * signal(rt.term_src[q], rt.term_off[q], n_post)
            minus = rt.neg_coef[k] * signal(rt.neg_src[k], rt.neg_off[k], n_post)
            if rt.slope_off[k] >= 0:  # post_slope: the post units' own φ′(p)
                g = post_slope(rt, k, s.r, n_post)
                plus, minus = g * plus, g * minus
            n_pre = len(x)
            a = signal(rt.a_src[k], rt.a_off[k], n_pre)
            b = signal(rt.b_src[k], rt.b_off[k], n_pre)
            if rt.same_pre[k]:  # a = b: one rank-one update
                w += eta * np.outer(plus - minus, a)
            else:
                w += eta * (np.outer(plus, a) - np.outer(minus, b))
            if rt.bias[k]:
                s.b[post] += eta * (plus - minus)
        if np.isfinite(rt.lo[k]) or np.isfinite(rt.hi[k]):
            np.clip(w, rt.lo[k], rt.hi[k], out=w)

    # ---- a drive: a run of presentations--------------------------------------------------------
    def run(
        self, drive: Drive, record_every: int = 0, record_units: np.ndarray | None = None
    ) -> RunResult:
        c = self.comp
        means = np.zeros((drive.n_presentations, c.n_units))
        r0, r1 = c.readout_win
        records: list[np.ndarray] = []
        step_open = c.rules_active(np.arange(c.steps_per_presentation))
        with np.errstate(over="ignore", invalid="ignore"):
            self._run_steps(drive, means, records, step_open, record_every, record_units)
        means /= r1 - r0
        rec = np.array(records) if record_every else None
        return RunResult(means=means, record=rec)

    def _run_steps(self, drive, means, records, step_open, record_every, record_units) -> None:
        c = self.comp
        spp = c.steps_per_presentation
        r0, r1 = c.readout_win
        zero_in = np.zeros(c.input_n)
        closed = np.zeros(len(c.rule_names), dtype=bool)
        g = 0
        for i in range(drive.n_presentations):
            label_row = None if drive.labels is None else drive.labels[i]
            for k in range(spp):
                presenting = k < c.present_steps
                self._step(
                    drive.frame(i, k, c.present_steps) if presenting else zero_in,
                    label_row,
                    drive.clamp and presenting and k >= c.label_steps,
                    drive.noise[g],
                    step_open[k] if (drive.learn and presenting) else closed,
                )
                # the rate after the step is r(t+1); readout windows count post-step rates
                if r0 <= k < r1:
                    means[i] += self.state.r
                if record_every and (g % record_every == 0):
                    units = record_units if record_units is not None else slice(None)
                    records.append(self.state.r[units].copy())
                g += 1
