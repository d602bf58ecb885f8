"""sklearn-gradexplain: explain any fitted model through its input gradient.

Heavy dependencies (torch, skorch, matplotlib, dask, tqdm, shap, mlflow, skops,
polars, ray) are imported lazily, where they are used.
"""

from . import attributions
from ._engines._finite_difference import FiniteDifference
from ._explainer import GradientExplainer
from ._hessian import HessianExplainer
from ._importance import gradient_importance
from ._plot import GradientAttributionDisplay
from ._scorer import agreement_scorer, surrogate_agreement_score
from ._selection import GradientFeatureSelector
from ._surrogate import GradientSurrogateClassifier, GradientSurrogateRegressor
from ._token import TokenGradientExplainer
from ._torch_model import TorchModel
from .exceptions import (
    CompletenessWarning,
    DiscontinuityWarning,
    NotDifferentiableError,
    ZeroGradientWarning,
)

__version__ = "0.2.0"

__all__ = [
    "CompletenessWarning",
    "DiscontinuityWarning",
    "FiniteDifference",
    "GradientAttributionDisplay",
    "GradientExplainer",
    "GradientFeatureSelector",
    "GradientSurrogateClassifier",
    "GradientSurrogateRegressor",
    "HessianExplainer",
    "NotDifferentiableError",
    "TokenGradientExplainer",
    "TorchModel",
    "ZeroGradientWarning",
    "__version__",
    "agreement_scorer",
    "attributions",
    "gradient_importance",
    "surrogate_agreement_score",
]
