"""A rule's general form as Brian2 code (neurotp/engines/brian2/forms.py): the generated
statements, evaluated with NumPy, do the reference engine's arithmetic."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("brian2", reason="pip install 'neurotp[brian2]'")

from neurotp.engines.brian2.forms import (  # noqa: E402
    Factors,
    bounds_code,
    elementwise_code,
    fmt,
    oja_code,
)

pytestmark = pytest.mark.brian2


def _exec(code: str, env: dict) -> None:
    """Run Brian2 statements (plain arithmetic, clip) as Python on NumPy arrays."""
    for line in code.splitlines():
        exec(line, {"clip": np.clip, "inf": np.inf}, env)


def test_fmt_round_trips_and_parenthesises_negatives():
    assert fmt(0.1) == "0.1" and float(fmt(1 / 3)) == 1 / 3
    assert fmt(-0.5) == "(-0.5)"


def _case(same_pre: bool, rng):
    n_post, n_pre = 3, 4
    env = {
        "A0": rng.random(n_post),
        "A1": rng.random(n_post),
        "B": rng.random(n_post),
        "a_pre": rng.random(n_pre)[None, :],
        "b_pre": rng.random(n_pre)[None, :],
        "w": rng.normal(size=(n_post, n_pre)) * 3.0,
    }
    f = Factors(
        ((0.7, "A0"), (-0.3, "A1")), "a_pre", 1.2, "B", "a_pre" if same_pre else "b_pre", same_pre
    )
    return env, f


@pytest.mark.parametrize("same_pre", [False, True])
def test_the_code_does_the_reference_arithmetic(same_pre):
    env, f = _case(same_pre, np.random.default_rng(0))
    rc = elementwise_code(4, f, "g", "o", -1.0, 1.0, bias=True)
    assert rc.variables == ("cp_4", "cm_4", "db_4") and rc.bias == "db_4"
    eta = 0.01
    plus = 0.7 * env["A0"] + (-0.3) * env["A1"]
    minus = 1.2 * env["B"]
    a, b = env["a_pre"][0], (env["a_pre"] if same_pre else env["b_pre"])[0]
    w0 = env["w"].copy()
    _exec(rc.coef, env)
    np.testing.assert_array_equal(env["db_4"], plus - minus)
    env.update(cp_4_post=env["cp_4"][:, None], cm_4_post=env["cm_4"][:, None], g=eta, o=1.0)
    _exec(rc.weights, env)
    expected = np.clip(w0 + eta * (np.outer(plus, a) - np.outer(minus, b)), -1.0, 1.0)
    np.testing.assert_allclose(env["w"], expected, atol=1e-15, rtol=0)
    assert ("(cp_4_post - cm_4_post)*a_pre" in rc.weights) == same_pre


def test_bounds_apply_only_where_the_rule_does():
    env, f = _case(False, np.random.default_rng(1))
    rc = elementwise_code(0, f, "g", "o", -0.5, 0.5, bias=False)
    assert rc.bias is None and rc.variables == ("cp_0", "cm_0")
    w0 = env["w"].copy()
    _exec(rc.coef, env)
    env.update(cp_0_post=env["cp_0"][:, None], cm_0_post=env["cm_0"][:, None], g=0.0, o=0.0)
    _exec(rc.weights, env)
    np.testing.assert_array_equal(env["w"], w0)  # outside [-0.5, 0.5], left there
    assert np.abs(w0).max() > 0.5
    assert bounds_code(-np.inf, np.inf, "o") == ""
    assert "clip(w, -inf, 2.0)" in bounds_code(-np.inf, 2.0, "o")


def test_oja_code_reads_the_summed_back_projection():
    rng = np.random.default_rng(2)
    y, x, back = rng.random((3, 1)), rng.random((1, 4)), rng.random((1, 4))
    env = {"w": np.zeros((3, 4)), "y": y, "x": x, "back_2_pre": back, "g": 0.1, "o": 1.0}
    _exec(oja_code(2, "g", "o", "y", "x", -np.inf, np.inf), env)
    np.testing.assert_allclose(env["w"], 0.1 * y * (x - back), atol=1e-15)
