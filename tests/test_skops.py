"""skops round trips: every estimator of the common tests, fitted, through skops.io.

Each is dumped with ``skops.io.dump`` and loaded with ``skops.io.load``; the loaded
copy must give bit-identical outputs (``explain``, ``transform``, ``predict``, ...) and
fitted attributes. The types the file holds beyond skops' defaults must be exactly the
library's :func:`~sklearn_gradexplain.integrations.skops.trusted_types` plus the wrapped
model's own types (what a user checks before trusting them).
"""

import importlib
import inspect
import io

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_array_equal
from sklearn.base import BaseEstimator, clone, is_classifier, is_regressor
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.neural_network import MLPClassifier

import sklearn_gradexplain
from sklearn_gradexplain import (
    FiniteDifference,
    GradientExplainer,
    TokenGradientExplainer,
    TorchModel,
    attributions,
)
from sklearn_gradexplain.attributions import BaseAttribution
from sklearn_gradexplain.integrations.skops import trusted_types

sio = pytest.importorskip("skops.io", reason="skops is not installed")
from skops.io.exceptions import UntrustedTypesFoundException  # noqa: E402
from test_common import ESTIMATORS  # noqa: E402

OUTPUTS = (
    "explain",
    "transform",
    "predict",
    "predict_proba",
    "decision_function",
    "agreement_score",
)


def _id(estimator):
    """A short test id: the estimator's repr, cut at its first nested parenthesis."""
    text = " ".join(repr(estimator).split())
    return text if len(text) <= 70 else text[:67] + "..."


def _data(kind):
    rng = np.random.RandomState(0)
    if kind == "tokens":
        return rng.randint(1, 300, size=(40, 6)), np.arange(40) % 2
    X = rng.normal(size=(40, 3)) * [1.0, 5.0, 0.2]
    if kind == "regression":
        return X, X @ [1.0, -0.3, 2.0] + 0.1 * rng.normal(size=40)
    return X, (X[:, 0] + 0.2 * X[:, 1] > 0).astype(int)


def _kind(estimator):
    if isinstance(estimator, TokenGradientExplainer):
        return "tokens"
    model = getattr(estimator, "estimator", estimator)
    if isinstance(model, TorchModel):
        return "classification" if model.task == "classification" else "regression"
    if is_regressor(model):
        return "regression"
    return "classification"


def _round_trip(obj):
    """Dump to bytes, check the untrusted types, load; (loaded, untrusted types)."""
    data = sio.dumps(obj)
    untrusted = sio.get_untrusted_types(data=data)
    with pytest.raises(UntrustedTypesFoundException):
        sio.loads(data)  # nothing outside skops' defaults is loaded unless trusted
    return sio.loads(data, trusted=untrusted), untrusted


def _model_types(estimator):
    """The skops types of what the estimator wraps (the user's model)."""
    inner = getattr(estimator, "estimator_", None)
    if inner is None and isinstance(estimator, TorchModel):
        inner = estimator.module
    if inner is None:
        return set()
    return set(sio.get_untrusted_types(data=sio.dumps(inner)))


def _assert_same_outputs(original, loaded, X):
    compared = 0
    for name in OUTPUTS:
        if not hasattr(original, name):
            continue
        assert hasattr(loaded, name), name
        expected = getattr(original, name)(X)
        assert_array_equal(getattr(loaded, name)(X), expected, err_msg=name)
        compared += 1
    return compared


def _assert_same_fitted_attributes(original, loaded):
    fitted = [k for k in vars(original) if k.endswith("_") and not k.startswith("_")]
    assert fitted, "nothing fitted to compare"
    for key in fitted:
        expected, actual = getattr(original, key), getattr(loaded, key)
        if isinstance(expected, np.ndarray | int | float | str | tuple | list):
            assert_array_equal(np.asarray(actual), np.asarray(expected), err_msg=key)
        elif isinstance(expected, BaseEstimator):
            assert type(actual) is type(expected), key
            for name, value in expected.get_params(deep=False).items():
                if " at 0x" not in repr(value):  # objects are compared by outputs
                    assert repr(actual.get_params()[name]) == repr(value), key


def _fitted(estimator):
    kind = _kind(estimator)
    X, y = _data(kind)
    estimator = clone(estimator)
    if isinstance(estimator, BaseAttribution | FiniteDifference):
        return estimator.fit(X), X
    if isinstance(estimator, TorchModel):
        return estimator.fit(X, y if is_classifier(estimator) else None), X
    return estimator.fit(X, y), X


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=_id)
def test_round_trip_gives_identical_outputs(estimator):
    fitted, X = _fitted(estimator)
    loaded, untrusted = _round_trip(fitted)
    assert type(loaded) is type(fitted)
    assert repr(loaded) == repr(fitted)
    # the file holds the library's trusted types and the model's own, nothing else
    model_types = _model_types(fitted)
    ours = set(trusted_types())
    assert set(untrusted) - ours == model_types - ours
    assert f"{type(fitted).__module__}.{type(fitted).__qualname__}" in untrusted
    # ... and those suffice to load it
    sio.loads(sio.dumps(fitted), trusted=sorted(ours | model_types))

    _assert_same_fitted_attributes(fitted, loaded)
    if isinstance(fitted, BaseAttribution | FiniteDifference):
        return  # used by an explainer: see test_fitted_options_inside_an_explainer
    assert _assert_same_outputs(fitted, loaded, X) >= 1
    if hasattr(fitted, "summary"):
        assert fitted.summary().equals(loaded.summary())


def _explainer_with(options):
    if isinstance(options, FiniteDifference):
        return GradientExplainer(LogisticRegression(), method=clone(options))
    if options.needs_layers:  # LRP: a network, by the autograd engine (torch)
        pytest.importorskip("torch")
        model = MLPClassifier(hidden_layer_sizes=(4,), max_iter=50, random_state=0)
        return GradientExplainer(model, attribution=clone(options))
    return GradientExplainer(LogisticRegression(), attribution=clone(options))


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize(
    "options",
    [e for e in ESTIMATORS if isinstance(e, BaseAttribution | FiniteDifference)],
    ids=_id,
)
def test_fitted_options_inside_an_explainer(options):
    """Attribution objects and finite-difference options, as an explainer holds them."""
    X, y = _data("classification")
    explainer = _explainer_with(options).fit(X, y)
    loaded, untrusted = _round_trip(explainer)
    ours = set(trusted_types())
    assert set(untrusted) - ours == _model_types(explainer) - ours
    assert_array_equal(loaded.explain(X), explainer.explain(X))
    assert_array_equal(loaded.transform(X[:7]), explainer.transform(X[:7]))
    _assert_same_fitted_attributes(explainer.attribution_, loaded.attribution_)
    if isinstance(options, FiniteDifference):
        assert_array_equal(
            loaded.finite_difference_.scale_, explainer.finite_difference_.scale_
        )


def test_sparse_input_statistics_round_trip():
    X, y = _data("classification")
    X = sp.csr_matrix(np.where(np.abs(X) > 0.5, X, 0.0))
    explainer = GradientExplainer(Ridge(), method="finite_difference").fit(X, y)
    loaded, untrusted = _round_trip(explainer)
    assert set(untrusted) <= set(trusted_types())
    assert_array_equal(loaded.explain(X), explainer.explain(X))
    assert loaded.summary().equals(explainer.summary())


def test_partial_fit_continues_after_loading():
    """The running statistics survive the round trip: folding on equals one fit."""
    from sklearn.frozen import FrozenEstimator

    X, y = _data("classification")
    model = FrozenEstimator(LogisticRegression().fit(X, y))
    first = GradientExplainer(model).partial_fit(X[:25])
    loaded, _ = _round_trip(first)
    loaded.partial_fit(X[25:])
    whole = GradientExplainer(model).fit(X)
    np.testing.assert_allclose(
        loaded.global_gradient_stderr_, whole.global_gradient_stderr_, rtol=1e-10
    )
    np.testing.assert_allclose(
        loaded.global_gradient_, whole.global_gradient_, rtol=1e-10
    )
    assert loaded.summary().shape == whole.summary().shape


def test_trusted_types_are_the_library_types():
    names = trusted_types()
    assert names == sorted(set(names))
    for name in names:
        module_name, _, attribute = name.rpartition(".")
        assert module_name.startswith("sklearn_gradexplain.")
        cls = getattr(importlib.import_module(module_name), attribute)
        assert inspect.isclass(cls) and cls.__module__ == module_name
    public = [
        getattr(module, name)
        for module in (sklearn_gradexplain, attributions)
        for name in module.__all__
    ]
    for cls in public:
        if inspect.isclass(cls) and issubclass(cls, BaseEstimator):
            assert f"{cls.__module__}.{cls.__qualname__}" in names
    # nothing from outside the library (a model's types are the user's to trust)
    assert not [n for n in names if not n.startswith("sklearn_gradexplain.")]


def test_skops_file_of_an_explainer(tmp_path):
    """A ``.skops`` file on disk, loaded with the documented recipe."""
    X, y = _data("classification")
    explainer = GradientExplainer(
        LogisticRegression(), attribution="integrated_gradients"
    ).fit(X, y)
    path = tmp_path / "explainer.skops"
    sio.dump(explainer, path)
    untrusted = sio.get_untrusted_types(file=path)
    assert [t for t in untrusted if t not in trusted_types()] == []
    loaded = sio.load(path, trusted=untrusted)
    assert_array_equal(loaded.explain(X), explainer.explain(X))
    assert_array_equal(loaded.completeness_delta(X), explainer.completeness_delta(X))


@pytest.mark.parametrize(
    "params",
    [
        {"categorical_features": ["colour"]},
        {"categorical_features": ["colour"], "attribution": "integrated_gradients"},
        {"explain_at": "columntransformer", "attribution": "gradient_x_input"},
    ],
    ids=["switch effects", "switch effects + IG", "explain_at"],
)
def test_categorical_explainers_round_trip(params):
    """Switch effects keep their category table; explain_at its column mapping."""
    pytest.importorskip(
        "sklearn_gradexplain._categorical", reason="categorical inputs not in this tree"
    )
    pd = pytest.importorskip("pandas")
    from sklearn.compose import make_column_transformer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    rng = np.random.RandomState(0)
    X = pd.DataFrame(
        {
            "size": rng.normal(size=60),
            "weight": rng.normal(size=60) * 100,
            "colour": rng.choice(["red", "green", "blue"], 60),
        }
    )
    y = (X["size"] + (X["colour"] == "red") > 0.5).astype(int)
    model = make_pipeline(
        make_column_transformer(
            (OneHotEncoder(), ["colour"]), remainder=StandardScaler()
        ),
        LogisticRegression(),
    )
    explainer = GradientExplainer(model, **params).fit(X, y)
    loaded, untrusted = _round_trip(explainer)
    assert set(untrusted) <= set(trusted_types())
    assert_array_equal(loaded.explain(X), explainer.explain(X))
    assert_array_equal(loaded.transform(X), explainer.transform(X))
    assert loaded.summary().equals(explainer.summary())


# ---------------------------------------------------------------- torch modules
try:
    import torch
    from torch import nn
except ImportError:  # the torch-free leg: the torch tests skip
    torch = None

if torch is not None:

    class _Net(nn.Module):
        """A small tanh network (a class: skorch nets are given module classes)."""

        def __init__(self):
            super().__init__()
            self.layers = nn.Sequential(
                nn.Linear(3, 4, dtype=torch.float64),
                nn.Tanh(),
                nn.Linear(4, 2, dtype=torch.float64),
            )

        def forward(self, X):
            return self.layers(X)

    class _TiedNet(_Net):
        """Tied weights, a buffer, a frozen parameter and a tensor attribute."""

        def __init__(self):
            super().__init__()
            self.norm = nn.BatchNorm1d(3, dtype=torch.float64)
            self.again = self.layers[0]  # the same Linear twice
            self.layers[2].bias.requires_grad_(False)
            self.scale = torch.tensor(0.5, dtype=torch.float64)

        def forward(self, X):
            return self.scale * self.layers(self.norm(X)) + self.again(X)[:, :2]


def _linear_net():
    torch.manual_seed(0)
    return _Net()


def test_torch_model_with_parameters_round_trip():
    """A trained module's tensors are stored as arrays: bit-identical outputs back,
    parameters, buffers, sharing and ``requires_grad`` as they were, and nothing of
    the user's module changed. Only torch's and the user's module types (and ours)
    need trusting."""
    pytest.importorskip("torch")
    X, y = _data("classification")
    torch.manual_seed(0)
    module = _TiedNet()
    module.train()
    module(torch.tensor(X))  # running statistics away from their initial values
    module.eval()
    before = {k: v.clone() for k, v in module.state_dict().items()}
    model = TorchModel(module, classes=[0, 1]).fit(X)
    explainer = GradientExplainer(model).fit(X, y)
    data = sio.dumps(explainer)
    untrusted = sio.get_untrusted_types(data=data)
    assert {t for t in untrusted if t not in trusted_types()} == {
        f"{_TiedNet.__module__}._TiedNet",
        "torch.nn.modules.batchnorm.BatchNorm1d",
        "torch.nn.modules.container.Sequential",
        "torch.nn.modules.linear.Linear",
        "torch.nn.modules.activation.Tanh",
    }
    loaded = sio.loads(data, trusted=untrusted)
    restored = loaded.estimator_.module
    assert restored is not module
    assert restored.again is restored.layers[0]  # still shared
    assert isinstance(restored.layers[0].weight, nn.Parameter)
    assert not restored.layers[2].bias.requires_grad
    assert restored.layers[0].weight.requires_grad
    assert isinstance(restored.scale, torch.Tensor) and float(restored.scale) == 0.5
    for name, value in restored.state_dict().items():
        assert torch.equal(value, before[name]), name
    assert_array_equal(loaded.estimator_.predict_proba(X), model.predict_proba(X))
    assert_array_equal(loaded.explain(X), explainer.explain(X))
    for name, value in module.state_dict().items():  # the user's module untouched
        assert torch.equal(value, before[name]), name
    assert isinstance(module.layers[0].weight, nn.Parameter)


def test_torch_model_pickles_and_deep_copies():
    """pickle and copy.deepcopy go the same way: equal outputs, separate tensors."""
    import copy
    import pickle

    pytest.importorskip("torch")
    X, _ = _data("classification")
    model = TorchModel(_linear_net(), classes=[0, 1]).fit(X)
    for other in (pickle.loads(pickle.dumps(model)), copy.deepcopy(model)):
        assert_array_equal(other.predict_proba(X), model.predict_proba(X))
        weight = other.module.layers[0].weight
        assert weight.data_ptr() != model.module.layers[0].weight.data_ptr()


def test_skorch_net_round_trip_needs_its_types_trusted():
    """A skorch net stores its module through pickle: skorch's types must be trusted.

    skorch's ``__setstate__`` unpickles the module, optimizer and criterion, so
    trusting a skorch net is trusting a pickle (docs/skops.rst).
    """
    pytest.importorskip("torch")
    skorch = pytest.importorskip("skorch")
    from torch import nn

    X, y = _data("classification")
    torch.manual_seed(0)
    net = skorch.NeuralNetClassifier(
        _Net,
        criterion=nn.CrossEntropyLoss,
        max_epochs=2,
        train_split=None,
        verbose=0,
    )
    explainer = GradientExplainer(net).fit(X.astype(np.float64), y)
    loaded, untrusted = _round_trip(explainer)
    model_types = _model_types(explainer)
    assert set(untrusted) - set(trusted_types()) == model_types
    assert "skorch.classifier.NeuralNetClassifier" in model_types
    assert_array_equal(loaded.explain(X), explainer.explain(X))
    buffer = io.BytesIO(sio.dumps(explainer))
    with pytest.raises(UntrustedTypesFoundException):
        sio.load(buffer, trusted=trusted_types())  # ours alone do not load a net
