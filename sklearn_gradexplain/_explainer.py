"""GradientExplainer: input-gradient attributions as a scikit-learn transformer."""

import numpy as np
from sklearn.base import TransformerMixin
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted

from ._base import (
    BaseGradientExplainer,
    _is_frozen,
    _ModelMethodsMixin,
    _SummaryMixin,
)
from ._compat import StrOptions, _fit_context, check_sample_weight
from .attributions import get_attribution


def _has_reference(self):
    """``available_if``: the attribution has a reference point (completeness)."""
    attribution = getattr(self, "attribution_", None)
    if attribution is None:
        attribution = get_attribution(self.attribution)
    # switch effects have no reference point: completeness is not defined with them
    return (
        hasattr(attribution, "completeness_delta") and self.categorical_features is None
    )


class GradientExplainer(
    _ModelMethodsMixin, _SummaryMixin, TransformerMixin, BaseGradientExplainer
):
    """Explain a model by the gradient of its prediction with respect to its input.

    ``fit`` fits a clone of ``estimator`` (unless it is a ``FrozenEstimator``) and
    summarises the attributions of the fit data (the mean gradient of Hechtlinger,
    2016, with its standard error); ``explain`` gives per-sample attributions;
    ``transform`` gives the same as a 2-D feature matrix, so the explainer can sit in a
    ``Pipeline``.

    Parameters
    ----------
    estimator : estimator
        The model to explain: a scikit-learn estimator, a skorch net, a
        :class:`TorchModel`, or ``FrozenEstimator(fitted_model)``.
    attribution : str or attribution object, default="gradient"
        What is computed per sample: an object of
        :mod:`sklearn_gradexplain.attributions` (``IntegratedGradients(n_steps=...)``,
        ``SmoothGrad(...)``, ...) or a shorthand for one with its defaults
        (``"gradient"``, ``"gradient_x_input"``, ``"integrated_gradients"``,
        ``"expected_gradients"``, ``"smoothgrad"``, ``"vargrad"``, ``"lrp"``). A
        fitted clone is kept as
        ``attribution_``; its parameters are grid-searched as
        ``attribution__<name>``.
    method : {"auto", "autograd", "finite_difference"} or FiniteDifference, \
default="auto"
        How gradients are obtained: exact torch autograd, or finite differences of
        any model. ``"auto"`` uses autograd where the model can be expressed in torch
        and ``FiniteDifference()`` otherwise; a ``FiniteDifference(step=...,
        scheme=...)`` object forces finite differences with those options.
    response_method : {"auto", "predict_proba", "decision_function", "predict"}, \
default="auto"
        Which output is differentiated: ``predict_proba`` for classifiers that have
        it, else ``decision_function``; ``predict`` for regressors.
    target : None, class label or int, default=None
        ``None``: the positive class of a binary classifier, every output otherwise. A
        class label (classifiers) or output index (multi-label and multi-output
        models) explains that output alone.
    features : list of str or int, default=None
        Columns to explain; the others are held fixed and may be non-numeric.
    categorical_features : None, "from_dtype" or list of str or int, default=None
        Raw categorical columns, each given one attribution, its switch effect (see
        the user guide, "Pipelines and categorical data").
    explain_at : str, default=None
        Name of a step of a ``Pipeline`` estimator: attributions are taken with
        respect to that step's output (e.g. one-hot indicators) instead of the raw
        input.
    batch_size : "auto" or int, default="auto"
        Input rows per model call; chunk boundaries depend only on the data's shape
        and ``batch_size``, so results are identical for every ``n_jobs``.
    n_jobs : int, default=None
        Number of joblib workers for finite differences (``None``: 1, or the active
        ``joblib.parallel_config``).
    device : str or torch.device, default="cpu"
        The torch device for autograd.
    verbose : int, default=0
        Show a progress bar (tqdm) when > 0.

    Attributes
    ----------
    estimator_ : estimator
        The fitted model.
    attribution_ : attribution object
        The fitted attribution (its reference statistics: ``baseline_``, ``noise_``).
    method_ : str
        The engine used, ``"autograd"`` or ``"finite_difference"``.
    finite_difference_ : FiniteDifference
        The fitted finite-difference options (``scale_``), when ``method_`` is
        ``"finite_difference"``.
    response_method_ : str
        The response that is differentiated.
    classes_ : ndarray
        Class labels (classifiers).
    n_outputs_ : int
        Number of explained outputs.
    global_gradient_ : ndarray of shape (n_features,) or (n_outputs, n_features)
        Mean attribution over the fit data (weighted by ``sample_weight``).
    global_gradient_stderr_ : ndarray, shaped like ``global_gradient_``
        Its standard error over the rows: the sample standard deviation
        (ddof=1) / √n, the model held fixed (NaN when fitted on a single row).
    feature_importances_ : ndarray of shape (n_features,)
        Mean absolute attribution over samples and outputs.
    feature_std_ : ndarray of shape (n_features,)
        Standard deviation of each explained feature in the fit data (the unit of
        ``scaled_importance`` in :meth:`summary`).
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during fit (DataFrame input).

    See Also
    --------
    GradientSurrogateClassifier : The linear classifier built from the mean gradient.
    gradient_importance : Importances as a ``Bunch``, like ``permutation_importance``.

    Examples
    --------
    >>> from sklearn.datasets import make_regression
    >>> from sklearn.linear_model import LinearRegression
    >>> from sklearn_gradexplain import GradientExplainer
    >>> X, y = make_regression(n_samples=50, n_features=3, random_state=0)
    >>> explainer = GradientExplainer(LinearRegression()).fit(X, y)
    >>> explainer.explain(X[:2]).shape
    (2, 3)
    >>> bool(abs(explainer.global_gradient_ - explainer.estimator_.coef_).max() < 1e-6)
    True
    """

    _parameter_constraints = {
        **BaseGradientExplainer._parameter_constraints,
        "categorical_features": [None, StrOptions({"from_dtype"}), "array-like"],
        "explain_at": [None, str],
    }

    def __init__(
        self,
        estimator,
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
    ):
        self.estimator = estimator
        self.attribution = attribution
        self.method = method
        self.response_method = response_method
        self.target = target
        self.features = features
        self.categorical_features = categorical_features
        self.explain_at = explain_at
        self.batch_size = batch_size
        self.n_jobs = n_jobs
        self.device = device
        self.verbose = verbose

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y=None, sample_weight=None, **fit_params):
        """Fit the estimator (unless frozen) and summarise the attributions of ``X``.

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)
            The data the estimator is fitted on and the statistics are taken over.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs), default=None
            Targets for fitting the estimator (unused when it is frozen).
        sample_weight : array-like of shape (n_samples,), default=None
            Frequency weights of the rows in every global statistic; also passed to
            the estimator's ``fit`` when it takes them (or as metadata routing says).
        **fit_params : dict
            Passed to the estimator's ``fit``.

        Returns
        -------
        self : GradientExplainer
            The fitted explainer.
        """
        self._fit_explainer(X, y, sample_weight, fit_params)
        return self

    @available_if(lambda self: _is_frozen(self.estimator))
    def partial_fit(self, X, y=None, sample_weight=None):
        """Fold a batch into the global statistics (frozen estimators only).

        The first call fits like :meth:`fit` (its batch fixes the reference
        statistics: baselines, noise scales, finite-difference steps); later calls
        add their rows to ``global_gradient_``, its standard error and the
        importances, so that the result equals one ``fit`` on all batches to
        rounding when those references do not depend on the data (e.g. autograd
        gradients, a zero baseline).

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)
            A batch of rows.
        y : None
            Ignored (the estimator is frozen).
        sample_weight : array-like of shape (n_samples,), default=None
            Frequency weights of the batch's rows.

        Returns
        -------
        self : GradientExplainer
            The explainer, with the batch folded in.
        """
        if not hasattr(self, "_statistics"):
            self._validate_params()
            self._fit_explainer(X, y, sample_weight, {})
            return self
        data = self._validate_input(X, reset=False)
        if sample_weight is not None:
            sample_weight = check_sample_weight(sample_weight, data.Z)
        statistics = self._statistics
        for start, stop, points, values in self._attribution_chunks(
            self._engine(data), data
        ):
            weights = None if sample_weight is None else sample_weight[start:stop]
            statistics.update(points.Z, values, weights)
        self._set_statistics(statistics)
        return self

    @_fit_context(prefer_skip_nested_validation=False)
    def fit_transform(self, X, y=None, sample_weight=None, **fit_params):
        """Fit, then return the attributions of ``X`` as a 2-D matrix.

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)
            The data the estimator is fitted on and explained.
        y : array-like, default=None
            Targets for fitting the estimator (unused when it is frozen).
        sample_weight : array-like of shape (n_samples,), default=None
            Frequency weights of the rows in the global statistics.
        **fit_params : dict
            Passed to the estimator's ``fit``.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_outputs * n_features)
            The attributions of ``X``, one column per (output, feature).
        """
        attributions, _, _ = self._fit_explainer(
            X, y, sample_weight, fit_params, keep=True
        )
        return attributions.reshape(attributions.shape[0], -1)

    def explain(self, X, group=None):
        """Per-sample attributions of ``X``.

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)
            The rows to explain.
        group : {None, "raw", "encoded"}, default=None
            With ``explain_at``: ``"raw"`` sums additive attributions over the
            columns each raw column is encoded into (one attribution per column of
            ``X``, so that completeness holds over raw columns); ``"encoded"`` gives
            one per column of the step's output (e.g. per one-hot indicator).
            ``None``: ``"raw"`` for additive attributions whose mapping is known,
            ``"encoded"`` otherwise. Ignored without ``explain_at``.

        Returns
        -------
        attributions : ndarray
            (n_samples, n_explained) for one output, (n_samples, n_outputs,
            n_explained) for several.
        """
        check_is_fitted(self)
        if group not in (None, "raw", "encoded"):
            raise ValueError(f"group must be None, 'raw' or 'encoded'; got {group!r}.")
        data = self._validate_input(X, reset=False)
        return self._attribute(data, group=group)

    def transform(self, X):
        """Attributions of ``X``, flattened to (n_samples, n_outputs * n_features).

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)
            The rows to explain.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_outputs * n_features)
            The attributions, one column per (output, feature).
        """
        attributions = self.explain(X)
        return attributions.reshape(attributions.shape[0], -1)

    def get_feature_names_out(self, input_features=None):
        """``grad__<col>`` for one output, ``grad[<output>]__<col>`` for several.

        Parameters
        ----------
        input_features : array-like of str, default=None
            Input feature names; ``None`` uses ``feature_names_in_`` (or ``x0``,
            ``x1``, ...).

        Returns
        -------
        feature_names_out : ndarray of str
            One name per column of :meth:`transform`'s output.
        """
        check_is_fitted(self)
        names = self._explained_names(input_features)
        if self.outputs_.names is None:
            return np.asarray([f"grad__{name}" for name in names], dtype=object)
        return np.asarray(
            [
                f"grad[{output}]__{name}"
                for output in self.outputs_.names
                for name in names
            ],
            dtype=object,
        )

    @available_if(_has_reference)
    def completeness_delta(self, X):
        """Σ attributions − (f(x) − f(reference)), per sample and output.

        Defined for attributions with a reference point (integrated gradients: the
        baseline; expected gradients: the mean over the drawn baselines).

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)

        Returns
        -------
        delta : ndarray of shape (n_samples,) or (n_samples, n_outputs)
        """
        check_is_fitted(self)
        data = self._validate_input(X, reset=False)
        engine = self._engine(data)
        delta = np.empty((len(data), self.n_outputs_))
        for start, stop, points, values in self._attribution_chunks(
            engine, data, group="encoded"
        ):
            delta[start:stop] = self.attribution_.completeness_delta(
                engine, points, values
            )
        return self._shape(delta)
