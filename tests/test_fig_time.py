"""figures/fig_time.py: the axes move their followers with them, the rebuilt rest trace is
the engine's, the label's nudge arrives later by exactly the extra loop delay, and main()
caches every point once (points that are the same circuit share one run)."""

import json
from pathlib import Path

import numpy as np
import pytest

from neurotp.commands.figures import load_figure

ROOT = Path(__file__).resolve().parents[1]
CIRCUIT = ROOT / "circuits" / "digits_temporal.yaml"


@pytest.fixture(scope="module")
def fig():
    return load_figure("time")


def circuit_data():
    from neurotp.circuit.io import yaml_load

    return yaml_load(CIRCUIT.read_text())


def test_every_axis_names_fields_of_the_circuit_and_moves_its_followers(fig):
    data = circuit_data()
    for name, ax in fig.AXES.items():
        base = float(fig.lookup(data, ax.path))
        over = fig.axis_overrides(data, ax, base + 3.0)
        assert over[: len(ax.fixed)] == list(ax.fixed), name
        over = over[len(ax.fixed) :]
        assert over[0] == f"{ax.path}={base + 3.0!r}", name
        for f, o in zip(ax.follow, over[1:], strict=True):
            assert o == f"{f}={float(fig.lookup(data, f)) + 3.0!r}", name
        assert set(ax.diag) <= set(ax.values), name
        fig.load(str(CIRCUIT), list(ax.fixed) + over, 0, None)  # the moved circuit validates


def test_a_bad_path_or_a_follower_pushed_below_zero_is_named(fig):
    data = circuit_data()
    with pytest.raises(ValueError, match=r"traces.nope: no item named 'nope'; allowed: X_bar"):
        fig.lookup(data, "traces.nope.tau")
    # a follower that the axis would push below zero: X_bar's delay following its tau
    tau, delay = (float(fig.lookup(data, f"traces.X_bar.{k}")) for k in ("tau", "delay"))
    ax = fig.Axis("x", "traces.X_bar.tau", (1.0,), follow=("traces.X_bar.delay",))
    low = tau - delay - 1.0  # puts the delay at -1 ms
    with pytest.raises(ValueError, match=r"traces.X_bar.delay: would become -1 ms at"):
        fig.axis_overrides(data, ax, low)


def trained(fig, over, epochs=1):
    from neurotp.simulation import Simulation

    sim = Simulation(fig.load(str(CIRCUIT), over, 0, 40))
    sim.train(epochs)
    return sim


def test_the_fine_step_keeps_ys_compartment_at_zero_until_the_label(fig):
    """The dt = 0.5 ms variant is the same circuit: Y.apical = L(t − 1) − y(t − d) cancels
    exactly before the label only when d is the path through L at that step (2.5 ms)."""
    from dataclasses import replace

    from neurotp.circuit.protocol import make_drive

    data = circuit_data()
    ax = fig.AXES["pre_fine"]
    base = float(fig.lookup(data, ax.path))
    for yya, cancels in ((None, True), ("projections.YYa.delay=3.0", False)):
        over = fig.axis_overrides(data, ax, base) + ([yya] if yya else [])
        sim = trained(fig, over, epochs=0)
        comp, d = sim.comp, sim.data
        assert comp.dt == 0.5
        drive = make_drive(comp, d.x_test[:3], d.y_test[:3], np.random.default_rng(0), train=True)
        rec = sim.make_engine().run(replace(drive, learn=False), record_every=1).record
        spp = comp.steps_per_presentation
        before = int(data["protocol"]["label_delay"] / comp.dt)
        a = np.abs(rec[:, comp.pop_slice("Y.apical")])
        free = np.concatenate([a[k * spp + 8 : k * spp + before] for k in range(3)])
        clamped = a[before + 4 : spp]
        assert clamped.max() > 1e-3  # the label moves it: the check has teeth
        if cancels:
            assert free.max() < 1e-12
        else:
            assert free.max() > 1e-3


def test_main_caches_each_point_once_and_plots_from_the_cache(fig, tmp_path, monkeypatch):
    data = circuit_data()
    fb = float(fig.lookup(data, fig.AXES["feedback"].path))
    lab = float(fig.lookup(data, fig.AXES["label"].path))
    monkeypatch.setattr(
        fig,
        "AXES",
        {
            "feedback": fig.AXES["feedback"]._replace(values=(fb, fb + 4.0), diag=(fb,)),
            "label": fig.AXES["label"]._replace(values=(lab,), diag=()),
        },
    )
    monkeypatch.setattr(fig, "DIAG_PRESENTATIONS", 3)
    argv = ["--axes", "feedback", "label", "--seeds", "0", "1", "--epochs", "1"]
    argv += ["--n-train", "30", "--cache", str(tmp_path / "c"), "--out", str(tmp_path / "t.png")]
    argv += ["--reference", str(CIRCUIT)]  # drawn as a line: its own points, one per seed
    fig.main(argv + ["--jobs", "2"])
    # 3 axis values x 2 seeds, but the circuit as it is appears on both axes: 4 runs, and 2
    # of the reference (not measuring the nudge, so not the same points)
    assert len(list((tmp_path / "c").glob("*.json"))) == 6
    assert (tmp_path / "t.png").stat().st_size > 20_000

    def boom(*a, **k):
        raise AssertionError("ran a cached point")

    monkeypatch.setattr(fig, "run_point", boom)
    rows = fig.compute(fig.parse(argv), fig.points(fig.parse(argv), CIRCUIT.read_text()))
    assert sorted((r["axis"], r["value"], r["seed"]) for r in rows) == sorted(
        [("feedback", fb, 0), ("feedback", fb, 1), ("feedback", fb + 4.0, 0)]
        + [("feedback", fb + 4.0, 1), ("label", lab, 0), ("label", lab, 1)]
        + [("reference", 0.0, 0), ("reference", 0.0, 1)]
    )
    same = [r for r in rows if r["axis"] != "reference" and r["value"] in (fb, lab)]
    same = [r for r in same if r["seed"] == 0]
    assert len({r["test_accuracy"] for r in same}) == 1  # the shared point, read twice
    assert all(("nudge" in r) == (r["seed"] == 0 and r["axis"] != "reference") for r in rows)
    summary = fig.summary(rows)
    assert summary["feedback"][fb][2] == 2 and 0 <= summary["feedback"][fb][0] <= 100

    # a point computed by other code (another source hash) is computed again, and
    # --plot-only draws it but says so
    stale = sorted((tmp_path / "c").glob("*.json"))[0]
    old = json.loads(stale.read_text())
    stale.write_text(json.dumps({**old, "code": "0" * 16}))
    ran = []

    def rerun(circuit, p, *a, **k):
        ran.append(p.key)
        return {**old, "seconds": 0.0}

    monkeypatch.setattr(fig, "run_point", rerun)
    fig.compute(fig.parse(argv + ["--plot-only"]), fig.points(fig.parse(argv), CIRCUIT.read_text()))
    assert ran == []
    fig.compute(fig.parse(argv), fig.points(fig.parse(argv), CIRCUIT.read_text()))
    assert ran == [stale.stem]
