"""Translations of Gaussian processes and their kernels.

``GaussianProcessRegressor.predict`` (the posterior mean) is ``k(X, X_train_) @
alpha_``, un-normalized; ``GaussianProcessClassifier.predict_proba`` is the binary
Laplace approximation (``_BinaryGaussianProcessClassifierLaplace``: latent mean and
variance, then Williams & Barber's five-error-function approximation of the logistic-
Gaussian integral), one-vs-rest for several classes.

Kernels (``sklearn.gaussian_process.kernels``, exact types): ``RBF``, ``Matern`` with
``nu`` in {0.5, 1.5, 2.5, inf}, ``RationalQuadratic``, ``ExpSineSquared``,
``DotProduct``, ``ConstantKernel``, ``WhiteKernel`` (zero between a query and a
training point, ``noise_level`` on the diagonal), and ``Sum``, ``Product`` and
``Exponentiation`` of these. Other values of ``nu`` need a Bessel function torch does
not have. ``Matern(nu=0.5)`` (``exp(-r)``) has a kink where a query point coincides
with a training point; there its gradient is taken as 0 for that term (the mean of
the one-sided derivatives along any line), as for the Laplacian kernel elsewhere.
"""

import math

import numpy as np
from scipy.linalg import solve
from sklearn.gaussian_process import GaussianProcessClassifier, GaussianProcessRegressor
from sklearn.gaussian_process import kernels as gp_kernels
from sklearn.multiclass import OneVsRestClassifier

from ..._compat import gpr_target_normalization
from ._registry import Blocked, register, unsupported

# Williams & Barber's approximation of the logistic sigmoid by five error functions,
# as in sklearn.gaussian_process._gpc (LAMBDAS, COEFS; checked against 1.9.1)
_LAMBDAS = np.array([0.41, 0.4, 0.37, 0.44, 0.39])[:, np.newaxis]
_COEFS = np.array(
    [-1854.8214151, 3516.89893646, 221.29346712, 128.12323805, -2010.49422654]
)[:, np.newaxis]

_ROWS_PER_BLOCK = 1 << 22  # elements of the (rows, m, d) differences per block


def squared_distances(X, Y):
    """``cdist(X, Y, "sqeuclidean")``: exact values, differentiable in ``X``.

    The value is the sum of squared differences (as scipy computes it, no cancellation
    for close points); the derivative is that of ``|x|² - 2 x·y + |y|²``, the same
    function, without keeping an (n, m, d) array for the backward pass.
    """
    import torch

    Xd = X.detach()
    rows = max(1, _ROWS_PER_BLOCK // max(1, Y.shape[0] * Y.shape[1]))
    exact = torch.cat(
        [
            (Xd[i : i + rows, None, :] - Y[None]).square().sum(dim=2)
            for i in range(0, max(len(Xd), 1), rows)
        ]
    )
    expansion = X.square().sum(dim=1, keepdim=True) - 2 * X @ Y.T
    return exact + (expansion - expansion.detach())


def _distances(d2):
    """``sqrt(d2)`` with gradient 0 (not NaN) where ``d2 == 0``."""
    import torch

    positive = d2 > 0
    return torch.where(positive, torch.sqrt(torch.where(positive, d2, 1.0)), 0.0)


def _length_scale(kernel, ctx):
    return ctx.tensor(np.asarray(kernel.length_scale, dtype=np.float64))


def gp_kernel(kernel, Y, ctx, where):
    """``(cross, diag)``: ``X -> kernel(X, Y)`` and ``X -> kernel.diag(X)`` in torch.

    ``Y`` is a fixed (training) array; ``where`` names the model for errors.
    """
    import torch

    kind = type(kernel)
    if kind is gp_kernels.Sum or kind is gp_kernels.Product:
        c1, d1 = gp_kernel(kernel.k1, Y, ctx, where)
        c2, d2 = gp_kernel(kernel.k2, Y, ctx, where)
        if kind is gp_kernels.Sum:
            return (lambda X: c1(X) + c2(X)), (lambda X: d1(X) + d2(X))
        return (lambda X: c1(X) * c2(X)), (lambda X: d1(X) * d2(X))
    if kind is gp_kernels.Exponentiation:
        c, d = gp_kernel(kernel.kernel, Y, ctx, where)
        p = kernel.exponent
        return (lambda X: c(X) ** p), (lambda X: d(X) ** p)
    Yt = ctx.tensor(Y)
    m = Yt.shape[0]
    if kind is gp_kernels.ConstantKernel:
        value = float(kernel.constant_value)
        return (
            lambda X: X.new_full((X.shape[0], m), value),
            lambda X: X.new_full((X.shape[0],), value),
        )
    if kind is gp_kernels.WhiteKernel:
        noise = float(kernel.noise_level)
        return (
            lambda X: X.new_zeros((X.shape[0], m)),
            lambda X: X.new_full((X.shape[0],), noise),
        )
    if kind is gp_kernels.DotProduct:
        sigma2 = float(kernel.sigma_0) ** 2
        return (
            lambda X: X @ Yt.T + sigma2,
            lambda X: X.square().sum(dim=1) + sigma2,
        )

    def ones(X):
        return X.new_ones(X.shape[0])

    if kind is gp_kernels.RBF or kind is gp_kernels.Matern:
        scale = _length_scale(kernel, ctx)
        Ys = Yt / scale
        nu = kernel.nu if kind is gp_kernels.Matern else np.inf
        if nu == np.inf:
            return (lambda X: torch.exp(-0.5 * squared_distances(X / scale, Ys))), ones
        if nu not in (0.5, 1.5, 2.5):
            raise Blocked(where, f"Matern kernel with nu={nu} (Bessel function)")

        def matern(X):
            r = _distances(squared_distances(X / scale, Ys))
            if nu == 0.5:
                return torch.exp(-r)
            if nu == 1.5:
                K = r * math.sqrt(3)
                return (1.0 + K) * torch.exp(-K)
            K = r * math.sqrt(5)
            return (1.0 + K + K**2 / 3.0) * torch.exp(-K)

        return matern, ones
    if kind is gp_kernels.RationalQuadratic:
        alpha, scale = float(kernel.alpha), float(kernel.length_scale)

        def rational_quadratic(X):
            d2 = squared_distances(X, Yt)
            return (1 + d2 / (2 * alpha * scale**2)) ** -alpha

        return rational_quadratic, ones
    if kind is gp_kernels.ExpSineSquared:
        period, scale = float(kernel.periodicity), float(kernel.length_scale)

        def exp_sine_squared(X):
            r = _distances(squared_distances(X, Yt))
            return torch.exp(-2 * (torch.sin(np.pi / period * r) / scale) ** 2)

        return exp_sine_squared, ones
    raise Blocked(where, f"kernel {kind.__name__}")


def _check_vector_input(model):
    if not model.kernel_.requires_vector_input:
        raise Blocked(model, "a kernel on structured (non-vector) input")


@register(GaussianProcessRegressor)
def _gaussian_process_regressor(model, method, ctx):
    if method != "predict":
        raise unsupported(model, method)
    if not hasattr(model, "X_train_"):
        raise Blocked(model, "not fitted: the prior mean is the constant 0")
    _check_vector_input(model)
    cross, _ = gp_kernel(model.kernel_, model.X_train_, ctx, model)
    alpha = ctx.tensor(model.alpha_)
    mean, std = (ctx.tensor(np.asarray(a)) for a in gpr_target_normalization(model))

    def predict(X):
        y_mean = std * (cross(X) @ alpha) + mean
        if y_mean.ndim > 1 and y_mean.shape[1] == 1:
            y_mean = y_mean[:, 0]
        return y_mean

    return predict


def _binary_laplace(binary, ctx, where):
    """P(class 1) of a ``_BinaryGaussianProcessClassifierLaplace`` (predict_proba)."""
    import torch

    cross, diag = gp_kernel(binary.kernel_, binary.X_train_, ctx, where)
    f_weights = ctx.tensor(binary.y_train_ - binary.pi_)
    # v = L \\ (W_sr[:, None] * K_star) is linear in K_star: one matrix, fixed
    v_map = ctx.tensor(solve(binary.L_, np.diag(binary.W_sr_)).T)
    lambdas = ctx.tensor(_LAMBDAS[:, 0])
    coefs = ctx.tensor(_COEFS[:, 0])
    half_sum = 0.5 * float(_COEFS.sum())

    def positive(X):
        K = cross(X)  # K_star.T
        latent_mean = K @ f_weights
        latent_var = diag(X) - (K @ v_map).square().sum(dim=1)
        alpha = (1 / (2 * latent_var))[:, None]
        gamma = latent_mean[:, None] * lambdas
        integrals = (
            torch.sqrt(np.pi / alpha)
            * torch.erf(gamma * torch.sqrt(alpha / (alpha + lambdas**2)))
            / (2 * torch.sqrt(latent_var * 2 * np.pi))[:, None]
        )
        return (integrals * coefs).sum(dim=1) + half_sum

    return positive


@register(GaussianProcessClassifier)
def _gaussian_process_classifier(model, method, ctx):
    import torch

    if method != "predict_proba":
        raise unsupported(model, method)
    _check_vector_input(model)
    base = model.base_estimator_
    if model.n_classes_ == 2:
        positive = _binary_laplace(base, ctx, model)

        def binary(X):
            p = positive(X)
            return torch.stack([1 - p, p], dim=1)

        return binary
    if type(base) is not OneVsRestClassifier:
        raise Blocked(model, "multi_class='one_vs_one' has no predict_proba")
    parts = [_binary_laplace(e, ctx, model) for e in base.estimators_]

    def proba(X):
        # OneVsRestClassifier.predict_proba: positive-class columns, normalized
        Y = torch.stack([p(X) for p in parts], dim=1)
        total = Y.sum(dim=1, keepdim=True)
        return torch.where(total != 0, Y / torch.where(total != 0, total, 1.0), Y)

    return proba
