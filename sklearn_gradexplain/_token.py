"""Token gradients (placeholder until built)."""


class TokenGradientExplainer:
    pass
