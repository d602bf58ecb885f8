"""The translation registry: exact-type dispatch, errors that say where, helpers.

A translation is a function ``(model, method, ctx) -> callable`` registered for one or
more estimator classes, where ``method`` is ``"transform"`` (steps inside a pipeline) or
a response method. Dispatch is on the exact type: a subclass of a registered class is
translated as its parent only when it overrides none of the methods the translation
reproduces (a subclass that changes ``predict_proba`` must not get its parent's
gradients); otherwise the error names the override.
"""

import numpy as np
import scipy.sparse as sp

from ..._response import is_torch_net
from ...exceptions import NotDifferentiableError

_TRANSLATIONS = {}

#: Methods whose override makes a parent's translation wrong for a subclass.
_RESPONSE_METHODS = (
    "predict",
    "predict_proba",
    "predict_log_proba",
    "decision_function",
    "transform",
    "fit_transform",
    "inverse_transform",
)
_RESPONSE_PREFIXES = ("_predict", "_decision", "_transform", "_get_kernel", "_compute")


class Blocked(NotDifferentiableError):
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
        return Blocked(self.model_name, self.detail, (*self.where, location))


class HeldRows:
    """The raw rows of the current batch, for the columns held fixed.

    A ``ColumnTransformer`` at the model's input whose branch cannot be translated
    (an encoder of string categories) but reads only columns held fixed
    (``features=``) is a per-row constant: it is computed in numpy from these rows,
    which the autograd engine sets before each forward pass (one holder per engine,
    so concurrent explanations never share one).

    Attributes
    ----------
    columns : set of int
        Positions of the input columns held fixed.
    rows : DataFrame or ndarray or None
        The current batch's rows, every column.
    """

    def __init__(self, columns):
        self.columns = set(int(c) for c in columns)
        self.rows = None


class Context:
    """Target dtype and device; copies arrays into constant tensors.

    ``held`` (a :class:`HeldRows` or None) applies to the model's input only:
    :meth:`deeper` gives the context of a step that sees transformed data.
    """

    def __init__(self, dtype, device, held=None):
        self.dtype = dtype
        self.device = device
        self.held = held

    def deeper(self):
        """The context of a step after the first: raw rows no longer apply."""
        return Context(self.dtype, self.device)

    def tensor(self, array):
        import torch

        if sp.issparse(array):
            array = array.toarray()
        return torch.tensor(np.asarray(array), dtype=self.dtype, device=self.device)


def register(*classes):
    """Decorator: ``function`` translates instances of ``classes``."""

    def decorator(function):
        for cls in classes:
            _TRANSLATIONS[cls] = function
        return function

    return decorator


def _overrides(cls, parent):
    """Names of response methods that ``cls`` (a subclass) defines over ``parent``."""
    found = []
    for klass in cls.__mro__:
        if klass is parent:
            break
        for name, value in vars(klass).items():
            if not callable(value) and not isinstance(value, property):
                continue
            if name in _RESPONSE_METHODS or name.startswith(_RESPONSE_PREFIXES):
                found.append(f"{klass.__name__}.{name}")
    return found


def translation_of(model):
    """The registered translation for ``model``'s exact type (or a ``Blocked``)."""
    cls = type(model)
    if cls in _TRANSLATIONS:
        return _TRANSLATIONS[cls]
    for parent in cls.__mro__[1:]:
        if parent in _TRANSLATIONS:
            overrides = _overrides(cls, parent)
            if overrides:
                raise Blocked(
                    model,
                    f"a subclass of {parent.__name__} that overrides "
                    f"{', '.join(overrides)}: the parent's translation would not "
                    "be its response",
                )
            return _TRANSLATIONS[parent]
    raise Blocked(model)


def translate_step(model, method, ctx):
    """Translate ``model``'s ``method`` (a response method or ``"transform"``)."""
    if type(model) not in _TRANSLATIONS and is_torch_net(model):
        return _torch_net(model, method, ctx)
    return translation_of(model)(model, method, ctx)


def _torch_net(model, method, ctx):
    """A skorch net or TorchModel inside a composite: its own module, own dtype."""
    from .._autograd import module_response

    if method not in ("predict", "predict_proba", "decision_function"):
        raise unsupported(model, method)
    try:
        return module_response(model, method, ctx.device)
    except NotDifferentiableError as exc:
        raise Blocked(model, str(exc).rstrip(".")) from None


def located(estimator, method, ctx, location):
    """Translate a part of a composite; an error says where the part sits."""
    try:
        return translate_step(estimator, method, ctx)
    except Blocked as exc:
        raise exc.inside(location) from None


def unsupported(model, method):
    return Blocked(model, f"no torch form of {method}")


def affine(coef, intercept, ctx):
    """``X @ coef.T + intercept`` keeping the estimator's output shape."""
    W = ctx.tensor(coef)
    b = ctx.tensor(intercept)
    if W.ndim == 1:
        return lambda X: X @ W + b
    W = W.T
    return lambda X: X @ W + b


def constant(values, ctx):
    """``values`` repeated for every row (the gradient is exactly zero)."""
    value = ctx.tensor(values)
    return lambda X: value.expand(X.shape[0], *value.shape)


def softmax_of_log(joint_log_likelihood):
    """``exp(jll - logsumexp(jll))`` per row, as naive Bayes' ``predict_proba``."""
    import torch

    def proba(X):
        jll = joint_log_likelihood(X)
        return torch.exp(jll - torch.logsumexp(jll, dim=1, keepdim=True))

    return proba


def ravel_single(function):
    """(n, 1) -> (n,), like classifiers' binary decision functions."""

    def ravelled(X):
        out = function(X)
        return out.reshape(-1) if out.ndim == 2 and out.shape[1] == 1 else out

    return ravelled


def binary_or_softmax(decision):
    """Binary: [1 - expit(d), expit(d)]; multiclass: softmax(d)."""
    import torch

    def proba(X):
        d = decision(X)
        if d.ndim == 1:
            p = torch.sigmoid(d)
            return torch.stack([1 - p, p], dim=1)
        return torch.softmax(d, dim=1)

    return proba


def ovr_normalized_expit(decision):
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


def ovo_combination(n_classes, ctx):
    """``sklearn.utils.multiclass._ovr_decision_function`` as ``(votes, scores) -> Y``.

    ``votes`` are the pairwise predictions (1: the pair's second class), constants;
    ``scores`` the pairwise confidences, positive towards the pair's second class.
    Used by OneVsOneClassifier and by SVC's ``decision_function_shape="ovr"``.
    """
    pairs = [(i, j) for i in range(n_classes) for j in range(i + 1, n_classes)]
    first = np.zeros((len(pairs), n_classes))
    second = np.zeros((len(pairs), n_classes))
    for k, (i, j) in enumerate(pairs):
        first[k, i] = 1
        second[k, j] = 1
    first, second = ctx.tensor(first), ctx.tensor(second)
    signs = second - first

    def combine(votes, scores):
        counts = (1 - votes) @ first + votes @ second
        confidence = scores @ signs
        return counts + confidence / (3 * (confidence.abs() + 1))

    return combine
