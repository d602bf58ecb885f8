"""SmoothGrad, SmoothGrad² and VarGrad around other attributions, against Captum's
``NoiseTunnel`` fed the same noise draws.

Captum draws its noise inside ``NoiseTunnel._add_noise_to_input(input, stdev,
n_samples)``, which returns ``input.repeat_interleave(n_samples, 0) + noise`` (captum
0.9, ``captum/attr/_core/noise_tunnel.py``); the tests replace it by the same sum
with our ``attribution_.noise_`` (noise vector s for copy s of every row), so both
libraries evaluate the wrapped attribution at the same noisy points.
"""

import numpy as np
import pytest
from _helpers import assert_close

torch = pytest.importorskip("torch")
captum_attr = pytest.importorskip("captum.attr")

from sklearn_gradexplain import GradientExplainer, TorchModel  # noqa: E402
from sklearn_gradexplain.attributions import (  # noqa: E402
    Gradient,
    GradientXInput,
    IntegratedGradients,
    SmoothGrad,
)

KINDS = ["smoothgrad", "smoothgrad_sq", "vargrad"]
N_STEPS = 16


def tanh_module(n_outputs, seed):
    torch.manual_seed(seed)
    module = torch.nn.Sequential(
        torch.nn.Linear(5, 12),
        torch.nn.Tanh(),
        torch.nn.Linear(12, n_outputs),
    ).double()
    with torch.no_grad():
        for parameter in module.parameters():
            parameter.normal_(0, 1.0)
    return module


@pytest.fixture(scope="module")
def X():
    return np.random.default_rng(0).normal(size=(15, 5))


def _ours(kind):
    return {
        "gradient": Gradient(),
        "gradient_x_input": GradientXInput(),
        "integrated_gradients": IntegratedGradients(n_steps=N_STEPS),
    }[kind]


def _captum(kind, forward):
    if kind == "gradient":
        return captum_attr.Saliency(forward), {"abs": False}
    if kind == "gradient_x_input":
        return captum_attr.InputXGradient(forward), {}
    return (
        captum_attr.IntegratedGradients(forward),
        {"n_steps": N_STEPS, "method": "gausslegendre"},  # zero baseline by default
    )


def _feed_noise(monkeypatch, noise):
    def add_our_noise(input, stdev, n_samples):
        assert n_samples == len(noise)
        tiled = torch.as_tensor(noise, dtype=input.dtype).repeat(input.shape[0], 1)
        return input.repeat_interleave(n_samples, dim=0) + tiled

    monkeypatch.setattr(
        captum_attr.NoiseTunnel, "_add_noise_to_input", staticmethod(add_our_noise)
    )


def _tunnel(monkeypatch, explainer, forward, inner, kind, X, n_outputs):
    """Captum's NoiseTunnel with our draws, one target per call (its only mode)."""
    smooth = explainer.attribution_
    _feed_noise(monkeypatch, smooth.noise_)
    method, kwargs = _captum(inner, forward)
    tunnel = captum_attr.NoiseTunnel(method)
    return np.stack(
        [
            tunnel.attribute(
                torch.tensor(X),
                nt_type=kind,
                nt_samples=len(smooth.noise_),
                stdevs=1.0,  # unused: our noise is already scaled
                target=k,
                **kwargs,
            )
            .detach()
            .numpy()
            for k in range(n_outputs)
        ],
        axis=1,
    )


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    "inner", ["gradient", "gradient_x_input", "integrated_gradients"]
)
def test_equals_captum_noise_tunnel_on_a_regressor(monkeypatch, X, kind, inner):
    module = tanh_module(n_outputs=2, seed=1)
    smooth = SmoothGrad(
        attribution=_ours(inner),
        noise_level=0.2,
        n_samples=12,
        kind=kind,
        random_state=0,
    )
    explainer = GradientExplainer(
        TorchModel(module, task="regression"), attribution=smooth
    ).fit(X)
    assert explainer.method_ == "autograd"
    ours = explainer.explain(X)
    theirs = _tunnel(monkeypatch, explainer, module, inner, kind, X, 2)
    assert_close(ours, theirs, rtol=1e-6)
    if kind != "smoothgrad":  # the draws matter: the noise-free attribution differs
        plain = GradientExplainer(
            TorchModel(module, task="regression"), attribution=_ours(inner)
        ).fit(X)
        assert np.abs(plain.explain(X) - ours).max() > 1e-2 * np.abs(ours).max()


@pytest.mark.parametrize("kind", ["smoothgrad_sq", "vargrad"])
def test_equals_captum_noise_tunnel_on_class_probabilities(monkeypatch, X, kind):
    module = tanh_module(n_outputs=3, seed=2)
    smooth = SmoothGrad(noise_level=0.3, n_samples=10, kind=kind, random_state=1)
    explainer = GradientExplainer(
        TorchModel(module, classes=["a", "b", "c"]), attribution=smooth
    ).fit(X)
    assert explainer.response_method_ == "predict_proba"
    ours = explainer.explain(X)
    theirs = _tunnel(
        monkeypatch,
        explainer,
        lambda x: torch.softmax(module(x), dim=1),
        "gradient",
        kind,
        X,
        3,
    )
    assert_close(ours, theirs, rtol=1e-6)


def test_vargrad_shorthand_and_noise_scale(X):
    module = tanh_module(n_outputs=1, seed=3)
    estimator = TorchModel(module, task="regression")
    shorthand = GradientExplainer(estimator, attribution="vargrad").fit(X)
    assert shorthand.attribution_.kind == "vargrad"
    explicit = GradientExplainer(estimator, attribution=SmoothGrad(kind="vargrad")).fit(
        X
    )
    # without a seed the draws differ; with one they are the same object's draws
    assert shorthand.attribution_.noise_.shape == explicit.attribution_.noise_.shape
    seeded = [
        GradientExplainer(
            estimator, attribution=SmoothGrad(kind="vargrad", random_state=5)
        ).fit(X)
        for _ in range(2)
    ]
    assert_close(seeded[0].explain(X), seeded[1].explain(X), rtol=0)
    # σ = noise_level × each feature's range in the fit data
    noise = seeded[0].attribution_.noise_
    sigma = 0.15 * np.ptp(X, axis=0)
    rng = np.random.RandomState(5)
    assert_close(noise, rng.standard_normal(noise.shape) * sigma, rtol=1e-12)
