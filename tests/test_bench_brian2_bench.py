"""neurotp/bench/brian2_bench.py: a Brian2 target's trajectory agrees with Numba's before it is
timed, its timings are reported, and bad arguments are refused by name."""

import pytest

pytest.importorskip("brian2", reason="pip install 'neurotp[brian2]'")

from neurotp.bench.brian2_bench import bench_brian2  # noqa: E402
from neurotp.circuit.library import bench_circuit  # noqa: E402

pytestmark = pytest.mark.brian2


def test_numpy_target_agrees_with_numba_and_is_timed():
    circuit = bench_circuit(n=40)
    circuit.protocol.present = 20.0  # presentations of 20 ms: sim_ms=20 is one of them
    (row,) = bench_brian2(circuit, sim_ms=20, targets=("numpy",), repeats=1)
    assert "error" not in row, row.get("error")
    assert row["target"] == "numpy" and row["max_abs_difference"] <= 1e-12
    assert (row["steps"], row["sim_ms"]) == (20, 20.0)  # 20 steps of 1 ms
    assert row["synapses"] == row["plastic_synapses"] == 2 * 40 * 40
    assert row["loop_s"] > 0 and row["steps_per_s"] == pytest.approx(20 / row["loop_s"])
    assert row["synapse_updates_per_s"] == pytest.approx(20 * 3200 / row["loop_s"])


def test_bad_arguments_are_refused():
    for kwargs, match in (
        ({"repeats": 0}, "repeats: 0 must be >= 1"),
        ({"sim_ms": 0}, "sim_ms: 0 must be > 0"),
        ({"targets": ("gpu",)}, "targets: unknown Brian2 target 'gpu'; allowed: numpy"),
    ):
        with pytest.raises(ValueError, match=match):
            bench_brian2(bench_circuit(n=4), **kwargs)
