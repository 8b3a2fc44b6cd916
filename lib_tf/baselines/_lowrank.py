"""Shared pieces of LESC and gLESC (NumPy/SciPy, float64).

- proximal operators: singular value thresholding, column-wise l2,1 shrinkage;
- :func:`lrr`: low-rank representation ``min ||Z||_* + lam ||E||_{2,1}  s.t.  X = XZ + E``
  by the inexact augmented Lagrange multiplier method (Liu et al., "Robust Recovery of
  Subspace Structure by Low-Rank Representation", TPAMI 2013, Algorithm 1), solved in the
  row space of ``X`` (their Theorem: the minimiser satisfies ``Z* = Q Z'`` with ``Q`` an
  orthonormal basis of the row space of ``X``), so every SVD is ``r x n`` (``r = rank X``)
  instead of ``n x n``;
- :func:`rbf_kernel` with the GLLE/LESC bandwidth (``sigma = mean pairwise distance``);
- :func:`sample_correlation_le`: the label-enhancement stage of LESC/gLESC, a kernel least
  squares model with the sample-correlation regulariser, solved in closed form;
- :func:`row_softmax`.

Conventions: the papers write samples as *columns* (``X`` is ``d x n``, ``D`` is ``c x n``,
``X = XZ + E``); the public API of ``lib_tf`` passes samples as rows (``(n, d)``). The
functions here take ``(n, d)`` and transpose internally; ``Z`` is always the paper's ``n x n``
coefficient matrix (column ``j`` writes sample ``j`` as a combination of the samples).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np
import scipy.linalg


def svt(A: np.ndarray, tau: float):
    """Singular value thresholding ``U max(S - tau, 0) V^T`` (prox of ``tau ||.||_*``).

    Returns ``(result, nuclear_norm_of_result)``. For a wide or tall ``A`` (a, b) the SVD is
    taken through the eigendecomposition of the small Gram matrix (min(a, b) squared): the
    singular values below ``tau`` -- the only ones whose precision the Gram route loses --
    are thresholded to zero anyway. O(min(a, b)^2 max(a, b)).
    """
    transpose = A.shape[0] > A.shape[1]
    M = A.T if transpose else A                      # (small, large)
    gram = M @ M.T
    evals, U = scipy.linalg.eigh(gram, check_finite=False)
    s = np.sqrt(np.maximum(evals, 0.0))
    keep = s > tau
    if not keep.any():
        return np.zeros_like(A), 0.0
    U = U[:, keep]
    s = s[keep]
    out = (U * ((s - tau) / s)) @ (U.T @ M)
    return (out.T if transpose else out), float((s - tau).sum())


def l21_shrink(A: np.ndarray, tau: float) -> np.ndarray:
    """Column-wise shrinkage (prox of ``tau ||.||_{2,1}``, the l2 norms of the columns summed)."""
    norms = np.linalg.norm(A, axis=0)
    scale = np.where(norms > tau, 1.0 - tau / np.maximum(norms, 1e-300), 0.0)
    return A * scale


def l21_norm(A: np.ndarray) -> float:
    """``||A||_{2,1} = sum_j ||A[:, j]||_2`` (columns are samples)."""
    return float(np.linalg.norm(A, axis=0).sum())


@dataclass
class LRRResult:
    """Output of :func:`lrr`. ``Q`` (n, r) and ``J`` (r, n) give ``Z = Q @ J`` (n, n)."""

    Q: np.ndarray
    J: np.ndarray
    E: np.ndarray  # (d, n), paper layout
    n_iter: int
    converged: bool
    objective: list = field(default_factory=list)  # ||Z||_* + lam ||E||_21 per iteration
    residual: list = field(default_factory=list)  # max(|X - XZ - E|, |Z - J|) per iteration

    @property
    def Z(self) -> np.ndarray:
        return self.Q @ self.J


def row_space(X: np.ndarray, rank_tol: float = 1e-10, max_rank: int | None = None):
    """Thin SVD of ``Xc = X.T`` (d, n): returns ``(A, Q)`` with ``A = Xc Q = U S`` (d, r) and
    ``Q = V`` (n, r) orthonormal; singular values below ``rank_tol * s_max`` are dropped and at
    most ``max_rank`` are kept. O(min(n, d)^2 max(n, d))."""
    Xc = X.T
    U, s, Vt = scipy.linalg.svd(Xc, full_matrices=False, lapack_driver="gesdd", check_finite=False)
    keep = s > rank_tol * (s[0] if s.size else 0.0)
    r = int(np.count_nonzero(keep))
    if max_rank is not None:
        r = min(r, int(max_rank))
    r = max(r, 1)
    return U[:, :r] * s[:r], Vt[:r].T


def lrr(X: np.ndarray, lam: float = 1.0, *, mu: float = 1e-2, rho: float = 1.5, mu_max: float = 1e8,
        tol: float = 1e-6, max_iter: int = 200, max_rank: int | None = None) -> LRRResult:
    """Low-rank representation of features ``X`` (n, d) by inexact ALM.

    Problem (LESC, Tang et al. AAAI 2020, stage 1; the l2,1 LRR of Liu et al. TPAMI 2013)::

        min_{Z, E} ||Z||_* + lam ||E||_{2,1}   s.t.   Xc = Xc Z + E,     Xc = X.T  (d x n)

    Solved as ``Z = Q Z'`` with ``Q`` (n, r) the row space of ``Xc`` and ``A = Xc Q`` (d, r),
    ``min ||J||_* + lam ||E||_{2,1}  s.t.  Xc = A Z' + E, Z' = J`` (exact: ``||Q J||_* = ||J||_*``).
    ``A^T A`` is diagonal (``A = U S``), so the ``Z'`` step is a diagonal solve. Updates::

        J  = SVT(Z' + Y2/mu, 1/mu)
        Z' = (I + A^T A)^-1 (A^T (Xc - E) + J + (A^T Y1 - Y2)/mu)
        E  = l21_shrink(Xc - A Z' + Y1/mu, lam/mu)
        Y1 += mu (Xc - A Z' - E);  Y2 += mu (Z' - J);  mu = min(rho mu, mu_max)

    Stops when both residuals are below ``tol`` (relative to ``max|Xc|``) or at ``max_iter``.
    Time O(r^2 n + d r n) per iteration (r = rank X <= min(n, d)), so O(max_iter (r^2 n + d r n))
    overall; memory O(d n + r n) -- no n x n array is formed here.
    """
    A, Q = row_space(X, max_rank=max_rank)
    Xc = np.ascontiguousarray(X.T)
    d, n = Xc.shape
    r = A.shape[1]
    scale = max(float(np.abs(Xc).max()), 1e-300)
    ata = np.einsum("ij,ij->j", A, A)  # diag(A^T A)
    inv = 1.0 / (1.0 + ata)
    Zp = np.zeros((r, n))
    J = np.zeros((r, n))
    E = np.zeros((d, n))
    Y1 = np.zeros((d, n))
    Y2 = np.zeros((r, n))
    objective, residual = [], []
    converged = False
    it = 0
    for it in range(1, max_iter + 1):
        J, nuc = svt(Zp + Y2 / mu, 1.0 / mu)
        Zp = inv[:, None] * (A.T @ (Xc - E) + J + (A.T @ Y1 - Y2) / mu)
        AZ = A @ Zp
        E = l21_shrink(Xc - AZ + Y1 / mu, lam / mu)
        R1 = Xc - AZ - E
        R2 = Zp - J
        Y1 += mu * R1
        Y2 += mu * R2
        mu = min(rho * mu, mu_max)
        objective.append(nuc + lam * l21_norm(E))
        res = max(float(np.abs(R1).max()) / scale, float(np.abs(R2).max()))
        residual.append(res)
        if res < tol:
            converged = True
            break
    return LRRResult(Q=Q, J=J, E=E, n_iter=it, converged=converged, objective=objective, residual=residual)


def rbf_kernel(X: np.ndarray, sigma: float | None = None) -> np.ndarray:
    """``K_ij = exp(-||x_i - x_j||^2 / (2 sigma^2))`` with ``sigma`` = mean pairwise distance
    by default (the choice of GLLE's and LESC's code). O(n^2 d) time, one n x n array."""
    sq = np.einsum("ij,ij->i", X, X)
    K = X @ X.T
    K *= -2.0
    K += sq[:, None]
    K += sq[None, :]
    np.maximum(K, 0.0, out=K)
    np.fill_diagonal(K, 0.0)
    if sigma is None:
        n = X.shape[0]
        sigma = float(np.sqrt(K).sum() / max(n * (n - 1), 1)) if n > 1 else 1.0
        sigma = sigma if sigma > 0 else 1.0
    K /= -2.0 * sigma**2
    np.exp(K, out=K)
    return K


def row_softmax(F: np.ndarray) -> np.ndarray:
    """Row-wise softmax, the normalisation GLLE and LESC apply to the recovered degrees."""
    F = F - F.max(axis=1, keepdims=True)
    W = np.exp(F)
    return W / W.sum(axis=1, keepdims=True)


def design_kernel(X: np.ndarray, kernel: str) -> np.ndarray:
    """The model's Gram matrix ``Phi Phi^T`` plus 1 (a bias as a constant feature): RBF or linear."""
    if kernel == "rbf":
        K = rbf_kernel(X)
    elif kernel == "linear":
        K = X @ X.T
    else:
        raise ValueError(f"kernel must be 'rbf' or 'linear', got {kernel!r}")
    K += 1.0
    return K


def correlation_operator(K: np.ndarray, *, Q: np.ndarray | None = None, J: np.ndarray | None = None,
                         Z: np.ndarray | None = None) -> np.ndarray:
    """``M K`` with ``M = (I - Z)(I - Z)^T`` (n, n): the sample-correlation term of stage 2.

    ``Z`` is given dense (n, n; two n^3 products) or as LRR's factors ``Q`` (n, r), ``J`` (r, n)
    with ``Z = Q J`` (O(r n^2)).
    """
    if Z is not None:
        P = K - Z.T @ K            # (I - Z)^T K
        return P - Z @ P           # (I - Z)(I - Z)^T K
    P = K - J.T @ (Q.T @ K)
    return P - Q @ (J @ P)


def sample_correlation_le(K: np.ndarray, MK: np.ndarray, L: np.ndarray, lambda1: float, lambda2: float):
    """Stage 2 of LESC/gLESC in closed form; returns ``(F, A)`` with ``F = K A`` (n, c) the
    un-normalised degrees and ``A`` (n, c) the kernel coefficients.

    The model ``d_i = W^T phi(x_i)`` (bias folded into ``K + 1``), ``D = W^T Phi`` (c x n)::

        min_W ||W^T Phi - L||_F^2 + lambda1 ||W||_F^2 + lambda2 ||W^T Phi - W^T Phi Z||_F^2

    With ``W = Phi A`` (representer theorem), samples as rows and ``M = (I - Z)(I - Z)^T``
    (``MK`` from :func:`correlation_operator`), the gradient
    ``K [(K + lambda1 I + lambda2 M K) A - L] = 0`` gives ``A = (K + lambda1 I + lambda2 M K)^-1 L``.
    One dense LU solve: O(n^3) time, one extra n x n float64 array (480 MB at n = 7755).
    """
    system = MK * lambda2
    system += K
    system[np.diag_indices_from(system)] += lambda1
    A = scipy.linalg.solve(system, L, overwrite_a=True, check_finite=False)
    return K @ A, A


def array_key(*arrays, **params) -> str:
    """A cache key for (arrays, params): a hash of the bytes and shapes."""
    h = hashlib.sha1()
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(str(a.shape).encode())
        h.update(a.tobytes())
    h.update(repr(sorted(params.items())).encode())
    return h.hexdigest()
