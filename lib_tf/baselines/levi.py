"""LEVI: Label Enhancement via Variational Inference (Keras 3, TensorFlow backend).

Paper: N. Xu, J. Shu, Y.-P. Liu, X. Geng, "Variational Label Enhancement", ICML 2020;
extended in N. Xu, J. Shu, R. Zheng, X. Geng, D. Meng, M.-L. Zhang, "Variational Label
Enhancement", IEEE TPAMI 2023.
"""
from __future__ import annotations

import numpy as np

from ..data.validation import FLOAT32_RANGE
from ..base import NON_NEGATIVE_FINITE, POSITIVE_FINITE, POSITIVE_INT, SEED, BaseEnhancer


class LEVI(BaseEnhancer):
    """Variational label enhancement.

    Generative story (ICML 2020): a latent label-distribution vector ``d`` (before
    normalisation) with prior ``p(d) = N(0, I)`` generates both the features and the logical
    labels, ``p(x, l | d) = p(x | d) p(l | d)`` with ``p(x | d) = N(g_x(d), I)`` and
    ``p(l | d) = Bernoulli(sigmoid(g_l(d)))``. The posterior is approximated by
    ``q(d | x, l) = N(mu, diag(sigma^2))`` from an MLP encoder on ``[x, l]`` with two softplus
    hidden layers. The loss per instance (the negative evidence lower bound of the paper,
    written out here since equation numbers differ between the ICML and TPAMI
    versions, plus the supervision that keeps ``d`` consistent with the logical label)::

        ||l - d||^2 + alpha [ KL(q(d|x,l) || N(0, I)) + 1/2 ||x - g_x(d)||^2 / d_x
                              + BCE(l, sigmoid(g_l(d))) / c ],      d ~ q(d | x, l)

    (``d`` reparameterised: ``d = mu + sigma * eps``; the reconstruction terms are averaged
    over their dimensions so ``alpha`` does not scale with the feature count). The recovered
    label distribution is ``softmax(mu)`` (deterministic read-out). ``alpha`` trades the fit to
    ``l`` against the prior: larger values shrink ``mu`` and flatten the distributions.

    Parameters
    ----------
    alpha : float >= 0, default=1.0
        Weight of the ELBO terms.
    hidden : int >= 1, default=64
        Units of each of the two softplus layers, also used by the decoders.
    epochs : int >= 1, default=150
        Training epochs (the paper's 150).
    batch_size : int >= 1 or None, default=None
        None: the whole data set when n <= 512, else 256.
    learning_rate : float > 0, default=1e-3
        Adam's learning rate.
    standardize : bool, default=True
        z-score the features first.
    random_state : int in [0, 2**32 - 1] or None, default=0
        Seeds weights, shuffling and the reparameterisation noise (``keras.utils.set_random_seed``
        and stateless sampling): a fixed seed repeats a fit; None is read as 0.

    Attributes
    ----------
    mu_ : ndarray of shape (n_samples, n_labels)
        Posterior means ``mu``; ``distributions_`` is their row softmax.
    loss_history_ : list of float
        Mean loss per epoch.
    distributions_ : ndarray of shape (n_samples, n_labels)
    n_features_in_, n_labels_ : int

    Notes
    -----
    Cost: O(epochs n (d + c) hidden) time, O((d + c) hidden + batch (d + hidden)) memory.
    Transductive (the encoder needs ``l``): ``transform`` answers for the fitted instances.
    """

    inductive = False
    feature_range = FLOAT32_RANGE  # a Keras network in float32
    _parameter_constraints = {"alpha": [NON_NEGATIVE_FINITE], "hidden": [POSITIVE_INT], "epochs": [POSITIVE_INT],
                              "batch_size": [None, POSITIVE_INT], "learning_rate": [POSITIVE_FINITE],
                              "standardize": ["boolean"], "random_state": [None, SEED]}

    def __init__(self, *, alpha: float = 1.0, hidden: int = 64, epochs: int = 150, batch_size=None,
                 learning_rate: float = 1e-3, standardize: bool = True, random_state=0):
        self.alpha = alpha
        self.hidden = hidden
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.standardize = standardize
        self.random_state = random_state

    def _fit(self, X, L):
        import keras
        import tensorflow as tf

        seed = 0 if self.random_state is None else int(self.random_state)
        keras.utils.set_random_seed(seed)
        rng = np.random.RandomState(seed)

        n, d = X.shape
        c = L.shape[1]
        if self.standardize:
            std = X.std(axis=0)
            Xs = (X - X.mean(axis=0)) / np.where(std > 0, std, 1.0)
        else:
            Xs = X
        Xs = Xs.astype(np.float32)
        Lf = L.astype(np.float32)
        batch = self.batch_size or (n if n <= 512 else 256)
        batch = int(min(batch, n))
        encoder, step = _encoder_and_step(d, c, int(self.hidden), float(self.alpha), float(self.learning_rate))

        losses = []
        counter = 0
        for _ in range(int(self.epochs)):
            order = rng.permutation(n)
            total = 0.0
            for start in range(0, n, batch):
                idx = order[start:start + batch]
                total += float(step(tf.constant(Xs[idx]), tf.constant(Lf[idx]),
                                    tf.constant([seed, counter], dtype=tf.int32))) * len(idx)
                counter += 1
            losses.append(total / n)
        self.loss_history_ = losses
        mu = encoder(tf.concat([tf.constant(Xs), tf.constant(Lf)], axis=1))[:, :c].numpy().astype(np.float64)
        self.mu_ = mu
        mu = mu - mu.max(axis=1, keepdims=True)
        w = np.exp(mu)
        return w / w.sum(axis=1, keepdims=True)


def _encoder_and_step(d: int, c: int, h: int, alpha: float, learning_rate: float):
    """LEVI's networks (the encoder q(d | x, l), decoders of x and l from d, ``h`` units) and its
    training step ``step(x, l, seed) -> loss`` (Adam at ``learning_rate``; ``alpha`` weighs the
    KL and both reconstructions against the label fit). Returns ``(encoder, step)``."""
    import keras
    import tensorflow as tf
    import tensorflow_probability as tfp

    tfd = tfp.distributions
    encoder = keras.Sequential([keras.Input((d + c,)), keras.layers.Dense(h, activation="softplus"),
                                keras.layers.Dense(h, activation="softplus"), keras.layers.Dense(2 * c)])
    decoder_x = keras.Sequential([keras.Input((c,)), keras.layers.Dense(h, activation="softplus"),
                                  keras.layers.Dense(d)])
    decoder_l = keras.Sequential([keras.Input((c,)), keras.layers.Dense(h, activation="softplus"),
                                  keras.layers.Dense(c)])
    variables = encoder.trainable_variables + decoder_x.trainable_variables + decoder_l.trainable_variables
    optimizer = keras.optimizers.Adam(learning_rate=learning_rate)
    alpha = tf.constant(alpha, tf.float32)
    prior = tfd.Normal(loc=tf.zeros(c), scale=tf.ones(c))

    def posterior(xb, lb):
        out = encoder(tf.concat([xb, lb], axis=1))
        mu, raw = out[:, :c], out[:, c:]
        return tfd.Normal(loc=mu, scale=tf.math.softplus(raw) + 1e-4)

    @tf.function(reduce_retracing=True)
    def step(xb, lb, sample_seed):
        with tf.GradientTape() as tape:
            q = posterior(xb, lb)
            dz = q.sample(seed=sample_seed)
            fit = tf.reduce_sum(tf.square(lb - dz), axis=1)
            kl = tf.reduce_sum(tfd.kl_divergence(q, prior), axis=1)
            rec_x = 0.5 * tf.reduce_mean(tf.square(xb - decoder_x(dz)), axis=1)
            rec_l = tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=lb, logits=decoder_l(dz)), axis=1)
            loss = tf.reduce_mean(fit + alpha * (kl + rec_x + rec_l))
        grads = tape.gradient(loss, variables)
        optimizer.apply_gradients(zip(grads, variables))
        return loss

    return encoder, step
