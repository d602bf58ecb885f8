"""Translations of the dummy baselines: constant responses, whose gradient is zero."""

import numpy as np
from sklearn.dummy import DummyClassifier, DummyRegressor

from ._registry import Blocked, constant, register, unsupported


@register(DummyClassifier)
def _dummy_classifier(model, method, ctx):
    if method != "predict_proba":
        raise unsupported(model, method)
    if model.n_outputs_ != 1:
        raise Blocked(model, "several outputs")
    # DummyClassifier.predict_proba, one output
    prior = np.asarray(model.class_prior_, dtype=np.float64)
    n_classes = len(model.classes_)
    if model.strategy == "prior":
        values = prior
    elif model.strategy == "most_frequent":
        values = np.zeros(n_classes)
        values[prior.argmax()] = 1.0
    elif model.strategy == "uniform":
        values = np.full(n_classes, 1.0 / n_classes)
    elif model.strategy == "constant":
        values = np.zeros(n_classes)
        values[np.asarray(model.classes_) == model.constant] = 1.0
    else:
        raise Blocked(
            model, f"strategy={model.strategy!r} draws random probabilities per call"
        )
    return constant(values, ctx)


@register(DummyRegressor)
def _dummy_regressor(model, method, ctx):
    if method != "predict":
        raise unsupported(model, method)
    values = np.asarray(model.constant_, dtype=np.float64).reshape(-1)
    if model.n_outputs_ == 1:
        return constant(values[0], ctx)
    return constant(values, ctx)
