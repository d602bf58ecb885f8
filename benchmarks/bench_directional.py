"""Accuracy of the directional global gradient against full finite differences.

``sklearn_gradexplain.metrics.directional_global_gradient`` estimates the mean gradient
ḡ of a black box from 2·m model evaluations per row (m random Rademacher directions)
instead of the 2·d of full central differences. Each line is one m on a tanh MLP
explained by finite differences: the relative error ‖ĝ − ḡ_FD‖ / ‖ḡ_FD‖ against the
full finite-difference mean gradient over the same rows (median over seeds), the share
of features whose ±2·stderr interval covers ḡ_FD, and, at the same number of model
evaluations, the error of full finite differences on a random subsample of rows (the
other way to spend the budget). ``ratio`` is the number of model evaluations, ours /
full finite differences; there are no timings here.
"""

import warnings

import numpy as np
from sklearn.frozen import FrozenEstimator
from sklearn.neural_network import MLPClassifier, MLPRegressor

from sklearn_gradexplain import GradientExplainer
from sklearn_gradexplain.metrics import directional_global_gradient

try:
    from ._common import row
except ImportError:  # run as a script
    from _common import row


def _data(n_rows, n_features, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_rows, n_features))
    w = rng.normal(size=n_features)
    signal = np.tanh(X @ w / np.sqrt(n_features)) + 0.3 * np.sin(X[:, 0]) * X[:, 1]
    return X, signal, rng


def _models(n_rows, n_features):
    X, signal, rng = _data(n_rows, n_features)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        regressor = MLPRegressor(
            hidden_layer_sizes=(32,), activation="tanh", max_iter=200, random_state=0
        ).fit(X, signal + 0.1 * rng.normal(size=n_rows))
        labels = np.digitize(signal, np.quantile(signal, [1 / 3, 2 / 3]))
        classifier = MLPClassifier(
            hidden_layer_sizes=(32,), activation="tanh", max_iter=200, random_state=0
        ).fit(X, labels)
    return X, {"MLPRegressor": regressor, "MLPClassifier (3 classes)": classifier}


def _relative_error(estimate, reference):
    return float(np.linalg.norm(estimate - reference) / np.linalg.norm(reference))


def _lines(label, explainer, model, X, directions, seeds):
    n_rows, n_features = X.shape
    full = explainer.global_gradient_  # 2·d evaluations per row
    full_evaluations = 2 * n_features * n_rows
    lines = []
    for m in directions:
        errors, covered, subsample_errors = [], [], []
        n_sub = n_rows * m / n_features  # rows that full differences can afford
        for seed in seeds:
            result = directional_global_gradient(
                explainer, X, n_directions=m, random_state=seed
            )
            errors.append(_relative_error(result.global_gradient, full))
            covered.append(np.abs(result.global_gradient - full) <= 2 * result.stderr)
            if 2 <= n_sub < n_rows:  # the same budget on full differences of fewer rows
                subset = np.random.default_rng(seed).choice(
                    n_rows, size=int(round(n_sub)), replace=False
                )
                sub = GradientExplainer(
                    FrozenEstimator(model), method="finite_difference"
                ).fit(X[subset])
                subsample_errors.append(_relative_error(sub.global_gradient_, full))
        if subsample_errors:
            other = (
                f"; full FD on {int(round(n_sub))} random rows (same budget): "
                f"{np.median(subsample_errors):.3f}"
            )
        elif n_sub < 2:
            other = "; the budget is below full FD of 2 rows"
        else:
            other = ""
        line = row(
            f"{label}, {n_rows}x{n_features}, m={m} directions",
            None,
            None,
            note=(
                f"ratio = model evaluations, {2 * m} per row / {2 * n_features} for "
                "full central differences"
            ),
            accuracy=(
                f"rel. error {np.median(errors):.3f} (median of {len(errors)} seeds); "
                f"±2 stderr covers {np.mean(covered):.0%}{other}"
            ),
        )
        line["ratio"] = result.n_evaluations / full_evaluations
        lines.append(line)
    return lines


def run(quick=False):
    n_rows, n_features = (500, 20) if quick else (4000, 40)
    directions = (1, 4, 20) if quick else (1, 2, 4, 8, 20, 40)
    seeds = range(3 if quick else 8)
    X, models = _models(n_rows, n_features)
    rows = []
    for name, model in models.items():
        explainer = GradientExplainer(
            FrozenEstimator(model), method="finite_difference"
        ).fit(X)
        rows += _lines(name, explainer, model, X, directions, seeds)
    if not quick:  # wide data, few rows: full differences of one row cost 2·d
        X, models = _models(40, 1000)
        model = models["MLPRegressor"]
        explainer = GradientExplainer(
            FrozenEstimator(model), method="finite_difference"
        ).fit(X)
        rows += _lines("MLPRegressor", explainer, model, X, (5, 50, 200), seeds)
    return rows


if __name__ == "__main__":
    for line in run(quick=True):
        print(line["workload"], "|", f"{line['ratio']:.3g}", "|", line["accuracy"])
