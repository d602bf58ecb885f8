"""HessianExplainer: exact on quadratics, equal to torch.func.hessian, integrated
Hessians against integrated gradients and a closed form, second differences against
autograd, statistics, errors, and the "interactions" display."""

import numpy as np
import pytest
from _helpers import AUTOGRAD, assert_close, requires_torch
from joblib import parallel_config
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.ensemble import RandomForestRegressor
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LinearRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import PolynomialFeatures

from sklearn_gradexplain import (
    FiniteDifference,
    GradientExplainer,
    HessianExplainer,
    ZeroGradientWarning,
)
from sklearn_gradexplain.attributions import IntegratedGradients

JIT = "ignore:.*torch.jit.script.*:DeprecationWarning"  # torch.func's first jvp


def quadratic_form(d=4, seed=0):
    rng = np.random.default_rng(seed)
    B = rng.normal(size=(d, d))
    return B + B.T, rng.normal(size=d)


class Quadratic(RegressorMixin, BaseEstimator):
    """f(x) = ½ xᵀAx + bᵀx computed in numpy: a black box (no torch translation)."""

    def __init__(self, A=None, b=None):
        self.A = A
        self.b = b

    def fit(self, X, y=None):
        self.n_features_in_ = np.shape(X)[1]
        return self

    def predict(self, X):
        X = np.asarray(X, dtype=np.float64)
        return 0.5 * np.einsum("ni,ij,nj->n", X, self.A, X) + X @ self.b


def quadratic_module(A, b):
    import torch

    class QuadraticModule(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.register_buffer("A", torch.tensor(A))
            self.register_buffer("b", torch.tensor(b))

        def forward(self, X):
            return (0.5 * ((X @ self.A) * X).sum(dim=1) + X @ self.b)[:, None]

    return QuadraticModule()


def tanh_mlp(n_features=5, n_outputs=3, seed=0):
    import torch

    torch.manual_seed(seed)
    return torch.nn.Sequential(
        torch.nn.Linear(n_features, 16),
        torch.nn.Tanh(),
        torch.nn.Linear(16, 8),
        torch.nn.Tanh(),
        torch.nn.Linear(8, n_outputs),
    ).double()


def torch_func_hessians(function, X):
    """The reference: torch.func.hessian of one row's outputs, vmapped over rows."""
    import torch
    from torch.func import hessian, vmap

    H = vmap(hessian(lambda x: function(x[None])[0]))(torch.tensor(X))
    return H.detach().numpy()  # (n, k, d, d)


@pytest.fixture(scope="module")
def X():
    return np.random.default_rng(0).normal(size=(30, 4))


# ---------------------------------------------------------------- quadratics
@requires_torch
@pytest.mark.filterwarnings(JIT)
def test_exact_on_a_quadratic_torch_module(X):
    from sklearn_gradexplain import TorchModel

    A, b = quadratic_form()
    explainer = HessianExplainer(TorchModel(quadratic_module(A, b), task="regression"))
    H = explainer.fit(X).explain(X)
    assert explainer.method_ == "autograd"
    assert H.shape == (30, 4, 4)
    assert_close(H, np.broadcast_to(A, H.shape), rtol=1e-13)
    assert_close(H, np.swapaxes(H, 1, 2), rtol=1e-13)
    assert_close(explainer.mean_hessian_, A, rtol=1e-13)
    assert_close(explainer.interaction_importances_, np.abs(A), rtol=1e-13)


@pytest.mark.filterwarnings(JIT)
@pytest.mark.parametrize("method", [AUTOGRAD, "finite_difference"])
def test_exact_on_a_fitted_polynomial_pipeline(X, method):
    A, b = quadratic_form()
    y = Quadratic(A, b).predict(X)
    model = make_pipeline(PolynomialFeatures(2), LinearRegression())
    explainer = HessianExplainer(model, method=method).fit(X, y)
    assert explainer.method_ == method
    rtol = 1e-8 if method == "autograd" else 1e-6
    assert_close(explainer.explain(X), np.broadcast_to(A, (30, 4, 4)), rtol=rtol)


@pytest.mark.parametrize("scheme, tolerance", [("central", 1e-6), ("forward", 1e-3)])
def test_second_differences_exact_on_a_black_box_quadratic(X, scheme, tolerance):
    """No truncation error on a quadratic: what is left is the rounding of f,
    about ε |f| / h² (h = 1e-4 central, 5e-6 forward, times max(std, |x|))."""
    A, b = quadratic_form(seed=1)
    explainer = HessianExplainer(
        Quadratic(A, b), method=FiniteDifference(scheme=scheme)
    ).fit(X)
    assert explainer.method_ == "finite_difference"
    H = explainer.explain(X)
    assert_close(H, np.broadcast_to(A, (30, 4, 4)), rtol=tolerance, atol=tolerance)


# ---------------------------------------------------------------- networks
@requires_torch
@pytest.mark.filterwarnings(JIT)
def test_equals_torch_func_hessian_on_a_tanh_mlp():
    from sklearn_gradexplain import TorchModel

    module = tanh_mlp()
    X = np.random.default_rng(1).normal(size=(40, 5))
    explainer = HessianExplainer(TorchModel(module, task="regression"), batch_size=7)
    H = explainer.fit(X).explain(X)
    assert H.shape == (40, 3, 5, 5)
    reference = torch_func_hessians(module, X)
    assert_close(H, reference, rtol=1e-8)
    assert_close(explainer.mean_hessian_, reference.mean(axis=0), rtol=1e-8)
    assert_close(
        explainer.interaction_importances_,
        np.abs(reference).mean(axis=(0, 1)),
        rtol=1e-8,
    )
    # a subset of the features: the sub-matrix, the other columns held fixed
    subset = HessianExplainer(
        TorchModel(module, task="regression"), features=[0, 3, 4], target=1
    ).fit(X)
    assert_close(
        subset.explain(X), reference[:, 1][:, [0, 3, 4]][:, :, [0, 3, 4]], 1e-8
    )


@requires_torch
@pytest.mark.filterwarnings(JIT)
def test_skorch_probabilities_equal_torch_func_hessian():
    import torch
    from sklearn.frozen import FrozenEstimator
    from skorch import NeuralNetClassifier

    module = tanh_mlp(n_outputs=3, seed=2)
    net = NeuralNetClassifier(
        module,
        criterion=torch.nn.CrossEntropyLoss,  # predict_proba: softmax of the logits
        max_epochs=0,
        train_split=None,
        verbose=0,
        classes=[0, 1, 2],
    ).initialize()
    X = np.random.default_rng(2).normal(size=(20, 5))
    explainer = HessianExplainer(FrozenEstimator(net)).fit(X)
    assert explainer.response_method_ == "predict_proba"
    reference = torch_func_hessians(lambda x: torch.softmax(module(x), dim=1), X)
    assert_close(explainer.explain(X), reference, rtol=1e-8)


@requires_torch
@pytest.mark.filterwarnings(JIT)
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_translated_mlp_matches_its_torch_func_hessian():
    import torch
    from sklearn.neural_network import MLPRegressor

    X = np.random.default_rng(3).normal(size=(60, 5))
    y = np.sin(X[:, 0]) * X[:, 1] + X[:, 2] ** 2
    mlp = MLPRegressor(
        hidden_layer_sizes=(10,), activation="tanh", max_iter=300, random_state=0
    ).fit(X, y)
    W1, W2 = (torch.tensor(w) for w in mlp.coefs_)
    b1, b2 = (torch.tensor(b) for b in mlp.intercepts_)
    reference = torch_func_hessians(
        lambda x: torch.tanh(x @ W1 + b1) @ W2 + b2, X[:10]
    )[:, 0]
    from sklearn.frozen import FrozenEstimator

    explainer = HessianExplainer(FrozenEstimator(mlp)).fit(X)
    assert explainer.method_ == "autograd"
    assert_close(explainer.explain(X[:10]), reference, rtol=1e-8)


@requires_torch
def test_functions_torch_func_cannot_transform_use_backward_passes():
    """A custom autograd.Function has no forward-mode rule: the Hessian comes from
    backward passes of the gradient instead, equal to the closed form."""
    import torch

    from sklearn_gradexplain import TorchModel

    class Cube(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x**3

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            return 3 * x**2 * grad

    class CubeNet(torch.nn.Module):
        def __init__(self):
            super().__init__()
            torch.manual_seed(0)
            self.inner = torch.nn.Linear(4, 3).double()
            self.outer = torch.nn.Linear(3, 2).double()

        def forward(self, X):
            return self.outer(Cube.apply(self.inner(X)))

    net = CubeNet()
    X = np.random.default_rng(4).normal(size=(12, 4))
    H = HessianExplainer(TorchModel(net, task="regression")).fit(X).explain(X)
    W = net.inner.weight.detach().numpy()
    c = net.inner.bias.detach().numpy()
    V = net.outer.weight.detach().numpy()
    z = X @ W.T + c  # f_k = Σ_m V_km z_m³: H_k = Σ_m 6 V_km z_m w_m w_mᵀ
    expected = np.einsum("km,nm,mi,mj->nkij", 6 * V, z, W, W)
    assert_close(H, expected, rtol=1e-12)


# ---------------------------------------------------------------- integrated Hessians
@pytest.mark.filterwarnings(JIT)
@pytest.mark.parametrize("baseline", ["zeros", "mean"])
@pytest.mark.parametrize(
    "method, rtol",
    [
        pytest.param("autograd", 1e-7, marks=requires_torch),
        ("finite_difference", 1e-5),
    ],
)
def test_integrated_hessians_closed_form_on_a_quadratic(X, baseline, method, rtol):
    """For f = ½ xᵀAx + bᵀx: Γ_jl = Δ_j Δ_l A_jl / 4 off the diagonal and
    Γ_jj = Δ_j² A_jj / 4 + Δ_j ((A x′)_j + b_j + (A Δ)_j / 4), Δ = x − x′."""
    A, b = quadratic_form()
    model = make_pipeline(PolynomialFeatures(2), LinearRegression())
    model.fit(X, Quadratic(A, b).predict(X))
    explainer = HessianExplainer(
        FrozenEstimator(model),
        kind="integrated_hessians",
        baseline=baseline,
        n_steps=4,
        method=method,
    ).fit(X)
    assert explainer.method_ == method
    x0 = explainer.baseline_
    assert_close(x0, np.zeros(4) if baseline == "zeros" else X.mean(axis=0), 1e-12)
    delta = X - x0
    expected = delta[:, :, None] * delta[:, None, :] * A / 4
    diagonal = delta * (x0 @ A + b + delta @ A / 4)
    expected[:, np.arange(4), np.arange(4)] += diagonal
    assert_close(explainer.explain(X), expected, rtol=rtol)


@requires_torch
@pytest.mark.filterwarnings(JIT)
@pytest.mark.parametrize("method", ["autograd", "finite_difference"])
def test_integrated_hessian_rows_sum_to_integrated_gradients(method):
    from sklearn_gradexplain import TorchModel

    module = tanh_mlp(n_outputs=2, seed=5)
    X = np.random.default_rng(5).normal(size=(8, 5))
    estimator = TorchModel(module, task="regression")
    n_steps = 50 if method == "autograd" else 12
    baseline = np.full(5, 0.3)
    explainer = HessianExplainer(
        estimator,
        kind="integrated_hessians",
        baseline=baseline,
        n_steps=n_steps,
        method=method,
    ).fit(X)
    gamma = explainer.explain(X)
    assert gamma.shape == (8, 2, 5, 5)
    assert_close(gamma, np.swapaxes(gamma, -1, -2), rtol=1e-6)
    ig = GradientExplainer(
        estimator, attribution=IntegratedGradients(baseline=baseline, n_steps=n_steps)
    ).fit(X)
    assert_close(gamma.sum(axis=-1), ig.explain(X), rtol=1e-6)


# ---------------------------------------------------------------- second differences
@requires_torch
@pytest.mark.filterwarnings(JIT)
def test_second_differences_agree_with_autograd_on_a_smooth_model():
    from sklearn_gradexplain import TorchModel

    module = tanh_mlp(n_features=5, n_outputs=2, seed=6)
    X = np.random.default_rng(6).normal(size=(25, 5))
    estimator = TorchModel(module, task="regression")
    exact = HessianExplainer(estimator).fit(X).explain(X)
    central = HessianExplainer(estimator, method="finite_difference").fit(X)
    assert central.method_ == "finite_difference"
    # entries near zero keep the rounding of f, ε |f| / h² ≈ 2e-8 |f| in absolute
    # terms: the absolute tolerance is 1e-6 of the largest entry
    assert_close(central.explain(X), exact, rtol=1e-4, atol=1e-6)
    forward = HessianExplainer(estimator, method=FiniteDifference(scheme="forward"))
    assert_close(forward.fit(X).explain(X), exact, rtol=2e-3, atol=1e-4)  # O(h)
    # chunks dispatched by joblib: the same chunks, the same numbers
    chunked = HessianExplainer(estimator, method="finite_difference", batch_size=200)
    with parallel_config(backend="threading"):
        parallel = chunked.set_params(n_jobs=2).fit(X).explain(X)
    assert_close(parallel, chunked.set_params(n_jobs=1).explain(X), rtol=0)
    X32 = X.astype(np.float32)
    H32 = HessianExplainer(estimator, method="finite_difference").fit(X32).explain(X32)
    assert H32.dtype == np.float32
    assert_close(H32, exact, rtol=2e-3, atol=1e-3)  # float32 step 2e-2


def test_second_differences_refused_above_the_feature_limit():
    X = np.random.default_rng(7).normal(size=(10, 65))

    class Unfittable(Quadratic):
        def fit(self, X, y=None):  # pragma: no cover - must not be reached
            raise AssertionError("fitted before the width was checked")

    with pytest.raises(ValueError, match="8451 model evaluations per row.*features="):
        HessianExplainer(Unfittable(), method="finite_difference").fit(X)
    A, b = quadratic_form(d=65)
    with pytest.raises(ValueError, match="at most 64 features"):
        HessianExplainer(Quadratic(A, b)).fit(X)  # auto: a black box
    subset = HessianExplainer(Quadratic(A, b), features=[0, 5, 9]).fit(X)
    assert_close(
        subset.explain(X[:2]),
        np.broadcast_to(A[np.ix_([0, 5, 9], [0, 5, 9])], (2, 3, 3)),
        rtol=1e-4,  # |f| is large here (65 features): rounding ε |f| / h²
        atol=1e-4,
    )


def test_piecewise_constant_models_warn():
    X = np.random.default_rng(8).normal(size=(60, 3))
    forest = RandomForestRegressor(n_estimators=5, random_state=0)
    with pytest.warns(ZeroGradientWarning):
        HessianExplainer(forest).fit(X, X[:, 0] + X[:, 1])


# ---------------------------------------------------------------- statistics, checks
@pytest.mark.filterwarnings(JIT)
def test_weighted_statistics_and_shapes(X):
    A, b = quadratic_form()
    rng = np.random.default_rng(9)
    y = Quadratic(A, b).predict(X) + np.sin(X[:, 0]) * X[:, 1] ** 2
    model = make_pipeline(PolynomialFeatures(3), LinearRegression())
    weights = rng.uniform(0, 2, size=len(X))
    explainer = HessianExplainer(model).fit(X, y, sample_weight=weights)
    H = explainer.explain(X)
    mean = np.average(H, axis=0, weights=weights)
    assert_close(explainer.mean_hessian_, mean, rtol=1e-10)
    assert_close(
        explainer.interaction_importances_,
        np.average(np.abs(H), axis=0, weights=weights),
        rtol=1e-10,
    )
    order = rng.permutation(len(X))
    assert_close(explainer.explain(X[order]), H[order], rtol=1e-12)


def test_bad_settings_raise_before_any_work(X):
    class Unfittable(Quadratic):
        def fit(self, X, y=None):  # pragma: no cover - must not be reached
            raise AssertionError("fitted before the settings were checked")

    with pytest.raises(ValueError, match="baseline has 2 values"):
        HessianExplainer(
            Unfittable(), kind="integrated_hessians", baseline=[0.0, 1.0]
        ).fit(X)
    with pytest.raises(ValueError, match="kind"):
        HessianExplainer(Unfittable(), kind="hessians").fit(X)


@requires_torch
def test_module_is_not_modified(X):
    import torch

    from sklearn_gradexplain import TorchModel

    module = tanh_mlp(n_features=4, n_outputs=1, seed=10)
    before = {k: v.clone() for k, v in module.state_dict().items()}
    HessianExplainer(TorchModel(module, task="regression")).fit(X)
    assert all(p.requires_grad and p.grad is None for p in module.parameters())
    assert all(torch.equal(v, before[k]) for k, v in module.state_dict().items())


# ---------------------------------------------------------------- display
@pytest.mark.filterwarnings(JIT)
def test_interactions_display_reads_back():
    pytest.importorskip("matplotlib")
    pd = pytest.importorskip("pandas")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from sklearn_gradexplain import GradientAttributionDisplay

    A, b = quadratic_form()
    X = pd.DataFrame(
        np.random.default_rng(11).normal(size=(20, 4)), columns=["a", "b", "c", "d"]
    )
    model = make_pipeline(PolynomialFeatures(2), LinearRegression())
    explainer = HessianExplainer(model).fit(X, Quadratic(A, b).predict(X.to_numpy()))
    display = GradientAttributionDisplay.from_estimator(
        explainer, X, kind="interactions"
    )
    image = display.artists_[0]
    assert_close(image.get_array(), A, rtol=1e-5)  # 1e-5: finite differences too
    assert image.colorbar.ax.get_ylabel() == "mean Hessian ∂²f/∂xᵢ∂xⱼ"
    assert [t.get_text() for t in display.ax_.get_xticklabels()] == list("abcd")
    assert image.get_clim() == pytest.approx((-np.abs(A).max(), np.abs(A).max()))
    plt.close("all")
    # one matrix, the strongest rows only
    strongest = np.sort(np.argsort(-np.abs(A).sum(axis=1))[:2])
    display = GradientAttributionDisplay.from_attributions(
        explainer.interaction_importances_, kind="interactions", max_features=2
    )
    image = display.artists_[0]
    assert_close(image.get_array(), np.abs(A)[np.ix_(strongest, strongest)], 1e-5)
    assert image.colorbar.ax.get_ylabel() == "mean interaction"
    assert [t.get_text() for t in display.ax_.get_yticklabels()] == [
        f"x{j}" for j in strongest
    ]
    plt.close("all")
    integrated = HessianExplainer(model, kind="integrated_hessians", n_steps=3)
    integrated.fit(X, Quadratic(A, b).predict(X.to_numpy()))
    display = GradientAttributionDisplay.from_estimator(
        integrated, X, kind="interactions"
    )
    assert display.artists_[0].colorbar.ax.get_ylabel() == "mean integrated Hessian"
    plt.close("all")
    with pytest.raises(ValueError, match="HessianExplainer"):
        GradientAttributionDisplay.from_estimator(
            GradientExplainer(LinearRegression()).fit(X, X["a"]), X, kind="interactions"
        )
    with pytest.raises(ValueError, match="square"):
        GradientAttributionDisplay.from_attributions(
            np.ones((3, 2)), kind="interactions"
        )
    plt.close("all")


@requires_torch
@pytest.mark.filterwarnings(JIT)
def test_interactions_display_one_panel_per_output():
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from sklearn_gradexplain import GradientAttributionDisplay, TorchModel

    module = tanh_mlp(n_features=4, n_outputs=3, seed=12)
    X = np.random.default_rng(12).normal(size=(15, 4))
    explainer = HessianExplainer(TorchModel(module, classes=["u", "v", "w"])).fit(X)
    display = GradientAttributionDisplay.from_estimator(
        explainer, X, kind="interactions"
    )
    assert display.axes_.shape == (3,)
    assert [ax.get_title() for ax in display.axes_] == ["u", "v", "w"]
    H = explainer.explain(X)
    for k in range(3):
        assert_close(display.summary_[k], H[:, k].mean(axis=0), rtol=1e-12)
    plt.close("all")
