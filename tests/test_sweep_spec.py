"""neurotp/sweep/spec.py: seeds, ``--grid`` values and spec files parse, or fail naming what
is wrong; the repository's sweep spec."""

import pytest

pytest.importorskip("distributed", reason="pip install 'neurotp[sweep]'")
pytest.importorskip("pandas", reason="pip install 'neurotp[sweep]'")

from helpers import LR, NOISE, REPO  # noqa: E402
from helpers import SWEEP_CIRCUIT as CIRCUIT  # noqa: E402

from neurotp.sweep.spec import (  # noqa: E402
    SweepSpecError,
    build_spec,
    parse_grid_arg,
    parse_seeds,
    yaml_text,
)

pytestmark = pytest.mark.sweep


def test_seeds_grid_and_values_parse():
    assert parse_seeds("0-4") == [0, 1, 2, 3, 4]
    assert parse_seeds("0,3,7") == [0, 3, 7]
    assert parse_seeds([2, 2, 1]) == [2, 1]
    assert parse_seeds(5) == [5]
    for bad in ("4-0", "a", [1.5], [-1], True):
        with pytest.raises(SweepSpecError, match="seeds"):
            parse_seeds(bad)
    assert parse_grid_arg("rules.prediction_XH.lr=0.01,1e-3") == (LR, [0.01, 0.001])
    assert parse_grid_arg("rules.r.window=[30, 40],[20, 40]")[1] == [[30, 40], [20, 40]]
    with pytest.raises(SweepSpecError, match="--grid protocol.dt"):
        parse_grid_arg("protocol.dt=")
    import yaml

    for v in (0.1, 1e-05, 1e20, 3, "lif", [30, 40], True, 2.5e-7):
        assert yaml.safe_load(yaml_text(v)) == v


def test_spec_file_grid_points_and_errors(tmp_path):
    spec = tmp_path / "s.yaml"
    spec.write_text(
        f"circuit: {CIRCUIT}\nseeds: 0-1\nepochs: 2\nset: {{protocol.n_train: 60}}\n"
        f"grid: {{{NOISE}: [0.1, 0.2], {LR}: [0.01, 0.02]}}\n"
        f"points: [{{{NOISE}: 0.3}}, {{{NOISE}: 0.1, {LR}: 0.01}}]\n"
    )
    s = build_spec(spec, grid=["protocol.gap=0,5"], seeds="3")
    assert s.kind == "circuit" and s.seeds == [3] and s.options == {"epochs": 2}
    assert s.fixed == ["protocol.n_train=60"]
    assert s.params == [NOISE, LR, "protocol.gap"]
    assert len(s.points) == 2 * 2 * 2 + 2  # the grid, then the listed points
    assert s.points[0] == {NOISE: 0.1, LR: 0.01, "protocol.gap": 0}
    for text, match in (
        ("circuit: x.yaml\n", "is not a file"),
        (f"circuit: {CIRCUIT}\nsteps: 3\n", r"unknown key\(s\) \['steps'\]"),
        (f"circuit: {CIRCUIT}\ngrid: {{seed: [1, 2]}}\n", "seeds go in 'seeds'"),
        (f"circuit: {CIRCUIT}\nbackend: gpu\n", "backend: 'gpu'; allowed: reference"),
        (f"circuit: {CIRCUIT}\ntrain: {CIRCUIT}\n", "exactly one of"),
    ):
        spec.write_text(text)
        with pytest.raises(SweepSpecError, match=match):
            build_spec(spec)


def test_the_repository_spec_is_the_18_point_grid(monkeypatch):
    monkeypatch.chdir(REPO)
    s = build_spec("sweeps/digits_tp_grid.yaml")
    assert (len(s.points), s.seeds, s.params) == (6, [0, 1, 2], [NOISE, LR])
