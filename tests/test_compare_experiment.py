"""neurotp/compare/experiment.py: what ``neurotp compare`` trains and measures at a tiny size,
and its settings checked before anything trains."""

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
