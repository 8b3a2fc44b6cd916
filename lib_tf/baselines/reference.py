"""Feature-free references: what the logical labels alone give.

Every results table carries both, so a method's features are seen to earn their keep.
"""
from __future__ import annotations

import numpy as np

from .base import BaseEnhancer

#: Temperatures searched for the label softmax (the grid of the reference figures).
TEMPERATURE_GRID = (0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0)


class NaiveNormalize(BaseEnhancer):
    """``d = l / sum(l)``: equal degrees on the relevant labels, zero elsewhere. O(n c)."""

    inductive = False

    def _fit(self, X, L):
        return L / L.sum(axis=1, keepdims=True)


def label_softmax(L, temperature: float = 1.0) -> np.ndarray:
    """``softmax(l / T)`` row-wise for logical labels ``L`` (n, c); returns (n, c)."""
    if not temperature > 0:
        raise ValueError(f"temperature must be positive, got {temperature}")
    logits = np.asarray(L, dtype=np.float64) / temperature
    logits -= logits.max(axis=1, keepdims=True)
    weights = np.exp(logits)
    return weights / weights.sum(axis=1, keepdims=True)


class LabelSoftmax(BaseEnhancer):
    """``d = softmax(l / T)``: relevant labels share more mass than irrelevant ones, with the
    contrast set by the temperature ``T`` (a hyper-parameter like any other: choose it with
    the same protocol as every other method's parameters). O(n c)."""

    inductive = False

    def __init__(self, temperature: float = 1.0):
        self.temperature = temperature

    def _fit(self, X, L):
        return label_softmax(L, self.temperature)
