"""Shared test helpers (imported by test modules; no test imports another test module)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from neurotp.circuit import make_drive
from neurotp.circuit.protocol import Drive

# ---- engines: drives and circuits for the engine agreement tests (numba branch) -------------


def one_second_drive(comp, seed: int = 2) -> Drive:
    """A training drive of random inputs and labels covering at least one simulated second."""
    c = comp.circuit
    n_pres = int(np.ceil(1000.0 / (c.protocol.present + c.protocol.gap)))
    rng = np.random.default_rng(seed)
    x = rng.random((n_pres, comp.input_n))
    y = rng.integers(0, max(comp.label_n, 1), n_pres)
    return make_drive(comp, x, y, np.random.default_rng(seed + 1), train=True)


def split_drive(comp, drive: Drive, parts: int = 3, learn: tuple[bool, ...] = ()) -> list[Drive]:
    """``drive`` cut into ``parts`` consecutive drives (presentations and their noise rows);
    ``learn[i]`` (if given) switches learning of part i on or off."""
    n = drive.n_presentations
    spp = comp.steps_per_presentation
    cuts = np.linspace(0, n, parts + 1).astype(int)
    out = []
    for i, (a, b) in enumerate(zip(cuts[:-1], cuts[1:], strict=True)):
        out.append(
            Drive(
                stim=drive.stim[a:b],
                labels=None if drive.labels is None else drive.labels[a:b],
                noise=drive.noise[a * spp : b * spp],
                clamp=drive.clamp,
                learn=learn[i] if learn else drive.learn,
            )
        )
    return out


def scaled_delays(c, factor: float):
    """Circuit ``c`` with every projection and trace delay multiplied by ``factor``."""
    for p in c.projections:
        p.delay *= factor
    for t in c.traces:
        t.delay *= factor
    return c


def max_state_difference(a, b, keys=("r", "hist", "tr", "w", "b")) -> dict[str, float]:
    """Largest absolute difference of each state array of two engines."""
    return {k: float(np.max(np.abs(getattr(a, k) - getattr(b, k)), initial=0.0)) for k in keys}


# ---- baselines: the local-gradient proof of the TP family (algorithms branch) --------------


def local_gradient_check(alg, x, y):
    """Every layer's applied gradient equals autograd of that layer's own loss with its
    input and target detached: no gradient crosses a layer (TP and DTP).

    Runs one ``alg.step(x, y, record)`` and returns the record."""
    import torch

    rec = {}
    alg.step(x, y, rec)
    L = alg.n_layers
    for l in range(1, L + 1):
        inp = rec["inputs"][l - 1].detach()
        W = alg.W[l - 1].detach().clone().requires_grad_(True)
        b = alg.b[l - 1].detach().clone().requires_grad_(True)
        a = inp @ W.T + b
        if l == L:
            loss = torch.nn.functional.cross_entropy(a, y)
        else:
            tgt = rec["targets"][l].detach()
            loss = 0.5 * ((alg.act.fn(a) - tgt) ** 2).sum(1).mean()
        gW, gb = torch.autograd.grad(loss, (W, b))
        torch.testing.assert_close(alg.W[l - 1].grad, gW, rtol=1e-9, atol=1e-12)
        torch.testing.assert_close(alg.b[l - 1].grad, gb, rtol=1e-9, atol=1e-12)
    # Decoders: ½‖g_l(f_l(h̃)) - h̃‖² with f_l's output treated as a constant input.
    for l in range(2, L):
        hn = rec["noisy"][l].detach()
        s = alg.f(l, hn.clone()).detach()
        V = alg.V[l].detach().clone().requires_grad_(True)
        c = alg.c[l].detach().clone().requires_grad_(True)
        r = alg.inv_act.fn(s @ V.T + c)
        loss = 0.5 * ((r - hn) ** 2).sum(1).mean()
        gV, gc = torch.autograd.grad(loss, (V, c))
        torch.testing.assert_close(alg.V[l].grad, gV, rtol=1e-9, atol=1e-12)
        torch.testing.assert_close(alg.c[l].grad, gc, rtol=1e-9, atol=1e-12)
    return rec


# ---- sweep: the circuit, the small settings and the run-folder checks (sweep tests) ---------

REPO = Path(__file__).resolve().parents[1]
SWEEP_CIRCUIT = str(REPO / "circuits" / "digits_tp.yaml")
SWEEP_SMALL = ["--set", "protocol.n_train=60", "--set", "protocol.n_test=30", "--epochs", "1"]
NOISE, LR = "protocol.input_noise", "rules.prediction_XH.lr"


def rows_of(out: Path) -> list[dict]:
    """The rows of a sweep's ``OUT/results.csv`` (needs pandas: the sweep extra)."""
    import pandas as pd

    return pd.read_csv(out / "results.csv").to_dict("records")


def metrics_of(folder: Path) -> dict:
    """metrics.json without the wall-clock fields (everything else must be identical)."""
    m = json.loads((folder / "metrics.json").read_text())
    m.pop("wall_seconds")
    for h in [m["final"], *m["history"]]:
        h.pop("seconds")
    return m


def assert_same_run(a: Path, b: Path) -> None:
    """Run folders ``a`` and ``b`` hold the same numbers and the same recording."""
    assert metrics_of(a) == metrics_of(b)
    with np.load(a / "recording.npz") as ra, np.load(b / "recording.npz") as rb:
        assert sorted(ra.files) == sorted(rb.files)
        for k in ra.files:
            np.testing.assert_array_equal(ra[k], rb[k])


def sweep_rows() -> tuple[list[dict], list[dict]]:
    """``(rows, points)`` of a made-up sweep: 2 noise x 3 rate points, 2 seeds each, accuracy
    0.5 + noise + rate + 0.01·seed, and one failed third seed of the last point."""
    rows = [
        {NOISE: n, LR: lr, "seed": s, "status": "ok", "test_accuracy": 0.5 + n + lr + 0.01 * s}
        for n in (0.1, 0.2)
        for lr in (0.01, 0.1, 1.0)
        for s in (0, 1)
    ]
    rows.append({NOISE: 0.2, LR: 1.0, "seed": 2, "status": "failed", "error": "divergence"})
    points = [{NOISE: n, LR: lr} for n in (0.1, 0.2) for lr in (0.01, 0.1, 1.0)]
    return rows, points
