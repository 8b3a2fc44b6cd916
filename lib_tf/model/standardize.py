"""Feature standardisation inside the model, so saved and exported models take raw features."""
from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf


@keras.saving.register_keras_serializable(package="lib_tf")
class Standardize(keras.layers.Layer):
    """z = (x - mean) / std per feature, with mean and std as non-trainable weights.

    ``adapt`` computes them in one streaming pass (float64; per-batch means and squared
    deviations combined as Chan et al. do, so a large mean does not swamp a small spread),
    from an array (n, d) or a ``tf.data.Dataset`` of feature batches. Constant features get
    std 1 (they become 0): those that do not vary at all, that vary by less than 1e-8 of their
    mean (float32, which the model computes in, cannot tell their values apart), or whose std
    is below float32's smallest normal number. A feature of tiny scale that does vary (values
    around 1e-12) is kept and scaled to unit variance, as ``sklearn.preprocessing.scale`` does.
    """

    def build(self, input_shape):
        width = int(input_shape[-1])
        self.mean = self.add_weight(shape=(width,), initializer="zeros", trainable=False, name="mean")
        self.std = self.add_weight(shape=(width,), initializer="ones", trainable=False, name="std")
        self.built = True

    def call(self, inputs):
        return (inputs - self.mean) / self.std

    def adapt(self, data, batch_size: int = 65536):
        batches = data if isinstance(data, tf.data.Dataset) else (
            np.asarray(data)[i:i + batch_size] for i in range(0, len(data), batch_size))
        count, mean, squared_deviations = 0, 0.0, 0.0
        for batch in batches:
            batch = np.asarray(batch, dtype=np.float64)
            if batch.shape[0] == 0:
                continue
            batch_mean = batch.mean(axis=0)
            batch_squared = np.square(batch - batch_mean).sum(axis=0)
            total = count + batch.shape[0]
            delta = batch_mean - mean
            mean = mean + delta * (batch.shape[0] / total)
            squared_deviations = squared_deviations + batch_squared + np.square(delta) * (count * batch.shape[0] / total)
            count = total
        if count == 0:
            raise ValueError("cannot standardise on zero instances")
        std = np.sqrt(squared_deviations / count)
        std[(std == 0) | (std <= 1e-8 * np.abs(mean)) | (std < np.finfo(np.float32).tiny)] = 1.0
        if not self.built:
            self.build((None, mean.shape[0]))
        self.mean.assign(mean.astype(np.float32))
        self.std.assign(std.astype(np.float32))


@keras.saving.register_keras_serializable(package="lib_tf")
class MemberStandardize(keras.layers.Layer):
    """Each member's z = (x - mean_k) / std_k: weights (K, 1, d), so that features (n, d)
    shared by all members give (K, n, d) and a batch per member (K, b, d) stays (K, b, d).
    Member k's mean and std are :class:`Standardize`'s on its own training rows (for
    :class:`~lib_tf.model.batched.BatchedLIB`)."""

    def __init__(self, members: int, **kwargs):
        super().__init__(**kwargs)
        self.members = int(members)

    def build(self, input_shape):
        shape = (self.members, 1, int(input_shape[-1]))
        self.mean = self.add_weight(shape=shape, initializer="zeros", trainable=False, name="mean")
        self.std = self.add_weight(shape=shape, initializer="ones", trainable=False, name="std")
        self.built = True

    def call(self, inputs):
        return (inputs - self.mean) / self.std

    def adapt(self, features, rows=None):
        """Fit member k on ``features[rows[k]]`` (rows None: every member on all rows)."""
        features, single, means, stds = np.asarray(features), Standardize(), [], []
        for member_rows in [slice(None)] if rows is None else rows:
            single.adapt(features[member_rows])
            means.append(single.mean.numpy())
            stds.append(single.std.numpy())
        if rows is None:
            means, stds = means * self.members, stds * self.members
        if not self.built:
            self.build((None, means[0].shape[0]))
        self.mean.assign(np.stack(means)[:, None, :])
        self.std.assign(np.stack(stds)[:, None, :])

    def get_config(self):
        return {**super().get_config(), "members": self.members}
