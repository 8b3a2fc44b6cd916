"""LabelAwareLIB: LIB whose posterior reads each instance's logical labels, read out under the
field's binarisation rule (ours, not the paper's; measurements in ``benchmarks/LABEL_AWARE.md``)."""
from __future__ import annotations

import inspect
import math

import keras
import numpy as np
import tensorflow as tf

from ..contract import FEATURES, LOGICAL_LABELS  # the model's input keys are the serving inputs' names
from ..readout import tf_forms
from . import losses
from .lib import LIB


def unpack_inputs(inputs):
    """(features, logical_labels) from ``{"features": ..., "logical_labels": ...}`` or a pair."""
    if isinstance(inputs, dict):
        missing = {FEATURES, LOGICAL_LABELS} - set(inputs)
        if missing:
            raise ValueError(f"LabelAwareLIB inputs need the keys {FEATURES!r} and {LOGICAL_LABELS!r}; "
                             f"missing {sorted(missing)}")
        return inputs[FEATURES], inputs[LOGICAL_LABELS]
    if isinstance(inputs, (tuple, list)) and len(inputs) == 2:
        return inputs[0], inputs[1]
    raise ValueError("LabelAwareLIB takes {'features': (n, d), 'logical_labels': (n, c)} or a pair "
                     f"(features, logical_labels), got {type(inputs).__name__}")


@keras.saving.register_keras_serializable(package="lib_tf")
class LabelAwareLIB(LIB):
    """LIB whose posterior reads the logical labels as well as the features: p(h | x, l).

    The networks, the objective and its terms are LIB's (alpha weights the gap term, beta
    the KL term; see :class:`lib_tf.model.LIB`); only the encoder's input changes, from the
    standardised x to ``[standardised x, l]``. The KL term is then a bottleneck on the labels
    too: the more beta squeezes h, the more the label-distribution head's logits z become the
    labels smoothed over what the data set's features and other label patterns share, instead
    of a copy of l.

    ``label_dropout`` hides each label from the encoder with that probability at every
    training step (the terms still fit all of l), so the posterior learns to fill in labels
    from the features and the other labels, as a denoising auto-encoder does.

    Inputs are ``{"features": (n, d), "logical_labels": (n, c)}`` (or that pair as a tuple);
    ``fit(inputs, logical_labels)``. The output is

        d = rule_consistent(softmax(z / T + l / T_l), l)

    ``temperature`` T weights the logits, ``label_temperature`` T_l the instance's own labels
    (None or inf drops the label term) and ``rule_consistent`` (``rule_projection=True``) moves each
    row's relevant mass into the interval the field's binarisation allows (see
    :func:`lib_tf.readout.forms.rule_consistent`): the step that assumes the logical labels mark the
    smallest top set holding more than half the mass.
    """

    reads_labels = True

    def __init__(self, n_labels: int, temperature: float = 1.0, label_temperature=None,
                 rule_projection: bool = True, label_dropout: float = 0.0, **kwargs):
        super().__init__(n_labels, temperature=temperature, **kwargs)
        self.label_temperature = None if label_temperature is None else float(label_temperature)
        self._check_readout(self.temperature, self.label_temperature)
        self.rule_projection = bool(rule_projection)
        if not (isinstance(label_dropout, (int, float)) and 0 <= label_dropout < 1):
            raise ValueError(f"label_dropout must lie in [0, 1), got {label_dropout!r}")
        self.label_dropout = float(label_dropout)

    @staticmethod
    def _check_readout(temperature, label_temperature):
        if not (math.isfinite(temperature) and temperature > 0):
            raise ValueError(f"temperature must be a positive finite number, got {temperature!r}")
        if label_temperature is not None and not label_temperature > 0:
            raise ValueError(f"label_temperature must be positive (inf or None drops the term), got {label_temperature!r}")

    def inputs_from(self, features, logical_labels):
        """``{"features": (n, d), "logical_labels": (n, c)}``: the model reads both."""
        return {FEATURES: features, LOGICAL_LABELS: logical_labels}

    def _feature_shape(self, input_shape) -> tuple:
        return tuple(input_shape[FEATURES] if isinstance(input_shape, dict) else input_shape[0])

    def _encoder_width(self, n_features: int) -> int:
        """The standardised features and the logical labels."""
        return n_features + self.n_labels

    def posterior(self, inputs):
        """p(h | x, l) for raw features and logical labels, a TFP MultivariateNormalDiag."""
        features, logical_labels = unpack_inputs(inputs)
        encoder_input = tf.concat([self.normalizer(tf.cast(features, tf.float32)), tf.cast(logical_labels, tf.float32)], -1)
        mean, raw_scale = tf.split(tf.cast(self.encoder(encoder_input), tf.float32), 2, axis=-1)
        return losses.posterior(mean, tf.nn.softplus(raw_scale) + 1e-6)

    def loss_terms(self, inputs, logical_labels):
        """LIB's terms, with ``label_dropout`` of the labels hidden from the encoder (not from
        the terms' targets)."""
        features, encoder_labels = unpack_inputs(inputs)
        if self.label_dropout > 0:
            shown = keras.random.uniform(tf.shape(encoder_labels), seed=self.sample_seed) >= self.label_dropout
            encoder_labels = tf.cast(encoder_labels, tf.float32) * tf.cast(shown, tf.float32)
        return super().loss_terms({FEATURES: features, LOGICAL_LABELS: encoder_labels}, logical_labels)

    def readout(self, logits, logical_labels):
        """d (n, c) from the head's logits z and the logical labels l (n, c)."""
        logical_labels = tf.cast(logical_labels, tf.float32)
        distributions = tf_forms.softmax_two_temperatures(logits, logical_labels, self.temperature,
                                                          self.label_temperature)
        return tf_forms.rule_consistent(distributions, logical_labels) if self.rule_projection else distributions

    def serving_outputs(self, features, logical_labels):
        """What the exported model serves, at the posterior mean h = mu_h of p(h | x, l).

        Parameters
        ----------
        features : float32 Tensor, shape (n, d)
            Raw features.
        logical_labels : float32 Tensor, shape (n, c)
            Each instance's logical labels (0 or 1): the posterior and the read-out read them.

        Returns
        -------
        dict
            ``{"label_distribution": float32 (n, c), "gap_deviation": float32 (n, 1)}``.
        """
        return self._outputs_at_posterior_mean({FEATURES: features, LOGICAL_LABELS: logical_labels}, logical_labels)

    def call(self, inputs, training=False):
        _, logical_labels = unpack_inputs(inputs)
        posterior = self.posterior(inputs)
        if training:
            return self.readout(self.distribution_head(self.sample_latent(posterior)), logical_labels)
        if self.readout_samples > 0:
            samples = [self.readout(self.distribution_head(self.sample_latent(posterior)), logical_labels)
                       for _ in range(self.readout_samples)]
            return tf.add_n(samples) / float(self.readout_samples)
        return self.readout(self.distribution_head(posterior.loc), logical_labels)

    def adapt(self, inputs):
        """Fit the feature standardisation on the training features (the labels are not scaled):
        given what the model reads (``{"features": ..., "logical_labels": ...}`` or the pair), or
        the raw features alone (an array (n, d), or a ``tf.data.Dataset`` of feature batches such
        as the streamed standardisation pass reads from shards)."""
        if isinstance(inputs, tf.data.Dataset):
            features = inputs.map(lambda batch: batch[FEATURES]) if isinstance(inputs.element_spec, dict) else inputs
        elif isinstance(inputs, (dict, tuple, list)):
            features, _ = unpack_inputs(inputs)
        else:
            features = inputs
        self.normalizer.adapt(features)
        if not self.built:
            width = int(self.normalizer.mean.shape[0])
            self.build({FEATURES: (None, width), LOGICAL_LABELS: (None, self.n_labels)})
        self.standardization_adapted.assign(1.0)

    def _readout_inputs(self, inputs):
        """What the posterior reads, float32, with their widths: [(features, d), (logical labels, c)]."""
        features, logical_labels = unpack_inputs(inputs)
        return [(np.asarray(features, np.float32), int(self.normalizer.mean.shape[0])),
                (np.asarray(logical_labels, np.float32), self.n_labels)]

    def predict_logits_without_own_labels(self, x, logical_labels, batch_size=4096):
        """Logits (n, c) of raw features ``x`` (n, d) whose column j is read with label j hidden
        (0, as ``label_dropout`` hides labels in training) and the other labels of
        ``logical_labels`` (n, c) shown: no label's logit is made from that label's value."""
        labels = np.asarray(logical_labels, np.float32)
        logits = np.empty(labels.shape, dtype=np.float64)
        for label in range(labels.shape[1]):
            hidden = labels.copy()
            hidden[:, label] = 0.0
            logits[:, label] = self.predict_logits({FEATURES: x, LOGICAL_LABELS: hidden}, batch_size)[:, label]
        return logits

    def set_temperature(self, temperature: float, label_temperature=None):
        """Change the read-out temperatures T and T_l (None or inf drops the label term)."""
        temperature = float(temperature)
        label_temperature = None if label_temperature is None or math.isinf(label_temperature) else float(label_temperature)
        self._check_readout(temperature, label_temperature)
        self.temperature, self.label_temperature = temperature, label_temperature
        self.predict_function = None
        return self

    def get_config(self):
        """LIB's config and every argument of this constructor (each stored under its own name),
        so that an argument added to it is saved without being named twice."""
        config = super().get_config()
        own = set(inspect.signature(LabelAwareLIB.__init__).parameters) - {"self", "n_labels", "kwargs"}
        config.update({name: getattr(self, name) for name in sorted(own)})
        return config
