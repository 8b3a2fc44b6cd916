"""tf.data input for training: in-memory arrays as a repeated, reshuffled stream of batches."""
from __future__ import annotations

import math


def repeated_batches(features, labels, batch_size: int, seed=None, drop_remainder: bool = False):
    """A ``tf.data.Dataset`` of (features, labels) batches that reshuffles every epoch and
    repeats forever, and the number of batches in one epoch. ``features``: an array (n, d) or
    a dict of arrays with n rows; ``labels`` (n, c).

    Keras builds a fresh iterator over in-memory arrays every epoch (tens of milliseconds on
    two cores: most of an epoch for a small data set); one endless iterator with
    ``steps_per_epoch`` avoids it. The last batch of each epoch may be smaller, or with
    ``drop_remainder`` is left out (several replicas: none may get an empty share).
    """
    import tensorflow as tf

    n = int(labels.shape[0])
    if drop_remainder and n < batch_size:
        raise ValueError(f"{n} instances make no full batch of batch_size={batch_size}")
    dataset = tf.data.Dataset.from_tensor_slices((features, labels))
    dataset = dataset.shuffle(n, seed=seed, reshuffle_each_iteration=True).batch(batch_size, drop_remainder=drop_remainder)
    steps = n // batch_size if drop_remainder else math.ceil(n / batch_size)
    return dataset.repeat().prefetch(tf.data.AUTOTUNE), steps
