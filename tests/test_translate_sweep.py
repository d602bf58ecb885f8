"""The estimator sweep (issue 14): every classifier and regressor of scikit-learn.

Every estimator of ``all_estimators(type_filter=["classifier", "regressor"])`` is
constructed with its defaults (meta-estimators that require an inner estimator get a
simple one), fitted on small binary / 3-class / regression data, and explained with
``method="auto"``. ``ENGINES`` is the expected engine of each (``method_``); for the
exact ones, autograd is checked against central finite differences of the same
frozen model. ``docs/engines.rst`` (Coverage) prints the same table.

A few defaults are lowered to keep the sweep fast (``FAST``): fewer trees, boosting
rounds or solver iterations. The engine depends on the estimator's type and on
parameters such as kernels and strategies, never on these.
"""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.base import is_classifier
from sklearn.datasets import make_classification, make_regression
from sklearn.ensemble import (
    StackingClassifier,
    StackingRegressor,
    VotingClassifier,
    VotingRegressor,
)
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import FixedThresholdClassifier, TunedThresholdClassifierCV
from sklearn.multiclass import (
    OneVsOneClassifier,
    OneVsRestClassifier,
    OutputCodeClassifier,
)
from sklearn.multioutput import (
    ClassifierChain,
    MultiOutputClassifier,
    MultiOutputRegressor,
    RegressorChain,
)
from sklearn.naive_bayes import GaussianNB
from sklearn.semi_supervised import SelfTrainingClassifier
from sklearn.svm import SVR
from sklearn.utils import all_estimators

from sklearn_gradexplain import FiniteDifference, GradientExplainer

AUTOGRAD, FD = "autograd", "finite_difference"

#: the engine ``method="auto"`` picks; None: no differentiable response at all
ENGINES = {
    "ARDRegression": AUTOGRAD,
    "AdaBoostClassifier": FD,  # votes of trees (SAMME): piecewise constant
    "AdaBoostRegressor": FD,  # weighted median of trees
    "BaggingClassifier": FD,  # of decision trees by default (exact of smooth ones)
    "BaggingRegressor": FD,
    "BayesianRidge": AUTOGRAD,
    "BernoulliNB": FD,  # binarize=0.0 thresholds x (binarize=None is exact)
    "CCA": AUTOGRAD,
    "CalibratedClassifierCV": AUTOGRAD,  # LinearSVC + sigmoid
    "CategoricalNB": FD,  # x are category codes
    "ClassifierChain": FD,  # chain_method="predict" passes labels down the chain
    "ComplementNB": AUTOGRAD,
    "DecisionTreeClassifier": FD,
    "DecisionTreeRegressor": FD,
    "DummyClassifier": AUTOGRAD,  # constant: gradient exactly zero
    "DummyRegressor": AUTOGRAD,
    "ElasticNet": AUTOGRAD,
    "ElasticNetCV": AUTOGRAD,
    "ExtraTreeClassifier": FD,
    "ExtraTreeRegressor": FD,
    "ExtraTreesClassifier": FD,
    "ExtraTreesRegressor": FD,
    "FixedThresholdClassifier": AUTOGRAD,
    "GammaRegressor": AUTOGRAD,
    "GaussianNB": AUTOGRAD,
    "GaussianProcessClassifier": AUTOGRAD,
    "GaussianProcessRegressor": AUTOGRAD,
    "GradientBoostingClassifier": FD,
    "GradientBoostingRegressor": FD,
    "HistGradientBoostingClassifier": FD,
    "HistGradientBoostingRegressor": FD,
    "HuberRegressor": AUTOGRAD,
    "IsotonicRegression": AUTOGRAD,  # piecewise linear
    "KNeighborsClassifier": FD,
    "KNeighborsRegressor": FD,
    "KernelRidge": AUTOGRAD,
    "LabelPropagation": AUTOGRAD,
    "LabelSpreading": AUTOGRAD,
    "Lars": AUTOGRAD,
    "LarsCV": AUTOGRAD,
    "Lasso": AUTOGRAD,
    "LassoCV": AUTOGRAD,
    "LassoLars": AUTOGRAD,
    "LassoLarsCV": AUTOGRAD,
    "LassoLarsIC": AUTOGRAD,
    "LinearDiscriminantAnalysis": AUTOGRAD,
    "LinearRegression": AUTOGRAD,
    "LinearSVC": AUTOGRAD,
    "LinearSVR": AUTOGRAD,
    "LogisticRegression": AUTOGRAD,
    "LogisticRegressionCV": AUTOGRAD,
    "MLPClassifier": AUTOGRAD,  # ReLU: piecewise linear
    "MLPRegressor": AUTOGRAD,
    "MultiOutputClassifier": FD,  # predict_proba is a list of arrays per label
    "MultiOutputRegressor": AUTOGRAD,
    "MultiTaskElasticNet": AUTOGRAD,
    "MultiTaskElasticNetCV": AUTOGRAD,
    "MultiTaskLasso": AUTOGRAD,
    "MultiTaskLassoCV": AUTOGRAD,
    "MultinomialNB": AUTOGRAD,
    "NearestCentroid": AUTOGRAD,
    "NuSVC": AUTOGRAD,
    "NuSVR": AUTOGRAD,
    "OneVsOneClassifier": AUTOGRAD,  # votes constant, confidences differentiated
    "OneVsRestClassifier": AUTOGRAD,
    "OrthogonalMatchingPursuit": AUTOGRAD,
    "OrthogonalMatchingPursuitCV": AUTOGRAD,
    "OutputCodeClassifier": None,  # predict only: class labels
    "PLSCanonical": AUTOGRAD,
    "PLSRegression": AUTOGRAD,
    "PassiveAggressiveClassifier": AUTOGRAD,
    "PassiveAggressiveRegressor": AUTOGRAD,
    "Perceptron": AUTOGRAD,
    "PoissonRegressor": AUTOGRAD,
    "QuadraticDiscriminantAnalysis": AUTOGRAD,
    "QuantileRegressor": AUTOGRAD,
    "RANSACRegressor": AUTOGRAD,
    "RadiusNeighborsClassifier": FD,
    "RadiusNeighborsRegressor": FD,
    "RandomForestClassifier": FD,
    "RandomForestRegressor": FD,
    "RegressorChain": AUTOGRAD,
    "Ridge": AUTOGRAD,
    "RidgeCV": AUTOGRAD,
    "RidgeClassifier": AUTOGRAD,
    "RidgeClassifierCV": AUTOGRAD,
    "SGDClassifier": AUTOGRAD,
    "SGDRegressor": AUTOGRAD,
    "SVC": AUTOGRAD,
    "SVR": AUTOGRAD,
    "SelfTrainingClassifier": AUTOGRAD,
    "StackingClassifier": AUTOGRAD,
    "StackingRegressor": AUTOGRAD,
    "TheilSenRegressor": AUTOGRAD,
    "TransformedTargetRegressor": AUTOGRAD,
    "TunedThresholdClassifierCV": AUTOGRAD,
    "TweedieRegressor": AUTOGRAD,
    "VotingClassifier": AUTOGRAD,  # soft voting (hard voting has no probabilities)
    "VotingRegressor": AUTOGRAD,
}

#: meta-estimators that need an inner estimator: a simple one
REQUIRED = {
    "ClassifierChain": lambda: ClassifierChain(LogisticRegression()),
    "FixedThresholdClassifier": lambda: FixedThresholdClassifier(LogisticRegression()),
    "MultiOutputClassifier": lambda: MultiOutputClassifier(LogisticRegression()),
    "MultiOutputRegressor": lambda: MultiOutputRegressor(Ridge()),
    "OneVsOneClassifier": lambda: OneVsOneClassifier(LogisticRegression()),
    "OneVsRestClassifier": lambda: OneVsRestClassifier(LogisticRegression()),
    "OutputCodeClassifier": lambda: OutputCodeClassifier(
        LogisticRegression(), random_state=0
    ),
    "RegressorChain": lambda: RegressorChain(Ridge()),
    "SelfTrainingClassifier": lambda: SelfTrainingClassifier(LogisticRegression()),
    "StackingClassifier": lambda: StackingClassifier(
        [("lr", LogisticRegression()), ("nb", GaussianNB())], cv=3
    ),
    "StackingRegressor": lambda: StackingRegressor(
        [("ridge", Ridge()), ("svr", SVR())], cv=3
    ),
    "TunedThresholdClassifierCV": lambda: TunedThresholdClassifierCV(
        LogisticRegression()
    ),
    "VotingClassifier": lambda: VotingClassifier(
        [("lr", LogisticRegression()), ("nb", GaussianNB())], voting="soft"
    ),
    "VotingRegressor": lambda: VotingRegressor([("ridge", Ridge()), ("svr", SVR())]),
}

#: fewer trees / rounds / iterations / folds (the engine does not depend on them)
FAST = {
    "AdaBoostClassifier": {"n_estimators": 5},
    "AdaBoostRegressor": {"n_estimators": 5},
    "BaggingClassifier": {"n_estimators": 3},
    "BaggingRegressor": {"n_estimators": 3},
    "ExtraTreesClassifier": {"n_estimators": 5},
    "ExtraTreesRegressor": {"n_estimators": 5},
    "GradientBoostingClassifier": {"n_estimators": 5},
    "GradientBoostingRegressor": {"n_estimators": 5},
    "HistGradientBoostingClassifier": {"max_iter": 5},
    "HistGradientBoostingRegressor": {"max_iter": 5},
    "RandomForestClassifier": {"n_estimators": 5},
    "RandomForestRegressor": {"n_estimators": 5},
    "LogisticRegressionCV": {"Cs": 2, "cv": 2},
    "TunedThresholdClassifierCV": {"cv": 2, "thresholds": 10},
    "MLPClassifier": {"max_iter": 50},
    "MLPRegressor": {"max_iter": 50},
    "CalibratedClassifierCV": {"cv": 3},
}

#: how the gradients of an exact estimator are checked, where not by default
#: central differences at rtol=1e-5
CHECKS = {
    "DummyClassifier": "zero",
    "DummyRegressor": "zero",
    # the model's rounding (five-erf sum; alpha=1e-10 makes the kernel matrix nearly
    # singular) dominates the default step; 1e-4 resolves it (test_translate.py)
    "GaussianProcessClassifier": FiniteDifference(step=1e-4),
    "GaussianProcessRegressor": FiniteDifference(step=1e-4),
    # gamma=20 on unit-scale data: the predictions saturate and the gradients are
    # ~1e-14, below what differences resolve (gamma=1 in test_translate.py)
    "LabelPropagation": None,
    "LabelSpreading": None,
}


def _data(name, task):
    if task == "regression":
        two = name.startswith(("MultiTask", "MultiOutput", "RegressorChain")) or (
            name in ("CCA", "PLSCanonical")
        )
        X, y = make_regression(
            n_samples=40,
            n_features=5,
            n_targets=2 if two else 1,
            noise=1.0,
            random_state=0,
        )
        y = y / np.abs(y).max()
        if name in ("GammaRegressor", "PoissonRegressor", "TweedieRegressor"):
            y = np.exp(y)  # their losses need y > 0 (log link)
        if name == "IsotonicRegression":
            X = X[:, :1]  # one feature
        return X, y
    X, y = make_classification(
        n_samples=40,
        n_features=5,
        n_informative=3,
        n_redundant=0,
        n_classes=3 if task == "multiclass" else 2,
        random_state=0,
    )
    if name in ("MultinomialNB", "ComplementNB", "CategoricalNB"):
        X = np.round(X - X.min())  # counts / category codes
    if name in ("ClassifierChain", "MultiOutputClassifier"):
        y = np.c_[y, (X[:, 0] > 0).astype(int)]  # two labels
    return X, y


def _tasks(name, estimator):
    if not is_classifier(estimator):
        return ["regression"]
    if name in ("FixedThresholdClassifier", "TunedThresholdClassifierCV"):
        return ["binary"]  # binary classifiers only
    if name == "ClassifierChain":
        return ["binary"]  # its predict_proba takes binary labels only
    return ["binary", "multiclass"]


def _build(name, cls):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # PassiveAggressive: 1.8
        estimator = REQUIRED[name]() if name in REQUIRED else cls()
    return estimator.set_params(**FAST.get(name, {}))


def _test_points(name, X):
    rng = np.random.RandomState(1)
    points = X[:8] + 0.05 * rng.standard_normal((8, X.shape[1]))
    if name == "IsotonicRegression":  # inside the range: NaN outside it
        points = np.clip(points, X.min() + 1e-3, X.max() - 1e-3)
    return points


ESTIMATORS = dict(all_estimators(type_filter=["classifier", "regressor"]))


def test_the_table_covers_every_estimator():
    assert sorted(ENGINES) == sorted(ESTIMATORS)


def test_at_least_sixty_are_exact():
    exact = [name for name, engine in ENGINES.items() if engine == AUTOGRAD]
    assert len(exact) >= 60, len(exact)


@pytest.mark.filterwarnings("ignore")  # convergence, zero or jumping differences
@pytest.mark.parametrize("name", sorted(ENGINES))
def test_engine_and_gradients(name):
    pytest.importorskip("torch")  # without torch, "auto" is finite differences
    expected = ENGINES[name]
    estimator = _build(name, ESTIMATORS[name])
    for task in _tasks(name, estimator):
        X, y = _data(name, task)
        fit_y = y
        if name == "SelfTrainingClassifier":  # a third of the labels unknown
            fit_y = np.where(np.arange(len(y)) % 3 == 0, -1, y)
        model = FrozenEstimator(_build(name, ESTIMATORS[name]).fit(X, fit_y))
        if expected is None:
            with pytest.raises(ValueError, match="neither predict_proba nor decision"):
                GradientExplainer(model).fit(X)
            continue
        # a few rows are enough to pick the engine (finite differences are slow)
        explainer = GradientExplainer(model).fit(X if expected == AUTOGRAD else X[:5])
        assert explainer.method_ == expected, task
        check = CHECKS.get(name, "finite_difference")
        if expected != AUTOGRAD or check is None:
            continue
        points = _test_points(name, X)
        exact = explainer.explain(points)
        assert np.all(np.isfinite(exact))
        if check == "zero":
            assert np.all(exact == 0)
            continue
        reference = GradientExplainer(model, method=check).fit(points).explain(points)
        assert_allclose(exact, reference, rtol=1e-5, atol=1e-8 * np.abs(exact).max())


def test_the_docs_print_this_table():
    """docs/engines.rst (Coverage) lists the same engine for every estimator."""
    import pathlib
    import re

    page = pathlib.Path(__file__).parents[1] / "docs" / "engines.rst"
    rows = re.findall(r"^   ``(\w+)``, ([a-z ]+), ", page.read_text(), re.M)
    label = {AUTOGRAD: "autograd", FD: "finite differences", None: "none"}
    assert dict(rows) == {name: label[engine] for name, engine in ENGINES.items()}
    exact = sum(engine == AUTOGRAD for engine in ENGINES.values())
    assert f"**{exact}** are translated exactly" in page.read_text()
