"""BatchedLIB: K settings of LIB (or LabelAwareLIB) trained side by side as one Keras model.

At LA-LIB's sizes and batch 128 a training step is mostly fixed cost (op dispatch, the
optimiser's per-variable updates, Keras' loop), not arithmetic: a grid of settings fitted one
by one pays that cost once per setting. Here every dense layer holds the K members' weights
stacked along a leading axis, ``(K, in, out)``, and runs as one einsum, so a step of K members
costs one step's fixed cost plus K times the arithmetic. Each member keeps its own alpha, beta,
label dropout, seed (initial weights, posterior noise, dropout masks, minibatch order) and
read-out; the loss is the sum of the members' losses, so each member's gradient, and with Adam
(element-wise) its update, is the one its own fit would compute.
"""
from __future__ import annotations

import math

import keras
import numpy as np
import tensorflow as tf

from ..contract import FEATURES, LOGICAL_LABELS
from . import losses
from .factory import MODEL_CLASSES
from .label_aware import unpack_inputs
from .standardize import MemberStandardize

#: Member settings that may differ within one graph: loss weights, seeds and read-out. Every
#: other model argument (sizes, activation, the loss terms' forms, the schedule) is shared.
PER_MEMBER = ("alpha", "beta", "label_dropout", "min_gap_deviation", "seed", "temperature", "label_temperature",
              "rule_projection", "readout_samples")

#: What every member shares (the single models' attributes of those names must be equal).
SHARED = ("latent_dim", "hidden_units", "head_units", "depth", "activation", "assignment", "gap_on", "reduction",
          "pretrain_epochs", "pretrain_learning_rate", "network_dtype")


def _member_class(label_aware: bool):
    return MODEL_CLASSES["label-aware" if label_aware else "paper"]


class _Untracked:
    """Holds a value out of Keras' attribute tracking (the members' unbuilt single models,
    whose variables are not the batched model's)."""

    def __init__(self, value):
        self.value = value


@keras.saving.register_keras_serializable(package="lib_tf")
class StackedDense(keras.layers.Layer):
    """K dense layers side by side as one batched matmul, the einsum ``kni,kio->kno``:
    ``(K, n, in)`` -> ``(K, n, units)``; an input ``(n, in)`` shared by all members gives the
    same. Member k's kernel starts as ``GlorotUniform(seed=kernel_seeds[k])`` draws for
    ``(in, units)``, the values a ``keras.layers.Dense`` with that seeded initializer gets;
    biases ``(K, 1, units)`` start at 0.

    Written as ``tf.matmul`` (BatchMatMulV2), not ``tf.einsum``: the Einsum kernel transposes
    operands for the backward pass's equations, where BatchMatMulV2's gradient only flips its
    adjoint flags (measured, forward and backward of one layer at batch 128 on 2 cores: 1.1 ms
    against 1.4-1.8 ms at K = 1, 1.2 against 1.4 ms at K = 16 and 64 x 64)."""

    def __init__(self, units: int, kernel_seeds, activation=None, **kwargs):
        super().__init__(**kwargs)
        self.units = int(units)
        self.kernel_seeds = [int(seed) for seed in kernel_seeds]
        self.activation = keras.activations.get(activation)

    def build(self, input_shape):
        shape = (len(self.kernel_seeds), int(input_shape[-1]), self.units)
        self.kernel = self.add_weight(shape=shape, initializer=self._member_glorot, name="kernel")
        self.bias = self.add_weight(shape=(shape[0], 1, self.units), initializer="zeros", name="bias")
        self.built = True

    def _member_glorot(self, shape, dtype=None):
        return tf.stack([keras.initializers.GlorotUniform(seed=seed)(shape[1:], dtype=dtype)
                         for seed in self.kernel_seeds])

    def call(self, inputs):
        return self.activation(tf.matmul(inputs, self.kernel) + self.bias)  # (n, in) broadcasts over K

    def get_config(self):
        return {**super().get_config(), "units": self.units, "kernel_seeds": self.kernel_seeds,
                "activation": keras.activations.serialize(self.activation)}


@keras.saving.register_keras_serializable(package="lib_tf")
class MemberMean(keras.metrics.Metric):
    """Mean over steps of one value per member: a tracker for a loss term of K members, (K,)."""

    def __init__(self, members: int, name: str, **kwargs):
        super().__init__(name=name, **kwargs)
        self.members = int(members)
        self.total = self.add_variable(shape=(self.members,), initializer="zeros", name="total")
        self.count = self.add_variable(shape=(), initializer="zeros", name="count")

    def update_state(self, values):
        self.total.assign_add(tf.cast(values, self.total.dtype))
        self.count.assign_add(1.0)

    def result(self):
        return self.total / tf.maximum(self.count, 1.0)

    def reset_state(self):
        self.total.assign(tf.zeros_like(self.total))
        self.count.assign(0.0)

    def get_config(self):
        return {**super().get_config(), "members": self.members}


@keras.saving.register_keras_serializable(package="lib_tf")
class BatchedLIB(keras.Model):
    """K members, each a :class:`~lib_tf.model.LIB` (or with ``label_aware``, a
    :class:`~lib_tf.model.LabelAwareLIB`) of its own settings, trained as one model.

    Parameters
    ----------
    n_labels : int
        c, the number of labels.
    members : list of dict
        Each member's constructor arguments of the single model (``LIB(n_labels, **member)``),
        checked by building that model; ``seed`` must be an integer. Members may differ only in
        :data:`PER_MEMBER` (alpha weights the gap term, beta the KL term, as in LIB).
    label_aware : bool, default=False
        Members are LabelAwareLIB: inputs ``{"features": ..., "logical_labels": ...}``.
    xla_update : bool, default=False
        Each training step's update (loss, gradients, Adam) is compiled with XLA, which fuses
        the members' element-wise work around the batched matmuls; the random draws stay
        outside it, so members still draw what their single fits draw. It pays from a few
        members and enough steps to repay its compilation (:func:`~lib_tf.model.batched_fit.fit_members`
        decides; ``benchmarks/BATCHED.md``).

    Notes
    -----
    Training inputs carry each member's own batch: features ``(K, b, d)`` and logical labels
    ``(K, b, c)`` (:func:`lib_tf.model.batched_fit.fit_members` streams them); read-outs take
    one ``(n, d)`` (and ``(n, c)``) shared by all members. The posterior is a TFP
    MultivariateNormalDiag of batch shape ``(K, n)`` and event ``latent_dim``. Member k's
    noise and label-dropout masks are the draws of its own ``keras.random.SeedGenerator(seed_k)``
    (``seed_state`` holds the K generators' states), in the order its single model draws them, and its kernels start from
    ``GlorotUniform(seed_k + layer index)`` as LIB's do: from equal weights and batches, the
    member computes what its single model computes.
    """

    def __init__(self, n_labels: int, members, label_aware: bool = False, xla_update: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.xla_update = bool(xla_update)
        self._xla_update = _Untracked(tf.function(self._update, jit_compile=True))
        if not members:
            raise ValueError("members must name at least one member's settings")
        self.n_labels, self.label_aware = int(n_labels), bool(label_aware)
        self.members = [dict(member) for member in members]
        for index, member in enumerate(self.members):
            if not isinstance(member.get("seed"), (int, np.integer)):
                raise ValueError(f"members[{index}] needs an integer seed, got {member.get('seed')!r}")
        cls = _member_class(self.label_aware)
        self._templates = _Untracked(tuple(cls(self.n_labels, **member) for member in self.members))  # checks each
        for name in SHARED:
            values = [getattr(self.member_template(k), name) for k in range(self.size)]
            for index, value in enumerate(values):
                if value != values[0]:
                    raise ValueError(f"members must agree on {name!r} to train in one graph: members[0] has "
                                     f"{values[0]!r}, members[{index}] has {value!r}; fit groups that differ in it "
                                     "separately (lib_tf.model.batched_fit.graph_key)")
            setattr(self, name, values[0])
        if self.network_dtype != "float32":
            raise ValueError(f"network_dtype={self.network_dtype!r} is not supported in batched fits (float32 only)")
        self._per_member = {name: [getattr(self.member_template(k), name) for k in range(self.size)]
                            for name in ("alpha", "beta", "min_gap_deviation", "temperature")}
        self._per_member["label_dropout"] = [getattr(self.member_template(k), "label_dropout", 0.0)
                                             for k in range(self.size)]
        seeds = [int(member["seed"]) for member in self.members]
        self.normalizer = MemberStandardize(self.size, name="standardize")
        self.encoder = self._mlp(self.hidden_units, 2 * self.latent_dim, "encoder", seeds, 0)
        self.decoder = self._mlp(self.head_units, self.n_labels, "decoder", seeds, self.depth)
        self.distribution_head = self._mlp(self.head_units, self.n_labels, "distribution_head", seeds, 2 * self.depth)
        self.gap_head = self._mlp(self.head_units, 1, "gap_head", seeds, 3 * self.depth)
        # Row k is member k's keras.random.SeedGenerator(seed_k) state [seed, draws so far],
        # advanced as its single model advances it: a step draws a dropout mask (members with
        # label dropout) and then the posterior noise.
        self._member_steps = None  # set_member_steps: every member trains as long as the fit
        self._first_with_same_stream = self._same_streams()
        self.seed_state = self.add_weight(shape=(self.size, 2), dtype="int64", trainable=False, name="seed_state",
                                          initializer=keras.initializers.Constant([[seed, 0] for seed in seeds]))
        self.joint_stage = self.add_weight(
            shape=(), initializer=keras.initializers.Constant(0.0 if self.pretrain_epochs > 0 else 1.0),
            trainable=False, name="joint_stage")
        self.standardization_adapted = self.add_weight(shape=(), initializer="zeros", trainable=False,
                                                       name="standardization_adapted")
        # 1.0 for a member whose loss turned NaN or infinite: it trains on alone, harmlessly.
        self.diverged = self.add_weight(shape=(self.size,), initializer="zeros", trainable=False, name="diverged")
        self.trackers = {"loss": keras.metrics.Mean(name="loss"),
                         **{name: MemberMean(self.size, name) for name in ("member_loss", "assignment", "gap", "kl")}}
        self._posterior_mean_graph = None

    def _same_streams(self) -> list:
        """For each member, the first member whose seed state always equals its own (same seed,
        label dropout or not, and steps): their draws are drawn once."""
        steps = self._member_steps or [None] * self.size
        streams = [(int(member["seed"]), rate > 0, end)
                   for member, rate, end in zip(self.members, self._per_member["label_dropout"], steps)]
        return [streams.index(stream) for stream in streams]

    @property
    def size(self) -> int:
        """K, the number of members."""
        return len(self.members)

    def _mlp(self, hidden_units, outputs, name, seeds, first_index):
        """The networks' layers as LIB's ``_mlp`` makes them; layer i of all LIB's dense layers
        (encoder, decoder, heads in turn) starts from seed + i, as LIB seeds it."""
        widths = [hidden_units] * (self.depth - 1) + [outputs]
        names = [f"{name}_hidden{i}" for i in range(self.depth - 1)] + [f"{name}_out"]
        return [StackedDense(width, [seed + first_index + i for seed in seeds],
                             activation=self.activation if i < self.depth - 1 else None, name=layer_name)
                for i, (width, layer_name) in enumerate(zip(widths, names))]

    def _dense_layers(self):
        """Every StackedDense, in the order of LIB's ``_dense_layers``."""
        for network in (self.encoder, self.decoder, self.distribution_head, self.gap_head):
            yield from network

    @property
    def metrics(self):
        return list(self.trackers.values())

    def member_template(self, k: int):
        """Member k's single model, unbuilt (its settings and read-out, no weights)."""
        return self._templates.value[k]

    def _per_member_constant(self, name, rank):
        """The members' ``name`` as a float32 tensor (K, 1, ...) of ``rank`` dimensions."""
        return tf.reshape(tf.constant(self._per_member[name], tf.float32), [self.size] + [1] * (rank - 1))

    def build(self, input_shape):
        width = int(input_shape[-1])
        encoder_width = width + (self.n_labels if self.label_aware else 0)
        shapes = [(self.encoder, encoder_width)] + [(network, self.latent_dim) for network in
                                                    (self.decoder, self.distribution_head, self.gap_head)]
        if not self.normalizer.built:
            self.normalizer.build((None, width))
        for network, network_width in shapes:
            for layer in network:
                if not layer.built:
                    layer.build((None, None, network_width))
                network_width = layer.units
        self.built = True

    def adapt(self, features, rows=None):
        """Fit each member's standardisation on its training features, ``features[rows[k]]``
        (``rows`` None: all of ``features`` (n, d) for every member), and build the model."""
        self.normalizer.adapt(features, rows)
        if not self.built:
            self.build((None, self.feature_width))
        self.standardization_adapted.assign(1.0)

    @property
    def feature_width(self) -> int:
        """d, the number of raw features (once adapted or built)."""
        return int(self.normalizer.mean.shape[-1])

    @property
    def standardization_is_adapted(self) -> bool:
        """Whether the members' standardisation has been fitted."""
        return float(self.standardization_adapted.numpy()) != 0.0

    def set_member_steps(self, steps):
        """Member k trains for ``steps[k]`` optimiser steps, then keeps its weights and seed
        state while the others train on (members with their own rows and epochs); None: every
        member trains as long as the fit."""
        if steps is not None and len(steps) != self.size:
            raise ValueError(f"steps names {len(steps)} members' steps; the model has {self.size} members")
        self._member_steps = None if steps is None else [int(step) for step in steps]
        self._first_with_same_stream = self._same_streams()
        self.train_function = None  # the step is traced again with the members' ends

    # -- the members' pieces, all with a leading K axis ----------------------------------
    @staticmethod
    def _run(network, inputs):
        for layer in network:
            inputs = layer(inputs)
        return inputs

    def _encoder_input(self, inputs):
        """(K, n, d) standardised features (and the labels beside them, broadcast to every
        member when shared (n, c))."""
        if not self.label_aware:
            return self.normalizer(tf.cast(inputs, tf.float32))
        features, logical_labels = unpack_inputs(inputs)
        features = self.normalizer(tf.cast(features, tf.float32))
        labels = tf.broadcast_to(tf.cast(logical_labels, tf.float32),
                                 tf.concat([tf.shape(features)[:-1], [self.n_labels]], 0))
        return tf.concat([features, labels], -1)

    def posterior(self, inputs):
        """The members' p(h|x) (or p(h|x, l)): MultivariateNormalDiag, batch (K, n), event latent_dim."""
        mean, raw_scale = tf.split(self._run(self.encoder, self._encoder_input(inputs)), 2, axis=-1)
        return losses.posterior(mean, tf.nn.softplus(raw_scale) + 1e-6)

    def _step_seeds(self, training):
        """This step's stateless seeds, int32 (K, 2): (dropout masks, posterior noise); each
        member's as ``keras.random.uniform/normal(seed=its SeedGenerator)`` computes them. A
        member past its steps (``training``, :meth:`_training_members`) keeps its state, as it
        keeps its weights."""
        dropout = tf.constant([[0, 1 if rate > 0 else 0] for rate in self._per_member["label_dropout"]], tf.int64)
        state = tf.identity(self.seed_state)
        advance = dropout + tf.constant([0, 1], tf.int64)
        if training is not None:
            advance *= tf.cast(training, tf.int64)[:, None]
        self.seed_state.assign_add(advance)

        def as_int32(seeds):  # Keras' cast of a SeedGenerator state for tf.random.stateless_*
            return tf.cast(tf.math.floormod(seeds, tf.int32.max - 1), tf.int32)

        return as_int32(state), as_int32(state + dropout)

    def _member_draws(self, draw, shape, seeds, members=None):
        """``draw(shape, seed=seeds[k])`` of each member k in ``members`` (default all), stacked;
        drawn once for members whose seed states always agree (same seed and dropout or not)."""
        members = list(range(self.size)) if members is None else members
        first = [self._first_with_same_stream[k] for k in members]
        distinct = sorted(set(first))
        draws = tf.stack([draw(shape, seed=seeds[k]) for k in distinct])
        return draws if len(distinct) == len(members) else tf.gather(draws, [distinct.index(k) for k in first])

    def step_draws(self, batch_rows, training=None):
        """This step's random draws of every member, as its single model draws them, advancing
        ``seed_state``: ``(noise, shown)``, the posterior noise (K, b, latent_dim) and, for
        label-aware members with label dropout, the mask of the labels left shown (K, b, c;
        None where no member drops labels). ``batch_rows``: b; ``training``: the members still
        within their steps (:meth:`_training_members`), None: all."""
        dropout_seeds, noise_seeds = self._step_seeds(training)
        shown = self._shown_labels(batch_rows, dropout_seeds) if self.label_aware else None
        noise = self._member_draws(tf.random.stateless_normal, [batch_rows, self.latent_dim], noise_seeds)
        return noise, shown

    def _shown_labels(self, batch_rows, seeds):
        """(K, b, c) 1.0 where a member shows a label to its encoder, 0.0 where its
        ``label_dropout`` hides it, the mask drawn from stateless seed ``seeds[k]`` (a member with
        dropout 0 draws nothing, as its single model); None when no member drops labels."""
        rates = self._per_member["label_dropout"]
        dropping = [k for k, rate in enumerate(rates) if rate > 0]
        if not dropping:
            return None
        uniform = self._member_draws(tf.random.stateless_uniform, [batch_rows, self.n_labels], seeds, dropping)
        shown = tf.cast(uniform >= tf.reshape(tf.constant([rates[k] for k in dropping], tf.float32), [-1, 1, 1]),
                        tf.float32)
        if len(dropping) < self.size:
            shown = tf.tensor_scatter_nd_update(tf.ones([self.size, batch_rows, self.n_labels]),
                                                [[k] for k in dropping], shown)
        return shown

    def gap_deviation(self, latent):
        """sigma_delta (K, n, 1) > each member's min_gap_deviation."""
        return tf.nn.softplus(self._run(self.gap_head, latent)) + self._per_member_constant("min_gap_deviation", 3)

    def loss_terms(self, inputs, logical_labels, row_weights, draws):
        """Each member's batch means of the assignment, gap and KL terms and its weighted total
        ``assignment + alpha * gap + beta * KL``: a dict of (K,) tensors. ``inputs``: features
        (K, b, d) (and logical labels (K, b, c)); ``logical_labels`` (K, b, c); ``row_weights``
        (K, b): 1 for a member's rows, 0 for padding (None: every row is the member's);
        ``draws``: this step's :meth:`step_draws`."""
        logical_labels = tf.cast(logical_labels, tf.float32)
        noise, shown = draws
        if self.label_aware:
            features, encoder_labels = unpack_inputs(inputs)
            encoder_labels = tf.cast(encoder_labels, tf.float32)
            inputs = {FEATURES: features, LOGICAL_LABELS: encoder_labels if shown is None else encoder_labels * shown}
        posterior = self.posterior(inputs)
        latent = posterior.loc + posterior.scale.diag * noise  # h = mu_h + sigma_h * eps
        label_output = self._run(self.decoder, latent)
        if self.assignment == "squared":
            assignment = losses.squared_assignment(logical_labels, label_output, self.reduction)
        else:
            assignment = losses.cross_entropy_assignment(logical_labels, label_output, self.reduction)
        logits = self._run(self.distribution_head, latent)
        estimate = logits if self.gap_on == "logits" else tf.nn.softmax(
            logits / self._per_member_constant("temperature", 3), axis=-1)
        gap = losses.gap_term(logical_labels, estimate, self.gap_deviation(latent), self.reduction)
        kl = losses.kl_to_standard_normal(posterior, self.reduction)
        if row_weights is None:
            def batch_mean(values):
                return tf.reduce_mean(values, axis=1)
        else:
            row_weights = tf.cast(row_weights, tf.float32)

            def batch_mean(values):  # over a member's own rows: the mean its single fit takes
                return tf.reduce_sum(values * row_weights, axis=1) / tf.reduce_sum(row_weights, axis=1)
        terms = {"assignment": batch_mean(assignment), "gap": batch_mean(gap), "kl": batch_mean(kl)}
        terms["member_loss"] = (terms["assignment"] + self.joint_stage * self._per_member_constant("alpha", 1) * terms["gap"]
                                + self._per_member_constant("beta", 1) * terms["kl"])
        return terms

    def _training_members(self):
        """(K,) bool: the members still within their steps (:meth:`set_member_steps`), or None
        when every member trains to the end of the fit."""
        if self._member_steps is None or len(set(self._member_steps)) == 1:
            return None
        return self.optimizer.iterations < tf.constant(self._member_steps, self.optimizer.iterations.dtype)

    def train_step(self, data):
        inputs, logical_labels, row_weights = keras.utils.unpack_x_y_sample_weight(data)
        # Drawn outside the XLA-compiled update, in the loop Keras compiles as it compiles a
        # single fit's (plain TensorFlow on a CPU): XLA's random kernels give other bits, and
        # each member must draw what its single fit draws.
        training = self._training_members()
        draws = self.step_draws(tf.shape(logical_labels)[1], training)
        update = self._xla_update.value if self.xla_update else self._update
        return update(inputs, logical_labels, row_weights, draws, training)

    def _update(self, inputs, logical_labels, row_weights, draws, training):
        """One optimiser step of every member from this step's ``draws`` and ``training`` members."""
        if training is not None:  # a finished member's weights, to keep (its seed state stays put: _step_seeds)
            kept = [tf.identity(weight) for weight in self.trainable_weights]
        with tf.GradientTape() as tape:
            terms = self.loss_terms(inputs, logical_labels, row_weights, draws)
            finite = tf.math.is_finite(terms["member_loss"])
            counted = finite if training is None else tf.logical_and(finite, training)
            # The members' sum: member k's gradient is its own loss's. A diverged member adds
            # nothing, so the others train on (its NaNs stay in its own slices of the weights).
            objective = tf.reduce_sum(tf.where(counted, terms["member_loss"], 0.0))
        gradients = tape.gradient(objective, self.trainable_weights)
        self.optimizer.apply_gradients(zip(gradients, self.trainable_weights))
        if training is not None:  # Adam moves a member with a zero gradient too: put it back
            for weight, before in zip(self.trainable_weights, kept):
                weight.assign(tf.where(tf.reshape(training, [-1] + [1] * (len(weight.shape) - 1)), weight, before))
            finite = tf.logical_or(finite, tf.logical_not(training))
        self.diverged.assign(tf.maximum(self.diverged, 1.0 - tf.cast(finite, tf.float32)))
        # NaN only when every member diverged: what the training path's divergence check stops on.
        terms["loss"] = tf.where(tf.reduce_any(counted), objective, math.nan)
        for name, value in terms.items():
            self.trackers[name].update_state(value)
        return {name: tracker.result() for name, tracker in self.trackers.items()}

    # -- read-out ------------------------------------------------------------------------
    def _readout_inputs(self, inputs):
        """[(features (n, d), d)] (and the logical labels (n, c), c), float32."""
        if not self.label_aware:
            return [(np.asarray(inputs, np.float32), self.feature_width)]
        features, logical_labels = unpack_inputs(inputs)
        return [(np.asarray(features, np.float32), self.feature_width),
                (np.asarray(logical_labels, np.float32), self.n_labels)]

    def _at_posterior_mean(self, inputs, batch_size):
        """(logits (K, n, c), sigma_delta (K, n, 1)) at each member's posterior mean, for inputs
        shared by all members, through one graph traced once."""
        arrays = self._readout_inputs(inputs)
        if self._posterior_mean_graph is None:
            def readout(*parts):
                latent = self.posterior(parts[0] if len(parts) == 1 else dict(zip((FEATURES, LOGICAL_LABELS), parts))).loc
                return self._run(self.distribution_head, latent), self.gap_deviation(latent)

            self._posterior_mean_graph = tf.function(
                readout, input_signature=[tf.TensorSpec([None, width], tf.float32) for _, width in arrays])
        n = arrays[0][0].shape[0]
        parts = [self._posterior_mean_graph(*(tf.constant(array[i:i + batch_size]) for array, _ in arrays))
                 for i in range(0, n, batch_size)]
        return (np.concatenate([p[0].numpy() for p in parts], axis=1),
                np.concatenate([p[1].numpy() for p in parts], axis=1))

    def predict_logits(self, inputs, batch_size=4096) -> np.ndarray:
        """Each member's label-distribution logits z at its posterior mean, (K, n, c)."""
        return self._at_posterior_mean(inputs, batch_size)[0]

    def predict_gap_deviation(self, inputs, batch_size=4096) -> np.ndarray:
        """Each member's sigma_delta at its posterior mean, (K, n)."""
        return self._at_posterior_mean(inputs, batch_size)[1][..., 0]

    def predict_distributions(self, inputs, batch_size=4096) -> np.ndarray:
        """Each member's label distributions (K, n, c), through its single model's read-out
        (its temperatures; for LabelAwareLIB the labels' term and rule projection)."""
        logits = self.predict_logits(inputs, batch_size)
        labels = unpack_inputs(inputs)[1] if self.label_aware else None
        labels = None if labels is None else tf.constant(np.asarray(labels, np.float32))
        return np.stack([self.member_template(k).readout(logits[k], labels).numpy() for k in range(self.size)])

    def member_model(self, k: int):
        """Member k as an ordinary, built :class:`LIB` (or :class:`LabelAwareLIB`) holding its
        weights, standardisation and seed state: it reads out, saves and exports as a single
        fit does. A member whose loss diverged is refused."""
        if not 0 <= k < self.size:
            raise IndexError(f"member {k} out of range: the model has {self.size} members")
        if self.diverged.numpy()[k]:
            from .training import TrainingDivergedError

            raise TrainingDivergedError(f"member {k} diverged in training (settings {self.members[k]})")
        single = _member_class(self.label_aware)(self.n_labels, **self.members[k])
        width = self.feature_width
        single.build({FEATURES: (None, width), LOGICAL_LABELS: (None, self.n_labels)} if self.label_aware else (None, width))
        single.normalizer.set_weights([self.normalizer.mean[k, 0], self.normalizer.std[k, 0]])
        for single_layer, stacked in zip(single._dense_layers(), self._dense_layers()):
            single_layer.kernel.assign(stacked.kernel[k])
            single_layer.bias.assign(stacked.bias[k, 0])
        single.sample_seed.state.assign(self.seed_state[k])
        single.joint_stage.assign(self.joint_stage)
        single.standardization_adapted.assign(self.standardization_adapted)
        return single

    def get_config(self):
        return {**super().get_config(), "n_labels": self.n_labels, "members": [dict(member) for member in self.members],
                "label_aware": self.label_aware, "xla_update": self.xla_update}
