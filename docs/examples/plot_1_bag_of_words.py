"""
Bag-of-words network on movie reviews (paper §5.2)
==================================================

A feed-forward network reads which words a movie-review snippet contains and predicts
whether people rated it positive. The mean gradient ḡ of its prediction over the
training snippets ranks the words, like the coefficients of a linear model; the
ranking is checked against the human valence of VADER's lexicon, rated by people who
never saw this model. The linear classifier sign(x·ḡ + b), built from ḡ alone, says
how linear the network is.

The snippets are sentences of Rotten Tomatoes reviews, each rated by at least 20
people (:func:`~sklearn_gradexplain.datasets.fetch_movie_reviews`); the paper used
full IMDB reviews.
"""

# %%
# The data
# --------
# The snippets are downloaded once (the source distribution of ``vaderSentiment``,
# through pip) and cached; the lexicon comes with the installed ``vaderSentiment``.
import matplotlib.pyplot as plt

from sklearn_gradexplain import _demo

data = _demo.movie_review_data()
print(f"{len(data.texts):,} snippets, {data.target.mean():.1%} rated positive")
print(f"{len(data.lexicon):,} tokens with a human valence")
print(data.texts[0])

# %%
# Five seeds
# ----------
# Each seed draws a stratified split, builds the vocabulary of its training
# snippets, trains the net and explains it with
# :class:`~sklearn_gradexplain.GradientSurrogateClassifier`, whose ``coef_`` is ḡ.
section = _demo.bag_of_words_section(data, n_jobs=_demo.default_n_jobs())
section.report()

# %%
# The words, and their human valence
# ----------------------------------
for spec in section.figures:
    section.draw(spec.name, plt.figure(figsize=spec.size, layout="constrained"))
