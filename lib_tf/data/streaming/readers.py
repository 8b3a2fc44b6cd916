"""Reading shards: ``tf.data`` batches of features (and logical labels), one pass per epoch,
memory bounded by the batch, the shuffle buffer and the prefetch depth."""
from __future__ import annotations

import re
from typing import Optional, Sequence

import numpy as np

from ...contract import FEATURES, LOGICAL_LABELS, checked_label_values, parse_floats
from ..validation import check_logical_labels
from .shards import GZIP_SUFFIX, ShardSet, as_shard_set, npy_labels_path

#: Rows a NumPy shard reader takes from its memory map at once.
NPY_BLOCK_ROWS = 8192


def shard_dataset(shards, batch_size: int, *, labels: bool = True, shuffle_buffer: int = 0, seed=None,
                  drop_remainder: bool = False, cycle_length: int = 4, files: Optional[Sequence[str]] = None,
                  check_labels: bool = True):
    """Batches ``(features, logical_labels)`` (or features only with ``labels=False``) from
    ``shards`` (a glob pattern, a list of paths or a :class:`~lib_tf.data.streaming.shards.ShardSet`),
    float32, one pass. With ``check_labels`` the logical labels are checked as they are read (0
    or 1, a 1 in every row; a ``tf.errors.OpError`` at run time): a NumPy shard's message names
    the shard and its row, a TFRecord shard's the fault (its rows may come shuffled).

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
        dataset = example_records(paths, shuffle=shuffle, seed=seed, cycle_length=cycle_length)
    else:
        dataset = _npy_rows(shards, paths, labels, shuffle, seed, check_labels)
    if shuffle:
        dataset = dataset.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
    dataset = dataset.batch(batch_size, drop_remainder=drop_remainder)
    if shards.format == "tfrecord":
        columns = [(FEATURES, shards.n_features, "feature")]
        if labels:
            columns.append((LOGICAL_LABELS, shards.n_labels, "label"))

        def parse(records):
            parsed = parse_floats(records, columns)
            if not labels:
                return parsed[0]
            if not check_labels:
                return tuple(parsed)
            return parsed[0], checked_label_values(parsed[1], f"the '{LOGICAL_LABELS}' of TFRecord shards must")

        dataset = dataset.map(parse, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return dataset.prefetch(tf.data.AUTOTUNE)


def example_records(paths: Sequence[str], *, shuffle: bool = False, seed=None, cycle_length: int = 1):
    """The serialized records of TFRecord files (a file named ``*.gz`` read as gzipped). Built
    from a dataset of file names, so tf.distribute's FILE auto-sharding can give each worker its
    own shards; with ``shuffle`` the file order is reshuffled every pass and ``cycle_length``
    files are read interleaved."""
    import tensorflow as tf

    def records(path):
        gzipped = tf.strings.regex_full_match(path, f".*{re.escape(GZIP_SUFFIX)}")
        return tf.data.TFRecordDataset(path, compression_type=tf.where(gzipped, "GZIP", ""))

    files = tf.data.Dataset.from_tensor_slices(list(paths))
    if shuffle and len(paths) > 1:
        files = files.shuffle(len(paths), seed=seed, reshuffle_each_iteration=True)
    if shuffle and len(paths) > 1 and cycle_length > 1:
        return files.interleave(records, cycle_length=min(cycle_length, len(paths)), block_length=1,
                                num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return files.flat_map(records)


def _npy_rows(shards: ShardSet, paths, labels, shuffle, seed, check_labels=True):
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
        l = np.ascontiguousarray(L[start:stop], dtype=np.float32)
        if check_labels:
            check_logical_labels(l, f"logical_labels of {paths[index]}", first_row=start)
        return x, l

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


def example_arrays(paths: Sequence[str], columns: Sequence[tuple], batch_size: int = 8192) -> list:
    """Whole TFRecord files of ``tf.Example`` (gzipped when named ``*.gz``) as float32 arrays,
    one (n, width) per ``(key, width, role)`` of ``columns`` (see
    :func:`lib_tf.contract.parse_floats`), in file order: for files that fit in memory.

    Raises
    ------
    ValueError
        If an example lacks a key or holds another number of values under it (the message
        names the key).
    """
    import tensorflow as tf

    dataset = example_records(paths).batch(batch_size).map(lambda records: tuple(parse_floats(records, columns)))
    parts = []
    try:
        for batch in dataset:
            parts.append([column.numpy() for column in batch])
    except tf.errors.InvalidArgumentError as error:
        # the parse's own words, without the iterator's trace TensorFlow puts before them
        reason = re.sub(r"^.*Iterator::Root::\w+: ", "", error.message.strip().splitlines()[0])
        raise ValueError(f"{', '.join(map(str, paths))}: {reason}") from None
    if not parts:
        return [np.zeros((0, width), np.float32) for _, width, _ in columns]
    return [np.concatenate(column) for column in zip(*parts)]


def count_rows(dataset) -> int:
    """Rows in a dataset of batches (one pass)."""
    total = 0
    for batch in dataset:
        first = batch[0] if isinstance(batch, tuple) else batch
        total += int(first.shape[0])
    return total
