"""neurotp/commands/bench.py: the suites' parsers, and ``--out`` checked before a benchmark
runs (a folder, or a file where a folder should be, is one error line)."""

import pytest

import neurotp.bench.engines
from neurotp.cli import build_parser, main
from neurotp.commands.bench import SUITES, check_out_file


def test_every_suite_has_its_parser(capsys):
    p = build_parser()
    args = p.parse_args(["bench", "engines", "--units", "50"])
    assert (args.suite, args.units, args.out) == ("engines", 50, "runs/bench_engines.json")
    assert p.parse_args(["bench", "algorithms"]).suite == "algorithms"
    assert set(SUITES) == {"engines", "algorithms", "circuits"}
    assert p.parse_args(["bench", "circuits", "--quick"]).quick
    for argv in (["bench"], ["bench", "nope"]):  # a suite is required, and must be known
        with pytest.raises(SystemExit) as exc:
            p.parse_args(argv)
        assert exc.value.code == 2
    assert "invalid choice: 'nope'" in capsys.readouterr().err


def test_out_is_checked_before_the_benchmark_runs(capsys, monkeypatch, tmp_path):
    ran = []
    monkeypatch.setattr(neurotp.bench.engines, "main", lambda args: ran.append(args) or 7)
    assert main(["bench", "engines", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.splitlines()
    hint = tmp_path / "bench.json"
    assert err == [f"error: {tmp_path}: --out: is a folder; give a file, e.g. {hint}"]
    (tmp_path / "file").write_text("")
    assert main(["bench", "engines", "--out", str(tmp_path / "file" / "b.json")]) == 2
    assert capsys.readouterr().err.strip() == f"error: {tmp_path / 'file'}: --out: not a folder"
    assert ran == []  # neither benchmark ran
    # a good --out (its folder made later) runs the suite, and its exit status is the command's
    assert main(["bench", "engines", "--out", str(tmp_path / "new" / "b.json")]) == 7
    assert len(ran) == 1 and ran[0].out == str(tmp_path / "new" / "b.json")
    check_out_file(None)  # no --out: nothing to check
