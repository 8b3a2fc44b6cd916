"""Choosing the read-out temperature T of ``softmax(z / T)`` after training."""
from __future__ import annotations

import numpy as np

from ..data.validation import check_distributions, check_same_shape
from ..metrics import higher_is_better, MEASURES
from ..readout import (TEMPERATURE_GRID, rule_consistent, softmax_two_temperatures, softmax_with_temperature,
                       two_temperature_pairs)

__all__ = ["TEMPERATURE_GRID", "select_temperature", "select_two_temperatures", "softmax_with_temperature"]


def _best(candidates, read_out, distributions, metric):
    """The first candidate whose ``read_out(candidate)`` is best on ``metric``."""
    function, better_high = MEASURES[metric][0], higher_is_better(metric)
    values = [function(distributions, read_out(candidate)) for candidate in candidates]
    return candidates[int(np.argmax(values) if better_high else np.argmin(values))]


def select_temperature(logits, distributions, grid=TEMPERATURE_GRID, metric: str = "Kullback-Leibler") -> float:
    """The T of ``grid`` whose ``softmax(logits / T)`` is best on ``metric`` against the known
    ``distributions``; logits and distributions (m, c) for the instances whose truth is revealed.
    Ties go to the earlier grid value."""
    distributions = check_distributions(distributions, "distributions")
    check_same_shape(logits=np.asarray(logits), distributions=distributions)
    return float(_best(list(grid), lambda t: softmax_with_temperature(logits, t), distributions, metric))


def select_two_temperatures(logits, logical_labels, distributions, pairs=None, metric: str = "Kullback-Leibler",
                            rule_projection: bool = False) -> tuple:
    """The ``(T_z, T_l)`` of ``pairs`` (default :func:`~lib_tf.readout.two_temperature_pairs`)
    whose ``softmax(logits / T_z + l / T_l)`` (moved into the binarisation rule's interval with
    ``rule_projection``, see :func:`~lib_tf.readout.rule_consistent`) is best on ``metric``;
    logits, logical labels and distributions (m, c) for the revealed instances. Ties go to
    the earlier pair."""
    distributions = check_distributions(distributions, "distributions")
    check_same_shape(logits=np.asarray(logits), logical_labels=np.asarray(logical_labels), distributions=distributions)
    pairs = two_temperature_pairs() if pairs is None else list(pairs)

    def read_out(pair):
        recovered = softmax_two_temperatures(logits, logical_labels, *pair)
        return rule_consistent(recovered, logical_labels) if rule_projection else recovered

    tz, tl = _best(pairs, read_out, distributions, metric)
    return float(tz), float(tl)
