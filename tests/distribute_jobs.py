"""Jobs that tests/test_distribute.py runs in subprocesses (logical devices and strategies
must be set up before TensorFlow initialises, and a killed run must be its own process).

    python tests/distribute_jobs.py mirrored OUT.npz
    python tests/distribute_jobs.py worker OUT.npz          (TF_CONFIG set by the caller)
    python tests/distribute_jobs.py resumable OUT.npz BACKUP_DIR EPOCHS [KILL_AFTER_EPOCH]
"""
import os
import signal
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def toy(n=64, d=5, c=4, seed=0):
    import numpy as np

    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)).astype(np.float32)
    logits = X @ rng.normal(size=(d, c))
    D = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    from lib_tf.data import binarize

    return X, binarize(D).astype(np.float32), D


SMALL = dict(latent_dim=8, hidden_units=16, alpha=1.0, beta=0.1, seed=0)


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


def mirrored(out):
    import numpy as np
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
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


def resumable(out, backup_dir, epochs, kill_after=None):
    import keras
    import numpy as np

    from lib_tf import distribute
    from lib_tf.data.pipeline import repeated_batches
    from lib_tf.metrics import score
    from lib_tf.model import LIB

    class KillAfter(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if kill_after is not None and epoch + 1 == kill_after:
                os.kill(os.getpid(), signal.SIGKILL)  # after BackupAndRestore saved this epoch

    class Epochs(keras.callbacks.Callback):
        seen = []

        def on_epoch_begin(self, epoch, logs=None):
            self.seen.append(epoch)

    keras.utils.set_random_seed(0)
    X, L, D = toy(n=256)
    model = LIB(L.shape[1], **SMALL)
    stream, steps = repeated_batches(X.astype(np.float32), L.astype(np.float32), 32, seed=0)
    history = distribute.fit_lib(model, stream, epochs=epochs, steps_per_epoch=steps, features=X, learning_rate=1e-2,
                                 backup_dir=backup_dir, callbacks=[KillAfter(), Epochs()])
    predicted = model.predict(X, verbose=0)
    np.savez(out, loss=np.asarray(history.history["loss"]), epochs_run=np.asarray(Epochs.seen),
             chebyshev=score(D, predicted)["Chebyshev"], pred=predicted)


if __name__ == "__main__":
    job, args = sys.argv[1], sys.argv[2:]
    if job == "resumable":
        resumable(args[0], args[1], int(args[2]), int(args[3]) if len(args) > 3 else None)
    else:
        {"mirrored": mirrored, "worker": worker}[job](*args)
