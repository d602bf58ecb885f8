"""Per-sample explanation cost against KernelSHAP and LIME (context, not a race).

KernelSHAP and LIME compute other explanations (Shapley values, local linear surrogates)
than the input gradient, so these lines are context: what one explained sample costs
with each tool on the same fitted model. Ours explains every row of the data in bulk
(``GradientExplainer(method="finite_difference")``, a black-box method like theirs);
KernelSHAP (50 background rows, ``nsamples="auto"``) and LIME (``num_samples=5000``, its
default) explain a few rows one at a time, which is how they are used. The figures are
seconds per explained sample.
"""

import time
import warnings

from sklearn.frozen import FrozenEstimator

from sklearn_gradexplain import FiniteDifference, GradientExplainer

try:
    from ._common import best_of, row
    from .bench_fd import MODELS as FD_MODELS
    from .bench_fd import data
except ImportError:  # run as a script
    from _common import best_of, row
    from bench_fd import MODELS as FD_MODELS
    from bench_fd import data

N_SAMPLES, N_FEATURES = 2_000, 20
N_BACKGROUND = 50

# the same models (and steps) as the finite-difference benchmark
MODELS = {name: FD_MODELS[name] for name in ("MLPClassifier", "HistGradientBoosting")}


def kernel_shap_seconds(model, X, explained):
    import shap

    background = shap.sample(X, N_BACKGROUND, random_state=0)
    explainer = shap.KernelExplainer(model.predict_proba, background)
    start = time.perf_counter()
    explainer.shap_values(explained, nsamples="auto", silent=True)
    return (time.perf_counter() - start) / len(explained)


def lime_seconds(model, X, explained):
    from lime.lime_tabular import LimeTabularExplainer

    explainer = LimeTabularExplainer(X, mode="classification", random_state=0)
    start = time.perf_counter()
    for x in explained:
        explainer.explain_instance(
            x, model.predict_proba, num_features=X.shape[1], num_samples=5000
        )
    return (time.perf_counter() - start) / len(explained)


def bench_model(name, quick):
    make_model, step = MODELS[name]
    X, y = data(N_SAMPLES, N_FEATURES)
    model = make_model().fit(X, y)
    explainer = GradientExplainer(
        FrozenEstimator(model), method=FiniteDifference(step=step)
    ).fit(X[:200])
    ours_s, _ = best_of(lambda: explainer.explain(X), n_repeats=3)
    ours = ours_s / len(X)
    n_explained = 2 if quick else 5
    explained = X[:n_explained]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        shap_s = kernel_shap_seconds(model, X, explained)
        lime_s = lime_seconds(model, X, explained)
    label = f"per-sample cost {name} {N_SAMPLES:,}×{N_FEATURES}"
    ours_note = f"ours: finite differences on all {N_SAMPLES:,} rows in bulk"
    return [
        row(
            f"{label} vs KernelSHAP",
            ours,
            shap_s,
            f"context (another method); s/sample; {ours_note}; KernelSHAP: "
            f"{N_BACKGROUND} background rows, nsamples='auto', {n_explained} rows",
            unit="s/sample",
        ),
        row(
            f"{label} vs LIME",
            ours,
            lime_s,
            f"context (another method); s/sample; {ours_note}; LIME: "
            f"num_samples=5000, {n_explained} rows one by one",
            unit="s/sample",
        ),
    ]


def run(quick=False):
    """Rows of the per-sample cost comparison with KernelSHAP and LIME."""
    rows = []
    for name in MODELS:
        rows.extend(bench_model(name, quick))
    return rows


if __name__ == "__main__":
    import sys

    from _common import set_threads

    set_threads(1)
    for line in run(quick="--quick" in sys.argv):
        print(line)
