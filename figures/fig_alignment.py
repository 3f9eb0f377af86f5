"""Update alignment per layer over training: the angle between the circuit's weight change and
the BP gradient and the DTP update of the same network on a probe batch. Computed by
:func:`neurotp.compare.run_compare` (cached in figures/_cache/, shared with fig_learning_curves.py).

    python figures/fig_alignment.py [--arch 64-16-10] [--seeds 0 1 2] [--epochs 30] [--force]
"""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv: list[str] | None = None) -> Path:
    from neurotp.compare import figure_main, plot_alignment

    return figure_main(argv, plot_alignment, HERE / "alignment.png", __doc__.splitlines()[0])


if __name__ == "__main__":
    main()
