"""Circuit description (NumPy only; never imports an engine)."""

from neurotp.circuit.activations import ACTIVATIONS, activation
from neurotp.circuit.compiled import Compiled, State, compile_circuit
from neurotp.circuit.io import (
    CircuitFormatError,
    apply_overrides,
    circuit_from_dict,
    circuit_hash,
    circuit_to_yaml,
    load_circuit,
    save_circuit,
)
from neurotp.circuit.protocol import Drive, encode_labels, make_drive
from neurotp.circuit.rules import PRESETS, RULE_KINDS, RuleTable, rule_form
from neurotp.circuit.spec import (
    Circuit,
    Compartment,
    FormTerm,
    Population,
    Projection,
    Protocol,
    Rule,
    RuleForm,
    Spiking,
    TargetTerm,
    Trace,
    WeightInit,
)
from neurotp.circuit.validate import CircuitError, validate

__all__ = [
    "ACTIVATIONS",
    "PRESETS",
    "RULE_KINDS",
    "Circuit",
    "CircuitError",
    "CircuitFormatError",
    "Compiled",
    "Drive",
    "FormTerm",
    "Compartment",
    "Population",
    "Projection",
    "Protocol",
    "Rule",
    "RuleForm",
    "RuleTable",
    "Spiking",
    "State",
    "TargetTerm",
    "Trace",
    "WeightInit",
    "activation",
    "apply_overrides",
    "circuit_from_dict",
    "circuit_hash",
    "circuit_to_yaml",
    "compile_circuit",
    "encode_labels",
    "load_circuit",
    "make_drive",
    "rule_form",
    "save_circuit",
    "validate",
]
