"""neurotp/compare/experiment.py: what ``neurotp compare`` trains and measures at a tiny size,
and its settings checked before anything trains."""

from pathlib import Path

import pytest

pytest.importorskip("torch", reason="pip install 'neurotp[torch]'")

from neurotp.compare import check_settings, parse_arch, run_compare  # noqa: E402
from neurotp.compare import experiment as compare_experiment  # noqa: E402


@pytest.mark.torch
def test_run_compare_small(compare_small):
    s = compare_small["summary"]
    assert set(s) == {"circuit", "circuit_frozen_hidden", "bp"}
    assert s["circuit"]["samples_seen"] == 2 * 1257
    # the output layer's circuit update is the delta rule: parallel to BP's gradient
    assert s["circuit"]["angle_vs_bp_mean"][-1] < 10.0
    assert 0.0 <= s["circuit"]["angle_saturated_mean"][0] <= 1.0
    assert s["bp"]["layers_shared_with_circuit_init"] == 2


def test_parse_arch_rejects_bad_names():
    assert parse_arch("64-16-16-10") == (64, 16, 16, 10)
    with pytest.raises(ValueError, match="--arch"):
        parse_arch("64-10")
    with pytest.raises(ValueError, match="--arch"):
        parse_arch("sixty-four")


def test_bad_settings_fail_before_anything_trains(monkeypatch):
    def boom(*args, **kwargs):
        raise AssertionError("trained before checking the settings")

    monkeypatch.setattr(compare_experiment, "_train_circuit", boom)
    with pytest.raises(ValueError, match="--baselines: unknown 'foo'; allowed: bp, fa, tp, dtp"):
        run_compare("64-16-10", seeds=(0,), epochs=1, baselines=("bp", "foo"))
    with pytest.raises(ValueError, match="--epochs: must be a positive integer, got 0"):
        run_compare("64-16-10", epochs=0)
    with pytest.raises(ValueError, match="--seeds"):
        check_settings("64-16-10", (), 1, (), 32, 0.01)
    with pytest.raises(ValueError, match="--lr: must be a finite number > 0"):
        check_settings("64-16-10", (0,), 1, (), 32, float("nan"))


TEMPORAL = Path(__file__).resolve().parents[1] / "circuits" / "digits_temporal.yaml"


def timeless(row: dict) -> dict:
    return {k: v for k, v in row.items() if k != "seconds_mean"}


@pytest.mark.torch
def test_a_temporal_circuit_is_a_row_beside_the_others(compare_small):
    from neurotp import Simulation
    from neurotp.circuit import load_circuit
    from neurotp.data import load_dataset

    r = run_compare("64-16-10", seeds=(0,), epochs=2, baselines=("bp",), temporal=(TEMPORAL,))
    # the rows that were there do not move (the README's compare table keeps reproducing)
    for name in ("circuit", "circuit_frozen_hidden", "bp"):
        assert r["runs"][name][0]["curve"] == compare_small["runs"][name][0]["curve"]
        assert timeless(r["summary"][name]) == timeless(compare_small["summary"][name])
    assert r["temporal"] == ["digits_temporal"]
    (run,) = r["runs"]["temporal:digits_temporal"]
    # trained as `neurotp run` trains it, on the whole training split (validation 0)
    c = load_circuit(TEMPORAL)
    c.protocol.validation = 0.0
    sim = Simulation(c, data=load_dataset("digits"))
    assert [p[1] for p in run["curve"]] == [
        sim.evaluate()["test_accuracy"],
        *(sim.train_epoch().test_accuracy for _ in range(2)),
    ]
    row = r["summary"]["temporal:digits_temporal"]
    assert row["samples_seen"] == 2 * 1257
    assert [len(a["vs_bp"]) for a in run["alignment"]] == [2, 2]
    # its output rule moves Y toward the label: within 90° of BP's gradient
    assert row["angle_vs_bp_mean"][1] < 90.0


def test_a_temporal_circuit_of_another_architecture_is_refused(monkeypatch):
    def boom(*args, **kwargs):
        raise AssertionError("trained before checking the settings")

    monkeypatch.setattr(compare_experiment, "_train_circuit", boom)
    with pytest.raises(ValueError, match="--temporal: circuit 'digits_temporal' is 64-16-10"):
        run_compare("64-16-16-10", seeds=(0,), epochs=1, baselines=(), temporal=(TEMPORAL,))
