"""``neurotp run CIRCUIT``: train a circuit on its data set and write results and figures."""

from __future__ import annotations

import argparse
import time
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "run", help="train a circuit (YAML) with its protocol; write metrics and figures"
    )
    p.add_argument("circuit", help="circuit YAML file, e.g. circuits/digits_tp.yaml")
    p.add_argument("--backend", default="numba", choices=["reference", "numba", "brian2"])
    p.add_argument("--seed", type=int, default=None, help="override the circuit's seed")
    p.add_argument("--epochs", type=int, default=None, help="override protocol.epochs")
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
        type=lambda v: v if v == "delay" else int(v),
        default=None,
        help="Numba backend: delay blocks — 'delay' (each projection its delay; the default), K, "
        "or 1 (off); docs/engines.md",
    )
    p.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.npz")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    import numpy as np

    from neurotp.circuit import load_circuit, validate
    from neurotp.outputs import (
        plot_learning_curve,
        plot_rates,
        write_circuit,
        write_metrics,
        write_recording,
    )
    from neurotp.simulation import Simulation

    overrides = list(args.overrides)
    if args.seed is not None:
        overrides.append(f"seed={args.seed}")
    circuit = load_circuit(args.circuit, overrides)
    if args.spiking:  # every population spiking: set, then check the circuit again
        for pop in circuit.populations:
            pop.model = args.spiking
        validate(circuit)
    out = Path(args.out or Path("runs") / circuit.name)
    out.mkdir(parents=True, exist_ok=True)
    options = {"target": args.brian2_target} if args.brian2_target else {}
    if options and args.backend != "brian2":
        raise SystemExit("--brian2-target: allowed only with --backend brian2")
    if args.block_steps is not None:
        if args.backend != "numba":
            raise SystemExit("--block-steps: allowed only with --backend numba")
        options["block_steps"] = args.block_steps
    kwargs = {"backend": args.backend, "dtype": args.dtype, "engine_options": options}
    sim = (
        Simulation.resume(circuit, out, **kwargs) if args.resume else Simulation(circuit, **kwargs)
    )
    epochs = circuit.protocol.epochs if args.epochs is None else args.epochs
    snapshots: list = []
    snap_epochs: list[int] = []
    keep = sim.comp.n_weights <= 200_000

    def on_epoch(m) -> None:
        if keep:
            snapshots.append(sim.state.w.copy())
            snap_epochs.append(m.epoch)

    t0 = time.perf_counter()
    history = sim.train(epochs, out=out, progress=not args.no_progress, on_epoch=on_epoch)
    wall = time.perf_counter() - t0
    hist = [h.__dict__ for h in history]
    final = hist[-1]

    # record a few test presentations, step by step, for the rate figure
    from neurotp.circuit import make_drive

    engine = sim.make_engine(state=sim.state.copy())
    n_show = 3
    drive = make_drive(
        sim.comp,
        sim.data.x_test[:n_show],
        sim.data.y_test[:n_show],
        np.random.default_rng([circuit.seed, 31]),
        train=True,
    )
    drive.learn = False
    rates = engine.run(drive, record_every=1).record

    payload = {
        "circuit": circuit.name,
        "backend": args.backend,
        "seed": circuit.seed,
        "epochs": epochs,
        "wall_seconds": wall,
        "final": final,
        "history": hist,
    }
    write_metrics(out / "metrics.json", payload)
    write_circuit(out / "circuit.yaml", sim.comp)
    write_recording(out / "recording.npz", sim.comp, rates, snapshots, snap_epochs)
    plot_learning_curve(out / "learning_curve.png", hist, f"{circuit.name} ({args.backend})")
    plot_rates(
        out / "rates.png",
        sim.comp,
        rates,
        f"{circuit.name}: 3 test presentations, labels clamped, learning off",
    )
    parts = [f"{circuit.name} [{args.backend}, seed {circuit.seed}] after {final['epoch']} epochs:"]
    if final["test_accuracy"] is not None:
        parts.append(f"test accuracy {100 * final['test_accuracy']:.2f} %")
    if final["test_reconstruction_mse"] is not None:
        parts.append(f"test reconstruction MSE {final['test_reconstruction_mse']:.5f}")
    parts.append(f"({wall:.1f} s); outputs in {out}")
    print(" ".join(parts))
    return 0
