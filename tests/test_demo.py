"""The synthetic review corpus and the paper reproduction (``gradexplain demo``).

The corpus is checked against its own definition, recomputed independently from the
review texts; the demo runs in its quick configuration (tiny sizes) and is checked for
what it promises: a report with its figures and the measured figures stated in it.
"""

import contextlib
import io
import re

import numpy as np
import pytest

from sklearn_gradexplain._datasets import (
    NEGATIVE_WORDS,
    POSITIVE_WORDS,
    make_reviews,
)


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


@pytest.fixture(scope="module")
def quick_demo(tmp_path_factory):
    """One quick run of the demo (tiny sizes), with what it printed."""
    pytest.importorskip("skorch")
    pytest.importorskip("matplotlib")
    from sklearn_gradexplain._demo import run_demo

    out = tmp_path_factory.mktemp("demo")
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        results = run_demo(out, quick=True, random_state=1, verbose=1)
    return out, results, printed.getvalue()


def test_quick_demo_writes_report_with_figures(quick_demo):
    out, results, printed = quick_demo
    assert "agreement" in printed and "precision" in printed
    assert results["report"] == str(out / "report.md")

    report = (out / "report.md").read_text(encoding="utf-8")
    linked = re.findall(r"!\[[^\]]*\]\(([^)]+\.png)\)", report)
    assert len(set(linked)) >= 4
    assert sorted(str(out / name) for name in linked) == sorted(results["figures"])
    for name in linked:
        png = (out / name).read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n"
        assert len(png) > 1000
    # the report states the agreement figures and the top-word precision
    assert re.search(r"agrees with the net\s+on \*\*[01]\.\d{3}\*\*", report)
    assert re.search(r"agrees with the MLP on \*\*[01]\.\d{3}\*\*", report)
    assert re.search(r"top 10 positive \*\*[01]\.\d\d\*\*", report)
    assert re.search(r"top 10: \*\*[01]\.\d\d\*\*", report)


def test_quick_demo_figures_are_consistent(quick_demo):
    _, results, _ = quick_demo
    sections = [v for v in results.values() if isinstance(v, dict)]
    assert len(sections) == 4
    for metrics in sections:
        for name, value in metrics.items():
            if "precision" in name or "agreement" in name or "accuracy" in name:
                assert 0.0 <= value <= 1.0, name
    bow, cnn, digits, black_box = sections
    assert bow["surrogate_agreement_test"] >= 0.5
    assert digits["surrogate_agreement_test"] >= 0.5
    # piecewise-constant trees: (almost) all finite differences vanish at the
    # default step, which is why the demo uses step=0.1
    assert black_box["zero_fraction_default_step"] > 0.9
    assert black_box["zero_gradient_warning"]
