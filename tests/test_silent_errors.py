"""No silent wrong answers (issue 13): every case that 0.1 got wrong without a word.

Each test reproduces a case where 0.1 returned wrong or misleading numbers silently
(or an unhelpful error) and checks that it is now an error naming the cause and the
remedy, a warning naming the features, or the right number.
"""

import threading
import warnings

import numpy as np
import pytest
from _helpers import assert_close, requires_torch
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.cluster import KMeans
from sklearn.compose import make_column_transformer
from sklearn.datasets import load_breast_cancer, make_classification
from sklearn.decomposition import NMF
from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    IsolationForest,
    RandomForestClassifier,
)
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LinearRegression, LogisticRegression, RidgeClassifier
from sklearn.multioutput import ClassifierChain, MultiOutputClassifier
from sklearn.naive_bayes import BernoulliNB, CategoricalNB
from sklearn.neighbors import KNeighborsClassifier
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import (
    OneHotEncoder,
    OrdinalEncoder,
    QuantileTransformer,
    StandardScaler,
    TargetEncoder,
)

from sklearn_gradexplain import (
    DiscontinuityWarning,
    FiniteDifference,
    GradientExplainer,
    ZeroGradientWarning,
)
from sklearn_gradexplain.attributions import IntegratedGradients, SmoothGrad

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _ours(caught, category):
    return [w for w in caught if issubclass(w.category, category)]


def _fit_recording(explainer, X, y=None):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        explainer.fit(X, y)
    return explainer, caught


@pytest.fixture(scope="module")
def cancer():
    X, y = load_breast_cancer(return_X_y=True)
    return StandardScaler().fit_transform(X), y


# ---------------------------------------------------------------- 1. mostly zero
def test_forest_with_all_zero_gradients_warns(cancer):
    X, y = cancer
    explainer, caught = _fit_recording(
        GradientExplainer(RandomForestClassifier(n_estimators=10, random_state=0)), X, y
    )
    with pytest.warns(ZeroGradientWarning):  # explaining other rows warns again
        assert np.mean(explainer.explain(X) == 0) > 0.99
    warned = _ours(caught, ZeroGradientWarning)
    assert warned and "step" in str(warned[0].message)


def test_zero_gradient_remedy_is_a_step_larger_than_the_one_given(cancer):
    """At step=0.1 the remedy cannot be step=0.1 again: it names the larger probe."""
    X, y = cancer
    forest = RandomForestClassifier(n_estimators=10, random_state=0)
    _, caught = _fit_recording(
        GradientExplainer(forest, method=FiniteDifference(step=0.1)), X, y
    )
    messages = [str(w.message) for w in _ours(caught, ZeroGradientWarning)]
    assert messages and "FiniteDifference(step=0.5)" in messages[0]
    assert "step=0.1)" not in messages[0]


# ---------------------------------------------------------------- 2. jumps
def _categories(seed=0, n=300, d=3):
    rng = np.random.default_rng(seed)
    X = rng.integers(0, 4, size=(n, d)).astype(float)
    y = (X[:, 0] + rng.integers(0, 2, n) > 2).astype(int)
    return X, y


@pytest.mark.parametrize(
    "model, data",
    [
        (CategoricalNB(), "categories"),
        (BernoulliNB(), "binary"),
        (HistGradientBoostingClassifier(max_iter=30, random_state=0), "three"),
    ],
    ids=["CategoricalNB", "BernoulliNB", "HGB-3-class"],
)
def test_jumps_read_as_slopes_warn(model, data):
    rng = np.random.default_rng(0)
    if data == "categories":
        X, y = _categories()
    elif data == "binary":
        X = rng.integers(0, 2, size=(300, 5)).astype(float)
        y = (X[:, 0] + X[:, 1] > 0).astype(int)
    else:
        X, y = make_classification(
            n_samples=300, n_features=6, n_informative=4, n_classes=3, random_state=0
        )
    explainer, caught = _fit_recording(GradientExplainer(model), X, y)
    warned = _ours(caught, DiscontinuityWarning)
    assert warned, [str(w.message)[:80] for w in caught]
    message = str(warned[0].message)
    assert "x0" in message and "step" in message and "categorical_features" in message


def test_quantile_transformer_range_ends_warn(cancer):
    X, y = cancer
    model = make_pipeline(
        QuantileTransformer(n_quantiles=100, output_distribution="normal"),
        LogisticRegression(),
    ).fit(X, y)
    explainer, caught = _fit_recording(GradientExplainer(FrozenEstimator(model)), X)
    assert _ours(caught, DiscontinuityWarning)


@pytest.mark.parametrize(
    "encoder",
    [
        OneHotEncoder(handle_unknown="ignore"),
        OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1),
        TargetEncoder(),
    ],
    ids=["onehot", "ordinal", "target"],
)
@pytest.mark.parametrize("scheme", ["central", "forward"])
def test_integer_coded_categories_warn(encoder, scheme):
    X, y = _categories()
    model = make_pipeline(
        make_column_transformer((encoder, [0]), remainder="passthrough"),
        LogisticRegression(),
    ).fit(X, y)
    explainer, caught = _fit_recording(
        GradientExplainer(
            FrozenEstimator(model), method=FiniteDifference(scheme=scheme)
        ),
        X,
    )
    # 0.1: exactly 0 (central) or 8e6 (forward) for the coded column, no warning
    warned = _ours(caught, DiscontinuityWarning) + _ours(caught, ZeroGradientWarning)
    assert any("x0" in str(w.message) for w in warned), [
        str(w.message)[:90] for w in caught
    ]
    assert any("categorical_features" in str(w.message) for w in warned)


# ---------------------------------------------------------------- 3. NaN in output
def test_huge_inputs_through_a_scaler_pipeline_raise(cancer):
    X, y = cancer
    model = make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y)
    huge = X[:15] * 1e308
    explainer = GradientExplainer(FrozenEstimator(model)).fit(X)
    with pytest.raises(ValueError, match="rows"):
        explainer.explain(np.clip(huge, -1.7e308, 1.7e308))


class NaNRejecting(RegressorMixin, BaseEstimator):
    """A linear model that raises on NaN, like most scikit-learn models."""

    def fit(self, X, y):
        self.coef_ = np.linalg.lstsq(np.asarray(X, float), y, rcond=None)[0]
        self.n_features_in_ = np.asarray(X).shape[1]
        return self

    def predict(self, X):
        X = np.asarray(X, dtype=float)
        if np.isnan(X).any():
            raise ValueError("Input X contains NaN.")
        return X @ self.coef_


def test_nan_in_a_held_fixed_column_is_the_models_error():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3))
    model = NaNRejecting().fit(X, X @ [1.0, 2.0, 3.0])
    X_bad = X.copy()
    X_bad[:, 2] = np.nan
    explainer = GradientExplainer(FrozenEstimator(model), features=[0, 1])
    with pytest.raises(ValueError, match="NaN"):  # 0.1: all NaN attributions
        explainer.fit(X_bad)


def test_a_step_that_vanishes_raises():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 5))
    explainer = GradientExplainer(
        LinearRegression(), method=FiniteDifference(step=1e-17)
    )
    with pytest.raises(ValueError, match="step vanishes"):  # 0.1: 230/250 NaN
        explainer.fit(X, X @ np.arange(5.0))


def test_subnormal_data_raise():
    X = np.random.default_rng(0).normal(size=(30, 3)) * 1e-318
    explainer = GradientExplainer(LinearRegression(), method="finite_difference")
    with pytest.raises(ValueError, match="subnormal"):
        explainer.fit(X, np.arange(30.0))


def test_smoothgrad_with_overflowing_noise_raises():
    X = np.random.default_rng(0).normal(size=(30, 3))
    explainer = GradientExplainer(
        LinearRegression(), attribution=SmoothGrad(noise_level=1e308)
    )
    with pytest.raises(ValueError, match="noise_level"):
        explainer.fit(X, X @ [1.0, 1.0, 1.0])


def test_perturbations_that_overflow_raise_a_clear_error():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 2))
    model = LinearRegression().fit(X, X @ [1.0, 2.0])
    explainer = GradientExplainer(FrozenEstimator(model), method="finite_difference")
    explainer.fit(X)
    huge = np.array([[np.finfo(float).max, 0.5], [0.1, 0.2]])
    # 0.1: "X contains infinity" from the model, for a finite X
    with pytest.raises(ValueError, match=r"overflow.*rows \[0\]"):
        explainer.explain(huge)


# ---------------------------------------------------------------- 4. float32 models
@requires_torch
def test_float32_net_given_float64_data_uses_a_float32_step():
    import torch

    skorch = pytest.importorskip("skorch")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(100, 4))
    torch.manual_seed(0)
    module = torch.nn.Sequential(
        torch.nn.Linear(4, 16), torch.nn.Tanh(), torch.nn.Linear(16, 1)
    )
    net = skorch.NeuralNetRegressor(module, max_epochs=0).initialize()
    exact = GradientExplainer(FrozenEstimator(net), method="autograd").fit(X)
    fd = GradientExplainer(FrozenEstimator(net), method="finite_difference").fit(X)
    # 0.1 took a float64 step on a float32 model: errors 2-4e-2
    error = np.abs(fd.explain(X) - exact.explain(X)).max()
    assert error < 2e-3 * np.abs(exact.explain(X)).max()


# ---------------------------------------------------------------- 5. output shapes
def _two_labels(n=120, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    Y = np.column_stack([X[:, 0] > 0, X[:, 1] + X[:, 2] > 0]).astype(int)
    return X, Y


@pytest.mark.parametrize(
    "model",
    [
        ClassifierChain(LogisticRegression()),
        MLPClassifier(hidden_layer_sizes=(8,), max_iter=300, random_state=0),
        RidgeClassifier(),
        MultiOutputClassifier(LogisticRegression()),
        KNeighborsClassifier(),
    ],
    ids=["chain", "mlp", "ridge", "multioutput", "knn"],
)
def test_two_label_models_have_two_outputs(model):
    X, Y = _two_labels()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ZeroGradientWarning)
        warnings.simplefilter("ignore", DiscontinuityWarning)
        explainer = GradientExplainer(model, method="finite_difference").fit(X, Y)
    assert explainer.n_outputs_ == 2  # 0.1: one output (read as binary) or an error
    assert explainer.explain(X[:5]).shape == (5, 2, 4)
    one = GradientExplainer(model, method="finite_difference", target=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        one.fit(X, Y)
    assert one.explain(X[:5]).shape == (5, 4)


def test_multilabel_gradients_are_each_labels_probability():
    X, Y = _two_labels()
    model = MultiOutputClassifier(LogisticRegression()).fit(X, Y)
    explainer = GradientExplainer(FrozenEstimator(model), method="finite_difference")
    attributions = explainer.fit(X).explain(X)
    for label, estimator in enumerate(model.estimators_):
        p = estimator.predict_proba(X)[:, 1]
        expected = (p * (1 - p))[:, None] * estimator.coef_[0]
        assert_close(attributions[:, label], expected, rtol=1e-5)


class WrongWidth(ClassifierMixin, BaseEstimator):
    """predict_proba with ``width`` columns, or ``rows_short`` rows too few."""

    def __init__(self, width=3, rows_short=0):
        self.width = width
        self.rows_short = rows_short

    def fit(self, X, y):
        self.classes_ = np.unique(y)
        self.n_features_in_ = np.asarray(X).shape[1]
        return self

    def predict_proba(self, X):
        X = np.asarray(X, dtype=float)
        logits = X[:, : max(self.width, 1)]
        p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
        p = p[: len(p) - self.rows_short] if self.rows_short else p
        return p[:, 0] if self.width == 0 else p

    def predict(self, X):
        return self.classes_[np.zeros(len(X), dtype=int)]


@pytest.mark.parametrize(
    "params, message",
    [
        ({"width": 3}, "3 column"),
        ({"width": 1}, "1 column"),
        ({"width": 0}, "1 column"),
        ({"width": 2, "rows_short": 1}, "rows"),
    ],
    ids=["3-for-2", "1-column", "1-D", "row-short"],
)
def test_wrong_response_shapes_are_errors_not_guesses(params, message):
    X, y = make_classification(n_samples=60, n_features=4, random_state=0)
    with pytest.raises(ValueError, match=message):
        GradientExplainer(WrongWidth(**params), method="finite_difference").fit(X, y)


# ---------------------------------------------------------------- 6. nothing to explain
def test_clusterers_are_rejected_before_fitting():
    X = np.random.default_rng(0).normal(size=(50, 3))
    with pytest.raises(ValueError, match="clusterer"):
        GradientExplainer(KMeans(n_clusters=2, n_init=1)).fit(X)


def test_outlier_detectors_explain_their_score_and_say_it_is_piecewise_constant():
    X = np.random.default_rng(0).normal(size=(200, 3))
    explainer, caught = _fit_recording(
        GradientExplainer(IsolationForest(n_estimators=20, random_state=0)), X
    )
    assert explainer.response_method_ == "decision_function"  # not the ±1 labels
    assert _ours(caught, ZeroGradientWarning) or _ours(caught, DiscontinuityWarning)
    with pytest.raises(ValueError, match="labels"):
        GradientExplainer(IsolationForest(), response_method="predict").fit(X)


# ---------------------------------------------------------------- 7. repeated modules
@requires_torch
def test_lrp_propagates_a_repeated_module_once_per_occurrence():
    import torch
    from torch import nn

    skorch = pytest.importorskip("skorch")
    torch.manual_seed(0)
    relu = nn.ReLU()
    module = nn.Sequential(
        nn.Linear(4, 6), relu, nn.Linear(6, 5), relu, nn.Linear(5, 1)
    ).double()
    net = skorch.NeuralNetRegressor(module, max_epochs=0).initialize()
    X = np.random.default_rng(0).normal(size=(30, 4))
    # LRP-0 of a bias-free-free ReLU net equals gradient x input (Samek et al.):
    # checked layer by layer against a plain numpy propagation of the full network
    weights = [
        (m.weight.detach().numpy(), m.bias.detach().numpy())
        for m in module
        if isinstance(m, nn.Linear)
    ]
    activations = [X]
    for i, (W, b) in enumerate(weights):
        z = activations[-1] @ W.T + b
        activations.append(np.maximum(z, 0) if i < 2 else z)
    R = activations[-1]
    for i in reversed(range(3)):
        W, b = weights[i]
        a = activations[i]
        z = a @ W.T + b
        s = np.where(z == 0, 0, R / np.where(z == 0, 1, z))
        R = a * (s @ W)
    explainer = GradientExplainer(FrozenEstimator(net), attribution="lrp")
    explainer.set_params(attribution__rule="zero") if False else None
    from sklearn_gradexplain.attributions import LRP

    ours = GradientExplainer(FrozenEstimator(net), attribution=LRP(rule="zero")).fit(X)
    assert_close(ours.explain(X), R, rtol=1e-9)  # 0.1: max error 0.166


# ---------------------------------------------------------------- 8. caller's data
class Mutating(RegressorMixin, BaseEstimator):
    """Writes into its input (zeroes the first column) in predict."""

    def fit(self, X, y):
        self.n_features_in_ = np.asarray(X).shape[1]
        return self

    def predict(self, X):
        out = np.asarray(X, dtype=float) @ np.arange(1.0, self.n_features_in_ + 1)
        if isinstance(X, np.ndarray) and X.flags.writeable:
            X[:, 0] = 0.0
        return out


@pytest.mark.parametrize(
    "attribution", ["gradient", IntegratedGradients(n_steps=4)], ids=["gradient", "ig"]
)
def test_a_model_writing_into_its_input_never_reaches_the_callers_data(attribution):
    X = np.random.default_rng(0).normal(size=(40, 3)) + 5
    original = X.copy()
    explainer = GradientExplainer(
        FrozenEstimator(Mutating().fit(X, None)), attribution=attribution
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        explainer.fit(X)
        explainer.explain(X)
        if hasattr(explainer, "completeness_delta"):
            explainer.completeness_delta(X)
    np.testing.assert_array_equal(X, original)


@requires_torch
def test_a_module_clamping_in_place_never_reaches_the_callers_data():
    import torch

    skorch = pytest.importorskip("skorch")

    class Clamping(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.linear = torch.nn.Linear(3, 1).double()

        def forward(self, X):
            X.clamp_(min=0)  # in place, on whatever it is given
            return self.linear(X)

    net = skorch.NeuralNetRegressor(Clamping, max_epochs=0).initialize()
    X = np.random.default_rng(0).normal(size=(30, 3))
    original = X.copy()
    for method in ("autograd", "finite_difference"):
        GradientExplainer(FrozenEstimator(net), method=method).fit(X).explain(X)
    np.testing.assert_array_equal(X, original)


# ---------------------------------------------------------------- 9. threads
@requires_torch
def test_token_explainer_is_thread_safe_and_never_touches_the_module():
    import torch

    skorch = pytest.importorskip("skorch")
    from torch import nn

    from sklearn_gradexplain import TokenGradientExplainer

    class Bag(nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = nn.Embedding(30, 4)
            self.out = nn.Linear(4, 2)

        def forward(self, ids):
            return self.out(self.embedding(ids).mean(dim=1))

    torch.manual_seed(0)
    net = skorch.NeuralNetClassifier(Bag, max_epochs=0, classes=[0, 1]).initialize()
    ids = np.random.default_rng(0).integers(0, 30, size=(40, 6))
    explainer = TokenGradientExplainer(FrozenEstimator(net)).fit(ids)
    expected = explainer.explain(ids)
    proba = net.predict_proba(ids[:7])
    errors, wrong = [], []

    def explain():
        try:
            for _ in range(30):
                if not np.allclose(explainer.explain(ids), expected):
                    wrong.append(1)
        except Exception as exc:  # noqa: BLE001 - the test reports any failure
            errors.append(exc)

    def predict():
        for _ in range(30):
            out = net.predict_proba(ids[:7])
            if out.shape != (7, 2) or not np.allclose(out, proba):
                wrong.append(1)

    threads = [threading.Thread(target=explain) for _ in range(4)]
    threads.append(threading.Thread(target=predict))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors and not wrong  # 0.1: 18-55 of 120 failed, 2-4 wrong
    for layer in net.module_.modules():
        assert not layer._forward_hooks


# ---------------------------------------------------------------- 10. units
def test_scaled_importance_ranks_features_measured_in_large_units(cancer):
    X, y = load_breast_cancer(return_X_y=True)
    names = load_breast_cancer().feature_names
    explainer = GradientExplainer(
        make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    ).fit(X, y)
    table = explainer.summary()
    raw_first = names[np.argmax(explainer.feature_importances_)]
    scaled_first = table.sort_values("scaled_importance").iloc[-1]["feature"]
    # raw-unit gradients put a tiny-unit feature first; one std of each feature
    # is the comparable unit
    assert raw_first == "fractal dimension error"
    assert scaled_first != raw_first
    assert_close(
        table["scaled_importance"].to_numpy(),
        explainer.feature_importances_ * X.std(axis=0),
        rtol=1e-10,
    )


# ---------------------------------------------------------------- clear errors
def test_negative_values_from_the_central_step_suggest_forward_differences():
    X = np.abs(np.random.default_rng(0).normal(size=(40, 4)))
    X[:5, 0] = 0.0
    model = make_pipeline(
        NMF(n_components=2, max_iter=500, random_state=0), LinearRegression()
    )
    model.fit(X, X.sum(axis=1))
    explainer = GradientExplainer(FrozenEstimator(model), method="finite_difference")
    with pytest.raises(ValueError, match="scheme='forward'"):
        explainer.fit(X)
    forward = GradientExplainer(
        FrozenEstimator(model), method=FiniteDifference(scheme="forward")
    ).fit(X)
    assert np.isfinite(forward.explain(X)).all()


def test_unknown_categories_from_perturbed_codes_suggest_categorical_features():
    X, y = _categories()
    model = make_pipeline(
        make_column_transformer((OneHotEncoder(), [0]), remainder="passthrough"),
        LogisticRegression(),
    ).fit(X, y)
    explainer = GradientExplainer(FrozenEstimator(model), method="finite_difference")
    with pytest.raises(ValueError, match="categorical_features"):
        explainer.fit(X)


def test_a_model_failing_only_in_the_probe_does_not_fail_fit(cancer):
    X, y = cancer

    class FailsFarAway(RandomForestClassifier):
        def predict_proba(self, X):
            if np.abs(np.asarray(X)).max() > 50:
                raise ArithmeticError("outside the domain")
            return super().predict_proba(X)

    X = X / np.abs(X).max() * 40
    explainer, caught = _fit_recording(
        GradientExplainer(FailsFarAway(n_estimators=5, random_state=0)), X, y
    )
    assert explainer.global_gradient_.shape == (X.shape[1],)


def _regression(n_samples=40, n_features=4):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n_samples, n_features))
    return X, X @ np.arange(1.0, n_features + 1)


def test_nan_in_X_names_the_columns_and_the_features_remedy():
    X, y = _regression()
    X[3, 1] = np.nan
    with pytest.raises(ValueError, match=r"NaN in columns \[1\].*features=\[") as info:
        GradientExplainer(LinearRegression()).fit(X, y)
    assert "SimpleImputer" in str(info.value)


def test_datetime_columns_are_named_and_can_be_held_fixed():
    pd = pytest.importorskip("pandas")
    X, y = _regression()
    frame = pd.DataFrame(X, columns=list("abcd"))
    frame["when"] = pd.date_range("2020-01-01", periods=len(frame))
    model = make_pipeline(
        make_column_transformer(("passthrough", list("abcd"))), LinearRegression()
    ).fit(frame, y)
    with pytest.raises(ValueError, match=r"datetime columns \['when'\].*features="):
        GradientExplainer(FrozenEstimator(model)).fit(frame)
    held = GradientExplainer(FrozenEstimator(model), features=list("abcd")).fit(frame)
    assert_close(
        held.explain(frame), np.tile(model[-1].coef_, (len(frame), 1)), rtol=1e-6
    )


@pytest.mark.parametrize(
    "features, message",
    [
        (np.array([True, False, True, False]), "boolean mask; pass np.flatnonzero"),
        ([0.0, 1.5], r"got floats \[0.0, 1.5\]"),
    ],
    ids=["boolean-mask", "floats"],
)
def test_features_as_a_mask_or_floats_is_a_clear_error(features, message):
    X, y = _regression()
    CountingModel = type("CountingModel", (LinearRegression,), {})
    with pytest.raises(ValueError, match=message):
        GradientExplainer(CountingModel(), features=features).fit(X, y)


def test_verbose_without_tqdm_says_how_to_install_it(monkeypatch):
    X, y = _regression()
    monkeypatch.setitem(__import__("sys").modules, "tqdm", None)
    with pytest.raises(ImportError, match="pip install tqdm, or use verbose=0"):
        GradientExplainer(LinearRegression(), verbose=1).fit(X, y)


def test_sparse_pca_is_explained_from_a_single_row():
    # 0.1 probed the response on one row, where SparsePCA's transform failed
    from sklearn.decomposition import SparsePCA

    X, y = _regression()
    model = make_pipeline(
        SparsePCA(n_components=2, random_state=0), LinearRegression()
    ).fit(X, y)
    # the pipeline is linear (a ridge projection, then a linear model): its gradient
    # is the change of the prediction along each unit vector
    # (SparsePCA's transform of a single row is 1-D: the model fails on one row)
    with pytest.raises(ValueError, match="2D"):
        model.predict(X[:1])
    points = model.predict(np.vstack([np.zeros(X.shape[1]), np.eye(X.shape[1])]))
    truth = points[1:] - points[0]
    explainer = GradientExplainer(FrozenEstimator(model), method="finite_difference")
    explainer.fit(X[:1])
    assert_close(explainer.explain(X[:1])[0], truth, rtol=1e-6, atol=1e-9)


def test_a_prefit_model_given_other_columns_is_a_clear_error():
    # 0.1 (and a torch size mismatch after it) failed inside the model's first call
    X, y = _regression()
    model = FrozenEstimator(LinearRegression().fit(X, y))
    with pytest.raises(
        ValueError, match="X has 5 columns, but the LinearRegression was fitted on 4"
    ):
        GradientExplainer(model).fit(np.hstack([X, X[:, :1]]))


# ---------------------------------------------------------------- memory and scale
def _traced_peak(function):
    """Traced peak memory of ``function()`` above what was allocated before."""
    import tracemalloc

    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
        result = function()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return peak - before, result


def test_wide_data_memory_is_bounded_by_the_rows_of_a_call():
    # 0.1 stacked (rows, 2d, d) perturbations: 16·d² bytes a row, 5 rows × 10,000
    # features took 3.05 GiB. Features are blocked now: a call holds at most
    # max_rows perturbed rows whatever d.
    rng = np.random.default_rng(0)
    n, d = 6, 3000
    X = rng.normal(size=(n, d))
    model = make_pipeline(StandardScaler(), LinearRegression()).fit(
        rng.normal(size=(50, d)), rng.normal(size=50)
    )
    explainer = GradientExplainer(FrozenEstimator(model), method="finite_difference")
    explainer.fit(X)
    peak, attributions = _traced_peak(lambda: explainer.explain(X))
    stacked_all = n * 2 * d * d * 8  # 0.1's block: 864 MB here
    call = explainer._max_rows("finite_difference") * d * 8  # one call's rows
    assert peak < 6 * call < 0.25 * stacked_all
    assert_close(attributions, np.tile(model[-1].coef_ / model[0].scale_, (n, 1)), 1e-5)


def test_fit_holds_a_few_chunks_not_a_copy_of_the_data():
    # 0.1: fit grew with the rows (twice the input at 1M x 50); explain was flat
    rng = np.random.default_rng(0)
    d = 10
    model = LinearRegression().fit(rng.normal(size=(100, d)), rng.normal(size=100))
    peaks = {}
    for n in (20_000, 80_000):
        X = rng.normal(size=(n, d))
        explainer = GradientExplainer(
            FrozenEstimator(model), method="finite_difference", batch_size=2000
        )
        peaks[n], _ = _traced_peak(lambda X=X, e=explainer: e.fit(X))
        del X
    assert peaks[80_000] < 1.5 * peaks[20_000]
    assert peaks[80_000] < 80_000 * d * 8  # less than one copy of X


def test_process_workers_receive_only_their_chunks_rows(monkeypatch):
    import pandas as pd
    from joblib import parallel_config

    import sklearn_gradexplain._base as base

    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(3000, 3)), columns=["a", "b", "c"])
    frame["city"] = rng.choice(["x", "y"], size=3000)
    model = make_pipeline(
        make_column_transformer((OneHotEncoder(), ["city"]), remainder="passthrough"),
        LinearRegression(),
    ).fit(frame, rng.normal(size=3000))
    seen = []
    run_chunk = base._run_chunk

    def spy(attribution, engine, points, start, stop):
        seen.append((len(points.context), stop - start))
        return run_chunk(attribution, engine, points, start, stop)

    monkeypatch.setattr(base, "_run_chunk", spy)
    explainer = GradientExplainer(
        FrozenEstimator(model), features=["a", "b", "c"], batch_size=600, n_jobs=2
    )
    with parallel_config(backend="threading"):
        explainer.fit(frame)
    assert len(seen) > 1
    assert all(rows == size for rows, size in seen)  # 0.1: the whole frame each time


def test_verbose_shows_progress_within_what_would_be_one_chunk(capsys):
    pytest.importorskip("tqdm")
    X = np.random.default_rng(0).normal(size=(200, 4))
    model = LinearRegression().fit(X, X @ [1.0, 2.0, 3.0, 4.0])
    explainer = GradientExplainer(
        FrozenEstimator(model), method="finite_difference", verbose=1
    )
    assert explainer.set_params(verbose=0).fit(X)._rows_per_chunk(
        explainer._engine(explainer._validate_input(X, reset=False)), len(X)
    ) >= len(X)  # without a bar everything is one chunk ...
    explainer.set_params(verbose=1).fit(X)
    captured = capsys.readouterr().err
    assert "10/10" in captured  # ... with one, the bar moves ten times (0.1: none)
