"""Agreement of a surrogate with the model it explains, as a scikit-learn scorer."""

from sklearn.pipeline import Pipeline


def _final_surrogate(estimator, X):
    """The surrogate at the end of ``estimator`` and ``X`` as it sees it."""
    if isinstance(estimator, Pipeline):
        if len(estimator.steps) > 1:
            X = estimator[:-1].transform(X)
        estimator = estimator[-1]
    if not hasattr(estimator, "agreement_score"):
        raise TypeError(
            "The agreement score needs a gradient surrogate "
            "(GradientSurrogateClassifier or GradientSurrogateRegressor) or a "
            "Pipeline ending in one; got "
            f"{type(estimator).__name__}."
        )
    return estimator, X


def surrogate_agreement_score(estimator, X, y=None):
    """Agreement of a fitted surrogate with the model it explains, on ``X``.

    For :class:`GradientSurrogateClassifier`, the fraction of samples where the
    surrogate predicts the model's class; for :class:`GradientSurrogateRegressor`, the
    R² of the surrogate against the model's predictions. The true target is not
    used: the score measures how well the linear surrogate reproduces the model.

    Parameters
    ----------
    estimator : GradientSurrogateClassifier, GradientSurrogateRegressor or Pipeline
        A fitted surrogate, or a fitted ``Pipeline`` whose last step is one (``X``
        goes through the earlier steps first).
    X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)
        The data to score on.
    y : None
        Ignored; present so that the function is a scorer,
        ``scorer(estimator, X, y)``.

    Returns
    -------
    score : float
        The surrogate's ``agreement_score`` on ``X`` (higher is better).

    See Also
    --------
    agreement_scorer : The same as a ``scoring=`` object.

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn_gradexplain import (
    ...     GradientSurrogateClassifier, surrogate_agreement_score)
    >>> X, y = make_classification(n_samples=200, n_features=4, random_state=0)
    >>> surrogate = GradientSurrogateClassifier(LogisticRegression()).fit(X, y)
    >>> bool(surrogate_agreement_score(surrogate, X) > 0.99)
    True
    """
    surrogate, Xt = _final_surrogate(estimator, X)
    return surrogate.agreement_score(Xt)


class _AgreementScorer:
    """Scorer: ``agreement_scorer(estimator, X, y=None)``, higher is better.

    Usable as ``scoring=agreement_scorer`` or in a dict of scorers (with ``refit=``) in
    ``GridSearchCV``, ``cross_validate`` and ``cross_val_score``, for a surrogate or a
    ``Pipeline`` ending in one; ``y`` is ignored. See
    :func:`surrogate_agreement_score`.

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.model_selection import cross_val_score
    >>> from sklearn_gradexplain import GradientSurrogateClassifier, agreement_scorer
    >>> X, y = make_classification(n_samples=200, n_features=4, random_state=0)
    >>> surrogate = GradientSurrogateClassifier(LogisticRegression())
    >>> scores = cross_val_score(surrogate, X, y, cv=3, scoring=agreement_scorer)
    >>> bool(scores.min() > 0.9)
    True
    """

    def __call__(self, estimator, X, y=None, **kwargs):
        return surrogate_agreement_score(estimator, X)

    def __repr__(self):
        return "agreement_scorer"


#: The agreement scorer (see :func:`surrogate_agreement_score`).
agreement_scorer = _AgreementScorer()


# ------------------------------------------------------------ explanation scorers
#: metric name -> sign of the score (+1: greater is better as it is; -1: negated)
EXPLANATION_METRICS = {
    "infidelity": -1,
    "sensitivity_max": -1,
    "deletion_auc": -1,
    "insertion_auc": 1,
    "faithfulness_correlation": 1,
}


def _final_explainer(estimator, X):
    """The explainer at the end of ``estimator`` and ``X`` as it sees it."""
    from ._base import BaseGradientExplainer

    if isinstance(estimator, Pipeline):
        if len(estimator.steps) > 1:
            X = estimator[:-1].transform(X)
        estimator = estimator[-1]
    if not isinstance(estimator, BaseGradientExplainer):
        raise TypeError(
            "An explanation scorer needs a fitted GradientExplainer (or a gradient "
            "surrogate or selector), or a Pipeline ending in one; got "
            f"{type(estimator).__name__}."
        )
    return estimator, X


class _ExplanationScorer:
    """Scorer ``(estimator, X, y=None) -> float`` of a faithfulness metric.

    Made by :func:`make_explanation_scorer`.
    """

    def __init__(self, metric, kwargs):
        self.metric = metric
        self.kwargs = kwargs

    def __call__(self, estimator, X, y=None, **kwargs):
        from . import metrics

        explainer, Xt = _final_explainer(estimator, X)
        function = getattr(metrics, self.metric)
        return EXPLANATION_METRICS[self.metric] * function(explainer, Xt, **self.kwargs)

    def __repr__(self):
        arguments = [repr(self.metric)]
        arguments += [f"{name}={value!r}" for name, value in self.kwargs.items()]
        return f"make_explanation_scorer({', '.join(arguments)})"


def make_explanation_scorer(metric, **kwargs):
    """A scorer of an explanation's faithfulness, for grid searches over its settings.

    The scorer ``scorer(estimator, X, y=None)`` computes ``metric`` of the fitted
    explainer (or of the explainer at the end of a fitted ``Pipeline``, ``X`` going
    through the earlier steps first) on ``X``, with the sign that makes greater
    better: ``-infidelity``, ``-sensitivity_max`` and ``-deletion_auc``;
    ``insertion_auc`` and ``faithfulness_correlation`` as they are. ``y`` is
    ignored. Use it as ``scoring=`` in ``GridSearchCV`` or ``cross_validate`` over
    explainer settings, e.g. ``attribution__noise_level``, ``attribution__n_steps``
    or ``method__step``; fix ``random_state`` so that every candidate is measured on
    the same perturbations.

    Parameters
    ----------
    metric : {"infidelity", "sensitivity_max", "deletion_auc", "insertion_auc", \
"faithfulness_correlation"}
        The metric of :mod:`sklearn_gradexplain.metrics`.
    **kwargs : dict
        Its keyword arguments (e.g. ``n_perturbations=20, random_state=0``); checked
        here against its signature. ``per_sample`` is not one: a score is a number.

    Returns
    -------
    scorer : callable
        ``scorer(estimator, X, y=None) -> float``, greater is better.

    See Also
    --------
    sklearn_gradexplain.metrics.infidelity : The metric of the example below.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.frozen import FrozenEstimator
    >>> from sklearn.linear_model import LinearRegression
    >>> from sklearn.model_selection import GridSearchCV
    >>> from sklearn_gradexplain import GradientExplainer
    >>> from sklearn_gradexplain.attributions import SmoothGrad
    >>> from sklearn_gradexplain.metrics import make_explanation_scorer
    >>> X = np.random.RandomState(0).normal(size=(60, 3))
    >>> model = LinearRegression().fit(X, X @ [1.0, 2.0, 3.0])
    >>> explainer = GradientExplainer(
    ...     FrozenEstimator(model), attribution=SmoothGrad(n_samples=5, random_state=0))
    >>> search = GridSearchCV(
    ...     explainer,
    ...     {"attribution__noise_level": [0.0, 0.1]},
    ...     scoring=make_explanation_scorer("infidelity", random_state=0),
    ...     cv=3,
    ... ).fit(X)
    >>> bool(np.all(search.cv_results_["mean_test_score"] > -1e-9))  # exact: linear
    True
    """
    import inspect

    from . import metrics

    if not isinstance(metric, str) or metric not in EXPLANATION_METRICS:
        raise ValueError(
            f"metric must be one of {sorted(EXPLANATION_METRICS)}; got {metric!r}."
        )
    parameters = inspect.signature(getattr(metrics, metric)).parameters
    allowed = [
        name
        for name, parameter in parameters.items()
        if parameter.kind == parameter.KEYWORD_ONLY and name != "per_sample"
    ]
    unknown = sorted(set(kwargs) - set(allowed))
    if unknown:
        raise TypeError(
            f"{metric} takes no argument {unknown}; it takes {allowed} (per_sample is "
            "left out: a score is one number)."
        )
    return _ExplanationScorer(metric, dict(kwargs))
