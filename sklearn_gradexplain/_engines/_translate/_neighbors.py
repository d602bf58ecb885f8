"""Translation of NearestCentroid (the smooth one of the neighbour models).

With ``metric="euclidean"`` its discriminant scores are ``-||(x - c_k) / s||² + 2 log
prior_k`` (``NearestCentroid._decision_function``, ``s`` the within-class standard
deviations where non-zero), turned into probabilities by a softmax
(``DiscriminantAnalysisPredictionMixin``). Nearest-neighbour models are piecewise
constant in x.
"""

import numpy as np
from sklearn.neighbors import NearestCentroid

from ._registry import Blocked, register, unsupported


@register(NearestCentroid)
def _nearest_centroid(model, method, ctx):
    import torch

    if model.metric != "euclidean":
        raise Blocked(model, f"metric={model.metric!r} has no decision_function")
    if method not in ("decision_function", "predict_proba"):
        raise unsupported(model, method)
    std = np.asarray(model.within_class_std_dev_, dtype=np.float64)
    scale = ctx.tensor(np.where(std != 0, std, 1.0))
    centroids = ctx.tensor(model.centroids_ / np.where(std != 0, std, 1.0))
    prior = ctx.tensor(2.0 * np.log(model.class_prior_))

    def scores(X):
        distances = ((X / scale)[:, None, :] - centroids).square().sum(dim=2)
        return -distances + prior

    if method == "predict_proba":
        return lambda X: torch.softmax(scores(X), dim=1)

    def decision(X):
        s = scores(X)
        return s[:, 1] - s[:, 0] if s.shape[1] == 2 else s

    return decision
