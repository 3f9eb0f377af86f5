"""What time does: test accuracy of digits_temporal against the loop delay and the trace τ.

circuits/digits_temporal.yaml learns in time: the label is clamped ``label_delay`` ms after
the sample's onset, and what the top loop returns changes: Y's compartment (fed by L and,
negatively, by Y itself through a delay as long as the path through L) goes from 0 to
label − y; H's compartment receives that through the learned feedback G; each compartment
nudges its soma by gain·a (gain·(a − ā) where it has a rest trace ā). The forward rules learn
from the compartment times the presynaptic trace while the nudge lasts. Each axis changes one
timing at the fixed presentation time (the rest of the circuit as in the file) and gives the
final test accuracy, mean ± std over seeds:

- ``feedback``: the delay of the feedback projection G (Y.apical → H.apical);
- ``label``: the delay of the label's path L → Y.apical, with Y → Y.apical moved by the same
  amount (it must match the path through L, or Y's compartment is not 0 at rest);
- ``apical``: τ of the two compartments (H.apical and Y.apical together);
- ``pre``: τ of X̄, the presynaptic trace of the hidden rule (W1);
- ``post``: τ of H̄, the presynaptic trace of W2 and the post-side signal of G's rule;
- ``apical_fine``, ``pre_fine``, ``post_fine``: the three τ axes down to 0.5 ms, which needs
  the step at 0.5 ms (:data:`FINE`: every relay a relay again at that step), each with its
  file value at that step beside it, drawn hollow on the τ panel;
- ``memory``: τ of X̄ with the feedback 20 ms late (the nudge lands in the next sample).

The axes are the table :data:`AXES` (field paths, as ``neurotp run --set`` writes them, and
the fields that move with each). For the first seed of every point it also measures what the
hidden soma receives from the label: its nudge over the labelled sample and the next one,
with the label clamped minus free (:func:`neurotp.metrics.nudge.nudge_course`), the check of
the explanation of where and why accuracy breaks.

Every point (axis value × seed) is cached in its own file under figures/_cache/time/ (the key:
the resolved circuit's hash, epochs, whether it measures the nudge), apart from plotting, so
an interrupted run resumes where it stopped and the circuit as it is runs once for all axes.
Each point also records the code that computed it (:func:`neurotp.provenance.source_hash`):
a point from other code is computed again (``--plot-only`` draws it, and says how many).

    python figures/fig_time.py [--circuit circuits/digits_temporal.yaml] [--seeds 0 1 2]
        [--epochs 0] [--n-train N] [--axes feedback label apical pre post ...] [--jobs 2]
        [--reference circuits/digits_temporal_frozen.yaml] [--force] [--plot-only]
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import os
import time
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from neurotp.metrics.nudge import DIAG_PRESENTATIONS, arrival, label_share, nudge_course

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CACHE = HERE / "_cache" / "time"
REFERENCE = "reference"  # the axis name of the --reference circuit's points


class Axis(NamedTuple):
    """One swept timing: ``values`` of the field ``path``; every field in ``follow`` is moved
    by the same amount (its own value in the circuit + value − the value of ``path``)."""

    label: str
    path: str
    values: tuple[float, ...]
    follow: tuple[str, ...] = ()
    diag: tuple[float, ...] = ()  # values whose nudge (measured on the first seed) is drawn
    scale: str = "linear"
    fixed: tuple[str, ...] = ()  # ``field=value`` overrides at every value of the axis
    of: str = ""  # drawn on the panel and in the colour of this axis (a variant of it)


DELAYS = (1.0, 2.0, 4.0, 8.0, 12.0, 16.0, 20.0)
TAUS = (1.0, 2.0, 5.0, 20.0, 50.0)
# τ below the 1 ms step needs a finer step (the engines integrate x̄ += dt/τ·(r − x̄), τ ≥ dt):
# the circuit at dt = 0.5 ms with every relay (soma and compartment, τ = dt at 1 ms) a relay
# again (τ = 0.5 ms), and Y → Y.apical at the length of the path through L, which is
# 1 + 0.5 + 1 ms now (Y's compartment stays exactly 0 until the label: tested). Each τ axis
# gets its 0.5 ms point and its value in the file at that step.
FINE = (
    "protocol.dt=0.5",
    "populations.H.tau=0.5",
    "populations.Y.tau=0.5",
    "populations.L.tau=0.5",
    "populations.H.apical.tau=0.5",
    "populations.Y.apical.tau=0.5",
    "projections.YYa.delay=2.5",
)
AXES: dict[str, Axis] = {
    "feedback": Axis(
        "delay of the feedback Y.apical → H.apical (G)",
        "projections.G.delay",
        DELAYS,
        diag=(1.0, 8.0, 16.0, 20.0),
    ),
    "label": Axis(
        "delay of the label's path L → Y.apical (and of Y → Y.apical with it)",
        "projections.LYa.delay",
        DELAYS,
        follow=("projections.YYa.delay",),
    ),
    "apical": Axis(
        "τ of the compartments (H.apical and Y.apical)",
        "populations.H.apical.tau",
        TAUS,
        follow=("populations.Y.apical.tau",),
        diag=(1.0, 5.0, 20.0, 50.0),
        scale="log",
    ),
    "pre": Axis("τ of X̄ (pre trace of W1)", "traces.X_bar.tau", TAUS, scale="log"),
    "post": Axis(
        "τ of H̄ (pre trace of W2, post trace of G)", "traces.H_bar.tau", TAUS, scale="log"
    ),
    "apical_fine": Axis(
        "τ of the compartments, at dt = 0.5 ms",
        "populations.H.apical.tau",
        (0.5, 1.0),
        follow=("populations.Y.apical.tau",),
        scale="log",
        fixed=FINE,
        of="apical",
    ),
    "pre_fine": Axis(
        "τ of X̄, at dt = 0.5 ms", "traces.X_bar.tau", (0.5, 5.0), scale="log", fixed=FINE, of="pre"
    ),
    "post_fine": Axis(
        "τ of H̄, at dt = 0.5 ms", "traces.H_bar.tau", (0.5, 5.0), scale="log", fixed=FINE, of="post"
    ),
    # the check of why a late nudge still teaches: X̄'s memory of the labelled sample
    "memory": Axis(
        "τ of X̄ with G's delay at 20 ms (the nudge lands in the next sample)",
        "traces.X_bar.tau",
        (1.0, 5.0, 20.0),
        scale="log",
        fixed=("projections.G.delay=20.0",),
    ),
}


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--circuit", default=str(ROOT / "circuits" / "digits_temporal.yaml"))
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    # the circuit's own 30: 96 runs (12 at dt = 0.5 ms), about 20 min on one core
    p.add_argument("--epochs", type=int, default=0, help="0 (default): the circuit's own")
    p.add_argument("--n-train", type=int, default=None, help="default: the circuit's")
    p.add_argument("--axes", nargs="+", default=list(AXES), choices=list(AXES))
    p.add_argument("--jobs", type=int, default=1, help="points run in this many processes")
    p.add_argument(
        "--reference",
        default=str(ROOT / "circuits" / "digits_temporal_frozen.yaml"),
        help="a circuit drawn as a line ('' for none; default: the frozen-hidden control)",
    )
    p.add_argument("--hidden", default="H", help="the population whose nudge is measured")
    p.add_argument("--force", action="store_true", help="recompute even if cached")
    p.add_argument("--plot-only", action="store_true", help="plot the cached points only")
    p.add_argument("--cache", default=str(CACHE), help="where the points are cached")
    p.add_argument("--out", default=str(HERE / "time.png"))
    return p.parse_args(argv)


# ---- the points --------------------------------------------------------------------------
def lookup(data: dict[str, Any], path: str) -> Any:
    """The value at a ``--set`` path (list items by name) in raw circuit data; ValueError
    naming the path and what is there otherwise."""
    node: Any = data
    for depth, key in enumerate(path.split(".")):
        where = ".".join(path.split(".")[: depth + 1])
        if isinstance(node, list):
            names = [x.get("name") for x in node if isinstance(x, dict)]
            if key not in names:
                raise ValueError(f"{where}: no item named {key!r}; allowed: {', '.join(names)}")
            node = node[names.index(key)]
        elif isinstance(node, dict):
            if key not in node:
                raise ValueError(f"{where}: no field {key!r}; allowed: {', '.join(node)}")
            node = node[key]
        else:
            raise ValueError(f"{where}: cannot descend into {node!r}")
    return node


def axis_overrides(data: dict[str, Any], axis: Axis, value: float) -> list[str]:
    """``field=value`` overrides that put ``axis`` at ``value``."""
    base = float(lookup(data, axis.path))
    # floats (1.0, not 1), so that the circuit as it is hashes the same from every axis
    out = list(axis.fixed) + [f"{axis.path}={float(value)!r}"]
    for f in axis.follow:
        moved = float(lookup(data, f)) + value - base
        if moved < 0 or (f.endswith(".tau") and moved == 0):
            raise ValueError(
                f"{f}: would become {moved:g} ms at {axis.path}={value:g}; allowed: values "
                f"of {axis.path} that keep it > 0"
            )
        out.append(f"{f}={float(moved)!r}")
    return out


class Point(NamedTuple):
    """One run: ``axis`` at ``value`` (its ``overrides``) for ``seed``; ``diag``: measure the
    nudge too; ``key``: the name of its cache file."""

    axis: str
    value: float
    seed: int
    overrides: list[str]
    diag: bool = False
    key: str = ""
    circuit: str = ""  # another circuit file (the reference line); "" for --circuit


def points(args: argparse.Namespace, text: str) -> list[Point]:
    """Every (axis, value, seed) of ``args``; points that resolve to the same circuit (the
    circuit as it is, on several axes) share a key, so they run once."""
    from neurotp.circuit.io import circuit_hash, yaml_load

    data = yaml_load(text)
    out = []
    for name in args.axes:
        ax = AXES[name]
        for v in ax.values:
            for s in args.seeds:
                over = axis_overrides(data, ax, v)
                diag = s == args.seeds[0]  # the first seed also measures the nudge
                resolved = circuit_hash(load(args.circuit, over, s, args.n_train))
                blob = [resolved, args.epochs, diag, args.hidden, DIAG_PRESENTATIONS]
                key = hashlib.sha256(json.dumps(blob).encode()).hexdigest()[:16]
                out.append(Point(name, v, s, over, diag, key))
    for s in args.seeds if args.reference else ():
        resolved = circuit_hash(load(args.reference, [], s, args.n_train))
        key = hashlib.sha256(json.dumps([resolved, args.epochs]).encode()).hexdigest()[:16]
        out.append(Point(REFERENCE, 0.0, s, [], False, key, args.reference))
    return out


def load(path: str, overrides: list[str], seed: int, n_train: int | None):
    from neurotp.circuit import load_circuit

    extra = [f"seed={seed}"] + ([f"protocol.n_train={n_train}"] if n_train else [])
    return load_circuit(path, overrides + extra)


def run_point(circuit: str, p: Point, epochs: int | None, n_train: int | None, hidden: str):
    """Train one point; its final test accuracy (and the nudge course for a diag point)."""
    from neurotp.engines.base import DivergenceError
    from neurotp.provenance import source_hash
    from neurotp.simulation import Simulation

    t0 = time.perf_counter()
    sim = Simulation(load(p.circuit or circuit, p.overrides, p.seed, n_train))
    out: dict[str, Any] = {"axis": p.axis, "value": p.value, "seed": p.seed, "dt": sim.comp.dt}
    out["code"] = source_hash()
    if p.circuit:
        out["circuit"] = p.circuit
    try:
        sim.train(epochs)
    except DivergenceError as exc:  # a diverging point is a result: chance accuracy
        out.update(test_accuracy=None, error=str(exc), seconds=time.perf_counter() - t0)
        return out
    last = sim.history[-1]
    out.update(test_accuracy=last.test_accuracy, val_accuracy=last.val_accuracy)
    if p.diag:
        out["nudge"] = nudge_course(sim, hidden)
    out["seconds"] = time.perf_counter() - t0
    return out


# ---- compute and plot --------------------------------------------------------------------
def _work(args: argparse.Namespace, todo: list[Point]) -> None:
    for p in todo:
        _store(
            Path(args.cache), p, run_point(args.circuit, p, args.epochs, args.n_train, args.hidden)
        )


def compute(args: argparse.Namespace, pts: list[Point]) -> list[dict]:
    """Run the points not cached yet, or cached by other code (all with ``--force``; none
    with ``--plot-only``), in ``--jobs`` forked processes (each writes its points' cache
    files), and read them all."""
    from neurotp.provenance import source_hash

    cache = Path(args.cache)
    cache.mkdir(parents=True, exist_ok=True)
    code = source_hash()
    have: dict[str, dict] = {}  # the cached points, each read once
    for p in pts:
        f = cache / f"{p.key}.json"
        if p.key not in have and f.exists():
            have[p.key] = json.loads(f.read_text())
    stale = {k for k, r in have.items() if r.get("code") != code}
    todo, seen = [], set()
    for p in pts:
        if p.key not in seen and (args.force or p.key not in have or p.key in stale):
            todo.append(p)
            seen.add(p.key)
    if args.plot_only and stale:
        print(
            f"--plot-only: {len(stale)} of the cached points were computed by other code "
            "(run without --plot-only to compute them again)",
            flush=True,
        )
    if todo and not args.plot_only:
        if args.jobs > 1:
            import multiprocessing as mp

            # compile (or load) the kernels once, here, so that the workers only read them
            run_point(args.circuit, Point("warm", 0.0, 0, []), 1, 20, args.hidden)
            ctx = mp.get_context("fork")  # nothing is pickled: the script need not be importable
            n = args.jobs
            procs = [ctx.Process(target=_work, args=(args, todo[i::n])) for i in range(n)]
            try:
                for pr in procs:
                    pr.start()
                for pr in procs:
                    pr.join()
            finally:  # interrupted: stop the workers too (their finished points stay cached)
                for pr in procs:
                    if pr.is_alive():
                        pr.terminate()
            failed = [pr.exitcode for pr in procs if pr.exitcode]
            if failed:
                raise RuntimeError(f"--jobs: {len(failed)} worker(s) failed (exit {failed})")
        else:
            _work(args, todo)
        for p in todo:  # what the workers wrote
            have[p.key] = json.loads((cache / f"{p.key}.json").read_text())
    return [{**have[p.key], "axis": p.axis, "value": p.value} for p in pts if p.key in have]


def _store(cache: Path, p: Point, res: dict) -> None:
    tmp = cache / f"{p.key}.json.tmp{os.getpid()}"
    tmp.write_text(json.dumps(res))
    tmp.replace(cache / f"{p.key}.json")  # a killed run leaves no half-written point
    acc = res["test_accuracy"]
    shown = "diverged" if acc is None else f"{100 * acc:.2f} %"
    print(f"{p.axis}={p.value:g} seed {p.seed}: {shown} ({res['seconds']:.0f} s)", flush=True)


def summary(rows: list[dict]) -> dict[str, dict[float, tuple[float, float, int]]]:
    """axis -> value -> (mean %, std %, seeds); a diverged seed counts as 10 % (chance)."""
    out: dict[str, dict[float, list[float]]] = {}
    for r in rows:
        acc = 0.1 if r["test_accuracy"] is None else r["test_accuracy"]
        out.setdefault(r["axis"], {}).setdefault(r["value"], []).append(100 * acc)
    return {
        a: {v: (float(np.mean(x)), float(np.std(x)), len(x)) for v, x in sorted(d.items())}
        for a, d in out.items()
    }


def at_dt(proto: dict, row: dict) -> dict:
    """The protocol with the step the row ran at (a point may change ``protocol.dt``)."""
    return {**proto, "dt": row.get("dt", proto["dt"])}


def plot(rows: list[dict], proto: dict, path: str, hidden: str = "H") -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    s = summary(rows)
    fig, axs = plt.subplots(2, 2, figsize=(12, 8.4))
    delays = [n for n in s if n in AXES and AXES[n].path.endswith(".delay")]
    taus = [n for n in s if n in AXES and n not in delays]
    low = min([60.0] + [m - sd - 5 for d in s.values() for m, sd, _ in d.values()])
    shares = {  # axis -> value -> the share of the label's nudge in its own clamp (first seed)
        n: {
            r["value"]: 100 * label_share(r["nudge"], at_dt(proto, r))[1]
            for r in rows
            if r["axis"] == n and r.get("nudge")
        }
        for n in AXES
        if any(r["axis"] == n and r.get("nudge") for r in rows)
    }
    for panel, names in ((axs[0, 0], delays), (axs[0, 1], taus)):
        twin = panel.twinx()
        main = [n for n in names if not AXES[n].of]
        for name in names:
            v = np.array(list(s[name]))
            m, sd = (np.array([s[name][x][i] for x in v]) for i in (0, 1))
            of = AXES[name].of
            parent = of or name  # a variant is drawn in its axis' colour (or its own, alone)
            color = f"C{main.index(parent) if parent in main else names.index(name)}"
            style = dict(marker="s", ms=5, mfc="none", ls="--") if of else dict(marker="o", ms=4)
            panel.errorbar(v, m, yerr=sd, capsize=3, color=color, label=AXES[name].label, **style)
            if name in shares and not of:  # a variant's shares would only repeat its axis
                sv = sorted(shares[name])
                twin.plot(sv, [shares[name][x] for x in sv], ls="--", lw=1, color=color, alpha=0.7)
            if AXES[name].scale == "log":
                panel.set_xscale("log")
        if REFERENCE in s:
            m, sd, _ = s[REFERENCE][0.0]
            ref = next(r for r in rows if r["axis"] == REFERENCE)
            name = Path(ref.get("circuit", REFERENCE)).stem
            panel.axhline(m, color="0.4", ls=":", lw=1.2, label=f"{name}: {m:.1f} ± {sd:.1f} %")
        panel.set_ylabel("test accuracy (%), mean ± std")
        panel.set_ylim(low, 100)
        twin.set_ylim(0, 105)
        twin.set_ylabel("dashed: % of the label's nudge at H inside its clamp", fontsize=8)
        panel.grid(alpha=0.3)
        if panel.get_legend_handles_labels()[0]:
            panel.legend(fontsize=7, loc="best")
    axs[0, 0].set_xlabel("delay (ms)")
    axs[0, 1].set_xlabel("τ (ms)")
    spp = proto["present"] + proto.get("gap", 0.0)
    shown = [n for n in AXES if AXES[n].diag and n in s][:2]
    for panel, name in zip(axs[1], shown, strict=False):
        diag = [r for r in rows if r["axis"] == name and r.get("nudge")]
        for r in sorted(diag, key=lambda r: r["value"]):
            if r["value"] not in AXES[name].diag:
                continue
            lab, sw = (np.asarray(r["nudge"][k]) for k in ("label", "switch"))
            peak = max(float(lab.max()), 1e-300)
            share = 100 * label_share(r["nudge"], at_dt(proto, r))[1]
            text = f"{r['value']:g} ms: {share:.0f} % in its clamp"
            (line,) = panel.plot(lab / peak, label=text)
            panel.plot(sw / peak, ls=":", color=line.get_color())
        panel.axvspan(proto["label_delay"], proto["present"], color="0.9", zorder=0)
        panel.axvline(spp, color="k", lw=0.8)
        panel.set_xlabel("ms after the labelled sample's onset (grey: its label; | next sample)")
        panel.set_ylabel(f"the label's nudge at {hidden}'s soma / its peak")
        panel.set_title(
            f"by {AXES[name].label}\n(dotted: the sample switches' nudge, label free, same scale)",
            fontsize=8,
        )
        panel.grid(alpha=0.3)
        if panel.get_legend_handles_labels()[0]:
            panel.legend(fontsize=7)
    for panel in axs[1][len(shown) :]:
        panel.set_visible(False)
    seeds = max((n for d in s.values() for *_, n in d.values()), default=0)
    fig.suptitle(
        f"digits_temporal: what time does (test accuracy, mean ± std over {seeds} seeds; "
        f"presentation {proto['present']:g} ms, label from {proto['label_delay']:g} ms)",
        fontsize=10,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> Path:
    a = parse(argv)
    a.epochs = a.epochs or None  # 0: the circuit's own
    text = Path(a.circuit).read_text()
    pts = points(a, text)
    rows = compute(a, pts)
    # the resolved protocol (every default filled in), as the points ran it
    proto = dataclasses.asdict(load(a.circuit, [], a.seeds[0], a.n_train).protocol)
    plot(rows, proto, a.out, a.hidden)
    for name, d in summary(rows).items():
        cells = ", ".join(f"{v:g}: {m:.1f} ± {sd:.1f}" for v, (m, sd, _) in d.items())
        print(f"{name}: {cells}")
    for r in rows:
        if r.get("nudge"):
            inside, share = label_share(r["nudge"], at_dt(proto, r))
            print(
                f"nudge {r['axis']}={r['value']:g} (seed {r['seed']}): the label's integrated over "
                f"its clamp {inside:.3f} (·ms), {100 * share:.0f} % of its effect; arrives at "
                f"{arrival(r['nudge'], at_dt(proto, r)):g} ms"
            )
    print(f"saved {a.out} ({len(rows)} of {len(pts)} points)")
    return Path(a.out)


if __name__ == "__main__":
    main()
