"""The diagnostic scripts in sweeps/: the BP calibration and the alignment of a
difference-target circuit's hidden step with BP's (small sizes on digits)."""

import importlib.util
import json
import sys

import numpy as np
import pytest
from helpers import REPO


def _load(name):
    sys.path.insert(0, str(REPO / "sweeps"))
    spec = importlib.util.spec_from_file_location(name, REPO / "sweeps" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_alignment_compare_is_one_for_equal_steps_and_minus_one_for_opposite():
    mod = _load("alignment_tp")
    rng = np.random.default_rng(0)
    d, x = rng.standard_normal((50, 8)), rng.standard_normal((50, 5))
    same = mod.compare(d, 2.0 * d, x)
    assert same["cos_sample_median"] == pytest.approx(1.0)
    assert same["cos_update"] == pytest.approx(1.0)
    assert same["norm_ratio_median"] == pytest.approx(0.5)
    assert mod.compare(d, -d, x)["cos_update"] == pytest.approx(-1.0)


def test_alignment_on_digits_tp_improves_with_training(capsys):
    circuit = str(REPO / "circuits" / "digits_tp.yaml")
    assert _load("alignment_tp").main([circuit, "2", "protocol.validation=0.2"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.strip().splitlines()]
    assert [r["epoch"] for r in rows] == [0, 1, 2]
    assert rows[-1]["val_accuracy"] > 0.5  # it learned
    assert rows[-1]["cos_update"] > rows[0]["cos_update"] + 0.3  # and the steps aligned


def test_alignment_refuses_other_wirings():
    circuit = str(REPO / "circuits" / "autoencoder.yaml")
    with pytest.raises(SystemExit):
        _load("alignment_tp").main([circuit, "1", "protocol.validation=0.2"])


def test_calibration_spec_errors_name_the_allowed_values():
    mod = _load("calibrate_bp_sgd")
    assert mod.parse_spec("0.2:bce:sgd") == (0.2, "bce", "sgd")
    for bad, words in [
        ("0.2:mse:sgd", "allowed: bce, ce"),
        ("0.2:ce:rms", "allowed: sgd, adam"),
        ("x:ce:sgd", "not a number"),
        ("-1:ce:sgd", "positive"),
        ("0.2", "RATE"),
    ]:
        with pytest.raises(ValueError, match=words):
            mod.parse_spec(bad)


@pytest.mark.torch
def test_calibration_learns_digits(capsys):
    pytest.importorskip("torch")
    mod = _load("calibrate_bp_sgd")
    args = [
        "0.5:ce:sgd",
        "--dataset",
        "digits",
        "--validation",
        "0.2",
        "--epochs",
        "3",
        "--hidden",
        "16",
    ]
    assert mod.main(args) == 0
    row = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert len(row["validation_accuracy"]) == 3 and row["validation_accuracy"][-1] > 80
