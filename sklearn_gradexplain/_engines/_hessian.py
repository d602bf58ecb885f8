"""Second derivatives of a model's response: exact (autograd) and second differences.

Both kinds of engine give, at points of the explained columns, the Hessian of every
selected output, shape (n_points, n_outputs, d, d), together with the gradient,
(n_points, n_outputs, d) (integrated Hessians need both):

* :func:`autograd_hessian` differentiates the engine's torch function twice. Rows do
  not interact in evaluation mode, so the Hessian of row r is that of the *sum* over
  rows: the gradient of the summed output (reverse mode) is differentiated along each
  coordinate direction e_j, set in every row at once (forward mode), giving column j of
  every row's Hessian: ``torch.func.jvp`` of ``torch.func.jacrev``, vectorized over the
  d directions with ``torch.func.vmap``. A function that torch.func cannot transform
  (an operation without a forward-mode or batching rule) falls back to d backward
  passes of the gradient per output (``create_graph=True``), which give the same
  numbers.
* :func:`second_difference_hessian` uses second differences of a black box: central,
  ``H_jj = (f(x + h_j e_j) − 2 f(x) + f(x − h_j e_j)) / h_j²`` and
  ``H_jl = (f(++) − f(+−) − f(−+) + f(−−)) / (4 h_j h_l)``, i.e. 2d² + 1 model
  evaluations per point; forward,
  ``H_jj = (f(x + 2h e_j) − 2 f(x + h e_j) + f(x)) / h²`` and
  ``H_jl = (f(x + h_j e_j + h_l e_l) − f(x + h_j e_j) − f(x + h_l e_l) + f(x)) /
  (h_j h_l)``, d(d + 3)/2 + 1 evaluations, never below x. The perturbed copies of
  many points are stacked into calls of at most ``engine.max_rows`` rows.
"""

import warnings

import numpy as np

from .._inputs import Points

#: Relative second-difference steps near the optimum for each (scheme, precision):
#: central differences err by O(h²) + O(ε/h²), best at h ≈ ε^(1/4); forward ones by
#: O(h) + O(ε/h²), best at h ≈ ε^(1/3).
AUTO_SECOND_STEPS = {
    ("central", np.float64): 1e-4,
    ("forward", np.float64): 5e-6,
    ("central", np.float32): 2e-2,
    ("forward", np.float32): 5e-3,
}

#: Working rows (points × directions × outputs) per torch.func call, as a multiple
#: of the engine's rows per pass.
_TANGENT_ROWS = 16


def second_difference_evaluations(n_features, scheme):
    """Model evaluations per point of :func:`second_difference_hessian`.

    Examples
    --------
    >>> [second_difference_evaluations(5, scheme) for scheme in ("central", "forward")]
    [51, 21]
    """
    d = int(n_features)
    return 2 * d * d + 1 if scheme == "central" else d * (d + 3) // 2 + 1


def auto_second_step(scheme, dtype):
    """The relative second-difference step for ``scheme`` in precision ``dtype``."""
    key = np.float32 if np.dtype(dtype) == np.float32 else np.float64
    return AUTO_SECOND_STEPS[(scheme, key)]


# --------------------------------------------------------------------------- autograd
def _composer(engine, points):
    """``Zt -> model input``, out of place (``engine._input`` writes in place).

    torch.func's batching rules refuse an in-place write of a batched tensor into an
    unbatched one, so the columns held fixed are concatenated with the explained ones
    and permuted into place instead.
    """
    import torch

    if points.context is None:
        return lambda Zt: Zt
    full = engine._input(engine._tensor(points.Z), points)
    explained = np.asarray(engine.feature_indices)
    fixed = np.setdiff1d(np.arange(full.shape[1]), explained)
    order = np.argsort(np.concatenate([fixed, explained]))
    held = full[:, torch.as_tensor(fixed, device=full.device)]
    order = torch.as_tensor(order, device=full.device)
    return lambda Zt: torch.cat([held, Zt.to(held.dtype)], dim=1)[:, order]


def _selected(engine, compose, n_rows):
    """``Zt -> (n_rows, n_outputs)``: the selected outputs of the torch function."""

    def response(Zt):
        raw = engine.function(compose(Zt))
        return engine.outputs(engine.outputs.check(raw, n_rows))

    return response


def _functorch_block(engine, points):
    """(Hessians, gradients) of one block by ``vmap(jvp(jacrev))``."""
    import torch
    from torch.func import jacrev, jvp, vmap

    Zt = engine._tensor(points.Z)
    n, d = Zt.shape
    response = _selected(engine, _composer(engine, points), n)

    def gradients(Z):  # (k, n, d): row r's gradient is that of the summed output
        return jacrev(lambda z: response(z).sum(dim=0))(Z)

    def along(direction):
        return jvp(gradients, (Zt,), (direction,))

    directions = torch.eye(d, dtype=Zt.dtype, device=Zt.device)
    directions = directions[:, None, :].expand(d, n, d)  # e_j in every row
    with torch.enable_grad(), warnings.catch_warnings():
        # torch's first forward-mode call compiles its decompositions with the
        # deprecated torch.jit.script (torch 2.13): not ours to act on
        warnings.filterwarnings(
            "ignore", message=".*torch.jit.script.*", category=DeprecationWarning
        )
        G, H = vmap(along)(directions)  # (d, k, n, d) each
    # H[j, k, r, l] = ∂²f_k/∂x_j∂x_l at row r
    return H.permute(2, 1, 0, 3), G[0].permute(1, 0, 2)


def _backward_block(engine, points):
    """(Hessians, gradients) of one block by d backward passes of each gradient."""
    import torch

    Zt = engine._tensor(points.Z).requires_grad_(True)
    n, d = Zt.shape
    H = Zt.new_zeros((n, engine.n_outputs, d, d))
    G = Zt.new_zeros((n, engine.n_outputs, d))
    with torch.enable_grad():
        Y = engine.outputs(
            engine.outputs.check(engine.function(engine._input(Zt, points)), n)
        )
        if not Y.requires_grad:  # a constant model
            return H, G
        for k in range(engine.n_outputs):
            (g,) = torch.autograd.grad(
                Y[:, k].sum(), Zt, create_graph=True, retain_graph=True
            )
            G[:, k] = g.detach()
            if not g.requires_grad:  # linear in the input: no second derivative
                continue
            for j in range(d):
                (row,) = torch.autograd.grad(
                    g[:, j].sum(), Zt, retain_graph=True, allow_unused=True
                )
                if row is not None:
                    H[:, k, j] = row.detach()
    return H, G


def autograd_hessian(engine, points):
    """Exact Hessians and gradients of the selected outputs at the points.

    Parameters
    ----------
    engine : AutogradEngine
        Its ``function``, ``outputs``, dtype and device.
    points : Points
        Points of the explained columns, with their context.

    Returns
    -------
    hessians : ndarray of shape (n_points, n_outputs, d, d)
    gradients : ndarray of shape (n_points, n_outputs, d)
        float32 for float32 points, float64 otherwise.
    """
    n, d = points.Z.shape
    k = engine.n_outputs
    dtype = np.float32 if points.Z.dtype == np.float32 else np.float64
    hessians = np.empty((n, k, d, d), dtype=dtype)
    gradients = np.empty((n, k, d), dtype=dtype)
    rows = max(1, (engine.max_rows * _TANGENT_ROWS) // max(1, d * k))
    block = _functorch_block
    for start in range(0, n, rows):
        stop = min(start + rows, n)
        chunk = points.select(start, stop)
        if block is _functorch_block:
            try:
                H, G = block(engine, chunk)
            except (RuntimeError, NotImplementedError, TypeError, ValueError):
                # an operation torch.func cannot transform; a wrong input fails
                # the same way below and raises there
                block = _backward_block
                H, G = block(engine, chunk)
        else:
            H, G = block(engine, chunk)
        hessians[start:stop] = H.detach().cpu().numpy()
        gradients[start:stop] = G.detach().cpu().numpy()
    return hessians, gradients


# --------------------------------------------------------------------------- black box
def _stencil(d, scheme):
    """Offsets (n_eval, d) in units of each feature's step, and the index of f(x)."""
    rows = [np.zeros(d)]
    eye = np.eye(d)
    if scheme == "central":
        rows += list(eye) + list(-eye)
        for j in range(d):
            for l in range(j + 1, d):
                for sj, sl in ((1, 1), (1, -1), (-1, 1), (-1, -1)):
                    offset = np.zeros(d)
                    offset[j], offset[l] = sj, sl
                    rows.append(offset)
    else:
        rows += list(eye) + list(2 * eye)
        for j in range(d):
            for l in range(j + 1, d):
                offset = np.zeros(d)
                offset[j] = offset[l] = 1
                rows.append(offset)
    return np.asarray(rows)


def _combine(values, taken, d, scheme):
    """Hessians and gradients from the stencil's values (n, n_eval, k)."""
    n, _, k = values.shape
    centre = values[:, 0]  # (n, k)
    h = taken[:, None, :]  # (n, 1, d): the step actually taken per feature
    H = np.empty((n, k, d, d))
    pairs = [(j, l) for j in range(d) for l in range(j + 1, d)]
    if scheme == "central":
        up = np.transpose(values[:, 1 : 1 + d], (0, 2, 1))  # (n, k, d)
        down = np.transpose(values[:, 1 + d : 1 + 2 * d], (0, 2, 1))
        G = (up - down) / (2 * h)
        diagonal = (up - 2 * centre[:, :, None] + down) / h**2
        for p, (j, l) in enumerate(pairs):
            pp, pm, mp, mm = (values[:, 1 + 2 * d + 4 * p + i] for i in range(4))
            H[:, :, j, l] = H[:, :, l, j] = (pp - pm - mp + mm) / (
                4 * h[:, :, j] * h[:, :, l]
            )
    else:
        up = np.transpose(values[:, 1 : 1 + d], (0, 2, 1))
        up2 = np.transpose(values[:, 1 + d : 1 + 2 * d], (0, 2, 1))
        G = (up - centre[:, :, None]) / h
        diagonal = (up2 - 2 * up + centre[:, :, None]) / h**2
        for p, (j, l) in enumerate(pairs):
            both = values[:, 1 + 2 * d + p]
            H[:, :, j, l] = H[:, :, l, j] = (
                both - up[:, :, j] - up[:, :, l] + centre
            ) / (h[:, :, j] * h[:, :, l])
    index = np.arange(d)
    H[:, :, index, index] = diagonal
    return H, G


def second_difference_hessian(engine, points):
    """Hessians and gradients of a black box by second differences.

    The step of feature j at x is ``engine.steps(Z)`` (the engine's relative step
    times ``max(scale_j, |x_j|)``), rounded so that x + h is exact; 2d² + 1 (central)
    or d(d + 3)/2 + 1 (forward) model evaluations per point, in calls of at most
    ``engine.max_rows`` rows.

    Parameters
    ----------
    engine : FiniteDifferenceEngine
        Its ``response``, ``steps``, ``scheme``, ``dtype`` and ``max_rows``.
    points : Points
        Points of the explained columns, with their context.

    Returns
    -------
    hessians : ndarray of shape (n_points, n_outputs, d, d)
    gradients : ndarray of shape (n_points, n_outputs, d)
        float64.
    """
    Z = np.asarray(points.Z, dtype=engine.dtype)
    n, d = Z.shape
    offsets = _stencil(d, engine.scheme).astype(engine.dtype)
    n_eval = len(offsets)
    h = engine.steps(Z)
    h = ((Z + h) - Z).astype(engine.dtype)  # a step that x + h represents exactly
    missing = np.isnan(Z)
    h[missing] = 1.0  # an imputed cell is a constant: no derivative, set to 0 below
    if not np.all(np.abs(h) > 0):
        raise ValueError(
            "The second-difference step vanishes in floating point at rows "
            f"{np.unique(points.row_index()[np.nonzero(~(np.abs(h) > 0))[0]])[:10]}: "
            "x + h rounds to x. Use a larger step (FiniteDifference(step=...)) or "
            "rescale the features."
        )
    values = np.empty((n, n_eval, engine.n_outputs))
    per_call = max(1, engine.max_rows // n_eval)  # points per call
    for start in range(0, n, per_call):
        stop = min(start + per_call, n)
        chunk = points.select(start, stop)
        stacked = Z[start:stop, None, :] + offsets[None] * h[start:stop, None, :]
        stacked = stacked.reshape(-1, d)
        for first in range(0, len(stacked), engine.max_rows):
            last = min(first + engine.max_rows, len(stacked))
            part = Points(stacked[first:last])
            if chunk.context is not None:
                rows = np.repeat(chunk.row_index(), n_eval)[first:last]
                part = Points(stacked[first:last], chunk.context, rows)
            response = np.asarray(engine.response(part), dtype=np.float64)
            if not np.all(np.isfinite(response)):
                bad = np.unique(part.row_index()[~np.isfinite(response).all(axis=1)])
                raise ValueError(
                    "The model returned NaN or infinite values near the explained "
                    f"points at rows {bad[:10].tolist()}: second differences need a "
                    "finite response around every point. Check those rows for "
                    "extreme values, or explain the model where it is finite."
                )
            flat = values[start:stop].reshape(-1, engine.n_outputs)
            flat[first:last] = response
    H, G = _combine(values, h.astype(np.float64), d, engine.scheme)
    if missing.any():
        cells = np.broadcast_to(missing[:, None, :], G.shape)
        G[cells] = 0.0
        H[np.broadcast_to(missing[:, None, :, None], H.shape)] = 0.0
        H[np.broadcast_to(missing[:, None, None, :], H.shape)] = 0.0
    return H, G


# --------------------------------------------------------------------------- integrated
def integrated_hessian_nodes(alphas, weights):
    """The distinct path positions t = α_a β_b of the product rule and their weights.

    ``alphas`` and ``weights`` are a one-dimensional rule on [0, 1] (weights summing
    to 1), used on both axes. The products are symmetric in (a, b), so each pair
    a ≤ b is evaluated once, with weight w_a w_b (twice that when a < b).

    Returns
    -------
    t : ndarray of shape (n_steps (n_steps + 1) / 2,)
    weight : ndarray of the same shape
        Σ weight = 1.

    Examples
    --------
    >>> t, w = integrated_hessian_nodes(np.array([0.25, 0.75]), np.array([0.5, 0.5]))
    >>> t.tolist(), w.tolist()
    ([0.0625, 0.1875, 0.5625], [0.25, 0.5, 0.25])
    """
    a, b = np.triu_indices(len(alphas))
    t = alphas[a] * alphas[b]
    weight = weights[a] * weights[b] * np.where(a == b, 1.0, 2.0)
    return t, weight


def integrated_hessians(hessian, points, baseline, alphas, weights):
    """Integrated Hessians (Janizek, Sturmfels, Lee 2021) of every point.

    Γ_jl(x) = Δ_j Δ_l ∫∫ αβ ∂²_jl f(x′ + αβΔ) dα dβ + [j = l] Δ_j ∫∫ ∂_j f(x′ + αβΔ)
    dα dβ with Δ = x − x′, by the product of the rule (``alphas``, ``weights``) on
    both axes. Σ_l Γ_jl = ∫∫ ∂/∂α [α Δ_j ∂_j f(x′ + αβΔ)] dα dβ, the integrated
    gradient of feature j (exactly, up to the rule's error on the α axis).

    Parameters
    ----------
    hessian : callable
        ``hessian(points) -> (hessians, gradients)`` of an engine.
    points : Points
    baseline : ndarray of shape (d,)
    alphas, weights : ndarray of shape (n_steps,)

    Returns
    -------
    integrated : ndarray of shape (n_points, n_outputs, d, d)
    """
    Z = points.Z
    t, weight = integrated_hessian_nodes(alphas, weights)
    baseline = baseline.astype(Z.dtype, copy=False)
    delta = Z - baseline
    path = (baseline + t[None, :, None] * delta[:, None, :]).reshape(-1, Z.shape[1])
    H, G = hessian(points.derive(path.astype(Z.dtype, copy=False), len(t)))
    n, d = Z.shape
    H = H.reshape(n, len(t), *H.shape[1:])
    G = G.reshape(n, len(t), *G.shape[1:])
    delta = np.nan_to_num(delta, nan=0.0).astype(np.float64)  # missing: no path
    second = np.einsum("s,nskjl->nkjl", weight * t, H)
    first = np.einsum("s,nskj->nkj", weight, G)
    out = second * delta[:, None, :, None] * delta[:, None, None, :]
    index = np.arange(d)
    out[:, :, index, index] += first * delta[:, None, :]
    return out
