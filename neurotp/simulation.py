"""Training a circuit on a data set: presentations, evaluation, checkpoints, outputs.

:class:`Simulation` is the engine-agnostic driver behind ``neurotp run``. Random numbers come
from two streams spawned from the run seed (presentation order; input corruption and
population noise), so the same seed and engine give the same numbers, run after run.
Evaluation runs on a copy of the state with its own stream, so how often one evaluates never
changes the training trajectory. A checkpoint after each epoch is written atomically (temp
file, then rename); :meth:`Simulation.resume` continues to the same final weights.
"""

from __future__ import annotations

import copy
import errno
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from neurotp import __version__
from neurotp.circuit import Circuit, circuit_hash, compile_circuit, make_drive
from neurotp.circuit.compiled import State
from neurotp.engines import DivergenceError, get_engine
from neurotp.engines.base import StateMismatchError
from neurotp.metrics import accuracy, reconstruction_mse

CHECKPOINT = "checkpoint.npz"
CHECKPOINT_FORMAT = 2
# weight snapshots (one per epoch, kept in the checkpoint and recording.npz) up to this size
SNAPSHOT_MAX_WEIGHTS = 200_000


class CheckpointError(ValueError):
    """A checkpoint that is corrupt, or was made by another run than the one resuming it."""


@dataclass
class EpochMetrics:
    epoch: int
    samples_seen: int
    test_accuracy: float | None
    test_reconstruction_mse: float | None
    seconds: float
    # with protocol.validation > 0: every epoch is scored on the validation split, the test
    # split only after the last epoch of a training run (the test_* fields are None before)
    val_accuracy: float | None = None
    val_reconstruction_mse: float | None = None


_NUMBA_DRIVEN = False  # a numba drive has returned in this process (kernels loaded)


def numba_kernels_ready() -> bool:
    """Whether the Numba kernels are loaded in this process, or cached on disk and newer than
    their source (a cheap check: a cold cache means ~25 s of compilation in the first drive)."""
    if _NUMBA_DRIVEN:
        return True
    from neurotp.engines.numba.cache import kernels_cached

    return kernels_cached()


class _CompilingBar:
    """A tqdm bar that says "compiling kernels (first run only)" until the first training drive
    returns, then restarts its clock, so the rate and ETA leave compilation out."""

    def __init__(self, bar: Any):
        self.bar = bar
        bar.set_postfix_str("compiling kernels (first run only)")

    def update(self, n: int) -> None:
        global _NUMBA_DRIVEN
        if not _NUMBA_DRIVEN:
            _NUMBA_DRIVEN = True
            done = self.bar.n + n
            self.bar.set_postfix_str("")
            self.bar.reset(total=self.bar.total)
            self.bar.initial = self.bar.n = self.bar.last_print_n = done  # rate from here on
            self.bar.refresh()
            return
        self.bar.update(n)

    def close(self) -> None:
        self.bar.close()


@dataclass
class Simulation:
    circuit: Circuit
    backend: str = "numba"
    dtype: str = "float64"
    chunk: int = 128
    data: Any = None
    history: list[EpochMetrics] = field(default_factory=list)
    engine_options: dict[str, Any] = field(default_factory=dict)
    # flat weights after each epoch (epoch 0: before training), if the circuit has at most
    # SNAPSHOT_MAX_WEIGHTS weights; checkpointed, so a resumed run keeps the earlier ones
    snapshots: list[np.ndarray] = field(default_factory=list)
    snapshot_epochs: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.comp = compile_circuit(self.circuit)
        self._base_eta = self.comp.rule_eta.copy()
        self.engine = self.make_engine()
        seq = np.random.SeedSequence(self.circuit.seed)
        order_seq, noise_seq = seq.spawn(2)
        self.order_rng = np.random.default_rng(order_seq)
        self.noise_rng = np.random.default_rng(noise_seq)
        self.epoch = 0
        if self.data is None:
            from neurotp.data import load_dataset

            p = self.circuit.protocol
            self.data = load_dataset(
                p.dataset, n_train=p.n_train, n_test=p.n_test, validation=p.validation
            )

    # ------------------------------------------------------------------------------------
    def make_engine(self, state: State | None = None):
        """A new engine of this simulation's backend, dtype and options (e.g. Brian2's
        ``target``), optionally starting from ``state``; with ``protocol.batch`` > 1 the
        backend's batched engine (:mod:`neurotp.engines.batching`), else the plain one."""
        if self.batch > 1:
            from neurotp.engines.registry import get_batched_engine

            cls = get_batched_engine(self.backend)
        else:
            cls = get_engine(self.backend)
        return cls(self.comp, dtype=np.dtype(self.dtype).type, state=state, **self.engine_options)

    @property
    def batch(self) -> int:
        """``protocol.batch``: copies of the circuit run side by side (1: not batched)."""
        return int(self.circuit.protocol.batch)

    @property
    def drive_size(self) -> int:
        """Presentations per drive: ``chunk`` rounded up to whole rounds of the batch."""
        return -(-self.chunk // self.batch) * self.batch

    def single_engine(self, copy: int = 0):
        """A batch-1 engine on a copy of copy ``copy``'s state (to record rates)."""
        if self.batch == 1:
            return self.make_engine(state=self.state.copy())
        from neurotp.engines.batching import copy_state

        opts = {k: v for k, v in self.engine_options.items() if k != "threads"}
        state, dtype = copy_state(self.state, copy), np.dtype(self.dtype).type
        return get_engine(self.backend)(self.comp, dtype=dtype, state=state, **opts)

    @property
    def state(self) -> State:
        return self.engine.state

    def present(
        self,
        x: np.ndarray,
        y: np.ndarray | None,
        *,
        train: bool,
        rng=None,
        engine=None,
        progress=None,
    ):
        """Present rows of ``x`` once each; return the per-presentation mean rates."""
        engine = engine or self.engine
        rng = rng or self.noise_rng
        out = []
        size = self.drive_size
        for start in range(0, len(x), size):
            xs = x[start : start + size]
            ys = None if y is None else y[start : start + size]
            drive = make_drive(self.comp, xs, ys, rng, train=train)
            out.append(engine.run(drive).means)
            if progress is not None:
                progress.update(len(xs))
        return np.concatenate(out) if out else np.zeros((0, self.comp.n_units))

    @property
    def validating(self) -> bool:
        """Whether the data hold a validation split (``protocol.validation`` > 0)."""
        return getattr(self.data, "x_val", None) is not None

    def evaluate(
        self, x: np.ndarray | None = None, y: np.ndarray | None = None, split: str = "test"
    ) -> dict[str, float | None]:
        """Accuracy and reconstruction MSE on ``split`` ('test' or 'val'; or on ``x``, ``y``),
        on a copy of the state (learning off). Keys are prefixed by the split."""
        d = self.data
        if split not in ("test", "val"):
            raise ValueError(f"split: {split!r}; allowed: test, val")
        x = getattr(d, f"x_{split}") if x is None else x
        y = getattr(d, f"y_{split}") if y is None else y
        engine = self.make_engine(state=self.state.copy())
        rng = np.random.default_rng(
            [self.circuit.seed, 7919 if split == "test" else 7907, self.epoch]
        )
        means = self.present(x, y, train=False, rng=rng, engine=engine)
        p = self.circuit.protocol
        acc = mse = None
        if p.readout is not None:
            acc = accuracy(means[:, self.comp.pop_slice(p.readout)], y)
        if p.reconstruction is not None:
            mse = reconstruction_mse(means[:, self.comp.pop_slice(p.reconstruction)], x)
        return {f"{split}_accuracy": acc, f"{split}_reconstruction_mse": mse}

    def _scores(self) -> dict[str, float | None]:
        """The per-epoch scores: validation if there is a validation split, else test."""
        if self.validating:
            return {
                "test_accuracy": None,
                "test_reconstruction_mse": None,
                **self.evaluate(split="val"),
            }
        return self.evaluate()

    def train_epoch(self, progress=None) -> EpochMetrics:
        t0 = time.perf_counter()
        d = self.data
        order = self.order_rng.permutation(len(d.x_train))
        # engines read the rule rates from the compiled tables at every block
        self.comp.rule_eta[:] = self._base_eta * self.circuit.protocol.lr_decay**self.epoch
        self.present(d.x_train[order], d.y_train[order], train=True, progress=progress)
        self.epoch += 1
        seconds = time.perf_counter() - t0
        m = EpochMetrics(self.epoch, self.epoch * len(d.x_train), seconds=seconds, **self._scores())
        self.history.append(m)
        return m

    def initial_metrics(self) -> EpochMetrics:
        m = EpochMetrics(0, 0, seconds=0.0, **self._scores())
        self.history.append(m)
        self._snapshot()
        return m

    def _snapshot(self) -> None:
        if self.comp.n_weights <= SNAPSHOT_MAX_WEIGHTS:
            self.snapshots.append(self.state.w.copy())
            self.snapshot_epochs.append(self.epoch)

    def train(
        self,
        epochs: int | None = None,
        out: str | os.PathLike | None = None,
        progress: bool = False,
        on_epoch=None,
    ) -> list[EpochMetrics]:
        """Train for ``epochs`` (default: the protocol's), checkpointing into ``out``."""
        epochs = self.circuit.protocol.epochs if epochs is None else epochs
        if self.epoch > epochs:
            raise ValueError(
                f"epochs: the checkpoint is at epoch {self.epoch}, beyond the {epochs} asked "
                "for; ask for at least as many"
            )
        bar = None
        if progress:
            from tqdm import tqdm

            n = len(self.data.x_train)
            bar = tqdm(
                total=epochs * n, initial=self.epoch * n, unit="sample", desc=self.circuit.name
            )
            if self.backend == "numba" and not numba_kernels_ready():
                bar = _CompilingBar(bar)
        try:
            if not self.history:
                self.initial_metrics()
            while self.epoch < epochs:
                try:
                    m = self.train_epoch(progress=bar)
                except DivergenceError as exc:
                    if out is not None and (Path(out) / CHECKPOINT).exists():
                        exc.checkpoint = str(Path(out) / CHECKPOINT)
                        exc.args = (f"{exc.args[0]}; last good checkpoint: {exc.checkpoint}",)
                    raise
                self._snapshot()
                if self.validating and self.epoch == epochs:  # the test split, once, at the end
                    m.test_accuracy, m.test_reconstruction_mse = self.evaluate().values()
                if out is not None:
                    self.save_checkpoint(Path(out) / CHECKPOINT)
                if on_epoch is not None:
                    on_epoch(m)
        finally:
            if bar is not None:
                bar.close()
        return self.history

    # ---- checkpoints -------------------------------------------------------------------
    def identity(self) -> dict[str, Any]:
        """What a checkpoint must share with the run that resumes it (the epoch count may
        grow, so ``protocol.epochs`` is left out of the comparison, not of the hash)."""
        return {
            "circuit_hash": circuit_hash(self.circuit),
            "circuit": _plain(self.circuit.to_dict()),
            "seed": self.circuit.seed,
            "backend": self.backend,
            "dtype": str(np.dtype(self.dtype)),
            "version": __version__,
        }

    def save_checkpoint(self, path: str | os.PathLike) -> None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        meta = {
            "format": CHECKPOINT_FORMAT,
            "epoch": self.epoch,
            "order_rng": self.order_rng.bit_generator.state,
            "noise_rng": self.noise_rng.bit_generator.state,
            "history": [m.__dict__ for m in self.history],
            "snapshot_epochs": list(self.snapshot_epochs),
            **self.identity(),
        }
        snaps = np.stack(self.snapshots) if self.snapshots else np.zeros((0, self.comp.n_weights))
        tmp = path.with_name(path.name + ".tmp")
        with open(tmp, "wb") as fh:
            np.savez(fh, meta=np.array(json.dumps(meta)), snapshots=snaps, **self.state.arrays())
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)

    def load_checkpoint(self, path: str | os.PathLike) -> None:
        """Continue from the checkpoint at ``path``; raise :class:`CheckpointError` if it is
        corrupt, was made by another run (circuit, seed, backend, dtype, version) or its
        arrays do not fit this circuit."""
        path = Path(path)
        arrays, meta = _read_checkpoint(path)
        mismatch = identity_mismatch(meta, self.identity())
        if mismatch:
            raise CheckpointError(
                f"{path}: {mismatch}; resume with the same settings, or start afresh "
                "(another --out, or --overwrite)"
            )
        try:
            state = State.from_arrays(arrays)
            engine = self.make_engine(state=state)  # checks every array against the circuit
        except StateMismatchError as exc:
            raise CheckpointError(f"{path}: {exc}") from None
        snaps = arrays["snapshots"]
        if (
            snaps.ndim != 2
            or len(snaps) != len(meta["snapshot_epochs"])
            or (len(snaps) and snaps.shape[1] != self.comp.n_weights)
        ):
            raise CheckpointError(f"{path}: corrupt checkpoint (weight snapshots do not fit)")
        try:
            self.order_rng.bit_generator.state = meta["order_rng"]
            self.noise_rng.bit_generator.state = meta["noise_rng"]
        except (TypeError, ValueError, KeyError) as exc:
            raise CheckpointError(
                f"{path}: corrupt checkpoint (random stream state: {exc})"
            ) from None
        self.engine = engine
        self.epoch = int(meta["epoch"])
        self.history = [EpochMetrics(**m) for m in meta["history"]]
        self.snapshots = [w.astype(self.state.w.dtype) for w in snaps]
        self.snapshot_epochs = [int(e) for e in meta["snapshot_epochs"]]

    @classmethod
    def resume(cls, circuit: Circuit, out: str | os.PathLike, **kwargs: Any) -> Simulation:
        """A simulation continued from ``out/checkpoint.npz``; FileNotFoundError if absent."""
        ck = Path(out) / CHECKPOINT
        if not ck.is_file():
            raise FileNotFoundError(
                errno.ENOENT,
                "no checkpoint to resume from (drop --resume to start afresh)",
                str(ck),
            )
        sim = cls(circuit, **kwargs)
        sim.load_checkpoint(ck)
        return sim


def _plain(data: Any) -> Any:
    """``data`` as it reads back from JSON (tuples become lists, keys strings)."""
    return json.loads(json.dumps(data, allow_nan=True))


META_KEYS = {
    "format": int,
    "epoch": int,
    "order_rng": dict,
    "noise_rng": dict,
    "history": list,
    "snapshot_epochs": list,
    "circuit_hash": str,
    "circuit": dict,
    "seed": int,
    "backend": str,
    "dtype": str,
    "version": str,
}
ARRAY_KEYS = ("r", "hist", "tr", "w", "b", "t", "snapshots")


def _read_checkpoint(path: Path) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """The arrays and the metadata of a checkpoint file, or :class:`CheckpointError` saying the
    file is corrupt (truncated, empty, flipped bits, not a checkpoint, broken metadata)."""
    try:
        with open(path, "rb") as fh:
            if fh.read(4) != b"PK\x03\x04":
                raise ValueError("not a NumPy .npz archive")
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}  # reading checks each member's CRC
        meta = json.loads(str(arrays.pop("meta")))
    except (IsADirectoryError, PermissionError):
        raise
    except Exception as exc:  # noqa: BLE001 - any failure to parse is a corrupt file
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise CheckpointError(f"{path}: corrupt checkpoint, cannot be read ({reason})") from None
    if not isinstance(meta, dict):
        raise CheckpointError(f"{path}: corrupt checkpoint (metadata is not a mapping)")
    if "format" not in meta:
        raise CheckpointError(
            f"{path}: checkpoint from an older neurotp without run identity; start afresh "
            "(another --out, or --overwrite)"
        )
    for key, kind in META_KEYS.items():
        value = meta.get(key)
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise CheckpointError(
                f"{path}: corrupt checkpoint (metadata field {key!r} missing or not "
                f"{kind.__name__})"
            )
    missing = [k for k in ARRAY_KEYS if k not in arrays]
    if missing:
        raise CheckpointError(f"{path}: corrupt checkpoint (array {missing[0]!r} missing)")
    fields = set(EpochMetrics.__dataclass_fields__)
    if meta["epoch"] < 0 or not all(
        isinstance(m, dict) and set(m) == fields for m in meta["history"]
    ):
        raise CheckpointError(f"{path}: corrupt checkpoint (epoch or history malformed)")
    if arrays["t"].shape != () or arrays["t"].dtype.kind not in "iu":
        raise CheckpointError(f"{path}: corrupt checkpoint (step count 't' malformed)")
    return arrays, meta


def first_difference(old: Any, new: Any, where: str = "") -> tuple[str, Any, Any] | None:
    """The first field where plain circuit data ``old`` and ``new`` differ, as (path, old,
    new); list items with a ``name`` are addressed by it, as in ``--set``."""
    if isinstance(old, dict) and isinstance(new, dict):
        for key in [*old, *(k for k in new if k not in old)]:
            if key not in old or key not in new:
                return (f"{where}{key}", old.get(key, "<absent>"), new.get(key, "<absent>"))
            d = first_difference(old[key], new[key], f"{where}{key}.")
            if d:
                return d
        return None
    if isinstance(old, list) and isinstance(new, list):
        names_old = [x.get("name") if isinstance(x, dict) else None for x in old]
        names_new = [x.get("name") if isinstance(x, dict) else None for x in new]
        if all(names_old) and all(names_new) and old and new:
            if names_old != names_new:
                return (f"{where.rstrip('.')} names", names_old, names_new)
            pairs = zip(names_old, old, new, strict=True)
        elif len(old) != len(new):
            return (where.rstrip("."), old, new)
        else:
            pairs = zip(map(str, range(len(old))), old, new, strict=True)
        for key, a, b in pairs:
            d = first_difference(a, b, f"{where}{key}.")
            if d:
                return d
        return None
    if (
        old != new
        or type(old) is not type(new)
        and not (isinstance(old, (int, float)) and isinstance(new, (int, float)))
    ):
        return (where.rstrip("."), old, new)
    return None


def identity_mismatch(stored: dict[str, Any], current: dict[str, Any]) -> str | None:
    """What differs between the run identity stored in a checkpoint and this run's, in words
    ("checkpoint was made with projections.HHT.delay=3.0, this run has 12.0"); None if the
    runs match (``protocol.epochs`` may differ)."""
    for key, what in (("backend", "backend"), ("dtype", "dtype"), ("version", "neurotp")):
        if stored[key] != current[key]:
            return f"checkpoint was made with {what} {stored[key]}, this run has {current[key]}"

    def comparable(d: dict[str, Any]) -> dict[str, Any]:
        d = copy.deepcopy(d)
        if isinstance(d.get("protocol"), dict):
            d["protocol"].pop("epochs", None)
        return d

    if stored["circuit_hash"] == current["circuit_hash"]:
        return None
    diff = first_difference(comparable(stored["circuit"]), comparable(current["circuit"]))
    if diff is None:
        return None
    path, old, new = diff
    return f"checkpoint was made with {path}={old!r}, this run has {new!r}"
