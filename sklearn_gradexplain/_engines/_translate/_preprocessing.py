"""Translations of preprocessing transformers: scalers, projections, features,
splines and power transforms (``inverse_transform`` too where a target transformer
needs it)."""

import numpy as np
import scipy.sparse as sp
from sklearn.decomposition import PCA, IncrementalPCA, TruncatedSVD
from sklearn.preprocessing import (
    FunctionTransformer,
    MaxAbsScaler,
    MinMaxScaler,
    Normalizer,
    PolynomialFeatures,
    PowerTransformer,
    RobustScaler,
    SplineTransformer,
    StandardScaler,
)

from ..._compat import power_transformer_scaler
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


def _scale_then_center(center, scale):
    """``X * scale + center``: the inverse of :func:`_center_then_scale`."""

    def inverse(X):
        if scale is not None:
            X = X * scale
        if center is not None:
            X = X + center
        return X

    return inverse


def _affine_scaler(model, method, center, scale):
    if method == "transform":
        return _center_then_scale(center, scale)
    if method == "inverse_transform":
        return _scale_then_center(center, scale)
    raise unsupported(model, method)


@register(StandardScaler)
def _standard_scaler(model, method, ctx):
    return _affine_scaler(
        model,
        method,
        ctx.tensor(model.mean_) if model.with_mean else None,
        ctx.tensor(model.scale_) if model.with_std else None,
    )


@register(RobustScaler)
def _robust_scaler(model, method, ctx):
    return _affine_scaler(
        model,
        method,
        ctx.tensor(model.center_) if model.with_centering else None,
        ctx.tensor(model.scale_) if model.with_scaling else None,
    )


@register(MinMaxScaler)
def _min_max_scaler(model, method, ctx):
    scale, offset = ctx.tensor(model.scale_), ctx.tensor(model.min_)
    if method == "inverse_transform":  # MinMaxScaler.inverse_transform: no clip
        return lambda X: (X - offset) / scale
    if method != "transform":
        raise unsupported(model, method)
    low, high = model.feature_range
    clip = model.clip

    def transform(X):
        X = X * scale + offset
        return X.clamp(low, high) if clip else X

    return transform


@register(MaxAbsScaler)
def _max_abs_scaler(model, method, ctx):
    scale = ctx.tensor(model.scale_)
    if method == "inverse_transform":
        return lambda X: X * scale
    if method != "transform":
        raise unsupported(model, method)
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
    if method == "transform":
        func, kw_args, names = model.func, model.kw_args, ("func", "kw_args")
    elif method == "inverse_transform":
        func, kw_args = model.inverse_func, model.inv_kw_args
        names = ("inverse_func", "inv_kw_args")
    else:
        raise unsupported(model, method)
    if kw_args:
        raise Blocked(model, f"{names[1]} are not supported")
    if func is None:
        return lambda X: X
    function = _torch_ufuncs().get(func)
    if function is None:
        name = getattr(func, "__name__", repr(func))
        raise Blocked(model, f"{names[0]}={name} is not a numpy ufunc that torch has")
    return function


def _bspline_values(x, knots, degree, coefficients):
    """``BSpline(knots, coefficients, degree)(x)`` with extrapolation, in torch.

    scipy's evaluation (``_bspl.evaluate_spline``): the interval ``l`` with
    ``t[l] <= x < t[l + 1]``, clamped to ``[k, n - 1]`` (the end polynomials extend
    beyond the base interval), then de Boor's triangle for the ``k + 1`` basis
    functions that do not vanish there, in scipy's order of operations. The interval
    is a constant; the polynomial pieces carry the gradient.
    """
    import torch

    n = len(knots) - degree - 1
    t = knots
    ell = torch.searchsorted(t, x.detach().contiguous(), right=True) - 1
    ell = ell.clamp(degree, n - 1)
    h = [torch.ones_like(x)]
    for j in range(1, degree + 1):
        previous = h
        h = [torch.zeros_like(x) for _ in range(j + 1)]
        for m in range(1, j + 1):
            xb, xa = t[ell + m], t[ell + m - j]
            width = xb - xa
            nonzero = width != 0
            safe_width = torch.where(nonzero, width, 1)
            w = torch.where(nonzero, previous[m - 1] / safe_width, 0)
            h[m - 1] = h[m - 1] + w * (xb - x)
            h[m] = w * (x - xa)
    out = 0
    for a in range(degree + 1):
        out = out + coefficients[ell - degree + a] * h[a][:, None]
    return out


@register(SplineTransformer)
def _spline_transformer(model, method, ctx):
    import torch

    if method != "transform":
        raise unsupported(model, method)
    extrapolation = model.extrapolation
    degree = model.degree
    n_splines = model.bsplines_[0].c.shape[1]
    if extrapolation == "linear" and degree <= 1 and len(model.bsplines_) > 1:
        # SplineTransformer.transform raises ``degree`` inside its loop over the
        # features, so every feature after the first is cut at the wrong knots
        # (scikit-learn 1.9.1): not a spline to reproduce
        raise Blocked(
            model,
            f"extrapolation='linear' with degree={degree} and several features",
        )
    features = []
    for spl in model.bsplines_:
        k = spl.k
        xmin, xmax = float(spl.t[k]), float(spl.t[-k - 1])
        part = {
            "knots": ctx.tensor(spl.t),
            "coefficients": ctx.tensor(spl.c),
            "xmin": xmin,
            "xmax": xmax,
            "k": k,
        }
        if extrapolation == "periodic":
            n = spl.t.size - k - 1
            part["period"] = float(spl.t[n] - spl.t[k])
        if extrapolation in ("constant", "linear"):
            f_min, f_max = spl(xmin), spl(xmax)
            below = np.zeros(n_splines)
            above = np.zeros(n_splines)
            below_slope = np.zeros(n_splines)
            above_slope = np.zeros(n_splines)
            if extrapolation == "constant":
                below[:degree] = f_min[:degree]
                if degree:
                    above[-degree:] = f_max[-degree:]
            else:
                fp_min, fp_max = spl(xmin, nu=1), spl(xmax, nu=1)
                # (degree <= 1: one more basis function has a slope at the boundary)
                for j in range(degree + 1 if degree <= 1 else degree):
                    below[j], below_slope[j] = f_min[j], fp_min[j]
                    last = n_splines - 1 - j
                    above[last], above_slope[last] = f_max[last], fp_max[last]
            part.update(
                below=ctx.tensor(below),
                above=ctx.tensor(above),
                below_slope=ctx.tensor(below_slope),
                above_slope=ctx.tensor(above_slope),
            )
        features.append(part)
    keep = None
    if not model.include_bias:
        n_out = n_splines * len(features)
        keep = [j for j in range(n_out) if (j + 1) % n_splines != 0]
        keep = torch.tensor(keep, dtype=torch.long, device=ctx.device)

    def feature_basis(x, part):
        missing = torch.isnan(x)
        if extrapolation == "periodic":
            if part["period"] > 0:
                x = part["xmin"] + torch.remainder(x - part["xmin"], part["period"])
            else:  # a single non-missing value in fit: a constant feature
                x = torch.zeros_like(x)
        safe = torch.where(missing, part["xmin"], x)
        out = _bspline_values(safe, part["knots"], part["k"], part["coefficients"])
        if extrapolation == "error" and ((x < part["xmin"]) | (x > part["xmax"])).any():
            # SplineTransformer.transform raises, and so does its translation
            raise ValueError("`X` contains values beyond the limits of the knots.")
        elif extrapolation in ("constant", "linear"):
            low = (x < part["xmin"])[:, None]
            high = (x > part["xmax"])[:, None]
            below = part["below"] + (safe - part["xmin"])[:, None] * part["below_slope"]
            above = part["above"] + (safe - part["xmax"])[:, None] * part["above_slope"]
            out = torch.where(low, below, torch.where(high, above, out))
        return torch.where(missing[:, None], 0.0, out)

    def transform(X):
        out = torch.cat(
            [feature_basis(X[:, i], part) for i, part in enumerate(features)], dim=1
        )
        return out if keep is None else out[:, keep]

    return transform


def _box_cox(x, lmbda):
    """``scipy.special.boxcox(x, lmbda)``."""
    import torch

    if abs(lmbda) < 1e-19:
        return torch.log(x)
    log_x = torch.log(x)
    small = lmbda * log_x < 709.78
    regular = torch.expm1(lmbda * torch.where(small, log_x, 0.0)) / lmbda
    large = np.copysign(1.0, lmbda) * torch.exp(
        lmbda * torch.where(small, 0.0, log_x) - np.log(abs(lmbda))
    ) - (1 / lmbda)
    return torch.where(small, regular, large)


def _inverse_box_cox(y, lmbda):
    """``scipy.special.inv_boxcox(y, lmbda)``."""
    import torch

    if lmbda == 0:
        return torch.exp(y)
    return torch.exp(torch.log1p(lmbda * y) / lmbda)


def _yeo_johnson(x, lmbda, eps):
    """``scipy.stats._morestats._yeojohnson_transform`` (both branches kept finite)."""
    import torch

    positive = x >= 0
    xp = torch.where(positive, x, 0.0)
    xn = torch.where(positive, 0.0, x)
    if abs(lmbda) < eps:
        out_positive = torch.log1p(xp)
    else:
        out_positive = torch.expm1(lmbda * torch.log1p(xp)) / lmbda
    if abs(lmbda - 2) > eps:
        out_negative = -torch.expm1((2 - lmbda) * torch.log1p(-xn)) / (2 - lmbda)
    else:
        out_negative = -torch.log1p(-xn)
    return torch.where(positive, out_positive, out_negative)


def _inverse_yeo_johnson(x, lmbda):
    """``PowerTransformer._yeo_johnson_inverse_transform``."""
    import torch

    spacing = np.spacing(1.0)
    positive = x >= 0
    xp = torch.where(positive, x, 0.0)
    xn = torch.where(positive, 0.0, x)
    if abs(lmbda) < spacing:
        out_positive = torch.exp(xp) - 1
    else:
        out_positive = torch.pow(xp * lmbda + 1, 1 / lmbda) - 1
    if abs(lmbda - 2) > spacing:
        out_negative = 1 - torch.pow(-(2 - lmbda) * xn + 1, 1 / (2 - lmbda))
    else:
        out_negative = 1 - torch.exp(-xn)
    return torch.where(positive, out_positive, out_negative)


@register(PowerTransformer)
def _power_transformer(model, method, ctx):
    import torch

    if method not in ("transform", "inverse_transform"):
        raise unsupported(model, method)
    lambdas = [float(v) for v in model.lambdas_]
    box_cox = model.method == "box-cox"
    scaler = None
    if model.standardize:
        scaler = _standard_scaler(power_transformer_scaler(model), method, ctx)
    # scipy's eps is that of the result dtype (the data's)
    eps = {torch.float32: np.finfo(np.float32).eps}.get(ctx.dtype, np.finfo(float).eps)

    def transform(X):
        if box_cox:
            columns = [_box_cox(X[:, i], v) for i, v in enumerate(lambdas)]
        else:
            columns = [_yeo_johnson(X[:, i], v, eps) for i, v in enumerate(lambdas)]
        X = torch.stack(columns, dim=1)
        return X if scaler is None else scaler(X)

    def inverse(X):
        if scaler is not None:
            X = scaler(X)
        inverse_one = _inverse_box_cox if box_cox else _inverse_yeo_johnson
        return torch.stack(
            [inverse_one(X[:, i], v) for i, v in enumerate(lambdas)], dim=1
        )

    return transform if method == "transform" else inverse
