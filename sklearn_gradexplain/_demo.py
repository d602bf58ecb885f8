"""``gradexplain demo``: the experiments of Hechtlinger (2016) on data that ships.

Four sections, each returning its measured figures, its report text and its figures:

1. bag-of-words sentiment (paper §5.2): a feed-forward skorch net on word presence,
   words ranked by the mean gradient against the planted polarities, and the linear
   surrogate built from the mean gradient;
2. a 1-D CNN on token ids (paper §5.1), words ranked by the L2 norm of their embedding
   gradient (:class:`~sklearn_gradexplain.TokenGradientExplainer`);
3. digits (the paper's MNIST experiment at the size scikit-learn ships): an MLP's mean
   Jacobian per class beside logistic-regression coefficients;
4. a black box (gradient boosting) explained by finite differences: gradient,
   integrated gradients and SmoothGrad.

Everything heavy (torch, skorch, matplotlib, tqdm) is imported inside functions.
"""

import os
import time
import warnings
from dataclasses import dataclass, field

import numpy as np

from ._datasets import make_reviews

#: Sizes of the full run (``make demo``) and of the quick run used by the tests.
FULL = {
    "n_reviews": 6000,
    "bow_hidden": 64,
    "bow_epochs": 12,
    "cnn_epochs": 10,
    "cnn_filters": 64,
    "embedding_dim": 32,
    "digits_hidden": (64,),
    "digits_iter": 400,
    "blackbox_rows": None,  # every test row
    "ig_steps": 32,
    "smoothgrad_samples": 25,
    "boosting_iter": 100,
    "permutation_repeats": 10,
    "dpi": 110,
}
QUICK = {
    "n_reviews": 600,
    "bow_hidden": 16,
    "bow_epochs": 3,
    "cnn_epochs": 2,
    "cnn_filters": 8,
    "embedding_dim": 8,
    "digits_hidden": (16,),
    "digits_iter": 40,
    "blackbox_rows": 20,
    "ig_steps": 8,
    "smoothgrad_samples": 5,
    "boosting_iter": 10,
    "permutation_repeats": 2,
    "dpi": 30,
}


@dataclass
class Section:
    """One part of the report: title, measured figures, markdown text, PNG files."""

    title: str
    metrics: dict = field(default_factory=dict)
    text: list = field(default_factory=list)
    figures: list = field(default_factory=list)
    summary: list = field(default_factory=list)


def _polarity_label(polarity):
    return np.where(
        polarity > 0, "positive", np.where(polarity < 0, "negative", "neutral")
    )


def _markdown_table(headers, rows):
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _new_figure(n_rows, n_cols, size):
    """A matplotlib Figure that needs no GUI backend (no pyplot state)."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=size, layout="constrained")
    axes = figure.subplots(n_rows, n_cols, squeeze=False)
    return figure, axes


def _save(figure, out, name, section, caption, dpi):
    path = os.path.join(out, name)
    figure.savefig(path, dpi=dpi)
    section.figures.append((name, caption))
    return path


def _progress(iterable, verbose, description, total=None):
    if not verbose:
        return iterable
    from tqdm.auto import tqdm

    return tqdm(iterable, desc=description, total=total, unit="epoch", leave=False)


def _has_tqdm():
    try:
        import tqdm  # noqa: F401
    except ImportError:
        return False
    return True


def _train(net, X, y, epochs, verbose, description):
    """Train a skorch net one epoch at a time, with a progress bar."""
    for _ in _progress(range(epochs), verbose, description):
        net.partial_fit(X, y)
    return net


# ---------------------------------------------------------------------- torch models
def _bow_module(n_words, n_hidden):
    import torch

    return torch.nn.Sequential(
        torch.nn.Linear(n_words, n_hidden),
        torch.nn.ReLU(),
        torch.nn.Linear(n_hidden, 2),
    )


def _cnn_module(n_tokens, embedding_dim, n_filters):
    """Embedding -> Conv1d (width 3) -> ReLU -> max-pool over time -> Linear."""
    import torch

    class SentimentCNN(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = torch.nn.Embedding(n_tokens, embedding_dim, padding_idx=0)
            self.conv = torch.nn.Conv1d(embedding_dim, n_filters, kernel_size=3)
            self.out = torch.nn.Linear(n_filters, 2)

        def forward(self, tokens):
            x = self.embedding(tokens).transpose(1, 2)  # (n, embedding_dim, length)
            x = torch.relu(self.conv(x)).amax(dim=2)  # max-pool over time
            return self.out(x)

    return SentimentCNN()


def _skorch_classifier(make_module, lr, random_state, batch_size=64):
    """A skorch classifier, trained one epoch per ``partial_fit`` call; torch is
    seeded before ``make_module()`` builds (and initializes) the module."""
    import torch
    from skorch import NeuralNetClassifier

    torch.manual_seed(random_state)
    return NeuralNetClassifier(
        make_module(),
        criterion=torch.nn.CrossEntropyLoss,
        optimizer=torch.optim.Adam,
        lr=lr,
        max_epochs=1,
        batch_size=batch_size,
        train_split=None,
        iterator_train__shuffle=True,
        verbose=0,
    )


# ---------------------------------------------------------------------- sections
def _precision(words, truth):
    """Fraction of ``words`` whose planted polarity is ``truth``."""
    return float(np.mean([t == truth for t in words])) if len(words) else float("nan")


def bag_of_words_section(corpus, split, config, out, random_state, verbose):
    """§5.2: feed-forward net on word presence, mean gradient, linear surrogate."""
    from sklearn.frozen import FrozenEstimator

    from ._explainer import GradientExplainer
    from ._plot import GradientAttributionDisplay
    from ._surrogate import GradientSurrogateClassifier

    section = Section("1. Bag-of-words sentiment: mean gradient and linear surrogate")
    train, test = split
    X, y = corpus.data, corpus.target
    words, polarity = corpus.feature_names, corpus.polarity
    truth = _polarity_label(polarity)
    n_polar = int(np.sum(polarity > 0))

    net = _skorch_classifier(
        lambda: _bow_module(X.shape[1], config["bow_hidden"]), 2e-3, random_state
    )
    _train(net, X[train], y[train], config["bow_epochs"], verbose, "bag-of-words net")
    frozen = FrozenEstimator(net)
    net_accuracy = float(np.mean(net.predict(X[test]) == y[test]))

    explainer = GradientExplainer(frozen, verbose=verbose).fit(X[train])
    g = explainer.global_gradient_
    order = np.argsort(-g, kind="stable")
    top_positive = order[:n_polar]
    top_negative = order[::-1][:n_polar]
    metrics = {
        "net_test_accuracy": net_accuracy,
        "method": explainer.method_,
        "precision_at_10_positive": _precision(truth[top_positive[:10]], "positive"),
        "precision_at_10_negative": _precision(truth[top_negative[:10]], "negative"),
        f"precision_at_{n_polar}_positive": _precision(truth[top_positive], "positive"),
        f"precision_at_{n_polar}_negative": _precision(truth[top_negative], "negative"),
    }
    # The strong words (strength 2) should outrank the mild ones among the polar words.
    polar = polarity != 0
    strength = np.abs(polarity[polar])
    metrics["spearman_strength"] = float(
        _spearman(np.abs(g[polar]) * 1.0, strength * 1.0)
    )

    surrogate = GradientSurrogateClassifier(frozen).fit(X[train])
    metrics["surrogate_agreement_train"] = float(surrogate.agreement_)
    metrics["surrogate_agreement_test"] = float(surrogate.agreement_score(X[test]))
    metrics["surrogate_test_accuracy"] = float(surrogate.score(X[test], y[test]))

    groups = dict(zip(words, truth, strict=True))
    figure, axes = _new_figure(1, 2, (12, 10))
    GradientAttributionDisplay.from_attributions(
        explainer.explain(X[test]),
        kind="bar",
        feature_names=words,
        ax=axes[0, 0],
        max_features=2 * n_polar + 8,
        groups=groups,
        title="mean gradient of P(positive), held-out reviews",
    )
    GradientAttributionDisplay.from_attributions(
        explainer.explain(X[test][:300]),
        kind="beeswarm",
        feature_names=words,
        data=X[test][:300],
        ax=axes[0, 1],
        max_features=20,
        title="per-review gradients (color: word present)",
    )
    _save(
        figure,
        out,
        "bow_words.png",
        section,
        "Words with the largest mean gradient of P(positive) of the bag-of-words net, "
        "colored by planted polarity (left), and per-review gradients (right).",
        config["dpi"],
    )

    rows = [
        [i + 1, words[p], f"{g[p]:+.4f}", truth[p], words[n], f"{g[n]:+.4f}", truth[n]]
        for i, (p, n) in enumerate(
            zip(top_positive[:10], top_negative[:10], strict=True)
        )
    ]
    section.text += [
        f"A synthetic corpus of {len(y)} reviews ({len(train)} train, {len(test)} "
        f"held out) over {X.shape[1]} words: {n_polar} planted positive, {n_polar} "
        f"planted negative, the rest neutral. A feed-forward skorch net "
        f"({X.shape[1]} → {config['bow_hidden']} ReLU → 2) on binary word presence "
        f"reaches **{net_accuracy:.3f}** held-out accuracy. Its mean gradient of "
        f"P(positive) over the training reviews ({explainer.method_}) ranks the words:",
        _markdown_table(
            ["rank", "most positive", "ḡ", "planted", "most negative", "ḡ", "planted"],
            rows,
        ),
        f"Precision of the top words against the planted polarities: top 10 "
        f"positive **{metrics['precision_at_10_positive']:.2f}**, top 10 negative "
        f"**{metrics['precision_at_10_negative']:.2f}**; top {n_polar} positive "
        f"**{metrics[f'precision_at_{n_polar}_positive']:.2f}**, top {n_polar} "
        f"negative **{metrics[f'precision_at_{n_polar}_negative']:.2f}**. Among the "
        f"polar words, |ḡ| follows the planted strength (Spearman "
        f"{metrics['spearman_strength']:.2f}).",
        f"The paper's linear classifier sign(x·ḡ + b), built from the mean gradient "
        f"alone (b chosen for agreement on the training reviews), agrees with the net "
        f"on **{metrics['surrogate_agreement_test']:.3f}** of the held-out reviews "
        f"({metrics['surrogate_agreement_train']:.3f} on the training reviews); its "
        f"own held-out accuracy is {metrics['surrogate_test_accuracy']:.3f}. The "
        f"labels were generated from the summed polarity of the words, a nearly "
        f"linear rule, so the net is nearly linear too and a high agreement is what "
        f"the paper's argument predicts.",
    ]
    section.summary = [
        f"net accuracy {net_accuracy:.3f}; top-10 precision "
        f"+{metrics['precision_at_10_positive']:.2f} / "
        f"-{metrics['precision_at_10_negative']:.2f}; top-{n_polar} precision "
        f"+{metrics[f'precision_at_{n_polar}_positive']:.2f} / "
        f"-{metrics[f'precision_at_{n_polar}_negative']:.2f}",
        f"linear surrogate agreement with the net: "
        f"{metrics['surrogate_agreement_test']:.3f} (held out)",
    ]
    section.metrics = metrics
    return section


def cnn_section(corpus, split, config, out, random_state, verbose):
    """§5.1: CNN on token ids, words ranked by the L2 norm of the embedding gradient."""
    from sklearn.frozen import FrozenEstimator

    from ._plot import GradientAttributionDisplay
    from ._token import TokenGradientExplainer

    section = Section("2. CNN on word embeddings: token gradients")
    train, test = split
    tokens, y = corpus.tokens, corpus.target
    vocabulary = corpus.vocabulary
    truth = np.concatenate([["padding"], _polarity_label(corpus.polarity)])
    n_polar = int(np.sum(corpus.polarity != 0))

    net = _skorch_classifier(
        lambda: _cnn_module(
            len(vocabulary), config["embedding_dim"], config["cnn_filters"]
        ),
        3e-3,
        random_state,
    )
    _train(net, tokens[train], y[train], config["cnn_epochs"], verbose, "CNN")
    net_accuracy = float(np.mean(net.predict(tokens[test]) == y[test]))

    explainer = TokenGradientExplainer(
        FrozenEstimator(net), embedding="embedding", verbose=verbose
    ).fit(tokens[train])
    scores = explainer.explain(tokens[test])
    top = explainer.top_tokens(tokens[test], vocabulary=vocabulary, k=n_polar)
    word_index = {w: i for i, w in enumerate(vocabulary)}
    top_truth = [truth[word_index[w]] for w, _ in top]
    polar_10 = float(np.mean([t in ("positive", "negative") for t in top_truth[:10]]))
    polar_k = float(np.mean([t in ("positive", "negative") for t in top_truth]))
    metrics = {
        "cnn_test_accuracy": net_accuracy,
        "precision_at_10_polar": polar_10,
        f"precision_at_{n_polar}_polar": polar_k,
    }

    groups = {w: truth[i] for i, w in enumerate(vocabulary)}
    figure, axes = _new_figure(1, 1, (6, 7))
    GradientAttributionDisplay.from_attributions(
        scores,
        kind="tokens",
        data=tokens[test],
        feature_names=vocabulary,
        ax=axes[0, 0],
        max_features=n_polar,
        groups=groups,
        title="CNN: mean L2 norm of the embedding gradient",
    )
    _save(
        figure,
        out,
        "cnn_tokens.png",
        section,
        "Words ranked by the mean L2 norm of the gradient of P(positive) with respect "
        "to their embedding, over held-out reviews, colored by planted polarity.",
        config["dpi"],
    )
    rows = [
        [i + 1, w, f"{s:.4f}", t]
        for i, ((w, s), t) in enumerate(zip(top, top_truth, strict=True))
    ]
    section.text += [
        f"The same reviews as token-id sequences (length {tokens.shape[1]}, 0 pads), "
        f"into a 1-D CNN: embedding ({config['embedding_dim']} dimensions), "
        f"{config['cnn_filters']} filters of width 3, ReLU, max-pooling over time, a "
        f"linear output; held-out accuracy **{net_accuracy:.3f}**. Words ranked by "
        "the L2 norm of the gradient of P(positive) with respect to their embedding "
        "vector (mean over their occurrences in the held-out reviews; the norm has no "
        "sign, so a good ranking puts polar words, of either polarity, first):",
        _markdown_table(["rank", "word", "score", "planted"], rows[:15]),
        f"Fraction of polar words among the top 10: **{polar_10:.2f}**; among the top "
        f"{n_polar}: **{polar_k:.2f}** ({n_polar} of the {len(vocabulary) - 1} words "
        "are polar).",
    ]
    section.summary = [
        f"CNN accuracy {net_accuracy:.3f}; polar words among the top 10 tokens "
        f"{polar_10:.2f}, among the top {n_polar} {polar_k:.2f}"
    ]
    section.metrics = metrics
    return section


def digits_section(config, out, random_state, verbose):
    """The MNIST experiment on scikit-learn's 8×8 digits."""
    from sklearn.datasets import load_digits
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.frozen import FrozenEstimator
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split
    from sklearn.neural_network import MLPClassifier

    from ._explainer import GradientExplainer
    from ._plot import GradientAttributionDisplay
    from ._surrogate import GradientSurrogateClassifier

    section = Section("3. Digits: mean Jacobian per class and logistic regression")
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.3, stratify=y, random_state=random_state
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        mlp = MLPClassifier(
            config["digits_hidden"],
            alpha=0.1,
            max_iter=config["digits_iter"],
            random_state=random_state,
        ).fit(X_train, y_train)
        logistic = LogisticRegression(max_iter=2000).fit(X_train, y_train)
    explainer = GradientExplainer(FrozenEstimator(mlp), verbose=verbose).fit(X_train)
    jacobian = explainer.global_gradient_  # (10 classes, 64 pixels)
    correlation = [
        float(np.corrcoef(jacobian[k], logistic.coef_[k])[0, 1]) for k in range(10)
    ]
    surrogate = GradientSurrogateClassifier(FrozenEstimator(mlp)).fit(X_train)
    metrics = {
        "method": explainer.method_,
        "mlp_test_accuracy": float(mlp.score(X_test, y_test)),
        "logistic_test_accuracy": float(logistic.score(X_test, y_test)),
        "surrogate_agreement_test": float(surrogate.agreement_score(X_test)),
        "surrogate_test_accuracy": float(surrogate.score(X_test, y_test)),
        "mean_correlation_with_logistic": float(np.mean(correlation)),
    }

    figure, axes = _new_figure(2, 10, (15, 3.6))
    classes = [str(c) for c in mlp.classes_]
    GradientAttributionDisplay.from_attributions(
        jacobian[None],
        kind="image",
        image_shape=(8, 8),
        output_names=[f"MLP ∂P({c})/∂x" for c in classes],
        ax=axes[0],
    )
    GradientAttributionDisplay.from_attributions(
        logistic.coef_[None],
        kind="image",
        image_shape=(8, 8),
        output_names=[f"LR coef {c}" for c in classes],
        ax=axes[1],
    )
    for axis in axes.ravel():
        axis.title.set_fontsize(9)
    _save(
        figure,
        out,
        "digits_jacobian.png",
        section,
        "Top: the MLP's mean gradient of P(class) per pixel over the training digits "
        "(red raises the probability, blue lowers it). Bottom: logistic-regression "
        "coefficients. Each image has its own symmetric color scale.",
        config["dpi"],
    )
    section.text += [
        f"scikit-learn's 8×8 digits ({len(y_train)} train, {len(y_test)} test), pixels "
        f"scaled to [0, 1]. An MLP ({config['digits_hidden'][0]} hidden ReLU units, "
        f"L2 penalty alpha=0.1 like the logistic regression's C=1; test "
        f"accuracy **{metrics['mlp_test_accuracy']:.3f}**) is explained by its mean "
        f"Jacobian of the class probabilities over the training images "
        f"({explainer.method_}); logistic regression (test accuracy "
        f"{metrics['logistic_test_accuracy']:.3f}) gives the coefficients beside it.",
        _markdown_table(
            ["class", *classes],
            [["corr(ḡ, LR coef)", *(f"{c:.2f}" for c in correlation)]],
        ),
        f"Mean correlation between the MLP's mean Jacobian and the logistic "
        f"coefficients: **{metrics['mean_correlation_with_logistic']:.2f}**. The "
        f"linear surrogate built from the mean Jacobian (one score per class, "
        f"intercepts tuned for agreement) agrees with the MLP on "
        f"**{metrics['surrogate_agreement_test']:.3f}** of the test digits (its own "
        f"accuracy: {metrics['surrogate_test_accuracy']:.3f}).",
    ]
    section.summary = [
        f"MLP accuracy {metrics['mlp_test_accuracy']:.3f}; correlation of the mean "
        "Jacobian with LR coefficients "
        f"{metrics['mean_correlation_with_logistic']:.2f}; "
        f"surrogate agreement {metrics['surrogate_agreement_test']:.3f}"
    ]
    section.metrics = metrics
    return section


def black_box_section(config, out, random_state, verbose):
    """Gradient boosting explained by finite differences: gradient, IG, SmoothGrad."""
    from sklearn.datasets import load_breast_cancer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.frozen import FrozenEstimator
    from sklearn.inspection import permutation_importance
    from sklearn.model_selection import train_test_split

    from ._engines._finite_difference import FiniteDifference
    from ._explainer import GradientExplainer
    from ._plot import GradientAttributionDisplay
    from .attributions import IntegratedGradients, SmoothGrad
    from .exceptions import ZeroGradientWarning

    section = Section("4. A black box: gradient boosting by finite differences")
    data = load_breast_cancer(as_frame=True)
    X_train, X_test, y_train, y_test = train_test_split(
        data.data,
        data.target,
        test_size=0.25,
        stratify=data.target,
        random_state=random_state,
    )
    # Standardized features: a gradient is then per standard deviation, comparable
    # across features (raw gradients scale with 1 / the feature's unit).
    mean, std = X_train.mean(), X_train.std()
    X_train, X_test = (X_train - mean) / std, (X_test - mean) / std
    model = HistGradientBoostingClassifier(
        max_iter=config["boosting_iter"], random_state=random_state
    ).fit(X_train, y_train)
    frozen = FrozenEstimator(model)
    rows = (
        X_test if config["blackbox_rows"] is None else X_test[: config["blackbox_rows"]]
    )
    common = {"method": "finite_difference", "verbose": verbose}

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ZeroGradientWarning)
        tiny = GradientExplainer(frozen, **common).fit(X_train)
        zero_fraction = float(np.mean(tiny.explain(rows) == 0))
    warned = any(issubclass(w.category, ZeroGradientWarning) for w in caught)

    step = 0.1
    sensitivity = FiniteDifference(step=step)
    explainers = {
        "gradient": GradientExplainer(frozen, method=sensitivity, verbose=verbose),
        "integrated_gradients": GradientExplainer(
            frozen,
            attribution=IntegratedGradients(
                baseline="mean", n_steps=config["ig_steps"]
            ),
            method=sensitivity,
            verbose=verbose,
        ),
        "smoothgrad": GradientExplainer(
            frozen,
            attribution=SmoothGrad(
                n_samples=config["smoothgrad_samples"],
                noise_level=0.1,
                random_state=random_state,
            ),
            method=sensitivity,
            verbose=verbose,
        ),
    }
    attributions, timings = {}, {}
    with warnings.catch_warnings():
        # Completeness is checked below; on a step function it holds only roughly.
        warnings.filterwarnings("ignore", message="Integrated gradients miss")
        for name, explainer in explainers.items():
            explainer.fit(X_train)
            start = time.perf_counter()
            attributions[name] = explainer.explain(rows)
            timings[name] = time.perf_counter() - start
        delta = explainers["integrated_gradients"].completeness_delta(rows)
    change = attributions["integrated_gradients"].sum(axis=1) - delta
    completeness = float(np.mean(np.abs(delta)) / max(np.mean(np.abs(change)), 1e-12))

    permutation = permutation_importance(
        model,
        rows,
        y_test[: len(rows)],
        scoring="neg_log_loss",
        n_repeats=config["permutation_repeats"],
        random_state=random_state,
    ).importances_mean
    names = np.asarray(data.feature_names, dtype=object)
    agreement = {
        name: float(_spearman(np.abs(a).mean(axis=0), permutation))
        for name, a in attributions.items()
    }
    metrics = {
        "model_test_accuracy": float(model.score(X_test, y_test)),
        "zero_fraction_default_step": zero_fraction,
        "zero_gradient_warning": warned,
        "step": step,
        "ig_relative_completeness_error": completeness,
        **{f"spearman_permutation_{k}": v for k, v in agreement.items()},
        **{f"seconds_{k}": v for k, v in timings.items()},
    }

    titles = {
        "gradient": f"gradient (step={step})",
        "integrated_gradients": "integrated gradients (mean baseline)",
        "smoothgrad": "SmoothGrad",
    }
    figure, axes = _new_figure(1, 3, (16, 5))
    for axis, (name, values) in zip(axes[0], attributions.items(), strict=True):
        GradientAttributionDisplay.from_attributions(
            values,
            kind="beeswarm",
            feature_names=names,
            data=np.asarray(rows),
            ax=axis,
            max_features=10,
            title=titles[name],
        )
    _save(
        figure,
        out,
        "blackbox_attributions.png",
        section,
        "HistGradientBoosting on breast cancer, explained by finite differences with "
        "step=0.1: per-sample attributions of P(benign) for the 10 most important "
        "features under each rule, colored by feature value.",
        config["dpi"],
    )

    figure, axes = _new_figure(1, 1, (6.5, 6))
    axis = axes[0, 0]
    mean_abs = {k: np.abs(v).mean(axis=0) for k, v in attributions.items()}
    order = np.argsort(-mean_abs["gradient"])[:10]
    width = 0.2
    positions = np.arange(len(order))[::-1]
    for i, (name, values) in enumerate(mean_abs.items()):
        axis.barh(
            positions + (1 - i) * width,
            values[order] / values.max(),
            height=width,
            label=titles[name],
        )
    axis.barh(
        positions - 2 * width,
        permutation[order] / max(permutation.max(), 1e-12),
        height=width,
        label="permutation importance",
        color="tab:gray",
    )
    axis.set_yticks(positions, list(names[order]))
    axis.set_xlabel("importance (relative to each method's largest)")
    axis.legend(
        fontsize="small", loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=2
    )
    axis.set_title("gradient boosting: importance by rule")
    _save(
        figure,
        out,
        "blackbox_importance.png",
        section,
        "Mean absolute attribution per rule (each scaled to its largest feature) "
        "beside permutation importance, for the 10 features that the plain gradient "
        "ranks first.",
        config["dpi"],
    )

    section.text += [
        f"HistGradientBoostingClassifier on scikit-learn's breast-cancer data, "
        f"standardized with the training statistics "
        f"(test accuracy {metrics['model_test_accuracy']:.3f}), is a black box: its "
        f"prediction is piecewise constant, so it has no useful derivative. Finite "
        f"differences at the default step (about 6e-6 of a feature's scale) see no "
        f"change: **{zero_fraction:.1%}** of them are exactly zero"
        f"{' (and the explainer warns, suggesting a larger step)' if warned else ''}. "
        f"Trees need a large step: with **step={step}** (a tenth of max(std, |x|) "
        f"for each feature) the differences measure the model's sensitivity over "
        f"that range. {len(rows)} test rows were explained; the importance (mean "
        f"|attribution|) of each rule is compared, over the 30 features, with "
        f"permutation importance on the same rows (log-loss; an independent, "
        f"model-agnostic reference; the features are strongly correlated, which the "
        f"two approaches treat differently):",
        _markdown_table(
            ["rule", "seconds", "Spearman with permutation importance"],
            [
                [titles[k], f"{timings[k]:.2f}", f"{agreement[k]:.2f}"]
                for k in attributions
            ],
        ),
        f"Integrated gradients along the straight line from the average patient use "
        f"{config['ig_steps']} points; on a step function their completeness holds "
        f"only roughly: mean |Σ attributions − (f(x) − f(baseline))| is "
        f"{completeness:.2f} of mean |f(x) − f(baseline)|.",
    ]
    section.summary = [
        f"default step: {zero_fraction:.1%} zero gradients; step={step}: Spearman "
        "correlation of mean |attribution| with permutation importance: "
        + ", ".join(f"{k} {v:.2f}" for k, v in agreement.items())
    ]
    section.metrics = metrics
    return section


def _spearman(a, b):
    from scipy.stats import spearmanr

    return spearmanr(a, b).statistic


# ---------------------------------------------------------------------- the report
def _write_report(out, sections, config, seconds, quick):
    lines = [
        "# sklearn-gradexplain: reproducing Hechtlinger (2016)",
        "",
        "*Interpretation of Prediction Models Using the Input Gradient* explains a "
        "model by the gradient of its prediction with respect to its input, globally "
        "by the mean gradient ḡ, and measures how linear the model is by the agreement "
        "of the linear classifier sign(x·ḡ + b) with it. This report reruns its "
        "experiments on data that ships with the install"
        + (
            " (quick configuration: tiny sizes, numbers not meaningful)."
            if quick
            else "."
        )
        + f" Total time: {seconds:.0f} s.",
        "",
    ]
    for section in sections:
        lines += [f"## {section.title}", ""]
        for paragraph in section.text:
            lines += [paragraph, ""]
        for name, caption in section.figures:
            lines += [f"![{caption}]({name})", "", f"*{caption}*", ""]
    lines += [
        "## Configuration",
        "",
        "```",
        *(f"{k} = {v}" for k, v in config.items()),
        "```",
        "",
    ]
    path = os.path.join(out, "report.md")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines))
    return path


def run_demo(out="demo_output", *, quick=False, random_state=0, verbose=1):
    """Run the paper's experiments, write ``out/report.md`` and its figures.

    Parameters
    ----------
    out : str, default="demo_output"
        Folder for ``report.md`` and the PNG figures (created if needed).
    quick : bool, default=False
        Tiny sizes, for tests (seconds instead of minutes; numbers not meaningful).
    random_state : int, default=0
        Seed of the corpus, the splits and the models.
    verbose : int, default=1
        0: silent; 1: print a short summary; 2: also progress bars on the long
        steps (training epochs, explanations).

    Returns
    -------
    results : dict
        Section title -> dict of measured figures, plus ``"report"`` (the path of
        ``report.md``), ``"figures"`` (the PNG paths) and ``"seconds"``.

    Examples
    --------
    >>> import tempfile
    >>> from sklearn_gradexplain._demo import run_demo
    >>> with tempfile.TemporaryDirectory() as out:
    ...     results = run_demo(out, quick=True, verbose=0)  # tiny sizes, seconds
    ...     print(len(results["figures"]), results["report"].endswith("report.md"))
    5 True
    """
    import torch
    from threadpoolctl import threadpool_limits

    config = QUICK if quick else FULL
    progress = int(verbose >= 2 and _has_tqdm())
    os.makedirs(out, exist_ok=True)
    start = time.perf_counter()
    threads = torch.get_num_threads()
    # Small models and batches: one thread (torch, OpenMP, BLAS) is fastest, and
    # immune to the collapse of multi-threaded kernels on busy cores.
    torch.set_num_threads(1)
    limits = threadpool_limits(limits=1)
    try:
        corpus = make_reviews(config["n_reviews"], random_state=random_state)
        rng = np.random.RandomState(random_state)
        permutation = rng.permutation(len(corpus.target))
        n_test = len(permutation) // 4
        split = (permutation[n_test:], permutation[:n_test])
        steps = [
            lambda: bag_of_words_section(
                corpus, split, config, out, random_state, progress
            ),
            lambda: cnn_section(corpus, split, config, out, random_state, progress),
            lambda: digits_section(config, out, random_state, progress),
            lambda: black_box_section(config, out, random_state, progress),
        ]
        sections = []
        for step in steps:
            section_start = time.perf_counter()
            section = step()
            section.metrics["seconds"] = time.perf_counter() - section_start
            sections.append(section)
            if verbose:
                print(f"{section.title} ({section.metrics['seconds']:.1f} s)")
                for line in section.summary:
                    print(f"    {line}")
    finally:
        torch.set_num_threads(threads)
        limits.restore_original_limits()
    seconds = time.perf_counter() - start
    report = _write_report(out, sections, config, seconds, quick)
    figures = [os.path.join(out, name) for s in sections for name, _ in s.figures]
    if verbose:
        print(f"Report: {report} ({len(figures)} figures, {seconds:.0f} s)")
    results = {s.title: s.metrics for s in sections}
    results.update(report=report, figures=figures, seconds=seconds)
    return results
