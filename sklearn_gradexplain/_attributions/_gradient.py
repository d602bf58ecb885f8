"""Plain input gradients and gradient x input."""

from . import Attribution


def gradient(engine, data, settings):
    """∂f(x)/∂x for each row."""
    return engine.gradient(data.Z, data.context)


def gradient_x_input(engine, data, settings):
    """x ⊙ ∂f(x)/∂x for each row."""
    return engine.gradient(data.Z, data.context) * data.Z[:, None, :]


GRADIENT = Attribution(gradient)
GRADIENT_X_INPUT = Attribution(gradient_x_input)
