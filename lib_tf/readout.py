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
