"""Layer-wise relevance propagation (Bach et al. 2015; Samek et al. 2016).

Relevance starts at the explained output's *raw* value (the logit for classifiers, never
the probability) and is redistributed layer by layer down to the input. With ``a`` the
input of a layer, ``w`` its weights and ``z_k = Σ_j a_j w_jk + b_k``:

* ``"zero"`` (LRP-0): ``R_j = Σ_k a_j w_jk / z_k · R_k``;
* ``"epsilon"`` (LRP-ε): denominator ``z_k + ε sign(z_k)`` with ``sign(0) = 1``;
* ``"zplus"`` (z⁺): only the positive contributions ``(a_j w_jk)⁺``, biases left out,
  ``R_j = Σ_k (a_j w_jk)⁺ / Σ_j (a_j w_jk)⁺ · R_k`` (for ``a ≥ 0``, as after a ReLU,
  these are ``a_j w⁺_jk``);
* ``"alpha2beta1"`` (αβ, α = 2, β = 1): ``R_j = Σ_k (α z⁺_jk / Σ_j z⁺_jk −
  β z⁻_jk / Σ_j z⁻_jk) R_k`` with ``z±_jk = (a_j w_jk)±``, biases left out.

A rule is applied to every ``Linear``/``Conv1d``/``Conv2d`` layer. Element-wise
activations (``ReLU``, ``LeakyReLU``, ``Tanh``, ``Identity``) and ``Dropout`` (identity
in evaluation mode) pass relevance unchanged, ``Flatten``/``Unflatten`` reshape it, and
pooling layers redistribute it in proportion to their inputs (the LRP-0 form: max
pooling gives each window's relevance to its maximum). A final ``Softmax``,
``LogSoftmax`` or ``Sigmoid`` is dropped, so that relevance starts at the logit. Where a
denominator is zero, the terms pass zero relevance instead of 0/0.

Each layer uses the efficient gradient form ``s = R / z``, ``c = ∂(z·s)/∂a``,
``R = a ⊙ c`` in torch, on detached copies of the parameters: the network is never
modified (no hooks, no ``requires_grad`` changes).

Preprocessing in a ``Pipeline`` before the network (``StandardScaler``,
``RobustScaler``, ``MinMaxScaler``, ``MaxAbsScaler``, ``PCA``) is affine,
``x ↦ (x − m) A``. Relevance passes through it with the LRP-0 rule (LRP-ε when
``lrp_rule="epsilon"``) applied to the linear part on the centred input ``x − m``, so
the shift absorbs no relevance and the total is conserved. A scaler (diagonal ``A``)
therefore reports each feature's relevance at the network input unchanged.
"""

import numpy as np

from ..exceptions import NotDifferentiableError
from . import Attribution

_UNSUPPORTED = (
    "LRP needs a supported network: a torch nn.Sequential of Linear/Conv1d/Conv2d, "
    "ReLU/LeakyReLU/Tanh, Flatten, pooling and Dropout layers (the module_ of a "
    "skorch net) or an MLPClassifier/MLPRegressor with activation 'relu', 'tanh' or "
    "'identity', optionally after linear preprocessing in a Pipeline"
)

_MLP_ACTIVATIONS = ("relu", "tanh", "identity")


def lrp_response_method(model, response_method):
    """The response LRP explains: the raw output (``decision_function``/``predict``).

    Parameters
    ----------
    model : estimator
        The fitted, unwrapped model.
    response_method : str
        The explainer's ``response_method`` parameter.

    Returns
    -------
    response_method : str
        ``"decision_function"`` (the raw output, i.e. the logits) for classifiers,
        ``"predict"`` for regressors.

    Examples
    --------
    >>> from sklearn.linear_model import LinearRegression
    >>> lrp_response_method(LinearRegression(), "auto")
    'predict'
    """
    from sklearn.base import is_classifier

    raw = "decision_function" if is_classifier(model) else "predict"
    if response_method not in ("auto", raw):
        raise ValueError(
            f"attribution='lrp' starts from the raw output ({raw!r}: the logit for "
            f"classifiers); response_method={response_method!r} cannot be used."
        )
    return raw


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

    def relevance(self, a, R, rule, epsilon):
        import torch

        with torch.enable_grad():
            if rule in ("zero", "epsilon"):
                leaf = a.detach().requires_grad_(True)
                z = self._op(leaf, self.weight, self.bias)
                den = z.detach()
                if rule == "epsilon":
                    den = _stabilize(den, epsilon)
                (c,) = _vjp(z, [leaf], _safe_divide(R, den))
                return a * c
            positive = a.clamp(min=0).detach().requires_grad_(True)
            negative = a.clamp(max=0).detach().requires_grad_(True)
            w_pos, w_neg = self.weight.clamp(min=0), self.weight.clamp(max=0)
            leaves = [positive, negative]
            z_pos = self._op(positive, w_pos, None) + self._op(negative, w_neg, None)
            c_pos, c_neg = _vjp(z_pos, leaves, _safe_divide(R, z_pos.detach()))
            R_pos = positive.detach() * c_pos + negative.detach() * c_neg
            if rule == "zplus":
                return R_pos
            z_neg = self._op(positive, w_neg, None) + self._op(negative, w_pos, None)
            c_pos, c_neg = _vjp(z_neg, leaves, _safe_divide(R, z_neg.detach()))
            R_neg = positive.detach() * c_pos + negative.detach() * c_neg
            return 2.0 * R_pos - 1.0 * R_neg


class _Pool:
    """Pooling: relevance in proportion to the inputs (LRP-0 gradient form)."""

    def __init__(self, module):
        self.module = module

    def forward(self, a):
        return self.module(a)

    def relevance(self, a, R, rule, epsilon):
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

    def relevance(self, a, R, rule, epsilon):
        return R


class _Reshape(_Pass):
    """Flatten / Unflatten: relevance takes the input's shape."""

    def relevance(self, a, R, rule, epsilon):
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

    def relevance(self, a, R, rule, epsilon):
        if self.matrix is None:  # diagonal: each feature keeps its relevance
            return R
        centred = a - self.center
        den = centred @ self.matrix
        if rule == "epsilon":
            den = _stabilize(den, epsilon)
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

    def relevance(self, X, outputs, rule, epsilon):
        """Relevance of every input column, shape (n, n_outputs, n_columns).

        Parameters
        ----------
        X : tensor of shape (n, n_columns)
        outputs : OutputSelection
            Columns of the raw output where relevance starts, and their signs.
        rule : {"zero", "epsilon", "zplus", "alpha2beta1"}
        epsilon : float
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
                R = step.relevance(a, R, rule, epsilon)
        return R.reshape(R.shape[0], R.shape[1], -1).transpose(0, 1)


def _sequential_steps(module, state, prefix=""):
    """The LRP steps of an ``nn.Sequential`` (nested ones flattened)."""
    from torch import nn

    if not isinstance(module, nn.Sequential):
        raise NotDifferentiableError(
            f"{_UNSUPPORTED}; got a {type(module).__name__} module."
        )
    steps = []
    for name, child in module.named_children():
        path = f"{prefix}{name}"
        if isinstance(child, nn.Sequential):
            steps.extend(_sequential_steps(child, state, f"{path}."))
        elif isinstance(child, (nn.Linear, nn.Conv1d, nn.Conv2d)):
            bias = state.get(f"{path}.bias") if child.bias is not None else None
            steps.append(_Weighted(child, state[f"{path}.weight"], bias))
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
    if isinstance(transformer, StandardScaler):
        center = transformer.mean_ if transformer.with_mean else 0.0
        scale = 1.0 if transformer.scale_ is None else 1.0 / transformer.scale_
        return _Affine(tensor(center), scale=tensor(scale))
    if isinstance(transformer, RobustScaler):
        center = 0.0 if transformer.center_ is None else transformer.center_
        scale = 1.0 if transformer.scale_ is None else 1.0 / transformer.scale_
        return _Affine(tensor(center), scale=tensor(scale))
    if isinstance(transformer, MinMaxScaler) and not transformer.clip:
        # x * scale_ + min_ = (x + min_ / scale_) * scale_
        center = -transformer.min_ / transformer.scale_
        return _Affine(tensor(center), scale=tensor(transformer.scale_))
    if isinstance(transformer, MaxAbsScaler):
        return _Affine(tensor(0.0), scale=tensor(1.0 / transformer.scale_))
    if isinstance(transformer, PCA):
        matrix = transformer.components_.T
        if transformer.whiten:
            matrix = matrix / np.sqrt(transformer.explained_variance_)
        return _Affine(tensor(transformer.mean_), matrix=tensor(matrix))
    raise NotDifferentiableError(
        f"{_UNSUPPORTED}; pipeline step {name!r} ({type(transformer).__name__}) is "
        "not a supported linear preprocessing step."
    )


def lrp_network(model, dtype, device):
    """The :class:`LRPNetwork` of a fitted model.

    Parameters
    ----------
    model : skorch net, MLPClassifier, MLPRegressor or Pipeline
        A skorch net whose ``module_`` is an ``nn.Sequential``, or a relu/tanh MLP,
        optionally after linear preprocessing steps of a ``Pipeline``.
    dtype : torch.dtype
        Computation dtype for scikit-learn models (skorch nets use their module's).
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
    from sklearn.neural_network import MLPClassifier, MLPRegressor
    from sklearn.pipeline import Pipeline

    from .._engines._autograd import SkorchResponse
    from .._response import is_skorch_net, unwrap_model

    dtype = torch.float64 if dtype is None else dtype
    model = unwrap_model(model)
    preprocessing = []
    if isinstance(model, Pipeline):
        preprocessing = list(model.steps[:-1])
        model = unwrap_model(model.steps[-1][1])
    if is_skorch_net(model):
        response = SkorchResponse(model, "decision_function", device)
        module, state, dtype = response.module, response.state, response.dtype
    elif isinstance(model, (MLPClassifier, MLPRegressor)):
        if model.activation not in _MLP_ACTIVATIONS:
            raise NotDifferentiableError(
                f"{_UNSUPPORTED}; got activation={model.activation!r}."
            )
        from .._engines._translate import mlp_to_sequential

        module = mlp_to_sequential(model, dtype, device)
        state = {name: p.detach() for name, p in module.named_parameters()}
    else:
        raise NotDifferentiableError(f"{_UNSUPPORTED}; got {type(model).__name__}.")
    steps = [
        step
        for name, transformer in preprocessing
        if (step := _affine_step(transformer, name, dtype, device)) is not None
    ]
    steps += _strip_output_nonlinearity(_sequential_steps(module, state))
    return LRPNetwork(steps, dtype)


# --------------------------------------------------------------------------- rule
def lrp(engine, data, settings):
    """LRP relevance of the explained columns, (n_rows, n_outputs, n_explained)."""
    import torch

    from .._engines._autograd import _block_rows

    network = engine.function
    if not isinstance(network, LRPNetwork):
        raise NotDifferentiableError(f"{_UNSUPPORTED}.")
    Zt = engine._tensor(data.Z)
    rows = _block_rows(None, data.context, 0, len(Zt))
    with torch.no_grad():
        X = engine._input(Zt, data.context, rows)
    R = network.relevance(X, engine.outputs, settings.lrp_rule, settings.lrp_epsilon)
    if data.context is not None:
        R = R[:, :, torch.as_tensor(engine.feature_indices, device=R.device)]
    return R.detach().cpu().double().numpy()


LRP = Attribution(lrp, engines=("autograd",))
