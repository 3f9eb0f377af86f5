"""What both Brian2 runners take from a :class:`~neurotp.circuit.protocol.Drive`: per-step
arrays for the clamp, labels, rule gates and noise, and φ as Brian2 expressions.

Shared by the rate network (:mod:`neurotp.engines.brian2.rate`) and the spiking runner
(:mod:`neurotp.engines.brian2.spiking`); it imports no Brian2 object, so neither runner imports
the other.
"""

from __future__ import annotations

import numpy as np

from neurotp.circuit.activations import ACTIVATION_CODES
from neurotp.circuit.compiled import Compiled
from neurotp.circuit.protocol import Drive

# φ as Brian2 expressions of the total current Itot, by activation name
PHI: dict[str, str] = {
    "linear": "Itot",
    "tanh": "tanh(Itot)",
    "sigmoid": "(0.5*(1.0 + tanh(0.5*Itot)))",
    "relu": "(Itot*int(Itot > 0))",
    "sign": "(2.0*int(Itot >= 0) - 1.0)",
    "step": "(1.0*int(Itot >= 0))",
}
# the same, by activation code (neurotp.circuit.activations)
PHI_BY_CODE: dict[int, str] = {code: PHI[name] for name, code in ACTIVATION_CODES.items()}


def step_tables(comp: Compiled, drive: Drive) -> dict[str, np.ndarray]:
    """Per-step arrays of a run of presentations.

    ``stim`` (n_steps, input_n: the stimulus frame of each step, :meth:`Drive.frame`; zero in
    gaps), ``presenting`` (n_steps,); with a label population ``labels`` and ``labon`` (1
    where labels are clamped: training, from ``comp.label_steps`` after onset to the end of
    the presentation); with rules ``gate``
    (n_steps, n_rules): lr·dt where rule k applies at that step (its window is open, the
    stimulus is on and the drive learns), else 0 — the learning rate rides in the gate, so
    that changing ``comp.rules.eta`` between runs (``protocol.lr_decay``) changes no
    generated code — and ``open`` (n_steps, n_rules): 1.0 where rule k applies (its bounds
    are enforced only then, as in the reference engine); ``noise`` (n_steps, ≥ 1 columns).
    """
    spp = comp.steps_per_presentation
    n_steps = drive.n_presentations * spp
    k_in = np.arange(n_steps) % spp
    presenting = k_in < comp.present_steps
    stim_rows = np.asarray(drive.stim, dtype=np.float64)
    frames = int(drive.frames)
    if frames != comp.frames or stim_rows.shape[0] != drive.n_presentations * frames:
        raise ValueError(
            f"drive.stim: {stim_rows.shape[0]} rows of {drive.frames} frames; expected "
            f"n_presentations x protocol.frames ({comp.frames}) rows"
        )
    # row of each step: presentation i, frame k * frames // present_steps (0 in the gaps)
    pres = np.arange(n_steps) // spp
    frame = np.where(presenting, np.minimum(k_in, comp.present_steps - 1), 0)
    stim = stim_rows[pres * frames + frame * frames // comp.present_steps]
    stim[~presenting] = 0.0
    out: dict[str, np.ndarray] = {"stim": stim, "presenting": presenting}
    if comp.label_n > 0:
        if drive.labels is not None:
            lab = np.repeat(np.asarray(drive.labels, dtype=np.float64), spp, axis=0)
        else:
            lab = np.zeros((n_steps, comp.label_n))
        out["labels"] = lab
        clamp = bool(drive.clamp and drive.labels is not None)
        out["labon"] = (presenting & (k_in >= comp.label_steps) & clamp).astype(float)
    if len(comp.rules.form):
        step_open = comp.rules_active(np.arange(spp))
        applies = step_open[k_in] & (presenting & bool(drive.learn))[:, None]
        out["open"] = applies.astype(np.float64)
        out["gate"] = out["open"] * np.asarray(comp.rules.eta, dtype=np.float64)
    noise = np.asarray(drive.noise, dtype=np.float64)
    if noise.shape[0] != n_steps:
        raise ValueError(
            f"drive.noise: {noise.shape[0]} rows; expected n_presentations x "
            f"steps_per_presentation = {n_steps}"
        )
    out["noise"] = noise if noise.shape[1] else np.zeros((n_steps, 1))
    return out
