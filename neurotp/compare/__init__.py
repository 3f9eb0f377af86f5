"""``neurotp compare``: circuit rules against the algorithmic baselines on digits.

One concept per module: :mod:`~neurotp.compare.experiment` (what is trained and measured,
:func:`run_compare`), :mod:`~neurotp.compare.summary` (summary, markdown table),
:mod:`~neurotp.compare.plots` (figures), :mod:`~neurotp.compare.outputs` (what is
written) and :mod:`~neurotp.compare.cache` (results cached by their settings, shared with the
figures).
"""

from neurotp.compare.cache import cached_compare, figure_main
from neurotp.compare.experiment import (
    ARCHITECTURES,
    BASELINES,
    check_settings,
    parse_arch,
    run_compare,
)
from neurotp.compare.outputs import write_outputs
from neurotp.compare.plots import plot_alignment, plot_learning_curves
from neurotp.compare.summary import LABELS, markdown_table, summarize

__all__ = [
    "ARCHITECTURES",
    "BASELINES",
    "LABELS",
    "cached_compare",
    "check_settings",
    "figure_main",
    "markdown_table",
    "parse_arch",
    "plot_alignment",
    "plot_learning_curves",
    "run_compare",
    "summarize",
    "write_outputs",
]
