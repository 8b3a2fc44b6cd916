"""Reading logits out as label distributions: ``softmax(z / T)`` and the grid of T.

The lowest layer shared by the feature-free label softmax (``z = l``) and LIB's read-out
(``z = f_ld(h)``); NumPy only, so both sides import it without importing each other.
"""
from __future__ import annotations

import numpy as np

#: Temperatures searched for a read-out (the grid of the label-softmax reference figures).
TEMPERATURE_GRID = (0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0)


def softmax_with_temperature(logits, temperature: float) -> np.ndarray:
    """Row-wise ``softmax(z / T)`` in float64; logits (n, c) -> (n, c)."""
    if not temperature > 0:
        raise ValueError(f"temperature must be positive, got {temperature}")
    scaled = np.asarray(logits, dtype=np.float64) / temperature
    scaled -= scaled.max(axis=1, keepdims=True)
    weights = np.exp(scaled)
    return weights / weights.sum(axis=1, keepdims=True)


#: Temperatures of the logical labels in the two-temperature read-out; ``inf`` drops the term.
LABEL_TEMPERATURE_GRID = (*TEMPERATURE_GRID, float("inf"))


def two_temperature_pairs(grid=TEMPERATURE_GRID, label_grid=LABEL_TEMPERATURE_GRID) -> list:
    """The ``(T_z, T_l)`` searched for :func:`softmax_two_temperatures`: ``grid`` plus inf for
    the logits, ``label_grid`` for the labels, without the pair that drops both terms."""
    return [(tz, tl) for tz in (*grid, float("inf")) for tl in label_grid if not (np.isinf(tz) and np.isinf(tl))]


def softmax_two_temperatures(logits, logical_labels, logits_temperature: float, labels_temperature: float) -> np.ndarray:
    """``softmax(z / T_z + l / T_l)`` row-wise; logits z and logical labels l (n, c) -> (n, c).

    A transductive read-out of a model's logits that also uses each instance's own logical
    labels: ``T_l = inf`` is the model alone (``softmax(z / T_z)``), ``T_z = inf`` the
    feature-free label softmax (``softmax(l / T_l)``), so choosing both on known
    distributions can only match or beat each of the two on the selection metric.
    """
    logits = np.asarray(logits, dtype=np.float64)
    labels = np.asarray(logical_labels, dtype=np.float64)
    if logits.shape != labels.shape:
        raise ValueError(f"logits {logits.shape} and logical_labels {labels.shape} must have the same shape")
    for name, value in (("logits_temperature", logits_temperature), ("labels_temperature", labels_temperature)):
        if not value > 0:
            raise ValueError(f"{name} must be positive (inf drops the term), got {value}")
    if np.isinf(logits_temperature) and np.isinf(labels_temperature):
        raise ValueError("logits_temperature and labels_temperature cannot both be inf")
    combined = np.zeros_like(logits)
    if np.isfinite(logits_temperature):
        combined += logits / logits_temperature
    if np.isfinite(labels_temperature):
        combined += labels / labels_temperature
    return softmax_with_temperature(combined, 1.0)
