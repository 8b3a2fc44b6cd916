"""KM: kernel-method label enhancement with fuzzy-SVM memberships.

Jiang, Yi, Lv, "Fuzzy SVM with a new fuzzy membership function", Neural Computing and
Applications 15 (2006) (the kernel-space membership), used for LE as the KM baseline of
Xu, Tao, Geng, "Label Enhancement for Label Distribution Learning", IJCAI 2018 and Xu, Lv,
Geng, TKDE 2019 (Section 3.1 there):

- Gaussian kernel ``k(x, y) = exp(-||x - y||^2 / (2 s^2))``, ``s`` the mean pairwise
  distance (``kernel_width=None``);
- class ``j``'s centre in feature space ``phi_j = mean of phi(x_p)`` over the instances
  ``C_j = {p : l_pj = 1}``; squared distance of ``x_i`` to it
  ``s_ij^2 = k(x_i, x_i) - 2/|C_j| sum_p k(x_i, x_p) + 1/|C_j|^2 sum_pq k(x_p, x_q)``;
- class radius ``r_j = max_{p in C_j} s_pj``;
- membership ``mu_ij = 1 - sqrt(s_ij^2 / (r_j^2 + delta))`` for relevant labels
  (``l_ij = 1``), 0 for irrelevant ones;
- degrees: ``d_ij = mu_ij / sum_j mu_ij``.

Irrelevant labels get degree 0 and every relevant label a membership in ``(0, 1]``, so the
output sits close to ``l / sum(l)``, as does the paper's KM column (Movie: Chebyshev 0.234
vs 0.2339 for ``l / sum(l)``, Clark 1.766 vs 1.7657). Its KL(D || D_hat) is therefore ~10
(zero mass where the truth has some); the paper's KM KL figures are KL(D_hat || D) (see
``benchmarks/BASELINES.md``). A row whose memberships are all 0 (its only relevant label
sits on the class boundary and ``delta = 0``) falls back to ``l / sum(l)``.

Cost: one pass over the kernel in row blocks, ``K[block] @ L`` gives every
``sum_{p in C_j} k(x_i, x_p)``: O(n^2 (d + c)) time, O(block n + n c) memory (no dense
``n x n``); plus one pass for the mean pairwise distance when ``kernel_width`` is None.
Transductive (the memberships use the instance's own labels). No randomness.
"""
from __future__ import annotations

import numpy as np

from ._graph import BLOCK, mean_pairwise_distance, normalize_rows, squared_distances
from ..base import NON_NEGATIVE_FINITE, POSITIVE_FINITE, POSITIVE_INT, BaseEnhancer


def kernel_class_distances(X: np.ndarray, L: np.ndarray, width: float, block: int = BLOCK) -> np.ndarray:
    """Squared feature-space distances ``s_ij^2`` of every instance to every class centre
    (Gaussian kernel of width ``width``), ``(n, c)``; blockwise, no ``n x n`` matrix."""
    n, c = L.shape
    sq = np.einsum("ij,ij->i", X, X)
    sums = np.empty((n, c))  # sum_{p in C_j} k(x_i, x_p)
    for start in range(0, n, block):
        stop = min(start + block, n)
        K = squared_distances(X[start:stop], X, sq[start:stop], sq)
        K *= -1.0 / (2.0 * width ** 2)
        np.exp(K, out=K)
        sums[start:stop] = K @ L
    sizes = L.sum(axis=0)
    sizes_safe = np.where(sizes > 0, sizes, 1.0)
    centre_norms = (sums * L).sum(axis=0) / sizes_safe ** 2  # ||phi_j||^2 = l_j^T K l_j / |C_j|^2
    s2 = 1.0 - 2.0 * sums / sizes_safe + centre_norms  # k(x, x) = 1 for the Gaussian kernel
    return np.maximum(s2, 0.0)


class KM(BaseEnhancer):
    """Kernel-method LE with fuzzy-SVM memberships (Xu, Lv, Geng, TKDE 2019, Sec. 3.1).

    Parameters
    ----------
    kernel_width : float or None
        Gaussian kernel width ``s``; None: mean pairwise distance.
    delta : float >= 0
        Small constant in the membership ``1 - sqrt(s^2 / (r^2 + delta))`` that keeps the
        farthest member of a class above 0.
    block : int
        Rows per kernel block (memory ``block * n`` floats).

    Attributes
    ----------
    memberships_ : ndarray of shape (n_samples, n_labels)
        Fuzzy-SVM memberships, 0 on irrelevant labels.
    kernel_width_ : float
        Kernel width used.
    distributions_ : ndarray of shape (n_samples, n_labels)
        Recovered distributions of the training instances.
    n_features_in_, n_labels_ : int

    Notes
    -----
    Transductive. No randomness. O(n^2 (d + c)) time, O(block n + n c) memory.
    """

    inductive = False
    _parameter_constraints = {"kernel_width": [None, POSITIVE_FINITE], "delta": [NON_NEGATIVE_FINITE],
                              "block": [POSITIVE_INT]}

    def __init__(self, *, kernel_width=None, delta: float = 1e-7, block: int = BLOCK):
        self.kernel_width = kernel_width
        self.delta = delta
        self.block = block

    def _fit(self, X, L):
        delta = float(self.delta)
        width = mean_pairwise_distance(X) if self.kernel_width is None else float(self.kernel_width)
        if not width > 0:
            width = 1.0  # all instances identical: any width gives the same answer
        s2 = kernel_class_distances(X, L, width, int(self.block))
        radius2 = np.where(L > 0, s2, 0.0).max(axis=0)
        denominator = radius2 + delta
        ratio = np.divide(s2, denominator, out=np.zeros_like(s2), where=denominator[None, :] > 0)
        memberships = np.clip(1.0 - np.sqrt(np.minimum(ratio, 1.0)), 0.0, 1.0) * L
        self.kernel_width_ = width
        self.memberships_ = memberships
        return normalize_rows(memberships, L)
