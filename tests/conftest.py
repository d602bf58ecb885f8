"""Test configuration: doctests that need an optional package skip without it.

The torch-free leg of ``make test`` runs this suite in a venv with the base install
only; a doctest whose examples import torch, skorch, matplotlib or tqdm (or call code
that needs them) is skipped there with the reason, never failed.
"""

import importlib.util
import re

import pytest

OPTIONAL = ("torch", "skorch", "matplotlib", "tqdm", "pandas", "shap", "mlflow")
# doctests that need a package without importing it in their examples
NEEDS = {
    "sklearn_gradexplain._demo.run_demo": ("torch", "skorch", "matplotlib"),
    "sklearn_gradexplain._plot.": ("matplotlib",),
}


def _missing(names):
    return [name for name in names if importlib.util.find_spec(name) is None]


def pytest_collection_modifyitems(config, items):
    for item in items:
        if type(item).__name__ != "DoctestItem":
            continue
        source = "\n".join(example.source for example in item.dtest.examples)
        needed = {
            name
            for name in OPTIONAL
            if re.search(rf"^\s*(from|import) {name}\b", source, re.M)
            or re.search(rf"\bimport [^\n]*\b{name}\b", source)
        }
        for prefix, names in NEEDS.items():
            if item.dtest.name.startswith(prefix):
                needed.update(names)
        missing = _missing(sorted(needed))
        if missing:
            item.add_marker(
                pytest.mark.skip(reason=f"needs {', '.join(missing)} (not installed)")
            )
