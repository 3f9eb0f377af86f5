"""Update alignment per layer over training: the angle between the circuit's weight change and
the BP gradient and the DTP update of the same network on a probe batch. Computed by
:func:`neurotp.compare.run_compare` (cached in figures/_cache/, shared with fig_learning_curves.py).

    python figures/fig_alignment.py [--arch 64-16-10] [--seeds 0 1 2] [--epochs 30] [--force]
"""

from __future__ import annotations

import argparse
from pathlib import Path

HERE = Path(__file__).resolve().parent


def parse(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--arch", default="64-16-10")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--force", action="store_true")
    p.add_argument("--out", default=str(HERE / "alignment.png"))
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> Path:
    from neurotp.compare import cached_compare, plot_alignment

    a = parse(argv)
    result = cached_compare(
        a.arch, HERE / "_cache", force=a.force, seeds=tuple(a.seeds), epochs=a.epochs
    )
    plot_alignment(result, a.out)
    print(f"saved {a.out}")
    return Path(a.out)


if __name__ == "__main__":
    main()
