"""Gradient × input: x ⊙ ∂f(x)/∂x."""

import numpy as np

from ._base import BaseAttribution, register


@register("gradient_x_input")
class GradientXInput(BaseAttribution):
    """The input times its gradient, x ⊙ ∂f(x)/∂x, for each sample.

    On a bias-free ReLU network it equals integrated gradients from the zero
    baseline and LRP-0, and sums to f(x) (Euler's theorem for homogeneous functions).
    Missing cells (NaN, imputed by the model) get 0.

    See Also
    --------
    IntegratedGradients : A path integral that sums to f(x) − f(baseline).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LinearRegression
    >>> from sklearn_gradexplain import GradientExplainer
    >>> from sklearn_gradexplain.attributions import GradientXInput
    >>> X = np.array([[1.0, 2.0], [3.0, 1.0], [0.0, 4.0]])
    >>> explainer = GradientExplainer(LinearRegression(), attribution=GradientXInput())
    >>> explainer.fit(X, X @ [2.0, -1.0]).explain(X[:1]).round(6)
    array([[ 2., -2.]])
    """

    _additive = True

    def __init__(self):
        pass

    def _attribute(self, engine, points):
        Z = np.nan_to_num(points.Z, nan=0.0)
        return engine.gradient(points) * Z[:, None, :]
