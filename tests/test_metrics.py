"""Faithfulness metrics against independent references.

* ``infidelity`` and ``sensitivity_max`` equal ``captum.metrics`` on a skorch MLP, with
  our perturbations handed to Captum through its ``perturb_func`` and Captum's own
  attributions (``Saliency``, ``InputXGradient``) on the torch module;
* ``deletion_auc`` / ``insertion_auc`` equal the curves of a linear model computed in
  plain numpy; ``faithfulness_correlation`` of gradient × input on a linear model with
  independent standard-normal features is ≈ 1, a shuffled attribution ≈ 0;
* a ``GridSearchCV`` over SmoothGrad's noise level, scored by
  ``make_explanation_scorer("infidelity")``, against a hand computation of every score;
* the directional global gradient is unbiased for the full finite-difference mean
  gradient.
"""

import warnings

import numpy as np
import pytest
from _helpers import assert_close
from numpy.testing import assert_allclose
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.neural_network import MLPRegressor
from sklearn.utils._param_validation import InvalidParameterError

from sklearn_gradexplain import GradientExplainer
from sklearn_gradexplain.attributions import (
    BaseAttribution,
    IntegratedGradients,
    SmoothGrad,
)
from sklearn_gradexplain.metrics import (
    _RowDraws,
    deletion_auc,
    directional_global_gradient,
    faithfulness_correlation,
    infidelity,
    insertion_auc,
    make_explanation_scorer,
    sensitivity_max,
)


# ------------------------------------------------------------------ helpers
def _noise(random_state, n_rows, n_perturbations, n_features):
    """The standard-normal draws of the metrics (their documented block scheme)."""
    draws = _RowDraws(random_state, (n_perturbations, n_features), "normal")
    return draws.rows(0, n_rows)


def _uniform(random_state, n_rows, n_perturbations, n_features):
    draws = _RowDraws(random_state, (n_perturbations, n_features), "uniform")
    return draws.rows(0, n_rows)


class SmoothFunction(RegressorMixin, BaseEstimator):
    """A fixed smooth black box: f(x) = sin(x0) + x1² + 0.5·x0·x2 (+ x3 ...)."""

    def fit(self, X, y=None):
        self.n_features_in_ = np.asarray(X).shape[1]
        return self

    def predict(self, X):
        X = np.asarray(X, dtype=np.float64)
        return (
            np.sin(X[:, 0]) + X[:, 1] ** 2 + 0.5 * X[:, 0] * X[:, 2] + X[:, 3:].sum(1)
        )

    def gradient(self, X):
        X = np.asarray(X, dtype=np.float64)
        G = np.ones_like(X)
        G[:, 0] = np.cos(X[:, 0]) + 0.5 * X[:, 2]
        G[:, 1] = 2 * X[:, 1]
        G[:, 2] = 0.5 * X[:, 0]
        return G


class Shuffled(BaseAttribution):
    """Gradient × input with its columns permuted: an unfaithful attribution."""

    def __init__(self, permutation=None):
        self.permutation = permutation

    def _attribute(self, engine, points):
        phi = engine.gradient(points) * points.Z[:, None, :]
        return phi[..., np.asarray(self.permutation)]


# ------------------------------------------------------------ Captum equality
@pytest.fixture(scope="module")
def skorch_mlp():
    """A float64 tanh MLP regressor (skorch), trained a few epochs, frozen."""
    torch = pytest.importorskip("torch")
    skorch = pytest.importorskip("skorch")
    from torch import nn

    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 5)) * [1.0, 2.0, 0.5, 1.0, 3.0]
    y = (np.sin(X[:, 0]) + 0.3 * X[:, 1] * X[:, 2] - 0.2 * X[:, 4]).reshape(-1, 1)
    torch.manual_seed(0)
    module = nn.Sequential(
        nn.Linear(5, 16), nn.Tanh(), nn.Linear(16, 8), nn.Tanh(), nn.Linear(8, 1)
    ).double()
    net = skorch.NeuralNetRegressor(
        module, max_epochs=20, lr=0.05, train_split=None, verbose=0
    )
    net.fit(X, y)
    return X, net


@pytest.fixture(scope="module")
def skorch_classifier():
    """A float64 tanh MLP classifier (skorch) on 3 classes, frozen."""
    torch = pytest.importorskip("torch")
    skorch = pytest.importorskip("skorch")
    from torch import nn

    rng = np.random.default_rng(1)
    X = rng.normal(size=(90, 4))
    y = np.argmax(X[:, :3] + 0.3 * rng.normal(size=(90, 3)), axis=1).astype(np.int64)
    torch.manual_seed(1)
    module = nn.Sequential(nn.Linear(4, 12), nn.Tanh(), nn.Linear(12, 3)).double()
    net = skorch.NeuralNetClassifier(
        module,
        criterion=nn.CrossEntropyLoss,
        max_epochs=10,
        lr=0.1,
        train_split=None,
        verbose=0,
    )
    net.fit(X, y)
    return X, net


def _captum_infidelity(forward, X, attributions, eps, normalize, target=None):
    import torch
    from captum.metrics import infidelity as captum_infidelity

    n_perturbations = eps.shape[1]
    eps = torch.tensor(eps.reshape(-1, X.shape[1]))

    def perturb(inputs):  # Captum repeats each row n_perturbations times, in order
        return eps, inputs - eps

    return captum_infidelity(
        forward,
        perturb,
        torch.tensor(X),
        torch.tensor(attributions),
        n_perturb_samples=n_perturbations,
        normalize=normalize,
        target=target,
    ).numpy()


@pytest.mark.parametrize("normalize", [False, True])
@pytest.mark.parametrize("attribution", ["gradient", "gradient_x_input"])
def test_infidelity_equals_captum(skorch_mlp, attribution, normalize):
    import torch
    from captum.attr import InputXGradient, Saliency

    X, net = skorch_mlp
    explainer = GradientExplainer(FrozenEstimator(net), attribution=attribution)
    explainer.fit(X)
    n_perturbations = 12
    ours = infidelity(
        explainer,
        X,
        n_perturbations=n_perturbations,
        noise_scale=0.2,
        normalize=normalize,
        per_sample=True,
        random_state=3,
    )
    # the perturbations: N(0, (0.2 std_k)^2), std over the fit data (ddof=0)
    eps = _noise(3, len(X), n_perturbations, X.shape[1]) * 0.2 * X.std(axis=0)

    def forward(inputs):
        return net.module_(inputs)[:, 0]

    method = Saliency(forward) if attribution == "gradient" else InputXGradient(forward)
    inputs = torch.tensor(X, requires_grad=True)
    kwargs = {"abs": False} if attribution == "gradient" else {}
    captum_phi = method.attribute(inputs, **kwargs).detach().numpy()
    reference = _captum_infidelity(forward, X, captum_phi, eps, normalize)
    assert ours.shape == (len(X),)
    assert_close(ours, reference, rtol=1e-6)
    assert infidelity(
        explainer,
        X,
        n_perturbations=n_perturbations,
        noise_scale=0.2,
        normalize=normalize,
        random_state=3,
    ) == pytest.approx(reference.mean(), rel=1e-6)


def test_infidelity_of_several_outputs_equals_captum_per_target(skorch_classifier):
    import torch
    from captum.attr import Saliency

    X, net = skorch_classifier
    explainer = GradientExplainer(FrozenEstimator(net)).fit(X)
    assert explainer.n_outputs_ == 3
    ours = infidelity(explainer, X, per_sample=True, random_state=0)
    assert ours.shape == (len(X), 3)
    eps = _noise(0, len(X), 10, X.shape[1]) * 0.1 * X.std(axis=0)

    def forward(inputs):
        return torch.softmax(net.module_(inputs), dim=1)

    for k in range(3):
        inputs = torch.tensor(X, requires_grad=True)
        phi = Saliency(forward).attribute(inputs, target=k, abs=False).detach().numpy()
        reference = _captum_infidelity(forward, X, phi, eps, False, target=k)
        assert_close(ours[:, k], reference, rtol=1e-6)
    assert infidelity(explainer, X, random_state=0) == pytest.approx(ours.mean())


@pytest.mark.filterwarnings("ignore:Input Tensor 0 did not already require gradients")
@pytest.mark.parametrize("attribution", ["gradient", "gradient_x_input"])
def test_sensitivity_max_equals_captum(skorch_mlp, attribution):
    import torch
    from captum.attr import InputXGradient, Saliency
    from captum.metrics import sensitivity_max as captum_sensitivity_max

    X, net = skorch_mlp
    explainer = GradientExplainer(FrozenEstimator(net), attribution=attribution)
    explainer.fit(X)
    n_perturbations = 8
    ours = sensitivity_max(
        explainer,
        X,
        radius=0.1,
        n_perturbations=n_perturbations,
        per_sample=True,
        random_state=5,
    )
    # uniform in the box of half-width 0.1 std_k around x
    delta = (2 * _uniform(5, len(X), n_perturbations, X.shape[1]) - 1) * (
        0.1 * X.std(axis=0)
    )
    delta = torch.tensor(delta.reshape(-1, X.shape[1]))

    def perturb(inputs):
        return inputs + delta

    def forward(inputs):
        return net.module_(inputs)[:, 0]

    method = Saliency(forward) if attribution == "gradient" else InputXGradient(forward)

    def explanation(inputs):
        kwargs = {"abs": False} if attribution == "gradient" else {}
        return method.attribute(inputs, **kwargs)

    reference = captum_sensitivity_max(
        explanation,
        torch.tensor(X),
        perturb_func=perturb,
        n_perturb_samples=n_perturbations,
    ).numpy()
    assert_close(ours, reference, rtol=1e-6)
    assert np.all(ours > 0)


def test_metrics_do_not_depend_on_batching(skorch_mlp):
    """The draws of a row are the same in any batch: batch_size changes nothing."""
    X, net = skorch_mlp
    values = []
    for batch_size in ("auto", 7):
        explainer = GradientExplainer(
            FrozenEstimator(net), attribution="gradient_x_input", batch_size=batch_size
        ).fit(X)
        values.append(
            [
                infidelity(explainer, X, per_sample=True, random_state=0),
                sensitivity_max(explainer, X, per_sample=True, random_state=0),
                faithfulness_correlation(explainer, X, per_sample=True, random_state=0),
                deletion_auc(explainer, X, per_sample=True),
            ]
        )
    for auto, small in zip(*values, strict=True):
        assert_allclose(small, auto, rtol=1e-12, atol=1e-14)
    # rows drawn in any pieces get the draws of their positions
    whole = _RowDraws(0, (10, 5), "normal").rows(0, 600)
    pieces = _RowDraws(0, (10, 5), "normal")
    parts = [pieces.rows(a, b) for a, b in [(0, 250), (250, 260), (260, 600)]]
    assert_allclose(np.concatenate(parts), whole, rtol=0, atol=0)


def test_infidelity_of_black_box_by_hand():
    """Finite differences on a black box: infidelity from the analytic gradient."""
    rng = np.random.default_rng(2)
    X = rng.normal(size=(40, 4))
    model = SmoothFunction().fit(X)
    explainer = GradientExplainer(FrozenEstimator(model)).fit(X)
    assert explainer.method_ == "finite_difference"
    ours = infidelity(explainer, X, n_perturbations=6, per_sample=True, random_state=1)
    eps = _noise(1, len(X), 6, 4) * 0.1 * X.std(axis=0)
    G = model.gradient(X)
    perturbed = X[:, None, :] - eps
    change = model.predict(X)[:, None] - model.predict(
        perturbed.reshape(-1, 4)
    ).reshape(len(X), 6)
    expected = ((np.einsum("npd,nd->np", eps, G) - change) ** 2).mean(axis=1)
    assert_close(ours, expected, rtol=1e-5)


# ------------------------------------------------------- deletion and insertion
def _linear_curves(w, b, X, phi, baseline, insertion):
    """The deletion (or insertion) curve of f(x) = w·x + b, one row at a time."""
    n, d = X.shape
    curves = np.empty((n, d + 1))
    for i in range(n):
        order = np.argsort(-np.abs(phi[i]), kind="stable")
        point = baseline.copy() if insertion else X[i].copy()
        curves[i, 0] = point @ w + b
        for j, k in enumerate(order, start=1):
            point[k] = X[i, k] if insertion else baseline[k]
            curves[i, j] = point @ w + b
    fractions = np.arange(d + 1) / d
    return np.array([np.trapezoid(c, fractions) for c in curves])


@pytest.mark.parametrize("insertion", [False, True])
@pytest.mark.parametrize(
    "attribution, baseline",
    [("gradient_x_input", None), (IntegratedGradients(baseline="median"), None)],
)
def test_deletion_and_insertion_of_linear_model(attribution, baseline, insertion):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 5)) + 1.0
    w = np.array([2.0, -1.0, 0.5, 0.0, 3.0])
    model = LinearRegression().fit(X, X @ w + 0.25)
    explainer = GradientExplainer(model, attribution=attribution).fit(X, X @ w + 0.25)
    if isinstance(attribution, IntegratedGradients):
        reference = np.median(X, axis=0)  # the attribution's own baseline
        phi = (X - reference) * w
    else:
        reference = X.mean(axis=0)  # no baseline of its own: the fit data's mean
        phi = X * w
    metric = insertion_auc if insertion else deletion_auc
    ours = metric(explainer, X, per_sample=True)
    expected = _linear_curves(w, 0.25, X, phi, reference, insertion)
    assert_close(ours, expected, rtol=1e-6)
    # an explicit baseline wins
    zero = np.zeros(5)
    ours = metric(explainer, X, baseline=zero, per_sample=True)
    assert_close(ours, _linear_curves(w, 0.25, X, phi, zero, insertion), rtol=1e-6)


def test_deletion_in_steps_and_several_outputs():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(60, 6))
    y = np.argmax(X[:, :3], axis=1)
    model = LogisticRegression().fit(X, y)
    explainer = GradientExplainer(
        FrozenEstimator(model), attribution="gradient_x_input"
    ).fit(X)
    auc = deletion_auc(explainer, X, per_sample=True, n_steps=3)
    assert auc.shape == (60, 3)
    phi = explainer.explain(X)  # (n, 3, 6)
    reference = X.mean(axis=0)
    counts = [0, 2, 4, 6]
    for i in range(0, 60, 7):
        for k in range(3):
            order = np.argsort(-np.abs(phi[i, k]), kind="stable")
            curve = []
            for c in counts:
                point = X[i].copy()
                point[order[:c]] = reference[order[:c]]
                curve.append(model.predict_proba(point[None])[0, k])
            assert auc[i, k] == pytest.approx(np.trapezoid(curve, np.array(counts) / 6))
    assert deletion_auc(explainer, X, n_steps=3) == pytest.approx(auc.mean())
    with pytest.raises(ValueError, match="n_steps=7 is more than the 6 features"):
        deletion_auc(explainer, X, n_steps=7)


# ---------------------------------------------------- faithfulness correlation
@pytest.fixture(scope="module")
def linear_normal():
    """A linear model on independent standard-normal features."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal(size=(2000, 10))
    w = rng.normal(size=10) * 2
    y = X @ w + 0.5 + 0.1 * rng.normal(size=2000)
    return X, y, LinearRegression().fit(X, y)


def test_faithfulness_correlation_of_gradient_x_input_is_one(linear_normal):
    X, y, model = linear_normal
    explainer = GradientExplainer(
        FrozenEstimator(model), attribution="gradient_x_input"
    ).fit(X)
    score = faithfulness_correlation(explainer, X[:300], random_state=0)
    assert score > 0.99
    # with the zero baseline that gradient x input is complete for: exactly 1
    exact = faithfulness_correlation(
        explainer, X[:300], baseline=np.zeros(10), per_sample=True, random_state=0
    )
    assert_allclose(exact, 1.0, atol=1e-10)


def test_faithfulness_correlation_of_shuffled_attribution_is_near_zero(linear_normal):
    X, y, model = linear_normal
    permutation = np.roll(np.arange(10), 3)
    explainer = GradientExplainer(
        FrozenEstimator(model), attribution=Shuffled(permutation)
    ).fit(X)
    score = faithfulness_correlation(explainer, X[:300], random_state=0)
    assert abs(score) < 0.2


def test_faithfulness_correlation_by_hand_and_undefined_rows():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(25, 4))
    model = SmoothFunction().fit(X)
    explainer = GradientExplainer(FrozenEstimator(model)).fit(X)
    ours = faithfulness_correlation(
        explainer, X, n_subsets=15, subset_size=2, per_sample=True, random_state=4
    )
    keys = _uniform(4, len(X), 15, 4)
    chosen = np.argsort(np.argsort(keys, axis=-1), axis=-1) < 2
    reference = X.mean(axis=0)
    G = model.gradient(X)
    for i in range(len(X)):
        points = np.where(chosen[i], reference, X[i])
        change = model.predict(X[i : i + 1]) - model.predict(points)
        sums = chosen[i] @ G[i]
        assert ours[i] == pytest.approx(np.corrcoef(sums, change)[0, 1], abs=1e-6)
    # a model whose output never changes: undefined everywhere, 0 with a warning
    flat = GradientExplainer(FrozenEstimator(LinearRegression().fit(X, 0 * X[:, 0])))
    flat.fit(X)
    with pytest.warns(UserWarning, match="undefined on 25 of 25"):
        assert faithfulness_correlation(flat, X, random_state=0) == 0.0
    with pytest.raises(ValueError, match="subset_size=4 must be below"):
        faithfulness_correlation(explainer, X, subset_size=4)


# ------------------------------------------------------------------ validation
def test_metric_arguments_are_checked(linear_normal):
    X, y, model = linear_normal
    explainer = GradientExplainer(FrozenEstimator(model)).fit(X[:50])
    with pytest.raises(InvalidParameterError, match="n_perturbations"):
        infidelity(explainer, X[:5], n_perturbations=0)
    with pytest.raises(InvalidParameterError, match="noise_scale"):
        infidelity(explainer, X[:5], noise_scale=-1.0)
    with pytest.raises(InvalidParameterError, match="radius"):
        sensitivity_max(explainer, X[:5], radius=0)
    with pytest.raises(TypeError, match="need a fitted GradientExplainer"):
        infidelity(model, X[:5])
    with pytest.raises(ValueError, match="features"):
        infidelity(explainer, X[:5, :3])
    unfitted = GradientExplainer(model)
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        deletion_auc(unfitted, X[:5])


def test_metrics_do_not_mutate_the_data(linear_normal):
    X, y, model = linear_normal
    X = X[:40].copy()
    before = X.copy()
    explainer = GradientExplainer(
        FrozenEstimator(model), attribution="gradient_x_input"
    ).fit(X)
    for metric in (
        infidelity,
        sensitivity_max,
        deletion_auc,
        insertion_auc,
        faithfulness_correlation,
    ):
        metric(explainer, X)
    directional_global_gradient(explainer, X)
    assert_allclose(X, before, rtol=0, atol=0)


def test_metrics_with_features_held_fixed():
    """With features=, only the explained columns move; the others stay as given."""
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(30, 3)), columns=["a", "b", "c"])
    X["kind"] = ["u", "v"] * 15
    w = np.array([1.0, -2.0, 0.5])

    class Model(RegressorMixin, BaseEstimator):
        def fit(self, X, y=None):
            self.fitted_ = True
            return self

        def predict(self, X):
            shift = np.where(X["kind"] == "u", 1.0, -1.0)
            return X[["a", "b", "c"]].to_numpy() @ w + shift

    model = FrozenEstimator(Model().fit(X))
    explainer = GradientExplainer(model, features=["a", "b", "c"]).fit(X)
    assert infidelity(explainer, X, random_state=0) < 1e-12  # the exact gradient
    explainer = GradientExplainer(
        model, features=["a", "b", "c"], attribution="gradient_x_input"
    ).fit(X)
    exact = faithfulness_correlation(explainer, X, baseline=np.zeros(3), random_state=0)
    assert exact == pytest.approx(1.0, abs=1e-9)


# ------------------------------------------------------------- grid search
@pytest.mark.parametrize("noise_scale", [0.1, 1.0])
def test_grid_search_over_noise_level_by_infidelity(noise_scale):
    """GridSearchCV's scores equal a hand computation of -infidelity on each fold.

    Small perturbations favour the plain gradient (noise_level=0); perturbations of
    one standard deviation favour smoothing (on this model: noise_level=0.3).
    """
    rng = np.random.default_rng(0)
    X = rng.normal(size=(150, 3))
    y = np.sin(2 * X[:, 0]) + X[:, 1] * X[:, 2]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        mlp = MLPRegressor(
            hidden_layer_sizes=(16,), activation="tanh", max_iter=400, random_state=0
        ).fit(X, y)
    levels = [0.0, 0.05, 0.3]
    explainer = GradientExplainer(
        FrozenEstimator(mlp), attribution=SmoothGrad(n_samples=8, random_state=0)
    )
    cv = KFold(3)
    scorer = make_explanation_scorer(
        "infidelity", n_perturbations=5, noise_scale=noise_scale, random_state=0
    )
    search = GridSearchCV(
        explainer, {"attribution__noise_level": levels}, scoring=scorer, cv=cv
    ).fit(X)
    # by hand: SmoothGrad of the gradient with the fit noise, f from predict
    hand = np.empty((len(levels), 3))
    for c, level in enumerate(levels):
        for s, (train, test) in enumerate(cv.split(X)):
            noise = np.random.RandomState(0).standard_normal((8, 3)) * (
                level * np.ptp(X[train], axis=0)
            )
            phi = np.mean([_mlp_gradient(mlp, X[test] + e) for e in noise], axis=0)
            eps = _noise(0, len(test), 5, 3) * noise_scale * X[train].std(axis=0)
            perturbed = (X[test][:, None, :] - eps).reshape(-1, 3)
            change = mlp.predict(X[test])[:, None] - mlp.predict(perturbed).reshape(
                -1, 5
            )
            error = np.einsum("npd,nd->np", eps, phi) - change
            hand[c, s] = -np.mean(error**2)
    for s in range(3):
        assert_close(search.cv_results_[f"split{s}_test_score"], hand[:, s], rtol=1e-5)
    best = levels[int(np.argmax(hand.mean(axis=1)))]
    assert search.best_params_ == {"attribution__noise_level": best}
    print(noise_scale, search.best_params_, "mean scores", hand.mean(axis=1))


def _mlp_gradient(model, X):
    """The gradient of a fitted tanh MLPRegressor, by the chain rule in numpy."""
    a = X
    jacobian = np.broadcast_to(np.eye(X.shape[1]), (len(X), X.shape[1], X.shape[1]))
    for i, (W, b) in enumerate(zip(model.coefs_, model.intercepts_, strict=True)):
        z = a @ W + b
        jacobian = jacobian @ W
        if i < len(model.coefs_) - 1:
            a = np.tanh(z)
            jacobian = jacobian * (1 - a**2)[:, None, :]
    return jacobian[:, :, 0]


# ---------------------------------------------- directional global gradient
@pytest.mark.parametrize("directions", ["rademacher", "gaussian"])
def test_directional_global_gradient_is_unbiased(directions):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 6))
    model = SmoothFunction().fit(X)
    explainer = GradientExplainer(FrozenEstimator(model), method="finite_difference")
    explainer.fit(X)
    full = explainer.global_gradient_  # 2·d evaluations per row
    assert_close(full, model.gradient(X).mean(axis=0), rtol=1e-6)
    estimates = []
    for seed in range(20):
        result = directional_global_gradient(
            explainer, X, n_directions=2, directions=directions, random_state=seed
        )
        assert result.n_evaluations == 2 * 2 * len(X)
        assert result.global_gradient.shape == (6,)
        assert np.all(np.abs(result.global_gradient - full) < 3 * result.stderr + 1e-12)
        estimates.append(result.global_gradient)
    # unbiased: the mean of 20 independent estimates is within 3 of its stderrs
    mean = np.mean(estimates, axis=0)
    spread = np.std(estimates, axis=0, ddof=1) / np.sqrt(len(estimates))
    assert np.all(np.abs(mean - full) < 3 * spread + 1e-12)
    # the stderr is that of the spread over rows (std ddof=1 / √n)
    assert np.all(result.stderr > 0)


def test_directional_global_gradient_stderr_by_hand():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(50, 3)) * [1.0, 3.0, 0.5]
    model = SmoothFunction().fit(X)
    explainer = GradientExplainer(FrozenEstimator(model)).fit(X)
    result = directional_global_gradient(
        explainer, X, n_directions=3, step=1e-5, random_state=2
    )
    keys = _uniform(2, len(X), 3, 3)
    u = np.where(keys < 0.5, -1.0, 1.0)
    scale = np.maximum(X.std(axis=0), np.abs(X))
    delta = 1e-5 * scale[:, None, :] * u
    D = (
        model.predict((X[:, None] + delta).reshape(-1, 3))
        - model.predict((X[:, None] - delta).reshape(-1, 3))
    ).reshape(50, 3) / 2e-5
    g = np.einsum("nm,nmd->nd", D, u / scale[:, None, :]) / 3
    assert_close(result.global_gradient, g.mean(axis=0), rtol=1e-8)
    assert_close(result.stderr, g.std(axis=0, ddof=1) / np.sqrt(50), rtol=1e-8)


def test_directional_global_gradient_of_several_outputs():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(300, 4))
    y = np.argmax(X[:, :3], axis=1)
    model = LogisticRegression().fit(X, y)
    explainer = GradientExplainer(FrozenEstimator(model)).fit(X)
    result = directional_global_gradient(explainer, X, n_directions=4, random_state=0)
    assert result.global_gradient.shape == (3, 4) == result.stderr.shape
    error = np.abs(result.global_gradient - explainer.global_gradient_)
    assert np.all(error < 4 * result.stderr + 1e-12)
    weights = np.r_[np.ones(150), np.zeros(150)]
    half = directional_global_gradient(
        explainer, X, sample_weight=weights, random_state=0
    )
    rows = directional_global_gradient(explainer, X[:150], random_state=0)
    assert_allclose(half.global_gradient, rows.global_gradient, rtol=1e-12)
