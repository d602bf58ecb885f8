"""gradient_importance: a Bunch like permutation_importance, from input gradients."""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import make_classification
from sklearn.exceptions import NotFittedError
from sklearn.frozen import FrozenEstimator
from sklearn.inspection import permutation_importance
from sklearn.linear_model import LinearRegression, LogisticRegression

from sklearn_gradexplain import gradient_importance


@pytest.fixture(scope="module")
def linear_data():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(200, 4))
    coef = np.array([3.0, -2.0, 0.5, 0.0])
    y = X @ coef + 1.0 + 0.1 * rng.normal(size=200)
    return X, y


def test_linear_regression(linear_data):
    X, y = linear_data
    model = LinearRegression().fit(X, y)
    result = gradient_importance(model, X)
    # permutation_importance's layout: (n_features, n_samples), absolute values
    assert result.importances.shape == X.shape[::-1]
    coef = np.tile(model.coef_, (len(X), 1))
    assert_allclose(result.attributions, coef, rtol=1e-7)
    assert_allclose(result.importances, np.abs(coef).T, rtol=1e-7)
    assert_allclose(result.importances_mean, np.abs(model.coef_), rtol=1e-7)
    assert_allclose(result.importances_std, 0.0, atol=1e-7 * np.abs(model.coef_).max())
    assert_allclose(result.global_gradient, model.coef_, rtol=1e-7)


def test_keys_mirror_permutation_importance(linear_data):
    X, y = linear_data
    model = LinearRegression().fit(X, y)
    result = gradient_importance(model, X)
    reference = permutation_importance(model, X, y, n_repeats=3, random_state=0)
    assert set(reference) <= set(result)
    for key in reference:
        assert result[key].shape[-1] == reference[key].shape[0] or key == "importances"
    # on standardized linear data both rank the features by |coef|
    assert_array_equal(
        np.argsort(-result.importances_mean)[:3],
        np.argsort(-reference.importances_mean)[:3],
    )


def test_multiclass_jacobian():
    X, y = make_classification(
        n_samples=150, n_features=5, n_informative=3, n_classes=3, random_state=0
    )
    model = LogisticRegression().fit(X, y)
    result = gradient_importance(model, X)
    # ∂p_k/∂x = p_k (w_k − Σ_j p_j w_j)
    proba = model.predict_proba(X)
    expected = proba[:, :, None] * (model.coef_[None] - (proba @ model.coef_)[:, None])
    assert result.attributions.shape == (150, 3, 5)
    assert_allclose(result.attributions, expected, rtol=1e-6, atol=1e-10)
    # importances: |attribution| averaged over the outputs, (n_features, n_samples)
    magnitudes = np.abs(expected).mean(axis=1)
    assert result.importances.shape == (5, 150)
    assert_allclose(result.importances, magnitudes.T, rtol=1e-6, atol=1e-12)
    assert_allclose(result.importances_mean, magnitudes.mean(axis=0), rtol=1e-6)
    assert_allclose(result.importances_std, magnitudes.std(axis=0), rtol=1e-5)
    assert_allclose(
        result.global_gradient, expected.mean(axis=0), rtol=1e-6, atol=1e-10
    )


def test_shared_parameters_pass_through(linear_data):
    X, y = linear_data
    model = LinearRegression().fit(X, y)
    result = gradient_importance(model, X, attribution="gradient_x_input")
    assert_allclose(result.attributions, X * model.coef_, rtol=1e-7, atol=1e-12)
    subset = gradient_importance(model, X, features=[0, 2], method="finite_difference")
    assert_allclose(subset.importances_mean, np.abs(model.coef_[[0, 2]]), rtol=1e-6)
    with pytest.raises(TypeError, match="unexpected"):
        gradient_importance(model, X, n_repeats=5)


def test_never_refits(linear_data):
    X, y = linear_data
    model = LinearRegression().fit(X, y)
    coef = model.coef_.copy()
    gradient_importance(model, X[:20] * 10)
    assert_array_equal(model.coef_, coef)
    frozen = gradient_importance(FrozenEstimator(model), X)
    assert_allclose(frozen.importances_mean, np.abs(coef), rtol=1e-7)
    with pytest.raises(NotFittedError):
        gradient_importance(LinearRegression(), X)
