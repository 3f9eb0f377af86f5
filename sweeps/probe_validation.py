"""Validation-only tuning probe: train a circuit for N epochs and print its validation
accuracy after each one. The test split is emptied before the simulation is built, so a
probe can never score (or show) test accuracy: tune with this, then run the chosen setting
once with ``neurotp run``.

    python sweeps/probe_validation.py circuits/fmnist_tp.yaml 10 [--threads T]
        [--inputs raw|center|standardize] [FIELD=VALUE ...]

FIELD=VALUE are ``neurotp run --set`` overrides (``protocol.batch=8``,
``rules.prediction_XH.lr=0.01``). ``--inputs center`` subtracts the training split's mean
image from every split, ``standardize`` also divides each pixel by its training-split standard
deviation (at least 0.05); both are computed from the training split only (the validation
split held out) and exist only in this probe: the circuits read raw pixels in [0, 1]. The
last line is JSON: the settings, the validation accuracy per epoch and the seconds.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time

import numpy as np

INPUTS = ("raw", "center", "standardize")


def prepare(data, inputs: str):
    """``data`` without its test split, its inputs as ``inputs`` says (training-split
    statistics only)."""
    if data.x_val is None:
        raise ValueError("the circuit has no validation split: set protocol.validation > 0")
    data = dataclasses.replace(data, x_test=data.x_test[:0], y_test=data.y_test[:0])
    if inputs == "raw":
        return data
    mu = data.x_train.mean(axis=0, keepdims=True)
    scale = 1.0
    if inputs == "standardize":
        scale = 1.0 / np.maximum(data.x_train.std(axis=0, keepdims=True), 0.05)
    return dataclasses.replace(
        data,
        x_train=((data.x_train - mu) * scale).astype(np.float32),
        x_val=((data.x_val - mu) * scale).astype(np.float32),
    )


def main(argv: list[str] | None = None) -> int:
    from neurotp.circuit import load_circuit
    from neurotp.data import load_dataset
    from neurotp.simulation import Simulation

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("circuit")
    ap.add_argument("epochs", type=int)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--inputs", choices=INPUTS, default="raw")
    ap.add_argument("overrides", nargs="*", metavar="FIELD=VALUE")
    args = ap.parse_intermixed_args(argv)
    if args.epochs < 1:
        ap.error(f"epochs: {args.epochs}; must be at least 1")
    circuit = load_circuit(args.circuit, args.overrides)
    p = circuit.protocol
    data = load_dataset(p.dataset, n_train=p.n_train, validation=p.validation)
    try:
        data = prepare(data, args.inputs)
    except ValueError as exc:
        ap.error(str(exc))
    if args.threads is not None and p.batch == 1:
        ap.error("--threads: allowed only with protocol.batch > 1 (as for neurotp run)")
    opts = {} if args.threads is None else {"threads": args.threads}
    sim = Simulation(circuit, data=data, engine_options=opts)
    vals = []
    t0 = time.perf_counter()
    for _ in range(args.epochs):
        m = sim.train_epoch()
        vals.append(round(100 * m.val_accuracy, 2))
        print(f"epoch {m.epoch}: validation {vals[-1]:.2f} % ({m.seconds:.0f} s)", flush=True)
    result = {
        "circuit": args.circuit,
        "inputs": args.inputs,
        "overrides": args.overrides,
        "validation_accuracy": vals,
        "seconds": round(time.perf_counter() - t0, 1),
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
