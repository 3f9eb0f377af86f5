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
    # (n_pres * frames, n_input) input rates: row i * frames + f is frame f of presentation i,
    # shown for steps k with k * frames // present_steps == f
    stim: np.ndarray
    labels: np.ndarray | None  # (n_pres, n_label) clamped label rates, or None
    clamp: bool  # labels clamped (training, from label_delay after onset) or free (testing)
    learn: bool  # plasticity on
    noise: np.ndarray  # (n_pres * steps_per_presentation, n_noisy) standard normal draws
    frames: int = 1  # stimulus frames per presentation

    @property
    def n_presentations(self) -> int:
        return int(self.stim.shape[0]) // self.frames

    def frame(self, i: int, k: int, present_steps: int) -> np.ndarray:
        """The stimulus of presentation ``i`` at step ``k`` (< present_steps) of it."""
        return self.stim[i * self.frames + k * self.frames // present_steps]


def shift_images(img: np.ndarray, dy: np.ndarray, dx: np.ndarray) -> np.ndarray:
    """Images ``img`` (n, h, w) shifted by (dy, dx) pixels each (sub-pixel: bilinear; what
    comes in from outside the image is 0)."""
    n, h, w = img.shape
    out = np.zeros_like(img)
    rows = np.arange(h)[None, :, None] - np.asarray(dy, dtype=np.float64)[:, None, None]
    cols = np.arange(w)[None, None, :] - np.asarray(dx, dtype=np.float64)[:, None, None]
    r0, c0 = np.floor(rows), np.floor(cols)
    fr, fc = rows - r0, cols - c0
    r0, c0 = r0.astype(np.int64), c0.astype(np.int64)
    k = np.arange(n)[:, None, None]
    for dr, wr in ((0, 1 - fr), (1, fr)):
        for dc, wc in ((0, 1 - fc), (1, fc)):
            rr, cc = r0 + dr, c0 + dc
            ok = (rr >= 0) & (rr < h) & (cc >= 0) & (cc < w)
            vals = img[k, np.clip(rr, 0, h - 1), np.clip(cc, 0, w - 1)]
            out += np.where(ok, vals * wr * wc, 0.0)
    return out


def jittered_frames(x: np.ndarray, frames: int, jitter: float, rng) -> np.ndarray:
    """(n, frames, n_input): each row of ``x`` (a square image, flattened) once per frame,
    shifted by a 2-D random walk of ``jitter`` pixels per frame (frame 0 already shifted)."""
    n, m = x.shape
    if jitter == 0:
        return np.repeat(x[:, None, :], frames, axis=1)
    side = int(round(np.sqrt(m)))
    if side * side != m:
        raise CircuitError(
            f"protocol.jitter: shifts square images, but the input has {m} units; "
            "allowed: jitter 0 for inputs that are not square images"
        )
    walk = np.cumsum(jitter * rng.standard_normal((n, frames, 2)), axis=1)
    img = np.repeat(x.reshape(n, 1, side, side), frames, axis=1).reshape(n * frames, side, side)
    out = shift_images(img, walk[..., 0].ravel(), walk[..., 1].ravel())
    return out.reshape(n, frames, m)


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

    Random numbers are drawn from ``rng`` in a fixed order: the jitter of the frames
    (``protocol.jitter``, training and testing), input corruption (training only,
    ``protocol.input_noise``, per frame), then population noise for every step.
    """
    proto = comp.circuit.protocol
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] != comp.input_n:
        raise ValueError(
            f"stimulus: shape {x.shape} does not match protocol.input {proto.input!r} "
            f"of {comp.input_n} units; expected (n_samples, {comp.input_n})"
        )
    frames = comp.frames
    xf = jittered_frames(x, frames, proto.jitter, rng)  # (n, frames, n_input)
    if train and proto.input_noise > 0:
        xf = xf + proto.input_noise * rng.standard_normal(xf.shape)
    x = xf.reshape(len(x) * frames, comp.input_n)
    labels = None
    n_pres = len(x) // frames
    if y is not None and comp.label_n > 0:
        y = np.asarray(y)
        if len(y) != n_pres:
            raise ValueError(f"labels: {len(y)} labels for {n_pres} stimuli; expected one each")
        if len(y) and (y.min() < 0 or y.max() >= comp.label_n):
            raise CircuitError(
                f"protocol.label: population {proto.label!r} has {comp.label_n} units but the "
                f"labels run from {y.min()} to {y.max()}; allowed: a label population with a "
                "unit per class (size >= number of classes)"
            )
        labels = encode_labels(y, comp.label_n, proto.label_on, proto.label_off)
    n_steps = n_pres * comp.steps_per_presentation
    noise = rng.standard_normal((n_steps, len(comp.noise_idx)))
    return Drive(
        stim=x,
        labels=labels,
        clamp=bool(train and labels is not None),
        learn=train,
        noise=noise,
        frames=frames,
    )
