"""Helpers shared by the tests (importable by joblib and dask workers)."""

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.linear_model import LogisticRegression


class FailingClassifier(LogisticRegression):
    """Raises inside ``predict_proba`` on rows whose first feature is marked (>1e6)."""

    def predict_proba(self, X):
        X = np.asarray(X)
        if np.any(X[:, 0] > 1e6):
            raise ArithmeticError("model blew up")
        return super().predict_proba(X)


def assert_close(actual, reference, rtol, atol=1e-8):
    """DESIGN.md's comparison: ``rtol`` plus an ``atol`` relative to max|reference|."""
    reference = np.asarray(reference)
    assert_allclose(actual, reference, rtol=rtol, atol=atol * np.abs(reference).max())


def _installed(name):
    import importlib.util

    return importlib.util.find_spec(name) is not None


HAS_TORCH = _installed("torch")
#: marks a test (or a parameter) that needs torch: skipped in the torch-free leg
requires_torch = pytest.mark.skipif(not HAS_TORCH, reason="needs torch")
#: the autograd engine as a test parameter, skipped without torch
AUTOGRAD = pytest.param("autograd", marks=requires_torch)
