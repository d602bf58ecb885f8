"""Exact gradients with torch autograd.

Per-sample gradients come from the gradient of the *sum* of an output over the batch
(one backward pass per output), which equals the per-sample gradients because rows do
not interact in evaluation mode. A k-output Jacobian is one forward pass and k backward
passes (faster on CPU than ``vmap``/``jacrev``, see NOTES.md).
"""

import copy

import numpy as np

from .._compat import skorch_predict_nonlinearity
from .._response import is_skorch_net
from ..exceptions import NotDifferentiableError


def torch_dtype(numpy_dtype):
    """float32 stays float32; everything else is computed in float64."""
    import torch

    return torch.float32 if np.dtype(numpy_dtype) == np.float32 else torch.float64


def torch_response(model, response_method, dtype, device):
    """A torch function ``X -> raw response`` equal to ``model.<response_method>``.

    Parameters
    ----------
    model : estimator
        Fitted skorch net or translatable scikit-learn estimator.
    response_method : str
        Resolved response method.
    dtype : torch.dtype
        Computation dtype (ignored for skorch nets, which use their module's dtype).
    device : str or torch.device

    Returns
    -------
    function : callable
        Maps a tensor of shape (n, n_features) to the raw response, (n,) or (n, k).

    Raises
    ------
    NotDifferentiableError
        If the model cannot be expressed in torch.
    """
    try:
        import torch  # noqa: F401
    except ImportError as exc:  # pragma: no cover - torch is an extra
        raise NotDifferentiableError(
            "method='autograd' needs torch (pip install 'sklearn-gradexplain[torch]'); "
            "use method='finite_difference'."
        ) from exc
    if is_skorch_net(model):
        return SkorchResponse(model, response_method, device)
    from ._translate import translate

    return translate(model, response_method, dtype=dtype, device=device)


class SkorchResponse:
    """The differentiable response of a skorch net.

    ``predict_proba`` is ``module_``'s output (first element of a tuple) passed through
    the net's own predict nonlinearity, computed in torch; ``decision_function`` and
    ``predict`` are the raw module output. The module is called as it is (in
    evaluation mode a forward pass changes nothing, and ``torch.autograd.grad`` with
    respect to the input never touches parameter gradients), so the net is never
    modified; a module in training mode, or on another device, is copied first.
    ``state`` holds its detached parameters and buffers for rules that need them.
    """

    def __init__(self, net, response_method, device):
        import torch

        if not hasattr(net, "module_"):
            raise NotDifferentiableError(f"{type(net).__name__} is not initialized.")
        module = net.module_
        parameter = next(iter(module.parameters()), None)
        self.dtype = parameter.dtype if parameter is not None else torch.float32
        module_device = parameter.device if parameter is not None else None
        self.device = torch.device(device)
        needs_copy = any(m.training for m in module.modules()) or (
            module_device is not None and module_device != self.device
        )
        if needs_copy:
            module = copy.deepcopy(module).eval().to(self.device)
        self.module = module
        self.state = {
            name: tensor.detach()
            for name, tensor in [*module.named_parameters(), *module.named_buffers()]
        }
        self.nonlinearity = (
            skorch_predict_nonlinearity(net)
            if response_method == "predict_proba"
            else None
        )

    def __call__(self, X):
        if X.is_floating_point():  # integer inputs (token ids) stay integer
            X = X.to(self.dtype)
        # a direct call: functional_call's parameter swapping cost ~8% of a gradient
        # on a small MLP (benchmarks/bench_autograd.py)
        out = self.module(X)
        if isinstance(out, tuple):
            out = out[0]
        if self.nonlinearity is not None:
            if out.ndim == 2 and out.shape[1] == 1:
                out = out.reshape(-1)
            out = self.nonlinearity(out)
        return out


class AutogradEngine:
    """Gradients of a torch function of the input by reverse-mode autograd.

    Parameters
    ----------
    function : callable
        Tensor (n, n_columns) -> raw response.
    outputs : OutputSelection
        Selected outputs.
    feature_indices : ndarray of int
        Explained columns.
    dtype : torch.dtype
        Dtype of the input tensors.
    device : str
    max_rows : int
        Rows per forward/backward pass.
    """

    name = "autograd"
    evaluations_per_point = 1

    def __init__(self, function, outputs, feature_indices, dtype, device, max_rows):
        self.function = function
        self.outputs = outputs
        self.n_outputs = outputs.n_outputs
        self.feature_indices = np.asarray(feature_indices)
        self.dtype = dtype
        self.device = device
        self.max_rows = max_rows

    def _tensor(self, array):
        import torch

        # contiguous: torch rejects negative strides (e.g. columns picked in reverse)
        return torch.tensor(
            np.ascontiguousarray(array), dtype=self.dtype, device=self.device
        )

    def _input(self, Zt, context, rows):
        """The model input: ``Zt`` placed into its rows of ``context`` (if any)."""
        if context is None:
            return Zt
        if hasattr(context, "iloc"):
            context = context.to_numpy(dtype=np.float64)
        X = self._tensor(context if rows is None else context[rows])
        X[:, self.feature_indices] = Zt
        return X

    def _forward(self, Zt, context, rows):
        return self.outputs(self.function(self._input(Zt, context, rows)))

    def value(self, Z, context=None, rows=None):
        """Model response at the points ``Z``, shape (n_points, n_outputs)."""
        import torch

        values = np.empty((Z.shape[0], self.n_outputs))
        with torch.no_grad():
            for start, stop in row_blocks(Z.shape[0], self.max_rows):
                block_rows = _block_rows(rows, context, start, stop)
                Y = self._forward(self._tensor(Z[start:stop]), context, block_rows)
                values[start:stop] = Y.detach().cpu().double().numpy()
        return values

    def gradient(self, Z, context=None, rows=None):
        """Gradients at the points ``Z``, shape (n_points, n_outputs, n_explained)."""
        import torch

        n_points, n_features = Z.shape
        # empty, not zeros: zeroing (and faulting in) a buffer that is overwritten
        # anyway cost ~8% of a 10-class Jacobian; zeros are written where they belong.
        # float32 points give float32 gradients (the explainer returns float32 then):
        # no cast per output.
        dtype = np.float32 if Z.dtype == np.float32 else np.float64
        grads = np.empty((n_points, self.n_outputs, n_features), dtype=dtype)
        for start, stop in row_blocks(n_points, self.max_rows):
            Zt = self._tensor(Z[start:stop]).requires_grad_(True)
            block_rows = _block_rows(rows, context, start, stop)
            with torch.enable_grad():
                Y = self._forward(Zt, context, block_rows)
                if not Y.requires_grad:  # constant model
                    grads[start:stop] = 0
                    continue
                for k, g in output_gradients(Y, Zt):
                    # numpy casts while copying; a .double() tensor first cost a
                    # fresh allocation per output (~30% on a 10-class Jacobian)
                    grads[start:stop, k] = 0 if g is None else g.detach().cpu().numpy()
        return grads


def row_blocks(n_rows, size):
    """``(start, stop)`` of consecutive blocks of at most ``size`` rows."""
    for start in range(0, n_rows, size):
        yield start, min(start + size, n_rows)


def output_gradients(Y, wrt):
    """The shared gradient kernel: ∂(Σ_rows Y[:, k])/∂wrt for each output k.

    Summing over the batch gives per-row gradients because rows do not interact in
    evaluation mode. One backward pass per output, the graph kept until the last;
    yields ``(k, gradient)``, the gradient ``None`` where output k ignores ``wrt``.
    """
    import torch

    n_outputs = Y.shape[1]
    for k in range(n_outputs):
        (gradient,) = torch.autograd.grad(
            Y[:, k].sum(), wrt, retain_graph=k < n_outputs - 1, allow_unused=True
        )
        yield k, gradient


def _block_rows(rows, context, start, stop):
    if context is None:
        return None
    if rows is None:
        return np.arange(start, stop)
    return rows[start:stop]
