"""LIB and the label-aware LA-LIB on several devices or machines with TensorFlow's own
distribution strategies, from in-memory arrays or on-disk shards, with fault-tolerant
checkpoints.

- ``make_strategy("mirrored")``: ``tf.distribute.MirroredStrategy`` over the local devices
  (GPUs, or logical CPU devices); ``make_strategy("multi-worker")``:
  ``tf.distribute.MultiWorkerMirroredStrategy`` with the cluster read from ``TF_CONFIG``
  (every worker runs the same program; create the strategy first thing, before any other
  TensorFlow op); ``"default"``: one device.
- The model is built under the strategy's scope (:func:`lib_tf.model.factory.build_model`)
  and trained through the package's one training path, :func:`lib_tf.model.training.train`
  (:func:`fit_lib` adds the backup; the fit runs under ``strategy.scope()``). The batch size is
  the *global* batch: tf.distribute splits each batch across the replicas and all-reduces
  the gradients (a sum; :meth:`lib_tf.model.LIB.train_step` divides its loss by the number
  of replicas in sync, so the update equals the single-device update on the whole batch).
- Every batch of ``(features, logical_labels)`` reaches the model as what it reads
  (:meth:`lib_tf.model.LIB.inputs_from`, :func:`model_batches`): the features for the paper's
  LIB, ``{"features", "logical_labels"}`` for :class:`lib_tf.model.LabelAwareLIB`, whose
  training targets are the same labels. Prediction shards are read out by the model itself
  at its temperatures (LA-LIB: ``rule_consistent(softmax(z / T + l / T_l), l)`` with T and
  T_l from the settings, each shard's labels checked as they are read); LabelEnhancer's
  truth-free read-out (``readout="truth-free"``) is an in-memory fit of its own (cross-fitted
  models and a posterior over every instance) and is not run here.
- The standardisation is adapted in one streaming pass before ``fit`` (every worker reads
  all shards for it, so the statistics agree without communication); training data are then
  auto-sharded by tf.distribute: by file for TFRecord shards when there are at least as many
  shards as workers, otherwise by data.
- Fault tolerance: :class:`lib_tf.backup.AtomicBackupAndRestore` (Keras'
  ``BackupAndRestore`` written so that a kill at any moment leaves a whole checkpoint:
  weights, optimizer state, epoch and the posterior noise's generator state, every epoch or
  every ``save_freq`` batches). A killed run started again with the same ``backup_dir``
  resumes at the first unfinished epoch; the backup is deleted when training ends. Workers
  other than the chief back up into a sibling folder of their own (Keras 3's callback has no
  multi-worker file arbitration). Given an endless stream and ``steps_per_epoch`` (as
  :func:`train_distributed` runs it), the resumed run skips the epochs already done, so with a seeded
  stream it sees the same batches and noise as an uninterrupted run and ends where that run
  ends (``benchmarks/RELIABILITY.md``).

Known limits (Keras 3.15, TensorFlow 2.21):

- ``steps_per_execution > 1`` fails under ``MirroredStrategy``/``MultiWorkerMirroredStrategy``
  ("You must feed a value for placeholder tensor ...", keras-team/keras#19246, also with a
  plain ``Sequential``), so under a strategy every step is its own graph call.
- Every replica draws the posterior noise from the same seed state, so the noise of replica
  r's share of a batch repeats replica 0's (each draw is still N(0, I); only the draws of
  different replicas are dependent).
"""
from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .hparams import with_model_defaults

STRATEGIES = ("default", "mirrored", "multi-worker")
#: One MirroredStrategy per device list for the life of the process: a second one over the same
#: devices restarts the collective instance keys, and its first all-reduce then meets the first
#: strategy's (a model of another size fails with "Shape mismatch in the collective instance",
#: tensorflow/tensorflow#62790).
_MIRRORED: dict = {}


def make_strategy(name: str = "default", devices=None):
    """A ``tf.distribute.Strategy`` by name (see the module docstring); ``"mirrored"`` returns the
    same strategy each time for the same ``devices``."""
    import tensorflow as tf

    if name in (None, "default"):
        return tf.distribute.get_strategy()
    if name == "mirrored":
        key = None if devices is None else tuple(devices)
        if key not in _MIRRORED:
            _MIRRORED[key] = tf.distribute.MirroredStrategy(devices)
        return _MIRRORED[key]
    if name == "multi-worker":
        config = os.environ.get("TF_CONFIG")
        if not config:
            raise ValueError("--strategy multi-worker needs TF_CONFIG (cluster and task) in the environment")
        try:
            json.loads(config)
        except json.JSONDecodeError as error:
            raise ValueError(f"TF_CONFIG is not valid JSON: {error}") from None
        return tf.distribute.MultiWorkerMirroredStrategy()
    raise ValueError(f"strategy must be one of {STRATEGIES}, got {name!r}")


def worker_role():
    """``(task_type, task_index, is_chief, n_workers)`` from ``TF_CONFIG`` (one worker, the
    chief, without it). The chief is task ``chief``, or worker 0 when the cluster has none."""
    config = json.loads(os.environ.get("TF_CONFIG") or "{}")
    cluster, task = config.get("cluster", {}), config.get("task", {})
    task_type, index = task.get("type"), int(task.get("index", 0))
    n_workers = len(cluster.get("worker", [])) + len(cluster.get("chief", []))
    if not task_type:
        return None, 0, True, 1
    chief = task_type == "chief" or (task_type == "worker" and index == 0 and "chief" not in cluster)
    return task_type, index, chief, max(n_workers, 1)


def for_strategy(dataset, strategy, n_files: int = 0):
    """Set the auto-shard policy: FILE when every worker can get a shard of its own, else DATA."""
    import tensorflow as tf

    from .model.training import num_workers

    options = tf.data.Options()
    policy = tf.data.experimental.AutoShardPolicy
    options.experimental_distribute.auto_shard_policy = (
        policy.FILE if n_files >= num_workers(strategy) > 1 else policy.DATA)
    return dataset.with_options(options)


def backup_callback(backup_dir, save_freq="epoch", delete_checkpoint: bool = True):
    """A ``BackupAndRestore`` in ``backup_dir`` that a kill cannot leave half-written
    (:class:`lib_tf.backup.AtomicBackupAndRestore`); workers other than the chief
    use a sibling folder ``<backup_dir>.worker-<i>`` of their own (not a sub-folder: the
    chief removes its whole folder when training ends, possibly while another worker still
    writes)."""
    from .backup import AtomicBackupAndRestore

    _, index, chief, _ = worker_role()
    backup_dir = Path(backup_dir)
    folder = backup_dir if chief else backup_dir.with_name(f"{backup_dir.name}.worker-{index}")
    return AtomicBackupAndRestore(str(folder), save_freq=save_freq, delete_checkpoint=delete_checkpoint)


def model_batches(model, dataset):
    """A dataset of ``(features, logical_labels)`` batches as ``model`` trains on it:
    ``(model.inputs_from(features, logical_labels), logical_labels)`` (unchanged for the
    paper's LIB, which reads the features only)."""
    if not model.reads_labels:
        return dataset
    return dataset.map(lambda features, labels: (model.inputs_from(features, labels), labels))


def fit_lib(model, train_data, *, epochs: int, steps_per_epoch=None, features=None, learning_rate: float = 1e-3,
            backup_dir=None, save_freq="epoch", callbacks=(), verbose=0, strategy=None, optimizer=None):
    """Train ``model`` on ``train_data`` (a ``tf.data.Dataset`` of global batches that repeats,
    ``steps_per_epoch`` of them an epoch, each ``(what the model reads, logical labels)``:
    :func:`model_batches`) under ``strategy`` through the package's one
    training path (:func:`lib_tf.model.training.train`: the standardisation adapted on
    ``features`` unless it is, compiled for the strategy, one Keras epoch per epoch).
    ``backup_dir`` adds :func:`backup_callback`, and a resumed run skips the epochs it resumes
    after, so that (the stream being seeded) it sees the batches the uninterrupted run saw.
    ``optimizer``: ``None`` (Adam at ``learning_rate``) or a function returning one (called
    under the scope: an optimizer made outside it cannot update mirrored variables). Returns
    the ``History``."""
    from .model.training import train

    callbacks = list(callbacks)
    if backup_dir is not None:
        backup = backup_callback(backup_dir, save_freq=save_freq)
        callbacks.insert(0, backup)  # after the divergence check: a diverged epoch is not saved
        if steps_per_epoch:
            train_data = train_data.skip(backup.saved_epoch() * steps_per_epoch)
    rate = f"learning_rate={learning_rate!r}" if optimizer is None else "the given optimizer"
    return train(model, train_data, epochs=epochs, steps_per_epoch=steps_per_epoch, features=features,
                 learning_rate=learning_rate, optimizer=optimizer, several_epochs_per_call=False, strategy=strategy,
                 callbacks=callbacks, verbose=verbose, settings=f"{rate}, alpha={model.alpha!r}, beta={model.beta!r}")


def adapt_streaming(model, shards, strategy=None, batch_size: int = 8192) -> int:
    """One streaming pass over the shards' features: the standardisation statistics (and the
    model's variables, built under ``strategy``); returns the number of instances read."""
    import tensorflow as tf

    from .data.streaming.readers import feature_batches

    counter = tf.Variable(0, dtype=tf.int64, trainable=False)  # outside the strategy: a plain local variable

    def count(batch):
        counter.assign_add(tf.cast(tf.shape(batch)[0], tf.int64))
        return batch

    strategy = strategy or model.distribute_strategy
    with strategy.scope():
        model.adapt(feature_batches(shards, batch_size).map(count))
    return int(counter.numpy())


def fit_streaming(model, shards, *, batch_size: int, epochs: int, shuffle_buffer: int = 10_000, seed=None,
                  learning_rate: float = 1e-3, backup_dir=None, save_freq="epoch", callbacks=(), verbose=0,
                  strategy=None, n_instances=None):
    """Train ``model`` on shards (glob pattern, paths or ``ShardSet``): the standardisation
    in one streaming pass (unless already adapted; the pass also counts the instances), then
    ``epochs`` passes over the shards in global batches of ``batch_size`` (shuffled through
    a buffer of ``shuffle_buffer`` instances; 0 keeps file order). Returns
    ``(history, n_instances)``.

    Keras is given an endless stream and ``steps_per_epoch``: with a finite stream of unknown
    length (every file reader) Keras 3.15 runs one extra, empty step at the end of the first
    epoch, which moves Adam's state (measured: the next epoch's losses differ from the same
    batches fed from arrays). With several replicas each epoch's last partial batch is
    dropped, so that no replica gets an empty share (its batch mean would be NaN)."""
    import math

    from .data.streaming.readers import count_rows, feature_batches, shard_dataset
    from .data.streaming.shards import as_shard_set

    shards = as_shard_set(shards)
    strategy = strategy or model.distribute_strategy
    if not model.standardization_is_adapted:
        n_instances = adapt_streaming(model, shards, strategy)
    if n_instances is None:
        n_instances = shards.n_instances or count_rows(feature_batches(shards))
    drop = strategy.num_replicas_in_sync > 1
    steps = n_instances // batch_size if drop else math.ceil(n_instances / batch_size)
    if steps < 1:
        raise ValueError(f"{n_instances} instances make no full batch of {batch_size}")
    train = shard_dataset(shards, batch_size, shuffle_buffer=shuffle_buffer, seed=seed, drop_remainder=drop).repeat()
    train = model_batches(model, train)
    files = len(shards.paths) if shards.format == "tfrecord" else 0  # NumPy blocks have no file reader to shard
    history = fit_lib(model, for_strategy(train, strategy, n_files=files), epochs=epochs,
                      steps_per_epoch=steps, learning_rate=learning_rate, backup_dir=backup_dir, save_freq=save_freq,
                      callbacks=callbacks, verbose=verbose, strategy=strategy)
    return history, n_instances


def readout_function(model):
    """A compiled ``batch -> d_hat`` (posterior-mean read-out, or the model's Monte-Carlo one):
    a batch of features, or for a model that reads the logical labels the pair
    ``(features, logical_labels)``."""
    import tensorflow as tf

    if model.reads_labels:
        function = tf.function(lambda x, l: model(model.inputs_from(x, l), training=False), reduce_retracing=True)
        return lambda batch: function(*batch).numpy()
    function = tf.function(lambda x: model(x, training=False), reduce_retracing=True)
    return lambda batch: function(batch).numpy()


def predict_streaming(model, shards, out_dir, batch_size: int = 8192, progress=None) -> list:
    """Recovered distributions for every shard, written as ``<stem>.distributions.npy``
    shards in ``out_dir`` (bounded memory: one batch at a time); a model that reads the
    logical labels reads each shard's own (checked: 0 or 1, a 1 in every row)."""
    from .data.streaming.prediction import predict_to_shards

    return predict_to_shards(readout_function(model), shards, out_dir, batch_size=batch_size, progress=progress,
                             labels=model.reads_labels)


@dataclass
class DistributedTraining:
    """What :func:`train_distributed` trained, and where.

    Attributes
    ----------
    model : lib_tf.model.LIB or lib_tf.model.LabelAwareLIB
        The trained model (its variables live under the strategy).
    history : dict
        Keras' ``History.history`` of this process's training (after a resume: of the
        epochs run since).
    epochs : int
        Epochs the training ran to (the automatic count when ``epochs`` was None).
    n_instances, n_features, n_labels : int
        n, d and c of the training data.
    strategy : str
        The strategy's name; ``replicas``: replicas in sync; ``workers``: workers in the
        cluster; ``chief``: whether this process is the one that writes outputs.
    seconds : float
        Wall time of the training.
    """

    model: object
    history: dict
    epochs: int
    n_instances: int
    n_features: int
    n_labels: int
    strategy: str
    replicas: int
    workers: int
    chief: bool
    seconds: float


def train_distributed(params: dict, *, shards=None, features=None, logical_labels=None, strategy: str = "default",
                      backup_dir=None, verbose: int = 0) -> DistributedTraining:
    """Train the paper's LIB or the label-aware LA-LIB under a ``tf.distribute`` strategy
    (:func:`fit_lib`), from on-disk shards (streamed, bounded memory) or from in-memory
    arrays, checkpointing every epoch so that a killed run started again resumes (see the
    module docstring).

    Parameters
    ----------
    params : dict
        LabelEnhancer constructor arguments (``model``, ``alpha``, ``beta``, ``epochs``,
        ``batch_size``, ``learning_rate``, ``random_state``, network sizes, ``temperature``,
        and for ``model="label-aware"`` ``label_temperature``, ``label_dropout``, ...); the
        model is built from them (:func:`lib_tf.model.factory.build_model`) and reads out at
        those temperatures. Refused: ``label_temperature`` with the paper's model (LIB+l's
        read-out belongs to :class:`lib_tf.LabelEnhancer`) and ``readout="truth-free"`` (an
        in-memory fit of its own; the label-aware model's read-out here is its own at
        ``temperature`` and ``label_temperature``, which :meth:`lib_tf.LabelEnhancer.label_aware`
        leaves at 1 and None). Missing ones take the model's defaults
        (:func:`lib_tf.hparams.with_model_defaults`), but ``readout``, which is ``"given"`` here.
    shards : str or ShardSet, optional
        Glob pattern, paths or :class:`~lib_tf.data.streaming.shards.ShardSet` of the training
        shards; or else
    features, logical_labels : array_like, optional
        Arrays (n, d) and (n, c) held in memory.
    strategy : {"default", "mirrored", "multi-worker"}
        See :func:`make_strategy`.
    backup_dir : path, optional
        Checkpoint folder of :func:`backup_callback` (None: no checkpoints).
    verbose : int
        Keras' ``fit`` verbosity.

    Returns
    -------
    DistributedTraining
    """
    from .data.pipeline import repeated_batches
    from .data.streaming.shards import as_shard_set
    from .model.epochs import auto_epochs
    from .model.factory import build_model

    if (shards is None) == (features is None):
        raise ValueError("give shards or features (with logical_labels), not both and not neither")
    params = with_model_defaults({**params, "readout": params.get("readout") or "given"})
    if params["model"] == "paper" and params.get("label_temperature") is not None:
        raise ValueError("label_temperature is not available for the paper's model in streamed or distributed "
                         "training: it reads out softmax(z / T) (model='label-aware' reads the labels)")
    if params["readout"] != "given":
        raise ValueError(f"readout={params['readout']!r} is not available for streamed or distributed training: "
                         "pass readout='given' (the model's read-out at temperature and label_temperature)")
    strategy_name = strategy or "default"
    tf_strategy = make_strategy(strategy_name)
    _, _, chief, n_workers = worker_role() if strategy_name == "multi-worker" else (None, 0, True, 1)
    seed = params.get("random_state")
    batch_size, learning_rate = int(params.get("batch_size", 128)), float(params.get("learning_rate", 1e-3))
    start = time.perf_counter()
    if shards is not None:
        shards = as_shard_set(shards)
        d, c = shards.n_features, shards.n_labels
        model = build_model(c, params, tf_strategy)
        n = adapt_streaming(model, shards, tf_strategy)
        epochs = params.get("epochs") or auto_epochs(n, batch_size)
        history, _ = fit_streaming(model, shards, batch_size=batch_size, epochs=epochs, seed=seed,
                                   learning_rate=learning_rate, backup_dir=backup_dir, verbose=verbose,
                                   strategy=tf_strategy, n_instances=n)
    else:
        X, L = np.asarray(features, np.float32), np.asarray(logical_labels, np.float32)
        (n, d), c = X.shape, L.shape[1]
        model = build_model(c, params, tf_strategy)
        stream, steps = repeated_batches(model.inputs_from(X, L), L, batch_size, seed,
                                         drop_remainder=tf_strategy.num_replicas_in_sync > 1)
        epochs = params.get("epochs") or auto_epochs(n, batch_size)
        history = fit_lib(model, for_strategy(stream, tf_strategy), epochs=epochs, steps_per_epoch=steps, features=X,
                          learning_rate=learning_rate, backup_dir=backup_dir, verbose=verbose, strategy=tf_strategy)
    return DistributedTraining(model=model, history=dict(history.history), epochs=int(epochs), n_instances=int(n),
                               n_features=int(d), n_labels=int(c), strategy=strategy_name,
                               replicas=tf_strategy.num_replicas_in_sync, workers=n_workers, chief=chief,
                               seconds=time.perf_counter() - start)
