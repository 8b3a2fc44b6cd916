"""FCM: fuzzy C-means clustering plus fuzzy relabelling.

El Gayar, Schwenker, Palm, "A study of the robustness of KNN classifiers trained using soft
labels", ANNPR 2006 (the relabelling), used for LE as the FCM baseline of Xu, Tao, Geng,
"Label Enhancement for Label Distribution Learning", IJCAI 2018 and Xu, Lv, Geng, TKDE 2019
(Section 3.1 there):

1. Fuzzy C-means (Bezdek 1981) with fuzzifier ``m`` (``beta = 2`` in the papers) on the
   features, ``p`` clusters: alternate
   ``v_k = sum_i u_ik^m x_i / sum_i u_ik^m`` and
   ``u_ik = 1 / sum_q (||x_i - v_k|| / ||x_i - v_q||)^(2 / (m - 1))``
   until the memberships move less than ``tol``;
2. class-cluster association ``A`` (c x p): ``A_j = sum_{i : l_ij = 1} u_i`` (each instance
   adds its cluster memberships to the rows of its relevant labels), rows normalised to sum 1;
3. fuzzy composition ``d_i = u_i o A^T`` (max-product: ``d_ij = max_k u_ik A_jk``);
4. degrees: ``d_i / sum_j d_ij``.

The output depends on the features only through the memberships; every label gets some
degree, including the instance's irrelevant ones.

Number of clusters: the papers do not print it; the default ``n_clusters=None`` takes
``10 c`` (capped at ``n // 2``): see ``benchmarks/BASELINES.md`` for what other values give.

Cost: O(T n p d) time for ``T`` FCM sweeps, O(n p + p d + n c) memory.
Randomness: the initial memberships (``random_state``); seeded runs repeat exactly.
"""
from __future__ import annotations

import numpy as np

from numbers import Real

from sklearn.utils._param_validation import Interval, StrOptions

from ._graph import normalize_rows, squared_distances
from ..base import POSITIVE_FINITE, POSITIVE_INT, SEED, BaseEnhancer

COMPOSITIONS = ("max-product", "max-min", "sum-product")


def fuzzy_cmeans(X: np.ndarray, n_clusters: int, m: float = 2.0, tol: float = 1e-6, max_iter: int = 300,
                 random_state=None):
    """Fuzzy C-means. Returns ``(U (n, p), centres (p, d), n_iter)``; rows of ``U`` sum to 1."""
    rng = np.random.default_rng(random_state)
    n = X.shape[0]
    U = rng.random((n, n_clusters))
    U /= U.sum(axis=1, keepdims=True)
    exponent = 2.0 / (m - 1.0)
    sq = np.einsum("ij,ij->i", X, X)
    centres = None
    for step in range(1, max_iter + 1):
        Um = U ** m
        centres = (Um.T @ X) / Um.sum(axis=0)[:, None]
        d2 = squared_distances(X, centres, sq)
        d2 = np.maximum(d2, 1e-300)
        # u_ik = d_ik^(-2/(m-1)) / sum_q d_iq^(-2/(m-1)), computed in log space for stability
        log_w = -0.5 * exponent * np.log(d2)
        log_w -= log_w.max(axis=1, keepdims=True)
        U_new = np.exp(log_w)
        U_new /= U_new.sum(axis=1, keepdims=True)
        change = np.abs(U_new - U).max()
        U = U_new
        if change < tol:
            return U, centres, step
    return U, centres, max_iter


def association(U: np.ndarray, L: np.ndarray) -> np.ndarray:
    """Class-cluster association ``A`` (c, p): ``L^T U`` with rows normalised to sum 1."""
    A = L.T @ U
    sums = A.sum(axis=1, keepdims=True)
    return np.divide(A, sums, out=np.zeros_like(A), where=sums > 0)


def compose(U: np.ndarray, A: np.ndarray, how: str = "max-product") -> np.ndarray:
    """Fuzzy composition ``U o A^T`` (n, c)."""
    if how == "sum-product":
        return U @ A.T
    out = np.empty((U.shape[0], A.shape[0]))
    for j in range(A.shape[0]):
        pair = U * A[j][None, :] if how == "max-product" else np.minimum(U, A[j][None, :])
        out[:, j] = pair.max(axis=1)
    return out


class FCM(BaseEnhancer):
    """Fuzzy C-means LE (Xu, Lv, Geng, TKDE 2019, Sec. 3.1; El Gayar et al. 2006).

    Parameters
    ----------
    n_clusters : int or None
        Number of clusters ``p``; None: ``10 c`` capped at ``n // 2``.
    fuzzifier : float > 1
        FCM exponent ``m`` (the papers' ``beta = 2``).
    composition : {"max-product", "max-min", "sum-product"}
        Fuzzy composition of memberships and association.
    tol : float > 0
        FCM stops when no membership moves more than this.
    max_iter : int >= 1
        Most FCM sweeps.
    random_state : int >= 0, numpy Generator or None
        Seed of the initial memberships; an int repeats a fit.

    Attributes
    ----------
    memberships_ : ndarray of shape (n_samples, n_clusters)
    centres_ : ndarray of shape (n_clusters, n_features)
    association_ : ndarray of shape (n_labels, n_clusters)
        Class-cluster association, rows summing to 1.
    n_iter_ : int
        FCM sweeps run.
    distributions_ : ndarray of shape (n_samples, n_labels)
        Recovered distributions of the training instances.
    n_features_in_, n_labels_ : int

    Notes
    -----
    Transductive. O(T n p d) time, O(n p + p d) memory.
    """

    inductive = False
    _parameter_constraints = {
        "n_clusters": [None, POSITIVE_INT],
        "fuzzifier": [Interval(Real, 1, np.inf, closed="neither")],
        "composition": [StrOptions(set(COMPOSITIONS))],
        "tol": [POSITIVE_FINITE],
        "max_iter": [POSITIVE_INT],
        "random_state": [None, SEED, np.random.Generator],
    }

    def __init__(self, *, n_clusters=None, fuzzifier: float = 2.0, composition: str = "max-product", tol: float = 1e-6,
                 max_iter: int = 300, random_state=None):
        self.n_clusters = n_clusters
        self.fuzzifier = fuzzifier
        self.composition = composition
        self.tol = tol
        self.max_iter = max_iter
        self.random_state = random_state

    def _fit(self, X, L):
        n, c = L.shape
        if self.n_clusters is None:
            p = max(1, min(10 * c, n // 2))
        else:
            p = int(self.n_clusters)
            if p > n:
                raise ValueError(f"n_clusters={p} exceeds the number of instances {n}")
        U, centres, self.n_iter_ = fuzzy_cmeans(X, p, float(self.fuzzifier), float(self.tol), int(self.max_iter),
                                                self.random_state)
        A = association(U, L)
        self.memberships_, self.centres_, self.association_ = U, centres, A
        return normalize_rows(compose(U, A, self.composition), L)
