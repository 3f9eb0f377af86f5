"""Training a circuit on a data set: presentations, evaluation, checkpoints, outputs.

:class:`Simulation` is the engine-agnostic driver behind ``neurotp run``. Random numbers come
from two streams spawned from the run seed (presentation order; input corruption and
population noise), so the same seed and engine give the same numbers, run after run.
Evaluation runs on a copy of the state with its own stream, so how often one evaluates never
changes the training trajectory. A checkpoint after each epoch is written atomically (temp
file, then rename); :meth:`Simulation.resume` continues to the same final weights.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from neurotp.circuit import Circuit, compile_circuit, make_drive
from neurotp.circuit.compiled import State
from neurotp.engines import DivergenceError, get_engine
from neurotp.metrics import accuracy, reconstruction_mse

CHECKPOINT = "checkpoint.npz"


@dataclass
class EpochMetrics:
    epoch: int
    samples_seen: int
    test_accuracy: float | None
    test_reconstruction_mse: float | None
    seconds: float


@dataclass
class Simulation:
    circuit: Circuit
    backend: str = "numba"
    dtype: str = "float64"
    chunk: int = 128
    data: Any = None
    history: list[EpochMetrics] = field(default_factory=list)
    engine_options: dict[str, Any] = field(default_factory=dict)

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
            self.data = load_dataset(p.dataset, n_train=p.n_train, n_test=p.n_test)

    # ------------------------------------------------------------------------------------
    def make_engine(self, state: State | None = None):
        """A new engine of this simulation's backend, dtype and options (e.g. Brian2's
        ``target``), optionally starting from ``state``."""
        cls = get_engine(self.backend)
        return cls(self.comp, dtype=np.dtype(self.dtype).type, state=state, **self.engine_options)

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
        for start in range(0, len(x), self.chunk):
            xs = x[start : start + self.chunk]
            ys = None if y is None else y[start : start + self.chunk]
            drive = make_drive(self.comp, xs, ys, rng, train=train)
            out.append(engine.run(drive).means)
            if progress is not None:
                progress.update(len(xs))
        return np.concatenate(out) if out else np.zeros((0, self.comp.n_units))

    def evaluate(
        self, x: np.ndarray | None = None, y: np.ndarray | None = None
    ) -> dict[str, float | None]:
        """Test accuracy and reconstruction MSE, on a copy of the state (learning off)."""
        d = self.data
        x = d.x_test if x is None else x
        y = d.y_test if y is None else y
        engine = self.make_engine(state=self.state.copy())
        rng = np.random.default_rng([self.circuit.seed, 7919, self.epoch])
        means = self.present(x, y, train=False, rng=rng, engine=engine)
        p = self.circuit.protocol
        acc = mse = None
        if p.readout is not None:
            acc = accuracy(means[:, self.comp.pop_slice(p.readout)], y)
        if p.reconstruction is not None:
            mse = reconstruction_mse(means[:, self.comp.pop_slice(p.reconstruction)], x)
        return {"test_accuracy": acc, "test_reconstruction_mse": mse}

    def train_epoch(self, progress=None) -> EpochMetrics:
        t0 = time.perf_counter()
        d = self.data
        order = self.order_rng.permutation(len(d.x_train))
        # engines read the rule rates from the compiled tables at every block
        self.comp.rule_eta[:] = self._base_eta * self.circuit.protocol.lr_decay**self.epoch
        self.present(d.x_train[order], d.y_train[order], train=True, progress=progress)
        self.epoch += 1
        seconds = time.perf_counter() - t0
        ev = self.evaluate()
        m = EpochMetrics(
            self.epoch,
            self.epoch * len(d.x_train),
            ev["test_accuracy"],
            ev["test_reconstruction_mse"],
            seconds,
        )
        self.history.append(m)
        return m

    def initial_metrics(self) -> EpochMetrics:
        ev = self.evaluate()
        m = EpochMetrics(0, 0, ev["test_accuracy"], ev["test_reconstruction_mse"], 0.0)
        self.history.append(m)
        return m

    def train(
        self,
        epochs: int | None = None,
        out: str | os.PathLike | None = None,
        progress: bool = False,
        on_epoch=None,
    ) -> list[EpochMetrics]:
        """Train for ``epochs`` (default: the protocol's), checkpointing into ``out``."""
        epochs = self.circuit.protocol.epochs if epochs is None else epochs
        bar = None
        if progress:
            from tqdm import tqdm

            bar = tqdm(total=epochs * len(self.data.x_train), unit="sample", desc=self.circuit.name)
        if not self.history:
            self.initial_metrics()
        try:
            while self.epoch < epochs:
                try:
                    m = self.train_epoch(progress=bar)
                except DivergenceError as exc:
                    if out is not None and (Path(out) / CHECKPOINT).exists():
                        exc.checkpoint = str(Path(out) / CHECKPOINT)
                        exc.args = (f"{exc.args[0]}; last good checkpoint: {exc.checkpoint}",)
                    raise
                if out is not None:
                    self.save_checkpoint(Path(out) / CHECKPOINT)
                if on_epoch is not None:
                    on_epoch(m)
        finally:
            if bar is not None:
                bar.close()
        return self.history

    # ---- checkpoints -------------------------------------------------------------------
    def save_checkpoint(self, path: str | os.PathLike) -> None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        meta = {
            "epoch": self.epoch,
            "order_rng": self.order_rng.bit_generator.state,
            "noise_rng": self.noise_rng.bit_generator.state,
            "history": [m.__dict__ for m in self.history],
            "backend": self.backend,
            "dtype": self.dtype,
        }
        tmp = path.with_name(path.name + ".tmp")
        with open(tmp, "wb") as fh:
            np.savez(fh, meta=np.array(json.dumps(meta)), **self.state.arrays())
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)

    def load_checkpoint(self, path: str | os.PathLike) -> None:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
        meta = json.loads(str(arrays.pop("meta")))
        self.engine.state = State.from_arrays(arrays)
        self.order_rng.bit_generator.state = meta["order_rng"]
        self.noise_rng.bit_generator.state = meta["noise_rng"]
        self.epoch = int(meta["epoch"])
        self.history = [EpochMetrics(**m) for m in meta["history"]]

    @classmethod
    def resume(cls, circuit: Circuit, out: str | os.PathLike, **kwargs: Any) -> Simulation:
        sim = cls(circuit, **kwargs)
        ck = Path(out) / CHECKPOINT
        if ck.exists():
            sim.load_checkpoint(ck)
        return sim
