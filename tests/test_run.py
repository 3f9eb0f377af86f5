"""``neurotp run``: outputs, printed summary, reproducibility, resume."""

import json
from pathlib import Path

import numpy as np

from neurotp.cli import main

ROOT = Path(__file__).resolve().parents[1]
SMALL = ["--set", "protocol.n_train=60", "--set", "protocol.n_test=30", "--no-progress"]


def run(out, *extra):
    return main(
        [
            "run",
            str(ROOT / "circuits" / "digits_tp.yaml"),
            "--epochs",
            "2",
            "--out",
            str(out),
            *SMALL,
            *extra,
        ]
    )


def test_run_writes_outputs_and_prints_summary(tmp_path, capsys):
    assert run(tmp_path / "a") == 0
    printed = capsys.readouterr().out
    assert "digits_tp [numba, seed 0] after 2 epochs: test accuracy" in printed
    for f in (
        "metrics.json",
        "recording.npz",
        "circuit.yaml",
        "learning_curve.png",
        "rates.png",
        "checkpoint.npz",
    ):
        assert (tmp_path / "a" / f).stat().st_size > 0, f
    m = json.loads((tmp_path / "a" / "metrics.json").read_text())
    assert len(m["history"]) == 3  # epoch 0 (before training) and 2 epochs
    with np.load(tmp_path / "a" / "recording.npz", allow_pickle=False) as z:
        assert z["rates"].shape[1] == int(z["population_sizes"].sum())
        assert z["weights"].shape[0] == 2


def test_run_is_reproducible_and_seed_matters(tmp_path):
    run(tmp_path / "a")
    run(tmp_path / "b")
    run(tmp_path / "c", "--seed", "3")
    ha, hb, hc = (json.loads((tmp_path / k / "metrics.json").read_text())["history"] for k in "abc")
    strip = [{k: v for k, v in h.items() if k != "seconds"} for h in ha]
    assert strip == [{k: v for k, v in h.items() if k != "seconds"} for h in hb]
    assert [h["test_accuracy"] for h in ha] != [h["test_accuracy"] for h in hc]


def test_resume_flag_continues(tmp_path):
    main(
        [
            "run",
            str(ROOT / "circuits" / "digits_tp.yaml"),
            "--epochs",
            "1",
            "--out",
            str(tmp_path / "r"),
            *SMALL,
        ]
    )
    run(tmp_path / "r", "--resume")
    run(tmp_path / "full")
    a = np.load(tmp_path / "r" / "checkpoint.npz")["w"]
    b = np.load(tmp_path / "full" / "checkpoint.npz")["w"]
    assert np.array_equal(a, b)


def test_brian2_target_needs_brian2_backend(tmp_path):
    import pytest

    with pytest.raises(SystemExit, match="--brian2-target: allowed only with --backend brian2"):
        run(tmp_path / "x", "--brian2-target", "cython")


def test_numba_engine_options_from_the_command_line(tmp_path):
    import pytest

    run(tmp_path / "a")
    run(tmp_path / "b", "--block-steps", "delay")
    ha, hb = (json.loads((tmp_path / k / "metrics.json").read_text())["history"] for k in "ab")
    assert [h["test_accuracy"] for h in ha] == [h["test_accuracy"] for h in hb]
    with pytest.raises(SystemExit, match="--block-steps: allowed only with --backend numba"):
        run(tmp_path / "x", "--backend", "reference", "--block-steps", "2")
