"""The step loop (neurotp.engines.numba.loop) and the package's kernel interface: every
@njit kernel takes a few structured arguments, the loop runs a drive on tables alone."""

import importlib
import inspect
import pkgutil

import numpy as np
from helpers import one_second_drive

import neurotp.engines.numba as package
from neurotp.circuit import compile_circuit
from neurotp.circuit.library import random_circuit
from neurotp.engines.numba.blocks import block_buffers, block_plan
from neurotp.engines.numba.loop import run_drive
from neurotp.engines.numba.tables import (
    Outputs,
    drive_arrays,
    lowering,
    projection_table,
    rule_rows,
    rules_open,
    scratch,
    state_arrays,
    trace_table,
    unit_table,
)
from neurotp.engines.reference import ReferenceEngine

MAX_KERNEL_PARAMETERS = 12


def _kernels():
    for info in pkgutil.iter_modules(package.__path__):
        mod = importlib.import_module(f"{package.__name__}.{info.name}")
        for name, obj in vars(mod).items():
            if hasattr(obj, "py_func") and obj.py_func.__module__ == mod.__name__:
                yield f"{mod.__name__}.{name}", obj.py_func


def test_no_kernel_takes_more_than_twelve_parameters():
    kernels = dict(_kernels())
    assert len(kernels) >= 20 and "neurotp.engines.numba.loop.run_drive" in kernels
    too_many = {
        name: len(inspect.signature(f).parameters)
        for name, f in kernels.items()
        if len(inspect.signature(f).parameters) > MAX_KERNEL_PARAMETERS
    }
    assert not too_many


def test_no_drive_is_called_a_block():
    # "block" means a delay block only; a chunk of presentations is a drive
    assert not [name for name, _ in _kernels() if name.endswith("run_block")]


def test_run_drive_on_the_tables_equals_reference_and_reports_divergence():
    comp = compile_circuit(random_circuit(0, general=True))
    drive = one_second_drive(comp)
    ks, ktr = block_plan(comp)
    projs = projection_table(comp, ks, ktr)
    s = comp.initial_state()
    n_pres = drive.n_presentations
    out = Outputs(np.zeros((n_pres, comp.n_units)), 0, np.zeros(0, np.int64), np.zeros((0, 0)))

    def run(state, d):
        return run_drive(
            state_arrays(state),
            state.t,
            unit_table(comp),
            projs,
            trace_table(comp),
            rule_rows(comp, lowering(comp)),
            drive_arrays(comp, d, rules_open(comp)),
            block_buffers(projs, state.w.dtype),
            scratch(comp),
            out,
        )

    status, t, unit = run(s, drive)
    assert (status, unit) == (0, -1)
    assert t == n_pres * comp.steps_per_presentation
    s.t = int(t)
    ref = ReferenceEngine(comp)
    res = ref.run(drive)
    assert np.max(np.abs(ref.state.w - s.w)) <= 1e-9
    r0, r1 = comp.readout_win
    assert np.max(np.abs(res.means - out.means / (r1 - r0))) <= 1e-9
    s.r[comp.pop_slice("G")] = np.inf  # a rate that is not finite stops the drive there
    status, t2, unit = run(s, drive)
    assert status == 1 and t2 == t + 1 and comp.unit_pop[unit] == comp.pop_names.index("G")
