"""LIB's loss terms as small pure functions (TensorFlow), one value per instance.

Notation of the paper (Eq. 27): the objective is
``mean_i [ L_as + alpha * L_gap + beta * KL(p(h|x) || N(0, I)) ]``:
alpha weights the gap term, beta the KL (bottleneck) term.
"""
from __future__ import annotations

import tensorflow as tf
import tensorflow_probability as tfp

tfd = tfp.distributions


def _reduce(values, reduction):
    return tf.reduce_sum(values, axis=-1) if reduction == "sum" else tf.reduce_mean(values, axis=-1)


def squared_assignment(logical_labels, label_mean, reduction="sum"):
    """The paper's assignment term ``1/2 ||mu_l - l||^2`` for q(l|h) = N(mu_l, I).

    ``reduction="mean"`` divides by c (the terms then do not grow with the label count).
    logical_labels, label_mean: (n, c) -> (n,)
    """
    return 0.5 * _reduce(tf.square(label_mean - logical_labels), reduction)


def cross_entropy_assignment(logical_labels, label_logits, reduction="sum"):
    """Softmax cross-entropy ``-sum_j (l_j / sum l) log softmax(z)_j`` (the authors' code's choice).

    logical_labels, label_logits: (n, c) -> (n,)
    """
    targets = logical_labels / tf.reduce_sum(logical_labels, axis=-1, keepdims=True)
    cross_entropy = -tf.reduce_sum(targets * tf.nn.log_softmax(label_logits, axis=-1), axis=-1)
    if reduction == "mean":
        cross_entropy /= tf.cast(tf.shape(logical_labels)[-1], cross_entropy.dtype)
    return cross_entropy


def gap_term(logical_labels, estimate, gap_deviation, reduction="sum"):
    """The label-gap term ``1/2 (l - e)^T sigma^-2 (l - e) + log det(sigma^2 I)``.

    ``estimate`` e is the label-distribution head's output (its logits or its softmax,
    see ``LIB(gap_on=...)``); ``gap_deviation`` sigma is one positive scalar per instance,
    so ``log det(sigma^2 I_c) = c log sigma^2``. ``reduction="mean"`` divides the whole
    term by c.

    logical_labels, estimate: (n, c); gap_deviation: (n, 1) -> (n,)
    """
    variance = tf.square(tf.squeeze(gap_deviation, axis=-1))
    log_det_per_label = tf.math.log(variance)
    if reduction == "sum":
        log_det_per_label *= tf.cast(tf.shape(logical_labels)[-1], estimate.dtype)
    return 0.5 * _reduce(tf.square(logical_labels - estimate), reduction) / variance + log_det_per_label


def posterior(mean, scale):
    """p(h|x) = N(mean, diag(scale^2)) as a TFP distribution; mean, scale: (n, k)."""
    return tfd.MultivariateNormalDiag(loc=mean, scale_diag=scale)


def kl_to_standard_normal(distribution, reduction="sum"):
    """KL(p(h|x) || N(0, I)) for a diagonal Gaussian posterior with event size k -> (n,).

    ``reduction="mean"`` divides by k (nats per latent dimension).
    """
    loc = distribution.loc
    prior = tfd.MultivariateNormalDiag(loc=tf.zeros_like(loc), scale_diag=tf.ones_like(loc))
    kl = tfd.kl_divergence(distribution, prior)
    return kl if reduction == "sum" else kl / tf.cast(tf.shape(loc)[-1], kl.dtype)
