"""Gradient engines: torch autograd and vectorized finite differences."""
