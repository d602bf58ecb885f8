"""HessianExplainer: second-order explanations (feature interactions).

The Hessian ∂²f/∂x_j∂x_l of the explained output says how the effect of feature j
changes with feature l; its mean over a data set is the second-order counterpart of
the mean gradient of Hechtlinger (2016). Integrated Hessians (Janizek, Sturmfels, Lee
2021) split each feature's integrated gradient among the features it interacts with.
The engines' second derivatives live in :mod:`sklearn_gradexplain._engines._hessian`.
"""

from numbers import Integral

import numpy as np
from sklearn.utils.validation import check_is_fitted

from ._base import BaseGradientExplainer, _ModelMethodsMixin
from ._compat import Interval, StrOptions, _fit_context, check_sample_weight
from ._engines._hessian import (
    auto_second_step,
    autograd_hessian,
    integrated_hessians,
    second_difference_evaluations,
    second_difference_hessian,
)
from ._statistics import RunningMoments
from .attributions import Gradient
from .attributions._integrated_gradients import (
    check_baseline_array,
    integration_rule,
    resolve_baseline,
)

#: Most explained features second differences are computed for: 2d² + 1 model
#: evaluations per row (central) are 8,193 at d = 64, already the cost of predicting
#: on a data set 8,000 times larger than the one explained; beyond it, explain a
#: subset (``features=``) or a model that translates to torch.
MAX_SECOND_DIFFERENCE_FEATURES = 64
_KINDS = ("hessian", "integrated_hessians")


class _SecondOrder:
    """What the batching loop calls per chunk: the Hessians (or integrated ones)."""

    def __init__(self, kind, baseline, n_steps):
        self.kind = kind
        self.baseline = baseline
        self.n_steps = n_steps

    def attribute(self, engine, points):
        """(matrices, gradients at the points or None) of a chunk of rows."""
        hessian = (
            autograd_hessian if engine.name == "autograd" else second_difference_hessian
        )
        if self.kind == "hessian":
            return hessian(engine, points)
        alphas, weights = integration_rule("gausslegendre", self.n_steps)
        integrated = integrated_hessians(
            lambda path: hessian(engine, path), points, self.baseline, alphas, weights
        )
        return integrated, None

    def n_points(self):
        if self.kind == "hessian":
            return 1
        return self.n_steps * (self.n_steps + 1) // 2  # distinct products α_a β_b


class HessianExplainer(_ModelMethodsMixin, BaseGradientExplainer):
    """Explain a model by the Hessian of its prediction: feature interactions.

    ``kind="hessian"`` gives, per sample, the Hessian ∂²f/∂x_j∂x_l of each explained
    output; ``kind="integrated_hessians"`` gives the integrated Hessians of Janizek,
    Sturmfels & Lee (2021), Γ_jl(x) = (x_j − x′_j)(x_l − x′_l) ∫∫ αβ ∂²_jl f(x′ +
    αβ(x − x′)) dα dβ, plus (x_j − x′_j) ∫∫ ∂_j f(x′ + αβ(x − x′)) dα dβ on the
    diagonal, whose rows sum to the integrated gradients from the baseline x′.

    Second derivatives are exact by autograd (``torch.func``) for skorch nets,
    :class:`TorchModel` and every scikit-learn model that translates to torch; other
    models get second differences, 2d² + 1 model evaluations per row (central) or
    d(d + 3)/2 + 1 (forward) for d explained features, refused above 64 features.

    Parameters
    ----------
    estimator : estimator
        The model to explain: a scikit-learn estimator, a skorch net, a
        :class:`TorchModel`, or ``FrozenEstimator(fitted_model)``.
    kind : {"hessian", "integrated_hessians"}, default="hessian"
        The per-sample matrices.
    baseline : {"zeros", "mean", "median"} or array-like of shape (n_features,), \
default="zeros"
        The reference point x′ of integrated Hessians (as in
        :class:`~sklearn_gradexplain.attributions.IntegratedGradients`).
    n_steps : int, default=50
        Gauss-Legendre nodes on each axis of the integrated Hessians' double
        integral; the n_steps (n_steps + 1) / 2 distinct products α_a β_b are
        evaluated once each.
    method : {"auto", "autograd", "finite_difference"} or FiniteDifference, \
default="auto"
        Exact second derivatives (autograd) or second differences. A
        ``FiniteDifference(step=...)`` sets the relative step; its default
        ``"auto"`` is near the optimum for second differences (1e-4 central and 5e-6
        forward in float64, 2e-2 and 5e-3 in float32), larger than for gradients.
    response_method : {"auto", "predict_proba", "decision_function", "predict"}, \
default="auto"
        Which output is differentiated (as in :class:`GradientExplainer`).
    target : None, class label or int, default=None
        Which output is explained (as in :class:`GradientExplainer`).
    features : list of str or int, default=None
        Columns to explain; the others are held fixed and may be non-numeric.
    batch_size : "auto" or int, default="auto"
        Model rows per pass: rows of the data set per chunk, divided by the points
        each row needs (path points, second-difference stencils).
    n_jobs : int, default=None
        Number of joblib workers for second differences.
    device : str or torch.device, default="cpu"
        The torch device for autograd.
    verbose : int, default=0
        Show a progress bar (tqdm) when > 0.

    Attributes
    ----------
    estimator_ : estimator
        The fitted model.
    method_ : str
        The engine used, ``"autograd"`` or ``"finite_difference"``.
    finite_difference_ : FiniteDifference
        The fitted finite-difference options, when ``method_`` is
        ``"finite_difference"``.
    response_method_ : str
        The response that is differentiated.
    classes_ : ndarray
        Class labels (classifiers).
    n_outputs_ : int
        Number of explained outputs.
    baseline_ : ndarray of shape (n_features,)
        The reference point of integrated Hessians (``kind="integrated_hessians"``).
    mean_hessian_ : ndarray of shape (n_features, n_features) or \
(n_outputs, n_features, n_features)
        Mean over the fit data (weighted by ``sample_weight``) of the per-sample
        matrices of ``kind``.
    interaction_importances_ : ndarray of shape (n_features, n_features)
        Mean absolute value of the per-sample matrices over samples and outputs.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during fit (DataFrame input).

    See Also
    --------
    GradientExplainer : First-order attributions.

    References
    ----------
    J. D. Janizek, P. Sturmfels, S.-I. Lee, "Explaining Explanations: Axiomatic
    Feature Interactions for Deep Networks", JMLR 22(104), 2021, arXiv:2002.04138.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LinearRegression
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import PolynomialFeatures
    >>> from sklearn_gradexplain import HessianExplainer
    >>> X = np.random.RandomState(0).normal(size=(30, 2))
    >>> y = X[:, 0] ** 2 + X[:, 0] * X[:, 1] + X[:, 1] ** 2
    >>> model = make_pipeline(PolynomialFeatures(2), LinearRegression())
    >>> explainer = HessianExplainer(model).fit(X, y)
    >>> explainer.explain(X[:1]).round(4)
    array([[[2., 1.],
            [1., 2.]]])
    >>> explainer.interaction_importances_.shape
    (2, 2)
    """

    _parameter_constraints = {
        **{
            name: constraint
            for name, constraint in BaseGradientExplainer._parameter_constraints.items()
            if name != "attribution"
        },
        "kind": [StrOptions(set(_KINDS))],
        "baseline": [StrOptions({"zeros", "mean", "median"}), "array-like"],
        "n_steps": [Interval(Integral, 1, None, closed="left")],
    }
    # what the shared machinery reads (not a parameter): second derivatives can be
    # computed by every engine a gradient can
    attribution = "gradient"

    def __init__(
        self,
        estimator,
        *,
        kind="hessian",
        baseline="zeros",
        n_steps=50,
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
        self.kind = kind
        self.baseline = baseline
        self.n_steps = n_steps
        self.method = method
        self.response_method = response_method
        self.target = target
        self.features = features
        self.batch_size = batch_size
        self.n_jobs = n_jobs
        self.device = device
        self.verbose = verbose

    @property
    def attribution_(self):
        # the engine machinery asks the attribution which engines can compute it
        return Gradient()

    # ------------------------------------------------------------------ checks
    def _check_settings(self, n_features, y=None):
        super()._check_settings(n_features, y)
        if not isinstance(self.baseline, str):
            check_baseline_array(self.baseline, n_features)
        if self._resolved_method() == "finite_difference":
            _check_second_difference_width(n_features)

    # ------------------------------------------------------------------ fitting
    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y=None, sample_weight=None, **fit_params):
        """Fit the estimator (unless frozen) and summarise the Hessians of ``X``.

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)
            The data the estimator is fitted on and the statistics are taken over.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs), default=None
            Targets for fitting the estimator (unused when it is frozen).
        sample_weight : array-like of shape (n_samples,), default=None
            Frequency weights of the rows in the means; also passed to the
            estimator's ``fit`` when it takes them (or as metadata routing says).
        **fit_params : dict
            Passed to the estimator's ``fit``.

        Returns
        -------
        self : HessianExplainer
            The fitted explainer.
        """
        data = self._validate_input(X, reset=True)
        if len(data) == 0:
            raise ValueError("Found array with 0 sample(s); at least 1 is required.")
        n_features = data.Z.shape[1]
        self._check_settings(n_features, y)
        if sample_weight is not None:
            sample_weight = check_sample_weight(sample_weight, data.Z)
        self._fit_model(X, y, sample_weight, fit_params)
        if self.kind == "integrated_hessians":
            self.baseline_ = resolve_baseline(self.baseline, data.Z, sample_weight)
        engine = self._engine(data, fitting=True, sample_weight=sample_weight)
        if self.method_ == "finite_difference":
            _check_second_difference_width(n_features)
        mean, magnitude = RunningMoments(), RunningMoments()
        for start, stop, values in self._hessian_chunks(engine, data):
            weights = None if sample_weight is None else sample_weight[start:stop]
            mean.update(values, weights)
            magnitude.update(np.abs(values).mean(axis=1), weights)
        self.mean_hessian_ = mean.mean[0] if self.n_outputs_ == 1 else mean.mean
        self.interaction_importances_ = magnitude.mean
        return self

    def _fit_model(self, X, y, sample_weight, fit_params):
        from sklearn.base import is_classifier

        from ._response import resolve_response_method, unwrap_model

        self.estimator_ = self._fit_estimator(X, y, sample_weight, fit_params)
        model = unwrap_model(self.estimator_)
        self.response_method_ = resolve_response_method(model, self.response_method)
        if is_classifier(model) and hasattr(model, "classes_"):
            classes = model.classes_
            self.classes_ = (
                classes if isinstance(classes, list) else np.asarray(classes)
            )

    # ------------------------------------------------------------------ engines
    def _second_order_engine(self, engine):
        """Finite differences get the second-difference step."""
        if engine.name != "finite_difference":
            return engine
        step = self.finite_difference_.step
        if step == "auto":
            step = auto_second_step(engine.scheme, engine.dtype)
        return engine.with_step(float(step))

    def _hessian_chunks(self, engine, data):
        """``(start, stop, matrices)`` per chunk, (rows, n_outputs, d, d)."""
        engine = self._second_order_engine(engine)
        d = data.Z.shape[1]
        computation = _SecondOrder(
            self.kind, getattr(self, "baseline_", None), self.n_steps
        )
        cost = computation.n_points()
        if engine.name == "finite_difference":
            cost *= second_difference_evaluations(d, engine.scheme)
        chunks = self._chunk_results(
            computation,
            engine,
            data,
            self._rows_per_chunk(engine, len(data), cost),
            f"{self.kind} ({engine.name})",
        )
        # the engine's checks (zero gradients that are not flat, jumps) on the
        # gradients that the second-difference stencil gives at the rows themselves
        checks = (
            engine.diagnostics(self._explained_names())
            if self.kind == "hessian"
            else []
        )
        for start, stop, points, (values, gradients) in chunks:
            for check in checks:
                check.update(points, gradients)
            if not np.all(np.isfinite(values)):
                bad = np.unique(np.nonzero(~np.isfinite(values))[0]) + start
                raise ValueError(
                    f"The second derivatives of rows {bad[:10].tolist()} are not "
                    "finite: the model's response or its derivatives overflow there. "
                    "Check those rows for extreme values, or rescale the features."
                )
            if data.Z.dtype == np.float32:
                values = values.astype(np.float32, copy=False)
            yield start, stop, values
        for check in checks:
            check.finish()

    # ------------------------------------------------------------------ public
    def explain(self, X):
        """Per-sample Hessians (or integrated Hessians) of ``X``.

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)

        Returns
        -------
        hessians : ndarray
            (n_samples, n_explained, n_explained) for one output, (n_samples,
            n_outputs, n_explained, n_explained) for several; symmetric in the last
            two axes.
        """
        check_is_fitted(self)
        data = self._validate_input(X, reset=False)
        engine = self._engine(data)
        out = None
        for start, stop, values in self._hessian_chunks(engine, data):
            if out is None:
                out = np.empty((len(data), *values.shape[1:]), dtype=values.dtype)
            out[start:stop] = values
        if out is None:
            raise ValueError("Found array with 0 sample(s); at least 1 is required.")
        return self._shape(out)


def _check_second_difference_width(n_features):
    if n_features > MAX_SECOND_DIFFERENCE_FEATURES:
        raise ValueError(
            f"Second differences of {n_features} features need "
            f"{second_difference_evaluations(n_features, 'central')} model "
            "evaluations per row (2d² + 1); HessianExplainer computes them for at "
            f"most {MAX_SECOND_DIFFERENCE_FEATURES} features. Explain a subset "
            "(features=[...], the other columns held fixed), or a model that "
            "translates to torch (exact Hessians by autograd)."
        )
