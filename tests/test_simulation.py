"""Training driver: determinism, checkpoints (atomic) and resume to the same weights."""

from pathlib import Path

import numpy as np
import pytest

from neurotp.circuit import load_circuit
from neurotp.data import load_dataset
from neurotp.engines import DivergenceError
from neurotp.simulation import CHECKPOINT, Simulation

ROOT = Path(__file__).resolve().parents[1]
SMALL = ["protocol.n_train=120", "protocol.n_test=60"]


def small_digits():
    return load_dataset("digits", n_train=120, n_test=60)


def sim(overrides=(), **kw):
    c = load_circuit(ROOT / "circuits" / "digits_tp.yaml", [*SMALL, *overrides])
    return Simulation(c, data=small_digits(), **kw)


def test_same_seed_same_numbers():
    a, b = sim(), sim()
    a.train(2)
    b.train(2)
    assert np.array_equal(a.state.w, b.state.w)
    assert [h.test_accuracy for h in a.history] == [h.test_accuracy for h in b.history]


def test_other_seed_other_numbers():
    a, b = sim(), sim(["seed=5"])
    a.train(1)
    b.train(1)
    assert not np.array_equal(a.state.w, b.state.w)


def test_evaluation_does_not_change_training():
    a, b = sim(), sim()
    a.train(2)
    b.train(1)
    for _ in range(3):
        b.evaluate()
    b.train(2)
    assert np.array_equal(a.state.w, b.state.w)


def test_interrupted_run_resumes_to_same_final_weights(tmp_path):
    full = sim()
    full.train(3, out=tmp_path / "full")
    part = sim()
    part.train(1, out=tmp_path / "part")  # "interrupted" after one epoch
    assert (tmp_path / "part" / CHECKPOINT).exists()
    assert not list((tmp_path / "part").glob("*.tmp"))  # written atomically
    c = load_circuit(ROOT / "circuits" / "digits_tp.yaml", SMALL)
    resumed = Simulation.resume(c, tmp_path / "part", data=small_digits())
    assert resumed.epoch == 1
    resumed.train(3, out=tmp_path / "part")
    assert np.array_equal(resumed.state.w, full.state.w)
    assert [h.test_accuracy for h in resumed.history] == [h.test_accuracy for h in full.history]


def test_divergence_reports_last_checkpoint(tmp_path):
    s = sim(
        [
            "rules.prediction_XH.lr=50.0",
            "rules.prediction_HY.lr=50.0",
            "populations.H.activation=linear",
            "populations.HT.activation=linear",
        ]
    )
    with pytest.raises(DivergenceError) as err:
        s.train(6, out=tmp_path)
    msg = str(err.value)
    assert "became NaN/inf at t=" in msg
    if err.value.checkpoint:
        assert CHECKPOINT in msg


def test_learning_beats_chance_quickly():
    s = sim()
    s.train(3)
    assert s.history[-1].test_accuracy > 0.5
