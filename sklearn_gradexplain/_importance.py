"""Gradient importances of a fitted model, shaped like ``permutation_importance``."""

import numpy as np
from sklearn.frozen import FrozenEstimator
from sklearn.utils import Bunch
from sklearn.utils.validation import check_is_fitted

from ._explainer import GradientExplainer


def gradient_importance(estimator, X, **params):
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
    **params : dict
        The shared explainer parameters (``attribution``, ``method``,
        ``response_method``, ``target``, ``step``, ``scheme``, ``baseline``,
        ``n_steps``, ``integration``, ``noise_level``, ``n_samples``, ``lrp_rule``,
        ``lrp_epsilon``, ``features``, ``batch_size``, ``n_jobs``, ``device``,
        ``random_state``, ``verbose``), with the meaning they have in
        :class:`GradientExplainer`.

    Returns
    -------
    result : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with the following attributes.

        importances_mean : ndarray of shape (n_features,)
            Mean of the absolute attributions over samples (and outputs).
        importances_std : ndarray of shape (n_features,)
            Standard deviation of the absolute attributions over samples (and
            outputs).
        importances : ndarray of shape (n_samples, n_features) or \
(n_samples, n_outputs, n_features)
            The per-sample attributions, as returned by
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
    >>> result.importances_mean.round(6)
    array([1., 3., 0.])
    >>> result.global_gradient.round(6)
    array([ 1., -3.,  0.])
    """
    check_is_fitted(estimator)
    if not isinstance(estimator, FrozenEstimator):
        estimator = FrozenEstimator(estimator)
    explainer = GradientExplainer(estimator, **params)
    flat = explainer.fit_transform(X)
    n_explained = len(explainer.feature_indices_)
    if explainer.n_outputs_ == 1:
        importances = flat
    else:
        importances = flat.reshape(flat.shape[0], explainer.n_outputs_, n_explained)
    magnitudes = np.abs(importances).reshape(-1, n_explained)
    return Bunch(
        importances_mean=magnitudes.mean(axis=0),
        importances_std=magnitudes.std(axis=0),
        importances=importances,
        global_gradient=explainer.global_gradient_,
    )
