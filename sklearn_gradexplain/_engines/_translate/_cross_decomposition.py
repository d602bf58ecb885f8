"""Translations of partial least squares: PLSRegression, PLSCanonical, CCA.

``_PLS.predict`` is ``(X - x_mean) @ coef_.T + intercept_`` (coef_ already carries
the scaling) and ``_PLS.transform`` is ``((X - x_mean) / x_std) @ x_rotations_``.
"""

from sklearn.cross_decomposition import CCA, PLSCanonical, PLSRegression

from ..._compat import pls_centering, pls_predicts_1d
from ._registry import register, unsupported


@register(PLSRegression, PLSCanonical, CCA)
def _pls(model, method, ctx):
    x_mean, x_std = (ctx.tensor(a) for a in pls_centering(model))
    if method == "transform":
        rotations = ctx.tensor(model.x_rotations_)
        return lambda X: ((X - x_mean) / x_std) @ rotations
    if method != "predict":
        raise unsupported(model, method)
    coef = ctx.tensor(model.coef_).T
    intercept = ctx.tensor(model.intercept_)
    one_d = pls_predicts_1d(model)

    def predict(X):
        out = (X - x_mean) @ coef + intercept
        return out.reshape(-1) if one_d else out

    return predict
