"""Explained inputs, and how points of the explained columns become model inputs again.

The engines work on ``Z``, the float matrix of the explained columns. A point of ``Z``
belongs to a row of the original data (its *context*): with every column explained the
point is the model input itself; otherwise :class:`InputComposer` puts it into a copy
of its row, so that the columns held fixed may be non-numeric.
"""

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp


def as_pandas(X):
    """A polars DataFrame as a pandas one (other inputs unchanged).

    The rows held fixed around the explained columns are handled as pandas frames;
    polars input is converted once, its column names and dtypes kept.
    """
    if type(X).__module__.split(".")[0] == "polars" and hasattr(X, "to_pandas"):
        return X.to_pandas()
    return X


def column_positions(spec, n_columns, feature_names, parameter):
    """Positions of the columns that ``spec`` names, in its order.

    ``spec`` holds column names (looked up in ``feature_names``) or integer positions
    (negative ones count from the end); ``parameter`` names it in the errors, which
    say what to pass instead of a boolean mask or floats.
    """
    spec = np.asarray(spec).ravel()
    if spec.size == 0:
        raise ValueError(f"{parameter} must name at least one column.")
    if spec.dtype.kind == "b":
        raise ValueError(
            f"{parameter} takes column names or integer positions, not a boolean "
            "mask; pass np.flatnonzero(mask)."
        )
    if spec.dtype.kind == "f":
        raise ValueError(
            f"{parameter} takes column names or integer positions; got floats "
            f"{spec.tolist()[:5]}."
        )
    if spec.dtype.kind in "iu":
        if spec.min() < -n_columns or spec.max() >= n_columns:
            raise ValueError(
                f"{parameter} {spec.tolist()} out of range for {n_columns} columns."
            )
        positions = spec % n_columns
    else:
        if feature_names is None:
            raise ValueError(
                f"{parameter} given by name need X with column names (a DataFrame)."
            )
        lookup = {name: j for j, name in enumerate(feature_names)}
        missing = [name for name in spec.tolist() if name not in lookup]
        if missing:
            raise ValueError(f"{parameter} {missing} are not columns of X.")
        positions = np.asarray([lookup[name] for name in spec.tolist()])
    if len(np.unique(positions)) != len(positions):
        raise ValueError(
            f"{parameter} names a column twice: {spec.tolist()}; name each once."
        )
    return positions.astype(np.intp)


@dataclass
class Points:
    """Points at which a model is differentiated or evaluated.

    Attributes
    ----------
    Z : ndarray of shape (n_points, n_explained)
        The explained columns (dense).
    context : None, ndarray or DataFrame
        The full rows the points belong to (every column), or ``None`` when every
        column is explained.
    rows : ndarray of int or None
        For each point, its row of ``context``; ``None`` means point i is row i.
    borrowed : bool
        ``Z`` is a view of the caller's data: whatever hands it to a model copies it
        first (a model may write into its input). Points made by the library
        (perturbations, paths, copies) are not borrowed.
    """

    Z: np.ndarray
    context: object = None
    rows: np.ndarray | None = None
    borrowed: bool = False

    def __len__(self):
        return self.Z.shape[0]

    def row_index(self):
        """The row of ``context`` of each point."""
        return np.arange(len(self)) if self.rows is None else self.rows

    def derive(self, Z, repeats):
        """Points ``Z`` made from these: ``repeats`` consecutive ones per point."""
        if self.context is None:
            return Points(Z)
        return Points(Z, self.context, np.repeat(self.row_index(), repeats))

    def select(self, start, stop):
        """Points ``start:stop`` (sharing the context)."""
        rows = None if self.context is None else self.row_index()[start:stop]
        return Points(self.Z[start:stop], self.context, rows, self.borrowed)

    def take(self, indices):
        """The points at ``indices`` (a copy, sharing the context)."""
        rows = None if self.context is None else self.row_index()[indices]
        return Points(self.Z[indices], self.context, rows)

    def compact(self):
        """A copy holding only its own rows of the context (to keep beyond a chunk)."""
        return Points(np.array(self.Z), _context_rows(self.context, self.row_index()))


def _context_rows(context, rows):
    if context is None:
        return None
    if hasattr(context, "iloc"):
        return context.iloc[rows].reset_index(drop=True)
    return np.asarray(context)[rows]


def concat_points(parts):
    """One :class:`Points` holding the points of ``parts`` (contexts copied)."""
    Z = np.concatenate([part.Z for part in parts])
    if parts[0].context is None:
        return Points(Z)
    contexts = [_context_rows(part.context, part.row_index()) for part in parts]
    if hasattr(contexts[0], "iloc"):
        import pandas as pd

        return Points(Z, pd.concat(contexts, ignore_index=True))
    return Points(Z, np.concatenate(contexts))


@dataclass
class InputData:
    """Validated input: explained columns ``Z`` (possibly sparse) and full rows."""

    Z: object  # ndarray or CSR matrix, shape (n_samples, n_explained)
    context: object = None  # None, ndarray or DataFrame with every column

    def __len__(self):
        return self.Z.shape[0]

    def chunk(self, start, stop):
        """Rows ``start:stop`` as :class:`Points`; sparse rows are densified here.

        Dense rows are a view of the caller's data, marked ``borrowed``: the
        composer copies them before a model sees them (perturbations are new arrays
        and tensors are copies anyway), so a model that writes into its input never
        reaches the caller's data.
        """
        Z = self.Z[start:stop]
        borrowed = not sp.issparse(Z)
        Z = Z.toarray() if sp.issparse(Z) else np.asarray(Z)
        context = self.context
        if context is not None:
            context = (
                context.iloc[start:stop]
                if hasattr(context, "iloc")
                else context[start:stop]
            )
        return Points(Z, context, borrowed=borrowed)


@dataclass(frozen=True)
class InputComposer:
    """Turns points of the explained columns into the model's input format.

    Parameters
    ----------
    feature_indices : ndarray of int
        Positions of the explained columns among all columns.
    column_names : ndarray of str or None
        When set, inputs are handed to the model as DataFrames with these columns
        (the model was fitted on a DataFrame).
    """

    feature_indices: np.ndarray
    column_names: object = None

    def __call__(self, points):
        Z, context = points.Z, points.context
        if context is None:
            X = np.array(Z) if points.borrowed else Z
        elif hasattr(context, "iloc"):
            X = context.iloc[points.row_index()].reset_index(drop=True).copy()
            for j, position in enumerate(self.feature_indices):
                # Z's own dtype: casting back to an int (or float32, when Z is
                # float64) column would round the perturbation away.
                X[X.columns[position]] = Z[:, j]
            return X
        else:
            dtype = np.result_type(context.dtype, Z.dtype)
            X = np.array(context[points.row_index()], dtype=dtype)
            X[:, self.feature_indices] = Z
        if self.column_names is not None:
            import pandas as pd

            return pd.DataFrame(X, columns=self.column_names, copy=False)
        return X
