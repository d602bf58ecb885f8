"""GradientExplainer: analytic gradients, engines, shapes, scikit-learn conventions."""

import pickle
import warnings

import numpy as np
import pytest
from _helpers import assert_close
from numpy.testing import assert_allclose
from sklearn.base import clone
from sklearn.datasets import make_classification, make_regression
from sklearn.ensemble import RandomForestClassifier
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import Lasso, LinearRegression, LogisticRegression, Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import InvalidParameterError

from sklearn_gradexplain import (
    FiniteDifference,
    GradientExplainer,
    NotDifferentiableError,
    ZeroGradientWarning,
)
from sklearn_gradexplain.attributions import IntegratedGradients


def softmax_jacobian(P, W):
    """∂p_k/∂x = p_k (w_k − Σ_j p_j w_j), shape (n, k, d)."""
    return P[:, :, None] * (W[None, :, :] - (P @ W)[:, None, :])


@pytest.fixture(scope="module")
def binary_data():
    return make_classification(
        n_samples=200, n_features=5, n_informative=3, random_state=0
    )


@pytest.fixture(scope="module")
def multiclass_data():
    return make_classification(
        n_samples=300, n_features=6, n_informative=4, n_classes=3, random_state=1
    )


# ---------------------------------------------------------------- analytic gradients
def test_linear_regression_gradient_is_coef():
    X, y = make_regression(n_samples=100, n_features=4, random_state=0)
    explainer = GradientExplainer(LinearRegression(), method="finite_difference")
    attributions = explainer.fit(X, y).explain(X)
    coef = explainer.estimator_.coef_
    assert attributions.shape == X.shape
    assert_close(attributions, np.tile(coef, (len(X), 1)), rtol=1e-6)
    assert_close(explainer.global_gradient_, coef, rtol=1e-6)
    assert_close(explainer.feature_importances_, np.abs(coef), rtol=1e-6)


def test_binary_logistic_gradient_matches_analytic(binary_data):
    X, y = binary_data
    explainer = GradientExplainer(LogisticRegression(), method="finite_difference")
    attributions = explainer.fit(X, y).explain(X)
    model = explainer.estimator_
    p = model.predict_proba(X)[:, 1]
    expected = (p * (1 - p))[:, None] * model.coef_[0]
    assert explainer.response_method_ == "predict_proba"
    assert attributions.shape == X.shape
    assert_close(attributions, expected, rtol=1e-5)


def test_multinomial_logistic_jacobian_matches_analytic(multiclass_data):
    X, y = multiclass_data
    explainer = GradientExplainer(LogisticRegression(), method="finite_difference")
    attributions = explainer.fit(X, y).explain(X)
    model = explainer.estimator_
    expected = softmax_jacobian(model.predict_proba(X), model.coef_)
    assert attributions.shape == (len(X), 3, X.shape[1])
    assert_close(attributions, expected, rtol=1e-5)
    assert explainer.global_gradient_.shape == (3, X.shape[1])
    # the probabilities sum to one: their gradients sum to zero
    assert_allclose(attributions.sum(axis=1), 0, atol=1e-8)


def test_pipeline_gradient_is_with_respect_to_raw_features(binary_data):
    X, y = binary_data
    X = X * np.array([1, 10, 100, 0.1, 5]) + 3
    pipeline = make_pipeline(StandardScaler(), LogisticRegression())
    explainer = GradientExplainer(pipeline, method="finite_difference").fit(X, y)
    scaler, model = explainer.estimator_[0], explainer.estimator_[-1]
    p = explainer.estimator_.predict_proba(X)[:, 1]
    expected = (p * (1 - p))[:, None] * model.coef_[0] / scaler.scale_
    assert_close(explainer.explain(X), expected, rtol=1e-5)


def test_target_selects_one_output(multiclass_data):
    X, y = multiclass_data
    full = GradientExplainer(LogisticRegression(), method="finite_difference").fit(X, y)
    one = GradientExplainer(
        LogisticRegression(), method="finite_difference", target=2
    ).fit(X, y)
    assert one.explain(X).shape == X.shape
    assert_close(one.explain(X), full.explain(X)[:, 2], rtol=1e-12)
    with pytest.raises(ValueError, match="not one of the classes"):
        GradientExplainer(LogisticRegression(), target=7).fit(X, y)


def test_binary_decision_function_negative_class_is_negated(binary_data):
    X, y = binary_data
    common = dict(method="finite_difference", response_method="decision_function")
    positive = GradientExplainer(LogisticRegression(), **common).fit(X, y)
    negative = GradientExplainer(LogisticRegression(), target=0, **common).fit(X, y)
    coef = positive.estimator_.coef_[0]
    assert_close(positive.explain(X), np.tile(coef, (len(X), 1)), rtol=1e-6)
    assert_close(negative.explain(X), -positive.explain(X), rtol=1e-12)


def test_string_class_labels(binary_data):
    X, y = binary_data
    labels = np.array(["no", "yes"])[y]
    explainer = GradientExplainer(LogisticRegression(), target="no").fit(X, labels)
    assert list(explainer.classes_) == ["no", "yes"]
    model = explainer.estimator_
    p = model.predict_proba(X)[:, 0]
    assert_close(explainer.explain(X), (p * (1 - p))[:, None] * -model.coef_[0], 1e-5)


# ---------------------------------------------------------------- finite differences
def test_central_error_quarters_when_step_halves():
    # f(x) = exp(w·x): the truncation error of central differences is O(h²)
    X, y = make_regression(n_samples=50, n_features=3, random_state=0)
    X = X / 4
    model = make_pipeline(
        StandardScaler(), LogisticRegression(C=0.01)
    )  # smooth, curved response
    y = (y > 0).astype(int)
    frozen = FrozenEstimator(model.fit(X, y))
    p = model.predict_proba(X)[:, 1]
    scaler, logistic = model[0], model[-1]
    exact = (p * (1 - p))[:, None] * logistic.coef_[0] / scaler.scale_
    errors = []
    for step in (1e-2, 5e-3):
        explainer = GradientExplainer(frozen, method=FiniteDifference(step=step))
        errors.append(np.abs(explainer.fit(X).explain(X) - exact).max())
    assert 3.0 < errors[0] / errors[1] < 5.0


def test_forward_scheme_is_first_order_accurate(binary_data):
    X, y = binary_data
    explainer = GradientExplainer(
        LogisticRegression(), method=FiniteDifference(scheme="forward")
    ).fit(X, y)
    model = explainer.estimator_
    p = model.predict_proba(X)[:, 1]
    expected = (p * (1 - p))[:, None] * model.coef_[0]
    assert_close(explainer.explain(X), expected, rtol=1e-5)


def test_results_do_not_depend_on_batch_size_or_n_jobs(multiclass_data):
    X, y = multiclass_data
    reference = GradientExplainer(LogisticRegression(), method="finite_difference")
    reference = reference.fit(X, y).explain(X)
    for batch_size, n_jobs in [(7, 1), (50, 2), (10_000, None)]:
        explainer = GradientExplainer(
            LogisticRegression(),
            method="finite_difference",
            batch_size=batch_size,
            n_jobs=n_jobs,
        )
        assert_close(explainer.fit(X, y).explain(X), reference, rtol=1e-9)


def test_zero_gradient_warning_for_trees_not_for_lasso(binary_data):
    X, y = binary_data
    with pytest.warns(ZeroGradientWarning, match="step"):
        GradientExplainer(RandomForestClassifier(n_estimators=5, random_state=0)).fit(
            X, y
        )
    X_reg, y_reg = make_regression(n_samples=80, n_features=10, n_informative=2)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ZeroGradientWarning)
        lasso = GradientExplainer(Lasso(alpha=5.0)).fit(X_reg, y_reg)
    assert np.mean(lasso.explain(X_reg) == 0) > 0.5


def test_never_mutates_read_only_input(binary_data):
    X, y = binary_data
    X = np.array(X)
    X.setflags(write=False)
    before = X.copy()
    GradientExplainer(LogisticRegression(), attribution="smoothgrad").fit(X, y)
    np.testing.assert_array_equal(X, before)


# ---------------------------------------------------------------- skorch / autograd
@pytest.fixture(scope="module")
def skorch_net():
    torch = pytest.importorskip("torch")
    skorch = pytest.importorskip("skorch")
    torch.manual_seed(0)
    X, y = make_classification(
        n_samples=200, n_features=6, n_informative=4, n_classes=3, random_state=0
    )
    module = torch.nn.Sequential(
        torch.nn.Linear(6, 16), torch.nn.Tanh(), torch.nn.Linear(16, 3)
    ).double()
    net = skorch.NeuralNetClassifier(
        module,
        criterion=torch.nn.CrossEntropyLoss,
        max_epochs=5,
        lr=0.1,
        train_split=None,
        verbose=0,
    )
    net.fit(X, y)
    return net, X, y


def test_skorch_autograd_matches_hand_written_gradient(skorch_net):
    import torch

    net, X, y = skorch_net
    explainer = GradientExplainer(FrozenEstimator(net)).fit(X)
    assert explainer.method_ == "autograd"
    attributions = explainer.explain(X)
    X_tensor = torch.tensor(X, requires_grad=True)
    probabilities = torch.softmax(net.module_(X_tensor), dim=-1)
    expected = np.stack(
        [
            torch.autograd.grad(probabilities[:, k].sum(), X_tensor, retain_graph=True)[
                0
            ].numpy()
            for k in range(3)
        ],
        axis=1,
    )
    assert attributions.shape == (len(X), 3, 6)
    assert_close(attributions, expected, rtol=1e-5)


def test_skorch_finite_differences_match_autograd(skorch_net):
    net, X, _ = skorch_net
    exact = GradientExplainer(FrozenEstimator(net), method="autograd").fit(X)
    approx = GradientExplainer(FrozenEstimator(net), method="finite_difference").fit(X)
    assert_close(approx.explain(X), exact.explain(X), rtol=1e-4)


def test_skorch_decision_function_is_raw_module_output(skorch_net):
    import torch

    net, X, _ = skorch_net
    explainer = GradientExplainer(
        FrozenEstimator(net), response_method="decision_function", target=1
    ).fit(X)
    X_tensor = torch.tensor(X, requires_grad=True)
    (expected,) = torch.autograd.grad(net.module_(X_tensor)[:, 1].sum(), X_tensor)
    assert_close(explainer.explain(X), expected.numpy(), rtol=1e-10)


def test_skorch_module_is_not_mutated(skorch_net):
    net, X, _ = skorch_net
    module = net.module_
    module.train()
    state = {k: v.clone() for k, v in module.state_dict().items()}
    grads = [None if p.grad is None else p.grad.clone() for p in module.parameters()]
    GradientExplainer(FrozenEstimator(net)).fit(X)
    assert module.training
    for parameter, grad in zip(module.parameters(), grads, strict=True):
        assert (parameter.grad is None) == (grad is None)
        assert grad is None or (parameter.grad == grad).all()
    for key, value in module.state_dict().items():
        assert (value == state[key]).all()
    module.eval()


# ---------------------------------------------------------------- errors
def test_autograd_on_forest_raises_not_differentiable(binary_data):
    X, y = binary_data
    forest = RandomForestClassifier(n_estimators=3, random_state=0)
    with pytest.raises(NotDifferentiableError, match="finite_difference"):
        GradientExplainer(forest, method="autograd").fit(X, y)
    assert (
        GradientExplainer(forest, method=FiniteDifference(step=0.1)).fit(X, y).method_
        == "finite_difference"
    )


@pytest.mark.parametrize(
    "params, name",
    [
        ({"attribution": "shap"}, "attribution"),
        ({"method": "exact"}, "method"),
        ({"method": FiniteDifference(step=-1.0)}, "step"),
        ({"attribution": IntegratedGradients(n_steps=0)}, "n_steps"),
        ({"method": FiniteDifference(scheme="backward")}, "scheme"),
        ({"batch_size": 0}, "batch_size"),
    ],
)
def test_invalid_parameters_name_the_parameter(binary_data, params, name):
    X, y = binary_data
    with pytest.raises(InvalidParameterError, match=name):
        GradientExplainer(LogisticRegression(), **params).fit(X, y)


@pytest.mark.parametrize(
    "X_bad, message",
    [
        (np.array([[1.0, np.nan, 0, 0, 0]]), "NaN"),
        (np.array([[1.0, np.inf, 0, 0, 0]]), "infinity"),
        (np.ones((3, 4)), "features"),
        (np.ones(5), "2D array"),
        (np.ones((0, 5)), "0 sample"),
    ],
)
def test_bad_input_raises_value_error(binary_data, X_bad, message):
    X, y = binary_data
    explainer = GradientExplainer(LogisticRegression()).fit(X, y)
    with pytest.raises(ValueError, match=message):
        explainer.explain(X_bad)


# ---------------------------------------------------------------- sklearn conventions
def test_frozen_estimator_is_not_refitted(binary_data):
    X, y = binary_data
    model = LogisticRegression().fit(X, y)
    coef = model.coef_.copy()
    explainer = GradientExplainer(FrozenEstimator(model)).fit(X[:50])
    assert explainer.estimator_.estimator is model
    np.testing.assert_array_equal(model.coef_, coef)


def test_delegation_and_pickling(binary_data):
    X, y = binary_data
    explainer = GradientExplainer(LogisticRegression()).fit(X, y)
    np.testing.assert_array_equal(explainer.predict(X), explainer.estimator_.predict(X))
    assert explainer.score(X, y) == explainer.estimator_.score(X, y)
    assert_allclose(explainer.predict_proba(X), explainer.estimator_.predict_proba(X))
    restored = pickle.loads(pickle.dumps(explainer))
    np.testing.assert_array_equal(restored.explain(X), explainer.explain(X))
    regressor = GradientExplainer(Ridge()).fit(X, y)
    assert not hasattr(regressor, "predict_proba")
    assert not hasattr(explainer, "completeness_delta")


def test_dataframe_names_and_pandas_output(multiclass_data):
    pd = pytest.importorskip("pandas")
    X, y = multiclass_data
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    explainer = GradientExplainer(LogisticRegression()).set_output(transform="pandas")
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # no feature-name warnings
        out = explainer.fit(frame, y).transform(frame)
    assert list(explainer.feature_names_in_) == list(frame.columns)
    assert out.shape == (len(X), 3 * X.shape[1])
    assert list(out.columns[:2]) == ["grad[0]__f0", "grad[0]__f1"]
    assert_close(out.to_numpy(), explainer.explain(frame).reshape(len(X), -1), 1e-12)
    binary = GradientExplainer(LogisticRegression()).fit(frame, y == 0)
    assert list(binary.get_feature_names_out())[:2] == ["grad__f0", "grad__f1"]


def test_clone_and_params():
    explainer = GradientExplainer(
        LogisticRegression(), attribution=IntegratedGradients()
    )
    params = explainer.get_params()
    assert params["attribution__n_steps"] == 50
    cloned = clone(explainer).set_params(attribution__n_steps=10, estimator__C=2.0)
    assert cloned.attribution.n_steps == 10 and cloned.estimator.C == 2.0
    assert explainer.attribution.n_steps == 50 and explainer.estimator.C == 1.0
    with pytest.raises(TypeError, match="unexpected"):
        GradientExplainer(LogisticRegression(), n_step=3)


def test_cuda_device_gives_the_cpu_result(skorch_net):
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA device")
    net, X, _ = skorch_net
    cpu = GradientExplainer(FrozenEstimator(net)).fit(X)
    cuda = GradientExplainer(FrozenEstimator(net), device="cuda").fit(X)
    assert cuda.method_ == "autograd"
    assert_close(cuda.explain(X), cpu.explain(X), rtol=1e-6)
    assert next(net.module_.parameters()).device.type == "cpu"


def test_features_keep_their_order(binary_data):
    X, y = binary_data
    full = GradientExplainer(LogisticRegression(), method="finite_difference").fit(X, y)
    part = GradientExplainer(
        LogisticRegression(), method="finite_difference", features=[3, 0]
    ).fit(X, y)
    assert_close(part.explain(X), full.explain(X)[:, [3, 0]], rtol=1e-7)
    assert list(part.get_feature_names_out()) == ["grad__x3", "grad__x0"]
    with pytest.raises(ValueError, match="twice"):
        GradientExplainer(LogisticRegression(), features=[1, -4]).fit(X, y)


def test_float32_means_accumulate_in_float64():
    X, y = make_regression(n_samples=5000, n_features=3, random_state=0)
    X = X.astype(np.float32)
    model = LinearRegression().fit(X, y)
    explainer = GradientExplainer(FrozenEstimator(model)).fit(X)
    attributions = explainer.explain(X)
    assert attributions.dtype == np.float32
    expected = attributions.astype(np.float64).mean(axis=0)
    assert explainer.global_gradient_.dtype == np.float64
    assert_allclose(explainer.global_gradient_, expected, rtol=1e-12)
