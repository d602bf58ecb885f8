"""Translations of imputers: SimpleImputer and MissingIndicator.

An imputed cell is a constant (the fitted statistic), so its gradient is exactly zero;
``torch.where`` passes no gradient, and no NaN, to the missing input. Indicator
columns are piecewise constant (0 or 1): their gradient is zero too.
"""

import numbers

import numpy as np
from sklearn.impute import MissingIndicator, SimpleImputer

from ._registry import Blocked, register, unsupported


def _missing_mask(model, X):
    """``sklearn.utils._mask._get_mask`` for numeric data (NaN or a number)."""
    import torch

    value = model.missing_values
    if isinstance(value, float) and np.isnan(value):
        return torch.isnan(X)
    return X == value


def _check_missing_values(model):
    value = model.missing_values
    if value is None or isinstance(value, str) or not isinstance(value, numbers.Real):
        raise Blocked(model, f"missing_values={value!r} is not a number")


def _indicator_columns(indicator):
    """The mask columns a fitted MissingIndicator outputs (``features_``)."""
    if indicator.features == "missing-only" and indicator.features_.size < (
        indicator.n_features_in_
    ):
        return np.asarray(indicator.features_)
    return None


@register(SimpleImputer)
def _simple_imputer(model, method, ctx):
    import torch

    if method != "transform":
        raise unsupported(model, method)
    _check_missing_values(model)
    # strategy="constant" keeps fill_value in an object array
    try:
        statistics = np.asarray(model.statistics_, dtype=np.float64)
    except (TypeError, ValueError):
        raise Blocked(model, "non-numeric statistics") from None
    keep = None
    if not model.keep_empty_features and np.isnan(statistics).any():
        # features without observed values are dropped (SimpleImputer.transform)
        keep = np.flatnonzero(~np.isnan(statistics))
        statistics = statistics[keep]
        keep = torch.tensor(keep, dtype=torch.long, device=ctx.device)
    fill = ctx.tensor(statistics)
    indicator = None
    if model.add_indicator:
        columns = _indicator_columns(model.indicator_)
        if columns is not None:
            columns = torch.tensor(columns, dtype=torch.long, device=ctx.device)
        indicator = columns if columns is not None else slice(None)

    def transform(X):
        mask = _missing_mask(model, X)
        Xk, maskk = (X, mask) if keep is None else (X[:, keep], mask[:, keep])
        out = torch.where(maskk, fill.to(X.dtype), Xk)
        if indicator is None:
            return out
        return torch.cat([out, mask[:, indicator].to(out.dtype)], dim=1)

    return transform


@register(MissingIndicator)
def _missing_indicator(model, method, ctx):
    import torch

    if method != "transform":
        raise unsupported(model, method)
    _check_missing_values(model)
    columns = _indicator_columns(model)
    if columns is not None:
        columns = torch.tensor(columns, dtype=torch.long, device=ctx.device)

    def transform(X):
        mask = _missing_mask(model, X)
        if columns is not None:
            mask = mask[:, columns]
        return mask.to(X.dtype)

    return transform
