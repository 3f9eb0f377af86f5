"""The circuit description: populations, projections, traces, plasticity rules, protocol.

Plain dataclasses that know nothing about any engine. Build them in Python or load them from
YAML (:mod:`neurotp.circuit.io`); :func:`neurotp.circuit.validate.validate` checks them.
Units: time in milliseconds, rates dimensionless.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

ROLES: tuple[str, ...] = ("hidden", "input", "label")
MODELS: tuple[str, ...] = ("rate", "poisson", "lif")
INIT_KINDS: tuple[str, ...] = ("normal", "uniform", "identity", "zeros", "constant")


@dataclass
class Compartment:
    """A second (apical) compartment of every unit of a population (section 8 in time).

    Its rate a follows τ·da/dt = −a + φ(Σ W·r_pre(t − d) + b), fed by the projections whose
    ``post`` is ``POP.apical``; it nudges its unit's soma by adding gain·(a − ā) to the soma's
    input, where ā is the trace named by ``rest`` (a trace of ``POP.apical``), or gain·a when
    ``rest`` is null. With a rest trace the nudge cancels at rest: only the change of what the
    loops return reaches the soma. Rules read it as ``apical`` (the post unit's compartment).
    """

    activation: str = "linear"
    tau: float = 1.0
    gain: float = 1.0
    rest: str | None = None
    bias: float = 0.0


COMPARTMENT_SUFFIX = ".apical"


def unit_of(group: str) -> str:
    """The population a unit group belongs to: ``H`` for ``H`` and for ``H.apical``."""
    return group[: -len(COMPARTMENT_SUFFIX)] if group.endswith(COMPARTMENT_SUFFIX) else group


def compartment_of(group: str) -> str:
    """The compartment group of the units of ``group`` (``H.apical`` for ``H`` or itself)."""
    return unit_of(group) + COMPARTMENT_SUFFIX


@dataclass
class Population:
    """A group of rate units: τ·dr/dt = −r + φ(Σ W·r_pre(t − d) + b + σ·ξ [+ gain·(a − ā)]).

    ``role="input"`` units are set to the stimulus; ``role="label"`` units are clamped to the
    label while training (from ``protocol.label_delay`` after each onset) and run free (by
    their own inputs) otherwise. ``model`` is ``rate`` (every engine) or ``poisson``/``lif``
    (spiking units whose rates follow the rate model; Brian2 engine only). ``apical`` gives
    the units a second compartment (:class:`Compartment`), addressed as ``NAME.apical``.
    """

    name: str
    size: int
    activation: str = "tanh"
    tau: float = 1.0
    bias: float = 0.0
    noise: float = 0.0
    role: str = "hidden"
    model: str = "rate"
    apical: Compartment | None = None


@dataclass
class WeightInit:
    """Seeded weight initialisation. ``scale`` is the std (normal), half-width (uniform),
    diagonal value (identity) or value (constant); normal/uniform are divided by √n_pre
    when ``fan_in`` is true."""

    kind: str = "normal"
    scale: float = 1.0
    fan_in: bool = True


@dataclass
class Projection:
    """Synapses from ``pre`` to ``post`` carrying ``delay`` ms. ``tie`` names another
    projection whose weight matrix this one shares (same shape); a tied projection has no
    init of its own."""

    name: str
    pre: str
    post: str
    delay: float = 0.0
    init: WeightInit = field(default_factory=WeightInit)
    tie: str | None = None


@dataclass
class Trace:
    """Exponential moving average x̄ of a population's rate, delayed by ``delay`` ms:
    τ_trace·dx̄/dt = r(t − delay) − x̄."""

    name: str
    population: str
    tau: float
    delay: float = 0.0


@dataclass
class TargetTerm:
    """One loop's target for the prediction rule, weighted by ``weight``."""

    population: str
    weight: float = 1.0


@dataclass
class FormTerm:
    """One positive term cₖ·Aₖ of a rule's general form: ``post`` names the post-side signal
    (``post``, ``trace:NAME`` or ``rate:POPULATION``), ``coef`` its coefficient."""

    post: str
    coef: float = 1.0


@dataclass
class RuleForm:
    """The general element-wise form ΔW = η·(Σₖ cₖ·Aₖ ⊗ a − c_B·B ⊗ b) (see
    :mod:`neurotp.circuit.rules`): ``plus`` the terms cₖ·Aₖ, ``plus_pre`` their pre-side
    signal a (``pre`` or ``trace:NAME``), ``minus_coef``/``minus_post``/``minus_pre`` c_B, B
    and b. The defaults give (A − p)·x."""

    plus: list[FormTerm] = field(default_factory=list)
    plus_pre: str = "pre"
    minus_coef: float = 1.0
    minus_post: str = "post"
    minus_pre: str = "pre"


@dataclass
class Rule:
    """A plasticity rule acting on one projection's weights (and optionally the post bias).

    kinds (Δ per step = lr·dt·term, only while the window is open, then clipped to bounds):

    - ``prediction`` (section 8): Σₖ cₖ·(Tₖ·x̄ − p·x); p = post rate, x = delayed pre rate,
      x̄ = ``pre_trace``, Tₖ = ``targets`` (one per loop; their contributions add).
    - ``reconstruction`` (section 8): (p̄ᶠ − pʳ)·x; pʳ = post rate, p̄ᶠ = ``forward_trace``.
    - ``delta``: (T − p)·x with T = ``targets[0]``.
    - ``oja``: Oja's subspace rule p·(x − Wᵀp).
    - ``recirculation`` (Hinton & McClelland 1988): (p̄ − p)·x with p̄ = ``post_trace``.
    - ``general``: the general element-wise form, spelled out in ``form``
      (:class:`RuleForm`); the kinds above except Oja's are presets of it
      (:data:`neurotp.circuit.rules.PRESETS`).

    ``post_slope: true`` multiplies an element-wise rule's update at each post unit by the
    slope of that unit's activation at its own rate p, φ′ as a function of p
    (:data:`neurotp.circuit.activations.SLOPES`: 1 − p² for tanh, p·(1 − p) for the sigmoid,
    1 for linear, [p > 0] for relu): the unit's own gain, a local signal.
    """

    name: str
    kind: str
    projection: str
    lr: float
    window: tuple[float, float] | None = None
    bounds: tuple[float, float] | None = None
    bias: bool = False
    targets: list[TargetTerm] = field(default_factory=list)
    pre_trace: str | None = None
    forward_trace: str | None = None
    post_trace: str | None = None
    form: RuleForm | None = None
    post_slope: bool = False


@dataclass
class Protocol:
    """How samples are presented: each for ``present`` ms, then ``gap`` ms of silence.

    ``input`` populations get the sample (plus Gaussian ``input_noise`` in training);
    ``label`` is clamped to ``label_on``/``label_off`` during training only; the class is the
    argmax of ``readout``'s mean rate over ``readout_window`` (ms from onset);
    ``reconstruction`` names a population whose mean rate over the readout window is
    compared with the input (reconstruction error). Every rule's lr is multiplied by
    ``lr_decay`` after each training epoch. ``validation`` is the fraction of the training set
    held out (stratified) for tuning: with it, every epoch is scored on the validation split
    and the test split is scored once, after the last epoch. ``batch`` runs that many copies
    of the circuit side by side on different samples, sharing the weights (every copy's
    local update is averaged into them at each step; ``docs/engines.md``); 1 is the plain
    engine.

    Time within a presentation: the label clamp starts ``label_delay`` ms after onset (before
    it the label units run free); the stimulus is ``frames`` equal frames, each the image
    shifted by a 2-D random walk of ``jitter`` pixels per frame (training and testing);
    ``input_noise`` is drawn per frame. ``stream: true`` declares stream mode: no gap and no
    rule windows (checked), so samples follow each other with plasticity always on.
    """

    dt: float = 1.0
    present: float = 20.0
    gap: float = 0.0
    input: str = "X"
    label: str | None = None
    readout: str | None = None
    reconstruction: str | None = None
    readout_window: tuple[float, float] | None = None
    input_noise: float = 0.0
    label_on: float = 1.0
    label_off: float = 0.0
    dataset: str = "digits"
    epochs: int = 1
    lr_decay: float = 1.0
    n_train: int | None = None
    n_test: int | None = None
    validation: float = 0.0
    label_delay: float = 0.0
    frames: int = 1
    jitter: float = 0.0
    stream: bool = False
    batch: int = 1


NEW_PROTOCOL_DEFAULTS: dict[str, Any] = {
    "label_delay": 0.0,
    "frames": 1,
    "jitter": 0.0,
    "stream": False,
    "batch": 1,
}


@dataclass
class Spiking:
    """How populations with ``model: lif`` or ``poisson`` turn rates into spikes (Brian2).

    A unit's rate range maps linearly onto 0..``max_rate`` Hz; spikes reach the postsynaptic
    current through an exponential synapse of time constant ``tau_syn`` (ms); LIF neurons have
    membrane time constant ``tau_m`` (ms). Rate populations ignore it. See ``docs/brian2.md``.
    """

    max_rate: float = 200.0
    tau_syn: float = 5.0
    tau_m: float = 50.0


@dataclass
class Circuit:
    """A whole circuit: the thing every engine runs."""

    name: str
    populations: list[Population]
    projections: list[Projection] = field(default_factory=list)
    traces: list[Trace] = field(default_factory=list)
    rules: list[Rule] = field(default_factory=list)
    protocol: Protocol = field(default_factory=Protocol)
    seed: int = 0
    description: str = ""
    spiking: Spiking = field(default_factory=Spiking)

    # --- lookups -----------------------------------------------------------------------
    def population(self, name: str) -> Population:
        for p in self.groups():
            if p.name == name:
                return p
        raise KeyError(name)

    def groups(self) -> list[Population]:
        """The populations, then one unit group per compartment (``NAME.apical``, role
        ``compartment``): the order of the flat rate vector every engine uses."""
        return self.populations + [
            Population(
                name=p.name + COMPARTMENT_SUFFIX,
                size=p.size,
                activation=p.apical.activation,
                tau=p.apical.tau,
                bias=p.apical.bias,
                role="compartment",
            )
            for p in self.populations
            if isinstance(p.apical, Compartment)
        ]

    def projection(self, name: str) -> Projection:
        for p in self.projections:
            if p.name == name:
                return p
        raise KeyError(name)

    def trace(self, name: str) -> Trace:
        for t in self.traces:
            if t.name == name:
                return t
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form (lists, dicts, numbers, strings) for YAML and JSON."""
        d = asdict(self)
        # fields added for section 8 in time (and protocol.batch) are left out at their
        # defaults, so that circuits written before them keep their hash (checkpoints, sweeps)
        for p in d["populations"]:
            if p["apical"] is None:
                del p["apical"]
        for key, default in NEW_PROTOCOL_DEFAULTS.items():
            if d["protocol"][key] == default:
                del d["protocol"][key]
        for r in d["rules"]:
            for key in ("window", "bounds"):
                if r[key] is not None:
                    r[key] = list(r[key])
        if d["protocol"]["readout_window"] is not None:
            d["protocol"]["readout_window"] = list(d["protocol"]["readout_window"])
        return d
