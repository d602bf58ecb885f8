"""Translations of delegating meta-estimators.

Each reproduces the meta-estimator's own combination of its fitted parts, read from
its code: a search's ``best_estimator_``; the inverse target transform after the
regressor; one-vs-rest and one-vs-one combinations; soft voting and stacking; bagging
over feature subsets; sigmoid calibration; threshold classifiers (whose
``predict_proba``/``decision_function`` delegate); chains and per-output regressors.
Parts are translated with :func:`._registry.located`, so an error names the part.
What is piecewise constant in x (hard votes, stacked labels, isotonic calibration) is
``Blocked`` with the reason.
"""

import numpy as np
from sklearn.base import is_classifier, is_regressor
from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import TransformedTargetRegressor
from sklearn.ensemble import (
    BaggingClassifier,
    BaggingRegressor,
    StackingClassifier,
    StackingRegressor,
    VotingClassifier,
    VotingRegressor,
)
from sklearn.experimental import enable_halving_search_cv  # noqa: F401
from sklearn.linear_model import RANSACRegressor
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
from sklearn.semi_supervised import SelfTrainingClassifier

from ..._compat import (
    constant_predictor_value,
    is_constant_predictor,
    target_training_dim,
)
from ._registry import (
    Blocked,
    constant,
    located,
    ovo_combination,
    register,
    unsupported,
)

_PROBABILISTIC = ("predict_proba", "decision_function")


def _where(model, part):
    return f"{part} of the {type(model).__name__}"


def _response_values(estimator, methods, ctx, location):
    """``sklearn.utils._response._get_response_values(estimator, X, methods)``.

    The first of ``methods`` the estimator has; for a binary classifier the
    positive class's probability (``pos_label=None`` is ``classes_[-1]``) or the
    decision function as it is.
    """
    if is_regressor(estimator) and not is_classifier(estimator):
        return located(estimator, "predict", ctx, location)
    method = next((m for m in methods if hasattr(estimator, m)), None)
    if method is None:
        raise Blocked(estimator, f"none of {', '.join(methods)}").inside(location)
    if method == "predict":
        raise Blocked(
            estimator, "its predict gives class labels: piecewise constant"
        ).inside(location)
    function = located(estimator, method, ctx, location)
    if method == "predict_proba" and len(estimator.classes_) == 2:
        return lambda X: function(X)[:, -1]
    return function


# ------------------------------------------------------------------ delegation
@register(GridSearchCV, RandomizedSearchCV, HalvingGridSearchCV, HalvingRandomSearchCV)
def _search(model, method, ctx):
    if not hasattr(model, "best_estimator_"):
        raise Blocked(
            model,
            "not refitted (refit=False): there is no best_estimator_ to explain; "
            "refit the search, or explain an estimator with its best_params_",
        )
    return located(model.best_estimator_, method, ctx, _where(model, "best_estimator_"))


@register(FixedThresholdClassifier, TunedThresholdClassifierCV, SelfTrainingClassifier)
def _delegate_to_estimator(model, method, ctx):
    # predict of a threshold classifier compares with its threshold: labels
    if method not in _PROBABILISTIC:
        raise unsupported(model, method)
    return located(model.estimator_, method, ctx, _where(model, "estimator_"))


@register(RANSACRegressor)
def _ransac(model, method, ctx):
    if method != "predict":
        raise unsupported(model, method)
    return located(model.estimator_, method, ctx, _where(model, "estimator_"))


@register(TransformedTargetRegressor)
def _transformed_target(model, method, ctx):
    if method != "predict":
        raise unsupported(model, method)
    regressor = located(model.regressor_, "predict", ctx, _where(model, "regressor_"))
    inverse = located(
        model.transformer_,
        "inverse_transform",
        ctx.deeper(),
        _where(model, "transformer_"),
    )
    squeeze = target_training_dim(model) == 1

    def predict(X):
        # TransformedTargetRegressor.predict
        pred = regressor(X)
        pred_trans = inverse(pred.reshape(-1, 1) if pred.ndim == 1 else pred)
        if squeeze and pred_trans.ndim == 2 and pred_trans.shape[1] == 1:
            pred_trans = pred_trans[:, 0]
        return pred_trans

    return predict


# ------------------------------------------------------------------ multiclass
def _ovr_part(model, estimator, method, index, ctx):
    if is_constant_predictor(estimator):  # a class present in every row, or none
        value = float(np.asarray(constant_predictor_value(estimator)).reshape(-1)[0])
        if method == "predict_proba":
            return constant(np.array([1 - value, value]), ctx)
        return constant(value, ctx)
    return located(estimator, method, ctx, _where(model, f"estimators_[{index}]"))


@register(OneVsRestClassifier)
def _one_vs_rest(model, method, ctx):
    import torch

    if method not in _PROBABILISTIC:
        raise unsupported(model, method)
    parts = [
        _ovr_part(model, e, method, i, ctx) for i, e in enumerate(model.estimators_)
    ]
    if method == "decision_function":
        if len(parts) == 1:
            return parts[0]
        return lambda X: torch.stack([p(X).reshape(-1) for p in parts], dim=1)
    normalize = not model.multilabel_

    def proba(X):
        # OneVsRestClassifier.predict_proba
        Y = torch.stack([p(X)[:, 1] for p in parts], dim=1)
        if len(parts) == 1:
            Y = torch.cat([1 - Y, Y], dim=1)
        if normalize:
            total = Y.sum(dim=1, keepdim=True)
            nonzero = total != 0
            Y = torch.where(nonzero, Y / torch.where(nonzero, total, 1.0), Y)
        return Y

    return proba


@register(OneVsOneClassifier)
def _one_vs_one(model, method, ctx):
    import torch

    if method != "decision_function":
        raise unsupported(model, method)
    if model.pairwise_indices_ is not None:
        raise Blocked(model, "a precomputed kernel (pairwise_indices_)")
    confidences, thresholds = [], []
    for i, estimator in enumerate(model.estimators_):
        location = _where(model, f"estimators_[{i}]")
        if not is_classifier(estimator):
            raise Blocked(estimator, "a regressor votes by its prediction").inside(
                location
            )
        # _predict_binary: the decision function, else P(class 1); the estimator's
        # own prediction is that score against 0 (or 1/2)
        kind = "decision_function"
        if not hasattr(estimator, "decision_function"):
            kind = "predict_proba"
        confidences.append(_response_values(estimator, [kind], ctx, location))
        thresholds.append(0.0 if kind == "decision_function" else 0.5)
    n_classes = len(model.classes_)
    combine = ovo_combination(n_classes, ctx)
    limits = ctx.tensor(np.asarray(thresholds))

    def decision(X):
        scores = torch.stack([c(X).reshape(-1) for c in confidences], dim=1)
        votes = (scores > limits).to(scores.dtype).detach()
        Y = combine(votes, scores)
        return Y[:, 1] if n_classes == 2 else Y

    return decision


# ------------------------------------------------------------------ ensembles
def _weights_not_none(model):
    """``_BaseVoting._weights_not_none``."""
    if model.weights is None:
        return None
    pairs = zip(model.estimators, model.weights, strict=True)
    return [w for est, w in pairs if est[1] != "drop"]


def _average(parts, weights, dim):
    """``np.average(np.stack(parts, dim), axis=dim, weights=weights)``."""
    import torch

    stacked = torch.stack(parts, dim=dim)
    if weights is None:
        return stacked.mean(dim=dim)
    w = torch.tensor(weights, dtype=stacked.dtype, device=stacked.device)
    shape = [1] * stacked.ndim
    shape[dim] = -1
    return (stacked * w.reshape(shape)).sum(dim=dim) / w.sum()


@register(VotingClassifier)
def _voting_classifier(model, method, ctx):
    if model.voting != "soft":
        raise Blocked(
            model,
            "voting='hard' predicts the majority label, a piecewise-constant function "
            "without gradient; use voting='soft'",
        )
    if method != "predict_proba":
        raise unsupported(model, method)
    parts = [
        located(e, "predict_proba", ctx, _where(model, f"estimators_[{i}]"))
        for i, e in enumerate(model.estimators_)
    ]
    weights = _weights_not_none(model)
    return lambda X: _average([p(X) for p in parts], weights, dim=0)


@register(VotingRegressor)
def _voting_regressor(model, method, ctx):
    if method != "predict":
        raise unsupported(model, method)
    parts = [
        located(e, "predict", ctx, _where(model, f"estimators_[{i}]"))
        for i, e in enumerate(model.estimators_)
    ]
    weights = _weights_not_none(model)
    return lambda X: _average([p(X) for p in parts], weights, dim=1)


def _stacked_features(model, ctx):
    """``_BaseStacking.transform``: the base outputs side by side (and X)."""
    import torch

    binary = is_classifier(model) and len(model.classes_) == 2
    parts = []
    for i, (estimator, stack_method) in enumerate(
        zip(model.estimators_, model.stack_method_, strict=True)
    ):
        location = _where(model, f"estimators_[{i}]")
        if stack_method == "predict" and is_classifier(estimator):
            raise Blocked(
                estimator, "stack_method 'predict' stacks class labels"
            ).inside(location)
        parts.append(
            (
                located(estimator, stack_method, ctx, location),
                binary and stack_method == "predict_proba",
            )
        )
    passthrough = model.passthrough

    def transform(X):
        # _BaseStacking._concatenate_predictions
        columns = []
        for function, drop_first in parts:
            preds = function(X)
            if preds.ndim == 1:
                preds = preds.reshape(-1, 1)
            elif drop_first:
                preds = preds[:, 1:]
            columns.append(preds)
        if passthrough:
            columns.append(X)
        return torch.cat(columns, dim=1)

    return transform


@register(StackingClassifier, StackingRegressor)
def _stacking(model, method, ctx):
    if is_classifier(model) and isinstance(model.classes_, list):
        raise Blocked(model, "multilabel targets")
    expected = _PROBABILISTIC if is_classifier(model) else ("predict",)
    if method not in expected:
        raise unsupported(model, method)
    features = _stacked_features(model, ctx)
    final = located(
        model.final_estimator_, method, ctx.deeper(), _where(model, "final_estimator_")
    )
    return lambda X: final(features(X))


def _bagged(model, method, ctx):
    import torch

    parts = []
    for i, (estimator, features) in enumerate(
        zip(model.estimators_, model.estimators_features_, strict=True)
    ):
        location = _where(model, f"estimators_[{i}]")
        if method == "predict_proba" and not hasattr(estimator, "predict_proba"):
            raise Blocked(
                estimator, "no predict_proba: the bagging votes with its labels"
            ).inside(location)
        function = located(estimator, method, ctx, location)
        index = torch.tensor(np.asarray(features), dtype=torch.long, device=ctx.device)
        columns = None
        if method == "predict_proba" and len(estimator.classes_) != model.n_classes_:
            columns = torch.tensor(
                np.asarray(estimator.classes_), dtype=torch.long, device=ctx.device
            )
        parts.append((function, index, columns))
    n_estimators = model.n_estimators

    def combined(X):
        total = 0
        for function, index, columns in parts:
            out = function(X[:, index])
            if columns is not None:  # BaggingClassifier: classes seen by this one
                full = torch.zeros(
                    (X.shape[0], model.n_classes_), dtype=out.dtype, device=out.device
                )
                out = full.index_add(1, columns, out)
            total = total + out
        return total / n_estimators

    return combined


@register(BaggingClassifier)
def _bagging_classifier(model, method, ctx):
    if method not in _PROBABILISTIC:
        raise unsupported(model, method)
    return _bagged(model, method, ctx)


@register(BaggingRegressor)
def _bagging_regressor(model, method, ctx):
    if method != "predict":
        raise unsupported(model, method)
    return _bagged(model, method, ctx)


# ------------------------------------------------------------------ calibration
def _calibrated(model, calibrated, index, ctx):
    """``_CalibratedClassifier.predict_proba`` with sigmoid calibrators."""
    import torch

    location = _where(model, f"calibrated_classifiers_[{index}]")
    estimator = calibrated.estimator
    predictions = _response_values(
        estimator, ["decision_function", "predict_proba"], ctx, location
    )
    classes = np.asarray(calibrated.classes)
    n_classes = len(classes)
    positions = np.searchsorted(classes, np.asarray(estimator.classes_))
    if n_classes == 2:
        positions = positions + 1  # the binary prediction is for classes_[1]
    columns = []
    # zip stops at the calibrators: one for a binary problem, one per class else
    for position, calibrator in zip(positions, calibrated.calibrators, strict=False):
        columns.append((int(position), float(calibrator.a_), float(calibrator.b_)))

    def proba(X):
        scores = predictions(X)
        if scores.ndim == 1:
            scores = scores.reshape(-1, 1)
        out = [torch.zeros(X.shape[0], dtype=scores.dtype, device=scores.device)] * (
            n_classes
        )
        for k, (position, a, b) in enumerate(columns):
            out[position] = torch.sigmoid(-(a * scores[:, k] + b))
        if n_classes == 2:
            out[0] = 1.0 - out[1]
            P = torch.stack(out, dim=1)
        else:
            P = torch.stack(out, dim=1)
            total = P.sum(dim=1, keepdim=True)
            nonzero = total != 0
            P = torch.where(
                nonzero, P / torch.where(nonzero, total, 1.0), 1.0 / n_classes
            )
        # probabilities that exceed 1 by rounding are 1
        return torch.where((P > 1.0) & (P <= 1.0 + 1e-5), 1.0, P)

    return proba


@register(CalibratedClassifierCV)
def _calibrated_classifier(model, method, ctx):
    if model.method != "sigmoid":
        reason = {
            "isotonic": "isotonic calibration is piecewise constant",
            "temperature": "temperature scaling tells probabilities from decision "
            "values by looking at the batch",
        }.get(model.method, f"method={model.method!r}")
        raise Blocked(model, reason)
    if method != "predict_proba":
        raise unsupported(model, method)
    parts = [
        _calibrated(model, c, i, ctx)
        for i, c in enumerate(model.calibrated_classifiers_)
    ]

    return lambda X: sum(p(X) for p in parts) / len(parts)


# ------------------------------------------------------------------ multi-output
@register(MultiOutputRegressor)
def _multi_output_regressor(model, method, ctx):
    import torch

    if method != "predict":
        raise unsupported(model, method)
    parts = [
        located(e, "predict", ctx, _where(model, f"estimators_[{i}]"))
        for i, e in enumerate(model.estimators_)
    ]
    return lambda X: torch.stack([p(X).reshape(-1) for p in parts], dim=1)


def _chain(model, feature_methods, output_methods, ctx):
    """``_BaseChain._get_predictions``: each link sees X and the earlier features."""
    import torch

    links = []
    for i, estimator in enumerate(model.estimators_):
        location = _where(model, f"estimators_[{i}]")
        # the links after the first see X and the earlier links' outputs
        part_ctx = ctx if i == 0 else ctx.deeper()
        feature = _response_values(estimator, feature_methods, part_ctx, location)
        output = _response_values(estimator, output_methods, part_ctx, location)
        links.append((feature, output))
    inverse = np.empty_like(model.order_)
    inverse[model.order_] = np.arange(len(model.order_))
    inverse = torch.tensor(inverse, dtype=torch.long, device=ctx.device)

    def predict(X):
        features, outputs = [], []
        for feature, output in links:
            X_aug = torch.cat([X, *features], dim=1) if features else X
            features.append(feature(X_aug).reshape(-1, 1))
            outputs.append(output(X_aug).reshape(-1))
        return torch.stack(outputs, dim=1)[:, inverse]

    return predict


@register(RegressorChain)
def _regressor_chain(model, method, ctx):
    if method != "predict":
        raise unsupported(model, method)
    return _chain(model, ["predict"], ["predict"], ctx)


@register(ClassifierChain)
def _classifier_chain(model, method, ctx):
    if model.chain_method_ not in _PROBABILISTIC:
        raise Blocked(
            model,
            f"chain_method={model.chain_method_!r} passes class labels down the "
            "chain; use chain_method='predict_proba' or 'decision_function'",
        )
    if method not in _PROBABILISTIC:
        raise unsupported(model, method)
    return _chain(model, [model.chain_method_], [method], ctx)
