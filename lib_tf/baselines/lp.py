"""LP: label propagation as a label-enhancement baseline.

Zhou, Bousquet, Lal, Weston, Schoelkopf, "Learning with local and global consistency",
NIPS 2004 (the propagation ``F <- alpha P F + (1 - alpha) L``), used for LE by Li, Zhang,
Geng, "Leveraging implicit relative labeling-importance information for effective
multi-label learning", ICDM 2015, and as the LP baseline of Xu, Tao, Geng, "Label
Enhancement for Label Distribution Learning", IJCAI 2018 / Xu, Lv, Geng, TKDE 2019
(Section 3.2, Eqs. 3-5 there):

- affinity ``a_ij = exp(-||x_i - x_j||^2 / (2 sigma^2))`` for ``i != j`` (Eq. 3); here on a
  sparse kNN graph (``n_neighbors``; see below), symmetrised as ``(A + A^T) / 2``;
- ``P = Dg^{-1/2} A Dg^{-1/2}`` with ``Dg = diag(A 1)`` (Eq. 4);
- ``F(t) = alpha P F(t-1) + (1 - alpha) L``, ``F(0) = L`` (Eq. 5), whose fixed point is
  ``F* = (1 - alpha) (I - alpha P)^{-1} L``;
- degrees: rows of ``F*`` normalised to sum 1 (``F*`` is non-negative).

The iteration is a contraction with rate ``alpha * rho(P) <= alpha`` (``rho(P) <= 1``), so
it is run to the fixed point (``tol``) with sparse products; this *is* the closed form, to
``tol``, without forming a dense inverse.

Graph: the LE papers build ``A`` on all pairs, and that is the default here
(``n_neighbors=None``, ``sigma`` the mean pairwise distance): it reproduces the paper's LP
column (SJAFFE Chebyshev 0.108 vs 0.107, Yeast_alpha 0.040 vs 0.040), while a sparse kNN
graph does not (k = 10: SJAFFE 0.124, +16%), because with that width every pair carries
weight and the propagation mixes each instance with the whole data set. The full graph is
the one dense ``n x n`` matrix of this module (Movie: 7755^2 floats, 480 MB), built in row
blocks. ``n_neighbors=k`` gives the sparse kNN variant (O(n k) memory).

Cost: O(n^2 d) to build the graph, O(T n^2 c) (full graph) or O(T n k c) (kNN) for ``T``
propagation steps (``T ~ log(tol) / log(alpha)``, about 35 at alpha 0.5); memory O(n^2)
(full graph) or O(n k + n c) (kNN).
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from numbers import Real

from sklearn.utils._param_validation import Interval

from ._graph import BLOCK, gaussian_knn_graph, normalize_rows, squared_distances
from ..base import POSITIVE_FINITE, POSITIVE_INT, BaseEnhancer


def normalized_affinity(A):
    """``Dg^{-1/2} A Dg^{-1/2}`` for a symmetric non-negative affinity (isolated nodes stay 0);
    a dense ``A`` is scaled in place."""
    degrees = np.asarray(A.sum(axis=1)).ravel()
    inv_sqrt = np.zeros_like(degrees)
    positive = degrees > 0
    inv_sqrt[positive] = 1.0 / np.sqrt(degrees[positive])
    if sp.issparse(A):
        scale = sp.diags(inv_sqrt)
        return (scale @ A @ scale).tocsr()
    A *= inv_sqrt[:, None]  # in place: the dense graph is not needed afterwards
    A *= inv_sqrt[None, :]
    return A


def propagate(P, L: np.ndarray, alpha: float, tol: float = 1e-10, max_iter: int = 1000):
    """Iterate ``F <- alpha P F + (1 - alpha) L`` from ``F = L`` until the largest change is
    below ``tol``; returns ``(F, n_iter)``."""
    F = L.copy()
    for step in range(1, max_iter + 1):
        F_new = alpha * (P @ F) + (1.0 - alpha) * L
        change = np.abs(F_new - F).max()
        F = F_new
        if change < tol:
            return F, step
    return F, max_iter


def full_gaussian_graph(X: np.ndarray, sigma=None, block: int = BLOCK):
    """Dense ``a_ij = exp(-||x_i - x_j||^2 / (2 sigma^2))``, ``a_ii = 0``, built in row blocks
    in one ``(n, n)`` array; ``sigma=None`` takes the mean pairwise distance. Returns
    ``(A, sigma)``."""
    n = X.shape[0]
    sq = np.einsum("ij,ij->i", X, X)
    A = np.empty((n, n))
    for start in range(0, n, block):
        stop = min(start + block, n)
        A[start:stop] = squared_distances(X[start:stop], X, sq[start:stop], sq)
    A[np.diag_indices(n)] = 0.0
    if sigma is None:
        total = 0.0
        for start in range(0, n, block):
            total += np.sqrt(A[start:start + block]).sum()
        sigma = total / max(n * (n - 1), 1)
        if not sigma > 0:
            sigma = 1.0
    A *= -1.0 / (2.0 * sigma ** 2)
    np.exp(A, out=A)
    A[np.diag_indices(n)] = 0.0
    return A, float(sigma)


class LP(BaseEnhancer):
    """Label propagation LE (Xu, Lv, Geng, TKDE 2019, Sec. 3.2, Eqs. 3-5; Zhou et al. 2004).

    Parameters
    ----------
    alpha : float in (0, 1)
        Weight of propagated over initial labels (paper: 0.5).
    n_neighbors : int or None
        None (default): all pairs, as in the papers (dense ``n x n``); an integer: a sparse
        kNN graph with that many neighbours per instance.
    sigma : float or None
        Gaussian width of the affinity; None: the mean pairwise distance (full graph) or the
        mean distance to the ``n_neighbors`` nearest neighbours (kNN graph).
    tol : float > 0
        The propagation stops when no entry moves more than this.
    max_iter : int >= 1
        Most propagation steps.

    Attributes
    ----------
    propagated_ : ndarray of shape (n_samples, n_labels)
        The fixed point ``F*``.
    n_iter_ : int
        Propagation steps run.
    sigma_ : float
        Affinity width used.
    distributions_ : ndarray of shape (n_samples, n_labels)
        Recovered distributions of the training instances.
    n_features_in_, n_labels_ : int

    Notes
    -----
    Transductive. No randomness. Full graph: O(n^2 (d + T c)) time, O(n^2) memory; kNN graph:
    O(n^2 d + T n k c) time, O(n k + n c) memory.
    """

    inductive = False
    _parameter_constraints = {"alpha": [Interval(Real, 0, 1, closed="neither")], "n_neighbors": [None, POSITIVE_INT],
                              "sigma": [None, POSITIVE_FINITE], "tol": [POSITIVE_FINITE], "max_iter": [POSITIVE_INT]}

    def __init__(self, *, alpha: float = 0.5, n_neighbors=None, sigma=None, tol: float = 1e-10, max_iter: int = 1000):
        self.alpha = alpha
        self.n_neighbors = n_neighbors
        self.sigma = sigma
        self.tol = tol
        self.max_iter = max_iter

    def _fit(self, X, L):
        alpha = float(self.alpha)
        sigma = None if self.sigma is None else float(self.sigma)
        if self.n_neighbors is None:
            A, sigma = full_gaussian_graph(X, sigma)
        else:
            k = int(self.n_neighbors)
            A, sigma = gaussian_knn_graph(X, k, sigma)
        P = normalized_affinity(A)
        F, self.n_iter_ = propagate(P, L, alpha, float(self.tol), int(self.max_iter))
        self.sigma_ = sigma
        self.propagated_ = F
        return normalize_rows(F, L)
