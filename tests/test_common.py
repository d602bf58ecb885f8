"""The common-test contract: every public estimator and attribution object.

Each passes scikit-learn's ``parametrize_with_checks`` (``check_param_validation``
included); the public API's docstrings pass numpydoc's validation.
"""

import importlib
import inspect

import numpy as np
import pytest
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge
from sklearn.utils.estimator_checks import parametrize_with_checks

import sklearn_gradexplain
from sklearn_gradexplain import (
    FiniteDifference,
    GradientExplainer,
    GradientFeatureSelector,
    GradientSurrogateClassifier,
    GradientSurrogateRegressor,
    HessianExplainer,
    TokenGradientExplainer,
    TorchModel,
)
from sklearn_gradexplain.attributions import (
    LRP,
    ExpectedGradients,
    Gradient,
    GradientXInput,
    IntegratedGradients,
    SmoothGrad,
)

try:
    import skorch
    import torch
    from torch import nn
except ImportError:  # the torch-free leg: the token explainer is left out
    torch = None

if torch is not None:

    class _BagOfEmbeddings(nn.Module):
        def __init__(self, n_out=2):
            super().__init__()
            self.embedding = nn.Embedding(300, 4)
            self.out = nn.Linear(4, n_out)

        def forward(self, ids):
            return self.out(self.embedding(ids).mean(dim=1))

    class _RowSum(nn.Module):
        """A parameter-free module of any input width: one logit, the row's sum."""

        def forward(self, X):
            return X.sum(dim=1, keepdim=True)

    class _TextClassifier(skorch.NeuralNetClassifier):
        """One logit per class seen in fit (the checks use 2 and 3 classes).

        The loss needs targets 0..k-1: the labels are encoded, and ``classes`` keeps
        them, so that ``predict_proba`` has one column per class in ``classes_``.
        """

        def fit(self, X, y, **fit_params):
            classes, encoded = np.unique(np.asarray(y), return_inverse=True)
            self.set_params(classes=classes, module__n_out=len(classes))
            return super().fit(X, encoded.astype(np.int64), **fit_params)


def _token_explainer():
    net = _TextClassifier(
        _BagOfEmbeddings,
        criterion=nn.CrossEntropyLoss,
        max_epochs=1,
        train_split=None,
        verbose=0,
    )
    return TokenGradientExplainer(net)


ESTIMATORS = [
    GradientExplainer(LogisticRegression()),
    GradientExplainer(Ridge()),
    GradientExplainer(LogisticRegression(), attribution="integrated_gradients"),
    GradientExplainer(LogisticRegression(), method=FiniteDifference()),
    GradientSurrogateClassifier(LogisticRegression()),
    GradientSurrogateClassifier(LogisticRegression(), method="finite_difference"),
    GradientSurrogateRegressor(Ridge()),
    GradientSurrogateRegressor(LinearRegression(), method="finite_difference"),
    GradientFeatureSelector(LogisticRegression()),
    GradientFeatureSelector(Ridge(), method="finite_difference"),
    GradientFeatureSelector(LogisticRegression(), attribution="gradient_x_input"),
    Gradient(),
    GradientXInput(),
    IntegratedGradients(),
    SmoothGrad(random_state=0),
    SmoothGrad(attribution=IntegratedGradients(n_steps=4), random_state=0),
    LRP(),
    FiniteDifference(),
    ExpectedGradients(random_state=0),
    SmoothGrad(attribution=ExpectedGradients(n_samples=5), random_state=0),
    GradientExplainer(
        LogisticRegression(), attribution=ExpectedGradients(n_samples=5, random_state=0)
    ),
    HessianExplainer(LogisticRegression()),
    HessianExplainer(Ridge(), kind="integrated_hessians", n_steps=3),
    HessianExplainer(LogisticRegression(), method="finite_difference"),
]
if torch is not None:
    ESTIMATORS += [
        _token_explainer(),
        TorchModel(_RowSum(), classes=[0, 1]),
        TorchModel(_RowSum(), task="regression"),
    ]

# A TorchModel is prefit: fit checks its input and never learns, and its classes are
# its module's output columns, so the checks that train on y cannot hold for it.
PREFIT = {
    "check_classifiers_train": "a prefit module does not learn from fit",
    "check_regressors_train": "a prefit module does not learn from fit",
    "check_classifiers_classes": "the classes are the module's output columns",
}


def _expected_failed_checks(estimator):
    return PREFIT if isinstance(estimator, TorchModel) else {}


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=_expected_failed_checks)
def test_sklearn_compatible(estimator, check):
    check(estimator)


# ---------------------------------------------------------------- docstrings
def _public_objects():
    """Every public class, function and public method of the package's API."""
    modules = [sklearn_gradexplain, sklearn_gradexplain.attributions]
    for name in ("exceptions", "datasets", "metrics", "integrations"):
        try:
            modules.append(importlib.import_module(f"sklearn_gradexplain.{name}"))
        except ImportError:
            pass
    seen = set()
    for module in modules:
        for name in getattr(module, "__all__", []):
            obj = getattr(module, name)
            if not (inspect.isclass(obj) or inspect.isfunction(obj)):
                continue
            qualified = f"{obj.__module__}.{obj.__qualname__}"
            if qualified in seen:
                continue
            seen.add(qualified)
            yield f"{module.__name__}.{name}", obj
            if inspect.isclass(obj):
                for attr, member in vars(obj).items():
                    if attr.startswith("_") or not callable(member):
                        continue
                    yield f"{module.__name__}.{name}.{attr}", member


# The numpydoc checks that the public API passes (numpydoc.validate codes); the
# others (extended summaries, See Also on every method, examples on every method)
# are style choices scikit-learn does not enforce either.
IGNORED = {"GL01", "GL02", "ES01", "SA01", "EX01", "RT02", "PR02", "GL08", "SS05"}


@pytest.mark.parametrize("name", [name for name, _ in _public_objects()])
def test_docstring(name):
    numpydoc_validate = pytest.importorskip("numpydoc.validate")
    result = numpydoc_validate.validate(name)
    errors = [
        (code, message) for code, message in result["errors"] if code not in IGNORED
    ]
    assert not errors, f"{name}: {errors}"
