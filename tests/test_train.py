import json
from pathlib import Path

import pytest
import yaml

torch = pytest.importorskip("torch")

from neurotp.cli import main as cli_main  # noqa: E402
from neurotp.train import load_config, parse_hidden, resolve_config, train  # noqa: E402

pytestmark = pytest.mark.torch

CONFIGS = sorted((Path(__file__).resolve().parents[1] / "configs").glob("*.yaml"))
SMALL = {
    "dataset": "digits",
    "hidden": "24x2",
    "epochs": 2,
    "batch_size": 64,
    "n_train": 400,
    "n_test": 200,
    "device": "cpu",
    "progress": False,
}


def test_parse_hidden():
    assert parse_hidden("256x5") == [256] * 5
    assert parse_hidden("500,500") == [500, 500]
    assert parse_hidden([3, 4]) == [3, 4]
    assert parse_hidden("") == []
    with pytest.raises(ValueError, match="hidden: cannot parse '5y'"):
        parse_hidden("5y")
    with pytest.raises(ValueError, match="positive"):
        parse_hidden("0x2")


def test_resolve_errors():
    with pytest.raises(ValueError, match=r"unknown key\(s\) \['epoch'\]; allowed: algorithm"):
        resolve_config({"epoch": 3})
    with pytest.raises(ValueError, match="algorithm: unknown 'sgd'; allowed: bp, fa, tp, dtp"):
        resolve_config({"algorithm": "sgd"})
    with pytest.raises(ValueError, match="dataset: unknown 'cifar'"):
        resolve_config({"dataset": "cifar"})
    with pytest.raises(ValueError, match="epochs: must be a positive int"):
        resolve_config({"epochs": 0})


@pytest.mark.parametrize("algorithm", ["bp", "dtp"])
def test_train_writes_outputs_and_is_deterministic(tmp_path, algorithm):
    cfg = {**SMALL, "algorithm": algorithm, "seed": 3, "out": str(tmp_path / "a")}
    r1 = train(cfg)
    r2 = train({**cfg, "out": str(tmp_path / "b")})
    strip = [(e["train_loss"], e["test_accuracy"]) for e in r1["epochs"]]
    assert strip == [(e["train_loss"], e["test_accuracy"]) for e in r2["epochs"]]
    metrics = json.loads((tmp_path / "a" / "metrics.json").read_text())
    assert [e["epoch"] for e in metrics["epochs"]] == [1, 2]
    assert {"train_loss", "test_accuracy", "seconds"} <= set(metrics["epochs"][0])
    assert (tmp_path / "a" / "learning_curve.png").stat().st_size > 1000
    # the resolved config re-runs to the same numbers
    again = train({**load_config(tmp_path / "a" / "config.yaml"), "out": None})
    assert [(e["train_loss"], e["test_accuracy"]) for e in again["epochs"]] == strip
    r3 = train({**cfg, "seed": 4, "out": None})
    assert [e["train_loss"] for e in r3["epochs"]] != [s[0] for s in strip]


def test_train_learns(tmp_path):
    r = train(
        {**SMALL, "algorithm": "bp", "epochs": 6, "n_train": None, "n_test": None, "lr": 3e-3}
    )
    assert r["final_test_accuracy"] > 0.9
    assert r["epochs"][-1]["train_loss"] < r["epochs"][0]["train_loss"]


def test_cli_train_and_config_override(tmp_path, capsys):
    cfg_file = tmp_path / "c.yaml"
    cfg_file.write_text(yaml.safe_dump({**SMALL, "algorithm": "fa", "epochs": 5}))
    rc = cli_main(
        [
            "train",
            "--config",
            str(cfg_file),
            "--epochs",
            "1",
            "--set",
            "eta=0.3",
            "--algorithm",
            "dtp",
            "--out",
            str(tmp_path / "o"),
        ]
    )
    assert rc == 0
    saved = yaml.safe_load((tmp_path / "o" / "config.yaml").read_text())
    assert saved["algorithm"] == "dtp" and saved["epochs"] == 1
    assert saved["hyper"]["eta"] == 0.3
    assert "test accuracy" in capsys.readouterr().out


def test_cli_errors(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("algorithm: bp\nepochz: 3\n")
    assert cli_main(["train", "--config", str(bad)]) == 2
    assert "unknown key(s) ['epochz']" in capsys.readouterr().err
    if not torch.cuda.is_available():
        assert cli_main(["train", "--device", "cuda", "--dataset", "digits"]) == 2
        assert "CUDA is not available" in capsys.readouterr().err


@pytest.mark.parametrize("path", CONFIGS, ids=[p.stem for p in CONFIGS])
def test_frozen_configs_are_valid(path):
    cfg = resolve_config(load_config(path))
    from neurotp.algorithms.registry import get_algorithm

    if cfg["algorithm"] != "alg5":
        cls = get_algorithm(cfg["algorithm"])
        allowed = {
            "lr",
            "optimizer",
            "weight_decay",
            "init",
            "init_gain",
            "sign_layers",
            *cls.defaults,
        }
        assert set(cfg["hyper"]) <= allowed


def test_lr_schedule():
    from neurotp.train import lr_factor

    assert [lr_factor("constant", e, 4) for e in (1, 4)] == [1.0, 1.0]
    f = [lr_factor("cosine", e, 4) for e in (1, 2, 3, 4)]
    assert f[0] == 1.0 and f == sorted(f, reverse=True) and 0 < f[-1] < 0.2
    with pytest.raises(ValueError, match="lr_schedule: unknown 'step'; allowed: constant, cosine"):
        resolve_config({"lr_schedule": "step"})
    r = train({**SMALL, "algorithm": "dtp", "lr_schedule": "cosine", "epochs": 4, "lr": 2e-3})
    # the rate each epoch trained with: lr × the cosine factor, not just "a schedule ran"
    assert [e["lr"] for e in r["epochs"]] == pytest.approx([2e-3 * v for v in f])
    flat = train({**SMALL, "algorithm": "dtp", "epochs": 2, "lr": 2e-3})
    assert [e["lr"] for e in flat["epochs"]] == [2e-3, 2e-3]


def test_lr_schedule_reaches_every_optimizer():
    from neurotp.algorithms.dtp import DifferenceTargetProp
    from neurotp.train import lr_schedulers

    alg = DifferenceTargetProp([6, 5, 5, 5, 3], lr=1e-3, lr_inv=4e-3, lr_out=2e-3)
    scheds = lr_schedulers(alg, "cosine", 2)
    assert len(scheds) == len(alg.optimizers()) == 2
    lrs = sorted(g["lr"] for o in alg.optimizers() for g in o.param_groups)
    assert lrs == pytest.approx([1e-3, 2e-3, 4e-3])
    for opt, sch in zip(alg.optimizers(), scheds, strict=True):
        opt.step()  # (no gradients: moves nothing) an epoch's steps, then the schedule's
        sch.step()
    lrs = sorted(g["lr"] for o in alg.optimizers() for g in o.param_groups)
    assert lrs == pytest.approx([0.5e-3, 1e-3, 2e-3])  # factor ½(1 + cos(π/2)) = 0.5
    assert lr_schedulers(alg, "constant", 2) == []


def test_cli_default_out_and_overwrite(tmp_path, monkeypatch, capsys):
    """Without --out, train writes runs/<config name>; a non-empty folder needs --overwrite."""
    monkeypatch.chdir(tmp_path)
    cfg_file = tmp_path / "tiny_bp.yaml"
    cfg_file.write_text(yaml.safe_dump({**SMALL, "algorithm": "bp", "epochs": 1}))
    assert cli_main(["train", "--config", str(cfg_file)]) == 0
    out = tmp_path / "runs" / "tiny_bp"
    assert (out / "metrics.json").exists() and (out / "config.yaml").exists()
    assert f"wrote {Path('runs') / 'tiny_bp'}/metrics.json" in capsys.readouterr().out
    before = (out / "metrics.json").read_text()
    assert cli_main(["train", "--config", str(cfg_file), "--seed", "5"]) == 2
    err = capsys.readouterr().err
    assert "error: out: runs/tiny_bp is not empty" in err and "--overwrite" in err
    assert (out / "metrics.json").read_text() == before  # nothing was replaced
    assert cli_main(["train", "--config", str(cfg_file), "--seed", "5", "--overwrite"]) == 0
    assert (out / "metrics.json").read_text() != before
    assert yaml.safe_load((out / "config.yaml").read_text())["overwrite"] is False
    args = ["train", "--algorithm", "fa", "--dataset", "digits", "--hidden", "8", "--epochs", "1"]
    assert cli_main([*args, "--n-train", "100", "--n-test", "50", "--no-progress"]) == 0
    assert (tmp_path / "runs" / "fa" / "metrics.json").exists()


def test_threads_default_and_validation():
    from neurotp.train import DEFAULTS

    assert DEFAULTS["threads"] == 1
    assert resolve_config({})["threads"] == 1
    with pytest.raises(ValueError, match="threads: must be a positive int"):
        resolve_config({"threads": 0})
