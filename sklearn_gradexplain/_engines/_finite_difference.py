"""Vectorized finite differences for any black-box model.

The perturbed copies of many points are stacked into one array and sent to the model
in a single call (``max_rows`` rows at most), which costs about one model call on all
perturbed rows: the floor for any black-box method. Wide data are blocked by features
too, so a call never holds more than ``max_rows`` perturbed rows whatever the number of
features.
"""

from numbers import Real

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted, validate_data

from .._compat import Interval, StrOptions, _fit_context, check_sample_weight
from .._inputs import Points, concat_points
from .._statistics import ColumnSummary
from ..exceptions import DiscontinuityWarning, ZeroGradientWarning, _warn

AUTO_STEPS = {
    # (scheme, dtype) -> relative step near the optimum: eps**(1/3) central, eps**(1/2)
    # forward.
    ("central", np.float64): 6e-6,
    ("forward", np.float64): 1.5e-8,
    ("central", np.float32): 5e-3,
    ("forward", np.float32): 3.5e-4,
}

#: Relative steps of the probes that tell a piecewise-constant model from a flat one.
_PROBE_STEPS = (0.1, 0.5)
#: Steps from this size on measure a sensitivity on purpose: no jump check then.
_DERIVATIVE_STEP = 1e-3
_PROBE_ROWS = 16
_MAX_SUSPECTS = 64


class FiniteDifference(BaseEstimator):
    """Finite-difference engine options: pass as ``method=FiniteDifference(...)``.

    The derivative of feature k at x is the difference quotient with the step
    ``h = step × max(std_k, |x_k|)``, std_k the feature's standard deviation in the fit
    data, divided by the step actually taken (which rounding may change). Central
    differences cost 2 model evaluations per feature, forward differences 1 (+1 per
    point).

    Parameters
    ----------
    step : "auto" or float, default="auto"
        Step relative to ``max(std_k, |x_k|)``. ``"auto"`` is near the optimum for the
        precision the model computes in: 6e-6 (central) or 1.5e-8 (forward) in
        float64, 5e-3 or 3.5e-4 in float32 (a float32 model given float64 data
        included).
    scheme : {"central", "forward"}, default="central"
        Central differences are accurate to O(h²); forward differences to O(h) but
        never evaluate the model below x (for features that must stay >= 0).

    Attributes
    ----------
    scale_ : ndarray of shape (n_features,)
        Standard deviation of each explained feature in the fit data.
    n_features_in_ : int
        Number of explained features seen during fit.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LinearRegression
    >>> from sklearn_gradexplain import FiniteDifference, GradientExplainer
    >>> X = np.random.RandomState(0).normal(size=(30, 2))
    >>> fd = FiniteDifference(step=1e-4)
    >>> explainer = GradientExplainer(LinearRegression(), method=fd)
    >>> explainer.fit(X, X @ [2.0, -1.0]).global_gradient_.round(6)
    array([ 2., -1.])
    >>> explainer.method_, explainer.finite_difference_.scale_.shape
    ('finite_difference', (2,))
    """

    _parameter_constraints = {
        "step": [StrOptions({"auto"}), Interval(Real, 0, None, closed="neither")],
        "scheme": [StrOptions({"central", "forward"})],
    }

    def __init__(self, step="auto", scheme="central"):
        self.step = step
        self.scheme = scheme

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.input_tags.allow_nan = True
        tags.target_tags.required = False
        return tags

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None, sample_weight=None):
        """Learn each feature's scale (standard deviation) from the explained columns.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The explained columns of the fit data.
        y : None
            Ignored.
        sample_weight : array-like of shape (n_samples,), default=None
            Frequency weights of the rows.

        Returns
        -------
        self : FiniteDifference
            The fitted options.
        """
        X = validate_data(
            self,
            X,
            accept_sparse=("csr", "csc"),
            dtype=(np.float64, np.float32),
            ensure_all_finite="allow-nan",
        )
        if sample_weight is not None:
            sample_weight = check_sample_weight(sample_weight, X)
        self.scale_ = ColumnSummary(X, sample_weight).std
        return self

    def _relative_step(self, dtype):
        """The relative step for ``step="auto"`` or the given float, for ``dtype``."""
        if self.step != "auto":
            return float(self.step)
        key = np.float32 if np.dtype(dtype) == np.float32 else np.float64
        return AUTO_STEPS[(self.scheme, key)]

    def _engine(self, response, n_outputs, max_rows, dtype):
        """The engine differentiating ``response`` with these options."""
        check_is_fitted(self)
        return FiniteDifferenceEngine(
            response,
            n_outputs,
            self.scale_,
            self._relative_step(dtype),
            self.scheme,
            max_rows,
            dtype,
        )


class NumpyResponse:
    """A model's raw response on composed inputs, reduced to the selected outputs.

    The response is checked on every call: one row per input row, as many columns as
    the outputs were selected from. A model that returns another shape raises instead
    of being reshaped into something else.

    Parameters
    ----------
    raw : callable
        E.g. the bound method ``model.predict_proba``.
    outputs : OutputSelection
    composer : InputComposer
    """

    def __init__(self, raw, outputs, composer):
        self.raw = raw
        self.outputs = outputs
        self.composer = composer

    def __call__(self, points):
        raw = self.outputs.check(self.raw(self.composer(points)), len(points))
        return np.asarray(self.outputs(raw), dtype=np.float64)


class FiniteDifferenceEngine:
    """Central or forward differences of a numpy response.

    Parameters
    ----------
    response : callable
        ``response(points) -> (n_points, n_outputs)``.
    n_outputs : int
        Number of selected outputs.
    scale : ndarray of shape (n_explained,)
        Per-feature scale (standard deviation of the fit data); the step of feature k
        at x is ``step * max(scale_k, |x_k|)``, and ``step`` where both are zero.
    step : float
        Relative step.
    scheme : {"central", "forward"}
    max_rows : int
        Perturbed rows per model call.
    dtype : numpy dtype
        Precision the perturbations are made in (float32 for float32 data or a
        float32 model).
    """

    name = "finite_difference"

    def __init__(self, response, n_outputs, scale, step, scheme, max_rows, dtype):
        self.response = response
        self.n_outputs = n_outputs
        self.scale = np.asarray(scale, dtype=np.float64)
        self.step = step
        self.scheme = scheme
        self.max_rows = max_rows
        self.dtype = np.dtype(dtype)

    @property
    def evaluations_per_point(self):
        n_features = len(self.scale)
        return 2 * n_features if self.scheme == "central" else n_features + 1

    def with_step(self, step):
        """A copy of this engine with another relative step."""
        return FiniteDifferenceEngine(
            self.response,
            self.n_outputs,
            self.scale,
            step,
            self.scheme,
            self.max_rows,
            self.dtype,
        )

    def value(self, points):
        """Model response at the points, shape (n_points, n_outputs).

        The model gets a copy of the points: it may write into its input, and the
        points may be the caller's rows.
        """
        points = Points(np.array(points.Z), points.context, points.rows)
        values = self.response(points)
        _check_finite(values, points, "The model returned NaN or infinite values")
        return values

    def gradient(self, points):
        """Gradients at the points, shape (n_points, n_outputs, n_explained)."""
        n_points, n_features = points.Z.shape
        grads = np.empty((n_points, self.n_outputs, n_features), dtype=np.float64)
        central = self.scheme == "central"
        per_feature = 2 if central else 1
        extra = 0 if central else 1  # forward differences also evaluate f(x)
        # features per call: all of them unless one point's perturbations exceed
        # max_rows (wide data), then blocks of features, one point per call
        block = max(1, min(n_features, (self.max_rows - extra) // per_feature))
        points_per_call = max(1, self.max_rows // (per_feature * block + extra))
        for start in range(0, n_points, points_per_call):
            stop = min(start + points_per_call, n_points)
            chunk = points.select(start, stop)
            centre = None
            for first in range(0, n_features, block):
                last = min(first + block, n_features)
                grads[start:stop, :, first:last], centre = self._gradient_block(
                    chunk, first, last, centre
                )
        return grads

    def perturbed(self, points, rows, columns, step):
        """The points that the quotient of one column per point needs.

        Point ``rows[i]`` is moved along column ``columns[i]`` with the relative
        ``step``: x + h e_k and x − h e_k (central) or x + h e_k and x (forward).

        Returns
        -------
        perturbed : Points
            Two consecutive points per pair.
        taken : ndarray of shape (n_pairs,)
            The step actually taken between the two points of each pair.
        """
        Z = np.asarray(points.Z, dtype=self.dtype)[rows]
        pairs = np.arange(len(Z))
        x = Z[pairs, columns]
        h = (step * self.steps(Z)[pairs, columns] / self.step).astype(self.dtype)
        up = Z.copy()
        up[pairs, columns] = x + h
        other = Z.copy()
        if self.scheme == "central":
            other[pairs, columns] = x - h
        taken = up[pairs, columns].astype(np.float64) - other[pairs, columns]
        stacked = np.stack([up, other], axis=1).reshape(-1, Z.shape[1])
        return points.take(rows).derive(stacked, 2), taken

    def steps(self, Z, first=0):
        """The step of each cell of ``Z`` (columns ``first``, ``first + 1``, ...)."""
        scale = self.scale[first : first + Z.shape[1]].astype(self.dtype)
        magnitude = np.maximum(scale, np.abs(Z))
        magnitude[~(magnitude > 0)] = 1  # zero scale and value; NaN (missing) cells
        return (self.step * magnitude).astype(self.dtype)

    def _gradient_block(self, points, first, last, centre):
        """Quotients of features ``first:last``; ``centre`` caches f(x) (forward)."""
        Z = np.asarray(points.Z, dtype=self.dtype)
        n_points, d = Z.shape
        b = last - first
        central = self.scheme == "central"
        h = self.steps(Z[:, first:last], first)
        up = Z[:, first:last] + h
        taken = up - Z[:, first:last]
        if central:
            down = Z[:, first:last] - h
            taken = taken - (down - Z[:, first:last])
        missing = np.isnan(Z[:, first:last])
        _check_steps(taken, missing, points, first)
        # (n_points, n_eval, d): copies of each point written once, then the
        # perturbed coordinates written through a strided view of the diagonals (a
        # dense h * eye wrote every row 3 more times: ~40% over the model call on
        # cheap models, see benchmarks/).
        n_eval = 2 * b if central else b + (centre is None)
        offset = 0 if (central or centre is not None) else 1
        stacked = np.empty((n_points, n_eval, d), dtype=self.dtype)
        stacked[...] = Z[:, None, :]
        flat = stacked.reshape(n_points, n_eval * d)  # a view: stacked is contiguous
        # row offset + i holds x + h_i e_(first + i)
        begin = offset * d + first
        flat[:, begin : begin + b * (d + 1) : d + 1] = up
        if central:
            begin = b * d + first
            flat[:, begin : begin + b * (d + 1) : d + 1] = down
        perturbed = points.derive(stacked.reshape(-1, d), n_eval)
        values = self.response(perturbed)
        _check_finite(
            values,
            perturbed,
            "The model returned NaN or infinite values near the explained points",
            remedy="finite differences need a finite response around every point",
        )
        values = values.reshape(n_points, n_eval, self.n_outputs)
        if central:
            diff = values[:, :b] - values[:, b:]
        else:
            if centre is None:
                centre = values[:, :1]
            diff = values[:, offset:] - centre
        # diff: (n_points, b, n_outputs) -> (n_points, n_outputs, b)
        quotient = np.transpose(diff, (0, 2, 1)) / taken.astype(np.float64)[:, None, :]
        if missing.any():  # an imputed cell is a constant: no gradient
            quotient[np.broadcast_to(missing[:, None, :], quotient.shape)] = 0.0
        return quotient, centre

    def diagnostics(self, feature_names):
        return [_FiniteDifferenceCheck(self, feature_names)]


def _check_steps(taken, missing, points, first):
    """A step that rounding erased (or made subnormal) gives no derivative: raise."""
    tiny = np.finfo(taken.dtype).tiny
    bad = ~missing & ~(np.abs(taken) >= tiny)
    if bad.any():
        rows, features = np.nonzero(bad)
        raise ValueError(
            "The finite-difference step vanishes in floating point at rows "
            f"{_row_list(points.row_index()[rows])} (features at positions "
            f"{sorted(set((features + first).tolist()))[:10]}): x + h rounds to x, or "
            "the values are so close to zero that their floats are subnormal. Use a "
            "larger step (FiniteDifference(step=...)) or rescale the features."
        )


def _check_finite(values, points, what, remedy=None):
    bad = ~np.isfinite(values)
    if bad.any():
        rows = np.unique(points.row_index()[np.nonzero(bad)[0]])
        raise ValueError(
            f"{what} at rows {_row_list(rows)}"
            + (f": {remedy}." if remedy else ".")
            + " Check those rows for extreme values, or explain the model where it "
            "is finite."
        )


def _row_list(rows):
    rows = np.unique(np.asarray(rows))
    shown = rows[:10].tolist()
    return f"{shown}{' and more' if rows.size > 10 else ''}"


def _named(features, feature_names):
    names = [str(feature_names[k]) for k in features[:10]]
    more = f" and {len(features) - 10} more" if len(features) > 10 else ""
    return f"{names}{more}"


class _FiniteDifferenceCheck:
    """Tells zeros and jumps from derivatives, with one extra model call per call.

    Two failures of finite differences are looked for, on a few rows kept while the
    chunks go by:

    - **Zero gradients that are not flat.** A feature whose attribution is exactly
      zero on most rows, where larger steps (0.1 and 0.5 of the feature's scale)
      find slopes the small step could have seen, belongs to a piecewise-constant
      model (trees, boosting, kNN, coded categories): zero is its derivative, not
      what the user asks. Probed on the first rows.
    - **Jumps.** For each feature the row with the largest |attribution| is kept;
      for the most suspicious ones (far above their mean, or steepest), the output
      difference across the step h and across h/2 are compared there: across a
      slope the difference halves with the step, across a jump it stays the same.

    All probe points go to the model in one call; a model that fails or is not
    finite there leaves the check undecided (it never fails the explanation).
    """

    def __init__(self, engine, feature_names):
        self.engine = engine
        self.feature_names = feature_names
        self.zeros = None  # per feature: attributions exactly zero
        self.count = 0  # rows (× outputs) seen
        self.probe = None  # the first rows
        self.best = None  # per feature: largest |attribution| seen ...
        self.suspects = {}  # ... and the row where it was
        self.magnitude_sum = None
        self.rows = 0

    def update(self, points, attributions):
        zero = attributions == 0
        per_feature = zero.sum(axis=tuple(range(zero.ndim - 1)))
        self.zeros = per_feature if self.zeros is None else self.zeros + per_feature
        self.count += attributions.size // attributions.shape[-1]
        magnitude = np.abs(attributions)
        if magnitude.ndim == 3:
            magnitude = magnitude.max(axis=1)
        if self.best is None:
            self.best = np.full(magnitude.shape[1], -np.inf)
            self.magnitude_sum = np.zeros(magnitude.shape[1])
            self.probe = points.select(0, min(_PROBE_ROWS, len(points))).compact()
        self.rows += len(magnitude)
        self.magnitude_sum += magnitude.sum(axis=0)
        rows = magnitude.argmax(axis=0)
        values = magnitude[rows, np.arange(magnitude.shape[1])]
        for k in np.flatnonzero(values > self.best):
            self.best[k] = values[k]
            self.suspects[k] = points.select(rows[k], rows[k] + 1).compact()

    def _suspects(self):
        """The features (and their rows) whose largest attribution may be a jump."""
        mean = self.magnitude_sum / max(self.rows, 1)
        spikiness = np.where(self.best > 10 * mean, self.best / (mean + 1e-300), 0.0)
        chosen = [
            k for k in np.argsort(-spikiness)[: _MAX_SUSPECTS // 2] if spikiness[k]
        ]
        steep = [
            k
            for k in np.argsort(-self.best * self.engine.scale)
            if k not in chosen and self.best[k] > 0
        ]
        chosen += steep[: _MAX_SUSPECTS - len(chosen)]
        return [k for k in chosen if k in self.suspects]

    def finish(self):
        if self.probe is None:
            return
        engine = self.engine
        mostly_zero = np.flatnonzero(self.zeros / max(self.count, 1) > 0.5)
        probe_steps = [step for step in _PROBE_STEPS if step > 2 * engine.step]
        if not probe_steps:
            mostly_zero = mostly_zero[:0]
        # a step this large is a sensitivity the user asked for, jumps included
        suspects = self._suspects() if engine.step < _DERIVATIVE_STEP else []
        plans = []  # (name, Points, taken)
        probe = self.probe
        if mostly_zero.size:
            n_probe = min(len(probe), max(1, engine.max_rows // (6 * mostly_zero.size)))
            grid_rows = np.repeat(np.arange(n_probe), mostly_zero.size)
            grid_columns = np.tile(mostly_zero, n_probe)
            for step in (engine.step, *probe_steps):
                plans.append(
                    (
                        ("zero", step),
                        *engine.perturbed(probe, grid_rows, grid_columns, step),
                    )
                )
        if suspects:
            points = concat_points([self.suspects[k] for k in suspects])
            pairs, columns = np.arange(len(suspects)), np.asarray(suspects)
            for step in (engine.step, engine.step / 2):
                plans.append(
                    (("jump", step), *engine.perturbed(points, pairs, columns, step))
                )
        if not plans:
            return
        centres = [probe] + ([points] if suspects else [])
        try:
            values = engine.value(concat_points([p for _, p, _ in plans] + centres))
        except Exception:  # a probe outside the model's domain decides nothing
            return
        scale = np.abs(values).max() + 1e-300
        differences, offset = {}, 0
        for name, perturbed, taken in plans:
            block = values[offset : offset + len(perturbed)].reshape(
                -1, 2, values.shape[1]
            )
            differences[name] = (block[:, 0] - block[:, 1], taken)
            offset += len(perturbed)
        eps = np.finfo(engine.dtype).eps
        if mostly_zero.size:
            self._warn_zero(mostly_zero, n_probe, probe_steps, differences, eps * scale)
        if suspects:
            self._warn_jump(np.asarray(suspects), differences, 1e3 * eps * scale)

    def _warn_zero(self, features, rows, probe_steps, differences, rounding):
        small, small_taken = differences[("zero", self.engine.step)]
        seen_small = (small != 0).any(axis=1).reshape(rows, features.size).mean(axis=0)
        flagged = np.zeros(features.size, dtype=bool)
        for step in probe_steps:
            large, taken = differences[("zero", step)]
            # a slope the small step could have seen: above one rounding of f there
            visible = np.abs(large) * (small_taken / taken)[:, None] > 100 * rounding
            seen = visible.any(axis=1).reshape(rows, features.size).mean(axis=0)
            flagged |= seen > seen_small
        flagged = features[flagged]
        if flagged.size:
            share = self.zeros[flagged].sum() / (self.count * flagged.size)
            _warn(
                f"{share:.0%} of the finite-difference gradients of features "
                f"{_named(flagged, self.feature_names)} are exactly zero, yet larger "
                "steps change the output: the model is piecewise constant in them "
                "(trees, boosting, kNN, coded categories), so its derivative is zero "
                "almost everywhere. A larger step (FiniteDifference(step=0.1)) "
                "measures its sensitivity; SmoothGrad averages over a neighbourhood; "
                "integer-coded categories belong in categorical_features=.",
                ZeroGradientWarning,
            )

    def _warn_jump(self, features, differences, noise):
        coarse, _ = differences[("jump", self.engine.step)]
        fine, _ = differences[("jump", self.engine.step / 2)]
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = fine / coarse
        jump = (np.abs(coarse) > noise) & (ratio > 0.75) & (ratio < 1.5)
        flagged = np.sort(features[jump.any(axis=1)])
        if flagged.size:
            _warn(
                "Finite differences across a jump: for features "
                f"{_named(flagged, self.feature_names)} the change of the output stays "
                "the same when the step is halved, so the quotient grows like 1/step "
                "and is not a derivative (tree splits, naive-Bayes tables, quantile "
                "edges, integer-coded categories). A larger step "
                "(FiniteDifference(step=0.1)) or SmoothGrad measures the model's "
                "sensitivity; integer-coded categories belong in "
                "categorical_features=.",
                DiscontinuityWarning,
            )
