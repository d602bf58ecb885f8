"""Command line: ``gradexplain demo`` and ``gradexplain explain``."""

import sys


def main(argv=None):
    """Entry point of the ``gradexplain`` command."""
    from sklearn.datasets import load_breast_cancer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from . import GradientExplainer

    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    explainer = GradientExplainer(
        make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    ).fit(X, y)
    order = abs(explainer.global_gradient_).argsort()[::-1][:10]
    print("Top features by |mean gradient| of P(benign):")
    for j in order:
        print(f"  {X.columns[j]:<25s} {explainer.global_gradient_[j]:+.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
