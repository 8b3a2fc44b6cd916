"""Writing shards: arrays or a stream of row chunks split into TFRecord or NumPy shards of a
fixed number of rows; and one TFRecord file of ``tf.Example`` (what :mod:`lib_tf.tfx` writes
for ExampleGen)."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from ...contract import FEATURES, GROUND_TRUTH_KEY, LOGICAL_LABELS, Key, serialize_example
from .shards import NPY_FEATURES_SUFFIX, NPY_LABELS_SUFFIX, PREDICTION_SUFFIX

#: Where a shard's ``tf.Example`` hold the features, the logical labels and the ground truth.
SHARD_KEYS = (FEATURES, LOGICAL_LABELS, GROUND_TRUTH_KEY)


def check_rows(features, logical_labels, distributions=None) -> tuple:
    """The three arrays, checked: 2-D features and logical labels of one row count, and
    ground-truth distributions (optional) of the labels' shape."""
    features = np.asarray(features)
    logical_labels = np.asarray(logical_labels)
    if features.ndim != 2 or logical_labels.ndim != 2 or features.shape[0] != logical_labels.shape[0]:
        raise ValueError(f"features {features.shape} and logical_labels {logical_labels.shape} must be 2-D "
                         "with the same number of rows")
    if distributions is not None:
        distributions = np.asarray(distributions)
        if distributions.shape != logical_labels.shape:
            raise ValueError(f"distributions {distributions.shape} must match logical_labels {logical_labels.shape}")
    return features, logical_labels, distributions


def _examples(features, logical_labels, distributions, keys: Sequence[Key]):
    """One serialized ``tf.Example`` per row, the three arrays under ``keys``."""
    hashable = [k if isinstance(k, str) else tuple(k) for k in keys]
    for i, (x, l) in enumerate(zip(features, logical_labels)):
        columns = {hashable[0]: x, hashable[1]: l}
        if distributions is not None:
            columns[hashable[2]] = distributions[i]
        yield serialize_example(columns)


def write_tfrecord(path, features, logical_labels, distributions=None, *, keys: Sequence[Key] = SHARD_KEYS,
                   compression: str = "") -> str:
    """Write the rows as one TFRecord file of ``tf.Example`` (its folder is made): the features,
    logical labels and (optional) distributions under ``keys``, each one name (a float list per
    row) or one name per column (a scalar each); ``compression`` ``""`` or ``"GZIP"``.
    Returns ``path``."""
    import tensorflow as tf

    features, logical_labels, distributions = check_rows(features, logical_labels, distributions)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with tf.io.TFRecordWriter(str(path), options=compression) as writer:
        for record in _examples(features, logical_labels, distributions, keys):
            writer.write(record)
    return str(path)


class _ShardWriter:
    """Split a stream of row chunks into shards of ``rows_per_shard`` rows named
    ``<prefix>-00000<suffix>``; ``write`` takes chunks of any size, ``close`` returns paths."""

    def __init__(self, directory, rows_per_shard: int, prefix: str):
        if not (isinstance(rows_per_shard, (int, np.integer)) and rows_per_shard > 0):
            raise ValueError(f"rows_per_shard must be a positive integer, got {rows_per_shard!r}")
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.rows_per_shard, self.prefix = int(rows_per_shard), prefix
        self.paths, self._in_shard, self.n_written = [], 0, 0
        self._width = None

    def _check(self, features, logical_labels, distributions):
        features, logical_labels, distributions = check_rows(features, logical_labels, distributions)
        width = (features.shape[1], logical_labels.shape[1], distributions is not None)
        if self._width is not None and width != self._width:
            raise ValueError(f"chunk widths {width[:2]} differ from the first chunk's {self._width[:2]}")
        self._width = width
        return features, logical_labels, distributions

    def write(self, features, logical_labels, distributions=None):
        features, logical_labels, distributions = self._check(features, logical_labels, distributions)
        start = 0
        while start < features.shape[0]:
            if self._in_shard == self.rows_per_shard or not self.paths:
                self._next_shard()
            stop = min(features.shape[0], start + self.rows_per_shard - self._in_shard)
            self._write_rows(features[start:stop], logical_labels[start:stop],
                             None if distributions is None else distributions[start:stop])
            self._in_shard += stop - start
            self.n_written += stop - start
            start = stop
        return self

    def _next_shard(self):
        self._finish_shard()
        self.paths.append(self.directory / f"{self.prefix}-{len(self.paths):05d}{self.suffix}")
        self._in_shard = 0
        self._open(self.paths[-1])

    def close(self) -> list:
        self._finish_shard()
        return list(self.paths)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class TFRecordShardWriter(_ShardWriter):
    """Write ``tf.train.Example`` shards (float lists ``features``, ``logical_labels`` and,
    when given, the ground truth under ``label_distribution``)."""

    suffix = ".tfrecord"

    def __init__(self, directory, rows_per_shard: int = 100_000, prefix: str = "part"):
        super().__init__(directory, rows_per_shard, prefix)
        self._writer = None

    def _open(self, path):
        import tensorflow as tf

        self._writer = tf.io.TFRecordWriter(str(path))

    def _write_rows(self, features, logical_labels, distributions):
        for record in _examples(features, logical_labels, distributions, SHARD_KEYS):
            self._writer.write(record)

    def _finish_shard(self):
        if self._writer is not None:
            self._writer.close()
            self._writer = None


class NpyShardWriter(_ShardWriter):
    """Write NumPy shard pairs ``<prefix>-00000.features.npy`` / ``.logical_labels.npy``
    (float32; ``distributions`` to ``.distributions.npy`` when given). A shard is buffered
    until full (memory: ``rows_per_shard`` rows)."""

    suffix = NPY_FEATURES_SUFFIX

    def __init__(self, directory, rows_per_shard: int = 100_000, prefix: str = "part"):
        super().__init__(directory, rows_per_shard, prefix)
        self._buffers = None

    def _open(self, path):
        self._buffers = ([], [], [])

    def _write_rows(self, features, logical_labels, distributions):
        self._buffers[0].append(np.asarray(features, np.float32))
        self._buffers[1].append(np.asarray(logical_labels, np.float32))
        if distributions is not None:
            self._buffers[2].append(np.asarray(distributions, np.float32))

    def _finish_shard(self):
        if self._buffers is None:
            return
        path = str(self.paths[-1])
        base = path[: -len(NPY_FEATURES_SUFFIX)]
        np.save(path, np.concatenate(self._buffers[0]))
        np.save(base + NPY_LABELS_SUFFIX, np.concatenate(self._buffers[1]))
        if self._buffers[2]:
            np.save(base + PREDICTION_SUFFIX, np.concatenate(self._buffers[2]))
        self._buffers = None


WRITERS = {"tfrecord": TFRecordShardWriter, "npy": NpyShardWriter}


def _writer(format: str, directory, rows_per_shard: int, prefix: str) -> _ShardWriter:
    if format not in WRITERS:
        raise ValueError(f"format must be one of {sorted(WRITERS)}, got {format!r}")
    return WRITERS[format](directory, rows_per_shard, prefix)


def write_shards(directory, features, logical_labels, *, format: str = "tfrecord", rows_per_shard: int = 100_000,
                 distributions=None, prefix: str = "part", chunk_rows: int = 65536) -> list:
    """Write arrays (in memory or memory-mapped) as shards; returns the shard paths (for
    NumPy, the ``.features.npy`` of each pair). Rows are copied ``chunk_rows`` at a time."""
    n = len(features)
    if len(logical_labels) != n or (distributions is not None and len(distributions) != n):
        raise ValueError("features, logical_labels (and distributions) must have the same number of rows")
    with _writer(format, directory, rows_per_shard, prefix) as writer:
        for start in range(0, n, chunk_rows):
            stop = min(n, start + chunk_rows)
            writer.write(features[start:stop], logical_labels[start:stop],
                         None if distributions is None else distributions[start:stop])
    return [str(p) for p in writer.paths]


def write_chunks(directory, chunks: Iterable, *, format: str = "tfrecord", rows_per_shard: int = 100_000,
                 prefix: str = "part") -> list:
    """Write an iterable of ``(features, logical_labels)`` or ``(features, logical_labels,
    distributions)`` chunks as shards (a generated data set never held whole in memory)."""
    with _writer(format, directory, rows_per_shard, prefix) as writer:
        for chunk in chunks:
            writer.write(*chunk)
    return [str(p) for p in writer.paths]
