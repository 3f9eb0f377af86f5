"""``neurotp compare``: circuit rules against the algorithmic baselines on one task.

For an architecture (``64-16-10``, ``64-16-16-10``) and each seed: the difference-target
circuit (:func:`neurotp.circuit.library.tp_circuit`, Numba engine, local rules), its frozen-
hidden control, and the baselines (BP, FA, TP, DTP, Algorithm 5) start from the same forward
weights (the circuit's initial ones; Algorithm 5's top layer has another shape and keeps its
own), learn digits, and are compared on test accuracy against samples seen. After every
circuit epoch, on a fixed probe batch, the circuit's weight change per layer is compared with
the backprop gradient and the DTP update of the same network on the same inputs
(:mod:`neurotp.metrics.alignment`); the short-loop reconstruction error of each hidden layer
is recorded too.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from neurotp.circuit import compile_circuit, make_drive
from neurotp.circuit.library import tp_circuit
from neurotp.metrics.alignment import (
    angle_degrees,
    bp_update,
    dtp_update,
    hidden_rates,
    inverse_reconstruction_mse,
    read_network,
)

ARCHITECTURES: dict[str, tuple[int, ...]] = {
    "64-16-10": (64, 16, 10),
    "64-16-16-10": (64, 16, 16, 10),
}
BASELINES: tuple[str, ...] = ("bp", "fa", "tp", "dtp", "alg5")


def parse_arch(name: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(s) for s in name.split("-"))
    except ValueError:
        raise ValueError(f"--arch: {name!r} is not like 64-16-10") from None
    if sizes[0] != 64 or sizes[-1] != 10 or len(sizes) < 3:
        raise ValueError(
            f"--arch: {name!r} must start at 64 (digits) and end at 10 classes, "
            "with at least one hidden layer"
        )
    return sizes


def _circuit_alignment(sim, probe_x, probe_y) -> dict[str, list[float]]:
    """Angles per layer between the circuit's change over the probe batch and BP / DTP."""
    comp, state = sim.comp, sim.state
    net = read_network(comp, state)
    t = np.eye(10)[probe_y]
    bp = bp_update(net, probe_x.astype(np.float64), t)
    dtp = dtp_update(net, probe_x.astype(np.float64), t)
    # the circuit's own change: same state, learning on, clean inputs, labels clamped, with the
    # learning rates scaled down so that the batch sees (almost) fixed weights
    probe_comp = compile_circuit(sim.circuit)
    probe_comp.rule_eta[:] = sim.comp.rule_eta * 1e-3
    engine = type(sim.engine)(probe_comp, state=state.copy())
    drive = make_drive(probe_comp, probe_x, probe_y, np.random.default_rng(0), train=False)
    drive.clamp, drive.learn = True, True
    engine.run(drive)
    after = read_network(probe_comp, engine.state)
    out: dict[str, list[float]] = {"vs_bp": [], "vs_dtp": [], "dtp_vs_bp": []}
    for l in range(len(net.W)):
        dw = after.W[l] - net.W[l]
        out["vs_bp"].append(angle_degrees(dw, bp[l]))
        out["vs_dtp"].append(angle_degrees(dw, dtp[l]))
        # reference: how far DTP itself (with its phi' factor) is from BP on this network
        out["dtp_vs_bp"].append(angle_degrees(dtp[l], bp[l]))
    hs = hidden_rates(net, probe_x)
    out["saturated"] = [float(np.mean(np.abs(h) > 0.99)) for h in hs]
    return out


def _train_circuit(circuit, data, probe, record_alignment: bool) -> dict[str, Any]:
    from neurotp.simulation import Simulation

    sim = Simulation(circuit, data=data)
    n = len(data.x_train)
    curve = [(0, sim.evaluate()["test_accuracy"])]
    align: list[dict[str, Any]] = []
    recon: list[list[float]] = []
    t0 = time.perf_counter()
    for _ in range(circuit.protocol.epochs):
        m = sim.train_epoch()
        curve.append((m.samples_seen, m.test_accuracy))
        if record_alignment:
            a = _circuit_alignment(sim, *probe)
            align.append({"epoch": m.epoch, **a})
            recon.append(
                inverse_reconstruction_mse(
                    read_network(sim.comp, sim.state), data.x_test.astype(np.float64)
                )
            )
    return {
        "curve": curve,
        "alignment": align,
        "reconstruction_mse": recon,
        "seconds": time.perf_counter() - t0,
        "samples_per_epoch": n,
        "sim": sim,
    }


def _train_baseline(name, sizes, init, data, seed, epochs, batch_size, lr) -> dict[str, Any]:
    import torch

    from neurotp.algorithms import get_algorithm

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # digits-sized matrices: more threads only add overhead
    try:
        return _train_baseline_1(
            get_algorithm, torch, name, sizes, init, data, seed, epochs, batch_size, lr
        )
    finally:
        torch.set_num_threads(threads)


def _train_baseline_1(
    get_algorithm, torch, name, sizes, init, data, seed, epochs, batch_size, lr
) -> dict[str, Any]:
    torch.manual_seed(seed)
    alg = get_algorithm(name)(sizes, "tanh", seed=seed, device="cpu", lr=lr)
    shared = 0
    with torch.no_grad():
        for l, (w, b) in enumerate(init):
            if l < len(alg.W) and tuple(alg.W[l].shape) == w.shape:
                alg.W[l].copy_(torch.from_numpy(w))
                alg.b[l].copy_(torch.from_numpy(b))
                shared += 1
    x = torch.from_numpy(data.x_train)
    y = torch.from_numpy(data.y_train)
    rng = np.random.default_rng(seed)
    curve = [(0, alg.accuracy(data.x_test, data.y_test))]
    t0 = time.perf_counter()
    for epoch in range(1, epochs + 1):
        order = torch.from_numpy(rng.permutation(len(x)))
        for i in range(0, len(x), batch_size):
            idx = order[i : i + batch_size]
            alg.train_batch(alg.as_tensor(x[idx]), alg.as_tensor(y[idx], torch.int64))
        curve.append((epoch * len(x), alg.accuracy(data.x_test, data.y_test)))
    return {"curve": curve, "seconds": time.perf_counter() - t0, "layers_shared": shared}


def run_compare(
    arch: str = "64-16-10",
    seeds=(0, 1, 2),
    epochs: int = 30,
    baselines=BASELINES,
    batch_size: int = 32,
    lr: float = 0.01,
    n_probe: int = 100,
    progress: bool = False,
) -> dict[str, Any]:
    """Run everything for one architecture; returns a JSON-able dict (see module doc)."""
    from neurotp.data import load_dataset

    sizes = parse_arch(arch)
    data = load_dataset("digits")
    probe_idx = np.random.default_rng(123).choice(len(data.x_train), n_probe, replace=False)
    probe = (data.x_train[probe_idx].astype(np.float64), data.y_train[probe_idx])
    runs: dict[str, list[dict[str, Any]]] = {}
    for seed in seeds:
        circuit = tp_circuit(sizes, name=f"tp_{arch}", seed=seed, epochs=epochs)
        c_res = _train_circuit(circuit, data, probe, record_alignment=True)
        init_state = c_res["sim"].comp.initial_state()
        init = [
            (w.astype(np.float32), b.astype(np.float32))
            for w, b in zip(*_forward_weights(c_res["sim"].comp, init_state), strict=True)
        ]
        c_res.pop("sim")
        runs.setdefault("circuit", []).append(c_res)
        frozen = tp_circuit(
            sizes,
            name=f"tp_{arch}_frozen",
            seed=seed,
            epochs=epochs,
            frozen=tuple(range(1, len(sizes) - 1)),
        )
        f_res = _train_circuit(frozen, data, probe, record_alignment=False)
        f_res.pop("sim")
        runs.setdefault("circuit_frozen_hidden", []).append(f_res)
        for name in baselines:
            runs.setdefault(name, []).append(
                _train_baseline(name, sizes, init, data, seed, epochs, batch_size, lr)
            )
        if progress:
            print(f"  {arch} seed {seed} done", flush=True)
    return {
        "arch": arch,
        "sizes": list(sizes),
        "seeds": list(seeds),
        "epochs": epochs,
        "batch_size_baselines": batch_size,
        "lr_baselines": lr,
        "n_probe": n_probe,
        "runs": runs,
        "summary": summarize(runs),
    }


def _forward_weights(comp, state):
    net = read_network(comp, state)
    return net.W, net.b


def summarize(runs: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, rs in runs.items():
        final = np.array([r["curve"][-1][1] for r in rs])
        row: dict[str, Any] = {
            "final_test_accuracy_mean": float(final.mean()),
            "final_test_accuracy_std": float(final.std()),
            "samples_seen": rs[0]["curve"][-1][0],
            "seconds_mean": float(np.mean([r["seconds"] for r in rs])),
        }
        if rs[0].get("alignment"):
            # average over epochs after the first, then over seeds
            for key in ("vs_bp", "vs_dtp", "dtp_vs_bp", "saturated"):
                per_seed = [np.nanmean([a[key] for a in r["alignment"][1:]], axis=0) for r in rs]
                row[f"angle_{key}_mean"] = np.mean(per_seed, axis=0).tolist()
                row[f"angle_{key}_std"] = np.std(per_seed, axis=0).tolist()
            rec = [r["reconstruction_mse"][-1] for r in rs]
            row["final_reconstruction_mse_mean"] = np.mean(rec, axis=0).tolist()
        if "layers_shared" in rs[0]:
            row["layers_shared_with_circuit_init"] = rs[0]["layers_shared"]
        out[name] = row
    return out


LABELS = {
    "circuit": "circuit (prediction + reconstruction rules)",
    "circuit_frozen_hidden": "circuit, hidden plasticity off (control)",
    "bp": "BP",
    "fa": "FA",
    "tp": "TP",
    "dtp": "DTP",
    "alg5": "Algorithm 5",
}


def markdown_table(result: dict[str, Any]) -> str:
    s = result["summary"]
    n_layers = len(result["sizes"]) - 1
    lines = [
        f"### digits {result['arch']} — {len(result['seeds'])} seeds, {result['epochs']} epochs",
        "",
        "| method | test accuracy (%) | samples seen | angle to BP per layer (°) "
        "| angle to DTP per layer (°) | hidden short-loop reconstruction MSE |",
        "|---|---|---|---|---|---|",
    ]
    for name, row in s.items():
        mean, std = 100 * row["final_test_accuracy_mean"], 100 * row["final_test_accuracy_std"]
        acc = f"{mean:.2f} ± {std:.2f}"
        if "angle_vs_bp_mean" in row:
            bp = ", ".join(
                f"{m:.1f} ± {d:.1f}"
                for m, d in zip(row["angle_vs_bp_mean"], row["angle_vs_bp_std"], strict=True)
            )
            dtp = ", ".join(
                f"{m:.1f} ± {d:.1f}"
                for m, d in zip(row["angle_vs_dtp_mean"], row["angle_vs_dtp_std"], strict=True)
            )
            rec = ", ".join(f"{v:.4f}" for v in row["final_reconstruction_mse_mean"])
        else:
            bp = dtp = rec = "—"
        label = LABELS.get(name, name)
        if row.get("layers_shared_with_circuit_init", n_layers) < n_layers:
            label += (
                f" (first {row['layers_shared_with_circuit_init']} layers from the circuit's init)"
            )
        lines.append(f"| {label} | {acc} | {row['samples_seen']} | {bp} | {dtp} | {rec} |")
    lines.append("")
    lines.append("Angles: layer 1 first; mean over epochs 2..end, then mean ± std over seeds.")
    c = s.get("circuit", {})
    if "angle_dtp_vs_bp_mean" in c:
        ref = ", ".join(f"{m:.1f}" for m in c["angle_dtp_vs_bp_mean"])
        sat = ", ".join(f"{100 * m:.0f} %" for m in c["angle_saturated_mean"])
        lines.append(
            f"Reference on the circuit's own network: the DTP update (with φ′) is {ref}° from "
            f"the BP gradient; hidden rates with |h| > 0.99: {sat}."
        )
    return "\n".join(lines)


def plot_learning_curves(result: dict[str, Any], path: str | Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for name, rs in result["runs"].items():
        xs = np.array([p[0] for p in rs[0]["curve"]])
        ys = 100 * np.array([[p[1] for p in r["curve"]] for r in rs])
        m, sd = ys.mean(0), ys.std(0)
        style = "--" if "frozen" in name else "-"
        ax.plot(xs, m, style, label=LABELS.get(name, name), lw=1.6)
        ax.fill_between(xs, m - sd, m + sd, alpha=0.15)
    ax.set_xlabel("training samples seen")
    ax.set_ylabel("test accuracy (%)")
    ax.set_ylim(max(0, ax.get_ylim()[0]), 100)
    ax.set_title(f"digits {result['arch']}: mean ± std over {len(result['seeds'])} seeds")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)


def plot_alignment(result: dict[str, Any], path: str | Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rs = result["runs"]["circuit"]
    n_layers = len(result["sizes"]) - 1
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), sharey=True)
    for ax, key, title in zip(
        axes,
        ("vs_bp", "vs_dtp"),
        ("circuit update vs BP gradient", "circuit update vs DTP update"),
        strict=True,
    ):
        for l in range(n_layers):
            ep = np.array([a["epoch"] for a in rs[0]["alignment"]])
            ang = np.array([[a[key][l] for a in r["alignment"]] for r in rs])
            m, sd = np.nanmean(ang, 0), np.nanstd(ang, 0)
            ax.plot(ep, m, marker="o", ms=3, label=f"layer {l + 1}")
            ax.fill_between(ep, m - sd, m + sd, alpha=0.15)
        ax.axhline(90, color="0.5", lw=0.8, ls=":")
        ax.set_xlabel("epoch")
        ax.set_title(title, fontsize=10)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("angle (degrees)")
    axes[0].legend(fontsize=8)
    fig.suptitle(
        f"digits {result['arch']}: update alignment per layer (probe batch of "
        f"{result['n_probe']}), mean ± std over {len(result['seeds'])} seeds",
        fontsize=10,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)


def write_outputs(results: list[dict[str, Any]], out: str | Path) -> list[Path]:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    md = "\n\n".join(markdown_table(r) for r in results) + "\n"
    (out / "compare.md").write_text(md)
    (out / "compare.json").write_text(json.dumps(results, indent=1) + "\n")
    paths = [out / "compare.md", out / "compare.json"]
    for r in results:
        tag = r["arch"]
        plot_learning_curves(r, out / f"learning_curves_{tag}.png")
        plot_alignment(r, out / f"alignment_{tag}.png")
        paths += [out / f"learning_curves_{tag}.png", out / f"alignment_{tag}.png"]
    return paths


def cached_compare(
    arch: str,
    cache_dir: str | Path,
    *,
    force: bool = False,
    progress: bool = False,
    **kwargs: Any,
) -> dict[str, Any]:
    """:func:`run_compare`, cached as JSON keyed by its full settings (figures share one run;
    ``progress`` shows run_compare's bar and is not a setting)."""
    import hashlib
    import inspect

    defaults = {
        k: p.default
        for k, p in inspect.signature(run_compare).parameters.items()
        if k not in ("arch", "progress")
    }
    unknown = sorted(set(kwargs) - set(defaults))
    if unknown:
        raise ValueError(
            f"cached_compare: unknown setting(s) {unknown}; allowed: {sorted(defaults)}"
        )
    settings = {"arch": arch, **defaults, **kwargs}
    settings = {k: list(v) if isinstance(v, tuple) else v for k, v in settings.items()}
    # the key covers the settings and the circuit the builder makes, so edits recompute
    settings["circuit"] = tp_circuit(parse_arch(arch)).to_dict()
    key = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:10]
    path = Path(cache_dir) / f"compare_{arch}_{key}.json"
    if path.exists() and not force:
        return json.loads(path.read_text())
    text = json.dumps(run_compare(arch, progress=progress, **kwargs))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text)
    tmp.replace(path)
    return json.loads(text)  # the same plain JSON types as a later cache hit


def figure_main(argv: list[str] | None, plot, out: Path, description: str) -> Path:
    """Shared command line of the comparison figures (figures/fig_learning_curves.py and
    fig_alignment.py): compute or reuse the cached comparison, then ``plot(result, out)``."""
    import argparse

    p = argparse.ArgumentParser(description=description)
    p.add_argument("--arch", default="64-16-10")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--force", action="store_true", help="recompute even if cached")
    p.add_argument("--out", default=str(out))
    a = p.parse_args(argv)
    result = cached_compare(
        a.arch, out.parent / "_cache", force=a.force, seeds=tuple(a.seeds), epochs=a.epochs
    )
    plot(result, a.out)
    print(f"saved {a.out}")
    return Path(a.out)
