"""Running a sweep: the points not yet in the results table, on Dask (a ``LocalCluster`` of
one-thread worker processes, or an existing cluster) or one after another in this process.

The client resolves every point (its hash), skips those already in ``OUT/results.csv``,
compiles the Numba kernels once, submits the rest, and writes each row as it comes back. At
the end it writes ``results.parquet``, the summary over seeds and the figure.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from neurotp.sweep.figure import FIGURE, plot_sweep
from neurotp.sweep.point import (
    PointTask,
    cache_place,
    point_hash,
    point_id,
    resolve_circuit,
    run_point,
    warm_numba,
)
from neurotp.sweep.spec import SweepSpec, yaml_text
from neurotp.sweep.table import (
    RESULTS_CSV,
    RESULTS_PARQUET,
    default_metric,
    format_summary,
    read_results,
    row_key,
    summarize,
    write_results,
    write_summary,
)

SPEC_FILE = "sweep.yaml"
POINTS = "points"


class SweepError(RuntimeError):
    """A sweep that cannot start (its output folder, its cluster); the message says why."""


@dataclass
class SweepOutcome:
    out: Path
    total: int  # point × seed runs of this sweep
    ran: int  # of which run now
    skipped: int  # of which already in the table
    failed: int  # rows of this sweep whose status is "failed"
    summary_text: str = ""
    files: list[Path] = field(default_factory=list)


@dataclass
class PlannedPoint:
    """One point of the spec: its parameters, a task per seed, and a failed row per seed for
    which it cannot even be resolved (a bad field or value: nothing to run)."""

    params: dict[str, Any]
    tasks: list[PointTask]
    invalid: list[dict[str, Any]]


def plan(spec: SweepSpec, out: Path) -> list[PlannedPoint]:
    text = Path(spec.source).read_text(encoding="utf-8")
    try:  # the file and the --set of every point must resolve: else nothing can run
        point_hash(spec.kind, text, spec.fixed, spec.seeds[0], spec.options)
    except Exception as exc:  # noqa: BLE001 - reported as one error line
        raise SweepError(f"{spec.source}: {exc}") from None
    planned = []
    for params in spec.points:
        overrides = (*spec.fixed, *(f"{k}={yaml_text(v)}" for k, v in params.items()))
        tasks, invalid = [], []
        for seed in spec.seeds:
            try:
                hash_, opts = point_hash(spec.kind, text, overrides, seed, spec.options)
            except Exception as exc:  # noqa: BLE001 - a bad point is a failed row
                invalid.append(
                    {
                        **params,
                        "seed": seed,
                        "status": "failed",
                        "error": f"{type(exc).__name__}: {exc}",
                        "hash": None,
                        "run_options": None,
                        "overrides": _json(list(overrides)),
                    }
                )
                continue
            name = point_id(hash_, seed, _json(opts))
            tasks.append(
                PointTask(
                    kind=spec.kind,
                    source=spec.source,
                    text=text,
                    params=dict(params),
                    overrides=tuple(overrides),
                    seed=seed,
                    options=opts,
                    folder=str(out / POINTS / name),
                    hash=hash_,
                )
            )
        planned.append(PlannedPoint(dict(params), tasks, invalid))
    return planned


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def check_out(out: Path) -> None:
    """An existing non-empty output folder must be a sweep's (it holds ``sweep.yaml``)."""
    if out.exists() and not out.is_dir():
        raise SweepError(f"--out {out}: exists and is not a folder")
    if out.is_dir() and any(out.iterdir()) and not (out / SPEC_FILE).exists():
        raise SweepError(
            f"--out {out}: a non-empty folder that is not a neurotp sweep's (no {SPEC_FILE}); "
            f"choose another --out"
        )


def _warm_here(tasks: list[PointTask]) -> None:
    """Compile the Numba kernels in this process before workers start, once per dtype and
    block setting, so that workers only load them from Numba's cache."""
    seen = set()
    for t in tasks:
        if t.kind != "circuit" or t.options["backend"] != "numba":
            continue
        key = (t.options["dtype"], t.options.get("block_steps"))
        if key in seen:
            continue
        seen.add(key)
        circuit = resolve_circuit(t.text, t.overrides, t.seed, t.options.get("spiking"))
        warm_numba(circuit, *key)


def scheduler_address(scheduler: str | None) -> str | None:
    """``--scheduler``, else Dask's ``scheduler-address`` config (``DASK_SCHEDULER_ADDRESS``),
    else None (a LocalCluster)."""
    if scheduler:
        return scheduler
    import dask

    return dask.config.get("scheduler-address", None)


def _client(scheduler: str | None, workers: int | None):
    try:
        from distributed import Client, LocalCluster
    except ImportError as exc:  # pragma: no cover - the extra is missing
        raise SweepError(
            f"neurotp sweep runs on Dask: pip install 'neurotp[sweep]' ({exc})"
        ) from None
    address = scheduler_address(scheduler)
    if address:
        try:
            return Client(address, timeout="20s"), None
        except OSError as exc:
            raise SweepError(f"--scheduler {address}: cannot connect ({exc})") from None
    try:
        import bokeh  # noqa: F401

        dashboard = ":0"
    except ImportError:
        dashboard = None
    cluster = LocalCluster(
        n_workers=workers or os.cpu_count() or 1,
        threads_per_worker=1,
        processes=True,
        dashboard_address=dashboard,
        silence_logs=logging.ERROR,
    )
    return Client(cluster), cluster


def _run_dask(
    tasks: list[PointTask],
    record: Callable[[dict], None],
    scheduler: str | None,
    workers: int | None,
    progress: bool,
    log: Callable[[str], None],
    warmed_at: str | None = None,
) -> None:
    from distributed import as_completed

    client, cluster = _client(scheduler, workers)
    try:
        n = len(client.scheduler_info()["workers"])
        where = "LocalCluster" if cluster else client.scheduler.address
        services = client.scheduler_info().get("services", {})
        dashboard = client.dashboard_link if "dashboard" in services else "off (pip install bokeh)"
        log(f"dask: {where}, {n} worker(s); dashboard: {dashboard}")
        futures = {
            client.submit(
                run_point, t, warmed_at, key=f"neurotp-point-{Path(t.folder).name}", pure=False
            ): t
            for t in tasks
        }
        bar = _bar(len(tasks), progress)
        for fut in as_completed(futures):
            task = futures[fut]
            try:
                row = fut.result()
            except Exception as exc:  # noqa: BLE001 - a lost worker: the point failed
                row = _lost_row(task, exc)
            record(row)
            bar.update(1)
        bar.close()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _lost_row(task: PointTask, exc: BaseException) -> dict[str, Any]:
    return {
        **task.params,
        "seed": task.seed,
        "status": "failed",
        "error": f"{type(exc).__name__}: {exc}",
        "hash": task.hash,
        "run_options": task.run_options,
        "folder": Path(task.folder).name,
    }


def _bar(total: int, progress: bool):
    from tqdm import tqdm

    return tqdm(total=total, unit="point", desc="sweep", disable=not progress, file=sys.stderr)


def run_sweep(
    spec: SweepSpec,
    *,
    scheduler: str | None = None,
    workers: int | None = None,
    sequential: bool = False,
    retry_failed: bool = False,
    progress: bool = True,
    log: Callable[[str], None] = print,
) -> SweepOutcome:
    """Run the points of ``spec`` missing from ``OUT/results.csv``; write the table, the
    summary and the figure. ``sequential`` runs them in this process, one after another."""
    out = Path(spec.out).resolve()
    check_out(out)
    planned = plan(spec, out)
    out.mkdir(parents=True, exist_ok=True)
    (out / SPEC_FILE).write_text(yaml.safe_dump(spec.to_dict(), sort_keys=False))
    rows = [r for r in read_results(out) if r.get("hash")]  # invalid points: checked again
    done = {row_key(r) for r in rows if r.get("status") == "ok" or not retry_failed}
    invalid = [r for p in planned for r in p.invalid]
    rows.extend(invalid)
    tasks = [t for p in planned for t in p.tasks]
    todo = list({t.key: t for t in tasks if t.key not in done}.values())  # two points, one run
    total = len(tasks) + len(invalid)
    skipped = len({t.key for t in tasks}) - len(todo)
    log(
        f"sweep {spec.source}: {len(spec.points)} point(s) x {len(spec.seeds)} seed(s) = "
        f"{total}; {skipped} already in {out / RESULTS_CSV}, {len(todo)} to run"
        + (f", {len(invalid)} invalid (not run)" if invalid else "")
    )
    by_key = {row_key(r): i for i, r in enumerate(rows) if r.get("hash")}

    def record(row: dict[str, Any]) -> None:
        k = row_key(row)
        if k in by_key:
            rows[by_key[k]] = row
        else:
            by_key[k] = len(rows)
            rows.append(row)
        write_results(rows, out, parquet=False)

    write_results(rows, out, parquet=False)
    t0 = time.perf_counter()
    if todo:
        warmed_at = None
        if sequential or not scheduler_address(scheduler):  # this machine runs the points
            _warm_here(todo)
            warmed_at = cache_place()
        if sequential:
            bar = _bar(len(todo), progress)
            for t in todo:
                record(run_point(t))
                bar.update(1)
            bar.close()
        else:
            _run_dask(todo, record, scheduler, workers, progress, log, warmed_at)
    if todo:
        log(f"ran {len(todo)} point run(s) in {time.perf_counter() - t0:.1f} s")
    write_results(rows, out, parquet=True)
    by_key_row = {row_key(r): r for r in rows if r.get("hash")}
    rows_by_point = [
        [{**by_key_row[t.key], **p.params} for t in p.tasks if t.key in by_key_row] + p.invalid
        for p in planned
    ]
    outcome = SweepOutcome(out, total, ran=len(todo), skipped=skipped, failed=0)
    finish(spec, outcome, rows_by_point, log)
    return outcome


def finish(spec: SweepSpec, outcome: SweepOutcome, rows_by_point, log) -> None:
    """Summary (printed and saved) and figure of this sweep's rows."""
    out = outcome.out
    flat = [r for rs in rows_by_point for r in rs]
    metric = spec.metric or default_metric(flat)
    summary = summarize(spec.points, spec.params, rows_by_point)
    text = format_summary(summary, spec.params, metric)
    files = [out / RESULTS_CSV, out / RESULTS_PARQUET, *write_summary(summary, text, out)]
    files.append(plot_sweep(flat, spec.params, metric, out / FIGURE, title=Path(spec.source).stem))
    failed = [r for r in flat if r.get("status") != "ok"]
    for r in failed:
        log(f"failed: seed {r['seed']} {_describe(r, spec.params)}: {r.get('error')}")
    log(text)
    outcome.failed = len(failed)
    outcome.summary_text = text
    outcome.files = files


def _describe(row: dict[str, Any], params: list[str]) -> str:
    return ", ".join(f"{p}={row.get(p)}" for p in params) or "(circuit as given)"
