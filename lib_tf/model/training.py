"""LIB's one training path: :func:`train`.

Every fit in the package runs through it: ``LabelEnhancer.fit``, ``LIB.fit`` on a model not
compiled yet, the tuner's trials and ``lib_tf.distribute.fit_lib`` (streamed shards,
strategies, backups). It adapts the standardisation, streams in-memory arrays, compiles,
groups steps into graph calls, adds the two-stage schedule, stops a diverging fit with an
error, works under a ``tf.distribute`` strategy, and releases what TensorFlow would keep of
the fit for the life of the process. ``LIB.fit`` on a compiled model is Keras' own fit with
the same callbacks (:func:`fit_callbacks`).
"""
from __future__ import annotations

import contextlib
import math

import keras
import numpy as np
import tensorflow as tf

from .._keras_state import released_gradient_registrations
from ..data.pipeline import repeated_batches
from .epochs import STEPS_PER_CALL, epochs_per_call
from .optimizer import FusedAdam


class TrainingDivergedError(ValueError):
    """Training produced a NaN or infinite loss: the settings, not the data, are to change."""


class StopOnDivergence(keras.callbacks.Callback):
    """Raise :class:`TrainingDivergedError` at the end of the first epoch whose loss is NaN or
    infinite, naming ``settings`` (a text such as ``"learning_rate=1e+30, alpha=0.001"``).

    Keras' ``TerminateOnNaN`` only stops, and the caller would go on to read out NaN weights
    as a result; raising means nothing after ``fit`` runs, so no result is written. List it
    before a backup callback, so that the diverged epoch is not saved either.
    ``epochs_per_call``: epochs one Keras epoch stands for (several on small data sets)."""

    def __init__(self, settings: str, epochs_per_call: int = 1):
        super().__init__()
        self.settings = settings
        self.epochs_per_call = epochs_per_call

    def on_epoch_end(self, epoch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(np.reshape(loss, -1)[0])):
            last = (epoch + 1) * self.epochs_per_call
            raise TrainingDivergedError(
                f"training diverged: the loss is {float(np.reshape(loss, -1)[0])} by epoch {last} with {self.settings}; "
                "lower learning_rate (or alpha, beta), or check that the features are not constant or extreme")


class TwoStageSchedule(keras.callbacks.Callback):
    """First ``pretrain_epochs`` epochs: encoder and decoder only at ``pretrain_learning_rate``;
    then everything at the learning rate the optimizer was compiled with.
    ``epochs_per_call``: epochs one Keras epoch stands for."""

    def __init__(self, pretrain_epochs: int, pretrain_learning_rate: float, epochs_per_call: int = 1):
        super().__init__()
        self.pretrain_epochs, self.pretrain_learning_rate = pretrain_epochs, pretrain_learning_rate
        self.epochs_per_call = epochs_per_call
        self._joint_learning_rate = None

    def on_train_begin(self, logs=None):
        self._joint_learning_rate = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))

    def on_epoch_begin(self, epoch, logs=None):
        joint = epoch * self.epochs_per_call >= self.pretrain_epochs
        self.model.joint_stage.assign(1.0 if joint else 0.0)
        self.model.optimizer.learning_rate = self._joint_learning_rate if joint else self.pretrain_learning_rate


def schedule_callbacks(model, epochs: int, epochs_per_call: int = 1) -> list:
    """The callbacks ``model``'s own settings call for: the two-stage schedule when
    ``model.pretrain_epochs > 0`` (``epochs`` must leave a joint stage)."""
    if model.pretrain_epochs <= 0:
        return []
    if epochs <= model.pretrain_epochs:
        raise ValueError(f"epochs={epochs} leaves no joint training after pretrain_epochs={model.pretrain_epochs}")
    return [TwoStageSchedule(model.pretrain_epochs, model.pretrain_learning_rate, epochs_per_call)]


def fit_callbacks(model, epochs: int, settings=None, epochs_per_call: int = 1) -> list:
    """What every fit of LIB runs before its own callbacks: the stop on divergence
    (naming ``settings``; default: the learning rate, alpha and beta), then the two-stage
    schedule (:func:`schedule_callbacks`)."""
    if settings is None:
        rate = float(keras.ops.convert_to_numpy(model.optimizer.learning_rate))
        settings = f"learning_rate={rate!r}, alpha={model.alpha!r}, beta={model.beta!r}"
    return [StopOnDivergence(settings, epochs_per_call=epochs_per_call),
            *schedule_callbacks(model, epochs, epochs_per_call)]


def num_workers(strategy) -> int:
    """Machines taking part in ``strategy`` (1 unless it is multi-worker)."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None:
        return 1
    spec = resolver.cluster_spec().as_dict()
    return max(1, len(spec.get("worker", [])) + len(spec.get("chief", [])))


def _vector_logs(train_step):
    def step(data):
        return {name: tf.reshape(value, [1]) for name, value in train_step(data).items()}

    return step


def train(model, x, y=None, *, epochs: int, batch_size: int = 128, steps_per_epoch=None, features=None,
          learning_rate: float = 1e-3, optimizer=None, seed=None, several_epochs_per_call: bool = True,
          strategy=None, callbacks=(), verbose=0, settings=None):
    """Train ``model`` (a :class:`lib_tf.model.LIB` or subclass) for ``epochs`` epochs.

    Parameters
    ----------
    model : LIB
        Adapted on ``x`` (or ``features``) unless its standardisation already is; compiled
        here unless it already is.
    x : array (n, d), dict of arrays, or tf.data.Dataset
        In-memory inputs (what the model reads), fed with ``y`` as one endless stream of
        ``batch_size`` batches reshuffled every epoch (seeded by ``seed``); or a dataset of
        (inputs, labels) batches that repeats, with ``steps_per_epoch``.
    y : array (n, c) or None
        Logical labels for in-memory ``x``; None with a dataset.
    epochs : int
        Epochs to run.
    batch_size : int, default=128
        Batch size of the in-memory stream.
    steps_per_epoch : int or None
        Batches per epoch of a dataset ``x``.
    features : array or tf.data.Dataset or None
        What to adapt the standardisation on when ``x`` is an endless dataset (an array or a
        finite dataset of feature batches).
    learning_rate : float, default=1e-3
        Adam's learning rate when compiled here (:class:`~lib_tf.model.optimizer.FusedAdam`).
    optimizer : callable or keras optimizer or None
        None (FusedAdam at ``learning_rate``), an optimizer, or a function returning one (called
        under the strategy's scope: an optimizer made outside it cannot update mirrored
        variables).
    seed : int or None
        Seeds the stream's shuffling.
    several_epochs_per_call : bool, default=True
        Each graph call runs as many whole epochs as make ``STEPS_PER_CALL`` steps (Keras
        then counts one epoch per call); False: one Keras epoch per epoch, run
        ``STEPS_PER_CALL`` steps per call.
    strategy : tf.distribute.Strategy or None
        Default: the model's. With several replicas every step is its own call
        (keras-team/keras#19246) and arrays drop each epoch's last partial batch (a replica
        with an empty share would average over nothing).
    callbacks : sequence of keras.callbacks.Callback
        Run after the divergence check and the two-stage schedule, in this order.
    verbose : int, default=0
        Keras' verbosity.
    settings : str or None
        What a diverging fit names (default: alpha, beta and the learning rate).

    Returns
    -------
    keras.callbacks.History
        One entry per Keras epoch; ``history.epochs_per_call`` says how many epochs each is.

    Raises
    ------
    TrainingDivergedError
        The loss became NaN or infinite (nothing after ``fit`` runs).
    """
    strategy = strategy or model.distribute_strategy
    replicas, workers = strategy.num_replicas_in_sync, num_workers(strategy)
    distributed = replicas > 1 or workers > 1
    if not (isinstance(epochs, (int, np.integer)) and epochs > 0):
        raise ValueError(f"epochs must be a positive integer, got {epochs!r}")
    dataset, steps_per_epoch, features = _stream(x, y, batch_size, steps_per_epoch, features, seed, replicas > 1)
    if several_epochs_per_call and not distributed:
        per_call = epochs_per_call(steps_per_epoch, epochs, model.pretrain_epochs)
        steps_per_execution = per_call * steps_per_epoch
    else:
        per_call, steps_per_execution = 1, 1 if distributed else min(STEPS_PER_CALL, steps_per_epoch)
    with strategy.scope():
        if not model.standardization_is_adapted:
            if features is None:
                raise ValueError("the model's standardisation is not adapted: pass features (an array or a finite "
                                 "dataset of feature batches)")
            model.adapt(features)
        if not model.compiled:
            optimizer = (optimizer() if callable(optimizer) else optimizer) or FusedAdam(learning_rate)
            model.compile(optimizer=optimizer, steps_per_execution=steps_per_execution)  # under the scope
        if model.optimizer is not None and not model.optimizer.built:
            model.optimizer.build(model.trainable_variables)
        callbacks = [*fit_callbacks(model, epochs, settings, per_call), *callbacks]
        # released: else each fit keeps its traced step (~30 MB) for good
        with _fit_across_workers(model, workers), released_gradient_registrations():
            history = keras.Model.fit(model, dataset, epochs=epochs // per_call,
                                      steps_per_epoch=per_call * steps_per_epoch, callbacks=callbacks,
                                      verbose=verbose, shuffle=False)
    history.epochs_per_call = per_call
    return history


def _stream(x, y, batch_size, steps_per_epoch, features, seed, drop_remainder):
    """``(dataset, steps_per_epoch, features)`` for :func:`train`: a dataset ``x`` as given,
    or in-memory ``x`` and ``y`` as one endless reshuffled stream (and ``x`` the features to
    adapt on, unless ``features`` are given)."""
    if isinstance(x, tf.data.Dataset):
        if y is not None:
            raise ValueError("y must be None when x is a tf.data.Dataset of (inputs, labels) batches")
        if not steps_per_epoch:
            raise ValueError("a dataset x needs steps_per_epoch (the stream repeats)")
        return x, steps_per_epoch, features
    if y is None:
        raise ValueError("in-memory x needs y, the logical labels (n, c)")
    if not (isinstance(batch_size, (int, np.integer)) and batch_size > 0):
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    dataset, steps_per_epoch = repeated_batches(x, np.asarray(y, np.float32), int(batch_size), seed,
                                                drop_remainder=drop_remainder)
    return dataset, steps_per_epoch, x if features is None else features


@contextlib.contextmanager
def _fit_across_workers(model, workers: int):
    """Keras' ``fit`` made to work under MultiWorkerMirroredStrategy (``workers > 1``; nothing
    changes otherwise).

    Keras 3.15's fit first "symbolically builds" a model that carries a strategy by reducing
    one input batch across replicas; under MultiWorkerMirroredStrategy that reduce fails
    ("Attempt to convert a value (PerReplica...) to a Tensor"). Model and optimizer are built
    by now, so nothing needs that build: the captured strategy is hidden for the call (fit runs
    under the scope, so its steps still run on the strategy). Then its step reduces every log
    value across workers with ``reduce(MEAN, axis=0)``, which fails on scalars ("Invalid
    reduction dimension 0 for input with 0 dimensions", tensorflow/tensorflow#72388, also with
    a plain Sequential): the step's logs go out as length-1 vectors, which that reduce
    averages into scalars.
    """
    captured = getattr(model, "_distribute_strategy", None)
    if workers > 1:
        model._distribute_strategy = None
        model.train_step = _vector_logs(model.train_step)
        model.train_function = None
    try:
        yield
    finally:
        model._distribute_strategy = captured
        if workers > 1:
            del model.train_step  # the class's own again
            model.train_function = None
