"""The circuit description never knows its engine: neurotp.circuit imports NumPy only."""

import ast
import pathlib
import subprocess
import sys

import neurotp.circuit

ALLOWED = {"numpy", "yaml", "neurotp"}


def test_circuit_sources_import_only_numpy_yaml_and_itself():
    root = pathlib.Path(neurotp.circuit.__file__).parent
    for path in root.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            for name in names:
                top = name.split(".")[0]
                if top == "neurotp":
                    assert name.startswith("neurotp.circuit"), f"{path.name} imports {name}"
                elif top not in ALLOWED and top not in sys.stdlib_module_names:
                    raise AssertionError(f"{path.name} imports {name}")


def test_importing_circuit_loads_no_engine():
    code = (
        "import sys, neurotp.circuit; "
        "bad = [m for m in ('numba', 'brian2', 'torch', 'neurotp.engines') if m in sys.modules]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
