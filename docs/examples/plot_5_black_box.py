"""
A black box explained by finite differences (beyond the paper)
===============================================================

Gradient boosting is piecewise constant: its derivative is zero almost everywhere,
and finite differences at a derivative's step see nothing (the explainer warns).
With a larger step, ``FiniteDifference(step=0.1)``, the differences measure the
model's sensitivity, and integrated gradients and SmoothGrad average many of them.
Their importances are compared with permutation importance on scikit-learn's
breast-cancer data.
"""

# %%
import matplotlib.pyplot as plt

from sklearn_gradexplain import _demo

section = _demo.black_box_section(n_jobs=_demo.default_n_jobs())
section.report()

# %%
for spec in section.figures:
    section.draw(spec.name, plt.figure(figsize=spec.size, layout="constrained"))
