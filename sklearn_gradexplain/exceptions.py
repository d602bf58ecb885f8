"""Exceptions and warnings raised by sklearn-gradexplain."""

import os
import sys
import warnings


def _warn(message, category):
    """``warnings.warn`` attributed to the first frame outside this package and
    scikit-learn (the user's call, however deep the library's own frames go)."""
    import sklearn

    inside = (
        os.path.dirname(os.path.abspath(__file__)),
        os.path.dirname(sklearn.__file__),
    )
    frame, level = sys._getframe(1), 2
    while frame is not None and frame.f_code.co_filename.startswith(inside):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, category, stacklevel=level)


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


class DiscontinuityWarning(UserWarning):
    """A finite-difference quotient measured a jump, not a slope.

    Across a discontinuity (a tree split, a naive-Bayes category table, a quantile
    table's edge, an integer-coded category) the difference of the outputs stays the
    same when the step shrinks, so the quotient grows like 1/step: it is not a
    derivative. The warning names the features; a larger ``step``, SmoothGrad, or
    ``categorical_features`` for coded categories measure what is meant.

    Examples
    --------
    >>> from sklearn_gradexplain.exceptions import DiscontinuityWarning
    >>> issubclass(DiscontinuityWarning, UserWarning)
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
