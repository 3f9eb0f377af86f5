"""One point of a sweep: its identity, and running it on a worker through ``neurotp run`` (or
``neurotp train``) itself.

A point runs the command in-process, ``neurotp.cli.main(["run", ...])``, with the same
arguments a user would type, and reads the row from the run folder's ``metrics.json``: a
point's numbers are those of the same ``neurotp run`` by construction. Its identity is the
hash of the resolved circuit (:func:`neurotp.circuit.circuit_hash`, seed included) or of the
resolved train config, with the run options that change the numbers.

The circuit (or config) travels as text, so workers need no copy of the file; run folders are
written at the same absolute path on the worker.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import shutil
import socket
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import yaml

#: train config keys that do not change a run's numbers (left out of its hash)
TRAIN_UNHASHED = ("out", "progress", "log_epochs")


@dataclass(frozen=True)
class PointTask:
    """Everything a worker needs to run one point and one seed (picklable, no file access
    besides the run folder)."""

    kind: str  # "circuit" or "train"
    source: str  # the circuit file or config, as named in the spec (messages only)
    text: str  # its YAML text
    params: dict[str, Any]
    overrides: tuple[str, ...]  # the spec's fixed --set, then the point's, as --set text
    seed: int
    options: dict[str, Any]  # resolved run options (RUN_OPTIONS), part of the identity
    folder: str  # absolute run folder of this point
    hash: str  # circuit_hash of the resolved circuit / hash of the resolved train config

    @property
    def run_options(self) -> str:
        return json.dumps(self.options, sort_keys=True)

    @property
    def key(self) -> tuple[str, int, str]:
        """What makes two rows the same point: hash, seed, run options."""
        return (self.hash, self.seed, self.run_options)


def point_id(hash_: str, seed: int, run_options: str) -> str:
    """Short stable name of a point (its run folder's name)."""
    digest = hashlib.sha256(f"{hash_}|{seed}|{run_options}".encode()).hexdigest()[:12]
    return f"{digest}-s{seed}"


# ---- resolving a point (client and worker) ---------------------------------------------
def resolve_circuit(text: str, overrides: list[str] | tuple[str, ...], seed: int, spiking=None):
    """The circuit ``neurotp run FILE --set ... --seed SEED [--spiking M]`` runs."""
    from neurotp.circuit import CircuitFormatError, apply_overrides, circuit_from_dict, validate

    data = yaml.safe_load(text)
    if not isinstance(data, dict):
        raise CircuitFormatError("a circuit file must hold a mapping at the top")
    circuit = circuit_from_dict(apply_overrides(data, [*overrides, f"seed={seed}"]))
    validate(circuit)
    if spiking:  # as `neurotp run --spiking`: every population spiking, then check again
        for pop in circuit.populations:
            pop.model = spiking
        validate(circuit)
    return circuit


def train_config(text: str, overrides: list[str] | tuple[str, ...], seed: int, epochs=None):
    """The config (unresolved) that ``neurotp train --config`` of this point reads."""
    from neurotp.circuit import apply_overrides
    from neurotp.train import check_keys

    data = yaml.safe_load(text) or {}
    if not isinstance(data, dict):
        raise ValueError("config must be a mapping of keys to values")
    data = apply_overrides(data, list(overrides))
    data["seed"] = seed
    if epochs is not None:
        data["epochs"] = epochs
    for key in TRAIN_UNHASHED:
        data.pop(key, None)
    check_keys(data)
    return data


def train_hash(config: dict[str, Any]) -> str:
    """SHA-256 of the resolved train config (:func:`neurotp.train.resolve_config`), keys
    sorted, as :func:`neurotp.circuit.circuit_hash` does for circuits."""
    from neurotp.train import resolve_config

    resolved = {k: v for k, v in resolve_config(config).items() if k not in TRAIN_UNHASHED}
    text = json.dumps(resolved, sort_keys=True, separators=(",", ":"), allow_nan=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def point_hash(kind: str, text: str, overrides, seed: int, options: dict[str, Any]):
    """``(hash, options)``: the point's hash and its run options with defaults filled in."""
    if kind == "train":
        epochs = options.get("epochs")
        config = train_config(text, overrides, seed, epochs)
        return train_hash(config), ({"epochs": epochs} if epochs else {})
    from neurotp.circuit import circuit_hash

    circuit = resolve_circuit(text, overrides, seed, options.get("spiking"))
    opts = {
        "backend": options.get("backend", "numba"),
        "dtype": options.get("dtype", "float64"),
        "epochs": options.get("epochs") or circuit.protocol.epochs,
    }
    for key in ("spiking", "brian2_target"):
        if options.get(key):
            opts[key] = options[key]
    if opts["backend"] == "numba":
        opts["block_steps"] = options.get("block_steps") or "delay"
    return circuit_hash(circuit), opts


# ---- Numba kernels: compiled once per worker, one worker of a cache at a time ----------
_WARM: set[tuple] = set()


def numba_cache_dir() -> str:
    """Where Numba keeps the engine's compiled kernels (``NUMBA_CACHE_DIR`` if set, else
    ``__pycache__`` beside the kernels or Numba's user-wide cache)."""
    from neurotp.engines.numba.cache import cache_dir

    return cache_dir()


def worker_address() -> str:
    """This Dask worker's address, or ``"local"`` outside Dask."""
    try:
        from distributed import get_worker

        return str(get_worker().address)
    except (ImportError, ValueError):
        return "local"


def _cache_lock():
    """A Dask lock named by the cache directory when on a Dask worker, else nothing."""
    try:
        from distributed import Lock, get_worker

        get_worker()
    except (ImportError, ValueError):
        return contextlib.nullcontext()
    return Lock(f"neurotp-numba-cache:{socket.gethostname()}:{numba_cache_dir()}")


def cache_place() -> str:
    """This host and its Numba cache directory: where a warm-up's kernels can be loaded."""
    return f"{socket.gethostname()}:{numba_cache_dir()}"


def warm_numba(
    circuit, dtype: str = "float64", block_steps: Any = None, warmed_at: str | None = None
) -> None:
    """Compile (or load from Numba's cache) the kernels ``neurotp run`` calls for ``circuit``
    (training, evaluation and the recording), once per process. Within Dask workers of one
    host and cache directory only one does it at a time: Numba writes a kernel's index and
    data files separately, and two processes adding different signatures at once can leave
    an index pointing at the other's code. ``warmed_at`` is the :func:`cache_place` where the
    sweep's client already compiled these kernels: workers there only read the cache, so they
    load at the same time, without the lock."""
    key = (dtype, block_steps)
    if key in _WARM:
        return
    import numpy as np

    from neurotp.circuit import compile_circuit, make_drive
    from neurotp.engines import get_engine

    lock = contextlib.nullcontext() if warmed_at == cache_place() else _cache_lock()
    with lock:
        comp = compile_circuit(circuit)
        opts = {} if block_steps is None else {"block_steps": block_steps}
        engine = get_engine("numba")(comp, dtype=np.dtype(dtype).type, **opts)
        x = np.zeros((1, comp.input_n))
        y = np.zeros(1, dtype=np.int64) if comp.label_n else None
        rng = np.random.default_rng(0)
        with contextlib.suppress(FloatingPointError):  # a diverging point reports itself
            engine.run(make_drive(comp, x, y, rng, train=True))
            engine.run(make_drive(comp, x, y, rng, train=False), record_every=1)
    _WARM.add(key)


# ---- running a point (on a worker) ------------------------------------------------------
def run_argv(task: PointTask, source_file: str) -> list[str]:
    """The command line of this point, as a user would type it."""
    if task.kind == "train":
        return ["train", "--config", source_file, "--out", task.folder, "--no-progress"]
    o = task.options
    argv = ["run", source_file, "--seed", str(task.seed), "--out", task.folder, "--no-progress"]
    argv += ["--backend", o["backend"], "--dtype", o["dtype"], "--epochs", str(o["epochs"])]
    for text in task.overrides:
        argv += ["--set", text]
    if "block_steps" in o:
        argv += ["--block-steps", str(o["block_steps"])]
    if o.get("spiking"):
        argv += ["--spiking", o["spiking"]]
    if o.get("brian2_target"):
        argv += ["--brian2-target", o["brian2_target"]]
    return argv


def _error_line(stderr: str, rc: Any) -> str:
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip()]
    for ln in reversed(lines):
        if ln.startswith("error:") or ": error:" in ln:
            return ln.split("error:", 1)[1].strip()
    return lines[-1] if lines else f"exit status {rc}"


def _metrics(task: PointTask) -> dict[str, Any]:
    data = json.loads((Path(task.folder) / "metrics.json").read_text(encoding="utf-8"))
    if task.kind == "train":
        last = data["epochs"][-1]
        return {
            "test_accuracy": data["final_test_accuracy"],
            "best_test_accuracy": data["best_test_accuracy"],
            "train_loss": last["train_loss"],
            "epochs": last["epoch"],
            "train_seconds": sum(e["seconds"] for e in data["epochs"]),
        }
    final = data["final"]
    return {
        "test_accuracy": final["test_accuracy"],
        "test_reconstruction_mse": final["test_reconstruction_mse"],
        "val_accuracy": final.get("val_accuracy"),
        "val_reconstruction_mse": final.get("val_reconstruction_mse"),
        "epochs": final["epoch"],
        "train_seconds": data["wall_seconds"],
    }


def run_point(task: PointTask, warmed_at: str | None = None) -> dict[str, Any]:
    """Run one point (its folder deleted first: a point not in the table has no results) and
    return its row; a failure (divergence, a bad value) is a row with ``status`` ``failed``
    and the error, never an exception. ``warmed_at``: see :func:`warm_numba`."""
    from neurotp import __version__
    from neurotp.cli import main as cli_main

    t0 = time.perf_counter()
    error, metrics = None, {}
    folder = Path(task.folder)
    if folder.exists():
        shutil.rmtree(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    out, err = io.StringIO(), io.StringIO()
    with tempfile.TemporaryDirectory(prefix="neurotp-point-") as tmp:
        try:
            if task.kind == "train":
                config = train_config(
                    task.text, task.overrides, task.seed, task.options.get("epochs")
                )
                text = yaml.safe_dump(config, sort_keys=False)
                check = train_hash(config)
            else:
                circuit = resolve_circuit(
                    task.text, task.overrides, task.seed, task.options.get("spiking")
                )
                from neurotp.circuit import circuit_hash

                check, text = circuit_hash(circuit), task.text
                if task.options["backend"] == "numba":
                    warm_numba(
                        circuit,
                        task.options["dtype"],
                        task.options.get("block_steps"),
                        warmed_at,
                    )
            if check != task.hash:
                raise RuntimeError(
                    f"this worker resolves the point to hash {check[:12]}, the client to "
                    f"{task.hash[:12]}: install the same neurotp on both"
                )
            source_file = os.path.join(tmp, Path(task.source).name)
            Path(source_file).write_text(text, encoding="utf-8")
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                rc = cli_main(run_argv(task, source_file))
            if rc:
                error = _error_line(err.getvalue(), rc)
            else:
                metrics = _metrics(task)
        except SystemExit as exc:  # argparse, or a command's `raise SystemExit(message)`
            code = exc.code
            error = str(code) if isinstance(code, str) else _error_line(err.getvalue(), code)
        except Exception as exc:  # noqa: BLE001 - every failure is recorded, none stops the sweep
            error = f"{type(exc).__name__}: {exc}"
    if folder.exists():
        log = out.getvalue() + err.getvalue()
        (folder / "sweep.log").write_text(log, encoding="utf-8")
    return {
        **task.params,
        "seed": task.seed,
        "status": "failed" if error else "ok",
        "error": error,
        **metrics,
        "wall_seconds": time.perf_counter() - t0,
        "host": socket.gethostname(),
        "worker": worker_address(),
        "neurotp_version": __version__,
        "hash": task.hash,
        "run_options": task.run_options,
        "overrides": json.dumps(list(task.overrides)),
        "folder": folder.name,
        "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
