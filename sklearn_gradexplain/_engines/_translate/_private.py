"""Private attributes of fitted scikit-learn estimators that the translations read.

These belong with the other private accesses in :mod:`sklearn_gradexplain._compat`
(the one compat module); they are gathered here, each with the version it was checked
against, so that moving them is one cut and paste. Nothing else in the translation
package reads a private attribute of another library.
"""


def pls_centering(model):
    """``(_x_mean, _x_std)`` of a fitted ``_PLS`` (PLSRegression, PLSCanonical, CCA).

    Checked against scikit-learn 1.9.1.
    """
    return model._x_mean, model._x_std


def pls_predicts_1d(model):
    """``_PLS._predict_1d``: the target was 1-D in fit (checked against 1.9.1)."""
    return bool(model._predict_1d)


def gpr_target_normalization(model):
    """``(_y_train_mean, _y_train_std)`` of a ``GaussianProcessRegressor`` (1.9.1)."""
    return model._y_train_mean, model._y_train_std


def power_transformer_scaler(model):
    """The ``StandardScaler`` a ``PowerTransformer(standardize=True)`` applies last.

    ``PowerTransformer._scaler``, checked against scikit-learn 1.9.1.
    """
    return model._scaler


def kernel_pca_centerer(model):
    """The fitted ``KernelCenterer`` of a ``KernelPCA`` (``_centerer``, 1.9.1)."""
    return model._centerer


def target_training_dim(model):
    """``TransformedTargetRegressor._training_dim``: y's ndim in fit (1.9.1)."""
    return model._training_dim


def is_constant_predictor(estimator):
    """Whether ``estimator`` is a ``sklearn.multiclass._ConstantPredictor``.

    One-vs-rest fits one where a class is in every row or in none (checked against
    1.9.1).
    """
    kind = type(estimator)
    return kind.__name__ == "_ConstantPredictor" and kind.__module__ == (
        "sklearn.multiclass"
    )


def constant_predictor_value(estimator):
    """The constant a ``_ConstantPredictor`` predicts (``y_``, 1.9.1)."""
    return estimator.y_
