"""Agreement scorer (placeholder until built)."""


def surrogate_agreement_score(*args, **kwargs):
    raise NotImplementedError


agreement_scorer = None
