"""The one place where private attributes and helpers of other libraries are used.

Each entry names the version it was checked against; a new release of scikit-learn or
skorch that moves one of them breaks here, with a clear error, and nowhere else.
"""

from sklearn.base import _fit_context  # noqa: F401  (public idiom, private module)
from sklearn.utils._param_validation import (  # noqa: F401
    HasMethods,
    Interval,
    InvalidParameterError,
    Options,
    StrOptions,
    validate_params,
)
from sklearn.utils.metadata_routing import (  # noqa: F401
    _routing_enabled as routing_enabled,
)
from sklearn.utils.validation import (  # noqa: F401
    _check_feature_names_in as check_feature_names_in,
)
from sklearn.utils.validation import (  # noqa: F401
    _check_sample_weight as check_sample_weight,
)

#: Versions the private accesses below were checked against.
CHECKED_AGAINST = {"scikit-learn": "1.9.1", "skorch": "1.4.0", "torch": "2.13.0"}


def calculate_threshold(estimator, importances, threshold):
    """``SelectFromModel``'s threshold rule (``sklearn.feature_selection._from_model``).

    Checked against scikit-learn 1.9.1.
    """
    from sklearn.feature_selection._from_model import _calculate_threshold

    return _calculate_threshold(estimator, importances, threshold)


def column_transformer_input_indices(model, name):
    """Input columns of transformer ``name`` of a fitted ``ColumnTransformer``.

    ``ColumnTransformer._transformer_to_input_indices``, checked against 1.9.1.
    """
    return list(model._transformer_to_input_indices.get(name, []))


def lda_max_components(model):
    """``LinearDiscriminantAnalysis._max_components`` (checked against 1.9.1)."""
    return model._max_components


def libsvm_gamma(model):
    """The numeric gamma a fitted libsvm model used: ``BaseLibSVM._gamma`` (1.9.1)."""
    return model._gamma


def skorch_predict_nonlinearity(net):
    """The callable skorch applies to ``module_`` output in ``predict_proba``.

    ``NeuralNet._get_predict_nonlinearity``, checked against skorch 1.4.0.
    """
    return net._get_predict_nonlinearity()


class TorchDevice(Options):
    """Parameter constraint: a device name (str) or a ``torch.device``.

    Checked without importing torch, so that validating parameters stays light. (A
    subclass of ``Options``, the kind of constraint scikit-learn accepts, checked
    against 1.9.1.)
    """

    def __init__(self):
        super().__init__(object, set())

    def is_satisfied_by(self, val):
        if isinstance(val, str):
            return True
        kind = type(val)
        return kind.__module__ == "torch" and kind.__name__ == "device"

    def __str__(self):
        return "a str or a torch.device"


def torch_children(module):
    """``(name, child)`` of a torch module's children, repeated instances included.

    ``Module._modules`` (``named_children`` skips a module seen before, which would
    drop the second use of a shared ReLU); checked against torch 2.13.
    """
    return list(module._modules.items())


def torch_with_submodule(module, path, replacement):
    """A shallow copy of ``module`` whose submodule at ``path`` is ``replacement``.

    Only the containers along ``path`` are copied (their ``Module._modules`` dicts,
    checked against torch 2.13); parameters and every other submodule are shared, and
    ``module`` itself is never changed, so this is safe while other threads use it.
    """
    import copy

    head, _, rest = path.partition(".")
    clone = copy.copy(module)
    children = dict(module._modules)
    children[head] = (
        torch_with_submodule(children[head], rest, replacement) if rest else replacement
    )
    object.__setattr__(clone, "_modules", children)
    return clone


class StoredTensor:
    """A torch tensor as a numpy array (what :func:`torch_module_as_arrays` holds)."""

    def __init__(self, values, requires_grad, parameter):
        self.values = values
        self.requires_grad = requires_grad
        self.parameter = parameter


def torch_module_as_arrays(module, memo=None):
    """A copy of ``module``'s tree whose tensors are :class:`StoredTensor` arrays.

    Every module's ``__dict__`` is copied, with its parameters, buffers and tensor
    attributes stored as numpy arrays (on the CPU) and its children converted in turn;
    ``module`` is not changed. Shared modules and tensors stay shared. Used to store a
    module in formats without tensors (skops); checked against torch 2.13.
    """
    import torch

    memo = {} if memo is None else memo

    def stored(value):
        if isinstance(value, torch.Tensor):
            if id(value) not in memo:
                memo[id(value)] = StoredTensor(
                    value.detach().cpu().numpy().copy(),
                    bool(value.requires_grad),
                    isinstance(value, torch.nn.Parameter),
                )
            return memo[id(value)]
        if isinstance(value, torch.nn.Module):
            return torch_module_as_arrays(value, memo)
        return value

    if id(module) in memo:
        return memo[id(module)]
    clone = memo[id(module)] = object.__new__(type(module))
    state = {}
    for name, value in module.__dict__.items():
        if name in ("_parameters", "_buffers", "_modules"):
            value = {key: stored(item) for key, item in value.items()}
        state[name] = stored(value)
    object.__setattr__(clone, "__dict__", state)
    return clone


def torch_module_from_arrays(module, memo=None):
    """Undo :func:`torch_module_as_arrays` in place (its copy is not the user's)."""
    import torch

    memo = {} if memo is None else memo

    def restored(value):
        if isinstance(value, StoredTensor):
            if id(value) not in memo:
                tensor = torch.from_numpy(value.values.copy())
                memo[id(value)] = (
                    torch.nn.Parameter(tensor, requires_grad=value.requires_grad)
                    if value.parameter
                    else tensor.requires_grad_(value.requires_grad)
                )
            return memo[id(value)]
        if isinstance(value, torch.nn.Module):
            return torch_module_from_arrays(value, memo)
        return value

    if id(module) in memo:
        return module
    memo[id(module)] = module
    state = module.__dict__
    for name, value in list(state.items()):
        if name in ("_parameters", "_buffers", "_modules"):
            state[name] = {key: restored(item) for key, item in value.items()}
        else:
            state[name] = restored(value)
    return module


def onehot_output_sizes(encoder):
    """Indicator columns per input column of a fitted ``OneHotEncoder``.

    ``OneHotEncoder._n_features_outs`` (dropped and infrequent categories taken
    into account), checked against scikit-learn 1.9.1.
    """
    return list(encoder._n_features_outs)


# ------------------------------------------- scikit-learn, read by the translations
def pls_centering(model):
    """``(_x_mean, _x_std)`` of a fitted ``_PLS`` (PLSRegression, PLSCanonical, CCA).

    Checked against scikit-learn 1.9.1.
    """
    return model._x_mean, model._x_std


def pls_predicts_1d(model):
    """``_PLS._predict_1d``: the target was 1-D in fit (checked against 1.9.1)."""
    return bool(model._predict_1d)


def gpr_target_normalization(model):
    """``(_y_train_mean, _y_train_std)`` of a ``GaussianProcessRegressor`` (1.9.1)."""
    return model._y_train_mean, model._y_train_std


def power_transformer_scaler(model):
    """The ``StandardScaler`` a ``PowerTransformer(standardize=True)`` applies last.

    ``PowerTransformer._scaler``, checked against scikit-learn 1.9.1.
    """
    return model._scaler


def kernel_pca_centerer(model):
    """The fitted ``KernelCenterer`` of a ``KernelPCA`` (``_centerer``, 1.9.1)."""
    return model._centerer


def target_training_dim(model):
    """``TransformedTargetRegressor._training_dim``: y's ndim in fit (1.9.1)."""
    return model._training_dim


def is_constant_predictor(estimator):
    """Whether ``estimator`` is a ``sklearn.multiclass._ConstantPredictor``.

    One-vs-rest fits one where a class is in every row or in none (checked against
    1.9.1).
    """
    kind = type(estimator)
    return kind.__name__ == "_ConstantPredictor" and kind.__module__ == (
        "sklearn.multiclass"
    )


def constant_predictor_value(estimator):
    """The constant a ``_ConstantPredictor`` predicts (``y_``, 1.9.1)."""
    return estimator.y_
