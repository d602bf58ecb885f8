"""Integrated (and interior) gradients, Sundararajan, Taly & Yan (2016, 2017).

IG_i(x) = (x_i - x'_i) ∫₀¹ ∂_i f(x' + α(x - x')) dα, by a quadrature rule over
``n_steps`` path points. The path points of all rows in a chunk are evaluated together.
"""

import numpy as np

from . import Attribution


def integration_rule(name, n_steps):
    """Nodes ``alphas`` in [0, 1] and weights summing to 1.

    Gauss-Legendre nodes are mapped from [-1, 1] to [0, 1] as in Captum; the Riemann and
    trapezoid rules use Captum's node placement. The trapezoid weights are
    ``1/(n_steps - 1)``, halved at both ends (Captum uses ``1/n_steps`` halved at the
    ends, which sum to ``(n_steps - 1)/n_steps`` instead of 1).

    Examples
    --------
    >>> alphas, weights = integration_rule("riemann_trapezoid", 3)
    >>> alphas, weights
    (array([0. , 0.5, 1. ]), array([0.25, 0.5 , 0.25]))
    """
    if name == "gausslegendre":
        nodes, weights = np.polynomial.legendre.leggauss(n_steps)
        return 0.5 * (nodes + 1), 0.5 * weights
    if name == "riemann_trapezoid":
        if n_steps < 2:
            raise ValueError("integration='riemann_trapezoid' needs n_steps >= 2.")
        weights = np.full(n_steps, 1.0 / (n_steps - 1))
        weights[[0, -1]] /= 2
        return np.linspace(0, 1, n_steps), weights
    offsets = {"riemann_right": 1.0, "riemann_left": 0.0, "riemann_middle": 0.5}
    alphas = (np.arange(n_steps) + offsets[name]) / n_steps
    return alphas, np.full(n_steps, 1.0 / n_steps)


def path_points(Z, baseline, alphas):
    """Points ``x' + α (x - x')``, row-major: all alphas of row 0, then row 1, ..."""
    delta = Z - baseline
    points = baseline + alphas[None, :, None] * delta[:, None, :]
    return points.reshape(-1, Z.shape[1]).astype(Z.dtype, copy=False)


def integrated_gradients(engine, data, settings):
    """(x - x') ⊙ Σ_s w_s ∇f(x' + α_s (x - x')) for each row."""
    Z = data.Z
    alphas, weights = integration_rule(settings.integration, settings.n_steps)
    baseline = settings.baseline.astype(Z.dtype, copy=False)
    rows = np.repeat(np.arange(Z.shape[0]), len(alphas))
    grads = engine.gradient(path_points(Z, baseline, alphas), data.context, rows)
    grads = grads.reshape(Z.shape[0], len(alphas), engine.n_outputs, Z.shape[1])
    mean_gradient = np.einsum("s,nskf->nkf", weights, grads)
    return mean_gradient * (Z - baseline)[:, None, :]


def incomplete_fraction(change, delta, dtype=np.float64, tolerance=0.05):
    """Fraction of entries where ``|delta| > tolerance * |change|``.

    ``change`` is f(x) - f(x'), ``delta`` the completeness gap. Gaps below the
    rounding level of ``dtype`` (relative to the largest ``|change|``) never count.

    Examples
    --------
    >>> incomplete_fraction(np.array([1.0, 2.0]), np.array([0.01, 0.5]))
    0.5
    """
    change, delta = np.abs(np.asarray(change)), np.abs(np.asarray(delta))
    if change.size == 0:
        return 0.0
    rounding = np.sqrt(np.finfo(dtype).eps) * change.max()
    return float(np.mean(delta > np.maximum(tolerance * change, rounding)))


INTEGRATED_GRADIENTS = Attribution(
    integrated_gradients, points_per_row=lambda settings: settings.n_steps
)
