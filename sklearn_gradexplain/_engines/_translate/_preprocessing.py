"""Translations of preprocessing transformers: scalers, projections, features."""

import numpy as np
import scipy.sparse as sp
from sklearn.decomposition import PCA, IncrementalPCA, TruncatedSVD
from sklearn.preprocessing import (
    FunctionTransformer,
    MaxAbsScaler,
    MinMaxScaler,
    Normalizer,
    PolynomialFeatures,
    RobustScaler,
    StandardScaler,
)

from ._registry import Blocked, register, unsupported


def _center_then_scale(center, scale):
    """``(X - center) / scale``, either step skipped when ``None``."""

    def transform(X):
        if center is not None:
            X = X - center
        if scale is not None:
            X = X / scale
        return X

    return transform


@register(StandardScaler)
def _standard_scaler(model, method, ctx):
    if method != "transform":
        raise unsupported(model, method)
    return _center_then_scale(
        ctx.tensor(model.mean_) if model.with_mean else None,
        ctx.tensor(model.scale_) if model.with_std else None,
    )


@register(RobustScaler)
def _robust_scaler(model, method, ctx):
    if method != "transform":
        raise unsupported(model, method)
    return _center_then_scale(
        ctx.tensor(model.center_) if model.with_centering else None,
        ctx.tensor(model.scale_) if model.with_scaling else None,
    )


@register(MinMaxScaler)
def _min_max_scaler(model, method, ctx):
    if method != "transform":
        raise unsupported(model, method)
    scale, offset = ctx.tensor(model.scale_), ctx.tensor(model.min_)
    low, high = model.feature_range
    clip = model.clip

    def transform(X):
        X = X * scale + offset
        return X.clamp(low, high) if clip else X

    return transform


@register(MaxAbsScaler)
def _max_abs_scaler(model, method, ctx):
    if method != "transform":
        raise unsupported(model, method)
    scale = ctx.tensor(model.scale_)
    return lambda X: X / scale


@register(Normalizer)
def _normalizer(model, method, ctx):
    import torch

    if method != "transform":
        raise unsupported(model, method)
    norm = model.norm

    def transform(X):
        if norm == "l2":
            norms = torch.linalg.vector_norm(X, dim=1, keepdim=True)
        elif norm == "l1":
            norms = X.abs().sum(dim=1, keepdim=True)
        else:
            norms = X.abs().amax(dim=1, keepdim=True)
        norms = torch.where(norms == 0, torch.ones_like(norms), norms)
        return X / norms

    return transform


@register(PCA, IncrementalPCA)
def _pca(model, method, ctx):
    if method != "transform":
        raise unsupported(model, method)
    components = ctx.tensor(model.components_).T
    offset = ctx.tensor(model.mean_.reshape(1, -1) @ model.components_.T)
    scale = None
    if model.whiten:
        scale = np.sqrt(model.explained_variance_)
        scale = np.maximum(scale, np.finfo(scale.dtype).eps)
        scale = ctx.tensor(scale)

    def transform(X):
        out = X @ components - offset
        return out if scale is None else out / scale

    return transform


@register(TruncatedSVD)
def _truncated_svd(model, method, ctx):
    if method != "transform":
        raise unsupported(model, method)
    components = ctx.tensor(model.components_).T
    return lambda X: X @ components


@register(PolynomialFeatures)
def _polynomial_features(model, method, ctx):
    import torch

    if method != "transform":
        raise unsupported(model, method)
    powers = np.asarray(model.powers_)
    if sp.issparse(powers):
        powers = powers.toarray()
    degree = int(powers.max()) if powers.size else 0
    index = torch.tensor(powers, dtype=torch.long, device=ctx.device)
    features = torch.arange(powers.shape[1], device=ctx.device)

    def transform(X):
        # X**k by repeated products (X**0 is a constant 1: no 0 * inf gradients)
        stacked = [torch.ones_like(X)]
        for _ in range(degree):
            stacked.append(stacked[-1] * X)
        stacked = torch.stack(stacked)  # (degree + 1, n, d)
        # factors[c, j, n] = X[n, j] ** powers[c, j]
        factors = stacked[index, :, features]
        return factors.prod(dim=1).T

    return transform


def _torch_ufuncs():
    import torch

    table = {
        np.log1p: torch.log1p,
        np.expm1: torch.expm1,
        np.exp: torch.exp,
        np.exp2: torch.exp2,
        np.log: torch.log,
        np.log2: torch.log2,
        np.log10: torch.log10,
        np.sqrt: torch.sqrt,
        np.cbrt: lambda x: torch.sign(x) * x.abs().pow(1.0 / 3.0),
        np.square: torch.square,
        np.abs: torch.abs,
        np.absolute: torch.abs,
        np.negative: torch.neg,
        np.reciprocal: torch.reciprocal,
        np.sin: torch.sin,
        np.cos: torch.cos,
        np.tan: torch.tan,
        np.arcsin: torch.asin,
        np.arccos: torch.acos,
        np.arctan: torch.atan,
        np.sinh: torch.sinh,
        np.cosh: torch.cosh,
        np.tanh: torch.tanh,
        np.arcsinh: torch.asinh,
        np.arccosh: torch.acosh,
        np.arctanh: torch.atanh,
    }
    try:
        from scipy import special

        table[special.expit] = torch.sigmoid
        table[special.logit] = torch.logit
    except ImportError:  # pragma: no cover
        pass
    return table


@register(FunctionTransformer)
def _function_transformer(model, method, ctx):
    if method != "transform":
        raise unsupported(model, method)
    if model.kw_args:
        raise Blocked(model, "kw_args are not supported")
    if model.func is None:
        return lambda X: X
    function = _torch_ufuncs().get(model.func)
    if function is None:
        name = getattr(model.func, "__name__", repr(model.func))
        raise Blocked(model, f"func={name} is not a numpy ufunc that torch has")
    return function
