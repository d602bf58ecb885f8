"""Layer-wise relevance propagation (Bach et al. 2015; Montavon et al. 2019).

The rules live with the network they propagate through
(:mod:`sklearn_gradexplain._engines._lrp`); this object holds the rule's settings.
"""

from numbers import Real

from .._compat import Interval, StrOptions
from ._base import BaseAttribution, register

RULES = ("zero", "epsilon", "zplus", "alpha2beta1", "gamma")


@register("lrp")
class LRP(BaseAttribution):
    """Layer-wise relevance propagation from the explained output's raw value.

    Relevance starts at the target logit (classifiers) or the prediction
    (regressors), never at a probability, and is redistributed layer by layer to the
    input. With ``a`` the input of a layer, ``w`` its weights and
    ``z_k = Σ_j a_j w_jk + b_k``:

    - ``"zero"``: R_j = Σ_k a_j w_jk / z_k · R_k;
    - ``"epsilon"``: the denominator z_k + ε·sign(z_k), sign(0) = 1;
    - ``"zplus"``: only the positive contributions (a_j w_jk)⁺;
    - ``"alpha2beta1"``: 2 × the positive share − 1 × the negative share;
    - ``"gamma"``: weights w + γ·w⁺ (Montavon et al. 2019), generalized as in
      zennit: a unit whose output z_k (bias included) is positive shares its
      relevance with weights w + γ·w⁺ on positive inputs and w + γ·w⁻ on negative
      ones; a unit with z_k < 0 with the two exchanged.

    Needs the autograd engine and a supported network: an ``nn.Sequential`` (a
    skorch net's ``module_``, a :class:`~sklearn_gradexplain.TorchModel`) or an
    ``MLPClassifier``/``MLPRegressor``, optionally after linear preprocessing.

    Parameters
    ----------
    rule : {"zero", "epsilon", "zplus", "alpha2beta1", "gamma"}, default="epsilon"
        The rule applied to every linear and convolutional layer.
    epsilon : float, default=1e-6
        Stabilizer of the epsilon rule.
    gamma : float, default=0.25
        Weight of the positive part in the gamma rule.
    bias : bool, default=False
        Whether the ``zplus``, ``alpha2beta1`` and ``gamma`` denominators include the
        layer biases (zennit's default) or leave them out (the convention of 0.1 and
        of the LRP papers' z⁺ rule).

    Attributes
    ----------
    n_features_in_ : int
        Number of explained features seen during fit.

    References
    ----------
    W. Samek, G. Montavon, A. Binder, S. Lapuschkin, K.-R. Müller, "Interpreting the
    Predictions of Complex ML Models by Layer-wise Relevance Propagation",
    arXiv:1611.08191, 2016.

    Examples
    --------
    >>> from sklearn_gradexplain.attributions import LRP
    >>> LRP(rule="zplus", bias=True)
    LRP(bias=True, rule='zplus')
    """

    _parameter_constraints = {
        "rule": [StrOptions(set(RULES))],
        "epsilon": [Interval(Real, 0, None, closed="left")],
        "gamma": [Interval(Real, 0, None, closed="left")],
        "bias": ["boolean"],
    }
    _engines = ("autograd",)
    _needs_layers = True
    _additive = True

    def __init__(self, rule="epsilon", epsilon=1e-6, gamma=0.25, bias=False):
        self.rule = rule
        self.epsilon = epsilon
        self.gamma = gamma
        self.bias = bias

    def _attribute(self, engine, points):
        return engine.relevance(points, self)
