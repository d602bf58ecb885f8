"""Feature selection (placeholder until built)."""


class GradientFeatureSelector:
    pass
