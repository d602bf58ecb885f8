"""Scorers in GridSearchCV and cross_validate, on explainers, surrogates and Pipelines:
agreement_scorer, and make_explanation_scorer of the faithfulness metrics."""

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
    FiniteDifference,
    GradientExplainer,
    GradientSurrogateClassifier,
    GradientSurrogateRegressor,
    agreement_scorer,
    surrogate_agreement_score,
)
from sklearn_gradexplain.attributions import Gradient, SmoothGrad
from sklearn_gradexplain.metrics import (
    deletion_auc,
    faithfulness_correlation,
    infidelity,
    insertion_auc,
    make_explanation_scorer,
    sensitivity_max,
)


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


# ------------------------------------------------------------ explanation scorers

SIGNS = [
    (infidelity, -1),
    (sensitivity_max, -1),
    (deletion_auc, -1),
    (insertion_auc, 1),
    (faithfulness_correlation, 1),
]


@pytest.mark.parametrize("metric, sign", SIGNS, ids=[m.__name__ for m, _ in SIGNS])
def test_explanation_scorer_has_the_sign_of_greater_is_better(data, mlp, metric, sign):
    X, y = data
    explainer = GradientExplainer(
        FrozenEstimator(mlp), attribution="gradient_x_input"
    ).fit(X)
    kwargs = {} if metric in (deletion_auc, insertion_auc) else {"random_state": 0}
    scorer = make_explanation_scorer(metric.__name__, **kwargs)
    value = metric(explainer, X[:50], **kwargs)
    assert scorer(explainer, X[:50]) == pytest.approx(sign * value, rel=1e-12)
    assert scorer(explainer, X[:50], y[:50]) == pytest.approx(sign * value, rel=1e-12)
    assert repr(scorer).startswith(f"make_explanation_scorer('{metric.__name__}'")


def test_explanation_scorer_of_pipeline_ending_in_explainer(data):
    X, y = data
    pipeline = make_pipeline(StandardScaler(), GradientExplainer(LogisticRegression()))
    pipeline.fit(X, y)
    scorer = make_explanation_scorer("infidelity", n_perturbations=4, random_state=1)
    expected = infidelity(
        pipeline[-1],
        pipeline[:-1].transform(X),
        n_perturbations=4,
        random_state=1,
    )
    assert scorer(pipeline, X, y) == pytest.approx(-expected, rel=1e-12)


def test_explanation_scorer_in_cross_validate(data):
    X, y = data
    cv = KFold(3, shuffle=True, random_state=0)
    scoring = {
        "infidelity": make_explanation_scorer("infidelity", random_state=0),
        "faithfulness": make_explanation_scorer(
            "faithfulness_correlation", n_subsets=20, random_state=0
        ),
        "agreement": agreement_scorer,
    }
    results = cross_validate(
        GradientSurrogateClassifier(LogisticRegression()),
        X,
        y,
        cv=cv,
        scoring=scoring,
        return_estimator=True,
        return_indices=True,
    )
    for fitted, test, score_inf, score_faith in zip(
        results["estimator"],
        results["indices"]["test"],
        results["test_infidelity"],
        results["test_faithfulness"],
        strict=True,
    ):
        assert score_inf == pytest.approx(
            -infidelity(fitted, X[test], random_state=0), rel=1e-12
        )
        assert score_faith == pytest.approx(
            faithfulness_correlation(fitted, X[test], n_subsets=20, random_state=0),
            rel=1e-12,
        )


def test_grid_search_over_the_finite_difference_step(data, mlp):
    """method__step is searched like any setting; a huge step is a worse gradient."""
    X, y = data
    search = GridSearchCV(
        GradientExplainer(FrozenEstimator(mlp), method=FiniteDifference()),
        {"method__step": [1e-5, 3.0]},
        scoring=make_explanation_scorer("infidelity", random_state=0),
        cv=3,
    ).fit(X)
    scores = search.cv_results_["mean_test_score"]
    assert search.best_params_ == {"method__step": [1e-5, 3.0][int(np.argmax(scores))]}
    assert search.best_params_ == {"method__step": 1e-5}


def test_make_explanation_scorer_checks_its_arguments(data):
    X, y = data
    with pytest.raises(ValueError, match="metric must be one of"):
        make_explanation_scorer("accuracy")
    with pytest.raises(TypeError, match="takes no argument"):
        make_explanation_scorer("infidelity", radius=0.1)
    with pytest.raises(TypeError, match="per_sample is"):
        make_explanation_scorer("deletion_auc", per_sample=True)
    scorer = make_explanation_scorer("deletion_auc")
    with pytest.raises(TypeError, match="needs a fitted GradientExplainer"):
        scorer(LogisticRegression().fit(X, y), X)
