"""Translation of fitted scikit-learn estimators into torch functions.

:func:`translate` turns a fitted estimator into a torch function of its input that
reproduces ``getattr(model, response_method)`` exactly and is differentiable with
respect to the input, so that :class:`~sklearn_gradexplain._engines._autograd.
AutogradEngine` gives exact gradients of ordinary scikit-learn models.

Translations are registered per estimator type with :func:`functools.singledispatch`:
a new type is one small function ``(model, method, ctx) -> callable``, where ``method``
is ``"transform"`` (steps inside a pipeline) or a response method. Composites
(``Pipeline``, ``ColumnTransformer``, ``FrozenEstimator``) translate their parts and
compose them; anything unregistered raises :class:`NotDifferentiableError` naming the
first blocking step. Parameters are copied into tensors once, so the model is never
modified and translation stays cheap (``method="auto"`` tries it in ``fit``).
"""

import functools

import numpy as np
import scipy.sparse as sp
from sklearn.compose import ColumnTransformer
from sklearn.decomposition import PCA, IncrementalPCA, TruncatedSVD
from sklearn.discriminant_analysis import (
    LinearDiscriminantAnalysis,
    QuadraticDiscriminantAnalysis,
)
from sklearn.frozen import FrozenEstimator
from sklearn.kernel_ridge import KernelRidge
from sklearn.linear_model import (
    ARDRegression,
    BayesianRidge,
    ElasticNet,
    ElasticNetCV,
    HuberRegressor,
    Lars,
    LarsCV,
    Lasso,
    LassoCV,
    LassoLars,
    LassoLarsCV,
    LassoLarsIC,
    LinearRegression,
    LogisticRegression,
    LogisticRegressionCV,
    MultiTaskElasticNet,
    MultiTaskElasticNetCV,
    MultiTaskLasso,
    MultiTaskLassoCV,
    OrthogonalMatchingPursuit,
    OrthogonalMatchingPursuitCV,
    Perceptron,
    QuantileRegressor,
    Ridge,
    RidgeClassifier,
    RidgeClassifierCV,
    RidgeCV,
    SGDClassifier,
    SGDRegressor,
    TheilSenRegressor,
)
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import (
    FunctionTransformer,
    MaxAbsScaler,
    MinMaxScaler,
    Normalizer,
    PolynomialFeatures,
    RobustScaler,
    StandardScaler,
)
from sklearn.svm import SVC, SVR, LinearSVC, LinearSVR, NuSVC, NuSVR

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


def translate(model, response_method, dtype, device):
    """A differentiable torch function equal to ``getattr(model, response_method)``.

    Parameters
    ----------
    model : estimator
        Fitted scikit-learn estimator, pipeline or ``FrozenEstimator``.
    response_method : {"predict", "predict_proba", "decision_function", "transform"}
        The response to reproduce.
    dtype : torch.dtype
        Dtype of the computation (the parameters are cast to it).
    device : str or torch.device
        Device of the computation.

    Returns
    -------
    function : callable
        Maps a tensor of shape (n_samples, n_features) to the response, shaped like
        the estimator's own output ((n_samples,) or (n_samples, n_outputs)).

    Raises
    ------
    NotDifferentiableError
        If some step of the model has no torch translation; the message names the
        first blocking step.

    Examples
    --------
    >>> import numpy as np
    >>> import torch
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from sklearn_gradexplain._engines._translate import translate
    >>> X = np.array([[0.0, 1.0], [1.0, 0.0], [2.0, 1.0], [3.0, 0.0]])
    >>> model = make_pipeline(StandardScaler(), LogisticRegression())
    >>> model = model.fit(X, [0, 0, 1, 1])
    >>> f = translate(model, "predict_proba", torch.float64, "cpu")
    >>> bool(np.allclose(f(torch.tensor(X)).numpy(), model.predict_proba(X)))
    True
    """
    import torch

    ctx = _Context(dtype, torch.device(device))
    try:
        return _translator(model, response_method, ctx)
    except _Blocked as exc:
        raise NotDifferentiableError(str(exc)) from None


# ---------------------------------------------------------------------- machinery
class _Blocked(NotDifferentiableError):
    """A step without translation; composites add where it sits."""

    def __init__(self, model, detail="", where=()):
        self.model_name = model if isinstance(model, str) else type(model).__name__
        self.detail = detail
        self.where = tuple(where)
        location = f" ({', in '.join(self.where)})" if self.where else ""
        detail = f" ({detail})" if detail else ""
        super().__init__(
            f"{self.model_name}{location} cannot be translated into torch{detail}; "
            "use method='finite_difference'."
        )

    def inside(self, location):
        return _Blocked(self.model_name, self.detail, (*self.where, location))


class _Context:
    """Target dtype and device; copies arrays into constant tensors."""

    def __init__(self, dtype, device):
        self.dtype = dtype
        self.device = device

    def tensor(self, array):
        import torch

        if sp.issparse(array):
            array = array.toarray()
        return torch.tensor(np.asarray(array), dtype=self.dtype, device=self.device)


def _located(estimator, method, ctx, location):
    try:
        return _translator(estimator, method, ctx)
    except _Blocked as exc:
        raise exc.inside(location) from None


def _unsupported(model, method):
    return _Blocked(model, f"no torch form of {method}")


@functools.singledispatch
def _translator(model, method, ctx):
    """Translate ``model``'s ``method`` (a response method or ``"transform"``)."""
    raise _Blocked(model)


def _register(*classes):
    def decorator(function):
        for cls in classes:
            _translator.register(cls)(function)
        return function

    return decorator


def _affine(coef, intercept, ctx):
    """``X @ coef.T + intercept`` keeping the estimator's output shape."""
    W = ctx.tensor(coef)
    b = ctx.tensor(intercept)
    if W.ndim == 1:
        return lambda X: X @ W + b
    W = W.T
    return lambda X: X @ W + b


def _ravel_single(function):
    """(n, 1) -> (n,), like classifiers' binary decision functions."""

    def ravelled(X):
        out = function(X)
        return out.reshape(-1) if out.ndim == 2 and out.shape[1] == 1 else out

    return ravelled


def _binary_or_softmax(decision):
    """Binary: [1 - expit(d), expit(d)]; multiclass: softmax(d)."""
    import torch

    def proba(X):
        d = decision(X)
        if d.ndim == 1:
            p = torch.sigmoid(d)
            return torch.stack([1 - p, p], dim=1)
        return torch.softmax(d, dim=1)

    return proba


def _ovr_normalized_expit(decision):
    """``_predict_proba_lr``: expit, then normalized over classes (OvR)."""
    import torch

    def proba(X):
        p = torch.sigmoid(decision(X))
        if p.ndim == 1:
            return torch.stack([1 - p, p], dim=1)
        total = p.sum(dim=1, keepdim=True)
        zero = total == 0
        p = torch.where(zero, torch.ones_like(p), p)
        total = torch.where(zero, torch.full_like(total, p.shape[1]), total)
        return p / total

    return proba


# ---------------------------------------------------------------------- composites
@_register(Pipeline)
def _pipeline(model, method, ctx):
    steps = []
    last = len(model.steps) - 1
    for i, (name, step) in enumerate(model.steps):
        if step is None or (isinstance(step, str) and step == "passthrough"):
            continue
        step_method = method if i == last else "transform"
        location = f"step {name!r} of the {type(model).__name__}"
        steps.append(_located(step, step_method, ctx, location))
    if not steps:
        return lambda X: X

    def composed(X):
        for step in steps:
            X = step(X)
        return X

    return composed


@_register(FrozenEstimator)
def _frozen(model, method, ctx):
    return _located(model.estimator, method, ctx, "inside the FrozenEstimator")


@_register(ColumnTransformer)
def _column_transformer(model, method, ctx):
    import torch

    if method != "transform":
        raise _unsupported(model, method)
    if getattr(model, "sparse_output_", False):
        raise _Blocked(model, "sparse output")
    name_kind = type(model).__name__
    parts = []
    for name, transformer, _ in model.transformers_:
        indices = list(model._transformer_to_input_indices.get(name, []))
        if isinstance(transformer, str) and transformer == "drop":
            continue
        if not indices:
            continue
        index = torch.tensor(indices, dtype=torch.long, device=ctx.device)
        if isinstance(transformer, str) and transformer == "passthrough":
            function = None
        else:
            location = f"transformer {name!r} of the {name_kind}"
            function = _located(transformer, "transform", ctx, location)
        parts.append((index, function))

    def transform(X):
        outputs = []
        for index, function in parts:
            columns = X[:, index]
            outputs.append(columns if function is None else function(columns))
        if not outputs:
            return X[:, :0]
        return torch.cat(outputs, dim=1)

    return transform


# ---------------------------------------------------------------------- transformers
def _center_then_scale(center, scale):
    """``(X - center) / scale``, either step skipped when ``None``."""

    def transform(X):
        if center is not None:
            X = X - center
        if scale is not None:
            X = X / scale
        return X

    return transform


@_register(StandardScaler)
def _standard_scaler(model, method, ctx):
    if method != "transform":
        raise _unsupported(model, method)
    return _center_then_scale(
        ctx.tensor(model.mean_) if model.with_mean else None,
        ctx.tensor(model.scale_) if model.with_std else None,
    )


@_register(RobustScaler)
def _robust_scaler(model, method, ctx):
    if method != "transform":
        raise _unsupported(model, method)
    return _center_then_scale(
        ctx.tensor(model.center_) if model.with_centering else None,
        ctx.tensor(model.scale_) if model.with_scaling else None,
    )


@_register(MinMaxScaler)
def _min_max_scaler(model, method, ctx):
    if method != "transform":
        raise _unsupported(model, method)
    scale, offset = ctx.tensor(model.scale_), ctx.tensor(model.min_)
    low, high = model.feature_range
    clip = model.clip

    def transform(X):
        X = X * scale + offset
        return X.clamp(low, high) if clip else X

    return transform


@_register(MaxAbsScaler)
def _max_abs_scaler(model, method, ctx):
    if method != "transform":
        raise _unsupported(model, method)
    scale = ctx.tensor(model.scale_)
    return lambda X: X / scale


@_register(Normalizer)
def _normalizer(model, method, ctx):
    import torch

    if method != "transform":
        raise _unsupported(model, method)
    norm = model.norm

    def transform(X):
        if norm == "l2":
            norms = torch.linalg.vector_norm(X, dim=1, keepdim=True)
        elif norm == "l1":
            norms = X.abs().sum(dim=1, keepdim=True)
        else:
            norms = X.abs().amax(dim=1, keepdim=True)
        norms = torch.where(norms == 0, torch.ones_like(norms), norms)
        return X / norms

    return transform


@_register(PCA, IncrementalPCA)
def _pca(model, method, ctx):
    if method != "transform":
        raise _unsupported(model, method)
    components = ctx.tensor(model.components_).T
    offset = ctx.tensor(model.mean_.reshape(1, -1) @ model.components_.T)
    scale = None
    if model.whiten:
        scale = np.sqrt(model.explained_variance_)
        scale = np.maximum(scale, np.finfo(scale.dtype).eps)
        scale = ctx.tensor(scale)

    def transform(X):
        out = X @ components - offset
        return out if scale is None else out / scale

    return transform


@_register(TruncatedSVD)
def _truncated_svd(model, method, ctx):
    if method != "transform":
        raise _unsupported(model, method)
    components = ctx.tensor(model.components_).T
    return lambda X: X @ components


@_register(PolynomialFeatures)
def _polynomial_features(model, method, ctx):
    import torch

    if method != "transform":
        raise _unsupported(model, method)
    powers = np.asarray(model.powers_)
    if sp.issparse(powers):
        powers = powers.toarray()
    degree = int(powers.max()) if powers.size else 0
    index = torch.tensor(powers, dtype=torch.long, device=ctx.device)
    features = torch.arange(powers.shape[1], device=ctx.device)

    def transform(X):
        # X**k by repeated products (X**0 is a constant 1: no 0 * inf gradients)
        stacked = [torch.ones_like(X)]
        for _ in range(degree):
            stacked.append(stacked[-1] * X)
        stacked = torch.stack(stacked)  # (degree + 1, n, d)
        # factors[c, j, n] = X[n, j] ** powers[c, j]
        factors = stacked[index, :, features]
        return factors.prod(dim=1).T

    return transform


def _torch_ufuncs():
    import torch

    table = {
        np.log1p: torch.log1p,
        np.expm1: torch.expm1,
        np.exp: torch.exp,
        np.exp2: torch.exp2,
        np.log: torch.log,
        np.log2: torch.log2,
        np.log10: torch.log10,
        np.sqrt: torch.sqrt,
        np.cbrt: lambda x: torch.sign(x) * x.abs().pow(1.0 / 3.0),
        np.square: torch.square,
        np.abs: torch.abs,
        np.absolute: torch.abs,
        np.negative: torch.neg,
        np.reciprocal: torch.reciprocal,
        np.sin: torch.sin,
        np.cos: torch.cos,
        np.tan: torch.tan,
        np.arcsin: torch.asin,
        np.arccos: torch.acos,
        np.arctan: torch.atan,
        np.sinh: torch.sinh,
        np.cosh: torch.cosh,
        np.tanh: torch.tanh,
        np.arcsinh: torch.asinh,
        np.arccosh: torch.acosh,
        np.arctanh: torch.atanh,
    }
    try:
        from scipy import special

        table[special.expit] = torch.sigmoid
        table[special.logit] = torch.logit
    except ImportError:  # pragma: no cover
        pass
    return table


@_register(FunctionTransformer)
def _function_transformer(model, method, ctx):
    if method != "transform":
        raise _unsupported(model, method)
    if model.kw_args:
        raise _Blocked(model, "kw_args are not supported")
    if model.func is None:
        return lambda X: X
    function = _torch_ufuncs().get(model.func)
    if function is None:
        name = getattr(model.func, "__name__", repr(model.func))
        raise _Blocked(model, f"func={name} is not a numpy ufunc that torch has")
    return function


@_register(LinearDiscriminantAnalysis)
def _lda(model, method, ctx):
    if method == "transform":
        if model.solver == "lsqr":
            raise _Blocked(model, "solver='lsqr' has no transform")
        k = model._max_components
        scalings = ctx.tensor(model.scalings_[:, :k])
        if model.solver == "svd":
            mean = ctx.tensor(model.xbar_)
            return lambda X: (X - mean) @ scalings
        return lambda X: X @ scalings
    decision = _ravel_single(_affine(model.coef_, model.intercept_, ctx))
    if method == "decision_function":
        return decision
    if method == "predict_proba":
        return _binary_or_softmax(decision)
    raise _unsupported(model, method)


@_register(QuadraticDiscriminantAnalysis)
def _qda(model, method, ctx):
    import torch

    if method not in ("decision_function", "predict_proba"):
        raise _unsupported(model, method)
    maps = [
        ctx.tensor(R * (S ** (-0.5)))
        for R, S in zip(model.rotations_, model.scalings_, strict=True)
    ]
    means = [ctx.tensor(m) for m in model.means_]
    constant = ctx.tensor(
        -0.5 * np.asarray([np.sum(np.log(s)) for s in model.scalings_])
        + np.log(model.priors_)
    )

    def scores(X):
        pairs = zip(means, maps, strict=True)
        norms = [((X - m) @ A).square().sum(dim=1) for m, A in pairs]
        norm2 = torch.stack(norms, dim=1)
        return -0.5 * norm2 + constant

    if method == "predict_proba":
        return lambda X: torch.softmax(scores(X), dim=1)

    def decision(X):
        s = scores(X)
        return s[:, 1] - s[:, 0] if s.shape[1] == 2 else s

    return decision


# ---------------------------------------------------------------------- linear models
_LINEAR_REGRESSORS = (
    LinearRegression,
    Ridge,
    RidgeCV,
    Lasso,
    LassoCV,
    ElasticNet,
    ElasticNetCV,
    MultiTaskLasso,
    MultiTaskLassoCV,
    MultiTaskElasticNet,
    MultiTaskElasticNetCV,
    Lars,
    LarsCV,
    LassoLars,
    LassoLarsCV,
    LassoLarsIC,
    OrthogonalMatchingPursuit,
    OrthogonalMatchingPursuitCV,
    BayesianRidge,
    ARDRegression,
    HuberRegressor,
    TheilSenRegressor,
    QuantileRegressor,
    SGDRegressor,
    LinearSVR,
)


@_register(*_LINEAR_REGRESSORS)
def _linear_regressor(model, method, ctx):
    if method != "predict":
        raise _unsupported(model, method)
    return _affine(model.coef_, model.intercept_, ctx)


@_register(
    LogisticRegression,
    LogisticRegressionCV,
    SGDClassifier,
    LinearSVC,
    RidgeClassifier,
    RidgeClassifierCV,
    Perceptron,
)
def _linear_classifier(model, method, ctx):
    import torch

    decision = _ravel_single(_affine(model.coef_, model.intercept_, ctx))
    if method == "decision_function":
        return decision
    if method != "predict_proba":
        raise _unsupported(model, method)
    if isinstance(model, LogisticRegression):
        return _binary_or_softmax(decision)
    if isinstance(model, SGDClassifier) and model.loss == "log_loss":
        return _ovr_normalized_expit(decision)
    if isinstance(model, SGDClassifier) and model.loss == "modified_huber":

        def proba(X):
            p = (decision(X).clamp(-1, 1) + 1) / 2
            if p.ndim == 1:
                return torch.stack([1 - p, p], dim=1)
            total = p.sum(dim=1, keepdim=True)
            zero = total == 0
            p = torch.where(zero, torch.ones_like(p), p)
            total = torch.where(zero, torch.full_like(total, p.shape[1]), total)
            return p / total

        return proba
    raise _unsupported(model, method)


# ---------------------------------------------------------------------- neural nets
@_register(MLPClassifier, MLPRegressor)
def _mlp(model, method, ctx):
    import torch

    expected = "predict_proba" if isinstance(model, MLPClassifier) else "predict"
    if method != expected:
        raise _unsupported(model, method)
    try:
        net = mlp_to_sequential(model, ctx.dtype, ctx.device)
    except NotDifferentiableError:
        raise _Blocked(model, f"activation={model.activation!r}") from None
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
            raise _Blocked(model, f"out_activation_={output!r}")
        if out.shape[1] == 1:
            out = out.reshape(-1)
            if method == "predict_proba":
                out = torch.stack([1 - out, out], dim=1)
        return out

    return response


# ---------------------------------------------------------------------- kernels
_KERNELS = ("linear", "poly", "polynomial", "sigmoid", "rbf", "laplacian", "cosine")


def _kernel(model, name, support, gamma, degree, coef0, ctx):
    """K(X, support) for the named kernel (libsvm and sklearn.metrics.pairwise)."""
    import torch

    if callable(name) or name == "precomputed":
        shown = getattr(name, "__name__", name)
        raise _Blocked(model, f"kernel={shown!r}")
    Y = ctx.tensor(support)
    if name not in (
        "linear",
        "poly",
        "polynomial",
        "sigmoid",
        "rbf",
        "laplacian",
        "cosine",
    ):
        raise _Blocked(model, f"kernel={name!r}")
    if gamma is None:
        gamma = 1.0 / support.shape[1]
    if name == "linear":
        return lambda X: X @ Y.T
    if name in ("poly", "polynomial"):
        return lambda X: (gamma * (X @ Y.T) + coef0) ** degree
    if name == "sigmoid":
        return lambda X: torch.tanh(gamma * (X @ Y.T) + coef0)
    if name == "rbf":
        YY = (Y * Y).sum(dim=1)

        def rbf(X):
            d2 = -2 * (X @ Y.T) + (X * X).sum(dim=1, keepdim=True) + YY
            return torch.exp(-gamma * d2.clamp_min(0))

        return rbf
    if name == "laplacian":
        return lambda X: torch.exp(-gamma * torch.cdist(X, Y, p=1))
    Y_norms = torch.linalg.vector_norm(Y, dim=1, keepdim=True)
    Yn = Y / torch.where(Y_norms == 0, torch.ones_like(Y_norms), Y_norms)

    def cosine(X):
        norms = torch.linalg.vector_norm(X, dim=1, keepdim=True)
        return (X / torch.where(norms == 0, torch.ones_like(norms), norms)) @ Yn.T

    return cosine


def _libsvm_kernel(model, ctx):
    return _kernel(
        model,
        model.kernel,
        model.support_vectors_,
        model._gamma,
        model.degree,
        model.coef0,
        ctx,
    )


@_register(SVR, NuSVR)
def _svr(model, method, ctx):
    if method != "predict":
        raise _unsupported(model, method)
    kernel = _libsvm_kernel(model, ctx)
    coef = ctx.tensor(model.dual_coef_).reshape(-1)
    intercept = ctx.tensor(model.intercept_).reshape(())
    return lambda X: kernel(X) @ coef + intercept


@_register(SVC, NuSVC)
def _svc(model, method, ctx):

    if method not in ("decision_function", "predict_proba"):
        raise _unsupported(model, method)
    kernel = _libsvm_kernel(model, ctx)
    n_classes = len(model.classes_)
    if method == "predict_proba":
        # libsvm's Platt scaling (probability=True, deprecated in scikit-learn 1.9)
        raise _Blocked(model, "predict_proba of probability=True")
    # one-vs-one decision values with the public (sign-corrected) attributes:
    # pair (i, j) sums dual_coef_[j - 1] over class i's support vectors and
    # dual_coef_[i] over class j's, plus intercept_[pair]
    dual = model.dual_coef_
    dual = dual.toarray() if sp.issparse(dual) else np.asarray(dual)
    starts = np.concatenate([[0], np.cumsum(model.n_support_)])
    pairs = [(i, j) for i in range(n_classes) for j in range(i + 1, n_classes)]
    coef = np.zeros((dual.shape[1], len(pairs)))
    for p, (i, j) in enumerate(pairs):
        coef[starts[i] : starts[i + 1], p] = dual[j - 1, starts[i] : starts[i + 1]]
        coef[starts[j] : starts[j + 1], p] = dual[i, starts[j] : starts[j + 1]]
    coef = ctx.tensor(coef)
    intercept = ctx.tensor(model.intercept_)

    def ovo(X):
        return kernel(X) @ coef + intercept

    if n_classes == 2:
        return lambda X: ovo(X)[:, 0]
    if model.decision_function_shape != "ovr":
        return ovo
    # sklearn's _ovr_decision_function: votes (piecewise constant) + confidences
    first = np.zeros((len(pairs), n_classes))
    second = np.zeros((len(pairs), n_classes))
    for p, (i, j) in enumerate(pairs):
        first[p, i] = 1
        second[p, j] = 1
    first, second = ctx.tensor(first), ctx.tensor(second)
    confidence_map = first - second

    def ovr(X):
        dec = ovo(X)
        wins_first = (dec >= 0).to(dec.dtype).detach()
        votes = wins_first @ first + (1 - wins_first) @ second
        confidence = dec @ confidence_map
        return votes + confidence / (3 * (confidence.abs() + 1))

    return ovr


@_register(KernelRidge)
def _kernel_ridge(model, method, ctx):
    if method != "predict":
        raise _unsupported(model, method)
    # like KernelRidge._get_kernel: string kernels take gamma, degree and coef0
    kernel = _kernel(
        model, model.kernel, model.X_fit_, model.gamma, model.degree, model.coef0, ctx
    )
    coef = ctx.tensor(model.dual_coef_)
    return lambda X: kernel(X) @ coef
