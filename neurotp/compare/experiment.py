"""The ``neurotp compare`` experiment: circuit rules against the algorithmic baselines on one task.

For an architecture (``64-16-10``, ``64-16-16-10``) and each seed: the difference-target
circuit (:func:`neurotp.circuit.library.tp_circuit`, Numba engine, local rules), its frozen-
hidden control, and the baselines (BP, FA, TP, DTP, Algorithm 5) start from the same forward
weights (the circuit's initial ones; Algorithm 5's top layer has another shape and keeps its
own), learn digits, and are compared on test accuracy against samples seen. After every
circuit epoch, on a fixed probe batch, the circuit's weight change per layer is compared with
the backprop gradient and the DTP update of the same network on the same inputs
(:mod:`neurotp.metrics.alignment`); the short-loop reconstruction error of each hidden layer
is recorded too.

Section-8-in-time circuits (``temporal``: circuit files such as ``circuits/digits_temporal.yaml``,
:mod:`neurotp.compare.temporal`) of the same architecture are rows of their own: each is trained
for the same epochs on the same data, with its own initial weights and protocol otherwise (its
validation split set to 0, as every row trains on the whole training split), and its update on
the probe batch (its forward rules' ΔW over the batch) is compared with BP and DTP the same way.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from neurotp.circuit import compile_circuit, make_drive
from neurotp.circuit.library import tp_circuit
from neurotp.compare.summary import summarize
from neurotp.compare.temporal import RUN_PREFIX, load_temporal, temporal_sizes
from neurotp.metrics.alignment import (
    angle_degrees,
    bp_update,
    dtp_update,
    hidden_rates,
    inverse_reconstruction_mse,
    read_network,
)

ARCHITECTURES: dict[str, tuple[int, ...]] = {
    "64-16-10": (64, 16, 10),
    "64-16-16-10": (64, 16, 16, 10),
}
BASELINES: tuple[str, ...] = ("bp", "fa", "tp", "dtp", "alg5")


def parse_arch(name: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(s) for s in name.split("-"))
    except ValueError:
        raise ValueError(f"--arch: {name!r} is not like 64-16-10") from None
    if sizes[0] != 64 or sizes[-1] != 10 or len(sizes) < 3:
        raise ValueError(
            f"--arch: {name!r} must start at 64 (digits) and end at 10 classes, "
            "with at least one hidden layer"
        )
    return sizes


def check_settings(
    arch: str | Sequence[str],
    seeds: Sequence[int],
    epochs: int,
    baselines: Sequence[str],
    batch_size: int,
    lr: float,
    n_probe: int = 100,
) -> None:
    """Refuse bad settings before anything trains (each option named, with what it allows)."""
    for a in [arch] if isinstance(arch, str) else arch:
        parse_arch(a)
    unknown = [b for b in baselines if b not in BASELINES]
    if unknown:
        raise ValueError(
            f"--baselines: unknown {', '.join(map(repr, unknown))}; allowed: {', '.join(BASELINES)}"
        )
    if len(set(baselines)) != len(baselines):
        raise ValueError(f"--baselines: each name at most once, got {list(baselines)}")
    for name, value in (("--epochs", epochs), ("--batch-size", batch_size), ("n_probe", n_probe)):
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{name}: must be a positive integer, got {value!r}")
    if not seeds:
        raise ValueError("--seeds: give at least one seed")
    if any(not isinstance(s, (int, np.integer)) or isinstance(s, bool) or s < 0 for s in seeds):
        raise ValueError(f"--seeds: must be integers >= 0, got {list(seeds)}")
    if not (isinstance(lr, (int, float)) and np.isfinite(lr) and lr > 0):
        raise ValueError(f"--lr: must be a finite number > 0, got {lr!r}")


def _circuit_alignment(sim, probe_x, probe_y, reader=read_network) -> dict[str, list[float]]:
    """Angles per layer between the circuit's change over the probe batch and BP / DTP
    (``reader`` reads the network out of the circuit's state)."""
    comp, state = sim.comp, sim.state
    net = reader(comp, state)
    t = np.eye(10)[probe_y]
    bp = bp_update(net, probe_x.astype(np.float64), t)
    dtp = dtp_update(net, probe_x.astype(np.float64), t)
    # the circuit's own change: same state, learning on, clean inputs, labels clamped, with the
    # learning rates scaled down so that the batch sees (almost) fixed weights
    probe_comp = compile_circuit(sim.circuit)
    probe_comp.rule_eta[:] = sim.comp.rule_eta * 1e-3
    engine = type(sim.engine)(probe_comp, state=state.copy())
    drive = make_drive(probe_comp, probe_x, probe_y, np.random.default_rng(0), train=False)
    drive.clamp, drive.learn = True, True
    engine.run(drive)
    after = reader(probe_comp, engine.state)
    out: dict[str, list[float]] = {"vs_bp": [], "vs_dtp": [], "dtp_vs_bp": []}
    for l in range(len(net.W)):
        dw = after.W[l] - net.W[l]
        out["vs_bp"].append(angle_degrees(dw, bp[l]))
        out["vs_dtp"].append(angle_degrees(dw, dtp[l]))
        # reference: how far DTP itself (with its phi' factor) is from BP on this network
        out["dtp_vs_bp"].append(angle_degrees(dtp[l], bp[l]))
    hs = hidden_rates(net, probe_x)
    out["saturated"] = [float(np.mean(np.abs(h) > 0.99)) for h in hs]
    return out


def _train_circuit(
    circuit, data, probe, record_alignment: bool, reader=read_network
) -> dict[str, Any]:
    from neurotp.simulation import Simulation

    sim = Simulation(circuit, data=data)
    n = len(data.x_train)
    curve = [(0, sim.evaluate()["test_accuracy"])]
    align: list[dict[str, Any]] = []
    recon: list[list[float]] = []
    t0 = time.perf_counter()
    for _ in range(circuit.protocol.epochs):
        m = sim.train_epoch()
        curve.append((m.samples_seen, m.test_accuracy))
        if record_alignment:
            a = _circuit_alignment(sim, *probe, reader=reader)
            align.append({"epoch": m.epoch, **a})
            recon.append(
                inverse_reconstruction_mse(
                    reader(sim.comp, sim.state), data.x_test.astype(np.float64)
                )
            )
    return {
        "curve": curve,
        "alignment": align,
        "reconstruction_mse": recon,
        "seconds": time.perf_counter() - t0,
        "samples_per_epoch": n,
        "sim": sim,
    }


def _train_baseline(name, sizes, init, data, seed, epochs, batch_size, lr) -> dict[str, Any]:
    import torch

    from neurotp.algorithms import get_algorithm

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # digits-sized matrices: more threads only add overhead
    try:
        return _train_baseline_1(
            get_algorithm, torch, name, sizes, init, data, seed, epochs, batch_size, lr
        )
    finally:
        torch.set_num_threads(threads)


def _train_baseline_1(
    get_algorithm, torch, name, sizes, init, data, seed, epochs, batch_size, lr
) -> dict[str, Any]:
    torch.manual_seed(seed)
    alg = get_algorithm(name)(sizes, "tanh", seed=seed, device="cpu", lr=lr)
    shared = 0
    with torch.no_grad():
        for l, (w, b) in enumerate(init):
            if l < len(alg.W) and tuple(alg.W[l].shape) == w.shape:
                alg.W[l].copy_(torch.from_numpy(w))
                alg.b[l].copy_(torch.from_numpy(b))
                shared += 1
    x = torch.from_numpy(data.x_train)
    y = torch.from_numpy(data.y_train)
    rng = np.random.default_rng(seed)
    curve = [(0, alg.accuracy(data.x_test, data.y_test))]
    t0 = time.perf_counter()
    for epoch in range(1, epochs + 1):
        order = torch.from_numpy(rng.permutation(len(x)))
        for i in range(0, len(x), batch_size):
            idx = order[i : i + batch_size]
            alg.train_batch(alg.as_tensor(x[idx]), alg.as_tensor(y[idx], torch.int64))
        curve.append((epoch * len(x), alg.accuracy(data.x_test, data.y_test)))
    return {"curve": curve, "seconds": time.perf_counter() - t0, "layers_shared": shared}


def run_compare(
    arch: str = "64-16-10",
    seeds=(0, 1, 2),
    epochs: int = 30,
    baselines=BASELINES,
    batch_size: int = 32,
    lr: float = 0.01,
    n_probe: int = 100,
    temporal: Sequence[str] = (),
    progress: bool = False,
) -> dict[str, Any]:
    """Run everything for one architecture; returns a JSON-able dict (see module doc).
    ``temporal``: paths of section-8-in-time circuit files of this architecture."""
    from neurotp.data import load_dataset

    seeds, baselines = tuple(seeds), tuple(baselines)
    check_settings(arch, seeds, epochs, baselines, batch_size, lr, n_probe)
    sizes = parse_arch(arch)
    temporal_circuits = load_temporal(temporal)
    for c in temporal_circuits:
        if temporal_sizes(c) != sizes:
            got = "-".join(map(str, temporal_sizes(c)))
            raise ValueError(f"--temporal: circuit {c.name!r} is {got}, not --arch {arch}")
    data = load_dataset("digits")
    probe_idx = np.random.default_rng(123).choice(len(data.x_train), n_probe, replace=False)
    probe = (data.x_train[probe_idx].astype(np.float64), data.y_train[probe_idx])
    runs: dict[str, list[dict[str, Any]]] = {}
    for seed in seeds:
        circuit = tp_circuit(sizes, name=f"tp_{arch}", seed=seed, epochs=epochs)
        c_res = _train_circuit(circuit, data, probe, record_alignment=True)
        init_state = c_res["sim"].comp.initial_state()
        init = [
            (w.astype(np.float32), b.astype(np.float32))
            for w, b in zip(*_forward_weights(c_res["sim"].comp, init_state), strict=True)
        ]
        c_res.pop("sim")
        runs.setdefault("circuit", []).append(c_res)
        frozen = tp_circuit(
            sizes,
            name=f"tp_{arch}_frozen",
            seed=seed,
            epochs=epochs,
            frozen=tuple(range(1, len(sizes) - 1)),
        )
        f_res = _train_circuit(frozen, data, probe, record_alignment=False)
        f_res.pop("sim")
        runs.setdefault("circuit_frozen_hidden", []).append(f_res)
        for name in baselines:
            runs.setdefault(name, []).append(
                _train_baseline(name, sizes, init, data, seed, epochs, batch_size, lr)
            )
        for tc in temporal_circuits:
            runs.setdefault(RUN_PREFIX + tc.name, []).append(
                _train_temporal(tc, seed, epochs, data, probe)
            )
        if progress:
            print(f"  {arch} seed {seed} done", flush=True)
    return {
        "arch": arch,
        "sizes": list(sizes),
        "seeds": list(seeds),
        "epochs": epochs,
        "batch_size_baselines": batch_size,
        "lr_baselines": lr,
        "n_probe": n_probe,
        "temporal": [c.name for c in temporal_circuits],
        "runs": runs,
        "summary": summarize(runs),
    }


def _train_temporal(circuit, seed: int, epochs: int, data, probe) -> dict[str, Any]:
    """One seed of a section-8-in-time circuit: its own protocol, ``epochs`` epochs, the whole
    training split (validation 0), its update compared with BP / DTP after every epoch."""
    import copy

    from neurotp.compare.temporal import feedback_is_inverse, read_temporal_network

    c = copy.deepcopy(circuit)
    c.seed, c.protocol.epochs, c.protocol.validation = seed, epochs, 0.0
    res = _train_circuit(c, data, probe, record_alignment=True, reader=read_temporal_network)
    res.pop("sim")
    if not feedback_is_inverse(c):  # its feedback carries changes: no reconstruction to score
        res["reconstruction_mse"] = []
    return res


def _forward_weights(comp, state):
    net = read_network(comp, state)
    return net.W, net.b
