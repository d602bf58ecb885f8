"""Translation of fitted scikit-learn estimators into torch (issue 4).

Every covered type is checked against the estimator's own output (forward pass to
1e-10), its gradients against central finite differences of the estimator itself
(1e-5), and a few against closed-form derivatives.
"""

import pickle
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.compose import ColumnTransformer
from sklearn.datasets import make_classification, make_regression
from sklearn.decomposition import PCA, IncrementalPCA, TruncatedSVD
from sklearn.discriminant_analysis import (
    LinearDiscriminantAnalysis,
    QuadraticDiscriminantAnalysis,
)
from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.frozen import FrozenEstimator
from sklearn.kernel_ridge import KernelRidge
from sklearn.linear_model import (
    BayesianRidge,
    ElasticNet,
    HuberRegressor,
    Lasso,
    LinearRegression,
    LogisticRegression,
    Perceptron,
    Ridge,
    RidgeClassifier,
    SGDClassifier,
    SGDRegressor,
)
from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import (
    FunctionTransformer,
    MaxAbsScaler,
    MinMaxScaler,
    Normalizer,
    OneHotEncoder,
    PolynomialFeatures,
    RobustScaler,
    StandardScaler,
)
from sklearn.svm import SVC, SVR, LinearSVC, LinearSVR, NuSVC, NuSVR

from sklearn_gradexplain import GradientExplainer
from sklearn_gradexplain.exceptions import NotDifferentiableError

torch = pytest.importorskip("torch")
from sklearn_gradexplain._engines._translate import (  # noqa: E402
    mlp_to_sequential,
    translate,
)

N_FEATURES = 5

# tiny models do not converge; that does not matter for a translation
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _data(task):
    if task in ("regression", "multioutput"):
        X, y = make_regression(
            n_samples=40,
            n_features=N_FEATURES,
            n_targets=2 if task == "multioutput" else 1,
            noise=1.0,
            random_state=0,
        )
        return X, y / np.abs(y).max()
    n_classes = 3 if task == "multiclass" else 2
    X, y = make_classification(
        n_samples=40,
        n_features=N_FEATURES,
        n_informative=3,
        n_redundant=0,
        n_classes=n_classes,
        random_state=0,
    )
    if task == "multilabel":
        y = np.c_[y, (X[:, 0] > 0).astype(int)]
    return X, y


def _test_points(X):
    """Points off the training set (kernels with kinks at the training points)."""
    rng = np.random.RandomState(1)
    return X[:12] + 0.1 * rng.standard_normal((12, X.shape[1]))


def _mlp(cls, activation, **kwargs):
    return cls(
        hidden_layer_sizes=(6, 4),
        activation=activation,
        max_iter=200,
        random_state=0,
        **kwargs,
    )


# id, factory, task, response methods, smooth (gradient checked against FD)
CASES = [
    ("LinearRegression", LinearRegression, "regression", ["predict"], True),
    ("LinearRegression-2out", LinearRegression, "multioutput", ["predict"], True),
    ("Ridge", Ridge, "regression", ["predict"], True),
    ("Ridge-2out", Ridge, "multioutput", ["predict"], True),
    ("Lasso", lambda: Lasso(alpha=0.01), "regression", ["predict"], True),
    ("ElasticNet", lambda: ElasticNet(alpha=0.01), "regression", ["predict"], True),
    (
        "SGDRegressor",
        lambda: SGDRegressor(random_state=0),
        "regression",
        ["predict"],
        True,
    ),
    ("HuberRegressor", HuberRegressor, "regression", ["predict"], True),
    ("BayesianRidge", BayesianRidge, "regression", ["predict"], True),
    ("LinearSVR", lambda: LinearSVR(random_state=0), "regression", ["predict"], True),
    *[
        (
            f"LogisticRegression-{task}",
            LogisticRegression,
            task,
            ["predict_proba", "decision_function"],
            True,
        )
        for task in ("binary", "multiclass")
    ],
    *[
        (
            f"SGDClassifier-{loss}-{task}",
            lambda loss=loss: SGDClassifier(loss=loss, random_state=0),
            task,
            ["decision_function"] + (["predict_proba"] if loss == "log_loss" else []),
            True,
        )
        for loss in ("hinge", "log_loss")
        for task in ("binary", "multiclass")
    ],
    (
        "SGDClassifier-modified_huber",
        lambda: SGDClassifier(loss="modified_huber", random_state=0),
        "multiclass",
        ["predict_proba"],
        False,
    ),
    *[
        (f"LinearSVC-{task}", LinearSVC, task, ["decision_function"], True)
        for task in ("binary", "multiclass")
    ],
    ("RidgeClassifier", RidgeClassifier, "multiclass", ["decision_function"], True),
    ("Perceptron", Perceptron, "binary", ["decision_function"], True),
    *[
        (
            f"LDA-{task}",
            LinearDiscriminantAnalysis,
            task,
            ["predict_proba", "decision_function"],
            True,
        )
        for task in ("binary", "multiclass")
    ],
    (
        "QDA",
        lambda: QuadraticDiscriminantAnalysis(reg_param=0.1),
        "multiclass",
        ["predict_proba", "decision_function"],
        True,
    ),
    *[
        (
            f"MLPClassifier-{activation}-{task}",
            lambda activation=activation: _mlp(MLPClassifier, activation),
            task,
            ["predict_proba"],
            activation != "relu",
        )
        for activation in ("identity", "logistic", "tanh", "relu")
        for task in ("binary", "multiclass")
    ],
    (
        "MLPClassifier-multilabel",
        lambda: _mlp(MLPClassifier, "tanh"),
        "multilabel",
        ["predict_proba"],
        True,
    ),
    *[
        (
            f"MLPRegressor-{activation}",
            lambda activation=activation: _mlp(MLPRegressor, activation),
            "regression",
            ["predict"],
            activation != "relu",
        )
        for activation in ("identity", "logistic", "tanh", "relu")
    ],
    (
        "MLPRegressor-2out",
        lambda: _mlp(MLPRegressor, "tanh"),
        "multioutput",
        ["predict"],
        True,
    ),
    *[
        (
            f"SVC-{kernel}-{task}-{shape}",
            lambda kernel=kernel, shape=shape: SVC(
                kernel=kernel, decision_function_shape=shape
            ),
            task,
            ["decision_function"],
            not (task == "multiclass" and shape == "ovr"),  # ovr votes jump
        )
        for kernel in ("rbf", "poly", "sigmoid", "linear")
        for task, shape in (
            ("binary", "ovr"),
            ("multiclass", "ovo"),
            ("multiclass", "ovr"),
        )
    ],
    ("NuSVC-rbf", lambda: NuSVC(nu=0.3), "multiclass", ["decision_function"], True),
    *[
        (
            f"SVR-{kernel}",
            lambda kernel=kernel: SVR(kernel=kernel),
            "regression",
            ["predict"],
            True,
        )
        for kernel in ("rbf", "poly", "sigmoid", "linear")
    ],
    ("NuSVR-rbf", NuSVR, "regression", ["predict"], True),
    *[
        (
            f"KernelRidge-{kernel}",
            lambda kernel=kernel: KernelRidge(kernel=kernel, gamma=0.1),
            "regression",
            ["predict"],
            True,  # laplacian: kinks only at the training points, not tested here
        )
        for kernel in ("rbf", "poly", "linear", "sigmoid", "laplacian", "cosine")
    ],
    (
        "KernelRidge-2out",
        lambda: KernelRidge(kernel="rbf"),
        "multioutput",
        ["predict"],
        True,
    ),
]

# transformers, checked alone (transform) and in front of a logistic regression
TRANSFORMERS = [
    ("StandardScaler", StandardScaler, True),
    ("StandardScaler-nomean", lambda: StandardScaler(with_mean=False), True),
    ("MinMaxScaler", MinMaxScaler, True),
    ("MinMaxScaler-clip", lambda: MinMaxScaler(clip=True), False),
    ("MaxAbsScaler", MaxAbsScaler, True),
    ("RobustScaler", RobustScaler, True),
    ("PCA", lambda: PCA(n_components=3), True),
    ("PCA-whiten", lambda: PCA(n_components=3, whiten=True), True),
    ("IncrementalPCA", lambda: IncrementalPCA(n_components=3), True),
    ("TruncatedSVD", lambda: TruncatedSVD(n_components=3), True),
    ("PolynomialFeatures", PolynomialFeatures, True),
    (
        "PolynomialFeatures-3-interaction",
        lambda: PolynomialFeatures(3, interaction_only=True, include_bias=False),
        True,
    ),
    ("Normalizer-l2", Normalizer, True),
    ("Normalizer-l1", lambda: Normalizer("l1"), False),
    ("Normalizer-max", lambda: Normalizer("max"), False),
    ("FunctionTransformer-tanh", lambda: FunctionTransformer(np.tanh), True),
    ("FunctionTransformer-none", FunctionTransformer, True),
    ("LDA-transform", LinearDiscriminantAnalysis, True),
    (
        "ColumnTransformer",
        lambda: ColumnTransformer(
            [
                ("scale", StandardScaler(), [0, 2]),
                ("keep", "passthrough", [1]),
                ("drop", "drop", [3]),
            ],
            remainder=MinMaxScaler(),
        ),
        True,
    ),
]


def _assert_forward(function, reference, X):
    out = function(torch.tensor(X)).numpy()
    reference = np.asarray(reference)
    assert out.shape == reference.shape
    assert_allclose(out, reference, rtol=1e-10, atol=1e-8 * np.abs(reference).max())


def _pipeline(estimator, wrap):
    if wrap == "alone":
        return estimator
    return make_pipeline(StandardScaler(), PCA(n_components=4), estimator)


def _fit(factory, task, wrap):
    X, y = _data(task)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence of tiny models
        return _pipeline(factory(), wrap).fit(X, y), X, y


def _assert_gradients_match(model, X, y, X_test, **kwargs):
    explainers = {
        method: GradientExplainer(FrozenEstimator(model), method=method, **kwargs).fit(
            X, y
        )
        for method in ("autograd", "finite_difference")
    }
    assert explainers["autograd"].method_ == "autograd"
    exact = explainers["autograd"].explain(X_test)
    approximate = explainers["finite_difference"].explain(X_test)
    assert_allclose(approximate, exact, rtol=1e-5, atol=1e-8 * np.abs(exact).max())
    return exact


@pytest.mark.parametrize("wrap", ["alone", "pipeline"])
@pytest.mark.parametrize(
    "name, factory, task, methods, smooth", CASES, ids=[c[0] for c in CASES]
)
def test_forward_matches_estimator(name, factory, task, methods, smooth, wrap):
    model, X, _ = _fit(factory, task, wrap)
    X_test = _test_points(X)
    for method in methods:
        function = translate(model, method, torch.float64, "cpu")
        _assert_forward(function, getattr(model, method)(X_test), X_test)


@pytest.mark.parametrize("wrap", ["alone", "pipeline"])
@pytest.mark.parametrize(
    "name, factory, task, methods, smooth",
    [c for c in CASES if c[4]],
    ids=[c[0] for c in CASES if c[4]],
)
def test_gradients_match_finite_differences(name, factory, task, methods, smooth, wrap):
    model, X, y = _fit(factory, task, wrap)
    for method in methods:
        _assert_gradients_match(model, X, y, _test_points(X), response_method=method)


@pytest.mark.parametrize(
    "name, factory, task, methods, smooth", CASES, ids=[c[0] for c in CASES]
)
def test_auto_picks_autograd(name, factory, task, methods, smooth):
    X, y = _data(task)
    estimator = _pipeline(factory(), "pipeline")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        explainer = GradientExplainer(estimator).fit(X, y)
    assert explainer.method_ == "autograd"


@pytest.mark.parametrize(
    "name, factory, smooth", TRANSFORMERS, ids=[t[0] for t in TRANSFORMERS]
)
def test_transformers(name, factory, smooth):
    X, y = _data("multiclass")
    X = X + 4.0  # positive, off zero: l1/max norms and the clip stay smooth
    X_test = _test_points(X)
    transformer = factory().fit(X, y)
    function = translate(transformer, "transform", torch.float64, "cpu")
    _assert_forward(function, transformer.transform(X_test), X_test)

    model = make_pipeline(factory(), LogisticRegression()).fit(X, y)
    _assert_forward(
        translate(model, "predict_proba", torch.float64, "cpu"),
        model.predict_proba(X_test),
        X_test,
    )
    assert GradientExplainer(model).fit(X, y).method_ == "autograd"
    if smooth:
        _assert_gradients_match(model, X, y, X_test)


def test_minmax_clip_outside_range():
    X, _ = _data("regression")
    scaler = MinMaxScaler(clip=True).fit(X)
    X_test = 3 * _test_points(X)  # partly outside the fitted range
    translated = translate(scaler, "transform", torch.float64, "cpu")
    _assert_forward(translated, scaler.transform(X_test), X_test)
    X_tensor = torch.tensor(X_test, requires_grad=True)
    translated(X_tensor).sum().backward()
    inside = (X_test >= X.min(axis=0)) & (X_test <= X.max(axis=0))
    assert_allclose(X_tensor.grad.numpy(), np.where(inside, scaler.scale_, 0.0))


def test_linear_regression_gradient_is_coef():
    X, y = _data("regression")
    explainer = GradientExplainer(LinearRegression(), method="autograd").fit(X, y)
    coef = explainer.estimator_.coef_
    gradients = explainer.explain(X)
    assert_allclose(
        gradients, np.broadcast_to(coef, gradients.shape), rtol=1e-12, atol=0
    )


def test_logistic_gradients_are_analytic():
    """∂p/∂x = p(1 − p) w (binary); ∂p_k/∂x = p_k (w_k − Σ_j p_j w_j) (multinomial)."""
    X, y = _data("binary")
    model = LogisticRegression().fit(X, y)
    p = model.predict_proba(X)[:, 1:]
    expected = p * (1 - p) * model.coef_
    gradients = GradientExplainer(model, method="autograd").fit(X, y).explain(X)
    assert_allclose(gradients, expected, rtol=1e-10, atol=1e-12)

    X, y = _data("multiclass")
    model = LogisticRegression().fit(X, y)
    P, W = model.predict_proba(X), model.coef_
    expected = P[:, :, None] * (W[None] - (P @ W)[:, None, :])
    gradients = GradientExplainer(model, method="autograd").fit(X, y).explain(X)
    assert_allclose(gradients, expected, rtol=1e-10, atol=1e-12)


def test_polynomial_gradient_at_zero():
    """d/dx of w·poly(x) at x = 0 is the weight of the linear terms (no 0·inf NaN)."""
    X, y = _data("regression")
    model = make_pipeline(PolynomialFeatures(2), LinearRegression()).fit(X, y)
    zero = np.zeros((1, N_FEATURES))
    gradient = GradientExplainer(FrozenEstimator(model), method="autograd")
    gradient = gradient.fit(X, y).explain(zero)
    linear_terms = model[0].powers_.sum(axis=1) == 1
    assert_allclose(gradient[0], model[-1].coef_[linear_terms], rtol=1e-12)


def test_normalizer_zero_row_has_finite_gradient():
    X, y = _data("regression")
    model = make_pipeline(Normalizer(), Ridge()).fit(X, y)
    zero = np.zeros((1, N_FEATURES))
    _assert_forward(
        translate(model, "predict", torch.float64, "cpu"), model.predict(zero), zero
    )
    explainer = GradientExplainer(FrozenEstimator(model), method="autograd").fit(X, y)
    assert np.all(np.isfinite(explainer.explain(zero)))


def test_mlp_to_sequential_matches_numpy():
    X, y = _data("multiclass")
    mlp = _mlp(MLPClassifier, "tanh").fit(X, y)
    net = mlp_to_sequential(mlp, torch.float64, "cpu")
    names = [type(layer).__name__ for layer in net]
    assert names == ["Linear", "Tanh", "Linear", "Tanh", "Linear"]
    assert not net.training
    assert not any(p.requires_grad for p in net.parameters())
    hidden = X
    for coef, intercept in zip(mlp.coefs_[:-1], mlp.intercepts_[:-1], strict=True):
        hidden = np.tanh(hidden @ coef + intercept)
    logits = hidden @ mlp.coefs_[-1] + mlp.intercepts_[-1]  # no softmax
    with torch.no_grad():
        out = net(torch.tensor(X)).numpy()
    assert_allclose(out, logits, rtol=1e-12, atol=1e-12)
    # the same weights, and the softmax of the output is the model's predict_proba
    assert_allclose(torch.softmax(torch.tensor(out), 1).numpy(), mlp.predict_proba(X))


def test_mlp_to_sequential_leaves_rng_alone():
    X, y = _data("regression")
    mlp = _mlp(MLPRegressor, "relu").fit(X, y)
    state = torch.random.get_rng_state()
    mlp_to_sequential(mlp, torch.float32, "cpu")
    assert torch.equal(state, torch.random.get_rng_state())


@pytest.mark.parametrize(
    "estimator, blocking",
    [
        (
            RandomForestClassifier(n_estimators=3, random_state=0),
            "RandomForestClassifier",
        ),
        (
            RandomForestRegressor(n_estimators=3, random_state=0),
            "RandomForestRegressor",
        ),
        (HistGradientBoostingClassifier(max_iter=3), "HistGradientBoostingClassifier"),
        (HistGradientBoostingRegressor(max_iter=3), "HistGradientBoostingRegressor"),
        (KNeighborsClassifier(), "KNeighborsClassifier"),
        (KNeighborsRegressor(), "KNeighborsRegressor"),
        (
            Pipeline(
                [
                    ("scale", StandardScaler()),
                    ("hist", HistGradientBoostingClassifier(max_iter=3)),
                ]
            ),
            r"HistGradientBoostingClassifier \(step 'hist' of the Pipeline\)",
        ),
        (
            make_pipeline(
                ColumnTransformer(
                    [("cat", OneHotEncoder(handle_unknown="ignore"), [3])],
                    remainder="passthrough",
                ),
                LogisticRegression(),
            ),
            r"OneHotEncoder \(transformer 'cat' of the ColumnTransformer, in step "
            r"'columntransformer' of the Pipeline\)",
        ),
        (
            make_pipeline(FunctionTransformer(lambda x: x**2), Ridge()),
            r"FunctionTransformer \(step 'functiontransformer' of the Pipeline\).*"
            r"func=<lambda>",
        ),
        (SVC(kernel=lambda a, b: a @ b.T), "SVC .*kernel="),
    ],
    ids=lambda v: v if isinstance(v, str) else type(v).__name__,
)
def test_not_translatable(estimator, blocking):
    task = (
        "regression"
        if "Regressor" in blocking or "Ridge" in str(estimator)
        else "binary"
    )
    X, y = _data(task)
    if "OneHotEncoder" in blocking:
        X = np.c_[X[:, :3], np.arange(len(X)) % 3]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zero finite-difference gradients
        explainer = GradientExplainer(estimator).fit(X, y)
    assert explainer.method_ == "finite_difference"
    with pytest.raises(NotDifferentiableError, match=blocking) as info:
        GradientExplainer(estimator, method="autograd").fit(X, y)
    assert "method='finite_difference'" in str(info.value)


def test_column_transformer_by_name_on_dataframe():
    pd = pytest.importorskip("pandas")
    X, y = _data("binary")
    frame = pd.DataFrame(X, columns=list("abcde"))
    model = make_pipeline(
        ColumnTransformer(
            [
                ("scale", StandardScaler(), ["a", "c"]),
                ("poly", PolynomialFeatures(2), ["e"]),
            ],
            remainder="passthrough",
        ),
        LogisticRegression(),
    ).fit(frame, y)
    test = frame.iloc[:10]
    _assert_forward(
        translate(model, "predict_proba", torch.float64, "cpu"),
        model.predict_proba(test),
        test.to_numpy(),
    )
    assert GradientExplainer(model).fit(frame, y).method_ == "autograd"
    _assert_gradients_match(model, frame, y, test)


def test_frozen_inside_pipeline_and_features():
    X, y = _data("multiclass")
    inner = make_pipeline(StandardScaler(), _mlp(MLPClassifier, "tanh")).fit(X, y)
    model = make_pipeline(FunctionTransformer(np.tanh), FrozenEstimator(inner))
    model.fit(X, y)
    _assert_forward(
        translate(model, "predict_proba", torch.float64, "cpu"),
        model.predict_proba(X),
        X,
    )
    # explaining a subset of the columns: the others are held fixed
    exact = _assert_gradients_match(model, X, y, X[:8], features=[1, 3])
    assert exact.shape == (8, 3, 2)


def test_model_is_not_modified():
    X, y = _data("multiclass")
    model = make_pipeline(
        StandardScaler(),
        PCA(whiten=True),
        SVC(),
    ).fit(X, y)
    before = pickle.dumps(model)
    explainer = GradientExplainer(FrozenEstimator(model), method="autograd").fit(X, y)
    explainer.explain(X)
    assert pickle.dumps(model) == before


def test_float32():
    X, y = _data("binary")
    X = X.astype(np.float32)
    model = make_pipeline(StandardScaler(), _mlp(MLPClassifier, "tanh")).fit(X, y)
    function = translate(model, "predict_proba", torch.float32, "cpu")
    out = function(torch.tensor(X))
    assert out.dtype == torch.float32
    assert_allclose(out.numpy(), model.predict_proba(X), rtol=1e-5, atol=1e-6)
    explainer = GradientExplainer(model).fit(X, y)
    assert explainer.method_ == "autograd"
    reference = (
        GradientExplainer(FrozenEstimator(model), method="autograd")
        .fit(X.astype(np.float64), y)
        .explain(X.astype(np.float64))
    )
    assert_allclose(explainer.explain(X), reference, rtol=1e-3, atol=1e-4)


def test_unsupported_response_method():
    X, y = _data("regression")
    with pytest.raises(NotDifferentiableError, match="StandardScaler .*predict"):
        translate(StandardScaler().fit(X), "predict", torch.float64, "cpu")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_matches_cpu():
    X, y = _data("multiclass")
    model = make_pipeline(
        StandardScaler(),
        PCA(3),
        SVC(),
    ).fit(X, y)
    cuda = translate(model, "decision_function", torch.float64, "cuda")
    out = cuda(torch.tensor(X, device="cuda")).cpu().numpy()
    assert_allclose(out, model.decision_function(X), rtol=1e-10, atol=1e-10)
    explainer = GradientExplainer(model, device="cuda").fit(X, y)
    reference = GradientExplainer(model).fit(X, y)
    assert_allclose(explainer.explain(X), reference.explain(X), rtol=1e-9, atol=1e-12)
