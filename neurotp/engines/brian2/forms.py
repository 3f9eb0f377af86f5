"""A rule's general form as Brian2 code, for both runners.

Every element-wise rule is ΔW = η·(Σₖ cₖ·Aₖ ⊗ a − c_B·B ⊗ b) (:mod:`neurotp.circuit.rules`).
A runner names, once per rule, the Brian2 expression of each factor it reads
(:class:`Factors`: the post-side Aₖ and B as expressions on the group holding the post units,
the pre-side a and b as expressions a synapse reads); :func:`elementwise_code` turns them into

- coefficient code on the post group: ``cp_k = c₀*A₀ + c₁*A₁ + …``, ``cm_k = c_B*B`` and, for
  a rule with a bias, ``db_k = cp_k - cm_k`` (the bias increment per unit of η);
- weight code on the ``Synapses``: ``w = w + g*(cp_k_post*a - cm_k_post*b)`` — or
  ``w = w + g*((cp_k_post - cm_k_post)*a)`` when a and b are one signal — with g the rule's
  gate (lr·dt where the rule applies, 0 elsewhere), then, for a rule with bounds,
  ``w = clip(w, lo, hi)*o + w*(1.0 - o)`` with o = 1 exactly where the rule applies (so a
  closed window, a gap or learning off leave out-of-bounds weights where they are, as in the
  reference engine).

The arithmetic is the reference engine's (``plus = Σ cₖ·Aₖ``, ``eta*(plus⊗a − minus⊗b)``), so a
new element-wise preset needs no change here or in either runner. Oja's rule, which is not
element-wise, has :func:`oja_code`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from neurotp.circuit.activations import ACTIVATION_CODES, SLOPES


def fmt(x: float) -> str:
    """A float as a Brian2 literal that round-trips exactly (parenthesised if negative)."""
    s = repr(float(x))
    return f"({s})" if s.startswith("-") else s


@dataclass(frozen=True)
class Factors:
    """The Brian2 expressions of one element-wise rule's factors.

    ``plus``: (cₖ, Aₖ) per positive term, Aₖ an expression on the post group; ``a``: their
    pre-side factor as a synapse reads it (e.g. ``r_pre``); ``minus_coef``, ``minus`` (B, on
    the post group) and ``b`` (pre side) the negative term; ``same_pre``: a and b are one
    signal (the rule table's ``same_pre``); ``slope``: the post units' φ′(p) that multiplies
    both terms (a rule's ``post_slope``), or None.
    """

    plus: tuple[tuple[float, str], ...]
    a: str
    minus_coef: float
    minus: str
    b: str
    same_pre: bool
    slope: str | None = None


@dataclass(frozen=True)
class RuleCode:
    """Code of one rule: ``coef`` for the post group (defines ``cp_k``, ``cm_k`` and, with a
    bias, ``db_k``), ``weights`` for the rule's ``Synapses``; ``variables``: the post-group
    variables ``coef`` assigns (to declare as ``name : 1``); ``bias``: the name of the bias
    increment variable (``db_k``) or None."""

    coef: str
    weights: str
    variables: tuple[str, ...]
    bias: str | None


def bounds_code(lo: float, hi: float, open_flag: str) -> str:
    """Clip ``w`` to [lo, hi] where ``open_flag`` is 1, leave it where it is where it is 0;
    empty for a rule without bounds (both infinite)."""
    if not (np.isfinite(lo) or np.isfinite(hi)):
        return ""
    lo_s = fmt(lo) if np.isfinite(lo) else "-inf"
    hi_s = fmt(hi) if np.isfinite(hi) else "inf"
    return f"\nw = clip(w, {lo_s}, {hi_s})*{open_flag} + w*(1.0 - {open_flag})"


# φ′ as a function of the rate R, the expressions of neurotp.circuit.activations.SLOPES
SLOPE_CODE = {
    ACTIVATION_CODES["linear"]: "1.0",
    ACTIVATION_CODES["tanh"]: "(1 - {R}**2)",
    ACTIVATION_CODES["sigmoid"]: "({R}*(1 - {R}))",
    ACTIVATION_CODES["relu"]: "int({R} > 0)",
}
assert set(SLOPE_CODE) == {ACTIVATION_CODES[n] for n in SLOPES}, "keep SLOPE_CODE in step"


def slope_code(code: int, rate: str) -> str:
    """φ′ of activation ``code`` at the rate expression ``rate`` (a rule's ``post_slope``)."""
    return SLOPE_CODE[code].format(R=rate)


def elementwise_code(
    k: int, f: Factors, gate: str, open_flag: str, lo: float, hi: float, bias: bool
) -> RuleCode:
    """The Brian2 code of element-wise rule ``k`` (see the module docstring)."""
    cp, cm = f"cp_{k}", f"cm_{k}"
    plus = " + ".join(f"{fmt(c)}*{expr}" for c, expr in f.plus)
    minus = f"{fmt(f.minus_coef)}*{f.minus}"
    if f.slope is not None:
        plus, minus = f"{f.slope}*({plus})", f"{f.slope}*{minus}"
    lines = [f"{cp} = {plus}", f"{cm} = {minus}"]
    variables = [cp, cm]
    db = None
    if bias:
        db = f"db_{k}"
        lines.append(f"{db} = {cp} - {cm}")
        variables.append(db)
    if f.same_pre:
        delta = f"({cp}_post - {cm}_post)*{f.a}"
    else:
        delta = f"{cp}_post*{f.a} - {cm}_post*{f.b}"
    weights = f"w = w + {gate}*({delta})" + bounds_code(lo, hi, open_flag)
    return RuleCode("\n".join(lines), weights, tuple(variables), db)


def oja_code(k: int, gate: str, open_flag: str, y: str, x: str, lo: float, hi: float) -> str:
    """Oja's subspace rule on a ``Synapses``: ΔW = η·y ⊗ (x − Wᵀy), Wᵀy the presynaptic
    summed variable ``back_k_pre``; ``y`` the post rate, ``x`` the pre rate as a synapse reads
    them."""
    return f"w = w + {gate}*{y}*({x} - back_{k}_pre)" + bounds_code(lo, hi, open_flag)
