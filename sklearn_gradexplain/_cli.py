"""Command line: ``gradexplain demo`` and ``gradexplain explain``.

This module only parses arguments and turns bad input into one line on stderr with exit
status 2; the work is done by :mod:`sklearn_gradexplain._demo` and the explainers.
"""

import argparse
import importlib.util
import os
import sys
import warnings

EXIT_BAD_INPUT = 2


class CommandError(Exception):
    """Bad input: reported as one line on stderr, exit status 2."""


class _Parser(argparse.ArgumentParser):
    """argparse, but usage errors are one line (no usage dump) and exit 2."""

    def error(self, message):
        self.exit(
            EXIT_BAD_INPUT, f"{self.prog}: error: {message} (see {self.prog} --help)\n"
        )


def _build_parser():
    parser = _Parser(
        prog="gradexplain",
        description="Explain fitted models through the input gradient of their "
        "prediction.",
    )
    commands = parser.add_subparsers(dest="command", parser_class=_Parser)
    commands.required = True

    demo = commands.add_parser(
        "demo",
        help="reproduce the paper's experiments and write a report with figures",
        description="Reproduce Hechtlinger (2016) on data that ships with the "
        "install: bag-of-words sentiment, a CNN on token ids, digits, and a gradient-"
        "boosting black box. Writes DIR/report.md and PNG figures.",
    )
    demo.add_argument("--out", default="demo_output", help="output folder")
    demo.add_argument("--seed", type=int, default=0, help="random seed")
    demo.add_argument(
        "--quiet", action="store_true", help="no progress bars, only the summary"
    )
    demo.add_argument("--quick", action="store_true", help=argparse.SUPPRESS)

    explain = commands.add_parser(
        "explain",
        help="explain a saved model on the rows of a CSV file",
        description="Load a fitted model saved with joblib, explain every row of a CSV "
        "file (with a header), write the per-row attributions to a CSV file and print "
        "the global summary.",
    )
    explain.add_argument("model", help="fitted estimator saved with joblib.dump")
    explain.add_argument("data", help="CSV file with a header row")
    explain.add_argument("--out", required=True, help="CSV file for the attributions")
    explain.add_argument(
        "--label-column", help="column of the CSV to drop before explaining"
    )
    explain.add_argument(
        "--target", help="class label (classifiers) or output index to explain"
    )
    explain.add_argument(
        "--attribution",
        default="gradient",
        choices=[
            "gradient",
            "gradient_x_input",
            "integrated_gradients",
            "smoothgrad",
            "lrp",
        ],
    )
    explain.add_argument(
        "--method", default="auto", choices=["auto", "autograd", "finite_difference"]
    )
    explain.add_argument(
        "--step", type=float, default=None, help="finite-difference step"
    )
    explain.add_argument(
        "--top", type=int, default=20, help="rows of the summary table (default 20)"
    )
    explain.add_argument("--verbose", action="store_true", help="progress bar")
    return parser


def _read_model(path):
    import joblib
    from sklearn.exceptions import NotFittedError
    from sklearn.utils.validation import check_is_fitted

    if not os.path.isfile(path):
        raise CommandError(f"model file not found: {path}")
    try:
        model = joblib.load(path)
    except Exception as exc:
        raise CommandError(
            f"{path} is not a model saved with joblib ({type(exc).__name__}: {exc})"
        ) from None
    if not (
        hasattr(model, "fit")
        and any(hasattr(model, m) for m in ("predict", "predict_proba"))
    ):
        raise CommandError(
            f"{path} holds a {type(model).__name__}, not a fitted estimator"
        )
    try:
        check_is_fitted(model)
    except NotFittedError:
        raise CommandError(f"the model in {path} is not fitted") from None
    except TypeError as exc:
        raise CommandError(f"{path}: {exc}") from None
    return model


def _read_data(path, label_column, model):
    try:
        import pandas as pd
    except ImportError:  # pragma: no cover - pandas comes with the extras
        raise CommandError(
            "gradexplain explain needs pandas (pip install pandas)"
        ) from None
    if not os.path.isfile(path):
        raise CommandError(f"data file not found: {path}")
    try:
        frame = pd.read_csv(path)
    except Exception as exc:
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise CommandError(f"cannot read {path} as CSV: {message}") from None
    if label_column is not None:
        if label_column not in frame.columns:
            raise CommandError(
                f"--label-column {label_column!r} is not a column of {path} "
                f"(columns: {', '.join(map(str, frame.columns))})"
            )
        frame = frame.drop(columns=label_column)
    if frame.shape[0] == 0 or frame.shape[1] == 0:
        raise CommandError(f"{path} has no data rows or no feature columns")
    non_numeric = [str(c) for c, t in frame.dtypes.items() if t.kind not in "biuf"]
    if non_numeric:
        raise CommandError(
            f"non-numeric data in column(s) {', '.join(non_numeric)} of {path}; "
            "gradients need numbers (drop a label with --label-column)"
        )
    names = getattr(model, "feature_names_in_", None)
    if names is not None:
        names = [str(n) for n in names]
        columns = [str(c) for c in frame.columns]
        missing = [n for n in names if n not in columns]
        extra = [c for c in columns if c not in names]
        if missing or extra:
            parts = []
            if missing:
                parts.append(f"missing column(s) {', '.join(missing)}")
            if extra:
                parts.append(f"unexpected column(s) {', '.join(extra)}")
            raise CommandError(
                f"{path} does not match the model's features: {'; '.join(parts)}"
            )
        return frame[names]
    n_features = getattr(model, "n_features_in_", None)
    if n_features is not None and frame.shape[1] != n_features:
        raise CommandError(
            f"{path} has {frame.shape[1]} feature column(s) but the model expects "
            f"{n_features}"
        )
    return frame


def _parse_target(target, model):
    if target is None:
        return None
    classes = getattr(model, "classes_", None)
    if classes is not None:
        matches = [c for c in classes if str(c) == target]
        if not matches:
            raise CommandError(
                f"--target {target!r} is not a class of the model "
                f"(classes: {', '.join(str(c) for c in classes)})"
            )
        return matches[0]
    try:
        return int(target)
    except ValueError:
        raise CommandError(
            f"--target {target!r} must be an output index for a regressor"
        ) from None


def _summary_table(explainer, attributions, feature_names, top):
    """The global summary: features by mean |attribution|, with the signed means."""
    import numpy as np

    importance = explainer.feature_importances_
    mean = np.asarray(explainer.global_gradient_).reshape(-1, len(feature_names))
    outputs = explainer.outputs_.names
    headers = ["feature", "mean |attr|"]
    headers += (
        ["mean attr"] if outputs is None else [f"mean[{name}]" for name in outputs]
    )
    order = np.argsort(-importance, kind="stable")
    rows = [
        [str(feature_names[j]), f"{importance[j]:.4g}"] + [f"{m[j]:+.4g}" for m in mean]
        for j in order[:top]
    ]
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    lines = [
        "  ".join(
            h.ljust(w) if i == 0 else h.rjust(w)
            for i, (h, w) in enumerate(zip(headers, widths, strict=True))
        )
    ]
    lines.append("  ".join("-" * w for w in widths))
    for row in rows:
        lines.append(
            "  ".join(
                c.ljust(w) if i == 0 else c.rjust(w)
                for i, (c, w) in enumerate(zip(row, widths, strict=True))
            )
        )
    if len(order) > top:
        lines.append(f"... {len(order) - top} more feature(s) in the output file")
    return "\n".join(lines)


def _explain(args):
    import numpy as np
    from sklearn.frozen import FrozenEstimator

    from ._engines._finite_difference import FiniteDifference
    from ._explainer import GradientExplainer

    model = _read_model(args.model)
    frame = _read_data(args.data, args.label_column, model)
    target = _parse_target(args.target, model)
    out_dir = os.path.dirname(os.path.abspath(args.out))
    if not os.path.isdir(out_dir):
        raise CommandError(f"folder of --out does not exist: {out_dir}")
    if args.top < 1:
        raise CommandError("--top must be at least 1")
    if args.step is not None and not args.step > 0:
        raise CommandError("--step must be positive")

    uses_names = getattr(model, "feature_names_in_", None) is not None
    X = frame if uses_names else frame.to_numpy()
    explainer = GradientExplainer(
        FrozenEstimator(model),
        attribution=args.attribution,
        method=args.method if args.step is None else FiniteDifference(step=args.step),
        target=target,
        verbose=int(args.verbose),
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            attributions = explainer.fit_transform(X)
        except (ValueError, TypeError) as exc:
            raise CommandError(str(exc).splitlines()[0]) from None
    seen = set()
    for warning in caught:
        message = str(warning.message).splitlines()[0]
        if message not in seen:
            seen.add(message)
            print(f"gradexplain explain: warning: {message}", file=sys.stderr)
    feature_names = [str(c) for c in frame.columns]
    columns = explainer.get_feature_names_out(
        None if uses_names else np.asarray(feature_names, dtype=object)
    )
    import pandas as pd

    pd.DataFrame(attributions, columns=columns).to_csv(args.out, index=False)
    print(
        f"{args.attribution} of {len(frame)} row(s) by {explainer.method_} "
        f"(response: {explainer.response_method_}) written to {args.out}"
    )
    print(_summary_table(explainer, attributions, feature_names, args.top))
    return 0


def _demo(args):
    from ._demo import run_demo

    missing = [
        name
        for name in ("torch", "skorch", "matplotlib")
        if importlib.util.find_spec(name) is None
    ]
    if missing:
        raise CommandError(
            f"the demo needs {', '.join(missing)}: "
            "pip install 'sklearn-gradexplain[torch,plot,progress]'"
        )
    run_demo(
        args.out,
        quick=args.quick,
        random_state=args.seed,
        verbose=1 if args.quiet else 2,
    )
    return 0


def main(argv=None):
    """Entry point of the ``gradexplain`` command.

    Parameters
    ----------
    argv : list of str, default=None
        Command-line arguments without the program name; ``None`` reads
        ``sys.argv[1:]``.

    Returns
    -------
    status : int
        0 on success, 2 on bad input (with one line on stderr).

    Examples
    --------
    >>> from sklearn_gradexplain._cli import main
    >>> main(["explain", "no-such-model.joblib", "data.csv", "--out", "x.csv"])
    2
    """
    parser = _build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help (0) or a usage error (2, already printed)
        return exc.code if isinstance(exc.code, int) else EXIT_BAD_INPUT
    command = {"explain": _explain, "demo": _demo}[args.command]
    try:
        return command(args)
    except CommandError as exc:
        print(f"gradexplain {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except OSError as exc:
        print(f"gradexplain {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT


if __name__ == "__main__":
    sys.exit(main())
