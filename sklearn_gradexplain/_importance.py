"""gradient_importance (placeholder until built)."""


def gradient_importance(*args, **kwargs):
    raise NotImplementedError
