"""LESC: Label Enhancement with Sample Correlations (Tang et al., AAAI 2020).

Paper: H. Tang, J. Zhu, Q. Zheng, J. Wang, S. Pang, Z. Li, "Label Enhancement with Sample
Correlations via Low-rank Representation", AAAI 2020; extended with gLESC in Q. Zheng, J. Zhu,
H. Tang, X. Liu, Z. Li, H. Lu, "Generalized Label Enhancement with Sample Correlations",
IEEE TKDE 2021 (arXiv:2004.03104), the LESC part.
"""
from __future__ import annotations

from collections import OrderedDict

import numpy as np
from sklearn.utils._param_validation import StrOptions

from . import _lowrank
from ..base import NON_NEGATIVE_FINITE, POSITIVE_FINITE, POSITIVE_INT, BaseEnhancer

#: The paper's grid for lambda1 and lambda2.
LAMBDA_GRID = (1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0)

_LRR_CACHE: "OrderedDict[str, _lowrank.LRRResult]" = OrderedDict()
_LRR_CACHE_SIZE = 2
#: Stage-2 operators (K, M K, sigma) of the last fit: two n x n arrays (960 MB at n = 7755).
_OPERATOR_CACHE: dict = {}


def cached_lrr(X, **params) -> _lowrank.LRRResult:
    """:func:`_lowrank.lrr` memoised on (X, params): a grid over lambda1/lambda2 reuses stage 1."""
    key = _lowrank.array_key(X, **params)
    if key in _LRR_CACHE:
        _LRR_CACHE.move_to_end(key)
        return _LRR_CACHE[key]
    result = _lowrank.lrr(X, **params)
    _LRR_CACHE[key] = result
    while len(_LRR_CACHE) > _LRR_CACHE_SIZE:
        _LRR_CACHE.popitem(last=False)
    return result


class LESC(BaseEnhancer):
    """Label Enhancement with Sample Correlations via low-rank representation.

    Equation numbers differ between the AAAI and TKDE versions and could not be checked here
    against the printed papers, so each equation is written out in full below.

    Stage 1 (sample correlations: the LRR problem of the paper and its inexact-ALM solver)::

        min_{Z, E} ||Z||_* + lrr_lambda ||E||_{2,1}   s.t.   X = XZ + E     (X is d x n)

    solved by inexact ALM in the row space of ``X`` (``Z = Q J``, see
    :func:`lib_tf.baselines._lowrank.lrr`).

    Stage 2 (label enhancement: the paper's LESC objective): a kernel model
    ``d_i = W^T phi(x_i) + b`` fitted to the logical labels with the sample-correlation
    regulariser -- the recovered distributions should be reconstructed by the same
    correlations, ``D ~ D Z``::

        min_W ||W^T Phi - L||_F^2 + lambda1 ||W||_F^2 + lambda2 ||W^T Phi - W^T Phi Z||_F^2

    The authors minimise it with L-BFGS; it is quadratic in ``W``, so here it is solved exactly
    (:func:`lib_tf.baselines._lowrank.sample_correlation_le`). The degrees are then normalised
    with a row softmax (GLLE's normalisation; the scale of the degrees, set by lambda1, acts as
    its temperature). RBF kernel with ``sigma`` = mean pairwise
    distance (GLLE's choice), bias as a constant added to the kernel.

    ``max_rank`` (500) caps the rank of the stage-1 dictionary: exact when rank X <= 500 (all
    the paper's data sets but Movie, rank 1812, where the dictionary is X's top 500 principal
    directions and the rest of X goes to E); ``None`` for the exact problem.

    Parameters
    ----------
    lambda1 : float >= 0, default=0.1
        Ridge weight on ``W`` (paper grid {1e-4, 1e-3, 1e-2, 0.1, 1, 10}: :data:`LAMBDA_GRID`).
    lambda2 : float >= 0, default=0.1
        Weight of the sample-correlation term (same grid).
    lrr_lambda : float >= 0, default=0.01
        Weight of the l2,1 noise term of stage 1.
    kernel : {"rbf", "linear"}, default="rbf"
        Kernel of stage 2 ("rbf" is the paper's).
    max_iter : int >= 1, default=100
        Most ALM iterations of stage 1.
    tol : float > 0, default=1e-6
        Stage 1 stops when its constraint residual is below this.
    max_rank : int >= 1 or None, default=500
        Largest rank of the stage-1 dictionary; None: exact.

    Attributes
    ----------
    coef_ : ndarray of shape (n_samples, n_labels)
        Stage-2 kernel-model weights.
    X_fit_ : ndarray of shape (n_samples, n_features)
        Training features (the kernel model's centres).
    sigma_ : float
        RBF width used (rbf kernel only).
    lrr_ : LRRResult
        Stage-1 solution (``Z = Q J``) and its convergence history.
    lrr_rank_ : int
        Rank of the stage-1 dictionary.
    distributions_ : ndarray of shape (n_samples, n_labels)
        Recovered distributions of the training instances.
    n_features_in_, n_labels_ : int

    Notes
    -----
    No randomness (deterministic: no ``random_state``).

    Cost (n samples, d features, r = min(rank X, max_rank), c labels): stage 1 O(max_iter
    (r^2 n + d r n)) time and O(d n + r n) memory (no n x n array: SVDs are r x n); stage 2
    O(n^2 (d + r)) to build ``K`` and ``M K`` plus O(n^3) for one dense solve, memory three
    n x n float64 arrays (3 x 480 MB at n = 7755, Movie). Stage 1 is cached per (X,
    ``lrr_lambda``, ``max_iter``, ``tol``), so a grid over lambda1/lambda2 pays it once.

    Inductive: ``transform`` on new ``X`` evaluates the fitted kernel model.
    """

    inductive = True
    _parameter_constraints = {"lambda1": [NON_NEGATIVE_FINITE], "lambda2": [NON_NEGATIVE_FINITE],
                              "lrr_lambda": [NON_NEGATIVE_FINITE], "kernel": [StrOptions({"rbf", "linear"})],
                              "max_iter": [POSITIVE_INT], "tol": [POSITIVE_FINITE], "max_rank": [None, POSITIVE_INT]}

    def __init__(self, *, lambda1: float = 0.1, lambda2: float = 0.1, lrr_lambda: float = 0.01,
                 kernel: str = "rbf", max_iter: int = 100, tol: float = 1e-6, max_rank=500):
        self.lambda1 = lambda1
        self.lambda2 = lambda2
        self.lrr_lambda = lrr_lambda
        self.kernel = kernel
        self.max_iter = max_iter
        self.tol = tol
        self.max_rank = max_rank

    def _stage1_params(self):
        return {"lam": float(self.lrr_lambda), "max_iter": int(self.max_iter), "tol": float(self.tol),
                "max_rank": None if self.max_rank is None else int(self.max_rank)}

    def _stage1_arrays(self, X, L):
        """The arrays stage 1 depends on: the features only (gLESC adds the labels)."""
        return (X,)

    def _correlations(self, X, L):
        """Stage 1: keyword arguments for :func:`_lowrank.correlation_operator` (``Q``, ``J``
        with ``Z = Q J``). Overridden by gLESC."""
        result = cached_lrr(X, **self._stage1_params())
        self.lrr_rank_ = result.Q.shape[1]
        self.lrr_ = result
        return {"Q": result.Q, "J": result.J}

    def _operators(self, X, L):
        """``(K, M K)`` of stage 2, cached (one entry) per (X, L, stage-1 params, kernel):
        a lambda1/lambda2 grid then costs one O(n^3) solve per point."""
        key = _lowrank.array_key(*self._stage1_arrays(X, L), cls=type(self).__name__, kernel=self.kernel, **self._stage1_params(),
                                 **self._extra_key())
        if key in _OPERATOR_CACHE:
            K, MK, sigma = _OPERATOR_CACHE[key]
            self.sigma_ = sigma
            self._correlations(X, L)  # stage-1 state (lrr_), from its own cache
            return K, MK
        _OPERATOR_CACHE.clear()
        corr = self._correlations(X, L)
        K = self._kernel_train(X)
        MK = _lowrank.correlation_operator(K, **corr)
        del corr
        _OPERATOR_CACHE[key] = (K, MK, getattr(self, "sigma_", None))
        return K, MK

    def _extra_key(self):
        return {}

    def _fit(self, X, L):
        self.X_fit_ = X
        K, MK = self._operators(X, L)
        F, A = _lowrank.sample_correlation_le(K, MK, L, float(self.lambda1), float(self.lambda2))
        self.coef_ = A
        return _lowrank.row_softmax(F)

    def _kernel_train(self, X):
        if self.kernel == "rbf":
            sq = np.einsum("ij,ij->i", X, X)
            D2 = np.maximum(sq[:, None] + sq[None, :] - 2.0 * X @ X.T, 0.0)
            np.fill_diagonal(D2, 0.0)
            n = X.shape[0]
            sigma = float(np.sqrt(D2).sum() / max(n * (n - 1), 1)) if n > 1 else 1.0
            self.sigma_ = sigma if sigma > 0 else 1.0
            D2 /= -2.0 * self.sigma_**2
            np.exp(D2, out=D2)
            D2 += 1.0
            return D2
        return _lowrank.design_kernel(X, "linear")

    def _kernel_new(self, X):
        if self.kernel == "rbf":
            Xf = self.X_fit_
            D2 = np.maximum(np.einsum("ij,ij->i", X, X)[:, None] + np.einsum("ij,ij->i", Xf, Xf)[None, :]
                            - 2.0 * X @ Xf.T, 0.0)
            return np.exp(-D2 / (2.0 * self.sigma_**2)) + 1.0
        return X @ self.X_fit_.T + 1.0

    def _predict(self, X):
        return _lowrank.row_softmax(self._kernel_new(X) @ self.coef_)
