"""The paper's linear surrogates: a linear model built from the mean gradient alone.

For a model f and a data set, the mean gradient ḡ defines the linear score x·ḡ + b.
:class:`GradientSurrogateClassifier` predicts with ``sign(x·ḡ + b)`` (one score per
class for multiclass models, the mean Jacobian) and measures how often it agrees with
the model; :class:`GradientSurrogateRegressor` predicts with x·ḡ + b and measures the R²
of that against the model. Both are explainers: the gradient comes from the shared base
(engines, batching), and every shared explainer parameter can be grid-searched.
"""

import numpy as np
import scipy.sparse as sp
from sklearn.base import ClassifierMixin, RegressorMixin, is_classifier
from sklearn.metrics import r2_score
from sklearn.utils.extmath import safe_sparse_dot
from sklearn.utils.validation import check_is_fitted

from ._base import BaseGradientExplainer, _SummaryMixin
from ._compat import StrOptions, _fit_context
from ._response import unwrap_model
from .attributions import BaseAttribution, get_attribution

_SURROGATE_CONSTRAINTS = {
    **BaseGradientExplainer._parameter_constraints,
    "attribution": [StrOptions({"gradient", "smoothgrad"}), BaseAttribution],
}


def _linear_scores(Z, coef):
    """``Z @ coef.T`` in float64, for dense or sparse ``Z`` (one code path)."""
    Z = Z.astype(np.float64) if sp.issparse(Z) else np.asarray(Z, dtype=np.float64)
    return np.asarray(safe_sparse_dot(Z, coef.T, dense_output=True))


def _weighted_mean(values, weights):
    return float(np.average(values, weights=weights))


def _agreement_stderr(agreed, weights):
    """Binomial standard error of a (weighted) agreement rate: √(p(1−p)/n)."""
    n = float(len(agreed) if weights is None else np.sum(weights))
    p = _weighted_mean(agreed, weights)
    return float(np.sqrt(p * (1 - p) / n)) if n > 0 else 0.0


def _best_cut(scores, gain_above, gain_below, preferred):
    """The cut ``c`` maximizing Σ_{s > c} gain_above + Σ_{s <= c} gain_below.

    An exact search over the sorted scores: every partition of the samples by a
    threshold is one position in the sorted order. Among the best partitions, the one
    containing ``preferred`` keeps ``c = preferred``; otherwise the best partition
    closest to ``preferred`` is used, with ``c`` strictly inside its interval.

    Returns
    -------
    cut : float
    total : float
        The maximized sum.
    """
    n = scores.shape[0]
    order = np.argsort(scores, kind="mergesort")
    s = scores[order]
    below = np.concatenate([[0.0], np.cumsum(gain_below[order])])
    above = np.concatenate([np.cumsum(gain_above[order][::-1])[::-1], [0.0]])
    total = below + above  # total[i]: the i smallest scores fall below the cut
    valid = np.ones(n + 1, dtype=bool)
    valid[1:n] = s[1:] > s[:-1]  # cuts between tied scores are not partitions
    best = total[valid].max()
    # The partition that c = preferred makes: the scores <= preferred fall below.
    current = int(np.searchsorted(s, preferred, side="right"))
    if np.isfinite(preferred) and total[current] == best:
        return float(preferred), float(best)
    candidates = np.flatnonzero(valid & (total == best))
    low = np.concatenate([[-np.inf], s])[candidates]
    high = np.concatenate([s, [np.inf]])[candidates]
    distance = np.where(preferred < low, low - preferred, preferred - high)
    i = candidates[np.argmin(distance)]
    margin = (s[-1] - s[0]) / n if s[-1] > s[0] else 1.0
    if i == 0:
        cut = min(s[0] - margin, np.nextafter(s[0], -np.inf))
    elif i == n:
        cut = s[-1] + margin
    else:
        middle = 0.5 * (s[i - 1] + s[i])
        cut = middle if middle < s[i] else s[i - 1]  # s[i-1] <= cut < s[i]
    return float(cut), float(best)


def _class_indices(classes, labels):
    """Positions of ``labels`` in ``classes`` (which need not be sorted)."""
    sorter = np.argsort(classes)
    positions = np.searchsorted(classes, labels, sorter=sorter)
    positions = np.clip(positions, 0, len(classes) - 1)
    indices = sorter[positions]
    return np.where(classes[indices] == labels, indices, -1)


def _multiclass_agreement_intercepts(
    scores, labels, start, weights=None, max_sweeps=100
):
    """Coordinate ascent on the class intercepts, maximizing argmax agreement.

    Class by class, the intercept is set to its exact best value with the others
    fixed (:func:`_best_cut` on the margin of the class over the best other class);
    a change is kept only when it strictly increases the agreement, so the result is
    never worse than ``start``. Sweeps stop when one brings no improvement.
    """
    n, k = scores.shape
    rows = np.arange(n)
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=np.float64)

    def count(intercepts):
        return float(np.sum(w * (np.argmax(scores + intercepts, axis=1) == labels)))

    intercepts = np.asarray(start, dtype=np.float64).copy()
    current = count(intercepts)
    for _ in range(max_sweeps):
        improved = False
        for j in range(k):
            others = scores + intercepts
            others[:, j] = -np.inf
            runner_up = np.argmax(others, axis=1)
            margin = scores[:, j] - others[rows, runner_up]
            cut, best = _best_cut(
                margin,
                w * (labels == j),
                w * (labels == runner_up),
                -intercepts[j],
            )
            if best <= current:
                continue
            candidate = intercepts.copy()
            candidate[j] = -cut
            agreed = count(candidate)
            if agreed > current:
                intercepts, current = candidate, agreed
                improved = True
        if not improved:
            break
    return intercepts


class _SurrogateMixin:
    """What both surrogates share: the accepted attributions and the linear score."""

    _parameter_constraints = _SURROGATE_CONSTRAINTS

    def _decision(self, data):
        return _linear_scores(data.Z, np.atleast_2d(self.coef_)) + self.intercept_

    def _check_settings(self, n_features, y=None):
        self._check_estimator_kind(y)
        super()._check_settings(n_features, y)
        attribution = get_attribution(self.attribution)
        if not attribution.gradient_like:
            raise ValueError(
                f"{type(self).__name__} builds its coefficients from the mean "
                f"gradient; {attribution!r} is not a gradient. Use Gradient() or "
                "SmoothGrad() of a gradient."
            )

    def _model_predictions(self, data, engine):
        """The model's own predictions on the rows, through copies of them."""
        model = unwrap_model(self.estimator_)
        composer = self._composer(model)
        step = max(1, engine.max_rows)
        parts = [
            np.asarray(model.predict(composer(data.chunk(start, start + step))))
            for start in range(0, len(data), step)
        ]
        return np.concatenate(parts)

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y=None, sample_weight=None, **fit_params):
        """Fit the estimator (unless frozen), explain ``X``, build the linear model.

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)
            The data the mean gradient (and the intercept) is computed on.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs), default=None
            Targets for fitting the estimator (unused when it is frozen).
        sample_weight : array-like of shape (n_samples,), default=None
            Frequency weights of the rows in the mean gradient, the intercept and
            the agreement.
        **fit_params : dict
            Passed to the estimator's ``fit``.

        Returns
        -------
        self : object
            The fitted surrogate.
        """
        _, engine, data = self._fit_explainer(X, y, sample_weight, fit_params)
        if sample_weight is not None:
            sample_weight = np.asarray(sample_weight, dtype=np.float64)
        self._fit_linear(data, engine, sample_weight)
        return self


class GradientSurrogateClassifier(
    _SurrogateMixin, _SummaryMixin, ClassifierMixin, BaseGradientExplainer
):
    """The linear classifier built from a model's mean gradient.

    Following Hechtlinger (2016), the mean gradient ḡ of a classifier over a data
    set defines the linear classifier ``x·ḡ + b > 0``; how often it predicts what the
    model predicts (its agreement) says how linear the model is. For a multiclass
    model the mean Jacobian gives one score per class and the surrogate predicts the
    class of the largest score. Like ``LogisticRegression``,
    ``decision_function > 0`` means ``classes_[1]`` for binary problems, the
    threshold being folded into ``intercept_``.

    Parameters
    ----------
    estimator : estimator
        The classifier to explain: a scikit-learn classifier, a skorch classifier,
        or ``FrozenEstimator(fitted_model)``.
    intercept : {"agreement", "first_order", "zero"}, default="agreement"
        How ``intercept_`` is chosen, on the fit data:

        - ``"agreement"``: the intercept(s) maximizing agreement with
          ``estimator_.predict``. Binary: an exact search over the sorted scores
          x·ḡ (among equally good intercepts, the first-order one or the nearest
          to it). Multiclass: coordinate ascent starting from the better of
          ``"first_order"`` and ``"zero"``; each class intercept in turn is set to
          its exact best value given the others, and kept only if agreement
          increases, until a sweep over the classes brings no gain. Agreement on
          the fit data is therefore never below that of ``"first_order"`` or
          ``"zero"``.
        - ``"first_order"``: b = mean(f(x) − x·ḡ), the first-order expansion of
          the model's response f around the data, minus the model's own decision
          threshold (0.5 for probabilities, 0 for decision functions); multiclass:
          one such b per class, compared by argmax.
        - ``"zero"``: no intercept.
    attribution : {"gradient", "smoothgrad"} or attribution object, \
default="gradient"
        A gradient-type attribution (``Gradient()``, or ``SmoothGrad()`` of a
        gradient): its mean over the fit data gives the surrogate's coefficients.
    method : {"auto", "autograd", "finite_difference"} or FiniteDifference, \
default="auto"
        How gradients are obtained (see :class:`GradientExplainer`).
    response_method : {"auto", "predict_proba", "decision_function", "predict"}, \
default="auto"
        Which output is differentiated (see :class:`GradientExplainer`).
    target : None, class label or int, default=None
        Which output is explained (see :class:`GradientExplainer`).
    features : list of str or int, default=None
        Columns to explain (and score); the others are held fixed.
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
    coef_ : ndarray of shape (1, n_features) or (n_classes, n_features)
        The mean gradient of the positive class's response (binary), or the mean
        Jacobian (multiclass).
    intercept_ : ndarray of shape (1,) or (n_classes,)
        Intercept(s), the model's decision threshold included.
    agreement_ : float
        Fraction of the fit data (weighted by ``sample_weight``) where the surrogate
        predicts what ``estimator_`` predicts.
    agreement_stderr_ : float
        Its binomial standard error, √(p(1−p)/n), the model and the surrogate held
        fixed.
    classes_ : ndarray of shape (n_classes,)
        The model's class labels.
    estimator_ : estimator
        The fitted model.
    method_ : str
        The engine used, ``"autograd"`` or ``"finite_difference"``.
    response_method_ : str
        The response that is differentiated.
    n_outputs_ : int
        Number of explained outputs (1 for binary problems).
    global_gradient_ : ndarray of shape (n_features,) or (n_classes, n_features)
        Mean attribution over the fit data.
    feature_importances_ : ndarray of shape (n_features,)
        Mean absolute attribution over samples and outputs.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during fit (DataFrame input).

    See Also
    --------
    GradientSurrogateRegressor : The same for regressors.
    agreement_scorer : Scorer to grid-search explainer settings by agreement.

    Notes
    -----
    With ``features``, the surrogate scores the explained columns only.

    References
    ----------
    Y. Hechtlinger, "Interpretation of Prediction Models Using the Input Gradient",
    arXiv:1611.07634, 2016.

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn_gradexplain import GradientSurrogateClassifier
    >>> X, y = make_classification(n_samples=200, n_features=4, random_state=0)
    >>> surrogate = GradientSurrogateClassifier(LogisticRegression()).fit(X, y)
    >>> surrogate.coef_.shape
    (1, 4)
    >>> bool(surrogate.agreement_ > 0.99)
    True
    >>> surrogate.predict(X[:3]).shape
    (3,)
    """

    _parameter_constraints = {
        **_SURROGATE_CONSTRAINTS,
        "intercept": [StrOptions({"agreement", "first_order", "zero"})],
    }

    def __init__(
        self,
        estimator,
        *,
        intercept="agreement",
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
        self.intercept = intercept
        self.attribution = attribution
        self.method = method
        self.response_method = response_method
        self.target = target
        self.features = features
        self.batch_size = batch_size
        self.n_jobs = n_jobs
        self.device = device
        self.verbose = verbose

    def _check_estimator_kind(self, y):
        if not is_classifier(self.estimator):
            raise ValueError(
                f"{type(self).__name__} explains classifiers; "
                f"{type(self.estimator).__name__} is not one. Use "
                "GradientSurrogateRegressor for regressors."
            )
        if self.target is None:
            return
        model = unwrap_model(self.estimator)
        frozen = model is not self.estimator
        classes = getattr(model, "classes_", None) if frozen else None
        n_classes = None if classes is None else len(classes)
        if n_classes is None and y is not None and np.ndim(y) == 1:
            n_classes = len(np.unique(y))
        if n_classes is not None and n_classes > 2:
            raise ValueError(
                f"{type(self).__name__} needs one response column per class: with "
                f"{n_classes} classes, target={self.target!r} would explain one of "
                "them. Use target=None."
            )

    def _fit_linear(self, data, engine, weights):
        classes = self.classes_
        gradient = np.atleast_2d(self.global_gradient_)
        binary = len(classes) == 2
        one_vs_one = self.response_method_ == "decision_function" and (
            getattr(unwrap_model(self.estimator_), "decision_function_shape", None)
            == "ovo"
        )
        if not binary and (
            one_vs_one
            or self.n_outputs_ != len(classes)
            or self.outputs_.names != classes.tolist()
        ):
            raise ValueError(
                f"{type(self).__name__} needs one response column per class; "
                f"{self.response_method_} gives {self.n_outputs_} for {len(classes)} "
                "classes and target="
                f"{self.target!r}. Use target=None and a one-score-per-class response "
                "(predict_proba, or a one-vs-rest decision_function)."
            )
        scores = _linear_scores(data.Z, gradient)
        labels = _class_indices(classes, self._model_predictions(data, engine))
        first_order = np.average(
            self._response_values(data, engine) - scores, axis=0, weights=weights
        )
        if binary:
            # The model decides at p = 0.5 (probabilities) or 0 (decision functions).
            threshold = 0.5 if self.response_method_ == "predict_proba" else 0.0
            first_order = first_order - threshold
            if self.target is not None and classes[0] == self.target:
                # The negative class was differentiated: orient towards classes_[1].
                gradient, scores, first_order = -gradient, -scores, -first_order
            if self.intercept == "agreement":
                # rows of weight 0 are not there: they offer no cut either
                kept = slice(None) if weights is None else weights > 0
                w = np.ones(len(labels)) if weights is None else weights
                positive = (labels == 1).astype(np.float64)
                cut, _ = _best_cut(
                    scores[kept, 0],
                    (w * positive)[kept],
                    (w * (1.0 - positive))[kept],
                    -first_order[0],
                )
                intercept = np.array([-cut])
            else:
                intercept = (
                    first_order if self.intercept == "first_order" else 0 * first_order
                )
            agreed = (scores[:, 0] + intercept[0] > 0).astype(int) == labels
        else:
            zero = np.zeros(len(classes))
            if self.intercept == "agreement":
                w = np.ones(len(labels)) if weights is None else weights
                start = max(
                    (first_order, zero),
                    key=lambda b: np.sum(w * (np.argmax(scores + b, axis=1) == labels)),
                )
                kept = slice(None) if weights is None else weights > 0
                intercept = _multiclass_agreement_intercepts(
                    scores[kept], labels[kept], start, w[kept]
                )
            else:
                intercept = first_order if self.intercept == "first_order" else zero
            agreed = np.argmax(scores + intercept, axis=1) == labels
        self.coef_ = gradient
        self.intercept_ = np.asarray(intercept, dtype=np.float64)
        self.agreement_ = _weighted_mean(agreed, weights)
        self.agreement_stderr_ = _agreement_stderr(agreed, weights)

    def decision_function(self, X):
        """The surrogate's linear scores x·coef_ + intercept_.

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)

        Returns
        -------
        scores : ndarray of shape (n_samples,) or (n_samples, n_classes)
            Binary: positive means ``classes_[1]``. Multiclass: one score per class.
        """
        check_is_fitted(self)
        scores = self._decision(self._validate_input(X, reset=False))
        return scores[:, 0] if scores.shape[1] == 1 else scores

    def predict(self, X):
        """The surrogate's class predictions.

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Labels from ``classes_``.
        """
        scores = self.decision_function(X)
        if scores.ndim == 1:
            return self.classes_[(scores > 0).astype(int)]
        return self.classes_[np.argmax(scores, axis=1)]

    def agreement_score(self, X):
        """Fraction of ``X`` where the surrogate predicts what ``estimator_`` predicts.

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)

        Returns
        -------
        agreement : float
            In [0, 1].
        """
        check_is_fitted(self)
        data = self._validate_input(X, reset=False)
        scores = self._decision(data)
        if scores.shape[1] == 1:
            predicted = self.classes_[(scores[:, 0] > 0).astype(int)]
        else:
            predicted = self.classes_[np.argmax(scores, axis=1)]
        engine = self._engine(data)
        return float(np.mean(predicted == self._model_predictions(data, engine)))


class GradientSurrogateRegressor(
    _SurrogateMixin, _SummaryMixin, RegressorMixin, BaseGradientExplainer
):
    """The linear regressor built from a model's mean gradient.

    ``coef_`` is the mean gradient ḡ of the model's prediction over the fit data
    and ``intercept_`` = mean(f(x) − x·ḡ), so the surrogate is the model's mean
    first-order expansion; ``agreement_`` (its R² against the model's predictions on
    the fit data) says how linear the model is.

    Parameters
    ----------
    estimator : estimator
        The regressor to explain: a scikit-learn regressor, a skorch regressor, or
        ``FrozenEstimator(fitted_model)``.
    attribution : {"gradient", "smoothgrad"} or attribution object, \
default="gradient"
        A gradient-type attribution (``Gradient()``, or ``SmoothGrad()`` of a
        gradient): its mean over the fit data gives the surrogate's coefficients.
    method : {"auto", "autograd", "finite_difference"} or FiniteDifference, \
default="auto"
        How gradients are obtained (see :class:`GradientExplainer`).
    response_method : {"auto", "predict_proba", "decision_function", "predict"}, \
default="auto"
        Which output is differentiated (see :class:`GradientExplainer`).
    target : None, class label or int, default=None
        Which output is explained (see :class:`GradientExplainer`).
    features : list of str or int, default=None
        Columns to explain (and score); the others are held fixed.
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
    coef_ : ndarray of shape (n_features,) or (n_outputs, n_features)
        The mean gradient (one row per output for multi-output models).
    intercept_ : float or ndarray of shape (n_outputs,)
        Mean of f(x) − x·ḡ over the fit data.
    agreement_ : float
        R² of the surrogate's predictions against the model's on the fit data
        (weighted by ``sample_weight``).
    estimator_ : estimator
        The fitted model.
    method_ : str
        The engine used, ``"autograd"`` or ``"finite_difference"``.
    response_method_ : str
        The response that is differentiated.
    n_outputs_ : int
        Number of explained outputs.
    global_gradient_ : ndarray of shape (n_features,) or (n_outputs, n_features)
        Mean attribution over the fit data.
    feature_importances_ : ndarray of shape (n_features,)
        Mean absolute attribution over samples and outputs.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during fit (DataFrame input).

    See Also
    --------
    GradientSurrogateClassifier : The same for classifiers.
    agreement_scorer : Scorer to grid-search explainer settings by agreement.

    Examples
    --------
    >>> from sklearn.datasets import make_regression
    >>> from sklearn.linear_model import Ridge
    >>> from sklearn_gradexplain import GradientSurrogateRegressor
    >>> X, y = make_regression(n_samples=100, n_features=3, random_state=0)
    >>> surrogate = GradientSurrogateRegressor(Ridge()).fit(X, y)
    >>> surrogate.coef_.shape
    (3,)
    >>> round(surrogate.agreement_, 6)
    1.0
    """

    def __init__(
        self,
        estimator,
        *,
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
        self.attribution = attribution
        self.method = method
        self.response_method = response_method
        self.target = target
        self.features = features
        self.batch_size = batch_size
        self.n_jobs = n_jobs
        self.device = device
        self.verbose = verbose

    def _check_estimator_kind(self, y):
        if is_classifier(self.estimator):
            raise ValueError(
                f"{type(self).__name__} explains regressors; "
                f"{type(self.estimator).__name__} is a classifier. Use "
                "GradientSurrogateClassifier."
            )

    def _fit_linear(self, data, engine, weights):
        gradient = np.atleast_2d(self.global_gradient_)
        values = self._response_values(data, engine)
        scores = _linear_scores(data.Z, gradient)
        intercept = np.average(values - scores, axis=0, weights=weights)
        if self.n_outputs_ == 1:
            self.coef_, self.intercept_ = gradient[0], float(intercept[0])
        else:
            self.coef_, self.intercept_ = gradient, intercept
        self.agreement_ = float(
            r2_score(values, scores + intercept, sample_weight=weights)
        )

    def predict(self, X):
        """The surrogate's predictions x·coef_ + intercept_.

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            The surrogate's predictions.
        """
        check_is_fitted(self)
        scores = self._decision(self._validate_input(X, reset=False))
        return scores[:, 0] if scores.shape[1] == 1 else scores

    def agreement_score(self, X):
        """R² of the surrogate's predictions against the model's on ``X``.

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)

        Returns
        -------
        r2 : float
            1 when the surrogate reproduces the model exactly.
        """
        check_is_fitted(self)
        data = self._validate_input(X, reset=False)
        values = self._response_values(data)
        return float(r2_score(values, self._decision(data)))
