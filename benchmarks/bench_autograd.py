"""Autograd on a skorch MLP: against hand-written autograd, Captum and vmap(jacrev).

``GradientExplainer(method="autograd").explain(X)`` on a skorch ``NeuralNetClassifier``
(binary: the positive-class probability; 10 classes: the full probability Jacobian) is
timed against

* the floor: a hand-written loop over batches of the same size calling ``module_``
  once forward and ``torch.autograd.grad`` once per output (the gradient of the sum of
  that output over the batch), results gathered in numpy;
* Captum ``Saliency`` (``abs=False``; one call per target class and batch);
* ``torch.func.vmap(torch.func.jacrev(f))`` per batch.

Every line reports the largest difference from our result (relative to its largest
magnitude). Ours and the references run with the same torch thread count.
"""

import numpy as np
from sklearn.frozen import FrozenEstimator

from sklearn_gradexplain import GradientExplainer

try:
    from ._common import (
        budget,
        interleaved_best_of,
        max_relative_error,
        repeats,
        row,
        skorch_mlp,
    )
except ImportError:  # run as a script
    from _common import (
        budget,
        interleaved_best_of,
        max_relative_error,
        repeats,
        row,
        skorch_mlp,
    )

N_SAMPLES, N_FEATURES = 20_000, 100


def skorch_net(n_classes, n_features=N_FEATURES, n_samples=N_SAMPLES, random_state=0):
    """A fitted skorch MLP (float32, ReLU, 128-64 hidden units) and its data."""
    net, X, _ = skorch_mlp(
        n_samples, n_features, n_classes, n_informative=20, random_state=random_state
    )
    return net, X


def batches(n_rows, batch_size):
    for start in range(0, n_rows, batch_size):
        yield start, min(start + batch_size, n_rows)


def hand_written(module, X, outputs, batch_size):
    """One forward and one backward per output per batch: the floor."""
    import torch

    grads = np.empty((len(X), len(outputs), X.shape[1]), dtype=X.dtype)
    for start, stop in batches(len(X), batch_size):
        x = torch.from_numpy(X[start:stop]).requires_grad_(True)
        probabilities = torch.softmax(module(x), dim=-1)
        for j, k in enumerate(outputs):
            (g,) = torch.autograd.grad(
                probabilities[:, k].sum(), x, retain_graph=j < len(outputs) - 1
            )
            grads[start:stop, j] = g.numpy()
    return grads


def captum_saliency(module, X, outputs, batch_size):
    """Captum Saliency, one target per call (its only mode), the same batches."""
    import torch
    from captum.attr import Saliency

    saliency = Saliency(lambda x: torch.softmax(module(x), dim=-1))
    grads = np.empty((len(X), len(outputs), X.shape[1]), dtype=X.dtype)
    for start, stop in batches(len(X), batch_size):
        x = torch.from_numpy(X[start:stop])
        for j, k in enumerate(outputs):
            grads[start:stop, j] = (
                saliency.attribute(x, target=int(k), abs=False).detach().numpy()
            )
    return grads


def vmap_jacrev(module, X, outputs, batch_size):
    """``vmap(jacrev(f))`` over the rows of each batch."""
    import torch
    from torch.func import jacrev, vmap

    index = torch.as_tensor(np.asarray(outputs))

    def f(x):
        return torch.softmax(module(x[None]), dim=-1)[0, index]

    jacobian = vmap(jacrev(f))
    grads = np.empty((len(X), len(outputs), X.shape[1]), dtype=X.dtype)
    for start, stop in batches(len(X), batch_size):
        grads[start:stop] = jacobian(torch.from_numpy(X[start:stop])).detach().numpy()
    return grads


def bench_case(n_classes, quick):
    net, X = skorch_net(n_classes)
    module = net.module_.eval()
    explainer = GradientExplainer(FrozenEstimator(net), method="autograd").fit(X[:64])
    batch_size = explainer._max_rows("autograd")
    outputs = [1] if n_classes == 2 else list(range(n_classes))
    functions = {
        "ours": lambda: explainer.explain(X).reshape(len(X), len(outputs), -1),
        "floor": lambda: hand_written(module, X, outputs, batch_size),
        "captum": lambda: captum_saliency(module, X, outputs, batch_size),
        "vmap": lambda: vmap_jacrev(module, X, outputs, batch_size),
    }
    times, results = interleaved_best_of(
        functions, n_repeats=repeats(quick), budget_s=budget(quick)
    )
    ours = results["ours"]
    label = f"autograd skorch MLP {N_SAMPLES:,}×{N_FEATURES}, " + (
        "binary (1 output)" if n_classes == 2 else f"{n_classes}-class Jacobian"
    )
    common = f"batches of {batch_size} rows"
    return [
        row(
            f"{label} vs hand-written autograd",
            times["ours"],
            times["floor"],
            f"floor: module_ forward + torch.autograd.grad per output; {common}",
            target="<= 1.3",
            accuracy=f"max rel. diff {max_relative_error(ours, results['floor']):.1e}",
        ),
        row(
            f"{label} vs Captum Saliency",
            times["ours"],
            times["captum"],
            f"Saliency(abs=False), one call per target; {common}",
            target="<= 1.0",
            accuracy=f"max rel. diff {max_relative_error(ours, results['captum']):.1e}",
        ),
        row(
            f"{label} vs vmap(jacrev)",
            times["ours"],
            times["vmap"],
            f"torch.func.vmap(jacrev(f)); {common}",
            accuracy=f"max rel. diff {max_relative_error(ours, results['vmap']):.1e}",
        ),
    ]


def run(quick=False):
    """Rows of the autograd benchmark (quick: the same workloads, fewer repeats)."""
    return [line for n_classes in (2, 10) for line in bench_case(n_classes, quick)]


if __name__ == "__main__":
    import sys

    from _common import set_threads

    set_threads(1)
    for line in run(quick="--quick" in sys.argv):
        print(line)
