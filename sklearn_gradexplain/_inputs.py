"""Explained inputs and how perturbed points become model inputs again.

The engines work on ``Z``, the float matrix of the explained columns. A point of ``Z``
becomes a model input through :class:`InputComposer`: either ``Z`` itself (every column
explained), or a copy of its source row of the original data (``context``) with the
explained columns replaced, so that columns held fixed may be non-numeric.
"""

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp


@dataclass
class InputData:
    """Validated input: explained columns ``Z`` and the rows they come from."""

    Z: object  # ndarray or sparse matrix, shape (n_samples, n_explained)
    context: object = None  # None, ndarray or DataFrame with every column

    def __len__(self):
        return self.Z.shape[0]

    def rows(self, start, stop):
        """Rows ``start:stop``; sparse ``Z`` is densified here, one chunk at a time."""
        Z = self.Z[start:stop]
        if sp.issparse(Z):
            Z = Z.toarray()
        context = self.context
        if context is not None:
            context = (
                context.iloc[start:stop]
                if hasattr(context, "iloc")
                else context[start:stop]
            )
        return InputData(np.asarray(Z), context)


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

    def __call__(self, Z, context=None, rows=None):
        if context is None:
            X = Z
        elif hasattr(context, "iloc"):
            X = context.iloc[rows].reset_index(drop=True).copy()
            for j, position in enumerate(self.feature_indices):
                column = X.columns[position]
                # Z's own dtype: casting back to an int (or float32, when Z is
                # float64) column would round the perturbation away.
                X[column] = Z[:, j]
            return X
        else:
            X = np.array(context[rows], dtype=np.result_type(context.dtype, Z.dtype))
            X[:, self.feature_indices] = Z
        if self.column_names is not None:
            import pandas as pd

            return pd.DataFrame(X, columns=self.column_names, copy=False)
        return X
