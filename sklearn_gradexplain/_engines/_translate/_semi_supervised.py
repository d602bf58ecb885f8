"""Translations of label propagation and label spreading with the RBF kernel.

``BaseLabelPropagation.predict_proba``: ``W = rbf_kernel(X, X_)``, probabilities
``W @ label_distributions_`` normalized per row. The ``"knn"`` kernel counts
neighbours: piecewise constant in x.
"""

from sklearn.semi_supervised import LabelPropagation, LabelSpreading

from ._kernel import _kernel
from ._registry import Blocked, register, unsupported


@register(LabelPropagation, LabelSpreading)
def _label_propagation(model, method, ctx):
    if method != "predict_proba":
        raise unsupported(model, method)
    if model.kernel != "rbf":
        shown = getattr(model.kernel, "__name__", model.kernel)
        raise Blocked(model, f"kernel={shown!r}")
    kernel = _kernel(model, "rbf", model.X_, model.gamma, None, None, ctx)
    distributions = ctx.tensor(model.label_distributions_)

    def proba(X):
        probabilities = kernel(X) @ distributions
        return probabilities / probabilities.sum(dim=1, keepdim=True)

    return proba
