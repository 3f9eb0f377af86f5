"""What time does: test accuracy of digits_temporal against the loop delay and the trace τ.

circuits/digits_temporal.yaml learns in time: the label arrives ``label_delay`` ms after the
sample's onset, comes back down through the loops into the compartments (Y.apical, then
H.apical), and each compartment nudges its soma by gain·(a − ā), its change against its own
slow rest trace ā. The forward rules learn from that change while it lasts. Each axis changes
one timing of the circuit at a fixed presentation time (the rest of the circuit is as in the
file) and measures the final test accuracy, mean ± std over seeds:

- ``feedback``: the delay of the feedback projection(s) into H's compartment; the delayed
  copies of H that the hidden rule compares the compartment with (their delays are the loop's
  delay) move with it, so the loop stays matched;
- ``label``: the delay of the label's path into Y's compartment (L → Y.apical), with Y's
  delayed copies moved the same way;
- ``rest``: τ of the compartments' rest traces (and of the delayed averages matched to them);
- ``pre``: τ of the presynaptic traces of the forward rules;
- ``post``: τ of the hidden unit's delayed copy (τ = dt is an exact copy).

The axes are the table :data:`AXES` (field paths in the circuit, as ``neurotp run --set``
writes them). For seed 0 of some points it also measures what the hidden soma receives: the
nudge gain·(a − ā) of H's compartment over a presentation (label clamped, learning off, on the
trained circuit), to check the explanation of where and why accuracy breaks.

Every point (axis value × seed) is cached on its own under figures/_cache/time/ (its key: the
circuit text, the overrides, the seed, epochs and n_train), apart from plotting, so an
interrupted run resumes where it stopped.

    python figures/fig_time.py [--circuit circuits/digits_temporal.yaml] [--seeds 0 1 2]
        [--epochs N] [--n-train N] [--axes feedback label rest pre post] [--jobs 2]
        [--force] [--plot-only]
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import os
import time
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CACHE = HERE / "_cache" / "time"
DIAG_PRESENTATIONS = 40  # test samples whose label's nudge is measured


class Axis(NamedTuple):
    """One swept timing: ``values`` of the field ``path``; every field in ``follow`` is moved
    by the same amount (its own value in the circuit + value − the value of ``path``)."""

    label: str
    path: str
    values: tuple[float, ...]
    follow: tuple[str, ...] = ()
    diag: tuple[float, ...] = ()  # values whose nudge (measured on the first seed) is drawn
    scale: str = "linear"


DELAYS = (1.0, 2.0, 4.0, 6.0, 8.0, 12.0, 16.0, 20.0)
TAUS = (1.0, 2.0, 5.0, 10.0, 20.0, 50.0)
AXES: dict[str, Axis] = {
    "feedback": Axis(
        "delay of Y → H.apical (ms)",
        "projections.YAH.delay",
        DELAYS,
        follow=("traces.H_d.delay", "traces.H_bar_d.delay"),
        diag=(1.0, 8.0, 16.0, 20.0),
    ),
    "label": Axis(
        "delay of L → Y.apical (ms)",
        "projections.LAY.delay",
        DELAYS,
        follow=("traces.Y_d.delay", "traces.Y_bar_d.delay"),
    ),
    "rest": Axis(
        "τ of the rest traces ā (ms)",
        "traces.AH_bar.tau",
        TAUS,
        follow=("traces.AY_bar.tau", "traces.H_bar_d.tau", "traces.Y_bar_d.tau"),
        diag=(1.0, 10.0, 50.0),
        scale="log",
    ),
    "pre": Axis(
        "τ of the presynaptic traces x̄ (ms)",
        "traces.X_bar.tau",
        TAUS,
        follow=("traces.H_bar.tau",),
        scale="log",
    ),
    "post": Axis("τ of H's delayed copy h_d (ms)", "traces.H_d.tau", TAUS, follow=(), scale="log"),
}


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--circuit", default=str(ROOT / "circuits" / "digits_temporal.yaml"))
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--epochs", type=int, default=None, help="default: the circuit's")
    p.add_argument("--n-train", type=int, default=None, help="default: the circuit's")
    p.add_argument("--axes", nargs="+", default=list(AXES), choices=list(AXES))
    p.add_argument("--jobs", type=int, default=1, help="points run in this many processes")
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
    out = [f"{axis.path}={float(value)!r}"]
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
    return out


def load(path: str, overrides: list[str], seed: int, n_train: int | None):
    from neurotp.circuit import load_circuit

    extra = [f"seed={seed}"] + ([f"protocol.n_train={n_train}"] if n_train else [])
    return load_circuit(path, overrides + extra)


def run_point(circuit: str, p: Point, epochs: int | None, n_train: int | None, hidden: str):
    """Train one point; its final test accuracy (and the nudge course for a diag point)."""
    from neurotp.engines.base import DivergenceError
    from neurotp.simulation import Simulation

    t0 = time.perf_counter()
    sim = Simulation(load(circuit, p.overrides, p.seed, n_train))
    out: dict[str, Any] = {"axis": p.axis, "value": p.value, "seed": p.seed}
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


# ---- the measurement: the nudge the hidden soma receives ---------------------------------
def trace_course(comp, state0, record: np.ndarray, i: int) -> tuple[np.ndarray, np.ndarray]:
    """Trace ``i`` at the start of every step of a run that started from ``state0`` and
    recorded every unit after every step (``record``), rebuilt by the engines' own update
    x̄ += α·(r(t − d) − x̄); and its value after the run. Valid for traces of free units
    (their rate at the start of a step is the one recorded after the step before)."""
    n, off, src = int(comp.tr_n[i]), int(comp.tr_off[i]), int(comp.tr_src_off[i])
    d, alpha, L, t0 = int(comp.tr_delay[i]), float(comp.tr_alpha[i]), comp.hist_len, state0.t
    start = np.vstack([state0.r[None, src : src + n], record[:-1, src : src + n]])
    tr = state0.tr[off : off + n].copy()
    out = np.empty((len(record), n))
    for t in range(len(record)):
        out[t] = tr
        past = start[t - d] if t >= d else state0.hist[(t0 + t - d) % L, src : src + n]
        tr = tr + alpha * (past - tr)
    return out, tr


def nudge_course(sim, hidden: str, n: int = DIAG_PRESENTATIONS) -> dict[str, list[float]]:
    """The label's own nudge at ``hidden``'s soma, gain·(a − ā), over its presentation and
    the next one (onset of the first at step 0), on the trained circuit with learning off.

    The test samples are presented one after another with the label running free (input
    noise as in training). At each sample j, from the same state, the pair (j, j + 1) runs
    twice: with the label clamped during j as in training (``C``), and free (``F``). ``label``
    is the mean over units and samples of |nudge_C − nudge_F| at each step (what the label
    caused: zero before it arrives, and what it causes in the next sample after it left);
    ``switch`` the mean |nudge_F| (what the sample switches alone cause)."""
    from dataclasses import replace

    from neurotp.circuit.protocol import make_drive

    comp = sim.comp
    pop = comp.circuit.population(hidden)
    if pop.apical is None or pop.apical.rest is None:
        raise ValueError(f"--hidden {hidden}: has no compartment with a rest trace")
    x, y = sim.data.x_test[: n + 1], sim.data.y_test[: n + 1]
    rng = np.random.default_rng([sim.circuit.seed, 4241])
    drives = [make_drive(comp, x[j : j + 1], y[j : j + 1], rng, train=True) for j in range(n + 1)]
    free = [replace(d, learn=False, clamp=False) for d in drives]
    i = [t.name for t in comp.circuit.traces].index(pop.apical.rest)
    off, a_sl = int(comp.tr_off[i]), comp.pop_slice(hidden + ".apical")
    walker = sim.make_engine(state=sim.state.copy())  # runs the samples with the label free
    label, switch = [], []
    for j in range(n):
        nudge = {}
        for name, first in (("C", replace(drives[j], learn=False)), ("F", free[j])):
            engine = sim.make_engine(state=walker.state.copy())
            state0 = engine.state.copy()
            record = np.vstack([engine.run(d, record_every=1).record for d in (first, free[j + 1])])
            rest, final = trace_course(comp, state0, record, i)
            # the rebuilt trace must end where the engine's did, or it is not the engine's
            np.testing.assert_allclose(final, engine.state.tr[off : off + len(final)], atol=1e-9)
            a = np.vstack([state0.r[None, a_sl], record[:-1, a_sl]])
            nudge[name] = pop.apical.gain * (a - rest)
        label.append(np.abs(nudge["C"] - nudge["F"]).mean(1))
        switch.append(np.abs(nudge["F"]).mean(1))
        walker.run(free[j])
    return {"label": np.mean(label, 0).tolist(), "switch": np.mean(switch, 0).tolist()}


# ---- compute and plot --------------------------------------------------------------------
def _work(args: argparse.Namespace, todo: list[Point]) -> None:
    for p in todo:
        _store(
            Path(args.cache), p, run_point(args.circuit, p, args.epochs, args.n_train, args.hidden)
        )


def compute(args: argparse.Namespace, pts: list[Point]) -> list[dict]:
    """Run the points not cached yet (all with ``--force``; none with ``--plot-only``), in
    ``--jobs`` forked processes (each writes its points' cache files), and read them all."""
    cache = Path(args.cache)
    cache.mkdir(parents=True, exist_ok=True)
    todo, seen = [], set()
    for p in pts:
        if p.key not in seen and (args.force or not (cache / f"{p.key}.json").exists()):
            todo.append(p)
            seen.add(p.key)
    if todo and not args.plot_only:
        if args.jobs > 1:
            import multiprocessing as mp

            # compile (or load) the kernels once, here, so that the workers only read them
            run_point(args.circuit, Point("warm", 0.0, 0, []), 1, 20, args.hidden)
            ctx = mp.get_context("fork")  # nothing is pickled: the script need not be importable
            n = args.jobs
            procs = [ctx.Process(target=_work, args=(args, todo[i::n])) for i in range(n)]
            for pr in procs:
                pr.start()
            for pr in procs:
                pr.join()
            failed = [pr.exitcode for pr in procs if pr.exitcode]
            if failed:
                raise RuntimeError(f"--jobs: {len(failed)} worker(s) failed (exit {failed})")
        else:
            _work(args, todo)
    rows = []
    for p in pts:
        f = cache / f"{p.key}.json"
        if f.exists():
            rows.append({**json.loads(f.read_text()), "axis": p.axis, "value": p.value})
    return rows


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


def arrival(nudge: dict[str, list[float]], proto: dict) -> float:
    """When the label's nudge first exceeds 5 % of its peak (ms after the sample's onset)."""
    lab = np.asarray(nudge["label"])
    return float(np.argmax(lab > 0.05 * lab.max()) * proto["dt"]) if lab.max() > 0 else np.nan


def label_share(nudge: dict[str, list[float]], proto: dict) -> tuple[float, float]:
    """The label's nudge summed over its own clamp [label_delay, present), and the share of
    its whole effect (over its presentation and the next) that falls there."""
    lab = np.asarray(nudge["label"])
    i0, i1 = (int(round(proto[k] / proto["dt"])) for k in ("label_delay", "present"))
    inside = float(lab[i0:i1].sum())
    return inside, inside / max(float(lab.sum()), 1e-300)


def plot(rows: list[dict], proto: dict, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    s = summary(rows)
    fig, axs = plt.subplots(2, 2, figsize=(11, 7.6))
    for panel, names in ((axs[0, 0], ("feedback", "label")), (axs[0, 1], ("rest", "pre", "post"))):
        for name in names:
            if name not in s:
                continue
            v = np.array(list(s[name]))
            m, sd = (np.array([s[name][x][i] for x in v]) for i in (0, 1))
            panel.errorbar(v, m, yerr=sd, marker="o", ms=4, capsize=3, label=AXES[name].label)
            if AXES[name].scale == "log":
                panel.set_xscale("log")
        panel.set_ylabel("test accuracy (%)")
        panel.set_ylim(0, 100)
        panel.grid(alpha=0.3)
        if panel.get_legend_handles_labels()[0]:
            panel.legend(fontsize=8, loc="lower left")
    axs[0, 0].set_xlabel("loop delay (ms)")
    axs[0, 1].set_xlabel("trace τ (ms)")
    for panel, name in ((axs[1, 0], "feedback"), (axs[1, 1], "rest")):
        diag = [
            r
            for r in rows
            if r["axis"] == name and r.get("nudge") and r["value"] in AXES[name].diag
        ]
        for r in sorted(diag, key=lambda r: r["value"]):
            (line,) = panel.plot(r["nudge"]["label"], label=f"{r['value']:g} ms: the label's")
            panel.plot(r["nudge"]["switch"], ls=":", color=line.get_color(), label="switches'")
        spp = proto["present"] + proto.get("gap", 0.0)
        panel.axvspan(proto["label_delay"], proto["present"], color="0.9", zorder=0)
        panel.axvline(spp, color="k", lw=0.8)
        panel.set_xlabel("ms after the labelled sample's onset (grey: its label; | next sample)")
        panel.set_ylabel("mean |gain·(a − ā)| at H's soma")
        panel.grid(alpha=0.3)
        if panel.get_legend_handles_labels()[0]:
            panel.legend(fontsize=7, ncol=2)
    axs[1, 0].set_title(
        "nudge at H by feedback delay: the label's (clamped − free), the switches' (free)",
        fontsize=8,
    )
    axs[1, 1].set_title("the same by τ of the rest traces (seed 0)", fontsize=8)
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
    text = Path(a.circuit).read_text()
    pts = points(a, text)
    rows = compute(a, pts)
    from neurotp.circuit.io import yaml_load

    proto = copy.deepcopy(yaml_load(text)["protocol"])
    proto.setdefault("label_delay", 0.0)
    proto.setdefault("dt", 1.0)
    plot(rows, proto, a.out)
    for name, d in summary(rows).items():
        cells = ", ".join(f"{v:g}: {m:.1f} ± {sd:.1f}" for v, (m, sd, _) in d.items())
        print(f"{name}: {cells}")
    for r in rows:
        if r.get("nudge"):
            inside, share = label_share(r["nudge"], proto)
            print(
                f"nudge {r['axis']}={r['value']:g} (seed {r['seed']}): the label's summed over "
                f"its clamp {inside:.3f}, {100 * share:.0f} % of its effect; arrives at "
                f"{arrival(r['nudge'], proto):g} ms"
            )
    print(f"saved {a.out} ({len(rows)} of {len(pts)} points)")
    return Path(a.out)


if __name__ == "__main__":
    main()
