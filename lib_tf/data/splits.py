"""Splitting instances into a revealed share and the rest (one rule for the whole package)."""
from __future__ import annotations

import numpy as np

#: Share of the instances whose ground truth the ``blind`` protocol reveals.
REVEAL_SHARE = 0.1


def split_instances(n: int, share: float = REVEAL_SHARE, seed: int = 0):
    """(first, rest), both sorted: ``np.random.default_rng(seed).permutation(n)`` cut at
    ``round(share * n)`` (at least one instance). The benchmark's revealed share, the tuner's
    revealed or held-out share and ``lib-tf enhance --reveal`` all use this rule."""
    if not 0 < share < 1:
        raise ValueError(f"share must lie in (0, 1), got {share}")
    if int(n) < 2:
        raise ValueError(f"cannot split {n} instances into two non-empty parts")
    order = np.random.default_rng(seed).permutation(int(n))
    cut = min(int(n) - 1, max(1, int(round(share * n))))
    return np.sort(order[:cut]), np.sort(order[cut:])
