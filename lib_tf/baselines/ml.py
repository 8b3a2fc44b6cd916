"""ML: manifold-learning label enhancement (label manifold of LLE weights).

Hou, Geng, Zhang, "Multi-Label Manifold Learning", AAAI 2016 (Eqs. 1-4), used for LE as the
ML baseline of Xu, Tao, Geng, "Label Enhancement for Label Distribution Learning",
IJCAI 2018 and Xu, Lv, Geng, TKDE 2019 (Section 3.2 there):

1. LLE reconstruction weights (Roweis & Saul 2000) from the ``k = c + 1`` nearest neighbours:
   ``min_W sum_i ||x_i - sum_{j in N(i)} w_ij x_j||^2`` s.t. ``sum_j w_ij = 1`` (Eq. 1), solved
   per instance from the local Gram matrix (regularised by ``reg * trace``, as
   scikit-learn's ``barycenter_weights``);
2. the label manifold keeps the same local structure (Eq. 3):
   ``min_mu sum_i ||mu_i - sum_j w_ij mu_j||^2 = tr(mu^T M mu)``, ``M = (I - W)^T (I - W)``,
   subject to ``l_ij mu_ij >= lambda`` with ``l`` in {-1, +1} (Eq. 4; ``lambda = 1``): a
   relevant label keeps a degree of at least ``lambda``, an irrelevant one at most
   ``-lambda``;
3. degrees: ``normalize="softmax"`` (default) takes ``softmax(mu_i)``;
   ``normalize="positive"`` takes ``max(mu_i, 0) / sum`` (relevant labels share the mass in
   proportion to ``mu``, irrelevant ones get exactly 0). The papers say only "normalised".
   The paper's ML column sits next to ``l / sum(l)`` on the Yeast sets (Yeast_alpha
   Chebyshev 0.057 vs 0.0571), as "positive" does, but well below it on Movie (0.164 vs
   0.234) and SJAFFE (0.186 vs 0.213), which "positive" cannot reach; and "positive" puts
   zero mass on labels the truth supports, so KL(D || D_hat) is ~10 on every data set.
   Softmax lands at or below the paper's figures on all 13 data sets
   (``benchmarks/BASELINES.md``), hence the default.

LLE regularisation: with ``k = c + 1`` close to ``d`` (the Yeast sets: k up to 19, d = 24)
the local Gram matrices are near singular; with scikit-learn's ``reg = 1e-3`` the weights
take both signs and large values and ``mu`` runs to +-17 (Yeast_alpha) or +-74
(Yeast_spoem). The default ``reg = 0.1`` keeps the weights moderate; see
``benchmarks/BASELINES.md``.

The constraints of step 2 are simple bounds, one per variable (``mu_ij >= lambda`` or
``mu_ij <= -lambda``), so the quadratic programme is solved exactly by L-BFGS-B with sparse
products ``(I - W)^T ((I - W) mu)``: every label column is independent; all ``c`` are solved
together. The objective is convex (``M`` is PSD), so the optimum value is unique.

Cost: O(n^2 d) neighbour search, O(n k^3) weights, O(T n k c) for ``T`` L-BFGS-B steps;
memory O(n k + n c) (``W`` sparse, no dense ``n x n``). No randomness.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.optimize import minimize

from sklearn.utils._param_validation import StrOptions

from ._graph import knn, normalize_rows, softmax_rows, sparse_from_knn
from ..base import POSITIVE_FINITE, POSITIVE_INT, BaseEnhancer

NORMALIZATIONS = ("softmax", "positive")


def reconstruction_weights(X: np.ndarray, indices: np.ndarray, reg: float = 1e-3) -> np.ndarray:
    """LLE barycentre weights ``(n, k)`` of each instance from its neighbours ``indices``
    (rows sum to 1); the local Gram matrix is regularised by ``reg * trace`` (or ``reg`` when
    the trace is 0)."""
    n, k = indices.shape
    Z = X[indices] - X[:, None, :]  # (n, k, d)
    C = np.einsum("nkd,njd->nkj", Z, Z)
    trace = np.trace(C, axis1=1, axis2=2)
    ridge = np.where(trace > 0, reg * trace, reg)
    C[:, np.arange(k), np.arange(k)] += ridge[:, None]
    w = np.linalg.solve(C, np.ones((n, k, 1)))[:, :, 0]
    return w / w.sum(axis=1, keepdims=True)


def solve_label_manifold(IW: sp.csr_matrix, signs: np.ndarray, lam: float = 1.0, tol: float = 1e-10,
                         max_iter: int = 5000):
    """``min tr(mu^T (I-W)^T (I-W) mu)`` s.t. ``signs * mu >= lam`` (bounds), by L-BFGS-B.

    ``IW`` is the sparse ``I - W``; ``signs`` is ``2 L - 1``. Returns ``(mu, result)``."""
    n, c = signs.shape
    IWt = IW.T.tocsr()

    def fun(flat):
        mu = flat.reshape(n, c)
        R = IW @ mu
        return float(np.sum(R * R)), (2.0 * (IWt @ R)).ravel()

    lower = np.where(signs > 0, lam, -np.inf).ravel()
    upper = np.where(signs > 0, np.inf, -lam).ravel()
    start = (signs * lam).ravel().astype(np.float64)
    result = minimize(fun, start, jac=True, method="L-BFGS-B", bounds=list(zip(lower, upper)),
                      options={"maxiter": max_iter, "ftol": tol, "gtol": 1e-10, "maxcor": 20})
    return result.x.reshape(n, c), result


class ML(BaseEnhancer):
    """Manifold-learning LE (Hou, Geng, Zhang, AAAI 2016; Xu, Lv, Geng, TKDE 2019 Sec. 3.2).

    Parameters
    ----------
    n_neighbors : int or None
        LLE neighbours; None: ``c + 1`` as in the papers.
    lam : float > 0
        Margin ``lambda`` of the constraints ``l_ij mu_ij >= lambda`` (1 in the papers).
    reg : float > 0
        Regularisation of the local Gram matrices (relative to their trace).
    normalize : {"softmax", "positive"}
        How ``mu`` becomes a distribution (see module docstring).
    tol : float > 0
        L-BFGS-B's relative objective tolerance (``ftol``).
    max_iter : int >= 1
        Most L-BFGS-B iterations.

    Attributes
    ----------
    manifold_ : ndarray of shape (n_samples, n_labels)
        The label manifold ``mu``.
    weights_ : scipy.sparse.csr_matrix of shape (n_samples, n_samples)
        LLE reconstruction weights ``W``.
    n_iter_ : int
        L-BFGS-B iterations run.
    distributions_ : ndarray of shape (n_samples, n_labels)
        Recovered distributions of the training instances.
    n_features_in_, n_labels_ : int

    Notes
    -----
    Transductive. No randomness. O(n^2 d + n k^3 + T n k c) time, O(n k + n c) memory.
    """

    inductive = False
    _parameter_constraints = {"n_neighbors": [None, POSITIVE_INT], "lam": [POSITIVE_FINITE], "reg": [POSITIVE_FINITE],
                              "normalize": [StrOptions(set(NORMALIZATIONS))], "tol": [POSITIVE_FINITE],
                              "max_iter": [POSITIVE_INT]}

    def __init__(self, *, n_neighbors=None, lam: float = 1.0, reg: float = 0.1, normalize: str = "softmax",
                 tol: float = 1e-10, max_iter: int = 5000):
        self.n_neighbors = n_neighbors
        self.lam = lam
        self.reg = reg
        self.normalize = normalize
        self.tol = tol
        self.max_iter = max_iter

    def _fit(self, X, L):
        n, c = L.shape
        k = c + 1 if self.n_neighbors is None else int(self.n_neighbors)
        lam, reg = float(self.lam), float(self.reg)
        indices, _ = knn(X, k)
        w = reconstruction_weights(X, indices, reg)
        W = sparse_from_knn(indices, w, n)
        IW = (sp.identity(n, format="csr") - W).tocsr()
        mu, result = solve_label_manifold(IW, 2.0 * L - 1.0, lam, float(self.tol), int(self.max_iter))
        self.weights_, self.manifold_, self.n_iter_ = W, mu, result.nit
        if self.normalize == "softmax":
            return softmax_rows(mu)
        return normalize_rows(mu, L)
