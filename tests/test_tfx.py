"""TFX-style entry points with fn_args-like objects and files made the way ExampleGen makes them."""
import json
import re
import types
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from lib_tf import tfx
from lib_tf.export import versions
from lib_tf.export.card import read_model_card

ROOT = Path(__file__).resolve().parents[1]
D, C = 4, 3
TINY = {"epochs": 2, "hidden_units": 8, "latent_dim": 4}


def _split(rng, n):
    X = rng.normal(size=(n, D))
    L = (rng.random((n, C)) > 0.5).astype(float)
    L[:, 2] = 1
    distributions = (L + 0.1 * rng.random((n, C))) / (L + 0.1 * rng.random((n, C))).sum(1, keepdims=True)
    return X, L, distributions / distributions.sum(1, keepdims=True)


@pytest.fixture(scope="module")
def examples(tmp_path_factory):
    """ExampleGen's output: Split-train/ and Split-eval/ of gzipped TFRecords of tf.Example."""
    root = tmp_path_factory.mktemp("examples")
    rng = np.random.default_rng(0)
    splits = {"train": _split(rng, 48), "eval": _split(rng, 16)}
    for name, (X, L, distributions) in splits.items():
        half = len(X) // 2
        for shard, rows in enumerate((slice(0, half), slice(half, None))):
            tfx.write_examples(root / f"Split-{name}" / f"data_tfrecord-{shard:05d}-of-00002.gz",
                               X[rows], L[rows], distributions[rows])
    return root, splits


def _fn_args(root, tmp_path, **extra):
    return types.SimpleNamespace(
        train_files=[str(root / "Split-train" / "*")], eval_files=[str(root / "Split-eval" / "*")],
        serving_model_dir=str(tmp_path / "Format-Serving"), working_dir=str(tmp_path / "tuner"),
        hyperparameters=None, train_steps=None, eval_steps=None,
        custom_config={"enhancer": dict(TINY), "data_name": "synthetic", "max_trials": 1, **extra})


def test_read_examples_round_trips_examplegen_files(examples):
    root, splits = examples
    X, L, distributions = tfx.read_examples([str(root / "Split-train")])
    np.testing.assert_allclose(X, splits["train"][0], atol=1e-6)
    np.testing.assert_array_equal(L, splits["train"][1])
    np.testing.assert_allclose(distributions, splits["train"][2], atol=1e-6)
    with pytest.raises(FileNotFoundError, match="no TFRecord files"):
        tfx.read_examples([str(root / "Split-test" / "*")])


def test_read_examples_takes_one_key_per_column_and_names_the_key_of_a_bad_example(tmp_path):
    """The shard reader and writer of lib_tf.data.streaming, as tfx uses them: gzipped files,
    CsvExampleGen's one scalar per column, and an example of another width refused by key."""
    X, L, distributions = _split(np.random.default_rng(4), 6)
    columns = {"feature_key": [f"x{i}" for i in range(D)], "label_key": [f"l{j}" for j in range(C)],
               "distribution_key": [f"d{j}" for j in range(C)]}
    tfx.write_examples(tmp_path / "columns" / "part.gz", X, L, distributions, **columns)
    read_X, read_L, read_D = tfx.read_examples(str(tmp_path / "columns"), **columns)
    np.testing.assert_allclose(read_X, X, atol=1e-6)
    np.testing.assert_array_equal(read_L, L)
    np.testing.assert_allclose(read_D, distributions, atol=1e-6)
    assert tfx.read_examples(str(tmp_path / "columns"), **{**columns, "distribution_key": ["e0", "e1", "e2"]})[2] is None
    tfx.write_examples(tmp_path / "mixed" / "a.gz", X, L)
    tfx.write_examples(tmp_path / "mixed" / "b.gz", X[:, :-1], L)
    with pytest.raises(ValueError, match=f"exactly {D} float values under the feature key"):
        tfx.read_examples(str(tmp_path / "mixed"))
    with pytest.raises(ValueError, match=r"lacks the float list\(s\) \['labels'\]"):
        tfx.read_examples(str(tmp_path / "mixed"), label_key="labels")


def test_tuner_fn_then_run_fn_with_the_best_hyperparameters(examples, tmp_path):
    root, splits = examples
    fn_args = _fn_args(root, tmp_path)
    result = tfx.tuner_fn(fn_args)
    assert result.tuner.oracle.objective.name == "revealed_kl"  # lib-tf tune's objective
    result.tuner.search(**result.fit_kwargs)  # what the TFX Tuner component runs
    best = result.tuner.get_best_hyperparameters()[0]
    # Complete LabelEnhancer arguments: the searched values, the fixed ones and the picked T.
    assert 1e-3 <= best.values["alpha"] <= 10 and best.values["hidden_units"] == 8 and best.values["epochs"] == 2
    assert best.values["temperature"] > 0
    # The Tuner writes best.get_config() as JSON; the Trainer hands it over as fn_args.hyperparameters.
    fn_args.hyperparameters = json.loads(json.dumps(best.get_config()))
    path = Path(tfx.run_fn(fn_args))
    assert path == Path(fn_args.serving_model_dir) and (path / "saved_model.pb").is_file()
    card = read_model_card(path)
    assert (card["alpha"], card["beta"], card["temperature"]) == tuple(best.values[k] for k in ("alpha", "beta", "temperature"))
    assert set(card["metrics"]) == {"train", "eval"} and card["training_data"] == "synthetic"
    # serving_examples takes the very records ExampleGen wrote (extra keys are ignored).
    records = [r.numpy() for r in tf.data.TFRecordDataset(
        sorted(str(p) for p in (root / "Split-eval").iterdir()), compression_type="GZIP")]
    out = tf.saved_model.load(str(path)).signatures["serving_examples"](examples=tf.constant(records))
    assert out["label_distribution"].shape == (16, C)
    np.testing.assert_allclose(out["label_distribution"].numpy().sum(1), 1, atol=1e-5)


def test_run_fn_without_tuner_takes_epochs_from_train_steps_and_never_overwrites(examples, tmp_path):
    root, _ = examples
    fn_args = _fn_args(root, tmp_path, distribution_key=None)
    fn_args.custom_config["enhancer"].pop("epochs")
    fn_args.train_steps = 3  # 48 rows, batch 128: one step per epoch -> 3 epochs
    fn_args.hyperparameters = {"alpha": 1.0, "beta": 10.0, "tuner/epochs": 4}
    path = Path(tfx.run_fn(fn_args))
    card = read_model_card(path)
    assert card["hyperparameters"]["epochs"] == 3 and card["alpha"] == 1.0 and card["metrics"] is None
    with pytest.raises(versions.VersionExistsError):
        tfx.run_fn(fn_args)


def test_tuner_fn_without_ground_truth_uses_the_truth_free_objective(examples, tmp_path):
    root, _ = examples
    result = tfx.tuner_fn(_fn_args(root, tmp_path, distribution_key=None))
    assert result.tuner.oracle.objective.name == "heldout_expected_kl"
    assert "distributions" not in result.fit_kwargs and result.tuner.hypermodel.max_epochs == 2


def test_tfx_module_uses_keras_directly_and_not_tfx():
    source = (ROOT / "lib_tf" / "tfx.py").read_text()
    assert not re.search(r"\btf\.keras\.", source)  # no attribute access through tf.keras
    assert "import tfx" not in source and "from tfx" not in source


def test_streaming_shards_and_examplegen_files_share_one_ground_truth_key(tmp_path):
    from lib_tf import contract
    from lib_tf.data.streaming.writers import write_shards

    rng = np.random.default_rng(3)
    X, L, distributions = _split(rng, 10)
    write_shards(tmp_path / "shards", X, L, distributions=distributions, rows_per_shard=4)
    read_X, read_L, read_D = tfx.read_examples(str(tmp_path / "shards" / "*.tfrecord"))
    np.testing.assert_allclose(read_X, X, atol=1e-6)
    np.testing.assert_array_equal(read_L, L)
    np.testing.assert_allclose(read_D, distributions, atol=1e-6)
    # shards written before the names were unified keep the ground truth under "distributions"
    legacy = tmp_path / "legacy.tfrecord"
    with tf.io.TFRecordWriter(str(legacy)) as writer:
        for x, l, d in zip(X, L, distributions):
            writer.write(contract.serialize_example({"features": x, "logical_labels": l, "distributions": d}))
    np.testing.assert_allclose(tfx.read_examples(str(legacy))[2], distributions, atol=1e-6)
    # ...but only under the default key: another key means that key
    assert tfx.read_examples(str(legacy), distribution_key="truth")[2] is None
