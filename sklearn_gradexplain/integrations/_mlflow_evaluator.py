"""The ``"gradexplain"`` MLflow model evaluator (the ``mlflow.model_evaluator`` entry).

MLflow loads this module when ``mlflow.models.evaluation`` is imported; it is also
importable without mlflow (the class then only says that mlflow is missing).
"""

import numpy as np

try:  # the plugin interface of mlflow.models.evaluate
    from mlflow.models.evaluation.base import ModelEvaluator as _ModelEvaluator
except ImportError:  # pragma: no cover - exercised in the torch-free leg only
    _ModelEvaluator = object

#: evaluator_config keys and their defaults
DEFAULTS = {
    "attribution": "gradient",
    "method": "auto",
    "target": None,
    "max_rows": 2000,
    "random_state": 0,
    "surrogate": True,
    "artifact_path": "gradexplain",
    "metric_prefix": "",
    "metrics": None,
}


class GradientExplanationEvaluator(_ModelEvaluator):
    """MLflow model evaluator that logs gradient explanations.

    Registered as ``"gradexplain"``: ``mlflow.models.evaluate(model_uri, data,
    targets=..., model_type="classifier", evaluators=["gradexplain"])`` explains the
    model (scikit-learn flavor) on the evaluation data with a
    :class:`~sklearn_gradexplain.GradientExplainer` around the frozen model, and logs
    what :func:`~sklearn_gradexplain.integrations.mlflow.log_explanation` logs
    (summary table, global gradient, attributions, figures, metrics) to the
    evaluation's run, plus ``agreement`` of the linear surrogate
    (:class:`~sklearn_gradexplain.GradientSurrogateClassifier` for classifiers, its
    R² for regressors). Add ``"default"`` to ``evaluators`` for MLflow's own metrics.

    Its configuration (``evaluator_config={"gradexplain": {...}}``) takes
    ``attribution`` (default ``"gradient"``), ``method`` (``"auto"``), ``target``
    (``None``), ``max_rows`` (rows explained, a seeded sample of the data when it
    has more; default 2000), ``random_state`` (0), ``surrogate`` (``True``),
    ``artifact_path`` (``"gradexplain"``), ``metric_prefix`` (``""``) and
    ``metrics`` (as in ``log_explanation``).

    See Also
    --------
    sklearn_gradexplain.integrations.mlflow.log_explanation : The same, for an
        explainer at hand.

    Examples
    --------
    >>> from sklearn_gradexplain.integrations.mlflow import (
    ...     GradientExplanationEvaluator,
    ... )
    >>> GradientExplanationEvaluator.can_evaluate(
    ...     model_type="classifier", evaluator_config={}
    ... )
    True
    """

    @classmethod
    def can_evaluate(cls, *, model_type, evaluator_config, **kwargs):
        """Classifiers and regressors can be explained.

        Parameters
        ----------
        model_type : str
            MLflow's model type (``"classifier"``, ``"regressor"``, ...).
        evaluator_config : dict
            The evaluator's configuration.
        **kwargs : dict
            Ignored (MLflow's forward compatibility).

        Returns
        -------
        can_evaluate : bool
            Whether ``model_type`` is a classifier or a regressor.
        """
        return model_type in ("classifier", "regressor")

    def evaluate(
        self,
        *,
        model_type,
        dataset,
        run_id,
        evaluator_config,
        model=None,
        extra_metrics=None,
        custom_artifacts=None,
        predictions=None,
        **kwargs,
    ):
        """Explain ``model`` on ``dataset`` and log the explanation to ``run_id``.

        Parameters
        ----------
        model_type : str
            ``"classifier"`` or ``"regressor"``.
        dataset : mlflow.models.evaluation.base.EvaluationDataset
            The evaluation data (its features are explained).
        run_id : str
            The run the explanation is logged to.
        evaluator_config : dict
            See the class description.
        model : mlflow.pyfunc.PyFuncModel
            The model, of the scikit-learn flavor.
        extra_metrics : list, default=None
            Ignored (metrics of predictions are the default evaluator's).
        custom_artifacts : list, default=None
            Ignored.
        predictions : str, default=None
            Ignored.
        **kwargs : dict
            Ignored (MLflow's forward compatibility).

        Returns
        -------
        result : mlflow.models.EvaluationResult
            The logged metrics and artifacts.
        """
        import mlflow
        from mlflow.exceptions import MlflowException
        from mlflow.models.evaluation.artifacts import (
            CsvEvaluationArtifact,
            ImageEvaluationArtifact,
            JsonEvaluationArtifact,
            NumpyEvaluationArtifact,
        )
        from mlflow.models.evaluation.base import EvaluationResult
        from sklearn.frozen import FrozenEstimator

        from .. import (
            GradientExplainer,
            GradientSurrogateClassifier,
            GradientSurrogateRegressor,
        )
        from .mlflow import ARTIFACTS, log_explanation

        config = {**DEFAULTS, **(evaluator_config or {})}
        unknown = sorted(set(config) - set(DEFAULTS))
        if unknown:
            raise MlflowException(
                f"Unknown gradexplain evaluator_config keys {unknown}; known: "
                f"{sorted(DEFAULTS)}."
            )
        raw = _raw_model(model, MlflowException)
        X = _sample(dataset.features_data, config["max_rows"], config["random_state"])
        frozen = FrozenEstimator(raw)
        explainer = GradientExplainer(
            frozen,
            attribution=config["attribution"],
            method=config["method"],
            target=config["target"],
        ).fit(X)
        metrics = dict(config["metrics"] or {})
        if config["surrogate"]:
            kind = (
                GradientSurrogateClassifier
                if model_type == "classifier"
                else GradientSurrogateRegressor
            )
            surrogate = kind(frozen, method=config["method"]).fit(X)
            metrics.setdefault("agreement", surrogate.agreement_)
        prefix = config["metric_prefix"]
        path = config["artifact_path"]
        uri = log_explanation(
            explainer, X, path, metrics=metrics, metric_prefix=prefix, run_id=run_id
        )
        client = mlflow.MlflowClient()
        logged = client.get_run(run_id).data.metrics
        kinds = {
            ".csv": CsvEvaluationArtifact,
            ".json": JsonEvaluationArtifact,
            ".npy": NumpyEvaluationArtifact,
            ".png": ImageEvaluationArtifact,
        }
        artifacts = {
            f"{prefix}{path}/{name}": kinds[name[name.rindex(".") :]](
                uri=f"{uri}/{name}"
            )
            for name in ARTIFACTS
        }
        names = {f"{prefix}{key}" for key in ("completeness_gap", *metrics)}
        return EvaluationResult(
            metrics={key: logged[key] for key in sorted(names) if key in logged},
            artifacts=artifacts,
            run_id=run_id,
        )


def _raw_model(model, error):
    """The scikit-learn model inside an MLflow pyfunc model (a clear error if none)."""
    if model is None:
        raise error(
            "The gradexplain evaluator explains a model: pass model= (a model URI "
            "or a pyfunc model) to mlflow.models.evaluate, not predictions only."
        )
    flavor = None
    metadata = getattr(model, "metadata", None)
    if metadata is not None:
        flavor = metadata.flavors.get("python_function", {}).get("loader_module")
    if flavor != "mlflow.sklearn":
        raise error(
            f"The gradexplain evaluator explains scikit-learn models (logged with "
            f"mlflow.sklearn); this model's flavor is {flavor!r}. Explain it with "
            "sklearn_gradexplain.integrations.mlflow.log_explanation and an "
            "explainer built around the model instead."
        )
    return model.get_raw_model()


def _sample(X, max_rows, random_state):
    """At most ``max_rows`` rows of ``X`` (a seeded sample, in the original order)."""
    n = X.shape[0]
    if max_rows is None or n <= max_rows:
        return X
    rows = np.sort(np.random.default_rng(random_state).choice(n, max_rows, False))
    return X.iloc[rows] if hasattr(X, "iloc") else np.asarray(X)[rows]
