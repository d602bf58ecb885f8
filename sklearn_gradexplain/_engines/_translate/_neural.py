"""Translation of scikit-learn's multi-layer perceptrons."""

from sklearn.neural_network import MLPClassifier, MLPRegressor

from ...exceptions import NotDifferentiableError
from ._registry import Blocked, register, unsupported

_ACTIVATION_MODULES = {
    "identity": "Identity",
    "logistic": "Sigmoid",
    "tanh": "Tanh",
    "relu": "ReLU",
}


def mlp_to_sequential(mlp, dtype, device):
    """A ``torch.nn.Sequential`` equal to a fitted MLP without its output nonlinearity.

    Parameters
    ----------
    mlp : MLPClassifier or MLPRegressor
        Fitted multi-layer perceptron.
    dtype : torch.dtype
        Dtype of the weights.
    device : str or torch.device
        Device of the weights.

    Returns
    -------
    module : torch.nn.Sequential
        ``Linear``, activation, ..., ``Linear`` in evaluation mode, with weights copied
        from ``coefs_`` and ``intercepts_`` (they do not require gradients); its output
        is the last layer's pre-activation (``out_activation_`` is not applied).

    Examples
    --------
    >>> import torch
    >>> from sklearn.neural_network import MLPRegressor
    >>> from sklearn_gradexplain._engines._translate import mlp_to_sequential
    >>> X, y = [[0.0, 1.0], [1.0, 0.0], [1.0, 1.0]], [0.0, 1.0, 2.0]
    >>> mlp = MLPRegressor(hidden_layer_sizes=(3,), solver="lbfgs", random_state=0)
    >>> mlp = mlp.fit(X, y)
    >>> net = mlp_to_sequential(mlp, torch.float64, "cpu")
    >>> [type(layer).__name__ for layer in net]
    ['Linear', 'ReLU', 'Linear']
    """
    import torch

    activation = _ACTIVATION_MODULES.get(mlp.activation)
    if activation is None:
        raise NotDifferentiableError(
            f"{type(mlp).__name__} with activation={mlp.activation!r} cannot be "
            "translated into torch; use method='finite_difference'."
        )
    layers = []
    n_layers = len(mlp.coefs_)
    pairs = zip(mlp.coefs_, mlp.intercepts_, strict=True)
    for i, (coef, intercept) in enumerate(pairs):
        # skip_init: no random initialization (it would consume torch's global RNG)
        linear = torch.nn.utils.skip_init(
            torch.nn.Linear, *coef.shape, dtype=dtype, device=device
        )
        linear.weight = torch.nn.Parameter(
            torch.tensor(coef.T, dtype=dtype, device=device), requires_grad=False
        )
        linear.bias = torch.nn.Parameter(
            torch.tensor(intercept, dtype=dtype, device=device), requires_grad=False
        )
        layers.append(linear)
        if i < n_layers - 1:
            layers.append(getattr(torch.nn, activation)())
    return torch.nn.Sequential(*layers).eval()


@register(MLPClassifier, MLPRegressor)
def _mlp(model, method, ctx):
    import torch

    expected = "predict_proba" if isinstance(model, MLPClassifier) else "predict"
    if method != expected:
        raise unsupported(model, method)
    try:
        net = mlp_to_sequential(model, ctx.dtype, ctx.device)
    except NotDifferentiableError:
        raise Blocked(model, f"activation={model.activation!r}") from None
    output = model.out_activation_

    def response(X):
        out = net(X)
        if output == "softmax":
            out = torch.softmax(out, dim=1)
        elif output == "logistic":
            out = torch.sigmoid(out)
        elif output == "exp":
            out = torch.exp(out)
        elif output != "identity":
            raise Blocked(model, f"out_activation_={output!r}")
        if out.shape[1] == 1:
            out = out.reshape(-1)
            if method == "predict_proba":
                out = torch.stack([1 - out, out], dim=1)
        return out

    return response
