"""The base of every explainer: validation, the fit skeleton and the batching loop.

Everything an explainer computes goes through three steps, owned here:

1. **validation before work** (:meth:`BaseGradientExplainer._check_settings`,
   :meth:`~BaseGradientExplainer._validate_input`): parameters, data and their fit with
   the model are checked before any model is fitted or called;
2. **one engine per call** (:meth:`~BaseGradientExplainer._engine`): the response,
   the selected outputs and the gradient engine (with its torch translation) are
   resolved once per ``fit``/``explain``;
3. **one batching loop** (:meth:`~BaseGradientExplainer._attribution_chunks`): chunks
   of rows go through joblib to the fitted attribution; the checks of the attribution
   and of the engine (completeness, zero gradients, jumps) run on every chunk.

Subclasses add what they are (a transformer, a surrogate, a selector) and their own
parameters; what is computed per sample lives in the attribution objects
(:mod:`sklearn_gradexplain.attributions`), how gradients are obtained in the engines.
"""

from numbers import Integral

import numpy as np
import scipy.sparse as sp
from joblib import effective_n_jobs
from scipy.stats import norm
from sklearn.base import BaseEstimator, MetaEstimatorMixin, clone, is_classifier
from sklearn.utils import check_array, get_tags
from sklearn.utils.metadata_routing import (
    MetadataRouter,
    MethodMapping,
    process_routing,
)
from sklearn.utils.metaestimators import available_if
from sklearn.utils.parallel import Parallel, delayed
from sklearn.utils.validation import check_is_fitted, has_fit_parameter, validate_data

from ._compat import (
    HasMethods,
    Interval,
    StrOptions,
    TorchDevice,
    check_sample_weight,
    routing_enabled,
)
from ._engines._autograd import (
    TORCH_MISSING,
    AutogradEngine,
    torch_available,
    torch_dtype,
    torch_response,
)
from ._engines._finite_difference import FiniteDifference, NumpyResponse
from ._inputs import InputComposer, InputData, as_pandas, column_positions
from ._response import (
    check_response_method,
    is_torch_net,
    resolve_response_method,
    select_outputs,
    unwrap_model,
)
from ._statistics import ColumnMoments, RunningMoments
from .attributions import BaseAttribution, get_attribution
from .attributions._base import SHORTHANDS
from .exceptions import NotDifferentiableError, _warn

# Rows per model call for batch_size="auto": finite differences reach the floor of one
# stacked call at >=10k rows (>=40k for forests); autograd was fastest at 1k-4k rows.
# Wide data: a call holds at most _FD_BYTES_PER_CALL of perturbed rows.
_FD_BYTES_PER_CALL = 2**25
_FD_ROWS = (256, 65536)
_AUTOGRAD_ROWS = (64, 2048)
_PROBE_ROWS = 8  # rows the response is first evaluated on (shape, outputs, dtype)
_MIN_CHUNKS_WITH_PROGRESS = 10


def _nan_handling(estimator):
    """``(takes, removes)``: whether ``estimator`` takes NaN in X, and whether its
    output is free of NaN whatever its input (an imputer's).

    scikit-learn's ``Pipeline`` and ``FeatureUnion`` do not pass on their steps'
    ``allow_nan`` tags (1.9.1), and a step's tag only says that it takes NaN
    (``StandardScaler`` passes NaN on to the next step): a composition takes NaN when
    every step up to the first that removes it does.
    """
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import FeatureUnion, Pipeline

    model = unwrap_model(estimator)
    if isinstance(model, str):  # "passthrough" hands NaN on; "drop" sees nothing
        return True, model == "drop"
    if model is None:
        return True, False
    if isinstance(model, Pipeline):
        for _, step in model.steps:
            takes, removes = _nan_handling(step)
            if not takes:
                return False, False
            if removes:
                return True, True
        return True, False
    if isinstance(model, FeatureUnion | ColumnTransformer):
        parts = (
            [t for _, t in model.transformer_list]
            if isinstance(model, FeatureUnion)
            else [t for _, t, _ in model.transformers] + [model.remainder]
        )
        handled = [_nan_handling(part) for part in parts]
        return all(t for t, _ in handled), all(r for _, r in handled)
    imputing = type(model).__module__.startswith("sklearn.impute")  # and indicators
    return get_tags(model).input_tags.allow_nan, imputing


def accepts_nan(estimator):
    """Whether the model takes NaN in X, through frozen wrappers and compositions."""
    return _nan_handling(estimator)[0]


def _estimator_has(attr):
    """``available_if`` check: the (fitted or given) estimator has ``attr``."""

    def check(self):
        estimator = getattr(self, "estimator_", self.estimator)
        getattr(estimator, attr)
        return True

    return check


class _ModelMethodsMixin:
    """The wrapped model's ``predict``, ``predict_proba``, ``decision_function`` and
    ``score``, where it has them (an explainer stands in for its model)."""

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


class _SummaryMixin:
    """``summary()``: the global statistics of an explainer as a coefficient table."""

    def summary(self, confidence_level=0.95):
        """The mean attribution per (output, feature) as a coefficient table.

        Parameters
        ----------
        confidence_level : float, default=0.95
            Coverage of the normal confidence interval of each mean.

        Returns
        -------
        table : pandas.DataFrame
            One row per (output, feature), ordered by output then feature, with the
            columns ``output``, ``feature``, ``mean`` (the global gradient),
            ``stderr`` (sample std, ddof=1, / √n), ``ci_low``, ``ci_high``,
            ``p_value`` (two-sided, H0: mean attribution 0, normal), ``importance``
            (mean absolute attribution) and ``scaled_importance`` (importance × the
            feature's standard deviation: the output change per standard deviation).
            The interval covers the sampling of rows with the model held fixed.
            Fitted on a single row (total weight 1), the standard error is
            undefined: ``stderr``, the interval and ``p_value`` are NaN, with a
            warning.

        Examples
        --------
        >>> import numpy as np
        >>> from sklearn.linear_model import LinearRegression
        >>> from sklearn_gradexplain import GradientExplainer
        >>> X = np.random.RandomState(0).normal(size=(40, 2)) * [1.0, 10.0]
        >>> explainer = GradientExplainer(LinearRegression()).fit(X, X @ [2.0, 0.1])
        >>> table = explainer.summary()
        >>> table[["feature", "mean", "scaled_importance"]].round(2)
          feature  mean  scaled_importance
        0      x0   2.0               2.15
        1      x1   0.1               0.93
        """
        import pandas as pd

        check_is_fitted(self)
        if not 0 < confidence_level < 1:
            raise ValueError(
                f"confidence_level must be in (0, 1), got {confidence_level!r}."
            )
        statistics = self._statistics
        mean = np.atleast_2d(statistics.attributions.mean)
        stderr = np.atleast_2d(statistics.attributions.stderr())
        importance = np.atleast_2d(statistics.magnitudes.mean)
        mean = mean.reshape(-1, mean.shape[-1])
        stderr = stderr.reshape(mean.shape)
        importance = importance.reshape(mean.shape)
        z = norm.ppf(0.5 + confidence_level / 2)
        with np.errstate(divide="ignore", invalid="ignore"):
            statistic = np.abs(mean) / stderr
        p_value = np.where(
            stderr > 0, 2 * norm.sf(statistic), np.where(mean == 0, 1.0, 0.0)
        )
        if statistics.attributions.weight <= 1:
            # one row (or a total weight of 1) has no spread to estimate: the
            # standard error is undefined, not 0
            _warn(
                "summary() of a single row (total weight "
                f"{statistics.attributions.weight:g}) has no standard error: stderr, "
                "the interval and the p-value are NaN. Fit on more rows.",
                UserWarning,
            )
            stderr = np.full_like(mean, np.nan)
            p_value = np.full_like(mean, np.nan)
        outputs = self._output_labels()
        names = self._explained_names()
        k, d = mean.shape
        power = np.zeros(d)
        power[self._numeric_slots()] = getattr(self.attribution_, "input_power", 1)
        unit = np.where(power == 0, 1.0, np.nan_to_num(self.feature_std_) ** power)
        return pd.DataFrame(
            {
                "output": np.repeat(np.asarray(outputs, dtype=object), d),
                "feature": np.tile(names, k),
                "mean": mean.ravel(),
                "stderr": stderr.ravel(),
                "ci_low": (mean - z * stderr).ravel(),
                "ci_high": (mean + z * stderr).ravel(),
                "p_value": p_value.ravel(),
                "importance": importance.ravel(),
                "scaled_importance": (importance * unit).ravel(),
            }
        )

    def _output_labels(self):
        """A label per explained output (for a single output: what it is)."""
        names = self.outputs_.names
        if names is not None:
            return list(names)
        classes = getattr(self, "classes_", None)
        if classes is not None and not isinstance(classes, list):
            if self.target is not None:
                return [self.target]
            return [classes[-1]] if len(classes) == 2 else [classes[0]]
        return [0 if self.target is None else self.target]


def _is_frozen(estimator):
    return unwrap_model(estimator) is not estimator


def _naming_rows(exc, where):
    """``exc`` with ``where`` appended (a RuntimeError if it cannot be rebuilt)."""
    message = f"{exc} ({where})"
    try:
        return type(exc)(message)
    except Exception:
        return RuntimeError(message)


def _run_chunk(attribution, engine, points, start, stop):
    """Attribute one chunk; an error names the rows it was raised on."""
    try:
        return attribution.attribute(engine, points)
    except Exception as exc:
        raise _naming_rows(exc, f"raised while explaining rows {start}:{stop}") from exc


class _first_call:  # noqa: N801 (used as a context manager)
    """Errors of the model's first call (the probe rows) name those rows too."""

    def __init__(self, n_rows):
        self.n_rows = n_rows

    def __enter__(self):
        return self

    def __exit__(self, kind, exc, traceback):
        if exc is None or not isinstance(exc, Exception):
            return False
        if "(raised while explaining rows" in str(exc):
            return False
        raise _naming_rows(
            exc,
            f"raised while explaining rows 0:{self.n_rows}, the model's first call",
        ) from exc


class _TorchNumpy:
    """A torch net's response in numpy (finite differences of a skorch net)."""

    def __init__(self, function, device):
        self.function = function
        self.device = device

    def __call__(self, X):
        import torch

        with torch.no_grad():
            # a copy: X may be read-only (a broadcast baseline, a memory map)
            out = self.function(torch.tensor(np.asarray(X), device=self.device))
            return out.cpu().numpy()  # its own dtype: a float32 net needs its step


class _GlobalStatistics:
    """Weighted mean, standard error and mean absolute value of attributions.

    Folded chunk by chunk (and batch by batch in ``partial_fit``) in float64, with the
    per-feature moments of the explained columns themselves (for scaled importances).
    """

    def __init__(self):
        self.attributions = RunningMoments()
        self.magnitudes = RunningMoments()
        self.features = ColumnMoments()

    def update(self, Z, attributions, weights=None):
        self.attributions.update(attributions, weights)
        self.magnitudes.update(np.abs(attributions), weights)
        self.features.update(Z, weights)


class BaseGradientExplainer(MetaEstimatorMixin, BaseEstimator):
    """Owns validation, response resolution, engines and batching.

    Subclasses write their own ``__init__`` and extend ``_parameter_constraints``.
    """

    _parameter_constraints = {
        "estimator": [HasMethods(["fit"])],
        "attribution": [StrOptions(SHORTHANDS), BaseAttribution],
        "method": [
            StrOptions({"auto", "autograd", "finite_difference"}),
            FiniteDifference,
        ],
        "response_method": [
            StrOptions({"auto", "predict_proba", "decision_function", "predict"})
        ],
        "target": "no_validation",  # checked against the model's outputs
        "features": [None, "array-like"],
        "batch_size": [
            StrOptions({"auto"}),
            Interval(Integral, 1, None, closed="left"),
        ],
        "n_jobs": [Integral, None],
        "device": [TorchDevice()],
        "verbose": ["verbose"],
    }

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        inner = get_tags(self.estimator)
        tags.estimator_type = inner.estimator_type
        tags.classifier_tags = inner.classifier_tags
        tags.regressor_tags = inner.regressor_tags
        tags.target_tags.required = inner.target_tags.required
        tags.target_tags.multi_output = inner.target_tags.multi_output
        tags.target_tags.single_output = inner.target_tags.single_output
        tags.input_tags.sparse = inner.input_tags.sparse
        tags.input_tags.allow_nan = accepts_nan(self.estimator)
        attribution = self.attribution
        if isinstance(attribution, str) and attribution in SHORTHANDS:
            attribution = get_attribution(attribution)
        if isinstance(attribution, BaseAttribution):
            tags.non_deterministic = get_tags(attribution).non_deterministic
        return tags

    # ------------------------------------------------------------- metadata routing
    def get_metadata_routing(self):
        """Routing of ``sample_weight`` and fit parameters to the inner estimator.

        Returns
        -------
        routing : MetadataRouter
        """
        router = MetadataRouter(owner=self.__class__.__name__).add_self_request(self)
        router.add(
            estimator=self.estimator,
            method_mapping=MethodMapping().add(caller="fit", callee="fit"),
        )
        return router

    # ------------------------------------------------------------------ validation
    def _resolved_method(self):
        """``"auto"``, ``"autograd"`` or ``"finite_difference"``."""
        return (
            "finite_difference"
            if isinstance(self.method, FiniteDifference)
            else (self.method)
        )

    def _check_settings(self, n_features, y=None):
        """Every check that needs no fitted model: run before any model work.

        Parameters
        ----------
        n_features : int
            Number of explained columns.
        y : array-like or None
            The targets (to check ``target`` against the classes before fitting).
        """
        if self.n_jobs == 0:
            raise ValueError("n_jobs == 0 has no meaning; use None, 1, 2, ... or -1.")
        if self.verbose:
            try:
                import tqdm  # noqa: F401
            except ImportError as exc:
                raise ImportError(
                    f"verbose={self.verbose} shows a progress bar with tqdm, which is "
                    "not installed: pip install tqdm, or use verbose=0."
                ) from exc
        check_device(self.device)
        attribution = get_attribution(self.attribution)
        attribution._validate_params()  # nested objects' parameters, before work
        if isinstance(self.method, FiniteDifference):
            self.method._validate_params()
        method = self._resolved_method()
        if method == "autograd" and not torch_available():
            raise NotDifferentiableError(TORCH_MISSING)
        if method == "finite_difference" and method not in attribution.engines:
            raise NotDifferentiableError(
                f"{type(attribution).__name__} needs the autograd engine "
                f"({' or '.join(attribution.engines)}); method={self.method!r} "
                "cannot compute it."
            )
        if "finite_difference" not in attribution.engines and not torch_available():
            raise NotDifferentiableError(
                f"{type(attribution).__name__} needs the autograd engine: "
                + TORCH_MISSING
            )
        if hasattr(attribution, "_check_settings"):
            attribution._check_settings(n_features)
        if attribution.needs_layers:
            from ._engines._lrp import check_lrp_supported

            check_lrp_supported(self.estimator)
        check_response_method(
            self._settings_model(), self.response_method, raw=attribution.needs_layers
        )
        self._check_target(y)
        if self._explain_at() is not None:
            from ._categorical import step_position

            step_position(self.estimator, self.explain_at)
            if self.features is not None or self._categorical_spec() is not None:
                raise ValueError(
                    "explain_at explains the columns of a step's output; features= "
                    "and categorical_features= choose raw columns and cannot be "
                    "combined with it."
                )

    def _settings_model(self):
        """The (unfitted) model whose response is differentiated, for checks."""
        if self._explain_at() is not None:
            from ._categorical import step_position

            pipeline = unwrap_model(self.estimator)
            try:
                step_position(pipeline, self.explain_at)
            except ValueError:
                return self.estimator  # reported by the explain_at check
            return unwrap_model(pipeline.steps[-1][1])
        return self.estimator

    def _check_target(self, y):
        """``target`` against the classes (or outputs) known before fitting."""
        if self.target is None:
            return
        model = unwrap_model(self.estimator)
        if not is_classifier(model) or is_torch_net(model):
            return
        if _is_frozen(self.estimator):
            classes = getattr(model, "classes_", None)
            if classes is None or isinstance(classes, list):
                return
        else:
            if y is None or np.ndim(y) != 1:
                return
            classes = np.unique(np.asarray(y))
        classes = np.asarray(classes)
        if classes.ndim == 1 and not any(_same(c, self.target) for c in classes):
            raise ValueError(
                f"target={self.target!r} is not one of the classes {classes.tolist()}."
            )

    def _validate_input(self, X, *, reset):
        """Validate ``X`` (before any work) and split it into explained columns.

        Errors name the problem (non-numeric or datetime columns, NaN/inf, shape,
        number of features) and the route that works, before the model is called.
        With ``features``, a DataFrame is never copied as a whole; sparse input (CSC
        becomes CSR, cheap to slice by rows) is densified one chunk at a time.
        """
        if self._explain_at() is not None:
            return self._validate_at_step(X, reset=reset)
        categorical = self._categorical_spec()
        selecting = self.features is not None or categorical is not None
        if selecting:
            X = as_pandas(X)  # columns held fixed are picked by name or position
        frame = hasattr(X, "iloc") and hasattr(X, "dtypes")
        allow_nan = accepts_nan(self.estimator)
        finite = "allow-nan" if allow_nan else True
        if frame:
            _check_datetime_columns(X, self.features, categorical)
        if not selecting:
            try:
                Z = validate_data(
                    self,
                    X,
                    reset=reset,
                    accept_sparse=("csr", "csc"),
                    dtype=(np.float64, np.float32),
                    ensure_all_finite=finite,
                )
            except ValueError as exc:
                _raise_input_error(as_pandas(X), exc, explained=None)
                raise
            if reset:
                self.feature_indices_ = np.arange(Z.shape[1])
            if sp.issparse(Z) and Z.format == "csc":
                Z = Z.tocsr()
            return InputData(Z)
        if frame:  # checks names and width only: the frame itself is the context
            validate_data(self, X, reset=reset, skip_check_array=True)
            context = X
        else:
            context = validate_data(
                self,
                X,
                reset=reset,
                dtype=None,
                ensure_all_finite=False,
                accept_sparse=False,
            )
        if reset:
            n_columns = context.shape[1]
            positions = (
                np.arange(n_columns)
                if self.features is None
                else self._resolve_features(n_columns)
            )
            if categorical is not None:
                from ._categorical import categorical_columns

                self.categorical_indices_ = categorical_columns(
                    X, categorical, getattr(self, "feature_names_in_", None)
                )
                positions = positions[~np.isin(positions, self.categorical_indices_)]
                if not len(positions):
                    raise ValueError(
                        "categorical_features leaves no numeric column to "
                        "differentiate; switch effects are given beside the "
                        "attributions of at least one numeric column."
                    )
            self.feature_indices_ = positions.astype(np.intp)
        columns = (
            X.iloc[:, self.feature_indices_]
            if frame
            else context[:, self.feature_indices_]
        )
        try:
            Z = check_array(
                columns,
                dtype=(np.float64, np.float32),
                ensure_all_finite=finite,
                input_name="X",
            )
        except (ValueError, TypeError) as exc:
            _raise_input_error(columns, exc, explained=True)
            raise ValueError(f"The explained features must be numeric: {exc}") from exc
        return InputData(Z, context)

    # ------------------------------------------------------------------ columns
    def _categorical_spec(self):
        """``categorical_features`` (only GradientExplainer takes it)."""
        return getattr(self, "categorical_features", None)

    def _explain_at(self):
        """``explain_at`` (only GradientExplainer takes it)."""
        return getattr(self, "explain_at", None)

    def _validate_at_step(self, X, *, reset):
        """The output of the ``explain_at`` step: the columns that are explained.

        ``n_features_in_``/``feature_names_in_`` describe the raw input; the
        explained columns are the step's output (encoded, one-hot indicators),
        available once the estimator is fitted.
        """
        from ._categorical import as_dense_float, split_pipeline

        if hasattr(X, "iloc") and hasattr(X, "dtypes"):
            validate_data(self, X, reset=reset, skip_check_array=True)
        else:
            validate_data(self, X, reset=reset, dtype=None, ensure_all_finite=False)
        if not hasattr(self, "estimator_"):
            return None
        head, tail = split_pipeline(self.estimator_, self.explain_at)
        allow_nan = accepts_nan(tail)
        Z = check_array(
            as_dense_float(head.transform(X)),
            accept_sparse="csr",
            ensure_all_finite="allow-nan" if allow_nan else True,
            input_name=f"the output of step {self.explain_at!r}",
        )
        if reset or not hasattr(self, "feature_indices_"):
            self.feature_indices_ = np.arange(Z.shape[1])
        return InputData(Z)

    def _check_model_width(self):
        """A prefit model given more or fewer columns than it was fitted on: say so
        before its first call fails somewhere inside it (or, worse, does not)."""
        model = unwrap_model(self.estimator_)
        fitted = getattr(model, "n_features_in_", None)
        if isinstance(fitted, Integral) and fitted != self.n_features_in_:
            raise ValueError(
                f"X has {self.n_features_in_} columns, but the {type(model).__name__} "
                f"was fitted on "
                f"{fitted}: pass the columns it was fitted on (to explain some of "
                "them only, name those in features=[...])."
            )

    def _explained_model(self):
        """The model whose response is differentiated: after ``explain_at``'s step."""
        if self._explain_at() is not None:
            from ._categorical import split_pipeline

            return split_pipeline(self.estimator_, self.explain_at)[1]
        return unwrap_model(self.estimator_)

    def _resolve_features(self, n_columns):
        return column_positions(
            self.features,
            n_columns,
            getattr(self, "feature_names_in_", None),
            "features",
        )

    def _input_names(self, input_features=None):
        """Names of the input columns (``x<i>`` without names)."""
        if input_features is not None:
            from ._compat import check_feature_names_in

            return np.asarray(check_feature_names_in(self, input_features), object)
        names = getattr(self, "feature_names_in_", None)
        if names is None:
            return np.asarray([f"x{i}" for i in range(self.n_features_in_)], object)
        return np.asarray(names, dtype=object)

    def _encoded_names(self):
        """Names of the columns of the ``explain_at`` step's output."""
        from ._categorical import split_pipeline

        head, _ = split_pipeline(self.estimator_, self.explain_at)
        try:
            names = np.asarray(head.get_feature_names_out(), dtype=object)
        except Exception:  # a step without output names
            names = np.asarray([f"e{i}" for i in self.feature_indices_], object)
        return names

    def _engine_names(self):
        """Names of the columns the engine differentiates."""
        if self._explain_at() is not None:
            return self._encoded_names()
        return self._input_names()[self.feature_indices_]

    def _explained_names(self, input_features=None, group=None):
        """Names of the columns of the attributions (the output layout)."""
        if self._explain_at() is not None and not self._grouped(group):
            return self._encoded_names()
        return self._input_names(input_features)[self._output_positions(group)]

    def _output_positions(self, group=None):
        """Input positions of the attribution columns, in their order."""
        if self._grouped(group):
            return np.arange(self.n_features_in_)
        if self._categorical_spec() is not None:
            return np.sort(
                np.concatenate([self.feature_indices_, self.categorical_indices_])
            )
        return self.feature_indices_

    def _numeric_slots(self, group=None):
        """Where the engine's columns sit among the attribution columns."""
        if self._grouped(group):
            return np.zeros(0, dtype=int)
        if self._categorical_spec() is not None:
            return np.searchsorted(self._output_positions(), self.feature_indices_)
        return np.arange(len(self.feature_indices_))

    def _grouped(self, group=None):
        """Whether attributions of an ``explain_at`` step are summed onto raw columns.

        The default (``group=None``) for additive attributions whose step's column
        mapping is known; ``group="raw"`` demands it, ``"encoded"`` refuses it.
        """
        if self._explain_at() is None or group == "encoded":
            return False
        attribution = getattr(self, "attribution_", None) or get_attribution(
            self.attribution
        )
        known = getattr(self, "_mapping", None) is not None
        if group == "raw" and not (attribution.additive and known):
            raise ValueError(
                "group='raw' sums additive attributions (gradient x input, integrated "
                "and expected gradients, LRP) over the columns a raw column is encoded "
                "into; "
                + (
                    f"{type(attribution).__name__} is not additive."
                    if not attribution.additive
                    else f"the mapping of step {self.explain_at!r}'s output onto the "
                    "raw columns is not known (a step mixes columns)."
                )
            )
        return bool(attribution.additive and known)

    def _column_mapping(self):
        from ._categorical import column_mapping, split_pipeline

        head, _ = split_pipeline(self.estimator_, self.explain_at)
        return column_mapping(head, self.n_features_in_)

    def _switch_response(self):
        """The model's selected outputs in numpy, for switch effects."""
        model = self._explained_model()
        return NumpyResponse(
            self._numpy_response(model), self.outputs_, self._composer(model)
        )

    def _with_switch_effects(self, points, values, response, engine):
        """The engine's attributions with the categorical columns' switch effects."""
        from ._categorical import switch_effects

        effects = switch_effects(
            points, self.category_table_, response, engine.max_rows
        )
        positions = self._output_positions()
        out = np.empty((*values.shape[:2], len(positions)), dtype=np.float64)
        out[:, :, self._numeric_slots()] = values
        out[:, :, np.searchsorted(positions, self.categorical_indices_)] = effects
        return out.astype(values.dtype, copy=False)

    # ------------------------------------------------------------------ fitting
    def _fit_estimator(self, X, y, sample_weight, fit_params):
        """Fit a clone of the estimator (or keep a frozen one), routing metadata."""
        if routing_enabled():
            routed = process_routing(
                self, "fit", sample_weight=sample_weight, **fit_params
            )
            params = routed.estimator.fit
        else:
            params = dict(fit_params)
            if sample_weight is not None and has_fit_parameter(
                self.estimator, "sample_weight"
            ):
                params["sample_weight"] = sample_weight
        return clone(self.estimator).fit(X, y, **params)

    def _fit_explainer(
        self, X, y=None, sample_weight=None, fit_params=None, *, keep=False
    ):
        """Fit the estimator (unless frozen), resolve engine and outputs, explain X.

        Global statistics are folded chunk by chunk; with ``keep`` the attributions
        are also returned, shaped like :meth:`explain`.

        Returns
        -------
        attributions : ndarray or None
            With ``keep``, shaped like :meth:`explain`.
        engine : engine
            The engine of this fit (for what the subclass computes next).
        data : InputData
            The validated input.
        """
        data = self._validate_input(X, reset=True)
        at_step = data is None  # explain_at: the step's output needs a fitted model
        if not at_step and len(data) == 0:
            raise ValueError("Found array with 0 sample(s); at least 1 is required.")
        self._check_settings(None if at_step else data.Z.shape[1], y)
        if sample_weight is not None:
            sample_weight = check_sample_weight(sample_weight, X)
        if at_step:
            self.estimator_ = self._fit_estimator(X, y, sample_weight, fit_params or {})
            data = self._validate_input(X, reset=False)
            self._mapping = self._column_mapping()
        attribution = clone(get_attribution(self.attribution))
        self.attribution_ = attribution.fit(data.Z, sample_weight=sample_weight)
        if not at_step:
            self.estimator_ = self._fit_estimator(X, y, sample_weight, fit_params or {})
        self._check_model_width()
        if self._categorical_spec() is not None:
            from ._categorical import CategoryTable

            table = CategoryTable(
                data.context, self.categorical_indices_, sample_weight
            )
            self.category_table_ = table
            names = self._input_names()
            self.categories_ = {
                names[position]: categories
                for position, categories in zip(
                    table.positions, table.categories, strict=True
                )
            }
        model = self._explained_model()
        self.response_method_ = resolve_response_method(
            model, self.response_method, raw=attribution.needs_layers
        )
        if is_classifier(model) and hasattr(model, "classes_"):
            classes = model.classes_
            self.classes_ = (
                classes if isinstance(classes, list) else np.asarray(classes)
            )
        engine = self._engine(data, fitting=True, sample_weight=sample_weight)
        statistics = _GlobalStatistics()
        out = None
        for start, stop, points, values in self._attribution_chunks(engine, data):
            weights = None if sample_weight is None else sample_weight[start:stop]
            statistics.update(points.Z, values, weights)
            if keep:
                if out is None:
                    out = np.empty((len(data), *values.shape[1:]), dtype=values.dtype)
                out[start:stop] = values
        self._set_statistics(statistics)
        return (None if out is None else self._shape(out)), engine, data

    def _set_statistics(self, statistics):
        """The fitted means from the accumulated statistics."""
        self._statistics = statistics
        moments = statistics.attributions
        self.global_gradient_ = self._shape_mean(moments.mean)
        self.global_gradient_stderr_ = self._shape_mean(moments.stderr())
        magnitudes = statistics.magnitudes.mean
        self.feature_importances_ = magnitudes.reshape(-1, magnitudes.shape[-1]).mean(
            axis=0
        )
        std = np.full(magnitudes.shape[-1], np.nan)  # NaN: not a numeric input
        slots = self._numeric_slots()
        if len(slots):  # raw columns of a grouped step have no one std
            std[slots] = statistics.features.std
        self.feature_std_ = std

    def _shape_mean(self, mean):
        return mean[0] if self.n_outputs_ == 1 else mean

    # ------------------------------------------------------------------ engines
    def _composer(self, model):
        names = getattr(model, "feature_names_in_", None)
        if names is None or self.features is not None:
            names = None
        return InputComposer(self.feature_indices_, names)

    def _max_rows(self, method):
        if self.batch_size != "auto":
            return self.batch_size
        n_columns = max(1, len(self.feature_indices_))
        if method == "autograd":
            low, high = _AUTOGRAD_ROWS
            return int(np.clip(2**21 // n_columns, low, high))
        low, high = _FD_ROWS
        return int(np.clip(_FD_BYTES_PER_CALL // (8 * n_columns), low, high))

    def _engine(self, data, *, fitting=False, sample_weight=None):
        """The one engine of this call: response, outputs and gradients resolved.

        In ``fit`` this also decides ``method_`` (autograd where the model translates,
        unless finite differences are asked for), fixes the selected outputs from the
        model's response on a few rows, and fits the finite-difference options.
        """
        model = self._explained_model()
        attribution = self.attribution_
        n_probe = min(len(data), _PROBE_ROWS)
        probe = data.chunk(0, n_probe)
        if n_probe == 1:  # some models fail on one row (SparsePCA's transform: 1-D)
            probe = probe.take([0, 0])
        function = None
        if fitting:
            requested = self._resolved_method()
            method = "finite_difference"
            if requested != "finite_difference" and (
                torch_available() or requested == "autograd"
            ):
                try:
                    function = self._torch_function(model, probe, data.Z.dtype)
                    method = "autograd"
                except NotDifferentiableError:
                    if requested == "autograd" or "finite_difference" not in (
                        attribution.engines
                    ):
                        raise
            elif "finite_difference" not in attribution.engines:
                raise NotDifferentiableError(TORCH_MISSING)
            self.method_ = method
        if self.method_ == "autograd":
            if function is None:
                function = self._torch_function(model, probe, data.Z.dtype)
            engine = AutogradEngine(
                function,
                getattr(self, "outputs_", None) if not fitting else None,
                self.feature_indices_,
                torch_dtype(data.Z.dtype),
                self.device,
                self._max_rows("autograd"),
                held=_held_of(function),
            )
            if fitting:  # the outputs are fixed from the response on a few rows
                with _first_call(n_probe):
                    raw = engine.raw_response(probe)
                self.outputs_ = self._select_outputs(model, raw, probe, n_probe)
                self.n_outputs_ = self.outputs_.n_outputs
                engine.with_outputs(self.outputs_)
            return engine
        raw = self._numpy_response(model)
        composer = self._composer(model)
        dtype = np.float32 if data.Z.dtype == np.float32 else np.float64
        if fitting:
            with _first_call(n_probe):
                probe_raw = raw(composer(probe))
            self.outputs_ = self._select_outputs(model, probe_raw, probe, n_probe)
            self.n_outputs_ = self.outputs_.n_outputs
            options = self.method if isinstance(self.method, FiniteDifference) else None
            options = clone(options) if options is not None else FiniteDifference()
            self.finite_difference_ = options.fit(data.Z, sample_weight=sample_weight)
            if _computes_in_float32(probe_raw):
                dtype = np.float32
            self._fd_dtype = dtype
        response = NumpyResponse(raw, self.outputs_, composer)
        return self.finite_difference_._engine(
            response,
            self.n_outputs_,
            self._max_rows("finite_difference"),
            getattr(self, "_fd_dtype", dtype),
        )

    def _torch_function(self, model, probe, dtype):
        """The torch function the autograd engine differentiates (one translation)."""
        return torch_response(
            model,
            self.response_method_,
            torch_dtype(dtype),
            self.device,
            layers=self.attribution_.needs_layers,
            held=self._held_rows(),
        )

    def _held_rows(self):
        """The holder of the columns held fixed (``features=``, categorical columns)."""
        if self.features is None and self._categorical_spec() is None:
            return None
        from ._engines._translate._registry import HeldRows

        held = set(range(self.n_features_in_)) - set(self.feature_indices_.tolist())
        return HeldRows(held)

    def _numpy_response(self, model):
        if is_torch_net(model):
            from ._engines._autograd import module_response

            return _TorchNumpy(
                module_response(model, self.response_method_, self.device), self.device
            )
        return getattr(model, self.response_method_)

    def _select_outputs(self, model, raw, probe, n_rows):
        n_labels = None
        if is_classifier(model) and not is_torch_net(model):
            with _first_call(n_rows):
                prediction = np.asarray(model.predict(self._composer(model)(probe)))
            if prediction.ndim == 2 and prediction.shape[1] > 1:
                n_labels = prediction.shape[1]
        return select_outputs(model, self.response_method_, self.target, raw, n_labels)

    # ------------------------------------------------------------------ batching
    def _rows_per_chunk(self, engine, n_rows, cost=None):
        """Rows per chunk: the engine's rows per call over the model evaluations a
        row costs (``cost``, the attribution's by default)."""
        if cost is None:
            cost = engine.evaluations_per_point * self.attribution_.n_points()
        rows = max(1, engine.max_rows // cost)
        if self.verbose and n_rows > 1:  # enough chunks for the bar to move
            rows = min(rows, max(1, -(-n_rows // _MIN_CHUNKS_WITH_PROGRESS)))
        return rows

    def _chunk_results(self, work, engine, data, rows_per_chunk, description):
        """The one batching loop: ``(start, stop, points, work.attribute(engine,
        points))`` per chunk of rows, in order.

        Chunks go through joblib (finite differences use ``n_jobs``); a task receives
        only its chunk's rows (a DataFrame is never sent whole to process workers).
        With ``verbose``, a progress bar counts the chunks.
        """
        n_rows = len(data)
        bounds = [
            (start, min(start + rows_per_chunk, n_rows))
            for start in range(0, n_rows, rows_per_chunk)
        ]
        n_jobs = self.n_jobs if engine.name == "finite_difference" else 1
        pending = {}  # the chunks dispatched and not yet consumed (a few at most)

        def tasks(wrap):
            for start, stop in bounds:
                pending[start] = points = data.chunk(start, stop)
                yield wrap(_run_chunk)(work, engine, points, start, stop)

        if effective_n_jobs(n_jobs) == 1:  # in this thread: no dispatch to pay for
            results = tasks(lambda function: function)
        else:
            try:
                parallel = Parallel(n_jobs=n_jobs, return_as="generator")
            except ValueError as exc:  # a backend without generators (ray): a list,
                if "return_as" not in str(exc):  # held whole until consumed
                    raise
                parallel = Parallel(n_jobs=n_jobs, return_as="list")
            results = parallel(tasks(delayed))
        if self.verbose:
            from tqdm.auto import tqdm

            results = tqdm(results, total=len(bounds), desc=description, unit="chunk")
        for result, (start, stop) in zip(results, bounds, strict=True):
            yield start, stop, pending.pop(start), result

    def _attribution_chunks(self, engine, data, description=None, group=None):
        """``(start, stop, points, attributions)`` per chunk of the batching loop.

        Chunk boundaries (:meth:`_chunk_results`) depend only on the number of rows,
        the engine's rows per call and the attribution's cost, so results are
        identical for every ``n_jobs`` and joblib backend. Non-finite attributions
        raise, naming the
        rows; the attribution's and the engine's checks run on every chunk, and warn
        at the end. Switch effects of categorical columns, and the grouping of an
        explained step's columns onto raw columns, are added last (the checks see
        the engine's own columns).
        """
        grouped = self._grouped(group)
        switch = self._switch_response() if self._categorical_spec() else None
        description = description or (
            f"{type(self.attribution_).__name__} ({engine.name})"
        )
        checks = [
            *engine.diagnostics(self._engine_names()),
            *self.attribution_.diagnostics(engine),
        ]
        chunks = self._chunk_results(
            self.attribution_,
            engine,
            data,
            self._rows_per_chunk(engine, len(data)),
            description,
        )
        for start, stop, points, values in chunks:
            if data.Z.dtype == np.float32:
                values = values.astype(np.float32, copy=False)
            _check_finite_attributions(values, start)
            for check in checks:
                check.update(points, values)
            if switch is not None:
                values = self._with_switch_effects(points, values, switch, engine)
                _check_finite_attributions(values, start)
            if grouped:
                from ._categorical import group_columns

                values = group_columns(values, self._mapping, self.n_features_in_)
            yield start, stop, points, values
        for check in checks:
            check.finish()

    def _attribute(self, data, engine=None, group=None):
        """Attributions of every row, shaped like :meth:`explain`."""
        engine = engine or self._engine(data)
        out = None
        for start, stop, _, values in self._attribution_chunks(
            engine, data, group=group
        ):
            if out is None:
                out = np.empty((len(data), *values.shape[1:]), dtype=values.dtype)
            out[start:stop] = values
        if out is None:
            raise ValueError("Found array with 0 sample(s); at least 1 is required.")
        return self._shape(out)

    def _response_values(self, data, engine=None):
        """Model response (selected outputs) on every row, (n, n_outputs)."""
        engine = engine or self._engine(data)
        values = np.empty((len(data), self.n_outputs_))
        step = engine.max_rows
        for start in range(0, len(data), step):
            stop = min(start + step, len(data))
            values[start:stop] = engine.value(data.chunk(start, stop))
        return values

    def _shape(self, values):
        """Drop the output axis (axis 1) when a single output is explained."""
        return values[:, 0] if self.n_outputs_ == 1 else values

    # ------------------------------------------------------------------ public
    def explain(self, X):
        """Per-sample attributions of ``X``.

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)

        Returns
        -------
        attributions : ndarray
            (n_samples, n_explained) for one output, (n_samples, n_outputs,
            n_explained) for several.
        """
        check_is_fitted(self)
        data = self._validate_input(X, reset=False)
        return self._attribute(data)


def _held_of(function):
    """The HeldRows a translated function reads, if any (found by identity)."""
    return getattr(function, "held", None)


def _same(a, b):
    try:
        return bool(a == b)
    except (TypeError, ValueError):
        return False


def check_device(device):
    """A clear ``ValueError`` for a device that does not exist here (before work)."""
    if isinstance(device, str) and device == "cpu":
        return
    if not torch_available():
        raise ValueError(
            f"device={device!r} needs torch, which is not installed; use "
            "device='cpu' (finite differences need no device)."
        )
    import torch

    try:
        device = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(f"device={device!r} is not a torch device: {exc}") from exc
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"device={str(device)!r} was asked for, but CUDA is not available on "
            "this machine; use device='cpu'."
        )
    if device.type == "cuda" and device.index is not None:
        if device.index >= torch.cuda.device_count():
            raise ValueError(
                f"device={str(device)!r}: this machine has "
                f"{torch.cuda.device_count()} CUDA device(s)."
            )
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError("device='mps' was asked for, but MPS is not available.")


def _computes_in_float32(raw):
    """Whether the model's response is float32 (so finite differences need its step)."""
    raw = raw[0] if isinstance(raw, (list, tuple)) and raw else raw
    return getattr(raw, "dtype", None) == np.float32


def _check_finite_attributions(values, offset):
    if np.isfinite(values).all():  # one pass; the rows are found only on failure
        return
    bad = ~np.isfinite(values)
    if bad.any():
        rows = np.unique(np.nonzero(bad)[0]) + offset
        shown = rows[:10].tolist()
        raise ValueError(
            f"The attributions of rows {shown}{' and more' if rows.size > 10 else ''} "
            "are not finite: the model's response or its gradient overflows there "
            "(inf or NaN). Check those rows for extreme values, rescale the "
            "features, or explain the model where it is finite."
        )


def _check_datetime_columns(X, features, categorical=None):
    """Datetime columns have no gradient: say so before anything else."""
    kinds = [(name, dtype) for name, dtype in X.dtypes.items()]
    dates = [
        name
        for name, dtype in kinds
        if getattr(dtype, "kind", "") in "mM" or "datetime" in str(dtype)
    ]
    if not dates:
        return
    positions = {name: i for i, name in enumerate(X.columns)}
    if features is not None:
        explained = set(np.asarray(features).ravel().tolist())
        dates = [d for d in dates if d in explained or positions[d] in explained]
    if categorical is not None and not isinstance(categorical, str):
        listed = set(np.asarray(categorical).ravel().tolist())
        dates = [d for d in dates if d not in listed and positions[d] not in listed]
    if dates:
        raise ValueError(
            f"X has datetime columns {dates}, which have no gradient. Convert them to "
            "numbers (e.g. days since a date) or hold them fixed: features=[...] "
            "naming the columns to explain."
        )


def _raise_input_error(X, exc, explained):
    """Re-raise an input error with the columns it concerns and the route that works."""
    message = str(exc)
    frame = hasattr(X, "iloc") and hasattr(X, "dtypes")
    if frame:
        names = _non_numeric_columns(X)
        if names:
            if explained:
                raise ValueError(
                    f"features {names} are not numeric: only numeric columns can be "
                    "explained (non-numeric ones may be held fixed)."
                ) from exc
            raise ValueError(
                f"X has non-numeric columns {names}, which have no gradient. Pass "
                "features=[...] naming the numeric columns to explain; the other "
                "columns are then held fixed."
            ) from exc
    if "NaN" in message or "infinity" in message:
        columns = _non_finite_columns(X)
        where = f" in columns {columns}" if columns else ""
        if "NaN" in message:
            raise ValueError(
                f"X contains NaN{where}, and the model does not take missing values. "
                "Impute them (e.g. a Pipeline starting with SimpleImputer), or pass "
                "features=[...] naming complete columns to explain; the others are "
                "then held fixed."
            ) from exc
        raise ValueError(
            f"X contains infinity{where}: a gradient needs finite inputs. Replace "
            "those values, or pass features=[...] naming finite columns to explain; "
            "the others are then held fixed."
        ) from exc
    if "convert" in message or "could not" in message:
        raise ValueError(f"X must be numeric: {exc}") from exc


def _non_numeric_columns(df):
    names = []
    for position, (name, dtype) in enumerate(df.dtypes.items()):
        if getattr(dtype, "kind", "O") not in "biuf":
            try:
                np.asarray(df.iloc[:, position], dtype=np.float64)
            except (ValueError, TypeError):
                names.append(name)
    return names


def _non_finite_columns(X):
    try:
        if hasattr(X, "iloc"):
            values = X.to_numpy(dtype=np.float64)
            names = list(X.columns)
        else:
            values = np.asarray(X, dtype=np.float64)
            names = list(range(values.shape[1])) if values.ndim == 2 else []
        if values.ndim != 2:
            return []
        bad = ~np.isfinite(values).all(axis=0)
        return [names[i] for i in np.flatnonzero(bad)]
    except (ValueError, TypeError):
        return []
