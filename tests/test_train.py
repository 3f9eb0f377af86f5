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
    r = train({**SMALL, "algorithm": "dtp", "lr_schedule": "cosine", "epochs": 2})
    assert len(r["epochs"]) == 2


def test_scale_lr_reaches_every_optimizer():
    from neurotp.algorithms.dtp import DifferenceTargetProp

    alg = DifferenceTargetProp([6, 5, 5, 5, 3], lr=1e-3, lr_inv=4e-3, lr_out=2e-3)
    alg.scale_lr(0.25)
    lrs = sorted(g["lr"] for o in alg.optimizers() for g in o.param_groups)
    assert lrs == pytest.approx([2.5e-4, 5e-4, 1e-3])
    alg.scale_lr(1.0)
    assert sorted(g["lr"] for o in alg.optimizers() for g in o.param_groups) == pytest.approx(
        [1e-3, 2e-3, 4e-3]
    )
