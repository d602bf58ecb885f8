"""TorchModel: a trained ``torch.nn.Module`` as a prefit scikit-learn estimator."""

import sys

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.metrics import accuracy_score, r2_score
from sklearn.utils import ClassifierTags, RegressorTags
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data

from ._compat import (
    HasMethods,
    StrOptions,
    TorchDevice,
    _fit_context,
    torch_module_as_arrays,
    torch_module_from_arrays,
)


def _is_torch_module(obj):
    torch = sys.modules.get("torch")  # no torch module exists without torch imported
    return torch is not None and isinstance(obj, torch.nn.Module)


def _has_logits(self):
    """``available_if``: the module outputs logits (a decision function exists)."""
    return self.output == "logits" and self.task == "classification"


def _is_classifier(self):
    return self.task == "classification"


class TorchModel(BaseEstimator):
    """A trained ``torch.nn.Module`` as a prefit scikit-learn estimator.

    ``fit`` trains nothing: it checks ``X``, records ``n_features_in_`` and the
    classes, so that the module can be explained like any fitted model
    (``GradientExplainer(TorchModel(module)).fit(X)``), by autograd on the module
    itself. The module is never modified: it is called in evaluation mode (a copy
    when it is in training mode) and differentiated with respect to its input only.

    Parameters
    ----------
    module : torch.nn.Module
        The trained network, mapping a float tensor of shape (n_samples, n_features)
        to its output (a tuple's first element is used). Parameter-free modules work.
        A module with an ``nn.Embedding`` (or ``nn.EmbeddingBag``) takes integer X
        as token ids (:class:`TokenGradientExplainer`); other X is cast to floats.
    task : {"classification", "regression"}, default="classification"
        What the output is.
    classes : array-like of shape (n_classes,), default=None
        Class labels of the output columns (classification). ``None``: 0, 1, ...,
        one per output column, and [0, 1] for a single logit (binary).
    output : {"logits", "probabilities"}, default="logits"
        Whether a classifier's module outputs logits (``predict_proba`` applies
        softmax, or the sigmoid for a single logit, and ``decision_function`` is the
        logits) or probabilities (``predict_proba`` is the output itself).
    device : str or torch.device, default="cpu"
        Where the module is evaluated.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels (classification).
    n_outputs_ : int
        Number of output columns of the module.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during fit (DataFrame input).

    Examples
    --------
    >>> import numpy as np, torch
    >>> from sklearn_gradexplain import GradientExplainer, TorchModel
    >>> module = torch.nn.Linear(3, 1, dtype=torch.float64)
    >>> X = np.random.RandomState(0).normal(size=(20, 3))
    >>> model = TorchModel(module, task="regression").fit(X)
    >>> explainer = GradientExplainer(model).fit(X)
    >>> weight = module.weight.detach().numpy()[0]
    >>> bool(np.allclose(explainer.global_gradient_, weight))
    True
    """

    _parameter_constraints = {
        "module": [HasMethods(["forward"])],
        "task": [StrOptions({"classification", "regression"})],
        "classes": ["array-like", None],
        "output": [StrOptions({"logits", "probabilities"})],
        "device": [TorchDevice()],
    }

    def __init__(
        self,
        module,
        *,
        task="classification",
        classes=None,
        output="logits",
        device="cpu",
    ):
        self.module = module
        self.task = task
        self.classes = classes
        self.output = output
        self.device = device

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        classifier = self.task == "classification"
        tags.estimator_type = "classifier" if classifier else "regressor"
        # given two classes, the module is binary: no multiclass problems for it
        binary = self.classes is not None and len(self.classes) == 2
        tags.classifier_tags = (
            ClassifierTags(multi_class=not binary) if classifier else None
        )
        tags.regressor_tags = None if classifier else RegressorTags()
        tags.target_tags.required = False
        return tags

    def __getstate__(self):
        # the module's tensors as numpy arrays: skops has no representation for
        # torch tensors (pickle stores them the same way, on the CPU)
        state = super().__getstate__()
        if _is_torch_module(state.get("module")):
            state = {**state, "module": torch_module_as_arrays(state["module"])}
        return state

    def __setstate__(self, state):
        if _is_torch_module(state.get("module")):
            state = {**state, "module": torch_module_from_arrays(state["module"])}
        super().__setstate__(state)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Check ``X`` and record the input width and classes (no training).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data of the width the module takes (a few rows suffice).
        y : array-like of shape (n_samples,) or (n_samples, n_outputs), default=None
            Optional targets: checked, never learnt from (the module is trained);
            a classifier without ``classes`` takes its labels from them when they
            match the output columns.

        Returns
        -------
        self : TorchModel
            The prefit estimator.
        """
        from ._base import check_device

        check_device(self.device)
        classifier = self.task == "classification"
        labels = None
        if y is None:
            X = validate_data(self, X, dtype=self._input_dtypes())
        else:
            X, y = validate_data(
                self,
                X,
                y,
                dtype=self._input_dtypes(),
                multi_output=True,
                y_numeric=not classifier,
            )
        raw = self._raw(X[: min(len(X), 8)])
        self.n_outputs_ = 1 if raw.ndim == 1 else raw.shape[1]
        if y is not None and (classifier or self.n_outputs_ == 1) and y.ndim == 2:
            y = column_or_1d(y, warn=True)
        if y is not None and classifier:
            check_classification_targets(y)
            labels = np.unique(y)
        if classifier:
            width = 2 if self.n_outputs_ == 1 else self.n_outputs_
            if self.classes is not None:
                classes = np.asarray(self.classes)
                if labels is not None and len(labels) > len(classes) == 2:
                    raise ValueError(
                        "Only binary classification is supported: the module has two "
                        f"classes {classes.tolist()}; y has {len(labels)}."
                    )
            elif labels is not None:
                if len(labels) != width:
                    raise ValueError(
                        f"y has {len(labels)} classes but the module outputs "
                        f"{self.n_outputs_} column(s) ({width} classes); pass classes= "
                        "naming the label of each output column."
                    )
                classes = labels
            elif self.n_outputs_ == 1:
                classes = np.array([0, 1])
            else:
                classes = np.arange(self.n_outputs_)
            expected = 1 if len(classes) == 2 and self.n_outputs_ == 1 else len(classes)
            if self.n_outputs_ != expected:
                raise ValueError(
                    f"The module returns {self.n_outputs_} output column(s) for "
                    f"{len(classes)} classes; pass classes= with one label per column "
                    "(or a single logit for two classes)."
                )
            self.classes_ = classes
        return self

    # ------------------------------------------------------------------ torch side
    def _module_response(self, response_method, device):
        """The differentiable response the autograd engine uses."""
        import torch

        from ._engines._autograd import ModuleResponse

        logits = self.output == "logits"

        def probabilities(out):
            single = out.ndim == 1 or out.shape[1] == 1
            if not single:
                return torch.softmax(out, dim=1) if logits else out
            p = out.reshape(-1)
            p = torch.sigmoid(p) if logits else p
            return torch.stack([1 - p, p], dim=1)

        classifier = self.task == "classification"
        nonlinearity = (
            probabilities if classifier and response_method == "predict_proba" else None
        )
        return ModuleResponse(self.module, nonlinearity, device)

    def _input_dtypes(self):
        """Token ids stay integer for a module with an embedding; else floats."""
        torch = sys.modules.get("torch")
        embeds = _is_torch_module(self.module) and any(
            isinstance(m, torch.nn.Embedding | torch.nn.EmbeddingBag)
            for m in self.module.modules()
        )
        floats = (np.float64, np.float32)
        return (np.int64, np.int32, *floats) if embeds else floats

    def _raw(self, X, response_method="decision_function"):
        import torch

        response = self._module_response(response_method, self.device)
        X = np.asarray(X)
        dtype = (
            torch.long if X.dtype.kind in "iu" else (response.dtype or torch.float64)
        )
        with torch.no_grad():
            tensor = torch.tensor(X, dtype=dtype, device=response.device)
            out = response(tensor)
        out = out.detach().cpu().numpy()
        return out.reshape(-1) if out.ndim == 2 and out.shape[1] == 1 else out

    def _validated(self, X):
        check_is_fitted(self)
        return validate_data(self, X, reset=False, dtype=self._input_dtypes())

    # ------------------------------------------------------------------ predictions
    def predict(self, X):
        """Class labels (classification) or the module's output (regression).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input rows.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            Predicted labels, or the regression output.
        """
        X = self._validated(X)
        if self.task == "regression":
            return self._raw(X, "predict")
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]

    @available_if(_is_classifier)
    def predict_proba(self, X):
        """Class probabilities: softmax (or sigmoid) of the logits, or the output.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input rows.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            One probability per class of ``classes_``.
        """
        return self._raw(self._validated(X), "predict_proba")

    @available_if(_has_logits)
    def decision_function(self, X):
        """The logits (a single logit is the score of ``classes_[1]``).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input rows.

        Returns
        -------
        scores : ndarray of shape (n_samples,) or (n_samples, n_classes)
            The module's raw output.
        """
        return self._raw(self._validated(X))

    def score(self, X, y, sample_weight=None):
        """Accuracy (classification) or R² (regression) on ``(X, y)``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input rows.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            True targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        Returns
        -------
        score : float
            Mean accuracy or R².
        """
        metric = accuracy_score if self.task == "classification" else r2_score
        return float(metric(y, self.predict(X), sample_weight=sample_weight))
