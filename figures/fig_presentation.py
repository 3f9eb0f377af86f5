"""One circuit presentation: forward, reconstruction and target populations over time.

digits_tp.yaml is trained for a few epochs (cached), then two test digits are presented with
the label clamped and learning off. Panels show, for two hidden units, the forward rate H,
the short-loop reconstruction S = g(Y), the long-loop reconstruction G = g(Y_T), the
difference target H_T = H + G - S and the trace H̄; for the output, Y, the target Y_T and the
clamped label L. Shading marks the plasticity window; the loop delays show as the lag of
S, G and H_T behind H at each onset.

    python figures/fig_presentation.py [--epochs 5] [--force]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def parse(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--force", action="store_true")
    p.add_argument("--out", default=str(HERE / "presentation.png"))
    return p.parse_args(argv)


def compute(epochs: int, cache: Path) -> dict[str, np.ndarray]:
    from neurotp.circuit import load_circuit, make_drive
    from neurotp.engines import get_engine
    from neurotp.simulation import Simulation

    c = load_circuit(ROOT / "circuits" / "digits_tp.yaml")
    sim = Simulation(c)
    sim.train(epochs)
    engine = get_engine("numba")(sim.comp, state=sim.state.copy())
    x, y = sim.data.x_test[:2], sim.data.y_test[:2]
    d = make_drive(sim.comp, x, y, np.random.default_rng(0), train=True)
    d.stim = x.astype(np.float64)  # clean digits
    d.learn = False
    rates = engine.run(d, record_every=1).record
    out = {
        "rates": rates,
        "labels": y,
        "dt": np.array(sim.comp.dt),
        "names": np.array(sim.comp.pop_names),
        "offsets": sim.comp.pop_off,
        "present": np.array(sim.comp.present_steps),
        "window": np.array(c.rules[0].window),
        "accuracy": np.array(sim.history[-1].test_accuracy),
    }
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.savez(cache, **out)
    return out


def plot(d: dict[str, np.ndarray], out: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(d["names"])
    off = dict(zip(names, d["offsets"], strict=True))
    r = d["rates"]
    t = np.arange(1, len(r) + 1) * float(d["dt"])
    present = int(d["present"]) * float(d["dt"])
    w0, w1 = d["window"]

    def unit(pop, i):
        return r[:, off[pop] + i]

    def ema(v, tau=5.0):
        out, acc = np.empty_like(v), v[0]
        for k, x in enumerate(v):
            acc += float(d["dt"]) / tau * (x - acc)
            out[k] = acc
        return out

    fig, axes = plt.subplots(3, 1, figsize=(11, 7.5), sharex=True)
    for ax, i in zip(axes[:2], (0, 1), strict=True):
        ax.plot(t, unit("H", i), color="k", lw=2, label="H (forward)")
        ax.plot(t, ema(unit("H", i)), color="0.5", lw=1, ls=":", label="H̄ (trace, τ=5 ms)")
        ax.plot(t, unit("S", i), color="tab:blue", label="S = g(Y) (short loop)")
        ax.plot(t, unit("G", i), color="tab:orange", label="G = g(Y_T) (long loop)")
        ax.plot(t, unit("HT", i), color="tab:red", ls="--", label="H_T = H + G − S (target)")
        ax.set_ylabel(f"hidden unit {i + 1}\nrate")
    y0 = int(d["labels"][0])
    axes[2].plot(t, unit("Y", y0), color="k", lw=2, label=f"Y (output unit {y0})")
    axes[2].plot(t, unit("YT", y0), color="tab:red", ls="--", label="Y_T (top target)")
    axes[2].plot(t, unit("L", y0), color="tab:green", label="L (clamped label)")
    axes[2].set_ylabel("output\nrate")
    axes[2].set_xlabel("time (ms)")
    for ax in axes:
        for k in range(2):
            ax.axvline(k * present, color="0.6", lw=0.8)
            ax.axvspan(
                k * present + w0,
                k * present + w1,
                color="gold",
                alpha=0.2,
                label="plasticity window" if k == 0 else None,
            )
        ax.grid(alpha=0.25)
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.suptitle(
        f"digits_tp after training (test acc {100 * float(d['accuracy']):.1f} %): two "
        "presentations, labels clamped; loops return 2–5 ms after H",
        fontsize=10,
    )
    fig.tight_layout()
    fig.savefig(out, dpi=130)
    plt.close(fig)


def main(argv: list[str] | None = None) -> Path:
    a = parse(argv)
    import hashlib

    text = (ROOT / "circuits" / "digits_tp.yaml").read_text()
    key = hashlib.sha256(f"{a.epochs}:{text}".encode()).hexdigest()[:10]
    cache = HERE / "_cache" / f"presentation_{key}.npz"
    if cache.exists() and not a.force:
        with np.load(cache, allow_pickle=False) as z:
            d = {k: z[k] for k in z.files}
    else:
        d = compute(a.epochs, cache)
    plot(d, a.out)
    print(f"saved {a.out}")
    return Path(a.out)


if __name__ == "__main__":
    main()
