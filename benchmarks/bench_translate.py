"""Exact gradients of translated scikit-learn models against finite differences.

``GradientExplainer(method="autograd")`` on a fitted ``StandardScaler`` +
``MLPClassifier(64, 32)`` pipeline (translated into torch) is timed against
``method="finite_difference"`` (central differences: 2·d stacked ``predict_proba``
calls per row) on the same frozen model and 3,000×40 data. The issue's target is a
speed-up of at least 10× (``ratio = ours / reference <= 0.1``). Further lines: a
5-class Jacobian, an RBF ``SVC`` pipeline, and the one-off cost of the translation
itself against one ``predict_proba`` call. Each line reports the agreement of the two
engines (max difference relative to the largest gradient); the MLPs use scikit-learn's
default ReLU, so a few finite differences straddle a kink and differ more.
"""

import warnings

from sklearn.datasets import make_classification
from sklearn.frozen import FrozenEstimator
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from sklearn_gradexplain import GradientExplainer

try:
    from ._common import best_of, interleaved_best_of, max_relative_error, repeats, row
except ImportError:  # run as a script
    from _common import best_of, interleaved_best_of, max_relative_error, repeats, row

N_SAMPLES, N_FEATURES = 3_000, 40


def data(n_classes, random_state=0):
    return make_classification(
        n_samples=N_SAMPLES,
        n_features=N_FEATURES,
        n_informative=10,
        n_classes=n_classes,
        random_state=random_state,
    )


def mlp_pipeline(X, y):
    """The issue's workload: StandardScaler + MLPClassifier(64, 32), fitted."""
    model = make_pipeline(
        StandardScaler(),
        MLPClassifier(hidden_layer_sizes=(64, 32), max_iter=20, random_state=0),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a short fit is enough to time gradients
        return model.fit(X, y)


def svc_pipeline(X, y):
    return make_pipeline(StandardScaler(), SVC(kernel="rbf")).fit(X, y)


def exact_vs_finite_differences(label, model, X, y, quick, target=None):
    """Time explain(X) with both engines on the same frozen model."""
    explainers = {
        method: GradientExplainer(FrozenEstimator(model), method=method).fit(
            X[:64], y[:64]
        )
        for method in ("autograd", "finite_difference")
    }
    assert explainers["autograd"].method_ == "autograd"
    functions = {method: (lambda e=e: e.explain(X)) for method, e in explainers.items()}
    times, results = interleaved_best_of(functions, n_repeats=repeats(quick))
    error = max_relative_error(results["finite_difference"], results["autograd"])
    speedup = times["finite_difference"] / times["autograd"]
    return row(
        f"{label}: autograd (translated) vs finite differences",
        times["autograd"],
        times["finite_difference"],
        f"central differences of the same frozen model; speed-up {speedup:.1f}x",
        target=target,
        accuracy=f"max rel. diff {error:.1e}",
        speedup=speedup,
    )


def translation_cost(model, X, quick):
    """The translation runs in fit and in every explain call: it must be cheap."""
    import torch

    from sklearn_gradexplain._engines._translate import translate

    ours, _ = best_of(
        lambda: translate(model, "predict_proba", torch.float64, "cpu"),
        n_repeats=repeats(quick),
    )
    reference, _ = best_of(lambda: model.predict_proba(X), n_repeats=repeats(quick))
    return row(
        "translate() of the MLP pipeline vs one predict_proba on 3,000 rows",
        ours,
        reference,
        "one-off cost per fit/explain call",
    )


def run(quick=False):
    """Rows of the translation benchmark (quick mode: the same, fewer repeats)."""
    shape = f"{N_SAMPLES:,}x{N_FEATURES}"
    X, y = data(2)
    mlp = mlp_pipeline(X, y)
    rows = [
        exact_vs_finite_differences(
            f"StandardScaler+MLPClassifier(64,32) {shape}, binary",
            mlp,
            X,
            y,
            quick,
            target="<= 0.1",
        )
    ]
    X5, y5 = data(5)
    rows.append(
        exact_vs_finite_differences(
            f"StandardScaler+MLPClassifier(64,32) {shape}, 5-class Jacobian",
            mlp_pipeline(X5, y5),
            X5,
            y5,
            quick,
        )
    )
    # finite differences of an SVC take ~40 s on 3,000 rows: explain 300 of them
    rows.append(
        exact_vs_finite_differences(
            f"StandardScaler+SVC(rbf) fitted on {shape}, 300 rows explained",
            svc_pipeline(X, y),
            X[:300],
            y[:300],
            quick,
        )
    )
    rows.append(translation_cost(mlp, X, quick))
    return rows


def _format(value, digits=4):
    if value is None:
        return "-"
    return f"{value:.{digits}g}" if isinstance(value, float) else str(value)


if __name__ == "__main__":
    import sys

    from _common import set_threads

    set_threads(1)
    lines = run(quick="--quick" in sys.argv)
    columns = [
        "workload",
        "ours_s",
        "reference_s",
        "ratio",
        "target",
        "met",
        "accuracy",
    ]
    table = [[_format(line.get(c)) for c in columns] for line in lines]
    widths = [max(len(c), *(len(r[i]) for r in table)) for i, c in enumerate(columns)]
    print("  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)))
    for r in table:
        print("  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)))
    for line in lines:
        print(f"- {line['workload']}: {line['note']}")
