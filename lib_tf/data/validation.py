"""Input checks shared by every estimator: clear errors, nothing silently coerced."""
from __future__ import annotations

import numpy as np

#: Tolerance for "each row of a label distribution sums to 1".
ROW_SUM_TOL = 1e-6
#: Feature magnitudes a method can compute with (0 is always fine), and why: a model in float32
#: takes float32's smallest normal number up to half its largest (so x - mean cannot overflow);
#: a method of squared distances in float64 takes magnitudes whose squares stay normal numbers.
FLOAT32_RANGE = (float(np.finfo(np.float32).tiny), float(np.finfo(np.float32).max) / 2, "it computes in float32")
FLOAT64_SQUARES_RANGE = (1e-150, 1e150, "it computes squared distances in float64")


def _as_2d_float(value, name: str, first_row: int = 0) -> np.ndarray:
    try:
        array = np.asarray(value)
    except ValueError as error:  # ragged nested lists
        raise ValueError(f"{name} is not a rectangular array: {error}") from None
    if array.dtype == object or not (np.issubdtype(array.dtype, np.number) or array.dtype == bool):
        raise ValueError(f"{name} must be numeric, got dtype {array.dtype}")
    if np.issubdtype(array.dtype, np.complexfloating):  # a cast to float would drop the imaginary part
        raise ValueError(f"{name} must be real, got dtype {array.dtype}")
    if array.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array (n, ...), got shape {array.shape}")
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise ValueError(f"{name} must not be empty, got shape {array.shape}")
    array = array.astype(np.float64, copy=False)
    bad = ~np.isfinite(array)
    if bad.any():
        row = first_row + int(np.argwhere(bad)[0, 0])
        raise ValueError(f"{name} has NaN or inf values (first in row {row})")
    return array


def check_features(X, name: str = "X") -> np.ndarray:
    """Return features ``(n, d)`` as float64; refuse non-finite values or wrong shapes."""
    return _as_2d_float(X, name)


def check_feature_range(X: np.ndarray, value_range, name: str = "X") -> np.ndarray:
    """Refuse (validated) features ``X`` with a non-zero magnitude outside ``value_range``
    ``(low, high, why)``, e.g. :data:`FLOAT32_RANGE`: they would overflow to inf or vanish to 0
    and come out as NaN or as a constant feature. Returns ``X``."""
    low, high, why = value_range
    magnitude = np.abs(X)
    outside = (magnitude > high) | ((magnitude < low) & (magnitude > 0))
    if outside.any():
        row, col = (int(i) for i in np.argwhere(outside)[0])
        raise ValueError(f"{name} row {row}, column {col} is {float(X[row, col])!r}, beyond what this method handles "
                         f"({why}: magnitudes from {low:.3g} to {high:.3g}, and 0); rescale {name}")
    return X


def check_logical_labels(L, name: str = "L", first_row: int = 0) -> np.ndarray:
    """Return logical labels ``(n, c)`` as float64; entries must be 0 or 1, each row with a 1.
    ``first_row``: the number of the first row in the messages (a batch of a longer stream)."""
    array = _as_2d_float(L, name, first_row)
    outside = (array != 0) & (array != 1)
    if outside.any():
        row, col = (int(i) for i in np.argwhere(outside)[0])
        raise ValueError(
            f"{name} must hold logical labels in {{0, 1}}; row {first_row + row}, column {col} is {float(array[row, col])!r}"
        )
    empty = array.sum(axis=1) == 0
    if empty.any():
        raise ValueError(f"{name} row {first_row + int(np.flatnonzero(empty)[0])} has no relevant label (all zeros)")
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
