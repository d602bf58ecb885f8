"""Categorical columns: held-fixed encoder branches, explain_at, switch effects."""

import warnings

import numpy as np
import pytest
from _helpers import assert_close, requires_torch
from sklearn.compose import make_column_transformer
from sklearn.ensemble import HistGradientBoostingRegressor, RandomForestClassifier
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

from sklearn_gradexplain import FiniteDifference, GradientExplainer
from sklearn_gradexplain.attributions import (
    GradientXInput,
    IntegratedGradients,
    SmoothGrad,
)

pd = pytest.importorskip("pandas")

EFFECTS = {"x": 1.0, "y": -2.0, "z": 0.5}


@pytest.fixture(scope="module")
def frame():
    rng = np.random.default_rng(0)
    n = 400
    df = pd.DataFrame(
        {
            "a": rng.normal(size=n),
            "b": rng.normal(size=n) * 3 + 1,
            "c": rng.choice(["x", "y", "z"], size=n, p=[0.5, 0.3, 0.2]),
        }
    )
    label = (df["a"] + df["c"].map(EFFECTS) + 0.3 * rng.normal(size=n) > 0).astype(int)
    target = 2 * df["a"] - 0.5 * df["b"] + df["c"].map(EFFECTS)
    return df, label.to_numpy(), target.to_numpy()


def _onehot_logistic(df, y):
    encoder = make_column_transformer((OneHotEncoder(), ["c"]), remainder="passthrough")
    return make_pipeline(encoder, LogisticRegression()).fit(df, y)


# ---------------------------------------------------------------- held fixed
@requires_torch
def test_encoder_branch_held_fixed_is_exact_and_equals_finite_differences(frame):
    df, y, _ = frame
    model = make_pipeline(
        make_column_transformer(
            (OneHotEncoder(), ["c"]), (StandardScaler(), ["a", "b"])
        ),
        LogisticRegression(),
    ).fit(df, y)
    exact = GradientExplainer(FrozenEstimator(model), features=["a", "b"]).fit(df)
    assert exact.method_ == "autograd"  # 0.1: finite differences
    fd = GradientExplainer(
        FrozenEstimator(model), features=["a", "b"], method="finite_difference"
    ).fit(df)
    assert_close(exact.explain(df), fd.explain(df), rtol=1e-5)
    # the analytic gradient of P(1): p (1 - p) w / scale
    p = model.predict_proba(df)[:, 1]
    scaler, logistic = model[0].named_transformers_["standardscaler"], model[-1]
    w = logistic.coef_[0][-2:] / scaler.scale_
    assert_close(exact.explain(df), (p * (1 - p))[:, None] * w, rtol=1e-10)


# ---------------------------------------------------------------- explain_at
@requires_torch
def test_integrated_gradients_at_the_encoder_grouped_onto_raw_columns(frame):
    df, y, _ = frame
    model = _onehot_logistic(df, y)
    explainer = GradientExplainer(
        FrozenEstimator(model),
        explain_at="columntransformer",
        attribution=IntegratedGradients(baseline="mean"),
        response_method="decision_function",
    ).fit(df)
    assert explainer.method_ == "autograd"
    grouped = explainer.explain(df)
    assert grouped.shape == (len(df), 3)
    assert list(explainer.get_feature_names_out()) == ["grad__a", "grad__b", "grad__c"]
    # analytic: in decision-function space IG_j = w_j (z_j - z'_j) per encoded
    # column; a raw column's attribution is the sum over its encoded columns
    Z = model[0].transform(df)
    w = model[-1].coef_[0]
    encoded = (Z - Z.mean(axis=0)) * w
    names = list(model[0].get_feature_names_out())
    raw = np.column_stack(
        [
            encoded[:, names.index("remainder__a")],
            encoded[:, names.index("remainder__b")],
            encoded[:, [i for i, n in enumerate(names) if n.startswith("onehot")]].sum(
                1
            ),
        ]
    )
    assert_close(grouped, raw, rtol=1e-10)
    # completeness over raw columns: sum = f(z) - f(z')
    f = model.decision_function(df)
    f0 = model[-1].decision_function(Z.mean(axis=0, keepdims=True))[0]
    assert_allclose_abs(grouped.sum(axis=1), f - f0, 1e-6)
    assert np.abs(explainer.completeness_delta(df)).max() < 1e-6
    # per indicator on request, with the encoded names
    per_indicator = explainer.explain(df, group="encoded")
    assert_close(per_indicator, encoded, rtol=1e-10)


def assert_allclose_abs(actual, expected, atol):
    np.testing.assert_allclose(actual, expected, rtol=0, atol=atol)


def test_plain_gradients_at_a_step_stay_per_indicator(frame):
    df, y, _ = frame
    model = _onehot_logistic(df, y)
    explainer = GradientExplainer(
        FrozenEstimator(model), explain_at="columntransformer"
    ).fit(df)
    names = list(explainer.get_feature_names_out())
    assert names[0].startswith("grad__onehotencoder__c_") and len(names) == 5
    p = model.predict_proba(df)[:, 1]
    assert_close(
        explainer.explain(df), (p * (1 - p))[:, None] * model[-1].coef_[0], 1e-5
    )
    with pytest.raises(ValueError, match="not additive"):
        explainer.explain(df, group="raw")


def test_integrated_gradients_along_indicators_of_a_forest(frame):
    df, y, _ = frame
    encoder = make_column_transformer(
        (OneHotEncoder(sparse_output=False), ["c"]), remainder="passthrough"
    )
    model = make_pipeline(
        encoder, RandomForestClassifier(n_estimators=20, random_state=0)
    ).fit(df, y)
    # the derivative of a forest is zero almost everywhere: a step comparable to
    # the path's spacing turns the path integral into a sum of the jumps along it
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a forest's path integral is rough
        explainer = GradientExplainer(
            FrozenEstimator(model),
            explain_at="columntransformer",
            attribution=IntegratedGradients(
                baseline="mean", n_steps=64, integration="riemann_middle"
            ),
            method=FiniteDifference(step=1 / 64, scheme="central"),
        ).fit(df)
    assert explainer.method_ == "finite_difference"
    delta = explainer.completeness_delta(df.iloc[:40])
    change = explainer.explain(df.iloc[:40]).sum(axis=1) - delta
    # a piecewise-constant path: completeness holds only roughly
    assert np.mean(np.abs(delta)) < 0.5 * np.mean(np.abs(change))


def test_explain_at_errors_before_work(frame):
    df, y, _ = frame
    model = _onehot_logistic(df, y)
    with pytest.raises(ValueError, match="not a step"):
        GradientExplainer(model, explain_at="scaler").fit(df, y)
    with pytest.raises(ValueError, match="final estimator"):
        GradientExplainer(model, explain_at="logisticregression").fit(df, y)
    with pytest.raises(ValueError, match="cannot be combined"):
        GradientExplainer(model, explain_at="columntransformer", features=["a"]).fit(
            df, y
        )
    with pytest.raises(ValueError, match="Pipeline"):
        GradientExplainer(LogisticRegression(), explain_at="x").fit(df[["a"]], y)


# ---------------------------------------------------------------- switch effects
def test_switch_effect_of_an_ignored_column_is_exactly_zero(frame):
    df, _, target = frame
    model = make_pipeline(
        make_column_transformer((OneHotEncoder(), ["c"]), remainder="passthrough"),
        LinearRegression(),
    )
    # a model whose coefficients on c are zero: fitted on a target without c
    model.fit(df, 2 * df["a"] - 0.5 * df["b"])
    model[-1].coef_[:3] = 0.0
    explainer = GradientExplainer(
        FrozenEstimator(model), categorical_features=["c"]
    ).fit(df)
    effects = explainer.explain(df)[:, 2]
    np.testing.assert_array_equal(effects, 0.0)


def test_switch_effect_of_an_additive_term_is_the_term_minus_its_mean(frame):
    df, _, target = frame
    model = make_pipeline(
        make_column_transformer((OneHotEncoder(), ["c"]), remainder="passthrough"),
        LinearRegression(),
    ).fit(df, target)
    explainer = GradientExplainer(
        FrozenEstimator(model), categorical_features=["c"]
    ).fit(df)
    attributions = explainer.explain(df)
    frequencies = df["c"].value_counts(normalize=True)
    fitted = dict(
        zip(
            ["x", "y", "z"],
            model[-1].coef_[:3],
            strict=True,
        )
    )
    mean = sum(frequencies[c] * fitted[c] for c in fitted)
    expected = df["c"].map(fitted).to_numpy() - mean
    assert_close(attributions[:, 2], expected, rtol=1e-10)
    assert_close(attributions[:, :2], np.tile([2.0, -0.5], (len(df), 1)), rtol=1e-6)
    assert list(explainer.categories_) == ["c"]
    assert list(explainer.categories_["c"]) == ["x", "y", "z"]
    assert not hasattr(explainer, "completeness_delta")


def test_switch_effects_with_native_categories_and_from_dtype(frame):
    df, _, target = frame
    categorical = df.assign(c=df["c"].astype("category"))
    encoded = categorical.assign(c=categorical["c"].cat.codes)
    model = HistGradientBoostingRegressor(
        categorical_features=[2], max_iter=50, random_state=0
    ).fit(encoded, target)
    # the model consumes integer codes: categorical_features names them
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a boosted model is piecewise constant
        explainer = GradientExplainer(
            FrozenEstimator(model), categorical_features=[2]
        ).fit(encoded)
    effects = explainer.explain(encoded)[:, 2]
    # the reference: f(x) minus the frequency-weighted mean over the codes
    codes = np.sort(encoded["c"].unique())
    weights = encoded["c"].value_counts(normalize=True).reindex(codes).to_numpy()
    switched = [model.predict(encoded.assign(c=code)) for code in codes]
    expected = model.predict(encoded) - np.tensordot(weights, switched, axes=1)
    assert_close(effects, expected, rtol=1e-12)
    # from_dtype takes pandas categorical columns
    model2 = make_pipeline(
        make_column_transformer((OrdinalEncoder(), ["c"]), remainder="passthrough"),
        LinearRegression(),
    ).fit(categorical, target)
    from_dtype = GradientExplainer(
        FrozenEstimator(model2), categorical_features="from_dtype"
    ).fit(categorical)
    assert list(from_dtype.categories_) == ["c"]


def test_switch_effects_are_weighted_by_the_fit_frequencies(frame):
    df, _, target = frame
    model = make_pipeline(
        make_column_transformer((OneHotEncoder(), ["c"]), remainder="passthrough"),
        LinearRegression(),
    ).fit(df, target)
    weights = np.where(df["c"] == "x", 3, 1)
    weighted = GradientExplainer(
        FrozenEstimator(model), categorical_features=["c"]
    ).fit(df, sample_weight=weights)
    repeated = GradientExplainer(
        FrozenEstimator(model), categorical_features=["c"]
    ).fit(df.loc[df.index.repeat(weights)].reset_index(drop=True))
    assert_close(weighted.explain(df), repeated.explain(df), rtol=1e-12)


def test_categorical_errors(frame):
    df, _, target = frame
    model = make_pipeline(
        make_column_transformer((OneHotEncoder(), ["c"]), remainder="passthrough"),
        LinearRegression(),
    ).fit(df, target)
    with pytest.raises(ValueError, match=r"not columns of X"):
        GradientExplainer(FrozenEstimator(model), categorical_features=["d"]).fit(df)
    # the same column rules as features= (one resolution serves both)
    for spec, message in (
        ([2.0], r"categorical_features takes .*got floats \[2.0\]"),
        ([True, False, True], "boolean mask; pass np.flatnonzero"),
        ([2, -1], r"names a column twice"),
        ([5], "out of range for 3 columns"),
    ):
        with pytest.raises(ValueError, match=message):
            GradientExplainer(FrozenEstimator(model), categorical_features=spec).fit(df)
    with pytest.raises(ValueError, match="non-numeric"):
        GradientExplainer(FrozenEstimator(model)).fit(df)
    with pytest.raises(ValueError, match="DataFrame"):
        GradientExplainer(LinearRegression(), categorical_features="from_dtype").fit(
            df[["a", "b"]].to_numpy(), target
        )


@pytest.mark.parametrize(
    "attribution",
    [GradientXInput(), SmoothGrad(n_samples=4, random_state=0)],
    ids=["gxi", "smoothgrad"],
)
def test_switch_effects_beside_any_attribution(frame, attribution):
    df, _, target = frame
    model = make_pipeline(
        make_column_transformer((OneHotEncoder(), ["c"]), remainder="passthrough"),
        LinearRegression(),
    ).fit(df, target)
    explainer = GradientExplainer(
        FrozenEstimator(model), attribution=attribution, categorical_features=["c"]
    ).fit(df)
    out = explainer.explain(df.iloc[:10])
    assert out.shape == (10, 3) and np.isfinite(out).all()
    table = explainer.summary()
    assert list(table["feature"]) == ["a", "b", "c"]
