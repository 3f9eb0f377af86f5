"""sweeps/probe_validation.py: the validation-only tuning probe never scores test."""

import importlib.util
import json

import numpy as np
import pytest
from helpers import REPO

from neurotp.data import load_dataset


def _probe():
    spec = importlib.util.spec_from_file_location("probe", REPO / "sweeps" / "probe_validation.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_prepare_empties_test_and_uses_training_statistics_only():
    probe = _probe()
    data = load_dataset("digits", validation=0.2)
    raw = probe.prepare(data, "raw")
    assert len(raw.x_test) == 0 and len(raw.y_test) == 0
    np.testing.assert_array_equal(raw.x_train, data.x_train)
    std = probe.prepare(data, "standardize")
    mu = data.x_train.mean(axis=0)
    sd = np.maximum(data.x_train.std(axis=0), 0.05)
    np.testing.assert_allclose(std.x_val, (data.x_val - mu) / sd, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(std.x_train.mean(axis=0), 0.0, atol=1e-5)
    cen = probe.prepare(data, "center")
    np.testing.assert_allclose(cen.x_val, data.x_val - mu, atol=1e-6)


def test_prepare_refuses_data_without_validation_split():
    with pytest.raises(ValueError, match="protocol.validation"):
        _probe().prepare(load_dataset("digits"), "raw")


def test_probe_prints_validation_only(capsys):
    circuit = str(REPO / "circuits" / "digits_tp.yaml")
    sets = ["protocol.validation=0.2", "protocol.n_train=200"]
    assert _probe().main([circuit, "2", "--inputs", "center", *sets]) == 0
    out = capsys.readouterr().out
    result = json.loads(out.strip().splitlines()[-1])
    assert len(result["validation_accuracy"]) == 2
    assert all(0 <= v <= 100 for v in result["validation_accuracy"])
    assert not any("test" in key for key in result)
    epochs = [line for line in out.splitlines() if line.startswith("epoch")]
    assert len(epochs) == 2 and all("validation" in line for line in epochs)
