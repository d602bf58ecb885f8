"""Feature selection by gradient importance, with ``SelectFromModel``'s rules."""

from numbers import Integral, Real

import numpy as np
from sklearn.feature_selection import SelectorMixin
from sklearn.utils.validation import check_is_fitted, check_scalar

from ._base import BaseGradientExplainer, _SummaryMixin
from ._compat import Interval, _fit_context, calculate_threshold
from ._response import unwrap_model


class GradientFeatureSelector(_SummaryMixin, SelectorMixin, BaseGradientExplainer):
    """Select features by the mean absolute attribution of a model.

    ``fit`` fits (a clone of) the estimator unless it is frozen, explains the fit
    data and keeps the features whose ``feature_importances_`` (mean absolute
    attribution over samples and outputs) reach ``threshold``, at most
    ``max_features`` of them: the rules of
    :class:`~sklearn.feature_selection.SelectFromModel`, with gradient importances in
    place of ``coef_`` or the trees' impurity importances.

    Parameters
    ----------
    estimator : estimator
        The model whose gradients rank the features: a scikit-learn estimator, a
        skorch net, or ``FrozenEstimator(fitted_model)``.
    threshold : str or float, default=None
        Features whose importance is greater or equal are kept. ``"median"``,
        ``"mean"`` or a scaled version such as ``"1.25*mean"``; ``None`` means
        ``"mean"``, or 1e-5 when the estimator is L1-penalized (e.g. ``Lasso``), as
        in ``SelectFromModel``.
    max_features : int or callable, default=None
        The maximum number of features to select; a callable receives ``X`` and
        returns it. ``None`` keeps every feature that passes ``threshold``. To
        select on ``max_features`` alone, set ``threshold=-np.inf``.
    attribution : str or attribution object, default="gradient"
        What is computed per sample (see :class:`GradientExplainer`); features are
        ranked by its mean absolute value.
    method : {"auto", "autograd", "finite_difference"} or FiniteDifference, \
default="auto"
        How gradients are obtained (see :class:`GradientExplainer`).
    response_method : {"auto", "predict_proba", "decision_function", "predict"}, \
default="auto"
        Which output is differentiated (see :class:`GradientExplainer`).
    target : None, class label or int, default=None
        Which output is explained (see :class:`GradientExplainer`).
    features : list of str or int, default=None
        Columns that compete for selection; the others are always kept.
    batch_size : "auto" or int, default="auto"
        Input rows per model call.
    n_jobs : int, default=None
        Number of joblib workers for finite differences.
    device : str or torch.device, default="cpu"
        The torch device for autograd.
    verbose : int, default=0
        Show a progress bar (tqdm) when > 0.

    Attributes
    ----------
    threshold_ : float
        The threshold that was applied.
    max_features_ : int
        The maximum number of features (when ``max_features`` is given).
    feature_importances_ : ndarray of shape (n_explained,)
        Mean absolute attribution over samples and outputs of each explained column.
    global_gradient_ : ndarray of shape (n_explained,) or (n_outputs, n_explained)
        Mean signed attribution over the fit data.
    estimator_ : estimator
        The fitted model.
    method_ : str
        The engine used, ``"autograd"`` or ``"finite_difference"``.
    response_method_ : str
        The response that is differentiated.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during fit (DataFrame input).

    See Also
    --------
    sklearn.feature_selection.SelectFromModel : The same rules on ``coef_`` or
        ``feature_importances_``.
    gradient_importance : Gradient importances of a fitted model, as a ``Bunch``.

    Notes
    -----
    With ``features``, only the explained columns compete for selection; the other
    columns are always kept.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn_gradexplain import GradientFeatureSelector
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(200, 5))
    >>> y = (X[:, 0] - 2 * X[:, 3] > 0).astype(int)
    >>> selector = GradientFeatureSelector(LogisticRegression()).fit(X, y)
    >>> selector.get_support(indices=True)
    array([0, 3])
    >>> selector.transform(X).shape
    (200, 2)
    """

    _parameter_constraints = {
        **BaseGradientExplainer._parameter_constraints,
        "threshold": [Interval(Real, None, None, closed="both"), str, None],
        "max_features": [Interval(Integral, 0, None, closed="left"), callable, None],
    }

    def __init__(
        self,
        estimator,
        *,
        threshold=None,
        max_features=None,
        attribution="gradient",
        method="auto",
        response_method="auto",
        target=None,
        features=None,
        batch_size="auto",
        n_jobs=None,
        device="cpu",
        verbose=0,
    ):
        self.estimator = estimator
        self.threshold = threshold
        self.max_features = max_features
        self.attribution = attribution
        self.method = method
        self.response_method = response_method
        self.target = target
        self.features = features
        self.batch_size = batch_size
        self.n_jobs = n_jobs
        self.device = device
        self.verbose = verbose

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # A transformer whatever the model is (the base copies the model's type).
        tags.estimator_type = None
        tags.classifier_tags = None
        tags.regressor_tags = None
        return tags

    def _check_settings(self, n_features, y=None):
        super()._check_settings(n_features, y)
        # a bad threshold string fails here, before any model work
        calculate_threshold(unwrap_model(self.estimator), np.ones(1), self.threshold)

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y=None, sample_weight=None, **fit_params):
        """Fit the estimator (unless frozen), explain ``X`` and set the threshold.

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)
            The data the importances are computed on.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs), default=None
            Targets for fitting the estimator (unused when it is frozen).
        sample_weight : array-like of shape (n_samples,), default=None
            Frequency weights of the rows in the importances.
        **fit_params : dict
            Passed to the estimator's ``fit``.

        Returns
        -------
        self : GradientFeatureSelector
            The fitted selector.
        """
        if self.max_features is not None:
            max_features = (
                self.max_features(X)
                if callable(self.max_features)
                else self.max_features
            )
            check_scalar(max_features, "max_features", Integral, min_val=0)
        self._fit_explainer(X, y, sample_weight, fit_params)
        if self.max_features is not None:
            self.max_features_ = max_features
        self.threshold_ = float(
            calculate_threshold(
                unwrap_model(self.estimator_), self.feature_importances_, self.threshold
            )
        )
        return self

    def _get_support_mask(self):
        check_is_fitted(self)
        scores = self.feature_importances_
        if self.max_features is not None:
            explained = np.zeros_like(scores, dtype=bool)
            explained[np.argsort(-scores, kind="mergesort")[: self.max_features_]] = (
                True
            )
        else:
            explained = np.ones_like(scores, dtype=bool)
        explained[scores < self.threshold_] = False
        mask = np.ones(self.n_features_in_, dtype=bool)
        mask[self.feature_indices_] = explained
        return mask
