"""tf.data input for training: in-memory arrays as a repeated, reshuffled stream of batches."""
from __future__ import annotations

import math


def repeated_batches(features, labels, batch_size: int, seed=None):
    """A ``tf.data.Dataset`` of (features, labels) batches that reshuffles every epoch and
    repeats forever, and the number of batches in one epoch.

    Keras builds a fresh iterator over in-memory arrays every epoch (tens of milliseconds on
    two cores: most of an epoch for a small data set); one endless iterator with
    ``steps_per_epoch`` avoids it. The last batch of each epoch may be smaller.
    """
    import tensorflow as tf

    n = int(labels.shape[0])  # features may be a dict of arrays
    dataset = tf.data.Dataset.from_tensor_slices((features, labels))
    dataset = dataset.shuffle(n, seed=seed, reshuffle_each_iteration=True).batch(batch_size).repeat()
    return dataset.prefetch(tf.data.AUTOTUNE), math.ceil(n / batch_size)
