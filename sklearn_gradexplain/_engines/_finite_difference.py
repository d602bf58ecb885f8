"""Vectorized finite differences for any black-box model.

The perturbed copies of many points are stacked into one array and sent to the model
in a single call (``max_rows`` rows at most), which costs about one model call on all
perturbed rows: the floor for any black-box method.
"""

import numpy as np

AUTO_STEPS = {
    # (scheme, dtype) -> relative step near the optimum: eps**(1/3) central, eps**(1/2)
    # forward.
    ("central", np.float64): 6e-6,
    ("forward", np.float64): 1.5e-8,
    ("central", np.float32): 5e-3,
    ("forward", np.float32): 3.5e-4,
}


def resolve_step(step, scheme, dtype):
    """The relative step for ``step="auto"`` or a given float."""
    if step != "auto":
        return float(step)
    key = np.float32 if np.dtype(dtype) == np.float32 else np.float64
    return AUTO_STEPS[(scheme, key)]


class NumpyResponse:
    """A model's raw response on composed inputs, reduced to the selected outputs.

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

    def __call__(self, Z, context=None, rows=None):
        raw = self.raw(self.composer(Z, context, rows))
        return np.asarray(self.outputs(np.asarray(raw)), dtype=np.float64)


class FiniteDifferenceEngine:
    """Central or forward differences of a numpy response.

    Parameters
    ----------
    response : callable
        ``response(Z, context, rows) -> (n_points, n_outputs)``.
    n_outputs : int
        Number of selected outputs.
    scale : ndarray of shape (n_explained,)
        Per-feature scale (standard deviation of the fit data); the step of feature k
        at x is ``step * max(scale_k, |x_k|)``, and 1 where both are zero.
    step : float
        Relative step.
    scheme : {"central", "forward"}
    max_rows : int
        Rows per model call.
    """

    name = "finite_difference"

    def __init__(self, response, n_outputs, scale, step, scheme, max_rows):
        self.response = response
        self.n_outputs = n_outputs
        self.scale = np.asarray(scale, dtype=np.float64)
        self.step = step
        self.scheme = scheme
        self.max_rows = max_rows

    @property
    def evaluations_per_point(self):
        n_features = len(self.scale)
        return 2 * n_features if self.scheme == "central" else n_features + 1

    def with_step(self, step):
        """A copy of this engine with another relative step."""
        return FiniteDifferenceEngine(
            self.response, self.n_outputs, self.scale, step, self.scheme, self.max_rows
        )

    def value(self, Z, context=None, rows=None):
        """Model response at the points ``Z``, shape (n_points, n_outputs)."""
        return self.response(Z, context, rows)

    def gradient(self, Z, context=None, rows=None):
        """Gradients at the points ``Z``, shape (n_points, n_outputs, n_explained)."""
        n_points, n_features = Z.shape
        if rows is None and context is not None:
            rows = np.arange(n_points)
        per_call = max(1, self.max_rows // self.evaluations_per_point)
        grads = np.empty((n_points, self.n_outputs, n_features), dtype=np.float64)
        for start in range(0, n_points, per_call):
            stop = min(start + per_call, n_points)
            grads[start:stop] = self._gradient_block(
                Z[start:stop], context, None if rows is None else rows[start:stop]
            )
        return grads

    def _gradient_block(self, Z, context, rows):
        n_points, n_features = Z.shape
        dtype = Z.dtype if Z.dtype in (np.float32, np.float64) else np.float64
        magnitude = np.maximum(self.scale.astype(dtype), np.abs(Z))
        magnitude[magnitude == 0] = 1
        h = (self.step * magnitude).astype(dtype)
        # (n_points, n_eval, n_features): copies of each point written once, then the
        # perturbed coordinates written through a strided view of the diagonals (a
        # dense h * eye wrote every row 3 more times: ~40% over the model call on
        # cheap models, see benchmarks/).
        d = n_features
        central = self.scheme == "central"
        n_eval = 2 * d if central else d + 1
        first = 0 if central else 1  # rows first..first+d-1 hold x + h_k e_k
        stacked = np.empty((n_points, n_eval, d), dtype=dtype)
        stacked[...] = Z[:, None, :]
        flat = stacked.reshape(n_points, n_eval * d)  # a view: stacked is contiguous
        up = Z + h
        flat[:, first * d : (first + d) * d : d + 1] = up
        # divide by the step actually taken, which rounding may have changed
        taken = up - Z
        if central:
            down = Z - h
            flat[:, d * d : 2 * d * d : d + 1] = down
            taken -= down - Z
        point_rows = None if rows is None else np.repeat(rows, n_eval)
        values = self.response(stacked.reshape(-1, n_features), context, point_rows)
        if not np.isfinite(values).all():  # never return NaN/inf attributions
            raise ValueError(
                "The model returned NaN or infinite values near the explained points; "
                "finite differences need a finite response around every point."
            )
        values = values.reshape(n_points, n_eval, self.n_outputs)
        if self.scheme == "central":
            diff = values[:, :n_features] - values[:, n_features:]
        else:
            diff = values[:, 1:] - values[:, :1]
        # diff: (n_points, n_features, n_outputs) -> (n_points, n_outputs, n_features)
        return np.transpose(diff, (0, 2, 1)) / taken.astype(np.float64)[:, None, :]
