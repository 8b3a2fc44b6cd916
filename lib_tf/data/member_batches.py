"""tf.data input for a batched fit: every member's minibatch of each step, stacked, each in the
order its own single fit would see them (:func:`lib_tf.data.pipeline.repeated_batches`)."""
from __future__ import annotations

import math


def member_batches(features, labels, batch_size: int, seeds):
    """A ``tf.data.Dataset`` of (features, labels) whose every entry stacks one batch per
    member: ``(K, b, d)`` (a dict of such for a dict ``features``) and ``(K, b, c)``; and the
    number of batches in one epoch.

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
    from tensorflow.python.eager import context  # the global seed in force, to restore it (no public getter)

    n = int(labels.shape[0])
    steps = math.ceil(n / batch_size)
    distinct = sorted(set(int(seed) for seed in seeds))
    previous = context.global_seed()
    orders = []
    try:
        for seed in distinct:
            tf.random.set_seed(seed)  # read when the shuffle is created, as in the single fit
            # batch(n): one element per epoch, the whole permutation; the order is the one
            # batch(batch_size) would cut into steps, at a fraction of the per-element work
            orders.append(tf.data.Dataset.range(n).shuffle(n, seed=seed, reshuffle_each_iteration=True).batch(n).repeat())
    finally:
        tf.random.set_seed(previous)
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
