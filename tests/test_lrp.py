"""LRP against a plain numpy implementation of each rule; conservation; identities."""

import itertools

import numpy as np
import pytest
from _helpers import assert_close
from numpy.testing import assert_allclose

torch = pytest.importorskip("torch")
skorch = pytest.importorskip("skorch")

from sklearn.decomposition import PCA  # noqa: E402
from sklearn.ensemble import RandomForestRegressor  # noqa: E402
from sklearn.frozen import FrozenEstimator  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.neural_network import MLPClassifier, MLPRegressor  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from torch import nn  # noqa: E402

from sklearn_gradexplain import GradientExplainer, NotDifferentiableError  # noqa: E402
from sklearn_gradexplain._engines._lrp import lrp_network  # noqa: E402
from sklearn_gradexplain.attributions import (  # noqa: E402
    LRP,
    GradientXInput,
    IntegratedGradients,
)

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

RULES = ["zero", "epsilon", "zplus", "alpha2beta1", "gamma"]
EPSILON = 1e-2  # large enough to make the epsilon rule differ from LRP-0
GAMMA = 0.25


# ------------------------------------------------------------- numpy reference (matrix)
def dense_rule(a, W, b, R, rule, epsilon, bias=False, gamma=GAMMA):
    """One layer z = a W + b in matrix form; R (n, d_out) -> (n, d_in).

    In the contribution form c_jk = a_j w_jk: z⁺ shares the positive contributions
    (and b⁺ with ``bias``); αβ adds −1 × the share of the negative ones (and b⁻);
    γ shares c + γ c⁺ (bias b + γ b⁺) where z_k > 0 and c + γ c⁻ (b + γ b⁻) where
    z_k < 0, z_k = Σ_j c_jk + b_k always with the bias (zennit's sign selection).
    """
    z = a @ W + b
    if rule in ("zero", "epsilon"):
        if rule == "epsilon":
            z = z + epsilon * np.where(z >= 0, 1.0, -1.0)
        s = np.divide(R, z, out=np.zeros_like(R), where=z != 0)
        return a * (s @ W.T)
    contributions = a[:, :, None] * W[None, :, :]  # (n, d_in, d_out)
    zeros = np.zeros_like(b)

    def share(part, offset, R=R):
        total = part.sum(axis=1) + (offset if bias else 0.0)
        s = np.divide(R, total, out=np.zeros_like(R), where=total != 0)
        return (part * s[:, None, :]).sum(axis=2)

    positive, negative = np.maximum(contributions, 0), np.minimum(contributions, 0)
    if rule == "zplus":
        return share(positive, np.maximum(b, zeros))
    if rule == "alpha2beta1":
        return 2 * share(positive, np.maximum(b, zeros)) - share(
            negative, np.minimum(b, zeros)
        )
    above, below = np.where(z > 0, R, 0.0), np.where(z < 0, R, 0.0)
    return share(
        contributions + gamma * positive, b + gamma * np.maximum(b, zeros), above
    ) + share(contributions + gamma * negative, b + gamma * np.minimum(b, zeros), below)


def conv_matrix(weight, bias, in_shape, stride=1, padding=0):
    """Dense (C_in·H·W, C_out·H'·W') matrix of a 1-D or 2-D convolution, by loops."""
    c_out, c_in, *kernel = weight.shape
    spatial = in_shape[1:]
    out_spatial = [
        (size + 2 * padding - k) // stride + 1
        for size, k in zip(spatial, kernel, strict=True)
    ]
    M = np.zeros((int(np.prod(in_shape)), c_out * int(np.prod(out_spatial))))
    for o, c in itertools.product(range(c_out), range(c_in)):
        for out_pos in np.ndindex(*out_spatial):
            for k_pos in np.ndindex(*kernel):
                in_pos = [
                    u * stride + k - padding
                    for u, k in zip(out_pos, k_pos, strict=True)
                ]
                if all(0 <= p < s for p, s in zip(in_pos, spatial, strict=True)):
                    row = np.ravel_multi_index((c, *in_pos), in_shape)
                    col = np.ravel_multi_index((o, *out_pos), (c_out, *out_spatial))
                    M[row, col] += weight[(o, c, *k_pos)]
    return M, np.repeat(bias, int(np.prod(out_spatial))), (c_out, *out_spatial)


def avgpool_matrix(shape, size):
    """Non-overlapping average pooling of (C, L) as a dense matrix."""
    channels, length = shape
    out = length // size
    M = np.zeros((channels * length, channels * out))
    for c, u, k in itertools.product(range(channels), range(out), range(size)):
        M[c * length + u * size + k, c * out + u] = 1.0 / size
    return M, np.zeros(channels * out), (channels, out)


def numpy_lrp(layers, X, column, rule, epsilon, bias=False):
    """Relevance at the input of every layer (first: the input), plain numpy.

    ``layers``: ("dense", W, b, ruled) where ruled says whether the LRP rule applies
    (pooling uses LRP-0), ("relu",), or ("maxpool", channels, length, size).
    """
    activations = [X]
    for layer in layers:
        a = activations[-1]
        if layer[0] == "dense":
            activations.append(a @ layer[1] + layer[2])
        elif layer[0] == "relu":
            activations.append(np.maximum(a, 0))
        else:
            _, channels, length, size = layer
            blocks = a.reshape(len(a), channels, length // size, size)
            activations.append(blocks.max(axis=3).reshape(len(a), -1))
    R = np.zeros_like(activations[-1])
    R[:, column] = activations[-1][:, column]
    relevances = [R]
    for layer, a in zip(layers[::-1], activations[-2::-1], strict=True):
        if layer[0] == "dense":
            layer_rule = rule if layer[3] else "zero"
            R = dense_rule(a, layer[1], layer[2], R, layer_rule, epsilon, bias)
        elif layer[0] == "maxpool":
            _, channels, length, size = layer
            blocks = a.reshape(len(a), channels, length // size, size)
            winner = blocks == blocks.max(axis=3, keepdims=True)
            R = (winner * R.reshape(len(a), channels, -1, 1)).reshape(len(a), -1)
        relevances.append(R)
    return relevances[::-1]


# ------------------------------------------------------------- networks
def frozen_regressor(module):
    net = skorch.NeuralNetRegressor(module, max_epochs=1, train_split=None, verbose=0)
    return FrozenEstimator(net.initialize())


def mlp_module(sizes, bias, seed):
    torch.manual_seed(seed)
    layers = []
    for i, (d_in, d_out) in enumerate(itertools.pairwise(sizes)):
        layers.append(nn.Linear(d_in, d_out, bias=bias))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    module = nn.Sequential(*layers).double()
    with torch.no_grad():
        for p in module.parameters():
            p.normal_(0, 0.7)
    return module


def mlp_layers(module):
    layers = []
    for layer in module:
        if isinstance(layer, nn.Linear):
            W = layer.weight.detach().numpy().T
            b = (
                np.zeros(W.shape[1])
                if layer.bias is None
                else layer.bias.detach().numpy()
            )
            layers.append(("dense", W, b, True))
        else:
            layers.append(("relu",))
    return layers


@pytest.fixture(scope="module")
def data():
    return np.random.default_rng(0).normal(size=(40, 6))


@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize("lrp_bias", [False, True])
def test_rules_match_numpy_on_random_mlp(data, rule, bias, lrp_bias):
    module = mlp_module([6, 9, 7, 3], bias, seed=int(bias) + 3)
    explainer = GradientExplainer(
        frozen_regressor(module),
        attribution=LRP(rule=rule, epsilon=EPSILON, gamma=GAMMA, bias=lrp_bias),
        batch_size=16,
    ).fit(data)
    relevance = explainer.explain(data)
    assert relevance.shape == (40, 3, 6)
    assert explainer.response_method_ == "predict"
    for k in range(3):
        expected = numpy_lrp(mlp_layers(module), data, k, rule, EPSILON, lrp_bias)[0]
        assert_close(relevance[:, k], expected, rtol=1e-5)
    if bias and rule in ("zplus", "alpha2beta1", "gamma"):  # the option matters
        other = GradientExplainer(
            frozen_regressor(module),
            attribution=LRP(rule=rule, gamma=GAMMA, bias=not lrp_bias),
        )
        assert np.abs(other.fit(data).explain(data) - relevance).max() > 1e-3


@pytest.mark.parametrize("rule", RULES)
def test_rules_match_numpy_on_conv1d_net(rule):
    torch.manual_seed(1)
    module = nn.Sequential(
        nn.Unflatten(1, (2, 8)),
        nn.Conv1d(2, 3, kernel_size=3, padding=1),
        nn.ReLU(),
        nn.AvgPool1d(2),
        nn.Conv1d(3, 2, kernel_size=2, stride=2),
        nn.ReLU(),
        nn.MaxPool1d(2),
        nn.Dropout(0.3),
        nn.Flatten(),
        nn.Linear(2, 2),
    ).double()
    X = np.random.default_rng(1).normal(size=(30, 16))
    conv1, conv2, linear = module[1], module[4], module[9]
    M1, b1, shape1 = conv_matrix(
        conv1.weight.detach().numpy(), conv1.bias.detach().numpy(), (2, 8), padding=1
    )
    P, bp, shape2 = avgpool_matrix(shape1, 2)
    M2, b2, shape3 = conv_matrix(
        conv2.weight.detach().numpy(), conv2.bias.detach().numpy(), shape2, stride=2
    )
    layers = [
        ("dense", M1, b1, True),
        ("relu",),
        ("dense", P, bp, False),
        ("dense", M2, b2, True),
        ("relu",),
        ("maxpool", shape3[0], shape3[1], 2),
        ("dense", linear.weight.detach().numpy().T, linear.bias.detach().numpy(), True),
    ]
    explainer = GradientExplainer(
        frozen_regressor(module), attribution=LRP(rule=rule, epsilon=EPSILON)
    ).fit(X)
    relevance = explainer.explain(X)
    for k in range(2):
        expected = numpy_lrp(layers, X, k, rule, EPSILON)[0]
        assert_close(relevance[:, k], expected, rtol=1e-5)


def test_conv2d_net_matches_numpy():
    torch.manual_seed(2)
    module = nn.Sequential(
        nn.Unflatten(1, (1, 4, 4)),
        nn.Conv2d(1, 2, kernel_size=3, padding=1, bias=False),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(32, 1, bias=False),
    ).double()
    X = np.random.default_rng(2).normal(size=(10, 16))
    conv, linear = module[1], module[4]
    M, b, _ = conv_matrix(
        conv.weight.detach().numpy(), np.zeros(2), (1, 4, 4), padding=1
    )
    layers = [
        ("dense", M, b, True),
        ("relu",),
        ("dense", linear.weight.detach().numpy().T, np.zeros(1), True),
    ]
    for rule in RULES:
        explainer = GradientExplainer(
            frozen_regressor(module), attribution=LRP(rule=rule)
        ).fit(X)
        expected = numpy_lrp(layers, X, 0, rule, 1e-6)[0]
        assert_close(explainer.explain(X), expected, rtol=1e-5)


# ------------------------------------------------------------- conservation
def layer_relevances(network, X, rule):
    """Relevance at the input of every step of our network, via its steps."""
    with torch.no_grad():
        a, inputs = X, []
        for step in network.steps:
            inputs.append(a)
            a = step.forward(a)
        R = torch.zeros((1, *a.shape), dtype=a.dtype)
        R[0, :, 0] = a[:, 0]
        sums = [R.reshape(1, len(X), -1).sum(-1)]
        for step, a in zip(reversed(network.steps), reversed(inputs), strict=True):
            R = step.relevance(a, R, LRP(rule=rule, epsilon=0.0))
            sums.append(R.reshape(1, len(X), -1).sum(-1))
    return np.array([s[0].numpy() for s in sums]), a.numpy()


@pytest.mark.parametrize("rule", ["zero", "zplus", "alpha2beta1"])
def test_relevance_conserved_layer_by_layer_on_bias_free_net(data, rule):
    module = mlp_module([6, 12, 10, 1], bias=False, seed=5)
    network = lrp_network(frozen_regressor(module).estimator, torch.float64, "cpu")
    X = torch.as_tensor(data)
    sums, output = layer_relevances(network, X, rule)
    f = module(X).detach().numpy()[:, 0]
    # numpy reference: where a denominator of a unit that carries relevance is zero
    # the rule drops that relevance; conservation is promised on the other rows.
    keep = np.ones(len(data), dtype=bool)
    if rule != "zero":
        reference = numpy_lrp(mlp_layers(module), data, 0, rule, 0.0)
        keep = np.isclose(reference[0].sum(1), f, rtol=1e-9, atol=1e-12)
        assert keep.mean() > 0.3
    assert_close(sums[:, keep], np.tile(f[keep], (len(sums), 1)), rtol=1e-9)


def test_bias_free_relu_net_ig_equals_gradient_x_input_equals_lrp_zero(data):
    module = mlp_module([6, 10, 8, 1], bias=False, seed=7)
    estimator = frozen_regressor(module)
    results = {
        name: GradientExplainer(estimator, attribution=attribution)
        .fit(data)
        .explain(data)
        for name, attribution in [
            ("integrated_gradients", IntegratedGradients(baseline="zeros")),
            ("gradient_x_input", GradientXInput()),
            ("lrp", LRP(rule="zero")),
        ]
    }
    f = module(torch.as_tensor(data)).detach().numpy()[:, 0]
    for attributions in results.values():
        assert_allclose(attributions.sum(axis=1), f, rtol=0, atol=1e-9)
    assert_allclose(results["integrated_gradients"], results["lrp"], atol=1e-9)
    assert_allclose(results["gradient_x_input"], results["lrp"], atol=1e-9)


# ------------------------------------------------------------- classifiers, MLPs
def test_classifier_relevance_starts_at_logit(data):
    module = nn.Sequential(mlp_module([6, 8, 3], bias=False, seed=9), nn.Softmax(dim=1))
    y = np.arange(len(data)) % 3
    net = skorch.NeuralNetClassifier(
        module, max_epochs=0, train_split=None, verbose=0, classes=[0, 1, 2]
    )
    net.fit(data, y)
    explainer = GradientExplainer(
        FrozenEstimator(net), attribution=LRP(rule="zero"), target=2
    ).fit(data, y)
    assert explainer.response_method_ == "decision_function"
    logits = module[0](torch.as_tensor(data)).detach().numpy()
    assert_allclose(explainer.explain(data).sum(axis=1), logits[:, 2], atol=1e-9)


def test_mlp_pipeline_matches_numpy(data):
    y = (data[:, 0] + data[:, 1] ** 2 > 0.5).astype(int)
    for preprocessing in [StandardScaler(), PCA(n_components=4, whiten=True)]:
        pipeline = make_pipeline(
            preprocessing,
            MLPClassifier(hidden_layer_sizes=(7,), max_iter=200, random_state=0),
        )
        pipeline.fit(data, y)
        mlp = pipeline[-1]
        layers = [
            ("dense", mlp.coefs_[0], mlp.intercepts_[0], True),
            ("relu",),
            ("dense", mlp.coefs_[1], mlp.intercepts_[1], True),
        ]
        if isinstance(preprocessing, StandardScaler):
            hidden_input = (data - preprocessing.mean_) / preprocessing.scale_
            expected = numpy_lrp(layers, hidden_input, 0, "epsilon", 1e-6)[0]
        else:  # LRP-epsilon through the PCA map on the centred input
            centred = data - preprocessing.mean_
            A = preprocessing.components_.T / np.sqrt(preprocessing.explained_variance_)
            R = numpy_lrp(layers, centred @ A, 0, "epsilon", 1e-6)[0]
            expected = dense_rule(centred, A, np.zeros(4), R, "epsilon", 1e-6)
        explainer = GradientExplainer(FrozenEstimator(pipeline), attribution="lrp")
        relevance = explainer.fit(data).explain(data)
        assert explainer.response_method_ == "decision_function"
        assert_close(relevance, expected, rtol=1e-5)


def test_mlp_regressor_float32_and_features(data):
    y = data @ np.arange(6.0)
    mlp = MLPRegressor(hidden_layer_sizes=(5,), max_iter=50, random_state=0)
    mlp.fit(data, y)
    layers = [
        ("dense", mlp.coefs_[0], mlp.intercepts_[0], True),
        ("relu",),
        ("dense", mlp.coefs_[1], mlp.intercepts_[1], True),
    ]
    expected = numpy_lrp(layers, data, 0, "zplus", 0.0)[0]
    explainer = GradientExplainer(FrozenEstimator(mlp), attribution=LRP(rule="zplus"))
    assert_close(explainer.fit(data).explain(data), expected, rtol=1e-5)
    relevance32 = explainer.fit(data.astype(np.float32)).explain(
        data.astype(np.float32)
    )
    assert_close(relevance32, expected, rtol=1e-3)
    subset = GradientExplainer(
        FrozenEstimator(mlp), attribution=LRP(rule="zplus"), features=[1, 4]
    ).fit(data)
    assert_close(subset.explain(data), expected[:, [1, 4]], rtol=1e-5)


# ------------------------------------------------------------- errors, no mutation
@pytest.mark.parametrize(
    "estimator",
    [
        LogisticRegression(),
        RandomForestRegressor(n_estimators=3, random_state=0),
        MLPRegressor(
            hidden_layer_sizes=(3,), activation="logistic", max_iter=5, random_state=0
        ),
    ],
)
def test_unsupported_models_raise(data, estimator):
    y = (data[:, 0] > 0).astype(int)
    with pytest.raises(NotDifferentiableError, match="LRP needs a supported network"):
        GradientExplainer(estimator, attribution="lrp").fit(data, y)


def test_non_sequential_module_and_bad_response_method_raise(data):
    class Custom(nn.Module):
        def __init__(self):
            super().__init__()
            self.linear = nn.Linear(6, 1)

        def forward(self, X):
            return self.linear(X)

    with pytest.raises(NotDifferentiableError, match="LRP needs a supported network"):
        GradientExplainer(frozen_regressor(Custom().double()), attribution="lrp").fit(
            data
        )
    module = mlp_module([6, 3, 1], bias=True, seed=0)
    with pytest.raises(NotDifferentiableError, match="(?i)lrp"):
        GradientExplainer(
            frozen_regressor(module), attribution="lrp", method="finite_difference"
        ).fit(data)
    with pytest.raises(ValueError, match="raw output"):
        GradientExplainer(
            frozen_regressor(module), attribution="lrp", response_method="predict_proba"
        ).fit(data)


def test_module_is_not_modified(data):
    module = mlp_module([6, 5, 1], bias=True, seed=11)
    for p in module.parameters():
        p.requires_grad_(True)
    before = {k: v.clone() for k, v in module.state_dict().items()}
    estimator = frozen_regressor(module)
    for rule in RULES:
        GradientExplainer(estimator, attribution=LRP(rule=rule)).fit(data)
    assert all(p.requires_grad for p in module.parameters())
    assert all(p.grad is None for p in module.parameters())
    for layer in module.modules():
        assert not layer._forward_hooks and not layer._backward_hooks
    for key, value in module.state_dict().items():
        assert torch.equal(value, before[key])


# ------------------------------------------------------------- zennit
def _zennit():
    """zennit's own rules, composites and attributor (its real code).

    zennit's package ``__init__`` also imports its torchvision composites, which need a
    torchvision built for the installed torch; this project's CPU torch has none (and
    torchvision is never installed here). The modules used below do not need it, so
    where the package ``__init__`` fails they are loaded without it.
    """
    import importlib
    import importlib.util
    import sys
    import types

    spec = importlib.util.find_spec("zennit")
    if spec is None:
        pytest.skip("zennit is not installed (pip install --no-deps zennit)")
    try:
        import zennit  # noqa: F401
    except Exception:  # its torchvision composites: missing or built for another torch
        package = types.ModuleType("zennit")
        package.__path__ = list(spec.submodule_search_locations)
        package.__spec__ = spec
        sys.modules["zennit"] = package
    return types.SimpleNamespace(
        **{
            name: importlib.import_module(f"zennit.{name}")
            for name in ("attribution", "composites", "rules", "types")
        }
    )


def _zero_safe(z):
    """Our denominators: no stabilizer, and 0/0 -> 0 (the terms pass no relevance)."""
    return torch.where(z == 0, torch.ones_like(z), z)


def zennit_relevance(module, X, layer_rule, n_outputs, pool_rule=None):
    """zennit's relevance of every output, starting at that output's raw value."""
    zennit = _zennit()
    layer_map = [
        (zennit.types.Activation, zennit.rules.Pass()),
        (zennit.types.Linear, layer_rule),  # nn.Linear and convolutions
    ]
    if pool_rule is not None:
        layer_map.append((zennit.types.AvgPool, pool_rule))
    composite = zennit.composites.LayerMapComposite(layer_map=layer_map)
    out = []
    for k in range(n_outputs):
        x = torch.tensor(X, requires_grad=True)
        with zennit.attribution.Gradient(model=module, composite=composite) as attr:
            _, R = attr(x, attr_output=lambda y, k=k: y * torch.eye(n_outputs)[k])
        out.append(R.detach().numpy())
    return np.stack(out, axis=1)


def _zennit_rule(zennit, rule, bias, stabilizer):
    kwargs = {} if stabilizer is None else {"stabilizer": stabilizer}
    if not bias:
        kwargs["zero_params"] = ["bias"]
    if rule == "zplus":
        return zennit.rules.ZPlus(**kwargs)
    if rule == "alpha2beta1":
        return zennit.rules.AlphaBeta(alpha=2.0, beta=1.0, **kwargs)
    return zennit.rules.Gamma(gamma=GAMMA, **kwargs)


@pytest.mark.parametrize("rule", ["zplus", "alpha2beta1", "gamma"])
@pytest.mark.parametrize("bias", [True, False])
def test_bias_option_matches_zennit(data, rule, bias):
    """bias=True is zennit's default ZPlus / AlphaBeta(2, 1) / Gamma on biased layers;
    bias=False is the same rules with zero_params=["bias"].

    zennit adds a stabilizer ε = 1e-6 (times the sign) to every denominator, we
    divide exactly (0/0 -> 0): with zennit's stabilizer replaced by our division the
    two agree to rounding. With its default ε a unit's relevance moves by about
    ε/|z_k|, which is large only where a denominator nearly vanishes (a negative
    share of αβ with one tiny negative contribution): all but a few rows agree to
    1e-3 of the largest relevance.
    """
    zennit = _zennit()
    module = mlp_module([6, 9, 7, 3], bias=True, seed=4)
    explainer = GradientExplainer(
        frozen_regressor(module), attribution=LRP(rule=rule, gamma=GAMMA, bias=bias)
    )
    ours = explainer.fit(data).explain(data)
    exact = zennit_relevance(
        module, data, _zennit_rule(zennit, rule, bias, _zero_safe), 3
    )
    assert_close(ours, exact, rtol=1e-10)
    default = zennit_relevance(module, data, _zennit_rule(zennit, rule, bias, None), 3)
    gap = np.abs(ours - default).max(axis=(1, 2)) / np.abs(default).max()
    assert np.mean(gap < 1e-3) >= 0.9


def test_epsilon_and_zero_rules_match_zennit(data):
    zennit = _zennit()
    module = mlp_module([6, 9, 7, 3], bias=True, seed=5)
    for rule, stabilizer in [("epsilon", EPSILON), ("zero", _zero_safe)]:
        explainer = GradientExplainer(
            frozen_regressor(module), attribution=LRP(rule=rule, epsilon=EPSILON)
        )
        ours = explainer.fit(data).explain(data)
        theirs = zennit_relevance(module, data, zennit.rules.Epsilon(stabilizer), 3)
        assert_close(ours, theirs, rtol=1e-10)


@pytest.mark.parametrize("rule", RULES)
def test_conv1d_net_matches_zennit(rule):
    """Convolutions, average pooling (LRP-0, zennit's Norm), max pooling (the
    winner takes all, zennit's gradient), dropout and flattening."""
    zennit = _zennit()
    torch.manual_seed(6)
    module = nn.Sequential(
        nn.Unflatten(1, (2, 8)),
        nn.Conv1d(2, 3, kernel_size=3, padding=1),
        nn.ReLU(),
        nn.AvgPool1d(2),
        nn.Conv1d(3, 2, kernel_size=2, stride=2),
        nn.ReLU(),
        nn.MaxPool1d(2),
        nn.Dropout(0.3),
        nn.Flatten(),
        nn.Linear(2, 2),
    ).double()
    X = np.random.default_rng(6).normal(size=(30, 16))
    if rule in ("zero", "epsilon"):
        stabilizer = _zero_safe if rule == "zero" else EPSILON
        layer_rule = zennit.rules.Epsilon(stabilizer)
    else:
        layer_rule = _zennit_rule(zennit, rule, True, _zero_safe)
    theirs = zennit_relevance(
        module.eval(), X, layer_rule, 2, pool_rule=zennit.rules.Norm(_zero_safe)
    )
    explainer = GradientExplainer(
        frozen_regressor(module),
        attribution=LRP(rule=rule, epsilon=EPSILON, gamma=GAMMA, bias=True),
    )
    assert_close(explainer.fit(X).explain(X), theirs, rtol=1e-10)
