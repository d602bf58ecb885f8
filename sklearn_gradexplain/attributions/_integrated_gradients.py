"""Integrated (and interior) gradients, Sundararajan, Taly & Yan (2016, 2017).

IG_i(x) = (x_i − x′_i) ∫₀¹ ∂_i f(x′ + α(x − x′)) dα, by a quadrature rule over
``n_steps`` path points; the path points of all rows of a chunk are differentiated
together. Completeness: Σ_i IG_i(x) = f(x) − f(x′), up to the quadrature error, which
a :class:`~sklearn_gradexplain.exceptions.CompletenessWarning` reports when it exceeds
5% of |f(x) − f(x′)|.
"""

from numbers import Integral

import numpy as np
from sklearn.utils import check_array

from .._compat import Interval, StrOptions
from .._inputs import concat_points
from .._statistics import ColumnSummary, weighted_median
from ..exceptions import CompletenessWarning, _warn
from ._base import BaseAttribution, register

INTEGRATIONS = (
    "gausslegendre",
    "riemann_left",
    "riemann_right",
    "riemann_middle",
    "riemann_trapezoid",
)


def integration_rule(name, n_steps):
    """Nodes ``alphas`` in [0, 1] and weights summing to 1.

    Gauss-Legendre nodes are mapped from [-1, 1] to [0, 1] as in Captum; the Riemann and
    trapezoid rules use Captum's node placement. The trapezoid weights are
    ``1/(n_steps - 1)``, halved at both ends (Captum uses ``1/n_steps`` halved at the
    ends, which sum to ``(n_steps - 1)/n_steps`` instead of 1).

    Examples
    --------
    >>> alphas, weights = integration_rule("riemann_trapezoid", 3)
    >>> alphas, weights
    (array([0. , 0.5, 1. ]), array([0.25, 0.5 , 0.25]))
    """
    if name == "gausslegendre":
        nodes, weights = np.polynomial.legendre.leggauss(n_steps)
        return 0.5 * (nodes + 1), 0.5 * weights
    if name == "riemann_trapezoid":
        if n_steps < 2:
            raise ValueError("integration='riemann_trapezoid' needs n_steps >= 2.")
        weights = np.full(n_steps, 1.0 / (n_steps - 1))
        weights[[0, -1]] /= 2
        return np.linspace(0, 1, n_steps), weights
    offsets = {"riemann_right": 1.0, "riemann_left": 0.0, "riemann_middle": 0.5}
    alphas = (np.arange(n_steps) + offsets[name]) / n_steps
    return alphas, np.full(n_steps, 1.0 / n_steps)


def resolve_baseline(baseline, X, sample_weight, name="baseline"):
    """The reference point that ``baseline`` stands for, float64 of shape (n_features,).

    ``"zeros"``, ``"mean"`` or ``"median"`` of the (weighted) data, NaN cells left
    out, or an explicit array checked for its length and finiteness.
    """
    n_features = X.shape[1]
    if isinstance(baseline, str):
        if baseline == "zeros":
            return np.zeros(n_features)
        if baseline == "mean":
            value = ColumnSummary(X, sample_weight).mean
        else:
            value = weighted_median(X, sample_weight)
        if not np.all(np.isfinite(value)):
            empty = np.flatnonzero(~np.isfinite(value)).tolist()
            raise ValueError(
                f"{name}={baseline!r} is undefined for the columns at positions "
                f"{empty}, which have no values; pass an array."
            )
        return np.asarray(value, dtype=np.float64)
    return check_baseline_array(baseline, n_features, name)


def check_baseline_array(baseline, n_features=None, name="baseline"):
    """An explicit baseline as a finite float64 vector of ``n_features`` values."""
    value = check_array(
        np.asarray(baseline, dtype=np.float64).reshape(1, -1), input_name=name
    ).ravel()
    if n_features is not None and value.shape[0] != n_features:
        raise ValueError(
            f"{name} has {value.shape[0]} values; expected one per explained feature "
            f"({n_features})."
        )
    return value


def path_points(Z, baseline, alphas):
    """Points ``x′ + α (x − x′)``, row-major: all alphas of row 0, then row 1, ..."""
    delta = Z - baseline
    points = baseline + alphas[None, :, None] * delta[:, None, :]
    return points.reshape(-1, Z.shape[1]).astype(Z.dtype, copy=False)


def incomplete_fraction(change, delta, dtype=np.float64, tolerance=0.05):
    """Fraction of entries where ``|delta| > tolerance * |change|``.

    ``change`` is f(x) − f(x′), ``delta`` the completeness gap. Gaps below the
    rounding level of ``dtype`` (relative to the largest ``|change|``) never count.

    Examples
    --------
    >>> incomplete_fraction(np.array([1.0, 2.0]), np.array([0.01, 0.5]))
    0.5
    """
    change, delta = np.abs(np.asarray(change)), np.abs(np.asarray(delta))
    if change.size == 0:
        return 0.0
    rounding = np.sqrt(np.finfo(dtype).eps) * change.max()
    return float(np.mean(delta > np.maximum(tolerance * change, rounding)))


class ReferenceAttribution(BaseAttribution):
    """An additive attribution with a reference: completeness is defined.

    Subclasses give ``_reference_points(points)``: the reference point(s) of each
    row, ``repeats`` consecutive ones per row, whose mean output is f(x′).
    """

    _additive = True

    def completeness_delta(self, engine, points, attributions):
        """Σ attributions − (f(x) − mean f(x′)) per row and output, (n, n_outputs)."""
        reference, repeats = self._reference_points(points)
        at_x = engine.value(points)
        at_reference = engine.value(reference)
        at_reference = at_reference.reshape(len(points), repeats, -1).mean(axis=1)
        return attributions.sum(axis=-1) - (at_x - at_reference)


class _CompletenessCheck:
    """Counts the rows and outputs where completeness misses by more than 5%.

    Chunks are buffered until ``engine.max_rows`` rows have come, so that the model
    is evaluated at x and x′ in passes as large as the gradients' (small chunks of
    many-step attributions would otherwise pay a call per chunk).
    """

    def __init__(self, attribution, engine):
        self.attribution = attribution
        self.engine = engine
        self.incomplete = 0.0
        self.total = 0
        self.buffer = []
        self.buffered = 0
        self.dtype = None

    def update(self, points, attributions):
        self.dtype = attributions.dtype
        self.buffer.append((points.compact(), attributions.sum(axis=-1, keepdims=True)))
        self.buffered += len(points)
        if self.buffered >= self.engine.max_rows:
            self._flush()

    def _flush(self):
        if not self.buffer:
            return
        points = concat_points([p for p, _ in self.buffer])
        sums = np.concatenate([s for _, s in self.buffer])
        self.buffer, self.buffered = [], 0
        delta = self.attribution.completeness_delta(self.engine, points, sums)
        change = sums[..., 0] - delta
        fraction = incomplete_fraction(change, delta, self.dtype)
        self.incomplete += fraction * delta.size
        self.total += delta.size

    def finish(self):
        self._flush()
        if self.total and self.incomplete > 0:
            remedy = f"raise n_steps (now {self.attribution.n_steps})"
            if self.attribution.integration != "gausslegendre":
                remedy += " or use integration='gausslegendre'"
            if self.engine.name == "finite_difference":
                # a path across jumps: no quadrature makes it exact
                remedy += (
                    "; a model with jumps (trees, boosting, coded categories) is "
                    "complete only roughly, whatever n_steps"
                )
            _warn(
                "Integrated gradients miss completeness by more than 5% of "
                "|f(x) - f(baseline)| on "
                f"{self.incomplete / self.total:.1%} of the samples and outputs; "
                f"{remedy}.",
                CompletenessWarning,
            )


@register("integrated_gradients")
class IntegratedGradients(ReferenceAttribution):
    """Integrated gradients: the gradient integrated along a path from a baseline.

    IG_i(x) = (x_i − x′_i) ∫₀¹ ∂_i f(x′ + α(x − x′)) dα, computed by a quadrature rule
    with ``n_steps`` points. The attributions of a sample sum to f(x) − f(x′) up to
    the quadrature error (completeness); a linear model's are exact for any rule.

    Parameters
    ----------
    baseline : {"zeros", "mean", "median"} or array-like of shape (n_features,), \
default="zeros"
        The reference point x′: zeros, the (weighted) mean or median of the fit data,
        or given values (in the space of the explained columns).
    n_steps : int, default=50
        Points of the quadrature rule.
    integration : {"gausslegendre", "riemann_left", "riemann_right", \
"riemann_middle", "riemann_trapezoid"}, default="gausslegendre"
        The quadrature rule; its weights sum to 1 (for the trapezoid rule too, unlike
        Captum's).

    Attributes
    ----------
    baseline_ : ndarray of shape (n_features,)
        The reference point, float64.
    n_features_in_ : int
        Number of explained features seen during fit.

    See Also
    --------
    ExpectedGradients : Integrated gradients averaged over baselines drawn from data.

    References
    ----------
    M. Sundararajan, A. Taly, Q. Yan, "Axiomatic Attribution for Deep Networks",
    ICML 2017, arXiv:1703.01365.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LinearRegression
    >>> from sklearn_gradexplain import GradientExplainer
    >>> from sklearn_gradexplain.attributions import IntegratedGradients
    >>> X = np.array([[1.0, 2.0], [3.0, 1.0], [0.0, 4.0]])
    >>> ig = IntegratedGradients(baseline="mean", n_steps=8)
    >>> explainer = GradientExplainer(LinearRegression(), attribution=ig)
    >>> explainer = explainer.fit(X, X @ [2.0, -1.0] + 1)
    >>> explainer.attribution_.baseline_
    array([1.33333333, 2.33333333])
    >>> explainer.explain(X[:1]).round(6)  # (x - mean) * coef
    array([[-0.666667,  0.333333]])
    """

    _parameter_constraints = {
        "baseline": [StrOptions({"zeros", "mean", "median"}), "array-like"],
        "n_steps": [Interval(Integral, 1, None, closed="left")],
        "integration": [StrOptions(set(INTEGRATIONS))],
    }

    def __init__(self, baseline="zeros", n_steps=50, integration="gausslegendre"):
        self.baseline = baseline
        self.n_steps = n_steps
        self.integration = integration

    def _check_settings(self, n_features=None):
        """Checks that need no data, run before any model is fitted or called."""
        integration_rule(self.integration, self.n_steps)
        if not isinstance(self.baseline, str):
            check_baseline_array(self.baseline, n_features)

    def _fit(self, X, sample_weight):
        self._check_settings(X.shape[1])
        self.baseline_ = resolve_baseline(self.baseline, X, sample_weight)

    def n_points(self):
        return self.n_steps

    def _attribute(self, engine, points):
        Z = points.Z
        alphas, weights = integration_rule(self.integration, self.n_steps)
        baseline = self.baseline_.astype(Z.dtype, copy=False)
        path = points.derive(path_points(Z, baseline, alphas), len(alphas))
        grads = engine.gradient(path).reshape(
            len(Z), len(alphas), engine.n_outputs, Z.shape[1]
        )
        mean_gradient = np.einsum("s,nskf->nkf", weights, grads)
        delta = np.nan_to_num(Z - baseline, nan=0.0)  # missing cells have no path
        return mean_gradient * delta[:, None, :]

    def _reference_points(self, points):
        baseline = np.broadcast_to(
            self.baseline_.astype(points.Z.dtype), points.Z.shape
        ).copy()
        baseline[np.isnan(points.Z)] = np.nan  # missing cells stay missing
        return points.derive(baseline, 1), 1

    def diagnostics(self, engine):
        return [_CompletenessCheck(self, engine)]
