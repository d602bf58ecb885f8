"""Which output of a model is differentiated: response method, outputs and signs.

Both engines differentiate the same thing: the model's raw response (``predict_proba``,
``decision_function`` or ``predict``) reduced to the selected output columns, each
multiplied by a sign (the negative class of a binary decision function gets the negated
score). :class:`OutputSelection` holds that choice and applies it to numpy arrays and to
torch tensors alike.
"""

from dataclasses import dataclass

import numpy as np
from sklearn.base import is_classifier
from sklearn.frozen import FrozenEstimator


def unwrap_model(estimator):
    """The fitted model behind ``FrozenEstimator`` wrappers."""
    while isinstance(estimator, FrozenEstimator):
        estimator = estimator.estimator
    return estimator


def is_skorch_net(model):
    """Whether ``model`` is a skorch net (duck-typed: no skorch import)."""
    return hasattr(model, "module") and hasattr(model, "_get_predict_nonlinearity")


def resolve_response_method(model, response_method):
    """The response method that ``"auto"`` stands for, validated against ``model``."""
    classifier = is_classifier(model)
    skorch = is_skorch_net(model)
    if response_method == "auto":
        if not classifier:
            if not hasattr(model, "predict"):  # e.g. a transformer
                raise ValueError(
                    f"{type(model).__name__} has no predict: there is no prediction "
                    "to explain."
                )
            return "predict"
        if hasattr(model, "predict_proba"):
            return "predict_proba"
        if hasattr(model, "decision_function") or skorch:
            return "decision_function"
        raise ValueError(
            f"{type(model).__name__} has neither predict_proba nor decision_function: "
            "a classifier's predicted labels cannot be differentiated."
        )
    if response_method == "predict" and classifier:
        raise ValueError(
            "response_method='predict' returns class labels, which have no gradient; "
            "use 'predict_proba' or 'decision_function'."
        )
    # skorch nets have no decision_function: it means the raw module output.
    if not (skorch and response_method == "decision_function"):
        if not hasattr(model, response_method):
            raise ValueError(
                f"{type(model).__name__} has no {response_method}; choose another "
                "response_method."
            )
    return response_method


@dataclass(frozen=True)
class OutputSelection:
    """Columns of the raw response that are explained, and their signs.

    Attributes
    ----------
    columns : ndarray of int
        Indices into the 2-D raw response.
    signs : ndarray of float
        +1 or -1 per selected column.
    names : list or None
        One name per selected output (class labels or output indices), or ``None``
        when a single output is explained.
    """

    columns: np.ndarray
    signs: np.ndarray
    names: list | None

    @property
    def n_outputs(self):
        return len(self.columns)

    def __call__(self, raw):
        """Select and sign the columns of a raw response (numpy or torch)."""
        if raw.ndim == 1:
            raw = raw.reshape(-1, 1)
        selected = raw[:, self.columns]
        if np.all(self.signs == 1):
            return selected
        if isinstance(selected, np.ndarray):
            return selected * self.signs
        return selected * selected.new_tensor(self.signs)


def select_outputs(model, response_method, target, n_raw_columns, classes=None):
    """Build the :class:`OutputSelection` for ``target``.

    Parameters
    ----------
    model : estimator
        The fitted (unwrapped) model.
    response_method : str
        Resolved response method.
    target : None, class label or int
        ``None``: binary -> positive class, several outputs -> all of them.
    n_raw_columns : int
        Width of the raw response (1 for a 1-D response).
    classes : ndarray or None
        The classifier's ``classes_``.
    """
    columns = np.arange(n_raw_columns)
    signs = np.ones(n_raw_columns)
    if classes is not None:
        classes = np.asarray(classes)
        if target is not None:
            matches = np.flatnonzero(classes == target)
            if matches.size == 0:
                raise ValueError(
                    f"target={target!r} is not one of the classes {classes.tolist()}."
                )
            position = int(matches[0])
        if n_raw_columns == 1:  # binary decision function: score of classes[1]
            if len(classes) != 2:
                raise ValueError(
                    f"{response_method} returned one column for {len(classes)} classes."
                )
            negative = target is not None and position == 0
            return OutputSelection(
                np.array([0]), np.array([-1.0 if negative else 1.0]), None
            )
        if n_raw_columns == len(classes):
            if target is not None:
                return OutputSelection(np.array([position]), np.ones(1), None)
            if len(classes) == 2:
                return OutputSelection(np.array([1]), np.ones(1), None)
            return OutputSelection(columns, signs, classes.tolist())
        if target is not None:  # e.g. one-vs-one decision functions
            raise ValueError(
                f"target cannot be used with a {n_raw_columns}-column "
                f"{response_method} "
                f"for {len(classes)} classes."
            )
        return OutputSelection(columns, signs, list(range(n_raw_columns)))
    # regressors and unlabelled outputs: target is a column index
    if target is None:
        names = None if n_raw_columns == 1 else list(range(n_raw_columns))
        return OutputSelection(columns, signs, names)
    if isinstance(target, (bool, np.bool_)) or not isinstance(
        target, (int, np.integer)
    ):
        raise ValueError(
            f"target must be an output index for {type(model).__name__}, "
            f"got {target!r}."
        )
    if not 0 <= target < n_raw_columns:
        raise ValueError(
            f"target={target} is out of range for a model with {n_raw_columns} "
            "output(s)."
        )
    return OutputSelection(np.array([int(target)]), np.ones(1), None)
