"""neurotp/sweep/point.py: a point's identity (hash, run options, folder name, command line);
a failing point (divergence, a bad value) is a row with its error, never an exception; a
train-config point is the same `neurotp train`."""

import json
from pathlib import Path

import pytest

pytest.importorskip("distributed", reason="pip install 'neurotp[sweep]'")
pytest.importorskip("pandas", reason="pip install 'neurotp[sweep]'")

from helpers import LR, rows_of  # noqa: E402
from helpers import SWEEP_CIRCUIT as CIRCUIT  # noqa: E402

from neurotp.circuit import CircuitFormatError, circuit_hash  # noqa: E402
from neurotp.cli import main  # noqa: E402
from neurotp.sweep.point import (  # noqa: E402
    PointTask,
    point_hash,
    point_id,
    resolve_circuit,
    run_argv,
)

pytestmark = pytest.mark.sweep


def test_a_points_identity_and_command_line(tmp_path):
    text = Path(CIRCUIT).read_text()
    sets = ("protocol.n_train=60", f"{LR}=0.02")
    h0, opts = point_hash("circuit", text, sets, 0, {"epochs": 1})
    assert opts == {"backend": "numba", "dtype": "float64", "epochs": 1, "block_steps": "delay"}
    assert h0 == circuit_hash(resolve_circuit(text, sets, 0))
    assert point_hash("circuit", text, sets, 0, {"epochs": 1})[0] == h0  # stable
    h1 = point_hash("circuit", text, sets, 1, {"epochs": 1})[0]
    h_lr = point_hash("circuit", text, (sets[0], f"{LR}=0.04"), 0, {"epochs": 1})[0]
    assert len({h0, h1, h_lr}) == 3  # the seed and every value are part of the identity
    with pytest.raises(CircuitFormatError, match="n_trian"):
        point_hash("circuit", text, ("protocol.n_trian=60",), 0, {})
    run_options = json.dumps(opts, sort_keys=True)
    name = point_id(h0, 0, run_options)
    assert name == point_id(h0, 0, run_options) and name.endswith("-s0") and len(name) == 15
    assert point_id(h0, 0, json.dumps({**opts, "epochs": 2}, sort_keys=True)) != name
    folder = str(tmp_path / name)
    task = PointTask("circuit", CIRCUIT, text, {LR: 0.02}, sets, 0, opts, folder, h0)
    assert task.key == (h0, 0, run_options)
    assert run_argv(task, "c.yaml") == [
        *("run", "c.yaml", "--seed", "0", "--out", folder, "--no-progress"),
        *("--backend", "numba", "--dtype", "float64", "--epochs", "1"),
        *("--set", "protocol.n_train=60", "--set", f"{LR}=0.02", "--block-steps", "delay"),
    ]


def test_failed_points_are_recorded_and_counted(tmp_path, capsys):
    spec = tmp_path / "fail.yaml"
    spec.write_text(
        f"circuit: {CIRCUIT}\nepochs: 1\nout: {tmp_path / 'fail'}\n"
        "set: [protocol.n_train=60, protocol.n_test=30, populations.H.activation=linear]\n"
        f"points: [{{{LR}: 0.01}}, {{{LR}: 1000.0}}, {{populations.H.tau: 0.3}}]\n"
    )
    assert main(["sweep", str(spec), "--sequential", "--no-progress"]) == 102
    captured = capsys.readouterr()
    assert "2 of 3 point runs failed" in captured.err
    rows = rows_of(tmp_path / "fail")
    ok = next(r for r in rows if r[LR] == 0.01)
    assert ok["status"] == "ok" and ok["test_accuracy"] > 0
    diverged = next(r for r in rows if r[LR] == 1000.0)
    assert diverged["status"] == "failed"
    assert "divergence: population 'H' became NaN/inf" in diverged["error"]
    bad = next(r for r in rows if r["populations.H.tau"] == 0.3)
    assert bad["status"] == "failed" and "Euler needs dt <= tau" in bad["error"]
    assert "| 0.01 | - | 1/1 |" in captured.out and "| 1000.0 | - | 0/1 | - |" in captured.out

    # a rerun keeps the failures (exit status again 100 + 2) unless --retry-failed
    assert main(["sweep", str(spec), "--sequential", "--no-progress"]) == 102
    assert "2 already in" in capsys.readouterr().out
    assert main(["sweep", str(spec), "--sequential", "--no-progress", "--retry-failed"]) == 102
    assert "1 already in" in capsys.readouterr().out


@pytest.mark.torch
def test_train_config_points_are_neurotp_train(tmp_path, capsys):
    pytest.importorskip("torch")
    cfg = tmp_path / "bp.yaml"
    cfg.write_text(
        "algorithm: bp\ndataset: digits\nhidden: '16'\nepochs: 1\nbatch_size: 32\n"
        "n_train: 200\nn_test: 100\ndevice: cpu\nthreads: 1\n"
    )
    out = tmp_path / "train"
    args = ["sweep", str(cfg), "--grid", "lr=0.01,0.1", "--grid", "hyper.optimizer=sgd"]
    assert main([*args, "--out", str(out), "--sequential", "--no-progress"]) == 0
    rows = rows_of(out)
    assert len(rows) == 2 and {r["status"] for r in rows} == {"ok"}
    ref = tmp_path / "ref"
    run = ["train", "--config", str(cfg), "--lr", "0.1", "--set", "optimizer=sgd", "--seed", "0"]
    assert main([*run, "--out", str(ref), "--no-progress"]) == 0
    mine = json.loads(
        (
            out / "points" / next(r for r in rows if r["lr"] == 0.1)["folder"] / "metrics.json"
        ).read_text()
    )
    theirs = json.loads((ref / "metrics.json").read_text())
    for m in (mine, theirs):
        for e in m["epochs"]:
            e.pop("seconds")
    assert mine == theirs


def test_workers_where_the_client_warmed_the_cache_load_without_the_lock(monkeypatch):
    import contextlib

    from neurotp.circuit.library import random_circuit
    from neurotp.sweep import point

    taken = []

    def fake_lock():
        taken.append(1)
        return contextlib.nullcontext()

    monkeypatch.setattr(point, "_cache_lock", fake_lock)
    monkeypatch.setattr(point, "_WARM", set())
    circuit = random_circuit(0, present=10.0)
    point.warm_numba(circuit, "float64", None, point.cache_place())
    assert taken == []  # compiled here already: read-only loads need no lock
    monkeypatch.setattr(point, "_WARM", set())
    point.warm_numba(circuit, "float64", None, "another-host:/cache")
    assert taken == [1]
