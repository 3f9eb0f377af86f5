"""The command line: every user error of every command is one ``error:`` line on stderr and
exit status 2, no traceback; ``--debug`` shows the traceback; spiking circuits and a missing
Brian2 fail before anything is built; a cold Numba cache is announced."""

from pathlib import Path

import pytest

import neurotp.data
from neurotp.cli import error_line, main

ROOT = Path(__file__).resolve().parents[1]
DIGITS = str(ROOT / "circuits" / "digits_tp.yaml")
SMALL = ["--set", "protocol.n_train=60", "--set", "protocol.n_test=30", "--no-progress"]


def one_error(capsys, argv, *said):
    """Run ``neurotp argv``: exit status 2 and one ``error:`` line containing ``said``."""
    assert main(argv) == 2
    err = capsys.readouterr().err
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err
    for s in said:
        assert s in lines[0], (s, lines[0])
    return lines[0]


def test_run_of_a_missing_file(capsys, tmp_path):
    one_error(capsys, ["run", str(tmp_path / "nope.yaml")], "nope.yaml: No such file")


def test_run_of_a_directory(capsys):
    one_error(capsys, ["run", str(ROOT / "circuits")], "Is a directory")


def test_run_with_a_bad_set(capsys, tmp_path):
    one_error(
        capsys,
        ["run", DIGITS, "--out", str(tmp_path), "--set", "populations.Q.size=3"],
        "--set populations.Q: no item named 'Q'",
    )


@pytest.mark.parametrize("out", ["file", "file/sub"])
def test_run_with_a_bad_out(capsys, tmp_path, out):
    (tmp_path / "file").write_text("")
    one_error(capsys, ["run", DIGITS, "--out", str(tmp_path / out), *SMALL], "ot a ")


def test_run_into_a_folder_of_another_run(capsys, tmp_path):
    (tmp_path / "metrics.json").write_text("{}")
    one_error(capsys, ["run", DIGITS, "--out", str(tmp_path), *SMALL], "--overwrite")
    assert (tmp_path / "metrics.json").read_text() == "{}"  # nothing was touched


def test_resume_of_a_corrupt_checkpoint(capsys, tmp_path):
    (tmp_path / "checkpoint.npz").write_bytes(b"PK\x03\x04 not really")
    one_error(
        capsys,
        ["run", DIGITS, "--out", str(tmp_path), "--resume", *SMALL],
        f"{tmp_path / 'checkpoint.npz'}: corrupt checkpoint",
    )


def test_resume_without_checkpoint(capsys, tmp_path):
    one_error(capsys, ["run", DIGITS, "--out", str(tmp_path), "--resume", *SMALL], "no checkpoint")


def test_default_folder_name_cannot_escape_runs(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    one_error(capsys, ["run", DIGITS, "--set", "name=../../x", *SMALL], "under runs/")
    assert not any(tmp_path.parent.parent.glob("x"))


@pytest.mark.parametrize(
    "argv",
    [
        ["--epochs", "0"],
        ["--epochs", "-2"],
        ["--block-steps", "0"],
        ["--block-steps", "many"],
    ],
)
def test_bad_numbers_are_usage_errors(capsys, tmp_path, argv):
    with pytest.raises(SystemExit) as exc:
        main(["run", DIGITS, "--out", str(tmp_path), *argv])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert f"argument {argv[0]}:" in err and "Traceback" not in err


def test_options_of_another_backend(capsys, tmp_path):
    one_error(
        capsys,
        ["run", DIGITS, "--out", str(tmp_path), "--brian2-target", "cython"],
        "--brian2-target: allowed only with --backend brian2",
    )
    one_error(
        capsys,
        ["run", DIGITS, "--out", str(tmp_path), "--backend", "reference", "--block-steps", "2"],
        "--block-steps: allowed only with --backend numba",
    )


@pytest.fixture
def no_data(monkeypatch):
    """Loading data fails the test: the error must come before anything is built."""

    def fail(*a, **k):
        raise AssertionError("data loaded before the error")

    monkeypatch.setattr(neurotp.data, "load_dataset", fail)


def test_spiking_circuit_on_the_default_backend(capsys, tmp_path, no_data):
    spiking = str(ROOT / "circuits" / "digits_tp_spiking.yaml")
    one_error(capsys, ["run", spiking, "--out", str(tmp_path)], "--backend brian2")
    one_error(capsys, ["run", DIGITS, "--out", str(tmp_path), "--spiking", "lif"], "brian2")
    assert not any(tmp_path.iterdir())


def test_brian2_missing(capsys, tmp_path, monkeypatch, no_data):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "brian2" else real(name, *a)
    )
    one_error(
        capsys,
        ["run", DIGITS, "--out", str(tmp_path), "--backend", "brian2", "--spiking", "lif"],
        "pip install 'neurotp[brian2]'",
    )


def test_bench_out_must_be_a_file(capsys, tmp_path):
    one_error(capsys, ["bench", "engines", "--out", str(tmp_path)], "is a folder")
    (tmp_path / "f").write_text("")
    one_error(capsys, ["bench", "algorithms", "--out", str(tmp_path / "f" / "x.json")], "ot a")


def test_figures_of_an_unknown_name(capsys):
    one_error(capsys, ["figures", "nosuch"], "unknown name(s) ['nosuch']")


def test_debug_shows_the_traceback(tmp_path):
    with pytest.raises(FileNotFoundError):
        main(["--debug", "run", str(tmp_path / "nope.yaml")])


def test_error_line_is_one_line():
    assert error_line(ValueError("a\n  b\n")) == "error: a; b"
    assert error_line(FileNotFoundError(2, "No such file", "x")) == "error: x: No such file"


def test_cold_numba_cache_is_announced(capsys, tmp_path, monkeypatch):
    import neurotp.simulation

    monkeypatch.setattr(neurotp.simulation, "numba_kernels_ready", lambda: False)
    monkeypatch.setattr(neurotp.simulation, "_NUMBA_DRIVEN", False)
    small = [a for a in SMALL if a != "--no-progress"]
    assert main(["run", DIGITS, "--epochs", "1", "--out", str(tmp_path), *small]) == 0
    err = capsys.readouterr().err
    assert "compiling kernels (first run only)" in err
    last = err.strip().split("\r")[-1]
    assert "60/60" in last and "compiling" not in last  # said until the first drive returned


def test_divergence_is_one_error_line(capsys, tmp_path):
    blow_up = [
        *("--set", "rules.prediction_XH.lr=50.0", "--set", "rules.prediction_HY.lr=50.0"),
        *("--set", "populations.H.activation=linear", "--set", "populations.HT.activation=linear"),
    ]
    argv = ["run", DIGITS, "--epochs", "6", "--out", str(tmp_path), *SMALL, *blow_up]
    one_error(capsys, argv, "divergence: population 'H' became NaN/inf at t=")
