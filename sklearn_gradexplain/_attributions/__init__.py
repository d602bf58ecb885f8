"""Attribution rules, one module each, all over the engines' shared gradient kernel.

Each rule is an :class:`Attribution`: ``compute(engine, data, settings)`` returns
attributions of shape (n_rows, n_outputs, n_explained) for one chunk of rows, and
``points_per_row(settings)`` says how many gradient evaluations a row costs, so that the
explainer's batching loop can size its chunks.
"""

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Attribution:
    compute: Callable
    points_per_row: Callable = lambda settings: 1
    engines: tuple = ("autograd", "finite_difference")


@dataclass(frozen=True)
class AttributionSettings:
    """Hyperparameters of the rules, resolved at explain time."""

    baseline: np.ndarray | None = None
    n_steps: int = 50
    integration: str = "gausslegendre"
    noise: np.ndarray | None = None  # (n_samples, n_explained), same for every row
    lrp_rule: str = "epsilon"
    lrp_epsilon: float = 1e-6


def _registry():
    from ._gradient import GRADIENT, GRADIENT_X_INPUT
    from ._integrated_gradients import INTEGRATED_GRADIENTS
    from ._lrp import LRP
    from ._smoothgrad import SMOOTHGRAD

    return {
        "gradient": GRADIENT,
        "gradient_x_input": GRADIENT_X_INPUT,
        "integrated_gradients": INTEGRATED_GRADIENTS,
        "smoothgrad": SMOOTHGRAD,
        "lrp": LRP,
    }


def get_attribution(name):
    """The :class:`Attribution` registered under ``name``."""
    return _registry()[name]
