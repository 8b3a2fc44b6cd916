"""Shared pieces of the classical LE baselines (FCM, KM, LP, ML, GLLE): sparse kNN graphs,
Gaussian weights, Laplacians, blockwise Gaussian kernels and row normalisation.

Nothing here builds a dense ``n x n`` matrix: graphs are ``scipy.sparse`` CSR with ``n k``
entries, and kernel quantities are accumulated over row blocks of ``block`` instances.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from sklearn.neighbors import NearestNeighbors

#: Rows per block when a pass over all pairs is unavoidable (memory ``block * n`` floats).
BLOCK = 1024


def knn(X: np.ndarray, n_neighbors: int):
    """Indices and Euclidean distances of each instance's ``n_neighbors`` nearest other
    instances, ``(n, k)`` each (the instance itself excluded). O(n^2 d) time with the brute
    force search scikit-learn picks for wide data, O(n k) memory for the result."""
    n = X.shape[0]
    k = min(n_neighbors, n - 1)
    if k < 1:
        raise ValueError(f"X has {n} instance(s); a neighbour graph needs at least 2")
    search = NearestNeighbors(n_neighbors=k + 1).fit(X)
    distances, indices = search.kneighbors(X)
    # Drop the instance itself; with duplicate points it may not be in column 0.
    own = indices == np.arange(n)[:, None]
    keep = ~own
    # Rows where the instance did not appear among the k+1 (duplicates): drop the last column.
    missing = ~own.any(axis=1)
    keep[missing, -1] = False
    indices = indices[keep].reshape(n, k)
    distances = distances[keep].reshape(n, k)
    return indices, distances


def sparse_from_knn(indices: np.ndarray, values: np.ndarray, n: int) -> sp.csr_matrix:
    """CSR ``(n, n)`` matrix with row ``i`` holding ``values[i]`` at columns ``indices[i]``."""
    k = indices.shape[1]
    rows = np.repeat(np.arange(n), k)
    return sp.csr_matrix((values.ravel(), (rows, indices.ravel())), shape=(n, n))


def gaussian_knn_graph(X: np.ndarray, n_neighbors: int, sigma=None, symmetric: bool = True):
    """Sparse Gaussian-weighted kNN graph ``a_ij = exp(-||x_i - x_j||^2 / (2 sigma^2))`` for
    ``x_j`` among the ``n_neighbors`` nearest neighbours of ``x_i`` (``a_ii = 0``).

    ``sigma=None`` takes the mean distance to the k nearest neighbours (a scale-free choice
    that keeps the weights informative for any feature scale). With ``symmetric`` the graph
    is ``(A + A^T) / 2``. Returns ``(A, sigma)``. O(n^2 d) time (neighbour search), O(n k)
    memory.
    """
    n = X.shape[0]
    indices, distances = knn(X, n_neighbors)
    if sigma is None:
        sigma = float(distances.mean())
        if not sigma > 0:
            sigma = 1.0
    weights = np.exp(-(distances ** 2) / (2.0 * sigma ** 2))
    A = sparse_from_knn(indices, weights, n)
    if symmetric:
        A = ((A + A.T) * 0.5).tocsr()
    return A, sigma


def laplacian(A: sp.spmatrix) -> sp.csr_matrix:
    """Graph Laplacian ``G = diag(A 1) - A`` of a symmetric sparse affinity ``A``."""
    degrees = np.asarray(A.sum(axis=1)).ravel()
    return (sp.diags(degrees) - A).tocsr()


def squared_distances(X: np.ndarray, Y: np.ndarray, X_sq=None, Y_sq=None) -> np.ndarray:
    """``||x_i - y_j||^2`` for all pairs, ``(len(X), len(Y))``, clipped at 0."""
    X_sq = np.einsum("ij,ij->i", X, X) if X_sq is None else X_sq
    Y_sq = np.einsum("ij,ij->i", Y, Y) if Y_sq is None else Y_sq
    out = X @ Y.T
    out *= -2.0
    out += X_sq[:, None]
    out += Y_sq[None, :]
    np.maximum(out, 0.0, out=out)
    return out


def mean_pairwise_distance(X: np.ndarray, block: int = BLOCK) -> float:
    """Mean Euclidean distance over distinct pairs (``mean(pdist(X))``), in row blocks:
    O(n^2 d) time, O(block n) memory."""
    n = X.shape[0]
    if n < 2:
        return 1.0
    sq = np.einsum("ij,ij->i", X, X)
    total = 0.0
    for start in range(0, n, block):
        stop = min(start + block, n)
        d2 = squared_distances(X[start:stop], X, sq[start:stop], sq)
        total += np.sqrt(d2).sum()  # diagonal is 0
    return total / (n * (n - 1))


def normalize_rows(F: np.ndarray, fallback: np.ndarray) -> np.ndarray:
    """Rows of ``F`` (clipped at 0) divided by their sums; a row with no positive mass takes
    the corresponding row of ``fallback`` (normalised) instead, so every row is a
    distribution."""
    F = np.maximum(np.asarray(F, dtype=np.float64), 0.0)
    sums = F.sum(axis=1, keepdims=True)
    empty = ~(sums[:, 0] > 0)
    if empty.any():
        F = F.copy()
        F[empty] = fallback[empty]
        sums[empty, 0] = fallback[empty].sum(axis=1)
    return F / sums


def softmax_rows(Z: np.ndarray) -> np.ndarray:
    """Row-wise softmax, stable for any finite input."""
    Z = np.asarray(Z, dtype=np.float64)
    Z = Z - Z.max(axis=1, keepdims=True)
    E = np.exp(Z)
    return E / E.sum(axis=1, keepdims=True)
