"""The batched Numba engine's per-drive plan: which projections skip work, and the products
a step does (:mod:`neurotp.engines.numba.batched`).

- **Diagonal wirings** (:func:`diagonal_projections`): an identity-like projection that no rule
  changes is d ⊙ x, not a GEMM.
- **Held input currents** (:func:`held_projections`, :func:`rule_touches`): a projection from
  the clamped input population that is the first current into its post population holds its
  product (with the bias it starts from) between steps, and takes it again, instead of a new
  GEMM, while the delayed input rates it reads, its weights and its post population's bias
  are what they were when it was taken. The input rates change only with the stimulus frame,
  and the weights only while a rule on them is open, so in ``fmnist_tp`` the 784×64 product
  is taken at 11 of a presentation's 40 steps. The numbers are those of a new GEMM, bit for
  bit: the same call on the same operands, copied (tested against the plan with holding off).
- **Products** (:func:`step_flops`, :func:`presentation_flops`): the floating-point operations
  of every product of a step, none held; the engine counts the ones it does
  (``BatchedNumbaEngine.product_flops``).
"""

from __future__ import annotations

import numpy as np

from neurotp.circuit.compiled import Compiled
from neurotp.engines.numba.tables import LOWER_SAME_TR, LOWER_SAME_X, lowering, rules_open


def diagonal_projections(comp: Compiled, w: np.ndarray, learn: bool) -> np.ndarray:
    """Per projection: True when its current is computed element-wise, d ⊙ x, instead of by
    a GEMM: a square matrix that is zero off its diagonal (an identity wiring such as
    ``fmnist_tp``'s HHT, GHT, SHT) and that no rule of the drive changes (no rule on its
    weight block, tied projections included; any when ``learn`` is False). The numbers are
    the GEMM's: the zeros add exact zeros to every sum (the rates are finite, or the run has
    stopped)."""
    pre_n, post_n, w_off = comp.proj_pre_n, comp.proj_post_n, comp.proj_w_off
    learned = {int(w_off[p]) for p in comp.rules.proj} if learn else set()
    out = np.zeros(len(comp.proj_names), dtype=np.bool_)
    for p in range(len(out)):
        n = int(pre_n[p])
        if n != int(post_n[p]) or int(w_off[p]) in learned:
            continue
        m = w[int(w_off[p]) : int(w_off[p]) + n * n].reshape(n, n)
        out[p] = not np.any(m - np.diag(np.diag(m)))
    return out


def step_flops(
    comp: Compiled, batch: int, diagonal: np.ndarray | None = None
) -> tuple[float, np.ndarray]:
    """Floating-point operations of a batched step's products: (the currents of every
    projection, each rule's update when it is open). A ``diagonal`` projection
    (:func:`diagonal_projections`) counts the 2·B·n operations it does, not a GEMM's."""
    pre, post = comp.proj_pre_n.astype(float), comp.proj_post_n.astype(float)
    work = pre * post
    if diagonal is not None:
        work = np.where(diagonal, pre, work)
    cur = float(2 * batch * np.sum(work))
    lowered = lowering(comp)[0]
    rule = np.zeros(len(comp.rule_names))
    for k, p in enumerate(comp.rules.proj):
        rows = batch if lowered[k] in (LOWER_SAME_X, LOWER_SAME_TR) else 2 * batch
        rule[k] = 2.0 * rows * pre[p] * post[p]
    return cur, rule


def presentation_flops(comp: Compiled, batch: int, diagonal: np.ndarray | None = None) -> float:
    """Floating-point operations of the products of one round of B training presentations
    (each rule counted at the steps its window is open; ``diagonal`` as :func:`step_flops`)."""
    cur, rule = step_flops(comp, batch, diagonal)
    open_steps = rules_open(comp)[: comp.present_steps].sum(axis=0)
    return cur * comp.steps_per_presentation + float(np.dot(rule, open_steps))


def held_projections(comp: Compiled, diagonal: np.ndarray) -> np.ndarray:
    """Per projection: True when its current may be held between steps (module docstring): a
    GEMM (not ``diagonal``) whose presynaptic units all lie in the clamped input population
    and that is the first projection, in step order, onto any of its postsynaptic units (so
    the current it adds to starts from the bias alone)."""
    pre_off, pre_n = comp.proj_pre_off, comp.proj_pre_n
    post_off, post_n = comp.proj_post_off, comp.proj_post_n
    i0, i1 = int(comp.input_off), int(comp.input_off + comp.input_n)
    out = np.zeros(len(comp.proj_names), dtype=np.bool_)
    for p in range(len(out)):
        if diagonal[p] or int(pre_n[p]) == 0 or int(post_n[p]) == 0:
            continue
        if not (i0 <= int(pre_off[p]) and int(pre_off[p] + pre_n[p]) <= i1):
            continue
        a0, a1 = int(post_off[p]), int(post_off[p] + post_n[p])
        earlier = any(int(post_off[q]) < a1 and a0 < int(post_off[q] + post_n[q]) for q in range(p))
        out[p] = not earlier
    return out


def rule_touches(comp: Compiled) -> np.ndarray:
    """(rules, projections) bool: rule k changes what projection p's held current was taken
    from: p's weight block (its own or a tied one's) or, when the rule learns a bias, the bias
    of any of p's postsynaptic units."""
    w_off = comp.proj_w_off
    post_off, post_n = comp.proj_post_off, comp.proj_post_n
    n_rules, n_proj = len(comp.rule_names), len(comp.proj_names)
    out = np.zeros((n_rules, n_proj), dtype=np.bool_)
    for k in range(n_rules):
        r = int(comp.rules.proj[k])
        b0, b1 = int(post_off[r]), int(post_off[r] + post_n[r])
        for p in range(n_proj):
            same_w = int(w_off[p]) == int(w_off[r])
            a0, a1 = int(post_off[p]), int(post_off[p] + post_n[p])
            bias = bool(comp.rules.bias[k]) and b0 < a1 and a0 < b1
            out[k, p] = same_w or bias
    return out
