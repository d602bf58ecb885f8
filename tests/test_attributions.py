"""Gradient x input, integrated gradients and SmoothGrad against maths and Captum."""

import warnings

import numpy as np
import pytest
from _helpers import AUTOGRAD, assert_close, requires_torch
from numpy.testing import assert_allclose, assert_array_equal
from scipy.stats import norm
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.tree import DecisionTreeClassifier

from sklearn_gradexplain import GradientExplainer
from sklearn_gradexplain.attributions import IntegratedGradients, SmoothGrad
from sklearn_gradexplain.attributions._integrated_gradients import integration_rule
from sklearn_gradexplain.exceptions import CompletenessWarning

INTEGRATIONS = ["gausslegendre", "riemann_right", "riemann_middle", "riemann_trapezoid"]


@pytest.fixture(scope="module")
def regression_data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 4))
    return X, X @ np.array([1.5, -2.0, 0.5, 3.0]) + 0.7


# ------------------------------------------------------------- torch helpers
def tanh_module(n_in, n_out, seed):
    torch = pytest.importorskip("torch")
    from torch import nn

    torch.manual_seed(seed)
    module = nn.Sequential(
        nn.Linear(n_in, 8), nn.Tanh(), nn.Linear(8, 6), nn.Tanh(), nn.Linear(6, n_out)
    ).double()
    return module


def frozen_net(module):
    skorch = pytest.importorskip("skorch")
    net = skorch.NeuralNetRegressor(module, max_epochs=1, train_split=None, verbose=0)
    return FrozenEstimator(net.initialize())


def sequential(*layers):
    """A float64 nn.Sequential with the given (weight, bias) for its Linear layers."""
    torch = pytest.importorskip("torch")
    from torch import nn

    modules = []
    for layer in layers:
        if layer == "relu":
            modules.append(nn.ReLU())
            continue
        weight, bias = (torch.tensor(np.asarray(v, dtype=float)) for v in layer)
        linear = nn.Linear(weight.shape[1], weight.shape[0]).double()
        with torch.no_grad():
            linear.weight.copy_(weight)
            linear.bias.copy_(bias)
        modules.append(linear)
    return nn.Sequential(*modules)


# ------------------------------------------------------------- linear models: exact
@requires_torch
@pytest.mark.parametrize("integration", INTEGRATIONS)
@pytest.mark.parametrize("baseline", ["zeros", "mean", "median", "array"])
def test_linear_model_integrated_gradients_exact(
    regression_data, integration, baseline
):
    X, y = regression_data
    reference = {
        "zeros": np.zeros(4),
        "mean": X.mean(axis=0),
        "median": np.median(X, axis=0),
        "array": np.array([1.0, -1.0, 0.5, 2.0]),
    }[baseline]
    explainer = GradientExplainer(
        LinearRegression(),
        attribution=IntegratedGradients(
            baseline=reference if baseline == "array" else baseline,
            integration=integration,
            n_steps=7,
        ),
        method="autograd",
    ).fit(X, y)
    w = explainer.estimator_.coef_
    assert_close(explainer.explain(X), (X - reference) * w, rtol=1e-12)
    assert_allclose(explainer.completeness_delta(X), 0, atol=1e-10)


@pytest.mark.parametrize("method", [AUTOGRAD, "finite_difference"])
def test_linear_model_gradient_x_input(regression_data, method):
    X, y = regression_data
    explainer = GradientExplainer(
        LinearRegression(), attribution="gradient_x_input", method=method
    ).fit(X, y)
    rtol = 1e-12 if method == "autograd" else 1e-7
    assert_close(explainer.explain(X), X * explainer.estimator_.coef_, rtol=rtol)


def test_logistic_gradient_x_input_matches_analytic():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(80, 3))
    y = (X[:, 0] - X[:, 2] > 0).astype(int)
    explainer = GradientExplainer(
        LogisticRegression(), attribution="gradient_x_input", method="finite_difference"
    ).fit(X, y)
    model = explainer.estimator_
    p = model.predict_proba(X)[:, 1]
    assert_close(
        explainer.explain(X), X * (p * (1 - p))[:, None] * model.coef_[0], 1e-5
    )


def test_integration_rules_are_quadratures():
    for name in INTEGRATIONS + ["riemann_left"]:
        alphas, weights = integration_rule(name, 9)
        assert_allclose(weights.sum(), 1.0)
        assert np.all((alphas >= 0) & (alphas <= 1))
        # exact on polynomials of the rule's degree: ∫ α dα = 1/2
        if name in ("gausslegendre", "riemann_middle", "riemann_trapezoid"):
            assert_allclose(weights @ alphas, 0.5, rtol=1e-12)
    alphas, weights = integration_rule("gausslegendre", 5)
    assert_allclose(weights @ alphas**9, 0.1, rtol=1e-12)  # degree 2n - 1


# ------------------------------------------------------------- integrated gradients
@pytest.mark.filterwarnings(
    "ignore::sklearn_gradexplain.exceptions.CompletenessWarning"
)
@pytest.mark.parametrize("integration", INTEGRATIONS + ["riemann_left"])
def test_integrated_gradients_match_captum(integration):
    torch = pytest.importorskip("torch")
    captum_attr = pytest.importorskip("captum.attr")
    module = tanh_module(5, 3, seed=0)
    X = np.random.default_rng(2).normal(size=(30, 5))
    explainer = GradientExplainer(
        frozen_net(module),
        attribution=IntegratedGradients(
            baseline="mean", integration=integration, n_steps=20
        ),
    ).fit(X)
    ours = explainer.explain(X)
    ig = captum_attr.IntegratedGradients(module)
    inputs = torch.as_tensor(X)
    baseline = torch.as_tensor(X.mean(axis=0)).expand_as(inputs)
    for k in range(3):
        reference = ig.attribute(
            inputs, baselines=baseline, target=k, n_steps=20, method=integration
        )
        reference = reference.detach().numpy()
        if integration == "riemann_trapezoid":
            # Captum's trapezoid weights are 1/n with halved ends: they sum to
            # (n - 1)/n, not 1. Ours are the trapezoid rule, 1/(n - 1) halved at the
            # ends, on the same nodes.
            reference = reference * 20 / 19
        assert_close(ours[:, k], reference, rtol=1e-5)


def test_completeness_within_one_percent_at_defaults():
    torch = pytest.importorskip("torch")
    module = tanh_module(5, 1, seed=1)
    X = np.random.default_rng(3).normal(size=(50, 5))
    with warnings.catch_warnings():
        warnings.simplefilter("error", CompletenessWarning)
        explainer = GradientExplainer(
            frozen_net(module), attribution="integrated_gradients"
        ).fit(X)
        attributions = explainer.explain(X)
        delta = explainer.completeness_delta(X)
    with torch.no_grad():
        f = module(torch.as_tensor(X)).numpy()[:, 0]
        f0 = module(torch.zeros(1, 5, dtype=torch.float64)).numpy()[0, 0]
    change = f - f0
    assert_allclose(delta, attributions.sum(axis=1) - change, atol=1e-12)
    assert np.all(np.abs(delta) <= 0.01 * np.abs(change))


def test_completeness_warning_when_steps_too_few():
    module = tanh_module(5, 1, seed=1)
    X = 3 * np.random.default_rng(3).normal(size=(50, 5))
    explainer = GradientExplainer(
        frozen_net(module),
        attribution=IntegratedGradients(integration="riemann_right", n_steps=2),
    )
    with pytest.warns(
        CompletenessWarning, match=r"raise n_steps \(now 2\) or use integration="
    ):
        explainer.fit(X)


def test_completeness_remedy_fits_the_settings():
    # never the rule already in use; across jumps, no rule makes it exact
    X = np.random.default_rng(0).normal(size=(60, 3))
    y = (X[:, 0] > 0).astype(int)
    tree = DecisionTreeClassifier(max_depth=3, random_state=0).fit(X, y)
    explainer = GradientExplainer(
        tree, attribution=IntegratedGradients(n_steps=4), method="finite_difference"
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        explainer.fit(X, y)
    (message,) = [
        str(w.message) for w in caught if issubclass(w.category, CompletenessWarning)
    ]
    assert "raise n_steps (now 4)" in message
    assert "gausslegendre" not in message
    assert "complete only roughly" in message


def test_integrated_gradients_toy_relu_network():
    # f(x1, x2) = ReLU(ReLU(x1) - 1 - ReLU(x2)) at (3, 1), zero baseline: (1.5, -0.5)
    module = sequential(([[1, 0], [0, 1]], [0, 0]), "relu", ([[1, -1]], [-1]), "relu")
    X = np.array([[3.0, 1.0], [0.5, 0.2], [-1.0, 2.0]])
    explainer = GradientExplainer(
        frozen_net(module),
        attribution=IntegratedGradients(integration="riemann_middle", n_steps=50),
    ).fit(X)
    assert_allclose(explainer.explain(X[:1]), [[1.5, -0.5]], atol=1e-12)


def test_integrated_gradients_finite_differences_match_autograd():
    module = tanh_module(4, 2, seed=4)
    X = np.random.default_rng(4).normal(size=(20, 4))
    results = [
        GradientExplainer(
            frozen_net(module), attribution="integrated_gradients", method=method
        )
        .fit(X)
        .explain(X)
        for method in ("autograd", "finite_difference")
    ]
    assert_close(results[1], results[0], rtol=1e-6)


def test_integrated_gradients_on_feature_subset_match_captum():
    torch = pytest.importorskip("torch")
    captum_attr = pytest.importorskip("captum.attr")
    module = tanh_module(5, 1, seed=5)
    X = np.random.default_rng(5).normal(size=(25, 5))
    features = [0, 3]
    explainer = GradientExplainer(
        frozen_net(module),
        attribution=IntegratedGradients(n_steps=16),
        features=features,
    ).fit(X)
    baseline = X.copy()
    baseline[:, features] = 0
    reference = captum_attr.IntegratedGradients(module).attribute(
        torch.as_tensor(X), baselines=torch.as_tensor(baseline), target=0, n_steps=16
    )
    assert_close(explainer.explain(X), reference.detach().numpy()[:, features], 1e-5)


def test_integrated_gradients_batching_does_not_change_results():
    module = tanh_module(4, 2, seed=6)
    X = np.random.default_rng(6).normal(size=(23, 4))
    full, small = (
        GradientExplainer(
            frozen_net(module), attribution="integrated_gradients", batch_size=b
        )
        .fit(X)
        .explain(X)
        for b in ("auto", 7)
    )
    assert_allclose(small, full, rtol=1e-12, atol=1e-15)


# ------------------------------------------------------------- SmoothGrad
@pytest.mark.parametrize("method", ["autograd", "finite_difference"])
def test_smoothgrad_without_noise_is_the_gradient(method):
    module = tanh_module(4, 2, seed=7)
    X = np.random.default_rng(7).normal(size=(15, 4))
    estimator = frozen_net(module)
    gradient = GradientExplainer(estimator, method=method).fit(X).explain(X)
    smooth = (
        GradientExplainer(
            estimator, attribution=SmoothGrad(noise_level=0.0), method=method
        )
        .fit(X)
        .explain(X)
    )
    assert_close(smooth, gradient, rtol=1e-12)


def test_smoothgrad_random_state_and_row_invariance():
    module = tanh_module(4, 1, seed=8)
    X = np.random.default_rng(8).normal(size=(30, 4))

    def explain(random_state, rows=slice(None)):
        explainer = GradientExplainer(
            frozen_net(module),
            attribution=SmoothGrad(random_state=random_state, n_samples=10),
            batch_size=40,
        )
        return explainer.fit(X).explain(X[rows])

    first = explain(0)
    assert_array_equal(explain(0), first)
    assert not np.allclose(explain(1), first)
    order = np.random.default_rng(0).permutation(len(X))
    assert_allclose(explain(0, order), first[order], rtol=1e-12)
    assert_allclose(explain(0, slice(3, 9)), first[3:9], rtol=1e-12)


def test_smoothgrad_of_linear_model_is_coef(regression_data):
    X, y = regression_data
    explainer = GradientExplainer(
        LinearRegression(), attribution=SmoothGrad(noise_level=0.5, random_state=0)
    ).fit(X, y)
    assert_close(
        explainer.explain(X), np.tile(explainer.estimator_.coef_, (60, 1)), 1e-12
    )


def test_smoothgrad_of_relu_is_normal_cdf():
    # f(x) = ReLU(x): E[SmoothGrad](x) = Φ(x / σ), σ = noise_level × range of the data
    module = sequential(([[1.0]], [0.0]), "relu")
    X = np.linspace(-1, 1, 9).reshape(-1, 1)
    noise_level, n_samples = 0.25, 4000
    explainer = GradientExplainer(
        frozen_net(module),
        attribution=SmoothGrad(
            noise_level=noise_level, n_samples=n_samples, random_state=0
        ),
    ).fit(X)
    sigma = noise_level * 2.0
    expected = norm.cdf(X[:, 0] / sigma)
    assert_allclose(
        explainer.explain(X)[:, 0], expected, atol=5 * 0.5 / np.sqrt(n_samples)
    )
