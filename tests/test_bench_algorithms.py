import argparse
import json

import pytest

pytest.importorskip("torch")

from neurotp.bench import algorithms as bench  # noqa: E402

pytestmark = pytest.mark.torch


def _args(tmp_path, **kw):
    p = argparse.ArgumentParser()
    bench.add_arguments(p)
    argv = [
        "--algorithms",
        "bp",
        "dtp",
        "fa",
        "--n-samples",
        "256",
        "--input",
        "30",
        "--hidden",
        "16x3",
        "--batch-size",
        "32",
        "--repeats",
        "2",
        "--device",
        "cpu",
        "--out",
        str(tmp_path / "b.json"),
    ]
    args = p.parse_args(argv)
    for k, v in kw.items():
        setattr(args, k, v)
    return args


def test_bench_runs_and_saves(tmp_path, capsys):
    assert bench.main(_args(tmp_path)) == 0
    out = capsys.readouterr().out
    assert "x BP" in out and "dtp" in out
    data = json.loads((tmp_path / "b.json").read_text())
    rows = {r["algorithm"]: r for r in data["results"]}
    assert set(rows) == {"bp", "dtp", "fa"}
    assert rows["bp"]["ratio_to_bp"] == 1.0
    assert all(len(r["times_s"]) == 2 and r["best_s"] > 0 for r in rows.values())
    assert data["sizes"] == [30, 16, 16, 16, 10]
    assert rows["dtp"]["best_s"] == min(rows["dtp"]["times_s"])


def test_missing_algorithm_is_skipped(tmp_path, monkeypatch):
    from neurotp.algorithms import registry

    monkeypatch.setitem(registry._ENTRIES, "ghost", "neurotp.algorithms.no_such_module:X")
    args = _args(tmp_path, algorithms=["bp", "ghost"], chunk=0, repeats=1)
    result = bench.run(args)
    assert "ghost" in result["skipped"]
    assert [r["algorithm"] for r in result["results"]] == ["bp"]
    assert "ghost" in bench.format_table(result)


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="repeats"):
        bench.main(_args(tmp_path, repeats=0))


def test_variants_with_hyper(tmp_path):
    args = _args(
        tmp_path,
        algorithms=["bp", "dtp", "dtp@half"],
        chunk=0,
        repeats=1,
        hyper=["dtp@half:inv_fraction=0.5"],
    )
    result = bench.run(args)
    assert [r["algorithm"] for r in result["results"]] == ["bp", "dtp", "dtp@half"]
    assert result["hyper"] == {"dtp@half": {"inv_fraction": 0.5}}
    with pytest.raises(ValueError, match="expected NAME:KEY=VALUE"):
        bench.parse_hyper(["dtp=1"], ["dtp"])
    with pytest.raises(ValueError, match="not in --algorithms"):
        bench.parse_hyper(["fa:lr=1"], ["dtp"])
