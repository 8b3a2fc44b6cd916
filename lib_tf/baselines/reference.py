"""Feature-free references: what the logical labels alone give.

Every results table carries both, so a method's features are seen to earn their keep.
"""
from __future__ import annotations

import numpy as np

from ..readout.forms import softmax_with_temperature
from ..base import POSITIVE_FINITE, BaseEnhancer

__all__ = ["NaiveNormalize", "LabelSoftmax", "label_shares", "label_softmax"]


def label_shares(L) -> np.ndarray:
    """``l / sum(l)`` row-wise for logical labels ``L`` (n, c); returns (n, c)."""
    L = np.asarray(L, np.float64)
    return L / L.sum(axis=1, keepdims=True)


class NaiveNormalize(BaseEnhancer):
    """``d = l / sum(l)``: equal degrees on the relevant labels, zero elsewhere. O(n c)."""

    inductive = False
    feature_range = None  # X is not used

    def _fit(self, X, L):
        return label_shares(L)


def label_softmax(L, temperature: float = 1.0) -> np.ndarray:
    """``softmax(l / T)`` row-wise for logical labels ``L`` (n, c); returns (n, c)."""
    return softmax_with_temperature(L, temperature)


class LabelSoftmax(BaseEnhancer):
    """``d = softmax(l / T)``: relevant labels share more mass than irrelevant ones, with the
    contrast set by the temperature ``T`` (a hyper-parameter like any other: choose it with
    the same protocol as every other method's parameters). O(n c).

    Parameters
    ----------
    temperature : float > 0, default=1.0
        ``T``; larger values flatten the distributions.

    Attributes
    ----------
    distributions_ : ndarray of shape (n_samples, n_labels)
    n_features_in_, n_labels_ : int
    """

    inductive = False
    feature_range = None  # X is not used
    _parameter_constraints = {"temperature": [POSITIVE_FINITE]}

    def __init__(self, *, temperature: float = 1.0):
        self.temperature = temperature

    def _fit(self, X, L):
        return label_softmax(L, self.temperature)
