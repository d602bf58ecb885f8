"""Gradient attributions as a ``shap.Explanation``, so that shap's plots draw them."""

import numpy as np
from sklearn.utils.validation import check_is_fitted


def _check_explainer(explainer, caller):
    """A fitted gradient explainer whose attributions are (samples, features)."""
    from .._base import BaseGradientExplainer
    from .._token import TokenGradientExplainer

    if not isinstance(explainer, BaseGradientExplainer) or isinstance(
        explainer, TokenGradientExplainer
    ):
        raise TypeError(
            f"{caller} takes a fitted GradientExplainer, surrogate or "
            f"GradientFeatureSelector; got {type(explainer).__name__}."
        )
    check_is_fitted(explainer)


def output_labels(explainer):
    """One label per explained output, as plain Python values (JSON, plot labels)."""
    return [_plain(label) for label in explainer._output_labels()]


def _plain(value):
    """A numpy scalar as the Python value (for JSON and plot labels)."""
    return value.item() if isinstance(value, np.generic) else value


def has_reference(explainer):
    """Whether the fitted attribution sums to f(x) − f(reference) (completeness)."""
    attribution = explainer.attribution_
    return hasattr(attribution, "completeness_delta") and hasattr(
        attribution, "_reference_points"
    )


def attributions_and_base_values(explainer, X, background=None):
    """Attributions of ``X`` (n, k, d), explained columns (n, d) and base values (n, k).

    One pass over the rows: each chunk's attributions come from the explainer's
    batching loop; for attributions with a reference, the model is evaluated at each
    chunk's reference points in the same pass.
    """
    data = explainer._validate_input(X, reset=False)
    engine = explainer._engine(data)
    n, k = len(data), explainer.n_outputs_
    reference = has_reference(explainer)
    values = None
    columns = np.empty(data.Z.shape, dtype=data.Z.dtype)
    base = np.empty((n, k)) if reference else None
    for start, stop, points, chunk in explainer._attribution_chunks(engine, data):
        if values is None:
            values = np.empty((n, k, chunk.shape[-1]), dtype=chunk.dtype)
        values[start:stop] = chunk.reshape(stop - start, k, -1)
        columns[start:stop] = points.Z
        if reference:
            base[start:stop] = _reference_output(explainer, engine, points)
    if values is None:
        raise ValueError("Found array with 0 sample(s); at least 1 is required.")
    if not reference:
        rows = X if background is None else background
        base = np.broadcast_to(_mean_output(explainer, rows), (n, k))
    return values, columns, np.array(base)


def _reference_output(explainer, engine, points):
    """Mean model output at each row's reference point(s), (n, k)."""
    reference, repeats = explainer.attribution_._reference_points(points)
    outputs = engine.value(reference)
    return outputs.reshape(len(points), repeats, -1).mean(axis=1)


def _mean_output(explainer, rows):
    """Mean model output (selected outputs) over ``rows``, (k,)."""
    data = explainer._validate_input(rows, reset=False)
    if len(data) == 0:
        raise ValueError("background has 0 rows; at least 1 is required.")
    return explainer._response_values(data).mean(axis=0)


def to_shap_explanation(explainer, X, *, background=None):
    """Attributions of ``X`` as a ``shap.Explanation``, for shap's plots.

    Parameters
    ----------
    explainer : fitted explainer
        A fitted :class:`~sklearn_gradexplain.GradientExplainer` (or surrogate, or
        :class:`~sklearn_gradexplain.GradientFeatureSelector`).
    X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)
        The rows to explain.
    background : {array-like, DataFrame}, default=None
        Rows whose mean model output is the base value of attributions without a
        reference point (gradient, gradient × input, SmoothGrad, LRP). The explainer
        keeps no copy of its fit data: pass it (or a sample of it) here for the
        mean model output over the fit data; ``None`` uses ``X``. Unused for
        attributions with a reference.

    Returns
    -------
    explanation : shap.Explanation
        ``values`` of shape (n_samples, n_features) for one output and (n_samples,
        n_features, n_outputs) for several (shap's layout); ``data`` the explained
        columns of ``X``; ``feature_names`` their names; ``output_names`` the classes
        (or output indices) when there are several outputs. ``base_values``, of
        shape (n_samples,) or (n_samples, n_outputs), depends on the attribution:

        - attributions with a reference point, that is complete ones with
          ``completeness_delta`` (integrated and expected gradients): the model
          output at each row's reference, f(x′) (the mean over the drawn
          baselines for expected gradients; the columns held fixed by
          ``features=`` keep each row's own values). Then ``base_values +
          values.sum(axis=1)`` is f(x) up to the completeness gap, so
          ``shap.plots.waterfall`` ends at the model output;
        - every other attribution: the mean model output over ``background``
          (default ``X``), shap's expected value. Gradients are not additive, so
          the bars of a waterfall need not add up to f(x) then.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> import shap
    >>> from sklearn.datasets import make_regression
    >>> from sklearn.linear_model import LinearRegression
    >>> from sklearn_gradexplain import GradientExplainer
    >>> from sklearn_gradexplain.integrations import to_shap_explanation
    >>> X, y = make_regression(n_samples=40, n_features=3, random_state=0)
    >>> explainer = GradientExplainer(
    ...     LinearRegression(), attribution="integrated_gradients"
    ... ).fit(X, y)
    >>> explanation = to_shap_explanation(explainer, X[:5])
    >>> explanation.values.shape
    (5, 3)
    >>> total = explanation.base_values + explanation.values.sum(axis=1)
    >>> bool(np.allclose(total, explainer.predict(X[:5])))  # waterfall ends at f(x)
    True
    >>> shap.plots.waterfall(explanation[0], show=False)
    <Axes: ...>
    """
    try:
        import shap
    except ImportError as exc:
        raise ImportError(
            "to_shap_explanation needs shap: pip install shap (or "
            "sklearn-gradexplain[shap])."
        ) from exc
    _check_explainer(explainer, "to_shap_explanation")
    values, columns, base = attributions_and_base_values(explainer, X, background)
    names = [str(name) for name in explainer._explained_names()]
    if explainer.n_outputs_ == 1:
        values, base, output_names = values[:, 0], base[:, 0], None
    else:
        values = np.moveaxis(values, 1, 2)  # (n, d, k): shap's layout
        output_names = [str(name) for name in output_labels(explainer)]
    return shap.Explanation(
        values=values,
        base_values=base,
        data=columns,
        feature_names=names,
        output_names=output_names,
    )
