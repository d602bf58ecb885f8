"""Expected gradients (Erion, Janizek, Sturmfels, Lundberg, Lee 2021).

EG_i(x) = E_{x′ ~ D, α ~ U(0, 1)} [(x_i − x′_i) ∂_i f(x′ + α(x − x′))]: integrated
gradients averaged over baselines drawn from a background distribution D, estimated
with ``n_samples`` pairs (x′, α). The pairs are drawn once, in ``fit``, and shared by
every row, so a row's result never depends on which rows share its chunk (invariant
to row order and subsets, reproducible with an integer ``random_state``), and both
engines differentiate the same points. Completeness holds in expectation: for each
drawn baseline, E_α[(x − x′)·∇f(x′ + α(x − x′))] = f(x) − f(x′).
"""

from numbers import Integral

import numpy as np
import scipy.sparse as sp
from sklearn.utils import check_array, check_random_state

from .._compat import Interval
from ._base import register
from ._integrated_gradients import ReferenceAttribution


def _background_rows(background, n_features):
    """An explicit background as a finite float64 matrix of ``n_features`` columns."""
    rows = check_array(
        background,
        dtype=np.float64,
        ensure_all_finite=True,
        input_name="background",
    )
    if n_features is not None and rows.shape[1] != n_features:
        raise ValueError(
            f"background has {rows.shape[1]} columns; expected one per explained "
            f"feature ({n_features}), in the explained columns' order."
        )
    return rows


def _value_order(X):
    """An order of the rows that depends on their values only (not their positions).

    Rows are sorted by two fixed random projections: equal rows end up next to each
    other, and distinct rows tie with probability zero. O(n_rows × n_features).
    """
    projection = np.random.RandomState(0).standard_normal((X.shape[1], 2))
    with np.errstate(invalid="ignore", over="ignore"):
        keys = np.nan_to_num(np.asarray(X @ projection, dtype=np.float64))
    return np.lexsort((keys[:, 1], keys[:, 0]))


@register("expected_gradients")
class ExpectedGradients(ReferenceAttribution):
    """Expected gradients: integrated gradients averaged over drawn baselines.

    EG_i(x) = E[(x_i − x′_i) ∂_i f(x′ + α(x − x′))] over baselines x′ drawn from a
    background distribution and α ~ U(0, 1), estimated by the mean over
    ``n_samples`` pairs (x′, α) drawn once in ``fit`` and shared by every sample.
    It is the path method behind SHAP's ``GradientExplainer`` and Captum's
    ``GradientShap`` (which draw new pairs for every sample). Completeness holds in
    expectation: Σ_i EG_i(x) ≈ f(x) − mean f(x′) over the drawn baselines, with an
    error that shrinks like 1/√n_samples. Works with both engines.

    Parameters
    ----------
    background : None or array-like of shape (n_background, n_features), \
default=None
        Reference rows the baselines are drawn from, in the explained columns'
        order (an array or DataFrame). ``None`` draws them from the fit data's
        explained columns, each row with probability proportional to its
        ``sample_weight`` (rows with missing cells are left out).
    n_samples : int, default=50
        Pairs (baseline, α) per sample.
    random_state : int, RandomState instance or None, default=None
        Seeds the draws, made once in ``fit``.

    Attributes
    ----------
    baselines_ : ndarray of shape (n_samples, n_features)
        The drawn baselines x′_s, float64.
    alphas_ : ndarray of shape (n_samples,)
        The drawn path positions α_s.
    n_features_in_ : int
        Number of explained features seen during fit.

    See Also
    --------
    IntegratedGradients : The same path integral from one fixed baseline.

    References
    ----------
    G. Erion, J. D. Janizek, P. Sturmfels, S. M. Lundberg, S.-I. Lee, "Improving
    performance of deep learning models with axiomatic attribution priors and
    expected gradients", Nature Machine Intelligence 3, 2021, arXiv:1906.10670.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LinearRegression
    >>> from sklearn_gradexplain import GradientExplainer
    >>> from sklearn_gradexplain.attributions import ExpectedGradients
    >>> X = np.random.RandomState(0).normal(size=(40, 2))
    >>> eg = ExpectedGradients(n_samples=20, random_state=0)
    >>> explainer = GradientExplainer(LinearRegression(), attribution=eg)
    >>> explainer = explainer.fit(X, X @ [2.0, -1.0])
    >>> baselines = explainer.attribution_.baselines_
    >>> expected = (X[:1] - baselines.mean(axis=0)) * [2.0, -1.0]
    >>> bool(np.allclose(explainer.explain(X[:1]), expected))
    True
    """

    _parameter_constraints = {
        "background": [None, "array-like"],
        "n_samples": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
    }
    _random = True

    def __init__(self, background=None, n_samples=50, random_state=None):
        self.background = background
        self.n_samples = n_samples
        self.random_state = random_state

    def _check_settings(self, n_features=None):
        """Checks that need no data, run before any model is fitted or called."""
        if self.background is not None:
            _background_rows(self.background, n_features)

    def _fit(self, X, sample_weight):
        rng = check_random_state(self.random_state)
        # Rows are drawn by inverting the cumulative weights, in an order fixed by
        # the rows' values, at uniform draws: a row of weight 2 is drawn exactly when
        # one of its two copies would be, whatever the order of the rows, so that
        # sample_weight acts as frequency weights here too.
        uniforms = rng.uniform(0.0, 1.0, size=self.n_samples)
        if self.background is not None:
            rows = _background_rows(self.background, X.shape[1])
            order = _value_order(rows)
            index = np.minimum((uniforms * len(rows)).astype(np.intp), len(rows) - 1)
            chosen = rows[order[index]]
        else:
            chosen = self._draw_from_data(X, sample_weight, uniforms)
        self.baselines_ = np.asarray(chosen, dtype=np.float64)
        self.alphas_ = rng.uniform(0.0, 1.0, size=self.n_samples)

    def _draw_from_data(self, X, sample_weight, uniforms):
        """Rows of the fit data, drawn with probability ∝ weight (complete rows)."""
        weights = (
            np.ones(X.shape[0]) if sample_weight is None else np.asarray(sample_weight)
        )
        weights = np.asarray(weights, dtype=np.float64)
        if sp.issparse(X):
            X = X.tocsr()
            missing = np.zeros(X.shape[0], dtype=bool)
            data_rows = np.repeat(np.arange(X.shape[0]), np.diff(X.indptr))
            missing[data_rows[np.isnan(X.data)]] = True
        else:
            missing = np.isnan(X).any(axis=1)
        weights = np.where(missing, 0.0, weights)
        total = weights.sum()
        if not total > 0:
            reason = (
                "every row has a missing value"
                if missing.all()
                else "the sample weights of the complete rows sum to zero"
            )
            raise ValueError(
                "ExpectedGradients draws its baselines from the fit data's rows "
                f"without missing values, but {reason}; pass background= with "
                "complete reference rows."
            )
        order = _value_order(X)
        weights = weights[order]
        cumulative = np.cumsum(weights)
        # row i is drawn when cumulative[i - 1] <= u * total < cumulative[i]: never
        # a row of weight 0 (the clip only catches u * total rounding up to total)
        index = np.searchsorted(cumulative, uniforms * cumulative[-1], side="right")
        chosen = X[order[np.minimum(index, np.flatnonzero(weights > 0)[-1])]]
        return chosen.toarray() if sp.issparse(chosen) else chosen

    def n_points(self):
        return self.n_samples

    def _attribute(self, engine, points):
        Z = points.Z
        baselines = self.baselines_.astype(Z.dtype, copy=False)
        alphas = self.alphas_.astype(Z.dtype, copy=False)
        delta = Z[:, None, :] - baselines[None, :, :]  # (n, S, d)
        path = baselines[None] + alphas[None, :, None] * delta
        n_draws = len(alphas)
        grads = engine.gradient(
            points.derive(path.reshape(-1, Z.shape[1]), n_draws)
        ).reshape(len(Z), n_draws, engine.n_outputs, Z.shape[1])
        delta = np.nan_to_num(delta, nan=0.0)  # missing cells have no path
        return np.einsum("nsf,nskf->nkf", delta, grads) / n_draws

    def _reference_points(self, points):
        n_draws = len(self.alphas_)
        reference = np.tile(self.baselines_.astype(points.Z.dtype), (len(points), 1))
        missing = np.repeat(np.isnan(points.Z), n_draws, axis=0)
        reference[missing] = np.nan  # missing cells stay missing
        return points.derive(reference, n_draws), n_draws
