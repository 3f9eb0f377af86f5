"""The Brian2 engine (optional extra ``neurotp[brian2]``): rate mode, the Numba engine's
trajectory in Brian2 objects, and spiking populations.

Modules (none imports a runner it is not built on; no cycle):

- :mod:`.drive` — per-step tables of a drive (clamp, labels, rule gates, noise), φ as Brian2
  expressions; shared by both runners;
- :mod:`.forms` — a rule's general form as Brian2 code (coefficients, weights, bounds);
  shared by both runners;
- :mod:`.parts` — the builders of the rate network, one per part: units ``U``, the delay
  line ``DL``, traces ``TR``, rule signals, synapses;
- :mod:`.rate` — the rate network of one run: built from the parts, scheduled, read back;
- :mod:`.spiking` — the spiking runner (``model: poisson|lif``);
- :mod:`.engine` — :class:`Brian2Engine`, which picks one of the two runners.
"""

from __future__ import annotations

try:  # brian2 is an optional extra
    import brian2  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised only without brian2
    raise ImportError(
        "backend 'brian2' needs the optional extra: pip install 'neurotp[brian2]'"
    ) from exc

from neurotp.engines.brian2.engine import TARGETS, Brian2Engine

__all__ = ["TARGETS", "Brian2Engine"]
