"""Translations of linear models and discriminant analysis."""

import numpy as np
from sklearn import linear_model
from sklearn.discriminant_analysis import (
    LinearDiscriminantAnalysis,
    QuadraticDiscriminantAnalysis,
)
from sklearn.linear_model import (
    ARDRegression,
    BayesianRidge,
    ElasticNet,
    ElasticNetCV,
    HuberRegressor,
    Lars,
    LarsCV,
    Lasso,
    LassoCV,
    LassoLars,
    LassoLarsCV,
    LassoLarsIC,
    LinearRegression,
    LogisticRegression,
    LogisticRegressionCV,
    MultiTaskElasticNet,
    MultiTaskElasticNetCV,
    MultiTaskLasso,
    MultiTaskLassoCV,
    OrthogonalMatchingPursuit,
    OrthogonalMatchingPursuitCV,
    Perceptron,
    QuantileRegressor,
    Ridge,
    RidgeClassifier,
    RidgeClassifierCV,
    RidgeCV,
    SGDClassifier,
    SGDRegressor,
    TheilSenRegressor,
)
from sklearn.svm import LinearSVC, LinearSVR

from ..._compat import lda_max_components
from ._registry import (
    Blocked,
    affine,
    binary_or_softmax,
    ovr_normalized_expit,
    ravel_single,
    register,
    unsupported,
)


@register(LinearDiscriminantAnalysis)
def _lda(model, method, ctx):
    if method == "transform":
        if model.solver == "lsqr":
            raise Blocked(model, "solver='lsqr' has no transform")
        k = lda_max_components(model)
        scalings = ctx.tensor(model.scalings_[:, :k])
        if model.solver == "svd":
            mean = ctx.tensor(model.xbar_)
            return lambda X: (X - mean) @ scalings
        return lambda X: X @ scalings
    decision = ravel_single(affine(model.coef_, model.intercept_, ctx))
    if method == "decision_function":
        return decision
    if method == "predict_proba":
        return binary_or_softmax(decision)
    raise unsupported(model, method)


@register(QuadraticDiscriminantAnalysis)
def _qda(model, method, ctx):
    import torch

    if method not in ("decision_function", "predict_proba"):
        raise unsupported(model, method)
    maps = [
        ctx.tensor(R * (S ** (-0.5)))
        for R, S in zip(model.rotations_, model.scalings_, strict=True)
    ]
    means = [ctx.tensor(m) for m in model.means_]
    constant = ctx.tensor(
        -0.5 * np.asarray([np.sum(np.log(s)) for s in model.scalings_])
        + np.log(model.priors_)
    )

    def scores(X):
        pairs = zip(means, maps, strict=True)
        norms = [((X - m) @ A).square().sum(dim=1) for m, A in pairs]
        norm2 = torch.stack(norms, dim=1)
        return -0.5 * norm2 + constant

    if method == "predict_proba":
        return lambda X: torch.softmax(scores(X), dim=1)

    def decision(X):
        s = scores(X)
        return s[:, 1] - s[:, 0] if s.shape[1] == 2 else s

    return decision


_LINEAR_REGRESSORS = (
    LinearRegression,
    Ridge,
    RidgeCV,
    Lasso,
    LassoCV,
    ElasticNet,
    ElasticNetCV,
    MultiTaskLasso,
    MultiTaskLassoCV,
    MultiTaskElasticNet,
    MultiTaskElasticNetCV,
    Lars,
    LarsCV,
    LassoLars,
    LassoLarsCV,
    LassoLarsIC,
    OrthogonalMatchingPursuit,
    OrthogonalMatchingPursuitCV,
    BayesianRidge,
    ARDRegression,
    HuberRegressor,
    TheilSenRegressor,
    QuantileRegressor,
    SGDRegressor,
    LinearSVR,
)


def _while_present(name):
    """Deprecated classes (PassiveAggressive*: 1.8, gone in 1.10) while they exist."""
    cls = getattr(linear_model, name, None)
    return () if cls is None else (cls,)


@register(
    *_LINEAR_REGRESSORS,
    *_while_present("PassiveAggressiveRegressor"),
)
def _linear_regressor(model, method, ctx):
    if method != "predict":
        raise unsupported(model, method)
    return affine(model.coef_, model.intercept_, ctx)


@register(
    LogisticRegression,
    LogisticRegressionCV,
    SGDClassifier,
    LinearSVC,
    RidgeClassifier,
    RidgeClassifierCV,
    Perceptron,
    *_while_present("PassiveAggressiveClassifier"),
)
def _linear_classifier(model, method, ctx):
    import torch

    decision = ravel_single(affine(model.coef_, model.intercept_, ctx))
    if method == "decision_function":
        return decision
    if method != "predict_proba":
        raise unsupported(model, method)
    if isinstance(model, LogisticRegression):
        return binary_or_softmax(decision)
    if isinstance(model, SGDClassifier) and model.loss == "log_loss":
        return ovr_normalized_expit(decision)
    if isinstance(model, SGDClassifier) and model.loss == "modified_huber":

        def proba(X):
            p = (decision(X).clamp(-1, 1) + 1) / 2
            if p.ndim == 1:
                return torch.stack([1 - p, p], dim=1)
            total = p.sum(dim=1, keepdim=True)
            zero = total == 0
            p = torch.where(zero, torch.ones_like(p), p)
            total = torch.where(zero, torch.full_like(total, p.shape[1]), total)
            return p / total

        return proba
    raise unsupported(model, method)
