"""Former home of :func:`~sklearn_gradexplain.datasets.make_reviews`.

The synthetic corpus now lives in the public :mod:`sklearn_gradexplain.datasets`; this
module only re-exports it, so that older references
(``sklearn_gradexplain._datasets.make_reviews``) still resolve.
"""

from .datasets import NEGATIVE_WORDS, NEUTRAL_WORDS, POSITIVE_WORDS, make_reviews

__all__ = ["NEGATIVE_WORDS", "NEUTRAL_WORDS", "POSITIVE_WORDS", "make_reviews"]
