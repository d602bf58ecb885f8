"""The layer stack that LRP propagates relevance through (Bach et al. 2015).

Relevance starts at the explained output's *raw* value (the logit for classifiers, never
the probability) and is redistributed layer by layer down to the input. With ``a`` the
input of a layer, ``w`` its weights and ``z_k = Σ_j a_j w_jk + b_k``:

* ``"zero"`` (LRP-0): ``R_j = Σ_k a_j w_jk / z_k · R_k``;
* ``"epsilon"`` (LRP-ε): denominator ``z_k + ε sign(z_k)`` with ``sign(0) = 1``;
* ``"zplus"`` (z⁺): the positive contributions of positive inputs and the negative
  weights of negative inputs, ``z⁺_k = Σ_j (a⁺_j w⁺_jk + a⁻_j w⁻_jk) [+ b⁺_k]``,
  ``R_j = Σ_k (a⁺_j w⁺_jk + a⁻_j w⁻_jk) / z⁺_k · R_k`` (zennit's ``ZPlus``);
* ``"alpha2beta1"`` (αβ, α = 2, β = 1): ``R_j = Σ_k (α z⁺_jk / z⁺_k − β z⁻_jk / z⁻_k)
  R_k`` with the negative share ``z⁻_k = Σ_j (a⁺_j w⁻_jk + a⁻_j w⁺_jk) [+ b⁻_k]``;
* ``"gamma"`` (Montavon et al. 2019, generalized as in zennit): where ``z_k > 0`` the
  positive share with weights ``w + γ w⁺`` for positive inputs and ``w + γ w⁻`` for
  negative ones; where ``z_k < 0`` the same with ``w⁺`` and ``w⁻`` exchanged.

The bracketed bias terms are kept with ``LRP(bias=True)`` (zennit's default) and left
out with ``bias=False`` (the z⁺ rule of the LRP papers, and 0.1's convention).

A rule is applied to every ``Linear``/``Conv1d``/``Conv2d`` layer. Element-wise
activations (``ReLU``, ``LeakyReLU``, ``Tanh``, ``Identity``) and ``Dropout`` (identity
in evaluation mode) pass relevance unchanged, ``Flatten``/``Unflatten`` reshape it, and
pooling layers redistribute it in proportion to their inputs (the LRP-0 form: max
pooling gives each window's relevance to its maximum). A final ``Softmax``,
``LogSoftmax`` or ``Sigmoid`` is dropped, so that relevance starts at the logit. Where a
denominator is zero, the terms pass zero relevance instead of 0/0. A module used twice
in the network is propagated through once per occurrence.

Each layer uses the efficient gradient form ``s = R / z``, ``c = ∂(z·s)/∂a``,
``R = a ⊙ c`` in torch, on detached copies of the parameters: the network is never
modified (no hooks, no ``requires_grad`` changes).

Preprocessing in a ``Pipeline`` before the network (``StandardScaler``,
``RobustScaler``, ``MinMaxScaler``, ``MaxAbsScaler``, ``PCA``) is affine,
``x ↦ (x − m) A``. Relevance passes through it with the LRP-0 rule (LRP-ε when
``rule="epsilon"``) applied to the linear part on the centred input ``x − m``, so
the shift absorbs no relevance and the total is conserved. A scaler (diagonal ``A``)
therefore reports each feature's relevance at the network input unchanged.
"""

import numpy as np

from .._compat import torch_children
from ..exceptions import NotDifferentiableError

_UNSUPPORTED = (
    "LRP needs a supported network: a torch nn.Sequential of Linear/Conv1d/Conv2d, "
    "ReLU/LeakyReLU/Tanh, Flatten, pooling and Dropout layers (the module_ of a "
    "skorch net) or an MLPClassifier/MLPRegressor with activation 'relu', 'tanh' or "
    "'identity', optionally after linear preprocessing in a Pipeline"
)

_MLP_ACTIVATIONS = ("relu", "tanh", "identity")


# --------------------------------------------------------------------------- helpers
def _safe_divide(R, den):
    """R / den, zero where den == 0 (den broadcasts over R's leading output axis)."""
    import torch

    zero = den == 0
    return torch.where(zero, 0.0, R / torch.where(zero, 1.0, den))


def _stabilize(z, epsilon):
    """z + ε sign(z), sign(0) = 1."""
    import torch

    return z + epsilon * torch.where(z >= 0, 1.0, -1.0).to(z.dtype)


def _vjp(z, leaves, S):
    """For every s in S (one per output): ∂(z·s)/∂leaf for each leaf, stacked."""
    import torch

    results = [[] for _ in leaves]
    for i, s in enumerate(S):
        grads = torch.autograd.grad(
            z, leaves, s, retain_graph=i < len(S) - 1, allow_unused=True
        )
        for result, grad, leaf in zip(results, grads, leaves, strict=True):
            result.append(torch.zeros_like(leaf) if grad is None else grad)
    return [torch.stack(result) for result in results]


# --------------------------------------------------------------------------- layers
class _Weighted:
    """Linear or convolution layer: the LRP rule applies here."""

    def __init__(self, module, weight, bias):
        self.module = module
        self.weight = weight
        self.bias = bias

    def _op(self, a, weight, bias):
        from torch.func import functional_call

        params = {"weight": weight}
        if self.bias is not None:
            params["bias"] = bias if bias is not None else self.bias.new_zeros(())
            params["bias"] = params["bias"].expand_as(self.bias)
        return functional_call(self.module, params, (a,))

    def forward(self, a):
        return self._op(a, self.weight, self.bias)

    def _share(self, positive, negative, w_positive, w_negative, bias, R):
        """Relevance through the share z = w_positive·a⁺ + w_negative·a⁻ (+ bias)."""
        leaves = [positive, negative]
        z = self._op(positive, w_positive, bias) + self._op(negative, w_negative, None)
        c_pos, c_neg = _vjp(z, leaves, _safe_divide(R, z.detach()))
        return positive.detach() * c_pos + negative.detach() * c_neg

    def relevance(self, a, R, lrp):
        import torch

        rule = lrp.rule
        with torch.enable_grad():
            if rule in ("zero", "epsilon"):
                leaf = a.detach().requires_grad_(True)
                z = self._op(leaf, self.weight, self.bias)
                den = z.detach()
                if rule == "epsilon":
                    den = _stabilize(den, lrp.epsilon)
                (c,) = _vjp(z, [leaf], _safe_divide(R, den))
                return a * c
            positive = a.clamp(min=0).detach().requires_grad_(True)
            negative = a.clamp(max=0).detach().requires_grad_(True)
            W = self.weight
            w_pos, w_neg = W.clamp(min=0), W.clamp(max=0)
            b = self.bias if lrp.bias else None
            b_pos = None if b is None else b.clamp(min=0)
            b_neg = None if b is None else b.clamp(max=0)
            if rule == "zplus":
                return self._share(positive, negative, w_pos, w_neg, b_pos, R)
            if rule == "alpha2beta1":
                up = self._share(positive, negative, w_pos, w_neg, b_pos, R)
                down = self._share(positive, negative, w_neg, w_pos, b_neg, R)
                return 2.0 * up - 1.0 * down
            # gamma: which share a unit uses depends on the sign of its output
            gamma = lrp.gamma
            with torch.no_grad():
                z = self._op(a, W, self.bias)
            above = R * (z > 0).to(R.dtype)
            below = R * (z < 0).to(R.dtype)
            up = self._share(
                positive,
                negative,
                W + gamma * w_pos,
                W + gamma * w_neg,
                None if b is None else b + gamma * b_pos,
                above,
            )
            down = self._share(
                positive,
                negative,
                W + gamma * w_neg,
                W + gamma * w_pos,
                None if b is None else b + gamma * b_neg,
                below,
            )
            return up + down


class _Pool:
    """Pooling: relevance in proportion to the inputs (LRP-0 gradient form)."""

    def __init__(self, module):
        self.module = module

    def forward(self, a):
        return self.module(a)

    def relevance(self, a, R, lrp):
        import torch

        with torch.enable_grad():
            leaf = a.detach().requires_grad_(True)
            z = self.module(leaf)
            (c,) = _vjp(z, [leaf], _safe_divide(R, z.detach()))
        return a * c


class _Pass:
    """Element-wise activation or dropout: relevance passes unchanged."""

    def __init__(self, module):
        self.module = module

    def forward(self, a):
        return self.module(a)

    def relevance(self, a, R, lrp):
        return R


class _Reshape(_Pass):
    """Flatten / Unflatten: relevance takes the input's shape."""

    def relevance(self, a, R, lrp):
        return R.reshape(R.shape[0], *a.shape)


class _Affine:
    """Preprocessing ``x ↦ (x − center) @ matrix`` (or ``* scale`` when diagonal)."""

    def __init__(self, center, matrix=None, scale=None):
        self.center = center
        self.matrix = matrix
        self.scale = scale

    def forward(self, a):
        centred = a - self.center
        return centred * self.scale if self.matrix is None else centred @ self.matrix

    def relevance(self, a, R, lrp):
        if self.matrix is None:  # diagonal: each feature keeps its relevance
            return R
        centred = a - self.center
        den = centred @ self.matrix
        if lrp.rule == "epsilon":
            den = _stabilize(den, lrp.epsilon)
        return centred * (_safe_divide(R, den) @ self.matrix.T)


# --------------------------------------------------------------------------- network
class LRPNetwork:
    """A layer stack with its forward pass and relevance propagation.

    Called on a tensor it returns the raw network output (the logits), so it serves
    as the autograd engine's function; :meth:`relevance` runs LRP.

    Parameters
    ----------
    steps : list
        Preprocessing steps and layers, in forward order.
    dtype : torch.dtype
        Dtype the input is cast to (the network's parameters' dtype).
    """

    def __init__(self, steps, dtype):
        self.steps = steps
        self.dtype = dtype

    def __call__(self, X):
        a = X.to(self.dtype)
        for step in self.steps:
            a = step.forward(a)
        return a

    def relevance(self, X, outputs, lrp):
        """Relevance of every input column, shape (n, n_outputs, n_columns).

        Parameters
        ----------
        X : tensor of shape (n, n_columns)
        outputs : OutputSelection
            Columns of the raw output where relevance starts, and their signs.
        lrp : LRP
            The rule and its settings.
        """
        import torch

        with torch.no_grad():
            a = X.to(self.dtype)
            inputs = []
            for step in self.steps:
                inputs.append(a)
                a = step.forward(a)
            raw = a.reshape(a.shape[0], -1)
            R = raw.new_zeros((outputs.n_outputs, *raw.shape))
            selected = zip(outputs.columns, outputs.signs, strict=True)
            for i, (column, sign) in enumerate(selected):
                R[i, :, column] = float(sign) * raw[:, column]
            R = R.reshape(outputs.n_outputs, *a.shape)
            for step, a in zip(reversed(self.steps), reversed(inputs), strict=True):
                R = step.relevance(a, R, lrp)
        return R.reshape(R.shape[0], R.shape[1], -1).transpose(0, 1)


def _sequential_steps(module, prefix=""):
    """The LRP steps of an ``nn.Sequential`` (nested ones flattened).

    Every occurrence of a module counts: a ReLU instance used twice is two steps
    (``named_children`` would skip the repeat and explain another network).
    """
    from torch import nn

    if not isinstance(module, nn.Sequential):
        raise NotDifferentiableError(
            f"{_UNSUPPORTED}; got a {type(module).__name__} module."
        )
    steps = []
    for name, child in torch_children(module):
        path = f"{prefix}{name}"
        if isinstance(child, nn.Sequential):
            steps.extend(_sequential_steps(child, f"{path}."))
        elif isinstance(child, (nn.Linear, nn.Conv1d, nn.Conv2d)):
            bias = None if child.bias is None else child.bias.detach()
            steps.append(_Weighted(child, child.weight.detach(), bias))
        elif isinstance(
            child,
            (
                nn.MaxPool1d,
                nn.MaxPool2d,
                nn.AvgPool1d,
                nn.AvgPool2d,
                nn.AdaptiveAvgPool1d,
                nn.AdaptiveAvgPool2d,
                nn.AdaptiveMaxPool1d,
                nn.AdaptiveMaxPool2d,
            ),
        ):
            if getattr(child, "return_indices", False):
                raise NotDifferentiableError(f"{_UNSUPPORTED}; {path} returns indices.")
            steps.append(_Pool(child))
        elif isinstance(child, (nn.Flatten, nn.Unflatten)):
            steps.append(_Reshape(child))
        elif isinstance(child, (nn.ReLU, nn.LeakyReLU, nn.Tanh, nn.Identity)):
            steps.append(_Pass(child))
        elif isinstance(child, (nn.Dropout, nn.Dropout1d, nn.Dropout2d)):
            steps.append(_Pass(child))  # identity in evaluation mode
        elif isinstance(child, _output_layers()):
            steps.append(_Pass(child))  # allowed as the output layer only, see below
        else:
            raise NotDifferentiableError(
                f"{_UNSUPPORTED}; layer {path} is a {type(child).__name__}."
            )
    return steps


def _output_layers():
    from torch import nn

    return (nn.Softmax, nn.LogSoftmax, nn.Sigmoid)


def _strip_output_nonlinearity(steps):
    """Drop a final Softmax/LogSoftmax/Sigmoid: relevance starts at the logit."""
    output = _output_layers()
    if steps and type(steps[-1]) is _Pass and isinstance(steps[-1].module, output):
        steps = steps[:-1]
    for step in steps:
        if type(step) is _Pass and isinstance(step.module, output):
            raise NotDifferentiableError(
                f"{_UNSUPPORTED}; {type(step.module).__name__} is only supported as "
                "the output layer."
            )
    return steps


def _affine_step(transformer, name, dtype, device):
    """The :class:`_Affine` step of a linear preprocessing transformer (or None)."""
    import torch
    from sklearn.decomposition import PCA
    from sklearn.preprocessing import (
        MaxAbsScaler,
        MinMaxScaler,
        RobustScaler,
        StandardScaler,
    )

    def tensor(values):
        return torch.as_tensor(np.asarray(values, dtype=np.float64), device=device).to(
            dtype
        )

    if transformer is None or transformer == "passthrough":
        return None
    if type(transformer) is StandardScaler:
        center = transformer.mean_ if transformer.with_mean else 0.0
        scale = 1.0 if transformer.scale_ is None else 1.0 / transformer.scale_
        return _Affine(tensor(center), scale=tensor(scale))
    if type(transformer) is RobustScaler:
        center = 0.0 if transformer.center_ is None else transformer.center_
        scale = 1.0 if transformer.scale_ is None else 1.0 / transformer.scale_
        return _Affine(tensor(center), scale=tensor(scale))
    if type(transformer) is MinMaxScaler and not transformer.clip:
        # x * scale_ + min_ = (x + min_ / scale_) * scale_
        center = -transformer.min_ / transformer.scale_
        return _Affine(tensor(center), scale=tensor(transformer.scale_))
    if type(transformer) is MaxAbsScaler:
        return _Affine(tensor(0.0), scale=tensor(1.0 / transformer.scale_))
    if type(transformer) is PCA:
        matrix = transformer.components_.T
        if transformer.whiten:
            matrix = matrix / np.sqrt(transformer.explained_variance_)
        return _Affine(tensor(transformer.mean_), matrix=tensor(matrix))
    raise NotDifferentiableError(
        f"{_UNSUPPORTED}; pipeline step {name!r} ({type(transformer).__name__}) is "
        "not a supported linear preprocessing step."
    )


def _split_pipeline(model):
    """(preprocessing steps, final model) of a model, unwrapping FrozenEstimators."""
    from sklearn.pipeline import Pipeline

    from .._response import unwrap_model

    model = unwrap_model(model)
    if type(model) is Pipeline:
        return list(model.steps[:-1]), unwrap_model(model.steps[-1][1])
    return [], model


def check_lrp_supported(estimator):
    """Raise ``NotDifferentiableError`` if ``estimator`` surely has no LRP network.

    Works on unfitted estimators (types and settings only), so that an unsupported
    model is reported before it is fitted.
    """
    from sklearn.neural_network import MLPClassifier, MLPRegressor

    from .._response import is_torch_net

    preprocessing, model = _split_pipeline(estimator)
    for name, transformer in preprocessing:
        if transformer is None or transformer == "passthrough":
            continue
        if type(transformer) not in _affine_types():
            raise NotDifferentiableError(
                f"{_UNSUPPORTED}; pipeline step {name!r} "
                f"({type(transformer).__name__}) is not a supported linear "
                "preprocessing step."
            )
    if type(model) in (MLPClassifier, MLPRegressor):
        if model.activation not in _MLP_ACTIVATIONS:
            raise NotDifferentiableError(
                f"{_UNSUPPORTED}; got activation={model.activation!r}."
            )
        return
    if not is_torch_net(model):
        raise NotDifferentiableError(f"{_UNSUPPORTED}; got {type(model).__name__}.")


def _affine_types():
    from sklearn.decomposition import PCA
    from sklearn.preprocessing import (
        MaxAbsScaler,
        MinMaxScaler,
        RobustScaler,
        StandardScaler,
    )

    return (StandardScaler, RobustScaler, MinMaxScaler, MaxAbsScaler, PCA)


def lrp_network(model, dtype, device):
    """The :class:`LRPNetwork` of a fitted model.

    Parameters
    ----------
    model : skorch net, TorchModel, MLPClassifier, MLPRegressor or Pipeline
        A torch network whose module is an ``nn.Sequential``, or a relu/tanh MLP,
        optionally after linear preprocessing steps of a ``Pipeline``.
    dtype : torch.dtype
        Computation dtype for scikit-learn models (torch modules keep theirs).
    device : str or torch.device

    Returns
    -------
    network : LRPNetwork

    Raises
    ------
    NotDifferentiableError
        For any other model.

    Examples
    --------
    >>> import torch
    >>> from sklearn.neural_network import MLPRegressor
    >>> mlp = MLPRegressor(hidden_layer_sizes=(4,), solver="lbfgs", random_state=0)
    >>> mlp = mlp.fit([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0]], [0.0, 1.0, 2.0])
    >>> network = lrp_network(mlp, torch.float64, "cpu")
    >>> network(torch.ones(1, 2, dtype=torch.float64)).shape
    torch.Size([1, 1])
    """
    import torch

    from ._autograd import module_response
    from ._translate import mlp_to_sequential

    check_lrp_supported(model)
    dtype = torch.float64 if dtype is None else dtype
    preprocessing, model = _split_pipeline(model)
    response = module_response(model, "decision_function", device)
    if response is not None:
        module, dtype = response.module, response.dtype
    else:
        module = mlp_to_sequential(model, dtype, device)
    steps = [
        step
        for name, transformer in preprocessing
        if (step := _affine_step(transformer, name, dtype, device)) is not None
    ]
    steps += _strip_output_nonlinearity(_sequential_steps(module))
    return LRPNetwork(steps, dtype)
