"""neurotp/commands/figures.py: the figure scripts found in figures/, ``--list``, and an
unknown name refused (naming every allowed one) before any figure is built."""

from pathlib import Path

from neurotp.cli import main
from neurotp.commands import figures

REPO = Path(__file__).resolve().parents[1]


def test_the_figures_are_the_scripts_in_figures():
    figs = figures.available()
    scripts = sorted(REPO.glob("figures/fig_*.py"))
    assert list(figs.values()) == scripts and figures.figure_dir() == REPO / "figures"
    assert list(figs) == [p.stem.removeprefix("fig_") for p in scripts]
    assert {"alignment", "learning_curves"} <= set(figs)


def test_list_prints_every_figure(capsys):
    assert main(["figures", "--list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [ln.split() for ln in lines] == [
        [name, str(path)] for name, path in figures.available().items()
    ]


def test_an_unknown_name_names_the_allowed_ones(capsys, monkeypatch):
    def boom(path):
        raise AssertionError(f"built {path} before checking the names")

    monkeypatch.setattr(figures, "run_figure", boom)
    assert main(["figures", "alignment", "nope"]) == 2
    err = capsys.readouterr().err.splitlines()
    allowed = ", ".join(figures.available())
    assert err == [f"error: figures: unknown name(s) ['nope']; allowed: {allowed}, all"]


def test_all_builds_every_figure_in_order(capsys, monkeypatch):
    built = []
    monkeypatch.setattr(figures, "run_figure", lambda path: built.append(path) or 0.5)
    assert main(["figures"]) == 0  # default: all
    assert built == list(figures.available().values())
    assert (
        capsys.readouterr().out.splitlines()[0]
        == f"figure {next(iter(figures.available()))}: 0.5 s"
    )


def test_cached_json_computes_once_per_key_and_again_when_forced(tmp_path):
    from neurotp.commands.figures import cached_json

    calls = []

    def compute():
        calls.append(1)
        return {"n": len(calls)}

    assert cached_json("x", [1, "text"], compute, cache=tmp_path) == {"n": 1}
    assert cached_json("x", [1, "text"], compute, cache=tmp_path) == {"n": 1}  # read back
    assert len(calls) == 1
    assert cached_json("x", [1, "edited"], compute, cache=tmp_path) == {"n": 2}  # new key
    assert cached_json("x", [1, "text"], compute, force=True, cache=tmp_path) == {"n": 3}
    assert len(list(tmp_path.glob("x_*.json"))) == 2
