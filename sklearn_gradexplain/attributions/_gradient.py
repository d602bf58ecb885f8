"""The input gradient ∂f(x)/∂x (Hechtlinger 2016)."""

from ._base import BaseAttribution, register


@register("gradient")
class Gradient(BaseAttribution):
    """The input gradient ∂f(x)/∂x of each sample.

    For a linear model f(x) = w·x + b it is w; its mean over a data set is the
    global explanation of Hechtlinger (2016) and the coefficients of the linear
    surrogates.

    See Also
    --------
    GradientXInput : The gradient times the input.
    SmoothGrad : The gradient averaged over noisy copies of the input.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LinearRegression
    >>> from sklearn_gradexplain import GradientExplainer
    >>> from sklearn_gradexplain.attributions import Gradient
    >>> X = np.arange(12.0).reshape(6, 2) ** 1.5
    >>> explainer = GradientExplainer(LinearRegression(), attribution=Gradient())
    >>> explainer = explainer.fit(X, X @ [2.0, -1.0])
    >>> explainer.global_gradient_.round(6)
    array([ 2., -1.])
    """

    _gradient_like = True

    def __init__(self):
        pass

    def _attribute(self, engine, points):
        return engine.gradient(points)
