"""The Numba rate engine (the fast default): a thin wrapper around
:func:`neurotp.engines.numba_kernels.run_block` that owns the state arrays."""

from __future__ import annotations

import numpy as np

from neurotp.circuit.compiled import Compiled, State
from neurotp.circuit.protocol import Drive
from neurotp.engines.base import Engine, RunResult
from neurotp.engines.numba_kernels import OJA, PREDICTION, run_block


def fusable_projections(comp: Compiled) -> np.ndarray:
    """Projections whose current and rules can share one pass over the weights: their block is
    read by no other projection and none of their rules is Oja's (which needs Wᵀp first)."""
    owners = comp.proj_w_off
    fused = np.ones(len(comp.proj_names), dtype=np.bool_)
    for p in range(len(fused)):
        if np.count_nonzero(owners == owners[p]) > 1:
            fused[p] = False
    for k in range(len(comp.rule_names)):
        if comp.rule_kind[k] == OJA:
            fused[comp.rule_proj[k]] = False
    return fused


MAX_BLOCK_STEPS = 16


def block_plan(
    comp: Compiled, block_steps: int | str | None = "delay"
) -> tuple[np.ndarray, np.ndarray]:
    """Delay blocks: how many steps each projection covers with one pass over its weights.

    A projection whose delay is ``d >= K`` steps receives, during steps t..t+K-1, presynaptic
    rates that were all emitted before t. Its currents over the block are then W(t) x(s) plus
    the contributions of the block's own (rank-one) updates, ``eta ca(s') (xbar(s') . x(s)) -
    eta cb(s') (x(s') . x(s))``, and the weights themselves need one pass per block: apply the
    block's updates and take the next block's products. The numbers are those of the step loop
    up to rounding; the memory traffic over the weights falls K-fold.

    Eligible: fusable (untied, not Oja's), at most one rule and no weight bounds (clipping is
    not a sum of rank-one terms), delay of two steps or more, and a pre trace (prediction rule)
    delayed by at least K - 1 steps. ``block_steps="delay"``: if some eligible projection
    learns, every eligible projection gets K = its delay (at most ``MAX_BLOCK_STEPS``); if none
    learns, no blocks. ``block_steps=K``: every eligible projection with a delay >= K gets K;
    ``1`` (or None) switches delay blocks off.
    Returns (K per projection, 0 where not blocked; the pre-trace index each blocked
    projection reads, or -1).
    """
    n = len(comp.proj_names)
    fused = fusable_projections(comp)
    rules_of: list[list[int]] = [[] for _ in range(n)]
    for k in range(len(comp.rule_names)):
        rules_of[int(comp.rule_proj[k])].append(k)
    pre_tr = np.full(n, -1, dtype=np.int64)
    cand = np.zeros(n, dtype=np.bool_)
    for p in range(n):
        ks = rules_of[p]
        if not fused[p] or len(ks) > 1 or comp.proj_delay[p] < 2:
            continue
        if ks and (np.isfinite(comp.rule_lo[ks[0]]) or np.isfinite(comp.rule_hi[ks[0]])):
            continue
        if ks and comp.rule_kind[ks[0]] == PREDICTION:
            pre_tr[p] = comp.rule_trace[ks[0]]
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


class NumbaEngine(Engine):
    """Numba rate engine.

    ``block_steps`` sets the delay blocks (:func:`block_plan`; ``block_k`` holds the steps per
    block of each projection, 0 where not blocked): ``"delay"`` (the default, measured faster
    than the step loop in both dtypes, ``docs/engines.md``) gives each eligible projection its
    delay, an int K a common K, 1 (or None) the plain step loop.
    The engine runs on one thread (``docs/engines.md`` says why).
    """

    name = "numba"

    def __init__(
        self,
        comp: Compiled,
        dtype: type = np.float64,
        state: State | None = None,
        block_steps: int | str | None = "delay",
    ):
        if np.dtype(dtype) not in (np.float64, np.float32):
            raise ValueError(f"dtype: {np.dtype(dtype)} not supported; allowed: float64, float32")
        super().__init__(comp, dtype, state)
        self._fused = fusable_projections(comp)
        self.block_k, self._block_tr = block_plan(comp, block_steps)

    def run(
        self, drive: Drive, record_every: int = 0, record_units: np.ndarray | None = None
    ) -> RunResult:
        c, s = self.comp, self.state
        spp = c.steps_per_presentation
        n_pres = drive.n_presentations
        step_open = c.rules_active(np.arange(spp))
        means = np.zeros((n_pres, c.n_units), dtype=np.float64)
        units = (
            np.arange(c.n_units, dtype=np.int64)
            if record_units is None
            else np.asarray(record_units, dtype=np.int64)
        )
        n_rec = (n_pres * spp + record_every - 1) // record_every if record_every else 0
        rec = np.zeros((n_rec, len(units)), dtype=np.float64)
        labels = drive.labels if drive.labels is not None else np.zeros((n_pres, 0))
        noise = np.ascontiguousarray(drive.noise, dtype=np.float64)
        if noise.shape[1] == 0:
            noise = np.zeros((n_pres * spp, 0))
        status, t, unit = run_block(
            s.r,
            s.hist,
            s.tr,
            s.w,
            s.b,
            s.t,
            c.unit_act,
            c.unit_alpha,
            c.unit_sigma,
            c.noise_idx,
            c.input_off,
            c.input_n,
            max(c.label_off, 0),
            c.label_n,
            c.proj_pre_off,
            c.proj_pre_n,
            c.proj_post_off,
            c.proj_post_n,
            c.proj_delay,
            c.proj_w_off,
            self._fused,
            self.block_k,
            self._block_tr,
            c.tr_off,
            c.tr_src_off,
            c.tr_n,
            c.tr_alpha,
            c.tr_delay,
            c.rule_kind,
            c.rule_proj,
            c.rule_eta,
            c.rule_bias,
            c.rule_lo,
            c.rule_hi,
            c.rule_trace,
            c.tgt_ptr,
            c.tgt_off,
            c.tgt_w,
            np.ascontiguousarray(drive.stim, dtype=np.float64),
            np.ascontiguousarray(labels, dtype=np.float64),
            bool(drive.clamp),
            bool(drive.learn),
            noise,
            step_open,
            c.present_steps,
            spp,
            c.readout_win[0],
            c.readout_win[1],
            means,
            int(record_every),
            units,
            rec,
        )
        s.t = int(t)
        if status != 0:
            raise self._divergence(s.t, int(unit))
        means /= c.readout_win[1] - c.readout_win[0]
        return RunResult(means=means, record=rec if record_every else None)
