"""neurotp compare at a tiny size."""

import pytest

pytest.importorskip("torch", reason="pip install 'neurotp[torch]'")

from neurotp.cli import build_parser  # noqa: E402
from neurotp.compare import (  # noqa: E402
    cached_compare,
    check_settings,
    markdown_table,
    parse_arch,
    run_compare,
)
from neurotp.compare import experiment as compare_experiment  # noqa: E402

README_COLUMNS = (
    "| method | test accuracy (%) | samples seen | angle to BP per layer (°) "
    "| angle to DTP per layer (°) | hidden short-loop reconstruction MSE |"
)


@pytest.mark.torch
def test_run_compare_small(tmp_path):
    r = run_compare("64-16-10", seeds=(0,), epochs=2, baselines=("bp",))
    s = r["summary"]
    assert set(s) == {"circuit", "circuit_frozen_hidden", "bp"}
    assert s["circuit"]["samples_seen"] == 2 * 1257
    # the output layer's circuit update is the delta rule: parallel to BP's gradient
    assert s["circuit"]["angle_vs_bp_mean"][-1] < 10.0
    assert 0.0 <= s["circuit"]["angle_saturated_mean"][0] <= 1.0
    assert s["bp"]["layers_shared_with_circuit_init"] == 2
    table = markdown_table(r)
    lines = table.splitlines()
    # the table the README's compare section is read from: title, columns, one row per method
    assert lines[0] == "### digits 64-16-10 — 1 seeds, 2 epochs"
    assert lines[2] == README_COLUMNS
    rows = [ln.split(" | ")[0].lstrip("| ") for ln in lines[4:7]]
    assert rows == [
        "circuit (prediction + reconstruction rules)",
        "circuit, hidden plasticity off (control)",
        "BP",
    ]
    assert "mean over epochs 2..end, then mean ± std over seeds." in table
    # the cache returns the same result without recomputing
    a = cached_compare("64-16-10", tmp_path, seeds=(0,), epochs=1, baselines=())
    b = cached_compare("64-16-10", tmp_path, seeds=(0,), epochs=1, baselines=())
    assert a == b and len(list(tmp_path.glob("compare_*.json"))) == 1


def test_parse_arch_rejects_bad_names():
    assert parse_arch("64-16-16-10") == (64, 16, 16, 10)
    with pytest.raises(ValueError, match="--arch"):
        parse_arch("64-10")
    with pytest.raises(ValueError, match="--arch"):
        parse_arch("sixty-four")


@pytest.mark.torch
def test_one_epoch_makes_a_table():
    """compare --epochs 1 crashed in markdown_table (angles averaged over no epoch)."""
    r = run_compare("64-16-10", seeds=(0,), epochs=1, baselines=())
    angles = r["summary"]["circuit"]["angle_vs_bp_mean"]
    assert len(angles) == 2 and all(0.0 <= a <= 180.0 for a in angles)
    assert "mean over epoch 1 (the only one)" in markdown_table(r)


def test_bad_settings_fail_before_anything_trains(monkeypatch):
    def boom(*args, **kwargs):
        raise AssertionError("trained before checking the settings")

    monkeypatch.setattr(compare_experiment, "_train_circuit", boom)
    with pytest.raises(ValueError, match="--baselines: unknown 'foo'; allowed: bp, fa, tp, dtp"):
        run_compare("64-16-10", seeds=(0,), epochs=1, baselines=("bp", "foo"))
    with pytest.raises(ValueError, match="--baselines: unknown 'foo'"):
        cached_compare("64-16-10", "unused", seeds=(0,), baselines=("foo",))
    with pytest.raises(ValueError, match="--epochs: must be a positive integer, got 0"):
        run_compare("64-16-10", epochs=0)
    with pytest.raises(ValueError, match="--seeds"):
        check_settings("64-16-10", (), 1, (), 32, 0.01)
    with pytest.raises(ValueError, match="--lr: must be a finite number > 0"):
        check_settings("64-16-10", (0,), 1, (), 32, float("nan"))

    # the command checks every --arch before the first one trains (cli.main prints the error)
    def command(*argv):
        args = build_parser().parse_args(["compare", *argv])
        return args.func(args)

    with pytest.raises(ValueError, match="--arch: '64-10'"):
        command("--arch", "64-16-10", "--arch", "64-10", "--epochs", "1")
    with pytest.raises(ValueError, match="--baselines: unknown 'foo'"):
        command("--baselines", "foo", "--epochs", "1")
