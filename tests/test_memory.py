"""Memory estimate before anything is allocated (neurotp.circuit.memory)."""

import numpy as np
import pytest

from neurotp.circuit import CircuitError, compile_circuit
from neurotp.circuit.library import bench_circuit, random_circuit
from neurotp.circuit.memory import (
    CircuitMemoryError,
    available_bytes,
    check_memory,
    estimate_bytes,
    format_bytes,
)


def test_huge_circuit_refused_with_estimate_and_available(monkeypatch):
    monkeypatch.setattr("neurotp.circuit.memory.available_bytes", lambda: 64 * 2**30)
    c = bench_circuit(n=4 * 10**7 // 3)  # 4 x 10^7 units, two all-to-all projections
    with pytest.raises(CircuitMemoryError) as err:
        compile_circuit(c)  # refused before any array is allocated
    msg = str(err.value)
    assert "circuit 'bench': 39999999 units need about" in msg
    assert "PiB of memory (float32 state; weights" in msg
    assert "only 64.0 GiB is available" in msg
    assert isinstance(err.value, CircuitError) and isinstance(err.value, MemoryError)


def test_estimate_matches_the_arrays_of_a_compiled_circuit():
    c = random_circuit(0)
    comp = compile_circuit(c)
    for dtype in (np.float64, np.float32):
        s = comp.initial_state(dtype)
        parts = estimate_bytes(c, dtype)
        assert parts["weights"] == s.w.nbytes
        assert parts[f"ring buffer ({comp.hist_len} x {comp.n_units})"] == s.hist.nbytes
        assert parts["rates"] == s.r.nbytes and parts["biases"] == s.b.nbytes
        assert parts["traces"] == s.tr.nbytes
        tables = comp.unit_act, comp.unit_pop, comp.unit_alpha, comp.unit_sigma
        assert parts["unit tables"] == sum(a.nbytes for a in tables)
        assert (
            parts["noise of one presentation"]
            == comp.steps_per_presentation * len(comp.noise_idx) * 8
        )


def test_check_memory_against_what_is_available():
    c = random_circuit(0)
    need = check_memory(c, available=10**12)
    assert need == sum(estimate_bytes(c, np.float32).values())
    with pytest.raises(CircuitMemoryError, match=r"only 1000 B is available"):
        check_memory(c, available=1000)
    assert check_memory(c, np.float64, available=10**12) > need


def test_long_delays_and_presentations_count(monkeypatch):
    monkeypatch.setattr("neurotp.circuit.memory.available_bytes", lambda: 2**30)
    c = bench_circuit(n=10)
    c.projections[1].delay = 1e9  # a ring buffer of 10^9 rows
    with pytest.raises(CircuitMemoryError, match=r"ring buffer \(1000000001 x 30\)"):
        compile_circuit(c)
    c = bench_circuit(n=10)
    c.protocol.present = 1e10  # one presentation's noise
    with pytest.raises(CircuitMemoryError, match="noise of one presentation"):
        compile_circuit(c)


def test_available_bytes_reads_meminfo(tmp_path, monkeypatch):
    f = tmp_path / "meminfo"
    f.write_text("MemTotal:       16000000 kB\nMemAvailable:    1234 kB\n")
    monkeypatch.setattr("neurotp.circuit.memory.MEMINFO", f)
    assert available_bytes() == 1234 * 1024
    monkeypatch.setattr("neurotp.circuit.memory.MEMINFO", tmp_path / "absent")
    assert available_bytes() is None or available_bytes() > 0  # sysconf fallback


def test_unknown_available_memory_means_no_check(monkeypatch):
    monkeypatch.setattr("neurotp.circuit.memory.available_bytes", lambda: None)
    assert check_memory(bench_circuit(n=4 * 10**7)) > 2**50


def test_format_bytes():
    assert format_bytes(512) == "512 B"
    assert format_bytes(1536) == "1.5 KiB"
    assert format_bytes(3 * 2**30) == "3.0 GiB"
    assert format_bytes(2 * 2**50) == "2.0 PiB"
    assert format_bytes(2**70) == "1024.0 EiB"
