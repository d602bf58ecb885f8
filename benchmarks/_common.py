"""Shared helpers of the benchmark modules: timing, peak memory, thread limits, rows.

Every figure of the suite is a ratio measured in one run on the same data and model, so
that it holds on a noisy machine. Times are the best of several repeats (the minimum is
the least disturbed by other processes); peak memory is measured separately with
:mod:`tracemalloc`, which sees every numpy allocation.
"""

import gc
import os
import time
import tracemalloc
from contextlib import contextmanager

import numpy as np

#: Repeats per timing (best of), lowered by ``--quick``.
REPEATS = {"quick": 3, "full": 5}
#: Timing budget per comparison (seconds): cheap workloads repeat until it is spent.
BUDGET = {"quick": 1.5, "full": 5.0}


def repeats(quick):
    """Number of repeats for a timing in quick or full mode."""
    return REPEATS["quick" if quick else "full"]


def budget(quick):
    """Seconds of timing after which cheap workloads stop adding rounds."""
    return BUDGET["quick" if quick else "full"]


def best_of(function, n_repeats=3, warmup=True, max_seconds=None):
    """Best wall time of ``function()`` over ``n_repeats`` calls, and its last result.

    Parameters
    ----------
    function : callable
        Called without arguments.
    n_repeats : int
        Number of timed calls.
    warmup : bool
        Call once untimed first (imports, caches, allocator warm-up).
    max_seconds : float or None
        Stop repeating once this much time was spent (at least one timed call).

    Returns
    -------
    seconds : float
    result : object
    """
    result = function() if warmup else None
    best = np.inf
    spent = 0.0
    for _ in range(n_repeats):
        gc.collect()
        start = time.perf_counter()
        result = function()
        elapsed = time.perf_counter() - start
        best = min(best, elapsed)
        spent += elapsed
        if max_seconds is not None and spent > max_seconds:
            break
    return best, result


def interleaved_best_of(
    functions, n_repeats=3, warmup=True, budget_s=0.0, max_repeats=25
):
    """Best wall times of several functions timed in turn, round after round.

    Interleaving spreads a burst of load from other processes over all candidates, so
    that their ratio is fairer than with back-to-back timings. Cheap workloads get more
    rounds: after ``n_repeats`` rounds, rounds go on (up to ``max_repeats``) while the
    time spent is below ``budget_s``.

    Returns
    -------
    seconds : dict
        Name -> best time.
    results : dict
        Name -> last result.
    """
    results = {}
    if warmup:
        for name, function in functions.items():
            results[name] = function()
    best = dict.fromkeys(functions, np.inf)
    spent = 0.0
    for round_ in range(max(n_repeats, max_repeats)):
        if round_ >= n_repeats and spent >= budget_s:
            break
        for name, function in functions.items():
            gc.collect()
            start = time.perf_counter()
            results[name] = function()
            elapsed = time.perf_counter() - start
            best[name] = min(best[name], elapsed)
            spent += elapsed
    return best, results


def peak_memory(function):
    """Peak traced memory (bytes) allocated while ``function()`` runs, and its result.

    Memory held before the call (the input, the model) is not counted; the result is.
    """
    gc.collect()
    was_tracing = tracemalloc.is_tracing()
    if not was_tracing:
        tracemalloc.start()
    tracemalloc.reset_peak()
    base, _ = tracemalloc.get_traced_memory()
    result = function()
    _, peak = tracemalloc.get_traced_memory()
    if not was_tracing:
        tracemalloc.stop()
    return peak - base, result


def peak_rss():
    """Peak resident memory of this process in bytes: the high-water mark of its own
    address space (``VmHWM``), since Linux carries a parent's resident size at ``fork``
    into the child's ``ru_maxrss`` across ``exec``."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux


def json_of_child(arguments, cwd, timeout):
    """Run ``python *arguments`` in a fresh process (its peak RSS its own) and
    return the JSON object its last line of output prints."""
    import json
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, *map(str, arguments)],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
    )
    if result.returncode != 0:
        raise RuntimeError(result.stderr.strip().splitlines()[-1])
    return json.loads(result.stdout.strip().splitlines()[-1])


def set_threads(n_threads, torch=True):
    """Use ``n_threads`` for every thread pool (BLAS, OpenMP, torch) in this process.

    NOTES.md: torch's intra-op threads collapse when cores are shared, so ours and
    every reference run with the same, explicit thread count. ``torch=False`` leaves
    torch unimported (a process measuring its own memory without it).
    """
    for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[variable] = str(n_threads)
    from threadpoolctl import threadpool_limits

    threadpool_limits(n_threads)
    if not torch:
        return
    try:
        import torch as torch_module

        torch_module.set_num_threads(n_threads)
    except ImportError:  # pragma: no cover - torch is an extra
        pass


@contextmanager
def torch_threads(n_threads):
    """Temporarily set torch's intra-op thread count."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(n_threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def row(workload, ours_s, reference_s, note="", *, target=None, accuracy=None, **extra):
    """One result line: ``ratio = ours_s / reference_s`` (below 1: we are faster).

    Parameters
    ----------
    workload : str
    ours_s, reference_s : float or None
        Seconds (best of several repeats).
    note : str
        What the reference is and how it was measured.
    target : str or None
        The issue's target for this ratio, e.g. ``"<= 1.25"``.
    accuracy : str or None
        Agreement of our result with the reference's, where relevant.
    """
    ratio = None
    if ours_s is not None and reference_s:
        ratio = ours_s / reference_s
    result = {
        "workload": workload,
        "ours_s": ours_s,
        "reference_s": reference_s,
        "ratio": ratio,
        "note": note,
    }
    if target is not None:
        result["target"] = target
        result["met"] = meets(ratio, target)
    if accuracy is not None:
        result["accuracy"] = accuracy
    result.update(extra)
    return result


def meets(value, target):
    """Whether ``value`` satisfies a target written ``"<= x"`` or ``">= x"``."""
    if value is None:
        return None
    op, bound = target.split()
    bound = float(bound)
    return bool(value <= bound) if op == "<=" else bool(value >= bound)


def max_relative_error(ours, reference):
    """max |ours − reference| / max |reference| (the tests' allclose scale)."""
    ours = np.asarray(ours, dtype=np.float64)
    reference = np.asarray(reference, dtype=np.float64)
    scale = np.max(np.abs(reference))
    return float(np.max(np.abs(ours - reference)) / (scale if scale > 0 else 1.0))


def skorch_mlp(
    n_samples,
    n_features,
    n_classes=2,
    *,
    n_informative=10,
    activation="relu",
    random_state=0,
):
    """A fitted float32 skorch MLP (128-64 hidden units, one epoch) and its data."""
    import torch
    from sklearn.datasets import make_classification
    from skorch import NeuralNetClassifier

    X, y = make_classification(
        n_samples=n_samples,
        n_features=n_features,
        n_informative=n_informative,
        n_classes=n_classes,
        random_state=random_state,
    )
    X = X.astype(np.float32)
    torch.manual_seed(random_state)
    act = torch.nn.Tanh if activation == "tanh" else torch.nn.ReLU
    module = torch.nn.Sequential(
        torch.nn.Linear(n_features, 128),
        act(),
        torch.nn.Linear(128, 64),
        act(),
        torch.nn.Linear(64, n_classes),
    )
    net = NeuralNetClassifier(
        module,
        criterion=torch.nn.CrossEntropyLoss,
        max_epochs=1,
        lr=0.05,
        batch_size=512,
        train_split=None,
        verbose=0,
    ).fit(X, y)
    return net, X, y
