"""Streaming input for data sets that do not fit in memory: on-disk shards, tf.data readers,
shard writers and shard-by-shard prediction.

Two shard formats:

- **TFRecord** (``*.tfrecord``, ``*.tfrecords``, ``*.tfrec``): one ``tf.train.Example`` per
  instance, encoded as :mod:`lib_tf.contract` says: float lists ``features`` (d) and
  ``logical_labels`` (c); optionally ``label_distribution`` (c, ground truth, never read for
  training; shards written before the names were unified call it ``distributions``).
- **NumPy** (``*.npy``, read as memory maps): one shard is a pair of files
  ``<stem>.features.npy`` (n_i, d) and ``<stem>.logical_labels.npy`` (n_i, c), 2-D, any float
  dtype. A glob may match either file of a pair (``shards/*.npy`` works).

Readers return ``tf.data.Dataset`` objects of batches (``(features, logical_labels)``, or
features only for the standardisation pass and for prediction), finite (one pass = one
epoch), float32. Memory is bounded by the batch size, the shuffle buffer and the prefetch
depth, never by the number of instances. Shuffling on disk is approximate, as everywhere with
streaming: shard order is reshuffled every epoch, shards are interleaved, and a shuffle buffer
of ``shuffle_buffer`` instances mixes them; ``shuffle_buffer=0`` reads shards in sorted order,
instance by instance, exactly as the concatenated arrays.

This module is NumPy + TensorFlow only and knows nothing of models: prediction takes any
callable from a feature batch to an output batch.
"""
from __future__ import annotations

import glob
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Optional, Sequence

import numpy as np

from ..contract import FEATURES as FEATURES_KEY
from ..contract import GROUND_TRUTH_KEY
from ..contract import LOGICAL_LABELS as LABELS_KEY
from ..contract import parse_floats, serialize_example

TFRECORD_SUFFIXES = (".tfrecord", ".tfrecords", ".tfrec")
NPY_FEATURES_SUFFIX = ".features.npy"
NPY_LABELS_SUFFIX = ".logical_labels.npy"
PREDICTION_SUFFIX = ".distributions.npy"
#: Rows a NumPy shard reader takes from its memory map at once.
NPY_BLOCK_ROWS = 8192


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
        d, c = _tfrecord_widths(tfrecords[0])
        return ShardSet("tfrecord", tuple(tfrecords), d, c, None)
    if not npys:
        raise ValueError(f"{shown}: expected {'/'.join(TFRECORD_SUFFIXES)} or {NPY_FEATURES_SUFFIX} shards")
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


def _tfrecord_widths(path) -> tuple:
    import tensorflow as tf

    for record in tf.data.TFRecordDataset(path).take(1):
        example = tf.train.Example.FromString(record.numpy())
        feature = example.features.feature
        missing = [k for k in (FEATURES_KEY, LABELS_KEY) if k not in feature]
        if missing:
            raise ValueError(f"{path}: tf.Example lacks the float list(s) {missing}")
        return len(feature[FEATURES_KEY].float_list.value), len(feature[LABELS_KEY].float_list.value)
    raise ValueError(f"{path} holds no records")


def as_shard_set(shards) -> ShardSet:
    return shards if isinstance(shards, ShardSet) else find_shards(shards)


# -- readers -----------------------------------------------------------------------------
def shard_dataset(shards, batch_size: int, *, labels: bool = True, shuffle_buffer: int = 0, seed=None,
                  drop_remainder: bool = False, cycle_length: int = 4, files: Optional[Sequence[str]] = None):
    """Batches ``(features, logical_labels)`` (or features only with ``labels=False``) from
    ``shards`` (a glob pattern, a list of paths or a :class:`ShardSet`), float32, one pass.

    ``shuffle_buffer=0``: sorted shards, rows in file order (the concatenated arrays).
    ``shuffle_buffer>0``: shard order reshuffled every epoch (``seed``), ``cycle_length`` shards
    read interleaved, and a shuffle buffer of that many instances. ``files`` restricts the
    read to some of the shards (e.g. one, for prediction).
    """
    import tensorflow as tf

    shards = as_shard_set(shards)
    if not (isinstance(batch_size, (int, np.integer)) and batch_size > 0):
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    paths = list(shards.paths if files is None else files)
    shuffle = shuffle_buffer > 0
    if shards.format == "tfrecord":
        dataset = _tfrecord_records(paths, shuffle, seed, cycle_length)
        if shuffle:
            dataset = dataset.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
        dataset = dataset.batch(batch_size, drop_remainder=drop_remainder)

        columns = [(FEATURES_KEY, shards.n_features, "feature")]
        if labels:
            columns.append((LABELS_KEY, shards.n_labels, "label"))

        def parse(records):
            parsed = parse_floats(records, columns)
            return tuple(parsed) if labels else parsed[0]

        dataset = dataset.map(parse, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    else:
        dataset = _npy_rows(shards, paths, labels, shuffle, seed, cycle_length)
        if shuffle:
            dataset = dataset.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
        dataset = dataset.batch(batch_size, drop_remainder=drop_remainder)
    return dataset.prefetch(tf.data.AUTOTUNE)


def _tfrecord_records(paths, shuffle, seed, cycle_length):
    """Serialized records. Built from a dataset of file names, so tf.distribute's FILE
    auto-sharding can give each worker its own shards."""
    import tensorflow as tf

    files = tf.data.Dataset.from_tensor_slices(paths)
    if shuffle and len(paths) > 1:
        files = files.shuffle(len(paths), seed=seed, reshuffle_each_iteration=True)
    if shuffle and len(paths) > 1 and cycle_length > 1:
        return files.interleave(tf.data.TFRecordDataset, cycle_length=min(cycle_length, len(paths)), block_length=1,
                                num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return files.flat_map(tf.data.TFRecordDataset)


def _npy_rows(shards: ShardSet, paths, labels, shuffle, seed, cycle_length):
    """Rows read from the memory maps in blocks of ``NPY_BLOCK_ROWS`` (shuffled block order
    when shuffling), then unbatched."""
    import tensorflow as tf

    rows = dict(zip(shards.paths, shards.rows))
    blocks = [(index, start) for index, path in enumerate(paths) for start in range(0, rows[path], NPY_BLOCK_ROWS)]
    if not blocks:
        raise ValueError("the shards hold no rows")
    d, c = shards.n_features, shards.n_labels
    cache = {}

    def read(index, start):
        index, start = int(index), int(start)
        if index not in cache:
            cache.clear()  # one open memory map per reader
            cache[index] = (np.load(paths[index], mmap_mode="r"),
                            np.load(npy_labels_path(paths[index]), mmap_mode="r") if labels else None)
        X, L = cache[index]
        stop = min(start + NPY_BLOCK_ROWS, X.shape[0])
        x = np.ascontiguousarray(X[start:stop], dtype=np.float32)
        if not labels:
            return x
        return x, np.ascontiguousarray(L[start:stop], dtype=np.float32)

    dataset = tf.data.Dataset.from_tensor_slices(np.asarray(blocks, dtype=np.int64))
    if shuffle:
        dataset = dataset.shuffle(len(blocks), seed=seed, reshuffle_each_iteration=True)
    if labels:
        def load(block):
            x, l = tf.numpy_function(read, [block[0], block[1]], [tf.float32, tf.float32], stateful=False)
            return tf.ensure_shape(x, [None, d]), tf.ensure_shape(l, [None, c])
    else:
        def load(block):
            x = tf.numpy_function(read, [block[0], block[1]], tf.float32, stateful=False)
            return tf.ensure_shape(x, [None, d])
    # Sequential block reads keep file order; numpy_function holds the GIL, so parallel
    # calls would buy little anyway.
    return dataset.map(load).unbatch()


def feature_batches(shards, batch_size: int = 8192):
    """Feature batches only, in file order: the one streaming pass of ``Standardize.adapt``."""
    return shard_dataset(shards, batch_size, labels=False)


# -- writers -----------------------------------------------------------------------------
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
        features = np.asarray(features)
        logical_labels = np.asarray(logical_labels)
        if features.ndim != 2 or logical_labels.ndim != 2 or features.shape[0] != logical_labels.shape[0]:
            raise ValueError(f"features {features.shape} and logical_labels {logical_labels.shape} must be 2-D "
                             "with the same number of rows")
        if distributions is not None:
            distributions = np.asarray(distributions)
            if distributions.shape != logical_labels.shape:
                raise ValueError(f"distributions {distributions.shape} must match logical_labels {logical_labels.shape}")
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
        for i, (x, l) in enumerate(zip(features, logical_labels)):
            columns = {FEATURES_KEY: x, LABELS_KEY: l}
            if distributions is not None:
                columns[GROUND_TRUTH_KEY] = distributions[i]
            self._writer.write(serialize_example(columns))

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


def write_shards(directory, features, logical_labels, *, format: str = "tfrecord", rows_per_shard: int = 100_000,
                 distributions=None, prefix: str = "part", chunk_rows: int = 65536) -> list:
    """Write arrays (in memory or memory-mapped) as shards; returns the shard paths (for
    NumPy, the ``.features.npy`` of each pair). Rows are copied ``chunk_rows`` at a time."""
    if format not in WRITERS:
        raise ValueError(f"format must be one of {sorted(WRITERS)}, got {format!r}")
    n = len(features)
    if len(logical_labels) != n or (distributions is not None and len(distributions) != n):
        raise ValueError("features, logical_labels (and distributions) must have the same number of rows")
    with WRITERS[format](directory, rows_per_shard, prefix) as writer:
        for start in range(0, n, chunk_rows):
            stop = min(n, start + chunk_rows)
            writer.write(features[start:stop], logical_labels[start:stop],
                         None if distributions is None else distributions[start:stop])
    return [str(p) for p in writer.paths]


def write_chunks(directory, chunks: Iterable, *, format: str = "tfrecord", rows_per_shard: int = 100_000,
                 prefix: str = "part") -> list:
    """Write an iterable of ``(features, logical_labels)`` or ``(features, logical_labels,
    distributions)`` chunks as shards (a generated data set never held whole in memory)."""
    if format not in WRITERS:
        raise ValueError(f"format must be one of {sorted(WRITERS)}, got {format!r}")
    with WRITERS[format](directory, rows_per_shard, prefix) as writer:
        for chunk in chunks:
            writer.write(*chunk)
    return [str(p) for p in writer.paths]


# -- prediction --------------------------------------------------------------------------
def predict_to_shards(predict: Callable, shards, out_dir, batch_size: int = 8192, suffix: str = PREDICTION_SUFFIX,
                      progress: Optional[Callable[[int], None]] = None) -> list:
    """Apply ``predict`` (a float32 feature batch -> an output batch (b, k)) to every shard in
    file order and write one ``<stem><suffix>`` float32 ``.npy`` per input shard into
    ``out_dir``; returns the written paths. Memory: one batch (plus, for shards whose row
    count is unknown, nothing more: rows go to a raw file that becomes the ``.npy``).
    ``progress(rows)`` is called after every batch."""
    shards = as_shard_set(shards)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for path, stem in zip(shards.paths, shards.stems()):
        target = out_dir / f"{stem}{suffix}"
        raw = out_dir / f".{stem}{suffix}.part"
        rows, width = 0, None
        with open(raw, "wb") as sink:
            for batch in shard_dataset(shards, batch_size, labels=False, files=[path]):
                output = np.ascontiguousarray(np.asarray(predict(batch), dtype=np.float32))
                if width is None:
                    width = output.shape[1]
                sink.write(output.tobytes())
                rows += output.shape[0]
                if progress is not None:
                    progress(output.shape[0])
        _raw_to_npy(raw, target, rows, width or 0)
        written.append(str(target))
    return written


def _raw_to_npy(raw: Path, target: Path, rows: int, width: int, block_bytes: int = 1 << 24):
    """Prefix the float32 rows in ``raw`` with an .npy header (copied in blocks)."""
    tmp = target.with_name(target.name + ".tmp")
    with open(tmp, "wb") as out, open(raw, "rb") as src:
        np.lib.format.write_array_header_1_0(out, {"descr": "<f4", "fortran_order": False, "shape": (rows, width)})
        while True:
            block = src.read(block_bytes)
            if not block:
                break
            out.write(block)
    os.replace(tmp, target)
    raw.unlink()


def read_prediction_shards(paths, mmap: bool = True) -> np.ndarray:
    """Concatenate prediction shards (small outputs / tests); ``mmap`` opens each lazily."""
    return np.concatenate([np.load(p, mmap_mode="r" if mmap else None) for p in paths])


def count_rows(dataset) -> int:
    """Rows in a dataset of batches (one pass)."""
    total = 0
    for batch in dataset:
        first = batch[0] if isinstance(batch, tuple) else batch
        total += int(first.shape[0])
    return total
