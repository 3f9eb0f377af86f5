"""Figures: spiking circuits on the Brian2 engine — spike rasters and rates/learning curves.

Trains ``circuits/autoencoder_spiking.yaml`` (LIF units, test reconstruction MSE) and
``circuits/digits_tp_spiking.yaml`` (LIF units, test accuracy) on sklearn digits with the
Brian2 engine, and beside each its rate-mode circuit (``autoencoder.yaml``,
``digits_tp.yaml``) on the Numba engine with the same samples and epochs. After training it
records one test presentation of each spiking circuit.

- ``figures/spiking_raster.png``: spikes of every population during test presentations;
- ``figures/spiking_rates.png``: learning curves (spiking vs rate) and, for a few units, the
  rate model's r(t) beside the rate decoded from the spikes.

Run: ``python figures/fig_spiking.py [--n-train N] [--n-test N] [--epochs E] [--target cython]
[--max-rate HZ] [--tau-syn MS]`` (spiking parameters default to the circuit file's
``spiking:`` section);
computed numbers are cached in ``figures/_cache/spiking_<circuit>.npz`` (and ``.json``); with
a cache present only the plotting runs (``--recompute`` to train again).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CACHE = HERE / "_cache"
SPIKING = {"autoencoder": "autoencoder_spiking", "digits_tp": "digits_tp_spiking"}


def _metric(comp, means: np.ndarray, x: np.ndarray, y: np.ndarray) -> float:
    p = comp.circuit.protocol
    if p.readout is not None:
        pred = means[:, comp.pop_slice(p.readout)].argmax(axis=1)
        return float(np.mean(pred == y))
    xr = means[:, comp.pop_slice(p.reconstruction)]
    return float(np.mean((xr - x) ** 2))


def train_curve(
    circuit_name: str,
    backend: str,
    n_train: int,
    n_test: int,
    epochs: int,
    target: str = "cython",
    chunk: int = 100,
    seed: int = 0,
    overrides: list[str] | None = None,
    spiking: dict | None = None,
) -> tuple[list[float], object, object]:
    """Test metric before training and after each epoch; returns (curve, engine, comp)."""
    from neurotp.circuit import compile_circuit, load_circuit, make_drive
    from neurotp.data import load_dataset
    from neurotp.engines import get_engine

    circ = load_circuit(ROOT / "circuits" / f"{circuit_name}.yaml", overrides or [])
    comp = compile_circuit(circ)
    base_eta = comp.rule_eta.copy()
    d = load_dataset("digits")
    xtr, ytr = d.x_train[:n_train], d.y_train[:n_train]
    xte, yte = d.x_test[:n_test], d.y_test[:n_test]
    kw = {"target": target, "spiking": spiking} if backend == "brian2" else {}
    eng = get_engine(backend)(comp, **kw)
    order_rng = np.random.default_rng(seed)
    noise_rng = np.random.default_rng(seed + 1)
    has_label = comp.label_n > 0

    def evaluate() -> float:
        ev = get_engine(backend)(comp, state=eng.state.copy(), **kw)
        rng = np.random.default_rng(seed + 7919)
        means = []
        for s in range(0, len(xte), chunk):
            drv = make_drive(
                comp,
                xte[s : s + chunk],
                yte[s : s + chunk] if has_label else None,
                rng,
                train=False,
            )
            means.append(ev.run(drv).means)
        return _metric(comp, np.concatenate(means), xte, yte)

    curve = [evaluate()]
    print(f"{circuit_name} [{backend}] epoch 0: {curve[-1]:.4f}", flush=True)
    for epoch in range(epochs):
        comp.rule_eta[:] = base_eta * circ.protocol.lr_decay**epoch
        order = order_rng.permutation(len(xtr))
        t0 = time.perf_counter()
        for s in range(0, len(xtr), chunk):
            idx = order[s : s + chunk]
            drv = make_drive(comp, xtr[idx], ytr[idx] if has_label else None, noise_rng, train=True)
            eng.run(drv)
        comp.rule_eta[:] = base_eta
        curve.append(evaluate())
        print(
            f"{circuit_name} [{backend}] epoch {epoch + 1}: {curve[-1]:.4f} "
            f"({time.perf_counter() - t0:.0f} s)",
            flush=True,
        )
    return curve, eng, comp


def compute(
    base: str,
    n_train: int,
    n_test: int,
    epochs: int,
    target: str = "cython",
    overrides: list[str] | None = None,
    spiking: dict | None = None,
    tag: str = "",
) -> dict[str, object]:
    """Spiking and rate learning curves of one circuit, and one recorded test presentation."""
    from neurotp.circuit import make_drive
    from neurotp.data import load_dataset

    t0 = time.perf_counter()
    spk_curve, eng, comp = train_curve(
        SPIKING[base],
        "brian2",
        n_train,
        n_test,
        epochs,
        target,
        overrides=overrides,
        spiking=spiking,
    )
    t_spk = time.perf_counter() - t0
    rate_curve, _, _ = train_curve(base, "numba", n_train, n_test, epochs)
    d = load_dataset("digits")
    x, y = d.x_test[:3], d.y_test[:3]
    drv = make_drive(comp, x, y if comp.label_n else None, np.random.default_rng(3), train=False)
    res = eng.run(drv, record_every=1)
    out: dict[str, object] = {
        "spiking_curve": np.array(spk_curve),
        "rate_curve": np.array(rate_curve),
        "record": res.record,
        "means": res.means,
        "dt": comp.dt,
        "spp": comp.steps_per_presentation,
        "pop_names": np.array(comp.pop_names),
        "pop_off": comp.pop_off,
        "pop_size": comp.pop_size,
        "max_rate": eng._spiking.max_rate,
        "pop_lo": np.array([eng._spiking.ranges[n][0] for n in comp.pop_names]),
        "pop_hi": np.array([eng._spiking.ranges[n][1] for n in comp.pop_names]),
        "seconds_spiking": t_spk,
    }
    for name, (i_sp, t_sp) in eng._spiking.last_spikes.items():
        out[f"spk_i_{name}"] = i_sp
        out[f"spk_t_{name}"] = t_sp
    meta = {
        "circuit": SPIKING[base],
        "rate_circuit": base,
        "metric": "test accuracy" if comp.label_n else "test reconstruction MSE",
        "n_train": n_train,
        "n_test": n_test,
        "epochs": epochs,
        "target": target,
        "spiking_curve": [float(v) for v in spk_curve],
        "rate_curve": [float(v) for v in rate_curve],
        "seconds_spiking": t_spk,
        "overrides": list(overrides or []),
        "spiking": {
            "max_rate": eng._spiking.max_rate,
            "tau_syn": eng._spiking.tau_syn,
            "tau_m": eng._spiking.tau_m,
        },
    }
    CACHE.mkdir(parents=True, exist_ok=True)
    np.savez(CACHE / f"spiking_{base}{tag}.npz", **out)
    (CACHE / f"spiking_{base}{tag}.json").write_text(json.dumps(meta, indent=2) + "\n")
    return out


def _load(base: str) -> tuple[dict, dict] | None:
    f = CACHE / f"spiking_{base}.npz"
    if not f.exists():
        return None
    with np.load(f) as z:
        arrays = {k: z[k] for k in z.files}
    meta = json.loads((CACHE / f"spiking_{base}.json").read_text())
    return arrays, meta


def plot(results: dict[str, tuple[dict, dict]], out_dir: Path = HERE) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths = []
    # ---- rasters ----
    fig, axes = plt.subplots(1, len(results), figsize=(6.5 * len(results), 5.5), squeeze=False)
    for ax, (_base, (a, meta)) in zip(axes[0], results.items(), strict=True):
        names = [str(n) for n in a["pop_names"]]
        offs = np.asarray(a["pop_off"])
        for k, name in enumerate(names):
            i_sp, t_sp = a[f"spk_i_{name}"], a[f"spk_t_{name}"]
            ax.scatter(t_sp, i_sp + offs[k], s=1.5, color=f"C{k % 10}", label=name)
            ax.axhline(offs[k] - 0.5, color="0.85", lw=0.5)
        for p in range(1, 3):
            ax.axvline(p * float(a["spp"]) * float(a["dt"]), color="k", lw=0.6, ls="--")
        ax.set_xlabel("time (ms), three test presentations")
        ax.set_ylabel("unit (populations stacked)")
        ax.set_title(f"{meta['circuit']}: spikes after training")
        ax.legend(markerscale=6, fontsize=7, loc="upper right", ncol=2)
    fig.tight_layout()
    p = out_dir / "spiking_raster.png"
    fig.savefig(p, dpi=130)
    plt.close(fig)
    paths.append(p)

    # ---- learning curves + rate model vs decoded spikes ----
    fig, axes = plt.subplots(2, len(results), figsize=(6.5 * len(results), 8), squeeze=False)
    for col, (_base, (a, meta)) in enumerate(results.items()):
        ax = axes[0, col]
        sc, rc = np.asarray(a["spiking_curve"]), np.asarray(a["rate_curve"])
        spk = meta.get("spiking") or {}
        extra = f", ν_max {spk['max_rate']:g} Hz" if "max_rate" in spk else ""
        ax.plot(np.arange(len(sc)), sc, "o-", label=f"spiking ({meta['circuit']}, brian2{extra})")
        ax.plot(np.arange(len(rc)), rc, "s--", label=f"rate ({meta['rate_circuit']}, numba)")
        ax.set_xlabel(f"epoch ({meta['n_train']} training digits)")
        ax.set_ylabel(f"{meta['metric']} ({meta['n_test']} test digits)")
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
        if meta.get("overrides"):
            ax.set_title("spiking run with --set " + " ".join(meta["overrides"]), fontsize=6)
        ax = axes[1, col]
        rec = np.asarray(a["record"])
        dt = float(a["dt"])
        names = [str(n) for n in a["pop_names"]]
        tt = np.arange(rec.shape[0]) * dt
        shown = names[1:3]
        for k, name in enumerate(shown):
            pi = names.index(name)
            i_all = a[f"spk_i_{name}"]
            # the most active unit: a silent one would show only the clipped bottom of the range
            unit = (
                int(np.bincount(i_all, minlength=int(a["pop_size"][pi])).argmax())
                if len(i_all)
                else 0
            )
            col_idx = int(a["pop_off"][pi]) + unit
            ax.plot(tt, rec[:, col_idx], color=f"C{k}", label=f"{name}[{unit}] rate model r(t)")
            i_sp, t_sp = a[f"spk_i_{name}"], a[f"spk_t_{name}"]
            ts = t_sp[i_sp == unit]
            # decoded rate: spikes in a 30 ms sliding window, mapped back to rate units
            win = 30.0
            counts = np.array([np.sum((ts > t - win) & (ts <= t)) for t in tt])
            nu = counts / (win / 1000.0) / float(a["max_rate"])
            lo, hi = float(a["pop_lo"][pi]), float(a["pop_hi"][pi])
            ax.plot(
                tt,
                lo + (hi - lo) * nu,
                color=f"C{k}",
                ls=":",
                label=f"{name}[{unit}] decoded from spikes (30 ms window)",
            )
        ax.set_xlabel("time (ms)")
        ax.set_ylabel("rate (model units)")
        ax.legend(fontsize=7)
    fig.tight_layout()
    p = out_dir / "spiking_rates.png"
    fig.savefig(p, dpi=130)
    plt.close(fig)
    paths.append(p)
    return paths


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-train", type=int, default=400)
    ap.add_argument("--n-test", type=int, default=200)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--target", default="cython", choices=["numpy", "cython"])
    ap.add_argument("--only", choices=list(SPIKING), default=None)
    ap.add_argument("--recompute", action="store_true")
    ap.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="override a field of the spiking circuit, e.g. rules.prediction_XH.lr=0.002",
    )
    ap.add_argument(
        "--tau-syn",
        type=float,
        default=None,
        help="synaptic time constant (ms); default: the circuit's spiking.tau_syn",
    )
    ap.add_argument(
        "--max-rate",
        type=float,
        default=None,
        help="firing rate (Hz) at the top of the rate range; default: spiking.max_rate",
    )
    ap.add_argument("--tag", default="", help="cache under spiking_<circuit><tag> (no plot)")
    args = ap.parse_args(argv)
    results = {}
    for base in SPIKING:
        if args.only and base != args.only:
            got = _load(base)
            if got:
                results[base] = got
            continue
        got = None if args.recompute else _load(base)
        if got is None:
            compute(
                base,
                args.n_train,
                args.n_test,
                args.epochs,
                args.target,
                args.overrides,
                {
                    k: getattr(args, k)
                    for k in ("tau_syn", "max_rate")
                    if getattr(args, k) is not None
                },
                args.tag,
            )
            if args.tag:
                return 0
            got = _load(base)
        results[base] = got
    for p in plot(results):
        print(f"saved {p}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
