"""GradientSurrogateClassifier and GradientSurrogateRegressor.

References are computed independently: analytic gradients of logistic regression and
of a ReLU MLP in plain numpy, and brute-force intercept searches.
"""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import load_digits, make_classification, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge
from sklearn.metrics import r2_score
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.svm import SVC

from sklearn_gradexplain import GradientSurrogateClassifier, GradientSurrogateRegressor
from sklearn_gradexplain.attributions import SmoothGrad


def _fit_quietly(model, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(X, y)


def _cosine(a, b):
    a, b = np.atleast_2d(a), np.atleast_2d(b)
    return np.sum(a * b, axis=1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)


def _softmax_jacobian(proba, coef):
    """∂p_k/∂x = p_k (w_k − Σ_j p_j w_j), shape (n, k, d)."""
    mixed = proba @ coef
    return proba[:, :, None] * (coef[None, :, :] - mixed[:, None, :])


def _mlp_proba_jacobian(mlp, X):
    """Per-sample Jacobian of a one-hidden-layer ReLU MLPClassifier's softmax, numpy."""
    (W1, W2), (b1, b2) = mlp.coefs_, mlp.intercepts_
    pre = X @ W1 + b1
    logits = np.maximum(pre, 0) @ W2 + b2
    proba = np.exp(logits - logits.max(axis=1, keepdims=True))
    proba /= proba.sum(axis=1, keepdims=True)
    # d logits / dx for every sample: (n, k, d)
    logit_jacobian = np.einsum("dh,nh,hk->nkd", W1, (pre > 0).astype(float), W2)
    mixed = np.einsum("nk,nkd->nd", proba, logit_jacobian)
    return proba[:, :, None] * (logit_jacobian - mixed[:, None, :])


def _brute_force_binary_agreement(scores, positive):
    """Best agreement of ``scores + b > 0`` with ``positive`` over every b (numpy)."""
    values = np.unique(scores)
    cuts = np.concatenate(
        [[values[0] - 1.0], (values[:-1] + values[1:]) / 2, [values[-1] + 1.0]]
    )
    return max(np.mean((scores > c) == positive) for c in cuts)


@pytest.fixture(scope="module")
def binary_data():
    return make_classification(
        n_samples=300, n_features=6, n_informative=4, random_state=0
    )


@pytest.fixture(scope="module")
def multiclass_data():
    return make_classification(
        n_samples=300,
        n_features=6,
        n_informative=4,
        n_classes=3,
        n_clusters_per_class=1,
        random_state=0,
    )


# ---------------------------------------------------------------------- classifier
def test_logistic_regression_binary_acceptance(binary_data):
    X, y = binary_data
    model = LogisticRegression().fit(X, y)
    surrogate = GradientSurrogateClassifier(LogisticRegression()).fit(X, y)

    # ∂p/∂x = p(1 − p) w, so the mean gradient is parallel to w.
    p = model.predict_proba(X)[:, 1]
    assert_allclose(surrogate.coef_, np.mean(p * (1 - p)) * model.coef_, rtol=1e-6)
    assert _cosine(surrogate.coef_, model.coef_)[0] > 0.999
    assert surrogate.coef_.shape == (1, X.shape[1])
    assert surrogate.intercept_.shape == (1,)

    agreement = np.mean(surrogate.predict(X) == model.predict(X))
    assert agreement >= 0.995
    assert surrogate.agreement_ == pytest.approx(agreement)
    assert surrogate.agreement_score(X) == pytest.approx(agreement)
    assert surrogate.score(X, y) == pytest.approx(np.mean(surrogate.predict(X) == y))


def test_first_order_intercept_binary(binary_data):
    X, y = binary_data
    model = LogisticRegression().fit(X, y)
    surrogate = GradientSurrogateClassifier(
        FrozenEstimator(model), intercept="first_order"
    ).fit(X)
    p = model.predict_proba(X)[:, 1]
    gradient = np.mean(p * (1 - p)) * model.coef_[0]
    # mean of f(x) − x·ḡ, thresholded at the model's p = 0.5
    assert_allclose(surrogate.intercept_, [np.mean(p - X @ gradient) - 0.5], rtol=1e-6)
    zero = GradientSurrogateClassifier(FrozenEstimator(model), intercept="zero").fit(X)
    assert_array_equal(zero.intercept_, [0.0])
    assert_allclose(zero.decision_function(X), X @ gradient, rtol=1e-6, atol=1e-12)


def test_decision_function_response_reproduces_linear_model(binary_data):
    # The gradient of a decision function x·w + b is w; its first-order intercept is
    # b: the surrogate is the model itself.
    X, y = binary_data
    model = LogisticRegression().fit(X, y)
    surrogate = GradientSurrogateClassifier(
        FrozenEstimator(model),
        response_method="decision_function",
        intercept="first_order",
    ).fit(X)
    assert_allclose(surrogate.coef_, model.coef_, rtol=1e-6)
    assert_allclose(surrogate.intercept_, model.intercept_, rtol=1e-6, atol=1e-9)
    assert_allclose(
        surrogate.decision_function(X), model.decision_function(X), rtol=1e-6, atol=1e-9
    )
    assert surrogate.agreement_ == 1.0


def test_smoothgrad_surrogate_of_linear_decision_is_its_coefficients(binary_data):
    # SmoothGrad of a linear function is its gradient for any noise level.
    X, y = binary_data
    model = LogisticRegression().fit(X, y)
    surrogate = GradientSurrogateClassifier(
        FrozenEstimator(model),
        attribution=SmoothGrad(noise_level=0.3, n_samples=5, random_state=0),
        response_method="decision_function",
    ).fit(X)
    assert_allclose(surrogate.coef_, model.coef_, rtol=1e-6)


def _models():
    return {
        "logistic": LogisticRegression(),
        "mlp": MLPClassifier(hidden_layer_sizes=(16,), max_iter=200, random_state=0),
        "svc_rbf": SVC(gamma=0.5),
    }


@pytest.mark.parametrize("model_name", ["logistic", "mlp", "svc_rbf"])
@pytest.mark.parametrize("problem", ["binary", "multiclass"])
def test_agreement_intercept_never_below_the_others(
    model_name, problem, binary_data, multiclass_data
):
    X, y = binary_data if problem == "binary" else multiclass_data
    model = _fit_quietly(_models()[model_name], X, y)
    labels = model.predict(X)
    agreements = {}
    for intercept in ["agreement", "first_order", "zero"]:
        surrogate = GradientSurrogateClassifier(
            FrozenEstimator(model), intercept=intercept
        ).fit(X)
        measured = np.mean(surrogate.predict(X) == labels)
        assert surrogate.agreement_ == pytest.approx(measured)
        agreements[intercept] = measured
    assert agreements["agreement"] >= agreements["first_order"]
    assert agreements["agreement"] >= agreements["zero"]
    if problem == "binary":
        # the exact search reaches the best intercept there is
        scores = X @ surrogate.coef_[0]
        best = _brute_force_binary_agreement(scores, labels == model.classes_[1])
        assert agreements["agreement"] == pytest.approx(best)


def test_multiclass_coef_is_mean_jacobian(multiclass_data):
    X, y = multiclass_data
    model = LogisticRegression().fit(X, y)
    surrogate = GradientSurrogateClassifier(FrozenEstimator(model)).fit(X)
    expected = _softmax_jacobian(model.predict_proba(X), model.coef_).mean(axis=0)
    assert surrogate.coef_.shape == (3, X.shape[1])
    assert surrogate.intercept_.shape == (3,)
    assert_allclose(surrogate.coef_, expected, rtol=1e-6, atol=1e-10)
    scores = surrogate.decision_function(X)
    assert scores.shape == (len(X), 3)
    assert_array_equal(surrogate.predict(X), model.classes_[np.argmax(scores, axis=1)])


def test_string_labels_and_orientation(binary_data):
    X, y = binary_data
    labels = np.array(["no", "yes"])[y]
    model = LogisticRegression().fit(X, labels)
    surrogate = GradientSurrogateClassifier(FrozenEstimator(model)).fit(X)
    assert_array_equal(surrogate.classes_, model.classes_)
    predictions = surrogate.predict(X)
    assert set(predictions) <= {"no", "yes"}
    assert_array_equal(predictions == "yes", surrogate.decision_function(X) > 0)

    # Differentiating the negative class (p_no = 1 − p_yes) gives the same classifier.
    negative = GradientSurrogateClassifier(FrozenEstimator(model), target="no").fit(X)
    assert_allclose(negative.coef_, surrogate.coef_, rtol=1e-6)
    assert_allclose(negative.intercept_, surrogate.intercept_, rtol=1e-6)
    assert_array_equal(negative.predict(X), predictions)


def test_digits_mlp_mean_jacobian():
    """The paper's MNIST experiment on scikit-learn's digits."""
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.5, random_state=0, stratify=y
    )
    mlp = _fit_quietly(
        MLPClassifier(hidden_layer_sizes=(64,), max_iter=100, random_state=0),
        X_train,
        y_train,
    )
    logistic = LogisticRegression(max_iter=1000).fit(X_train, y_train)
    surrogate = GradientSurrogateClassifier(FrozenEstimator(mlp)).fit(X_train)

    # coef_ is the mean Jacobian of the class probabilities (numpy reference).
    expected = _mlp_proba_jacobian(mlp, X_train).mean(axis=0)
    assert_allclose(
        surrogate.coef_, expected, rtol=1e-5, atol=1e-8 * np.abs(expected).max()
    )

    held_out = np.mean(surrogate.predict(X_test) == mlp.predict(X_test))
    assert surrogate.agreement_score(X_test) == pytest.approx(held_out)
    first_order = GradientSurrogateClassifier(
        FrozenEstimator(mlp), intercept="first_order"
    ).fit(X_train)
    cosines = _cosine(surrogate.coef_, logistic.coef_)
    # all pairs: each class's mean gradient against every class's LR weights
    unit = surrogate.coef_ / np.linalg.norm(surrogate.coef_, axis=1, keepdims=True)
    unit_lr = logistic.coef_ / np.linalg.norm(logistic.coef_, axis=1, keepdims=True)
    pairwise = unit @ unit_lr.T
    print(
        f"\ndigits MLP: held-out agreement {held_out:.3f} (first_order "
        f"{first_order.agreement_score(X_test):.3f}), fit agreement "
        f"{surrogate.agreement_:.3f}, cosine with LogisticRegression per class "
        f"{np.round(cosines, 3).tolist()}"
    )
    assert held_out >= 0.75
    assert surrogate.agreement_ >= first_order.agreement_
    # each class's mean gradient points like that class's logistic weights, and
    # more like them than like any other class's
    assert cosines.min() > 0.5
    assert_array_equal(np.argmax(pairwise, axis=1), np.arange(10))


def test_features_subset_scores_explained_columns(binary_data):
    X, y = binary_data
    model = LogisticRegression().fit(X, y)
    surrogate = GradientSurrogateClassifier(
        FrozenEstimator(model), features=[0, 2, 3], intercept="zero"
    ).fit(X)
    p = model.predict_proba(X)[:, 1]
    assert_allclose(
        surrogate.coef_, np.mean(p * (1 - p)) * model.coef_[:, [0, 2, 3]], rtol=1e-6
    )
    assert_allclose(
        surrogate.decision_function(X), X[:, [0, 2, 3]] @ surrogate.coef_[0], rtol=1e-9
    )


def test_dataframe_input(binary_data):
    pd = pytest.importorskip("pandas")
    X, y = binary_data
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])])
    model = LogisticRegression().fit(frame, y)
    surrogate = GradientSurrogateClassifier(FrozenEstimator(model)).fit(frame)
    assert_array_equal(surrogate.feature_names_in_, frame.columns)
    assert surrogate.agreement_score(frame) == pytest.approx(
        np.mean(surrogate.predict(frame) == model.predict(frame))
    )


def test_classifier_errors(binary_data, multiclass_data):
    X, y = binary_data
    with pytest.raises(ValueError, match="attribution"):
        GradientSurrogateClassifier(LogisticRegression(), attribution="lrp").fit(X, y)
    with pytest.raises(ValueError, match="GradientSurrogateRegressor"):
        GradientSurrogateClassifier(Ridge()).fit(X, y)
    with pytest.raises(ValueError, match="intercept"):
        GradientSurrogateClassifier(LogisticRegression(), intercept="best").fit(X, y)
    X, y = multiclass_data
    with pytest.raises(ValueError, match="one response column per class"):
        GradientSurrogateClassifier(LogisticRegression(), target=1).fit(X, y)
    ovo = SVC(decision_function_shape="ovo", gamma=0.5)
    with pytest.raises(ValueError, match="one response column per class"):
        GradientSurrogateClassifier(ovo, response_method="decision_function").fit(X, y)


# ---------------------------------------------------------------------- regressor
def test_linear_regression_agreement_is_one():
    X, y = make_regression(n_samples=200, n_features=5, noise=1.0, random_state=0)
    model = LinearRegression().fit(X, y)
    surrogate = GradientSurrogateRegressor(LinearRegression()).fit(X, y)
    assert abs(surrogate.agreement_ - 1.0) <= 1e-9
    assert_allclose(surrogate.coef_, model.coef_, rtol=1e-7)
    assert surrogate.intercept_ == pytest.approx(model.intercept_, rel=1e-7, abs=1e-9)
    assert_allclose(surrogate.predict(X), model.predict(X), rtol=1e-7, atol=1e-7)
    assert abs(surrogate.agreement_score(X) - 1.0) <= 1e-9


def test_multioutput_regressor():
    X, Y = make_regression(
        n_samples=100, n_features=4, n_targets=3, noise=1.0, random_state=0
    )
    model = Ridge().fit(X, Y)
    surrogate = GradientSurrogateRegressor(FrozenEstimator(model)).fit(X)
    assert surrogate.coef_.shape == (3, 4)
    assert_allclose(surrogate.coef_, model.coef_, rtol=1e-7)
    assert_allclose(surrogate.intercept_, model.intercept_, rtol=1e-7, atol=1e-7)
    assert surrogate.predict(X).shape == (100, 3)
    single = GradientSurrogateRegressor(FrozenEstimator(model), target=2).fit(X)
    assert_allclose(single.coef_, model.coef_[2], rtol=1e-7)


def test_nonlinear_regressor_first_order_and_agreement():
    X, y = make_regression(n_samples=200, n_features=4, noise=5.0, random_state=0)
    y = y + 0.02 * y**2
    model = _fit_quietly(
        MLPRegressor(
            hidden_layer_sizes=(16,), activation="tanh", max_iter=300, random_state=0
        ),
        X,
        y,
    )
    surrogate = GradientSurrogateRegressor(
        FrozenEstimator(model), method="finite_difference"
    ).fit(X)
    # independent check of the gradient: central differences in numpy, step 1e-5
    step = 1e-5
    gradient = np.mean(
        [
            (model.predict(X + step * e) - model.predict(X - step * e)) / (2 * step)
            for e in np.eye(X.shape[1])
        ],
        axis=1,
    )
    assert_allclose(surrogate.coef_, gradient, rtol=1e-5)
    f = model.predict(X)
    assert surrogate.intercept_ == pytest.approx(np.mean(f - X @ surrogate.coef_))
    predictions = X @ surrogate.coef_ + surrogate.intercept_
    assert_allclose(surrogate.predict(X), predictions, rtol=1e-9)
    assert surrogate.agreement_ == pytest.approx(r2_score(f, predictions))
    assert surrogate.agreement_ < 1.0
    X_new = X[:50] + 0.1
    assert surrogate.agreement_score(X_new) == pytest.approx(
        r2_score(model.predict(X_new), surrogate.predict(X_new))
    )


def test_regressor_errors():
    X, y = make_classification(
        n_samples=50, n_features=3, n_redundant=0, random_state=0
    )
    with pytest.raises(ValueError, match="GradientSurrogateClassifier"):
        GradientSurrogateRegressor(LogisticRegression()).fit(X, y)
    with pytest.raises(ValueError, match="attribution"):
        GradientSurrogateRegressor(Ridge(), attribution="integrated_gradients").fit(
            X, y
        )
