"""neurotp/commands/compare.py: the command checks every option (each ``--arch`` too) before
the first circuit trains."""

from pathlib import Path

import pytest

pytest.importorskip("torch", reason="pip install 'neurotp[torch]'")

from neurotp.cli import build_parser  # noqa: E402
from neurotp.compare import experiment as compare_experiment  # noqa: E402


def test_bad_options_fail_before_anything_trains(monkeypatch):
    def boom(*args, **kwargs):
        raise AssertionError("trained before checking the settings")

    monkeypatch.setattr(compare_experiment, "_train_circuit", boom)

    # the command checks every --arch before the first one trains (cli.main prints the error)
    def command(*argv):
        args = build_parser().parse_args(["compare", *argv])
        return args.func(args)

    with pytest.raises(ValueError, match="--arch: '64-10'"):
        command("--arch", "64-16-10", "--arch", "64-10", "--epochs", "1")
    with pytest.raises(ValueError, match="--baselines: unknown 'foo'"):
        command("--baselines", "foo", "--epochs", "1")


def test_a_bad_option_is_one_error_line(monkeypatch, capsys, tmp_path):
    from neurotp.cli import main

    monkeypatch.setattr(compare_experiment, "_train_circuit", None)  # never reached
    assert main(["compare", "--arch", "64-10", "--out", str(tmp_path / "c")]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith("error: --arch: '64-10'")
    assert not (tmp_path / "c").exists()


def test_temporal_circuits_are_checked_before_anything_trains(monkeypatch, capsys, tmp_path):
    from neurotp.cli import main

    monkeypatch.setattr(compare_experiment, "_train_circuit", None)  # never reached
    assert main(["compare", "--temporal", str(tmp_path / "no.yaml"), "--out", str(tmp_path)]) == 2
    assert capsys.readouterr().err.startswith("error: --temporal: no circuit file")
    # digits_temporal is 64-16-10: with only the deep architecture asked for, no row takes it
    circuit = Path(__file__).resolve().parents[1] / "circuits" / "digits_temporal.yaml"
    args = ["compare", "--arch", "64-16-16-10", "--temporal", str(circuit)]
    assert main([*args, "--out", str(tmp_path / "c")]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err == [
        f"error: --temporal: {circuit} is 64-16-10, which no --arch gives; "
        "allowed: circuits of 64-16-16-10"
    ]
    assert not (tmp_path / "c").exists()
