"""The read-out forms as TensorFlow ops (float32), for the Keras models' graphs and the exported
SavedModel: twins of :mod:`lib_tf.readout.forms`, same contracts.

Importing this module imports TensorFlow; nothing else in :mod:`lib_tf.readout` does.
"""
from __future__ import annotations

import math

import numpy as np
import tensorflow as tf

from .forms import RULE_MARGIN


def softmax_with_temperature(logits, temperature: float):
    """``softmax(z / T)`` row-wise; logits (n, c) of any float dtype -> float32 (n, c)."""
    return tf.nn.softmax(tf.cast(logits, tf.float32) / temperature, axis=-1)


def _inverse(temperature):
    """1 / T as a float, 0 for T = inf or None (the term is dropped)."""
    return 0.0 if temperature is None or math.isinf(temperature) else 1.0 / float(temperature)


def softmax_two_temperatures(logits, logical_labels, logits_temperature, labels_temperature):
    """``softmax(z / T_z + l / T_l)`` row-wise, float32 (n, c); a temperature of None or inf
    drops its term (the caller checks that not both are dropped)."""
    scores = (tf.cast(logits, tf.float32) * _inverse(logits_temperature)
              + tf.cast(logical_labels, tf.float32) * _inverse(labels_temperature))
    return tf.nn.softmax(scores, axis=-1)


def rule_consistent(distributions, logical_labels):
    """Each row's relevant mass moved into the interval the binarisation rule allows
    (:func:`lib_tf.readout.forms.rule_consistent`). distributions, logical_labels: float32
    (n, c) -> (n, c)."""
    relevant = logical_labels > 0.5
    rest = tf.logical_not(relevant)

    def shares(mask):
        inside = tf.where(mask, distributions, 0.0)
        total = tf.reduce_sum(inside, axis=1, keepdims=True)
        mask_float = tf.cast(mask, distributions.dtype)
        uniform = mask_float / tf.maximum(tf.reduce_sum(mask_float, axis=1, keepdims=True), 1.0)
        return tf.where(total > 0, inside / tf.where(total > 0, total, 1.0), uniform)

    mass = tf.reduce_sum(tf.where(relevant, distributions, 0.0), axis=1, keepdims=True)
    within_relevant, within_rest = shares(relevant), shares(rest)
    smallest_relevant = tf.reduce_min(tf.where(relevant, within_relevant, np.inf), axis=1, keepdims=True)
    largest_rest = tf.reduce_max(tf.where(relevant, -np.inf, within_rest), axis=1, keepdims=True)
    upper = tf.minimum(1.0, 0.5 / tf.maximum(1.0 - smallest_relevant, 1e-12))
    lower = tf.minimum(upper, tf.maximum(0.5 + RULE_MARGIN, largest_rest / (smallest_relevant + largest_rest)))
    moved = tf.clip_by_value(mass, lower, upper)
    result = moved * within_relevant + (1.0 - moved) * within_rest
    every_label_relevant = tf.reduce_all(relevant, axis=1, keepdims=True)
    return tf.where(every_label_relevant, distributions, result)
