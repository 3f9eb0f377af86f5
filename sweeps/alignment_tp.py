"""How well a difference-target circuit's hidden step follows BP: train a one-hidden-layer
``tp_circuit`` (``digits_tp.yaml``, ``fmnist_tp.yaml``: X→H→Y, decoder YS tied to YTG, target
step ŷ = (1 − β)·y + β·label) and, before training and after each epoch, compare on validation
samples its hidden step HT − H = G − S = g(ŷ) − g(y) with the BP step of the same output loss at
the same weights, (1 − h²)·Uᵀ(ŷ − y) (the circuit's step times 1 − h² too when its hidden rule has
``post_slope``), both from steady-state rates (the rates at the end of a
presentation with the label clamped: no loops reach H, so h = tanh(W x + b)). The test split is
emptied first: nothing here scores test.

    python sweeps/alignment_tp.py circuits/fmnist_tp.yaml 3 [--samples 3000] [FIELD=VALUE ...]

Per line: validation accuracy of the steady-state readout, the median cosine per sample of the
two hidden steps, the cosine of the weight updates they give summed over the samples
(Σ δ xᵀ), and the median ratio of their norms.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from probe_validation import prepare  # noqa: E402


def steps(comp, w, b, x, labels, n_classes, beta, slope=False):
    """(accuracy, circuit's hidden steps, BP's hidden steps), one row per sample; ``slope``:
    the hidden rule has ``post_slope`` (its step is (1 − h²)·(G − S))."""
    W, U, V = (comp.proj_matrix(w, n) for n in ("XH", "HY", "YS"))
    h = np.tanh(x @ W.T + b[comp.pop_slice("H")])
    y = 1.0 / (1.0 + np.exp(-(h @ U.T + b[comp.pop_slice("Y")])))
    yt = (1.0 - beta) * y + beta * np.eye(n_classes)[labels]
    bs = b[comp.pop_slice("S")]
    circuit = np.tanh(yt @ V.T + bs) - np.tanh(y @ V.T + bs)
    if slope:
        circuit = (1.0 - h**2) * circuit
    bp = (1.0 - h**2) * ((yt - y) @ U)
    return float(np.mean(y.argmax(1) == labels)), circuit, bp


def compare(circuit: np.ndarray, bp: np.ndarray, x: np.ndarray) -> dict[str, float]:
    """Median per-sample cosine, cosine of Σ δ xᵀ, median norm ratio circuit / BP."""
    nc, nb = np.linalg.norm(circuit, axis=1), np.linalg.norm(bp, axis=1)
    ok = (nc > 0) & (nb > 0)
    cos = (circuit * bp).sum(1)[ok] / (nc[ok] * nb[ok])
    dc, db = circuit.T @ x, bp.T @ x
    return {
        "cos_sample_median": float(np.median(cos)),
        "cos_update": float((dc * db).sum() / (np.linalg.norm(dc) * np.linalg.norm(db))),
        "norm_ratio_median": float(np.median(nc[ok] / nb[ok])),
    }


def main(argv: list[str] | None = None) -> int:
    from neurotp.circuit import load_circuit
    from neurotp.data import load_dataset
    from neurotp.simulation import Simulation

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("circuit")
    ap.add_argument("epochs", type=int)
    ap.add_argument("--samples", type=int, default=3000, help="validation samples compared")
    ap.add_argument("overrides", nargs="*", metavar="FIELD=VALUE")
    args = ap.parse_intermixed_args(argv)
    circuit = load_circuit(args.circuit, args.overrides)
    names = {p.name for p in circuit.projections}
    if not {"XH", "HY", "YS", "YYT", "LYT"} <= names:
        ap.error("the circuit is not a one-hidden-layer tp_circuit (XH, HY, YS, YYT, LYT)")
    p = circuit.protocol
    try:
        data = prepare(load_dataset(p.dataset, n_train=p.n_train, validation=p.validation), "raw")
    except ValueError as exc:
        ap.error(str(exc))
    sim = Simulation(circuit, data=data)
    comp = sim.comp
    beta = float(np.diag(comp.proj_matrix(sim.state.w, "LYT")).mean())
    slope = any(r.projection == "XH" and r.post_slope for r in circuit.rules)
    x, labels = data.x_val[: args.samples].astype(np.float64), data.y_val[: args.samples]
    for epoch in range(args.epochs + 1):
        if epoch:
            sim.train_epoch()
        acc, c, b = steps(comp, sim.state.w, sim.state.b, x, labels, data.n_classes, beta, slope)
        print(
            json.dumps(
                {
                    "epoch": epoch,
                    "val_accuracy": round(acc, 4),
                    **{k: round(v, 3) for k, v in compare(c, b, x).items()},
                }
            ),
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
