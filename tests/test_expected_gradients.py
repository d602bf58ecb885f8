"""Expected gradients: linear exactness, a hand-written reference, Captum's
GradientShap, completeness in expectation, engine agreement, the draws' invariances."""

import types

import numpy as np
import pytest
from _helpers import AUTOGRAD, assert_close, requires_torch
from numpy.testing import assert_allclose
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.utils import get_tags

from sklearn_gradexplain import GradientExplainer
from sklearn_gradexplain.attributions import ExpectedGradients, SmoothGrad

W = np.array([2.0, -1.0, 0.5, 3.0])


@pytest.fixture(scope="module")
def data():
    X = np.random.default_rng(0).normal(size=(50, 4))
    return X, X @ W + 1.0


def tanh_net(n_features=5, n_outputs=1, seed=0, scale=1.0):
    """A float64 tanh MLP with weights large enough to be far from linear."""
    import torch

    torch.manual_seed(seed)
    module = torch.nn.Sequential(
        torch.nn.Linear(n_features, 16),
        torch.nn.Tanh(),
        torch.nn.Linear(16, 8),
        torch.nn.Tanh(),
        torch.nn.Linear(8, n_outputs),
    ).double()
    with torch.no_grad():
        for parameter in module.parameters():
            parameter.normal_(0, scale)
    return module


def regressor(module):
    from sklearn_gradexplain import TorchModel

    return TorchModel(module, task="regression")


# ---------------------------------------------------------------- exactness
@pytest.mark.parametrize("method", [AUTOGRAD, "finite_difference"])
def test_linear_model_is_mean_of_difference_times_coefficients(data, method):
    X, y = data
    explainer = GradientExplainer(
        LinearRegression(),
        attribution=ExpectedGradients(n_samples=30, random_state=0),
        method=method,
    ).fit(X, y)
    baselines = explainer.attribution_.baselines_
    assert baselines.shape == (30, 4)
    expected = (X[:, None, :] - baselines[None]).mean(axis=1) * W
    rtol = 1e-12 if method != "finite_difference" else 1e-7
    assert_close(explainer.explain(X), expected, rtol=rtol)
    # linear: every draw is complete, so the expectation is exact
    assert_allclose(explainer.completeness_delta(X), 0.0, atol=1e-9)


@requires_torch
def test_matches_hand_written_autograd_with_the_same_draws():
    import torch

    module = tanh_net(n_outputs=2)
    X = np.random.default_rng(1).normal(size=(20, 5))
    eg = ExpectedGradients(n_samples=17, random_state=3)
    explainer = GradientExplainer(regressor(module), attribution=eg).fit(X)
    assert explainer.method_ == "autograd"
    baselines, alphas = (
        explainer.attribution_.baselines_,
        explainer.attribution_.alphas_,
    )
    expected = np.zeros((20, 2, 5))
    for baseline, alpha in zip(baselines, alphas, strict=True):
        point = torch.tensor(baseline + alpha * (X - baseline), requires_grad=True)
        out = module(point)
        for k in range(2):
            (g,) = torch.autograd.grad(out[:, k].sum(), point, retain_graph=True)
            expected[:, k] += (X - baseline) * g.numpy() / len(alphas)
    assert_close(explainer.explain(X), expected, rtol=1e-12)


class _Draws(types.ModuleType):
    """numpy as Captum's modules see it, with our draws in place of its own."""

    def __init__(self, indices, alphas):
        super().__init__("numpy")
        self.random = types.SimpleNamespace(
            choice=lambda n, size: np.resize(indices, size),
            uniform=lambda low, high, size: np.resize(alphas, size),
        )

    def __getattr__(self, name):
        return getattr(np, name)


@requires_torch
def test_equals_captum_gradient_shap_given_the_same_draws(monkeypatch):
    """GradientShap (stdevs=0) is expected gradients with per-row draws: fed ours,
    (baseline s, α_s) for draw s of every row, it gives the same attributions."""
    pytest.importorskip("captum")
    import captum._utils.common
    import captum.attr._core.gradient_shap
    import torch
    from captum.attr import GradientShap

    module = tanh_net(n_outputs=3, seed=2)
    X = np.random.default_rng(2).normal(size=(12, 5))
    background = np.random.default_rng(3).normal(size=(40, 5))
    eg = ExpectedGradients(background=background, n_samples=9, random_state=0)
    explainer = GradientExplainer(regressor(module), attribution=eg).fit(X)
    ours = explainer.explain(X)
    fitted = explainer.attribution_
    draws = _Draws(np.arange(9), fitted.alphas_)
    monkeypatch.setattr(captum._utils.common, "np", draws)
    monkeypatch.setattr(captum.attr._core.gradient_shap, "np", draws)
    shap = GradientShap(module)
    for k in range(3):
        theirs = shap.attribute(
            torch.tensor(X),
            baselines=torch.tensor(fitted.baselines_),
            n_samples=9,
            stdevs=0.0,
            target=k,
        )
        assert_close(ours[:, k], theirs.detach().numpy(), rtol=1e-10)


# ---------------------------------------------------------------- expectation
@requires_torch
def test_completeness_in_expectation_shrinks_with_n_samples():
    """Per draw, E_α[(x − x′)·∇f(x′ + α(x − x′))] = f(x) − f(x′): the gap of the
    n-draw mean is only the α sampling error, which falls like 1/√n."""
    module = tanh_net(seed=0)
    X = np.random.default_rng(0).normal(size=(60, 5))
    gaps, changes = [], []
    for n_samples in (10, 100, 1000):
        eg = ExpectedGradients(n_samples=n_samples, random_state=1)
        explainer = GradientExplainer(regressor(module), attribution=eg).fit(X)
        delta = explainer.completeness_delta(X[:40])
        change = explainer.explain(X[:40]).sum(axis=1) - delta  # f(x) - mean f(x')
        gaps.append(np.sqrt(np.mean(delta**2)))
        changes.append(np.sqrt(np.mean(change**2)))
    assert gaps[0] > 1.5 * gaps[1] > 2.25 * gaps[2]
    assert gaps[2] < 0.2 * changes[2]
    # the rate: RMS gap × √n stays of one size (about 2-4 here)
    scaled = np.array(gaps) * np.sqrt([10, 100, 1000])
    assert scaled.max() < 2.5 * scaled.min()


@requires_torch
def test_finite_differences_agree_with_autograd_with_the_same_seed():
    module = tanh_net(n_outputs=2, seed=4, scale=0.7)
    X = np.random.default_rng(4).normal(size=(25, 5))
    results = {}
    for method in ("autograd", "finite_difference"):
        eg = ExpectedGradients(n_samples=20, random_state=7)
        explainer = GradientExplainer(regressor(module), attribution=eg, method=method)
        results[method] = explainer.fit(X).explain(X)
        assert explainer.method_ == method
    assert_close(results["finite_difference"], results["autograd"], rtol=1e-5)


# ---------------------------------------------------------------- the draws
def test_draws_are_shared_by_rows_invariant_and_reproducible(data):
    X, y = data
    y = (y > np.median(y)).astype(int)
    eg = ExpectedGradients(n_samples=15, random_state=0)
    explainer = GradientExplainer(LogisticRegression(), attribution=eg).fit(X, y)
    full = explainer.explain(X)
    order = np.random.default_rng(1).permutation(len(X))
    assert_close(explainer.explain(X[order]), full[order], rtol=1e-12)
    assert_close(explainer.explain(X[7:11]), full[7:11], rtol=1e-12)
    batched = GradientExplainer(LogisticRegression(), attribution=eg, batch_size=3)
    assert_close(batched.fit(X, y).explain(X), full, rtol=1e-12)
    again = GradientExplainer(LogisticRegression(), attribution=eg).fit(X, y)
    assert_close(again.explain(X), full, rtol=0)


def test_non_deterministic_tag_without_an_integer_seed():
    assert get_tags(ExpectedGradients()).non_deterministic
    assert not get_tags(ExpectedGradients(random_state=0)).non_deterministic
    assert get_tags(
        GradientExplainer(LinearRegression(), attribution="expected_gradients")
    ).non_deterministic


def test_baselines_follow_sample_weight_and_skip_incomplete_rows(data):
    X, y = data
    weights = np.zeros(len(X))
    weights[[3, 8]] = [1.0, 3.0]
    eg = ExpectedGradients(n_samples=400, random_state=0).fit(X, sample_weight=weights)
    drawn = [int(np.flatnonzero((X == b).all(axis=1))[0]) for b in eg.baselines_]
    assert set(drawn) == {3, 8}
    assert 0.65 < np.mean(np.array(drawn) == 8) < 0.85  # 3 / 4 expected
    assert np.all((0 <= eg.alphas_) & (eg.alphas_ < 1))
    # frequency weights: a row of weight 2 draws like two copies of it, whatever
    # the order of the rows
    rng = np.random.default_rng(2)
    counts = rng.integers(0, 3, size=len(X))
    weighted = ExpectedGradients(n_samples=30, random_state=4)
    weighted.fit(X, sample_weight=counts)
    repeated = np.repeat(X, counts, axis=0)
    shuffled = ExpectedGradients(n_samples=30, random_state=4)
    shuffled.fit(repeated[rng.permutation(len(repeated))])
    assert_close(weighted.baselines_, shuffled.baselines_, rtol=0)
    holes = X.copy()
    holes[1:, 0] = np.nan
    eg = ExpectedGradients(n_samples=5, random_state=0).fit(holes)
    assert_close(eg.baselines_, np.tile(X[0], (5, 1)), rtol=0)
    holes[0, 2] = np.nan
    with pytest.raises(ValueError, match="missing values.*background="):
        ExpectedGradients(n_samples=5).fit(holes)


def test_explicit_background_array_and_dataframe(data):
    pd = pytest.importorskip("pandas")
    X, y = data
    background = np.random.default_rng(5).normal(size=(7, 4))
    for given in (background, pd.DataFrame(background, columns=list("abcd"))):
        eg = ExpectedGradients(background=given, n_samples=50, random_state=0)
        explainer = GradientExplainer(LinearRegression(), attribution=eg).fit(X, y)
        baselines = explainer.attribution_.baselines_
        assert all((background == b).all(axis=1).any() for b in baselines)
        expected = (X[:, None, :] - baselines[None]).mean(axis=1) * W
        assert_close(explainer.explain(X), expected, rtol=1e-12)


def test_bad_backgrounds_raise_before_any_work(data):
    X, y = data

    class Unfittable(LinearRegression):
        def fit(self, X, y):  # pragma: no cover - must not be reached
            raise AssertionError("fitted before the background was checked")

    for background, match in [
        (np.ones((3, 2)), "background has 2 columns; expected one per explained"),
        (np.array([[np.nan, 0, 0, 0]]), "(?i)nan"),
    ]:
        eg = ExpectedGradients(background=background)
        with pytest.raises(ValueError, match=match):
            GradientExplainer(Unfittable(), attribution=eg).fit(X, y)


def test_features_subset_and_smoothgrad_around_it(data):
    X, y = data
    eg = ExpectedGradients(n_samples=25, random_state=0)
    explainer = GradientExplainer(
        make_pipeline(LinearRegression()), attribution=eg, features=[1, 3]
    ).fit(X, y)
    baselines = explainer.attribution_.baselines_
    assert baselines.shape == (25, 2)
    assert_close(
        baselines,
        X[:, [1, 3]][
            [int(np.flatnonzero((X[:, [1, 3]] == b).all(axis=1))[0]) for b in baselines]
        ],
        rtol=0,
    )
    expected = (X[:, None, [1, 3]] - baselines[None]).mean(axis=1) * W[[1, 3]]
    assert_close(explainer.explain(X), expected, rtol=1e-12)
    # a noise tunnel around expected gradients: a linear model's is unchanged in mean
    smooth = SmoothGrad(attribution=eg, n_samples=4, random_state=0)
    wrapped = GradientExplainer(LinearRegression(), attribution=smooth).fit(X, y)
    inner = wrapped.attribution_.attribution_
    noise = wrapped.attribution_.noise_
    noisy = X[:, None, None, :] + noise[None, :, None, :]
    expected = (noisy - inner.baselines_[None, None]).mean(axis=(1, 2)) * W
    assert_close(wrapped.explain(X), expected, rtol=1e-12)
