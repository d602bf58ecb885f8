"""SmoothGrad and its kinds (Smilkov et al. 2017; Adebayo et al. 2018) around any
attribution.

The same ``n_samples`` noise vectors, drawn once in ``fit``, are added to every row, so
a row's result never depends on which rows share its chunk (invariant to row order
and subsets, reproducible with an integer ``random_state``).
"""

from numbers import Integral, Real

import numpy as np
from sklearn.base import clone
from sklearn.utils import check_random_state

from .._compat import Interval, StrOptions
from .._statistics import ColumnSummary
from ._base import SHORTHANDS, BaseAttribution, get_attribution, register

KINDS = ("smoothgrad", "smoothgrad_sq", "vargrad")


@register("vargrad", kind="vargrad")
@register("smoothgrad")
class SmoothGrad(BaseAttribution):
    """An attribution averaged over noisy copies of the input (a noise tunnel).

    The wrapped attribution is evaluated at x + ε_s for ``n_samples`` noise vectors
    ε_s ~ N(0, σ²), σ = ``noise_level`` × each feature's range in the fit data, and
    summarised by ``kind``: the mean (SmoothGrad), the mean of squares
    (SmoothGrad²) or the variance (VarGrad, ddof=0 as in Captum). Wrapping gradient ×
    input gives (x + ε) ⊙ ∇f(x + ε), as Captum's ``NoiseTunnel`` does.

    Parameters
    ----------
    attribution : str or attribution object, default="gradient"
        The attribution evaluated at the noisy copies.
    noise_level : float, default=0.15
        Noise standard deviation as a fraction of each feature's range; 0 gives the
        wrapped attribution.
    n_samples : int, default=25
        Noisy copies per sample.
    kind : {"smoothgrad", "smoothgrad_sq", "vargrad"}, default="smoothgrad"
        The statistic over the noisy copies.
    random_state : int, RandomState instance or None, default=None
        Seeds the noise, drawn once in ``fit``.

    Attributes
    ----------
    attribution_ : attribution object
        The fitted wrapped attribution.
    noise_ : ndarray of shape (n_samples, n_features)
        The noise vectors added to every sample.
    n_features_in_ : int
        Number of explained features seen during fit.

    References
    ----------
    D. Smilkov, N. Thorat, B. Kim, F. Viégas, M. Wattenberg, "SmoothGrad: removing
    noise by adding noise", arXiv:1706.03825, 2017.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LinearRegression
    >>> from sklearn_gradexplain import GradientExplainer
    >>> from sklearn_gradexplain.attributions import SmoothGrad
    >>> X = np.random.RandomState(0).normal(size=(20, 2))
    >>> smooth = SmoothGrad(n_samples=10, random_state=0)
    >>> explainer = GradientExplainer(LinearRegression(), attribution=smooth)
    >>> explainer = explainer.fit(X, X @ [2.0, -1.0])
    >>> explainer.explain(X[:1]).round(6)  # a linear model's gradient, for any noise
    array([[ 2., -1.]])
    >>> explainer.attribution_.noise_.shape
    (10, 2)
    """

    _parameter_constraints = {
        "attribution": [StrOptions(SHORTHANDS), BaseAttribution],
        "noise_level": [Interval(Real, 0, None, closed="left")],
        "n_samples": [Interval(Integral, 1, None, closed="left")],
        "kind": [StrOptions(set(KINDS))],
        "random_state": ["random_state"],
    }
    _random = True

    def __init__(
        self,
        attribution="gradient",
        noise_level=0.15,
        n_samples=25,
        kind="smoothgrad",
        random_state=None,
    ):
        self.attribution = attribution
        self.noise_level = noise_level
        self.n_samples = n_samples
        self.kind = kind
        self.random_state = random_state

    def _inner(self):
        inner = getattr(self, "attribution_", None)
        return get_attribution(self.attribution) if inner is None else inner

    @property
    def engines(self):
        return self._inner().engines

    @property
    def needs_layers(self):
        return self._inner().needs_layers

    @property
    def additive(self):
        return self.kind == "smoothgrad" and self._inner().additive

    @property
    def gradient_like(self):
        return self.kind == "smoothgrad" and self._inner().gradient_like

    @property
    def input_power(self):
        power = self._inner().input_power
        return power if self.kind == "smoothgrad" else 2 * power

    def _check_settings(self, n_features=None):
        inner = self._inner()
        if hasattr(inner, "_check_settings"):
            inner._check_settings(n_features)

    def _fit(self, X, sample_weight):
        self.attribution_ = clone(get_attribution(self.attribution)).fit(
            X, sample_weight=sample_weight
        )
        rng = check_random_state(self.random_state)
        with np.errstate(over="ignore", invalid="ignore"):
            sigma = self.noise_level * ColumnSummary(X, sample_weight).range
            noise = rng.standard_normal((self.n_samples, X.shape[1])) * sigma
        if not np.all(np.isfinite(noise)):
            raise ValueError(
                f"SmoothGrad noise overflows: noise_level={self.noise_level!r} times "
                "the features' ranges is not a finite number; lower noise_level."
            )
        self.noise_ = noise

    def n_points(self):
        return self.n_samples * self._inner().n_points()

    def _attribute(self, engine, points):
        Z = points.Z
        noise = self.noise_.astype(Z.dtype, copy=False)
        noisy = (Z[:, None, :] + noise[None, :, :]).reshape(-1, Z.shape[1])
        inner = self.attribution_.attribute(engine, points.derive(noisy, len(noise)))
        inner = inner.reshape(len(Z), len(noise), *inner.shape[1:])
        if self.kind == "smoothgrad":
            return inner.mean(axis=1)
        if self.kind == "smoothgrad_sq":
            return (inner * inner).mean(axis=1)
        return inner.var(axis=1)

    def diagnostics(self, engine):
        return []
