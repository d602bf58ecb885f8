"""Translation of fitted scikit-learn estimators into torch functions."""

from ..exceptions import NotDifferentiableError

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
        from ``coefs_`` and ``intercepts_`` (gradients are not tracked on them); its
        output is the last layer's pre-activation (``out_activation_`` is not applied).

    Examples
    --------
    >>> import torch
    >>> from sklearn.neural_network import MLPRegressor
    >>> from sklearn_gradexplain._engines._translate import mlp_to_sequential
    >>> X, y = [[0.0, 1.0], [1.0, 0.0], [1.0, 1.0]], [0.0, 1.0, 2.0]
    >>> mlp = MLPRegressor(hidden_layer_sizes=(3,), max_iter=50, random_state=0)
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
        linear = torch.nn.Linear(*coef.shape, dtype=dtype, device=device)
        with torch.no_grad():
            linear.weight.copy_(torch.as_tensor(coef.T, dtype=dtype, device=device))
            linear.bias.copy_(torch.as_tensor(intercept, dtype=dtype, device=device))
        linear.weight.requires_grad_(False)
        linear.bias.requires_grad_(False)
        layers.append(linear)
        if i < n_layers - 1:
            layers.append(getattr(torch.nn, activation)())
    return torch.nn.Sequential(*layers).eval()


def translate(model, response_method, dtype, device):
    raise NotDifferentiableError(
        f"{type(model).__name__} cannot be translated into torch; "
        "use method='finite_difference'."
    )
