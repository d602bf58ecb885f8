"""The base of every explainer: parameters, validation, engines and the batching loop.

Subclasses add what they are (a transformer, a surrogate, a selector) on top of
:meth:`BaseGradientExplainer._fit_explainer` and :meth:`BaseGradientExplainer.explain`;
attribution rules live in :mod:`sklearn_gradexplain._attributions` and gradients come
from the engines in :mod:`sklearn_gradexplain._engines`.
"""

import inspect
import warnings
from functools import partial
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from joblib import Parallel, delayed
from sklearn.base import BaseEstimator, MetaEstimatorMixin, clone, is_classifier
from sklearn.utils import check_array, check_random_state, get_tags
from sklearn.utils.sparsefuncs import mean_variance_axis
from sklearn.utils.validation import check_is_fitted, validate_data

from ._attributions import AttributionSettings, get_attribution
from ._compat import HasMethods, Interval, StrOptions
from ._engines._autograd import AutogradEngine, torch_dtype, torch_response
from ._engines._finite_difference import (
    FiniteDifferenceEngine,
    NumpyResponse,
    resolve_step,
)
from ._inputs import InputComposer, InputData
from ._response import (
    is_skorch_net,
    resolve_response_method,
    select_outputs,
    unwrap_model,
)
from .exceptions import (
    CompletenessWarning,
    NotDifferentiableError,
    ZeroGradientWarning,
)

#: Shared parameters of every explainer and their defaults (DESIGN.md).
SHARED_PARAMETERS = {
    "attribution": "gradient",
    "method": "auto",
    "response_method": "auto",
    "target": None,
    "step": "auto",
    "scheme": "central",
    "baseline": "zeros",
    "n_steps": 50,
    "integration": "gausslegendre",
    "noise_level": 0.15,
    "n_samples": 25,
    "lrp_rule": "epsilon",
    "lrp_epsilon": 1e-6,
    "features": None,
    "batch_size": "auto",
    "n_jobs": None,
    "device": "cpu",
    "random_state": None,
    "verbose": 0,
}

ATTRIBUTIONS = {
    "gradient",
    "gradient_x_input",
    "integrated_gradients",
    "smoothgrad",
    "lrp",
}

#: The shared explainer parameters, as documented in every class that takes them.
SHARED_PARAMETERS_DOC = """\
    attribution : {attributions}, default="gradient"
        What is computed per sample{attribution_note}.
    method : {{"auto", "autograd", "finite_difference"}}, default="auto"
        How gradients are obtained; ``"auto"`` uses exact autograd where the model can
        be expressed in torch and finite differences otherwise.
    response_method : {{"auto", "predict_proba", "decision_function", "predict"}}, \
default="auto"
        Which output is differentiated (``predict_proba`` for classifiers that have it,
        else ``decision_function``; ``predict`` for regressors).
    target : None, class label or int, default=None
        ``None``: positive class for binary classifiers, every output otherwise. A
        class label (classifiers) or output index (multi-output regressors) explains
        that output alone.
    step : "auto" or float, default="auto"
        Finite-difference step relative to ``max(std_k, |x_k|)``.
    scheme : {{"central", "forward"}}, default="central"
        Finite-difference scheme.
    baseline : {{"zeros", "mean", "median"}} or array of shape (n_features,), \
default="zeros"
        Integrated-gradients reference point.
    n_steps : int, default=50
        Integrated-gradients path points.
    integration : {{"gausslegendre", "riemann_right", "riemann_left", \
"riemann_middle", "riemann_trapezoid"}}, default="gausslegendre"
        Integrated-gradients quadrature rule.
    noise_level : float, default=0.15
        SmoothGrad noise standard deviation as a fraction of each feature's range.
    n_samples : int, default=25
        SmoothGrad noisy copies per sample.
    lrp_rule : {{"epsilon", "zero", "zplus", "alpha2beta1"}}, default="epsilon"
        LRP rule for every linear and convolutional layer.
    lrp_epsilon : float, default=1e-6
        Stabilizer of the epsilon rule.
    features : list of str or int, default=None
        Columns to explain; the others are held fixed and may be non-numeric.
    batch_size : "auto" or int, default="auto"
        Rows per model call.
    n_jobs : int, default=None
        joblib workers for finite differences.
    device : str, default="cpu"
        torch device for autograd.
    random_state : int, RandomState instance or None, default=None
        SmoothGrad noise.
    verbose : int, default=0
        Show a progress bar when > 0.
"""


def document_shared_parameters(cls, attributions, attribution_note=""):
    """Replace the ``{parameters}`` line of ``cls.__doc__`` by the shared parameters.

    Parameters
    ----------
    cls : type
        An explainer class whose docstring holds an indented ``{parameters}`` line.
    attributions : str
        The accepted values of ``attribution``, e.g. ``'{"gradient", "smoothgrad"}'``.
    attribution_note : str, default=""
        Appended to the description of ``attribution``.
    """
    text = SHARED_PARAMETERS_DOC.format(
        attributions=attributions, attribution_note=attribution_note
    )
    cls.__doc__ = cls.__doc__.replace("    {parameters}\n", text)
    return cls


# Rows per model call for batch_size="auto": finite differences reach the floor of one
# stacked call at >=10k rows (>=40k for forests); autograd was fastest at 1k-4k rows.
_FD_BYTES_PER_CALL = 2**25
_FD_ROWS = (4096, 65536)
_AUTOGRAD_ROWS = (64, 2048)


def _make_init(cls, parameters):
    """An ``__init__`` storing ``estimator`` and keyword-only ``parameters``.

    The explicit signature is what ``get_params``, ``clone`` and ``GridSearchCV`` see.
    """
    names = list(parameters)

    def __init__(self, estimator, **kwargs):
        unknown = set(kwargs) - set(names)
        if unknown:
            raise TypeError(
                f"{cls.__name__}.__init__() got unexpected keyword argument(s) "
                f"{sorted(unknown)}"
            )
        self.estimator = estimator
        for name in names:
            setattr(self, name, kwargs.get(name, parameters[name]))

    kind = inspect.Parameter
    __init__.__signature__ = inspect.Signature(
        [
            kind("self", kind.POSITIONAL_OR_KEYWORD),
            kind("estimator", kind.POSITIONAL_OR_KEYWORD),
            *(kind(n, kind.KEYWORD_ONLY, default=parameters[n]) for n in names),
        ]
    )
    __init__.__qualname__ = f"{cls.__name__}.__init__"
    return __init__


def _estimator_has(attr):
    """``available_if`` check: the (fitted or given) estimator has ``attr``."""

    def check(self):
        estimator = getattr(self, "estimator_", self.estimator)
        getattr(estimator, attr)
        return True

    return check


def _run_chunk(compute, data, start, stop):
    """Run one chunk; an error names the rows it was raised on."""
    try:
        return compute(data.rows(start, stop))
    except Exception as exc:
        message = f"{exc} (raised while explaining rows {start}:{stop})"
        try:
            error = type(exc)(message)
        except Exception:
            error = RuntimeError(message)
        raise error from exc


class BaseGradientExplainer(MetaEstimatorMixin, BaseEstimator):
    """Owns parameters, validation, response resolution, engines and batching.

    Subclasses name their extra parameters in ``_extra_parameters``; ``__init__`` is
    generated from them and :data:`SHARED_PARAMETERS`.
    """

    _extra_parameters = {}
    _parameter_constraints = {
        "estimator": [HasMethods(["fit"])],
        "attribution": [StrOptions(ATTRIBUTIONS)],
        "method": [StrOptions({"auto", "autograd", "finite_difference"})],
        "response_method": [
            StrOptions({"auto", "predict_proba", "decision_function", "predict"})
        ],
        "target": "no_validation",  # checked against the fitted model's outputs
        "step": [StrOptions({"auto"}), Interval(Real, 0, None, closed="neither")],
        "scheme": [StrOptions({"central", "forward"})],
        "baseline": [StrOptions({"zeros", "mean", "median"}), "array-like"],
        "n_steps": [Interval(Integral, 1, None, closed="left")],
        "integration": [
            StrOptions(
                {
                    "gausslegendre",
                    "riemann_right",
                    "riemann_left",
                    "riemann_middle",
                    "riemann_trapezoid",
                }
            )
        ],
        "noise_level": [Interval(Real, 0, None, closed="left")],
        "n_samples": [Interval(Integral, 1, None, closed="left")],
        "lrp_rule": [StrOptions({"epsilon", "zero", "zplus", "alpha2beta1"})],
        "lrp_epsilon": [Interval(Real, 0, None, closed="left")],
        "features": [None, "array-like"],
        "batch_size": [
            StrOptions({"auto"}),
            Interval(Integral, 1, None, closed="left"),
        ],
        "n_jobs": [Integral, None],
        "device": [str, object],  # a torch.device too
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "__init__" not in cls.__dict__:
            cls.__init__ = _make_init(
                cls, {**cls._extra_parameters, **SHARED_PARAMETERS}
            )

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
        tags.input_tags.allow_nan = False
        tags.non_deterministic = self.attribution == "smoothgrad" and not isinstance(
            self.random_state, Integral
        )
        return tags

    # ------------------------------------------------------------------ validation
    def _validate_input(self, X, *, reset):
        """Validate ``X`` (before any work) and split it into explained columns.

        Errors name the problem (non-numeric columns, NaN/inf, shape, number of
        features) and are raised before the model is called. With ``features``, a
        DataFrame is never copied as a whole; sparse input (CSC becomes CSR, cheap to
        slice by rows) is densified one chunk at a time by the batching loop.
        """
        frame = hasattr(X, "iloc") and hasattr(X, "dtypes")

        def non_numeric(df):
            names = []
            for position, (name, dtype) in enumerate(df.dtypes.items()):
                if dtype.kind not in "biuf":
                    try:
                        np.asarray(df.iloc[:, position], dtype=np.float64)
                    except (ValueError, TypeError):
                        names.append(name)
            return names

        if self.features is None:
            try:
                Z = validate_data(
                    self,
                    X,
                    reset=reset,
                    accept_sparse=("csr", "csc"),
                    dtype=(np.float64, np.float32),
                )
            except (ValueError, TypeError) as exc:
                names = non_numeric(X) if frame else []
                if names:
                    raise ValueError(
                        f"X has non-numeric columns {names}, which have no gradient. "
                        "Pass features=[...] naming the numeric columns to explain; "
                        "the other columns are then held fixed."
                    ) from exc
                if "convert" in str(exc):
                    raise ValueError(f"X must be numeric: {exc}") from exc
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
            self.feature_indices_ = self._resolve_features(context.shape[1])
        columns = (
            X.iloc[:, self.feature_indices_]
            if frame
            else context[:, self.feature_indices_]
        )
        try:
            Z = check_array(columns, dtype=(np.float64, np.float32), input_name="X")
        except (ValueError, TypeError) as exc:
            names = non_numeric(columns) if frame else []
            if names:
                raise ValueError(
                    f"features {names} are not numeric: only numeric columns can be "
                    "explained (non-numeric ones may be held fixed)."
                ) from exc
            raise ValueError(f"The explained features must be numeric: {exc}") from exc
        return InputData(Z, context)

    def _resolve_features(self, n_columns):
        features = np.asarray(self.features).ravel()
        if features.size == 0:
            raise ValueError("features must name at least one column.")
        if features.dtype.kind in "iu":
            if features.min() < -n_columns or features.max() >= n_columns:
                raise ValueError(
                    f"features {features.tolist()} out of range for {n_columns} "
                    "columns."
                )
            indices = features % n_columns
        else:
            names = getattr(self, "feature_names_in_", None)
            if names is None:
                raise ValueError("features given by name need X as a DataFrame.")
            missing = [f for f in features if f not in set(names)]
            if missing:
                raise ValueError(f"features {missing} are not columns of X.")
            indices = np.array([np.flatnonzero(names == f)[0] for f in features])
        if len(set(indices.tolist())) < len(indices):
            raise ValueError(f"features {features.tolist()} name a column twice.")
        return indices  # in the given order, for names and positions alike

    def _check_numeric(self, data):
        if data.context is None:
            return
        if hasattr(data.context, "dtypes"):
            non_numeric = [
                c for c, t in data.context.dtypes.items() if t.kind not in "biuf"
            ]
        else:
            non_numeric = [] if data.context.dtype.kind in "biuf" else ["columns"]
        if non_numeric:
            raise NotDifferentiableError(
                f"columns held fixed are not numeric ({non_numeric}); "
                "use method='finite_difference'."
            )

    # ------------------------------------------------------------------ fitting
    def _fit_explainer(self, X, y=None, **fit_params):
        """Fit the estimator (unless frozen), resolve engine and outputs, explain X.

        Returns the attributions on ``X``, shaped like :meth:`explain`.
        """
        data = self._validate_input(X, reset=True)
        if len(data) == 0:
            raise ValueError("Found array with 0 sample(s); at least 1 is required.")
        self.estimator_ = clone(self.estimator).fit(X, y, **fit_params)
        model = unwrap_model(self.estimator_)
        if self.attribution == "lrp":  # LRP starts from the raw output (the logit)
            from ._attributions._lrp import lrp_response_method

            self.response_method_ = lrp_response_method(model, self.response_method)
        else:
            self.response_method_ = resolve_response_method(model, self.response_method)
        if is_classifier(model):
            self.classes_ = np.asarray(model.classes_)
        self._fit_statistics(data)
        self.method_ = self._resolve_method(model, data)
        raw = self._raw_response(model, data.rows(0, 1))
        self.outputs_ = select_outputs(
            model,
            self.response_method_,
            self.target,
            1 if raw.ndim == 1 else raw.shape[1],
            getattr(self, "classes_", None),
        )
        self.n_outputs_ = self.outputs_.n_outputs
        attributions = self._attribute(data)
        # float64 accumulation: float32 attributions averaged in float32 lose digits
        self.global_gradient_ = attributions.mean(axis=0, dtype=np.float64)
        self.feature_importances_ = (
            np.abs(attributions)
            .reshape(-1, attributions.shape[-1])
            .mean(axis=0, dtype=np.float64)
        )
        return attributions

    def _fit_statistics(self, data):
        """Per-feature scale (finite-difference steps), range (SmoothGrad), baseline."""
        Z = data.Z
        if sp.issparse(Z):
            mean, variance = mean_variance_axis(Z.tocsc(), axis=0)
            low = Z.min(axis=0).toarray().ravel()
            high = Z.max(axis=0).toarray().ravel()
        else:
            mean, variance = Z.mean(axis=0), Z.var(axis=0)
            low, high = Z.min(axis=0), Z.max(axis=0)
        scale = np.sqrt(np.asarray(variance, dtype=np.float64))
        overflow = ~np.isfinite(scale)  # |x| beyond ~1e154 (float64), ~1e19 (float32)
        if overflow.any():  # the same standard deviation, of x / max|x|
            peak = np.maximum(np.abs(low), np.abs(high))[overflow].astype(np.float64)
            part = Z[:, overflow]
            if sp.issparse(part):
                part = mean_variance_axis(part.multiply(1 / peak).tocsc(), axis=0)[1]
            else:
                part = (part / peak).var(axis=0)
            scale[overflow] = np.sqrt(part) * peak
        self.feature_scale_ = scale
        self.feature_range_ = np.asarray(high - low, dtype=np.float64)
        if isinstance(self.baseline, str):
            if self.baseline == "zeros":
                baseline = np.zeros(Z.shape[1])
            elif self.baseline == "mean":
                baseline = np.asarray(mean, dtype=np.float64)
            elif sp.issparse(Z):  # one column at a time, never densified whole
                Zc = Z.tocsc()
                baseline = np.array(
                    [np.median(Zc[:, [j]].toarray()) for j in range(Z.shape[1])]
                )
            else:
                baseline = np.median(Z, axis=0)
        else:
            baseline = check_array(
                np.asarray(self.baseline, dtype=np.float64).reshape(1, -1),
                input_name="baseline",
            ).ravel()
            if baseline.shape[0] != Z.shape[1]:
                raise ValueError(
                    f"baseline has {baseline.shape[0]} values; expected one per "
                    "explained "
                    f"feature ({Z.shape[1]})."
                )
        self.baseline_ = baseline

    def _resolve_method(self, model, data):
        if self.method == "finite_difference":
            return "finite_difference"
        try:
            self._check_numeric(data)
            self._torch_function(model, torch_dtype(data.Z.dtype), "cpu")
        except NotDifferentiableError:
            if self.method == "autograd" or self.attribution == "lrp":
                raise
            return "finite_difference"
        return "autograd"

    def _torch_function(self, model, dtype, device):
        """The torch function the autograd engine differentiates.

        The model's response, or for LRP the layer stack it propagates relevance
        through (raising ``NotDifferentiableError`` for unsupported models).
        """
        if self.attribution == "lrp":
            from ._attributions._lrp import lrp_network

            return lrp_network(model, dtype, device)
        return torch_response(model, self.response_method_, dtype, device)

    def _raw_response(self, model, data):
        """The model's raw response on a few rows (to learn its width)."""
        if is_skorch_net(model) or self.attribution == "lrp":
            import torch

            function = self._torch_function(model, torch_dtype(data.Z.dtype), "cpu")
            X = data.Z
            if data.context is not None:  # every column, not only the explained ones
                X = np.asarray(
                    InputComposer(self.feature_indices_)(X, data.context, [0]),
                    dtype=np.float64,
                )
            with torch.no_grad():
                return function(torch.as_tensor(X)).cpu().numpy()
        composer = self._composer()
        raw = getattr(model, self.response_method_)(composer(data.Z, data.context, [0]))
        return np.asarray(raw)

    # ------------------------------------------------------------------ engines
    def _composer(self):
        model = unwrap_model(self.estimator_)
        names = getattr(model, "feature_names_in_", None)
        if names is None or self.features is not None:
            names = None
        return InputComposer(self.feature_indices_, names)

    def _max_rows(self):
        if self.batch_size != "auto":
            return self.batch_size
        if self.method_ == "autograd":
            low, high = _AUTOGRAD_ROWS
            return int(np.clip(2**21 // self.n_features_in_, low, high))
        low, high = _FD_ROWS
        return int(np.clip(_FD_BYTES_PER_CALL // (8 * self.n_features_in_), low, high))

    def _engine(self, dtype, step=None):
        model = unwrap_model(self.estimator_)
        if self.method_ == "autograd":
            tdtype = torch_dtype(dtype)
            function = self._torch_function(model, tdtype, self.device)
            return AutogradEngine(
                function,
                self.outputs_,
                self.feature_indices_,
                tdtype,
                self.device,
                self._max_rows(),
            )
        if is_skorch_net(model):
            raw = _SkorchNumpy(model, self.response_method_, self.device)
        else:
            raw = getattr(model, self.response_method_)
        response = NumpyResponse(raw, self.outputs_, self._composer())
        if step is None:
            step = resolve_step(self.step, self.scheme, dtype)
        return FiniteDifferenceEngine(
            response,
            self.n_outputs_,
            self.feature_scale_,
            step,
            self.scheme,
            self._max_rows(),
        )

    def _settings(self, data):
        noise = None
        if self.attribution == "smoothgrad":
            rng = check_random_state(self.random_state)
            sigma = self.noise_level * self.feature_range_
            noise = rng.standard_normal((self.n_samples, len(sigma))) * sigma
        return AttributionSettings(
            baseline=self.baseline_,
            n_steps=self.n_steps,
            integration=self.integration,
            noise=noise,
            lrp_rule=self.lrp_rule,
            lrp_epsilon=self.lrp_epsilon,
        )

    # ------------------------------------------------------------------ batching
    def _map_chunks(self, compute, data, rows_per_chunk, n_jobs, description):
        """The one batching loop: chunks of rows, dispatched through joblib.

        Chunk boundaries depend only on the number of rows and ``rows_per_chunk``, so
        results are identical for every ``n_jobs`` and joblib backend. Each chunk is
        written into one preallocated array as it arrives (working memory: a few
        chunks, whatever the number of rows); float32 input gives float32 results. An
        error in a chunk propagates, naming its rows, and nothing partial is returned.
        """
        n_rows = len(data)
        bounds = [
            (start, min(start + rows_per_chunk, n_rows))
            for start in range(0, n_rows, rows_per_chunk)
        ]
        tasks = (
            delayed(_run_chunk)(compute, data, start, stop) for start, stop in bounds
        )
        results = Parallel(n_jobs=n_jobs, return_as="generator")(tasks)
        if self.verbose and len(bounds) > 1:
            from tqdm.auto import tqdm

            results = tqdm(results, total=len(bounds), desc=description, unit="chunk")
        out = None
        # results first: run to its end, so that a progress bar completes and closes
        for chunk, (start, stop) in zip(results, bounds, strict=True):
            if out is None:
                dtype = np.float32 if data.Z.dtype == np.float32 else chunk.dtype
                out = np.empty((n_rows, *chunk.shape[1:]), dtype=dtype)
            out[start:stop] = chunk
        if out is None:
            raise ValueError("Found array with 0 sample(s); at least 1 is required.")
        return out

    def _attribute(self, data):
        """Attributions of every row: (n, n_explained) or (n, k, n_explained)."""
        rule = get_attribution(self.attribution)
        if self.method_ not in rule.engines:
            raise NotDifferentiableError(
                f"attribution={self.attribution!r} needs method in {rule.engines}."
            )
        engine = self._engine(data.Z.dtype)
        settings = self._settings(data)
        cost = engine.evaluations_per_point * rule.points_per_row(settings)
        rows_per_chunk = max(1, engine.max_rows // cost)
        n_jobs = self.n_jobs if engine.name == "finite_difference" else 1
        attributions = self._map_chunks(
            partial(rule.compute, engine, settings=settings),
            data,
            rows_per_chunk,
            n_jobs,
            f"{self.attribution} ({engine.name})",
        )
        if engine.name == "finite_difference" and self.attribution != "lrp":
            self._warn_if_zero(attributions, data)
        if self.attribution == "integrated_gradients":
            self._warn_if_incomplete(data, self._shape(attributions))
        return self._shape(attributions)

    def _warn_if_incomplete(self, data, attributions):
        """CompletenessWarning where |delta| > 5% of |f(x) − f(x′)|."""
        from ._attributions._integrated_gradients import incomplete_fraction

        delta = self._completeness_delta(data, attributions)
        change = attributions.sum(axis=-1) - delta
        fraction = incomplete_fraction(change, delta, attributions.dtype)
        if fraction > 0:
            warnings.warn(
                f"Integrated gradients miss completeness by more than 5% of "
                f"|f(x) - f(baseline)| on {fraction:.1%} of the samples and outputs; "
                "raise n_steps or use integration='gausslegendre'.",
                CompletenessWarning,
                stacklevel=3,
            )

    def _response_values(self, data):
        """Model response (selected outputs) on every row, (n, n_outputs)."""
        engine = self._engine(data.Z.dtype)
        return self._map_chunks(
            lambda chunk: engine.value(chunk.Z, chunk.context),
            data,
            engine.max_rows,
            1,
            "response",
        )

    def _shape(self, values):
        """Drop the output axis (axis 1) when a single output is explained."""
        return values[:, 0] if self.n_outputs_ == 1 else values

    def _completeness_delta(self, data, attributions=None):
        """Σ attributions − (f(x) − f(baseline)) for every row."""
        if attributions is None:
            attributions = self._attribute(data)
        baseline = np.broadcast_to(
            self.baseline_.astype(data.Z.dtype), (len(data), data.Z.shape[1])
        )
        change = self._response_values(data) - self._response_values(
            InputData(baseline, data.context)
        )
        return attributions.sum(axis=-1) - self._shape(change)

    def _warn_if_zero(self, attributions, data):
        """Warn when most gradients are exactly zero but a much larger step is not."""
        # count_nonzero: no boolean copy of the attributions (memory stays bounded)
        zero_fraction = 1 - np.count_nonzero(attributions) / attributions.size
        if zero_fraction <= 0.5:
            return
        probe_rows = data.rows(0, min(len(data), 32))
        # gradients at both steps: attributions may also be zero where x = baseline
        try:
            small, large = (
                self._engine(probe_rows.Z.dtype, step=step).gradient(
                    probe_rows.Z, probe_rows.context
                )
                for step in (None, 0.1)
            )
        except ValueError:  # e.g. a non-finite response at the larger step
            return
        if np.mean(large != 0) > np.mean(small != 0) + 0.1:
            warnings.warn(
                f"{zero_fraction:.0%} of the finite-difference gradients are exactly "
                "zero: the model looks piecewise constant (trees, boosting, kNN) at "
                f"this step. A larger step (e.g. step=0.1) measures its sensitivity.",
                ZeroGradientWarning,
                stacklevel=3,
            )

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


class _SkorchNumpy:
    """A skorch net's response (raw module output for decision_function) in numpy."""

    def __init__(self, net, response_method, device):
        self.net = net
        self.response_method = response_method
        self.device = device

        self._function = None

    def __call__(self, X):
        import torch

        if self._function is None:
            self._function = torch_response(
                self.net, self.response_method, None, self.device
            )
        with torch.no_grad():
            # a copy: X may be read-only (a broadcast baseline, a memory map)
            out = self._function(torch.tensor(np.asarray(X), device=self.device))
            return out.cpu().double().numpy()
