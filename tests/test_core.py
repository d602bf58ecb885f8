"""The 0.2 core: explicit signatures, one engine per call, exact-type dispatch,
validation before any model work, and torch as a true option."""

import inspect
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LinearRegression, LogisticRegression

import sklearn_gradexplain
from sklearn_gradexplain import (
    FiniteDifference,
    GradientExplainer,
    GradientFeatureSelector,
    GradientSurrogateClassifier,
    NotDifferentiableError,
)
from sklearn_gradexplain.attributions import (
    LRP,
    BaseAttribution,
    IntegratedGradients,
    SmoothGrad,
)
from sklearn_gradexplain.attributions._base import REGISTRY


@pytest.fixture(scope="module")
def data():
    return make_classification(n_samples=120, n_features=4, random_state=0)


@pytest.fixture(scope="module")
def multiclass():
    return make_classification(
        n_samples=150,
        n_features=4,
        n_informative=3,
        n_redundant=0,
        n_classes=3,
        random_state=0,
    )


# ---------------------------------------------------------------- signatures
def _public_classes():
    for name in sklearn_gradexplain.__all__:
        obj = getattr(sklearn_gradexplain, name)
        if inspect.isclass(obj) and hasattr(obj, "get_params"):
            yield obj
    for cls, _ in REGISTRY.values():
        yield cls


@pytest.mark.parametrize("cls", sorted(set(_public_classes()), key=str))
def test_every_public_class_writes_its_own_init(cls):
    assert "__init__" in vars(cls), f"{cls.__name__} inherits its __init__"
    signature = inspect.signature(cls.__init__)
    names = [n for n in signature.parameters if n != "self"]
    assert set(names) == set(cls._get_param_names())
    # every parameter it takes is documented in its own docstring, and only those
    doc = cls.__doc__ or ""
    section = (
        doc.split("Parameters\n")[1].split("Attributes\n")[0]
        if ("Parameters\n" in doc)
        else ""
    )
    documented = {
        line.split(" : ")[0].strip()
        for line in section.splitlines()
        if " : " in line and line.startswith("    ") and not line.startswith("     ")
    }
    assert documented == set(names), cls.__name__


def test_token_explainer_takes_only_what_it_uses():
    from sklearn_gradexplain import TokenGradientExplainer

    names = set(inspect.signature(TokenGradientExplainer).parameters)
    assert names == {
        "estimator",
        "embedding",
        "response_method",
        "target",
        "batch_size",
        "device",
        "verbose",
    }


def test_union_of_parameters_machinery_is_gone():
    import sklearn_gradexplain._base as base

    for name in (
        "SHARED_PARAMETERS",
        "_make_init",
        "document_shared_parameters",
        "AttributionSettings",
    ):
        assert not hasattr(base, name)
        assert not hasattr(sklearn_gradexplain.attributions, name)


def test_attribution_objects_nest_in_grid_searches(data):
    from sklearn.model_selection import GridSearchCV

    X, y = data
    explainer = GradientExplainer(
        LogisticRegression(), attribution=IntegratedGradients(n_steps=8)
    )
    assert explainer.get_params()["attribution__n_steps"] == 8
    search = GridSearchCV(
        GradientSurrogateClassifier(LogisticRegression(), attribution=SmoothGrad()),
        {"attribution__noise_level": [0.0, 0.2], "attribution__random_state": [0]},
        cv=2,
    ).fit(X, y)
    assert search.best_params_["attribution__noise_level"] in (0.0, 0.2)
    fitted = search.best_estimator_.attribution_
    assert fitted is not search.best_estimator_.attribution
    assert fitted.noise_.shape == (25, X.shape[1])


def test_string_shorthands_name_objects_with_defaults(data):
    X, y = data
    for name, (cls, params) in REGISTRY.items():
        if not cls()._engines or "finite_difference" not in cls()._engines:
            continue
        explainer = GradientExplainer(
            LogisticRegression(), attribution=name, method="finite_difference"
        ).fit(X, y)
        assert type(explainer.attribution_) is cls
        assert isinstance(explainer.attribution_, BaseAttribution)
        for key, value in params.items():
            assert getattr(explainer.attribution_, key) == value


# ---------------------------------------------------------------- one engine per call
def _counting(monkeypatch):
    import sklearn_gradexplain._base as base
    import sklearn_gradexplain._engines._autograd as autograd
    import sklearn_gradexplain._engines._translate as translate_module

    counts = {"translate": 0, "engine": 0, "module": 0}
    translate = translate_module.translate

    def counted_translate(*args, **kwargs):
        counts["translate"] += 1
        return translate(*args, **kwargs)

    class CountedEngine(base.AutogradEngine):
        def __init__(self, *args, **kwargs):
            counts["engine"] += 1
            super().__init__(*args, **kwargs)

    class CountedModule(autograd.ModuleResponse):
        def __init__(self, *args, **kwargs):
            counts["module"] += 1
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(translate_module, "translate", counted_translate)
    monkeypatch.setattr(base, "AutogradEngine", CountedEngine)
    monkeypatch.setattr(autograd, "ModuleResponse", CountedModule)
    return counts


@pytest.mark.parametrize(
    "attribution",
    ["gradient", IntegratedGradients(n_steps=8), SmoothGrad(n_samples=3)],
    ids=["gradient", "ig", "smoothgrad"],
)
def test_one_engine_and_one_translation_per_call(monkeypatch, data, attribution):
    pytest.importorskip("torch")
    X, y = data
    counts = _counting(monkeypatch)
    explainer = GradientExplainer(LogisticRegression(), attribution=attribution)
    explainer.fit(X, y)
    assert counts == {"translate": 1, "engine": 1, "module": 0}
    for call in (explainer.explain, explainer.transform):
        counts.update(translate=0, engine=0)
        call(X)
        assert counts == {"translate": 1, "engine": 1, "module": 0}
    if isinstance(attribution, IntegratedGradients):  # 0.1 built three
        counts.update(translate=0, engine=0)
        explainer.completeness_delta(X)
        assert counts == {"translate": 1, "engine": 1, "module": 0}


def test_one_module_copy_per_call_for_a_training_mode_skorch_net(monkeypatch):
    torch = pytest.importorskip("torch")
    skorch = pytest.importorskip("skorch")
    X = np.random.default_rng(0).normal(size=(30, 3)).astype(np.float32)
    torch.manual_seed(0)
    net = skorch.NeuralNetRegressor(
        torch.nn.Sequential(
            torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 1)
        ),
        max_epochs=0,
    ).initialize()
    net.module_.train()  # a forward pass must not change it: the engine copies it
    counts = _counting(monkeypatch)
    explainer = GradientExplainer(
        FrozenEstimator(net), attribution=IntegratedGradients(n_steps=4)
    ).fit(X)
    assert counts == {"translate": 0, "engine": 1, "module": 1}
    counts.update(engine=0, module=0)
    explainer.explain(X)
    assert counts == {"translate": 0, "engine": 1, "module": 1}
    assert net.module_.training


def test_one_response_per_finite_difference_call(monkeypatch, data):
    import sklearn_gradexplain._base as base

    X, y = data
    built = []

    class CountedResponse(base.NumpyResponse):
        def __init__(self, *args, **kwargs):
            built.append(1)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(base, "NumpyResponse", CountedResponse)
    explainer = GradientExplainer(
        LogisticRegression(),
        attribution=IntegratedGradients(n_steps=4),
        method="finite_difference",
    ).fit(X, y)
    assert len(built) == 1
    explainer.explain(X)
    explainer.completeness_delta(X)
    assert len(built) == 3


# ---------------------------------------------------------------- exact-type dispatch
class SharpenedLogisticRegression(LogisticRegression):
    """Overrides predict_proba: the probabilities of 3 × the decision function."""

    def predict_proba(self, X):
        from scipy.special import expit

        p = expit(3 * self.decision_function(X))
        return np.column_stack([1 - p, p])


class RenamedLogisticRegression(LogisticRegression):
    """Adds nothing the response depends on: translated as its parent."""


def test_subclass_overriding_the_response_is_not_translated_as_its_parent(data):
    pytest.importorskip("torch")
    X, y = data
    model = SharpenedLogisticRegression().fit(X, y)
    p = model.predict_proba(X)[:, 1]
    truth = (3 * p * (1 - p))[:, None] * model.coef_[0]
    explainer = GradientExplainer(FrozenEstimator(model)).fit(X)
    assert explainer.method_ == "finite_difference"
    np.testing.assert_allclose(explainer.explain(X), truth, rtol=1e-5, atol=1e-9)
    with pytest.raises(NotDifferentiableError, match="overrides .*predict_proba"):
        GradientExplainer(FrozenEstimator(model), method="autograd").fit(X)
    plain = GradientExplainer(RenamedLogisticRegression()).fit(X, y)
    assert plain.method_ == "autograd"


# ---------------------------------------------------------------- validation first
class CountingClassifier(LogisticRegression):
    """Counts fit and response calls (an override: explained by finite differences)."""

    calls = []

    def fit(self, X, y, sample_weight=None):
        CountingClassifier.calls.append("fit")
        return super().fit(X, y, sample_weight=sample_weight)

    def predict_proba(self, X):
        CountingClassifier.calls.append("predict_proba")
        return super().predict_proba(X)


@pytest.mark.parametrize(
    "make, error",
    [
        (lambda e: GradientExplainer(e, n_jobs=0), "n_jobs"),
        (lambda e: GradientExplainer(e, device="cuda:7"), "cuda"),
        (lambda e: GradientExplainer(e, device="not-a-device"), "device"),
        (lambda e: GradientExplainer(e, response_method="predict"), "labels"),
        (lambda e: GradientExplainer(e, target=7), "not one of the classes"),
        (
            lambda e: GradientExplainer(
                e, attribution=IntegratedGradients(baseline=[0.0, 1.0])
            ),
            "baseline has 2 values",
        ),
        (
            lambda e: GradientExplainer(
                e, attribution=IntegratedGradients(baseline=[0, np.nan, 0, 0])
            ),
            "NaN",
        ),
        (
            lambda e: GradientExplainer(
                e,
                attribution=IntegratedGradients(
                    integration="riemann_trapezoid", n_steps=1
                ),
            ),
            "n_steps >= 2",
        ),
        (lambda e: GradientExplainer(e, attribution=LRP()), "LRP"),
        (
            lambda e: GradientExplainer(
                e, attribution="lrp", method="finite_difference"
            ),
            "autograd",
        ),
        (lambda e: GradientFeatureSelector(e, threshold="twice the mean"), "threshold"),
        (lambda e: GradientSurrogateClassifier(e, target=1), "per class"),
    ],
)
def test_bad_settings_fail_before_the_model_is_fitted_or_called(
    multiclass, make, error
):
    X, y = multiclass
    CountingClassifier.calls.clear()
    with pytest.raises((ValueError, TypeError), match=error):
        make(CountingClassifier()).fit(X, y)
    assert CountingClassifier.calls == []


def test_bad_settings_of_a_frozen_model_fail_before_it_is_called(data):
    X, y = data
    model = CountingClassifier().fit(X, y)
    CountingClassifier.calls.clear()
    with pytest.raises(ValueError, match="not one of the classes"):
        GradientExplainer(FrozenEstimator(model), target="yes").fit(X)
    assert CountingClassifier.calls == []


# ---------------------------------------------------------------- torch is optional
BLOCK_TORCH = textwrap.dedent(
    """
    import importlib.abc, sys
    class Block(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in ("torch", "skorch"):
                raise ImportError(f"blocked {name}")
    sys.meta_path.insert(0, Block())
    """
)


def test_without_torch_auto_means_finite_differences():
    script = BLOCK_TORCH + textwrap.dedent(
        """
        import numpy as np
        from sklearn.linear_model import LogisticRegression
        from sklearn_gradexplain import GradientExplainer, NotDifferentiableError
        X = np.random.default_rng(0).normal(size=(40, 3))
        y = (X[:, 0] > 0).astype(int)
        explainer = GradientExplainer(LogisticRegression()).fit(X, y)
        assert explainer.method_ == "finite_difference", explainer.method_
        try:
            GradientExplainer(LogisticRegression(), method="autograd").fit(X, y)
        except NotDifferentiableError as exc:
            assert "pip install" in str(exc), exc
        else:
            raise AssertionError("autograd without torch did not raise")
        assert "torch" not in sys.modules
        print("OK", explainer.method_)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert "OK finite_difference" in result.stdout


def test_import_is_light():
    script = textwrap.dedent(
        """
        import sys
        import sklearn_gradexplain, sklearn_gradexplain.attributions
        heavy = ("torch", "skorch", "matplotlib", "dask", "tqdm", "shap", "mlflow",
                 "skops", "polars", "ray")
        print(sorted(m for m in heavy if m in sys.modules))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_linear_regression_without_torch_in_the_subprocess_is_exact_to_1e7():
    script = BLOCK_TORCH + textwrap.dedent(
        """
        import numpy as np
        from sklearn.linear_model import LinearRegression
        from sklearn_gradexplain import GradientExplainer
        X = np.random.default_rng(1).normal(size=(50, 3))
        model = LinearRegression().fit(X, X @ [1.0, -2.0, 0.5])
        explainer = GradientExplainer(LinearRegression()).fit(X, X @ [1.0, -2.0, 0.5])
        error = np.abs(explainer.explain(X) - model.coef_).max()
        assert error < 1e-7 * np.abs(model.coef_).max(), error
        print("OK")
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr


def test_finite_difference_options_are_a_nested_estimator():
    X = np.random.default_rng(2).normal(size=(60, 4))
    explainer = GradientExplainer(
        LinearRegression(), method=FiniteDifference(step=1e-4, scheme="forward")
    )
    assert explainer.get_params()["method__step"] == 1e-4
    explainer.fit(X, X @ [1.0, 2.0, 3.0, 4.0])
    assert explainer.method_ == "finite_difference"
    assert explainer.finite_difference_.scheme == "forward"
    assert explainer.finite_difference_ is not explainer.method
    np.testing.assert_allclose(explainer.global_gradient_, [1, 2, 3, 4], rtol=1e-6)
