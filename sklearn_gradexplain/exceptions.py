"""Exceptions and warnings raised by sklearn-gradexplain."""


class NotDifferentiableError(ValueError):
    """Raised when ``method="autograd"`` meets a model it cannot differentiate.

    The message names the step that blocks differentiation and suggests
    ``method="finite_difference"``.

    Examples
    --------
    >>> from sklearn_gradexplain.exceptions import NotDifferentiableError
    >>> issubclass(NotDifferentiableError, ValueError)
    True
    """


class ZeroGradientWarning(UserWarning):
    """Most finite-difference gradients are exactly zero.

    Piecewise-constant models (trees, boosting, kNN) have zero derivatives almost
    everywhere; a larger ``step`` measures their sensitivity instead.

    Examples
    --------
    >>> from sklearn_gradexplain.exceptions import ZeroGradientWarning
    >>> issubclass(ZeroGradientWarning, UserWarning)
    True
    """


class CompletenessWarning(UserWarning):
    """Integrated gradients do not sum to f(x) - f(baseline) within 5%.

    Raise ``n_steps`` or use the Gauss-Legendre rule.

    Examples
    --------
    >>> from sklearn_gradexplain.exceptions import CompletenessWarning
    >>> issubclass(CompletenessWarning, UserWarning)
    True
    """
