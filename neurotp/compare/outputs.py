"""What ``neurotp compare`` writes: the Markdown tables, the JSON and the figures."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from neurotp.compare.plots import plot_alignment, plot_learning_curves
from neurotp.compare.summary import markdown_table


def write_outputs(results: list[dict[str, Any]], out: str | Path) -> list[Path]:
    """Write compare.md, compare.json and each architecture's two figures into ``out``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    md = "\n\n".join(markdown_table(r) for r in results) + "\n"
    (out / "compare.md").write_text(md)
    (out / "compare.json").write_text(json.dumps(results, indent=1) + "\n")
    paths = [out / "compare.md", out / "compare.json"]
    for r in results:
        tag = r["arch"]
        plot_learning_curves(r, out / f"learning_curves_{tag}.png")
        plot_alignment(r, out / f"alignment_{tag}.png")
        paths += [out / f"learning_curves_{tag}.png", out / f"alignment_{tag}.png"]
    return paths
