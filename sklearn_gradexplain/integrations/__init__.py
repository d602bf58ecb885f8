"""Integrations with the tools around the explainers: shap, MLflow, skops.

Each integration imports its package lazily, where it is used: importing
``sklearn_gradexplain`` (or this module) imports none of them.
"""

__all__ = []
