"""The results table of a sweep (``results.csv``, ``results.parquet`` beside it) and its
summary over seeds (mean ± std per point).

``results.csv`` is rewritten (temp file, then rename) after every finished point, so a killed
sweep keeps every row it finished; it is the table a rerun reads. ``results.parquet`` holds the
same rows, written when the sweep ends. Values that are lists are stored as JSON text.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

RESULTS_CSV = "results.csv"
RESULTS_PARQUET = "results.parquet"
SUMMARY_CSV = "summary.csv"
SUMMARY_MD = "summary.md"
#: metric columns a row may have, in the order the summary lists them
METRICS = (
    "val_accuracy",
    "val_reconstruction_mse",
    "test_accuracy",
    "test_reconstruction_mse",
    "best_test_accuracy",
    "train_loss",
    "wall_seconds",
)


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def row_key(row: dict[str, Any]) -> tuple[str, int, str]:
    return (str(row["hash"]), int(row["seed"]), str(row["run_options"]))


def read_results(out: str | os.PathLike) -> list[dict[str, Any]]:
    """The rows of ``OUT/results.csv`` (``OUT/results.parquet`` if only it exists); missing
    values are ``None``."""
    out = Path(out)
    if (out / RESULTS_CSV).exists():
        if (out / RESULTS_CSV).stat().st_size == 0:
            return []
        df = pd.read_csv(out / RESULTS_CSV, dtype={"hash": str, "run_options": str})
    elif (out / RESULTS_PARQUET).exists():
        df = pd.read_parquet(out / RESULTS_PARQUET)
    else:
        return []
    rows = df.astype(object).to_dict("records")
    return [{k: (None if _missing(v) else v) for k, v in r.items()} for r in rows]


def frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """Rows as a DataFrame: list values as JSON text, a column of mixed types as text."""
    df = pd.DataFrame(
        [{k: json.dumps(v) if isinstance(v, list) else v for k, v in r.items()} for r in rows]
    )
    for col in df.columns:
        kinds = {type(v) for v in df[col] if not _missing(v)}
        numeric = kinds <= {int, float, np.int64, np.float64}
        if len(kinds) > 1 and not numeric:
            df[col] = [None if _missing(v) else str(v) for v in df[col]]
    return df


def write_results(rows: list[dict[str, Any]], out: str | os.PathLike, parquet: bool) -> None:
    """Write ``OUT/results.csv`` atomically (and ``results.parquet`` if ``parquet``)."""
    out = Path(out)
    if not rows:
        return
    df = frame(rows)
    tmp = out / (RESULTS_CSV + ".tmp")
    df.to_csv(tmp, index=False)
    os.replace(tmp, out / RESULTS_CSV)
    if parquet:
        tmp = out / (RESULTS_PARQUET + ".tmp")
        df.to_parquet(tmp, index=False)
        os.replace(tmp, out / RESULTS_PARQUET)


def default_metric(rows: list[dict[str, Any]]) -> str:
    # a validation split (protocol.validation) is what one tunes on: it comes first
    for name in (
        "val_accuracy",
        "val_reconstruction_mse",
        "test_accuracy",
        "test_reconstruction_mse",
    ):
        if any(not _missing(r.get(name)) for r in rows):
            return name
    return "wall_seconds"


def _stats(values: list[float]) -> tuple[float, float]:
    if not values:
        return math.nan, math.nan
    arr = np.asarray(values, dtype=float)
    return float(arr.mean()), float(arr.std(ddof=1)) if len(arr) > 1 else math.nan


def summarize(
    points: list[dict[str, Any]], params: list[str], rows_by_point: list[list[dict[str, Any]]]
) -> pd.DataFrame:
    """One line per point: its parameters, seeds run / ok / failed, and mean and sample std
    (ddof=1) over its successful seeds of every metric the rows have."""
    present = [
        m for m in METRICS if any(not _missing(r.get(m)) for rs in rows_by_point for r in rs)
    ]
    lines = []
    for point, rows in zip(points, rows_by_point, strict=True):
        ok = [r for r in rows if r.get("status") == "ok"]
        line: dict[str, Any] = {p: point.get(p) for p in params}
        line.update(seeds=len(rows), ok=len(ok), failed=len(rows) - len(ok))
        for m in present:
            line[f"{m}_mean"], line[f"{m}_std"] = _stats(
                [float(r[m]) for r in ok if not _missing(r.get(m))]
            )
        lines.append(line)
    return frame(lines)


def format_value(metric: str, mean: float, std: float) -> str:
    if math.isnan(mean):
        return "-"
    if metric.endswith("accuracy"):
        text = f"{100 * mean:.2f}"
        return f"{text} ± {100 * std:.2f} %" if not math.isnan(std) else f"{text} %"
    text = f"{mean:.4g}"
    return f"{text} ± {std:.2g}" if not math.isnan(std) else text


def format_summary(summary: pd.DataFrame, params: list[str], metric: str) -> str:
    """The summary as a Markdown table of ``metric`` (mean ± std over seeds)."""
    head = [*params, "seeds ok", f"{metric} (mean ± std)"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for _, s in summary.iterrows():
        cells = ["-" if _missing(s[p]) else str(s[p]) for p in params]
        cells.append(f"{int(s['ok'])}/{int(s['seeds'])}")
        mean, std = s.get(f"{metric}_mean", math.nan), s.get(f"{metric}_std", math.nan)
        cells.append(format_value(metric, float(mean), float(std)))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def write_summary(summary: pd.DataFrame, text: str, out: str | os.PathLike) -> list[Path]:
    out = Path(out)
    summary.to_csv(out / SUMMARY_CSV, index=False)
    (out / SUMMARY_MD).write_text(text + "\n", encoding="utf-8")
    return [out / SUMMARY_CSV, out / SUMMARY_MD]
