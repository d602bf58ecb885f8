"""Integrations with the tools around the explainers: shap, MLflow, skops.

Each integration imports its package lazily, where it is used: importing
``sklearn_gradexplain`` (or this module) imports none of them.

* :func:`to_shap_explanation`: attributions as a ``shap.Explanation``, for shap's
  plots;
* :mod:`sklearn_gradexplain.integrations.mlflow`: ``log_explanation`` logs an
  explanation to an MLflow run, and the ``"gradexplain"`` model evaluator adds one to
  ``mlflow.models.evaluate``.
"""

from ._shap import to_shap_explanation

__all__ = ["to_shap_explanation"]
