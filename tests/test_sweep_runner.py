"""neurotp/sweep/runner.py, end to end through ``neurotp sweep``: a LocalCluster of 2 gives the
numbers of `neurotp run`, a killed sweep reruns only what is missing, and the real distributed
path (`dask scheduler` + two `dask worker` processes, via --scheduler or Dask's config)."""

import contextlib
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

pytest.importorskip("distributed", reason="pip install 'neurotp[sweep]'")
pd = pytest.importorskip("pandas", reason="pip install 'neurotp[sweep]'")

from helpers import LR, NOISE, assert_same_run, metrics_of, rows_of  # noqa: E402
from helpers import REPO as ROOT  # noqa: E402
from helpers import SWEEP_CIRCUIT as CIRCUIT  # noqa: E402
from helpers import SWEEP_SMALL as SMALL  # noqa: E402

from neurotp.cli import main  # noqa: E402

pytestmark = pytest.mark.sweep


# ---- a LocalCluster of 2 gives the numbers of `neurotp run` ------------------------------
def test_localcluster_grid_gives_the_numbers_of_neurotp_run(tmp_path, capsys):
    out = tmp_path / "grid"
    grid = ["--grid", f"{NOISE}=0.1,0.2", "--grid", f"{LR}=0.01,0.02,0.04"]
    args = ["sweep", CIRCUIT, *SMALL, *grid, "--seeds", "0-2", "--workers", "2"]
    assert main([*args, "--out", str(out), "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert "6 point(s) x 3 seed(s) = 18; 0 already" in printed and "dask: LocalCluster" in printed
    rows = rows_of(out)
    assert len(rows) == 18 and {r["status"] for r in rows} == {"ok"}
    assert len({r["worker"] for r in rows}) == 2  # both workers ran points
    assert {(r[NOISE], r[LR], r["seed"]) for r in rows} == {
        (n, lr, s) for n in (0.1, 0.2) for lr in (0.01, 0.02, 0.04) for s in (0, 1, 2)
    }
    for r in rows:  # each row is its run folder's numbers
        m = metrics_of(out / "points" / r["folder"])
        assert r["test_accuracy"] == m["final"]["test_accuracy"] and m["seed"] == r["seed"]
    # the same `neurotp run`, one after another, for three rows: every seed, noise and rate
    for noise, lr, seed in ((0.1, 0.01, 0), (0.2, 0.02, 1), (0.1, 0.04, 2)):
        pick = next(r for r in rows if (r[NOISE], r[LR], r["seed"]) == (noise, lr, seed))
        ref = tmp_path / f"ref{seed}"
        sets = ["--set", f"{NOISE}={noise}", "--set", f"{LR}={lr}", "--seed", str(seed)]
        assert main(["run", CIRCUIT, *SMALL, *sets, "--no-progress", "--out", str(ref)]) == 0
        assert_same_run(out / "points" / pick["folder"], ref)
    # summary: mean ± sample std over the seeds of each point; the parquet table; the figure
    summary = pd.read_csv(out / "summary.csv")
    assert len(summary) == 6 and set(summary["ok"]) == {3}
    for _, s in summary.iterrows():
        acc = [r["test_accuracy"] for r in rows if (r[NOISE], r[LR]) == (s[NOISE], s[LR])]
        assert s["test_accuracy_mean"] == pytest.approx(np.mean(acc))
        assert s["test_accuracy_std"] == pytest.approx(np.std(acc, ddof=1))
    assert len(pd.read_parquet(out / "results.parquet")) == 18
    assert (out / "sweep.png").stat().st_size > 10_000


# ---- kill the sweep halfway; the rerun runs only what is missing -------------------------
def test_killed_sweep_reruns_only_missing_points(tmp_path, capsys):
    out = tmp_path / "kill"
    args = [CIRCUIT, *SMALL, "--grid", f"{NOISE}=0.1,0.2", "--seeds", "0-1"]
    args += ["--out", str(out), "--sequential", "--no-progress"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "neurotp", "sweep", *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and proc.poll() is None:
            if (out / "results.csv").exists() and len(rows_of(out)) >= 2:
                break
            time.sleep(0.2)
    finally:
        proc.kill()
        proc.wait()
    before = rows_of(out)
    assert 2 <= len(before) < 4, "the sweep was not killed halfway"
    stamps = {
        r["folder"]: (out / "points" / r["folder"] / "metrics.json").stat().st_mtime_ns
        for r in before
    }

    assert main(["sweep", *args]) == 0
    printed = capsys.readouterr().out
    assert f"= 4; {len(before)} already in" in printed and f"{4 - len(before)} to run" in printed
    after = rows_of(out)
    assert len(after) == 4 and {r["status"] for r in after} == {"ok"}
    for folder, stamp in stamps.items():  # finished points were not run again
        assert (out / "points" / folder / "metrics.json").stat().st_mtime_ns == stamp
    assert sorted(os.listdir(out / "points")) == sorted(r["folder"] for r in after)

    table = (out / "results.csv").read_text()
    assert main(["sweep", *args]) == 0  # nothing left to run
    assert "= 4; 4 already in" in capsys.readouterr().out
    assert (out / "results.csv").read_text() == table


# ---- `dask scheduler` and two `dask worker` processes, via --scheduler --------------------
@pytest.fixture
def dask_processes(tmp_path):
    """A scheduler and two one-thread workers on 127.0.0.1 (free ports), as separate
    processes; torn down at the end whatever happens. Yields (address, worker addresses)."""
    from distributed import Client

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    file = tmp_path / "scheduler.json"
    procs: list[subprocess.Popen] = []
    log = open(tmp_path / "dask.log", "w")  # noqa: SIM115 - closed below

    def start(*cmd: str) -> None:
        procs.append(
            subprocess.Popen(
                [sys.executable, "-m", "dask", *cmd],
                env=env,
                cwd=tmp_path,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        )

    try:
        start(
            "scheduler",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--no-dashboard",
            "--scheduler-file",
            str(file),
        )
        for name in ("w1", "w2"):
            start(
                "worker",
                "--scheduler-file",
                str(file),
                "--host",
                "127.0.0.1",
                "--nthreads",
                "1",
                "--nworkers",
                "1",
                "--name",
                name,
                "--no-dashboard",
                "--local-directory",
                str(tmp_path / name),
            )
        deadline = time.monotonic() + 180
        while not file.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        address = json.loads(file.read_text())["address"]
        with Client(address, timeout="60s") as client:
            client.wait_for_workers(2, timeout=180)
            workers = set(client.scheduler_info()["workers"])
        yield address, workers
    finally:
        for p in procs:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(p.pid, signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
        log.close()


def test_scheduler_with_two_dask_worker_processes(tmp_path, capsys, dask_processes):
    import dask

    address, workers = dask_processes
    out = tmp_path / "dist"
    args = ["sweep", CIRCUIT, *SMALL, "--grid", f"{NOISE}=0.1,0.2", "--out", str(out)]
    assert main([*args, "--seeds", "1", "--scheduler", address, "--no-progress"]) == 0
    assert f"dask: {address}, 2 worker(s)" in capsys.readouterr().out
    rows = rows_of(out)
    assert len(rows) == 2 and {r["status"] for r in rows} == {"ok"}
    assert {r["worker"] for r in rows} <= workers
    r = next(r for r in rows if r[NOISE] == 0.2)
    ref = tmp_path / "ref"
    run = ["run", CIRCUIT, *SMALL, "--set", f"{NOISE}=0.2", "--seed", "1", "--no-progress"]
    assert main([*run, "--out", str(ref)]) == 0
    assert_same_run(out / "points" / r["folder"], ref)
    # Dask's own config (DASK_SCHEDULER_ADDRESS) instead of --scheduler; one more seed
    with dask.config.set({"scheduler-address": address}):
        assert main([*args, "--seeds", "0-1", "--no-progress"]) == 0
    assert "= 4; 2 already in" in capsys.readouterr().out
    assert {r["worker"] for r in rows_of(out)} <= workers and len(rows_of(out)) == 4
