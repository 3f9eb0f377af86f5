"""``neurotp compare``: circuit rules against the algorithmic baselines on digits.

One concept per module: :mod:`~neurotp.compare.experiment` (what is trained and measured,
:func:`run_compare`), :mod:`~neurotp.compare.summary` (summary, markdown table),
:mod:`~neurotp.compare.plots` (figures), :mod:`~neurotp.compare.outputs` (what is
written), :mod:`~neurotp.compare.cache` (results cached by their settings, shared with the
figures) and :mod:`~neurotp.compare.temporal` (the section-8-in-time circuits' rows: their
network read by wiring).
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
from neurotp.compare.summary import LABELS, label, markdown_table, summarize
from neurotp.compare.temporal import (
    DEFAULT_TEMPORAL,
    feedback_is_inverse,
    forward_chain,
    load_temporal,
    read_temporal_network,
    temporal_sizes,
)

__all__ = [
    "ARCHITECTURES",
    "BASELINES",
    "DEFAULT_TEMPORAL",
    "LABELS",
    "cached_compare",
    "check_settings",
    "feedback_is_inverse",
    "figure_main",
    "forward_chain",
    "label",
    "load_temporal",
    "markdown_table",
    "parse_arch",
    "plot_alignment",
    "plot_learning_curves",
    "read_temporal_network",
    "run_compare",
    "summarize",
    "temporal_sizes",
    "write_outputs",
]
