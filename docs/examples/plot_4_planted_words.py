"""
Known truth: a corpus with planted word polarities (beyond the paper)
=====================================================================

On real data the truth is only what people say; here it is planted.
:func:`~sklearn_gradexplain.datasets.make_reviews` generates reviews from a vocabulary
whose words are positive, negative or neutral by construction, and labels each review
by the sign of its words' summed polarity. The bag-of-words network of the first
example is trained on it, and its mean gradient is scored against the planted
polarities. The labels are a nearly linear function of the words, so the surrogate's
agreement is nearly implied here: the real-data examples are the test of the paper's
method, this one a check of the code.
"""

# %%
import matplotlib.pyplot as plt

from sklearn_gradexplain import _demo

section = _demo.synthetic_section(n_jobs=_demo.default_n_jobs())
section.report()

# %%
for spec in section.figures:
    section.draw(spec.name, plt.figure(figsize=spec.size, layout="constrained"))
