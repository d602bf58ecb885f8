"""sklearn-gradexplain: explain any fitted model through its input gradient.

Heavy dependencies (torch, skorch, matplotlib, dask, tqdm) are imported lazily, where
they are used.
"""

from ._explainer import GradientExplainer
from .exceptions import NotDifferentiableError, ZeroGradientWarning

__version__ = "0.1.0"

__all__ = [
    "GradientExplainer",
    "NotDifferentiableError",
    "ZeroGradientWarning",
    "__version__",
]
