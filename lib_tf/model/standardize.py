"""Feature standardisation inside the model, so saved and exported models take raw features."""
from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf


@keras.saving.register_keras_serializable(package="lib_tf")
class Standardize(keras.layers.Layer):
    """z = (x - mean) / std per feature, with mean and std as non-trainable weights.

    ``adapt`` computes them in one streaming pass (float64 sums), from an array (n, d) or a
    ``tf.data.Dataset`` of feature batches; constant features get std 1 (they become 0).
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
        count, total, total_sq = 0, 0.0, 0.0
        for batch in batches:
            batch = np.asarray(batch, dtype=np.float64)
            count += batch.shape[0]
            total = total + batch.sum(axis=0)
            total_sq = total_sq + np.square(batch).sum(axis=0)
        if count == 0:
            raise ValueError("cannot standardise on zero instances")
        mean = total / count
        std = np.sqrt(np.maximum(total_sq / count - np.square(mean), 0.0))
        std[std < 1e-8 * np.maximum(1.0, np.abs(mean))] = 1.0
        if not self.built:
            self.build((None, mean.shape[0]))
        self.mean.assign(mean.astype(np.float32))
        self.std.assign(std.astype(np.float32))
