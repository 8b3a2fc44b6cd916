"""Jobs that tests/test_distribute.py runs in subprocesses (logical devices and strategies
must be set up before TensorFlow initialises, and a killed run must end a process of its own).

    python tests/distribute_jobs.py mirrored OUT.npz
    python tests/distribute_jobs.py worker OUT.npz          (TF_CONFIG set by the caller)
    python tests/distribute_jobs.py resumable FOLDER MODEL:RUN...   (MODEL paper or label-aware;
                                                                    RUN straight, killed or resumed)
    python tests/distribute_jobs.py mirrored-cli ARGS...    (lib-tf enhance ARGS over two logical CPUs)
"""
import os
import signal
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def toy(n=64, d=5, c=4, seed=0, sharpness=1.0):
    import numpy as np

    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)).astype(np.float32)
    logits = X @ rng.normal(size=(d, c)) * sharpness
    D = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    from lib_tf.data import binarize

    return X, binarize(D).astype(np.float32), D


SMALL = dict(latent_dim=8, hidden_units=16, alpha=1.0, beta=0.1, seed=0)
#: LA-LIB's shipped settings (LabelEnhancer.label_aware()) at the sizes of SMALL, read out at the
#: temperatures a streamed or distributed run uses (T = 1, no label term).
LABEL_AWARE_SMALL = dict(model="label-aware", latent_dim=8, hidden_units=16, head_units=16, alpha=1.0, beta=10.0,
                         label_dropout=0.5, random_state=0)


def weights_of(model):
    return {f"w{i}": v.numpy() for i, v in enumerate(model.weights)}


def deterministic_lib():
    """LIB whose latent is the posterior mean (no sampling): single-device and mirrored
    training then see identical computations, so any difference is the distribution."""
    from lib_tf.model import LIB

    class MeanLatentLIB(LIB):
        def sample_latent(self, posterior):
            return posterior.loc

    return MeanLatentLIB


def train(strategy, model_class, optimizer, epochs=3, batch_size=16, shuffle=True):
    """``shuffle=False`` feeds the batches in array order: distributing a dataset rewrites its
    graph and changes the order a seeded reshuffling ``shuffle`` produces, which would hide
    the comparison of the arithmetic behind a comparison of data orders."""
    import keras
    import numpy as np
    import tensorflow as tf

    from lib_tf import distribute
    from lib_tf.data.pipeline import repeated_batches

    keras.utils.set_random_seed(0)
    X, L, _ = toy()
    with strategy.scope():
        model = model_class(L.shape[1], **SMALL)
    stream, steps = repeated_batches(X.astype(np.float32), L.astype(np.float32), batch_size, seed=0)
    if not shuffle:
        stream = tf.data.Dataset.from_tensor_slices((X, L)).batch(batch_size).repeat()
    history = distribute.fit_lib(model, distribute.for_strategy(stream, strategy), epochs=epochs, steps_per_epoch=steps,
                                 features=X, strategy=strategy, optimizer=optimizer)
    return model, history.history, X


def two_cpus():
    """Two logical CPU devices (before TensorFlow initialises)."""
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)


def mirrored_cli(*args):
    """``lib-tf enhance ARGS`` where ``--strategy mirrored`` finds two local devices."""
    two_cpus()
    from lib_tf.cli import main

    sys.exit(main(["enhance", "--model", "paper", *args]))


def mirrored(out):
    import numpy as np
    import tensorflow as tf

    two_cpus()
    import keras

    from lib_tf.model import LIB
    from lib_tf.model.optimizer import FusedAdam

    two = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    one = tf.distribute.OneDeviceStrategy("/cpu:0")
    result = {}
    for tag, model_class, optimizer in (("mean", deterministic_lib(), lambda: keras.optimizers.SGD(0.1)),
                                        ("sampled", LIB, lambda: FusedAdam(1e-2))):
        for name, strategy in (("single", one), ("mirrored", two)):
            model, history, X = train(strategy, model_class, optimizer, shuffle=False)
            result[f"{tag}_{name}_loss"] = np.asarray(history["loss"])
            result[f"{tag}_{name}_pred"] = model.predict(X, verbose=0)
            result[f"{tag}_{name}_seed"] = np.asarray(model.sample_seed.state.numpy())
            for key, value in weights_of(model).items():
                result[f"{tag}_{name}_{key}"] = value
    result["replicas"] = np.asarray(two.num_replicas_in_sync)
    np.savez(out, **result)


def worker(out):
    import numpy as np
    import tensorflow as tf

    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    from lib_tf.model import LIB
    from lib_tf.model.optimizer import FusedAdam

    model, history, X = train(strategy, LIB, lambda: FusedAdam(1e-2), epochs=2)
    np.savez(out, loss=np.asarray(history["loss"]), pred=model.predict(X, verbose=0), **weights_of(model))


def kill_after_epoch(kill_after):
    """A callback that SIGKILLs this process at the end of epoch ``kill_after`` (1-based; None:
    never), after the backup callback saved it."""
    import keras

    class KillAfter(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if kill_after is not None and epoch + 1 == kill_after:
                os.kill(os.getpid(), signal.SIGKILL)

    return KillAfter()


def epochs_seen():
    """A callback recording the epochs this process ran (``.seen``)."""
    import keras

    class Epochs(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.seen = []

        def on_epoch_begin(self, epoch, logs=None):
            self.seen.append(epoch)

    return Epochs()


def resumable(out, backup_dir, epochs, kill_after=None):
    """The paper's LIB from arrays through a seeded stream, with a backup in ``backup_dir``."""
    import keras
    import numpy as np

    from lib_tf import distribute
    from lib_tf.data.pipeline import repeated_batches
    from lib_tf.metrics import score
    from lib_tf.model import LIB

    keras.utils.set_random_seed(0)
    X, L, D = toy(n=256)
    model = LIB(L.shape[1], **SMALL)
    stream, steps = repeated_batches(X.astype(np.float32), L.astype(np.float32), 32, seed=0)
    seen = epochs_seen()
    history = distribute.fit_lib(model, stream, epochs=epochs, steps_per_epoch=steps, features=X, learning_rate=1e-2,
                                 backup_dir=backup_dir, callbacks=[kill_after_epoch(kill_after), seen])
    predicted = model.predict(X, verbose=0)
    np.savez(out, loss=np.asarray(history.history["loss"]), epochs_run=np.asarray(seen.seen),
             chebyshev=score(D, predicted)["Chebyshev"], pred=predicted)


def resumable_label_aware(out, backup_dir, epochs, kill_after=None):
    """LA-LIB streamed from TFRecord shards (written beside ``out`` by the first run, shuffled
    through a seeded buffer) with a backup, as :func:`resumable`; also scores the prediction
    shards, and ``l / sum(l)``, against the truth."""
    from pathlib import Path

    import numpy as np

    from lib_tf import distribute
    from lib_tf.baselines.reference import label_shares
    from lib_tf.data.streaming.prediction import read_prediction_shards
    from lib_tf.data.streaming.writers import write_shards
    from lib_tf.metrics import score
    from lib_tf.model.factory import build_model

    X, L, D = toy(n=256, sharpness=0.5)
    shards = Path(out).parent / "shards"
    if not shards.exists():
        write_shards(shards, X, L, format="tfrecord", rows_per_shard=100)
    model = build_model(L.shape[1], LABEL_AWARE_SMALL)
    seen = epochs_seen()
    history, _ = distribute.fit_streaming(model, str(shards / "*.tfrecord"), batch_size=32, epochs=epochs,
                                          shuffle_buffer=64, seed=0, learning_rate=1e-2, backup_dir=backup_dir,
                                          callbacks=[kill_after_epoch(kill_after), seen])
    predicted = read_prediction_shards(distribute.predict_streaming(model, str(shards / "*.tfrecord"),
                                                                    Path(out).with_suffix(".predictions")))
    ours, naive = score(D, predicted), score(D, label_shares(L))
    np.savez(out, loss=np.asarray(history.history["loss"]), epochs_run=np.asarray(seen.seen), pred=predicted,
             chebyshev=ours["Chebyshev"], kl=ours["Kullback-Leibler"], naive_chebyshev=naive["Chebyshev"],
             naive_kl=naive["Kullback-Leibler"])


#: The resumable runs by model; each trains 6 epochs, a killed one is SIGKILLed after epoch 3.
RESUMABLE = {"paper": resumable, "label-aware": resumable_label_aware}
RESUMABLE_EPOCHS, KILLED_AFTER = 6, 3


def resumable_runs(folder, *runs):
    """Each ``MODEL:RUN`` in turn in this process: ``straight`` (uninterrupted, a backup folder
    of its own), ``killed`` (SIGKILLed after epoch 3: the process ends there) or ``resumed``
    (restarted on the killed run's backup); each writes ``FOLDER/MODEL/RUN.npz``. A process
    of several runs saves TensorFlow's start, most of a short run's time; the killed run's
    backup is resumed from a later process."""
    from pathlib import Path

    for name in runs:
        model, run = name.split(":")
        where = Path(folder) / model
        where.mkdir(parents=True, exist_ok=True)
        backup = where / ("straight-backup" if run == "straight" else "backup")
        RESUMABLE[model](where / f"{run}.npz", backup, RESUMABLE_EPOCHS, KILLED_AFTER if run == "killed" else None)


def mirrored_twice(out):
    """Two ``train_distributed`` runs under ``"mirrored"`` in one process, the paper model then
    LA-LIB at other sizes (a second MirroredStrategy used to fail the first all-reduce)."""
    import numpy as np

    two_cpus()
    from lib_tf.distribute import train_distributed

    X, L, D = toy(n=64, sharpness=2.0)
    result = {"truth": D, "labels": L}
    for tag, params in (("paper", dict(model="paper", latent_dim=8, hidden_units=16, random_state=0)),
                        ("label_aware", dict(LABEL_AWARE_SMALL, latent_dim=12, hidden_units=24))):
        run = train_distributed(dict(params, epochs=10, batch_size=32), features=X, logical_labels=L,
                                strategy="mirrored")
        inputs = run.model.inputs_from(X, L)
        result[f"{tag}_pred"] = np.asarray(run.model.predict(inputs, verbose=0))
        result[f"{tag}_replicas"] = np.asarray(run.replicas)
    np.savez(out, **result)


if __name__ == "__main__":
    job, args = sys.argv[1], sys.argv[2:]
    {"mirrored": mirrored, "mirrored-twice": mirrored_twice, "worker": worker, "mirrored-cli": mirrored_cli, "resumable": resumable_runs}[job](*args)
