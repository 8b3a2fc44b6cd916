"""Finding shards: a glob pattern (or a list of paths) resolved into a :class:`ShardSet` of one
format, with the widths every shard shares."""
from __future__ import annotations

import glob
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from ...contract import FEATURES, LOGICAL_LABELS, Key

TFRECORD_SUFFIXES = (".tfrecord", ".tfrecords", ".tfrec")
NPY_FEATURES_SUFFIX = ".features.npy"
NPY_LABELS_SUFFIX = ".logical_labels.npy"
PREDICTION_SUFFIX = ".distributions.npy"
#: A TFRecord file named so is gzipped (ExampleGen's files: ``data_tfrecord-00000-of-00001.gz``).
GZIP_SUFFIX = ".gz"


@dataclass(frozen=True)
class ShardSet:
    """The shards a glob pattern names: ``format`` ("tfrecord" or "npy"), sorted ``paths``
    (for NumPy, the ``.features.npy`` file of each pair), widths ``n_features`` (d) and
    ``n_labels`` (c), and ``rows`` per shard where known without reading them (NumPy) or
    ``None`` (TFRecord)."""

    format: str
    paths: tuple
    n_features: int
    n_labels: int
    rows: Optional[tuple] = None

    @property
    def n_instances(self) -> Optional[int]:
        return None if self.rows is None else int(sum(self.rows))

    def stems(self) -> list:
        """Each shard's file name without its format suffix (used to name prediction shards)."""
        return [_stem(path, self.format) for path in self.paths]


def _stem(path, fmt: str) -> str:
    name = Path(path).name
    if fmt == "npy":
        return name[: -len(NPY_FEATURES_SUFFIX)]
    return Path(name).stem


def npy_labels_path(features_path) -> str:
    """The logical-labels file that pairs with ``<stem>.features.npy``."""
    path = str(features_path)
    if not path.endswith(NPY_FEATURES_SUFFIX):
        raise ValueError(f"a NumPy shard is named <stem>{NPY_FEATURES_SUFFIX}, got {path}")
    return path[: -len(NPY_FEATURES_SUFFIX)] + NPY_LABELS_SUFFIX


def find_shards(pattern) -> ShardSet:
    """Resolve a glob pattern (or a list of paths) into a :class:`ShardSet`; every shard must
    have the same widths. Raises ``FileNotFoundError`` / ``ValueError`` with what is wrong."""
    if isinstance(pattern, (str, os.PathLike)):
        matches = sorted(glob.glob(os.path.expanduser(str(pattern))))
        shown = str(pattern)
    else:
        matches = sorted(str(p) for p in pattern)
        shown = f"{len(matches)} paths"
    matches = [m for m in matches if os.path.isfile(m)]
    if not matches:
        raise FileNotFoundError(f"no shard files match {shown}")
    tfrecords = [m for m in matches if m.endswith(TFRECORD_SUFFIXES)]
    # Ground truth / predictions (<stem>.distributions.npy) may sit beside the shards.
    npys = [m for m in matches if m.endswith(".npy") and not m.endswith(PREDICTION_SUFFIX)]
    matches = [m for m in matches if not m.endswith(PREDICTION_SUFFIX)]
    if tfrecords and npys:
        raise ValueError(f"{shown} matches both TFRecord and .npy files; use one format per run")
    if tfrecords:
        if len(tfrecords) != len(matches):
            others = sorted(set(matches) - set(tfrecords))[:3]
            raise ValueError(f"{shown} matches files that are not TFRecord shards: {others}")
        d, c = example_widths(tfrecords[:1], (FEATURES, LOGICAL_LABELS))
        return ShardSet("tfrecord", tuple(tfrecords), d, c, None)
    if not npys:
        raise ValueError(f"{shown}: expected {'/'.join(TFRECORD_SUFFIXES)} or {NPY_FEATURES_SUFFIX} shards")
    return _npy_shard_set(npys, shown)


def _npy_shard_set(npys, shown: str) -> ShardSet:
    """The NumPy shard pairs among ``npys`` (either file of a pair may be named)."""
    features = sorted({m if m.endswith(NPY_FEATURES_SUFFIX) else
                       m[: -len(NPY_LABELS_SUFFIX)] + NPY_FEATURES_SUFFIX if m.endswith(NPY_LABELS_SUFFIX) else
                       _bad_npy(m) for m in npys})
    rows, widths = [], set()
    for path in features:
        labels = npy_labels_path(path)
        if not (os.path.isfile(path) and os.path.isfile(labels)):
            raise FileNotFoundError(f"NumPy shard {_stem(path, 'npy')} needs both {Path(path).name} and {Path(labels).name}")
        X = np.load(path, mmap_mode="r")
        L = np.load(labels, mmap_mode="r")
        if X.ndim != 2 or L.ndim != 2 or X.shape[0] != L.shape[0]:
            raise ValueError(f"NumPy shard {path}: features {X.shape} and labels {L.shape} must be 2-D with equal rows")
        rows.append(int(X.shape[0]))
        widths.add((int(X.shape[1]), int(L.shape[1])))
    if len(widths) != 1:
        raise ValueError(f"shards of {shown} have different widths (d, c): {sorted(widths)}")
    d, c = widths.pop()
    return ShardSet("npy", tuple(features), d, c, tuple(rows))


def _bad_npy(path):
    raise ValueError(f"{path}: a NumPy shard is a pair <stem>{NPY_FEATURES_SUFFIX} + <stem>{NPY_LABELS_SUFFIX}")


def _width(feature, key: Key) -> Optional[int]:
    """Values under ``key`` in one example's features: a name's float list, or one scalar float
    per name of a list; None where they are missing."""
    names = [key] if isinstance(key, str) else list(key)
    lengths = [len(feature[name].float_list.value) if name in feature else 0 for name in names]
    if isinstance(key, str):
        return lengths[0] or None
    return len(names) if all(length == 1 for length in lengths) else None


def compression(path) -> str:
    """The TFRecord compression of a file: ``"GZIP"`` for a name ending in :data:`GZIP_SUFFIX`
    (as ExampleGen writes them), else none."""
    return "GZIP" if str(path).endswith(GZIP_SUFFIX) else ""


def example_widths(paths: Sequence[str], keys: Sequence[Key], optional: Sequence[Key] = ()) -> list:
    """The number of values under each of ``keys`` (d or c; see
    :func:`lib_tf.contract.parse_floats`) in the first ``tf.Example`` of the TFRecord files
    ``paths``, None for a key of ``optional`` that example lacks.

    Raises
    ------
    ValueError
        If the files hold no records, or the first example lacks a key not in ``optional``.
    """
    import tensorflow as tf

    for path in paths:
        for record in tf.data.TFRecordDataset(str(path), compression_type=compression(path)).take(1):
            feature = tf.train.Example.FromString(record.numpy()).features.feature
            widths = [_width(feature, key) for key in keys]
            missing = [key for key, width in zip(keys, widths) if width is None and key not in optional]
            if missing:
                raise ValueError(f"{path}: tf.Example lacks the float list(s) {missing}")
            return widths
    raise ValueError(f"{', '.join(map(str, paths))} holds no records")


def as_shard_set(shards) -> ShardSet:
    """``shards`` as a :class:`ShardSet` (a pattern or list of paths is resolved)."""
    return shards if isinstance(shards, ShardSet) else find_shards(shards)
