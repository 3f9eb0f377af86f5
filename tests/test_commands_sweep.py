"""neurotp/commands/sweep.py: every user error of `neurotp sweep` is one ``error:`` line
(exit status 2), and nothing a user made is touched."""

import pytest

pytest.importorskip("distributed", reason="pip install 'neurotp[sweep]'")
pytest.importorskip("pandas", reason="pip install 'neurotp[sweep]'")

from helpers import SWEEP_CIRCUIT as CIRCUIT  # noqa: E402

from neurotp.cli import main  # noqa: E402

pytestmark = pytest.mark.sweep


def test_cli_error_is_one_line(tmp_path, capsys):
    assert main(["sweep", CIRCUIT, "--seeds", "x", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["error: seeds: 'x' is not an int; allowed: a list of ints, 'A-B' or 'A,B,C'"]
    typo = ["sweep", CIRCUIT, "--set", "protocol.n_trian=60", "--out", str(tmp_path / "t")]
    assert main(typo) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and "n_trian" in err[0]
    assert not (tmp_path / "t").exists()
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("mine")
    assert main(["sweep", CIRCUIT, "--out", str(tmp_path / "mine"), "--sequential"]) == 2
    assert "not a neurotp sweep's" in capsys.readouterr().err
    assert (tmp_path / "mine" / "notes.txt").read_text() == "mine"
