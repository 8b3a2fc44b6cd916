"""Input checks shared by every estimator: clear errors, nothing silently coerced."""
from __future__ import annotations

import numpy as np

#: Tolerance for "each row of a label distribution sums to 1".
ROW_SUM_TOL = 1e-6


def _as_2d_float(value, name: str) -> np.ndarray:
    array = np.asarray(value)
    if array.dtype == object or not (np.issubdtype(array.dtype, np.number) or array.dtype == bool):
        raise ValueError(f"{name} must be numeric, got dtype {array.dtype}")
    if array.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array (n, ...), got shape {array.shape}")
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise ValueError(f"{name} must not be empty, got shape {array.shape}")
    array = array.astype(np.float64, copy=False)
    bad = ~np.isfinite(array)
    if bad.any():
        row = int(np.argwhere(bad)[0, 0])
        raise ValueError(f"{name} has NaN or inf values (first in row {row})")
    return array


def check_features(X, name: str = "X") -> np.ndarray:
    """Return features ``(n, d)`` as float64; refuse non-finite values or wrong shapes."""
    return _as_2d_float(X, name)


def check_logical_labels(L, name: str = "L") -> np.ndarray:
    """Return logical labels ``(n, c)`` as float64; entries must be 0 or 1, each row with a 1."""
    array = _as_2d_float(L, name)
    outside = (array != 0) & (array != 1)
    if outside.any():
        row, col = (int(i) for i in np.argwhere(outside)[0])
        raise ValueError(
            f"{name} must hold logical labels in {{0, 1}}; row {row}, column {col} is {array[row, col]!r}"
        )
    empty = array.sum(axis=1) == 0
    if empty.any():
        raise ValueError(f"{name} row {int(np.flatnonzero(empty)[0])} has no relevant label (all zeros)")
    return array


def check_distributions(D, name: str = "D", tol: float = ROW_SUM_TOL) -> np.ndarray:
    """Return label distributions ``(n, c)`` as float64: non-negative rows summing to 1 (within ``tol``)."""
    array = _as_2d_float(D, name)
    negative = array < 0
    if negative.any():
        row = int(np.argwhere(negative)[0, 0])
        raise ValueError(f"{name} has negative degrees (first in row {row})")
    sums = array.sum(axis=1)
    off = np.abs(sums - 1.0) > tol
    if off.any():
        row = int(np.flatnonzero(off)[0])
        raise ValueError(f"{name} rows must sum to 1 (tolerance {tol}); row {row} sums to {sums[row]:.6g}")
    return array


def check_same_rows(**arrays: np.ndarray) -> None:
    """Refuse arrays whose first dimensions (instances) differ; names come from the keywords."""
    counts = {name: np.shape(a)[0] for name, a in arrays.items() if a is not None}
    if len(set(counts.values())) > 1:
        listed = ", ".join(f"{name} has {n}" for name, n in counts.items())
        raise ValueError(f"row counts differ: {listed}")


def check_same_shape(**arrays: np.ndarray) -> None:
    """Refuse arrays whose shapes differ; names come from the keywords."""
    shapes = {name: np.shape(a) for name, a in arrays.items()}
    if len(set(shapes.values())) > 1:
        listed = ", ".join(f"{name} is {shape}" for name, shape in shapes.items())
        raise ValueError(f"shapes differ: {listed}")
