"""Displays (placeholder until built)."""


class GradientAttributionDisplay:
    pass
