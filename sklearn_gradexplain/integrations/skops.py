"""skops: store fitted explainers in ``.skops`` files, loaded without running code.

``skops.io.load`` rebuilds only the types it is told to trust. Those of scikit-learn,
numpy and scipy are trusted by default; :func:`trusted_types` lists the ones this
library adds (the estimators, the attribution objects and the fitted state they hold),
so that a fitted explainer loads with::

    import skops.io as sio
    from sklearn_gradexplain.integrations.skops import trusted_types

    sio.dump(explainer, "explainer.skops")
    untrusted = sio.get_untrusted_types(file="explainer.skops")
    # check what is left: the wrapped model's own types, if any
    print([t for t in untrusted if t not in trusted_types()])
    explainer = sio.load("explainer.skops", trusted=untrusted)

Importing this module imports neither skops nor torch.
"""

import importlib

__all__ = ["trusted_types"]

# Fitted state held by the estimators that is not an estimator itself: where each
# type lives (its module and name are what skops records).
_STATE_TYPES = (
    ("sklearn_gradexplain._base", "_GlobalStatistics"),
    ("sklearn_gradexplain._statistics", "RunningMoments"),
    ("sklearn_gradexplain._statistics", "ColumnMoments"),
    ("sklearn_gradexplain._statistics", "_SparseMoments"),
    ("sklearn_gradexplain._response", "OutputSelection"),
    ("sklearn_gradexplain._categorical", "CategoryTable"),
    ("sklearn_gradexplain._compat", "StoredTensor"),  # a TorchModel's module tensors
)


def _qualified(cls):
    return f"{cls.__module__}.{cls.__qualname__}"


def trusted_types():
    """The library's own types that a ``.skops`` file of its estimators holds.

    These are the types to pass to ``skops.io.load(..., trusted=...)`` beyond those of
    the wrapped model: every public estimator (the explainers, the surrogates, the
    selector, :class:`~sklearn_gradexplain.TorchModel`), every attribution object
    (the registered shorthands included), :class:`~sklearn_gradexplain.FiniteDifference`
    and the fitted state the estimators hold (running statistics, the selected
    outputs, the categories of ``categorical_features``). Loading them runs no code
    from the file: skops creates each object and sets its attributes. The wrapped
    model's types are not included; a skorch net or a torch module needs its own
    (see the skops page of the documentation).

    Returns
    -------
    types : list of str
        Fully qualified type names (``module.Name``, as skops writes them), sorted.

    Examples
    --------
    >>> from sklearn_gradexplain.integrations.skops import trusted_types
    >>> "sklearn_gradexplain._explainer.GradientExplainer" in trusted_types()
    True
    >>> "sklearn_gradexplain.attributions._gradient.Gradient" in trusted_types()
    True
    """
    from sklearn.base import BaseEstimator

    import sklearn_gradexplain
    from sklearn_gradexplain import attributions
    from sklearn_gradexplain.attributions._base import REGISTRY

    classes = set()
    for module in (sklearn_gradexplain, attributions):
        for name in module.__all__:
            obj = getattr(module, name)
            if isinstance(obj, type) and issubclass(obj, BaseEstimator):
                classes.add(obj)
    classes.update(cls for cls, _ in REGISTRY.values())
    names = {_qualified(cls) for cls in classes}
    for module_name, name in _STATE_TYPES:
        try:
            cls = getattr(importlib.import_module(module_name), name)
        except (ImportError, AttributeError):  # not in this version: nothing to trust
            continue
        names.add(_qualified(cls))
    return sorted(names)
