"""Learning-rate schedules (multipliers of the base rate)."""

from __future__ import annotations

import math


def warmup_cosine(step: int, total: int, warmup: float = 0.05, floor: float = 1e-3) -> float:
    """Linear warm-up over the first ``warmup`` fraction of ``total`` steps, then a cosine decay
    from 1 to ``floor``. ``step`` counts from 1.

    A decaying rate matters for meta-training predictors: with a constant rate the KL to the
    Bayes-optimal predictor keeps jumping by several times its final value.
    """
    warm = max(1, int(round(warmup * total)))
    if step <= warm:
        return step / warm
    progress = min(1.0, (step - warm) / max(1, total - warm))
    return floor + (1.0 - floor) * 0.5 * (1.0 + math.cos(math.pi * progress))
