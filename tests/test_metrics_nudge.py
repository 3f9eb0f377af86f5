"""neurotp/metrics/nudge.py: the rebuilt trace is the engine's, mid-run and at the end, and
the label's nudge arrives later by exactly the extra loop delay."""

from pathlib import Path

import numpy as np

from neurotp.circuit import load_circuit
from neurotp.metrics.nudge import arrival, label_share, nudge_course, trace_course

CIRCUIT = Path(__file__).resolve().parents[1] / "circuits" / "digits_temporal.yaml"


def trained(over, epochs=1):
    from neurotp.simulation import Simulation

    sim = Simulation(load_circuit(CIRCUIT, over + ["seed=0", "protocol.n_train=40"]))
    sim.train(epochs)
    return sim


def test_the_rebuilt_trace_is_the_engines_mid_run_and_at_the_end():
    from dataclasses import replace

    from neurotp.circuit.protocol import make_drive

    sim = trained([])
    comp, d = sim.comp, sim.data
    rng = np.random.default_rng(1)
    first, second = (
        replace(make_drive(comp, d.x_test[a:b], d.y_test[a:b], rng, train=True), learn=False)
        for a, b in ((0, 2), (2, 3))
    )
    s0 = sim.state.copy()
    whole = sim.make_engine(state=s0.copy())
    rec = np.vstack([whole.run(dr, record_every=1).record for dr in (first, second)])
    part = sim.make_engine(state=s0.copy())
    part.run(first)
    k = 2 * comp.steps_per_presentation  # the first step of the second drive
    rebuilt = 0
    for i, t in enumerate(comp.circuit.traces):
        if t.population in (comp.circuit.protocol.input, comp.circuit.protocol.label):
            continue  # clamped at the start of a step: not the rate recorded the step before
        course, final = trace_course(comp, s0, rec, i)
        sl = slice(int(comp.tr_off[i]), int(comp.tr_off[i] + comp.tr_n[i]))
        np.testing.assert_allclose(final, whole.state.tr[sl], rtol=0, atol=1e-12)
        np.testing.assert_allclose(course[k], part.state.tr[sl], rtol=0, atol=1e-12)
        assert not np.allclose(course[k], course[0])  # the trace moved: the check has teeth
        rebuilt += 1
    assert rebuilt >= 1


def test_the_label_arrives_later_by_the_extra_feedback_delay():
    when = {}
    for d in (1.0, 6.0):
        sim = trained([f"projections.G.delay={d!r}"], epochs=0)
        nudge = nudge_course(sim, "H", n=4)
        lab = np.asarray(nudge["label"])
        assert lab.shape == (2 * sim.comp.steps_per_presentation,)
        # nothing before the label is clamped: the two runs are the same until then
        p = sim.circuit.protocol
        assert np.all(lab[: int(p.label_delay / p.dt)] == 0.0)
        when[d] = arrival(nudge, {"dt": p.dt})
    assert when[6.0] - when[1.0] == 5.0


def test_the_share_inside_the_clamp_and_the_arrival_are_read_off_the_course():
    proto = {"dt": 0.5, "label_delay": 2.0, "present": 4.0}  # steps 4..7 are the clamp
    lab = [0.0] * 4 + [0.0, 2.0, 1.0, 1.0] + [1.0] * 8
    inside, share = label_share({"label": lab}, proto)
    assert inside == 4.0 * 0.5 and share == 4.0 / 12.0  # integrated: Σ·dt
    assert arrival({"label": lab}, proto) == 2.5  # step 5, the first above 5 % of the peak
    assert np.isnan(arrival({"label": [0.0] * 8}, proto))
