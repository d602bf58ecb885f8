"""Scale: time and peak memory of finite differences as the number of rows grows.

``GradientExplainer(method="finite_difference", batch_size="auto")`` explains 10k to 1M
rows (quick: 10k to 100k) of a small MLP. For every size after the first, one line
compares the time with the smallest size's time scaled linearly (ratio ≈ 1: linear
cost) and one compares the peak working memory (traced with :mod:`tracemalloc`, less
the returned attributions, as DESIGN.md counts it) with the smallest size's (target:
within 2×).
"""

import numpy as np
from sklearn.frozen import FrozenEstimator
from sklearn.neural_network import MLPClassifier

from sklearn_gradexplain import GradientExplainer

try:
    from ._common import budget, interleaved_best_of, peak_memory, row
except ImportError:  # run as a script
    from _common import budget, interleaved_best_of, peak_memory, row

N_FEATURES = 10
SIZES = {
    "quick": [10_000, 30_000, 100_000],
    "full": [10_000, 100_000, 300_000, 1_000_000],
}
MB = 2**20


def make_data(n_samples, n_features=N_FEATURES, random_state=0):
    """Gaussian features and a nonlinear binary label (no O(n²) generator)."""
    rng = np.random.default_rng(random_state)
    X = rng.standard_normal((n_samples, n_features))
    y = (X[:, 0] * X[:, 1] + np.sin(X[:, 2]) + 0.5 * X[:, 3] > 0).astype(int)
    return X, y


def measure(explainer, X_all, sizes, quick):
    """Best times (sizes timed in turn, round after round) and working memory."""
    times, _ = interleaved_best_of(
        {n: (lambda n=n: explainer.explain(X_all[:n])) for n in sizes},
        n_repeats=3 if quick else 2,
        budget_s=budget(quick),
    )
    memory = {}
    for n in sizes:
        peak, result = peak_memory(lambda n=n: explainer.explain(X_all[:n]))
        memory[n] = peak - result.nbytes
    return times, memory


def run(quick=False):
    """Rows of the scale benchmark: linear time and flat memory."""
    sizes = SIZES["quick" if quick else "full"]
    X_fit, y_fit = make_data(5_000)
    model = MLPClassifier(hidden_layer_sizes=(32,), max_iter=100, random_state=0)
    model.fit(X_fit, y_fit)
    explainer = GradientExplainer(
        FrozenEstimator(model), method="finite_difference", batch_size="auto"
    ).fit(X_fit[:500])
    X_all, _ = make_data(sizes[-1], random_state=1)
    times, memory = measure(explainer, X_all, sizes, quick)
    base_n = sizes[0]
    base_s, base_mem = times[base_n], memory[base_n]
    rows = []
    for n in sizes:
        seconds, working = times[n], memory[n]
        label = f"scale FD MLP {n:,}×{N_FEATURES} (batch_size='auto')"
        rows.append(
            row(
                f"{label} time",
                seconds,
                base_s * n / base_n,
                f"{n / seconds:,.0f} rows/s; reference: time at {base_n:,} rows × "
                f"{n // base_n} (linear cost)",
                target="<= 1.25" if n != base_n else None,
                rows_per_s=n / seconds,
            )
        )
        rows.append(
            row(
                f"{label} peak memory",
                working / MB,
                base_mem / MB,
                f"working memory traced by tracemalloc, less the returned "
                f"attributions; reference: at {base_n:,} rows",
                target="<= 2.0" if n != base_n else None,
                unit="MB",
            )
        )
    return rows


if __name__ == "__main__":
    import sys

    from _common import set_threads

    set_threads(1)
    for line in run(quick="--quick" in sys.argv):
        print(line)
