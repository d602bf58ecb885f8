"""GradientAttributionDisplay: what is drawn equals the attributions' mathematics.

References are computed in plain numpy: the gradient of a logistic regression's
probability is p(1-p)·w (binary) and p_k (w_k - Σ_j p_j w_j) (multinomial).
"""

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.datasets import load_iris, make_classification
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression

from sklearn_gradexplain import GradientAttributionDisplay, GradientExplainer

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def binary():
    X, y = make_classification(
        n_samples=80, n_features=6, n_informative=4, random_state=0
    )
    explainer = GradientExplainer(LogisticRegression()).fit(X, y)
    model = explainer.estimator_
    p = model.predict_proba(X)[:, 1]
    gradients = (p * (1 - p))[:, None] * model.coef_[0]
    return X, explainer, gradients


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    explainer = GradientExplainer(LogisticRegression(max_iter=1000)).fit(X, y)
    model = explainer.estimator_
    P = model.predict_proba(X)
    W = model.coef_
    gradients = P[:, :, None] * (W[None, :, :] - (P @ W)[:, None, :])
    return X, explainer, gradients


def _bar_values(ax):
    return np.array([patch.get_width() for patch in ax.patches])


def _labels(ax):
    """Tick labels from the top of the plot down."""
    positions = ax.get_yticks()
    labels = [t.get_text() for t in ax.get_yticklabels()]
    return [labels[i] for i in np.argsort(-positions, kind="stable")]


def test_bar_shows_mean_gradient_sorted_by_magnitude(binary):
    X, explainer, gradients = binary
    display = GradientAttributionDisplay.from_estimator(
        explainer, X, kind="bar", rank_by="mean"
    )
    mean = gradients.mean(axis=0)
    order = np.argsort(-np.abs(mean))
    # bars are drawn bottom-up: the first (largest) feature is on top
    heights = np.array([patch.get_y() for patch in display.ax_.patches])
    drawn = _bar_values(display.ax_)[np.argsort(-heights)]
    assert_allclose(drawn, mean[order], rtol=1e-6, atol=1e-10)
    assert _labels(display.ax_) == [f"x{j}" for j in order]
    assert display.figure_ is display.ax_.figure
    assert_allclose(display.summary_[0], mean, rtol=1e-6, atol=1e-10)
    # colored by sign
    colors = [patch.get_facecolor() for patch in display.ax_.patches]
    signs = np.sign(_bar_values(display.ax_))
    assert len({c for c, s in zip(colors, signs, strict=True) if s > 0}) <= 1
    assert len({c for c in colors}) == len(set(signs))


def test_bar_max_features_and_feature_names(binary):
    X, explainer, gradients = binary
    names = [f"f{j}" for j in range(X.shape[1])]
    display = GradientAttributionDisplay.from_attributions(
        gradients, kind="bar", feature_names=names, max_features=3, rank_by="mean"
    )
    assert len(display.ax_.patches) == 3
    top = np.argsort(-np.abs(gradients.mean(axis=0)))[:3]
    assert _labels(display.ax_) == [names[j] for j in top]


def test_bar_groups_color_and_legend(binary):
    X, explainer, gradients = binary
    names = [f"f{j}" for j in range(X.shape[1])]
    groups = {n: ("positive" if j < 3 else "neutral") for j, n in enumerate(names)}
    display = GradientAttributionDisplay.from_attributions(
        gradients, kind="bar", feature_names=names, groups=groups
    )
    legend = [t.get_text() for t in display.ax_.get_legend().get_texts()]
    assert sorted(legend) == ["neutral", "positive"]
    colors = {}
    labels = _labels(display.ax_)
    heights = np.array([patch.get_y() for patch in display.ax_.patches])
    patches = [display.ax_.patches[i] for i in np.argsort(-heights)]
    for label, patch in zip(labels, patches, strict=True):
        colors.setdefault(groups[label], set()).add(patch.get_facecolor())
    assert all(len(c) == 1 for c in colors.values())
    assert colors["neutral"] != colors["positive"]


def test_multiclass_gets_one_panel_per_class(iris):
    X, explainer, gradients = iris
    display = GradientAttributionDisplay.from_estimator(explainer, X, kind="bar")
    assert display.axes_.shape == (3,)
    assert [ax.get_title() for ax in display.axes_] == ["0", "1", "2"]
    for k in range(3):
        assert_allclose(
            display.summary_[k], gradients[:, k].mean(axis=0), rtol=1e-6, atol=1e-10
        )


def test_beeswarm_positions_are_the_attributions(binary):
    X, explainer, gradients = binary
    display = GradientAttributionDisplay.from_estimator(
        explainer, X, kind="beeswarm", max_features=4
    )
    offsets = display.artists_[0].get_offsets()
    # ranked by scaled importance: mean |gradient| x the feature's std
    order = np.argsort(-np.abs(gradients).mean(axis=0) * X.std(axis=0))[:4]
    n = X.shape[0]
    for position, j in enumerate(order):
        block = offsets[position * n : (position + 1) * n]
        assert_allclose(block[:, 0], gradients[:, j], rtol=1e-6, atol=1e-10)
        row = len(order) - 1 - position
        assert np.all(np.abs(block[:, 1] - row) <= 0.5)
    # colored by feature value, with a colorbar
    assert display.artists_[0].get_array() is not None
    assert len(display.figure_.axes) == 2


def test_beeswarm_without_data_has_no_colorbar(binary):
    _, _, gradients = binary
    display = GradientAttributionDisplay.from_attributions(gradients, kind="beeswarm")
    assert len(display.figure_.axes) == 1
    assert display.artists_[0].get_offsets().shape == (gradients.size, 2)


def test_image_is_the_mean_attribution_reshaped(iris):
    X, explainer, gradients = iris
    display = GradientAttributionDisplay.from_estimator(
        explainer, X, kind="image", image_shape=(2, 2)
    )
    for k, image in enumerate(display.artists_):
        expected = gradients[:, k].mean(axis=0).reshape(2, 2)
        assert_allclose(image.get_array(), expected, rtol=1e-6, atol=1e-10)
        low, high = image.get_clim()
        assert_allclose([low, high], [-np.abs(expected).max(), np.abs(expected).max()])


def test_image_of_coefficients_and_given_axes():
    coef = np.arange(32.0).reshape(2, 16) - 10
    figure, axes = plt.subplots(1, 3)
    display = GradientAttributionDisplay.from_attributions(
        coef[None], kind="image", image_shape=(4, 4), ax=axes
    )
    assert display.figure_ is figure
    assert list(display.axes_) == list(axes[:2])
    assert_allclose(display.artists_[1].get_array(), coef[1].reshape(4, 4))


def test_tokens_rank_mean_score_over_occurrences():
    rng = np.random.RandomState(0)
    ids = rng.randint(0, 6, size=(30, 7))
    scores = rng.uniform(size=(30, 7))
    vocabulary = ["<pad>", "a", "b", "c", "d", "e"]
    display = GradientAttributionDisplay.from_attributions(
        scores, kind="tokens", data=ids, feature_names=vocabulary, max_features=10
    )
    expected = {}
    for token in range(6):
        values = [
            s for s, i in zip(scores.ravel(), ids.ravel(), strict=True) if i == token
        ]
        expected[vocabulary[token]] = np.mean(values)
    ranking = sorted((w for w in expected if w != "<pad>"), key=lambda w: -expected[w])
    assert _labels(display.ax_) == ranking
    heights = np.array([patch.get_y() for patch in display.ax_.patches])
    drawn = _bar_values(display.ax_)[np.argsort(-heights)]
    assert_allclose(drawn, [expected[w] for w in ranking])


def test_tokens_from_token_explainer_match_numpy():
    torch = pytest.importorskip("torch")
    skorch = pytest.importorskip("skorch")
    from sklearn.frozen import FrozenEstimator

    from sklearn_gradexplain import TokenGradientExplainer

    class Quadratic(torch.nn.Module):
        """f = ½ Σ_t (e(x_t)·v)²: the gradient at position t is (e(x_t)·v) v."""

        def __init__(self):
            super().__init__()
            self.embedding = torch.nn.Embedding(6, 3)
            self.v = torch.nn.Parameter(torch.tensor([0.5, -1.0, 2.0]))

        def forward(self, ids):
            return 0.5 * ((self.embedding(ids) @ self.v) ** 2).sum(dim=1, keepdim=True)

    torch.manual_seed(0)
    net = skorch.NeuralNetRegressor(Quadratic, max_epochs=0).initialize()
    ids = np.random.RandomState(0).randint(0, 6, size=(12, 5))
    explainer = TokenGradientExplainer(FrozenEstimator(net)).fit(ids)
    vocabulary = ["<pad>", "a", "b", "c", "d", "e"]
    display = GradientAttributionDisplay.from_estimator(
        explainer, ids, kind="tokens", vocabulary=vocabulary
    )
    E = net.module_.embedding.weight.detach().numpy().astype(np.float64)
    v = net.module_.v.detach().numpy().astype(np.float64)
    token_norm = np.abs(E @ v) * np.linalg.norm(v)  # the same at every occurrence
    assert_allclose(display.summary_[0], token_norm, rtol=1e-5)
    ranking = [vocabulary[t] for t in np.argsort(-token_norm) if t != 0]
    assert _labels(display.ax_) == ranking


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"kind": "pie"}, "kind must be one of"),
        ({"kind": "image"}, "image_shape"),
        ({"kind": "image", "image_shape": (3, 3)}, "does not hold"),
        ({"kind": "tokens"}, "token ids"),
        ({"kind": "bar", "feature_names": ["a"]}, "feature_names has 1 names"),
        ({"kind": "bar", "output_names": ["a", "b"]}, "output_names has 2"),
    ],
)
def test_bad_arguments_raise(binary, kwargs, message):
    _, _, gradients = binary
    with pytest.raises(ValueError, match=message):
        GradientAttributionDisplay.from_attributions(gradients, **kwargs)


def test_too_few_axes_and_unfitted_explainer(iris):
    X, explainer, gradients = iris
    _, ax = plt.subplots()
    with pytest.raises(ValueError, match="3 panels"):
        GradientAttributionDisplay.from_attributions(gradients, kind="bar", ax=ax)
    with pytest.raises(NotFittedError):
        GradientAttributionDisplay.from_estimator(
            GradientExplainer(LogisticRegression()), X
        )


def test_dataframe_names_and_feature_subset():
    pd = pytest.importorskip("pandas")
    X, y = make_classification(n_samples=60, n_features=4, random_state=1)
    frame = pd.DataFrame(X, columns=["alpha", "beta", "gamma", "delta"])
    explainer = GradientExplainer(LogisticRegression(), features=["gamma", "beta"])
    explainer.fit(frame, y)
    display = GradientAttributionDisplay.from_estimator(
        explainer, frame, kind="beeswarm"
    )
    assert sorted(_labels(display.ax_)) == ["beta", "gamma"]
    model = explainer.estimator_
    p = model.predict_proba(frame)[:, 1]
    expected = (p * (1 - p))[:, None] * model.coef_[0][[2, 1]]
    assert_allclose(display.summary_[0], expected.mean(axis=0), rtol=1e-6, atol=1e-10)


def test_plot_can_be_called_again_on_new_axes(binary):
    _, _, gradients = binary
    display = GradientAttributionDisplay(gradients, kind="bar")
    _, first = plt.subplots()
    _, second = plt.subplots()
    display.plot(ax=first)
    display.plot(ax=second, max_features=2)
    assert display.ax_ is second
    assert len(second.patches) == 2


# ------------------------------------------------- error bars and scaled ranking
def _drawn_bars(ax):
    """(label, width, error-bar low, error-bar high) from the top of the plot down.

    Read back from the axes: bar widths from the patches, the interval ends from the
    error bars' line segments (one horizontal segment per bar, at the bar's height).
    """
    patches = sorted(ax.patches, key=lambda p: -p.get_y())
    segments = [
        segment
        for collection in ax.collections
        for segment in collection.get_segments()
    ]
    by_height = {
        round(float(np.mean(segment[:, 1])), 9): segment
        for segment in segments
        if np.ptp(segment[:, 1]) == 0  # horizontal: the interval, not the caps
    }
    labels = _labels(ax)
    rows = []
    for label, patch in zip(labels, patches, strict=True):
        centre = round(patch.get_y() + patch.get_height() / 2, 9)
        segment = by_height[centre]
        rows.append(
            (label, patch.get_width(), segment[:, 0].min(), segment[:, 0].max())
        )
    return rows


@pytest.mark.parametrize("confidence_level", [0.95, 0.8])
def test_bar_error_bars_are_the_summary_intervals(iris, confidence_level):
    """On the fit data, the bars and their error bars are summary()'s mean and CI."""
    from scipy.stats import norm

    X, explainer, gradients = iris
    display = GradientAttributionDisplay.from_estimator(
        explainer, X, kind="bar", confidence_level=confidence_level
    )
    table = explainer.summary(confidence_level=confidence_level)
    z = norm.ppf(0.5 + confidence_level / 2)
    for k, ax in enumerate(display.axes_):
        rows = table[table["output"] == explainer.classes_[k]].set_index("feature")
        drawn = _drawn_bars(ax)
        assert len(drawn) == X.shape[1]
        for label, width, low, high in drawn:
            assert_allclose(width, rows.loc[label, "mean"], rtol=1e-6, atol=1e-12)
            assert_allclose(low, rows.loc[label, "ci_low"], rtol=1e-6, atol=1e-12)
            assert_allclose(high, rows.loc[label, "ci_high"], rtol=1e-6, atol=1e-12)
            # and the interval from the analytic gradients, independently
            j = int(label[1:])
            column = gradients[:, k, j]
            half = z * column.std(ddof=1) / np.sqrt(len(column))
            assert_allclose(high - low, 2 * half, rtol=1e-6)
        # ranked by scaled importance, as summary() reports it
        expected = rows["scaled_importance"].sort_values(ascending=False, kind="stable")
        assert [label for label, *_ in drawn] == list(expected.index)


def test_bar_ranks_by_scaled_importance_by_default():
    """A feature in large units has a small gradient but a large scaled importance."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3)) * [1.0, 1000.0, 0.01]
    y = (X @ [1.0, 0.002, 50.0] + 0.3 * rng.normal(size=200) > 0).astype(int)
    explainer = GradientExplainer(LogisticRegression()).fit(X, y)
    model = explainer.estimator_
    p = model.predict_proba(X)[:, 1]
    gradients = (p * (1 - p))[:, None] * model.coef_[0]
    importance = np.abs(gradients).mean(axis=0)
    scaled = importance * X.std(axis=0)
    display = GradientAttributionDisplay.from_estimator(explainer, X, kind="bar")
    assert _labels(display.ax_) == [f"x{j}" for j in np.argsort(-scaled)]
    assert np.argsort(-scaled)[0] != np.argsort(-importance)[0]  # the test bites
    table = explainer.summary()
    assert_allclose(table["scaled_importance"], scaled, rtol=1e-6)
    for rank_by, key in [
        ("importance", importance),
        ("mean", np.abs(gradients.mean(0))),
    ]:
        display = GradientAttributionDisplay.from_estimator(
            explainer, X, kind="bar", rank_by=rank_by
        )
        assert _labels(display.ax_) == [f"x{j}" for j in np.argsort(-key)]


def test_bar_without_data_or_intervals(binary):
    """from_attributions without data ranks by importance (no scale is known);
    confidence_level=None draws no error bars; one sample has none either."""
    _, _, gradients = binary
    display = GradientAttributionDisplay.from_attributions(gradients, kind="bar")
    importance = np.abs(gradients).mean(axis=0)
    assert _labels(display.ax_) == [f"x{j}" for j in np.argsort(-importance)]
    assert len(display.ax_.collections) == 1  # the error bars
    display = GradientAttributionDisplay.from_attributions(
        gradients, kind="bar", confidence_level=None
    )
    assert len(display.ax_.collections) == 0
    display = GradientAttributionDisplay.from_attributions(gradients[:1], kind="bar")
    assert len(display.ax_.collections) == 0


def test_bar_rank_by_and_confidence_level_are_checked(binary):
    _, _, gradients = binary
    with pytest.raises(ValueError, match="rank_by must be one of"):
        GradientAttributionDisplay.from_attributions(
            gradients, kind="bar", rank_by="size"
        )
    with pytest.raises(ValueError, match="confidence_level"):
        GradientAttributionDisplay.from_attributions(
            gradients, kind="bar", confidence_level=1.5
        )
