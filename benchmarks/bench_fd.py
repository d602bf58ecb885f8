"""Finite differences on black boxes: against the stacked-call floor and a naive loop.

For each model (MLPClassifier, HistGradientBoostingClassifier, RandomForestClassifier)
and data size, ``GradientExplainer(method="finite_difference").explain(X)`` is timed
against

* the floor: one ``predict_proba`` call on every perturbed row stacked (the same
  central-difference rows the engine builds, built here by hand): no black-box method
  can evaluate the model on fewer rows;
* a naive loop over samples × features (two one-row calls per feature), timed on a few
  rows and extrapolated linearly to all rows;
* itself with ``n_jobs=2`` (threading backend) against ``n_jobs=1``.
"""

import time

import numpy as np
from joblib import parallel_config
from sklearn.datasets import make_classification
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.frozen import FrozenEstimator
from sklearn.neural_network import MLPClassifier

from sklearn_gradexplain import FiniteDifference, GradientExplainer

try:
    from ._common import budget, interleaved_best_of, max_relative_error, repeats, row
except ImportError:  # run as a script
    from _common import budget, interleaved_best_of, max_relative_error, repeats, row

SMALL = (2_000, 20)
LARGE = (20_000, 50)

MODELS = {
    "MLPClassifier": (
        lambda: MLPClassifier(hidden_layer_sizes=(64,), max_iter=60, random_state=0),
        "auto",
    ),
    "HistGradientBoosting": (
        lambda: HistGradientBoostingClassifier(max_iter=100, random_state=0),
        0.1,
    ),
    "RandomForest": (
        lambda: RandomForestClassifier(n_estimators=100, random_state=0),
        0.1,
    ),
}


def data(n_samples, n_features, random_state=0):
    """A binary classification problem with a few informative features."""
    X, y = make_classification(
        n_samples=n_samples,
        n_features=n_features,
        n_informative=max(2, n_features // 2),
        random_state=random_state,
    )
    return X, y


def steps(explainer, X):
    """The absolute central-difference steps, (n, n_features), as the engine takes."""
    magnitude = np.maximum(explainer.finite_difference_.scale_, np.abs(X))
    magnitude[magnitude == 0] = 1
    return explainer_step(explainer) * magnitude


def explainer_step(explainer):
    return explainer.finite_difference_._relative_step(np.float64)


def stacked_rows(X, h):
    """All perturbed rows, (n * 2 * d, d): x + h_k e_k, then x − h_k e_k, per row."""
    n, d = X.shape
    eye = np.eye(d)
    plus = X[:, None, :] + h[:, :, None] * eye
    minus = X[:, None, :] - h[:, :, None] * eye
    return np.concatenate([plus, minus], axis=1).reshape(-1, d)


def naive_loop(model, X, h, positive=1):
    """Central differences, one ``predict_proba`` call per row, sample and feature."""
    n, d = X.shape
    grads = np.empty((n, d))
    for i in range(n):
        for k in range(d):
            up = X[i : i + 1].copy()
            down = X[i : i + 1].copy()
            up[0, k] += h[i, k]
            down[0, k] -= h[i, k]
            taken = up[0, k] - down[0, k]
            f_up = model.predict_proba(up)[0, positive]
            f_down = model.predict_proba(down)[0, positive]
            grads[i, k] = (f_up - f_down) / taken
    return grads


def bench_model(name, n_samples, n_features, quick):
    make_model, step = MODELS[name]
    X, y = data(n_samples, n_features)
    model = make_model().fit(X, y)
    explainer = GradientExplainer(
        FrozenEstimator(model), method=FiniteDifference(step=step)
    ).fit(X[:500])
    parallel = GradientExplainer(
        FrozenEstimator(model), n_jobs=2, method=FiniteDifference(step=step)
    ).fit(X[:500])
    h = steps(explainer, X)
    stacked = stacked_rows(X, h)

    def run_parallel():
        with parallel_config(backend="threading"):
            return parallel.explain(X)

    small = n_samples * n_features <= 100_000
    n_repeats = repeats(quick) if small else 2
    times, results = interleaved_best_of(
        {
            "ours": lambda: explainer.explain(X),
            "floor": lambda: model.predict_proba(stacked),
            "n_jobs=2": run_parallel,
        },
        n_repeats=n_repeats,
        budget_s=budget(quick),
        warmup=small,  # large workloads: the best of 2 timed rounds is warm enough
    )
    ours = results["ours"]
    assert np.array_equal(ours, results["n_jobs=2"]), "n_jobs changed the results"

    # naive loop on a few rows, extrapolated linearly to all rows
    n_naive = 3 if name == "RandomForest" else 10
    start = time.perf_counter()
    naive = naive_loop(model, X[:n_naive], h[:n_naive])
    naive_s = (time.perf_counter() - start) * n_samples / n_naive
    naive_error = max_relative_error(ours[:n_naive], naive)

    size = f"{n_samples:,}×{n_features}"
    label = f"FD {name} {size}"
    n_rows = len(X) * 2 * n_features
    return [
        row(
            f"{label} vs stacked floor",
            times["ours"],
            times["floor"],
            f"floor: one predict_proba on all {n_rows:,} perturbed rows stacked",
            target="<= 1.25",
        ),
        row(
            f"{label} vs naive loop",
            times["ours"],
            naive_s,
            f"loop over samples × features (2 one-row calls each), timed on {n_naive} "
            f"rows and extrapolated linearly to {n_samples:,}",
            target="<= 0.01",
            accuracy=f"max rel. diff vs loop {naive_error:.1e}",
        ),
        row(
            f"{label} n_jobs=2 vs n_jobs=1",
            times["n_jobs=2"],
            times["ours"],
            "joblib threading backend; identical results checked",
        ),
    ]


def run(quick=False):
    """Rows of the finite-difference benchmark (``quick``: the small data only)."""
    sizes = [SMALL] if quick else [SMALL, LARGE]
    rows = []
    for n_samples, n_features in sizes:
        for name in MODELS:
            rows.extend(bench_model(name, n_samples, n_features, quick))
    return rows


if __name__ == "__main__":
    import sys

    for line in run(quick="--quick" in sys.argv):
        print(line)
