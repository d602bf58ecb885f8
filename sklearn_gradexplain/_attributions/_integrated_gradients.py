"""Integrated (and interior) gradients, Sundararajan, Taly & Yan (2016, 2017).

IG_i(x) = (x_i - x'_i) ∫₀¹ ∂_i f(x' + α(x - x')) dα, by a quadrature rule over
``n_steps`` path points. The path points of all rows in a chunk are evaluated together.
"""

import numpy as np

from . import Attribution


def integration_rule(name, n_steps):
    """Nodes ``alphas`` in [0, 1] and weights summing to 1.

    Gauss-Legendre nodes are mapped from [-1, 1] to [0, 1] as in Captum; the Riemann and
    trapezoid rules use Captum's node placement.

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


INTEGRATED_GRADIENTS = Attribution(
    integrated_gradients, points_per_row=lambda settings: settings.n_steps
)
