"""Translation of IsotonicRegression: linear interpolation between its thresholds.

``IsotonicRegression.predict`` is ``interp1d(X_thresholds_, y_thresholds_)`` of the
single input column (``out_of_bounds="clip"`` clips it to the fitted range first;
``"nan"`` gives NaN outside, with a NaN gradient so that the explainer reports those
rows, and ``"raise"`` raises there, as the model does). The function is piecewise
linear: the gradient is the slope of the segment a point is in (the right-hand one
at a threshold, as ``interp1d`` picks it), and 0 where the input is clipped.
"""

import numpy as np
from sklearn.isotonic import IsotonicRegression

from ._registry import Blocked, constant, register, unsupported


@register(IsotonicRegression)
def _isotonic(model, method, ctx):
    import torch

    if method != "predict":
        raise unsupported(model, method)
    x = np.asarray(model.X_thresholds_, dtype=np.float64)
    y = np.asarray(model.y_thresholds_, dtype=np.float64)
    if len(y) == 1:  # IsotonicRegression._build_f: a constant prediction
        return constant(y[0], ctx)
    if not np.all(np.diff(x) > 0):
        raise Blocked(model, "thresholds that are not strictly increasing")
    xt, yt = ctx.tensor(x), ctx.tensor(y)
    clip = model.out_of_bounds == "clip"
    low, high = float(model.X_min_), float(model.X_max_)

    def predict(X):
        T = X.reshape(-1)
        if clip:
            T = T.clamp(low, high)
        # scipy's interp1d._call_linear
        index = torch.searchsorted(xt, T.detach().contiguous()).clamp(1, len(x) - 1)
        x_lo, x_hi, y_lo, y_hi = xt[index - 1], xt[index], yt[index - 1], yt[index]
        out = (y_hi - y_lo) / (x_hi - x_lo) * (T - x_lo) + y_lo
        if clip:
            return out
        outside = (T < xt[0]) | (T > xt[-1])
        if model.out_of_bounds == "raise" and outside.any():
            raise ValueError("A value in x_new is outside the interpolation range.")
        # NaN like the model, and a NaN gradient there (only): the explainer names
        # those rows
        return out + T * torch.where(outside, torch.nan, 0.0)

    return predict
