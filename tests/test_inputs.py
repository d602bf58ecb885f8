"""Real-world inputs and bad input: dtypes, sparse matrices, DataFrames, clear errors.

References are analytic (a linear model's gradient is its ``coef_``, a logistic
regression's is p(1 - p) w) or the same computation on dense float64 data.
"""

from collections import Counter

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from _helpers import assert_close
from numpy.testing import assert_allclose
from sklearn.compose import ColumnTransformer
from sklearn.datasets import make_classification, make_regression
from sklearn.exceptions import NotFittedError
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from sklearn_gradexplain import GradientExplainer
from sklearn_gradexplain.attributions import IntegratedGradients

CALLS = Counter()


class CountingRegressor(LinearRegression):
    """LinearRegression that counts its fit calls and the rows it predicts."""

    def fit(self, X, y, sample_weight=None):
        CALLS["fit"] += 1
        return super().fit(X, y, sample_weight)

    def predict(self, X):
        CALLS["predict_rows"] += len(X)
        return super().predict(X)


class CountingClassifier(LogisticRegression):
    """LogisticRegression that counts the rows it is asked probabilities for."""

    def predict_proba(self, X):
        CALLS["proba_rows"] += len(X)
        return super().predict_proba(X)


class SpyRegressor(LinearRegression):
    """LinearRegression that records every input it is asked to predict."""

    seen = []

    def predict(self, X):
        SpyRegressor.seen.append(np.array(X, copy=True))
        return super().predict(X)


@pytest.fixture(scope="module")
def regression():
    X, y = make_regression(n_samples=120, n_features=4, noise=1.0, random_state=0)
    return X, y


@pytest.fixture
def counting_explainer(regression):
    X, y = regression
    explainer = GradientExplainer(CountingRegressor(), method="finite_difference")
    explainer.fit(X, y)
    CALLS.clear()
    return explainer


# ---------------------------------------------------------------- dtypes
@pytest.mark.parametrize("method", ["finite_difference", "auto"])
def test_float32_input_gives_float32_attributions(method):
    X, y = make_classification(n_samples=150, n_features=5, random_state=0)
    X32 = X.astype(np.float32)
    explainer = GradientExplainer(LogisticRegression(), method=method).fit(X32, y)
    attributions = explainer.explain(X32)
    assert attributions.dtype == np.float32
    assert explainer.transform(X32).dtype == np.float32
    # analytic: ∂p/∂x = p (1 - p) w; float32 central differences are good to about
    # eps32**(2/3) ≈ 3e-5 of the gradient's scale
    p = explainer.estimator_.predict_proba(X32)[:, 1]
    reference = (p * (1 - p))[:, None] * explainer.estimator_.coef_[0]
    assert_close(attributions, reference, rtol=1e-3, atol=2e-4)
    # float64 (and integer) input keeps float64 results
    assert explainer.explain(X).dtype == np.float64
    assert explainer.explain(np.round(X).astype(int)).dtype == np.float64


def test_float32_perturbations_use_a_float32_step():
    X, y = make_regression(n_samples=60, n_features=3, random_state=0)
    X32 = X.astype(np.float32)
    explainer = GradientExplainer(SpyRegressor(), method="finite_difference")
    explainer.fit(X32, y)
    SpyRegressor.seen.clear()
    attributions = explainer.explain(X32[:5])
    points = SpyRegressor.seen[0]  # the one call on all perturbed rows
    assert points.dtype == np.float32  # the model is fed float32
    # each perturbed point moves one coordinate of its row by the relative step
    x = np.repeat(X32[:5], 2 * X.shape[1], axis=0)
    moved = np.abs(points - x)
    k = moved.argmax(axis=1)
    scale = np.maximum(
        explainer.finite_difference_.scale_[k], np.abs(x[np.arange(len(x)), k])
    )
    relative = moved.max(axis=1) / scale
    # the optimal central step in float32 arithmetic is eps**(1/3) ≈ 5e-3
    assert_allclose(relative, np.finfo(np.float32).eps ** (1 / 3), rtol=0.5)
    assert_close(attributions, np.tile(explainer.estimator_.coef_, (5, 1)), rtol=1e-3)


# ---------------------------------------------------------------- sparse
@pytest.mark.parametrize("fmt", ["csr", "csc"])
def test_sparse_matches_dense_and_is_densified_chunk_by_chunk(fmt, monkeypatch):
    n, d = 3000, 6
    X = sp.random(n, d, density=0.3, format=fmt, random_state=0, dtype=np.float64)
    y = X @ np.arange(1.0, d + 1) + 0.1 * np.random.default_rng(0).normal(size=n)
    dense = GradientExplainer(
        LinearRegression(),
        attribution=IntegratedGradients(baseline="median", n_steps=4),
        method="finite_difference",
        batch_size=600,
    ).fit(X.toarray(), y)

    shapes = []
    for cls in {type(X), type(X.tocsr()), type(X.tocsc())}:
        original = cls.toarray

        def spy(self, *args, _original=original, **kwargs):
            shapes.append(self.shape)
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(cls, "toarray", spy)
    explainer = GradientExplainer(**dense.get_params(deep=False)).fit(X, y)
    attributions = explainer.explain(X)
    monkeypatch.undo()

    assert_close(attributions, dense.explain(X.toarray()), rtol=1e-7)
    assert_allclose(explainer.attribution_.baseline_, dense.attribution_.baseline_)
    assert shapes, "sparse rows were never densified"
    # densified: chunks of at most one model call's rows (batch_size), or single
    # columns (the median baseline), never the whole matrix
    assert all(rows <= 600 or columns == 1 for rows, columns in shapes)


def test_sparse_input_is_not_modified():
    X = sp.random(50, 4, density=0.5, format="csr", random_state=1)
    before = X.copy()
    y = np.asarray(X.sum(axis=1)).ravel()
    GradientExplainer(LinearRegression(), method="finite_difference").fit(X, y)
    assert (X != before).nnz == 0


# ---------------------------------------------------------------- DataFrames
@pytest.fixture(scope="module")
def mixed_frame():
    rng = np.random.default_rng(0)
    n = 300
    df = pd.DataFrame(
        {
            "a": rng.normal(size=n),
            "color": rng.choice(["red", "green", "blue"], n),
            "b": rng.normal(size=n),
            "count": rng.integers(0, 4, n),
        }
    )
    y = (df.a - df.b + (df.color == "red") + 0.5 * df["count"] > 1).astype(int)
    return df, y


def _onehot_logistic():
    encode = ColumnTransformer(
        [("onehot", OneHotEncoder(), ["color"])], remainder="passthrough"
    )
    return make_pipeline(encode, LogisticRegression())


def test_dataframe_features_explain_numeric_columns_and_hold_others_fixed(
    mixed_frame,
):
    df, y = mixed_frame
    features = ["a", "b", "count"]  # "count" is an integer column
    dtypes = df.dtypes.to_dict()
    explainer = GradientExplainer(_onehot_logistic(), features=features).fit(df, y)
    attributions = explainer.explain(df)
    assert attributions.shape == (len(df), 3)
    # analytic gradient of the pipeline: p (1 - p) w at the transformed columns
    pipeline = explainer.estimator_
    names = list(pipeline[0].get_feature_names_out())
    w = pipeline[-1].coef_[0][[names.index(f"remainder__{f}") for f in features]]
    p = pipeline.predict_proba(df)[:, 1]
    assert_close(attributions, (p * (1 - p))[:, None] * w, rtol=1e-5)
    # by position: the same columns
    by_index = GradientExplainer(_onehot_logistic(), features=[0, 2, 3]).fit(df, y)
    assert_close(by_index.explain(df), attributions, rtol=1e-12)
    # the frame handed in is untouched
    assert df.dtypes.to_dict() == dtypes
    assert explainer.get_feature_names_out().tolist() == [
        f"grad__{f}" for f in features
    ]


def test_non_numeric_columns_without_features_are_named(mixed_frame):
    df, y = mixed_frame
    with pytest.raises(ValueError, match=r"non-numeric columns \['color'\].*features"):
        GradientExplainer(_onehot_logistic()).fit(df, y)
    fitted = GradientExplainer(_onehot_logistic(), features=["a"]).fit(df, y)
    with pytest.raises(ValueError, match=r"\['color'\] are not numeric"):
        GradientExplainer(_onehot_logistic(), features=["a", "color"]).fit(df, y)
    with pytest.raises(ValueError, match="not columns of X"):
        GradientExplainer(_onehot_logistic(), features=["a", "colour"]).fit(df, y)
    with pytest.raises(ValueError, match="feature names"):  # renamed columns
        fitted.explain(df.rename(columns={"a": "A"}))


def test_binary_column_gets_the_partial_derivative():
    """A 0/1 column is explained like any other: the model's partial derivative at
    the observed value (not the effect of flipping it), as docs/distributed.rst says."""
    rng = np.random.default_rng(1)
    X = np.column_stack([rng.normal(size=200), rng.integers(0, 2, 200)])
    y = (X[:, 0] + 2 * X[:, 1] > 1).astype(int)
    explainer = GradientExplainer(LogisticRegression(), method="finite_difference")
    attributions = explainer.fit(X, y).explain(X)
    p = explainer.estimator_.predict_proba(X)[:, 1]
    reference = (p * (1 - p))[:, None] * explainer.estimator_.coef_[0]
    assert_close(attributions, reference, rtol=1e-5)


def test_read_only_input_is_not_modified(regression):
    X, y = regression
    X = X.copy()
    X.setflags(write=False)
    explainer = GradientExplainer(
        make_pipeline(StandardScaler(), LinearRegression()),
        method="finite_difference",
        attribution="gradient_x_input",
    ).fit(X, y)
    before = X.copy()
    explainer.explain(X)
    np.testing.assert_array_equal(X, before)


# ---------------------------------------------------------------- bad input
def _bad_inputs(X):
    nan = X.copy()
    nan[3, 1] = np.nan
    inf = X.copy()
    inf[0, 0] = np.inf
    ninf = X.copy()
    ninf[-1, -1] = -np.inf
    return {
        "nan": (nan, "NaN"),
        "inf": (inf, "infinity"),
        "-inf": (ninf, "infinity"),
        "empty": (X[:0], "0 sample"),
        "1-D": (X[0], "Expected 2D"),
        "3-D": (X[None], "dim 3"),
        "strings": (np.where(X > 0, "high", "low"), "numeric"),
        "too few features": (X[:, :-1], "features"),
        "too many features": (np.hstack([X, X[:, :1]]), "features"),
        "complex": (X + 1j, "Complex"),
    }


@pytest.mark.parametrize(
    "case",
    [
        "nan",
        "inf",
        "-inf",
        "empty",
        "1-D",
        "3-D",
        "strings",
        "too few features",
        "too many features",
        "complex",
    ],
)
def test_bad_input_to_explain_fails_before_the_model_is_called(
    case, regression, counting_explainer
):
    X, _ = regression
    bad, message = _bad_inputs(X)[case]
    with pytest.raises((ValueError, TypeError), match=message):
        counting_explainer.explain(bad)
    assert CALLS["predict_rows"] == 0


@pytest.mark.parametrize("case", ["nan", "inf", "empty", "strings", "3-D"])
def test_bad_input_to_fit_fails_before_the_model_is_fitted(case, regression):
    X, y = regression
    bad, message = _bad_inputs(X)[case]
    CALLS.clear()
    with pytest.raises((ValueError, TypeError), match=message):
        GradientExplainer(CountingRegressor()).fit(bad, y[: len(bad)])
    assert CALLS["fit"] == 0


@pytest.mark.parametrize(
    "estimator, error, message",
    [
        (FrozenEstimator(LinearRegression()), NotFittedError, "not fitted"),
        (object(), (TypeError, ValueError), "estimator"),
        ("LinearRegression", (TypeError, ValueError), "estimator"),
        (StandardScaler(), ValueError, "predict"),
    ],
    ids=["unfitted-frozen", "object", "string", "no-predict"],
)
def test_unusable_estimator_is_named(estimator, error, message, regression):
    X, y = regression
    with pytest.raises(error, match=message):
        GradientExplainer(estimator).fit(X, y)


def test_target_not_among_classes_fails_before_explaining():
    X, y = make_classification(n_samples=80, n_features=4, random_state=0)
    CALLS.clear()
    explainer = GradientExplainer(
        CountingClassifier(), target=7, method="finite_difference"
    )
    with pytest.raises(ValueError, match=r"target=7 .*classes \[0, 1\]"):
        explainer.fit(X, y)
    # at most a one-row probe of the response width, no attribution work
    assert CALLS["proba_rows"] <= 1


def test_bad_target_for_regressor_and_bad_features(regression):
    X, y = regression
    Y = np.column_stack([y, -y])
    with pytest.raises(ValueError, match="target"):
        GradientExplainer(LinearRegression(), target=2).fit(X, Y)
    with pytest.raises(ValueError, match="out of range"):
        GradientExplainer(LinearRegression(), features=[0, 9]).fit(X, y)
    with pytest.raises(ValueError, match="DataFrame"):
        GradientExplainer(LinearRegression(), features=["a"]).fit(X, y)
