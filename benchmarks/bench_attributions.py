"""Attributions on a skorch MLP against Captum: IG, SmoothGrad, saliency and LRP.

On the same fitted skorch ``NeuralNetClassifier`` (float32, tanh, 128-64 hidden units,
2 logits), explaining the logit of class 1 (``response_method="decision_function"``):

* integrated gradients, 50 steps, Gauss-Legendre, zero baseline, against Captum
  ``IntegratedGradients`` with the same rule (the faster of its default single pass and
  ``internal_batch_size=4096``); ours includes its completeness check;
* SmoothGrad, 25 noisy copies, against Captum ``NoiseTunnel(Saliency)`` with
  ``nt_type="smoothgrad"`` and the same number of copies (different random draws, so
  only the time is compared);
* the plain gradient against Captum ``Saliency(abs=False)`` and against the floor, a
  hand-written ``torch.autograd.grad`` of the summed logit per batch;
* LRP-ε against Captum ``LRP`` (ε = 1e-9 on every linear layer in both).

Every line with a deterministic reference reports the largest difference from our
result, relative to the largest reference magnitude.
"""

import copy
import warnings

import numpy as np
from sklearn.frozen import FrozenEstimator

from sklearn_gradexplain import GradientExplainer, attributions

try:
    from ._common import (
        interleaved_best_of,
        max_relative_error,
        repeats,
        row,
        skorch_mlp,
    )
except ImportError:  # run as a script
    from _common import (
        interleaved_best_of,
        max_relative_error,
        repeats,
        row,
        skorch_mlp,
    )

BATCH = 2048  # rows per pass for the hand-written floor (the explainer's auto size)


def skorch_net(n_samples, n_features, activation="tanh", random_state=0):
    """A fitted float32 skorch MLP with 2 logits, and its data."""
    return skorch_mlp(
        n_samples, n_features, activation=activation, random_state=random_state
    )


def _explainer(net, X, **params):
    explainer = GradientExplainer(
        FrozenEstimator(net), response_method="decision_function", **params
    )
    return explainer.fit(X[:64])


def _ig_rows(net, X, n_repeats):
    import torch
    from captum.attr import IntegratedGradients

    explainer = _explainer(
        net, X, attribution=attributions.IntegratedGradients(n_steps=50)
    )
    module = net.module_.eval()
    ig = IntegratedGradients(module)
    inputs = torch.as_tensor(X)

    def captum(internal_batch_size):
        def run():
            out = ig.attribute(
                inputs,
                baselines=0.0,
                target=1,
                n_steps=50,
                method="gausslegendre",
                internal_batch_size=internal_batch_size,
            )
            return out.detach().numpy()

        return run

    times, results = interleaved_best_of(
        {
            "ours": lambda: explainer.explain(X),
            "captum": captum(None),
            "captum_4096": captum(4096),
        },
        n_repeats=n_repeats,
    )
    best = min(("captum", "captum_4096"), key=times.get)
    error = max_relative_error(results["ours"], results[best])
    return [
        row(
            f"integrated gradients, 50 steps, {X.shape[0]}x{X.shape[1]}",
            times["ours"],
            times[best],
            "Captum IntegratedGradients, same network and rule, "
            f"internal_batch_size={'None' if best == 'captum' else 4096} (the faster); "
            "ours includes the completeness check",
            target="<= 1",
            accuracy=f"max rel diff {error:.1e}",
        )
    ]


def _smoothgrad_rows(net, X, n_repeats):
    import torch
    from captum.attr import NoiseTunnel, Saliency

    explainer = _explainer(net, X, attribution=attributions.SmoothGrad(random_state=0))
    sigma = float(np.mean(0.15 * (X.max(axis=0) - X.min(axis=0))))
    tunnel = NoiseTunnel(Saliency(net.module_.eval()))
    inputs = torch.as_tensor(X)

    def captum():
        out = tunnel.attribute(
            inputs,
            nt_type="smoothgrad",
            nt_samples=25,
            stdevs=sigma,
            target=1,
            abs=False,
        )
        return out.detach().numpy()

    times, _ = interleaved_best_of(
        {"ours": lambda: explainer.explain(X), "captum": captum}, n_repeats=n_repeats
    )
    return [
        row(
            f"SmoothGrad, 25 samples, {X.shape[0]}x{X.shape[1]}",
            times["ours"],
            times["captum"],
            "Captum NoiseTunnel(Saliency, abs=False), nt_type='smoothgrad', "
            "nt_samples=25 (different random draws: time only)",
            target="<= 1",
        )
    ]


def _gradient_rows(net, X, n_repeats):
    import torch
    from captum.attr import Saliency

    explainer = _explainer(net, X)
    module = net.module_.eval()
    saliency = Saliency(module)
    inputs = torch.as_tensor(X)

    def captum():
        return saliency.attribute(inputs, target=1, abs=False).detach().numpy()

    def floor():
        grads = np.empty(X.shape, dtype=np.float32)
        for start in range(0, len(X), BATCH):
            x = torch.as_tensor(X[start : start + BATCH]).requires_grad_(True)
            (g,) = torch.autograd.grad(module(x)[:, 1].sum(), x)
            grads[start : start + BATCH] = g.numpy()
        return grads

    times, results = interleaved_best_of(
        {"ours": lambda: explainer.explain(X), "captum": captum, "floor": floor},
        n_repeats=n_repeats,
    )
    shape = f"{X.shape[0]}x{X.shape[1]}"
    errors = {
        name: f"max rel diff {max_relative_error(results['ours'], results[name]):.1e}"
        for name in ("captum", "floor")
    }
    return [
        row(
            f"gradient (saliency), {shape}",
            times["ours"],
            times["captum"],
            "Captum Saliency(abs=False), one call on all rows",
            target="<= 1",
            accuracy=errors["captum"],
        ),
        row(
            f"gradient vs hand-written autograd floor, {shape}",
            times["ours"],
            times["floor"],
            f"torch.autograd.grad of the summed logit, batches of {BATCH} rows",
            accuracy=errors["floor"],
        ),
    ]


def _lrp_rows(n_samples, n_features, n_repeats):
    import torch
    from captum.attr import LRP

    net, X, _ = skorch_net(n_samples, n_features, activation="relu", random_state=1)
    explainer = _explainer(
        net, X, attribution=attributions.LRP(rule="epsilon", epsilon=1e-9)
    )
    module = copy.deepcopy(net.module_).eval()  # Captum's LRP adds hooks and attributes
    lrp = LRP(module)
    inputs = torch.as_tensor(X)

    def captum():
        return lrp.attribute(inputs, target=1).detach().numpy()

    times, results = interleaved_best_of(
        {"ours": lambda: explainer.explain(X), "captum": captum}, n_repeats=n_repeats
    )
    error = max_relative_error(results["ours"], results["captum"])
    return [
        row(
            f"LRP-epsilon (ReLU net), {X.shape[0]}x{X.shape[1]}",
            times["ours"],
            times["captum"],
            "Captum LRP (EpsilonRule, epsilon=1e-9, on every Linear layer)",
            accuracy=f"max rel diff {error:.1e}",
        )
    ]


def run(quick=False):
    """Benchmark rows (see the module docstring).

    Parameters
    ----------
    quick : bool, default=False
        Smaller data (2,000 × 40 instead of 10,000 × 100) and fewer repeats.

    Returns
    -------
    rows : list of dict
    """
    n_samples, n_features = (2_000, 40) if quick else (10_000, 100)
    n_repeats = repeats(quick)
    net, X, _ = skorch_net(n_samples, n_features)
    rows = []
    with warnings.catch_warnings():  # Captum: "did not already require gradients"
        warnings.simplefilter("ignore", UserWarning)
        rows += _ig_rows(net, X, n_repeats)
        rows += _smoothgrad_rows(net, X, n_repeats)
        rows += _gradient_rows(net, X, n_repeats)
        rows += _lrp_rows(n_samples, n_features, n_repeats)
    return rows


if __name__ == "__main__":
    import sys

    for result in run(quick="--quick" in sys.argv):
        print(result)
