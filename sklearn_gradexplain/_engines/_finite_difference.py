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
from sklearn.utils.validation import check_is_fitted

from .._compat import Interval, StrOptions, _fit_context
from .._inputs import concat_points
from .._statistics import ColumnSummary, validate_columns
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
#: The coarser step of the jump check, relative to the step: a derivative resolved
#: at the step is the same there (to O((100 h)²)), a narrow ramp is not.
_COARSE = 100
_PROBE_ROWS = 16
_MAX_SUSPECTS = 128


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
        X, sample_weight = validate_columns(self, X, sample_weight)
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
        """Model response at the points, shape (n_points, n_outputs)."""
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
        other = Z.copy()
        with np.errstate(over="ignore", invalid="ignore"):  # a probe decides nothing
            up[pairs, columns] = x + h
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
        with np.errstate(over="ignore", invalid="ignore"):  # checked below
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
        try:
            values = self.response(perturbed)
        except Exception as exc:
            hint = _perturbation_hint(exc, self.scheme)
            if hint is None:
                raise
            raise _with_hint(exc, hint) from exc
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


def _perturbation_hint(exc, scheme):
    """The route that works, when the model's error on perturbed points says why."""
    lowered = str(exc).lower()
    if "negative" in lowered and scheme == "central":
        return (
            "finite differences evaluated the model below x (x - h); for features "
            "that must stay >= 0 (NMF, AdditiveChi2Sampler, "
            "LatentDirichletAllocation, counts), use "
            "FiniteDifference(scheme='forward'), which never steps below x"
        )
    if "unknown categor" in lowered or "categories" in lowered:
        return (
            "a perturbed integer code is not a category: explain coded categories "
            "with categorical_features=[...] (switch effects), or hold them fixed "
            "with features=[...] naming the columns to explain"
        )
    return None


def _with_hint(exc, hint):
    """``exc`` with ``hint`` appended (a RuntimeError if its type cannot be rebuilt)."""
    try:
        return type(exc)(f"{exc} ({hint})")
    except Exception:
        return RuntimeError(f"{exc} ({hint})")


def _check_steps(taken, missing, points, first):
    """A step that rounding erased (or made subnormal) gives no derivative: raise."""
    tiny = np.finfo(taken.dtype).tiny
    overflow = ~missing & ~np.isfinite(taken)
    if overflow.any():
        rows, features = np.nonzero(overflow)
        raise ValueError(
            "The finite-difference points x ± h overflow to infinity at rows "
            f"{_row_list(points.row_index()[rows])} (features at positions "
            f"{sorted(set((features + first).tolist()))[:10]}): the values are too "
            "close to the largest float. Rescale the features."
        )
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

    Three failures of finite differences are looked for, on a few rows kept while
    the chunks go by:

    - **Zero gradients that are not flat.** A feature whose attribution is exactly
      zero on most rows, where larger steps (0.1 and 0.5 of the feature's scale)
      find slopes the small step could have seen, belongs to a piecewise-constant
      model (trees, boosting, kNN): zero is its derivative, not what the user asks.
      Probed on the first rows.
    - **Isolated values.** On those rows, an output at x that differs from the
      output on both sides of it, while both sides agree, is a value the model takes
      only at x: an integer-coded category (x ± h is an unknown category).
    - **Jumps.** For each feature, the row with the largest |attribution| and the
      rows of its smallest and largest value (quantile tables and clipping jump at
      the data's edges) are kept; for the most suspicious ones, the change of the
      output across the step h and across h/2 are compared: across a slope it
      halves with the step, across a jump it stays the same.

    All probe points go to the model in one call; a model that fails or is not
    finite there leaves the check undecided (it never fails the explanation).
    """

    def __init__(self, engine, feature_names):
        self.engine = engine
        self.feature_names = feature_names
        self.zeros = None  # per feature: attributions exactly zero
        self.count = 0  # rows (× outputs) seen
        self.probe = None  # the first rows
        self.magnitude_sum = None
        self.rows = 0
        # per feature and kind: the extreme value seen and the (global) row of it:
        # largest |attribution|, smallest and largest x
        self.extremes = {}
        self.pool = {}  # row -> its Points: only the rows the best suspects need

    def _keep(self, kind, values, points, offset, largest):
        rows = np.argmax(values, axis=0) if largest else np.argmin(values, axis=0)
        best = values[rows, np.arange(values.shape[1])]
        if kind not in self.extremes:
            self.extremes[kind] = (best, rows + offset)
            return np.ones(len(best), dtype=bool), rows
        old, old_rows = self.extremes[kind]
        better = best > old if largest else best < old
        self.extremes[kind] = (
            np.where(better, best, old),
            np.where(better, rows + offset, old_rows),
        )
        return better, rows

    def update(self, points, attributions):
        zero = attributions == 0
        per_feature = zero.sum(axis=tuple(range(zero.ndim - 1)))
        self.zeros = per_feature if self.zeros is None else self.zeros + per_feature
        self.count += attributions.size // attributions.shape[-1]
        magnitude = np.abs(attributions)
        if magnitude.ndim == 3:
            magnitude = magnitude.max(axis=1)
        if self.probe is None:
            self.magnitude_sum = np.zeros(magnitude.shape[1])
            self.probe = points.select(0, min(_PROBE_ROWS, len(points))).compact()
        offset = self.rows
        self.rows += len(magnitude)
        self.magnitude_sum += magnitude.sum(axis=0)
        Z = np.where(np.isnan(points.Z), np.nanmedian(points.Z), points.Z)
        changed = []
        for kind, values, largest in (
            ("attribution", magnitude, True),
            ("low", Z, False),
            ("high", Z, True),
        ):
            better, rows = self._keep(kind, values, points, offset, largest)
            changed.extend(rows[better].tolist())
        for row in set(changed):
            self.pool[row + offset] = points.select(row, row + 1).compact()
        # keep only the rows of the suspects ranked best so far: memory stays
        # bounded by the number of suspects whatever the number of features
        needed = {row for _, row in self._suspects()}
        self.pool = {row: p for row, p in self.pool.items() if row in needed}

    def _suspects(self):
        """(feature, row) pairs where a jump is likeliest, best first, at most 128."""
        top, top_rows = self.extremes["attribution"]
        mean = self.magnitude_sum / max(self.rows, 1)
        spikiness = np.where(top > 10 * mean, top / (mean + 1e-300), 0.0)
        spiky = np.flatnonzero(spikiness > 0)
        spiky = spiky[np.argsort(-spikiness[spiky], kind="stable")]
        steep = np.argsort(-top * self.engine.scale, kind="stable")
        rest = steep[(top[steep] > 0) & ~np.isin(steep, spiky)]
        # spiky attributions, then the data's edges of the steepest features, then
        # the other steep attributions
        features = np.concatenate([spiky, np.repeat(steep, 2), rest])
        rows = np.concatenate(
            [
                top_rows[spiky],
                np.column_stack(
                    [self.extremes["low"][1][steep], self.extremes["high"][1][steep]]
                ).ravel(),
                top_rows[rest],
            ]
        )
        keep = np.flatnonzero(np.isin(rows, np.fromiter(self.pool, int)))
        keep = keep[:_MAX_SUSPECTS]
        return list(zip(features[keep].tolist(), rows[keep].tolist(), strict=True))

    def finish(self):
        if self.probe is None:
            return
        engine = self.engine
        mostly_zero = np.flatnonzero(self.zeros / max(self.count, 1) > 0.5)
        probe_steps = [step for step in _PROBE_STEPS if step > 2 * engine.step]
        # a step this large is a sensitivity the user asked for, jumps included
        derivative = engine.step < _DERIVATIVE_STEP
        suspects = self._suspects() if derivative and self.pool else []
        plans = []  # (name, Points, taken)
        probe = self.probe
        n_probe = 0
        if mostly_zero.size and (probe_steps or derivative):
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
            points = concat_points([self.pool[row] for _, row in suspects])
            pairs = np.arange(len(suspects))
            columns = np.asarray([k for k, _ in suspects])
            for step in (engine.step, engine.step / 2, _COARSE * engine.step):
                plans.append(
                    (("jump", step), *engine.perturbed(points, pairs, columns, step))
                )
        if not plans:
            return
        try:
            values = engine.value(concat_points([p for _, p, _ in plans] + [probe]))
        except Exception:  # a probe outside the model's domain decides nothing
            return
        scale = np.abs(values).max() + 1e-300
        blocks, offset = {}, 0
        for name, perturbed, taken in plans:
            block = values[offset : offset + len(perturbed)]
            blocks[name] = (block.reshape(-1, 2, values.shape[1]), taken)
            offset += len(perturbed)
        centre = values[offset:]
        eps = np.finfo(engine.dtype).eps
        if n_probe:
            self._warn_zero(
                mostly_zero, n_probe, probe_steps, blocks, centre, eps * scale
            )
        if suspects:
            spread = np.ptp(centre, axis=0).max() if len(centre) > 1 else scale
            self._warn_jump(
                columns, blocks, 1e3 * eps * scale, max(spread, eps * scale)
            )

    def _warn_zero(self, features, rows, probe_steps, blocks, centre, rounding):
        engine = self.engine
        small_block, small_taken = blocks[("zero", engine.step)]
        small = small_block[:, 0] - small_block[:, 1]
        shape = (rows, features.size)
        seen_small = (small != 0).any(axis=1).reshape(shape).mean(axis=0)
        flagged = np.zeros(features.size, dtype=bool)
        for step in probe_steps:
            block, taken = blocks[("zero", step)]
            large = block[:, 0] - block[:, 1]
            # a slope the small step could have seen: above one rounding of f there
            visible = np.abs(large) * (small_taken / taken)[:, None] > 100 * rounding
            seen = visible.any(axis=1).reshape(shape).mean(axis=0)
            flagged |= seen > seen_small
        isolated = np.zeros(features.size, dtype=bool)
        if engine.scheme == "central" and engine.step < _DERIVATIVE_STEP:
            at_x = np.repeat(centre[:rows], features.size, axis=0)
            noise = 1e3 * rounding
            away = (np.abs(small_block[:, 0] - at_x) > noise) & (
                np.abs(small_block[:, 1] - at_x) > noise
            )
            isolated = (away & (np.abs(small) <= noise)).any(axis=1)
            isolated = isolated.reshape(shape).any(axis=0)
        if isolated.any():
            self._jump_warning(features[isolated], isolated_values=True)
        flagged = features[flagged & ~isolated]
        if flagged.size:
            share = self.zeros[flagged].sum() / (self.count * flagged.size)
            _warn(
                f"{share:.0%} of the finite-difference gradients of features "
                f"{_named(flagged, self.feature_names)} are exactly zero, yet larger "
                "steps change the output: the model is piecewise constant in them "
                "(trees, boosting, kNN, coded categories), so its derivative is zero "
                f"almost everywhere. A larger step (FiniteDifference(step="
                f"{min(probe_steps):g})) measures its sensitivity; SmoothGrad "
                "averages over a neighbourhood; "
                "integer-coded categories belong in categorical_features=.",
                ZeroGradientWarning,
            )

    def _warn_jump(self, columns, blocks, noise, spread):
        step = self.engine.step
        differences = {}
        for key in (step, step / 2, _COARSE * step):
            block, taken = blocks[("jump", key)]
            differences[key] = (block[:, 0] - block[:, 1], taken[:, None])
        (small, small_taken), (half, _) = differences[step], differences[step / 2]
        (large, large_taken) = differences[_COARSE * step]
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = half / small
            quotient, coarse_quotient = small / small_taken, large / large_taken
        # a jump: the change of the output stays when the step halves
        jump = (np.abs(small) > noise) & (ratio > 0.75) & (ratio < 1.5)
        # a ramp narrower than the data (a quantile table's edge): the quotient at
        # the small step is far above the one at a step 100 times larger, by more
        # than the output's spread over one standard deviation could explain
        scale = self.engine.scale[columns][:, None]
        unresolved = (
            (np.abs(small) > noise)
            & (np.abs(quotient) > 10 * np.abs(coarse_quotient))
            & (np.abs(quotient - coarse_quotient) * scale > 1e-2 * spread)
        )
        flagged = np.unique(columns[(jump | unresolved).any(axis=1)])
        if flagged.size:
            self._jump_warning(flagged)

    def _jump_warning(self, features, isolated_values=False):
        what = (
            "the output at x differs from the output on both sides of it (a value "
            "taken only at x, as by a category coded as a number), so the derivative "
            "reads 0 or, one-sided, a jump over a tiny step"
            if isolated_values
            else "the change of the output stays the same when the step is halved, or "
            "the quotient is far above its value at a 100 times larger step: it "
            "grows as the step shrinks and is not a derivative"
        )
        _warn(
            f"Finite differences across a jump: for features "
            f"{_named(np.sort(features), self.feature_names)} {what} (tree splits, "
            "naive-Bayes tables, quantile edges, integer-coded categories). A larger "
            "step (FiniteDifference(step=0.1)) or SmoothGrad measures the model's "
            "sensitivity; integer-coded categories belong in categorical_features=.",
            DiscontinuityWarning,
        )
