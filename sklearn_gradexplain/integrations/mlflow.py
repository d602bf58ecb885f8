"""Gradient explanations in MLflow runs.

:func:`log_explanation` logs an explanation the way ``mlflow.shap.log_explanation``
does (a folder of artifacts under ``artifact_path`` of the run), and
:class:`GradientExplanationEvaluator`, registered under MLflow's
``mlflow.model_evaluator`` entry point as ``"gradexplain"``, does the same inside
``mlflow.models.evaluate(..., evaluators=["gradexplain"])``.

mlflow (and matplotlib, for the figures) are imported where they are used.
"""

import json
import os
import tempfile

import numpy as np

from ._shap import _check_explainer, attributions_and_base_values, output_labels

#: the files written under ``artifact_path``
ARTIFACTS = (
    "summary.csv",
    "global_gradient.json",
    "attributions.npy",
    "base_values.npy",
    "summary_bar_plot.png",
    "beeswarm_plot.png",
)

__all__ = ["log_explanation"]  # and GradientExplanationEvaluator, defined lazily


def _import_mlflow(caller):
    try:
        import mlflow
    except ImportError as exc:
        raise ImportError(
            f"{caller} needs mlflow: pip install mlflow (or "
            "sklearn-gradexplain[mlflow])."
        ) from exc
    return mlflow


def log_explanation(
    explainer,
    X,
    artifact_path="gradexplain",
    *,
    metrics=None,
    metric_prefix="",
    run_id=None,
):
    """Log an explanation of ``X`` to an MLflow run, as ``mlflow.shap`` does.

    Under ``artifact_path`` of the run: ``summary.csv`` (the explainer's
    ``summary()``: the global gradient of the fit data with its standard errors and
    importances), ``global_gradient.json`` (the same means with the output and feature
    names, the attribution and the engine), ``attributions.npy`` (the attributions
    of ``X``, shaped like ``explain(X)``), ``base_values.npy`` (the base value of
    every row, as in :func:`~sklearn_gradexplain.integrations.to_shap_explanation`),
    and the figures ``summary_bar_plot.png`` and ``beeswarm_plot.png``
    (:class:`~sklearn_gradexplain.GradientAttributionDisplay`). Metrics of the run:
    ``agreement`` (surrogates: ``agreement_score(X)``), ``completeness_gap`` (for
    attributions with a reference, such as integrated gradients: the mean of
    ``|Σ attributions − (f(x) − f(x′))|`` over rows and outputs) and those given in
    ``metrics``.

    Parameters
    ----------
    explainer : fitted explainer
        A fitted :class:`~sklearn_gradexplain.GradientExplainer`, surrogate or
        :class:`~sklearn_gradexplain.GradientFeatureSelector`.
    X : {array-like, DataFrame} of shape (n_samples, n_features)
        The rows explained in the attributions and figures.
    artifact_path : str, default="gradexplain"
        The run-relative folder of the artifacts.
    metrics : dict, default=None
        More metrics to log: name -> number, or name -> callable
        ``(explainer, X) -> float`` (e.g. a faithfulness measure of
        ``sklearn_gradexplain.metrics``).
    metric_prefix : str, default=""
        Put before every metric name (e.g. to log several explanations to one run).
    run_id : str, default=None
        The run to log to; ``None``: the active run, or a new one (left active,
        as ``mlflow.log_artifact`` does).

    Returns
    -------
    artifact_uri : str
        The URI of the logged folder.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import pathlib, shutil, tempfile, warnings
    >>> import mlflow
    >>> from sklearn.datasets import make_classification
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn_gradexplain import GradientSurrogateClassifier
    >>> from sklearn_gradexplain.integrations.mlflow import log_explanation
    >>> folder = pathlib.Path(tempfile.mkdtemp())  # a throw-away local store
    >>> mlflow.set_tracking_uri(f"sqlite:///{folder / 'mlflow.db'}")
    >>> with warnings.catch_warnings():  # SQLAlchemy 2.1 deprecates what it uses
    ...     warnings.simplefilter("ignore", DeprecationWarning)
    ...     experiment = mlflow.create_experiment(
    ...         "demo", artifact_location=(folder / "artifacts").as_uri()
    ...     )
    >>> X, y = make_classification(n_samples=80, n_features=4, random_state=0)
    >>> surrogate = GradientSurrogateClassifier(LogisticRegression()).fit(X, y)
    >>> with mlflow.start_run(experiment_id=experiment) as run:
    ...     uri = log_explanation(surrogate, X)
    >>> client = mlflow.MlflowClient()
    >>> sorted(f.path for f in client.list_artifacts(run.info.run_id, "gradexplain"))
    ['gradexplain/attributions.npy', 'gradexplain/base_values.npy',
     'gradexplain/beeswarm_plot.png', 'gradexplain/global_gradient.json',
     'gradexplain/summary.csv', 'gradexplain/summary_bar_plot.png']
    >>> client.get_run(run.info.run_id).data.metrics["agreement"]
    1.0
    >>> mlflow.set_tracking_uri(None)
    >>> shutil.rmtree(folder)
    """
    mlflow = _import_mlflow("log_explanation")
    _check_explainer(explainer, "log_explanation")
    metrics = {} if metrics is None else dict(metrics)
    for name, value in metrics.items():
        if not (callable(value) or np.ndim(value) == 0):
            raise TypeError(
                f"metrics[{name!r}] must be a number or a callable (explainer, X) -> "
                f"float; got {type(value).__name__}."
            )
    if run_id is None:
        run = mlflow.active_run() or mlflow.start_run()
        run_id = run.info.run_id
    client = mlflow.MlflowClient()
    artifact_uri = client.get_run(run_id).info.artifact_uri

    values, columns, base = attributions_and_base_values(explainer, X)
    computed = _metrics(explainer, X, values, base, metrics)
    with tempfile.TemporaryDirectory() as folder:
        for name, write in _artifacts(explainer, values, columns, base).items():
            path = os.path.join(folder, name)
            write(path)
            client.log_artifact(run_id, path, artifact_path)
    if computed:
        from mlflow.entities import Metric
        from mlflow.utils.time import get_current_time_millis

        timestamp = get_current_time_millis()
        client.log_batch(
            run_id,
            metrics=[
                Metric(
                    key=f"{metric_prefix}{key}",
                    value=value,
                    timestamp=timestamp,
                    step=0,
                )
                for key, value in computed.items()
            ],
        )
    return f"{artifact_uri.rstrip('/')}/{artifact_path}"


def _metrics(explainer, X, values, base, metrics):
    """``agreement``, ``completeness_gap`` and the given metrics, as floats."""
    from ._shap import has_reference

    computed = {}
    if hasattr(explainer, "agreement_score"):
        computed["agreement"] = float(explainer.agreement_score(X))
    if has_reference(explainer):
        data = explainer._validate_input(X, reset=False)
        change = explainer._response_values(data) - base
        gap = values.sum(axis=-1) - change
        computed["completeness_gap"] = float(np.mean(np.abs(gap)))
    for name, value in metrics.items():
        value = value(explainer, X) if callable(value) else value
        value = float(value)
        if not np.isfinite(value):
            raise ValueError(f"metric {name!r} is not finite ({value}).")
        computed[name] = value
    return computed


def _artifacts(explainer, values, columns, base):
    """File name -> function writing it to a path."""
    outputs = output_labels(explainer)
    names = [str(name) for name in explainer._explained_names()]
    single = explainer.n_outputs_ == 1
    attributions = values[:, 0] if single else values
    base_values = base[:, 0] if single else base

    def summary(path):
        explainer.summary().to_csv(path, index=False)

    def global_gradient(path):
        content = {
            "outputs": outputs,
            "features": names,
            "global_gradient": np.asarray(explainer.global_gradient_).tolist(),
            "global_gradient_stderr": np.asarray(
                explainer.global_gradient_stderr_
            ).tolist(),
            "feature_importances": np.asarray(explainer.feature_importances_).tolist(),
            "attribution": repr(explainer.attribution_),
            "method": explainer.method_,
            "response_method": explainer.response_method_,
        }
        with open(path, "w", encoding="utf-8") as file:
            json.dump(content, file, indent=2, default=str)

    def figure(kind):
        def write(path):
            from .._plot import GradientAttributionDisplay

            display = GradientAttributionDisplay.from_attributions(
                attributions,
                kind=kind,
                feature_names=names,
                output_names=None if single else outputs,
                data=columns,
            )
            display.figure_.savefig(path, bbox_inches="tight")
            import matplotlib.pyplot as plt

            plt.close(display.figure_)

        return write

    return {
        "summary.csv": summary,
        "global_gradient.json": global_gradient,
        "attributions.npy": lambda path: np.save(path, attributions),
        "base_values.npy": lambda path: np.save(path, base_values),
        "summary_bar_plot.png": figure("bar"),
        "beeswarm_plot.png": figure("beeswarm"),
    }


def __getattr__(name):
    # the evaluator subclasses mlflow's ModelEvaluator: defined (and mlflow
    # imported) when first asked for
    if name == "GradientExplanationEvaluator":
        from ._mlflow_evaluator import GradientExplanationEvaluator

        return GradientExplanationEvaluator
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
