"""``gradexplain explain`` and the command line's handling of bad input.

Attributions written by the command are compared with the analytic gradient of a
standardized logistic regression, computed in numpy: for a pipeline
``StandardScaler -> LogisticRegression`` the gradient of P(y=k) with respect to the raw
input is p_k (w_k - Σ_j p_j w_j) / σ (binary: p(1-p) w / σ).
"""

import subprocess
import sys

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


def test_explain_pipeline_on_csv_with_header(files, capsys):
    folder, pipeline, frame, _, _ = files
    out = folder / "attributions.csv"
    argv = ["explain", str(folder / "model.joblib"), str(folder / "data.csv")]
    status = main([*argv, "--label-column", "label", "--out", str(out)])
    assert status == 0
    result = pd.read_csv(out)
    assert list(result.columns) == [f"grad__{name}" for name in NAMES]
    assert len(result) == len(frame)
    expected = _analytic(pipeline, frame)[:, 0]
    assert_allclose(
        result.to_numpy(), expected, rtol=1e-6, atol=1e-8 * abs(expected).max()
    )

    printed = capsys.readouterr()
    assert printed.err == ""
    # the summary table lists every feature, the most important first
    importance = np.abs(expected).mean(axis=0)
    table = printed.out.splitlines()
    rows = [line for line in table if line.split("  ")[0].strip() in NAMES]
    assert [r.split("  ")[0].strip() for r in rows] == [
        NAMES[j] for j in np.argsort(-importance)
    ]
    assert f"{importance.max():.4g}" in printed.out


def test_explain_multiclass_target_without_feature_names(files, capsys):
    folder, _, _, iris_model, iris_data = files
    out = folder / "iris_out.csv"
    status = main(
        [
            "explain",
            str(folder / "iris.joblib"),
            str(folder / "iris.csv"),
            "--label-column",
            "species",
            "--target",
            "2",
            "--out",
            str(out),
        ]
    )
    assert status == 0
    result = pd.read_csv(out)
    assert list(result.columns) == [f"grad__{c}" for c in iris_data.columns]
    expected = _analytic(iris_model, iris_data.to_numpy())[:, 2]
    assert_allclose(
        result.to_numpy(), expected, rtol=1e-6, atol=1e-8 * abs(expected).max()
    )

    # every class: one column per class and feature, one summary column per class
    status = main(
        ["explain", str(folder / "iris.joblib"), str(folder / "iris.csv")]
        + ["--label-column", "species", "--top", "2", "--out", str(out)]
    )
    assert status == 0
    result = pd.read_csv(out)
    assert result.shape == (150, 12)
    assert result.columns[4] == f"grad[1]__{iris_data.columns[0]}"
    printed = capsys.readouterr().out
    assert "mean[0]" in printed and "mean[2]" in printed
    assert "2 more feature(s)" in printed


def test_explain_finite_differences_and_integrated_gradients(files):
    folder, pipeline, frame, _, _ = files
    out = folder / "ig.csv"
    base = ["explain", str(folder / "model.joblib"), str(folder / "data.csv")]
    base += ["--label-column", "label", "--out", str(out)]
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


@pytest.fixture(scope="module")
def bad_cases(files):
    """Case name -> (arguments, fragment of the expected message), and --out."""
    folder = files[0]
    model, data = str(folder / "model.joblib"), str(folder / "data.csv")
    out = str(folder / "bad_out.csv")
    (folder / "notes.joblib").write_text("not a pickle")
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
        "bad target": ([model, data, *lbl, "--target", "7"], "not a class"),
        "bad attribution": ([model, data, "--attribution", "shap"], "invalid choice"),
        "bad method": ([model, data, "--method", "magic"], "invalid choice"),
        "missing out folder": (
            [model, data, *lbl, "--out", str(folder / "no" / "x.csv")],
            "does not exist",
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
    "bad target",
    "bad attribution",
    "bad method",
    "missing out folder",
    "lrp on a pipeline",
]


@pytest.mark.parametrize("case", BAD_CASES)
def test_bad_input_exits_2_with_one_line(bad_cases, case, capsys):
    cases, out = bad_cases
    args, fragment = cases[case]
    if "--out" not in args:
        args = [*args, "--out", out]
    status = main(["explain", *args])
    printed = capsys.readouterr()
    assert status == 2
    lines = printed.err.strip().splitlines()
    assert len(lines) == 1, printed.err
    assert "Traceback" not in printed.err
    assert lines[0].startswith("gradexplain explain: error: ")
    assert fragment.lower() in lines[0].lower()


def test_missing_arguments_and_help(capsys):
    assert main(["explain", "model.joblib"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "required" in err[0]
    assert main([]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
    assert main(["explain", "--help"]) == 0
    assert "--label-column" in capsys.readouterr().out


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


def test_console_process_exit_status_without_traceback(files):
    folder = files[0]
    joblib.dump({"weights": [1, 2]}, folder / "other.joblib")
    code = "import sys; from sklearn_gradexplain._cli import main; sys.exit(main())"
    completed = subprocess.run(
        [sys.executable, "-c", code, "explain", str(folder / "other.joblib")]
        + [str(folder / "data.csv"), "--out", str(folder / "x.csv")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 2
    assert "Traceback" not in completed.stderr
    assert len(completed.stderr.strip().splitlines()) == 1


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
