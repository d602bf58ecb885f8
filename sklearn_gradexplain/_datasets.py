"""A seeded synthetic corpus of movie reviews whose word polarities are known.

The paper's sentiment experiments use IMDB reviews; here the corpus is generated, so it
installs with the package and the truth is known: every word of the vocabulary is
*planted* as positive, negative or neutral, and a model explanation can be scored by how
well it recovers the planted polarities.
"""

import numpy as np
from sklearn.utils import Bunch, check_random_state

# Planted vocabularies. The polar words carry a strength (2: strong, 1: mild).
POSITIVE_WORDS = {
    "masterpiece": 2,
    "brilliant": 2,
    "superb": 2,
    "wonderful": 2,
    "excellent": 2,
    "outstanding": 2,
    "captivating": 2,
    "breathtaking": 2,
    "delightful": 1,
    "charming": 1,
    "moving": 1,
    "enjoyable": 1,
    "clever": 1,
    "touching": 1,
    "gripping": 1,
    "memorable": 1,
    "witty": 1,
    "solid": 1,
    "heartfelt": 1,
    "beautiful": 1,
}
NEGATIVE_WORDS = {
    "awful": 2,
    "terrible": 2,
    "worst": 2,
    "horrible": 2,
    "unwatchable": 2,
    "dreadful": 2,
    "pathetic": 2,
    "abysmal": 2,
    "boring": 1,
    "dull": 1,
    "bland": 1,
    "clumsy": 1,
    "tedious": 1,
    "predictable": 1,
    "forgettable": 1,
    "messy": 1,
    "shallow": 1,
    "lifeless": 1,
    "overlong": 1,
    "wooden": 1,
}
NEUTRAL_WORDS = (
    "movie film story plot scene scenes actor actors actress director script "
    "character characters cast camera music score ending beginning minutes hour "
    "time people man woman family friend city night day world life house car "
    "dialogue sequel series episode version studio budget screen audience theater "
    "review critic genre drama comedy thriller horror western romance action "
    "documentary animation novel book adaptation role roles performance hero villain "
    "police detective soldier war town school father mother son daughter brother "
    "sister wife husband king doctor team game money job office party dinner train "
    "ship island forest river mountain road street room door window phone letter "
    "picture photo song dance fight chase kiss death murder secret plan journey "
    "trip summer winter morning evening year years century history future past "
    "moment event place country village crowd soundtrack editing lighting costume "
    "makeup effects location set sets shot shots cut credits title trailer premiere "
    "festival release dvd version remake producer writer writers studio budget"
).split()


def _vocabulary():
    """Words (index 0 is the padding token ``"<pad>"``) and their planted polarity."""
    neutral = list(dict.fromkeys(NEUTRAL_WORDS))  # unique, in order
    words = list(POSITIVE_WORDS) + list(NEGATIVE_WORDS) + neutral
    polarity = np.array(
        [POSITIVE_WORDS[w] for w in POSITIVE_WORDS]
        + [-NEGATIVE_WORDS[w] for w in NEGATIVE_WORDS]
        + [0] * len(neutral),
        dtype=np.int64,
    )
    return words, polarity


def make_reviews(
    n_samples=2000,
    *,
    mean_length=30,
    polar_fraction=0.12,
    consistency=0.8,
    max_length=64,
    random_state=None,
):
    """Generate movie reviews with planted positive, negative and neutral words.

    Each review has a hidden sentiment, positive or negative with equal probability.
    Its length is ``3 + Poisson(mean_length - 3)`` words. Each word is, with
    probability ``polar_fraction``, a polar word, drawn from the vocabulary of the
    review's sentiment with probability ``consistency`` and from the opposite one
    otherwise (strong words twice as often as mild ones); the other words are neutral,
    drawn with Zipf-like frequencies. The label is the sign of the summed strength of
    the review's polar words (the hidden sentiment on ties), so it is a function of the
    words that a model can learn, and a word's planted polarity is the truth that
    explanations are scored against.

    Parameters
    ----------
    n_samples : int, default=2000
        Number of reviews.
    mean_length : float, default=30
        Mean number of words per review.
    polar_fraction : float, default=0.12
        Probability that a word is polar (positive or negative).
    consistency : float, default=0.8
        Probability that a polar word agrees with the review's hidden sentiment.
    max_length : int, default=64
        Length of the token-id sequences (longer reviews are cut, shorter ones padded
        with token id 0).
    random_state : int, RandomState instance or None, default=None
        Seed of the generator.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with attributes:

        - ``data``: ndarray of shape (n_samples, n_words), float32 binary word presence
          (bag of words; column ``j`` is ``vocabulary[j + 1]``);
        - ``tokens``: ndarray of shape (n_samples, max_length), int64 token ids
          (0 pads, word ``j`` of ``feature_names`` has id ``j + 1``);
        - ``target``: ndarray of shape (n_samples,), 1 for positive reviews, 0 else;
        - ``text``: list of str, the reviews;
        - ``feature_names``: ndarray of str, the words (columns of ``data``);
        - ``vocabulary``: list of str, token id -> word (``vocabulary[0] == "<pad>"``);
        - ``polarity``: ndarray of int, planted polarity of each word of
          ``feature_names`` (+2, +1 positive, 0 neutral, -1, -2 negative).

    Examples
    --------
    >>> from sklearn_gradexplain._datasets import make_reviews
    >>> reviews = make_reviews(n_samples=5, random_state=0)
    >>> reviews.data.shape[0], reviews.tokens.shape
    (5, (5, 64))
    >>> reviews.vocabulary[0]
    '<pad>'
    >>> sorted(set(reviews.polarity.tolist()))
    [-2, -1, 0, 1, 2]
    """
    rng = check_random_state(random_state)
    words, polarity = _vocabulary()
    n_words = len(words)
    positive = np.flatnonzero(polarity > 0)
    negative = np.flatnonzero(polarity < 0)
    neutral = np.flatnonzero(polarity == 0)

    def weights(indices):
        w = np.abs(polarity[indices]).astype(float)
        return w / w.sum()

    p_positive, p_negative = weights(positive), weights(negative)
    zipf = 1.0 / np.arange(1, len(neutral) + 1) ** 0.8
    p_neutral = zipf / zipf.sum()
    neutral = rng.permutation(neutral)  # which neutral words are frequent

    sentiment = rng.randint(2, size=n_samples)
    lengths = 3 + rng.poisson(max(mean_length - 3, 0), size=n_samples)
    data = np.zeros((n_samples, n_words), dtype=np.float32)
    tokens = np.zeros((n_samples, max_length), dtype=np.int64)
    target = np.empty(n_samples, dtype=np.int64)
    text = []
    for i in range(n_samples):
        length = lengths[i]
        polar = rng.random_sample(length) < polar_fraction
        agrees = rng.random_sample(length) < consistency
        own = positive if sentiment[i] else negative
        other = negative if sentiment[i] else positive
        p_own = p_positive if sentiment[i] else p_negative
        p_other = p_negative if sentiment[i] else p_positive
        review = rng.choice(neutral, size=length, p=p_neutral)
        n_own = int(np.sum(polar & agrees))
        n_other = int(np.sum(polar & ~agrees))
        review[polar & agrees] = rng.choice(own, size=n_own, p=p_own)
        review[polar & ~agrees] = rng.choice(other, size=n_other, p=p_other)
        score = polarity[review].sum()
        target[i] = sentiment[i] if score == 0 else int(score > 0)
        data[i, review] = 1.0
        kept = review[:max_length]
        tokens[i, : len(kept)] = kept + 1
        text.append(" ".join(words[j] for j in review))
    return Bunch(
        data=data,
        tokens=tokens,
        target=target,
        text=text,
        feature_names=np.asarray(words, dtype=object),
        vocabulary=["<pad>", *words],
        polarity=polarity,
    )
