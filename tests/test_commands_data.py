"""neurotp/commands/data.py: ``neurotp data list`` prints a line for every data set (where it
was found, or why not), ``data download`` takes only the downloadable names and a failed
download is one error line."""

import pytest

import neurotp.data.download
from neurotp.cli import main
from neurotp.data.datasets import DATASET_NAMES, IDX_FILES


def listed(capsys) -> dict[str, str]:
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len(DATASET_NAMES)
    return {ln.split()[0]: ln for ln in lines}


def test_data_list_prints_every_data_set(capsys, tmp_path):
    assert main(["data", "list", "--data-dir", str(tmp_path)]) == 0
    lines = listed(capsys)
    assert list(lines) == list(DATASET_NAMES)
    assert "built in" in lines["digits"]
    for name in ("fashion-mnist", "mnist"):
        assert f"{name}: data folder {tmp_path} is incomplete; missing: " in lines[name]
        assert lines[name].split()[1:3] == ["NOT", "FOUND;"]
    (tmp_path / "mnist").mkdir()
    for stem in IDX_FILES.values():
        (tmp_path / "mnist" / f"{stem}.gz").write_bytes(b"")
    assert main(["data", "list", "--data-dir", str(tmp_path)]) == 0
    lines = listed(capsys)
    assert lines["mnist"].split()[1:] == [str(tmp_path / "mnist")]
    assert "NOT FOUND" in lines["fashion-mnist"]


def test_data_needs_an_action_and_a_known_name(capsys):
    assert main(["data"]) == 2
    out = capsys.readouterr().out  # the help, naming the actions
    assert "show where each data set was found" in out and "download and verify" in out
    with pytest.raises(SystemExit) as exc:
        main(["data", "download", "digits"])  # built in: nothing to download
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "invalid choice: 'digits'" in err and "fashion-mnist" in err


def test_a_failed_download_is_one_error_line(capsys, monkeypatch, tmp_path):
    def fail(name, dest_dir, force=False):
        raise RuntimeError(f"{name}: every mirror failed:\n  a: timed out\n  b: 404")

    monkeypatch.setattr(neurotp.data.download, "download", fail)
    assert main(["data", "download", "mnist", "--dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err == ["error: mnist: every mirror failed:; a: timed out; b: 404"]

    def done(name, dest_dir, force=False):
        return {k: tmp_path / v for k, v in IDX_FILES.items()}

    monkeypatch.setattr(neurotp.data.download, "download", done)
    assert main(["data", "download", "mnist", "--dir", str(tmp_path)]) == 0
    assert capsys.readouterr().out.strip() == f"mnist: 4 files in {tmp_path}"
