"""Memory of wide data and of fit on many rows (issue 13, items 11 and 12).

Each case runs in a fresh Python process, so that its peak resident set size is its
own: the high-water mark of its address space (``VmHWM`` of ``/proc/self/status``).
``resource.getrusage``'s ``ru_maxrss`` would not do: Linux carries the parent's
resident size at ``fork`` into the child's ``ru_maxrss`` across ``exec``, so a child
of a large benchmark process reports the parent's size.

* **wide data**: 1,000 rows × 10,000 features of a ``StandardScaler`` + ``Ridge``
  pipeline explained by finite differences with ``batch_size="auto"``. 0.1 stacked
  the (rows, 2d, d) perturbations of a chunk at once, 16·d² bytes a row: 5 rows took
  3.05 GiB. Target: within 1 GiB peak RSS. Reference: the peak RSS of the same
  process before the explanation (the data and the model loaded).
* **fit on 1M × 50**: ``GradientExplainer.fit`` of a frozen linear model by finite
  differences on 1,000,000 × 50 float64 rows (400 MB). 0.1 grew by 763 MiB (twice the
  input). Reference: the process's RSS with the data loaded; target: the extra within
  a quarter of the input.

Quick mode: 20 rows × 10,000 features and 200,000 × 50 (the full wide case evaluates
the model on 20 million perturbed rows of 10,000 features: minutes).
"""

import sys
import textwrap
from pathlib import Path

try:
    from ._common import json_of_child, row
except ImportError:  # run as a script
    from _common import json_of_child, row

ROOT = Path(__file__).resolve().parent.parent
MB = 2**20

# the children import the one definition of a process's own peak RSS
PEAK_RSS = (
    "import sys; sys.path.insert(0, 'benchmarks'); from _common import peak_rss\n"
)

WIDE = PEAK_RSS + textwrap.dedent(
    """
    import json, sys, time, warnings
    import numpy as np
    from sklearn.frozen import FrozenEstimator
    from sklearn.linear_model import Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn_gradexplain import GradientExplainer
    n_rows, n_features = int(sys.argv[1]), int(sys.argv[2])
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n_rows, n_features))
    fit = rng.standard_normal((300, n_features))
    model = make_pipeline(StandardScaler(), Ridge()).fit(fit, rng.standard_normal(300))
    explainer = GradientExplainer(FrozenEstimator(model), method="finite_difference")
    explainer.fit(X[:50])
    before = peak_rss()
    start = time.perf_counter()
    attributions = explainer.explain(X)
    seconds = time.perf_counter() - start
    peak = peak_rss()
    expected = model[-1].coef_ / model[0].scale_
    error = float(np.abs(attributions - expected).max() / np.abs(expected).max())
    print(json.dumps({"before": before, "peak": peak, "seconds": seconds,
                      "error": error}))
    """
)

FIT = PEAK_RSS + textwrap.dedent(
    """
    import json, sys, time
    import numpy as np
    from sklearn.frozen import FrozenEstimator
    from sklearn.linear_model import LinearRegression
    from sklearn_gradexplain import GradientExplainer
    n_rows, n_features = int(sys.argv[1]), int(sys.argv[2])
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n_rows, n_features))
    model = LinearRegression().fit(X[:1000], X[:1000] @ np.arange(n_features))
    explainer = GradientExplainer(FrozenEstimator(model), method="finite_difference")
    before = peak_rss()
    start = time.perf_counter()
    explainer.fit(X)
    seconds = time.perf_counter() - start
    peak = peak_rss()
    error = float(np.abs(explainer.global_gradient_ - model.coef_).max())
    print(json.dumps({"before": before, "peak": peak, "seconds": seconds,
                      "data": X.nbytes, "error": error}))
    """
)


def _measure(script, *args):
    return json_of_child(["-c", script, *args], cwd=ROOT, timeout=1800)


def run(quick=False):
    """Rows: peak RSS of wide data and of a long fit, against their references."""
    n_wide = 20 if quick else 1000
    wide = _measure(WIDE, n_wide, 10_000)
    n_fit = 200_000 if quick else 1_000_000
    fit = _measure(FIT, n_fit, 50)
    return [
        row(
            f"FD Scaler+Ridge {n_wide:,}×10,000 explain: peak RSS",
            wide["peak"] / MB,
            1024,
            f"reference: the 1 GiB budget; {wide['before'] / MB:,.0f} MB with data "
            f"and model loaded, so the explanation added "
            f"{(wide['peak'] - wide['before']) / MB:,.0f} MB; 0.1 stacked 16·d² bytes "
            f"a row ({n_wide * 16 * 10_000**2 / 2**30:,.0f} GiB for these rows); "
            f"explained in {wide['seconds']:.1f} s, max rel. error vs coef "
            f"{wide['error']:.1e}",
            target="<= 1",
            unit="MB",
        ),
        row(
            f"FD LinearRegression fit on {n_fit:,}×50: peak RSS",
            fit["peak"] / MB,
            fit["before"] / MB,
            f"reference: RSS with the data loaded ({fit['data'] / MB:,.0f} MB of "
            f"data); fit took {fit['seconds']:.1f} s; extra "
            f"{(fit['peak'] - fit['before']) / MB:,.0f} MB (0.1: 763 MiB at 1M×50); "
            f"max |global gradient - coef| {fit['error']:.1e}",
            # quick: 76 MB of rows, less than 4 chunks' working memory, which the
            # extra is whatever the rows (flat); the target is the full run's
            target=None
            if quick
            else f"<= {1 + 0.25 * fit['data'] / fit['before']:.2f}",
            unit="MB",
        ),
    ]


if __name__ == "__main__":
    for line in run(quick="--quick" in sys.argv):
        print(line)
