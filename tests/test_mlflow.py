"""MLflow: ``log_explanation`` and the ``"gradexplain"`` evaluator on a local store.

Each test gets its own tracking store (sqlite) and artifact folder in a temporary
directory; everything is read back through ``MlflowClient``, as a user would.
"""

import json
import os
import subprocess
import sys
import textwrap
import warnings
from importlib.metadata import entry_points

import numpy as np
import pytest
from _helpers import assert_close
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import make_classification, make_regression
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_gradexplain import (
    GradientExplainer,
    GradientSurrogateClassifier,
)
from sklearn_gradexplain.attributions import IntegratedGradients

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")  # nothing leaves the machine

pytestmark = [
    # mlflow 3.17's own calls into SQLAlchemy 2.1 and pandas 3 are deprecated there
    pytest.mark.filterwarnings("ignore::DeprecationWarning:mlflow"),
    pytest.mark.filterwarnings("ignore:Hint. Inferred schema contains integer"),
    pytest.mark.filterwarnings("ignore:.*Add type hints to the `predict` method"),
]

ARTIFACTS = [
    "attributions.npy",
    "base_values.npy",
    "beeswarm_plot.png",
    "global_gradient.json",
    "summary.csv",
    "summary_bar_plot.png",
]


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """mlflow on a sqlite store in a temporary folder (skipped cleanly without it).

    One store per module (creating its tables takes seconds); each test gets its
    own experiment and artifact folder in it.
    """
    mlflow = pytest.importorskip("mlflow", reason="mlflow is not installed")
    matplotlib = pytest.importorskip("matplotlib", reason="matplotlib is not installed")
    matplotlib.use("Agg")
    folder = tmp_path_factory.mktemp("mlflow")
    before = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(f"sqlite:///{folder / 'mlflow.db'}")
    with warnings.catch_warnings():  # SQLAlchemy 2.1 deprecates a loader mlflow uses
        warnings.simplefilter("ignore", DeprecationWarning)
        mlflow.MlflowClient().search_experiments()  # creates the tables
    yield mlflow
    mlflow.set_tracking_uri(before)


@pytest.fixture
def mlflow(store, tmp_path, request):
    """A fresh experiment, with its artifacts in ``tmp_path``; no run left active."""
    experiment = store.create_experiment(
        request.node.name, artifact_location=(tmp_path / "artifacts").as_uri()
    )
    store.set_experiment(experiment_id=experiment)
    yield store
    while store.active_run() is not None:
        store.end_run()


@pytest.fixture(scope="module")
def multiclass():
    pd = pytest.importorskip("pandas")
    X, y = make_classification(
        n_samples=120,
        n_features=4,
        n_informative=3,
        n_redundant=0,
        n_classes=3,
        random_state=0,
    )
    return pd.DataFrame(X, columns=["a", "b", "c", "d"]), y


def _download(mlflow, run_id, path, tmp_path):
    folder = tmp_path / f"download-{run_id}"
    folder.mkdir(exist_ok=True)
    return mlflow.MlflowClient().download_artifacts(run_id, path, str(folder))


def _check_png(path):
    from PIL import Image

    with Image.open(path) as image:
        assert image.format == "PNG"
        assert min(image.size) > 100


def test_log_explanation_writes_mlflow_shap_layout(mlflow, multiclass, tmp_path):
    import pandas as pd

    from sklearn_gradexplain.integrations.mlflow import log_explanation

    X, y = multiclass
    ig = IntegratedGradients(baseline="mean", n_steps=16)
    explainer = GradientExplainer(LogisticRegression(), attribution=ig).fit(X, y)
    with mlflow.start_run() as run:
        uri = log_explanation(explainer, X.iloc[:30])
    client = mlflow.MlflowClient()
    run_id = run.info.run_id
    assert uri == f"{client.get_run(run_id).info.artifact_uri}/gradexplain"
    listed = sorted(f.path for f in client.list_artifacts(run_id, "gradexplain"))
    assert listed == [f"gradexplain/{name}" for name in ARTIFACTS]

    folder = _download(mlflow, run_id, "gradexplain", tmp_path)
    table = pd.read_csv(os.path.join(folder, "summary.csv"))
    expected = explainer.summary()
    assert list(table.columns) == list(expected.columns)
    assert table["output"].tolist() == expected["output"].tolist()
    assert table["feature"].tolist() == expected["feature"].tolist()
    for column in ("mean", "stderr", "p_value", "scaled_importance"):
        assert_allclose(table[column], expected[column], rtol=1e-12)
    with open(os.path.join(folder, "global_gradient.json")) as file:
        content = json.load(file)
    assert content["outputs"] == [0, 1, 2]
    assert content["features"] == ["a", "b", "c", "d"]
    assert content["method"] == explainer.method_
    assert_allclose(content["global_gradient"], explainer.global_gradient_, rtol=1e-15)
    attributions = np.load(os.path.join(folder, "attributions.npy"))
    assert_array_equal(attributions, explainer.explain(X.iloc[:30]))
    # base values: the model's own output at the baseline (the mean of the fit data)
    model = explainer.estimator_
    base = np.load(os.path.join(folder, "base_values.npy"))
    reference = model.predict_proba(pd.DataFrame([X.mean()], columns=X.columns))
    assert_close(base, np.repeat(reference, 30, axis=0), 1e-10)
    _check_png(os.path.join(folder, "summary_bar_plot.png"))
    _check_png(os.path.join(folder, "beeswarm_plot.png"))

    metrics = client.get_run(run_id).data.metrics
    gap = np.abs(explainer.completeness_delta(X.iloc[:30])).mean()
    assert metrics["completeness_gap"] == pytest.approx(gap, rel=1e-9, abs=1e-15)
    assert "agreement" not in metrics  # not a surrogate


def test_surrogate_agreement_and_given_metrics(mlflow, multiclass, tmp_path):
    import pandas as pd

    from sklearn_gradexplain.integrations.mlflow import log_explanation

    X, y = multiclass
    surrogate = GradientSurrogateClassifier(LogisticRegression()).fit(X, y)
    X_test = X.iloc[60:]

    def spread(explainer, X):
        return float(np.abs(explainer.explain(X)).max())

    with mlflow.start_run() as run:
        log_explanation(
            surrogate, X_test, "explained", metrics={"spread": spread, "fixed": 0.25}
        )
    metrics = mlflow.MlflowClient().get_run(run.info.run_id).data.metrics
    # agreement: how often the linear surrogate predicts the model's own class
    agreed = surrogate.predict(X_test) == surrogate.estimator_.predict(X_test)
    assert metrics["agreement"] == pytest.approx(agreed.mean())
    assert metrics["spread"] == pytest.approx(spread(surrogate, X_test))
    assert metrics["fixed"] == 0.25
    assert "completeness_gap" not in metrics  # gradients have no reference
    folder = _download(mlflow, run.info.run_id, "explained", tmp_path)
    table = pd.read_csv(os.path.join(folder, "summary.csv"))
    assert_allclose(
        table["mean"].to_numpy().reshape(3, 4), surrogate.global_gradient_, rtol=1e-12
    )
    # no reference point: the base value is the mean model output over the rows
    base = np.load(os.path.join(folder, "base_values.npy"))
    proba = surrogate.estimator_.predict_proba(X_test).mean(axis=0)
    assert_close(base, np.broadcast_to(proba, base.shape), 1e-12)


def test_active_run_new_run_and_run_id(mlflow):
    from sklearn_gradexplain.integrations.mlflow import log_explanation

    X, y = make_regression(n_samples=50, n_features=3, random_state=0)
    explainer = GradientExplainer(LinearRegression()).fit(X, y)
    assert mlflow.active_run() is None
    log_explanation(explainer, X)  # starts a run, left active like mlflow.log_*
    started = mlflow.active_run()
    assert started is not None
    mlflow.end_run()
    client = mlflow.MlflowClient()
    other = client.create_run(started.info.experiment_id).info.run_id
    log_explanation(explainer, X, "second", run_id=other)
    assert mlflow.active_run() is None
    for run_id, path in ((started.info.run_id, "gradexplain"), (other, "second")):
        assert len(client.list_artifacts(run_id, path)) == len(ARTIFACTS)
    assert client.list_artifacts(other, "gradexplain") == []


def test_bad_metrics_are_refused_before_logging(mlflow):
    from sklearn_gradexplain.integrations.mlflow import log_explanation

    X, y = make_regression(n_samples=30, n_features=2, random_state=0)
    explainer = GradientExplainer(LinearRegression()).fit(X, y)
    with mlflow.start_run() as run:
        with pytest.raises(TypeError, match="metrics\\['table'\\]"):
            log_explanation(explainer, X, metrics={"table": [1.0, 2.0]})
        with pytest.raises(ValueError, match="not finite"):
            log_explanation(explainer, X, metrics={"broken": float("nan")})
        with pytest.raises(TypeError, match="GradientExplainer"):
            log_explanation(LinearRegression().fit(X, y), X)
    client = mlflow.MlflowClient()
    assert client.list_artifacts(run.info.run_id) == []


def test_evaluator_entry_point_is_installed(mlflow):
    from mlflow.models import list_evaluators
    from mlflow.models.evaluation.base import ModelEvaluator

    from sklearn_gradexplain.integrations.mlflow import GradientExplanationEvaluator

    found = {e.name: e for e in entry_points(group="mlflow.model_evaluator")}
    assert "gradexplain" in found, "reinstall the package: pip install -e ."
    assert found["gradexplain"].load() is GradientExplanationEvaluator
    assert issubclass(GradientExplanationEvaluator, ModelEvaluator)
    assert "gradexplain" in list_evaluators()


def _log_sklearn_model(mlflow, model):
    with mlflow.start_run() as run:
        mlflow.sklearn.log_model(model, name="model", pip_requirements=["scikit-learn"])
    return f"runs:/{run.info.run_id}/model"


def test_models_evaluate_logs_gradient_explanations(mlflow, multiclass, tmp_path):
    X, y = multiclass
    model = make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y)
    model_uri = _log_sklearn_model(mlflow, model)
    data = X.assign(label=y)
    with mlflow.start_run() as run:
        result = mlflow.models.evaluate(
            model_uri,
            data,
            targets="label",
            model_type="classifier",
            evaluators=["gradexplain"],
        )
    client = mlflow.MlflowClient()
    run_id = run.info.run_id
    listed = sorted(f.path for f in client.list_artifacts(run_id, "gradexplain"))
    assert listed == [f"gradexplain/{name}" for name in ARTIFACTS]
    assert sorted(result.artifacts) == listed
    metrics = client.get_run(run_id).data.metrics
    assert result.metrics == {"agreement": metrics["agreement"]}

    # the same explanation, built here around the model itself
    explainer = GradientExplainer(FrozenEstimator(model)).fit(X)
    folder = _download(mlflow, run_id, "gradexplain", tmp_path)
    attributions = np.load(os.path.join(folder, "attributions.npy"))
    assert_close(attributions, explainer.explain(X), 1e-12)
    surrogate = GradientSurrogateClassifier(FrozenEstimator(model)).fit(X)
    agreed = surrogate.predict(X) == model.predict(X)
    assert metrics["agreement"] == pytest.approx(agreed.mean())
    _check_png(os.path.join(folder, "beeswarm_plot.png"))


def test_evaluator_config_sample_prefix_and_regressors(mlflow, tmp_path):
    X, y = make_regression(n_samples=300, n_features=3, random_state=0)
    model = LinearRegression().fit(X, y)
    model_uri = _log_sklearn_model(mlflow, model)
    config = {
        "attribution": "integrated_gradients",
        "max_rows": 40,
        "metric_prefix": "test_",
        "artifact_path": "ig",
    }
    with mlflow.start_run() as run:
        result = mlflow.models.evaluate(
            model_uri,
            X,
            targets=y,
            model_type="regressor",
            evaluators=["gradexplain"],
            evaluator_config={"gradexplain": config},
        )
    metrics = mlflow.MlflowClient().get_run(run.info.run_id).data.metrics
    assert set(result.metrics) == {"test_agreement", "test_completeness_gap"}
    assert metrics["test_agreement"] == pytest.approx(1.0)  # R² of a linear model
    assert metrics["test_completeness_gap"] < 1e-9 * np.abs(y).max()
    folder = _download(mlflow, run.info.run_id, "ig", tmp_path)
    attributions = np.load(os.path.join(folder, "attributions.npy"))
    assert attributions.shape == (40, 3)
    # IG of a linear model from a zero baseline: x * coef, on 40 of the rows
    explained = X * model.coef_
    rows = [np.abs(explained - row).sum(axis=1).argmin() for row in attributions]
    assert len(set(rows)) == 40
    assert_close(attributions, explained[rows], 1e-10)

    with mlflow.start_run():
        with pytest.raises(Exception, match="Unknown gradexplain evaluator_config"):
            mlflow.models.evaluate(
                model_uri,
                X,
                targets=y,
                model_type="regressor",
                evaluators=["gradexplain"],
                evaluator_config={"gradexplain": {"n_rows": 10}},
            )


def test_models_without_a_sklearn_flavor_are_refused(mlflow):
    class Doubler(mlflow.pyfunc.PythonModel):
        def predict(self, context, model_input, params=None):
            return 2 * np.asarray(model_input)[:, 0]

    with mlflow.start_run() as run:
        mlflow.pyfunc.log_model(
            name="model", python_model=Doubler(), pip_requirements=["numpy"]
        )
    X = np.random.default_rng(0).normal(size=(20, 2))
    with mlflow.start_run():
        with pytest.raises(Exception, match="flavor is 'mlflow.pyfunc.model'"):
            mlflow.models.evaluate(
                f"runs:/{run.info.run_id}/model",
                X,
                targets=2 * X[:, 0],
                model_type="regressor",
                evaluators=["gradexplain"],
            )


def test_docstrings_pass_numpydoc():
    pytest.importorskip("mlflow", reason="mlflow is not installed")
    validate = pytest.importorskip("numpydoc.validate").validate
    ignored = {"GL01", "GL02", "ES01", "SA01", "EX01", "RT02", "PR02", "GL08", "SS05"}
    names = [
        "sklearn_gradexplain.integrations.mlflow.log_explanation",
        "sklearn_gradexplain.integrations._mlflow_evaluator.GradientExplanationEvaluator",
        "sklearn_gradexplain.integrations._mlflow_evaluator."
        "GradientExplanationEvaluator.evaluate",
        "sklearn_gradexplain.integrations._mlflow_evaluator."
        "GradientExplanationEvaluator.can_evaluate",
    ]
    for name in names:
        errors = [e for e in validate(name)["errors"] if e[0] not in ignored]
        assert not errors, f"{name}: {errors}"


def test_a_clear_error_without_mlflow():
    script = textwrap.dedent(
        """
        import sys
        sys.modules["mlflow"] = None  # import mlflow raises ImportError
        import numpy as np
        from sklearn.linear_model import LinearRegression
        from sklearn_gradexplain import GradientExplainer
        from sklearn_gradexplain.integrations.mlflow import log_explanation
        X = np.random.default_rng(0).normal(size=(20, 2))
        explainer = GradientExplainer(LinearRegression()).fit(X, X.sum(axis=1))
        try:
            log_explanation(explainer, X)
        except ImportError as exc:
            print("OK", exc)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert "OK" in result.stdout and "pip install mlflow" in result.stdout
