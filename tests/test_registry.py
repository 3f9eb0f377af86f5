"""One engine list: get_engine, the CLI and docs/engines.md all read the registry."""

import pathlib

import pytest

from neurotp.cli import build_parser
from neurotp.engines import BACKENDS, DEFAULT_BACKEND, ENGINES, Engine, get_engine

DOCS = pathlib.Path(__file__).resolve().parents[1] / "docs" / "engines.md"


@pytest.mark.parametrize("name", ["reference", "numba"])
def test_get_engine_builds_each_registered_engine(name):
    cls = get_engine(name)
    assert issubclass(cls, Engine) and cls.name == name
    assert cls.supports_spiking == ENGINES[name].spiking


def test_unknown_engine_lists_the_registered_ones():
    with pytest.raises(
        ValueError, match=r"backend: unknown engine 'nest'; allowed: reference, numba"
    ):
        get_engine("nest")


def test_a_missing_extra_says_what_to_install(monkeypatch):
    import importlib

    real = importlib.import_module

    def fake(name, *a, **k):
        if name == "neurotp.engines.brian2":
            raise ImportError("No module named 'brian2'")
        return real(name, *a, **k)

    monkeypatch.setattr(importlib, "import_module", fake)
    with pytest.raises(ImportError, match=r"pip install 'neurotp\[brian2\]'"):
        get_engine("brian2")


def test_cli_choices_are_the_registry():
    sub = next(a for a in build_parser()._actions if a.dest == "command").choices
    for command in ("run", "sweep"):
        backend = next(a for a in sub[command]._actions if a.dest == "backend")
        assert tuple(backend.choices) == BACKENDS
    run_backend = next(a for a in sub["run"]._actions if a.dest == "backend")
    assert run_backend.default == DEFAULT_BACKEND == "numba"


def test_docs_table_lists_every_engine_with_its_summary():
    text = DOCS.read_text(encoding="utf-8")
    for e in ENGINES.values():
        row = next((line for line in text.splitlines() if line.startswith(f"| `{e.name}` |")), "")
        assert e.summary in row, e.name
        assert ("yes" if e.spiking else "no") in row.split("|")[-2]


def test_batched_engines_are_registered_for_reference_and_numba():
    from neurotp.engines.registry import BATCHED, get_batched_engine

    assert set(BATCHED) == {"reference", "numba"}
    for name in BATCHED:
        cls = get_batched_engine(name)
        assert issubclass(cls, Engine) and cls.name == name
    with pytest.raises(ValueError, match=r"protocol.batch: backend 'brian2' runs one copy only"):
        get_batched_engine("brian2")
