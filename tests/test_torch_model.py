"""TorchModel: a trained plain torch module explained by autograd, against Captum."""

import numpy as np
import pytest
from _helpers import assert_close

torch = pytest.importorskip("torch")
captum_attr = pytest.importorskip("captum.attr")

from torch import nn  # noqa: E402

from sklearn_gradexplain import GradientExplainer, TorchModel  # noqa: E402
from sklearn_gradexplain.attributions import IntegratedGradients  # noqa: E402

pytestmark = pytest.mark.filterwarnings(  # Captum sets requires_grad on its inputs
    "ignore:Input Tensor 0 did not already require gradients:UserWarning"
)


class Polynomial(nn.Module):
    """Parameter-free: f(x) = [x0² x1 + sin(x2), x0 − x1³]."""

    def forward(self, X):
        return torch.stack(
            [X[:, 0] ** 2 * X[:, 1] + torch.sin(X[:, 2]), X[:, 0] - X[:, 1] ** 3], dim=1
        )


def trained_mlp(X, y, seed=0):
    torch.manual_seed(seed)
    module = nn.Sequential(
        nn.Linear(X.shape[1], 16), nn.Tanh(), nn.Linear(16, 3)
    ).double()
    optimizer = torch.optim.Adam(module.parameters(), lr=0.05)
    inputs, targets = torch.as_tensor(X), torch.as_tensor(y)
    for _ in range(100):
        optimizer.zero_grad()
        nn.functional.cross_entropy(module(inputs), targets).backward()
        optimizer.step()
    module.zero_grad(set_to_none=True)
    return module.eval()


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    y = (X[:, 0] + X[:, 1] > 0).astype(int) + (X[:, 2] > 1).astype(int)
    return X, y


def test_parameter_free_module_matches_captum_and_calculus(data):
    X, _ = data
    module = Polynomial()
    explainer = GradientExplainer(TorchModel(module, task="regression")).fit(X)
    assert explainer.method_ == "autograd"
    ours = explainer.explain(X)
    assert ours.shape == (60, 2, 3)
    # calculus
    x0, x1, x2 = X.T
    expected = np.stack(
        [
            np.stack([2 * x0 * x1, x0**2, np.cos(x2)], axis=1),
            np.stack([np.ones_like(x0), -3 * x1**2, np.zeros_like(x0)], axis=1),
        ],
        axis=1,
    )
    assert_close(ours, expected, rtol=1e-12)
    saliency = captum_attr.Saliency(module)
    for k in range(2):
        reference = saliency.attribute(torch.as_tensor(X), target=k, abs=False)
        assert_close(ours[:, k], reference.numpy(), rtol=1e-6)


def test_trained_mlp_matches_captum_saliency_and_integrated_gradients(data):
    X, y = data
    module = trained_mlp(X, y)
    model = TorchModel(module)
    # logits: Captum differentiates the module's raw output
    gradient = GradientExplainer(model, response_method="decision_function").fit(X, y)
    ig = GradientExplainer(
        model,
        response_method="decision_function",
        attribution=IntegratedGradients(n_steps=20),
    ).fit(X, y)
    inputs = torch.as_tensor(X)
    for k in range(3):
        saliency = captum_attr.Saliency(module).attribute(inputs, target=k, abs=False)
        assert_close(gradient.explain(X)[:, k], saliency.numpy(), rtol=1e-6)
        reference = captum_attr.IntegratedGradients(module).attribute(
            inputs, baselines=0.0, target=k, n_steps=20, method="gausslegendre"
        )
        assert_close(ig.explain(X)[:, k], reference.detach().numpy(), rtol=1e-6)


def test_probabilities_and_predictions(data):
    X, y = data
    module = trained_mlp(X, y)
    model = TorchModel(module, classes=["low", "mid", "high"]).fit(X)
    logits = module(torch.as_tensor(X)).detach().numpy()
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    assert_close(model.predict_proba(X), proba, rtol=1e-12)
    assert_close(model.decision_function(X), logits, rtol=1e-12)
    assert list(model.predict(X[:5])) == list(
        np.array(["low", "mid", "high"])[proba[:5].argmax(axis=1)]
    )
    # the gradient of a softmax probability: p_k (∂z_k − Σ_j p_j ∂z_j)
    explainer = GradientExplainer(model, target="high").fit(X)
    inputs = torch.as_tensor(X).requires_grad_(True)
    p = torch.softmax(module(inputs), dim=1)[:, 2].sum()
    (reference,) = torch.autograd.grad(p, inputs)
    assert_close(explainer.explain(X), reference.numpy(), rtol=1e-10)


def test_single_logit_is_binary_and_probabilities_output(data):
    X, _ = data
    torch.manual_seed(1)
    logit = nn.Linear(3, 1).double()
    model = TorchModel(logit).fit(X)
    assert list(model.classes_) == [0, 1]
    z = logit(torch.as_tensor(X)).detach().numpy()[:, 0]
    assert_close(model.predict_proba(X)[:, 1], 1 / (1 + np.exp(-z)), rtol=1e-12)
    explainer = GradientExplainer(model).fit(X)  # the positive class's probability
    p = 1 / (1 + np.exp(-z))
    weight = logit.weight.detach().numpy()[0]
    assert_close(explainer.explain(X), (p * (1 - p))[:, None] * weight, rtol=1e-10)
    probabilities = TorchModel(
        nn.Sequential(logit, nn.Sigmoid()), output="probabilities"
    )
    same = GradientExplainer(probabilities).fit(X)
    assert_close(same.explain(X), explainer.explain(X), rtol=1e-10)
    assert not hasattr(probabilities.fit(X), "decision_function")


def test_module_is_never_modified(data):
    X, y = data
    module = trained_mlp(X, y).train()  # training mode: explained through a copy
    before = {k: v.clone() for k, v in module.state_dict().items()}
    GradientExplainer(TorchModel(module), attribution="integrated_gradients").fit(X)
    assert module.training
    assert all(p.grad is None for p in module.parameters())
    for key, value in module.state_dict().items():
        assert torch.equal(value, before[key])


def test_classes_must_match_the_output_columns(data):
    X, y = data
    with pytest.raises(ValueError, match="classes="):
        TorchModel(Polynomial(), classes=["a", "b", "c"]).fit(X)
    with pytest.raises(ValueError, match="3 classes"):
        TorchModel(nn.Linear(3, 2).double()).fit(X, y)
