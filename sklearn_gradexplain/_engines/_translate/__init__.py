"""Translation of fitted scikit-learn estimators into torch functions.

:func:`translate` turns a fitted estimator into a torch function of its input that
reproduces ``getattr(model, response_method)`` exactly and is differentiable with
respect to the input, so that :class:`~sklearn_gradexplain._engines._autograd.
AutogradEngine` gives exact gradients of ordinary scikit-learn models.

Translations are registered per estimator type, one module per model family
(:mod:`._compose`, :mod:`._preprocessing`, :mod:`._impute`, :mod:`._linear`,
:mod:`._glm`, :mod:`._cross_decomposition`, :mod:`._naive_bayes`, :mod:`._dummy`,
:mod:`._neighbors`, :mod:`._semi_supervised`, :mod:`._isotonic`, :mod:`._neural`,
:mod:`._kernel`, :mod:`._gaussian_process`, :mod:`._meta`): a new type is one small
function ``(model, method, ctx) -> callable``, where ``method`` is ``"transform"``
(steps inside a pipeline), ``"inverse_transform"`` (target transformers) or a
response method. Dispatch is on the exact type (:mod:`._registry`); a skorch net
or TorchModel inside a composite is its module's own response. Composites translate
their parts and compose them; anything unregistered raises
:class:`NotDifferentiableError` naming the first blocking step. Parameters are copied
into tensors once, so the model is never modified and translation stays cheap
(``method="auto"`` tries it in ``fit``).
"""

from ...exceptions import NotDifferentiableError
from . import (  # noqa: F401
    _compose,
    _cross_decomposition,
    _dummy,
    _gaussian_process,
    _glm,
    _impute,
    _isotonic,
    _kernel,
    _linear,
    _meta,
    _naive_bayes,
    _neighbors,
    _neural,
    _preprocessing,
    _semi_supervised,
)
from ._neural import mlp_to_sequential  # noqa: F401
from ._registry import Blocked, Context, HeldRows, translate_step  # noqa: F401


def translate(model, response_method, dtype, device, held=None):
    """A differentiable torch function equal to ``getattr(model, response_method)``.

    Parameters
    ----------
    model : estimator
        Fitted scikit-learn estimator, pipeline or ``FrozenEstimator``.
    response_method : {"predict", "predict_proba", "decision_function", "transform"}
        The response to reproduce.
    dtype : torch.dtype
        Dtype of the computation (the parameters are cast to it).
    device : str or torch.device
        Device of the computation.
    held : HeldRows, default=None
        The input columns held fixed and the holder of the current rows: branches
        of a ``ColumnTransformer`` at the input that read only them are computed
        in numpy as per-row constants.

    Returns
    -------
    function : callable
        Maps a tensor of shape (n_samples, n_features) to the response, shaped like
        the estimator's own output ((n_samples,) or (n_samples, n_outputs)).

    Raises
    ------
    NotDifferentiableError
        If some step of the model has no torch translation; the message names the
        first blocking step.

    Examples
    --------
    >>> import numpy as np
    >>> import torch
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from sklearn_gradexplain._engines._translate import translate
    >>> X = np.array([[0.0, 1.0], [1.0, 0.0], [2.0, 1.0], [3.0, 0.0]])
    >>> model = make_pipeline(StandardScaler(), LogisticRegression())
    >>> model = model.fit(X, [0, 0, 1, 1])
    >>> f = translate(model, "predict_proba", torch.float64, "cpu")
    >>> bool(np.allclose(f(torch.tensor(X)).numpy(), model.predict_proba(X)))
    True
    """
    import torch

    ctx = Context(dtype, torch.device(device), held)
    try:
        function = translate_step(model, response_method, ctx)
    except Blocked as exc:
        raise NotDifferentiableError(str(exc)) from None
    return function if held is None else _WithHeldRows(function, held)


class _WithHeldRows:
    """A translation that reads the raw rows held fixed (the engine sets them)."""

    def __init__(self, function, held):
        self.function = function
        self.held = held

    def __call__(self, X):
        return self.function(X)
