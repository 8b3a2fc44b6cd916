"""GLLE: Graph Laplacian Label Enhancement.

Xu, Tao, Geng, "Label Enhancement for Label Distribution Learning", IJCAI 2018, Sec. 3
(Eqs. 1-9); Xu, Lv, Geng, TKDE 2019 (same method, Sec. 4).

Model (Eq. 1): ``d_i = W^T phi(x_i) + b`` with ``phi`` the Gaussian-kernel feature map, i.e.
with the kernel matrix ``K`` (``k_ij = exp(-||x_i - x_j||^2 / (2 s^2))``, ``s`` the mean
pairwise distance, as in the authors' code) the outputs of the training set are
``Z = Phi W`` with ``Phi = [K, 1]`` (the bias column is redundant once ``K`` is invertible).

Objective (Eqs. 2-8):

    T(W) = ||Phi W - L||_F^2 + lambda * tr((Phi W)^T G (Phi W)),

``G = diag(A 1) - A`` the Laplacian of the local-similarity graph
``a_ij = exp(-||x_i - x_j||^2 / (2 sigma^2))`` if ``x_j`` is among the ``K = c + 1`` nearest
neighbours of ``x_i`` (Eq. 5; ``c`` labels). Degrees: ``softmax(z_i)`` (row-wise).

Closed form used here. ``K`` is positive definite for distinct points, so ``Phi`` has full row
rank and ``Z = Phi W`` ranges over all ``n x c`` matrices: minimising over ``W`` is minimising
``||Z - L||^2 + lambda tr(Z^T G Z)`` over ``Z``, whose unique minimiser solves the sparse,
symmetric positive definite system

    (I + lambda G) Z = L.                                                   (*)

We solve (*) with conjugate gradients on the sparse ``G`` (``n k`` entries): no dense matrix,
O(n^2 d) for the neighbour search plus O(T n k c) for ``T`` CG steps, memory O(n k + n c).
The authors minimise ``T(W)`` with L-BFGS over the ``(n + 1) c`` weights (O(n^2) memory per
step); at convergence both give the same ``Z``. :func:`objective` and :func:`gradient` are
the paper's ``T`` and its gradient in ``Z``, used by the tests to check (*).

Graph symmetry: the paper's kNN affinity is not symmetric; ``tr(Z^T G Z)`` then equals
``1/2 sum_ij a_ij ||z_i - z_j||^2`` plus a degree-imbalance term that can make the objective
unbounded for large ``lambda``. We use ``A_s = (A + A^T) / 2``, for which
``tr(Z^T G Z) = 1/2 sum_ij a_ij ||z_i - z_j||^2`` exactly (the smoothness the paper means).

``sigma``: the authors' code uses 1 on raw features, which makes the weights depend on the
feature scale (mean neighbour distance: SJAFFE 0.012, so every weight is ~1; Movie 2.07,
weights ~0.07). The default here is the mean neighbour distance (``sigma=None``), which is
scale-free; pass ``sigma=1.0`` for the authors' width (the benchmark figures hardly change:
``benchmarks/BASELINES.md``).

``lambda`` (``lam``): the paper searches {0.01, 0.1, 1, 10, 100} per data set against the
ground truth (``LAMBDA_GRID``; the benchmark does the same). The default 0.01 is the
smallest value of that grid; we could not check a published single recommendation offline.
On our runs the grid picks 0.1 on the image/text sets and 1-100 on the Yeast sets.

Inductive use: ``transform`` of new ``x`` evaluates the kernel model, with
``W = K^{-1} Z`` computed on first use (a dense ``n x n`` kernel and its solve: O(n^2 d + n^3)
time, O(n^2) memory, the cost of the kernel model itself).
"""
from __future__ import annotations

import numpy as np
import scipy.linalg
import scipy.sparse as sp
from scipy.sparse.linalg import cg

from ._graph import gaussian_knn_graph, laplacian, mean_pairwise_distance, softmax_rows, squared_distances
from ..base import NON_NEGATIVE_FINITE, POSITIVE_FINITE, POSITIVE_INT, BaseEnhancer

#: The paper's grid for lambda.
LAMBDA_GRID = (0.01, 0.1, 1.0, 10.0, 100.0)


def objective(Z: np.ndarray, L: np.ndarray, G, lam: float) -> float:
    """``||Z - L||^2 + lam * tr(Z^T G Z)`` (the paper's T with ``Z = Phi W``)."""
    R = Z - L
    return float(np.sum(R * R) + lam * np.sum(Z * (G @ Z)))


def gradient(Z: np.ndarray, L: np.ndarray, G, lam: float) -> np.ndarray:
    """Gradient of :func:`objective` in ``Z`` for symmetric ``G``: ``2 (Z - L) + 2 lam G Z``."""
    return 2.0 * (Z - L) + 2.0 * lam * (G @ Z)


def solve_smooth(L: np.ndarray, G, lam: float, tol: float = 1e-10, max_iter: int = 2000):
    """Solve ``(I + lam G) Z = L`` column by column with conjugate gradients (Jacobi
    preconditioner); returns ``(Z, total CG iterations)``."""
    n = L.shape[0]
    M = (sp.identity(n, format="csr") + lam * G).tocsr()
    inv_diag = sp.diags(1.0 / M.diagonal())
    Z = np.empty_like(L)
    total = 0
    for j in range(L.shape[1]):
        count = [0]

        def _count(_):
            count[0] += 1

        column, info = cg(M, L[:, j], x0=L[:, j].copy(), rtol=tol, atol=0.0, maxiter=max_iter, M=inv_diag,
                          callback=_count)
        if info < 0:
            raise RuntimeError(f"conjugate gradients failed on label {j} (info={info})")
        Z[:, j] = column
        total += count[0]
    return Z, total


class GLLE(BaseEnhancer):
    """Graph Laplacian label enhancement (Xu, Tao, Geng, IJCAI 2018, Eqs. 1-9).

    Parameters
    ----------
    lam : float >= 0
        Weight of the graph smoothness term (paper grid {0.01, 0.1, 1, 10, 100}).
    n_neighbors : int or None
        Neighbours in the local-similarity graph; None: ``c + 1`` as in the paper.
    sigma : float or None
        Width of the local similarity; None: mean neighbour distance.
    kernel_width : float or None
        Width ``s`` of the Gaussian kernel of the inductive model; None: mean pairwise
        distance (the authors' choice).
    tol : float > 0
        Conjugate gradients' relative residual tolerance.
    max_iter : int >= 1
        Most conjugate-gradient steps per label.

    Attributes
    ----------
    outputs_ : ndarray of shape (n_samples, n_labels)
        ``Z``, before the softmax.
    graph_ : scipy.sparse.csr_matrix of shape (n_samples, n_samples)
        Laplacian of the local-similarity graph.
    sigma_ : float
        Local-similarity width used.
    n_iter_ : int
        Conjugate-gradient steps run, over all labels.
    distributions_ : ndarray of shape (n_samples, n_labels)
        Recovered distributions of the training instances.
    n_features_in_, n_labels_ : int

    Notes
    -----
    Inductive (kernel model, see module docstring). No randomness.
    O(n^2 d + T n k c) time, O(n k + n c) memory for ``fit``.
    """

    inductive = True
    _parameter_constraints = {"lam": [NON_NEGATIVE_FINITE], "n_neighbors": [None, POSITIVE_INT],
                              "sigma": [None, POSITIVE_FINITE], "kernel_width": [None, POSITIVE_FINITE],
                              "tol": [POSITIVE_FINITE], "max_iter": [POSITIVE_INT]}

    def __init__(self, *, lam: float = 0.01, n_neighbors=None, sigma=None, kernel_width=None, tol: float = 1e-10,
                 max_iter: int = 2000):
        self.lam = lam
        self.n_neighbors = n_neighbors
        self.sigma = sigma
        self.kernel_width = kernel_width
        self.tol = tol
        self.max_iter = max_iter

    def _fit(self, X, L):
        lam = float(self.lam)
        k = L.shape[1] + 1 if self.n_neighbors is None else int(self.n_neighbors)
        sigma = None if self.sigma is None else float(self.sigma)
        A, self.sigma_ = gaussian_knn_graph(X, k, sigma, symmetric=True)
        G = laplacian(A)
        Z, self.n_iter_ = solve_smooth(L, G, lam, float(self.tol), int(self.max_iter))
        self.graph_ = G
        self.outputs_ = Z
        self._weights = None
        return softmax_rows(Z)

    def _kernel(self, X, Y, width):
        return np.exp(-squared_distances(X, Y) / (2.0 * width ** 2))

    def _model_weights(self):
        """``W`` (n, c) with ``(K + eps I) W = Z`` (bias 0: ``K`` alone already reaches every
        ``Z``), by Cholesky; ``eps = 1e-10 * trace(K) / n`` guards near-duplicate points. Computed
        once."""
        if self._weights is None:
            Xf = self._fitted_X
            width = self.kernel_width if self.kernel_width is not None else mean_pairwise_distance(Xf)
            if width == 0:  # the kernel would be 0/0 (NaN) and SciPy's solve fail on it
                raise ValueError(f"X: the {len(Xf)} fitted instances are all identical, so the kernel width (their "
                                 "mean pairwise distance) is 0 and GLLE cannot predict new instances; set kernel_width")
            K = self._kernel(Xf, Xf, width)
            K[np.diag_indices_from(K)] += 1e-10
            W = scipy.linalg.solve(K, self.outputs_, assume_a="pos")
            self._weights = (W, width)
        return self._weights

    def _predict(self, X):
        if X.shape == self._fitted_X.shape and np.array_equal(X, self._fitted_X):
            return self.distributions_.copy()
        W, width = self._model_weights()
        return softmax_rows(self._kernel(X, self._fitted_X, width) @ W)
