"""Token gradients: which words of a text model's input matter (Hechtlinger 2016).

The input is a matrix of integer token ids fed to an ``nn.Embedding``; a token's score
is the L2 norm of the gradient of the explained output with respect to its embedding
vector. Gradients are taken with respect to the embedding *output*: the embedding is
run once on the ids, and the rest of the network runs on a shallow copy of the module
in which the embedding is replaced by that tensor. The user's module is never touched
(no hooks, no attribute changes), so explanations and the user's own predictions can
run in parallel threads.
"""

import functools
from collections.abc import Mapping
from numbers import Integral

import numpy as np
from sklearn.utils import check_array, get_tags
from sklearn.utils.validation import check_is_fitted, validate_data

from ._base import _PROBE_ROWS, BaseGradientExplainer, check_device
from ._compat import (
    HasMethods,
    Interval,
    StrOptions,
    TorchDevice,
    _fit_context,
    torch_with_submodule,
)
from ._engines._autograd import (
    TORCH_MISSING,
    module_response,
    output_gradients,
    row_blocks,
    torch_available,
)
from ._inputs import InputData
from ._response import check_response_method, is_torch_net, unwrap_model
from .exceptions import NotDifferentiableError


class TokenGradientExplainer(BaseGradientExplainer):
    """Explain a text model by the gradients with respect to its token embeddings.

    The model is a skorch net whose module takes integer token ids of shape
    (n_samples, sequence_length) into an ``nn.Embedding``. ``explain`` scores every
    token by the L2 norm of the gradient of the explained output with respect to its
    embedding vector; ``top_tokens`` ranks the vocabulary by the mean score of each
    token over its occurrences (the word ranking of Hechtlinger, 2016).

    Parameters
    ----------
    estimator : skorch net or TorchModel
        A skorch net or :class:`TorchModel` (or ``FrozenEstimator`` of a fitted one)
        whose module holds an ``nn.Embedding`` at the attribute path ``embedding``.
    embedding : str, default="embedding"
        Dotted attribute path of the ``nn.Embedding`` inside the module.
    response_method : {"auto", "predict_proba", "decision_function", "predict"}, \
default="auto"
        Which output is differentiated (as in :class:`GradientExplainer`); the
        logit (``"decision_function"``) avoids the saturation of confident
        probabilities.
    target : None, class label or int, default=None
        Which output is explained (as in :class:`GradientExplainer`).
    batch_size : "auto" or int, default="auto"
        Rows per forward/backward pass.
    device : str or torch.device, default="cpu"
        The torch device.
    verbose : int, default=0
        Show a progress bar (tqdm) when > 0.

    Attributes
    ----------
    estimator_ : skorch net
        The fitted net.
    method_ : str
        Always ``"autograd"``.
    response_method_ : str
        The response that is differentiated.
    classes_ : ndarray
        Class labels (classifiers).
    n_outputs_ : int
        Number of explained outputs.
    global_gradient_ : ndarray of shape (sequence_length,) or (n_outputs, \
sequence_length)
        Mean token score per position over the fit data.
    feature_importances_ : ndarray of shape (sequence_length,)
        Mean score per position over samples and outputs.
    n_features_in_ : int
        Sequence length seen during fit.

    See Also
    --------
    GradientExplainer : Input gradients of numeric features.

    Examples
    --------
    >>> import numpy as np, torch
    >>> from skorch import NeuralNetRegressor
    >>> from sklearn.frozen import FrozenEstimator
    >>> from sklearn_gradexplain import TokenGradientExplainer
    >>> class BagOfEmbeddings(torch.nn.Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.embedding = torch.nn.Embedding(10, 3)
    ...         self.out = torch.nn.Linear(3, 1)
    ...     def forward(self, ids):
    ...         return self.out(self.embedding(ids).mean(dim=1))
    >>> _ = torch.manual_seed(0)
    >>> net = NeuralNetRegressor(BagOfEmbeddings, max_epochs=0).initialize()
    >>> ids = np.array([[1, 2, 3], [3, 4, 4]])
    >>> explainer = TokenGradientExplainer(FrozenEstimator(net)).fit(ids)
    >>> explainer.explain(ids).shape
    (2, 3)
    >>> [token for token, score in explainer.top_tokens(ids, k=2)]  # all tie here
    [1, 2]
    """

    _parameter_constraints = {
        "estimator": [HasMethods(["fit"])],
        "embedding": [str],
        "response_method": [
            StrOptions({"auto", "predict_proba", "decision_function", "predict"})
        ],
        "target": "no_validation",
        "batch_size": [
            StrOptions({"auto"}),
            Interval(Integral, 1, None, closed="left"),
        ],
        "device": [TorchDevice()],
        "verbose": ["verbose"],
    }
    # what the shared machinery reads, fixed for token ids (not parameters)
    attribution = "gradient"
    method = "autograd"
    features = None
    n_jobs = None

    def __init__(
        self,
        estimator,
        *,
        embedding="embedding",
        response_method="auto",
        target=None,
        batch_size="auto",
        device="cpu",
        verbose=0,
    ):
        self.estimator = estimator
        self.embedding = embedding
        self.response_method = response_method
        self.target = target
        self.batch_size = batch_size
        self.device = device
        self.verbose = verbose

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # an explainer of token ids, not a predictor: no classifier/regressor checks
        tags.estimator_type = None
        tags.classifier_tags = None
        tags.regressor_tags = None
        tags.input_tags.sparse = False
        tags.input_tags.positive_only = True
        tags.input_tags.categorical = True
        return tags

    def _validate_input(self, X, *, reset):
        """Integer token ids, kept integer (integral floats are accepted)."""
        ids = validate_data(self, X, reset=reset, dtype=None, ensure_all_finite=True)
        if reset:
            self.feature_indices_ = np.arange(ids.shape[1])
        return InputData(_token_ids(ids))

    def _check_settings(self, n_features, y=None):
        if not torch_available():
            raise NotDifferentiableError(TORCH_MISSING)
        check_device(self.device)
        model = unwrap_model(self.estimator)
        if not is_torch_net(model):
            raise NotDifferentiableError(
                "TokenGradientExplainer needs a skorch net or TorchModel whose module "
                f"holds an nn.Embedding; got {type(model).__name__}."
            )
        check_response_method(self.estimator, self.response_method)
        self._check_target(y)

    def _embedding_module(self, module):
        """The ``nn.Embedding`` at ``self.embedding`` of ``module`` (or an error)."""
        from torch import nn

        try:
            layer = module.get_submodule(self.embedding)
        except AttributeError as exc:
            raise NotDifferentiableError(
                f"The module has no submodule {self.embedding!r}: set embedding= to "
                "the attribute path of its nn.Embedding."
            ) from exc
        if not isinstance(layer, nn.Embedding):
            raise NotDifferentiableError(
                f"{self.embedding!r} is a {type(layer).__name__}, not an nn.Embedding."
            )
        return layer

    def _engine(self, data, *, fitting=False, sample_weight=None):
        model = unwrap_model(self.estimator_)
        response = module_response(model, self.response_method_, self.device)
        layer = self._embedding_module(response.module)
        engine = TokenGradientEngine(
            response,
            self.embedding,
            None if fitting else self.outputs_,
            layer.num_embeddings,
            self._max_rows("autograd"),
        )
        if fitting:
            self.method_ = "autograd"
            probe = data.chunk(0, min(len(data), _PROBE_ROWS))
            self.outputs_ = self._select_outputs(
                model, engine.raw_response(probe), probe, len(probe)
            )
            self.n_outputs_ = self.outputs_.n_outputs
            engine.outputs, engine.n_outputs = self.outputs_, self.n_outputs_
        return engine

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y=None, **fit_params):
        """Fit the net (unless frozen) and score the tokens of ``X``.

        Parameters
        ----------
        X : array-like of int of shape (n_samples, sequence_length)
            Token ids.
        y : array-like of shape (n_samples,), default=None
            Targets for fitting the net (unused when it is frozen).
        **fit_params : dict
            Passed to the net's ``fit``.

        Returns
        -------
        self : TokenGradientExplainer
            The fitted explainer.
        """
        frozen = unwrap_model(self.estimator) is not self.estimator
        if y is None and not frozen and get_tags(self).target_tags.required:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is "
                "None (the net it explains needs y to be fitted)."
            )
        if not hasattr(X, "iloc"):  # the net is fitted on the integer ids
            X = _token_ids(check_array(X, dtype=None, ensure_all_finite=True))
        self._fit_explainer(X, y, None, fit_params)
        return self

    def top_tokens(self, X, vocabulary=None, k=20, *, exclude="padding", min_count=1):
        """The ``k`` tokens with the highest mean score over their occurrences in X.

        Parameters
        ----------
        X : array-like of int of shape (n_samples, sequence_length)
            Token ids.
        vocabulary : mapping or sequence, default=None
            Maps token ids to words (``vocabulary[id]``); ids it lacks are kept.
        k : int, default=20
            Number of tokens returned.
        exclude : "padding", array-like of int or None, default="padding"
            Token ids left out of the ranking: ``"padding"``, the embedding's
            ``padding_idx`` (none when it has none); or the ids given (padding,
            unknown-word ids); ``None`` ranks every id.
        min_count : int, default=1
            Tokens occurring fewer times in X are left out (a mean over one or two
            occurrences ranks rare tokens by chance).

        Returns
        -------
        top : list of (token, score)
            Best first; ``score`` is the mean token score over the token's occurrences
            (averaged over outputs when several are explained). Ties go to the
            smaller id.
        """
        check_is_fitted(self)
        if isinstance(exclude, str) and exclude == "padding":
            model = unwrap_model(self.estimator_)
            module = model.module_ if hasattr(model, "module_") else model.module
            padding = self._embedding_module(module).padding_idx
            excluded = np.array([] if padding is None else [padding], dtype=np.int64)
        elif exclude is None:
            excluded = np.array([], dtype=np.int64)
        else:
            excluded = _token_ids(check_array(exclude, ensure_2d=False, dtype=None))
        if not isinstance(min_count, Integral) or min_count < 1:
            raise ValueError(f"min_count must be an integer >= 1; got {min_count!r}.")
        data = self._validate_input(X, reset=False)
        scores = self._attribute(data)
        if scores.ndim == 3:
            scores = scores.mean(axis=1)
        tokens, inverse = np.unique(data.Z.ravel(), return_inverse=True)
        counts = np.bincount(inverse)
        means = np.bincount(inverse, weights=scores.ravel()) / counts
        kept = (counts >= min_count) & ~np.isin(tokens, excluded)
        tokens, means = tokens[kept], means[kept]
        order = np.lexsort((tokens, -means))[:k]
        return [(_lookup(vocabulary, int(tokens[i])), float(means[i])) for i in order]


def _token_ids(ids):
    """``ids`` (a validated 2-D array) as int64 token ids, or a ValueError."""
    if ids.dtype.kind == "O":  # e.g. numbers held in an object array
        ids = check_array(ids, dtype=np.float64)
    if ids.dtype.kind == "f" and np.array_equal(ids, np.round(ids)):
        ids = ids.astype(np.int64)
    if ids.dtype.kind not in "iu":
        raise ValueError(
            "TokenGradientExplainer needs integer token ids; got dtype "
            f"{ids.dtype} with non-integer values."
        )
    if ids.size and ids.min() < 0:
        raise ValueError(
            "Negative values in data passed to TokenGradientExplainer: token ids "
            "must be non-negative."
        )
    return ids.astype(np.int64, copy=False)


def _lookup(vocabulary, token):
    if vocabulary is None:
        return token
    if isinstance(vocabulary, Mapping):
        return vocabulary.get(token, token)
    try:
        return vocabulary[token]
    except (IndexError, KeyError, TypeError):
        return token


@functools.cache
def _embedded_class():
    """An ``nn.Module`` standing for the embedding: it returns a given tensor."""
    from torch import nn

    class Embedded(nn.Module):
        def __init__(self, E):
            super().__init__()
            self.E = E

        def forward(self, *args, **kwargs):
            return self.E

    return Embedded


class TokenGradientEngine:
    """Per-token L2 norms of the gradient with respect to the embedding output.

    Parameters
    ----------
    response : ModuleResponse
        The module's differentiable response.
    embedding : str
        Attribute path of the ``nn.Embedding`` in ``response.module``.
    outputs : OutputSelection or None
        Selected outputs (``None`` only for the first, raw probe).
    num_embeddings : int
        Vocabulary size (ids must be smaller).
    max_rows : int
        Rows per forward/backward pass.
    """

    name = "autograd"
    evaluations_per_point = 1

    def __init__(self, response, embedding, outputs, num_embeddings, max_rows):
        self.response = response
        self.embedding = embedding
        self.outputs = outputs
        self.n_outputs = None if outputs is None else outputs.n_outputs
        self.num_embeddings = num_embeddings
        self.max_rows = max_rows

    def _ids(self, Z):
        import torch

        if Z.size and Z.max() >= self.num_embeddings:
            raise ValueError(
                f"Token id {int(Z.max())} is out of range for an embedding of "
                f"{self.num_embeddings} tokens."
            )
        return torch.as_tensor(
            np.array(Z, dtype=np.int64), dtype=torch.long, device=self.response.device
        )

    def raw_response(self, points):
        """The module's raw response on the token ids, as numpy."""
        import torch

        with torch.no_grad():
            return self.response(self._ids(points.Z)).cpu().numpy()

    def value(self, points):
        """Model response on the token ids, shape (n, n_outputs)."""
        import torch

        with torch.no_grad():
            raw = self.response(self._ids(points.Z))
            out = self.outputs(self.outputs.check(raw, len(points)))
        return out.cpu().double().numpy()

    def gradient(self, points):
        """Token scores, shape (n, n_outputs, sequence_length)."""
        import torch

        Z = points.Z
        scores = np.zeros((Z.shape[0], self.n_outputs, Z.shape[1]))
        module = self.response.module
        layer = module.get_submodule(self.embedding)
        for start, stop in row_blocks(Z.shape[0], self.max_rows):
            ids = self._ids(Z[start:stop])
            with torch.enable_grad():
                with torch.no_grad():
                    E = layer(ids)
                E = E.detach().requires_grad_(True)
                substituted = torch_with_submodule(
                    module, self.embedding, _embedded_class()(E)
                )
                out = substituted(ids)
                if isinstance(out, tuple):
                    out = out[0]
                if self.response.nonlinearity is not None:
                    out = self.response.nonlinearity(out)
                Y = self.outputs(self.outputs.check(out, stop - start))
                for k, grad in output_gradients(Y, E):
                    if grad is not None:
                        norms = torch.linalg.vector_norm(grad, dim=-1)
                        scores[start:stop, k] = norms.cpu().double().numpy()
        return scores

    def diagnostics(self, feature_names):
        return []
