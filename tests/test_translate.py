"""Translation of fitted scikit-learn estimators into torch (issues 4 and 14).

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
from sklearn.cross_decomposition import CCA, PLSCanonical, PLSRegression
from sklearn.datasets import make_classification, make_regression
from sklearn.decomposition import PCA, IncrementalPCA, KernelPCA, TruncatedSVD
from sklearn.discriminant_analysis import (
    LinearDiscriminantAnalysis,
    QuadraticDiscriminantAnalysis,
)
from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.frozen import FrozenEstimator
from sklearn.gaussian_process import (
    GaussianProcessClassifier,
    GaussianProcessRegressor,
)
from sklearn.gaussian_process import kernels as gp
from sklearn.impute import MissingIndicator, SimpleImputer
from sklearn.isotonic import IsotonicRegression
from sklearn.kernel_approximation import Nystroem, RBFSampler
from sklearn.kernel_ridge import KernelRidge
from sklearn.linear_model import (
    BayesianRidge,
    ElasticNet,
    GammaRegressor,
    HuberRegressor,
    Lasso,
    LinearRegression,
    LogisticRegression,
    Perceptron,
    PoissonRegressor,
    Ridge,
    RidgeClassifier,
    SGDClassifier,
    SGDRegressor,
    TweedieRegressor,
)
from sklearn.naive_bayes import (
    BernoulliNB,
    ComplementNB,
    GaussianNB,
    MultinomialNB,
)
from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor, NearestCentroid
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import FeatureUnion, Pipeline, make_pipeline, make_union
from sklearn.preprocessing import (
    FunctionTransformer,
    MaxAbsScaler,
    MinMaxScaler,
    Normalizer,
    OneHotEncoder,
    PolynomialFeatures,
    PowerTransformer,
    RobustScaler,
    SplineTransformer,
    StandardScaler,
)
from sklearn.semi_supervised import LabelPropagation, LabelSpreading
from sklearn.svm import SVC, SVR, LinearSVC, LinearSVR, NuSVC, NuSVR

from sklearn_gradexplain import FiniteDifference, GradientExplainer
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


def _assert_gradients_match(
    model, X, y, X_test, finite_difference="finite_difference", **kwargs
):
    explainers = {
        name: GradientExplainer(FrozenEstimator(model), method=method, **kwargs).fit(
            X, y
        )
        for name, method in (
            ("autograd", "autograd"),
            ("finite_difference", finite_difference),
        )
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


# ---------------------------------------------------------------------------------
# Model families translated for issue 14: GLMs, PLS, naive Bayes, dummies, nearest
# centroid, label propagation, isotonic regression, Gaussian processes; kernel
# transformers, splines and power transforms; imputers.
# ---------------------------------------------------------------------------------


def _family_data(kind):
    """Data for the model families: tasks of ``_data``, and variants some need."""
    if kind == "positive-target":  # Poisson, Gamma, log-link Tweedie
        X, y = _data("regression")
        return X, np.exp(y)
    if kind.startswith("counts-"):  # multinomial / complement NB: x >= 0
        X, y = _data(kind.removeprefix("counts-"))
        return X - X.min() + 0.5, y
    if kind.startswith("unit-"):  # Bernoulli NB without binarization
        X, y = _data(kind.removeprefix("unit-"))
        return (X - X.min()) / (X.max() - X.min()), y
    return _data(kind)


FAMILIES = [
    ("PoissonRegressor", PoissonRegressor, "positive-target", ["predict"], True),
    ("GammaRegressor", GammaRegressor, "positive-target", ["predict"], True),
    (
        "TweedieRegressor-identity",
        lambda: TweedieRegressor(power=0),
        "regression",
        ["predict"],
        True,
    ),
    (
        "TweedieRegressor-log",
        lambda: TweedieRegressor(power=1.5),
        "positive-target",
        ["predict"],
        True,
    ),
    (
        "TweedieRegressor-log-link",
        lambda: TweedieRegressor(power=0, link="log"),
        "positive-target",
        ["predict"],
        True,
    ),
    ("PLSRegression", PLSRegression, "regression", ["predict", "transform"], True),
    ("PLSRegression-2out", PLSRegression, "multioutput", ["predict"], True),
    (
        "PLSCanonical",
        lambda: PLSCanonical(n_components=2),
        "multioutput",
        ["predict", "transform"],
        True,
    ),
    ("CCA", lambda: CCA(n_components=2), "multioutput", ["predict", "transform"], True),
    *[
        (f"{cls.__name__}-{task}", cls, data, ["predict_proba"], True)
        for task in ("binary", "multiclass")
        for cls, data in (
            (GaussianNB, task),
            (MultinomialNB, f"counts-{task}"),
            (ComplementNB, f"counts-{task}"),
        )
    ],
    (
        "BernoulliNB-no-binarize",
        lambda: BernoulliNB(binarize=None),
        "unit-multiclass",
        ["predict_proba"],
        True,
    ),
    *[
        (f"NearestCentroid-{task}", NearestCentroid, task, ["predict_proba"], True)
        for task in ("binary", "multiclass")
    ],
    (
        "NearestCentroid-decision",
        NearestCentroid,
        "multiclass",
        ["decision_function"],
        True,
    ),
    (
        "LabelPropagation",
        lambda: LabelPropagation(gamma=1.0),
        "multiclass",
        ["predict_proba"],
        True,
    ),
    (
        "LabelSpreading",
        lambda: LabelSpreading(gamma=1.0),
        "binary",
        ["predict_proba"],
        True,
    ),
    *[
        (
            f"DummyClassifier-{strategy}",
            lambda strategy=strategy: DummyClassifier(
                strategy=strategy, constant=1 if strategy == "constant" else None
            ),
            "multiclass",
            ["predict_proba"],
            False,  # constant: checked to be exactly zero below
        )
        for strategy in ("prior", "most_frequent", "uniform", "constant")
    ],
    ("DummyRegressor", DummyRegressor, "regression", ["predict"], False),
    ("DummyRegressor-2out", DummyRegressor, "multioutput", ["predict"], False),
]


def _fit_family(factory, kind):
    X, y = _family_data(kind)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence of tiny models
        return factory().fit(X, y), X, y


@pytest.mark.parametrize(
    "name, factory, kind, methods, smooth", FAMILIES, ids=[c[0] for c in FAMILIES]
)
def test_families_forward_and_engine(name, factory, kind, methods, smooth):
    model, X, y = _fit_family(factory, kind)
    X_test = _test_points(X)
    if kind.startswith(("counts", "unit")):
        X_test = np.abs(X_test)
    for method in methods:
        function = translate(model, method, torch.float64, "cpu")
        _assert_forward(function, getattr(model, method)(X_test), X_test)
    response = [m for m in methods if m != "transform"][0]
    explainer = GradientExplainer(model, response_method=response).fit(X, y)
    assert explainer.method_ == "autograd"
    if not smooth:  # a constant response: its gradient is exactly zero
        assert np.all(explainer.explain(X_test) == 0)


@pytest.mark.parametrize(
    "name, factory, kind, methods, smooth",
    [c for c in FAMILIES if c[4]],
    ids=[c[0] for c in FAMILIES if c[4]],
)
def test_families_gradients_match_finite_differences(
    name, factory, kind, methods, smooth
):
    model, X, y = _fit_family(factory, kind)
    X_test = _test_points(X)
    if kind.startswith(("counts", "unit")):
        X_test = np.abs(X_test)
    for method in methods:
        if method != "transform":
            _assert_gradients_match(model, X, y, X_test, response_method=method)


def test_gaussian_nb_gradient_is_analytic():
    """∂p_k/∂x = p_k (s_k − Σ_j p_j s_j) with s_k = −(x − θ_k)/σ²_k."""
    X, y = _data("multiclass")
    model = GaussianNB().fit(X, y)
    P = model.predict_proba(X)
    S = -(X[:, None, :] - model.theta_[None]) / model.var_[None]
    expected = P[:, :, None] * (S - (P[:, :, None] * S).sum(axis=1, keepdims=True))
    gradients = GradientExplainer(model, method="autograd").fit(X, y).explain(X)
    assert_allclose(gradients, expected, rtol=1e-9, atol=1e-12)


def test_bernoulli_nb_binarized_is_not_translated():
    X, y = _family_data("unit-binary")
    model = BernoulliNB(binarize=0.5).fit(X, y)
    with pytest.raises(NotDifferentiableError, match="BernoulliNB .*binarize=0.5"):
        translate(model, "predict_proba", torch.float64, "cpu")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # piecewise constant: zero differences
        assert GradientExplainer(model).fit(X, y).method_ == "finite_difference"


def test_dummy_stratified_is_not_translated():
    X, y = _data("binary")
    model = DummyClassifier(strategy="stratified", random_state=0).fit(X, y)
    with pytest.raises(NotDifferentiableError, match="stratified.*random"):
        translate(model, "predict_proba", torch.float64, "cpu")


@pytest.mark.parametrize("out_of_bounds", ["nan", "clip"])
def test_isotonic_regression(out_of_bounds):
    """Linear interpolation between the thresholds: the slope of the segment."""
    X, y = _data("regression")
    x = X[:, :1]
    model = IsotonicRegression(out_of_bounds=out_of_bounds).fit(x, y)
    rng = np.random.RandomState(3)
    x_test = rng.uniform(x.min() - 0.5, x.max() + 0.5, (30, 1))
    out = translate(model, "predict", torch.float64, "cpu")(torch.tensor(x_test))
    reference = model.predict(x_test)
    assert_allclose(out.numpy(), reference, rtol=1e-12, atol=1e-12)  # NaN where NaN
    inside = x_test[(x_test[:, 0] > x.min()) & (x_test[:, 0] < x.max())]
    explainer = GradientExplainer(FrozenEstimator(model), method="autograd").fit(inside)
    thresholds, values = model.X_thresholds_, model.y_thresholds_
    segment = np.searchsorted(thresholds, inside[:, 0]).clip(1, len(thresholds) - 1)
    slope = (values[segment] - values[segment - 1]) / (
        thresholds[segment] - thresholds[segment - 1]
    )
    assert_allclose(explainer.explain(inside)[:, 0], slope, rtol=1e-12)
    outside = np.array([[x.min() - 1.0], [x.max() + 1.0]])
    if out_of_bounds == "clip":  # constant beyond the fitted range
        assert np.all(explainer.explain(outside) == 0)
    else:  # NaN, like the model: an error naming the rows, not a silent 0
        with pytest.raises(ValueError, match="rows"):
            explainer.explain(outside)


def test_isotonic_regression_raise_outside():
    X, y = _data("regression")
    model = IsotonicRegression(out_of_bounds="raise").fit(X[:, :1], y)
    function = translate(model, "predict", torch.float64, "cpu")
    with pytest.raises(ValueError, match="outside the interpolation range"):
        function(torch.tensor([[X[:, 0].max() + 1.0]]))


# Gaussian processes. Central differences of a GP carry its rounding: the Laplace
# approximation's five-erf sum cancels terms of size ~3.5e3, and nearly singular
# kernel matrices give large dual coefficients, so values carry ~1e-13 absolute
# error; the default step (6e-6) turns that into ~2e-8 of gradient noise, a step of
# 1e-4 keeps noise and truncation below 1e-7 (autograd agrees with the closed form
# to 1e-13, test_gpr_rbf_gradient_is_analytic).
_GP_STEP = FiniteDifference(step=1e-4)

GP_KERNELS = [
    ("default", None, True),
    ("anisotropic", gp.ConstantKernel(1.0) * gp.RBF([1.0] * N_FEATURES), True),
    ("matern-0.5", gp.Matern(nu=0.5), True),
    ("matern-1.5", gp.Matern(nu=1.5), True),
    ("matern-2.5", gp.Matern(nu=2.5), True),
    ("matern-inf", gp.Matern(nu=np.inf), True),
    ("rational-quadratic", gp.RationalQuadratic(alpha=2.0, length_scale=3.0), False),
    ("dot-product+white", gp.DotProduct() + gp.WhiteKernel(), True),
    ("rbf**2+constant", gp.RBF(2.0) ** 2 + gp.ConstantKernel(0.5), True),
]


@pytest.mark.parametrize(
    "name, kernel, optimize", GP_KERNELS, ids=[k[0] for k in GP_KERNELS]
)
def test_gaussian_process_regressor(name, kernel, optimize):
    X, y = _data("regression")
    model = GaussianProcessRegressor(
        kernel=kernel, alpha=0.1, optimizer="fmin_l_bfgs_b" if optimize else None
    ).fit(X, y)
    X_test = _test_points(X)
    _assert_forward(
        translate(model, "predict", torch.float64, "cpu"), model.predict(X_test), X_test
    )
    _assert_gradients_match(model, X, y, X_test, finite_difference=_GP_STEP)


@pytest.mark.parametrize("normalize_y", [False, True])
def test_gaussian_process_regressor_two_targets(normalize_y):
    X, y = _data("multioutput")
    model = GaussianProcessRegressor(
        kernel=gp.RBF(2.0) + gp.WhiteKernel(0.1), normalize_y=normalize_y
    ).fit(X, 3 * y + 1)
    X_test = _test_points(X)
    _assert_forward(
        translate(model, "predict", torch.float64, "cpu"), model.predict(X_test), X_test
    )
    _assert_gradients_match(model, X, y, X_test, finite_difference=_GP_STEP)


def test_gaussian_process_periodic_kernel():
    """ExpSineSquared (positive definite on one feature), alone and in a product."""
    X, y = _data("regression")
    x = X[:, :1]
    for kernel in (
        gp.ExpSineSquared(length_scale=1.5, periodicity=3.0),
        gp.ExpSineSquared(periodicity=3.0) * gp.RBF(2.0) + gp.ConstantKernel(0.5),
    ):
        model = GaussianProcessRegressor(kernel=kernel, alpha=0.1, optimizer=None)
        model = model.fit(x, y)
        x_test = _test_points(x)
        _assert_forward(
            translate(model, "predict", torch.float64, "cpu"),
            model.predict(x_test),
            x_test,
        )
        _assert_gradients_match(model, x, y, x_test, finite_difference=_GP_STEP)


def test_gpr_rbf_gradient_is_analytic():
    """∂/∂x Σ_i α_i c exp(−|x − x_i|²/2l²) = −Σ_i α_i k(x, x_i) (x − x_i)/l²."""
    X, y = _data("regression")
    model = GaussianProcessRegressor().fit(X, y)  # alpha=1e-10: ill-conditioned
    X_test = _test_points(X)
    length_scale = model.kernel_.k2.length_scale
    K = model.kernel_(X_test, X)
    difference = X_test[:, None, :] - X[None]
    expected = -((K * model.alpha_)[:, :, None] * difference).sum(1) / length_scale**2
    explainer = GradientExplainer(FrozenEstimator(model), method="autograd").fit(X, y)
    assert_allclose(explainer.explain(X_test), expected, rtol=1e-10, atol=1e-12)


def test_matern_half_at_training_points():
    """exp(−r) has a kink at a training point; its term contributes 0 there.

    That is the central difference quotient of the cone (symmetric), so central
    finite differences of the model agree with autograd at the training points.
    """
    X, y = _data("regression")
    model = GaussianProcessRegressor(kernel=gp.Matern(nu=0.5), alpha=0.1).fit(X, y)
    exact = _assert_gradients_match(model, X, y, X[:10], finite_difference=_GP_STEP)
    assert np.all(np.isfinite(exact))


def test_matern_other_nu_is_not_translated():
    X, y = _data("regression")
    model = GaussianProcessRegressor(kernel=gp.Matern(nu=1.0), optimizer=None)
    model = model.fit(X, y)
    with pytest.raises(NotDifferentiableError, match="nu=1.0.*Bessel"):
        translate(model, "predict", torch.float64, "cpu")
    assert GradientExplainer(model).fit(X, y).method_ == "finite_difference"


@pytest.mark.parametrize("task", ["binary", "multiclass"])
@pytest.mark.parametrize(
    "kernel",
    [None, gp.Matern(nu=2.5), gp.RBF() + gp.WhiteKernel(0.1)],
    ids=["default", "matern-2.5", "rbf+white"],
)
def test_gaussian_process_classifier(task, kernel):
    X, y = _data(task)
    model = GaussianProcessClassifier(kernel=kernel).fit(X, y)
    X_test = _test_points(X)
    _assert_forward(
        translate(model, "predict_proba", torch.float64, "cpu"),
        model.predict_proba(X_test),
        X_test,
    )
    _assert_gradients_match(model, X, y, X_test, finite_difference=_GP_STEP)


def test_gaussian_process_classifier_one_vs_one_is_not_translated():
    X, y = _data("multiclass")
    model = GaussianProcessClassifier(multi_class="one_vs_one").fit(X, y)
    with pytest.raises(NotDifferentiableError, match="one_vs_one"):
        translate(model, "predict_proba", torch.float64, "cpu")


ISSUE_14_TRANSFORMERS = [
    ("KernelPCA-rbf", lambda: KernelPCA(4, kernel="rbf", gamma=0.1), True),
    ("KernelPCA-poly", lambda: KernelPCA(4, kernel="poly"), True),
    ("KernelPCA-linear", lambda: KernelPCA(4), True),
    ("KernelPCA-cosine", lambda: KernelPCA(4, kernel="cosine"), True),
    ("Nystroem", lambda: Nystroem(gamma=0.1, n_components=10, random_state=0), True),
    (
        "Nystroem-poly",
        lambda: Nystroem(kernel="poly", degree=2, n_components=10, random_state=0),
        True,
    ),
    (
        "Nystroem-kernel-params",
        lambda: Nystroem(
            kernel="sigmoid",
            kernel_params={"gamma": 0.01},
            n_components=10,
            random_state=0,
        ),
        True,
    ),
    (
        "RBFSampler",
        lambda: RBFSampler(gamma=0.1, n_components=20, random_state=0),
        True,
    ),
    ("SplineTransformer", SplineTransformer, True),
    (
        "SplineTransformer-quantile-nobias",
        lambda: SplineTransformer(knots="quantile", include_bias=False),
        True,
    ),
    ("SplineTransformer-linear-degree", lambda: SplineTransformer(degree=1), False),
    ("PowerTransformer-box-cox", lambda: PowerTransformer(method="box-cox"), True),
    (
        "FeatureUnion",
        lambda: FeatureUnion(
            [
                ("pca", PCA(2)),
                ("keep", "passthrough"),
                ("none", "drop"),
                ("minmax", MinMaxScaler()),
            ],
            transformer_weights={"pca": 2.0},
        ),
        True,
    ),
]


@pytest.mark.parametrize(
    "name, factory, smooth",
    ISSUE_14_TRANSFORMERS,
    ids=[t[0] for t in ISSUE_14_TRANSFORMERS],
)
def test_issue_14_transformers(name, factory, smooth):
    test_transformers(name, factory, smooth)


@pytest.mark.parametrize(
    "extrapolation, degree",
    [
        (extrapolation, degree)
        for extrapolation in ("constant", "linear", "continue", "periodic", "error")
        for degree in (0, 1, 2, 3)
        # scikit-learn 1.9 fails on points above the range for constant/degree 0
        if (extrapolation, degree) != ("constant", 0)
    ],
)
def test_spline_transformer_extrapolation(extrapolation, degree):
    """Piecewise polynomials, inside and outside the fitted range."""
    X, y = _data("regression")
    X = X[:, :2] if not (extrapolation == "linear" and degree <= 1) else X[:, :1]
    transformer = SplineTransformer(
        n_knots=4, degree=degree, extrapolation=extrapolation
    ).fit(X)
    rng = np.random.RandomState(0)
    X_test = rng.uniform(X.min(0) - 1.0, X.max(0) + 1.0, (25, X.shape[1]))
    if extrapolation == "error":  # the transformer raises outside its range
        X_test = rng.uniform(X.min(0), X.max(0), (25, X.shape[1]))
    translated = translate(transformer, "transform", torch.float64, "cpu")
    _assert_forward(translated, transformer.transform(X_test), X_test)
    if degree < 2:  # kinks at the knots: the gradient is exact between them
        return
    model = make_pipeline(
        SplineTransformer(n_knots=4, degree=degree, extrapolation=extrapolation),
        Ridge(alpha=1e-3),
    ).fit(X, y)
    # "error": differences must not step out of the range, even at the fit data
    fit_rows = X_test if extrapolation == "error" else X
    _assert_gradients_match(model, fit_rows, None, X_test)


def test_spline_transformer_error_outside_and_missing():
    X, y = _data("regression")
    model = make_pipeline(SplineTransformer(extrapolation="error"), Ridge()).fit(X, y)
    outside = X[:3] + 10 * np.abs(X).max()
    with pytest.raises(ValueError, match="beyond the limits of the knots"):
        model.predict(outside)
    with pytest.raises(ValueError, match="beyond the limits of the knots"):
        GradientExplainer(FrozenEstimator(model), method="autograd").fit(outside)
    transformer = SplineTransformer(handle_missing="zeros").fit(X)
    X_missing = _test_points(X)
    X_missing[::3, 1] = np.nan
    _assert_forward(
        translate(transformer, "transform", torch.float64, "cpu"),
        transformer.transform(X_missing),
        X_missing,
    )


def test_spline_transformer_linear_degree_one_several_features_is_blocked():
    """scikit-learn 1.9 raises ``degree`` inside its per-feature loop (a bug)."""
    X, _ = _data("regression")
    transformer = SplineTransformer(degree=1, extrapolation="linear").fit(X)
    with pytest.raises(NotDifferentiableError, match="extrapolation='linear'"):
        translate(transformer, "transform", torch.float64, "cpu")


@pytest.mark.parametrize("standardize", [True, False])
@pytest.mark.parametrize("method", ["yeo-johnson", "box-cox"])
def test_power_transformer(method, standardize):
    X, y = _data("multiclass")
    if method == "box-cox":
        X = np.exp(X / 2)  # strictly positive, skewed
    transformer = PowerTransformer(method=method, standardize=standardize).fit(X)
    X_test = _test_points(X)
    if method == "box-cox":
        X_test = np.abs(X_test) + 0.05
    else:
        assert (X_test < 0).any() and (X_test > 0).any()  # both branches
    for response in ("transform", "inverse_transform"):
        _assert_forward(
            translate(transformer, response, torch.float64, "cpu"),
            getattr(transformer, response)(X_test),
            X_test,
        )
    model = make_pipeline(
        PowerTransformer(method=method, standardize=standardize), LogisticRegression()
    ).fit(X, y)
    _assert_gradients_match(model, X, y, X_test)


def test_yeo_johnson_special_lambdas():
    """λ = 0 and λ = 2 take scipy's logarithmic branches."""
    X, _ = _data("regression")
    transformer = PowerTransformer(standardize=False).fit(X[:, :2])
    transformer.lambdas_ = np.array([0.0, 2.0])
    X_test = _test_points(X[:, :2])
    for response in ("transform", "inverse_transform"):
        _assert_forward(
            translate(transformer, response, torch.float64, "cpu"),
            getattr(transformer, response)(X_test),
            X_test,
        )


@pytest.mark.parametrize(
    "transformer",
    [
        StandardScaler(),
        StandardScaler(with_mean=False),
        MinMaxScaler(),
        MaxAbsScaler(),
        RobustScaler(),
        FunctionTransformer(np.log1p, inverse_func=np.expm1),
        FunctionTransformer(),
    ],
    ids=lambda t: f"{type(t).__name__}-{sorted(t.get_params().items())[:2]}",
)
def test_inverse_transform(transformer):
    X, _ = _data("regression")
    X = X + 4.0
    transformer = transformer.fit(X)
    X_test = _test_points(X)
    _assert_forward(
        translate(transformer, "inverse_transform", torch.float64, "cpu"),
        transformer.inverse_transform(X_test),
        X_test,
    )


def test_inverse_transform_without_inverse_func_ufunc():
    X, _ = _data("regression")
    transformer = FunctionTransformer(
        np.log1p, inverse_func=lambda x: x, check_inverse=False
    ).fit(X + 4.0)
    with pytest.raises(NotDifferentiableError, match="inverse_func=<lambda>"):
        translate(transformer, "inverse_transform", torch.float64, "cpu")


# Imputers: an imputed cell is a constant, so its gradient is exactly zero.
def _with_missing(X, fraction=0.2, seed=0, keep=(4,)):
    X = X.copy()
    rng = np.random.RandomState(seed)
    missing = rng.rand(*X.shape) < fraction
    missing[:, list(keep)] = False
    X[missing] = np.nan
    return X


IMPUTERS = [
    ("mean", SimpleImputer),
    ("median-indicator", lambda: SimpleImputer(strategy="median", add_indicator=True)),
    ("most-frequent", lambda: SimpleImputer(strategy="most_frequent")),
    ("constant", lambda: SimpleImputer(strategy="constant", fill_value=-1.0)),
    ("keep-empty", lambda: SimpleImputer(keep_empty_features=True, add_indicator=True)),
    ("drop-empty", SimpleImputer),
    ("union-indicator", lambda: make_union(SimpleImputer(), MissingIndicator())),
    (
        "union-indicator-all",
        lambda: make_union(SimpleImputer(), MissingIndicator(features="all")),
    ),
]


def _imputer_data(name):
    X, y = _data("multiclass")
    X = _with_missing(X)
    if "empty" in name:
        X[:, 2] = np.nan  # a feature without observed values
    return X, y


@pytest.mark.parametrize("name, factory", IMPUTERS, ids=[i[0] for i in IMPUTERS])
def test_imputers_forward(name, factory):
    X, y = _imputer_data(name)
    X_test = X[:15]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Skipping features without any observed"
        imputer = factory().fit(X, y)
        reference = imputer.transform(X_test)
    _assert_forward(
        translate(imputer, "transform", torch.float64, "cpu"), reference, X_test
    )


@pytest.mark.parametrize("name, factory", IMPUTERS, ids=[i[0] for i in IMPUTERS])
def test_imputers_give_zero_gradient_where_missing(name, factory):
    """The torch gradient: exactly 0 at missing cells, finite, the model's elsewhere."""
    X, y = _imputer_data(name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = make_pipeline(factory(), StandardScaler(), LogisticRegression())
        model = model.fit(X, y)
    function = translate(model, "predict_proba", torch.float64, "cpu")
    X_tensor = torch.tensor(X, requires_grad=True)
    (gradient,) = torch.autograd.grad(function(X_tensor)[:, 1].sum(), X_tensor)
    gradient = gradient.numpy()
    assert np.all(np.isfinite(gradient))
    assert np.all(gradient[np.isnan(X)] == 0)
    assert np.all(gradient[~np.isnan(X)] != 0)


def test_imputer_numeric_missing_value():
    X, y = _data("multiclass")
    X = np.round(X, 1)
    X[::4, 0] = -1.0
    model = make_pipeline(
        SimpleImputer(missing_values=-1.0), StandardScaler(), LogisticRegression()
    ).fit(X, y)
    X_test = X[:16]
    _assert_forward(
        translate(model, "predict_proba", torch.float64, "cpu"),
        model.predict_proba(X_test),
        X_test,
    )
    # away from the missing value itself (a jump), the gradients are the model's
    smooth = X_test[(X_test != -1.0).all(axis=1)] + 0.01
    _assert_gradients_match(model, X, y, smooth)


def test_imputer_of_strings_is_not_translated():
    X = np.array([["a", "b"], ["", "c"], ["a", ""]], dtype=object)
    imputer = SimpleImputer(missing_values="", strategy="most_frequent").fit(X)
    with pytest.raises(NotDifferentiableError, match="missing_values=''"):
        translate(imputer, "transform", torch.float64, "cpu")


@pytest.mark.parametrize(
    "steps, takes_nan",
    [
        ([StandardScaler(), LogisticRegression()], False),  # the scaler passes NaN on
        ([SimpleImputer(), StandardScaler(), LogisticRegression()], True),
        ([StandardScaler(), SimpleImputer(), LogisticRegression()], True),
        ([make_union(SimpleImputer(), MissingIndicator()), LogisticRegression()], True),
        (
            [
                ColumnTransformer(
                    [("i", SimpleImputer(), [0])], remainder="passthrough"
                ),
                LogisticRegression(),
            ],
            False,  # columns 1, 2 reach the model with their NaN
        ),
        (
            [ColumnTransformer([("i", SimpleImputer(), [0])]), LogisticRegression()],
            True,
        ),
    ],
)
def test_pipelines_take_nan_only_when_it_is_imputed_before_a_step_refusing_it(
    steps, takes_nan
):
    X = np.random.default_rng(0).normal(size=(60, 3))
    y = (X[:, 0] > 0).astype(int)
    X[::7, 1] = np.nan
    X[::5, 0] = np.nan
    model = make_pipeline(*steps)
    if takes_nan:
        attributions = GradientExplainer(model.fit(X, y)).fit(X, y).explain(X)
        assert np.isfinite(attributions).all()
    else:  # refused before any work, naming the columns
        with pytest.raises(ValueError, match=r"NaN in columns \[.*model does not take"):
            GradientExplainer(model).fit(X, y)


def test_simple_imputer_pipeline_acceptance():
    """Issue 14: make_pipeline(SimpleImputer(), StandardScaler(), LogisticRegression())
    is explained by autograd, equals central differences, NaN cells give exactly 0."""
    X, y = _data("binary")
    X = _with_missing(X)
    model = make_pipeline(SimpleImputer(), StandardScaler(), LogisticRegression())
    model = model.fit(X, y)
    explainer = GradientExplainer(model).fit(X, y)
    assert explainer.method_ == "autograd"
    exact = _assert_gradients_match(model, X, y, X)
    assert np.all(np.isfinite(exact))
    assert np.all(exact[np.isnan(X)] == 0)
    assert np.all(exact[~np.isnan(X)] != 0)
    assert np.all(np.isfinite(explainer.global_gradient_))
