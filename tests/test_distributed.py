"""Chunks on any joblib backend (threads, processes, dask, ray) and dask collections.

Chunk boundaries depend only on the data's shape and ``batch_size``, so every backend
and every ``n_jobs`` must give bit-identical attributions to a sequential run; dask
DataFrames and arrays explained partition by partition give the in-memory result, and
``partial_fit`` over partitions the in-memory ``fit``.
"""

import os
import re
import warnings

import joblib
import numpy as np
import pytest
from _helpers import HAS_TORCH, FailingClassifier, requires_torch
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.datasets import make_classification
from sklearn.ensemble import RandomForestClassifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression
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


# ------------------------------------------------- out of core: dask collections
@pytest.fixture(scope="module")
def frame(data):
    pd = pytest.importorskip("pandas")
    X, y = data
    return pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])]), y


def _frame_explainers(frame):
    """Explainers fitted on the frame; rows per model call divide the 75-row parts."""
    X, y = frame
    mlp = MLPClassifier(hidden_layer_sizes=(8,), max_iter=50, random_state=0)
    explainers = [  # finite differences: 150 // (2 * 5) = 15 and 150 // 30 = 5 rows
        GradientExplainer(mlp, batch_size=150, method="finite_difference"),
        GradientExplainer(
            mlp,
            attribution=IntegratedGradients(n_steps=3),
            batch_size=150,
            method="finite_difference",
        ),
    ]
    if HAS_TORCH:  # autograd passes of 75 rows: the partitions' own
        explainers.append(
            GradientExplainer(LogisticRegression(), batch_size=75, method="autograd")
        )
    with warnings.catch_warnings():  # a short MLP training
        warnings.simplefilter("ignore")
        return [explainer.fit(X, y) for explainer in explainers]


def test_dask_partitions_and_blocks_on_a_local_cluster(frame):
    distributed = pytest.importorskip("distributed")
    dd = pytest.importorskip("dask.dataframe")
    da = pytest.importorskip("dask.array")
    import pandas as pd

    X, y = frame
    explainers = _frame_explainers(frame)
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        parts = dd.from_pandas(X, npartitions=4)
        blocks = da.from_array(X.to_numpy(), chunks=(75, X.shape[1]))
        assert parts.npartitions == 4 and blocks.numblocks == (4, 1)
        for explainer in explainers:
            expected = explainer.transform(X)
            names = explainer.get_feature_names_out()
            # a DataFrame: one transform per partition, its index kept
            frame_out = explainer.set_output(transform="pandas")
            meta = pd.DataFrame({name: pd.Series(dtype=float) for name in names})
            result = parts.map_partitions(frame_out.transform, meta=meta)
            with distributed.get_task_stream(client) as tasks:
                computed = result.compute()
            assert_array_equal(computed.to_numpy(), expected)
            assert computed.index.equals(X.index)
            assert list(computed.columns) == list(names)
            workers = {task["worker"] for task in tasks.data}
            assert workers and workers <= set(client.scheduler_info()["workers"])
            # an array: one transform per block of rows (an explainer fitted on arrays)
            explainer = clone(explainer).set_output(transform="default")
            with warnings.catch_warnings():  # a short MLP training
                warnings.simplefilter("ignore", ConvergenceWarning)
                explainer.fit(X.to_numpy(), y)
            expected = explainer.transform(X.to_numpy())
            result = blocks.map_blocks(
                explainer.transform,
                dtype=expected.dtype,
                chunks=(blocks.chunks[0], (expected.shape[1],)),
            )
            assert_array_equal(result.compute(), expected)


@requires_torch
def test_partial_fit_over_partitions_equals_the_in_memory_fit(frame):
    dd = pytest.importorskip("dask.dataframe")
    X, y = frame
    model = LogisticRegression().fit(X, y)
    parts = dd.from_pandas(X, npartitions=4)
    for attribution in ("gradient", IntegratedGradients(n_steps=8)):
        whole = GradientExplainer(FrozenEstimator(model), attribution=attribution)
        whole.fit(X)
        folded = GradientExplainer(FrozenEstimator(model), attribution=attribution)
        for part in parts.partitions:  # one partition in memory at a time
            folded.partial_fit(part.compute())
        for name in (
            "global_gradient_",
            "global_gradient_stderr_",
            "feature_importances_",
            "feature_std_",
        ):
            assert_allclose(getattr(folded, name), getattr(whole, name), rtol=1e-12)
        table, expected = folded.summary(), whole.summary()
        assert table[["output", "feature"]].equals(expected[["output", "feature"]])
        numbers = ["mean", "stderr", "ci_low", "ci_high", "importance"]
        assert_allclose(table[numbers], expected[numbers], rtol=1e-10)


# ------------------------------------------------------------------------- ray
class ProcessNamingClassifier(LogisticRegression):
    """Raises on rows whose first feature is marked (>1e6), naming its process."""

    def predict_proba(self, X):
        X = np.asarray(X)
        if np.any(X[:, 0] > 1e6):
            raise ArithmeticError(f"model blew up in process {os.getpid()}")
        return super().predict_proba(X)


@pytest.fixture(scope="module")
def ray_instance():
    """A small local ray instance, started and stopped here (2 CPUs, no dashboard)."""
    ray = pytest.importorskip("ray", reason="ray is not installed")
    from ray.util.joblib import register_ray

    tests = os.path.dirname(os.path.abspath(__file__))
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        object_store_memory=100 * 2**20,
        log_to_driver=False,
        # the workers import this module (ProcessNamingClassifier)
        runtime_env={"env_vars": {"PYTHONPATH": tests}},
    )
    register_ray()
    try:
        yield ray
    finally:
        ray.shutdown()


def test_ray_backend_gives_the_sequential_result(ray_instance, data, explainers):
    X, y = data
    # each explain starts a pool of ray workers: two explainers (SmoothGrad of an
    # MLP, integrated gradients of a forest) and the error case
    chosen = [explainers[2], explainers[4]]
    with joblib.parallel_config(backend="ray"):
        results = _explain_all(chosen, X, 2)
    for (_, expected), result in zip(chosen, results, strict=True):
        assert_array_equal(result, expected)

    bad = X.copy()
    bad[100, 0] = 1e9
    explainer = GradientExplainer(
        ProcessNamingClassifier(), method="finite_difference", batch_size=150
    ).fit(X, y)
    with joblib.parallel_config(backend="ray"):
        with pytest.raises(ArithmeticError, match=r"rows 90:105") as info:
            explainer.set_params(n_jobs=2).explain(bad)
    # raised in a ray worker process, not here
    pid = int(re.search(r"in process (\d+)", str(info.value)).group(1))
    assert pid != os.getpid()
