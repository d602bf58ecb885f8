"""Small models shared by the tests (importable by joblib and dask workers)."""

import numpy as np
from sklearn.linear_model import LogisticRegression


class FailingClassifier(LogisticRegression):
    """Raises inside ``predict_proba`` on rows whose first feature is marked (>1e6)."""

    def predict_proba(self, X):
        X = np.asarray(X)
        if np.any(X[:, 0] > 1e6):
            raise ArithmeticError("model blew up")
        return super().predict_proba(X)
