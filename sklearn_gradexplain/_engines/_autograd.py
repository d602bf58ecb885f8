"""Exact gradients with torch autograd.

Per-sample gradients come from the gradient of the *sum* of an output over the batch
(one backward pass per output), which equals the per-sample gradients because rows do
not interact in evaluation mode. A k-output Jacobian is one forward pass and k backward
passes (faster on CPU than ``vmap``/``jacrev``, see NOTES.md).
"""

import copy

import numpy as np

from .._compat import skorch_predict_nonlinearity
from .._response import is_skorch_net, is_torch_model
from ..exceptions import NotDifferentiableError

TORCH_MISSING = (
    "method='autograd' needs torch, which is not installed: pip install "
    "'sklearn-gradexplain[torch]', or use method='finite_difference'."
)


def torch_available():
    """Whether torch can be imported (without importing it twice)."""
    import importlib.util

    try:
        return importlib.util.find_spec("torch") is not None
    except (ImportError, ValueError):  # a broken or blocked installation
        return False


def torch_dtype(numpy_dtype):
    """float32 stays float32; everything else is computed in float64."""
    import torch

    return torch.float32 if np.dtype(numpy_dtype) == np.float32 else torch.float64


class ModuleResponse:
    """The differentiable response of a torch module (a skorch net's, a TorchModel's).

    The module's output (first element of a tuple), passed through ``nonlinearity``
    when one is given (the net's own predict nonlinearity for ``predict_proba``). The
    module is called as it is: in evaluation mode a forward pass changes nothing, and
    ``torch.autograd.grad`` with respect to the input never touches parameter
    gradients, so the model is never modified. A module in training mode, or on
    another device, is copied first (once per engine).
    """

    def __init__(self, module, nonlinearity, device):
        import torch

        parameter = next(iter(module.parameters()), None)
        if parameter is None:
            parameter = next(iter(module.buffers()), None)
        self.dtype = parameter.dtype if parameter is not None else None
        module_device = parameter.device if parameter is not None else None
        self.device = torch.device(device)
        needs_copy = any(m.training for m in module.modules()) or (
            module_device is not None and module_device != self.device
        )
        if needs_copy:
            module = copy.deepcopy(module).eval().to(self.device)
        self.module = module
        self.nonlinearity = nonlinearity

    def __call__(self, X):
        if X.is_floating_point() and self.dtype is not None:
            X = X.to(self.dtype)  # integer inputs (token ids) stay integer
        # a direct call: functional_call's parameter swapping cost ~8% of a gradient
        # on a small MLP (benchmarks/bench_autograd.py)
        out = self.module(X)
        if isinstance(out, tuple):
            out = out[0]
        if self.nonlinearity is not None:
            out = self.nonlinearity(out)
        return out


def _skorch_probabilities(net):
    nonlinearity = skorch_predict_nonlinearity(net)

    def proba(out):
        if out.ndim == 2 and out.shape[1] == 1:
            out = out.reshape(-1)
        return nonlinearity(out)

    return proba


def module_response(model, response_method, device):
    """The :class:`ModuleResponse` of a skorch net or TorchModel (None otherwise)."""
    if is_skorch_net(model):
        if not hasattr(model, "module_"):
            raise NotDifferentiableError(f"{type(model).__name__} is not initialized.")
        nonlinearity = (
            _skorch_probabilities(model) if response_method == "predict_proba" else None
        )
        return ModuleResponse(model.module_, nonlinearity, device)
    if is_torch_model(model):
        return model._module_response(response_method, device)
    return None


def torch_response(model, response_method, dtype, device, layers=False, held=None):
    """A torch function ``X -> raw response`` equal to ``model.<response_method>``.

    Parameters
    ----------
    model : estimator
        Fitted skorch net, TorchModel or translatable scikit-learn estimator.
    response_method : str
        Resolved response method.
    dtype : torch.dtype
        Computation dtype (torch modules keep their own).
    device : str or torch.device
    layers : bool, default=False
        Return the layer stack LRP propagates through
        (:class:`~sklearn_gradexplain._engines._lrp.LRPNetwork`, called on a tensor
        it gives the raw output) instead of the response.
    held : HeldRows, default=None
        The input columns held fixed; the engine fills in each batch's raw rows
        (see :class:`~sklearn_gradexplain._engines._translate._registry.HeldRows`).

    Raises
    ------
    NotDifferentiableError
        If torch is missing or the model cannot be expressed in torch.
    """
    if not torch_available():
        raise NotDifferentiableError(TORCH_MISSING)
    if layers:
        from ._lrp import lrp_network

        return lrp_network(model, dtype, device)
    response = module_response(model, response_method, device)
    if response is not None:
        return response
    from ._translate import translate

    return translate(model, response_method, dtype=dtype, device=device, held=held)


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
    device : str or torch.device
    max_rows : int
        Rows per forward/backward pass.
    held : HeldRows, default=None
        Where the raw rows of each batch go, for translated branches of columns held
        fixed.
    """

    name = "autograd"
    evaluations_per_point = 1

    def __init__(
        self, function, outputs, feature_indices, dtype, device, max_rows, held=None
    ):
        self.function = function
        self.held = held
        self.outputs = outputs
        self.n_outputs = None if outputs is None else outputs.n_outputs
        self.feature_indices = np.asarray(feature_indices)
        self.dtype = dtype
        self.device = device
        self.max_rows = max_rows

    def _tensor(self, array):
        import torch

        # a copy (torch.tensor, not as_tensor): a module that writes into its input
        # must not reach the caller's data; contiguous: no negative strides
        return torch.tensor(
            np.ascontiguousarray(array), dtype=self.dtype, device=self.device
        )

    def _input(self, Zt, points):
        """The model input: ``Zt`` placed into its rows of the context (if any)."""
        if points.context is None:
            return Zt
        rows = _context_rows(points.context, points.row_index())
        if self.held is not None:
            self.held.rows = rows
        X = self._tensor(_numeric(rows))
        X[:, self.feature_indices] = Zt
        return X

    def _forward(self, Zt, points):
        # a clone: a module that writes into its input must not touch the leaf
        raw = self.function(self._input(Zt, points).clone())
        return self.outputs(self.outputs.check(raw, len(points)))

    def raw_response(self, points):
        """The function's raw output at the points, as numpy (its own dtype)."""
        import torch

        with torch.no_grad():
            raw = self.function(self._input(self._tensor(points.Z), points))
        return raw.detach().cpu().numpy()

    def with_outputs(self, outputs):
        """Set the explained outputs (once, in ``fit``, after the raw probe)."""
        self.outputs = outputs
        self.n_outputs = outputs.n_outputs
        return self

    def value(self, points):
        """Model response at the points, shape (n_points, n_outputs)."""
        import torch

        values = np.empty((len(points), self.n_outputs))
        with torch.no_grad():
            for start, stop in row_blocks(len(points), self.max_rows):
                block = points.select(start, stop)
                Y = self._forward(self._tensor(block.Z), block)
                values[start:stop] = Y.detach().cpu().double().numpy()
        return values

    def gradient(self, points):
        """Gradients at the points, shape (n_points, n_outputs, n_explained)."""
        import torch

        n_points, n_features = points.Z.shape
        # empty, not zeros: zeroing (and faulting in) a buffer that is overwritten
        # anyway cost ~8% of a 10-class Jacobian; zeros are written where they belong.
        # float32 points give float32 gradients (the explainer returns float32 then):
        # no cast per output.
        dtype = np.float32 if points.Z.dtype == np.float32 else np.float64
        grads = np.empty((n_points, self.n_outputs, n_features), dtype=dtype)
        for start, stop in row_blocks(n_points, self.max_rows):
            block = points.select(start, stop)
            Zt = self._tensor(block.Z).requires_grad_(True)
            with torch.enable_grad():
                Y = self._forward(Zt, block)
                if not Y.requires_grad:  # constant model
                    grads[start:stop] = 0
                    continue
                for k, g in output_gradients(Y, Zt):
                    # numpy casts while copying; a .double() tensor first cost a
                    # fresh allocation per output (~30% on a 10-class Jacobian)
                    grads[start:stop, k] = 0 if g is None else g.detach().cpu().numpy()
        return grads

    def relevance(self, points, lrp):
        """Relevance of the explained columns, (n_points, n_outputs, n_explained)."""
        import torch

        network = self.function
        if not hasattr(network, "relevance"):
            raise NotDifferentiableError("LRP needs the network's layer stack.")
        relevance = np.empty((len(points), self.n_outputs, points.Z.shape[1]))
        for start, stop in row_blocks(len(points), self.max_rows):
            block = points.select(start, stop)
            with torch.no_grad():
                X = self._input(self._tensor(block.Z), block)
            R = network.relevance(X, self.outputs, lrp)
            if block.context is not None:
                index = torch.as_tensor(self.feature_indices, device=R.device)
                R = R[:, :, index]
            relevance[start:stop] = R.detach().cpu().double().numpy()
        return relevance

    def diagnostics(self, feature_names):
        return []


def _context_rows(context, rows):
    if hasattr(context, "iloc"):
        return context.iloc[rows]
    return np.asarray(context)[rows]


def _numeric(rows):
    """The rows as floats; columns that are not numbers (held fixed) become NaN."""
    if hasattr(rows, "iloc"):
        out = np.full(rows.shape, np.nan)
        for j in range(rows.shape[1]):
            column = rows.iloc[:, j]
            if getattr(column.dtype, "kind", "O") in "biuf":
                out[:, j] = column.to_numpy(dtype=np.float64)
        return out
    try:
        return np.asarray(rows, dtype=np.float64)
    except (TypeError, ValueError):
        out = np.full(rows.shape, np.nan)
        for j in range(rows.shape[1]):
            try:
                out[:, j] = np.asarray(rows[:, j], dtype=np.float64)
            except (TypeError, ValueError):
                pass
        return out


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
