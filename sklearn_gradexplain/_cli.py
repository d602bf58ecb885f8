"""Command line: ``gradexplain demo`` and ``gradexplain explain``.

This module parses arguments, loads the model and the data, and turns every failure
into one line on stderr: exit status 2 for bad input (found before any work), 1 for a
run that failed (the model raised, the output could not be written), 130 for Ctrl-C;
never a traceback. The work is done by :mod:`sklearn_gradexplain._demo` and the
explainers.

Files are handled so that nothing is lost: ``--out`` never names an input, an existing
file is replaced only with ``--force``, and the attributions are written to a temporary
file in the same folder that is renamed over ``--out`` only once complete, so that an
interrupted or failed run leaves no partial file and an old file as it was.
"""

import argparse
import contextlib
import os
import signal
import stat
import sys
import tempfile
import warnings
import zipfile

from .attributions._base import SHORTHANDS

EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130

RANKINGS = ("auto", "scaled_importance", "importance")


class CommandError(Exception):
    """Bad input: reported as one line on stderr, exit status 2."""


class RunError(Exception):
    """A run that failed after it started: one line on stderr, exit status 1."""


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
        description="Reproduce Hechtlinger (2016) on real data judged by human "
        "ratings: a bag-of-words net and a CNN on movie-review snippets (obtained once "
        "from the package index), MNIST digits, a planted-polarity check and a "
        "gradient-boosting black box, over 5 seeds. Writes DIR/report.md and PNG "
        "figures.",
    )
    demo.add_argument("--out", default="demo_output", help="output folder")
    demo.add_argument("--seed", type=int, default=0, help="random seed")
    demo.add_argument(
        "--quiet",
        action="store_true",
        help="no per-seed lines, only each section's summary",
    )
    demo.add_argument("--quick", action="store_true", help=argparse.SUPPRESS)

    explain = commands.add_parser(
        "explain",
        help="explain a saved model on the rows of a CSV file",
        description="Load a fitted model (a .skops file, loaded without running "
        "code, or a joblib/pickle file, which runs code when loaded), explain every "
        "row of a CSV file (with a header), write the per-row attributions to a CSV "
        "file and print the global summary. Exit status: 0 done, 1 the run failed, "
        "2 bad input, 130 interrupted.",
    )
    explain.add_argument(
        "model",
        metavar="MODEL",
        help="fitted estimator: a .skops file, or a joblib/pickle file",
    )
    explain.add_argument("data", metavar="DATA.csv", help="CSV file with a header row")
    explain.add_argument(
        "--out",
        required=True,
        metavar="FILE.csv",
        help="CSV file for the attributions (never an input; an existing file is "
        "replaced only with --force)",
    )
    explain.add_argument(
        "--force", action="store_true", help="replace an existing --out file"
    )
    explain.add_argument(
        "--label-column",
        metavar="COL",
        help="column of the CSV to drop before explaining",
    )
    explain.add_argument(
        "--id-column",
        metavar="COL",
        help="column of the CSV identifying the rows: kept out of the features and "
        "written as the first column of --out",
    )
    explain.add_argument(
        "--target",
        metavar="CLASS",
        help="class label (classifiers) or output index to explain",
    )
    explain.add_argument(
        "--attribution", default="gradient", choices=sorted(SHORTHANDS)
    )
    explain.add_argument(
        "--method", default="auto", choices=["auto", "autograd", "finite_difference"]
    )
    explain.add_argument(
        "--step",
        type=float,
        default=None,
        metavar="H",
        help="finite-difference step (relative to each feature's scale)",
    )
    explain.add_argument(
        "--n-jobs",
        type=int,
        default=None,
        metavar="N",
        help="joblib workers for finite differences (-1: every core)",
    )
    explain.add_argument(
        "--trust",
        nargs="+",
        action="extend",
        default=[],
        metavar="TYPE",
        help="types of a .skops file to trust beyond skops' defaults (the error for "
        "an untrusted file lists them); give it after MODEL and DATA",
    )
    explain.add_argument(
        "--rank-by",
        default="auto",
        choices=RANKINGS,
        help="order of the summary table: scaled_importance (mean |attribution| x "
        "the feature's standard deviation), importance (mean |attribution|), or auto "
        "(scaled for gradients, importance for attributions already in output units)",
    )
    explain.add_argument(
        "--top",
        type=int,
        default=20,
        metavar="N",
        help="rows of the summary table (default 20)",
    )
    explain.add_argument("--verbose", action="store_true", help="progress bar")
    return parser


def _note(message):
    print(f"gradexplain explain: note: {message}", file=sys.stderr)


# ---------------------------------------------------------------------- files
def _same_file(a, b):
    """Whether the paths ``a`` and ``b`` name one file (links and aliases too)."""
    if os.path.realpath(a) == os.path.realpath(b):
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist
        return False


def _check_out(out, inputs, force):
    """Refuse an ``--out`` that is an input, a folder, or exists (without --force)."""
    for option, path in inputs:
        if _same_file(out, path):
            raise CommandError(
                f"--out {out} is the {option} file: refusing to overwrite an input"
            )
    folder = os.path.dirname(os.path.abspath(out))
    if not os.path.isdir(folder):
        raise CommandError(f"folder of --out does not exist: {folder}")
    if os.path.isdir(out):
        raise CommandError(f"--out {out} is a folder, not a file")
    if os.path.lexists(out) and not force:
        raise CommandError(f"--out {out} exists; pass --force to replace it")
    if not os.access(folder, os.W_OK):
        raise CommandError(f"cannot write to the folder of --out: {folder}")


def _file_mode(out):
    """Permissions of the output: those of the file it replaces, else the umask's."""
    with contextlib.suppress(OSError):
        return stat.S_IMODE(os.stat(out).st_mode)
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def _write_atomically(out, write, force):
    """Write ``out`` through a temporary file in its folder, renamed when complete.

    ``write(file)`` writes the content. On any failure or interruption the temporary
    file is removed and ``out`` is left as it was; the rename is atomic (``os.replace``
    on one file system). Without ``force``, a file that appeared at ``out`` during the
    run is not replaced.
    """
    out = os.path.abspath(out)
    folder, name = os.path.split(out)
    mode = _file_mode(out)
    handle, temporary = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=folder)
    appeared = RunError(
        f"{out} was created by another program during the run and was left as it "
        "is; pass --force to replace it"
    )
    try:
        with os.fdopen(handle, "w", newline="", encoding="utf-8") as file:
            write(file)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, mode)
        if force:
            os.replace(temporary, out)
        else:
            try:  # a hard link never replaces a file that appeared meanwhile
                os.link(temporary, out)
            except FileExistsError:
                raise appeared from None
            except OSError:  # no hard links on this file system
                if os.path.lexists(out):
                    raise appeared from None
                os.replace(temporary, out)
    finally:
        with contextlib.suppress(OSError):
            os.unlink(temporary)


# ---------------------------------------------------------------------- model
def _is_skops_file(path):
    if path.lower().endswith(".skops"):
        return True
    try:
        with zipfile.ZipFile(path) as archive:
            return "schema.json" in archive.namelist()
    except (zipfile.BadZipFile, OSError):
        return False


def _load_skops(path, trust):
    try:
        import skops.io as sio
    except ImportError:
        raise CommandError(
            f"{path} is a .skops file; reading it needs skops "
            "(pip install 'sklearn-gradexplain[skops]')"
        ) from None
    from .integrations.skops import trusted_types

    with open(path, "rb") as file:  # read once: what is checked is what is loaded
        content = file.read()
    try:
        untrusted = sio.get_untrusted_types(data=content)
    except Exception as exc:
        raise CommandError(
            f"{path} is not a model saved with skops.io.dump ({_first_line(exc)})"
        ) from None
    ours = set(trusted_types())
    refused = [t for t in untrusted if t not in ours and t not in trust]
    if refused:
        raise CommandError(
            f"{path} holds type(s) that skops does not trust by default: "
            f"{' '.join(refused)}; if you trust them, pass --trust {' '.join(refused)}"
        )
    if any(t.startswith("skorch.") for t in untrusted):
        _note(
            f"{path} holds a skorch net, which unpickles its torch module when "
            "loaded (running code from the file): load it only from a trusted source"
        )
    try:
        return sio.loads(content, trusted=list(untrusted))
    except Exception as exc:
        raise CommandError(
            f"cannot load {path} with skops: {_first_line(exc)}"
        ) from None


def _load_pickle(path):
    import joblib

    _note(
        f"{path} is a pickle: loading it runs code stored in the file, so load only "
        "files from a trusted source (a .skops file is loaded without running code)"
    )
    try:
        return joblib.load(path)
    except Exception as exc:
        raise CommandError(
            f"{path} is not a model saved with joblib ({type(exc).__name__}: "
            f"{_first_line(exc)})"
        ) from None


def _read_model(path, trust=()):
    from sklearn.exceptions import NotFittedError
    from sklearn.utils.validation import check_is_fitted

    if not os.path.isfile(path):
        raise CommandError(f"model file not found: {path}")
    skops_file = _is_skops_file(path)
    if trust and not skops_file:
        raise CommandError(
            "--trust applies to .skops model files only; "
            f"{path} is loaded as a pickle, which trusts everything in it"
        )
    model = _load_skops(path, set(trust)) if skops_file else _load_pickle(path)
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


# ---------------------------------------------------------------------- data
def _read_data(path, label_column, model, id_column=None):
    """The feature columns of the CSV (matched to the model) and the id column."""
    try:
        import pandas as pd
    except ImportError:  # pragma: no cover - pandas comes with the extras
        raise CommandError(
            "gradexplain explain needs pandas (pip install pandas)"
        ) from None
    if not os.path.isfile(path):
        raise CommandError(f"data file not found: {path}")
    if id_column is not None and id_column == label_column:
        raise CommandError("--id-column and --label-column name the same column")
    try:  # ids are kept as written ("007" stays "007")
        frame = pd.read_csv(path, dtype=None if id_column is None else {id_column: str})
    except Exception as exc:
        raise CommandError(f"cannot read {path} as CSV: {_first_line(exc)}") from None
    ids = None
    for option, column in (
        ("--label-column", label_column),
        ("--id-column", id_column),
    ):
        if column is not None and column not in frame.columns:
            raise CommandError(
                f"{option} {column!r} is not a column of {path} "
                f"(columns: {', '.join(map(str, frame.columns))})"
            )
    if id_column is not None:
        ids = frame[id_column]
        frame = frame.drop(columns=id_column)
    if label_column is not None:
        frame = frame.drop(columns=label_column)
    if frame.shape[0] == 0 or frame.shape[1] == 0:
        raise CommandError(f"{path} has no data rows or no feature columns")
    non_numeric = [str(c) for c, t in frame.dtypes.items() if t.kind not in "biuf"]
    if non_numeric:
        raise CommandError(
            f"non-numeric data in column(s) {', '.join(non_numeric)} of {path}; "
            "gradients need numbers (drop a label with --label-column, keep an id "
            "with --id-column)"
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
        return frame[names], ids
    n_features = getattr(model, "n_features_in_", None)
    if n_features is not None and frame.shape[1] != n_features:
        raise CommandError(
            f"{path} has {frame.shape[1]} feature column(s) but the model expects "
            f"{n_features}"
        )
    return frame, ids


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


# ---------------------------------------------------------------------- summary
def _ranking(explainer, rank_by):
    """The column the summary is ordered by (``auto`` resolved)."""
    if rank_by != "auto":
        return rank_by
    # attributions that sum to an output change are already in output units
    return "importance" if explainer.attribution_.additive else "scaled_importance"


def _response_words(explainer):
    response = explainer.response_method_
    outputs = explainer.outputs_.names
    if outputs is not None or getattr(explainer, "classes_", None) is None:
        return response
    return f"{response} of class {explainer._output_labels()[0]}"


def _summary_table(explainer, feature_names, top, rank_by):
    """The global summary: one row per feature, ordered by ``rank_by``, and its key.

    ``scaled`` (mean |attribution| x the feature's standard deviation, averaged over
    the outputs) is in units of the response; ``mean |attr|`` and the signed means are
    the attributions' own units (per unit of the feature for gradients).
    """
    import numpy as np

    table = explainer.summary()
    d = len(feature_names)
    importance = table["importance"].to_numpy().reshape(-1, d).mean(axis=0)
    scaled = table["scaled_importance"].to_numpy().reshape(-1, d).mean(axis=0)
    mean = table["mean"].to_numpy().reshape(-1, d)
    rank_by = _ranking(explainer, rank_by)
    key = scaled if rank_by == "scaled_importance" else importance
    outputs = explainer.outputs_.names
    measures = {"scaled": scaled, "mean |attr|": importance}
    if rank_by == "importance":  # the ranking column first
        measures = {"mean |attr|": importance, "scaled": scaled}
    headers = ["feature", *measures, "feature std"]
    headers += (
        ["mean attr"] if outputs is None else [f"mean[{name}]" for name in outputs]
    )
    order = np.argsort(-key, kind="stable")
    std = explainer.feature_std_
    rows = [
        [
            str(feature_names[j]),
            *(f"{values[j]:.4g}" for values in measures.values()),
            f"{std[j]:.4g}",
            *(f"{m[j]:+.4g}" for m in mean),
        ]
        for j in order[:top]
    ]
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]

    def line(cells):
        return "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        )

    response = _response_words(explainer)
    name = type(explainer.attribution_).__name__
    if explainer.attribution_.additive:
        units = f"{name}, in units of {response} (an output change)"
    else:
        units = f"{name}, in units of {response} per unit of the feature"
    if explainer.attribution_.additive:
        scaled_words = (
            "mean |attr| x feature std (mean |attr| is already comparable across "
            "features)"
        )
    else:
        scaled_words = (
            f"mean |attr| x feature std, the change of {response} for one standard "
            "deviation of the feature"
        )
    ranked = "scaled" if rank_by == "scaled_importance" else "mean |attr|"
    lines = [
        f"features ranked by {ranked}, largest first",
        f"  scaled: {scaled_words}",
        f"  mean |attr|, mean attr: {units}; feature std: in the feature's units",
        line(headers),
        "  ".join("-" * w for w in widths),
        *(line(row) for row in rows),
    ]
    if len(order) > top:
        lines.append(f"... {len(order) - top} more feature(s) in the output file")
    return "\n".join(lines)


# ---------------------------------------------------------------------- explain
def _first_line(exc):
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _frames(exc):
    """The names of the functions ``exc`` and its causes went through."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        frames = []
        traceback = exc.__traceback__
        while traceback is not None:
            code = traceback.tb_frame.f_code
            frames.append(code.co_name)
            traceback = traceback.tb_next
        yield str(exc), frames
        exc = exc.__cause__ or exc.__context__


def _failure(exc):
    """Where the run failed: ``"chunk"`` (the batching loop, whose errors name the
    rows), ``"probe"`` (the model raised on the first rows, called to read the shape
    of its response) or ``None`` (the library refused the input before any work)."""
    for text, names in _frames(exc):
        if "the model's first call" in text:
            return "probe"
        if "raised while explaining rows" in text or {
            "_attribution_chunks",
            "_run_chunk",
        } & set(names):
            return "chunk"
    return None


def _fit(explainer, X):
    """Fit the explainer on ``X``; errors become :class:`CommandError`/`RunError`."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            attributions = explainer.fit_transform(X)
        except Exception as exc:
            message = _first_line(exc)
            where = _failure(exc)
            if where == "chunk":
                raise RunError(f"the run failed: {message}") from None
            if where == "probe":  # the library names the rows of the first call
                raise RunError(
                    f"the run failed: the model raised {type(exc).__name__}: {message}"
                ) from None
            if isinstance(exc, ValueError | TypeError):
                raise CommandError(message) from None
            raise RunError(
                f"the run failed: the model raised {type(exc).__name__}: {message}"
            ) from None
    seen = set()
    for warning in caught:
        message = _first_line(warning.message)
        if message not in seen:
            seen.add(message)
            print(f"gradexplain explain: warning: {message}", file=sys.stderr)
    return attributions


def _explain(args):
    import numpy as np

    from ._engines._finite_difference import FiniteDifference
    from ._explainer import GradientExplainer

    if args.top < 1:
        raise CommandError("--top must be at least 1")
    if args.step is not None and not args.step > 0:
        raise CommandError("--step must be positive")
    if args.n_jobs == 0:
        raise CommandError("--n-jobs must be a positive number of workers, or -1")
    if args.step is not None and args.method == "autograd":
        raise CommandError(
            "--step is a finite-difference option; drop --method autograd"
        )
    if args.id_column is not None and args.id_column.startswith(("grad__", "grad[")):
        raise CommandError(
            f"--id-column {args.id_column!r} looks like an attribution column name "
            "(grad__...): rename the column"
        )
    for option, path in (("model", args.model), ("data", args.data)):
        if not os.path.isfile(path):
            raise CommandError(f"{option} file not found: {path}")
    _check_out(args.out, [("model", args.model), ("data", args.data)], args.force)

    model = _read_model(args.model, args.trust)
    frame, ids = _read_data(args.data, args.label_column, model, args.id_column)
    target = _parse_target(args.target, model)

    from sklearn.frozen import FrozenEstimator

    uses_names = getattr(model, "feature_names_in_", None) is not None
    X = frame if uses_names else frame.to_numpy()
    explainer = GradientExplainer(
        FrozenEstimator(model),
        attribution=args.attribution,
        method=args.method if args.step is None else FiniteDifference(step=args.step),
        target=target,
        n_jobs=args.n_jobs,
        verbose=int(args.verbose),
    )
    attributions = _fit(explainer, X)
    feature_names = [str(c) for c in frame.columns]
    columns = list(
        explainer.get_feature_names_out(
            None if uses_names else np.asarray(feature_names, dtype=object)
        )
    )
    import pandas as pd

    result = pd.DataFrame(attributions, columns=columns)
    if ids is not None:
        result.insert(0, args.id_column, ids.to_numpy())
    try:
        _write_atomically(
            args.out,
            lambda file: result.to_csv(file, index=False),
            force=args.force,
        )
    except OSError as exc:
        raise RunError(
            f"cannot write {args.out} ({exc.strerror or _first_line(exc)}); "
            f"{args.out} is unchanged"
        ) from None
    args.written = True  # from here on, an interruption leaves a complete file
    print(
        f"{args.attribution} of {len(frame)} row(s) by {explainer.method_} "
        f"(response: {_response_words(explainer)}) written to {args.out}"
    )
    print(_summary_table(explainer, feature_names, args.top, args.rank_by))
    return 0


def _demo(args):
    from ._demo import check_packages, run_demo

    try:
        check_packages()
    except ImportError as exc:
        raise CommandError(str(exc)) from None
    run_demo(
        args.out,
        quick=args.quick,
        random_state=args.seed,
        verbose=1 if args.quiet else 2,
    )
    return 0


def _interrupted(command, args):
    with contextlib.suppress(ValueError):  # not the main thread: nothing to ignore
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C: same exit
    out = getattr(args, "out", None)
    where = ""
    if command == "explain" and out is not None:
        done = getattr(args, "written", False)
        where = f"; {out} was {'written' if done else 'left as it was'}"
    print(f"gradexplain {command}: interrupted{where}", file=sys.stderr)
    return EXIT_INTERRUPTED


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
        0 on success; 2 on bad input, 1 when the run failed (the model raised, the
        output could not be written) and 130 when interrupted, each with one line on
        stderr.

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
    previous = signal.getsignal(signal.SIGINT)
    try:
        return command(args)
    except CommandError as exc:
        print(f"gradexplain {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except RunError as exc:
        print(f"gradexplain {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        return _interrupted(args.command, args)
    except BrokenPipeError:  # stdout closed early (`| head`): nothing more to say
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_FAILED
    except OSError as exc:
        print(f"gradexplain {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except Exception as exc:  # a bug: one line, the traceback on request
        if os.environ.get("GRADEXPLAIN_TRACEBACK"):
            raise
        print(
            f"gradexplain {args.command}: error: unexpected {type(exc).__name__}: "
            f"{_first_line(exc)} (set GRADEXPLAIN_TRACEBACK=1 to see where)",
            file=sys.stderr,
        )
        return EXIT_FAILED
    finally:
        with contextlib.suppress(ValueError, TypeError):
            signal.signal(signal.SIGINT, previous)


if __name__ == "__main__":
    sys.exit(main())
