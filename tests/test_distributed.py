"""Finite-difference chunks on any joblib backend: threads, processes, a dask cluster.

Chunk boundaries depend only on the data's shape and ``batch_size``, so every backend
and every ``n_jobs`` must give bit-identical attributions to a sequential run.
"""

import warnings

import joblib
import pytest
from _helpers import FailingClassifier
from numpy.testing import assert_array_equal
from sklearn.datasets import make_classification
from sklearn.ensemble import RandomForestClassifier
from sklearn.neural_network import MLPClassifier

from sklearn_gradexplain import FiniteDifference, GradientExplainer
from sklearn_gradexplain.attributions import IntegratedGradients, SmoothGrad

pytestmark = [  # few integration steps, a tiny forest and a short MLP training
    pytest.mark.filterwarnings(
        "ignore::sklearn_gradexplain.exceptions.CompletenessWarning"
    ),
    pytest.mark.filterwarnings("ignore::sklearn_gradexplain.ZeroGradientWarning"),
]

ATTRIBUTIONS = [
    {"attribution": "gradient"},
    {"attribution": IntegratedGradients(n_steps=3)},
    {"attribution": SmoothGrad(n_samples=3, random_state=0)},
]


@pytest.fixture(scope="module")
def data():
    X, y = make_classification(
        n_samples=300, n_features=5, n_informative=3, n_classes=3, random_state=0
    )
    return X, y


@pytest.fixture(scope="module")
def explainers(data):
    """Fitted finite-difference explainers and their sequential attributions."""
    X, y = data
    models = {
        "mlp": MLPClassifier(hidden_layer_sizes=(8,), max_iter=50, random_state=0),
        "forest": RandomForestClassifier(n_estimators=4, random_state=0),
    }
    fitted = []
    for name, model in models.items():
        for params in ATTRIBUTIONS:
            step = 0.1 if name == "forest" else "auto"
            explainer = GradientExplainer(
                model, batch_size=150, **params, method=FiniteDifference(step=step)
            )
            with warnings.catch_warnings():  # short MLP training, sparse forest
                warnings.simplefilter("ignore")
                explainer.fit(X, y)
            fitted.append((explainer, explainer.explain(X)))
    return fitted


def _explain_all(explainers, X, n_jobs):
    return [
        explainer.set_params(n_jobs=n_jobs).explain(X) for explainer, _ in explainers
    ]


@pytest.mark.parametrize("backend", ["threading", "loky"])
def test_identical_for_every_n_jobs_and_backend(backend, data, explainers):
    X, _ = data
    # chunks of 150 // (2 * 5) = 15 rows: 20 chunks per call
    for n_jobs in (1, 2):
        with joblib.parallel_config(backend=backend):
            results = _explain_all(explainers, X, n_jobs)
        for (_, expected), result in zip(explainers, results, strict=True):
            assert_array_equal(result, expected)
    if backend == "loky":  # an error in a worker process names its rows
        bad = X.copy()
        bad[100, 0] = 1e9
        explainer = GradientExplainer(
            FailingClassifier(), method="finite_difference", batch_size=150, n_jobs=2
        ).fit(X, data[1])
        with pytest.raises(ArithmeticError, match=r"model blew up.*rows 90:105"):
            explainer.explain(bad)


def test_dask_cluster_gives_the_sequential_result(data, explainers):
    distributed = pytest.importorskip("distributed")
    X, y = data
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=False,
            dashboard_address=None,
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        with (
            distributed.get_task_stream(client) as tasks,
            joblib.parallel_config(backend="dask"),
        ):
            results = _explain_all(explainers, X, None)
        for (_, expected), result in zip(explainers, results, strict=True):
            assert_array_equal(result, expected)
        # the chunks really ran on the cluster's workers
        assert len(tasks.data) > 0
        assert {task["worker"] for task in tasks.data} <= set(
            client.scheduler_info()["workers"]
        )

        bad = X.copy()
        bad[7, 0] = 1e9
        explainer = GradientExplainer(
            FailingClassifier(), method="finite_difference", batch_size=150
        ).fit(X, y)
        with joblib.parallel_config(backend="dask"):
            with pytest.raises(ArithmeticError, match=r"model blew up.*rows 0:15"):
                explainer.explain(bad)
