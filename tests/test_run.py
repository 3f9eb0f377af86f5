"""``neurotp run``: outputs, printed summary, reproducibility, resume."""

import json
from pathlib import Path

import numpy as np
import pytest

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
    assert "pca_baseline" not in m  # a classifier: no reconstruction
    assert m["locality"]["summary"] == "1 tie, 3 index reads, 5 global gates"
    assert {"kind", "where", "what"} == set(m["locality"]["findings"][0])
    assert "locality audit: 1 tie, 3 index reads, 5 global gates" in printed
    with np.load(tmp_path / "a" / "recording.npz", allow_pickle=False) as z:
        assert z["rates"].shape[1] == int(z["population_sizes"].sum())
        assert list(z["weight_epochs"]) == [0, 1, 2]  # before training, after each epoch
        assert z["weights"].shape == (3, int(z["n_weights"]))
        assert len(z["labels"]) == len(z["predicted"]) == len(z["sample_indices"]) == 3


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
    # the recording of the resumed run keeps the weight snapshots of the earlier epoch
    with (
        np.load(tmp_path / "r" / "recording.npz") as r,
        np.load(tmp_path / "full" / "recording.npz") as f,
    ):
        assert list(r["weight_epochs"]) == list(f["weight_epochs"]) == [0, 1, 2]
        assert np.array_equal(r["weights"], f["weights"])


def test_resume_of_another_run_is_refused(tmp_path, capsys):
    run(tmp_path / "r")
    capsys.readouterr()
    assert run(tmp_path / "r", "--resume", "--set", "projections.HHT.delay=12.0") == 2
    err = capsys.readouterr().err
    assert "checkpoint was made with projections.HHT.delay=3.0, this run has 12.0" in err


def test_overwrite_replaces_a_finished_run(tmp_path):
    run(tmp_path / "r")
    before = (tmp_path / "r" / "metrics.json").read_text()
    assert run(tmp_path / "r") == 2  # refused: the folder holds a run
    assert (tmp_path / "r" / "metrics.json").read_text() == before
    ae = str(ROOT / "circuits" / "autoencoder.yaml")
    args = ["run", ae, "--epochs", "1", "--out", str(tmp_path / "r"), *SMALL, "--overwrite"]
    assert main(args) == 0
    m = json.loads((tmp_path / "r" / "metrics.json").read_text())
    assert m["circuit"] == "autoencoder"
    ck = json.loads(str(np.load(tmp_path / "r" / "checkpoint.npz")["meta"]))
    assert ck["circuit"]["name"] == "autoencoder" and ck["epoch"] == 1


def test_autoencoder_reports_its_pca_baseline(tmp_path, capsys):
    from neurotp.data import load_dataset
    from neurotp.metrics import pca_reconstruction_mse

    ae = str(ROOT / "circuits" / "autoencoder.yaml")
    assert main(["run", ae, "--epochs", "1", "--out", str(tmp_path), *SMALL]) == 0
    m = json.loads((tmp_path / "metrics.json").read_text())
    d = load_dataset("digits", n_train=60, n_test=30)
    pca = pca_reconstruction_mse(d.x_train, d.x_test, 16)
    base = m["pca_baseline"]
    assert base["code_population"] == "H" and base["code_size"] == 16
    assert base["test_reconstruction_mse"] == pytest.approx(pca, rel=1e-12)
    ratio = m["final"]["test_reconstruction_mse"] / pca
    assert base["ratio"] == pytest.approx(ratio)
    assert f"(PCA-16 {pca:.5f}, {ratio:.2f}x)" in capsys.readouterr().out


def test_numba_block_steps_match_the_step_loop(tmp_path):
    run(tmp_path / "a")  # default: delay blocks
    run(tmp_path / "b", "--block-steps", "1")  # the step loop
    ha, hb = (json.loads((tmp_path / k / "metrics.json").read_text())["history"] for k in "ab")
    assert [h["epoch"] for h in ha] == [h["epoch"] for h in hb]
    wa = np.load(tmp_path / "a" / "checkpoint.npz")["w"]
    wb = np.load(tmp_path / "b" / "checkpoint.npz")["w"]
    assert not np.array_equal(wa, np.load(tmp_path / "a" / "recording.npz")["weights"][0])
    np.testing.assert_allclose(wa, wb, rtol=0, atol=1e-9)  # another summation order only
    for x, y in zip(ha, hb, strict=True):
        assert x["test_accuracy"] == pytest.approx(y["test_accuracy"], abs=1 / 30)


def test_batch_and_threads(tmp_path, capsys):
    assert run(tmp_path / "b", "--batch", "4", "--threads", "1") == 0
    c = (tmp_path / "b" / "circuit.yaml").read_text()
    assert "batch: 4" in c
    with np.load(tmp_path / "b" / "recording.npz", allow_pickle=False) as z:
        assert z["rates"].shape[1] == int(z["population_sizes"].sum())  # copy 0, recorded
    assert run(tmp_path / "c", "--batch", "4", "--threads", "2") == 0
    a = json.loads((tmp_path / "b" / "metrics.json").read_text())["final"]
    b = json.loads((tmp_path / "c" / "metrics.json").read_text())["final"]
    assert a["test_accuracy"] == b["test_accuracy"]


@pytest.mark.parametrize(
    "extra, said",
    [
        (["--threads", "2"], "--threads: allowed only with --backend numba and protocol.batch"),
        (["--batch", "2", "--block-steps", "delay"], "block_steps"),
    ],
)
def test_batch_errors(tmp_path, capsys, extra, said):
    code = run(tmp_path / "e", *extra)
    assert code == 2
    assert said in capsys.readouterr().err


def test_batch_must_be_positive(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        run(tmp_path / "e", "--batch", "0")
    assert exc.value.code == 2
    assert "--batch: '0' is not a whole number >= 1" in capsys.readouterr().err


@pytest.mark.parametrize(
    "name", ["fmnist_tp", "fmnist_tp_frozen", "fmnist_tp_deep", "fmnist_temporal"]
)
def test_fmnist_circuits_read_mnist_from_idx_files(tmp_path, monkeypatch, capsys, name):
    from neurotp.data.datasets import IDX_FILES
    from neurotp.data.idx import write_idx

    folder = tmp_path / "data" / "mnist"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for split, n in (("train", 100), ("test", 20)):
        write_idx(
            folder / IDX_FILES[f"{split}_images"],
            rng.integers(0, 256, (n, 28, 28), dtype=np.uint8),
        )
        write_idx(folder / IDX_FILES[f"{split}_labels"], (np.arange(n) % 10).astype(np.uint8))
    monkeypatch.setenv("NEUROTP_DATA", str(tmp_path / "data"))
    argv = ["run", str(ROOT / "circuits" / f"{name}.yaml"), "--set", "protocol.dataset=mnist"]
    argv += ["--epochs", "1", "--batch", "8", "--out", str(tmp_path / "o"), "--no-progress"]
    assert main(argv) == 0
    m = json.loads((tmp_path / "o" / "metrics.json").read_text())
    final = m["final"]
    assert final["val_accuracy"] is not None and final["test_accuracy"] is not None
    assert "dataset: mnist" in (tmp_path / "o" / "circuit.yaml").read_text()
    assert f"{name} [numba, seed 0] after 1 epochs" in capsys.readouterr().out
