"""SmoothGrad (Smilkov et al. 2017): the mean gradient over noisy copies of x.

The same ``n_samples`` noise vectors are added to every row, so a row's result does
not depend on which rows share its chunk (invariant to row order and subsets).
"""

import numpy as np

from . import Attribution


def smoothgrad(engine, data, settings):
    """Mean over s of ∇f(x + ε_s), ε_s ~ N(0, σ²) drawn once per explain call."""
    Z = data.Z
    noise = settings.noise.astype(Z.dtype, copy=False)
    n_samples = noise.shape[0]
    points = (Z[:, None, :] + noise[None, :, :]).reshape(-1, Z.shape[1])
    rows = np.repeat(np.arange(Z.shape[0]), n_samples)
    grads = engine.gradient(points, data.context, rows)
    return grads.reshape(Z.shape[0], n_samples, engine.n_outputs, Z.shape[1]).mean(1)


SMOOTHGRAD = Attribution(
    smoothgrad, points_per_row=lambda settings: len(settings.noise)
)
