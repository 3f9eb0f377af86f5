"""Engine-side tables: the compiled circuit as NamedTuples of arrays, for the kernels.

Built once per engine from a :class:`~neurotp.circuit.compiled.Compiled` (the rules' step
factors ``eta`` excepted: :func:`rule_rows` is called at every drive, because ``Simulation``
rescales ``comp.rules.eta`` in place after each epoch). Numba takes a NamedTuple of arrays
as one argument, so each kernel gets a few of these instead of dozens of arrays.

**Lowering the general rule form.** A rule of :mod:`neurotp.circuit.rules` is, per step,
ΔW = η·(ca ⊗ a − cb ⊗ b) with the row coefficients ca = Σ_q c_q·A_q and cb = c_B·B (one value
per post unit) and the pre-side signals a, b, each the delayed presynaptic rate x or a pre
trace x̄. Every kernel applies the one update W += η·(ca′ ⊗ av − cb′ ⊗ bv), where bv is x
unless a and b are two different traces; :data:`Rules` ``lower[k]`` says how (ca, cb) become
(ca′, cb′) and ``av_tr``/``bv_tr`` which trace av and bv are (−1: x):

- ``LOWER_AB`` — a = x̄, b = x (the prediction rule), or two traces: ca′ = ca, cb′ = cb;
- ``LOWER_SAME_X`` — a = b = x (delta, reconstruction, recirculation): one coefficient
  d = ca − cb, written ca′ = 0, cb′ = −d (the arithmetic the presets always had);
- ``LOWER_SAME_TR`` — a = b = x̄: ca′ = d, cb′ = 0 on av = x̄;
- ``LOWER_SWAP`` — a = x, b = x̄: ca′ = −cb, cb′ = −ca on av = x̄ (the same numbers:
  −cb·x̄ − (−ca)·x rounds as ca·x − cb·x̄).

The bias update is always η·(ca − cb).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from neurotp.circuit.compiled import Compiled, State
from neurotp.circuit.protocol import Drive
from neurotp.circuit.rules import OJA, SRC_PRE

LOWER_AB, LOWER_SAME_X, LOWER_SAME_TR, LOWER_SWAP = 0, 1, 2, 3


def check_dtype(dtype: type) -> None:
    """The Numba engines run float64 or float32 state."""
    if np.dtype(dtype) not in (np.float64, np.float32):
        raise ValueError(f"dtype: {np.dtype(dtype)} not supported; allowed: float64, float32")


class StateArrays(NamedTuple):
    """The engine's state arrays, updated in place by the kernels."""

    r: np.ndarray
    hist: np.ndarray
    tr: np.ndarray
    w: np.ndarray
    b: np.ndarray


class Units(NamedTuple):
    """Per unit: activation code, dt/τ, noise σ; the noisy units; the clamped populations;
    the compartment couplings (``Compiled.cpl_*``)."""

    act: np.ndarray
    alpha: np.ndarray
    sigma: np.ndarray
    noise_idx: np.ndarray
    input_off: int
    input_n: int
    label_off: int
    label_n: int
    cpl_dst: np.ndarray
    cpl_src: np.ndarray
    cpl_n: np.ndarray
    cpl_gain: np.ndarray
    cpl_rest: np.ndarray


class Projections(NamedTuple):
    """Per projection: layout, delay, weight offset; ``fused``: current and rules in one pass
    (:func:`fusable_projections`); ``block_k``/``block_tr``: the delay-block plan
    (:func:`neurotp.engines.numba.blocks.block_plan`)."""

    pre_off: np.ndarray
    pre_n: np.ndarray
    post_off: np.ndarray
    post_n: np.ndarray
    delay: np.ndarray
    w_off: np.ndarray
    fused: np.ndarray
    block_k: np.ndarray
    block_tr: np.ndarray


class Traces(NamedTuple):
    """Per trace: offset in the trace vector, source offset in the rates, size, dt/τ, delay."""

    off: np.ndarray
    src_off: np.ndarray
    n: np.ndarray
    alpha: np.ndarray
    delay: np.ndarray


class Rules(NamedTuple):
    """The rule table lowered for the kernels (module docstring): the post-side terms as in
    :class:`neurotp.circuit.rules.RuleTable`, ``lower``, ``av_tr``, ``bv_tr``."""

    form: np.ndarray
    proj: np.ndarray
    eta: np.ndarray
    bias: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    term_ptr: np.ndarray
    term_coef: np.ndarray
    term_src: np.ndarray
    term_off: np.ndarray
    neg_coef: np.ndarray
    neg_src: np.ndarray
    neg_off: np.ndarray
    lower: np.ndarray
    av_tr: np.ndarray
    bv_tr: np.ndarray
    slope_off: np.ndarray
    slope_act: np.ndarray


class DriveArrays(NamedTuple):
    """A drive as the step loop reads it; ``step_open[k, j]``: rule j open at step k of a
    presentation; readout window ``rw0 <= k < rw1``."""

    stim: np.ndarray
    labels: np.ndarray
    noise: np.ndarray
    step_open: np.ndarray
    clamp: bool
    learn: bool
    present_steps: int
    spp: int
    rw0: int
    rw1: int
    frames: int
    label_steps: int


class Outputs(NamedTuple):
    """Where a drive writes: mean rates per presentation, the decimated recording."""

    means: np.ndarray
    record_every: int
    record_units: np.ndarray
    rec: np.ndarray


class Scratch(NamedTuple):
    """Per-step work arrays: currents, a rule's row coefficients, which units are clamped."""

    cur: np.ndarray
    ca: np.ndarray
    cb: np.ndarray
    db: np.ndarray
    clamped: np.ndarray


def _i64(a) -> np.ndarray:
    return np.ascontiguousarray(a, dtype=np.int64)


def _f64(a) -> np.ndarray:
    return np.ascontiguousarray(a, dtype=np.float64)


def state_arrays(s: State) -> StateArrays:
    return StateArrays(s.r, s.hist, s.tr, s.w, s.b)


def unit_table(comp: Compiled) -> Units:
    return Units(
        _i64(comp.unit_act),
        _f64(comp.unit_alpha),
        _f64(comp.unit_sigma),
        _i64(comp.noise_idx),
        int(comp.input_off),
        int(comp.input_n),
        max(int(comp.label_off), 0),
        int(comp.label_n),
        _i64(comp.cpl_dst),
        _i64(comp.cpl_src),
        _i64(comp.cpl_n),
        _f64(comp.cpl_gain),
        _i64(comp.cpl_rest),
    )


def fusable_projections(comp: Compiled) -> np.ndarray:
    """Projections whose current and rules can share one pass over the weights: their block is
    read by no other projection and none of their rules is Oja's (which needs Wᵀp first)."""
    owners = comp.proj_w_off
    fused = np.ones(len(comp.proj_names), dtype=np.bool_)
    for p in range(len(fused)):
        if np.count_nonzero(owners == owners[p]) > 1:
            fused[p] = False
    rt = comp.rules
    fused[rt.proj[rt.form == OJA]] = False
    return fused


def projection_table(comp: Compiled, block_k: np.ndarray, block_tr: np.ndarray) -> Projections:
    return Projections(
        _i64(comp.proj_pre_off),
        _i64(comp.proj_pre_n),
        _i64(comp.proj_post_off),
        _i64(comp.proj_post_n),
        _i64(comp.proj_delay),
        _i64(comp.proj_w_off),
        fusable_projections(comp),
        _i64(block_k),
        _i64(block_tr),
    )


def trace_table(comp: Compiled) -> Traces:
    return Traces(
        _i64(comp.tr_off),
        _i64(comp.tr_src_off),
        _i64(comp.tr_n),
        _f64(comp.tr_alpha),
        _i64(comp.tr_delay),
    )


def _trace_at(comp: Compiled, src: int, off: int) -> int:
    """Trace index of a pre-side signal (−1: the delayed pre rate x)."""
    if src == SRC_PRE:
        return -1
    return int(np.nonzero(comp.tr_off == off)[0][0])


def lowering(comp: Compiled) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(``lower``, ``av_tr``, ``bv_tr``) of every rule (module docstring); Oja's rules get
    ``LOWER_AB`` and −1 (they read x only)."""
    rt = comp.rules
    n = len(rt.form)
    lower = np.full(n, LOWER_AB, dtype=np.int64)
    av_tr = np.full(n, -1, dtype=np.int64)
    bv_tr = np.full(n, -1, dtype=np.int64)
    for k in range(n):
        if rt.form[k] == OJA:
            continue
        ta = _trace_at(comp, int(rt.a_src[k]), int(rt.a_off[k]))
        tb = _trace_at(comp, int(rt.b_src[k]), int(rt.b_off[k]))
        if rt.same_pre[k]:
            lower[k] = LOWER_SAME_X if ta < 0 else LOWER_SAME_TR
            av_tr[k] = ta
        elif tb < 0:  # a = x̄, b = x
            av_tr[k] = ta
        elif ta < 0:  # a = x, b = x̄
            lower[k] = LOWER_SWAP
            av_tr[k] = tb
        else:  # two different traces
            av_tr[k], bv_tr[k] = ta, tb
    return lower, av_tr, bv_tr


def rule_rows(comp: Compiled, lowered: tuple[np.ndarray, np.ndarray, np.ndarray]) -> Rules:
    """The kernels' rule table with the step factors ``comp.rules.eta`` as they are now."""
    rt = comp.rules
    lower, av_tr, bv_tr = lowered
    return Rules(
        _i64(rt.form),
        _i64(rt.proj),
        _f64(rt.eta),
        np.ascontiguousarray(rt.bias, dtype=np.bool_),
        _f64(rt.lo),
        _f64(rt.hi),
        _i64(rt.term_ptr),
        _f64(rt.term_coef),
        _i64(rt.term_src),
        _i64(rt.term_off),
        _f64(rt.neg_coef),
        _i64(rt.neg_src),
        _i64(rt.neg_off),
        lower,
        av_tr,
        bv_tr,
        _i64(rt.slope_off),
        _i64(rt.slope_act),
    )


def rules_open(comp: Compiled) -> np.ndarray:
    """(steps per presentation, rules) bool: which rules are open at each step."""
    s = np.arange(comp.steps_per_presentation)[:, None]
    win = comp.rules.win
    return (s >= win[None, :, 0]) & (s < win[None, :, 1])


def drive_arrays(comp: Compiled, drive: Drive, step_open: np.ndarray) -> DriveArrays:
    n_pres = drive.n_presentations
    spp = comp.steps_per_presentation
    labels = drive.labels if drive.labels is not None else np.zeros((n_pres, 0))
    noise = _f64(drive.noise)
    if noise.shape[1] == 0:
        noise = np.zeros((n_pres * spp, 0))
    return DriveArrays(
        _f64(drive.stim),
        _f64(labels),
        noise,
        step_open,
        bool(drive.clamp),
        bool(drive.learn),
        int(comp.present_steps),
        int(spp),
        int(comp.readout_win[0]),
        int(comp.readout_win[1]),
        int(drive.frames),
        int(comp.label_steps),
    )


def scratch(comp: Compiled) -> Scratch:
    n = comp.n_units
    clamped = np.zeros(n, dtype=np.bool_)
    clamped[comp.input_off : comp.input_off + comp.input_n] = True
    return Scratch(np.empty(n), np.empty(n), np.empty(n), np.empty(n), clamped)
