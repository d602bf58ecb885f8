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
