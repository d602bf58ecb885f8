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
the peak resident memory of a fresh process doing all this against its resident
memory before the first partition plus the size of all rows held at once.
``--quick``: 3 partitions of 100k rows.
"""

import copy
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.frozen import FrozenEstimator
from sklearn.neural_network import MLPClassifier

from sklearn_gradexplain import GradientExplainer

try:
    from ._common import json_of_child, peak_memory, peak_rss, row
except ImportError:  # run as a script
    from _common import json_of_child, peak_memory, peak_rss, row

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
    """Fold the partitions one after another: seconds and working bytes of each, and
    the process's resident memory before the first partition and at its peak."""
    explainer = make_explainer()
    before = peak_rss()
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
    return explainer, seconds, working, before, peak_rss()


def _simulate_in_fresh_process(quick):
    """``simulate`` in a child process, so that its peak RSS is its own."""
    script = Path(__file__).resolve()
    arguments = [script, "--json", *(["--quick"] if quick else [])]
    return json_of_child(arguments, cwd=script.parent, timeout=3600)


def run(quick=False):
    """Rows of the partition simulation: constant cost and memory per partition."""
    n_partitions, n_rows = PARTITIONS["quick" if quick else "full"]
    measured = _simulate_in_fresh_process(quick)
    seconds, working = measured["seconds"], measured["working"]
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
    all_rows = total_rows * N_FEATURES * 8
    rows.append(
        row(
            f"{label} process peak RSS",
            measured["peak"] / MB,
            (measured["before"] + all_rows) / MB,
            "peak resident memory of a fresh process (interpreter, libraries, model "
            f"and one partition; {measured['before'] / MB:,.0f} MB before the first "
            f"partition); reference: that plus all {total_rows:,} rows held at once "
            f"({all_rows / MB:,.0f} MB)",
            # in the quick run all rows (23 MB) weigh less than one chunk's working
            # memory, so only the full run (763 MB of rows) can show the saving
            target=None if quick else "<= 1",
            unit="MB",
        )
    )
    return rows


if __name__ == "__main__":
    from _common import set_threads

    set_threads(1, torch=False)  # finite differences only: torch stays out of the RSS
    quick = "--quick" in sys.argv
    if "--json" in sys.argv:  # the child of run(): raw measurements
        _, seconds, working, before, peak = simulate(
            *PARTITIONS["quick" if quick else "full"]
        )
        print(
            json.dumps(
                {"seconds": seconds, "working": working, "before": before, "peak": peak}
            )
        )
    else:
        for line in run(quick=quick):
            print(line)
