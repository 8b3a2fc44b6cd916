"""Choosing the read-out temperature T of ``softmax(z / T)`` after training."""
from __future__ import annotations

import numpy as np

from ..data.validation import check_distributions, check_same_shape
from ..metrics import higher_is_better, MEASURES
from ..readout import TEMPERATURE_GRID, softmax_with_temperature

__all__ = ["TEMPERATURE_GRID", "select_temperature", "softmax_with_temperature"]


def select_temperature(logits, distributions, grid=TEMPERATURE_GRID, metric: str = "Kullback-Leibler") -> float:
    """The T of ``grid`` whose ``softmax(logits / T)`` is best on ``metric`` against the known
    ``distributions``; logits and distributions (m, c) for the instances whose truth is revealed.
    Ties go to the earlier grid value."""
    distributions = check_distributions(distributions, "distributions")
    check_same_shape(logits=np.asarray(logits), distributions=distributions)
    function, better_high = MEASURES[metric][0], higher_is_better(metric)
    values = [function(distributions, softmax_with_temperature(logits, t)) for t in grid]
    best = int(np.argmax(values) if better_high else np.argmin(values))
    return float(grid[best])
