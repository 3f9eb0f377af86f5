"""Per-step tables of a drive for the Brian2 runners (neurotp/engines/brian2/drive.py)."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("brian2", reason="pip install 'neurotp[brian2]'")

from neurotp.circuit import compile_circuit, make_drive  # noqa: E402
from neurotp.circuit.activations import ACTIVATION_CODES, activation  # noqa: E402
from neurotp.circuit.library import random_circuit  # noqa: E402
from neurotp.engines.brian2.drive import PHI, PHI_BY_CODE, step_tables  # noqa: E402

pytestmark = pytest.mark.brian2


def _comp_and_drive(train: bool):
    comp = compile_circuit(random_circuit(0, present=20.0, general=True))
    rng = np.random.default_rng(0)
    x = rng.random((3, comp.input_n))
    y = rng.integers(0, comp.label_n, 3)
    return comp, make_drive(comp, x, y, np.random.default_rng(1), train=train)


def test_gates_open_only_where_a_rule_applies():
    comp, drive = _comp_and_drive(train=True)
    tab = step_tables(comp, drive)
    spp = comp.steps_per_presentation
    k = np.arange(3 * spp) % spp
    want = comp.rules_active(k) & (k < comp.present_steps)[:, None]
    np.testing.assert_array_equal(tab["open"], want.astype(float))
    np.testing.assert_array_equal(tab["gate"], tab["open"] * comp.rules.eta)
    assert not tab["open"][k >= comp.present_steps].any()  # gaps
    assert tab["open"].any() and not tab["open"].all()  # windows that close
    np.testing.assert_array_equal(tab["stim"][k >= comp.present_steps], 0.0)
    np.testing.assert_array_equal(tab["labon"], (k < comp.present_steps).astype(float))


def test_learning_off_closes_every_gate_and_frees_the_labels():
    comp, drive = _comp_and_drive(train=False)
    tab = step_tables(comp, drive)
    assert not tab["open"].any() and not tab["gate"].any()
    assert not tab["labon"].any()


def test_noise_rows_must_match_the_steps():
    comp, drive = _comp_and_drive(train=True)
    bad = type(drive)(drive.stim, drive.labels, drive.clamp, drive.learn, drive.noise[:-1])
    with pytest.raises(ValueError, match=r"drive.noise: \d+ rows; expected"):
        step_tables(comp, bad)


def test_phi_expressions_are_the_activations():
    x = np.linspace(-3.0, 3.0, 13)
    env = {"Itot": x, "tanh": np.tanh, "int": lambda v: np.asarray(v, dtype=float)}
    for name, code in ACTIVATION_CODES.items():
        assert PHI_BY_CODE[code] == PHI[name]
        np.testing.assert_allclose(eval(PHI[name], env), activation(name)(x), atol=1e-15)


def test_frames_follow_each_other_and_the_label_arrives_after_its_delay():
    comp = compile_circuit(random_circuit(0, present=20.0, general=True, temporal=True))
    assert comp.frames == 2 and comp.label_steps > 0
    rng = np.random.default_rng(0)
    x = rng.random((3, comp.input_n))
    y = rng.integers(0, comp.label_n, 3)
    drive = make_drive(comp, x, y, np.random.default_rng(1), train=True)
    tab = step_tables(comp, drive)
    spp, ps = comp.steps_per_presentation, comp.present_steps
    for i in range(3):
        for k in range(spp):
            want = drive.frame(i, k, ps) if k < ps else np.zeros(comp.input_n)
            np.testing.assert_array_equal(tab["stim"][i * spp + k], want)
    k = np.arange(3 * spp) % spp
    on = (k >= comp.label_steps) & (k < ps)
    np.testing.assert_array_equal(tab["labon"], on.astype(float))
    # the two frames differ (input noise per frame), so the table is not one row repeated
    assert np.abs(tab["stim"][0] - tab["stim"][ps - 1]).max() > 0
    test = make_drive(comp, x, y, np.random.default_rng(1), train=False)
    assert not step_tables(comp, test)["labon"].any()


def test_a_drive_of_other_frames_is_refused():
    comp = compile_circuit(random_circuit(0, present=20.0, general=True, temporal=True))
    drive = make_drive(
        comp, np.zeros((2, comp.input_n)), None, np.random.default_rng(0), train=False
    )
    bad = type(drive)(
        drive.stim[::2], drive.labels, drive.clamp, drive.learn, drive.noise, frames=1
    )
    with pytest.raises(ValueError, match=r"drive.stim: 2 rows of 1 frames; expected"):
        step_tables(comp, bad)
