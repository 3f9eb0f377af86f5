"""What neurotp compare writes: the tables, the JSON, two figures per architecture."""

import json

import pytest

pytest.importorskip("torch", reason="pip install 'neurotp[torch]'")

from neurotp.compare import markdown_table, write_outputs  # noqa: E402


def test_write_outputs_writes_tables_json_and_figures(compare_small, tmp_path):
    paths = write_outputs([compare_small], tmp_path / "out")
    names = sorted(p.name for p in paths)
    assert names == [
        "alignment_64-16-10.png",
        "compare.json",
        "compare.md",
        "learning_curves_64-16-10.png",
    ]
    assert all(p.stat().st_size > 0 for p in paths)
    assert (tmp_path / "out" / "compare.md").read_text() == markdown_table(compare_small) + "\n"
    assert json.loads((tmp_path / "out" / "compare.json").read_text())[0]["arch"] == "64-16-10"
