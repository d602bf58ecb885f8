"""sklearn-gradexplain: explain any fitted model through its input gradient.

Heavy dependencies (torch, skorch, matplotlib, dask, tqdm) are imported lazily, where
they are used.
"""

from ._explainer import GradientExplainer
from ._importance import gradient_importance
from ._plot import GradientAttributionDisplay
from ._scorer import agreement_scorer, surrogate_agreement_score
from ._selection import GradientFeatureSelector
from ._surrogate import GradientSurrogateClassifier, GradientSurrogateRegressor
from ._token import TokenGradientExplainer
from .exceptions import NotDifferentiableError, ZeroGradientWarning

__version__ = "0.1.0"

__all__ = [
    "GradientAttributionDisplay",
    "GradientExplainer",
    "GradientFeatureSelector",
    "GradientSurrogateClassifier",
    "GradientSurrogateRegressor",
    "NotDifferentiableError",
    "TokenGradientExplainer",
    "ZeroGradientWarning",
    "agreement_scorer",
    "gradient_importance",
    "surrogate_agreement_score",
    "__version__",
]
