"""Translations of generalized linear models: the inverse link of a linear predictor.

``_GeneralizedLinearRegressor.predict`` is ``link.inverse(X @ coef_ + intercept_)``;
the link follows from the public parameters (``_get_loss`` of each class): log for
Poisson and Gamma, and for Tweedie ``link="auto"`` means identity when ``power <= 0``
and log otherwise.
"""

from sklearn.linear_model import GammaRegressor, PoissonRegressor, TweedieRegressor

from ._registry import affine, register, unsupported


def _link(model):
    if isinstance(model, TweedieRegressor):
        if model.link == "auto":
            return "identity" if model.power <= 0 else "log"
        return model.link
    return "log"


@register(PoissonRegressor, GammaRegressor, TweedieRegressor)
def _glm(model, method, ctx):
    import torch

    if method != "predict":
        raise unsupported(model, method)
    linear = affine(model.coef_, model.intercept_, ctx)
    if _link(model) == "identity":
        return linear
    return lambda X: torch.exp(linear(X))
