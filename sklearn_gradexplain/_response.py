"""Which output of a model is differentiated: response method, outputs and signs.

Both engines differentiate the same thing: the model's raw response (``predict_proba``,
``decision_function`` or ``predict``) reduced to the selected output columns, each
multiplied by a sign (the negative class of a binary decision function gets the negated
score). :class:`OutputSelection` holds that choice, checks every response against the
shape it was built for (never reshaping a wrong one into something else), and applies
it to numpy arrays and torch tensors alike.
"""

from dataclasses import dataclass

import numpy as np
from sklearn.base import is_classifier, is_clusterer, is_outlier_detector
from sklearn.frozen import FrozenEstimator

RESPONSE_METHODS = ("predict_proba", "decision_function", "predict")


def unwrap_model(estimator):
    """The fitted model behind ``FrozenEstimator`` wrappers."""
    while isinstance(estimator, FrozenEstimator):
        estimator = estimator.estimator
    return estimator


def is_skorch_net(model):
    """Whether ``model`` is a skorch net (duck-typed: no skorch import)."""
    return hasattr(model, "module") and hasattr(model, "_get_predict_nonlinearity")


def is_torch_model(model):
    """Whether ``model`` is a :class:`~sklearn_gradexplain.TorchModel`."""
    return hasattr(model, "_module_response") and hasattr(model, "module")


def is_torch_net(model):
    """A skorch net or a TorchModel: explained through its torch module."""
    return is_skorch_net(model) or is_torch_model(model)


def check_response_method(estimator, response_method, raw=False):
    """Checks of ``response_method`` that need no fitted model (run before fitting).

    Parameters
    ----------
    estimator : estimator
        The (possibly unfitted, possibly frozen) estimator.
    response_method : str
        The explainer's parameter.
    raw : bool, default=False
        The attribution starts from the raw output (LRP): ``decision_function`` for
        classifiers, ``predict`` for regressors.
    """
    model = unwrap_model(estimator)
    name = type(model).__name__
    if is_clusterer(model):
        raise ValueError(
            f"{name} is a clusterer: its predictions are cluster labels, which have "
            "no gradient. Explain a classifier or regressor."
        )
    if not hasattr(model, "fit") or not any(
        hasattr(model, method) for method in RESPONSE_METHODS
    ):
        if not is_torch_net(model):
            raise ValueError(
                f"{name} has no predict, predict_proba or decision_function: there is "
                "no prediction to explain."
            )
    if raw:
        expected = "decision_function" if is_classifier(model) else "predict"
        if response_method not in ("auto", expected):
            raise ValueError(
                f"LRP starts from the raw output ({expected!r}: the logit for "
                f"classifiers); response_method={response_method!r} cannot be used."
            )
        return
    if response_method == "predict" and (
        is_classifier(model) or is_outlier_detector(model)
    ):
        raise ValueError(
            "response_method='predict' returns class labels, which have no gradient; "
            "use 'predict_proba' or 'decision_function'."
        )


def resolve_response_method(model, response_method, raw=False):
    """The response method that ``"auto"`` stands for, validated against ``model``."""
    classifier = is_classifier(model)
    torch_net = is_torch_net(model)
    if raw:
        return "decision_function" if classifier else "predict"
    if response_method == "auto":
        if is_outlier_detector(model):
            if hasattr(model, "decision_function"):
                return "decision_function"
            raise ValueError(
                f"{type(model).__name__} has no decision_function: its predictions "
                "are inlier/outlier labels, which have no gradient."
            )
        if not classifier:
            if not hasattr(model, "predict"):  # e.g. a transformer
                raise ValueError(
                    f"{type(model).__name__} has no predict: there is no prediction "
                    "to explain."
                )
            return "predict"
        if hasattr(model, "predict_proba"):
            return "predict_proba"
        if hasattr(model, "decision_function") or torch_net:
            return "decision_function"
        raise ValueError(
            f"{type(model).__name__} has neither predict_proba nor decision_function: "
            "a classifier's predicted labels cannot be differentiated."
        )
    # torch nets have no decision_function: it means the raw module output.
    if not (torch_net and response_method == "decision_function"):
        if not hasattr(model, response_method):
            raise ValueError(
                f"{type(model).__name__} has no {response_method}; choose another "
                "response_method."
            )
    return response_method


def flatten_response(raw):
    """A response as a 2-D array: a list of per-label arrays is stacked side by side."""
    if isinstance(raw, (list, tuple)):
        parts = [np.asarray(part) for part in raw]
        parts = [part.reshape(-1, 1) if part.ndim == 1 else part for part in parts]
        return np.hstack(parts)
    return raw


@dataclass(frozen=True)
class OutputSelection:
    """Columns of the raw response that are explained, and their signs.

    Attributes
    ----------
    columns : ndarray of int
        Indices into the 2-D (flattened) raw response.
    signs : ndarray of float
        +1 or -1 per selected column.
    names : list or None
        One name per selected output (class labels or output indices), or ``None``
        when a single output is explained.
    width : int
        Columns of the raw response (1 for a 1-D response).
    response_method : str
        What the response is, for error messages.
    """

    columns: np.ndarray
    signs: np.ndarray
    names: list | None
    width: int
    response_method: str = "response"

    @property
    def n_outputs(self):
        return len(self.columns)

    def check(self, raw, n_rows):
        """``raw`` as a 2-D response, after checking its rows and columns."""
        raw = flatten_response(raw)
        shape = tuple(raw.shape)
        width = 1 if len(shape) == 1 else (shape[1] if len(shape) == 2 else None)
        if width != self.width or shape[0] != n_rows:
            raise ValueError(
                f"{self.response_method} returned an array of shape {shape} for "
                f"{n_rows} rows; expected {n_rows} rows and {self.width} column(s), "
                "as on the rows it was first called on. A response whose shape "
                "changes cannot be explained."
            )
        return raw

    def __call__(self, raw):
        """Select and sign the columns of a raw response (numpy or torch)."""
        if raw.ndim == 1:
            raw = raw.reshape(-1, 1)
        unsigned = np.all(self.signs == 1)
        every_column = np.array_equal(self.columns, np.arange(raw.shape[1]))
        if unsigned and every_column and not isinstance(raw, np.ndarray):
            # a tensor's every column in order: no indexing, whose backward pass
            # scatters into a fresh (rows, width) tensor once per output of a
            # Jacobian (numpy responses are still copied: the model may own them)
            return raw
        selected = raw[:, self.columns]
        if unsigned:
            return selected
        if isinstance(selected, np.ndarray):
            return selected * self.signs
        return selected * selected.new_tensor(self.signs)


def _target_position(target, names):
    matches = [i for i, name in enumerate(names) if _equal(name, target)]
    if not matches:
        raise ValueError(f"target={target!r} is not one of the classes {list(names)}.")
    return matches[0]


def _equal(a, b):
    try:
        return bool(np.asarray(a == b).all()) and type(a) is not bool
    except (TypeError, ValueError):
        return False


def _output_index(target, n_outputs, what):
    if isinstance(target, (bool, np.bool_)) or not isinstance(
        target, (int, np.integer)
    ):
        raise ValueError(f"target must be an output index for {what}, got {target!r}.")
    if not 0 <= target < n_outputs:
        raise ValueError(
            f"target={target} is out of range for a model with {n_outputs} output(s)."
        )
    return int(target)


def select_outputs(model, response_method, target, raw, n_labels=None):
    """Build the :class:`OutputSelection` for ``target`` from a probe response.

    Parameters
    ----------
    model : estimator
        The fitted (unwrapped) model.
    response_method : str
        Resolved response method.
    target : None, class label or int
        ``None``: binary -> positive class, several outputs -> all of them.
    raw : array, tensor or list of arrays
        The model's response on a few rows.
    n_labels : int or None
        For a multi-label or multi-output classifier (its ``predict`` is 2-D), the
        number of labels; ``None`` for single-output models.
    """
    name = type(model).__name__
    flat = flatten_response(raw)
    width = 1 if flat.ndim == 1 else flat.shape[1]

    def selection(columns, signs=None, names=None):
        columns = np.asarray(columns, dtype=int)
        signs = np.ones(len(columns)) if signs is None else np.asarray(signs, float)
        return OutputSelection(columns, signs, names, width, response_method)

    if is_classifier(model) and n_labels is not None:
        return _multilabel_outputs(
            model, response_method, target, raw, width, n_labels, selection
        )
    if is_classifier(model):
        classes = np.asarray(model.classes_)
        n_classes = len(classes)
        position = None if target is None else _target_position(target, classes)
        if response_method == "predict_proba" and width != n_classes:
            raise ValueError(
                f"{name}.predict_proba returned {width} column(s) for {n_classes} "
                f"classes {classes.tolist()}: one probability per class is expected, "
                "and a response of another width is not guessed at."
            )
        if width == 1:  # binary decision function: the score of classes_[1]
            if n_classes != 2:
                raise ValueError(
                    f"{response_method} returned one column for {n_classes} classes."
                )
            return selection([0], [-1.0 if position == 0 else 1.0])
        if width == n_classes:
            if position is not None:
                return selection([position])
            if n_classes == 2:
                return selection([1])
            return selection(np.arange(width), names=classes.tolist())
        if position is not None:  # e.g. one-vs-one decision functions
            raise ValueError(
                f"target cannot be used with a {width}-column {response_method} "
                f"for {n_classes} classes."
            )
        return selection(np.arange(width), names=list(range(width)))
    # regressors, outlier scores and unlabelled outputs: target is a column index
    if target is None:
        return selection(
            np.arange(width), names=None if width == 1 else list(range(width))
        )
    return selection([_output_index(target, width, name)])


def _multilabel_outputs(
    model, response_method, target, raw, width, n_labels, selection
):
    """Outputs of a multi-label (or multi-output) classifier: one per label.

    ``predict_proba`` may be a list of per-label arrays (``MultiOutputClassifier``,
    kNN) or one column per label (``MLPClassifier``); binary labels contribute the
    probability of their positive class, multiclass labels one column per class.
    """
    name = type(model).__name__
    if isinstance(raw, (list, tuple)):
        if len(raw) != n_labels:
            raise ValueError(
                f"{name}.{response_method} returned {len(raw)} arrays for {n_labels} "
                "labels."
            )
        columns, names, offset = [], [], 0
        for label, part in enumerate(raw):
            part = np.asarray(part)
            n_columns = 1 if part.ndim == 1 else part.shape[1]
            if n_columns == 2:
                columns.append(offset + 1)
                names.append(label)
            else:
                columns.extend(range(offset, offset + n_columns))
                names.extend((label, k) for k in range(n_columns))
            offset += n_columns
    else:
        if width != n_labels:
            raise ValueError(
                f"{name}.{response_method} returned {width} column(s) for "
                f"{n_labels} labels: one column per label is expected."
            )
        columns, names = list(range(width)), list(range(width))
    if target is not None:
        labels = [n if isinstance(n, int) else n[0] for n in names]
        index = _output_index(target, n_labels, f"the labels of {name}")
        keep = [i for i, label in enumerate(labels) if label == index]
        if len(keep) == 1:
            return selection([columns[keep[0]]])
        return selection([columns[i] for i in keep], names=[names[i] for i in keep])
    return selection(columns, names=names)
