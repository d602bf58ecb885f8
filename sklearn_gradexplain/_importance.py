"""Gradient importances of a fitted model, shaped like ``permutation_importance``."""

import numpy as np
from sklearn.frozen import FrozenEstimator
from sklearn.utils import Bunch
from sklearn.utils.validation import check_is_fitted

from ._compat import validate_params
from ._explainer import GradientExplainer


@validate_params(
    {
        "estimator": [GradientExplainer._parameter_constraints["estimator"][0]],
        "X": ["array-like", "sparse matrix"],
        **{
            name: constraint
            for name, constraint in GradientExplainer._parameter_constraints.items()
            if name != "estimator"
        },
        "sample_weight": ["array-like", None],
    },
    prefer_skip_nested_validation=False,
)
def gradient_importance(
    estimator,
    X,
    *,
    attribution="gradient",
    method="auto",
    response_method="auto",
    target=None,
    features=None,
    categorical_features=None,
    explain_at=None,
    batch_size="auto",
    n_jobs=None,
    device="cpu",
    verbose=0,
    sample_weight=None,
):
    """Importance of each feature of a fitted model, from its input gradients.

    The counterpart of :func:`sklearn.inspection.permutation_importance` that needs no
    target and no repeated predictions: the attribution of every sample (the input
    gradient by default) is computed once, and a feature's importance is the mean of
    its absolute attribution over the samples (and outputs).

    Parameters
    ----------
    estimator : estimator
        A fitted model (it is wrapped in ``FrozenEstimator`` and never refitted).
    X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)
        The data the importances are computed on.
    attribution : str or attribution object, default="gradient"
        What is computed per sample (see :class:`GradientExplainer`).
    method : {"auto", "autograd", "finite_difference"} or FiniteDifference, \
default="auto"
        How gradients are obtained.
    response_method : {"auto", "predict_proba", "decision_function", "predict"}, \
default="auto"
        Which output is differentiated.
    target : None, class label or int, default=None
        Which output is explained.
    features : list of str or int, default=None
        Columns to explain; the others are held fixed.
    categorical_features : None, "from_dtype" or list, default=None
        Raw categorical columns given switch effects.
    explain_at : str, default=None
        Pipeline step whose output is explained.
    batch_size : "auto" or int, default="auto"
        Input rows per model call.
    n_jobs : int, default=None
        Number of joblib workers for finite differences.
    device : str or torch.device, default="cpu"
        The torch device for autograd.
    verbose : int, default=0
        Show a progress bar when > 0.
    sample_weight : array-like of shape (n_samples,), default=None
        Frequency weights of the rows in ``importances_mean`` and
        ``importances_std``.

    Returns
    -------
    result : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with the following attributes.

        importances_mean : ndarray of shape (n_features,)
            Mean of ``importances`` over the samples.
        importances_std : ndarray of shape (n_features,)
            Standard deviation of ``importances`` over the samples.
        importances : ndarray of shape (n_features, n_samples)
            The absolute attribution of each feature in each sample (averaged over
            outputs), laid out like ``permutation_importance``'s raw scores.
        attributions : ndarray of shape (n_samples, n_features) or \
(n_samples, n_outputs, n_features)
            The signed per-sample attributions, as returned by
            :meth:`GradientExplainer.explain`.
        global_gradient : ndarray of shape (n_features,) or (n_outputs, n_features)
            The signed mean attribution over the samples.

    See Also
    --------
    GradientExplainer : The explainer behind this function.
    GradientFeatureSelector : Feature selection by the same importances.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LinearRegression
    >>> from sklearn_gradexplain import gradient_importance
    >>> X = np.random.RandomState(0).normal(size=(50, 3))
    >>> model = LinearRegression().fit(X, X @ np.array([1.0, -3.0, 0.0]))
    >>> result = gradient_importance(model, X)
    >>> result.importances.shape
    (3, 50)
    >>> result.importances_mean.round(6)
    array([1., 3., 0.])
    >>> result.global_gradient.round(6)
    array([ 1., -3.,  0.])
    """
    check_is_fitted(estimator)
    if not isinstance(estimator, FrozenEstimator):
        estimator = FrozenEstimator(estimator)
    explainer = GradientExplainer(
        estimator,
        attribution=attribution,
        method=method,
        response_method=response_method,
        target=target,
        features=features,
        categorical_features=categorical_features,
        explain_at=explain_at,
        batch_size=batch_size,
        n_jobs=n_jobs,
        device=device,
        verbose=verbose,
    )
    attributions, _, _ = explainer._fit_explainer(X, None, sample_weight, {}, keep=True)
    magnitudes = np.abs(attributions)
    if magnitudes.ndim == 3:
        magnitudes = magnitudes.mean(axis=1)
    weights = None if sample_weight is None else np.asarray(sample_weight, float)
    mean = np.average(magnitudes, axis=0, weights=weights)
    std = np.sqrt(np.average((magnitudes - mean) ** 2, axis=0, weights=weights))
    return Bunch(
        importances_mean=mean,
        importances_std=std,
        importances=magnitudes.T,
        attributions=attributions,
        global_gradient=explainer.global_gradient_,
    )
