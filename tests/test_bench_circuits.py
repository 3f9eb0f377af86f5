"""``neurotp bench circuits --quick``: every key is measured and the table printed."""

import argparse
import json

import pytest

from neurotp.bench import circuits as bench
from neurotp.circuit import load_circuit


def _args(tmp_path, *extra):
    p = argparse.ArgumentParser()
    bench.add_arguments(p)
    return p.parse_args(
        ["--quick", "--data", "synthetic", "--out", str(tmp_path / "c.json"), *extra]
    )


@pytest.mark.torch
def test_quick_bench_writes_every_key(tmp_path, capsys):
    pytest.importorskip("torch")
    assert bench.main(_args(tmp_path)) == 0
    out = capsys.readouterr().out
    assert "samples/s" in out and "BP 784-64-10" in out and "GEMM 128^3" in out
    data = json.loads((tmp_path / "c.json").read_text())
    for key in ("epoch_seconds_best", "cost_ratio_to_bp", "batch_speedup_32", "gemm_fraction_128"):
        assert key in data
    assert data["batch_speedup_32"] is None and data["gemm_fraction_128"] is None  # not asked
    rows = {r["batch"]: r for r in data["results"]}
    assert set(rows) == {1, 4} and all(r["samples_per_s"] > 0 for r in rows.values())
    best = max(r["samples_per_s"] for r in rows.values())
    assert data["epoch_seconds_best"] == pytest.approx(data["epoch_samples"] / best)
    bp = data["bp"]["1"]["samples_per_s"]
    assert data["cost_ratio_to_bp"] == pytest.approx(bp / best)
    assert 0 < rows[4]["gemm_fraction"] < 2
    # the ratio compares the same arithmetic; BP in torch's float32 beside it
    assert data["dtype"] == "float64" and data["bp"]["1"]["dtype"] == "float64"
    assert data["bp_float32"]["1"]["dtype"] == "float32"
    bp32 = data["bp_float32"]["1"]["samples_per_s"]
    assert data["cost_ratio_to_bp_float32"] == pytest.approx(bp32 / best)
    assert "float64), 1 threads" in out and "float32), 1 threads" in out


@pytest.mark.torch
def test_float32_runs_the_circuit_the_gemm_and_bp_in_float32(tmp_path, capsys):
    pytest.importorskip("torch")
    assert bench.main(_args(tmp_path, "--dtype", "float32")) == 0
    out = capsys.readouterr().out
    assert "training in float32" in out and "GEMM 128^3 float32" in out
    data = json.loads((tmp_path / "c.json").read_text())
    assert data["dtype"] == "float32" and data["bp"]["1"]["dtype"] == "float32"
    assert data["cost_ratio_to_bp_float32"] == data["cost_ratio_to_bp"]


def test_forward_sizes_follow_the_shortest_path():
    from pathlib import Path

    root = Path(__file__).resolve().parents[1] / "circuits"
    assert bench._forward_sizes(load_circuit(root / "fmnist_tp.yaml", check_data=False)) == [
        784,
        64,
        10,
    ]
    deep = load_circuit(root / "fmnist_tp_deep.yaml", check_data=False)
    assert bench._forward_sizes(deep) == [784, 64, 64, 10]


def test_bad_settings_are_named(tmp_path):
    p = argparse.ArgumentParser()
    bench.add_arguments(p)
    with pytest.raises(ValueError, match="--threads"):
        bench.run(p.parse_args(["--threads", "0", "--data", "synthetic"]))
    with pytest.raises(ValueError, match="--samples"):
        bench.run(p.parse_args(["--samples", "0", "--data", "synthetic"]))
