"""The ``neurotp compare`` cache: results stored as JSON keyed by their full settings (and
the circuit the builder makes), shared by the command and the figures that read it
(figures/fig_learning_curves.py, figures/fig_alignment.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from neurotp.circuit.library import tp_circuit
from neurotp.compare.experiment import check_settings, parse_arch, run_compare
from neurotp.compare.temporal import load_temporal


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
    check_settings(
        arch,
        tuple(settings["seeds"]),
        settings["epochs"],
        tuple(settings["baselines"]),
        settings["batch_size"],
        settings["lr"],
        settings["n_probe"],
    )
    settings = {k: list(v) if isinstance(v, tuple) else v for k, v in settings.items()}
    # the key covers the settings and the circuit the builder makes, so edits recompute
    settings["circuit"] = tp_circuit(parse_arch(arch)).to_dict()
    # temporal circuits by what they hold, not where they lie; none: the key it had before them
    if settings["temporal"]:
        settings["temporal"] = [c.to_dict() for c in load_temporal(settings["temporal"])]
    else:
        del settings["temporal"]
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
