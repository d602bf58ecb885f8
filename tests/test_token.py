"""TokenGradientExplainer: embedding-gradient norms against hand-written autograd."""

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression

torch = pytest.importorskip("torch")
skorch = pytest.importorskip("skorch")

from torch import nn  # noqa: E402

from sklearn_gradexplain import (  # noqa: E402
    NotDifferentiableError,
    TokenGradientExplainer,
    TorchModel,
)

VOCABULARY = 40
POSITIVE, NEGATIVE = (5, 6, 7), (8, 9, 10)


class TextCNN(nn.Module):
    """Embedding -> Conv1d -> ReLU -> max over time -> ReLU layer -> logits."""

    def __init__(self, vocabulary=VOCABULARY, dim=8, n_out=2):
        super().__init__()
        self.embedding = nn.Embedding(vocabulary, dim)
        self.conv = nn.Conv1d(dim, 12, kernel_size=3, padding=1)
        self.hidden = nn.Linear(12, 10)
        self.out = nn.Linear(10, n_out)

    def from_embedded(self, E):
        h = torch.relu(self.conv(E.transpose(1, 2))).amax(dim=2)
        return self.out(torch.relu(self.hidden(h)))

    def forward(self, ids):
        return self.from_embedded(self.embedding(ids))


def classifier(n_out=2, max_epochs=0, seed=0, **kwargs):
    torch.manual_seed(seed)
    return skorch.NeuralNetClassifier(
        TextCNN,
        module__n_out=n_out,
        criterion=nn.CrossEntropyLoss,
        max_epochs=max_epochs,
        train_split=None,
        verbose=0,
        **kwargs,
    )


def planted_text(n_samples, length=12, seed=0):
    """Neutral tokens with one or two planted sentiment words; label = sentiment."""
    rng = np.random.default_rng(seed)
    X = rng.integers(11, VOCABULARY, size=(n_samples, length))
    y = rng.integers(0, 2, size=n_samples)
    for i in range(n_samples):
        words = POSITIVE if y[i] == 1 else NEGATIVE
        positions = rng.choice(length, size=rng.integers(1, 3), replace=False)
        X[i, positions] = rng.choice(words, size=len(positions))
    return X, y


def hand_scores(module, ids, nonlinearity):
    """‖∂ output / ∂ embedding vector‖ per token, by plain autograd on from_embedded."""
    module = module.eval()
    ids = torch.as_tensor(ids)
    E = module.embedding(ids).detach().requires_grad_(True)
    Y = nonlinearity(module.from_embedded(E))
    scores = []
    for k in range(Y.shape[1]):
        (grad,) = torch.autograd.grad(Y[:, k].sum(), E, retain_graph=True)
        scores.append(grad.norm(dim=-1).numpy())
    return np.stack(scores, axis=1)


@pytest.fixture(scope="module")
def fitted():
    X, y = planted_text(400)
    net = classifier(max_epochs=20, lr=0.01, optimizer=torch.optim.Adam)
    return net.fit(X, y), X, y


def test_scores_match_hand_written_autograd(fitted):
    net, X, y = fitted
    explainer = TokenGradientExplainer(FrozenEstimator(net)).fit(X[:50])
    scores = explainer.explain(X[:50])
    expected = hand_scores(net.module_, X[:50], lambda out: torch.softmax(out, dim=1))
    assert scores.shape == (50, 12)
    assert explainer.response_method_ == "predict_proba"
    assert_allclose(scores, expected[:, 1], rtol=1e-5, atol=1e-8 * expected.max())


def test_torch_model_of_token_ids_matches_hand_written_autograd():
    """A TorchModel with an embedding keeps token ids integer (predict and explain)."""
    torch.manual_seed(0)
    module = TextCNN()
    X, y = planted_text(60)
    model = TorchModel(module, classes=[0, 1]).fit(X, y)
    with torch.no_grad():
        logits = module.eval()(torch.as_tensor(X))
    assert_allclose(model.decision_function(X), logits.numpy(), rtol=1e-6)
    assert_allclose(model.predict_proba(X), torch.softmax(logits, 1).numpy(), rtol=1e-6)
    scores = TokenGradientExplainer(model).fit(X, y).explain(X)
    expected = hand_scores(module, X, lambda out: torch.softmax(out, dim=1))
    assert_allclose(scores, expected[:, 1], rtol=1e-5, atol=1e-8 * expected.max())


def test_top_tokens_leave_out_padding_and_rare_tokens():
    """Padding (the embedding's padding_idx) is no word: left out unless asked for."""
    torch.manual_seed(0)
    module = TextCNN()
    module.embedding = nn.Embedding(VOCABULARY, 8, padding_idx=0)
    X, y = planted_text(60)
    X[:, -3:] = 0  # padded ends
    X[0, 0] = 39  # token 39 once, token 38 never
    X[X == 38] = 37
    X[1:][X[1:] == 39] = 37
    explainer = TokenGradientExplainer(TorchModel(module, classes=[0, 1])).fit(X, y)
    scores = explainer.explain(X)
    everything = dict(explainer.top_tokens(X, k=VOCABULARY, exclude=None))
    assert everything[0] == pytest.approx(scores[X == 0].mean())
    ranked = dict(explainer.top_tokens(X, k=VOCABULARY))
    assert 0 not in ranked and set(ranked) == set(everything) - {0}
    assert 39 in ranked and 39 not in dict(explainer.top_tokens(X, k=50, min_count=2))
    assert 5 not in dict(explainer.top_tokens(X, k=50, exclude=[5, 6]))
    with pytest.raises(ValueError, match="min_count"):
        explainer.top_tokens(X, min_count=0)


def test_multiclass_logits_and_top_tokens_average():
    net = classifier(n_out=3, classes=[0, 1, 2]).initialize()
    X = np.random.default_rng(1).integers(0, VOCABULARY, size=(20, 9))
    explainer = TokenGradientExplainer(
        FrozenEstimator(net), response_method="decision_function", batch_size=6
    ).fit(X, np.arange(20) % 3)
    scores = explainer.explain(X)
    expected = hand_scores(net.module_, X, lambda out: out)
    assert scores.shape == (20, 3, 9)
    assert_allclose(scores, expected, rtol=1e-5, atol=1e-8 * expected.max())
    # top_tokens: mean over outputs, then over each token's occurrences
    per_token = expected.astype(np.float64).mean(axis=1)
    tokens = np.unique(X)
    means = np.array([per_token[X == t].mean() for t in tokens])
    top = explainer.top_tokens(X, k=5)
    best = tokens[np.argsort(-means, kind="stable")[:5]]
    assert [t for t, _ in top] == best.tolist()
    assert_allclose([s for _, s in top], np.sort(means)[::-1][:5], rtol=1e-5)


def test_planted_sentiment_words_rank_first(fitted):
    net, X, y = fitted
    X_test, y_test = planted_text(200, seed=1)
    assert net.score(X_test, y_test) > 0.95
    vocabulary = {i: f"w{i}" for i in range(VOCABULARY)}
    vocabulary.update({i: f"pos{i}" for i in POSITIVE})
    vocabulary.update({i: f"neg{i}" for i in NEGATIVE})
    planted = {vocabulary[i] for i in POSITIVE + NEGATIVE}
    precision = {}
    for response_method in ("predict_proba", "decision_function"):
        explainer = TokenGradientExplainer(
            FrozenEstimator(net), response_method=response_method
        ).fit(X_test)
        top = explainer.top_tokens(X_test, vocabulary=vocabulary, k=6)
        scores = [score for _, score in top]
        assert scores == sorted(scores, reverse=True)
        precision[response_method] = np.mean([word in planted for word, _ in top])
        print(f"{response_method}: precision at 6 = {precision[response_method]:.2f}")
    # Probability gradients saturate on the confidently classified reviews where the
    # planted words occur; the logit's gradients rank them first.
    assert precision["decision_function"] >= 4 / 6


def test_bad_inputs_and_models(fitted):
    net, X, y = fitted
    frozen = FrozenEstimator(net)
    explainer = TokenGradientExplainer(frozen).fit(X[:10])
    assert explainer.explain(X[:3].astype(float)).shape == (3, 12)  # integral floats
    with pytest.raises(ValueError, match="integer token ids"):
        explainer.explain(X[:3] + 0.5)
    with pytest.raises(ValueError, match="must be non-negative"):
        explainer.explain(-X[:3])
    with pytest.raises(ValueError, match="out of range"):
        explainer.explain(X[:3] + VOCABULARY)
    with pytest.raises(NotDifferentiableError, match="no submodule"):
        TokenGradientExplainer(frozen, embedding="encoder").fit(X[:10])
    with pytest.raises(NotDifferentiableError, match="not an nn.Embedding"):
        TokenGradientExplainer(frozen, embedding="conv").fit(X[:10])
    with pytest.raises(NotDifferentiableError, match="skorch net"):
        TokenGradientExplainer(LogisticRegression()).fit(X[:10], y[:10])
    with pytest.raises(TypeError, match="attribution"):  # token ids: gradients only
        TokenGradientExplainer(frozen, attribution="integrated_gradients")


def test_module_is_not_modified(fitted):
    net, X, y = fitted
    before = {k: v.clone() for k, v in net.module_.state_dict().items()}
    grads = [p.requires_grad for p in net.module_.parameters()]
    TokenGradientExplainer(FrozenEstimator(net)).fit(X[:20])
    for layer in net.module_.modules():
        assert not layer._forward_hooks
    assert [p.requires_grad for p in net.module_.parameters()] == grads
    for key, value in net.module_.state_dict().items():
        assert torch.equal(value, before[key])


# ------------------------------------------------------------- scikit-learn checks
