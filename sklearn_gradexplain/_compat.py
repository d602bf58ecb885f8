"""The one place where private scikit-learn (and skorch) helpers are imported."""

from sklearn.base import _fit_context  # noqa: F401
from sklearn.feature_selection._from_model import (  # noqa: F401
    _calculate_threshold as calculate_threshold,
)
from sklearn.utils._param_validation import (  # noqa: F401
    HasMethods,
    Interval,
    StrOptions,
)
from sklearn.utils.validation import (  # noqa: F401
    _check_feature_names_in as check_feature_names_in,
)


def skorch_predict_nonlinearity(net):
    """The callable skorch applies to ``module_`` output in ``predict_proba``."""
    return net._get_predict_nonlinearity()
