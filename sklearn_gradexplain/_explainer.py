"""GradientExplainer: input-gradient attributions as a scikit-learn transformer."""

import numpy as np
from sklearn.base import TransformerMixin
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted

from ._base import (
    BaseGradientExplainer,
    _estimator_has,
    document_shared_parameters,
)
from ._compat import _fit_context, check_feature_names_in


class GradientExplainer(TransformerMixin, BaseGradientExplainer):
    """Explain a model by the gradient of its prediction with respect to its input.

    ``fit`` fits a clone of ``estimator`` (unless it is a ``FrozenEstimator``) and
    explains the fit data; ``explain`` gives per-sample attributions; ``transform``
    gives the same as a 2-D feature matrix, so the explainer can sit in a ``Pipeline``.

    Parameters
    ----------
    estimator : estimator
        The model to explain: a scikit-learn estimator, a skorch net, or
        ``FrozenEstimator(fitted_model)``.
    {parameters}

    Attributes
    ----------
    estimator_ : estimator
        The fitted model.
    method_ : str
        The engine used, ``"autograd"`` or ``"finite_difference"``.
    response_method_ : str
        The response that is differentiated.
    classes_ : ndarray
        Class labels (classifiers).
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

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y=None, **fit_params):
        """Fit the estimator (unless frozen) and explain ``X``.

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs), default=None
        **fit_params : dict
            Passed to the estimator's ``fit``.

        Returns
        -------
        self : GradientExplainer
        """
        self._fit_explainer(X, y, **fit_params)
        return self

    @_fit_context(prefer_skip_nested_validation=False)
    def fit_transform(self, X, y=None, **fit_params):
        """Fit, then return the attributions of ``X`` as a 2-D matrix.

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)
        y : array-like, default=None
        **fit_params : dict

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_outputs * n_features)
        """
        attributions = self._fit_explainer(X, y, **fit_params)
        return attributions.reshape(attributions.shape[0], -1)

    def transform(self, X):
        """Attributions of ``X``, flattened to (n_samples, n_outputs * n_features).

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_outputs * n_features)
        """
        attributions = self.explain(X)
        return attributions.reshape(attributions.shape[0], -1)

    def get_feature_names_out(self, input_features=None):
        """``grad__<col>`` for one output, ``grad[<output>]__<col>`` for several.

        Parameters
        ----------
        input_features : array-like of str, default=None

        Returns
        -------
        feature_names_out : ndarray of str
        """
        check_is_fitted(self)
        names = check_feature_names_in(self, input_features)[self.feature_indices_]
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

    @available_if(lambda self: self.attribution == "integrated_gradients")
    def completeness_delta(self, X):
        """Σ attributions − (f(x) − f(baseline)), per sample and output.

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)

        Returns
        -------
        delta : ndarray of shape (n_samples,) or (n_samples, n_outputs)
        """
        check_is_fitted(self)
        return self._completeness_delta(self._validate_input(X, reset=False))

    @available_if(_estimator_has("predict"))
    def predict(self, X):
        """``estimator_.predict``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        y_pred : ndarray
        """
        check_is_fitted(self)
        return self.estimator_.predict(X)

    @available_if(_estimator_has("predict_proba"))
    def predict_proba(self, X):
        """``estimator_.predict_proba``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
        """
        check_is_fitted(self)
        return self.estimator_.predict_proba(X)

    @available_if(_estimator_has("decision_function"))
    def decision_function(self, X):
        """``estimator_.decision_function``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        scores : ndarray
        """
        check_is_fitted(self)
        return self.estimator_.decision_function(X)

    @available_if(_estimator_has("score"))
    def score(self, X, y, **params):
        """``estimator_.score``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like
        **params : dict

        Returns
        -------
        score : float
        """
        check_is_fitted(self)
        return self.estimator_.score(X, y, **params)


document_shared_parameters(
    GradientExplainer,
    '{"gradient", "gradient_x_input", "integrated_gradients", "smoothgrad", "lrp"}',
)
