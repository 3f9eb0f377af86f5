"""Stimulus protocols: what the circuit sees, presentation by presentation.

A :class:`Drive` is everything external an engine needs for a run of presentations: the
stimulus (already corrupted), the label values and whether they are clamped, whether rules
learn, and the population noise, drawn once here so that every engine sees the same numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from neurotp.circuit.compiled import Compiled
from neurotp.circuit.validate import CircuitError


@dataclass
class Drive:
    stim: np.ndarray  # (n_pres, n_input) input rates while each sample is presented
    labels: np.ndarray | None  # (n_pres, n_label) clamped label rates, or None
    clamp: bool  # labels clamped (training) or free (testing)
    learn: bool  # plasticity on
    noise: np.ndarray  # (n_pres * steps_per_presentation, n_noisy) standard normal draws

    @property
    def n_presentations(self) -> int:
        return int(self.stim.shape[0])


def encode_labels(y: np.ndarray, n_classes: int, on: float, off: float) -> np.ndarray:
    """One-hot label rates: ``on`` at the class, ``off`` elsewhere."""
    out = np.full((len(y), n_classes), off, dtype=np.float64)
    out[np.arange(len(y)), np.asarray(y, dtype=np.int64)] = on
    return out


def make_drive(
    comp: Compiled,
    x: np.ndarray,
    y: np.ndarray | None,
    rng: np.random.Generator,
    *,
    train: bool,
) -> Drive:
    """Build the drive for presenting rows of ``x`` (labels ``y``) once each.

    Random numbers are drawn from ``rng`` in a fixed order: input corruption (training only,
    ``protocol.input_noise``), then population noise for every step.
    """
    proto = comp.circuit.protocol
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] != comp.input_n:
        raise ValueError(
            f"stimulus: shape {x.shape} does not match protocol.input {proto.input!r} "
            f"of {comp.input_n} units; expected (n_samples, {comp.input_n})"
        )
    if train and proto.input_noise > 0:
        x = x + proto.input_noise * rng.standard_normal(x.shape)
    labels = None
    if y is not None and comp.label_n > 0:
        y = np.asarray(y)
        if len(y) != len(x):
            raise ValueError(f"labels: {len(y)} labels for {len(x)} stimuli; expected one each")
        if len(y) and (y.min() < 0 or y.max() >= comp.label_n):
            raise CircuitError(
                f"protocol.label: population {proto.label!r} has {comp.label_n} units but the "
                f"labels run from {y.min()} to {y.max()}; allowed: a label population with a "
                "unit per class (size >= number of classes)"
            )
        labels = encode_labels(y, comp.label_n, proto.label_on, proto.label_off)
    n_steps = len(x) * comp.steps_per_presentation
    noise = rng.standard_normal((n_steps, len(comp.noise_idx)))
    return Drive(
        stim=x, labels=labels, clamp=bool(train and labels is not None), learn=train, noise=noise
    )
