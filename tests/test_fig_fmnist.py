"""figures/fig_fmnist.py: runs each circuit × seed as `neurotp run` does into its own folder,
reads a run that is there instead of training it, leaves out missing runs with --no-train,
and plots validation curves with the final test accuracy."""

import json
from pathlib import Path

import pytest

from neurotp.commands.figures import load_figure


@pytest.fixture(scope="module")
def fig():
    return load_figure("fmnist")


def test_runs_are_neurotp_runs_cached_by_folder_and_plotted(fig, tmp_path, monkeypatch):
    runs, png = tmp_path / "runs", tmp_path / "f.png"
    argv = ["--circuits", "digits_tp", "--seeds", "0", "1", "--n-train", "40", "--epochs", "2"]
    argv += ["--set", "protocol.n_test=30", "--set", "protocol.validation=0.25"]
    argv += ["--runs", str(runs), "--out", str(png)]
    fig.main(argv)
    m0 = json.loads((runs / "digits_tp_s0" / "metrics.json").read_text())
    m1 = json.loads((runs / "digits_tp_s1" / "metrics.json").read_text())
    assert m0["seed"] == 0 and m1["seed"] == 1 and m0["epochs"] == 2
    assert len(m0["history"]) == 3  # epoch 0 and the two trained
    assert png.stat().st_size > 10_000

    def boom(*a, **k):
        raise AssertionError("trained a run that was there")

    import neurotp.cli

    monkeypatch.setattr(neurotp.cli, "main", boom)
    a = fig.parse(argv)
    runs_read = fig.compute(a)
    assert [m["seed"] for m in runs_read["digits_tp"]] == [0, 1]
    s = fig.summary(runs_read)["digits_tp"]
    tests = [100 * m["final"]["test_accuracy"] for m in (m0, m1)]
    assert s["test"][0] == pytest.approx(sum(tests) / 2)
    assert 0 <= s["val"][0] <= 100
    # a seed that is not there is left out with --no-train, never trained
    a = fig.parse(argv + ["--seeds", "0", "5", "--no-train"])
    assert [m["seed"] for m in fig.compute(a)["digits_tp"]] == [0]


def test_the_default_is_a_subset_and_full_is_the_circuits_protocol(fig):
    a = fig.parse([])
    assert (a.n_train, a.epochs) == (fig.SUBSET["n_train"], fig.SUBSET["epochs"])
    assert "--set" in fig.argv_of(a, "fmnist_tp", 0, Path("x"))
    full = fig.argv_of(fig.parse(["--full"]), "fmnist_tp", 0, Path("x"))
    assert "--epochs" not in full and not any("n_train" in x for x in full)
