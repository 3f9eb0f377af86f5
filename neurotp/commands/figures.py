"""``neurotp figures [NAME ...|all]``: rebuild figures from the scripts in ``figures/``.

Each ``figures/fig_<name>.py`` has a ``main(argv)``; its computation is cached under
``figures/_cache/`` apart from plotting, and its PNGs land in ``figures/``.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def figure_dir() -> Path:
    # figures/ lives at the repository root, next to the neurotp package
    return Path(__file__).resolve().parents[2] / "figures"


def cached_json(
    name: str,
    key: Any,
    compute: Callable[[], Any],
    force: bool = False,
    cache: Path | None = None,
) -> Any:
    """A figure's computed numbers, cached apart from plotting: ``<cache>/<name>_<h>.json``
    (``cache``: ``figures/_cache``; h: a hash of ``key``, a JSON-able value holding the
    settings and the texts of the files the numbers depend on, so that an edit recomputes).
    Read it if there (unless ``force``); otherwise ``compute()``, write it, return it."""
    h = hashlib.sha256(json.dumps(key).encode()).hexdigest()[:10]
    path = (cache or figure_dir() / "_cache") / f"{name}_{h}.json"
    if path.exists() and not force:
        return json.loads(path.read_text())
    d = compute()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(d))
    return d


def available() -> dict[str, Path]:
    return {p.stem.removeprefix("fig_"): p for p in sorted(figure_dir().glob("fig_*.py"))}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("figures", help="rebuild figures (figures/fig_*.py) into figures/")
    p.add_argument("names", nargs="*", default=["all"], help="figure names, or 'all'")
    p.add_argument("--list", action="store_true", help="list the figure scripts")
    p.set_defaults(func=main)


def load_figure(name: str | Path) -> Any:
    """The script ``figures/fig_<name>.py`` (or the file ``name``) as a module: the scripts
    are not a package, so this is how the CLI and the tests import one."""
    path = Path(name) if str(name).endswith(".py") else figure_dir() / f"fig_{name}.py"
    spec = importlib.util.spec_from_file_location(f"neurotp_fig_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def run_figure(path: Path) -> float:
    module = load_figure(path)
    t0 = time.perf_counter()
    module.main([])
    return time.perf_counter() - t0


def main(args: argparse.Namespace) -> int:
    figs = available()
    if args.list:
        for name, path in figs.items():
            print(f"{name:<20} {path}")
        return 0
    names = list(figs) if "all" in args.names else args.names
    unknown = [n for n in names if n not in figs]
    if unknown:
        raise ValueError(f"figures: unknown name(s) {unknown}; allowed: {', '.join(figs)}, all")
    for name in names:
        secs = run_figure(figs[name])
        print(f"figure {name}: {secs:.1f} s")
    return 0
