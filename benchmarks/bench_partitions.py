"""Out of core: 10M rows explained as 10 partitions of 1M rows, one after another.

This simulates on one machine what a cluster does per partition (docs/distributed.rst):
each partition is made (seeded by its index, not timed), folded into the global
statistics with ``partial_fit`` of a frozen model's explainer (finite differences of
an MLP), and dropped before the next one, so that only one partition is ever in memory.
Per partition, one line compares its time with the second partition's (ratio ≈ 1: a
constant cost per partition, so the total is linear in the rows and splits across
workers; the first partition also fits the reference statistics) and one its peak
working memory (traced with :mod:`tracemalloc` on a copy of the explainer, measured
separately from the timing) with the second one's. Two lines close the run: the total
time against the first partition's plus ``n_partitions - 1`` times the second's, and
the process's peak resident memory (``resource.getrusage``) against the size of all
rows held at once. ``--quick``: 3 partitions of 100k rows.
"""

import copy
import resource
import time
import warnings

import numpy as np
from sklearn.frozen import FrozenEstimator
from sklearn.neural_network import MLPClassifier

from sklearn_gradexplain import GradientExplainer

try:
    from ._common import peak_memory, row
except ImportError:  # run as a script
    from _common import peak_memory, row

N_FEATURES = 10
PARTITIONS = {"quick": (3, 100_000), "full": (10, 1_000_000)}
MB = 2**20


def make_partition(index, n_rows, n_features=N_FEATURES):
    """Partition ``index``: Gaussian features, made from its own seed."""
    rng = np.random.default_rng(1000 + index)
    return rng.standard_normal((n_rows, n_features))


def make_explainer():
    """A frozen MLP (fitted on 5,000 rows) explained by finite differences."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((5_000, N_FEATURES))
    y = (X[:, 0] * X[:, 1] + np.sin(X[:, 2]) + 0.5 * X[:, 3] > 0).astype(int)
    model = MLPClassifier(hidden_layer_sizes=(32,), max_iter=100, random_state=0)
    with warnings.catch_warnings():  # a short training: the model is only explained
        warnings.simplefilter("ignore")
        model.fit(X, y)
    return GradientExplainer(
        FrozenEstimator(model), method="finite_difference", batch_size="auto"
    )


def simulate(n_partitions, n_rows):
    """Fold the partitions one after another: seconds and working bytes of each."""
    explainer = make_explainer()
    seconds, working = [], []
    for index in range(n_partitions):
        part = make_partition(index, n_rows)
        # memory first, on a copy: the partition's fold without the timing's
        copied = copy.deepcopy(explainer)
        peak, _ = peak_memory(lambda copied=copied, part=part: copied.partial_fit(part))
        working.append(peak)
        start = time.perf_counter()
        explainer.partial_fit(part)
        seconds.append(time.perf_counter() - start)
        del part, copied
    return explainer, seconds, working


def run(quick=False):
    """Rows of the partition simulation: constant cost and memory per partition."""
    n_partitions, n_rows = PARTITIONS["quick" if quick else "full"]
    _, seconds, working = simulate(n_partitions, n_rows)
    total_rows = n_partitions * n_rows
    label = f"partitions FD MLP {n_partitions}×{n_rows:,}×{N_FEATURES} (partial_fit)"
    # the first partition also fits the reference statistics (the steps): the
    # steady cost per partition is the second one's
    base_s, base_w = seconds[1], working[1]
    rows = []
    for index, (s, w) in enumerate(zip(seconds, working, strict=True)):
        steady = index > 0
        reference = (
            "the second partition"
            if steady
            else ("the second partition (the first also fits the reference statistics)")
        )
        rows.append(
            row(
                f"{label} partition {index + 1} time",
                s,
                base_s,
                f"{n_rows / s:,.0f} rows/s; reference: {reference}",
                target="<= 1.25" if index > 1 else None,
                rows_per_s=n_rows / s,
            )
        )
        rows.append(
            row(
                f"{label} partition {index + 1} peak memory",
                w / MB,
                base_w / MB,
                "working memory of the partition's fold, traced by tracemalloc "
                f"(the partition itself excluded); reference: {reference}",
                target="<= 1.25" if index > 1 else None,
                unit="MB",
            )
        )
    total = sum(seconds)
    rows.append(
        row(
            f"{label} total time ({total_rows:,} rows)",
            total,
            seconds[0] + (n_partitions - 1) * base_s,
            f"{total_rows / total:,.0f} rows/s; reference: the first partition plus "
            f"{n_partitions - 1} × the second (linear cost)",
            target="<= 1.25",
        )
    )
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    rows.append(
        row(
            f"{label} process peak RSS",
            rss,
            total_rows * N_FEATURES * 8 / MB,
            "peak resident memory of the whole process (interpreter, libraries and "
            f"one partition); reference: all {total_rows:,} rows held at once",
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
