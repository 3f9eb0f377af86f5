"""Train one supervised algorithm on one data set: the ``train(config)`` API behind
``neurotp train``.

A config is a flat dict (or a YAML file with the same keys, read with ``yaml.safe_load``);
:data:`DEFAULTS` lists every key. Algorithm-specific hyper-parameters go in ``hyper``
(e.g. ``{"eta": 0.5, "noise": 0.1}`` for DTP); ``lr`` is a shortcut for ``hyper.lr``.
Outputs, when ``out`` is set (``neurotp train`` defaults it to ``runs/<config name or
algorithm>``): ``metrics.json`` (one entry per epoch: train loss, test accuracy, learning
rate, seconds of training), ``config.yaml`` (the resolved config) and
``learning_curve.png``. A non-empty ``out`` is refused unless ``overwrite`` is true.

:func:`train_supervised_tp` is the semi-supervised experiment of Algorithm 5 (a fraction of
the labels kept), behind ``python -m neurotp.commands.supervised_tp``.
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
    "threads": 1,  # torch CPU threads; see THREADS_HELP
    "out": None,
    "overwrite": False,  # replace the files of a non-empty ``out``
    "progress": True,  # tqdm bar; without it, one line per epoch on stderr ...
    "log_epochs": True,  # ... unless this is False too
}


LR_SCHEDULES = ("constant", "cosine")
THREADS_HELP = (
    "torch CPU threads (default 1: the configs' numbers were measured with 1 thread, a sum "
    "split over another number of threads can differ in the last bits, and on a loaded "
    "2-core machine the torch default (all cores) was 7x slower than 1 thread at "
    "784-256x5, batch 128)"
)


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
    threads = cfg["threads"]
    if threads is not None and (
        not isinstance(threads, int) or isinstance(threads, bool) or threads < 1
    ):
        raise ValueError(
            f"threads: must be a positive int (or null: torch's default), got {threads!r}"
        )
    if not isinstance(cfg["overwrite"], bool):
        raise ValueError(f"overwrite: must be true or false, got {cfg['overwrite']!r}")
    return cfg


def check_out(out: str | os.PathLike, overwrite: bool) -> Path:
    """``out`` as a Path; a non-empty folder (or a file) is refused unless ``overwrite``."""
    path = Path(out)
    if path.exists() and not path.is_dir():
        raise ValueError(f"out: {path} is a file, not a folder")
    if path.is_dir() and any(path.iterdir()) and not overwrite:
        held = ", ".join(sorted(p.name for p in path.iterdir())[:4])
        raise ValueError(
            f"out: {path} is not empty (holds {held}); pass --overwrite to replace its files "
            "or choose another --out"
        )
    return path


def lr_schedulers(alg: Any, schedule: str, epochs: int) -> list[Any]:
    """One ``torch.optim.lr_scheduler.LambdaLR`` per optimizer of ``alg`` following
    :func:`lr_factor` (stepped once per epoch); none for ``"constant"``."""
    if schedule == "constant":
        return []
    import torch

    optimizers = alg.optimizers()
    if not optimizers:
        raise ValueError(f"lr_schedule: {type(alg).__name__} has no optimizer; use 'constant'")
    return [
        torch.optim.lr_scheduler.LambdaLR(
            opt, lambda e: lr_factor(schedule, min(e + 1, epochs), epochs)
        )
        for opt in optimizers
    ]


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
    out = check_out(cfg["out"], cfg["overwrite"]) if cfg["out"] else None
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
    schedulers = lr_schedulers(alg, cfg["lr_schedule"], cfg["epochs"])
    for epoch in range(1, cfg["epochs"] + 1):

        def on_batch(out: dict[str, float]) -> None:
            if bar is not None:
                bar.update(1)

        lr_now = alg.optimizers()[0].param_groups[0]["lr"] if alg.optimizers() else None
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
        for sched in schedulers:
            sched.step()
        acc = alg.accuracy(data.x_test, data.y_test)
        history.append(
            {
                "epoch": epoch,
                "train_loss": loss,
                "test_accuracy": acc,
                "lr": lr_now,
                "seconds": seconds,
            }
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
    resolved = {**cfg, "device": str(device), "hyper": {**alg.hyper}, "overwrite": False}
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
    if out is not None:
        write_outputs(result, out)
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


def train_supervised_tp(
    dataset: str = "digits",
    hidden: Sequence[int] = (32, 32),
    epochs: int = 30,
    batch_size: int = 32,
    labeled_fraction: float = 1.0,
    seed: int = 0,
    device: str = "auto",
    n_train: int | None = None,
    verbose: bool = False,
    **hyper: Any,
) -> dict[str, Any]:
    """Train Algorithm 5 on ``neurotp.data`` set ``dataset`` and report Algorithm 4 accuracy.

    ``hidden`` are the widths of ``h_1 .. h_{L-1}``; a fraction ``labeled_fraction`` of the
    training examples keep their label (the rest are used with ``m = 0``). Returns a dict with
    ``test_accuracy``, ``train_accuracy``, ``seconds`` and per-epoch ``history``.
    """
    import torch

    from neurotp.algorithms.supervised_tp import SupervisedTargetProp, labeled_mask
    from neurotp.data.datasets import load_dataset

    ds = load_dataset(dataset, n_train=n_train, seed=seed)
    sizes = [ds.x_train.shape[1], *hidden, ds.n_classes]
    alg = SupervisedTargetProp(
        sizes, hyper.pop("activation", "tanh"), device=device, seed=seed, **hyper
    )
    lab = labeled_mask(len(ds.x_train), labeled_fraction, seed)
    x_all = alg.as_tensor(ds.x_train)
    y_all = alg.as_tensor(ds.y_train, torch.int64)
    lab_all = torch.as_tensor(lab, device=alg.device)
    rng = np.random.default_rng(seed)
    history: list[dict[str, float]] = []
    start = time.perf_counter()
    for epoch in range(int(epochs)):
        order = torch.as_tensor(rng.permutation(len(x_all)), device=alg.device)
        total, n_batches = 0.0, 0
        for i in range(0, len(order), int(batch_size)):
            idx = order[i : i + int(batch_size)]
            total += alg.train_batch(x_all[idx], y_all[idx], lab_all[idx])["loss"]
            n_batches += 1
        record = {
            "epoch": epoch + 1,
            "loss": total / max(n_batches, 1),
            "test_accuracy": alg.accuracy(ds.x_test, ds.y_test),
            "seconds": time.perf_counter() - start,
        }
        history.append(record)
        if verbose:
            print(", ".join(f"{k}={v:.4g}" for k, v in record.items()), flush=True)
    return {
        "dataset": dataset,
        "sizes": sizes,
        "hyper": dict(alg.hyper),
        "labeled_fraction": labeled_fraction,
        "n_labeled": int(lab.sum()),
        "test_accuracy": alg.accuracy(ds.x_test, ds.y_test),
        "train_accuracy": alg.accuracy(ds.x_train, ds.y_train),
        "seconds": time.perf_counter() - start,
        "history": history,
    }
