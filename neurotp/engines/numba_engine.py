"""The Numba rate engine (the fast default): a thin wrapper around
:func:`neurotp.engines.numba_kernels.run_block` that owns the state arrays."""

from __future__ import annotations

import numpy as np

from neurotp.circuit.compiled import Compiled, State
from neurotp.circuit.protocol import Drive
from neurotp.engines.base import BlockResult, Engine
from neurotp.engines.numba_kernels import OJA, run_block


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


class NumbaEngine(Engine):
    name = "numba"

    def __init__(self, comp: Compiled, dtype: type = np.float64, state: State | None = None):
        if np.dtype(dtype) not in (np.float64, np.float32):
            raise ValueError(f"dtype: {np.dtype(dtype)} not supported; allowed: float64, float32")
        super().__init__(comp, dtype, state)
        self._fused = fusable_projections(comp)

    def run(
        self, drive: Drive, record_every: int = 0, record_units: np.ndarray | None = None
    ) -> BlockResult:
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
        return BlockResult(means=means, record=rec if record_every else None)
