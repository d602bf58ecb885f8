"""How faithful an attribution is to the model, and a global gradient for few calls.

Every function takes a fitted explainer (a
:class:`~sklearn_gradexplain.GradientExplainer`, a surrogate or a selector), whatever
the model behind it (black boxes too), and data ``X``. Attributions come from the
explainer's own batching loop; the model is evaluated through the explainer's engine,
in batches of perturbed copies of many rows, exactly ``n_perturbations`` (or
``n_subsets``, or one per step of a curve) per row. The formulas, their assumptions
and their costs in model evaluations are written out in the user guide
(``docs/metrics.rst``).

Random draws (noise, boxes, subsets, directions) are made per block of rows from
``random_state``, so a row's draws do not depend on how the rows are batched
(``batch_size``, ``n_jobs``); an integer ``random_state`` makes the results
reproducible.

Several outputs (multiclass probabilities, multi-output regressors): each output is
measured with its own attributions, ``per_sample=True`` gives (n_samples, n_outputs),
and the mean is taken over rows and outputs. Give the explainer a ``target`` to
measure one output.
"""

from numbers import Integral, Real

import numpy as np
from sklearn.utils import Bunch, check_random_state
from sklearn.utils.validation import check_is_fitted

from ._base import BaseGradientExplainer, _check_finite_attributions
from ._compat import Interval, StrOptions, validate_params
from ._engines._finite_difference import AUTO_STEPS
from ._scorer import make_explanation_scorer
from ._statistics import RunningMoments
from .attributions._integrated_gradients import check_baseline_array
from .exceptions import _warn

__all__ = [
    "deletion_auc",
    "directional_global_gradient",
    "faithfulness_correlation",
    "infidelity",
    "insertion_auc",
    "make_explanation_scorer",
    "sensitivity_max",
]

#: Draws of one block of rows hold at most this many numbers (fixed by the draw's
#: shape, never by the batching, so that a row's draws are the same in any batch).
_DRAW_NUMBERS = 2**21
_MAX_DRAW_ROWS = 256


class _RowDraws:
    """Random draws of shape ``shape`` per row, made per fixed block of rows.

    Block ``b`` (rows ``b·B`` to ``(b+1)·B``, with ``B`` fixed by ``shape``) comes
    from ``numpy.random.default_rng(SeedSequence(seed, spawn_key=(b,)))``, ``seed``
    drawn once from ``random_state``; so the draws of a row do not depend on the rows
    it is batched with.
    """

    def __init__(self, random_state, shape, kind):
        self.seed = int(
            check_random_state(random_state).randint(np.iinfo(np.int32).max)
        )
        self.shape = tuple(int(s) for s in shape)
        self.kind = kind
        self.block_rows = int(
            max(1, min(_MAX_DRAW_ROWS, _DRAW_NUMBERS // max(1, np.prod(self.shape))))
        )
        self._cache = (None, None)

    def _block(self, b):
        if self._cache[0] == b:
            return self._cache[1]
        rng = np.random.default_rng(np.random.SeedSequence(self.seed, spawn_key=(b,)))
        size = (self.block_rows, *self.shape)
        block = rng.standard_normal(size) if self.kind == "normal" else rng.random(size)
        self._cache = (b, block)
        return block

    def rows(self, start, stop):
        """The draws of rows ``start:stop``, shape (stop - start, *shape)."""
        B = self.block_rows
        parts = []
        for b in range(start // B, (stop - 1) // B + 1):
            low = max(start, b * B) - b * B
            high = min(stop, (b + 1) * B) - b * B
            parts.append(self._block(b)[low:high])
        return np.concatenate(parts) if len(parts) > 1 else parts[0]


def _prepare(explainer, X):
    """Validated data and the engine of a fitted explainer (before any model work)."""
    if not isinstance(explainer, BaseGradientExplainer):
        raise TypeError(
            "The metrics need a fitted GradientExplainer (or a gradient surrogate or "
            f"selector); got {type(explainer).__name__}. For a Pipeline ending in an "
            "explainer, pass pipeline[-1] and pipeline[:-1].transform(X), or use "
            "make_explanation_scorer."
        )
    check_is_fitted(explainer)
    if not hasattr(explainer, "attribution_"):
        raise TypeError(
            f"{type(explainer).__name__} has no per-feature attribution to measure."
        )
    data = explainer._validate_input(X, reset=False)
    if len(data) == 0:
        raise ValueError("Found array with 0 sample(s); at least 1 is required.")
    return data, explainer._engine(data)


def _values(engine, points):
    """The model's selected outputs at ``points``, ``engine.max_rows`` per call."""
    n, step = len(points), max(1, engine.max_rows)
    if n <= step:
        return engine.value(points)
    return np.concatenate(
        [engine.value(points.select(s, min(s + step, n))) for s in range(0, n, step)]
    )


def _blocks(n_rows, rows_per_block):
    rows_per_block = max(1, int(rows_per_block))
    for start in range(0, n_rows, rows_per_block):
        yield start, min(start + rows_per_block, n_rows)


def _result(values, per_sample, what):
    """Per-row values (n, n_outputs) as the per-sample array or their mean."""
    if not np.all(np.isfinite(values)):
        raise ValueError(
            f"{what} is not finite on some rows: the model's outputs or the "
            "attributions overflow there. Rescale the features or lower the "
            "perturbation size."
        )
    if per_sample:
        return values[:, 0] if values.shape[1] == 1 else values
    return float(values.mean())


def _feature_scale(explainer, n_features):
    """Each explained feature's standard deviation in the fit data (the unit of
    the perturbations)."""
    std = np.asarray(explainer.feature_std_, dtype=np.float64)
    if std.shape != (n_features,):  # pragma: no cover - defensive
        raise ValueError("The explainer's feature_std_ does not match the data.")
    return std


def _reference(explainer, baseline, n_features):
    """The value a removed feature takes: given, the attribution's, or the mean."""
    if baseline is not None:
        return check_baseline_array(baseline, n_features)
    attribution = explainer.attribution_
    while attribution is not None:  # SmoothGrad(IntegratedGradients(...)) included
        value = getattr(attribution, "baseline_", None)
        if value is not None:
            return np.asarray(value, dtype=np.float64)
        attribution = getattr(attribution, "attribution_", None)
    return np.asarray(explainer._statistics.features.mean, dtype=np.float64)


def _perturbed(points, Z_new, repeats):
    """Points ``Z_new`` (``repeats`` per point of ``points``), in the points' dtype."""
    Z_new = Z_new.reshape(-1, points.Z.shape[1]).astype(points.Z.dtype, copy=False)
    return points.derive(Z_new, repeats)


_COMMON = {
    "explainer": "no_validation",  # checked with the remedy in _prepare
    "X": ["array-like", "sparse matrix"],
    "per_sample": ["boolean"],
    "random_state": ["random_state"],
}


# ---------------------------------------------------------------------- infidelity
@validate_params(
    {
        **_COMMON,
        "n_perturbations": [Interval(Integral, 1, None, closed="left")],
        "noise_scale": [Interval(Real, 0, None, closed="neither")],
        "normalize": ["boolean"],
    },
    prefer_skip_nested_validation=True,
)
def infidelity(
    explainer,
    X,
    *,
    n_perturbations=10,
    noise_scale=0.1,
    normalize=False,
    per_sample=False,
    random_state=None,
):
    """Explanation infidelity (Yeh et al. 2019), with Captum's definition.

    For each row x, ``n_perturbations`` perturbations I = x − x̃ are drawn, with
    x̃ = x − ε and ε_k ~ N(0, (``noise_scale`` · std_k)²), std_k the feature's standard
    deviation in the fit data (``explainer.feature_std_``). The infidelity is the mean
    over them of (Iᵀφ(x) − (f(x) − f(x̃)))²: how well the attribution φ, read as a
    linear model of the output's change, predicts the change. Lower is better; 0 for
    the gradient of a linear model.

    Parameters
    ----------
    explainer : fitted explainer
        A fitted :class:`~sklearn_gradexplain.GradientExplainer` (or surrogate or
        selector); its attribution, engine and outputs are used.
    X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)
        The rows to measure on.
    n_perturbations : int, default=10
        Perturbed copies per row (model evaluations per row, besides f(x)).
    noise_scale : float, default=0.1
        Standard deviation of the noise, as a fraction of each feature's standard
        deviation.
    normalize : bool, default=False
        Scale φ per row by the β minimizing the squared error,
        β = Σ Iᵀφ·Δf / Σ (Iᵀφ)² (Captum's ``normalize=True``), so that only the
        direction of the attribution is measured.
    per_sample : bool, default=False
        Return the value of every row instead of the mean.
    random_state : int, RandomState instance or None, default=None
        Seeds the perturbations.

    Returns
    -------
    infidelity : float or ndarray of shape (n_samples,) or (n_samples, n_outputs)
        The mean over rows (and outputs), or the value of every row.

    See Also
    --------
    sensitivity_max : How much the attribution changes under small perturbations.

    References
    ----------
    C.-K. Yeh, C.-Y. Hsieh, A. S. Suggala, D. I. Inouye, P. Ravikumar, "On the
    (In)fidelity and Sensitivity of Explanations", NeurIPS 2019.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LinearRegression
    >>> from sklearn_gradexplain import GradientExplainer
    >>> from sklearn_gradexplain.metrics import infidelity
    >>> X = np.random.RandomState(0).normal(size=(50, 3))
    >>> explainer = GradientExplainer(LinearRegression()).fit(X, X @ [1.0, 2.0, 3.0])
    >>> round(infidelity(explainer, X, random_state=0), 6)  # exact for a linear model
    0.0
    """
    data, engine = _prepare(explainer, X)
    n_features = data.Z.shape[1]
    sigma = noise_scale * _feature_scale(explainer, n_features)
    draws = _RowDraws(random_state, (n_perturbations, n_features), "normal")
    out = np.empty((len(data), engine.n_outputs))
    for start, _, points, phi in explainer._attribution_chunks(engine, data):
        rows = max(1, engine.max_rows // (n_perturbations + 1))
        for low, high in _blocks(len(points), rows):
            block = points.select(low, high)
            Z = block.Z
            noise = draws.rows(start + low, start + high) * sigma
            perturbed = _perturbed(block, Z[:, None, :] - noise, n_perturbations)
            # I = x − x̃ as taken (rounding included); missing cells are not moved
            I = Z[:, None, :] - perturbed.Z.reshape(noise.shape)
            I = np.where(np.isnan(I), 0.0, I).astype(np.float64)
            at_x = _values(engine, block)
            at_perturbed = _values(engine, perturbed).reshape(
                len(block), n_perturbations, -1
            )
            change = at_x[:, None, :] - at_perturbed  # (rows, P, outputs)
            predicted = np.einsum("rpd,rkd->rpk", I, phi[low:high].astype(np.float64))
            if normalize:
                numerator = (predicted * change).sum(axis=1)
                denominator = (predicted * predicted).sum(axis=1)
                beta = numerator / np.where(denominator != 0, denominator, 1.0)
                predicted = beta[:, None, :] * predicted
            error = predicted - change
            out[start + low : start + high] = (error * error).mean(axis=1)
    return _result(out, per_sample, "infidelity")


# ----------------------------------------------------------------- sensitivity_max
@validate_params(
    {
        **_COMMON,
        "radius": [Interval(Real, 0, None, closed="neither")],
        "n_perturbations": [Interval(Integral, 1, None, closed="left")],
    },
    prefer_skip_nested_validation=True,
)
def sensitivity_max(
    explainer,
    X,
    *,
    radius=0.02,
    n_perturbations=10,
    per_sample=False,
    random_state=None,
):
    """Maximum sensitivity of the attribution (Yeh et al. 2019), as in Captum.

    For each row x, ``n_perturbations`` points x̃ are drawn uniformly in the box
    ``|x̃_k − x_k| ≤ radius · std_k`` (std_k: the feature's standard deviation in the
    fit data; Captum's default box has half-width ``radius`` in every unit), and the
    sensitivity is max ‖φ(x̃) − φ(x)‖ / ‖φ(x)‖ (Frobenius norm over the features; a
    zero ‖φ(x)‖ counts as 1). Lower is better: 0 for a constant attribution.

    Parameters
    ----------
    explainer : fitted explainer
        A fitted :class:`~sklearn_gradexplain.GradientExplainer` (or surrogate or
        selector).
    X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)
        The rows to measure on.
    radius : float, default=0.02
        Half-width of the box, as a fraction of each feature's standard deviation.
    n_perturbations : int, default=10
        Perturbed copies per row; each is attributed (the attribution's cost per
        row, ``n_perturbations`` times, besides the row itself).
    per_sample : bool, default=False
        Return the value of every row instead of the mean.
    random_state : int, RandomState instance or None, default=None
        Seeds the perturbations.

    Returns
    -------
    sensitivity : float or ndarray of shape (n_samples,) or (n_samples, n_outputs)
        The mean over rows (and outputs), or the value of every row.

    See Also
    --------
    infidelity : How well the attribution predicts the output's change.

    References
    ----------
    C.-K. Yeh, C.-Y. Hsieh, A. S. Suggala, D. I. Inouye, P. Ravikumar, "On the
    (In)fidelity and Sensitivity of Explanations", NeurIPS 2019.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LinearRegression
    >>> from sklearn_gradexplain import GradientExplainer
    >>> from sklearn_gradexplain.metrics import sensitivity_max
    >>> X = np.random.RandomState(0).normal(size=(50, 3))
    >>> explainer = GradientExplainer(LinearRegression()).fit(X, X @ [1.0, 2.0, 3.0])
    >>> round(sensitivity_max(explainer, X, random_state=0), 6)  # constant gradient
    0.0
    """
    data, engine = _prepare(explainer, X)
    n_features = data.Z.shape[1]
    half_width = radius * _feature_scale(explainer, n_features)
    draws = _RowDraws(random_state, (n_perturbations, n_features), "uniform")
    attribution = explainer.attribution_
    points_per_call = explainer._rows_per_chunk(engine, len(data) * n_perturbations)
    out = np.empty((len(data), engine.n_outputs))
    for start, _, points, phi in explainer._attribution_chunks(engine, data):
        rows = max(1, points_per_call // n_perturbations)
        for low, high in _blocks(len(points), rows):
            block = points.select(low, high)
            delta = (2.0 * draws.rows(start + low, start + high) - 1.0) * half_width
            perturbed = _perturbed(block, block.Z[:, None, :] + delta, n_perturbations)
            at_perturbed = attribution.attribute(engine, perturbed)
            _check_finite_attributions(at_perturbed, start + low)
            at_perturbed = at_perturbed.reshape(
                len(block), n_perturbations, *at_perturbed.shape[1:]
            ).astype(np.float64)
            at_x = phi[low:high].astype(np.float64)
            change = np.linalg.norm(at_perturbed - at_x[:, None], axis=-1)
            norm = np.linalg.norm(at_x, axis=-1)
            norm = np.where(norm == 0, 1.0, norm)
            out[start + low : start + high] = (change / norm[:, None, :]).max(axis=1)
    return _result(out, per_sample, "sensitivity_max")


# --------------------------------------------------------- deletion and insertion
def _curve_counts(n_features, n_steps):
    if n_steps is None:
        return np.arange(n_features + 1)
    if n_steps > n_features:
        raise ValueError(
            f"n_steps={n_steps} is more than the {n_features} features; use "
            "n_steps=None (one feature per step) or fewer steps."
        )
    return np.round(np.linspace(0, n_features, n_steps + 1)).astype(int)


def _area(curve, fractions):
    """Trapezoidal area under ``curve`` (last axis) over ``fractions``."""
    widths = np.diff(fractions)
    return ((curve[..., 1:] + curve[..., :-1]) / 2 * widths).sum(axis=-1)


def _ordered_curve(explainer, X, baseline, n_steps, per_sample, insertion):
    data, engine = _prepare(explainer, X)
    n_features = data.Z.shape[1]
    reference = _reference(explainer, baseline, n_features)
    counts = _curve_counts(n_features, n_steps)
    fractions = counts / n_features
    n_outputs = engine.n_outputs
    per_row = n_outputs * len(counts)
    out = np.empty((len(data), n_outputs))
    for start, _, points, phi in explainer._attribution_chunks(engine, data):
        for low, high in _blocks(len(points), engine.max_rows // per_row):
            block = points.select(low, high)
            Z = block.Z.astype(np.float64)
            magnitude = np.abs(phi[low:high].astype(np.float64))  # (rows, k, d)
            # rank[r, k, i]: position of feature i when sorted by decreasing |φ|
            order = np.argsort(-magnitude, axis=-1, kind="stable")
            rank = np.argsort(order, axis=-1, kind="stable")
            moved = rank[:, :, None, :] < counts[None, None, :, None]  # (r, k, J, d)
            if insertion:  # from the baseline, features of x added in order
                Z_new = np.where(moved, Z[:, None, None, :], reference)
            else:  # from x, features set to the baseline in order
                Z_new = np.where(moved, reference, Z[:, None, None, :])
            values = _values(engine, _perturbed(block, Z_new, per_row))
            values = values.reshape(len(block), n_outputs, len(counts), n_outputs)
            curve = values[:, np.arange(n_outputs), :, np.arange(n_outputs)]
            out[start + low : start + high] = _area(curve, fractions).T
    name = "insertion_auc" if insertion else "deletion_auc"
    return _result(out, per_sample, name)


_CURVE = {
    **_COMMON,
    "baseline": [None, "array-like"],
    "n_steps": [None, Interval(Integral, 1, None, closed="left")],
}
_CURVE.pop("random_state")


@validate_params(_CURVE, prefer_skip_nested_validation=True)
def deletion_auc(explainer, X, *, baseline=None, n_steps=None, per_sample=False):
    """Area under the model's output as features are removed, most important first.

    For each row x and output, the features are sorted by decreasing ``|φ_k(x)|`` (ties
    by column order) and set to the baseline one after another (or in ``n_steps``
    groups); the model's output is evaluated after each step, and the area under
    this curve, over the fraction of features removed (0 to 1, trapezoidal rule), is
    returned. A faithful attribution removes what the output rests on first: lower
    is better (Petsiuk et al. 2018, for classes' scores or probabilities).

    The baseline is ``baseline`` when given; otherwise the attribution's own
    (``attribution_.baseline_`` of integrated gradients, also inside SmoothGrad);
    otherwise the mean of each explained feature over the fit data.

    Parameters
    ----------
    explainer : fitted explainer
        A fitted :class:`~sklearn_gradexplain.GradientExplainer` (or surrogate or
        selector).
    X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)
        The rows to measure on.
    baseline : array-like of shape (n_features,), default=None
        The value of a removed feature, one per explained feature.
    n_steps : int, default=None
        Points of the curve besides the start: ``None`` removes one feature per
        step (n_features steps); an int removes ``n_features / n_steps`` (rounded)
        per step, for wide data.
    per_sample : bool, default=False
        Return the value of every row instead of the mean.

    Returns
    -------
    auc : float or ndarray of shape (n_samples,) or (n_samples, n_outputs)
        The mean over rows (and outputs), or the value of every row, in the
        output's units.

    See Also
    --------
    insertion_auc : Features added to the baseline, most important first.

    References
    ----------
    V. Petsiuk, A. Das, K. Saenko, "RISE: Randomized Input Sampling for Explanation
    of Black-box Models", BMVC 2018.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn_gradexplain import GradientExplainer
    >>> from sklearn_gradexplain.metrics import deletion_auc
    >>> X = np.random.RandomState(0).normal(size=(100, 4))
    >>> y = (X @ [3.0, 1.0, 0.0, 0.0] > 0).astype(int)
    >>> explainer = GradientExplainer(
    ...     LogisticRegression(), attribution="gradient_x_input").fit(X, y)
    >>> auc = deletion_auc(explainer, X[:5], per_sample=True)
    >>> auc.shape
    (5,)
    """
    return _ordered_curve(explainer, X, baseline, n_steps, per_sample, False)


@validate_params(_CURVE, prefer_skip_nested_validation=True)
def insertion_auc(explainer, X, *, baseline=None, n_steps=None, per_sample=False):
    """Area under the model's output as features are added, most important first.

    The mirror of :func:`deletion_auc`: each row starts at the baseline, and its
    features are given their values in x one after another, by decreasing ``|φ_k(x)|``;
    the area under the model's output over the fraction of features added (0 to 1)
    is returned. Higher is better. The baseline is chosen as in
    :func:`deletion_auc`.

    Parameters
    ----------
    explainer : fitted explainer
        A fitted :class:`~sklearn_gradexplain.GradientExplainer` (or surrogate or
        selector).
    X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)
        The rows to measure on.
    baseline : array-like of shape (n_features,), default=None
        The value of a feature not yet added, one per explained feature.
    n_steps : int, default=None
        Points of the curve besides the start (``None``: one feature per step).
    per_sample : bool, default=False
        Return the value of every row instead of the mean.

    Returns
    -------
    auc : float or ndarray of shape (n_samples,) or (n_samples, n_outputs)
        The mean over rows (and outputs), or the value of every row.

    See Also
    --------
    deletion_auc : Features removed from x, most important first.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn_gradexplain import GradientExplainer
    >>> from sklearn_gradexplain.metrics import deletion_auc, insertion_auc
    >>> X = np.random.RandomState(0).normal(size=(100, 4))
    >>> y = (X @ [3.0, 1.0, 0.0, 0.0] > 0).astype(int)
    >>> explainer = GradientExplainer(
    ...     LogisticRegression(), attribution="gradient_x_input").fit(X, y)
    >>> positive = X[y == 1]
    >>> bool(insertion_auc(explainer, positive) > deletion_auc(explainer, positive))
    True
    """
    return _ordered_curve(explainer, X, baseline, n_steps, per_sample, True)


# --------------------------------------------------------- faithfulness correlation
@validate_params(
    {
        **_COMMON,
        "n_subsets": [Interval(Integral, 2, None, closed="left")],
        "subset_size": [None, Interval(Integral, 1, None, closed="left")],
        "baseline": [None, "array-like"],
    },
    prefer_skip_nested_validation=True,
)
def faithfulness_correlation(
    explainer,
    X,
    *,
    n_subsets=50,
    subset_size=None,
    baseline=None,
    per_sample=False,
    random_state=None,
):
    """Faithfulness correlation (Bhatt et al. 2020).

    For each row x, ``n_subsets`` random subsets S of ``subset_size`` features are
    drawn; the metric is the Pearson correlation, over the subsets, of Σ_{k∈S} φ_k(x)
    with f(x) − f(x with the features of S set to the baseline). Higher is better
    (at most 1). The baseline is chosen as in :func:`deletion_auc`. A row where
    either quantity does not vary over the subsets (e.g. all attributions zero) has
    no correlation; it counts as 0, with a warning.

    Parameters
    ----------
    explainer : fitted explainer
        A fitted :class:`~sklearn_gradexplain.GradientExplainer` (or surrogate or
        selector).
    X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)
        The rows to measure on.
    n_subsets : int, default=50
        Random subsets per row (model evaluations per row, besides f(x)).
    subset_size : int, default=None
        Features per subset, from 1 to n_features − 1; ``None``: half of them
        (rounded down, at least 1).
    baseline : array-like of shape (n_features,), default=None
        The value a feature of S is set to, one per explained feature.
    per_sample : bool, default=False
        Return the value of every row instead of the mean.
    random_state : int, RandomState instance or None, default=None
        Seeds the subsets.

    Returns
    -------
    correlation : float or ndarray of shape (n_samples,) or (n_samples, n_outputs)
        The mean over rows (and outputs), or the value of every row.

    See Also
    --------
    infidelity : The same question with small Gaussian perturbations.

    References
    ----------
    U. Bhatt, A. Weller, J. M. F. Moura, "Evaluating and Aggregating Feature-based
    Model Explanations", IJCAI 2020.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LinearRegression
    >>> from sklearn_gradexplain import GradientExplainer
    >>> from sklearn_gradexplain.metrics import faithfulness_correlation
    >>> X = np.random.RandomState(0).normal(size=(50, 4))
    >>> explainer = GradientExplainer(
    ...     LinearRegression(), attribution="gradient_x_input"
    ... ).fit(X, X @ [1.0, -2.0, 3.0, 0.5])
    >>> score = faithfulness_correlation(
    ...     explainer, X, baseline=np.zeros(4), random_state=0)
    >>> round(score, 6)  # x ⊙ w sums exactly to f(x) − f(x with S at 0)
    1.0
    """
    data, engine = _prepare(explainer, X)
    n_features = data.Z.shape[1]
    if n_features < 2:
        raise ValueError(
            "faithfulness_correlation needs at least 2 explained features (subsets "
            "of one feature do not vary)."
        )
    size = max(1, n_features // 2) if subset_size is None else subset_size
    if size >= n_features:
        raise ValueError(
            f"subset_size={size} must be below the number of explained features "
            f"({n_features}): every subset would then be the same."
        )
    reference = _reference(explainer, baseline, n_features)
    draws = _RowDraws(random_state, (n_subsets, n_features), "uniform")
    out = np.empty((len(data), engine.n_outputs))
    undefined = 0
    for start, _, points, phi in explainer._attribution_chunks(engine, data):
        for low, high in _blocks(len(points), engine.max_rows // (n_subsets + 1)):
            block = points.select(low, high)
            Z = block.Z
            # the `size` features of smallest uniform draw: a uniform random subset
            keys = draws.rows(start + low, start + high)
            rank = np.argsort(np.argsort(keys, axis=-1, kind="stable"), axis=-1)
            chosen = rank < size  # (rows, subsets, d)
            removed = _perturbed(
                block, np.where(chosen, reference, Z[:, None, :]), n_subsets
            )
            at_x = _values(engine, block)
            at_removed = _values(engine, removed).reshape(len(block), n_subsets, -1)
            change = at_x[:, None, :] - at_removed  # (rows, S, outputs)
            sums = np.einsum(
                "rsd,rkd->rsk", chosen.astype(np.float64), phi[low:high]
            )  # (rows, S, outputs)
            correlation, defined = _pearson(sums, change)
            undefined += int(np.sum(~defined))
            out[start + low : start + high] = correlation
    if undefined:
        _warn(
            f"faithfulness_correlation is undefined on {undefined} of {out.size} rows "
            "and outputs, where the sums of attributions or the model's changes do "
            "not vary over the subsets (e.g. all attributions are zero); they count "
            "as 0.",
            UserWarning,
        )
    return _result(out, per_sample, "faithfulness_correlation")


def _pearson(a, b):
    """Pearson correlation along axis 1, and where it is defined (both vary).

    A spread at the rounding level of the values (e.g. sums of equal attributions
    over subsets of one size) is no variation.
    """
    n = a.shape[1]
    scale_a = np.abs(a).max(axis=1) * np.sqrt(n)
    scale_b = np.abs(b).max(axis=1) * np.sqrt(n)
    a = a - a.mean(axis=1, keepdims=True)
    b = b - b.mean(axis=1, keepdims=True)
    spread_a = np.sqrt((a * a).sum(axis=1))
    spread_b = np.sqrt((b * b).sum(axis=1))
    defined = (spread_a > 1e-12 * scale_a) & (spread_b > 1e-12 * scale_b)
    with np.errstate(invalid="ignore", divide="ignore"):
        correlation = (a * b).sum(axis=1) / (spread_a * spread_b)
    return np.where(defined, np.clip(correlation, -1.0, 1.0), 0.0), defined


# ------------------------------------------------------- directional global gradient
@validate_params(
    {
        "explainer": "no_validation",  # checked with the remedy in _prepare
        "X": ["array-like", "sparse matrix"],
        "n_directions": [Interval(Integral, 1, None, closed="left")],
        "directions": [StrOptions({"rademacher", "gaussian"})],
        "step": [None, Interval(Real, 0, None, closed="neither")],
        "sample_weight": [None, "array-like"],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def directional_global_gradient(
    explainer,
    X,
    *,
    n_directions=1,
    directions="rademacher",
    step=None,
    sample_weight=None,
    random_state=None,
):
    """The mean gradient of any model from 2 · ``n_directions`` evaluations per row.

    Full finite differences cost 2·d model evaluations per row. Here each row x gets
    ``n_directions`` random directions u (independent Rademacher ±1 or standard
    normal entries, so E[u uᵀ] = I), scaled per feature by ``s_k = max(std_k, |x_k|)``,
    and one central difference along each, D = (f(x + h s⊙u) − f(x − h s⊙u)) / 2h ≈
    Σ_k s_k u_k ∂_k f(x). Then g(x) = mean over directions of (u_k D / s_k) is an
    unbiased estimate of ∇f(x) (up to the O(h²) error of the difference), and the
    mean of g over the rows estimates the global gradient ḡ, with a standard error
    from the spread of g over the rows (std, ddof=1, / √n: the sampling of rows and
    of directions together, the model held fixed). Rademacher directions have the
    smaller variance: Var(u_k uᵀ∇f) = ‖∇f‖² − ∂_k f² against ‖∇f‖² + ∂_k f² for
    Gaussian ones. That noise sums over all features: at the same number of model
    evaluations, full differences of a random subsample of rows are usually more
    accurate (see the user guide, "A global gradient for fewer model calls"); this
    estimator is for budgets below that, and its standard error says how far to
    trust it.

    Parameters
    ----------
    explainer : fitted explainer
        A fitted :class:`~sklearn_gradexplain.GradientExplainer` (or surrogate or
        selector): its model, response, outputs and explained columns are used (not
        its attribution).
    X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)
        The rows the mean gradient is taken over.
    n_directions : int, default=1
        Random directions per row.
    directions : {"rademacher", "gaussian"}, default="rademacher"
        The distribution of the entries of u.
    step : float, default=None
        The relative step h; ``None`` uses the explainer's finite-difference step
        when it has one, else the central default for the data's precision (6e-6
        in float64, 5e-3 in float32).
    sample_weight : array-like of shape (n_samples,), default=None
        Frequency weights of the rows.
    random_state : int, RandomState instance or None, default=None
        Seeds the directions.

    Returns
    -------
    result : :class:`~sklearn.utils.Bunch`
        ``global_gradient`` (shaped like the explainer's ``global_gradient_``),
        ``stderr`` (same shape), ``n_evaluations`` (model evaluations: 2 ·
        ``n_directions`` · n_samples rows, sent to the model in batches) and
        ``n_directions``.

    See Also
    --------
    sklearn_gradexplain.GradientExplainer : ``global_gradient_`` from full gradients.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LinearRegression
    >>> from sklearn_gradexplain import GradientExplainer
    >>> from sklearn_gradexplain.metrics import directional_global_gradient
    >>> X = np.random.RandomState(0).normal(size=(2000, 3))
    >>> explainer = GradientExplainer(LinearRegression()).fit(X, X @ [1.0, 2.0, 3.0])
    >>> result = directional_global_gradient(explainer, X, random_state=0)
    >>> result.n_evaluations  # 2 per row, against 6 for full central differences
    4000
    >>> bool(np.all(np.abs(result.global_gradient - [1, 2, 3]) < 4 * result.stderr))
    True
    """
    data, engine = _prepare(explainer, X)
    n_rows, n_features = data.Z.shape
    if sample_weight is not None:
        from ._compat import check_sample_weight

        sample_weight = check_sample_weight(sample_weight, data.Z)
    float32 = data.Z.dtype == np.float32 or getattr(engine, "dtype", None) == np.float32
    if step is None:
        options = getattr(explainer, "finite_difference_", None)
        if options is not None and options.step != "auto":
            step = float(options.step)
        else:
            step = AUTO_STEPS[("central", np.float32 if float32 else np.float64)]
    std = _feature_scale(explainer, n_features)
    draws = _RowDraws(random_state, (n_directions, n_features), "uniform")
    moments = RunningMoments()
    rows_per_block = max(1, engine.max_rows // (2 * n_directions))
    for start, stop in _blocks(n_rows, rows_per_block):
        points = data.chunk(start, stop)
        Z = points.Z.astype(np.float64)
        keys = draws.rows(start, stop)
        if directions == "rademacher":
            u = np.where(keys < 0.5, -1.0, 1.0)
        else:  # the normal quantile of the uniform draw
            from scipy.special import ndtri

            u = ndtri(np.clip(keys, 1e-300, 1 - 1e-16))
        scale = np.maximum(std, np.abs(np.nan_to_num(Z, nan=0.0)))
        scale = np.where(scale > 0, scale, 1.0)  # (rows, d)
        delta = step * scale[:, None, :] * np.where(np.isnan(Z), 0.0, 1.0)[:, None, :]
        delta = delta * u  # (rows, m, d)
        both = np.stack([Z[:, None, :] + delta, Z[:, None, :] - delta], axis=2)
        values = _values(engine, _perturbed(points, both, 2 * n_directions))
        values = values.reshape(len(points), n_directions, 2, -1)
        D = (values[:, :, 0] - values[:, :, 1]) / (2 * step)  # (rows, m, outputs)
        g = np.einsum("rmk,rmd->rkd", D, u / scale[:, None, :]) / n_directions
        if not np.all(np.isfinite(g)):
            raise ValueError(
                "The directional differences are not finite: the model's response "
                "overflows near some rows; rescale the features."
            )
        weights = None if sample_weight is None else sample_weight[start:stop]
        moments.update(g, weights)
    mean, stderr = moments.mean, moments.stderr()
    if engine.n_outputs == 1:
        mean, stderr = mean[0], stderr[0]
    return Bunch(
        global_gradient=mean,
        stderr=stderr,
        n_evaluations=2 * n_directions * n_rows,
        n_directions=n_directions,
    )
