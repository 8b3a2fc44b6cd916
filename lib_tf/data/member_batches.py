"""tf.data input for a batched fit: every member's minibatch of each step, stacked, each in the
order its own single fit would see them (:func:`lib_tf.data.pipeline.repeated_batches`)."""
from __future__ import annotations

import math

import numpy as np


def member_batches(features, labels, batch_size: int, seeds, rows=None):
    """A ``tf.data.Dataset`` of (features, labels) whose every entry stacks one batch per
    member: ``(K, b, d)`` (a dict of such for a dict ``features``) and ``(K, b, c)``; and the
    number of batches in one epoch (a list of K with ``rows``).

    ``rows``: None (every member trains on all rows), or each member's training rows (K
    arrays of row indices), for which see :func:`_member_row_batches`.

    Member k's batches are those of ``repeated_batches(features, labels, batch_size,
    seeds[k])`` created while TensorFlow's global seed is ``seeds[k]`` too (as
    ``LabelEnhancer(random_state=seeds[k])`` leaves it): tf.data's shuffle order depends on
    both seeds and on n only, so one shuffled stream of row indices per distinct seed, gathered
    from the arrays, reproduces it. Members sharing a seed share a stream. All members' batches
    have the same size at each step (the last of an epoch may be smaller). The caller's
    global seed is restored afterwards.

    Each stream yields a whole epoch's permutation at once, cut into steps afterwards: the
    shuffle's per-element work is the same, but zipping K streams of batches costs a
    per-element pull for every member and step (Yeast-sized rows, K = 16: 4-7 ms of CPU per
    step against 3 ms).
    """
    import tensorflow as tf

    if rows is not None:
        return _member_row_batches(features, labels, batch_size, seeds, rows)
    n = int(labels.shape[0])
    steps = math.ceil(n / batch_size)
    distinct = sorted(set(int(seed) for seed in seeds))
    orders = [_epoch_permutations(n, seed) for seed in distinct]
    stream_of_member = tf.constant([distinct.index(int(seed)) for seed in seeds])
    features = tf.nest.map_structure(lambda array: tf.constant(array, tf.float32), features)
    labels = tf.constant(labels, tf.float32)

    def epoch_steps(*permutations):
        rows = tf.gather(tf.stack(permutations), stream_of_member)  # (K, n)
        return tf.data.Dataset.range(steps).map(lambda step: rows[:, step * batch_size:(step + 1) * batch_size])

    def gather(rows):  # (K, b)
        return tf.nest.map_structure(lambda array: tf.gather(array, rows), features), tf.gather(labels, rows)

    dataset = tf.data.Dataset.zip(tuple(orders)).flat_map(epoch_steps).map(gather)
    return dataset.prefetch(tf.data.AUTOTUNE), steps


def _epoch_permutations(n: int, seed: int):
    """An endless dataset of permutations of range(n), one element per epoch: the order in
    which ``repeated_batches`` over n rows shuffles them when created with ``seed`` as both its
    seed and TensorFlow's global seed (restored afterwards)."""
    import tensorflow as tf
    from tensorflow.python.eager import context  # the global seed in force, to restore it (no public getter)

    previous = context.global_seed()
    try:
        tf.random.set_seed(seed)  # read when the shuffle is created, as in the single fit
        # batch(n): one element per epoch, the whole permutation; the order is the one
        # batch(batch_size) would cut into steps, at a fraction of the per-element work
        return tf.data.Dataset.range(n).shuffle(n, seed=seed, reshuffle_each_iteration=True).batch(n).repeat()
    finally:
        tf.random.set_seed(previous)


def _member_row_batches(features, labels, batch_size: int, seeds, rows):
    """:func:`member_batches` where member k trains on the rows ``rows[k]`` alone: its batches
    are those of ``repeated_batches(features[rows[k]], labels[rows[k]], batch_size, seeds[k])``,
    so its epochs have ``ceil(len(rows[k]) / batch_size)`` steps. Entries are (features, labels,
    row_weights): every member's batch padded to ``batch_size`` rows (an epoch's last batch,
    or every batch of a member with fewer rows), row_weights (K, b) 1 for its real rows and 0
    for the padding, which repeats its first row."""
    import tensorflow as tf

    rows = [np.asarray(member_rows, dtype=np.int64).reshape(-1) for member_rows in rows]
    if len(rows) != len(seeds):
        raise ValueError(f"rows names {len(rows)} members' rows, seeds {len(seeds)}")
    n = int(labels.shape[0])
    for k, member_rows in enumerate(rows):
        if member_rows.size == 0 or member_rows.min() < 0 or member_rows.max() >= n:
            raise ValueError(f"rows[{k}] must be a non-empty array of row indices in [0, {n}), "
                             f"got {member_rows.size} rows from {member_rows.min(initial=0)} to {member_rows.max(initial=0)}")

    def member_steps(member_rows, seed):
        count = len(member_rows)
        steps = math.ceil(count / batch_size)
        padding = steps * batch_size - count
        weights = tf.reshape(tf.concat([tf.ones([count]), tf.zeros([padding])], 0), [steps, batch_size])
        filler = tf.fill([padding], tf.constant(member_rows[0]))
        member_rows = tf.constant(member_rows)

        def cut(permutation):  # (n_k,) local positions -> steps of (b,) rows and (b,) weights
            padded = tf.concat([tf.gather(member_rows, permutation), filler], 0)
            return tf.data.Dataset.from_tensor_slices((tf.reshape(padded, [steps, batch_size]), weights))

        return _epoch_permutations(count, int(seed)).flat_map(cut)

    streams = tuple(member_steps(member_rows, seed) for member_rows, seed in zip(rows, seeds))
    features = tf.nest.map_structure(lambda array: tf.constant(array, tf.float32), features)
    labels = tf.constant(labels, tf.float32)

    def gather(*members):  # K of ((b,) rows, (b,) weights)
        member_rows = tf.stack([rows_and_weights[0] for rows_and_weights in members])
        weights = tf.stack([rows_and_weights[1] for rows_and_weights in members])
        return (tf.nest.map_structure(lambda array: tf.gather(array, member_rows), features),
                tf.gather(labels, member_rows), weights)

    dataset = tf.data.Dataset.zip(streams).map(gather)
    return dataset.prefetch(tf.data.AUTOTUNE), [math.ceil(len(member_rows) / batch_size) for member_rows in rows]
