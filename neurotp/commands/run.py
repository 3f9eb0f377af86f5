"""``neurotp run CIRCUIT``: train a circuit on its data set and write results and figures."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from neurotp.engines.registry import BACKENDS, DEFAULT_BACKEND, backend_help


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "run", help="train a circuit (YAML) with its protocol; write metrics and figures"
    )
    p.add_argument("circuit", help="circuit YAML file, e.g. circuits/digits_tp.yaml")
    p.add_argument("--backend", default=DEFAULT_BACKEND, choices=BACKENDS, help=backend_help())
    p.add_argument("--seed", type=int, default=None, help="override the circuit's seed")
    p.add_argument(
        "--epochs", type=positive_int, default=None, help="override protocol.epochs (>= 1)"
    )
    p.add_argument("--out", default=None, help="output folder (default runs/<circuit name>)")
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="override a circuit field, e.g. --set rules.prediction_XH.lr=0.01",
    )
    p.add_argument("--dtype", default="float64", choices=["float64", "float32"])
    p.add_argument(
        "--brian2-target",
        dest="brian2_target",
        default=None,
        choices=["numpy", "cython", "cpp_standalone"],
        help="Brian2 code-generation target (with --backend brian2)",
    )
    p.add_argument(
        "--spiking",
        default=None,
        choices=["lif", "poisson"],
        help="make every population spiking (Brian2 backend only)",
    )
    p.add_argument(
        "--block-steps",
        dest="block_steps",
        type=block_steps,
        default=None,
        help="Numba backend: delay blocks — 'delay' (each projection its delay; the default), K, "
        "or 1 (off); docs/engines.md",
    )
    p.add_argument(
        "--batch",
        type=positive_int,
        default=None,
        help="override protocol.batch: B copies of the circuit side by side on B samples, "
        "sharing weights, their updates averaged (reference and numba; docs/engines.md)",
    )
    p.add_argument(
        "--threads",
        type=positive_int,
        default=None,
        help="numba backend with protocol.batch > 1: worker threads sharing the copies (at "
        "most B; the numbers do not depend on it; default: every core this process may use, "
        "at most OMP_NUM_THREADS when set)",
    )
    p.add_argument(
        "--resume",
        action="store_true",
        help="continue the run in OUT from OUT/checkpoint.npz (same circuit, seed, backend, "
        "dtype; --epochs may grow)",
    )
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace the run already in OUT (its files are deleted first)",
    )
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=main)


def block_steps(value: str) -> int | str:
    """``--block-steps``: 'delay' or a whole number >= 1."""
    if value == "delay":
        return value
    try:
        return positive_int(value)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f"{value!r}: allowed 'delay' or a whole number >= 1"
        ) from None


def positive_int(value: str) -> int:
    try:
        n = int(value)
    except ValueError:
        n = 0
    if n < 1:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number >= 1")
    return n


def check_backend(circuit, backend: str) -> None:
    """Fail before anything is built when the circuit or backend cannot run here."""
    import importlib.util

    from neurotp.engines.registry import ENGINES

    info = ENGINES[backend]
    spiking = [p.name for p in circuit.populations if p.model != "rate"]
    if spiking and not info.spiking:
        able = [e for e in ENGINES.values() if e.spiking]
        raise ValueError(
            f"circuit {circuit.name!r} has spiking populations {spiking}: they run on "
            + " or ".join(
                f"--backend {e.name}" + (f" (pip install 'neurotp[{e.extra}]')" if e.extra else "")
                for e in able
            )
            + " only"
        )
    if info.requires is not None and importlib.util.find_spec(info.requires) is None:
        raise ImportError(
            f"--backend {backend} needs the optional extra, which is not installed: "
            f"pip install 'neurotp[{info.extra}]'"
        )


def main(args: argparse.Namespace) -> int:
    import numpy as np

    from neurotp.circuit import load_circuit, make_drive, validate
    from neurotp.circuit.audit import audit, summary
    from neurotp.metrics import pca_reconstruction_mse
    from neurotp.outputs import (
        code_population,
        default_run_dir,
        plot_learning_curve,
        plot_rates,
        prepare_run_dir,
        write_circuit,
        write_metrics,
        write_recording,
    )
    from neurotp.simulation import Simulation

    if args.brian2_target and args.backend != "brian2":
        raise ValueError("--brian2-target: allowed only with --backend brian2")
    if args.block_steps is not None and args.backend != "numba":
        raise ValueError("--block-steps: allowed only with --backend numba")
    if args.spiking and args.backend != "brian2":
        raise ValueError("--spiking: allowed only with --backend brian2 (the spiking engine)")
    overrides = list(args.overrides)
    if args.seed is not None:
        overrides.append(f"seed={args.seed}")
    if args.batch is not None:
        overrides.append(f"protocol.batch={args.batch}")
    circuit = load_circuit(args.circuit, overrides)
    if args.threads is not None and (args.backend != "numba" or circuit.protocol.batch == 1):
        raise ValueError(
            "--threads: allowed only with --backend numba and protocol.batch > 1 (--batch B); "
            "the batch-1 engines run on one thread"
        )
    if args.spiking:  # every population spiking: set, then check the circuit again
        for pop in circuit.populations:
            pop.model = args.spiking
        validate(circuit)
    check_backend(circuit, args.backend)
    out = Path(args.out) if args.out else default_run_dir(circuit.name)
    prepare_run_dir(out, resume=args.resume, overwrite=args.overwrite)
    options: dict = {"target": args.brian2_target} if args.brian2_target else {}
    if args.block_steps is not None:
        options["block_steps"] = args.block_steps
    if args.threads is not None:
        options["threads"] = args.threads
    kwargs = {"backend": args.backend, "dtype": args.dtype, "engine_options": options}
    sim = (
        Simulation.resume(circuit, out, **kwargs) if args.resume else Simulation(circuit, **kwargs)
    )
    epochs = circuit.protocol.epochs if args.epochs is None else args.epochs

    t0 = time.perf_counter()
    history = sim.train(epochs, out=out, progress=not args.no_progress)
    wall = time.perf_counter() - t0
    hist = [h.__dict__ for h in history]
    final = hist[-1]

    # record a few test presentations, step by step, for the rate figure (training drive:
    # labels clamped if the circuit has a label population; learning off)
    n_show = min(3, len(sim.data.x_test))
    x_show, y_show = sim.data.x_test[:n_show], sim.data.y_test[:n_show]
    engine = sim.single_engine()  # copy 0 of a batched run
    drive = make_drive(
        sim.comp, x_show, y_show, np.random.default_rng([circuit.seed, 31]), train=True
    )
    drive.learn = False
    res = engine.run(drive, record_every=1)
    p = circuit.protocol
    predicted = None
    if p.readout is not None:  # what the circuit answers on its own (labels free, as in test)
        free = make_drive(
            sim.comp, x_show, None, np.random.default_rng([circuit.seed, 37]), train=False
        )
        means = sim.single_engine().run(free).means
        predicted = means[:, sim.comp.pop_slice(p.readout)].argmax(axis=1)

    payload = {
        "circuit": circuit.name,
        "backend": args.backend,
        "dtype": args.dtype,
        "seed": circuit.seed,
        "epochs": epochs,
        "wall_seconds": wall,
        "final": final,
        "history": hist,
    }
    pca = None
    code = code_population(sim.comp)
    if code is not None:
        k = circuit.population(code).size
        pca = pca_reconstruction_mse(sim.data.x_train, sim.data.x_test, k)
        mse = final["test_reconstruction_mse"]
        payload["pca_baseline"] = {
            "code_population": code,
            "code_size": k,
            "test_reconstruction_mse": pca,
            "ratio": None if mse is None else mse / pca,
        }
    findings = audit(circuit)
    payload["locality"] = {
        "summary": summary(findings),
        "findings": [f.to_dict() for f in findings],
    }
    write_metrics(out / "metrics.json", payload)
    write_circuit(out / "circuit.yaml", sim.comp)
    clamped = bool(drive.clamp)
    write_recording(
        out / "recording.npz",
        sim.comp,
        res.record,
        sim.snapshots,
        sim.snapshot_epochs,
        sample_indices=np.arange(n_show),
        labels=y_show,
        predicted=predicted,
        labels_clamped=clamped,
    )
    plot_learning_curve(out / "learning_curve.png", hist, f"{circuit.name} ({args.backend})")
    how = f"label population {p.label!r} clamped" if clamped else "no label clamped"
    plot_rates(
        out / "rates.png",
        sim.comp,
        res.record,
        f"{circuit.name} after {final['epoch']} epochs: test samples 0-{n_show - 1} "
        f"(labels {', '.join(map(str, y_show))}), {how}, learning off",
        labels=y_show if (p.readout or p.label) else None,
        predicted=predicted,
    )
    parts = [f"{circuit.name} [{args.backend}, seed {circuit.seed}] after {final['epoch']} epochs:"]
    if final.get("val_accuracy") is not None:
        parts.append(f"validation accuracy {100 * final['val_accuracy']:.2f} %,")
    if final.get("val_reconstruction_mse") is not None:
        parts.append(f"validation reconstruction MSE {final['val_reconstruction_mse']:.5f},")
    if final["test_accuracy"] is not None:
        parts.append(f"test accuracy {100 * final['test_accuracy']:.2f} %")
    if final["test_reconstruction_mse"] is not None:
        parts.append(f"test reconstruction MSE {final['test_reconstruction_mse']:.5f}")
        if pca is not None:
            ratio = final["test_reconstruction_mse"] / pca
            parts.append(f"(PCA-{k} {pca:.5f}, {ratio:.2f}x)")
    parts.append(f"({wall:.1f} s); outputs in {out}")
    print(" ".join(parts))
    print(f"locality audit: {summary(findings)} (`neurotp audit {args.circuit}` for the table)")
    return 0
