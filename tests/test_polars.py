"""polars DataFrames in and out: names kept, string columns held fixed, set_output.

The truth is the model's own closed-form gradient and scikit-learn's polars checks.
"""

import numpy as np
import pytest
from _helpers import assert_close
from numpy.testing import assert_array_equal
from sklearn.compose import make_column_transformer
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.utils import estimator_checks

from sklearn_gradexplain import GradientExplainer, GradientFeatureSelector

pl = pytest.importorskip("polars", reason="polars is not installed")
pytest.importorskip("pyarrow", reason="polars' to_pandas needs pyarrow")

pytestmark = [
    # scikit-learn's set_output checks fit on frames and transform arrays on purpose
    pytest.mark.filterwarnings("ignore:X does not have valid feature names"),
    pytest.mark.filterwarnings("ignore:X has feature names"),
]


@pytest.fixture(scope="module")
def frame():
    rng = np.random.default_rng(0)
    n = 120
    data = pl.DataFrame(
        {
            "age": rng.normal(40, 10, n),
            "city": rng.choice(["oslo", "paris", "rome"], n).tolist(),
            "income": rng.normal(3, 1, n),
            "visits": rng.integers(0, 9, n),
        }
    )
    score = (
        (data["age"].to_numpy() - 40) / 10
        + data["income"].to_numpy()
        - 3
        + (data["city"].to_numpy() == "rome")
    )
    return data, (score > 0.3).astype(int)


def test_numeric_frame_keeps_its_names(frame):
    data, y = frame
    numeric = data.drop("city")
    target = numeric["age"].to_numpy() * 0.5 - 2 * numeric["income"].to_numpy()
    explainer = GradientExplainer(LinearRegression()).fit(numeric, target)
    assert_array_equal(explainer.feature_names_in_, ["age", "income", "visits"])
    assert explainer.get_feature_names_out().tolist() == [
        "grad__age",
        "grad__income",
        "grad__visits",
    ]
    assert explainer.summary()["feature"].tolist() == ["age", "income", "visits"]
    coef = explainer.estimator_.coef_
    assert_close(explainer.explain(numeric), np.tile(coef, (len(numeric), 1)), 1e-10)
    with pytest.raises(ValueError, match="feature names"):  # renamed columns
        explainer.explain(numeric.rename({"age": "years"}))


def test_string_columns_are_held_fixed_by_features(frame):
    data, y = frame
    pipeline = make_pipeline(
        make_column_transformer(
            (OneHotEncoder(), ["city"]),
            (StandardScaler(), ["age", "income", "visits"]),
        ),
        LogisticRegression(),
    )
    explainer = GradientExplainer(pipeline, features=["age", "income"]).fit(data, y)
    assert explainer.get_feature_names_out().tolist() == ["grad__age", "grad__income"]
    attributions = explainer.explain(data)
    assert attributions.shape == (len(data), 2)

    # closed form: dp/dx_k = p (1 - p) w_k / scale_k, at each row's own city
    model = explainer.estimator_
    scaler = model[0].named_transformers_["standardscaler"]
    weights = model[-1].coef_[0][-3:][:2] / scaler.scale_[:2]
    p = model.predict_proba(data.to_pandas())[:, 1]
    assert_close(attributions, (p * (1 - p))[:, None] * weights, 1e-8)
    # the same as the pandas frame
    pandas_explainer = GradientExplainer(pipeline, features=["age", "income"])
    pandas_explainer.fit(data.to_pandas(), y)
    assert_close(attributions, pandas_explainer.explain(data.to_pandas()), 1e-12)
    assert data["city"].dtype == pl.String  # the caller's frame is untouched


def test_string_columns_without_features_are_named(frame):
    data, y = frame
    with pytest.raises(ValueError, match=r"non-numeric columns \['city'\]"):
        GradientExplainer(LogisticRegression()).fit(data, y)


def test_string_columns_without_features_are_an_error(frame):
    data, y = frame
    with pytest.raises(ValueError, match="numeric"):
        GradientExplainer(LogisticRegression()).fit(data, y)


def test_set_output_polars(frame):
    data, y = frame
    numeric = data.drop("city")
    explainer = GradientExplainer(LogisticRegression()).set_output(transform="polars")
    explainer.fit(numeric, y)
    out = explainer.transform(numeric)
    assert isinstance(out, pl.DataFrame)
    assert out.columns == explainer.get_feature_names_out().tolist()
    assert_array_equal(out.to_numpy(), explainer.explain(numeric))

    fitted = GradientExplainer(LogisticRegression()).set_output(transform="polars")
    assert_array_equal(fitted.fit_transform(numeric, y).to_numpy(), out.to_numpy())

    selector = GradientFeatureSelector(
        LogisticRegression(), max_features=2, threshold=-np.inf
    )
    selector.set_output(transform="polars").fit(numeric, y)
    kept = selector.transform(numeric)
    assert isinstance(kept, pl.DataFrame)
    names = selector.get_feature_names_out().tolist()
    assert kept.columns == names and len(names) == 2
    assert_array_equal(kept.to_numpy(), numeric.select(names).to_numpy())


POLARS_CHECKS = [
    getattr(estimator_checks, name)
    for name in (
        "check_set_output_transform_polars",
        "check_global_set_output_transform_polars",
    )
    if hasattr(estimator_checks, name)
]


@pytest.mark.parametrize("check", POLARS_CHECKS, ids=lambda check: check.__name__)
@pytest.mark.parametrize(
    "estimator",
    [
        GradientExplainer(LogisticRegression()),
        GradientFeatureSelector(LogisticRegression(), max_features=3),
    ],
    ids=type,
)
def test_scikit_learn_polars_checks(check, estimator):
    check(type(estimator).__name__, estimator)


def test_there_are_polars_checks_to_run():
    assert POLARS_CHECKS, "this scikit-learn has no polars set_output checks"
