"""Streaming input (lib_tf.data.streaming) and training / prediction from shards."""
import json

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from lib_tf import distribute  # noqa: E402
from lib_tf.data import binarize  # noqa: E402
from lib_tf.data.streaming.prediction import read_prediction_shards  # noqa: E402
from lib_tf.data.streaming.readers import feature_batches, shard_dataset  # noqa: E402
from lib_tf.data.streaming.shards import find_shards  # noqa: E402
from lib_tf.data.streaming.writers import write_chunks, write_shards  # noqa: E402
from lib_tf.model import LIB  # noqa: E402

SMALL = dict(latent_dim=8, hidden_units=16, alpha=1.0, beta=0.1, seed=0)


def _toy(n=90, d=5, c=4, seed=0, sharpness=1.0):
    rng = np.random.default_rng(seed)
    X = (rng.normal(size=(n, d)) * 3 + 1).astype(np.float32)
    logits = X @ rng.normal(size=(d, c)) / 3 * sharpness
    D = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    return X, binarize(D).astype(np.float32), D


def _collect(dataset):
    xs, ls = zip(*[(x.numpy(), l.numpy()) for x, l in dataset])
    return np.concatenate(xs), np.concatenate(ls)


@pytest.mark.parametrize("fmt", ["tfrecord", "npy"])
def test_shards_round_trip_in_file_order_and_shuffle_is_a_permutation(tmp_path, fmt):
    X, L, D = _toy()
    paths = write_shards(tmp_path, X, L, format=fmt, rows_per_shard=25, distributions=D, chunk_rows=16)
    assert len(paths) == 4
    shards = find_shards(str(tmp_path / "*"))
    assert (shards.format, shards.n_features, shards.n_labels) == (fmt, 5, 4)
    assert shards.stems() == [f"part-0000{i}" for i in range(4)]
    if fmt == "npy":
        assert shards.rows == (25, 25, 25, 15) and shards.n_instances == 90
    x, l = _collect(shard_dataset(shards, 16))
    np.testing.assert_array_equal(x, X)
    np.testing.assert_array_equal(l, L)
    first = _collect(shard_dataset(shards, 16, shuffle_buffer=30, seed=1))[0]
    assert not np.array_equal(first, X)
    assert sorted(map(tuple, first)) == sorted(map(tuple, X))
    features_only = np.concatenate([b.numpy() for b in feature_batches(shards, 7)])
    np.testing.assert_array_equal(features_only, X)


def test_a_tfrecord_shard_of_another_width_is_refused_naming_the_key(tmp_path):
    tf = pytest.importorskip("tensorflow")
    from lib_tf import contract

    X, L, _ = _toy(n=6)
    write_shards(tmp_path, X, L, rows_per_shard=6)
    with tf.io.TFRecordWriter(str(tmp_path / "part-99999.tfrecord")) as writer:  # one feature short
        writer.write(contract.serialize_example({"features": X[0, :-1], "logical_labels": L[0]}))
    with pytest.raises(tf.errors.InvalidArgumentError, match="exactly 5 float values under the feature key .{0,2}features"):
        _collect(shard_dataset(str(tmp_path / "*.tfrecord"), 4))


def test_write_chunks_never_needs_the_whole_array(tmp_path):
    X, L, _ = _toy(n=50)
    chunks = ((X[i:i + 7], L[i:i + 7]) for i in range(0, 50, 7))
    paths = write_chunks(tmp_path, chunks, format="tfrecord", rows_per_shard=20)
    assert len(paths) == 3
    np.testing.assert_array_equal(_collect(shard_dataset(paths, 50))[0], X)


def test_find_shards_errors(tmp_path):
    X, L, _ = _toy(n=10)
    with pytest.raises(FileNotFoundError, match="no shard files"):
        find_shards(str(tmp_path / "*.tfrecord"))
    write_shards(tmp_path / "a", X, L, format="npy", rows_per_shard=10)
    (tmp_path / "a" / "part-00000.logical_labels.npy").unlink()
    with pytest.raises(FileNotFoundError, match="needs both"):
        find_shards(str(tmp_path / "a" / "*.npy"))
    write_shards(tmp_path / "b", X, L, format="npy", rows_per_shard=10)
    write_shards(tmp_path / "b", X[:, :3], L, format="npy", rows_per_shard=10, prefix="other")
    with pytest.raises(ValueError, match="different widths"):
        find_shards(str(tmp_path / "b" / "*"))
    np.save(tmp_path / "b" / "stray.npy", X)
    with pytest.raises(ValueError, match="pair"):
        find_shards(str(tmp_path / "b" / "*"))
    write_shards(tmp_path / "c", X, L, format="tfrecord")
    write_shards(tmp_path / "c", X, L, format="npy")
    with pytest.raises(ValueError, match="both TFRecord and .npy"):
        find_shards(str(tmp_path / "c" / "*"))


def test_streaming_standardisation_equals_in_memory_and_counts(tmp_path):
    X, L, _ = _toy(n=300)
    write_shards(tmp_path, X, L, format="tfrecord", rows_per_shard=70)
    streamed, in_memory = LIB(4, **SMALL), LIB(4, **SMALL)
    assert distribute.adapt_streaming(streamed, str(tmp_path / "*.tfrecord"), batch_size=64) == 300
    in_memory.adapt(X)
    np.testing.assert_allclose(streamed.normalizer.mean.numpy(), in_memory.normalizer.mean.numpy(), rtol=1e-6)
    np.testing.assert_allclose(streamed.normalizer.std.numpy(), in_memory.normalizer.std.numpy(), rtol=1e-6)
    assert float(streamed.standardization_adapted.numpy()) == 1.0


def _train_streamed(shards, epochs=2, batch_size=16):
    keras.utils.set_random_seed(0)
    model = LIB(shards.n_labels, **SMALL)
    history, n = distribute.fit_streaming(model, shards, batch_size=batch_size, epochs=epochs, shuffle_buffer=0,
                                          seed=0, learning_rate=1e-2)
    return model, history, n


@pytest.fixture(scope="module")
def trained_from_tfrecord(tmp_path_factory):
    """``_toy()`` written as TFRecord shards of 40 rows and trained from them for 2 epochs:
    ``(shards, model, history, n)``. Its tests only read the model."""
    folder = tmp_path_factory.mktemp("tfrecord")
    X, L, _ = _toy()
    write_shards(folder, X, L, format="tfrecord", rows_per_shard=40)
    shards = find_shards(str(folder / "*.tfrecord"))
    return (shards, *_train_streamed(shards))


def test_training_from_tfrecord_shards_equals_training_from_the_same_arrays(trained_from_tfrecord, tmp_path):
    """Same instances, same batches (file order), same seeds: the same model to float
    precision, and the same recovered distributions, streamed shard by shard."""
    import tensorflow as tf

    X, L, _ = _toy()
    shards, streamed, history, n = trained_from_tfrecord
    assert n == 90

    keras.utils.set_random_seed(0)
    in_memory = LIB(4, **SMALL)
    arrays = tf.data.Dataset.from_tensor_slices((X, L)).batch(16).repeat()
    reference = distribute.fit_lib(in_memory, arrays, epochs=2, steps_per_epoch=6, features=X, learning_rate=1e-2)
    np.testing.assert_allclose(history.history["loss"], reference.history["loss"], rtol=1e-5)
    for a, b in zip(streamed.weights, in_memory.weights):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-6, err_msg=a.path)

    written = distribute.predict_streaming(streamed, shards, tmp_path / "pred", batch_size=32)
    assert [p.split("/")[-1] for p in written] == [f"part-0000{i}.distributions.npy" for i in range(3)]
    predicted = read_prediction_shards(written)
    np.testing.assert_allclose(predicted, in_memory.predict(X, verbose=0), atol=1e-5)
    np.testing.assert_allclose(predicted.sum(1), 1.0, atol=1e-5)


def test_npy_shards_train_like_tfrecord_shards(trained_from_tfrecord, tmp_path):
    X, L, _ = _toy()
    write_shards(tmp_path / "n", X, L, format="npy", rows_per_shard=40)
    _, from_tfrecord, _, _ = trained_from_tfrecord
    from_npy, _, _ = _train_streamed(find_shards(str(tmp_path / "n" / "*.npy")))
    for a, b in zip(from_tfrecord.weights, from_npy.weights):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-6)


def test_cli_enhance_streams_shards_and_writes_prediction_shards(tmp_path, capsys):
    from lib_tf.cli import main

    X, L, _ = _toy(n=60)
    write_shards(tmp_path / "shards", X, L, format="tfrecord", rows_per_shard=25)
    out = tmp_path / "out"
    args = ["enhance", "--input", str(tmp_path / "shards" / "*.tfrecord"), "--epochs", "2", "--batch-size", "16",
            "--model", "paper", "--quiet", "--out", str(out)]
    assert main(args) == 0
    settings = json.loads((out / "settings.json").read_text())
    assert settings["n"] == 60 and settings["epochs_run"] == 2 and settings["c"] == 4
    predicted = read_prediction_shards([out / p for p in settings["prediction_shards"]])
    assert predicted.shape == (60, 4)
    np.testing.assert_allclose(predicted.sum(1), 1.0, atol=1e-5)
    assert not (out / "backup").exists()  # BackupAndRestore removes its backup when training ends
    assert main(args) == 2
    assert "already holds a finished result" in capsys.readouterr().err
    assert main(args[:1] + ["--dataset", "Artificial"] + args[1:]) == 2
    assert "exactly one of" in capsys.readouterr().err


def _better_than_label_shares(D, L, recovered):
    """The recovered distributions beat ``l / sum(l)`` on Chebyshev and KL (and are distributions)."""
    from lib_tf.baselines.reference import label_shares
    from lib_tf.metrics import score

    np.testing.assert_allclose(recovered.sum(1), 1.0, atol=1e-5)
    ours, naive = score(D, recovered), score(D, label_shares(L))
    assert ours["Chebyshev"] < naive["Chebyshev"] and ours["Kullback-Leibler"] < naive["Kullback-Leibler"], (ours, naive)


def test_label_aware_lib_streams_from_tfrecord_and_npy_shards_reading_their_labels(tmp_path, capsys):
    """``lib-tf enhance --model label-aware --input``: LA-LIB reads each shard's logical labels
    as input (training and read-out) and as training target; TFRecord through the command,
    NumPy pairs through ``train_distributed``; both recover distributions better than
    ``l / sum(l)``, with the settings' read-out recorded (no truth-free choice on shards)."""
    from lib_tf.cli import main
    from lib_tf.recovery import SETTINGS_KEYS

    X, L, D = _toy(n=240, sharpness=0.5)
    write_shards(tmp_path / "tfrecord", X, L, format="tfrecord", rows_per_shard=100)
    out = tmp_path / "out"
    assert main(["enhance", "--input", str(tmp_path / "tfrecord" / "*.tfrecord"), "--model", "label-aware",
                 "--epochs", "4", "--batch-size", "32", "--quiet", "--out", str(out)]) == 0
    assert "read-out: the model's own at T=1, no label term" in capsys.readouterr().out
    settings = json.loads((out / "settings.json").read_text())
    assert set(SETTINGS_KEYS) <= set(settings) and settings["n"] == 240
    assert (settings["model"], settings["readout"], settings["label_dropout"]) == ("label-aware", "given", 0.5)
    _better_than_label_shares(D, L, read_prediction_shards([out / p for p in settings["prediction_shards"]]))

    write_shards(tmp_path / "npy", X, L, format="npy", rows_per_shard=100)
    params = {key: settings[key] for key in ("model", "alpha", "beta", "latent_dim", "head_units", "label_dropout",
                                             "temperature", "label_temperature", "epochs", "batch_size", "random_state")}
    trained = distribute.train_distributed(params, shards=str(tmp_path / "npy" / "*.npy"))
    assert trained.n_instances == 240
    written = distribute.predict_streaming(trained.model, str(tmp_path / "npy" / "*.npy"), tmp_path / "pred")
    _better_than_label_shares(D, L, read_prediction_shards(written))
    with pytest.raises(ValueError, match="readout='truth-free' is not available for streamed"):
        distribute.train_distributed({**params, "readout": "truth-free"}, shards=str(tmp_path / "npy" / "*.npy"))


def test_prediction_shards_refuse_logical_labels_the_read_out_has_no_answer_for(tmp_path):
    """A read-out that reads the labels gets them checked shard by shard; the message names the
    shard and the row counted from the shard's start."""
    from lib_tf.data.streaming.prediction import predict_to_shards

    X, L, _ = _toy(n=30)
    L[17] = 0
    write_shards(tmp_path / "s", X, L, format="npy", rows_per_shard=20)
    with pytest.raises(ValueError, match=r"part-00000.features.npy row 17 has no relevant label"):
        predict_to_shards(lambda batch: batch[1], str(tmp_path / "s" / "*.npy"), tmp_path / "p", batch_size=8,
                          labels=True)


def _write_unchecked_shard(folder, fmt, X, L):
    """One shard ``part-0`` of X and L as another tool might write it: no check of the labels
    (this package's writers refuse bad ones)."""
    import tensorflow as tf

    from lib_tf.contract import DEFAULT_FEATURE_KEY, LOGICAL_LABELS, serialize_example

    if fmt == "npy":
        np.save(folder / "part-0.features.npy", X)
        np.save(folder / "part-0.logical_labels.npy", L)
        return
    with tf.io.TFRecordWriter(str(folder / "part-0.tfrecord")) as writer:
        for x, l in zip(X, L):
            writer.write(serialize_example({DEFAULT_FEATURE_KEY: x, LOGICAL_LABELS: l}))


@pytest.mark.parametrize("fmt", ["tfrecord", "npy"])
@pytest.mark.parametrize("fault", ["a 2", "NaN", "a row of zeros"])
def test_reading_shards_for_training_refuses_bad_labels(tmp_path, fmt, fault):
    """Shards written by other tools are not checked by this package's writers: the training
    stream checks the labels it reads (a NumPy shard's error names its labels file and row)."""
    import tensorflow as tf

    X, L, _ = _toy(n=30)
    L = L.astype(np.float64)
    L[17] = {"a 2": [1, 2, 0, 0], "NaN": [1, np.nan, 0, 0], "a row of zeros": [0, 0, 0, 0]}[fault]
    _write_unchecked_shard(tmp_path, fmt, X, L)
    zeros = fault == "a row of zeros"
    expected = {"npy": r"part-0\.features\.npy " + ("row 17 has no relevant label" if zeros else ".*row 17"),
                "tfrecord": "TFRecord shards must " + ("mark at least one relevant label" if zeros else "hold 0 or 1")}[fmt]
    with pytest.raises(tf.errors.OpError, match=expected):
        _collect(shard_dataset(str(tmp_path / "*"), batch_size=8))
    features = np.concatenate([x.numpy() for x in shard_dataset(str(tmp_path / "*"), batch_size=8, labels=False)])
    np.testing.assert_array_equal(features, X)  # features alone read on


@pytest.mark.parametrize("fmt", ["tfrecord", "npy"])
def test_cli_streaming_shards_with_bad_labels_says_so_in_one_line(tmp_path, capsys, fmt):
    """``lib-tf enhance --input`` on shards holding a row of zeros: exit status 2 and the
    check's message, not TensorFlow's traceback; nothing written."""
    from lib_tf.cli import main

    X, L, _ = _toy(n=40)
    L[17] = 0
    _write_unchecked_shard(tmp_path, fmt, X, L)
    out = tmp_path / "out"
    assert main(["enhance", "--input", str(tmp_path / f"*.{fmt}"),
                 "--model", "label-aware", "--epochs", "2", "--batch-size", "16", "--quiet", "--out", str(out)]) == 2
    error = capsys.readouterr().err.strip()
    expected = {"npy": "part-0.features.npy row 17 has no relevant label (all zeros)",
                "tfrecord": "shards must mark at least one relevant label (a 1) in every row"}[fmt]
    assert error.startswith("lib-tf enhance: error: ") and expected in error and "\n" not in error, error
    assert not (out / "settings.json").exists()
