"""Attribution objects: what is computed for each sample.

Each is a small scikit-learn estimator (``get_params``, ``set_params``, ``clone``,
nested grid-search keys such as ``attribution__n_steps``) whose ``fit`` learns what it
needs from the explained columns of the fit data. String shorthands name the object
with its defaults. Adding an attribution is one new module with a class decorated by
:func:`~sklearn_gradexplain.attributions._base.register`, and one import line here.
"""

from ._base import BaseAttribution, get_attribution
from ._expected_gradients import ExpectedGradients
from ._gradient import Gradient
from ._gradient_x_input import GradientXInput
from ._integrated_gradients import IntegratedGradients
from ._lrp import LRP
from ._smoothgrad import SmoothGrad

__all__ = [
    "LRP",
    "BaseAttribution",
    "ExpectedGradients",
    "Gradient",
    "GradientXInput",
    "IntegratedGradients",
    "SmoothGrad",
    "get_attribution",
]
