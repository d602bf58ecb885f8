"""Expected gradients, noise tunnels and Hessians against Captum, shap and torch.func.

On one fitted skorch ``NeuralNetClassifier`` (float32, tanh, 128-64 hidden units, 2
logits), explaining the logit of class 1 (``response_method="decision_function"``,
``target=1``):

* expected gradients, 50 draws, background of 100 fit rows, against Captum
  ``GradientShap`` (``stdevs=0``: the same estimator, with new draws per row) and shap
  ``GradientExplainer`` (``nsamples=50``; it explains one row at a time, so it is
  timed on a few rows and compared per row, in s/sample) on the same network and
  background;
* SmoothGrad² and VarGrad of the gradient, 25 noisy copies, against Captum
  ``NoiseTunnel(Saliency(abs=False))`` fed the same noise draws (its internal draw is
  replaced by our ``noise_`` for the call), so the results are compared too;
* per-sample Hessians against the floor, a hand-written
  ``torch.func.vmap(torch.func.hessian(f))`` of the same logit on batches of the same
  size (target: ours ≤ 1.3× the floor).

Every line with a deterministic reference reports the largest difference from our
result, relative to the largest reference magnitude.
"""

import types
import warnings
from contextlib import contextmanager

import numpy as np
from sklearn.frozen import FrozenEstimator

from sklearn_gradexplain import GradientExplainer, HessianExplainer, attributions

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

N_DRAWS = 50  # expected-gradient draws per row
N_NOISE = 25  # noisy copies per row
BATCH = 2048  # rows per pass of the hand-written floor (the explainer's auto size)


def _logit(module):
    """The class-1 logit as a one-output torch module (shap explains every output)."""
    import torch

    class Logit(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = module

        def forward(self, x):
            return self.inner(x)[:, 1:2]

    return Logit().eval()


def _explainer(cls, net, X, **params):
    explainer = cls(
        FrozenEstimator(net), response_method="decision_function", target=1, **params
    )
    return explainer.fit(X[:64])


# ---------------------------------------------------------------- expected gradients
@contextmanager
def _captum_draws(indices, alphas):
    """Captum's GradientShap drawing our (baseline, alpha) pairs for every row.

    Captum 0.9 draws baseline indices with ``np.random.choice`` (in
    ``captum._utils.common``) and alphas with ``np.random.uniform`` (in
    ``captum.attr._core.gradient_shap``); both modules see a numpy whose two draws
    return ours, repeated for every row, while the context lasts.
    """
    import captum._utils.common as common
    import captum.attr._core.gradient_shap as gradient_shap

    class Draws(types.ModuleType):
        def __init__(self):
            super().__init__("numpy")
            self.random = types.SimpleNamespace(
                choice=lambda n, size: np.resize(indices, size),
                uniform=lambda low, high, size: np.resize(alphas, size),
            )

        def __getattr__(self, name):
            return getattr(np, name)

    shim = Draws()
    common.np, gradient_shap.np = shim, shim
    try:
        yield
    finally:
        common.np, gradient_shap.np = np, np


def _expected_gradient_rows(net, X, quick):
    import torch
    from captum.attr import GradientShap

    background = X[:100]
    eg = attributions.ExpectedGradients(
        background=background, n_samples=N_DRAWS, random_state=0
    )
    explainer = _explainer(GradientExplainer, net, X, attribution=eg)
    module = net.module_.eval()
    shap_captum = GradientShap(module)
    inputs, baselines = torch.as_tensor(X), torch.as_tensor(background)
    rows_per_call = max(1, BATCH * 8 // N_DRAWS)  # Captum holds rows × draws points

    def captum(reference=baselines):
        out = np.empty_like(X)
        for start in range(0, len(X), rows_per_call):
            stop = min(start + rows_per_call, len(X))
            out[start:stop] = (
                shap_captum.attribute(
                    inputs[start:stop],
                    baselines=reference,
                    n_samples=N_DRAWS,
                    stdevs=0.0,
                    target=1,
                )
                .detach()
                .numpy()
            )
        return out

    times, results = interleaved_best_of(
        {"ours": lambda: explainer.explain(X), "captum": captum},
        n_repeats=repeats(quick),
        budget_s=budget(quick),
    )
    # accuracy (untimed): Captum fed our draws, (baseline s, alpha s) for every row
    fitted = explainer.attribution_
    with _captum_draws(np.arange(N_DRAWS), fitted.alphas_):
        same_draws = captum(torch.as_tensor(fitted.baselines_, dtype=inputs.dtype))
    error = max_relative_error(results["ours"], same_draws)
    lines = [
        row(
            f"expected gradients, {N_DRAWS} draws, {X.shape[0]}x{X.shape[1]}",
            times["ours"],
            times["captum"],
            f"Captum GradientShap(stdevs=0), n_samples={N_DRAWS}, same network and "
            f"background (100 rows), {rows_per_call} rows per call; timed with its "
            "own draws, compared fed ours",
            target="<= 1",
            accuracy=f"max rel diff {error:.1e}",
        )
    ]
    try:
        import shap
    except ImportError:  # the bench extra is optional
        return lines
    few = X[: 8 if quick else 32]
    gradient_explainer = shap.GradientExplainer(_logit(module), baselines)

    def shap_run():
        return gradient_explainer.shap_values(
            torch.as_tensor(few), nsamples=N_DRAWS, rseed=0
        )

    times, _ = interleaved_best_of(
        {"ours": lambda: explainer.explain(X), "shap": shap_run},
        n_repeats=repeats(quick),
    )
    lines.append(
        row(
            f"expected gradients vs shap, {N_DRAWS} draws, {X.shape[1]} features",
            times["ours"] / len(X),
            times["shap"] / len(few),
            f"shap GradientExplainer(nsamples={N_DRAWS}), same network and "
            f"background, timed on {len(few)} rows (it explains one row at a time); "
            "s/sample",
            target="<= 1",
            unit="s/sample",
        )
    )
    return lines


# ---------------------------------------------------------------- noise tunnels
def _noise_tunnel_rows(net, X, quick):
    import torch
    from captum.attr import NoiseTunnel, Saliency

    module = net.module_.eval()
    inputs = torch.as_tensor(X)
    lines = []
    for kind in ("smoothgrad_sq", "vargrad"):
        smooth = attributions.SmoothGrad(n_samples=N_NOISE, kind=kind, random_state=0)
        explainer = _explainer(GradientExplainer, net, X, attribution=smooth)
        noise = torch.as_tensor(explainer.attribution_.noise_, dtype=inputs.dtype)

        def add_our_noise(input, stdev, n_samples, noise=noise):
            tiled = noise.repeat(input.shape[0], 1)
            return input.repeat_interleave(n_samples, dim=0) + tiled

        tunnel = NoiseTunnel(Saliency(module))

        def captum(kind=kind, tunnel=tunnel, add=add_our_noise):
            original = NoiseTunnel._add_noise_to_input
            NoiseTunnel._add_noise_to_input = staticmethod(add)
            try:
                out = tunnel.attribute(
                    inputs,
                    nt_type=kind,
                    nt_samples=N_NOISE,
                    stdevs=1.0,
                    target=1,
                    abs=False,
                )
            finally:
                NoiseTunnel._add_noise_to_input = staticmethod(original)
            return out.detach().numpy()

        times, results = interleaved_best_of(
            {"ours": lambda e=explainer: e.explain(X), "captum": captum},
            n_repeats=repeats(quick),
            budget_s=budget(quick),
        )
        error = max_relative_error(results["ours"], results["captum"])
        lines.append(
            row(
                f"SmoothGrad(kind={kind!r}), {N_NOISE} samples, "
                f"{X.shape[0]}x{X.shape[1]}",
                times["ours"],
                times["captum"],
                f"Captum NoiseTunnel(Saliency, abs=False), nt_type={kind!r}, "
                "fed the same noise draws",
                target="<= 1",
                accuracy=f"max rel diff {error:.1e}",
            )
        )
    return lines


# ---------------------------------------------------------------- Hessians
def _hessian_rows(net, X, quick):
    import torch
    from torch.func import hessian, vmap

    explainer = _explainer(HessianExplainer, net, X)
    module = net.module_.eval()
    row_hessian = vmap(hessian(lambda x: module(x[None])[0, 1]))

    def floor():
        out = np.empty((len(X), X.shape[1], X.shape[1]), dtype=X.dtype)
        for start in range(0, len(X), BATCH):
            stop = min(start + BATCH, len(X))
            out[start:stop] = (
                row_hessian(torch.from_numpy(X[start:stop])).detach().numpy()
            )
        return out

    times, results = interleaved_best_of(
        {"ours": lambda: explainer.explain(X), "floor": floor},
        n_repeats=repeats(quick),
        budget_s=budget(quick),
    )
    error = max_relative_error(results["ours"], results["floor"])
    return [
        row(
            f"Hessians (kind='hessian'), {X.shape[0]}x{X.shape[1]}",
            times["ours"],
            times["floor"],
            "floor: hand-written torch.func.vmap(torch.func.hessian(logit)) on "
            f"batches of {BATCH} rows, results in numpy",
            target="<= 1.3",
            accuracy=f"max rel diff {error:.1e}",
        )
    ]


def run(quick=False):
    """Benchmark rows (see the module docstring).

    Parameters
    ----------
    quick : bool, default=False
        Smaller data (1,000 × 20 and 1,000 × 10 for the Hessians, instead of
        5,000 × 50 and 4,000 × 20) and fewer repeats.

    Returns
    -------
    rows : list of dict
    """
    n_samples, n_features = (1_000, 20) if quick else (5_000, 50)
    net, X, _ = skorch_mlp(n_samples, n_features, activation="tanh")
    rows = []
    with warnings.catch_warnings():  # Captum: "did not already require gradients"
        warnings.simplefilter("ignore", UserWarning)
        rows += _expected_gradient_rows(net, X, quick)
        rows += _noise_tunnel_rows(net, X, quick)
        n_samples, n_features = (1_000, 10) if quick else (4_000, 20)
        net, X, _ = skorch_mlp(
            n_samples, n_features, activation="tanh", n_informative=5
        )
        rows += _hessian_rows(net, X, quick)
    return rows


if __name__ == "__main__":
    import sys

    for result in run(quick="--quick" in sys.argv):
        print(result)
