"""Train one supervised algorithm on one data set: the ``train(config)`` API behind
``neurotp train``.

A config is a flat dict (or a YAML file with the same keys, read with ``yaml.safe_load``);
:data:`DEFAULTS` lists every key. Algorithm-specific hyper-parameters go in ``hyper``
(e.g. ``{"eta": 0.5, "noise": 0.1}`` for DTP); ``lr`` is a shortcut for ``hyper.lr``.
Outputs, when ``out`` is set: ``metrics.json`` (one entry per epoch: train loss, test
accuracy, seconds of training), ``config.yaml`` (the resolved config) and
``learning_curve.png``.
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import yaml

DEFAULTS: dict[str, Any] = {
    "algorithm": "bp",
    "dataset": "digits",
    "data_dir": None,
    "n_train": None,
    "n_test": None,
    "hidden": "256x5",
    "activation": "tanh",
    "sign_layers": [],
    "epochs": 10,
    "batch_size": 128,
    "lr": None,
    "lr_schedule": "constant",  # or "cosine": lr × ½(1 + cos(π (epoch-1)/epochs)) per epoch
    "hyper": {},
    "seed": 0,
    "device": "auto",
    "threads": None,
    "out": None,
    "progress": True,  # tqdm bar; without it, one line per epoch on stderr ...
    "log_epochs": True,  # ... unless this is False too
}


LR_SCHEDULES = ("constant", "cosine")


def lr_factor(schedule: str, epoch: int, epochs: int) -> float:
    """Learning-rate multiplier for ``epoch`` (1-based) of ``epochs``."""
    if schedule == "cosine":
        return 0.5 * (1.0 + math.cos(math.pi * (epoch - 1) / epochs))
    return 1.0


def parse_hidden(spec: str | int | Sequence[int]) -> list[int]:
    """``"256x5"`` -> ``[256]*5``; ``"500,500"`` or ``[500, 500]`` as given; ``""`` -> ``[]``."""
    if isinstance(spec, int) and not isinstance(spec, bool):
        return [spec]
    if isinstance(spec, str):
        s = spec.strip().replace(" ", "")
        if not s:
            return []
        try:
            if "x" in s and "," not in s:
                width, depth = s.split("x")
                out = [int(width)] * int(depth)
            else:
                out = [int(v) for v in s.split(",")]
        except ValueError:
            raise ValueError(
                f"hidden: cannot parse {spec!r}; use WIDTHxDEPTH (256x5) or a list (500,500)"
            ) from None
    else:
        out = [int(v) for v in spec]
    if any(v <= 0 for v in out):
        raise ValueError(f"hidden: widths must be positive, got {spec!r}")
    return out


def load_config(path: str | os.PathLike) -> dict[str, Any]:
    """Read a YAML config (safe loader); unknown keys raise ``ValueError``."""
    with open(path, encoding="utf-8") as fh:
        data = yaml.safe_load(fh) or {}
    if not isinstance(data, dict):
        raise ValueError(f"{path}: config must be a mapping of keys to values")
    check_keys(data, source=str(path))
    return data


def check_keys(config: dict[str, Any], source: str = "config") -> None:
    unknown = sorted(set(config) - set(DEFAULTS))
    if unknown:
        raise ValueError(f"{source}: unknown key(s) {unknown}; allowed: {', '.join(DEFAULTS)}")


def resolve_config(config: dict[str, Any]) -> dict[str, Any]:
    """Fill defaults and validate values; returns a new dict."""
    check_keys(config)
    cfg = {**DEFAULTS, **config}
    cfg["hyper"] = dict(cfg.get("hyper") or {})
    cfg["sign_layers"] = [int(v) for v in (cfg.get("sign_layers") or [])]
    cfg["hidden"] = parse_hidden(cfg["hidden"])
    from neurotp.algorithms.registry import ALGORITHM_NAMES
    from neurotp.data.datasets import DATASET_NAMES

    if cfg["algorithm"] not in ALGORITHM_NAMES:
        raise ValueError(
            f"algorithm: unknown {cfg['algorithm']!r}; allowed: {', '.join(ALGORITHM_NAMES)}"
        )
    if cfg["dataset"] not in DATASET_NAMES:
        raise ValueError(
            f"dataset: unknown {cfg['dataset']!r}; allowed: {', '.join(DATASET_NAMES)}"
        )
    for key in ("epochs", "batch_size"):
        if not isinstance(cfg[key], int) or isinstance(cfg[key], bool) or cfg[key] < 1:
            raise ValueError(f"{key}: must be a positive int, got {cfg[key]!r}")
    if cfg["lr_schedule"] not in LR_SCHEDULES:
        raise ValueError(
            f"lr_schedule: unknown {cfg['lr_schedule']!r}; allowed: {', '.join(LR_SCHEDULES)}"
        )
    if cfg["lr"] is not None:
        cfg["lr"] = float(cfg["lr"])
        if cfg["lr"] <= 0:
            raise ValueError(f"lr: must be > 0, got {cfg['lr']!r}")
    return cfg


def run_epoch(
    alg: Any,
    x: Any,
    y: Any,
    batch_size: int,
    generator: Any,
    on_batch: Callable[[dict[str, float]], None] | None = None,
) -> float:
    """One pass over ``(x, y)`` (tensors on the algorithm's device) in a shuffled order
    drawn from ``generator``; returns the example-weighted mean training loss."""
    import torch

    perm = torch.randperm(len(x), generator=generator).to(x.device)
    xs, ys = x[perm], y[perm]
    total, n = 0.0, 0
    for i in range(0, len(xs), batch_size):
        xb, yb = xs[i : i + batch_size], ys[i : i + batch_size]
        out = alg.train_batch(xb, yb)
        total += out["loss"] * len(xb)
        n += len(xb)
        if on_batch is not None:
            on_batch(out)
    return total / max(n, 1)


def build_algorithm(cfg: dict[str, Any], n_in: int, n_out: int) -> Any:
    """Instantiate ``cfg['algorithm']`` for sizes ``n_in-hidden-n_out``."""
    from neurotp.algorithms.registry import get_algorithm

    try:
        cls = get_algorithm(cfg["algorithm"])
    except ImportError as exc:
        raise RuntimeError(f"algorithm {cfg['algorithm']!r} is not available: {exc}") from exc
    hyper = dict(cfg["hyper"])
    if cfg["lr"] is not None:
        hyper["lr"] = cfg["lr"]
    if cfg["sign_layers"]:
        hyper["sign_layers"] = tuple(cfg["sign_layers"])
    return cls(
        [n_in, *cfg["hidden"], n_out],
        cfg["activation"],
        device=cfg["device"],
        seed=cfg["seed"],
        **hyper,
    )


def train(config: dict[str, Any]) -> dict[str, Any]:
    """Train per ``config`` (see :data:`DEFAULTS`); returns ``{"config", "epochs",
    "final_test_accuracy", "best_test_accuracy", "algorithm"}`` and writes the outputs if
    ``config["out"]`` is set. Same config and seed on the CPU -> the same numbers."""
    import torch

    cfg = resolve_config(config)
    if cfg["threads"]:
        torch.set_num_threads(int(cfg["threads"]))
    from neurotp.algorithms.layers import resolve_device
    from neurotp.data import load_dataset

    device = resolve_device(cfg["device"])
    data = load_dataset(
        cfg["dataset"],
        root=cfg["data_dir"],
        n_train=cfg["n_train"],
        n_test=cfg["n_test"],
        seed=cfg["seed"],
    )
    alg = build_algorithm({**cfg, "device": device}, data.x_train.shape[1], data.n_classes)
    x = torch.from_numpy(data.x_train).to(device)
    y = torch.from_numpy(data.y_train).to(device)
    gen = torch.Generator().manual_seed(cfg["seed"])
    history: list[dict[str, Any]] = []
    bar = None
    if cfg["progress"]:
        from tqdm.auto import tqdm

        n_batches = -(-len(x) // cfg["batch_size"])
        bar = tqdm(
            total=cfg["epochs"] * n_batches,
            desc=f"{cfg['algorithm']} {cfg['dataset']}",
            unit="batch",
            leave=False,
        )
    for epoch in range(1, cfg["epochs"] + 1):

        def on_batch(out: dict[str, float]) -> None:
            if bar is not None:
                bar.update(1)

        if cfg["lr_schedule"] != "constant":
            if not hasattr(alg, "scale_lr"):
                raise ValueError(
                    f"lr_schedule: {cfg['algorithm']} has no scale_lr(); use 'constant'"
                )
            alg.scale_lr(lr_factor(cfg["lr_schedule"], epoch, cfg["epochs"]))
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        t0 = time.perf_counter()
        loss = run_epoch(alg, x, y, cfg["batch_size"], gen, on_batch)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        seconds = time.perf_counter() - t0
        if not np.isfinite(loss):
            raise FloatingPointError(
                f"{cfg['algorithm']}: training loss became {loss} in epoch {epoch}; lower lr "
                f"(now {alg.hyper.get('lr')}) or check the config"
            )
        acc = alg.accuracy(data.x_test, data.y_test)
        history.append(
            {"epoch": epoch, "train_loss": loss, "test_accuracy": acc, "seconds": seconds}
        )
        if bar is not None:
            bar.set_postfix(loss=f"{loss:.4f}", test_acc=f"{acc:.4f}")
        elif cfg["log_epochs"]:  # one line per epoch instead of a bar (logs, batch jobs)
            print(
                f"epoch {epoch}/{cfg['epochs']}: train loss {loss:.4f}, test accuracy "
                f"{acc:.4f}, {seconds:.1f} s",
                file=sys.stderr,
                flush=True,
            )
    if bar is not None:
        bar.close()
    resolved = {**cfg, "device": str(device), "hyper": {**alg.hyper}}
    resolved["hyper"]["sign_layers"] = list(resolved["hyper"].get("sign_layers", ()))
    result = {
        "algorithm": cfg["algorithm"],
        "config": resolved,
        "epochs": history,
        "final_test_accuracy": history[-1]["test_accuracy"],
        "best_test_accuracy": max(h["test_accuracy"] for h in history),
        "n_train": int(len(x)),
        "n_test": int(len(data.x_test)),
        "sizes": list(alg.sizes),
    }
    if cfg["out"]:
        write_outputs(result, Path(cfg["out"]))
    return result


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (np.integer, np.floating)):
        return value.item()
    return value


def write_outputs(result: dict[str, Any], out: Path) -> None:
    """Write ``metrics.json``, ``config.yaml`` and ``learning_curve.png`` into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    metrics = {k: v for k, v in result.items() if k != "config"}
    (out / "metrics.json").write_text(json.dumps(_plain(metrics), indent=2) + "\n")
    cfg = {k: v for k, v in result["config"].items() if k != "out"}
    (out / "config.yaml").write_text(yaml.safe_dump(_plain(cfg), sort_keys=False))
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ep = [h["epoch"] for h in result["epochs"]]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.5))
    ax1.plot(ep, [h["train_loss"] for h in result["epochs"]], marker="o", ms=3)
    ax1.set(xlabel="epoch", ylabel="training cross-entropy", yscale="log")
    ax2.plot(ep, [100 * h["test_accuracy"] for h in result["epochs"]], marker="o", ms=3)
    ax2.set(xlabel="epoch", ylabel="test accuracy (%)")
    sizes = "-".join(map(str, result["sizes"]))
    final = 100 * result["final_test_accuracy"]
    fig.suptitle(
        f"{result['algorithm']} on {result['config']['dataset']} ({sizes}, "
        f"{result['config']['activation']}): final {final:.2f} %"
    )
    fig.tight_layout()
    fig.savefig(out / "learning_curve.png", dpi=120)
    plt.close(fig)
