"""Fuzzing ``explain`` and ``fit``: any input gives a clean error or finite results.

Inputs mix every shape from 1-D to 3-D, empty ones, wrong widths, and values that
break naive code: NaN, ±inf, huge (1e300), tiny (1e-300, subnormal 5e-324) and zero.
"""

import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays
from sklearn.datasets import make_classification
from sklearn.linear_model import LinearRegression, LogisticRegression

from sklearn_gradexplain import GradientExplainer
from sklearn_gradexplain.attributions import IntegratedGradients

N_FEATURES = 4
SPECIAL = [0.0, -0.0, 1.0, -1.0, 1e300, -1e300, 1e-300, -1e-300, 5e-324]
NON_FINITE = [np.nan, np.inf, -np.inf]

finite_values = st.one_of(
    st.sampled_from(SPECIAL),
    st.floats(min_value=-1e3, max_value=1e3, allow_nan=False, allow_infinity=False),
)
any_values = st.one_of(finite_values, st.sampled_from(NON_FINITE))

FUZZ = settings(
    max_examples=50,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


@pytest.fixture(scope="module")
def fitted():
    X, y = make_classification(
        n_samples=80, n_features=N_FEATURES, n_informative=2, random_state=0
    )
    return [
        GradientExplainer(LinearRegression(), method="finite_difference").fit(
            X, X @ [1, -2, 3, 0.5]
        ),
        GradientExplainer(LogisticRegression(), method="finite_difference").fit(X, y),
        GradientExplainer(
            LogisticRegression(), attribution=IntegratedGradients(n_steps=4)
        ).fit(X, y),
    ]


def _check(explainer, X):
    """A clean ValueError/TypeError on bad input, finite attributions otherwise."""
    valid = (
        X.ndim == 2
        and X.shape[0] > 0
        and X.shape[1] == explainer.n_features_in_
        and np.isfinite(X).all()
    )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. completeness at extreme points
            attributions = explainer.explain(X)
    except (ValueError, TypeError) as exc:
        assert not valid, f"valid input rejected: {exc}"
        assert str(exc)
        return
    assert valid
    assert attributions.shape == X.shape
    assert np.isfinite(attributions).all()


@FUZZ
@given(
    X=arrays(
        np.float64,
        array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=6),
        elements=any_values,
    )
)
def test_explain_any_array(fitted, X):
    for explainer in fitted:
        _check(explainer, X)


@FUZZ
@given(
    X=st.integers(1, 5).flatmap(
        lambda n: arrays(np.float64, (n, N_FEATURES), elements=finite_values)
    )
)
def test_explain_extreme_finite_values(fitted, X):
    """Valid input, extreme magnitudes: always finite attributions."""
    for explainer in fitted:
        _check(explainer, X)


@settings(max_examples=30, deadline=None, database=None, derandomize=True)
@given(
    X=st.integers(2, 12).flatmap(
        lambda n: arrays(np.float64, (n, 3), elements=any_values)
    )
)
def test_fit_any_values(X):
    """Fitting on extreme data: a clean error, or finite attributions and steps."""
    y = np.arange(len(X)) % 2
    explainer = GradientExplainer(LogisticRegression(), method="finite_difference")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # convergence, overflow inside the model
            explainer.fit(X, y)
    except (ValueError, TypeError) as exc:
        assert str(exc)
        return
    assert np.isfinite(X).all()
    assert np.isfinite(explainer.finite_difference_.scale_).all()
    assert np.isfinite(explainer.global_gradient_).all()
    assert np.isfinite(explainer.explain(X)).all()
