"""LIB, the Label Information Bottleneck (Zheng, Zhu, Tang; CVPR 2023), as a Keras model."""
from __future__ import annotations

import math

import keras
import numpy as np
import tensorflow as tf

from ..contract import GAP_DEVIATION, LABEL_DISTRIBUTION
from ..hparams import ASSIGNMENTS, GAP_TARGETS, NETWORK_DTYPES, REDUCTIONS
from ..readout import tf_forms
from . import losses, training
from .standardize import Standardize


def _mlp(hidden_units, depth, outputs, activation, name, dtype):
    layers = [keras.layers.Dense(hidden_units, activation=activation, name=f"{name}_hidden{i}", dtype=dtype)
              for i in range(depth - 1)]
    layers.append(keras.layers.Dense(outputs, name=f"{name}_out", dtype=dtype))
    return keras.Sequential(layers, name=name)


@keras.saving.register_keras_serializable(package="lib_tf")
class LIB(keras.Model):
    """Label Information Bottleneck for label enhancement.

    Maps raw features x (n, d) to label distributions (n, c). Networks (paper Sec. 4):
    encoder f_en(x) -> (mu_h, sigma_h) with posterior p(h|x) = N(mu_h, diag(sigma_h^2)); decoder
    f_de(h) -> mu_l with q(l|h) = N(mu_l, I); label-distribution head f_ld(h) -> logits z with
    d_hat = softmax(z / temperature); gap-deviation head f_gd(h) -> sigma_delta > 0.

    Objective (Eq. 27), per batch:
    ``mean_i [ L_as + alpha * L_gap + beta * KL(p(h|x) || N(0, I)) ]``.
    **alpha weights the gap term, beta the KL term** (the authors' code stores them as
    ``[beta, alpha]``).

    Parameters
    ----------
    n_labels : int
        c, the number of labels (at least 2).
    alpha : float, default=1.0
        Weight of the label-gap term L_gap (non-negative).
    beta : float, default=1.0
        Weight of the KL (label-irrelevance, bottleneck) term (non-negative).
    latent_dim, hidden_units, depth : int, default=256, 256, 3
        Every network is ``depth`` dense layers with ``hidden_units`` units (paper: 3, 256);
        h has ``latent_dim`` units.
    head_units : int or None, default=None
        Hidden width of the three networks that read h (decoder, label-distribution and
        gap-deviation heads); None means ``hidden_units``. At the paper's sizes these heads
        are two thirds of a step's multiply-adds on Yeast-sized inputs.
    activation : str, default="sigmoid"
        Activation between dense layers (the paper's sigmoid).
    temperature : float, default=1.0
        Read-out temperature T of ``softmax(z / T)``; 1 is the paper.
    assignment : {"squared", "cross_entropy"}, default="squared"
        The paper's ``1/2 ||mu_l - l||^2``, or softmax cross-entropy as in the authors' code.
    gap_on : {"logits", "probabilities"}, default="logits"
        The gap between l and the head's pre-softmax output (the authors' code), or between l
        and d_hat (the paper's letter; it collapses toward ``l / sum(l)``).
    reduction : {"mean", "sum"}, default="mean"
        ``"mean"`` averages each term over its dimensions (labels for the assignment and gap
        terms, latent units for the KL) so that alpha and beta mean the same for any c and
        latent size; ``"sum"`` is the paper's letter, under which the paper's beta (1 to 10)
        collapses the posterior onto the prior (benchmarks/LIB.md).
    pretrain_epochs : int, default=0
        Epochs of the two-stage schedule's first stage (encoder and decoder only, at
        ``pretrain_learning_rate``); 0 trains everything jointly from the start.
    pretrain_learning_rate : float, default=5e-3
        The first stage's learning rate.
    min_gap_deviation : float, default=1e-2
        Floor of sigma_delta; without one the ``log sigma^2`` term is unbounded below once
        the head fits l.
    readout_samples : int, default=0
        0 reads out from the posterior mean (deterministic); K > 0 averages the
        distributions of K posterior samples (Monte-Carlo).
    network_dtype : {"float32", "mixed_bfloat16"}, default="float32"
        ``"mixed_bfloat16"`` runs the dense layers in bfloat16 (weights and every loss term
        stay float32); faster where the CPU has native bfloat16 (AVX512_BF16, AMX) and on
        recent GPUs.
    seed : int or None, default=None
        Seeds weight initialisation and the posterior samples.

    Notes
    -----
    ``fit`` on a compiled model is Keras' own; on a model not compiled yet it trains through
    :func:`lib_tf.model.training.train`, the package's one training path (see :meth:`fit`).
    """

    #: Whether the posterior and the read-out take each instance's logical labels too (what an
    #: export's signatures then ask for); the paper's model reads the features only.
    reads_labels = False

    def __init__(
        self,
        n_labels: int,
        alpha: float = 1.0,
        beta: float = 1.0,
        latent_dim: int = 256,
        hidden_units: int = 256,
        depth: int = 3,
        head_units=None,
        activation: str = "sigmoid",
        temperature: float = 1.0,
        assignment: str = "squared",
        gap_on: str = "logits",
        reduction: str = "mean",
        pretrain_epochs: int = 0,
        pretrain_learning_rate: float = 5e-3,
        min_gap_deviation: float = 1e-2,
        readout_samples: int = 0,
        network_dtype: str = "float32",
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if int(n_labels) < 2:
            raise ValueError(f"n_labels must be at least 2, got {n_labels}")
        if assignment not in ASSIGNMENTS:
            raise ValueError(f"assignment must be one of {ASSIGNMENTS}, got {assignment!r}")
        if reduction not in REDUCTIONS:
            raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")
        if gap_on not in GAP_TARGETS:
            raise ValueError(f"gap_on must be one of {GAP_TARGETS}, got {gap_on!r}")
        for name, value in (("alpha", alpha), ("beta", beta), ("temperature", temperature)):
            if not (isinstance(value, (int, float)) and value >= 0 and math.isfinite(value)):
                raise ValueError(f"{name} must be a finite non-negative number, got {value!r}")
        if not temperature > 0:
            raise ValueError(f"temperature must be positive, got {temperature}")
        if head_units is None:
            head_units = hidden_units
        if depth < 1 or latent_dim < 1 or hidden_units < 1 or head_units < 1:
            raise ValueError("depth, latent_dim, hidden_units and head_units must be positive")
        self.n_labels = int(n_labels)
        self.alpha, self.beta = float(alpha), float(beta)
        self.latent_dim, self.hidden_units, self.depth = int(latent_dim), int(hidden_units), int(depth)
        self.head_units = int(head_units)
        self.activation = activation
        self.temperature = float(temperature)
        self.assignment, self.gap_on, self.reduction = assignment, gap_on, reduction
        self.pretrain_epochs = int(pretrain_epochs)
        self.pretrain_learning_rate = float(pretrain_learning_rate)
        self.min_gap_deviation = float(min_gap_deviation)
        self.readout_samples = int(readout_samples)
        if network_dtype not in NETWORK_DTYPES:
            raise ValueError(f"network_dtype must be one of {NETWORK_DTYPES}, got {network_dtype!r}")
        self.network_dtype = network_dtype
        self.seed = seed

        initializer_seed = None if seed is None else int(seed)
        self.normalizer = Standardize(name="standardize")
        self.encoder = _mlp(hidden_units, depth, 2 * latent_dim, activation, "encoder", network_dtype)
        self.decoder = _mlp(head_units, depth, n_labels, activation, "decoder", network_dtype)
        self.distribution_head = _mlp(head_units, depth, n_labels, activation, "distribution_head", network_dtype)
        self.gap_head = _mlp(head_units, depth, 1, activation, "gap_head", network_dtype)
        if initializer_seed is not None:
            for index, layer in enumerate(self._dense_layers()):
                layer.kernel_initializer = keras.initializers.GlorotUniform(seed=initializer_seed + index)
        self.sample_seed = keras.random.SeedGenerator(seed)
        # 1.0 once the joint stage runs: in the first stage the gap term is switched off,
        # so the two heads receive no gradient.
        self.joint_stage = self.add_weight(
            shape=(), initializer=keras.initializers.Constant(0.0 if pretrain_epochs > 0 else 1.0),
            trainable=False, name="joint_stage",
        )
        # Saved with the weights, so a reloaded model is not re-standardised on new data.
        self.standardization_adapted = self.add_weight(shape=(), initializer="zeros", trainable=False, name="standardization_adapted")
        self.trackers = {name: keras.metrics.Mean(name=name) for name in ("loss", "assignment", "gap", "kl")}
        self._posterior_mean_graph = None  # built on the first read-out (see _at_posterior_mean)

    def _dense_layers(self):
        for network in (self.encoder, self.decoder, self.distribution_head, self.gap_head):
            yield from network.layers

    @property
    def metrics(self):
        return list(self.trackers.values())

    def inputs_from(self, features, logical_labels):
        """What the model reads of a batch of instances (arrays or tensors): their raw features
        (n, d); a model that reads the logical labels (n, c) too takes both."""
        return features

    def _feature_shape(self, input_shape) -> tuple:
        """The shape of the raw features among what the model reads (here: all of it)."""
        return tuple(input_shape)

    def _encoder_width(self, n_features: int) -> int:
        """Width of what the encoder reads: the standardised features."""
        return n_features

    def build(self, input_shape):
        feature_shape = self._feature_shape(input_shape)
        encoder_shape = feature_shape[:-1] + (self._encoder_width(feature_shape[-1]),)
        latent_shape = feature_shape[:-1] + (self.latent_dim,)
        for layer, shape in ((self.normalizer, feature_shape), (self.encoder, encoder_shape), (self.decoder, latent_shape),
                             (self.distribution_head, latent_shape), (self.gap_head, latent_shape)):
            if not layer.built:
                layer.build(shape)
        self.built = True

    # -- the model's pieces -------------------------------------------------------------
    def posterior(self, x):
        """p(h|x) for raw features x (n, d), a TFP MultivariateNormalDiag over (n, latent_dim)."""
        mean, raw_scale = tf.split(tf.cast(self.encoder(self.normalizer(x)), tf.float32), 2, axis=-1)
        return losses.posterior(mean, tf.nn.softplus(raw_scale) + 1e-6)

    def sample_latent(self, posterior):
        """Reparameterised h = mu_h + sigma_h * eps, eps ~ N(0, I)."""
        noise = keras.random.normal(tf.shape(posterior.loc), seed=self.sample_seed)
        return posterior.loc + posterior.scale.diag * noise

    def gap_deviation(self, latent):
        """sigma_delta (n, 1) > min_gap_deviation from h (n, latent_dim)."""
        return tf.nn.softplus(tf.cast(self.gap_head(latent), tf.float32)) + self.min_gap_deviation

    def readout(self, logits, logical_labels=None):
        """The read-out d_hat = softmax(z / T).

        Parameters
        ----------
        logits : Tensor, shape (n, c)
            The label-distribution head's output z (any float dtype).
        logical_labels : Tensor, shape (n, c), optional
            Not read by the paper's read-out (:class:`LabelAwareLIB`'s reads them); taken so
            both models' read-outs are called alike.

        Returns
        -------
        float32 Tensor, shape (n, c)
            Rows sum to 1.
        """
        return tf_forms.softmax_with_temperature(logits, self.temperature)

    def distribution(self, latent):
        """d_hat = softmax(f_ld(h) / T), (n, c) float32, from h (n, latent_dim)."""
        return self.readout(self.distribution_head(latent))

    def serving_outputs(self, features):
        """What the exported model serves, at the posterior mean h = mu_h (deterministic,
        whatever ``readout_samples`` is; as ``LabelEnhancer.transform``).

        Parameters
        ----------
        features : float32 Tensor, shape (n, d)
            Raw features (the standardisation is the model's own).

        Returns
        -------
        dict
            ``{"label_distribution": float32 (n, c), "gap_deviation": float32 (n, 1)}``
            (the names of :data:`lib_tf.contract.OUTPUT_NAMES`).
        """
        return self._outputs_at_posterior_mean(features)

    def _outputs_at_posterior_mean(self, inputs, logical_labels=None):
        """:meth:`serving_outputs` for what :meth:`posterior` reads (and the read-out's labels)."""
        latent = self.posterior(inputs).loc
        return {LABEL_DISTRIBUTION: self.readout(self.distribution_head(latent), logical_labels),
                GAP_DEVIATION: self.gap_deviation(latent)}

    def call(self, x, training=False):
        posterior = self.posterior(x)
        if training:
            return self.distribution(self.sample_latent(posterior))
        if self.readout_samples > 0:
            samples = [self.distribution(self.sample_latent(posterior)) for _ in range(self.readout_samples)]
            return tf.add_n(samples) / float(self.readout_samples)
        return self.distribution(posterior.loc)

    # -- training -----------------------------------------------------------------------
    def loss_terms(self, x, logical_labels):
        """Per-batch means of the assignment, gap and KL terms and the weighted total."""
        logical_labels = tf.cast(logical_labels, tf.float32)
        posterior = self.posterior(x)
        latent = self.sample_latent(posterior)
        label_output = tf.cast(self.decoder(latent), tf.float32)
        if self.assignment == "squared":
            assignment = losses.squared_assignment(logical_labels, label_output, self.reduction)
        else:
            assignment = losses.cross_entropy_assignment(logical_labels, label_output, self.reduction)
        logits = tf.cast(self.distribution_head(latent), tf.float32)
        estimate = logits if self.gap_on == "logits" else tf.nn.softmax(logits / self.temperature, axis=-1)
        gap = losses.gap_term(logical_labels, estimate, self.gap_deviation(latent), self.reduction)
        kl = losses.kl_to_standard_normal(posterior, self.reduction)
        terms = {"assignment": tf.reduce_mean(assignment), "gap": tf.reduce_mean(gap), "kl": tf.reduce_mean(kl)}
        terms["loss"] = terms["assignment"] + self.joint_stage * self.alpha * terms["gap"] + self.beta * terms["kl"]
        return terms

    def _track(self, terms):
        for name, value in terms.items():
            self.trackers[name].update_state(value)
        return {name: tracker.result() for name, tracker in self.trackers.items()}

    def train_step(self, data):
        x, logical_labels, _ = keras.utils.unpack_x_y_sample_weight(data)
        with tf.GradientTape() as tape:
            terms = self.loss_terms(x, logical_labels)
            # Under a tf.distribute strategy the optimizer sums the replicas' gradients: each
            # replica's loss is its share of the batch mean (as Keras' compute_loss scales it).
            replica_loss = terms["loss"] / tf.distribute.get_strategy().num_replicas_in_sync
        gradients = tape.gradient(replica_loss, self.trainable_weights)
        self.optimizer.apply_gradients(zip(gradients, self.trainable_weights))
        return self._track(terms)

    def test_step(self, data):
        x, logical_labels, _ = keras.utils.unpack_x_y_sample_weight(data)
        return self._track(self.loss_terms(x, logical_labels))

    def adapt(self, x):
        """Fit the built-in feature standardisation on training features (array or tf.data)."""
        self.normalizer.adapt(x)
        if not self.built:
            self.build((None, int(self.normalizer.mean.shape[0])))
        self.standardization_adapted.assign(1.0)

    @property
    def standardization_is_adapted(self) -> bool:
        """Whether the built-in standardisation has been fitted (saved with the weights)."""
        return float(self.standardization_adapted.numpy()) != 0.0

    def fit(self, x=None, y=None, batch_size=None, epochs=1, callbacks=None, verbose="auto", **kwargs):
        """Train; which way depends on whether the model is compiled, never on the arguments.

        - Compiled (``model.compile(...)``): ``keras.Model.fit``, every argument Keras'.
        - Not compiled: the package's one training path, :func:`lib_tf.model.training.train`
          (Adam at 1e-3 as :class:`~lib_tf.model.optimizer.FusedAdam`; in-memory ``x`` and ``y``
          as one endless stream reshuffled every epoch, seeded by the model's ``seed``; up to
          ``STEPS_PER_CALL`` steps per graph call). It takes ``x``, ``y``, ``batch_size``
          (default 128), ``epochs``, ``callbacks``, ``verbose``, ``shuffle=True`` and, for a
          repeating dataset ``x``, ``steps_per_epoch``; any other argument is refused (a
          TypeError naming it): compile the model to fit with it.

        Either way the standardisation is adapted on ``x`` before the first fit, and the stop on
        divergence and, with ``pretrain_epochs > 0``, the two-stage schedule run before
        ``callbacks`` (:func:`~lib_tf.model.training.fit_callbacks`)."""
        if not self.compiled:
            refused = sorted(name for name, value in kwargs.items()
                             if name != "steps_per_epoch" and not (name == "shuffle" and value is True))
            if refused:
                raise TypeError(f"LIB.fit on a model not compiled yet trains through lib_tf.model.training.train, "
                                f"which does not take {refused}; compile the model first to fit with Keras' fit")
            return training.train(self, x, y, epochs=epochs, batch_size=batch_size or 128, seed=self.seed,
                                  steps_per_epoch=kwargs.get("steps_per_epoch"), several_epochs_per_call=False,
                                  callbacks=list(callbacks or []), verbose=1 if verbose == "auto" else verbose)
        if not self.standardization_is_adapted:
            self.adapt(x if not isinstance(x, tf.data.Dataset) else x.map(lambda *t: t[0]))
        callbacks = [*training.fit_callbacks(self, epochs), *(callbacks or [])]
        return super().fit(x, y, batch_size=batch_size, epochs=epochs, callbacks=callbacks, verbose=verbose, **kwargs)

    def _readout_inputs(self, x):
        """What the posterior reads, as float32 arrays with their widths: [(features (n, d), d)]."""
        return [(np.asarray(x, dtype=np.float32), int(self.normalizer.mean.shape[0]))]

    def _at_posterior_mean(self, x, batch_size):
        """(logits (n, c), sigma_delta (n, 1)) at the posterior mean, through one graph traced
        once per model for any batch size (its input signature is fixed), so repeated
        read-outs never retrace; the temperature is applied outside it."""
        inputs = self._readout_inputs(x)
        if self._posterior_mean_graph is None:
            def readout(*arrays):
                latent = self.posterior(arrays[0] if len(arrays) == 1 else arrays).loc
                return tf.cast(self.distribution_head(latent), tf.float32), self.gap_deviation(latent)

            self._posterior_mean_graph = tf.function(
                readout, input_signature=[tf.TensorSpec([None, width], tf.float32) for _, width in inputs])
        n = inputs[0][0].shape[0]
        parts = [self._posterior_mean_graph(*(tf.constant(array[i:i + batch_size]) for array, _ in inputs))
                 for i in range(0, n, batch_size)]
        return np.concatenate([p[0].numpy() for p in parts]), np.concatenate([p[1].numpy() for p in parts])

    def predict_gap_deviation(self, x, batch_size=4096):
        """sigma_delta at the posterior mean, (n,): the per-instance uncertainty LIB learns."""
        return self._at_posterior_mean(x, batch_size)[1][:, 0]

    def predict_logits(self, x, batch_size=4096):
        """The label-distribution head's logits z at the posterior mean, (n, c)."""
        return self._at_posterior_mean(x, batch_size)[0]

    def predict_logits_without_own_labels(self, x, logical_labels, batch_size=4096):
        """Logits (n, c) in which no label's logit was made with that label's value: LIB never
        reads the labels, so its logits at the posterior mean (``logical_labels`` (n, c) unread).
        What the binarisation posterior is fitted on (:mod:`lib_tf.readout.posterior`)."""
        return self.predict_logits(x, batch_size)

    def set_temperature(self, temperature: float):
        """Change the read-out temperature T (no retraining: only the read-out changes)."""
        if not (isinstance(temperature, (int, float)) and math.isfinite(temperature) and temperature > 0):
            raise ValueError(f"temperature must be a positive finite number, got {temperature!r}")
        self.temperature = float(temperature)
        self.predict_function = None  # the old graph has the old T baked in
        return self

    def get_config(self):
        config = super().get_config()
        config.update(
            n_labels=self.n_labels, alpha=self.alpha, beta=self.beta, latent_dim=self.latent_dim,
            hidden_units=self.hidden_units, depth=self.depth, head_units=self.head_units,
            activation=self.activation, temperature=self.temperature, assignment=self.assignment, gap_on=self.gap_on, reduction=self.reduction,
            pretrain_epochs=self.pretrain_epochs, pretrain_learning_rate=self.pretrain_learning_rate,
            min_gap_deviation=self.min_gap_deviation, readout_samples=self.readout_samples,
            network_dtype=self.network_dtype, seed=self.seed,
        )
        return config

