"""agreement_scorer in GridSearchCV and cross_validate, on surrogates and Pipelines."""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.datasets import make_classification, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import accuracy_score, r2_score
from sklearn.model_selection import (
    GridSearchCV,
    KFold,
    cross_val_score,
    cross_validate,
)
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_gradexplain import (
    GradientSurrogateClassifier,
    GradientSurrogateRegressor,
    agreement_scorer,
    surrogate_agreement_score,
)
from sklearn_gradexplain.attributions import Gradient, SmoothGrad


@pytest.fixture(scope="module")
def data():
    X, y = make_classification(
        n_samples=240, n_features=5, n_informative=3, n_redundant=0, random_state=0
    )
    return X * [1.0, 10.0, 0.1, 5.0, 1.0] + 3.0, y


@pytest.fixture(scope="module")
def mlp(data):
    X, y = data
    model = MLPClassifier(hidden_layer_sizes=(8,), max_iter=500, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return make_pipeline(StandardScaler(), model).fit(X, y)


def test_score_is_agreement_and_ignores_y(data, mlp):
    X, y = data
    surrogate = GradientSurrogateClassifier(FrozenEstimator(mlp)).fit(X)
    expected = np.mean(surrogate.predict(X) == mlp.predict(X))
    assert surrogate_agreement_score(surrogate, X) == pytest.approx(expected)
    assert agreement_scorer(surrogate, X, 1 - y) == pytest.approx(expected)
    assert agreement_scorer(surrogate, X, None) == pytest.approx(expected)


def test_score_of_pipeline_ending_in_surrogate(data):
    X, y = data
    pipeline = make_pipeline(
        StandardScaler(), GradientSurrogateClassifier(LogisticRegression())
    ).fit(X, y)
    Xt = pipeline[0].transform(X)
    surrogate = pipeline[-1]
    expected = np.mean(surrogate.predict(Xt) == surrogate.estimator_.predict(Xt))
    assert agreement_scorer(pipeline, X, y) == pytest.approx(expected)


def test_regressor_score_is_r2():
    X, y = make_regression(n_samples=100, n_features=3, random_state=0)
    surrogate = GradientSurrogateRegressor(Ridge()).fit(X, y)
    X_new = X[:40] ** 2
    expected = r2_score(surrogate.estimator_.predict(X_new), surrogate.predict(X_new))
    assert agreement_scorer(surrogate, X_new, None) == pytest.approx(expected)
    scores = cross_val_score(
        GradientSurrogateRegressor(Ridge()), X, y, cv=3, scoring=agreement_scorer
    )
    assert_allclose(scores, 1.0, atol=1e-9)


def test_rejects_other_estimators(data):
    X, y = data
    with pytest.raises(TypeError, match="surrogate"):
        agreement_scorer(LogisticRegression().fit(X, y), X, y)


def test_grid_search_over_explainer_settings(data, mlp):
    X, y = data
    cv = KFold(3, shuffle=True, random_state=0)
    grid = {
        "attribution": [Gradient(), SmoothGrad(n_samples=5, random_state=0)],
        "intercept": ["zero", "first_order", "agreement"],
    }
    search = GridSearchCV(
        GradientSurrogateClassifier(FrozenEstimator(mlp)),
        grid,
        scoring={"agreement": agreement_scorer, "accuracy": "accuracy"},
        refit="agreement",
        cv=cv,
    ).fit(X, y)
    results = search.cv_results_
    agreement = results["mean_test_agreement"]
    assert search.best_index_ == np.argmax(agreement)
    assert search.best_score_ == pytest.approx(agreement.max())
    assert search.best_estimator_.estimator_.estimator is mlp  # frozen: not refitted
    assert "mean_test_accuracy" in results

    # one split recomputed by hand for every candidate
    train, test = next(cv.split(X))
    for params, split_agreement, split_accuracy in zip(
        results["params"],
        results["split0_test_agreement"],
        results["split0_test_accuracy"],
        strict=True,
    ):
        surrogate = GradientSurrogateClassifier(FrozenEstimator(mlp), **params).fit(
            X[train], y[train]
        )
        predictions = surrogate.predict(X[test])
        assert split_agreement == pytest.approx(
            np.mean(predictions == mlp.predict(X[test]))
        )
        assert split_accuracy == pytest.approx(accuracy_score(y[test], predictions))


def test_cross_validate_pipeline_ending_in_surrogate(data):
    X, y = data
    pipeline = make_pipeline(
        StandardScaler(), GradientSurrogateClassifier(LogisticRegression())
    )
    results = cross_validate(
        pipeline,
        X,
        y,
        cv=4,
        scoring={"agreement": agreement_scorer, "accuracy": "accuracy"},
        return_estimator=True,
        return_indices=True,
    )
    for fitted, test, score in zip(
        results["estimator"],
        results["indices"]["test"],
        results["test_agreement"],
        strict=True,
    ):
        Xt = fitted[0].transform(X[test])
        model = fitted[-1].estimator_
        assert score == pytest.approx(
            np.mean(fitted[-1].predict(Xt) == model.predict(Xt))
        )
    # a logistic regression is linear: its surrogate agrees almost everywhere
    assert results["test_agreement"].min() >= 0.95
    assert_allclose(
        results["test_accuracy"],
        [
            accuracy_score(y[test], fitted.predict(X[test]))
            for fitted, test in zip(
                results["estimator"], results["indices"]["test"], strict=True
            )
        ],
    )


def test_scorer_alone_in_grid_search(data):
    X, y = data
    search = GridSearchCV(
        make_pipeline(
            StandardScaler(), GradientSurrogateClassifier(LogisticRegression())
        ),
        {"gradientsurrogateclassifier__intercept": ["zero", "agreement"]},
        scoring=agreement_scorer,
        cv=3,
    ).fit(X, y)
    assert search.best_score_ == pytest.approx(
        search.cv_results_["mean_test_score"].max()
    )
    assert repr(agreement_scorer) == "agreement_scorer"
