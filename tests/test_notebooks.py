"""The notebooks (jupytext text files) run top to bottom at small sizes."""

from pathlib import Path

import pytest

jupytext = pytest.importorskip("jupytext", reason="pip install 'neurotp[notebooks]'")
nbclient = pytest.importorskip("nbclient", reason="pip install 'neurotp[notebooks]'")

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.py"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(path, tmp_path, monkeypatch):
    if "brian2" in path.stem:
        pytest.importorskip("brian2", reason="pip install 'neurotp[brian2]'")
    if path.stem in ("rules_vs_baselines", "algorithms_tour"):
        pytest.importorskip("torch", reason="pip install 'neurotp[torch]'")
    monkeypatch.setenv("NEUROTP_NOTEBOOK_SMALL", "1")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    nb = jupytext.read(path)
    client = nbclient.NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()
    errors = [
        o
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.get("outputs", [])
        if o.get("output_type") == "error"
    ]
    assert not errors
