"""Categorical inputs: switch effects of raw categories, and explanations at a step.

Two rules give categorical columns an attribution (DESIGN.md, "Categorical inputs"):

* **Switch effects** (``categorical_features=``): for a model that consumes raw
  categories, column c of x gets φ_c(x) = f(x) − Σ_{c′} p(c′) f(x with c set to c′),
  the expectation over the categories' frequencies in the fit data. It is 0 for a
  column the model ignores, and for an additive term g(c) it is g(x_c) − E[g].
* **Indicator gradients** (``explain_at="<step>"``): the attribution is taken with
  respect to the output of a step of a ``Pipeline`` (e.g. the one-hot indicators of a
  ``ColumnTransformer``), differentiated as if continuous, as the paper does for
  bag-of-words. Additive attributions are then summed back onto the raw columns when
  the step's column mapping is known, so completeness holds over raw columns.
"""

import numpy as np
import scipy.sparse as sp
from sklearn.compose import ColumnTransformer
from sklearn.frozen import FrozenEstimator
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder

from ._compat import column_transformer_input_indices, onehot_output_sizes
from ._inputs import Points, column_positions


# ---------------------------------------------------------------------- switch effects
def categorical_columns(X, spec, feature_names):
    """Positions of the columns ``spec`` names (``"from_dtype"``, names, positions)."""
    n_columns = X.shape[1]
    if isinstance(spec, str):  # "from_dtype": pandas categorical/object/string
        if not hasattr(X, "dtypes"):
            raise ValueError(
                "categorical_features='from_dtype' needs a DataFrame (its column "
                "dtypes say which columns are categories); name the columns instead."
            )
        kinds = [getattr(dtype, "kind", "O") for dtype in X.dtypes]
        positions = [j for j, kind in enumerate(kinds) if kind not in "biufcmM"]
        if not positions:
            raise ValueError(
                "categorical_features='from_dtype' found no categorical, object or "
                "string column in X."
            )
        return np.asarray(positions, dtype=np.intp)
    positions = column_positions(spec, n_columns, feature_names, "categorical_features")
    return np.sort(positions)


def _column(X, position):
    return X.iloc[:, position] if hasattr(X, "iloc") else np.asarray(X)[:, position]


class CategoryTable:
    """The categories of each categorical column and their (weighted) frequencies.

    Parameters
    ----------
    X : DataFrame or ndarray
        The fit data, every column.
    positions : ndarray of int
        The categorical columns.
    sample_weight : ndarray or None
        Frequency weights of the rows.
    """

    def __init__(self, X, positions, sample_weight=None):
        self.positions = np.asarray(positions)
        self.categories = []
        self.weights = []
        for position in self.positions:
            values = _column(X, position)
            missing = _is_missing(values)
            present = np.asarray(values, dtype=object)[~missing]
            categories, inverse = np.unique(present.astype(str), return_inverse=True)
            # keep the original values (not their strings), one per category
            first = np.zeros(len(categories), dtype=int)
            first[inverse[::-1]] = np.arange(len(inverse))[::-1]
            w = None if sample_weight is None else np.asarray(sample_weight)[~missing]
            counts = np.bincount(inverse, weights=w, minlength=len(categories))
            if counts.sum() <= 0:
                raise ValueError(
                    f"The categorical column at position {position} has no values."
                )
            self.categories.append(present[first])
            self.weights.append(counts / counts.sum())


def _is_missing(values):
    values = np.asarray(values, dtype=object)
    return np.array(
        [v is None or (isinstance(v, float) and np.isnan(v)) for v in values]
    )


def _rows_of(context, rows):
    if hasattr(context, "iloc"):
        return context.iloc[rows].reset_index(drop=True)
    return np.array(np.asarray(context)[rows])


def switch_effects(points, table, response, max_rows):
    """φ_c(x) = f(x) − Σ p(c′) f(x, c := c′) for each categorical column, per row.

    Parameters
    ----------
    points : Points
        The rows (numeric explained columns and their full context rows).
    table : CategoryTable
        The categories and their frequencies in the fit data.
    response : callable
        ``response(points) -> (n, n_outputs)`` (the model's selected outputs).
    max_rows : int
        Rows per model call.

    Returns
    -------
    effects : ndarray of shape (n_rows, n_outputs, n_categorical)
    """
    context = _rows_of(points.context, points.row_index())
    n = len(points)
    f_x = response(Points(np.asarray(points.Z), context))
    effects = np.empty((n, f_x.shape[1], len(table.positions)))
    for j, (position, categories, weights) in enumerate(
        zip(table.positions, table.categories, table.weights, strict=True)
    ):
        m = len(categories)
        rows_per_call = max(1, max_rows // m)
        # φ = -Σ p(c′) (f(x, c′) - f(x)): exactly 0 where the column is ignored
        effect = np.empty_like(f_x)
        for start in range(0, n, rows_per_call):
            stop = min(start + rows_per_call, n)
            block = np.repeat(np.arange(start, stop), m)
            switched = _rows_of(context, block)
            values = np.tile(categories, stop - start)
            if hasattr(switched, "iloc"):
                import pandas as pd

                dtype = switched.dtypes.iloc[position]
                column = pd.Series(values, index=switched.index).astype(dtype)
                switched.isetitem(position, column)
            else:
                switched[:, position] = values
            Z = np.asarray(points.Z)[block]
            out = response(Points(Z, switched)).reshape(stop - start, m, -1)
            change = out - f_x[start:stop, None, :]
            effect[start:stop] = -np.einsum("c,nck->nk", weights, change)
        effects[:, :, j] = effect
    return effects


# ---------------------------------------------------------------------- explain_at
def split_pipeline(estimator, step):
    """``(head, tail)`` of a fitted Pipeline around the step named ``step``.

    ``head`` runs the steps up to and including ``step``; ``tail`` the rest (the
    final estimator itself when only it remains).
    """
    pipeline = estimator
    while isinstance(pipeline, FrozenEstimator):
        pipeline = pipeline.estimator
    position = step_position(pipeline, step)
    head = pipeline[: position + 1]
    tail = pipeline[position + 1 :]
    if len(tail.steps) == 1:
        tail = tail.steps[0][1]
    return head, tail


def step_position(pipeline, step):
    """The position of step ``step`` of a Pipeline, or a clear error."""
    while isinstance(pipeline, FrozenEstimator):
        pipeline = pipeline.estimator
    if not isinstance(pipeline, Pipeline):
        raise ValueError(
            f"explain_at names a step of a Pipeline; the estimator is a "
            f"{type(pipeline).__name__}."
        )
    names = [name for name, _ in pipeline.steps]
    if step not in names:
        raise ValueError(f"explain_at={step!r} is not a step of the Pipeline {names}.")
    position = names.index(step)
    if position == len(names) - 1:
        raise ValueError(
            f"explain_at={step!r} is the Pipeline's final estimator: name a step "
            "before it (its output is what gets explained)."
        )
    return position


def column_mapping(head, n_columns):
    """For each output column of ``head``, the raw input column it comes from.

    Known for column-wise steps (scalers, imputers without indicators, function
    transformers, ordinal encoders), one-hot encoders (each category's indicator
    maps to its column) and column transformers of these; ``None`` for any step
    that mixes columns (PCA, polynomial features, ...), when only the indicators
    can be reported.
    """
    return _step_mapping(head, n_columns)


def _step_mapping(step, n_in):
    """Output column -> input column of one fitted transformer (None if mixed)."""
    if step is None or (isinstance(step, str) and step == "passthrough"):
        return np.arange(n_in)
    if isinstance(step, FrozenEstimator):
        return _step_mapping(step.estimator, n_in)
    if isinstance(step, Pipeline):
        mapping = np.arange(n_in)
        for _, inner in step.steps:
            local = _step_mapping(inner, len(mapping))
            if local is None:
                return None
            mapping = mapping[local]
        return mapping
    if isinstance(step, ColumnTransformer):
        parts = []
        for name, transformer, _ in step.transformers_:
            indices = np.asarray(column_transformer_input_indices(step, name), int)
            if isinstance(transformer, str) and transformer == "drop":
                continue
            if len(indices) == 0:
                continue
            local = _step_mapping(transformer, len(indices))
            if local is None:
                return None
            parts.append(indices[local])
        return np.concatenate(parts) if parts else np.zeros(0, dtype=int)
    if isinstance(step, OneHotEncoder):
        sizes = onehot_output_sizes(step)
        return np.repeat(np.arange(n_in), sizes)
    n_out = _n_out(step, n_in)
    if n_out == n_in and type(step).__name__ in _COLUMNWISE:
        return np.arange(n_in)
    return None


_COLUMNWISE = {
    "StandardScaler",
    "MinMaxScaler",
    "MaxAbsScaler",
    "RobustScaler",
    "QuantileTransformer",
    "PowerTransformer",
    "SimpleImputer",
    "FunctionTransformer",
    "OrdinalEncoder",
    "TargetEncoder",
    "KBinsDiscretizer",
}


def _n_out(step, n_in):
    try:
        return len(step.get_feature_names_out())
    except Exception:  # a transformer without names: unknown width
        return None


def group_columns(attributions, mapping, n_columns):
    """Sum attributions (…, n_encoded) over encoded columns onto raw columns."""
    shape = attributions.shape[:-1]
    flat = attributions.reshape(-1, attributions.shape[-1])
    grouped = np.zeros((flat.shape[0], n_columns), dtype=attributions.dtype)
    np.add.at(grouped.T, mapping, flat.T)
    return grouped.reshape(*shape, n_columns)


def as_dense_float(Z):
    """A head's output as a float matrix (sparse kept sparse)."""
    if sp.issparse(Z):
        return Z.tocsr().astype(np.float64)
    return np.asarray(Z, dtype=np.float64)
