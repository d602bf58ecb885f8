"""Translation of fitted scikit-learn estimators into torch functions."""

from ..exceptions import NotDifferentiableError


def translate(model, response_method, dtype, device):
    raise NotDifferentiableError(
        f"{type(model).__name__} cannot be translated into torch; "
        "use method='finite_difference'."
    )
