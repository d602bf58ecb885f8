"""Weighted statistics accumulated chunk by chunk, in float64.

Everything the explainers summarise (the mean attribution, its standard error, the mean
absolute attribution, each feature's spread) is folded in one chunk of rows at a time,
so that ``fit`` holds a few chunks and never a copy of the data, and so that
``partial_fit`` over batches equals one ``fit`` on their concatenation to rounding.
``sample_weight`` acts as frequency weights: a row of weight 2 counts as two rows.
"""

import numpy as np
import scipy.sparse as sp
from sklearn.utils.validation import validate_data

from ._compat import check_sample_weight

#: Rows per chunk when a statistic is computed over a whole data set.
_SUMMARY_BYTES = 2**20  # a few such temporaries at most: fit stays flat


class RunningMoments:
    """Weighted count, mean and sum of squared deviations, merged batch by batch.

    The merge is Chan, Golub & LeVeque's pairwise update, which is exact in exact
    arithmetic and stable in floating point. ``values`` have shape (n, ...) and the
    statistics the shape of one row.

    Examples
    --------
    >>> moments = RunningMoments()
    >>> moments.update(np.array([[1.0], [2.0]]))
    >>> moments.update(np.array([[3.0], [4.0]]))
    >>> moments.mean, moments.variance(ddof=1)
    (array([2.5]), array([1.66666667]))
    """

    def __init__(self):
        self.weight = 0.0
        self.mean = None
        self.m2 = None

    def update(self, values, weights=None):
        """Fold a batch of rows (optionally weighted) into the statistics."""
        values = np.asarray(values)
        if weights is None:
            weight = float(values.shape[0])
            if weight == 0:
                return
            mean = values.mean(axis=0, dtype=np.float64)
            deviation = values - mean
            m2 = np.einsum("i...,i...->...", deviation, deviation, dtype=np.float64)
        else:
            weights = np.asarray(weights, dtype=np.float64)
            weight = float(weights.sum())
            if weight == 0:
                return
            mean = np.tensordot(weights, values, axes=1) / weight
            deviation = values - mean
            m2 = np.tensordot(weights, deviation * deviation, axes=1)
        mean = np.asarray(mean, dtype=np.float64)
        m2 = np.asarray(m2, dtype=np.float64)
        if self.mean is None:
            self.weight, self.mean, self.m2 = weight, mean, m2
            return
        total = self.weight + weight
        delta = mean - self.mean
        self.mean = self.mean + delta * (weight / total)
        self.m2 = self.m2 + m2 + delta * delta * (self.weight * weight / total)
        self.weight = total

    def variance(self, ddof=0):
        """Weighted variance; ``ddof=1`` is the unbiased sample variance."""
        denominator = self.weight - ddof
        if denominator <= 0:
            return np.zeros_like(self.mean)
        return np.maximum(self.m2, 0) / denominator

    def stderr(self):
        """Standard error of the mean: sample standard deviation (ddof=1) / √n.

        NaN while the total weight is at most 1: one row says nothing of the spread.
        """
        if self.weight <= 1:
            return np.full_like(self.mean, np.nan)
        return np.sqrt(self.variance(ddof=1) / self.weight)


def iter_row_chunks(X, rows_per_chunk=None):
    """``(start, stop, dense_rows)`` over ``X`` (sparse rows densified per chunk)."""
    n_rows, n_columns = X.shape
    if rows_per_chunk is None:
        rows_per_chunk = max(1, _SUMMARY_BYTES // (8 * max(1, n_columns)))
    for start in range(0, n_rows, rows_per_chunk):
        stop = min(start + rows_per_chunk, n_rows)
        chunk = X[start:stop]
        yield start, stop, chunk.toarray() if sp.issparse(chunk) else np.asarray(chunk)


class ColumnMoments:
    """Weighted mean, variance, minimum and maximum of each column, batch by batch.

    NaN cells (missing values a model imputes) are left out of every statistic. The
    moments are kept for ``x / c`` with ``c`` the largest ``|x|`` seen so far
    (rescaled when a larger value arrives), so that they stay finite for values up to
    the largest float.
    """

    def __init__(self):
        self.weight = None

    def update(self, rows, weights=None):
        """Fold a dense batch of rows (NaN cells skipped) into the statistics."""
        rows = np.asarray(rows, dtype=np.float64)
        n_rows, n_columns = rows.shape
        if self.weight is None:
            self.weight = np.zeros(n_columns)
            self._mean = np.zeros(n_columns)
            self._m2 = np.zeros(n_columns)
            self._scale = None
            self.min = np.full(n_columns, np.inf)
            self.max = np.full(n_columns, -np.inf)
        if n_rows == 0:
            return
        # fmin/fmax skip NaN cells without the all-NaN warnings of nanmin; rows of
        # weight 0 do not count, for the range either
        counted = rows if weights is None else rows[np.asarray(weights) > 0]
        self.min = np.fmin(self.min, np.fmin.reduce(counted, axis=0, initial=np.inf))
        self.max = np.fmax(self.max, np.fmax.reduce(counted, axis=0, initial=-np.inf))
        peak = np.maximum(np.abs(self.min), np.abs(self.max))
        usable = np.isfinite(peak) & (peak > 0)
        if self._scale is None:
            self._scale = np.where(usable, peak, 1.0)
        scale = np.where(usable & (peak > self._scale), peak, self._scale)
        if np.any(scale != self._scale):
            ratio = self._scale / scale
            self._mean, self._m2 = self._mean * ratio, self._m2 * ratio * ratio
            self._scale = scale
        scaled = rows / scale
        present = ~np.isnan(scaled)
        w = np.ones(n_rows) if weights is None else np.asarray(weights, dtype=float)
        cell_weight = present * w[:, None]
        batch_weight = cell_weight.sum(axis=0)
        values = np.where(present, scaled, 0.0)
        safe = np.where(batch_weight > 0, batch_weight, 1.0)
        batch_mean = (cell_weight * values).sum(axis=0) / safe
        deviation = np.where(present, values - batch_mean, 0.0)
        batch_m2 = (cell_weight * deviation * deviation).sum(axis=0)
        total = self.weight + batch_weight
        share = batch_weight / np.where(total > 0, total, 1.0)
        delta = batch_mean - self._mean
        self._m2 = self._m2 + batch_m2 + delta * delta * self.weight * share
        self._mean = self._mean + delta * share
        self.weight = total

    @property
    def mean(self):
        return self._mean * (1.0 if self._scale is None else self._scale)

    @property
    def std(self):
        """Weighted standard deviation (ddof=0) of each column."""
        variance = self._m2 / np.where(self.weight > 0, self.weight, 1.0)
        scale = 1.0 if self._scale is None else self._scale
        return np.sqrt(np.maximum(variance, 0)) * scale

    @property
    def range(self):
        """``max - min`` of each column (0 for a column without values)."""
        spread = self.max - self.min
        return np.where(np.isfinite(spread), spread, 0.0)


class _SparseMoments(ColumnMoments):
    """The statistics of a sparse matrix, computed without densifying it."""

    def __init__(self, X, sample_weight):
        from sklearn.utils.sparsefuncs import mean_variance_axis, min_max_axis

        X = X.tocsc()
        mean, variance = mean_variance_axis(X, axis=0, weights=sample_weight)
        counted = X if sample_weight is None else X[np.asarray(sample_weight) > 0]
        low, high = min_max_axis(counted.tocsc(), axis=0, ignore_nan=True)
        self.weight = np.full(X.shape[1], float(X.shape[0]))
        self._scale = None
        self._mean = np.asarray(mean, dtype=np.float64)
        self._m2 = np.asarray(variance, dtype=np.float64) * self.weight
        self.min = np.asarray(low, dtype=np.float64)
        self.max = np.asarray(high, dtype=np.float64)


def ColumnSummary(X, sample_weight=None):  # noqa: N802 (reads like a class)
    """:class:`ColumnMoments` of a whole data set, computed in chunks of rows.

    Sparse matrices are summarised without densifying them.

    Parameters
    ----------
    X : {ndarray, sparse matrix} of shape (n_samples, n_features)
    sample_weight : ndarray of shape (n_samples,) or None
    """
    if sp.issparse(X):
        return _SparseMoments(X, sample_weight)
    moments = ColumnMoments()
    moments.update(np.empty((0, X.shape[1])))
    for start, stop, rows in iter_row_chunks(X):
        weights = None if sample_weight is None else sample_weight[start:stop]
        moments.update(rows, weights)
    return moments


def weighted_median(X, sample_weight=None):
    """Weighted median of each column, NaN cells left out (one column at a time).

    Without weights it is ``np.nanmedian``; with integer weights it equals the median
    of the rows repeated by their weights (the lower of the two middle values when
    the total weight is even, averaged with the upper one as ``np.median`` does).
    """
    n_columns = X.shape[1]
    if sp.issparse(X):
        X = X.tocsc()
    medians = np.empty(n_columns)
    for j in range(n_columns):
        column = X[:, [j]].toarray().ravel() if sp.issparse(X) else np.asarray(X[:, j])
        present = ~np.isnan(column)
        values = column[present].astype(np.float64)
        if values.size == 0:
            medians[j] = np.nan
            continue
        if sample_weight is None:
            medians[j] = np.median(values)
            continue
        weights = np.asarray(sample_weight, dtype=np.float64)[present]
        order = np.argsort(values, kind="mergesort")
        values, weights = values[order], weights[order]
        cumulative = np.cumsum(weights)
        half = cumulative[-1] / 2
        lower = values[np.searchsorted(cumulative, half, side="left")]
        upper = values[
            min(np.searchsorted(cumulative, half, side="right"), len(values) - 1)
        ]
        medians[j] = 0.5 * (lower + upper)
    return medians


def validate_columns(estimator, X, sample_weight=None):
    """``(X, sample_weight)`` checked for an estimator of column statistics.

    The explained columns (dense or sparse, NaN marking missing cells) as float, and
    the frequency weights of the rows; records ``n_features_in_`` on ``estimator``.
    """
    X = validate_data(
        estimator,
        X,
        accept_sparse=("csr", "csc"),
        dtype=(np.float64, np.float32),
        ensure_all_finite="allow-nan",
    )
    if sample_weight is not None:
        sample_weight = check_sample_weight(sample_weight, X)
    return X, sample_weight
