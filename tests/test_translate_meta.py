"""Translation of delegating meta-estimators and of torch nets inside pipelines.

Issue 14: each meta-estimator's translation is checked against its own output
(forward to 1e-10) and its gradients against central finite differences of the same
frozen model (1e-5); what is piecewise constant (hard votes, stacked labels, isotonic
calibration, label chains) is a clear error, and ``method="auto"`` falls back.
"""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import TransformedTargetRegressor
from sklearn.datasets import make_classification, make_regression
from sklearn.ensemble import (
    BaggingClassifier,
    BaggingRegressor,
    StackingClassifier,
    StackingRegressor,
    VotingClassifier,
    VotingRegressor,
)
from sklearn.experimental import enable_halving_search_cv  # noqa: F401
from sklearn.frozen import FrozenEstimator
from sklearn.kernel_ridge import KernelRidge
from sklearn.linear_model import LogisticRegression, RANSACRegressor, Ridge
from sklearn.model_selection import (
    FixedThresholdClassifier,
    GridSearchCV,
    HalvingGridSearchCV,
    HalvingRandomSearchCV,
    RandomizedSearchCV,
    TunedThresholdClassifierCV,
)
from sklearn.multiclass import OneVsOneClassifier, OneVsRestClassifier
from sklearn.multioutput import ClassifierChain, MultiOutputRegressor, RegressorChain
from sklearn.naive_bayes import GaussianNB
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import (
    MinMaxScaler,
    PowerTransformer,
    QuantileTransformer,
    StandardScaler,
)
from sklearn.semi_supervised import SelfTrainingClassifier
from sklearn.svm import SVC, LinearSVC
from sklearn.tree import DecisionTreeClassifier

from sklearn_gradexplain import GradientExplainer
from sklearn_gradexplain.exceptions import NotDifferentiableError

torch = pytest.importorskip("torch")
from sklearn_gradexplain._engines._translate import translate  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

P = ["predict_proba", "decision_function"]


def _data(task):
    if task in ("regression", "multioutput"):
        X, y = make_regression(
            n_samples=40,
            n_features=5,
            n_targets=2 if task == "multioutput" else 1,
            noise=1.0,
            random_state=0,
        )
        return X, y / np.abs(y).max()
    X, y = make_classification(
        n_samples=40,
        n_features=5,
        n_informative=3,
        n_redundant=0,
        n_classes=3 if task == "multiclass" else 2,
        random_state=0,
    )
    if task == "multilabel":
        y = np.c_[y, (X[:, 0] > 0).astype(int), (X[:, 1] > 0).astype(int)]
    return X, y


def _test_points(X):
    rng = np.random.RandomState(1)
    return X[:12] + 0.1 * rng.standard_normal((12, X.shape[1]))


def _tanh_mlp(cls):
    return cls(hidden_layer_sizes=(4,), activation="tanh", max_iter=50, random_state=0)


def _semi_supervised_targets(y):
    return np.where(np.arange(len(y)) % 3 == 0, -1, y)


CLASSIFIERS = [
    (
        "GridSearchCV",
        lambda: GridSearchCV(LogisticRegression(), {"C": [0.1, 1]}, cv=2),
        P,
    ),
    (
        "RandomizedSearchCV",
        lambda: RandomizedSearchCV(
            SVC(), {"C": [0.1, 1.0]}, n_iter=2, cv=2, random_state=0
        ),
        ["decision_function"],
    ),
    (
        "HalvingGridSearchCV",
        lambda: HalvingGridSearchCV(
            LogisticRegression(), {"C": [0.1, 1, 10]}, cv=2, min_resources=10
        ),
        P,
    ),
    (
        "HalvingRandomSearchCV",
        lambda: HalvingRandomSearchCV(
            LogisticRegression(),
            {"C": [0.1, 1, 10]},
            n_candidates=2,
            cv=2,
            min_resources=10,
            random_state=0,
        ),
        P[:1],
    ),
    ("OneVsRest", lambda: OneVsRestClassifier(LogisticRegression()), P),
    ("OneVsRest-GaussianNB", lambda: OneVsRestClassifier(GaussianNB()), P[:1]),
    ("OneVsOne", lambda: OneVsOneClassifier(LogisticRegression()), P[1:]),
    ("OneVsOne-GaussianNB", lambda: OneVsOneClassifier(GaussianNB()), P[1:]),
    (
        "Voting-soft-weights",
        lambda: VotingClassifier(
            [
                ("lr", LogisticRegression()),
                ("nb", "drop"),
                ("gnb", GaussianNB()),
                ("mlp", _tanh_mlp(MLPClassifier)),
            ],
            voting="soft",
            weights=[2, 5, 1, 1],
        ),
        P[:1],
    ),
    (
        "Stacking",
        lambda: StackingClassifier(
            [("lr", LogisticRegression()), ("nb", GaussianNB()), ("svc", LinearSVC())],
            cv=2,
        ),
        P,
    ),
    (
        "Stacking-passthrough",
        lambda: StackingClassifier(
            [("lr", LogisticRegression()), ("nb", GaussianNB())],
            final_estimator=_tanh_mlp(MLPClassifier),
            stack_method="predict_proba",
            passthrough=True,
            cv=2,
        ),
        P[:1],
    ),
    (
        "Bagging-features",
        lambda: BaggingClassifier(
            LogisticRegression(), n_estimators=4, max_features=3, random_state=0
        ),
        P,
    ),
    (
        "Bagging-GaussianNB-subsamples",
        lambda: BaggingClassifier(
            GaussianNB(), n_estimators=4, max_samples=0.3, random_state=0
        ),
        P[:1],
    ),
    ("Calibrated-sigmoid", lambda: CalibratedClassifierCV(cv=2), P[:1]),
    (
        "Calibrated-GaussianNB",
        lambda: CalibratedClassifierCV(GaussianNB(), cv=3),
        P[:1],
    ),
    (
        "Calibrated-no-ensemble",
        lambda: CalibratedClassifierCV(LogisticRegression(), cv=3, ensemble=False),
        P[:1],
    ),
    ("SelfTraining", lambda: SelfTrainingClassifier(LogisticRegression()), P),
]
BINARY_ONLY = [
    (
        "FixedThreshold",
        lambda: FixedThresholdClassifier(LogisticRegression(), threshold=0.3),
        P,
    ),
    (
        "TunedThreshold",
        lambda: TunedThresholdClassifierCV(LogisticRegression(), cv=2),
        P,
    ),
]
REGRESSORS = [
    ("TransformedTarget-default", TransformedTargetRegressor, "regression", 0.0),
    (
        "TransformedTarget-func",
        lambda: TransformedTargetRegressor(
            Ridge(), func=np.log1p, inverse_func=np.expm1
        ),
        "regression",
        2.0,
    ),
    (
        "TransformedTarget-scaler-mlp",
        lambda: TransformedTargetRegressor(
            _tanh_mlp(MLPRegressor), transformer=StandardScaler()
        ),
        "regression",
        0.0,
    ),
    (
        "TransformedTarget-yeo-johnson",
        lambda: TransformedTargetRegressor(Ridge(), transformer=PowerTransformer()),
        "regression",
        0.0,
    ),
    (
        "TransformedTarget-box-cox",
        lambda: TransformedTargetRegressor(
            Ridge(), transformer=PowerTransformer(method="box-cox")
        ),
        "regression",
        2.0,
    ),
    (
        "TransformedTarget-2out",
        lambda: TransformedTargetRegressor(Ridge(), transformer=MinMaxScaler()),
        "multioutput",
        0.0,
    ),
    (
        "VotingRegressor",
        lambda: VotingRegressor(
            [("ridge", Ridge()), ("kr", KernelRidge(kernel="rbf", gamma=0.1))],
            weights=[1, 2],
        ),
        "regression",
        0.0,
    ),
    (
        "StackingRegressor-passthrough",
        lambda: StackingRegressor(
            [("ridge", Ridge()), ("kr", KernelRidge(kernel="rbf", gamma=0.1))],
            passthrough=True,
            cv=2,
        ),
        "regression",
        0.0,
    ),
    (
        "BaggingRegressor",
        lambda: BaggingRegressor(
            Ridge(),
            n_estimators=5,
            max_features=0.6,
            bootstrap_features=True,
            random_state=0,
        ),
        "regression",
        0.0,
    ),
    ("RANSAC", lambda: RANSACRegressor(random_state=0), "regression", 0.0),
    (
        "MultiOutputRegressor",
        lambda: MultiOutputRegressor(KernelRidge(kernel="rbf", gamma=0.1)),
        "multioutput",
        0.0,
    ),
    (
        "RegressorChain",
        lambda: RegressorChain(KernelRidge(kernel="rbf", gamma=0.1), order=[1, 0]),
        "multioutput",
        0.0,
    ),
]


def _assert_forward(function, reference, X):
    out = function(torch.tensor(X)).detach().numpy()
    reference = np.asarray(reference)
    assert out.shape == reference.shape
    assert_allclose(out, reference, rtol=1e-10, atol=1e-8 * np.abs(reference).max())


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


def _check(model, X, y, methods, fit_y=None):
    """Forward, gradients, and ``method="auto"`` (refitting a clone on ``fit_y``)."""
    X_test = _test_points(X)
    for method in methods:
        function = translate(model, method, torch.float64, "cpu")
        _assert_forward(function, getattr(model, method)(X_test), X_test)
        _assert_gradients_match(model, X, y, X_test, response_method=method)
    fit_y = y if fit_y is None else fit_y
    assert GradientExplainer(model).fit(X, fit_y).method_ == "autograd"


def _fit(factory, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return factory().fit(X, y)


# threshold classifiers are binary only (scikit-learn)
CLASSIFIER_CASES = [
    (*case, task)
    for case in CLASSIFIERS + BINARY_ONLY
    for task in ("binary", "multiclass")
    if task == "binary" or case in CLASSIFIERS
]


@pytest.mark.parametrize(
    "name, factory, methods, task",
    CLASSIFIER_CASES,
    ids=[f"{c[0]}-{c[3]}" for c in CLASSIFIER_CASES],
)
def test_meta_classifiers(name, factory, methods, task):
    X, y = _data(task)
    fit_y = _semi_supervised_targets(y) if name == "SelfTraining" else y
    _check(_fit(factory, X, fit_y), X, y, methods, fit_y)


@pytest.mark.parametrize(
    "name, factory, task, shift", REGRESSORS, ids=[r[0] for r in REGRESSORS]
)
def test_meta_regressors(name, factory, task, shift):
    X, y = _data(task)
    y = y + shift  # log1p / Box-Cox need y > -1 / y > 0
    _check(_fit(factory, X, y), X, y, ["predict"])


def test_one_vs_rest_multilabel_is_not_normalized():
    X, Y = _data("multilabel")
    _check(_fit(lambda: OneVsRestClassifier(LogisticRegression()), X, Y), X, Y, P)


@pytest.mark.parametrize("chain_method", ["predict_proba", "decision_function"])
def test_classifier_chain(chain_method):
    X, Y = _data("multilabel")
    model = ClassifierChain(
        LogisticRegression(), chain_method=chain_method, order=[2, 0, 1]
    )
    _check(_fit(lambda: model, X, Y), X, Y, P)


def test_one_vs_one_is_the_vote_plus_the_confidences():
    """Independent check: votes by the sign of each pair, plus the confidence sum."""
    X, y = _data("multiclass")
    model = OneVsOneClassifier(LogisticRegression()).fit(X, y)
    scores = np.stack([e.decision_function(X) for e in model.estimators_], axis=1)
    pairs = [(0, 1), (0, 2), (1, 2)]
    votes, confidence = np.zeros((len(X), 3)), np.zeros((len(X), 3))
    for k, (i, j) in enumerate(pairs):
        votes[:, i] += scores[:, k] <= 0  # the pair's estimator predicts class i
        votes[:, j] += scores[:, k] > 0
        confidence[:, i] -= scores[:, k]
        confidence[:, j] += scores[:, k]
    expected = votes + confidence / (3 * (np.abs(confidence) + 1))
    out = translate(model, "decision_function", torch.float64, "cpu")
    assert_allclose(out(torch.tensor(X)).numpy(), expected, rtol=1e-12)


@pytest.mark.parametrize(
    "model, task, blocking",
    [
        (
            VotingClassifier(
                [("lr", LogisticRegression()), ("nb", GaussianNB())], voting="hard"
            ),
            "binary",
            r"VotingClassifier .*voting='hard'.*majority",
        ),
        (
            GridSearchCV(LogisticRegression(), {"C": [0.1, 1]}, cv=2, refit=False),
            "binary",
            r"GridSearchCV .*refit=False.*best_estimator_",
        ),
        (
            CalibratedClassifierCV(LogisticRegression(), method="isotonic", cv=2),
            "binary",
            r"CalibratedClassifierCV .*isotonic calibration is piecewise constant",
        ),
        (
            BaggingClassifier(n_estimators=2, random_state=0),
            "binary",
            r"DecisionTreeClassifier \(estimators_\[0\] of the BaggingClassifier\)",
        ),
        (
            StackingClassifier(
                [("tree", DecisionTreeClassifier(random_state=0))],
                stack_method="predict",
                cv=2,
            ),
            "binary",
            r"DecisionTreeClassifier \(estimators_\[0\] of the StackingClassifier\)"
            r".*labels",
        ),
        (
            ClassifierChain(LogisticRegression()),
            "multilabel",
            r"ClassifierChain .*chain_method='predict'",
        ),
        (
            TransformedTargetRegressor(
                Ridge(), transformer=QuantileTransformer(n_quantiles=10)
            ),
            "regression",
            r"QuantileTransformer \(transformer_ of the TransformedTargetRegressor\)",
        ),
    ],
    ids=lambda v: type(v).__name__ if not isinstance(v, str) else None,
)
def test_not_translatable(model, task, blocking):
    X, y = _data(task)
    model = _fit(lambda: model, X, y)
    response = "predict" if task == "regression" else "predict_proba"
    with pytest.raises(NotDifferentiableError, match=blocking) as info:
        translate(model, response, torch.float64, "cpu")
    assert "method='finite_difference'" in str(info.value)
    if hasattr(model, response):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # piecewise constant: zero differences
            explainer = GradientExplainer(model).fit(X, y)
        assert explainer.method_ == "finite_difference"


def test_model_is_not_modified():
    import pickle

    X, y = _data("multiclass")
    model = _fit(
        lambda: StackingClassifier(
            [("lr", LogisticRegression()), ("nb", GaussianNB())], cv=2
        ),
        X,
        y,
    )
    before = pickle.dumps(model)
    GradientExplainer(FrozenEstimator(model), method="autograd").fit(X, y).explain(X)
    assert pickle.dumps(model) == before


# ------------------------------------------------------------- torch nets in pipelines
def _module(n_outputs, dtype=torch.float64):
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Linear(5, 8), torch.nn.Tanh(), torch.nn.Linear(8, n_outputs)
    ).to(dtype)


def _skorch_classifier(dtype=torch.float64):
    skorch = pytest.importorskip("skorch")
    return skorch.NeuralNetClassifier(
        _module(3, dtype),
        criterion=torch.nn.CrossEntropyLoss,
        max_epochs=5,
        lr=0.1,
        train_split=None,
        verbose=0,
    )


def _scaled_data():
    X, y = _data("multiclass")
    return 3 * X + 1, y  # off unit scale: the scaler matters


def test_skorch_net_after_scaler_acceptance():
    """Issue 14: make_pipeline(StandardScaler(), net) is exact, equal to FD (1e-5)."""
    X, y = _scaled_data()
    model = make_pipeline(StandardScaler(), _skorch_classifier()).fit(X, y)
    explainer = GradientExplainer(model).fit(X, y)
    assert explainer.method_ == "autograd"
    _check(model, X, y, ["predict_proba"])
    # independent truth: the hand-written gradient through scaler and module (of
    # the explainer's own fitted pipeline)
    scaler, net = explainer.estimator_[0], explainer.estimator_[-1]
    X_tensor = torch.tensor(X, requires_grad=True)
    Z = (X_tensor - torch.tensor(scaler.mean_)) / torch.tensor(scaler.scale_)
    p = torch.softmax(net.module_(Z), dim=1)
    (expected,) = torch.autograd.grad(p[:, 2].sum(), X_tensor)
    assert_allclose(
        explainer.explain(X)[:, 2], expected.numpy(), rtol=1e-12, atol=1e-15
    )


def test_skorch_regressor_after_scaler():
    skorch = pytest.importorskip("skorch")
    X, _ = _scaled_data()
    y = (X[:, 0] - X[:, 1])[:, None]
    net = skorch.NeuralNetRegressor(
        _module(1), max_epochs=5, lr=0.05, train_split=None, verbose=0
    )
    model = make_pipeline(StandardScaler(), net).fit(X, y)
    _check(model, X, y, ["predict"])


def test_skorch_float32_pipeline_keeps_module_dtype():
    X, y = _scaled_data()
    X = X.astype(np.float32)
    model = make_pipeline(StandardScaler(), _skorch_classifier(torch.float32))
    model = model.fit(X, y)
    function = translate(model, "predict_proba", torch.float32, "cpu")
    out = function(torch.tensor(X))
    assert out.dtype == torch.float32
    assert_allclose(out.detach().numpy(), model.predict_proba(X), rtol=1e-6)
    assert GradientExplainer(model).fit(X, y).method_ == "autograd"


def test_skorch_net_inside_soft_voting():
    X, y = _scaled_data()
    model = _fit(
        lambda: VotingClassifier(
            [("lr", LogisticRegression()), ("net", _skorch_classifier())],
            voting="soft",
        ),
        X,
        y,
    )
    _check(model, X, y, ["predict_proba"])


def test_torch_model_after_scaler():
    from sklearn_gradexplain import TorchModel

    X, y = _scaled_data()
    model = make_pipeline(StandardScaler(), TorchModel(_module(3), classes=[0, 1, 2]))
    _check(model.fit(X, y), X, y, P)


def test_torch_net_in_the_middle_is_not_translated():
    from sklearn_gradexplain import TorchModel

    X, y = _scaled_data()
    net = TorchModel(_module(3), classes=[0, 1, 2]).fit(X, y)
    model = Pipeline([("net", net), ("lr", LogisticRegression())])
    with pytest.raises(
        NotDifferentiableError, match=r"TorchModel \(step 'net' of the Pipeline\)"
    ):
        translate(model, "predict_proba", torch.float64, "cpu")


def test_bagging_estimators_that_saw_fewer_classes():
    """BaggingClassifier adds each one's probabilities into its own classes' columns."""
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

    X, y = _data("multiclass")
    y = np.where(np.arange(len(y)) < 3, 2, np.where(np.arange(len(y)) < 20, 1, 0))
    # LDA takes no sample_weight: bagging fits it on the drawn rows only
    model = BaggingClassifier(
        LinearDiscriminantAnalysis(), n_estimators=6, max_samples=12, random_state=0
    ).fit(X, y)
    assert {len(e.classes_) for e in model.estimators_} == {2, 3}
    _check(model, X, y, ["predict_proba"])


@pytest.mark.filterwarnings("ignore:Label not 2 is present in all training examples")
def test_one_vs_rest_with_a_constant_label():
    """A label in no training row: OneVsRestClassifier keeps a constant predictor."""
    X, y = _data("multiclass")
    Y = np.c_[y == 0, y == 1, np.zeros(len(y))].astype(int)
    model = OneVsRestClassifier(LogisticRegression()).fit(X, Y)
    assert type(model.estimators_[2]).__name__ == "_ConstantPredictor"
    _check(model, X, Y, P)
