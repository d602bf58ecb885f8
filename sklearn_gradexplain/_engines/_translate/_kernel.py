"""Translations of kernel models: support vector machines, kernel ridge, kernel PCA
and the kernel approximations (Nystroem, RBFSampler)."""

import numpy as np
import scipy.sparse as sp
from sklearn.decomposition import KernelPCA
from sklearn.kernel_approximation import Nystroem, RBFSampler
from sklearn.kernel_ridge import KernelRidge
from sklearn.svm import SVC, SVR, NuSVC, NuSVR

from ..._compat import kernel_pca_centerer, libsvm_gamma
from ._registry import Blocked, ovo_combination, register, unsupported

_KERNELS = ("linear", "poly", "polynomial", "sigmoid", "rbf", "laplacian", "cosine")


def _kernel(model, name, support, gamma, degree, coef0, ctx):
    """K(X, support) for the named kernel (libsvm and sklearn.metrics.pairwise)."""
    import torch

    if callable(name) or name == "precomputed":
        shown = getattr(name, "__name__", name)
        raise Blocked(model, f"kernel={shown!r}")
    Y = ctx.tensor(support)
    if name not in (
        "linear",
        "poly",
        "polynomial",
        "sigmoid",
        "rbf",
        "laplacian",
        "cosine",
    ):
        raise Blocked(model, f"kernel={name!r}")
    if gamma is None:
        gamma = 1.0 / support.shape[1]
    if name == "linear":
        return lambda X: X @ Y.T
    if name in ("poly", "polynomial"):
        return lambda X: (gamma * (X @ Y.T) + coef0) ** degree
    if name == "sigmoid":
        return lambda X: torch.tanh(gamma * (X @ Y.T) + coef0)
    if name == "rbf":
        YY = (Y * Y).sum(dim=1)

        def rbf(X):
            d2 = -2 * (X @ Y.T) + (X * X).sum(dim=1, keepdim=True) + YY
            return torch.exp(-gamma * d2.clamp_min(0))

        return rbf
    if name == "laplacian":
        return lambda X: torch.exp(-gamma * torch.cdist(X, Y, p=1))
    Y_norms = torch.linalg.vector_norm(Y, dim=1, keepdim=True)
    Yn = Y / torch.where(Y_norms == 0, torch.ones_like(Y_norms), Y_norms)

    def cosine(X):
        norms = torch.linalg.vector_norm(X, dim=1, keepdim=True)
        return (X / torch.where(norms == 0, torch.ones_like(norms), norms)) @ Yn.T

    return cosine


def _libsvm_kernel(model, ctx):
    return _kernel(
        model,
        model.kernel,
        model.support_vectors_,
        libsvm_gamma(model),
        model.degree,
        model.coef0,
        ctx,
    )


@register(SVR, NuSVR)
def _svr(model, method, ctx):
    if method != "predict":
        raise unsupported(model, method)
    kernel = _libsvm_kernel(model, ctx)
    coef = ctx.tensor(model.dual_coef_).reshape(-1)
    intercept = ctx.tensor(model.intercept_).reshape(())
    return lambda X: kernel(X) @ coef + intercept


@register(SVC, NuSVC)
def _svc(model, method, ctx):

    if method not in ("decision_function", "predict_proba"):
        raise unsupported(model, method)
    kernel = _libsvm_kernel(model, ctx)
    n_classes = len(model.classes_)
    if method == "predict_proba":
        # libsvm's Platt scaling (probability=True, deprecated in scikit-learn 1.9)
        raise Blocked(model, "predict_proba of probability=True")
    # one-vs-one decision values with the public (sign-corrected) attributes:
    # pair (i, j) sums dual_coef_[j - 1] over class i's support vectors and
    # dual_coef_[i] over class j's, plus intercept_[pair]
    dual = model.dual_coef_
    dual = dual.toarray() if sp.issparse(dual) else np.asarray(dual)
    starts = np.concatenate([[0], np.cumsum(model.n_support_)])
    pairs = [(i, j) for i in range(n_classes) for j in range(i + 1, n_classes)]
    coef = np.zeros((dual.shape[1], len(pairs)))
    for p, (i, j) in enumerate(pairs):
        coef[starts[i] : starts[i + 1], p] = dual[j - 1, starts[i] : starts[i + 1]]
        coef[starts[j] : starts[j + 1], p] = dual[i, starts[j] : starts[j + 1]]
    coef = ctx.tensor(coef)
    intercept = ctx.tensor(model.intercept_)

    def ovo(X):
        return kernel(X) @ coef + intercept

    if n_classes == 2:
        return lambda X: ovo(X)[:, 0]
    if model.decision_function_shape != "ovr":
        return ovo
    # sklearn: _ovr_decision_function(dec < 0, -dec, n_classes), votes (piecewise
    # constant) + confidences
    combine = ovo_combination(n_classes, ctx)

    def ovr(X):
        dec = ovo(X)
        return combine((dec < 0).to(dec.dtype).detach(), -dec)

    return ovr


@register(KernelRidge)
def _kernel_ridge(model, method, ctx):
    if method != "predict":
        raise unsupported(model, method)
    # like KernelRidge._get_kernel: string kernels take gamma, degree and coef0
    kernel = _kernel(
        model, model.kernel, model.X_fit_, model.gamma, model.degree, model.coef0, ctx
    )
    coef = ctx.tensor(model.dual_coef_)
    return lambda X: kernel(X) @ coef


# defaults of sklearn.metrics.pairwise's kernels where a parameter is not given
_PAIRWISE_DEFAULTS = {"degree": 3, "coef0": 1}


def _pairwise_kernel(model, name, support, params, ctx):
    """``pairwise_kernels(X, support, metric=name, filter_params=True, **params)``."""
    if callable(name) or name not in _KERNELS:
        shown = getattr(name, "__name__", name)
        raise Blocked(model, f"kernel={shown!r}")
    params = {k: v for k, v in params.items() if v is not None}
    return _kernel(
        model,
        name,
        support,
        params.get("gamma"),
        params.get("degree", _PAIRWISE_DEFAULTS["degree"]),
        params.get("coef0", _PAIRWISE_DEFAULTS["coef0"]),
        ctx,
    )


@register(KernelPCA)
def _kernel_pca(model, method, ctx):
    if method != "transform":
        raise unsupported(model, method)
    params = {"gamma": model.gamma_, "degree": model.degree, "coef0": model.coef0}
    kernel = _pairwise_kernel(model, model.kernel, model.X_fit_, params, ctx)
    centerer = kernel_pca_centerer(model)
    fit_rows = ctx.tensor(centerer.K_fit_rows_)
    fit_all = float(centerer.K_fit_all_)
    n_fit = centerer.K_fit_rows_.shape[0]
    # KernelPCA.transform: eigenvectors over sqrt(eigenvalue), 0 in the null space
    non_zeros = np.flatnonzero(model.eigenvalues_)
    scaled_alphas = np.zeros_like(model.eigenvectors_)
    scaled_alphas[:, non_zeros] = model.eigenvectors_[:, non_zeros] / np.sqrt(
        model.eigenvalues_[non_zeros]
    )
    alphas = ctx.tensor(scaled_alphas)

    def transform(X):
        K = kernel(X)
        K = K - fit_rows - (K.sum(dim=1, keepdim=True) / n_fit) + fit_all
        return K @ alphas

    return transform


@register(Nystroem)
def _nystroem(model, method, ctx):
    if method != "transform":
        raise unsupported(model, method)
    # Nystroem._get_kernel_params: kernel_params, then the non-None gamma/degree/coef0
    params = dict(model.kernel_params or {})
    for name in ("gamma", "degree", "coef0"):
        if getattr(model, name) is not None:
            params[name] = getattr(model, name)
    kernel = _pairwise_kernel(model, model.kernel, model.components_, params, ctx)
    normalization = ctx.tensor(model.normalization_).T
    return lambda X: kernel(X) @ normalization


@register(RBFSampler)
def _rbf_sampler(model, method, ctx):
    import torch

    if method != "transform":
        raise unsupported(model, method)
    weights = ctx.tensor(model.random_weights_)
    offset = ctx.tensor(model.random_offset_)
    factor = (2.0 / model.n_components) ** 0.5
    return lambda X: torch.cos(X @ weights + offset) * factor
