"""The six LDL measures, in float64 NumPy, and average ranks over data sets.

Every measure takes the ground truth ``D`` and a recovery ``D_hat``, both ``(n, c)``, and
returns the mean over instances (``average=True``) or one value per instance ``(n,)``.

Guard (one rule for all measures): a term whose denominator is 0 counts as 0 (0/0 := 0,
which arises only where both degrees are 0), ``0 log 0 := 0``, and ``D_hat`` is clipped at
``EPS = 1e-12`` inside the logarithm of the Kullback-Leibler divergence, so a recovery that
puts zero mass where the truth has some is penalised by a large, finite amount
(``l / sum(l)`` on Movie: 8.7378). The KL is KL(D || D_hat), truth first; the LIB paper's
Table 2 computed its KL column the other way round for (at least) the classic baselines,
see ``benchmarks/BASELINES.md``.

Input: both must be label distributions, or the measures are nonsense (negative degrees gave a
negative Canberra distance). Every measure refuses NaN or inf, negative degrees and rows that
do not sum to 1 within ``SCORE_ROW_SUM_TOL`` with a ``ValueError`` naming the argument and the
row; nothing is renormalised (a float32 softmax passes, logical labels or scores do not:
normalise them yourself if that is what you mean).
"""
from __future__ import annotations

from typing import Dict, Mapping

import numpy as np
from scipy.stats import rankdata

from .data.validation import _as_2d_float, check_distributions, check_same_shape

EPS = 1e-12
#: How far a row of ``D`` or ``D_hat`` may sum from 1 (float32 read-outs are off by ~1e-7 per label).
SCORE_ROW_SUM_TOL = 1e-3


def _pair(D, D_hat):
    D, D_hat = _as_2d_float(D, "D"), _as_2d_float(D_hat, "D_hat")
    check_same_shape(D=D, D_hat=D_hat)  # before the rows: a mismatch is the clearer message
    return check_distributions(D, "D", SCORE_ROW_SUM_TOL), check_distributions(D_hat, "D_hat", SCORE_ROW_SUM_TOL)


def _safe_ratio(numerator, denominator):
    return np.divide(numerator, denominator, out=np.zeros_like(numerator), where=denominator != 0)


def _reduce(per_instance: np.ndarray, average: bool):
    return float(per_instance.mean()) if average else per_instance


def chebyshev(D, D_hat, average: bool = True):
    """max_j |d_j - d_hat_j| (lower is better)."""
    D, D_hat = _pair(D, D_hat)
    return _reduce(np.abs(D - D_hat).max(axis=1), average)


def clark(D, D_hat, average: bool = True):
    """sqrt(sum_j (d_j - d_hat_j)^2 / (d_j + d_hat_j)^2) (lower is better)."""
    D, D_hat = _pair(D, D_hat)
    return _reduce(np.sqrt(_safe_ratio((D - D_hat) ** 2, (D + D_hat) ** 2).sum(axis=1)), average)


def canberra(D, D_hat, average: bool = True):
    """sum_j |d_j - d_hat_j| / (d_j + d_hat_j) (lower is better)."""
    D, D_hat = _pair(D, D_hat)
    return _reduce(_safe_ratio(np.abs(D - D_hat), D + D_hat).sum(axis=1), average)


def kullback_leibler(D, D_hat, average: bool = True):
    """sum_j d_j log(d_j / d_hat_j), D_hat clipped at EPS (lower is better)."""
    D, D_hat = _pair(D, D_hat)
    log_ratio = np.log(np.maximum(D, EPS)) - np.log(np.maximum(D_hat, EPS))
    return _reduce((D * log_ratio).sum(axis=1), average)


def cosine(D, D_hat, average: bool = True):
    """sum_j d_j d_hat_j / (||d|| ||d_hat||) (higher is better)."""
    D, D_hat = _pair(D, D_hat)
    norms = np.linalg.norm(D, axis=1) * np.linalg.norm(D_hat, axis=1)
    return _reduce(_safe_ratio((D * D_hat).sum(axis=1), norms), average)


def intersection(D, D_hat, average: bool = True):
    """sum_j min(d_j, d_hat_j) (higher is better)."""
    D, D_hat = _pair(D, D_hat)
    return _reduce(np.minimum(D, D_hat).sum(axis=1), average)


#: name -> (function, higher_is_better), in the order of the paper's tables.
MEASURES: Dict[str, tuple] = {
    "Chebyshev": (chebyshev, False),
    "Clark": (clark, False),
    "Canberra": (canberra, False),
    "Kullback-Leibler": (kullback_leibler, False),
    "Cosine": (cosine, True),
    "Intersection": (intersection, True),
}
METRIC_NAMES = tuple(MEASURES)


def higher_is_better(metric: str) -> bool:
    """Whether a larger value of ``metric`` (one of :data:`METRIC_NAMES`) is better."""
    if metric not in MEASURES:
        raise ValueError(f"unknown metric {metric!r}; choose from {METRIC_NAMES}")
    return MEASURES[metric][1]


def score(D, D_hat) -> Dict[str, float]:
    """All six measures, averaged over instances, as ``{name: value}``."""
    D, D_hat = _pair(D, D_hat)
    return {name: function(D, D_hat) for name, (function, _) in MEASURES.items()}


def average_ranks(table: Mapping[str, Mapping[str, float]], metric: str) -> Dict[str, float]:
    """Average rank of each method over data sets for one metric (1 is best).

    ``table`` maps data set -> method -> value. Within a data set, tied values share the
    mean of the ranks they span (``[0.1, 0.1, 0.3]`` -> ``[1.5, 1.5, 3]``). Every data set
    must list the same methods.
    """
    better_high = higher_is_better(metric)
    methods = None
    totals: Dict[str, float] = {}
    for dataset, row in table.items():
        if methods is None:
            methods = list(row)
            totals = dict.fromkeys(methods, 0.0)
        elif set(row) != set(methods):
            raise ValueError(f"data set {dataset!r} lists methods {sorted(row)}, expected {sorted(methods)}")
        values = np.array([row[m] for m in methods], dtype=np.float64)
        if not np.isfinite(values).all():
            raise ValueError(f"data set {dataset!r} has a non-finite {metric} value")
        ranks = rankdata(-values if better_high else values, method="average")
        for method, rank in zip(methods, ranks):
            totals[method] += float(rank)
    if not totals:
        raise ValueError("table is empty")
    return {method: total / len(table) for method, total in totals.items()}
