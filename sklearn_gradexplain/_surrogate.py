"""Surrogates (placeholder until built)."""


class GradientSurrogateClassifier:
    pass


class GradientSurrogateRegressor:
    pass
