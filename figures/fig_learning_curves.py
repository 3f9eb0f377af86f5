"""Learning curves on digits: circuit rules against DTP, BP (and FA, TP, Algorithm 5), with the
frozen-hidden control, mean ± std over seeds. Computed by :func:`neurotp.compare.run_compare`
(cached in figures/_cache/, shared with fig_alignment.py).

    python figures/fig_learning_curves.py [--arch 64-16-10] [--seeds 0 1 2] [--epochs 30] [--force]
"""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv: list[str] | None = None) -> Path:
    from neurotp.compare import figure_main, plot_learning_curves

    return figure_main(
        argv, plot_learning_curves, HERE / "learning_curves.png", __doc__.splitlines()[0]
    )


if __name__ == "__main__":
    main()
