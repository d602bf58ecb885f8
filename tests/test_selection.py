"""GradientFeatureSelector: SelectFromModel's rules on gradient importances."""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_selection import SelectFromModel
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import Lasso, LogisticRegression, Ridge
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline

from sklearn_gradexplain import GradientFeatureSelector

SIGNAL = [1, 4, 7]


@pytest.fixture(scope="module")
def signal_data():
    """The label depends on three columns through a linear score plus noise."""
    rng = np.random.RandomState(0)
    X = rng.normal(size=(400, 10))
    score = X[:, SIGNAL] @ np.array([2.0, -1.5, 1.0]) + 0.5 * rng.normal(size=400)
    return X, (score > 0).astype(int), score


@pytest.mark.parametrize(
    "model",
    [
        LogisticRegression(),
        MLPClassifier(hidden_layer_sizes=(16,), max_iter=300, random_state=0),
    ],
    ids=["logistic", "mlp"],
)
def test_selects_signal_features(model, signal_data):
    X, y, _ = signal_data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        selector = GradientFeatureSelector(model).fit(X, y)
    assert_array_equal(selector.get_support(indices=True), SIGNAL)
    assert_array_equal(selector.transform(X), X[:, SIGNAL])
    assert selector.threshold_ == pytest.approx(np.mean(selector.feature_importances_))


def test_selects_signal_features_of_regressor(signal_data):
    X, _, score = signal_data
    selector = GradientFeatureSelector(Ridge()).fit(X, score)
    assert_array_equal(selector.get_support(indices=True), SIGNAL)
    # a linear model's gradient is its coefficients
    assert_allclose(selector.feature_importances_, np.abs(selector.estimator_.coef_))


@pytest.mark.parametrize(
    "threshold", [None, "mean", "median", "1.5*mean", "0.5*median", 0.02, -np.inf]
)
@pytest.mark.parametrize("max_features", [None, 2, lambda X: X.shape[1] // 2])
def test_threshold_and_max_features_as_select_from_model(
    threshold, max_features, signal_data
):
    X, y, _ = signal_data
    model = LogisticRegression().fit(X, y)
    selector = GradientFeatureSelector(
        FrozenEstimator(model), threshold=threshold, max_features=max_features
    ).fit(X, y)
    reference = SelectFromModel(
        model,
        threshold=threshold,
        max_features=max_features,
        prefit=True,
        importance_getter=lambda _: selector.feature_importances_,
    ).fit(X, y)
    assert_array_equal(selector.get_support(), reference.get_support())
    assert selector.threshold_ == pytest.approx(reference.threshold_)


def test_l1_model_default_threshold(signal_data):
    # As in SelectFromModel, an L1-penalized model's default threshold is 1e-5, so
    # the exact zeros of a Lasso are dropped and everything else is kept.
    X, _, score = signal_data
    selector = GradientFeatureSelector(Lasso(alpha=0.1)).fit(X, score)
    assert selector.threshold_ == 1e-5
    expected = np.flatnonzero(np.abs(selector.estimator_.coef_) >= 1e-5)
    assert_array_equal(selector.get_support(indices=True), expected)


def test_first_step_of_pipeline(signal_data):
    pd = pytest.importorskip("pandas")
    X, y, _ = signal_data
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    pipeline = Pipeline(
        [
            ("select", GradientFeatureSelector(LogisticRegression())),
            ("model", LogisticRegression()),
        ]
    )
    pipeline.set_output(transform="pandas").fit(frame, y)
    assert pipeline[-1].n_features_in_ == len(SIGNAL)
    assert_array_equal(pipeline[-1].feature_names_in_, [f"f{i}" for i in SIGNAL])
    assert_array_equal(pipeline[:-1].get_feature_names_out(), [f"f{i}" for i in SIGNAL])
    direct = LogisticRegression().fit(X[:, SIGNAL], y)
    assert_allclose(pipeline.predict_proba(frame), direct.predict_proba(X[:, SIGNAL]))


def test_features_restricts_the_competition(signal_data):
    X, y, _ = signal_data
    selector = GradientFeatureSelector(
        LogisticRegression(), features=[0, 1, 2, 3], max_features=1, threshold=-np.inf
    ).fit(X, y)
    assert selector.feature_importances_.shape == (4,)
    # column 1 wins among the explained ones; unexplained columns are kept
    assert_array_equal(selector.get_support(indices=True), [1, 4, 5, 6, 7, 8, 9])


def test_invalid_settings(signal_data):
    X, y, _ = signal_data
    with pytest.raises(ValueError, match="max_features"):
        GradientFeatureSelector(LogisticRegression(), max_features=lambda X: -1).fit(
            X, y
        )
    with pytest.raises(ValueError, match="threshold"):
        GradientFeatureSelector(LogisticRegression(), threshold="largest").fit(X, y)
