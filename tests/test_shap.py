"""``to_shap_explanation``: shap's own ``Explanation`` and plots on our attributions.

The truth is the model itself: base values are its output at the baseline (or its mean
output), and a waterfall of integrated gradients ends at its prediction.
"""

import subprocess
import sys
import textwrap

import numpy as np
import pytest
from _helpers import assert_close
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.compose import make_column_transformer
from sklearn.datasets import make_classification, make_regression
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from sklearn_gradexplain import GradientExplainer
from sklearn_gradexplain.attributions import IntegratedGradients
from sklearn_gradexplain.integrations import to_shap_explanation


@pytest.fixture
def shap():
    """shap, with matplotlib drawing off screen (skipped cleanly without them)."""
    shap = pytest.importorskip("shap", reason="shap is not installed")
    matplotlib = pytest.importorskip("matplotlib", reason="matplotlib is not installed")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    yield shap
    plt.close("all")


@pytest.fixture(scope="module")
def regression():
    X, y = make_regression(n_samples=80, n_features=4, noise=1.0, random_state=0)
    X = X * [1.0, 3.0, 0.5, 2.0] + [1.0, -2.0, 0.0, 4.0]
    return X, y + 7.0


@pytest.fixture(scope="module")
def multiclass():
    X, y = make_classification(
        n_samples=90,
        n_features=4,
        n_informative=3,
        n_redundant=0,
        n_classes=3,
        random_state=0,
    )
    return X, y


def _plot_texts(figure):
    labels = []
    for ax in figure.axes:
        labels += [t.get_text() for t in ax.get_xticklabels() + ax.get_yticklabels()]
    return labels


@pytest.mark.parametrize("n_steps", [1, 8])
def test_waterfall_of_integrated_gradients_ends_at_the_model_output(
    shap, regression, n_steps
):
    import matplotlib.pyplot as plt

    X, y = regression
    baseline = X.mean(axis=0) + 0.5
    ig = IntegratedGradients(baseline=baseline, n_steps=n_steps)
    explainer = GradientExplainer(LinearRegression(), attribution=ig).fit(X, y)
    model = explainer.estimator_
    explanation = to_shap_explanation(explainer, X[:10])

    assert isinstance(explanation, shap.Explanation)
    # closed form: IG of a linear model is (x - x') * coef, its base value f(x')
    assert_close(explanation.values, (X[:10] - baseline) * model.coef_, rtol=1e-12)
    assert_close(
        explanation.base_values,
        np.repeat(model.predict(baseline[None]), 10),
        rtol=1e-12,
    )
    total = explanation.base_values + explanation.values.sum(axis=1)
    assert_close(total, model.predict(X[:10]), rtol=1e-12)

    shap.plots.waterfall(explanation[3], show=False)
    # the waterfall's last tick reads f(x): the model's own prediction
    labels = _plot_texts(plt.gcf())
    shown = float(labels[labels.index("$f(x)$") + 1].strip("$= ").replace("−", "-"))
    assert shown == pytest.approx(model.predict(X[3:4])[0], abs=1e-3)


def test_waterfall_gap_is_the_completeness_delta_on_a_nonlinear_model(shap, multiclass):
    X, y = multiclass
    model = MLPClassifier(
        hidden_layer_sizes=(8,), activation="tanh", max_iter=2000, random_state=0
    )
    explainer = GradientExplainer(
        model, attribution=IntegratedGradients(baseline="mean", n_steps=64)
    ).fit(X, y)
    explanation = to_shap_explanation(explainer, X[:12])
    proba = explainer.estimator_.predict_proba(X[:12])
    reference = explainer.estimator_.predict_proba(X.mean(axis=0)[None])

    assert explanation.values.shape == (12, 4, 3)  # shap's (n, features, outputs)
    assert explanation.output_names == ["0", "1", "2"]
    assert_close(explanation.base_values, np.repeat(reference, 12, axis=0), 1e-10)
    gap = explanation.base_values + explanation.values.sum(axis=1) - proba
    assert_allclose(gap, explainer.completeness_delta(X[:12]), atol=1e-10)
    assert np.abs(gap).max() < 0.01 * np.abs(proba - reference).max()  # smooth net
    for k in range(3):
        shap.plots.waterfall(explanation[0, :, k], show=False)


def test_plots_draw_the_attributions(shap, multiclass):
    import matplotlib.pyplot as plt

    X, y = multiclass
    explainer = GradientExplainer(LogisticRegression()).fit(X, y)
    explanation = to_shap_explanation(explainer, X)
    assert_array_equal(explanation.values, np.moveaxis(explainer.explain(X), 1, 2))
    assert_array_equal(explanation.data, X)
    for k in range(3):
        one = explanation[:, :, k]
        ax = shap.plots.bar(one, show=False)
        widths = sorted(patch.get_width() for patch in ax.patches)
        assert_allclose(widths, np.sort(np.abs(one.values).mean(axis=0)))
        plt.close("all")
        shap.plots.beeswarm(one, show=False)
        dots = sum(len(c.get_offsets()) for c in plt.gca().collections)
        assert dots == X.size  # one dot per sample and feature
        plt.close("all")
        shap.plots.heatmap(one, show=False)
        plt.close("all")
        shap.plots.scatter(one[:, 0], show=False)
        dots = plt.gcf().axes[0].collections[0].get_offsets()[:, 1]
        assert_allclose(np.sort(dots), np.sort(one[:, 0].values))  # y: attribution
        plt.close("all")
        shap.plots.waterfall(one[0], show=False)
        plt.close("all")


def test_base_values_without_reference_are_the_mean_model_output(shap, multiclass):
    X, y = multiclass
    explainer = GradientExplainer(LogisticRegression(), target=2).fit(X, y)
    proba = explainer.estimator_.predict_proba(X)[:, 2]
    explanation = to_shap_explanation(explainer, X[:5])
    assert explanation.values.shape == (5, 4)
    assert_close(explanation.base_values, np.full(5, proba[:5].mean()), 1e-12)
    explanation = to_shap_explanation(explainer, X[:5], background=X)
    assert_close(explanation.base_values, np.full(5, proba.mean()), 1e-12)
    with pytest.raises(ValueError, match="features"):
        to_shap_explanation(explainer, X[:5], background=X[:, :2])


def test_frame_names_and_columns_held_fixed(shap):
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "age": rng.normal(40, 10, 60),
            "city": rng.choice(["paris", "rome", "oslo"], 60),
            "income": rng.normal(3, 1, 60),
        }
    )
    y = (frame["age"] / 10 + frame["income"] + (frame["city"] == "rome") > 7).to_numpy()
    pipeline = make_pipeline(
        make_column_transformer(
            (OneHotEncoder(), ["city"]), (StandardScaler(), ["age", "income"])
        ),
        LogisticRegression(),
    )
    ig = IntegratedGradients(baseline="mean", n_steps=32)
    explainer = GradientExplainer(
        pipeline, attribution=ig, features=["age", "income"]
    ).fit(frame, y)
    explanation = to_shap_explanation(explainer, frame.iloc[:6])
    assert explanation.feature_names == ["age", "income"]
    assert_array_equal(explanation.data, frame[["age", "income"]].to_numpy()[:6])
    # each row's reference keeps its own city: f at (baseline, city of the row)
    reference = frame.iloc[:6].copy()
    reference[["age", "income"]] = explainer.attribution_.baseline_
    expected = explainer.estimator_.predict_proba(reference)[:, 1]
    assert_close(explanation.base_values, expected, 1e-12)
    total = explanation.base_values + explanation.values.sum(axis=1)
    assert_allclose(
        total - explainer.estimator_.predict_proba(frame.iloc[:6])[:, 1],
        explainer.completeness_delta(frame.iloc[:6]),
        atol=1e-10,
    )
    shap.plots.waterfall(explanation[0], show=False)
    shap.plots.beeswarm(explanation, show=False)


def test_only_gradient_explainers(shap, regression):
    X, y = regression
    with pytest.raises(TypeError, match="GradientExplainer"):
        to_shap_explanation(LinearRegression().fit(X, y), X)


def test_a_clear_error_without_shap():
    script = textwrap.dedent(
        """
        import sys
        sys.modules["shap"] = None  # import shap raises ImportError
        import numpy as np
        from sklearn.linear_model import LinearRegression
        from sklearn_gradexplain import GradientExplainer
        from sklearn_gradexplain.integrations import to_shap_explanation
        X = np.random.default_rng(0).normal(size=(20, 2))
        explainer = GradientExplainer(LinearRegression()).fit(X, X.sum(axis=1))
        try:
            to_shap_explanation(explainer, X)
        except ImportError as exc:
            print("OK", exc)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert "OK" in result.stdout and "pip install shap" in result.stdout
