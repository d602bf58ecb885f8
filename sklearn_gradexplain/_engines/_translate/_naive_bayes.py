"""Translations of naive Bayes classifiers with smooth joint log-likelihoods.

``predict_proba`` is ``exp(jll - logsumexp(jll))`` (``_BaseNB.predict_log_proba``)
of each model's ``_joint_log_likelihood``: Gaussian (quadratic in x), multinomial and
complement (linear: ``X @ feature_log_prob_.T``, the complement model's weights are
already negated and normalized in ``feature_log_prob_``, and its class prior only
counts with a single class), Bernoulli without binarization (linear). Binarized
Bernoulli and categorical naive Bayes are piecewise constant in x.
"""

import numpy as np
from sklearn.naive_bayes import BernoulliNB, ComplementNB, GaussianNB, MultinomialNB

from ._registry import Blocked, register, softmax_of_log, unsupported


def _response(model, method, jll):
    if method != "predict_proba":
        raise unsupported(model, method)
    return softmax_of_log(jll)


@register(GaussianNB)
def _gaussian_nb(model, method, ctx):
    theta = ctx.tensor(model.theta_)
    var = ctx.tensor(model.var_)
    constant = ctx.tensor(
        np.log(model.class_prior_) - 0.5 * np.sum(np.log(2.0 * np.pi * model.var_), 1)
    )

    def jll(X):
        quadratic = ((X[:, None, :] - theta) ** 2 / var).sum(dim=2)
        return constant - 0.5 * quadratic

    return _response(model, method, jll)


@register(MultinomialNB)
def _multinomial_nb(model, method, ctx):
    weights = ctx.tensor(model.feature_log_prob_).T
    prior = ctx.tensor(model.class_log_prior_)
    return _response(model, method, lambda X: X @ weights + prior)


@register(ComplementNB)
def _complement_nb(model, method, ctx):
    weights = ctx.tensor(model.feature_log_prob_).T
    if len(model.classes_) == 1:
        prior = ctx.tensor(model.class_log_prior_)
        return _response(model, method, lambda X: X @ weights + prior)
    return _response(model, method, lambda X: X @ weights)


@register(BernoulliNB)
def _bernoulli_nb(model, method, ctx):
    if model.binarize is not None:
        raise Blocked(
            model,
            f"binarize={model.binarize!r} thresholds the input: the model is "
            "piecewise constant in x",
        )
    log_p = model.feature_log_prob_
    neg_prob = np.log(1 - np.exp(log_p))
    weights = ctx.tensor(log_p - neg_prob).T
    offset = ctx.tensor(model.class_log_prior_ + neg_prob.sum(axis=1))
    return _response(model, method, lambda X: X @ weights + offset)
