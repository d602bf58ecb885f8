"""``gradexplain explain`` and the command line's handling of bad input and failures.

Attributions written by the command are compared with the analytic gradient of a
standardized logistic regression, computed in numpy: for a pipeline
``StandardScaler -> LogisticRegression`` the gradient of P(y=k) with respect to the raw
input is p_k (w_k - Σ_j p_j w_j) / σ (binary: p(1-p) w / σ).

Failures are produced for real: models that raise, sleep or write into the output folder
during the run (defined in a small module written next to the data, so that a separate
``gradexplain`` process can unpickle them), a write that runs out of space, and SIGINT
sent to a running process.
"""

import errno
import os
import signal
import subprocess
import sys
import time

import joblib
import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.datasets import load_iris, make_classification
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_gradexplain._cli import main

pd = pytest.importorskip("pandas")

NAMES = ["radius", "texture", "smooth ness", "area"]
NOTE = "gradexplain explain: note: "
ERROR = "gradexplain explain: error: "

# Models that fail in given ways, importable by name in this process and in a child.
MODELS_MODULE = "gradexplain_cli_test_models"
MODELS_SOURCE = '''
"""Models for the command-line tests."""

import builtins
import os
import time

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression


class Flaky(ClassifierMixin, BaseEstimator):
    """A logistic regression raising ``error`` on rows whose x0 exceeds ``limit``."""

    def __init__(self, limit=np.inf, error="ValueError"):
        self.limit = limit
        self.error = error

    def fit(self, X, y):
        X = np.asarray(X, dtype=float)
        self.model_ = LogisticRegression().fit(X, y)
        self.classes_ = self.model_.classes_
        self.n_features_in_ = X.shape[1]
        return self

    def predict_proba(self, X):
        X = np.asarray(X, dtype=float)
        if np.any(X[:, 0] > self.limit):
            raise getattr(builtins, self.error)(f"cannot score x0 above {self.limit}")
        return self.model_.predict_proba(X)

    def predict(self, X):
        return self.classes_[self.predict_proba(X).argmax(axis=1)]


class Interrupting(Flaky):
    """Ctrl-C inside the model: ``KeyboardInterrupt`` past the first rows."""

    def predict_proba(self, X):
        if len(X) > 8:
            raise KeyboardInterrupt
        return super().predict_proba(X)


class Slow(Flaky):
    """On its first call with more than ``probe`` rows: create ``marker``, sleep."""

    def __init__(self, marker=None, delay=0.0, probe=8):
        super().__init__()
        self.marker = marker
        self.delay = delay
        self.probe = probe

    def predict_proba(self, X):
        if len(X) > self.probe and self.marker and not os.path.exists(self.marker):
            with open(self.marker, "w") as file:
                file.write("written by the model during the run")
            time.sleep(self.delay)
        return super().predict_proba(X)
'''


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """The test models' module, importable here (and by a child with PYTHONPATH)."""
    folder = tmp_path_factory.mktemp("models")
    (folder / f"{MODELS_MODULE}.py").write_text(MODELS_SOURCE)
    sys.path.insert(0, str(folder))
    module = __import__(MODELS_MODULE)
    yield folder, module
    sys.path.remove(str(folder))
    sys.modules.pop(MODELS_MODULE, None)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """A saved scaler+model pipeline (fitted on a DataFrame) and a CSV with labels."""
    folder = tmp_path_factory.mktemp("cli")
    X, y = make_classification(n_samples=40, n_features=4, random_state=0)
    X = X * [1.0, 10.0, 0.1, 100.0] + [0.0, 5.0, 0.0, 500.0]
    frame = pd.DataFrame(X, columns=NAMES)
    pipeline = make_pipeline(StandardScaler(), LogisticRegression()).fit(frame, y)
    joblib.dump(pipeline, folder / "model.joblib")
    frame.assign(label=y).to_csv(folder / "data.csv", index=False)

    iris = load_iris(as_frame=True)
    iris_model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500))
    iris_model.fit(iris.data.to_numpy(), iris.target)  # no feature names
    joblib.dump(iris_model, folder / "iris.joblib")
    iris.data.assign(species=iris.target).to_csv(folder / "iris.csv", index=False)
    return folder, pipeline, frame, iris_model, iris.data


def _analytic(pipeline, X):
    """P(y=k) gradients (n, n_classes, n_features) of a scaler + logistic pipeline."""
    scaler, model = pipeline[0], pipeline[-1]
    P = pipeline.predict_proba(X)
    W = model.coef_ / scaler.scale_
    if W.shape[0] == 1:
        return (P[:, 1] * P[:, 0])[:, None, None] * W[None]
    return P[:, :, None] * (W[None] - (P @ W)[:, None, :])


def _errors(err):
    """stderr without the notes: what the tests hold to a single line."""
    return [line for line in err.strip().splitlines() if not line.startswith(NOTE)]


def _leftovers(folder):
    """Temporary files the command may have left in ``folder``."""
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


# ---------------------------------------------------------------- results
def test_explain_pipeline_on_csv_with_header(files, capsys):
    folder, pipeline, frame, _, _ = files
    out = folder / "attributions.csv"
    argv = ["explain", str(folder / "model.joblib"), str(folder / "data.csv")]
    status = main([*argv, "--label-column", "label", "--out", str(out), "--force"])
    assert status == 0
    result = pd.read_csv(out)
    assert list(result.columns) == [f"grad__{name}" for name in NAMES]
    assert len(result) == len(frame)
    expected = _analytic(pipeline, frame)[:, 0]
    assert_allclose(
        result.to_numpy(), expected, rtol=1e-6, atol=1e-8 * abs(expected).max()
    )
    printed = capsys.readouterr()
    # a pickle runs code when loaded: one note says so, nothing else on stderr
    notes = printed.err.strip().splitlines()
    assert len(notes) == 1 and notes[0].startswith(NOTE)
    assert "runs code" in notes[0] and "trusted source" in notes[0]


def test_summary_ranks_by_scaled_importance(tmp_path, capsys):
    """Features in large units rank by their effect per standard deviation.

    On the breast-cancer data, raw gradients put "fractal dimension error" (a feature
    of standard deviation 0.003) first and "worst area" (std 569) near the end.
    """
    from sklearn.datasets import load_breast_cancer

    data = load_breast_cancer(as_frame=True)
    X = data.data
    pipeline = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    pipeline.fit(X, data.target)
    joblib.dump(pipeline, tmp_path / "model.joblib")
    X.to_csv(tmp_path / "data.csv", index=False)
    names = list(X.columns)
    out = tmp_path / "out.csv"
    argv = ["explain", str(tmp_path / "model.joblib"), str(tmp_path / "data.csv")]
    argv += ["--out", str(out), "--force", "--top", "30"]
    gradient = _analytic(pipeline, X)[:, 0]
    importance = np.abs(gradient).mean(axis=0)
    scaled = importance * X.to_numpy().std(axis=0)
    by_scaled = [names[j] for j in np.argsort(-scaled)]
    by_importance = [names[j] for j in np.argsort(-importance)]
    assert by_importance[0] == "fractal dimension error"
    assert by_scaled.index("worst area") < 10 < by_importance.index("worst area")

    def order(printed):
        rows = [line.split("  ")[0].strip() for line in printed.splitlines()]
        return [name for name in rows if name in names]

    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert order(printed) == by_scaled
    assert f"{scaled.max():.4g}" in printed and f"{importance.max():.4g}" in printed
    assert "ranked by scaled" in printed
    # the key says what each number is, in which units
    assert "one standard deviation of the feature" in printed
    assert "per unit of the feature" in printed
    assert "predict_proba of class 1" in printed

    assert main([*argv, "--rank-by", "importance"]) == 0
    printed = capsys.readouterr().out
    assert order(printed) == by_importance
    assert "ranked by mean |attr|" in printed

    # attributions already in output units are ranked by them by default
    assert main([*argv, "--attribution", "gradient_x_input"]) == 0
    printed = capsys.readouterr().out
    attributions = pd.read_csv(out).to_numpy()
    reference = X.to_numpy() * gradient  # finite differences without torch: 1e-5
    assert_allclose(
        attributions, reference, rtol=1e-5, atol=1e-8 * abs(reference).max()
    )
    magnitude = np.abs(attributions).mean(axis=0)
    assert order(printed) == [names[j] for j in np.argsort(-magnitude)]
    assert "(an output change)" in printed


def test_explain_multiclass_target_without_feature_names(files, capsys):
    folder, _, _, iris_model, iris_data = files
    out = folder / "iris_out.csv"
    base = ["explain", str(folder / "iris.joblib"), str(folder / "iris.csv")]
    base += ["--label-column", "species", "--out", str(out), "--force"]
    assert main([*base, "--target", "2"]) == 0
    result = pd.read_csv(out)
    assert list(result.columns) == [f"grad__{c}" for c in iris_data.columns]
    expected = _analytic(iris_model, iris_data.to_numpy())[:, 2]
    assert_allclose(
        result.to_numpy(), expected, rtol=1e-6, atol=1e-8 * abs(expected).max()
    )

    # every class: one column per class and feature, one summary column per class
    assert main([*base, "--top", "2"]) == 0
    result = pd.read_csv(out)
    assert result.shape == (150, 12)
    assert result.columns[4] == f"grad[1]__{iris_data.columns[0]}"
    printed = capsys.readouterr().out
    assert "mean[0]" in printed and "mean[2]" in printed
    assert "2 more feature(s)" in printed
    # scaled importance averaged over the classes, with the data's std (ddof=0)
    gradients = _analytic(iris_model, iris_data.to_numpy())
    scaled = np.abs(gradients).mean(axis=0).mean(axis=0) * iris_data.std(ddof=0)
    top = iris_data.columns[int(np.argmax(scaled.to_numpy()))]
    assert f"{scaled.max():.4g}" in printed
    assert printed.splitlines()[6].startswith(top)


def test_explain_finite_differences_and_integrated_gradients(files):
    folder, pipeline, frame, _, _ = files
    out = folder / "ig.csv"
    base = ["explain", str(folder / "model.joblib"), str(folder / "data.csv")]
    base += ["--label-column", "label", "--out", str(out), "--force"]
    assert main([*base, "--method", "finite_difference"]) == 0
    expected = _analytic(pipeline, frame)[:, 0]
    assert_allclose(pd.read_csv(out).to_numpy(), expected, rtol=1e-5, atol=1e-9)

    assert main([*base, "--attribution", "integrated_gradients"]) == 0
    attributions = pd.read_csv(out).to_numpy()
    # completeness: the attributions sum to f(x) - f(0) (zero baseline)
    change = (
        pipeline.predict_proba(frame)[:, 1]
        - pipeline.predict_proba(pd.DataFrame(np.zeros((1, 4)), columns=NAMES))[0, 1]
    )
    assert_allclose(attributions.sum(axis=1), change, rtol=1e-2, atol=1e-3)


def test_id_column_is_kept_out_of_the_features_and_written_first(files, tmp_path):
    _, pipeline, frame, _, _ = files
    ids = [f"{i:03d}" for i in range(len(frame))]  # leading zeros must survive
    data = tmp_path / "with_ids.csv"
    frame.assign(patient=ids, label=0).to_csv(data, index=False)
    joblib.dump(pipeline, tmp_path / "model.joblib")
    out = tmp_path / "out.csv"
    argv = ["explain", str(tmp_path / "model.joblib"), str(data), "--out", str(out)]
    assert main([*argv, "--id-column", "patient", "--label-column", "label"]) == 0
    result = pd.read_csv(out, dtype={"patient": str})
    assert list(result.columns) == ["patient"] + [f"grad__{n}" for n in NAMES]
    assert result["patient"].tolist() == ids
    expected = _analytic(pipeline, frame)[:, 0]
    assert_allclose(result.iloc[:, 1:].to_numpy(), expected, rtol=1e-6, atol=1e-10)


def test_n_jobs_reaches_the_explainer(files, monkeypatch):
    from sklearn_gradexplain import _explainer

    folder, pipeline, frame, _, _ = files
    seen = []

    class Spy(_explainer.GradientExplainer):
        def fit_transform(self, X, y=None, **params):
            seen.append((self.n_jobs, self.method))
            return super().fit_transform(X, y, **params)

    monkeypatch.setattr(_explainer, "GradientExplainer", Spy)
    out = folder / "jobs.csv"
    argv = ["explain", str(folder / "model.joblib"), str(folder / "data.csv")]
    argv += ["--label-column", "label", "--out", str(out), "--force"]
    assert main([*argv, "--n-jobs", "2", "--method", "finite_difference"]) == 0
    assert seen == [(2, "finite_difference")]
    expected = _analytic(pipeline, frame)[:, 0]
    assert_allclose(pd.read_csv(out).to_numpy(), expected, rtol=1e-5, atol=1e-9)


# ---------------------------------------------------------------- bad input
@pytest.fixture(scope="module")
def bad_cases(files):
    """Case name -> (arguments, fragment of the expected message), and --out."""
    folder = files[0]
    model, data = str(folder / "model.joblib"), str(folder / "data.csv")
    out = str(folder / "bad_out.csv")
    (folder / "notes.joblib").write_text("not a pickle")
    (folder / "notes.skops").write_text("not a zip")
    joblib.dump({"weights": [1, 2]}, folder / "dict.joblib")
    joblib.dump(LogisticRegression(), folder / "unfitted.joblib")
    joblib.dump(
        LinearRegression().fit(np.eye(3), [1.0, 2.0, 3.0]), folder / "three.joblib"
    )
    frame = pd.read_csv(data)
    frame.drop(columns=["area"]).to_csv(folder / "missing_col.csv", index=False)
    frame.assign(colour="red").to_csv(folder / "text_col.csv", index=False)
    frame.rename(columns={"area": "size"}).to_csv(folder / "renamed.csv", index=False)
    frame.drop(columns=["label"]).assign(area="big").to_csv(
        folder / "text_feature.csv", index=False
    )
    (folder / "empty.csv").write_text("")
    frame.drop(columns=["label"]).iloc[:0].to_csv(folder / "no_rows.csv", index=False)
    nan = frame.drop(columns=["label"]).copy()
    nan.iloc[3, 1] = np.nan
    nan.to_csv(folder / "nan.csv", index=False)
    (folder / "existing.csv").write_text("an old result\n")
    (folder / "a_folder").mkdir()
    os.symlink(folder / "data.csv", folder / "alias.csv")
    os.link(folder / "model.joblib", folder / "hardlink.joblib")
    lbl = ["--label-column", "label"]
    return {
        "missing model": ([str(folder / "nope.joblib"), data, *lbl], "not found"),
        "missing data": ([model, str(folder / "nope.csv"), *lbl], "not found"),
        "not a pickle": ([str(folder / "notes.joblib"), data, *lbl], "not a model"),
        "not a model": ([str(folder / "dict.joblib"), data, *lbl], "dict"),
        "not fitted": ([str(folder / "unfitted.joblib"), data, *lbl], "not fitted"),
        "label kept": ([model, data], "unexpected column(s) label"),
        "missing column": (
            [model, str(folder / "missing_col.csv"), *lbl],
            "missing column(s) area",
        ),
        "renamed column": ([model, str(folder / "renamed.csv"), *lbl], "size"),
        "column count": ([str(folder / "three.joblib"), data, *lbl], "expects 3"),
        "non-numeric extra": (
            [model, str(folder / "text_col.csv"), *lbl],
            "non-numeric data in column(s) colour",
        ),
        "non-numeric feature": (
            [model, str(folder / "text_feature.csv")],
            "non-numeric data in column(s) area",
        ),
        "empty file": ([model, str(folder / "empty.csv")], "cannot read"),
        "no rows": ([model, str(folder / "no_rows.csv")], "no data rows"),
        "NaN": ([model, str(folder / "nan.csv")], "NaN"),
        "bad label column": ([model, data, "--label-column", "y"], "'y' is not"),
        "bad id column": ([model, data, *lbl, "--id-column", "id"], "'id' is not"),
        "id like an output": (
            [model, data, *lbl, "--id-column", "grad__radius"],
            "looks like an attribution column",
        ),
        "id is the label": (
            [model, data, *lbl, "--id-column", "label"],
            "name the same column",
        ),
        "bad target": ([model, data, *lbl, "--target", "7"], "not a class"),
        "bad attribution": ([model, data, "--attribution", "shap"], "invalid choice"),
        "bad method": ([model, data, "--method", "magic"], "invalid choice"),
        "bad rank": ([model, data, "--rank-by", "size"], "invalid choice"),
        "zero jobs": ([model, data, *lbl, "--n-jobs", "0"], "--n-jobs"),
        "step with autograd": (
            [model, data, *lbl, "--step", "1e-3", "--method", "autograd"],
            "finite-difference option",
        ),
        "missing out folder": (
            [model, data, *lbl, "--out", str(folder / "no" / "x.csv")],
            "does not exist",
        ),
        "out is the data": (
            [model, data, *lbl, "--out", data, "--force"],
            "is the data file",
        ),
        "out is the model": (
            [model, data, *lbl, "--out", model, "--force"],
            "is the model file",
        ),
        "out is a link to the data": (
            [model, data, *lbl, "--out", str(folder / "alias.csv"), "--force"],
            "is the data file",
        ),
        "out is a hard link to the model": (
            [model, data, *lbl, "--out", str(folder / "hardlink.joblib"), "--force"],
            "is the model file",
        ),
        "out exists": (
            [model, data, *lbl, "--out", str(folder / "existing.csv")],
            "exists; pass --force",
        ),
        "out is a folder": (
            [model, data, *lbl, "--out", str(folder / "a_folder"), "--force"],
            "is a folder",
        ),
        "trust for a pickle": (
            [model, data, *lbl, "--trust", "builtins.eval"],
            "--trust applies to .skops",
        ),
        "not a skops file": (
            [str(folder / "notes.skops"), data, *lbl],
            "not a model saved with skops",
        ),
        "lrp on a pipeline": (
            [
                model,
                data,
                *lbl,
                "--attribution",
                "lrp",
                "--method",
                "finite_difference",
            ],
            "lrp",
        ),
    }, out


BAD_CASES = [
    "missing model",
    "missing data",
    "not a pickle",
    "not a model",
    "not fitted",
    "label kept",
    "missing column",
    "renamed column",
    "column count",
    "non-numeric extra",
    "non-numeric feature",
    "empty file",
    "no rows",
    "NaN",
    "bad label column",
    "bad id column",
    "id is the label",
    "id like an output",
    "bad target",
    "bad attribution",
    "bad method",
    "bad rank",
    "zero jobs",
    "step with autograd",
    "missing out folder",
    "out is the data",
    "out is the model",
    "out is a link to the data",
    "out is a hard link to the model",
    "out exists",
    "out is a folder",
    "trust for a pickle",
    "not a skops file",
    "lrp on a pipeline",
]


@pytest.mark.parametrize("case", BAD_CASES)
def test_bad_input_exits_2_with_one_line(files, bad_cases, case, capsys):
    folder = files[0]
    cases, out = bad_cases
    args, fragment = cases[case]
    if "--out" not in args:
        args = [*args, "--out", out]
    if case == "not a skops file":
        pytest.importorskip("skops")
    before = {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}
    status = main(["explain", *args])
    printed = capsys.readouterr()
    assert status == 2
    assert "Traceback" not in printed.err
    lines = _errors(printed.err)
    assert len(lines) == 1, printed.err
    assert lines[0].startswith(ERROR)
    assert fragment.lower() in lines[0].lower()
    # nothing was written, nothing was changed
    after = {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}
    assert after == before
    assert not os.path.exists(out)


def test_missing_arguments_and_help(capsys):
    assert main(["explain", "model.joblib"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "required" in err[0]
    assert main([]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
    assert main(["explain", "--help"]) == 0
    printed = capsys.readouterr().out
    for option in ("--label-column", "--id-column", "--force", "--trust", "--n-jobs"):
        assert option in printed


# ---------------------------------------------------------------- the output file
def test_force_replaces_an_existing_file_keeping_its_permissions(files, tmp_path):
    folder, pipeline, frame, _, _ = files
    out = tmp_path / "old.csv"
    out.write_text("an old result\n")
    os.chmod(out, 0o640)
    argv = ["explain", str(folder / "model.joblib"), str(folder / "data.csv")]
    argv += ["--label-column", "label", "--out", str(out)]
    assert main(argv) == 2
    assert out.read_text() == "an old result\n"
    assert main([*argv, "--force"]) == 0
    expected = _analytic(pipeline, frame)[:, 0]
    assert_allclose(pd.read_csv(out).to_numpy(), expected, rtol=1e-6, atol=1e-10)
    assert os.stat(out).st_mode & 0o777 == 0o640
    assert _leftovers(tmp_path) == []


def test_new_file_gets_the_umask_permissions(files, tmp_path):
    folder = files[0]
    out = tmp_path / "new.csv"
    umask = os.umask(0o027)
    try:
        argv = ["explain", str(folder / "model.joblib"), str(folder / "data.csv")]
        assert main([*argv, "--label-column", "label", "--out", str(out)]) == 0
    finally:
        os.umask(umask)
    assert os.stat(out).st_mode & 0o777 == 0o640


@pytest.mark.parametrize("exists", [True, False], ids=["old file", "no file"])
@pytest.mark.parametrize(
    "failure, status, fragment",
    [
        (OSError(errno.ENOSPC, "No space left on device"), 1, "No space left"),
        (KeyboardInterrupt(), 130, "interrupted"),
    ],
    ids=["disk full", "Ctrl-C"],
)
def test_failed_write_leaves_no_partial_file(
    files, tmp_path, monkeypatch, capsys, failure, status, fragment, exists
):
    """A write that fails half-way: the old file intact, no temporary file left."""
    folder = files[0]
    out = tmp_path / "result.csv"
    if exists:
        out.write_text("an old result\n")

    def failing_to_csv(self, file, **kwargs):
        file.write("grad__radius,grad__texture\n0.1,")  # a partial write, then...
        file.flush()
        raise failure

    monkeypatch.setattr(pd.DataFrame, "to_csv", failing_to_csv)
    argv = ["explain", str(folder / "model.joblib"), str(folder / "data.csv")]
    argv += ["--label-column", "label", "--out", str(out), "--force"]
    assert main(argv) == status
    printed = capsys.readouterr()
    lines = _errors(printed.err)
    assert len(lines) == 1 and fragment in lines[0], printed.err
    assert "Traceback" not in printed.err
    if exists:
        assert out.read_text() == "an old result\n"
    else:
        assert not out.exists()
    assert _leftovers(tmp_path) == []
    assert printed.out == ""  # no summary for a result that was not written


def test_file_created_during_the_run_is_not_replaced(files, models, tmp_path, capsys):
    """Without --force, a file that appears at --out while the model runs is kept."""
    _, pipeline, frame, _, _ = files
    out = tmp_path / "result.csv"
    X, y = frame.to_numpy(), pipeline.predict(frame)
    joblib.dump(models[1].Slow(marker=str(out)).fit(X, y), tmp_path / "slow.joblib")
    frame.to_csv(tmp_path / "data.csv", index=False)
    argv = ["explain", str(tmp_path / "slow.joblib"), str(tmp_path / "data.csv")]
    assert main([*argv, "--out", str(out)]) == 1
    lines = _errors(capsys.readouterr().err)
    assert len(lines) == 1 and "created by another program during the run" in lines[0]
    assert out.read_text() == "written by the model during the run"
    assert _leftovers(tmp_path) == []


# ---------------------------------------------------------------- failing runs
@pytest.fixture(scope="module")
def flaky(files, models, tmp_path_factory):
    """Models raising on a marked row (row 30: x0 = 5000) and the data with it."""
    folder = tmp_path_factory.mktemp("flaky")
    _, pipeline, frame, _, _ = files
    X, y = frame.to_numpy(), pipeline.predict(frame)
    Flaky = models[1].Flaky
    for error in ("ValueError", "ArithmeticError"):
        joblib.dump(Flaky(limit=1e3, error=error).fit(X, y), folder / f"{error}.joblib")
    marked = frame.copy()
    marked.iloc[30, 0] = 5000.0
    marked.to_csv(folder / "marked.csv", index=False)
    (folder / "result.csv").write_text("an old result\n")
    return folder


@pytest.mark.parametrize("error", ["ValueError", "ArithmeticError"])
def test_model_raising_during_the_run_exits_1_naming_the_rows(flaky, error, capsys):
    out = flaky / "result.csv"
    argv = ["explain", str(flaky / f"{error}.joblib"), str(flaky / "marked.csv")]
    assert main([*argv, "--out", str(out), "--force"]) == 1
    printed = capsys.readouterr()
    lines = _errors(printed.err)
    assert len(lines) == 1, printed.err
    assert lines[0].startswith(ERROR + "the run failed: ")
    assert "cannot score x0 above 1000" in lines[0]
    assert "rows 0:40" in lines[0]  # the chunk of the marked row
    assert out.read_text() == "an old result\n"
    assert _leftovers(flaky) == []


@pytest.mark.parametrize("error", ["RuntimeError", "ValueError"])
def test_model_raising_on_its_first_rows_exits_1(
    files, models, tmp_path, error, capsys
):
    """The model is first called on rows 0:8 (to read its response): exit 1 too."""
    _, pipeline, frame, _, _ = files
    X, y = frame.to_numpy(), pipeline.predict(frame)
    model = models[1].Flaky(limit=1e3, error=error).fit(X, y)
    joblib.dump(model, tmp_path / "model.joblib")
    marked = frame.copy()
    marked.iloc[3, 0] = 5000.0
    marked.to_csv(tmp_path / "marked.csv", index=False)
    out = tmp_path / "result.csv"
    out.write_text("an old result\n")
    argv = ["explain", str(tmp_path / "model.joblib"), str(tmp_path / "marked.csv")]
    assert main([*argv, "--out", str(out), "--force"]) == 1
    lines = _errors(capsys.readouterr().err)
    assert lines == [
        f"{ERROR}the run failed: the model raised {error}: cannot score x0 above "
        "1000.0 (raised while explaining rows 0:8, the model's first call)"
    ]
    assert out.read_text() == "an old result\n"
    assert _leftovers(tmp_path) == []


def test_keyboard_interrupt_during_the_run_exits_130(files, models, tmp_path, capsys):
    """Ctrl-C inside the model (in this process): 130, one line, old file intact."""
    _, pipeline, frame, _, _ = files
    model = models[1].Interrupting().fit(frame.to_numpy(), pipeline.predict(frame))
    joblib.dump(model, tmp_path / "model.joblib")
    frame.to_csv(tmp_path / "data.csv", index=False)
    out = tmp_path / "result.csv"
    out.write_text("an old result\n")
    argv = ["explain", str(tmp_path / "model.joblib"), str(tmp_path / "data.csv")]
    assert main([*argv, "--out", str(out), "--force"]) == 130
    printed = capsys.readouterr()
    assert _errors(printed.err) == [
        f"gradexplain explain: interrupted; {out} was left as it was"
    ]
    assert printed.out == ""
    assert out.read_text() == "an old result\n"
    assert _leftovers(tmp_path) == []


@pytest.mark.parametrize(
    "failure, status, message",
    [
        (ZeroDivisionError("a bug"), 1, "unexpected ZeroDivisionError: a bug"),
        (KeyboardInterrupt(), 130, "interrupted; {out} was written"),
    ],
    ids=["bug", "Ctrl-C"],
)
def test_failure_after_the_file_is_written(
    files, tmp_path, monkeypatch, capsys, failure, status, message
):
    """A failure while printing the summary: the file is complete, the line says so."""
    from sklearn_gradexplain import _cli

    folder, pipeline, frame, _, _ = files

    def failing_summary(*args):
        raise failure

    monkeypatch.setattr(_cli, "_summary_table", failing_summary)
    monkeypatch.delenv("GRADEXPLAIN_TRACEBACK", raising=False)
    out = tmp_path / "result.csv"
    argv = ["explain", str(folder / "model.joblib"), str(folder / "data.csv")]
    argv += ["--label-column", "label", "--out", str(out)]
    assert main(argv) == status
    lines = _errors(capsys.readouterr().err)
    assert len(lines) == 1 and message.format(out=out) in lines[0]
    expected = _analytic(pipeline, frame)[:, 0]
    assert_allclose(pd.read_csv(out).to_numpy(), expected, rtol=1e-6, atol=1e-10)
    if status == 1:  # the traceback of a bug, on request
        monkeypatch.setenv("GRADEXPLAIN_TRACEBACK", "1")
        with pytest.raises(ZeroDivisionError):
            main([*argv, "--force"])


# ---------------------------------------------------------------- real processes
def _command(*args):
    code = "import sys; from sklearn_gradexplain._cli import main; sys.exit(main())"
    return [sys.executable, "-c", code, "explain", *map(str, args)]


def _environment(models_folder):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(models_folder), *filter(None, [env.get("PYTHONPATH")])]
    )
    return env


def test_console_process_exit_status_without_traceback(files):
    folder = files[0]
    joblib.dump({"weights": [1, 2]}, folder / "other.joblib")
    completed = subprocess.run(
        _command(folder / "other.joblib", folder / "data.csv", "--out", folder / "x"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 2
    assert "Traceback" not in completed.stderr
    lines = completed.stderr.strip().splitlines()
    assert len(lines) == 2 and lines[0].startswith(NOTE), completed.stderr
    assert lines[1].startswith(ERROR) and "dict" in lines[1]


def test_process_with_a_raising_model_exits_1(flaky, models):
    out = flaky / "result.csv"
    completed = subprocess.run(
        _command(flaky / "ValueError.joblib", flaky / "marked.csv", "--out", out)
        + ["--force"],
        capture_output=True,
        text=True,
        timeout=120,
        env=_environment(models[0]),
    )
    assert completed.returncode == 1, completed.stderr
    assert "Traceback" not in completed.stderr
    lines = _errors(completed.stderr)
    assert len(lines) == 1 and "rows 0:40" in lines[0]
    assert out.read_text() == "an old result\n"
    assert _leftovers(flaky) == []


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a child process")
@pytest.mark.parametrize("n_jobs", ["1", "2"])
def test_sigint_to_a_running_process_exits_130(files, models, tmp_path, n_jobs):
    """Ctrl-C on a slow model: exit 130, one line, the old file as it was."""
    _, pipeline, frame, _, _ = files
    marker = tmp_path / "started"
    model = models[1].Slow(marker=str(marker), delay=60.0)
    joblib.dump(
        model.fit(frame.to_numpy(), pipeline.predict(frame)), tmp_path / "m.pkl"
    )
    frame.to_csv(tmp_path / "data.csv", index=False)
    out = tmp_path / "result.csv"
    out.write_text("an old result\n")
    process = subprocess.Popen(
        _command(tmp_path / "m.pkl", tmp_path / "data.csv", "--out", out, "--force")
        + ["--n-jobs", n_jobs, "--method", "finite_difference"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_environment(models[0]),
        # as from a terminal: a job started in the background (``cmd &``, nohup)
        # inherits SIGINT ignored, and Python then installs no KeyboardInterrupt
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        deadline = time.monotonic() + 120
        while not marker.exists():  # the model is running (and sleeping)
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "the model never ran"
            time.sleep(0.05)
        started = time.monotonic()
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert time.monotonic() - started < 50  # it did not sleep until the end
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr
    lines = _errors(stderr)
    assert lines == [f"gradexplain explain: interrupted; {out} was left as it was"]
    assert stdout == ""
    assert out.read_text() == "an old result\n"
    assert _leftovers(tmp_path) == []


# ---------------------------------------------------------------- skops files
def test_skops_model_is_loaded_without_a_note(files, tmp_path, capsys):
    sio = pytest.importorskip("skops.io")
    folder, pipeline, frame, _, _ = files
    sio.dump(pipeline, tmp_path / "model.skops")
    out = tmp_path / "out.csv"
    argv = ["explain", str(tmp_path / "model.skops"), str(folder / "data.csv")]
    assert main([*argv, "--label-column", "label", "--out", str(out)]) == 0
    assert capsys.readouterr().err == ""  # only trusted types, no code run
    expected = _analytic(pipeline, frame)[:, 0]
    assert_allclose(pd.read_csv(out).to_numpy(), expected, rtol=1e-6, atol=1e-10)
    # a skops file is recognised by its content too, whatever its name
    (tmp_path / "model.bin").write_bytes((tmp_path / "model.skops").read_bytes())
    argv = ["explain", str(tmp_path / "model.bin"), str(folder / "data.csv")]
    assert main([*argv, "--label-column", "label", "--out", str(out), "--force"]) == 0
    assert capsys.readouterr().err == ""


def test_skops_file_without_skops_installed(files, tmp_path, monkeypatch, capsys):
    folder = files[0]
    (tmp_path / "model.skops").write_bytes(b"PK")  # never opened: skops is missing
    monkeypatch.setitem(sys.modules, "skops", None)  # import skops raises ImportError
    monkeypatch.setitem(sys.modules, "skops.io", None)
    argv = ["explain", str(tmp_path / "model.skops"), str(folder / "data.csv")]
    assert main([*argv, "--out", str(tmp_path / "out.csv")]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and "sklearn-gradexplain[skops]" in lines[0]


def test_skops_untrusted_types_are_refused_unless_trusted(files, models, tmp_path):
    sio = pytest.importorskip("skops.io")
    _, pipeline, frame, _, _ = files
    X, y = frame.to_numpy(), pipeline.predict(frame)
    model = models[1].Flaky().fit(X, y)
    sio.dump(model, tmp_path / "flaky.skops")
    untrusted = sio.get_untrusted_types(file=tmp_path / "flaky.skops")
    assert untrusted == [f"{MODELS_MODULE}.Flaky"]
    frame.to_csv(tmp_path / "data.csv", index=False)
    out = tmp_path / "out.csv"
    argv = [tmp_path / "flaky.skops", tmp_path / "data.csv", "--out", out]
    env = _environment(models[0])

    refused = subprocess.run(
        _command(*argv), capture_output=True, text=True, timeout=120, env=env
    )
    assert refused.returncode == 2
    assert refused.stderr.strip().splitlines() == [
        f"{ERROR}{tmp_path / 'flaky.skops'} holds type(s) that skops does not trust "
        f"by default: {MODELS_MODULE}.Flaky; if you trust them, pass --trust "
        f"{MODELS_MODULE}.Flaky"
    ]
    assert not out.exists()

    trusted = subprocess.run(
        _command(*argv, "--trust", f"{MODELS_MODULE}.Flaky"),
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert trusted.returncode == 0, trusted.stderr
    assert trusted.stderr == ""
    P = model.predict_proba(X)
    expected = (P[:, 0] * P[:, 1])[:, None] * model.model_.coef_
    assert_allclose(pd.read_csv(out).to_numpy(), expected, rtol=1e-5, atol=1e-9)


def test_skops_file_of_library_types_needs_no_trust(files, tmp_path, capsys):
    """A fitted surrogate classifier (the library's own types) needs no --trust."""
    sio = pytest.importorskip("skops.io")
    from sklearn_gradexplain import GradientSurrogateClassifier

    folder, pipeline, frame, _, _ = files
    surrogate = GradientSurrogateClassifier(pipeline).fit(
        frame, pipeline.predict(frame)
    )
    sio.dump(surrogate, tmp_path / "surrogate.skops")
    assert sio.get_untrusted_types(file=tmp_path / "surrogate.skops")  # ours only
    out = tmp_path / "out.csv"
    argv = ["explain", str(tmp_path / "surrogate.skops"), str(folder / "data.csv")]
    assert main([*argv, "--label-column", "label", "--out", str(out)]) == 0
    assert capsys.readouterr().err == ""
    # the surrogate is linear, x·coef + b: its gradient is coef_ on every row
    result = pd.read_csv(out).to_numpy()
    expected = np.broadcast_to(surrogate.coef_[0], result.shape)
    assert_allclose(result, expected, rtol=1e-6, atol=1e-10)


# ---------------------------------------------------------------- demo
def test_demo_arguments_reach_run_demo(monkeypatch, tmp_path):
    for name in ("torch", "skorch", "matplotlib"):
        pytest.importorskip(name)
    from sklearn_gradexplain import _demo

    calls = []
    monkeypatch.setattr(
        _demo, "run_demo", lambda out, **kwargs: calls.append((out, kwargs))
    )
    assert main(["demo", "--out", str(tmp_path), "--seed", "3", "--quiet"]) == 0
    assert calls == [(str(tmp_path), {"quick": False, "random_state": 3, "verbose": 1})]


def test_demo_without_its_dependencies_exits_2(monkeypatch, tmp_path, capsys):
    import importlib.util

    find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *args: None if name == "skorch" else find_spec(name, *args),
    )
    assert main(["demo", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "skorch" in err[0] and "Traceback" not in err[0]
    assert not any(tmp_path.iterdir())
