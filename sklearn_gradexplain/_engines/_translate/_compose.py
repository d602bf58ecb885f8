"""Translations of composites: Pipeline, FrozenEstimator, ColumnTransformer,
FeatureUnion.

A skorch net or :class:`~sklearn_gradexplain.TorchModel` can be a step (the last one):
:func:`._registry.translate_step` gives its module's own response.
"""

import numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.frozen import FrozenEstimator
from sklearn.pipeline import FeatureUnion, Pipeline

from ..._compat import column_transformer_input_indices
from ._registry import Blocked, located, register, unsupported


@register(Pipeline)
def _pipeline(model, method, ctx):
    steps = []
    last = len(model.steps) - 1
    for i, (name, step) in enumerate(model.steps):
        if step is None or (isinstance(step, str) and step == "passthrough"):
            continue
        step_method = method if i == last else "transform"
        location = f"step {name!r} of the {type(model).__name__}"
        steps.append(located(step, step_method, ctx, location))
        ctx = ctx.deeper()  # the next steps see transformed data, not the raw rows
    if not steps:
        return lambda X: X

    def composed(X):
        for step in steps:
            X = step(X)
        return X

    return composed


@register(FrozenEstimator)
def _frozen(model, method, ctx):
    return located(model.estimator, method, ctx, "inside the FrozenEstimator")


@register(FeatureUnion)
def _feature_union(model, method, ctx):
    import torch

    if method != "transform":
        raise unsupported(model, method)
    weights = model.transformer_weights or {}
    parts = []
    for name, transformer in model.transformer_list:
        # FeatureUnion._iter: "drop" is skipped, "passthrough" is the identity
        if isinstance(transformer, str) and transformer == "drop":
            continue
        if isinstance(transformer, str) and transformer == "passthrough":
            function = None
        else:
            location = f"transformer {name!r} of the {type(model).__name__}"
            function = located(transformer, "transform", ctx, location)
        parts.append((function, weights.get(name)))

    def transform(X):
        if not parts:
            return X[:, :0]
        outputs = []
        for function, weight in parts:
            out = X if function is None else function(X)
            outputs.append(out if weight is None else out * weight)
        return torch.cat(outputs, dim=1)

    return transform


@register(ColumnTransformer)
def _column_transformer(model, method, ctx):
    import torch

    if method != "transform":
        raise unsupported(model, method)
    if getattr(model, "sparse_output_", False):
        raise Blocked(model, "sparse output")
    name_kind = type(model).__name__
    held = ctx.held
    parts = []
    for name, transformer, _ in model.transformers_:
        indices = column_transformer_input_indices(model, name)
        if isinstance(transformer, str) and transformer == "drop":
            continue
        if not indices:
            continue
        index = torch.tensor(indices, dtype=torch.long, device=ctx.device)
        if isinstance(transformer, str) and transformer == "passthrough":
            function = None
        else:
            location = f"transformer {name!r} of the {name_kind}"
            try:
                function = located(transformer, "transform", ctx.deeper(), location)
            except Blocked:
                if held is None or not set(indices) <= held.columns:
                    raise
                # every input column of this branch is held fixed: a constant per
                # row, computed in numpy from the batch's raw rows
                function = _constant_branch(transformer, indices, held, ctx)
        parts.append((index, function))

    def transform(X):
        outputs = []
        for index, function in parts:
            columns = X[:, index]
            outputs.append(columns if function is None else function(columns))
        if not outputs:
            return X[:, :0]
        return torch.cat(outputs, dim=1)

    return transform


def _constant_branch(transformer, indices, held, ctx):
    """A branch of held-fixed columns: its numpy output on the current raw rows."""

    def constant(columns):
        rows = held.rows
        part = rows.iloc[:, indices] if hasattr(rows, "iloc") else rows[:, indices]
        out = transformer.transform(part)
        out = out.toarray() if hasattr(out, "toarray") else np.asarray(out)
        return ctx.tensor(np.asarray(out, dtype=np.float64)).to(columns.device)

    return constant
