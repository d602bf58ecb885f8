"""
CNN on word embeddings: the expressions it reads (paper §5.1)
=============================================================

A convolutional network reads the movie-review snippets as sequences of word
embeddings (the paper's architecture, smaller). The L2 norm of the gradient of its
logit with respect to each word's embedding says which words it reads: the paper's
table lists, for the held-out reviews with the largest norms, the window of the
filter's width that starts at the word of largest norm.
:class:`~sklearn_gradexplain.TokenGradientExplainer` computes the norms on the logit
(the decision function), which does not saturate as a confident probability does.
"""

# %%
# The data: the same snippets and splits as the bag-of-words example, as token ids.
import matplotlib.pyplot as plt

from sklearn_gradexplain import _demo

data = _demo.movie_review_data()

# %%
# Five seeds
# ----------
section = _demo.cnn_section(data, n_jobs=_demo.default_n_jobs())
section.report()

# %%
# Words and expressions
# ---------------------
for spec in section.figures:
    section.draw(spec.name, plt.figure(figsize=spec.size, layout="constrained"))
