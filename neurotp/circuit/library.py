"""Circuits built in Python: the random test circuit and the benchmark circuit."""

from __future__ import annotations

from neurotp.circuit.spec import (
    Circuit,
    Compartment,
    FormTerm,
    Population,
    Projection,
    Protocol,
    Rule,
    RuleForm,
    TargetTerm,
    Trace,
    WeightInit,
)


def _window(start: float, end: float, present: float) -> tuple[float, float]:
    """A rule window of the random circuit that fits a presentation of ``present`` ms."""
    return (min(start, present / 2), min(end, present))


def random_circuit(
    seed: int = 0,
    n: int = 12,
    dt: float = 0.5,
    present: float = 50.0,
    general: bool = False,
    temporal: bool = False,
    slopes: bool = False,
) -> Circuit:
    """A small circuit exercising every feature: delays, traces, noise, a tied projection, a
    label population, and every rule kind. Used by the cross-engine tests.

    ``general=True`` adds two rules of ``kind: general`` on two more projections (pre-side
    signals (x̄, x) and (x, x̄), a trace on the post side, bounds that the initial weights lie
    outside of, windows that close before the presentation ends).

    ``temporal=True`` adds what section 8 in time needs: compartments (``H.apical`` with a rest
    trace, ``Y.apical`` without), projections into and out of them, rules that read ``apical``
    and its traces, a label clamp that starts ``present/5`` after onset, and two stimulus
    frames per presentation.

    ``slopes=True`` sets ``post_slope`` on the rules into tanh (``pred_XH``, ``rec_TS``),
    sigmoid (``pred_HY``, with bounds) and relu (``delta_HG``) units."""
    pops = [
        Population("X", n, "linear", role="input"),
        Population("H", n, "tanh", tau=2.0, noise=0.05, bias=0.1),
        Population("Y", n // 2, "sigmoid", tau=1.5),
        Population("L", n // 2, "linear", tau=1.0, role="label"),
        Population("T", n // 2, "linear", tau=1.0),
        Population("S", n, "tanh", tau=1.0, noise=0.02),
        Population("G", n, "relu", tau=3.0),
        Population("Z", n, "sign", tau=1.0),
        Population("Q", n // 2, "step", tau=2.0),
    ]
    projs = [
        Projection("XH", "X", "H", delay=1.0, init=WeightInit("normal", 1.0)),
        Projection("HY", "H", "Y", delay=1.5, init=WeightInit("uniform", 1.0)),
        Projection("YT", "Y", "T", delay=0.5, init=WeightInit("identity", 0.8)),
        Projection("LT", "L", "T", delay=0.5, init=WeightInit("identity", 0.2)),
        Projection("YL", "Y", "L", delay=1.0, init=WeightInit("identity", 1.0)),
        Projection("TS", "T", "S", delay=2.0, init=WeightInit("normal", 1.0)),
        Projection("YS", "Y", "S", delay=1.0, tie="TS"),
        Projection("HG", "H", "G", delay=0.5, init=WeightInit("normal", 1.0)),
        Projection("GH", "G", "H", delay=3.0, init=WeightInit("normal", 0.3)),
        Projection("HZ", "H", "Z", delay=1.0, init=WeightInit("normal", 1.0)),
        Projection("ZQ", "Z", "Q", delay=0.5, init=WeightInit("normal", 1.0)),
    ]
    traces = [
        Trace("X_bar", "X", tau=5.0, delay=1.0),
        Trace("H_bar", "H", tau=4.0),
        Trace("H_bar_d", "H", tau=3.0, delay=1.5),
        Trace("S_bar", "S", tau=2.0),
        Trace("Q_bar", "Q", tau=2.0),
    ]
    rules = [
        Rule(
            "pred_XH",
            "prediction",
            "XH",
            lr=0.01,
            window=_window(10.0, 50.0, present),  # a window ends by present
            bias=True,
            targets=[TargetTerm("S", 0.7), TargetTerm("G", 0.3)],
            pre_trace="X_bar",
        ),
        Rule(
            "pred_HY",
            "prediction",
            "HY",
            lr=0.02,
            bounds=(-1.0, 1.0),
            targets=[TargetTerm("T", 1.0)],
            pre_trace="H_bar_d",
        ),
        Rule("rec_TS", "reconstruction", "TS", lr=0.01, forward_trace="H_bar", bias=True),
        Rule(
            "delta_HG",
            "delta",
            "HG",
            lr=0.005,
            targets=[TargetTerm("H", 1.0)],
            window=_window(5.0, 40.0, present),
        ),
        Rule("oja_GH", "oja", "GH", lr=0.001),
        Rule("recirc_ZQ", "recirculation", "ZQ", lr=0.003, post_trace="Q_bar", bias=True),
    ]
    if general:
        projs += [
            Projection("SZ", "S", "Z", delay=2.0, init=WeightInit("normal", 1.5)),
            Projection("HQ", "H", "Q", delay=1.0, init=WeightInit("normal", 1.0)),
        ]
        traces += [
            Trace("S_bar_2", "S", tau=3.0, delay=2.0),
            Trace("H_bar_1", "H", tau=2.0, delay=1.0),
            Trace("Z_bar", "Z", tau=2.5),
        ]
        rules += [
            Rule(
                "gen_SZ",
                "general",
                "SZ",
                lr=0.004,
                window=_window(5.0, 30.0, present),
                bounds=(-0.25, 0.25),
                bias=True,
                form=RuleForm(
                    plus=[FormTerm("trace:Z_bar", 1.0)],
                    plus_pre="pre",
                    minus_coef=0.8,
                    minus_post="post",
                    minus_pre="trace:S_bar_2",
                ),
            ),
            Rule(
                "gen_HQ",
                "general",
                "HQ",
                lr=0.006,
                window=_window(15.0, 45.0, present),
                form=RuleForm(
                    plus=[FormTerm("post", 0.5), FormTerm("rate:T", 0.5)],
                    plus_pre="trace:H_bar_1",
                    minus_coef=1.0,
                    minus_post="trace:Q_bar",
                    minus_pre="pre",
                ),
            ),
        ]
    proto = Protocol(
        dt=dt,
        present=present,
        gap=5.0,
        input="X",
        label="L",
        readout="Y",
        reconstruction=None,
        input_noise=0.1,
    )
    if temporal:
        _add_temporal(pops, projs, traces, rules, proto, dt)
    if slopes:
        for r in rules:
            if r.name in ("pred_XH", "rec_TS", "pred_HY", "delta_HG"):
                r.post_slope = True
    return Circuit("random", pops, projs, traces, rules, proto, seed=seed)


def _add_temporal(pops, projs, traces, rules, proto, dt: float) -> None:
    """The section-8-in-time parts of :func:`random_circuit` (``temporal=True``)."""
    by_name = {p.name: p for p in pops}
    by_name["H"].apical = Compartment("tanh", tau=1.5, gain=0.4, rest="AH_rest", bias=0.05)
    by_name["Y"].apical = Compartment("linear", tau=1.0, gain=0.3)
    projs += [
        Projection("YHa", "Y", "H.apical", delay=1.0, init=WeightInit("normal", 1.0)),
        Projection("LYa", "L", "Y.apical", delay=0.5, init=WeightInit("identity", 1.0)),
        Projection("HaG", "H.apical", "G", delay=1.0, init=WeightInit("normal", 0.5)),
        Projection("XHb", "X", "H", delay=1.0, init=WeightInit("normal", 0.5)),
        Projection("HYb", "H", "Y", delay=2.0, init=WeightInit("normal", 0.5)),
    ]
    traces += [
        Trace("AH_rest", "H.apical", tau=4.0),
        Trace("AH_d", "H.apical", tau=dt, delay=1.0),  # tau = dt: an exact delayed copy
    ]
    rules += [
        Rule("rec_YHa", "reconstruction", "YHa", lr=0.01, forward_trace="H_bar", bias=True),
        Rule(
            "gen_XHb",
            "general",
            "XHb",
            lr=0.008,
            bias=True,
            form=RuleForm(
                plus=[
                    FormTerm("apical", 1.0),
                    FormTerm("trace:AH_rest", -1.0),
                    FormTerm("trace:AH_d", -0.5),
                ],
                plus_pre="trace:X_bar",
                minus_coef=0.5,
                minus_post="trace:H_bar_d",
                minus_pre="pre",
            ),
        ),
        Rule(
            "gen_HYb",
            "general",
            "HYb",
            lr=0.01,
            form=RuleForm(plus=[FormTerm("apical", 1.0)], minus_coef=1.0, minus_post="post"),
        ),
    ]
    proto.label_delay = round(proto.present / 5 / dt) * dt
    proto.frames = 2


def bench_circuit(n: int = 1000, dt: float = 1.0) -> Circuit:
    """Two populations of ``n`` units, a forward and a feedback projection with delays, traces,
    and the two section-8 rules on (the ``neurotp bench engines`` circuit)."""
    pops = [
        Population("X", n, "linear", role="input"),
        Population("F", n, "tanh", tau=2.0, noise=0.01),
        Population("R", n, "tanh", tau=2.0),
    ]
    projs = [
        Projection("XF", "X", "F", delay=2.0, init=WeightInit("normal", 1.0)),
        Projection("FR", "F", "R", delay=3.0, init=WeightInit("normal", 1.0)),
    ]
    traces = [Trace("X_bar", "X", tau=5.0, delay=2.0), Trace("F_bar", "F", tau=5.0)]
    rules = [
        Rule(
            "prediction", "prediction", "XF", lr=1e-4, targets=[TargetTerm("R")], pre_trace="X_bar"
        ),
        Rule("reconstruction", "reconstruction", "FR", lr=1e-4, forward_trace="F_bar"),
    ]
    proto = Protocol(dt=dt, present=100.0, gap=0.0, input="X", readout="F")
    return Circuit("bench", pops, projs, traces, rules, proto, seed=0)


def tp_circuit(
    sizes: tuple[int, ...] = (64, 16, 10),
    *,
    name: str = "digits_tp",
    beta: float = 0.5,
    lr_forward: tuple[float, ...] | None = None,
    lr_feedback: float = 0.03,
    input_scale: float = 2.0,
    input_noise: float = 0.15,
    epochs: int = 30,
    lr_decay: float = 0.93,
    frozen: tuple[int, ...] = (),
    hidden_slope: bool = False,
    seed: int = 0,
) -> Circuit:
    """The supervised difference-target-propagation circuit for any depth.

    ``sizes = (n_in, n_1, ..., n_out)``. Forward populations ``H`` (or ``H1``, ``H2``, ...)
    and ``Y``; the top target ``YT = (1 - beta) Y + beta L`` with the label ``L``; for each
    hidden layer the short-loop reconstruction ``S = g(F_above)``, the long-loop
    reconstruction ``G = g(T_above)`` (tied to ``S``'s weights) and the difference target
    ``HT = H + G - S``. Feedforward projections learn by the prediction rule toward the
    target populations, feedback projections by the reconstruction rule toward the trace of
    the forward population. ``frozen`` lists forward layers (1-based) with plasticity off.
    ``hidden_slope`` sets ``post_slope`` on the hidden layers' prediction rules: each hidden
    unit's update times its own slope 1 − h², the gradient of its distance to its target
    through its tanh (the output rule stays the delta rule of a sigmoid unit).
    ``tp_circuit((64, 16, 10))`` is ``circuits/digits_tp.yaml``.
    """
    n_hidden = len(sizes) - 2
    if n_hidden < 1:
        raise ValueError(f"sizes: {sizes} needs at least one hidden layer")
    suffix = [""] if n_hidden == 1 else [str(i) for i in range(1, n_hidden + 1)]
    fwd = ["X"] + [f"H{s}" for s in suffix] + ["Y"]
    tgt = [None] + [f"HT{s}" for s in suffix] + ["YT"]
    if lr_forward is None:
        lr_forward = (0.02,) * n_hidden + (0.01,)
    settle = 30.0 + 20.0 * (n_hidden - 1)
    window = (settle, settle + 10.0)

    pops = [Population("X", sizes[0], "linear", role="input")]
    pops += [
        Population(f"H{s}", n, "tanh", tau=2.0) for s, n in zip(suffix, sizes[1:-1], strict=True)
    ]
    pops += [
        Population("Y", sizes[-1], "sigmoid", tau=2.0),
        Population("L", sizes[-1], "linear", tau=2.0, role="label"),
        Population("YT", sizes[-1], "linear", tau=2.0),
    ]
    projs = []
    for l in range(1, n_hidden + 2):
        scale = input_scale if l == 1 else 1.0
        projs.append(
            Projection(
                f"{fwd[l - 1]}{fwd[l]}",
                fwd[l - 1],
                fwd[l],
                delay=1.0,
                init=WeightInit("normal", scale),
            )
        )
    projs += [
        Projection("YYT", "Y", "YT", delay=1.0, init=WeightInit("identity", 1.0 - beta)),
        Projection("LYT", "L", "YT", delay=1.0, init=WeightInit("identity", beta)),
    ]
    traces = [Trace("X_bar", "X", tau=5.0, delay=1.0)]
    rules = []
    # hidden layers from the top down: S, G, HT and the feedback projections
    for l in range(n_hidden, 0, -1):
        s, h, above, t_above = suffix[l - 1], fwd[l], fwd[l + 1], tgt[l + 1]
        n = sizes[l]
        pops += [
            Population(f"S{s}", n, "tanh", tau=2.0),
            Population(f"G{s}", n, "tanh", tau=2.0),
            Population(f"HT{s}", n, "linear", tau=2.0),
        ]
        projs += [
            Projection(f"{above}S{s}", above, f"S{s}", delay=2.0, init=WeightInit("normal", 1.0)),
            Projection(f"{t_above}G{s}", t_above, f"G{s}", delay=1.0, tie=f"{above}S{s}"),
            Projection(f"{h}HT{s}", h, f"HT{s}", delay=3.0, init=WeightInit("identity", 1.0)),
            Projection(f"GHT{s}", f"G{s}", f"HT{s}", delay=1.0, init=WeightInit("identity", 1.0)),
            Projection(f"SHT{s}", f"S{s}", f"HT{s}", delay=1.0, init=WeightInit("identity", -1.0)),
        ]
        traces += [Trace(f"{h}_bar", h, tau=5.0), Trace(f"{h}_bar_d", h, tau=5.0, delay=1.0)]
    for l in range(1, n_hidden + 2):
        if l in frozen:
            continue
        pre_trace = "X_bar" if l == 1 else f"{fwd[l - 1]}_bar_d"
        rules.append(
            Rule(
                f"prediction_{fwd[l - 1]}{fwd[l]}",
                "prediction",
                f"{fwd[l - 1]}{fwd[l]}",
                lr=lr_forward[l - 1],
                window=window,
                bias=True,
                targets=[TargetTerm(tgt[l])],
                pre_trace=pre_trace,
                post_slope=hidden_slope and l <= n_hidden,
            )
        )
    for l in range(n_hidden, 0, -1):
        s, h, above = suffix[l - 1], fwd[l], fwd[l + 1]
        rules.append(
            Rule(
                f"reconstruction_{above}S{s}",
                "reconstruction",
                f"{above}S{s}",
                lr=lr_feedback,
                window=window,
                bias=False,  # G = g(YT) shares V with S but not a bias: keep both unbiased
                forward_trace=f"{h}_bar",
            )
        )
    proto = Protocol(
        dt=1.0,
        present=window[1],
        gap=0.0,
        input="X",
        label="L",
        readout="Y",
        readout_window=window,
        input_noise=input_noise,
        dataset="digits",
        epochs=epochs,
        lr_decay=lr_decay,
    )
    return Circuit(
        name,
        pops,
        projs,
        traces,
        rules,
        proto,
        seed=seed,
        description=f"{'-'.join(map(str, sizes))} difference-target-propagation circuit",
    )
