"""The base of every attribution object, and the registry of string shorthands.

An attribution says what is computed for each sample from the gradients (or the
relevance) that an engine provides. It is a small scikit-learn estimator: its
parameters are validated by ``_parameter_constraints``, it is cloned and nested in grid
searches (``attribution__n_steps``), and ``fit`` learns what it needs from the explained
columns of the fit data (a baseline, noise draws, background rows). Subclasses implement
``_attribute`` and, when they learn something, ``_fit``.
"""

from numbers import Integral

from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from .._compat import _fit_context
from .._statistics import validate_columns

#: String shorthand -> (class, parameters) of the object it stands for.
REGISTRY = {}
#: The shorthands, a live set: constraints built from it see later registrations.
SHORTHANDS = set()


def register(name, **params):
    """Class decorator: make ``name`` a shorthand for ``cls(**params)``."""

    def decorator(cls):
        REGISTRY[name] = (cls, params)
        SHORTHANDS.add(name)
        return cls

    return decorator


def get_attribution(attribution):
    """The attribution object that ``attribution`` (object or shorthand) stands for.

    Parameters
    ----------
    attribution : str or BaseAttribution
        A registered shorthand (``"gradient"``, ``"integrated_gradients"``, ...) or
        an attribution object, returned as it is.

    Returns
    -------
    attribution : BaseAttribution
        Unfitted; shorthands give the object with its defaults.

    Examples
    --------
    >>> from sklearn_gradexplain.attributions import get_attribution
    >>> get_attribution("integrated_gradients")
    IntegratedGradients()
    """
    if isinstance(attribution, BaseAttribution):
        return attribution
    cls, params = REGISTRY[attribution]
    return cls(**params)


class BaseAttribution(BaseEstimator):
    """Base class of the attribution objects.

    Class attributes say what the attribution needs and gives:

    - ``_engines``: the engines that can compute it;
    - ``_needs_layers``: it propagates through the network's layers (LRP) instead of
      differentiating the response;
    - ``_additive``: the attributions of a sample sum to the change of the output
      from a reference (completeness), so ``completeness_delta`` is defined and they
      can be summed over groups of columns;
    - ``_gradient_like``: the mean over samples is a gradient (a linear model's
      coefficients), as the surrogates need.
    """

    _parameter_constraints: dict = {}
    _engines = ("autograd", "finite_difference")
    _needs_layers = False
    _additive = False
    _gradient_like = False
    _random = False  # draws noise or baselines: non-deterministic without a seed

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.input_tags.allow_nan = True  # missing cells a model imputes: no gradient
        tags.target_tags.required = False
        tags.non_deterministic = self._random and not isinstance(
            getattr(self, "random_state", None), Integral
        )
        return tags

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None, sample_weight=None):
        """Learn the reference statistics from the explained columns of the data.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The explained columns of the fit data (NaN marks missing cells).
        y : None
            Ignored.
        sample_weight : array-like of shape (n_samples,), default=None
            Frequency weights of the rows.

        Returns
        -------
        self : object
            The fitted attribution.
        """
        X, sample_weight = validate_columns(self, X, sample_weight)
        self._fit(X, sample_weight)
        self.is_fitted_ = True
        return self

    def _fit(self, X, sample_weight):
        """Learn what the attribution needs from the data (nothing by default)."""

    # ------------------------------------------------------------------ engine side
    @property
    def engines(self):
        """The engines that can compute this attribution."""
        return self._engines

    @property
    def needs_layers(self):
        """Whether relevance is propagated through the layers (LRP)."""
        return self._needs_layers

    @property
    def additive(self):
        """Whether attributions sum to f(x) minus the output at a reference."""
        return self._additive

    @property
    def gradient_like(self):
        """Whether the mean attribution is a gradient (linear coefficients)."""
        return self._gradient_like

    @property
    def input_power(self):
        """The power of the input's unit dividing the attribution's unit.

        1 for gradients (output units per input unit: multiplied by a feature's
        standard deviation they give the scaled importance), 0 for attributions in
        output units (additive ones), 2 for squared gradients.
        """
        return 0 if self.additive else 1

    def n_points(self):
        """Gradient evaluations per explained row (sizes the batching loop's chunks).

        Returns
        -------
        n_points : int
            Points differentiated per row (1 for a plain gradient).
        """
        return 1

    def attribute(self, engine, points):
        """Attributions of a chunk of rows.

        Parameters
        ----------
        engine : engine
            Gives ``gradient(points)``, ``value(points)`` (and ``relevance`` for LRP).
        points : Points
            The rows of the chunk: explained columns ``Z`` and their context.

        Returns
        -------
        attributions : ndarray of shape (n_rows, n_outputs, n_features)
            The attribution of every row, output and explained feature.
        """
        check_is_fitted(self)
        return self._attribute(engine, points)

    def _attribute(self, engine, points):
        raise NotImplementedError

    def diagnostics(self, engine):
        """Checks run on every chunk of attributions (warnings when they fail).

        Parameters
        ----------
        engine : engine
            The engine of the call (to evaluate the model where a check needs it).

        Returns
        -------
        checks : list
            Objects with ``update(points, attributions)``, called on every chunk,
            and ``finish()``, which warns.
        """
        return []
