"""Layer-wise relevance propagation (Bach et al. 2015)."""

from . import Attribution


def lrp(engine, data, settings):
    raise NotImplementedError("attribution='lrp' is not built yet.")


LRP = Attribution(lrp, engines=("autograd",))
