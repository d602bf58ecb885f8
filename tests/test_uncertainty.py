"""The uncertainty of global explanations: summary(), weights, batches, routing.

References are independent: a linear model's coefficients, numpy's std/√n of the
per-sample attributions, the closed-form mean gradient of a known function
(E[cos x] = exp(-1/2) for x ~ N(0, 1)), rows repeated by their integer weights, and
scikit-learn's own weighted fits.
"""

import warnings

import numpy as np
import pytest
import sklearn
from _helpers import AUTOGRAD, assert_close, requires_torch
from numpy.testing import assert_allclose
from scipy.stats import norm
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.exceptions import ConvergenceWarning, UnsetMetadataPassedError
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge
from sklearn.model_selection import cross_validate
from sklearn.neural_network import MLPClassifier

from sklearn_gradexplain import (
    GradientExplainer,
    GradientSurrogateClassifier,
    GradientSurrogateRegressor,
)
from sklearn_gradexplain.attributions import IntegratedGradients, SmoothGrad

pd = pytest.importorskip("pandas")  # summary() is a DataFrame

NUMERIC = ["mean", "stderr", "ci_low", "ci_high", "p_value", "importance"]


class SinPlusSquare(RegressorMixin, BaseEstimator):
    """A fixed black box f(x) = sin(x1) + x2²: E[∇f] = (exp(-1/2), 0) on N(0, I)."""

    def fit(self, X, y=None):
        self.n_features_in_ = np.asarray(X).shape[1]
        return self

    def predict(self, X):
        X = np.asarray(X, dtype=np.float64)
        return np.sin(X[:, 0]) + X[:, 1] ** 2


@pytest.fixture(scope="module")
def mlp_data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(150, 4)) * [1.0, 2.0, 0.5, 1.0]
    y = np.argmax(X[:, :3] * [1.0, 0.5, 2.0] + 0.5 * rng.normal(size=(150, 3)), axis=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = MLPClassifier(
            hidden_layer_sizes=(10,), activation="tanh", max_iter=300, random_state=0
        ).fit(X, y)
    return X, y, model


# ------------------------------------------------------------------ summary()
@pytest.mark.parametrize("method", [AUTOGRAD, "finite_difference"])
def test_summary_of_linear_regression_is_its_coefficients(method):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3)) * [1.0, 5.0, 0.2]
    y = X @ [1.5, -0.3, 4.0] + 2.0 + rng.normal(size=200)  # noisy targets
    explainer = GradientExplainer(LinearRegression(), method=method).fit(X, y)
    table = explainer.summary()
    coef = explainer.estimator_.coef_
    assert list(table.columns) == [
        "output",
        "feature",
        "mean",
        "stderr",
        "ci_low",
        "ci_high",
        "p_value",
        "importance",
        "scaled_importance",
    ]
    assert list(table["feature"]) == ["x0", "x1", "x2"]
    rtol = 1e-12 if method == "autograd" else 1e-7
    assert_close(table["mean"], coef, rtol=rtol)
    # the gradient is constant: no spread over the rows
    assert np.all(table["stderr"] <= 1e-8 * np.abs(coef).max())
    assert_close(table["ci_low"], coef, rtol=1e-7)
    assert_close(table["ci_high"], coef, rtol=1e-7)
    assert np.all(table["p_value"] < 1e-12)
    assert_close(table["importance"], np.abs(coef), rtol=rtol)
    assert_close(table["scaled_importance"], np.abs(coef) * X.std(axis=0), rtol=rtol)
    assert_close(explainer.global_gradient_stderr_, table["stderr"], rtol=1e-12)


@pytest.mark.parametrize("confidence_level", [0.95, 0.8])
def test_summary_of_mlp_is_std_over_sqrt_n(mlp_data, confidence_level):
    X, y, model = mlp_data
    explainer = GradientExplainer(FrozenEstimator(model)).fit(X)
    A = explainer.explain(X)  # (n, 3 classes, 4 features)
    n = len(X)
    mean = A.mean(axis=0)
    stderr = A.std(axis=0, ddof=1) / np.sqrt(n)
    z = norm.ppf(0.5 + confidence_level / 2)
    table = explainer.summary(confidence_level=confidence_level)
    assert len(table) == 12
    assert list(table["output"]) == list(np.repeat(model.classes_, 4))
    assert list(table["feature"]) == [f"x{j}" for j in range(4)] * 3
    assert_close(table["mean"], mean.ravel(), rtol=1e-10)
    assert_close(table["stderr"], stderr.ravel(), rtol=1e-10)
    assert_close(table["ci_low"], (mean - z * stderr).ravel(), rtol=1e-10)
    assert_close(table["ci_high"], (mean + z * stderr).ravel(), rtol=1e-10)
    p = 2 * norm.sf(np.abs(mean) / stderr)
    assert_close(table["p_value"], p.ravel(), rtol=1e-8)
    importance = np.abs(A).mean(axis=0)
    assert_close(table["importance"], importance.ravel(), rtol=1e-10)
    scaled = importance * X.std(axis=0)
    assert_close(table["scaled_importance"], scaled.ravel(), rtol=1e-10)
    assert_close(explainer.global_gradient_stderr_, stderr, rtol=1e-10)
    assert_close(explainer.feature_std_, X.std(axis=0), rtol=1e-12)


def test_summary_checks_confidence_level(mlp_data):
    X, y, model = mlp_data
    explainer = GradientExplainer(FrozenEstimator(model)).fit(X)
    for level in (0, 1, 1.5, -0.1):
        with pytest.raises(ValueError, match="confidence_level must be in"):
            explainer.summary(confidence_level=level)


def test_summary_of_one_row_has_no_standard_error(mlp_data):
    """One row has no spread to estimate: NaN (with a warning), never a false 0."""
    X, y, model = mlp_data
    explainer = GradientExplainer(FrozenEstimator(model)).fit(X[:1])
    with pytest.warns(UserWarning, match="single row"):
        table = explainer.summary()
    assert table[["stderr", "ci_low", "ci_high", "p_value"]].isna().all().all()
    assert_close(table["mean"], explainer.explain(X[:1]).ravel(), rtol=1e-12)
    explainer = GradientExplainer(FrozenEstimator(model)).fit(X[:2])
    assert not explainer.summary().isna().any().any()


def test_intervals_cover_the_true_mean_gradient():
    """95% intervals cover E[∇f] = (exp(-1/2), 0) in >= 90% of 200 draws."""
    truth = np.array([np.exp(-0.5), 0.0])
    rng = np.random.default_rng(12345)
    model = FrozenEstimator(SinPlusSquare().fit(np.zeros((1, 2))))
    covered = np.zeros(2)
    n_draws = 200
    for _ in range(n_draws):
        X = rng.standard_normal(size=(100, 2))
        explainer = GradientExplainer(model, method="finite_difference").fit(X)
        table = explainer.summary(confidence_level=0.95)
        covered += (table["ci_low"] <= truth) & (truth <= table["ci_high"])
    coverage = covered / n_draws
    print("coverage of the 95% intervals:", np.asarray(coverage))
    assert np.all(coverage >= 0.90)


# ------------------------------------------------------------------ partial_fit
def _statistics(explainer):
    """Every global statistic of a fitted explainer (summary() where it has one)."""
    found = {
        "global_gradient_": explainer.global_gradient_,
        "global_gradient_stderr_": explainer.global_gradient_stderr_,
        "feature_importances_": explainer.feature_importances_,
        "feature_std_": explainer.feature_std_,
    }
    if hasattr(explainer, "summary"):
        table = explainer.summary()
        found.update({column: table[column].to_numpy() for column in NUMERIC})
        found["scaled_importance"] = table["scaled_importance"].to_numpy()
    return found


def _assert_same_statistics(actual, reference, rtol):
    """Equal to ``rtol``; values at the rounding level of the gradients (a linear
    model's zero spread) compare on the scale of the largest gradient."""
    actual, reference = _statistics(actual), _statistics(reference)
    assert actual.keys() == reference.keys()
    gradient_scale = np.abs(reference["global_gradient_"]).max()
    for name, value in reference.items():
        if name in ("feature_std_", "scaled_importance"):
            atol = rtol * np.abs(value).max()
        elif name == "p_value":
            atol = 1e-9
        else:
            atol = rtol * gradient_scale
        assert_allclose(actual[name], value, rtol=rtol, atol=atol, err_msg=name)


@requires_torch
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize(
    "attribution",
    ["gradient", "gradient_x_input", IntegratedGradients(n_steps=8)],
)
def test_partial_fit_over_batches_equals_one_fit(mlp_data, attribution, weighted):
    X, y, model = mlp_data
    rng = np.random.default_rng(1)
    X = np.concatenate([X, X + 0.1])  # 300 rows
    weights = rng.integers(0, 4, size=len(X)).astype(float) if weighted else None
    cuts = np.sort(rng.choice(np.arange(1, len(X)), size=9, replace=False))
    batches = np.split(np.arange(len(X)), cuts)
    assert len(batches) == 10
    frozen = FrozenEstimator(model)
    once = GradientExplainer(frozen, attribution=attribution, method="autograd")
    once.fit(X, sample_weight=weights)
    folded = GradientExplainer(frozen, attribution=attribution, method="autograd")
    for rows in batches:
        folded.partial_fit(
            X[rows], sample_weight=None if weights is None else weights[rows]
        )
    _assert_same_statistics(folded, once, rtol=1e-10)


def test_partial_fit_needs_a_frozen_estimator(mlp_data):
    X, y, model = mlp_data
    assert not hasattr(GradientExplainer(LogisticRegression()), "partial_fit")
    explainer = GradientExplainer(FrozenEstimator(model))
    explainer.partial_fit(X[:10]).partial_fit(X[10:20])
    with pytest.raises(ValueError, match="features"):
        explainer.partial_fit(X[:5, :3])


# --------------------------------------------------- weights are frequencies
@pytest.fixture(scope="module")
def weighted_data():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(80, 3)) * [1.0, 3.0, 0.5] + [0.0, 1.0, -1.0]
    weights = rng.integers(1, 4, size=80)
    weights[:10] = 0  # weight 0: as if the row were not there
    return X, weights, np.repeat(X, weights, axis=0)


@pytest.mark.parametrize(
    "method, attribution",
    [
        ("auto", "gradient"),
        ("finite_difference", "gradient"),  # the step's scale is a weighted std
        ("auto", IntegratedGradients(baseline="mean", n_steps=6)),
        ("auto", IntegratedGradients(baseline="median", n_steps=6)),
    ],
)
def test_weighted_fit_equals_repeated_rows(weighted_data, method, attribution):
    X, weights, repeated = weighted_data
    y = (X @ [1.0, -0.5, 2.0] > 0).astype(int)
    model = FrozenEstimator(LogisticRegression().fit(X, y))
    weighted = GradientExplainer(model, method=method, attribution=attribution)
    weighted.fit(X, sample_weight=weights)
    plain = GradientExplainer(model, method=method, attribution=attribution)
    plain.fit(repeated)
    _assert_same_statistics(weighted, plain, rtol=1e-9)


def test_weighted_smoothgrad_equals_repeated_rows(weighted_data):
    """SmoothGrad's noise scales with each feature's range: positive weights only
    (a zero-weight row would still widen the range; see the report)."""
    X, weights, _ = weighted_data
    weights = np.maximum(weights, 1)
    repeated = np.repeat(X, weights, axis=0)
    y = (X @ [1.0, -0.5, 2.0] > 0).astype(int)
    model = FrozenEstimator(LogisticRegression().fit(X, y))
    smooth = SmoothGrad(n_samples=5, random_state=0)
    weighted = GradientExplainer(model, attribution=smooth).fit(
        X, sample_weight=weights
    )
    plain = GradientExplainer(model, attribution=smooth).fit(repeated)
    _assert_same_statistics(weighted, plain, rtol=1e-9)


def test_weighted_fit_of_the_estimator_equals_repeated_rows(weighted_data):
    X, weights, repeated = weighted_data
    rng = np.random.default_rng(3)
    y = X @ [1.0, -0.5, 2.0] + rng.normal(size=len(X))
    y_repeated = np.repeat(y, weights)
    weighted = GradientExplainer(Ridge(alpha=0.5)).fit(X, y, sample_weight=weights)
    plain = GradientExplainer(Ridge(alpha=0.5)).fit(repeated, y_repeated)
    assert_close(weighted.estimator_.coef_, plain.estimator_.coef_, rtol=1e-9)
    assert_close(
        weighted.estimator_.coef_,
        Ridge(alpha=0.5).fit(X, y, sample_weight=weights).coef_,
        rtol=1e-12,
    )
    _assert_same_statistics(weighted, plain, rtol=1e-9)


@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("intercept", ["agreement", "first_order"])
def test_weighted_surrogate_classifier_equals_repeated_rows(
    weighted_data, mlp_data, n_classes, intercept
):
    X, weights, repeated = weighted_data
    rng = np.random.default_rng(4)
    y = np.argmax(X[:, :n_classes] + rng.normal(size=(len(X), n_classes)), axis=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = MLPClassifier(
            hidden_layer_sizes=(6,), activation="tanh", max_iter=200, random_state=0
        ).fit(X, y)
    frozen = FrozenEstimator(model)
    if intercept == "agreement":
        # Zero-weight rows still add cut positions inside the tie of best cuts,
        # which moves the chosen intercept (not the agreement): positive weights
        # here; see the report.
        weights = np.maximum(weights, 1)
        repeated = np.repeat(X, weights, axis=0)
    weighted = GradientSurrogateClassifier(frozen, intercept=intercept)
    weighted.fit(X, sample_weight=weights)
    plain = GradientSurrogateClassifier(frozen, intercept=intercept).fit(repeated)
    for name in ("coef_", "intercept_", "agreement_", "agreement_stderr_"):
        assert_close(getattr(weighted, name), getattr(plain, name), rtol=1e-9)
    _assert_same_statistics(weighted, plain, rtol=1e-9)


def test_weighted_surrogate_regressor_equals_repeated_rows(weighted_data):
    X, weights, repeated = weighted_data
    y = np.sin(X[:, 0]) + X[:, 1] * X[:, 2]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        from sklearn.neural_network import MLPRegressor

        model = MLPRegressor(
            hidden_layer_sizes=(6,), activation="tanh", max_iter=200, random_state=0
        ).fit(X, y)
    frozen = FrozenEstimator(model)
    weighted = GradientSurrogateRegressor(frozen).fit(X, sample_weight=weights)
    plain = GradientSurrogateRegressor(frozen).fit(repeated)
    for name in ("coef_", "intercept_", "agreement_"):
        assert_close(getattr(weighted, name), getattr(plain, name), rtol=1e-9)


# ------------------------------------------------------------ agreement_stderr_
@pytest.mark.parametrize("weighted", [False, True])
def test_agreement_stderr_is_the_binomial_standard_error(mlp_data, weighted):
    X, y, model = mlp_data
    weights = np.random.default_rng(5).integers(1, 5, size=len(X)) if weighted else None
    surrogate = GradientSurrogateClassifier(FrozenEstimator(model))
    surrogate.fit(X, sample_weight=weights)
    agreed = surrogate.predict(X) == model.predict(X)
    w = np.ones(len(X)) if weights is None else weights
    p = np.sum(w * agreed) / np.sum(w)
    assert 0 < p < 1  # a non-linear model: the test bites
    assert surrogate.agreement_ == pytest.approx(p, rel=1e-12)
    assert surrogate.agreement_stderr_ == pytest.approx(
        np.sqrt(p * (1 - p) / np.sum(w)), rel=1e-12
    )


# ------------------------------------------------------------ metadata routing
@pytest.fixture()
def regression():
    rng = np.random.default_rng(6)
    X = rng.normal(size=(60, 3))
    y = X @ [1.0, 2.0, -1.0] + rng.normal(size=60)
    w = rng.integers(0, 4, size=60).astype(float)
    return X, y, w


def test_routing_sends_sample_weight_to_an_estimator_that_requests_it(regression):
    X, y, w = regression
    with sklearn.config_context(enable_metadata_routing=True):
        inner = Ridge().set_fit_request(sample_weight=True)
        explainer = GradientExplainer(inner).fit(X, y, sample_weight=w)
    expected = Ridge().fit(X, y, sample_weight=w)
    assert_close(explainer.estimator_.coef_, expected.coef_, rtol=1e-12)
    # and the statistics are weighted: those of the same model on repeated rows
    repeated = GradientExplainer(FrozenEstimator(expected)).fit(
        np.repeat(X, w.astype(int), axis=0)
    )
    _assert_same_statistics(explainer, repeated, rtol=1e-9)


def test_routing_keeps_sample_weight_from_an_estimator_that_declines(regression):
    X, y, w = regression
    with sklearn.config_context(enable_metadata_routing=True):
        inner = Ridge().set_fit_request(sample_weight=False)
        explainer = GradientExplainer(inner).fit(X, y, sample_weight=w)
    assert_close(explainer.estimator_.coef_, Ridge().fit(X, y).coef_, rtol=1e-12)
    assert_close(
        explainer.feature_std_,
        np.repeat(X, w.astype(int), axis=0).std(axis=0),
        rtol=1e-10,
    )


def test_routing_errors_when_the_request_is_not_set(regression):
    X, y, w = regression
    with sklearn.config_context(enable_metadata_routing=True):
        with pytest.raises(UnsetMetadataPassedError, match="set_fit_request"):
            GradientExplainer(Ridge()).fit(X, y, sample_weight=w)
        # without weights, nothing needs a request
        GradientExplainer(Ridge()).fit(X, y)


def test_routing_through_cross_validate(regression):
    X, y, w = regression
    with sklearn.config_context(enable_metadata_routing=True):
        explainer = GradientExplainer(
            Ridge().set_fit_request(sample_weight=True)
        ).set_fit_request(sample_weight=True)
        result = cross_validate(
            explainer, X, y, cv=3, params={"sample_weight": w}, return_estimator=True
        )
    from sklearn.model_selection import KFold

    for fitted, (train, _) in zip(result["estimator"], KFold(3).split(X), strict=True):
        expected = Ridge().fit(X[train], y[train], sample_weight=w[train])
        assert_close(fitted.estimator_.coef_, expected.coef_, rtol=1e-12)


def test_weights_without_routing_reach_an_estimator_that_takes_them(regression):
    X, y, w = regression
    explainer = GradientExplainer(Ridge()).fit(X, y, sample_weight=w)
    expected = Ridge().fit(X, y, sample_weight=w)
    assert_close(explainer.estimator_.coef_, expected.coef_, rtol=1e-12)


# ------------------------------------------------- refit uncertainty (the docs)
def test_refit_uncertainty_with_cross_validate(regression):
    """The docs' recipe: the spread of global_gradient_ over refits on folds."""
    X, y, _ = regression
    result = cross_validate(
        GradientExplainer(Ridge()), X, y, cv=5, return_estimator=True
    )
    gradients = np.array([e.global_gradient_ for e in result["estimator"]])
    coefs = np.array([e.estimator_.coef_ for e in result["estimator"]])
    assert_close(gradients, coefs, rtol=1e-10)
    assert gradients.std(axis=0, ddof=1).shape == (3,)
    assert np.all(gradients.std(axis=0, ddof=1) > 0)  # refits differ


def test_rows_of_weight_zero_count_nowhere():
    """A weight of 0 is the row's absence: the range, the noise and the intercepts."""
    from sklearn.linear_model import LogisticRegression

    from sklearn_gradexplain import GradientSurrogateClassifier
    from sklearn_gradexplain.attributions import SmoothGrad

    rng = np.random.default_rng(3)
    X = rng.normal(size=(120, 3))
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(int)
    outlier = np.vstack([X, [[40.0, -40.0, 40.0]]])
    y_out = np.append(y, 1)
    weights = np.append(np.ones(len(X)), 0.0)
    model = LogisticRegression().fit(X, y)
    smooth = SmoothGrad(n_samples=5, random_state=0)
    with_zero = GradientExplainer(FrozenEstimator(model), attribution=smooth).fit(
        outlier, sample_weight=weights
    )
    without = GradientExplainer(FrozenEstimator(model), attribution=smooth).fit(X)
    assert_allclose(with_zero.attribution_.noise_, without.attribution_.noise_)
    assert_allclose(with_zero.global_gradient_, without.global_gradient_)
    surrogate = GradientSurrogateClassifier(FrozenEstimator(model))
    a = surrogate.fit(outlier, y_out, sample_weight=weights)
    a_intercept, a_agreement = a.intercept_.copy(), a.agreement_
    b = surrogate.fit(X, y)
    assert_allclose(a_intercept, b.intercept_)
    assert a_agreement == b.agreement_


@pytest.mark.parametrize(
    "make", ["GradientSurrogateClassifier", "GradientFeatureSelector"]
)
def test_surrogates_and_selector_give_the_same_summary_table(make):
    """summary() is one table for every explainer holding global statistics."""
    import sklearn_gradexplain

    X = np.random.default_rng(0).normal(size=(80, 3))
    y = (X @ [1.0, -2.0, 0.5] > 0).astype(int)
    model = FrozenEstimator(LogisticRegression().fit(X, y))
    reference = GradientExplainer(model).fit(X, y).summary()
    table = getattr(sklearn_gradexplain, make)(model).fit(X, y).summary()
    assert list(table.columns) == list(reference.columns)
    assert_allclose(
        table[NUMERIC + ["scaled_importance"]],
        reference[NUMERIC + ["scaled_importance"]],
    )
    assert list(table["output"]) == list(reference["output"]) == [1, 1, 1]
