"""The field's binarisation protocol: label distributions -> logical labels."""
from __future__ import annotations

import numpy as np

from .validation import check_distributions


def binarize(D, threshold: float = 0.5) -> np.ndarray:
    """Logical labels ``(n, c)`` (float64, 0/1) from label distributions ``D`` ``(n, c)``.

    Per row, degrees are sorted in descending order (stable: ties keep column order) and
    labels are marked relevant until their cumulative degree exceeds ``threshold``; the
    label that crosses it is included. This reproduces every ``logicalLabel`` of the LE
    literature's ``*_binary.mat`` files.
    """
    D = check_distributions(D, "D")
    if not 0.0 < threshold < 1.0:
        raise ValueError(f"threshold must lie in (0, 1), got {threshold}")
    order = np.argsort(-D, axis=1, kind="stable")
    sorted_degrees = np.take_along_axis(D, order, axis=1)
    mass_before = np.cumsum(sorted_degrees, axis=1) - sorted_degrees
    relevant_sorted = mass_before <= threshold
    L = np.zeros_like(D)
    np.put_along_axis(L, order, relevant_sorted.astype(np.float64), axis=1)
    return L
