"""tf.distribute training and fault tolerance (lib_tf.distribute).

Each check runs its TensorFlow work in fresh subprocesses (tests/distribute_jobs.py):
logical CPU devices and multi-worker strategies must exist before TensorFlow initialises,
and a killed run has to end a process of its own. Every subprocess has a timeout; the only
network use is 127.0.0.1.
"""
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("tensorflow")

JOBS = Path(__file__).with_name("distribute_jobs.py")
ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 240


def _env(**extra):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=str(ROOT), CUDA_VISIBLE_DEVICES="")
    env.pop("TF_CONFIG", None)
    env.update(extra)
    return env


def _run(*args, env=None, check=True):
    result = subprocess.run([sys.executable, str(JOBS), *map(str, args)], env=env or _env(), capture_output=True,
                            text=True, timeout=TIMEOUT)
    if check and result.returncode != 0:
        raise AssertionError(f"job {args[0]} failed ({result.returncode}):\n{result.stderr[-3000:]}")
    return result


def _weights(results, prefix):
    return {k[len(prefix):]: v for k, v in results.items() if k.startswith(prefix + "w")}



def _finish_all(processes):
    """Wait for every worker process (killing stragglers), check each exited 0, return outputs."""
    try:
        outputs = [p.communicate(timeout=TIMEOUT) for p in processes]
    finally:
        for p in processes:
            if p.poll() is None:
                p.kill()
                p.wait(timeout=30)
    for p, (_, err) in zip(processes, outputs):
        assert p.returncode == 0, err[-3000:]
    return outputs

def test_mirrored_over_two_cpu_devices_matches_one_device(tmp_path):
    """Same data, same batches. With the latent at the posterior mean (no sampling) the
    computation is the same up to float summation order: every weight within 1e-5 after
    12 SGD steps (without LIB's per-replica loss scaling the update is twice too large and
    this fails by orders of magnitude). With sampling, replica 1 reuses replica 0's noise
    (see lib_tf.distribute), so only the outcome is compared: epoch losses within 5%,
    distributions within 0.02."""
    _run("mirrored", tmp_path / "m.npz")
    r = dict(np.load(tmp_path / "m.npz"))
    assert int(r["replicas"]) == 2
    single, mirrored = _weights(r, "mean_single_"), _weights(r, "mean_mirrored_")
    assert single.keys() == mirrored.keys() and len(single) > 10
    for key in single:
        np.testing.assert_allclose(mirrored[key], single[key], atol=1e-5, err_msg=key)
    np.testing.assert_allclose(r["mean_mirrored_loss"], r["mean_single_loss"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(r["sampled_mirrored_loss"], r["sampled_single_loss"], rtol=0.05)
    np.testing.assert_allclose(r["sampled_mirrored_pred"], r["sampled_single_pred"], atol=0.02)
    # the posterior noise advanced every step on both (12 steps)
    assert r["sampled_single_seed"][1] == r["sampled_mirrored_seed"][1] == 12


def test_two_mirrored_trainings_in_one_process(tmp_path):
    """A second mirrored training in the same process, of another model and size, trains (a
    second MirroredStrategy over the same devices failed its first all-reduce with "Shape
    mismatch in the collective instance"), and both recover the toy truth better than
    l / sum(l)."""
    from lib_tf.metrics import kullback_leibler

    _run("mirrored-twice", tmp_path / "t.npz")
    r = dict(np.load(tmp_path / "t.npz"))
    naive = kullback_leibler(r["truth"], r["labels"] / r["labels"].sum(1, keepdims=True))
    for tag in ("paper", "label_aware"):
        assert int(r[f"{tag}_replicas"]) == 2
        assert kullback_leibler(r["truth"], r[f"{tag}_pred"]) < 0.5 * naive, tag


def _free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def test_two_workers_on_localhost_finish_with_identical_weights(tmp_path):
    workers = [f"127.0.0.1:{port}" for port in _free_ports(2)]
    processes = []
    for index in range(2):
        config = json.dumps({"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}})
        processes.append(subprocess.Popen([sys.executable, str(JOBS), "worker", str(tmp_path / f"w{index}.npz")],
                                          env=_env(TF_CONFIG=config), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                          text=True))
    outputs = _finish_all(processes)
    first, second = (dict(np.load(tmp_path / f"w{i}.npz")) for i in range(2))
    weights = [k for k in first if k.startswith("w")]
    assert len(weights) > 10
    for key in weights:
        np.testing.assert_array_equal(first[key], second[key], err_msg=key)
    np.testing.assert_array_equal(first["pred"], second["pred"])
    assert np.isfinite(first["loss"]).all() and len(first["loss"]) == 2


def _killed_after_epoch_3(result, folder, model):
    """The process ended by the kill, before the killed run wrote its result, and after its
    backup of epoch 3."""
    assert result.returncode == -9, result.stderr[-3000:]
    assert not (folder / model / "killed.npz").exists()
    metadata = [json.loads(p.read_text()) for p in (folder / model / "backup").rglob("*.json")]
    assert any(m.get("epoch") == 3 for m in metadata), metadata


def test_killed_runs_resume_from_their_last_epoch_and_end_where_uninterrupted_ones_do(tmp_path):
    """Two models, 6 epochs each: the paper's LIB from arrays, and LA-LIB from TFRecord shards
    through a seeded shuffle buffer (its label dropout draws from the generator the backup
    saves). Each killed run is SIGKILLed right after epoch 3's backup; its restart with the same
    backup folder, the first run of a fresh process, runs epochs 3-5 only, on the batches and
    posterior noise the uninterrupted run drew there, and ends with its losses and
    distributions (float32 round-off: 1e-6); the backup is removed when training ends.
    LA-LIB's prediction shards beat ``l / sum(l)``. The six runs share three processes (most
    of each process's time is TensorFlow's start): both uninterrupted runs and the paper's
    killed one, then the paper's restart and LA-LIB's killed run, then LA-LIB's restart."""
    first = _run("resumable", tmp_path, "paper:straight", "label-aware:straight", "paper:killed", check=False)
    _killed_after_epoch_3(first, tmp_path, "paper")
    second = _run("resumable", tmp_path, "paper:resumed", "label-aware:killed", check=False)
    _killed_after_epoch_3(second, tmp_path, "label-aware")
    _run("resumable", tmp_path, "label-aware:resumed")
    for model in ("paper", "label-aware"):
        resumed, straight = np.load(tmp_path / model / "resumed.npz"), np.load(tmp_path / model / "straight.npz")
        assert resumed["epochs_run"].tolist() == [3, 4, 5], model
        assert straight["epochs_run"].tolist() == [0, 1, 2, 3, 4, 5], model
        assert not (tmp_path / model / "backup").exists(), model
        np.testing.assert_allclose(resumed["loss"], straight["loss"][3:], rtol=1e-6, err_msg=model)
        np.testing.assert_allclose(resumed["pred"], straight["pred"], atol=1e-6, rtol=0, err_msg=model)
        # and training did something: the loss fell from the first epoch on
        assert float(straight["loss"][-1]) < float(straight["loss"][0]) - 0.2, model
    la = np.load(tmp_path / "label-aware" / "straight.npz")
    assert la["chebyshev"] < la["naive_chebyshev"] and la["kl"] < la["naive_kl"]


def test_label_aware_lib_over_two_cpu_devices_recovers_better_than_label_shares(tmp_path):
    """``lib-tf enhance --model label-aware --strategy mirrored`` on in-memory data, two logical
    CPU devices: LA-LIB's metrics beat ``l / sum(l)`` on Chebyshev and KL."""
    from distribute_jobs import toy  # beside this file (pytest puts its folder on the path)

    X, L, D = toy(n=256, sharpness=0.5)
    for name, array in (("x", X), ("l", L), ("d", D)):
        np.save(tmp_path / f"{name}.npy", array)
    out = tmp_path / "out"
    _run("mirrored-cli", "--features", tmp_path / "x.npy", "--labels", tmp_path / "l.npy", "--distributions",
         tmp_path / "d.npy", "--model", "label-aware", "--strategy", "mirrored", "--epochs", "6", "--batch-size", "32",
         "--quiet", "--out", out)
    settings = json.loads((out / "settings.json").read_text())
    assert settings["replicas"] == 2 and settings["model"] == "label-aware" and settings["readout"] == "given"
    ours, naive = settings["metrics"]["LA-LIB"], settings["metrics"]["l / sum(l)"]
    assert ours["Chebyshev"] < naive["Chebyshev"] and ours["Kullback-Leibler"] < naive["Kullback-Leibler"]


def test_make_strategy_errors():
    from lib_tf import distribute
    from lib_tf.data.pipeline import repeated_batches

    with pytest.raises(ValueError, match="strategy must be one of"):
        distribute.make_strategy("ring")
    env = os.environ.pop("TF_CONFIG", None)
    try:
        with pytest.raises(ValueError, match="TF_CONFIG"):
            distribute.make_strategy("multi-worker")
    finally:
        if env is not None:
            os.environ["TF_CONFIG"] = env


def test_worker_role_reads_tf_config(monkeypatch):
    from lib_tf.distribute import worker_role

    monkeypatch.delenv("TF_CONFIG", raising=False)
    assert worker_role() == (None, 0, True, 1)
    cluster = {"worker": ["127.0.0.1:1", "127.0.0.1:2"]}
    monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": cluster, "task": {"type": "worker", "index": 1}}))
    assert worker_role() == ("worker", 1, False, 2)
    monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": {**cluster, "chief": ["127.0.0.1:3"]},
                                                "task": {"type": "worker", "index": 0}}))
    assert worker_role() == ("worker", 0, False, 3)


def test_cli_strategy_on_in_memory_data_writes_scored_distributions(tmp_path, capsys):
    from lib_tf.cli import main

    out = tmp_path / "out"
    assert main(["enhance", "--dataset", "Artificial", "--strategy", "default", "--epochs", "1", "--batch-size", "256",
                 "--model", "paper", "--quiet", "--out", str(out)]) == 0
    settings = json.loads((out / "settings.json").read_text())
    assert settings["strategy"] == "default" and settings["n"] == 2601 and settings["epochs_run"] == 1
    recovered = np.load(out / "distributions.npy")
    assert recovered.shape == (2601, 3)
    assert 0 < settings["metrics"]["LIB"]["Chebyshev"] < 1
    assert "Chebyshev" in capsys.readouterr().out


def _enhance_on_two_workers(*args):
    """``lib-tf enhance --strategy multi-worker --batch-size 32 --quiet ARGS`` as two worker
    processes on 127.0.0.1; their (stdout, stderr), once both exited 0."""
    workers = [f"127.0.0.1:{port}" for port in _free_ports(2)]
    processes = []
    for index in range(2):
        config = json.dumps({"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}})
        processes.append(subprocess.Popen(
            [sys.executable, "-m", "lib_tf.cli", "enhance", "--strategy", "multi-worker", "--batch-size", "32",
             "--model", "paper", "--quiet", *map(str, args)],
            env=_env(TF_CONFIG=config), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    return _finish_all(processes)


def test_two_workers_run_the_cli_on_tfrecord_shards_and_only_the_chief_writes(tmp_path):
    """``lib-tf enhance --input ... --strategy multi-worker``: TFRecord shards are split by
    file between the workers (4 shards, 2 workers); the chief writes one prediction shard
    per input shard, the other worker nothing."""
    from lib_tf.data.streaming.prediction import read_prediction_shards
    from lib_tf.data.streaming.writers import write_shards

    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 6)).astype(np.float32)
    L = (rng.random((200, 4)) > 0.5).astype(np.float32)
    L[:, 0] = 1
    write_shards(tmp_path / "shards", X, L, format="tfrecord", rows_per_shard=50)
    out = tmp_path / "out"
    outputs = _enhance_on_two_workers("--input", tmp_path / "shards" / "*.tfrecord", "--epochs", 2, "--out", out)
    assert "the chief writes the outputs" in outputs[1][0]
    settings = json.loads((out / "settings.json").read_text())
    assert settings["workers"] == 2 and settings["replicas"] == 2 and settings["n"] == 200
    predicted = read_prediction_shards([out / p for p in settings["prediction_shards"]])
    assert predicted.shape == (200, 4)
    np.testing.assert_allclose(predicted.sum(1), 1.0, atol=1e-5)
    assert sorted(p.name for p in out.iterdir()) == ["predictions", "settings.json"]


def test_two_workers_train_label_aware_lib_on_npy_shards_better_than_label_shares(tmp_path):
    """``lib-tf enhance --model label-aware --input ... --strategy multi-worker`` on NumPy shard
    pairs (split by data between the two workers): the chief's prediction shards, read out
    with each shard's labels, beat ``l / sum(l)`` on Chebyshev and KL."""
    from distribute_jobs import toy  # beside this file (pytest puts its folder on the path)
    from lib_tf.baselines.reference import label_shares
    from lib_tf.data.streaming.prediction import read_prediction_shards
    from lib_tf.data.streaming.writers import write_shards
    from lib_tf.metrics import score

    X, L, D = toy(n=256, sharpness=0.5)
    write_shards(tmp_path / "shards", X, L, format="npy", rows_per_shard=100)
    out = tmp_path / "out"
    _enhance_on_two_workers("--input", tmp_path / "shards" / "*.npy", "--model", "label-aware", "--epochs", 6,
                            "--out", out)
    settings = json.loads((out / "settings.json").read_text())
    assert settings["workers"] == 2 and settings["model"] == "label-aware" and settings["n"] == 256
    recovered = read_prediction_shards([out / p for p in settings["prediction_shards"]])
    ours, naive = score(D, recovered), score(D, label_shares(L))
    assert ours["Chebyshev"] < naive["Chebyshev"] and ours["Kullback-Leibler"] < naive["Kullback-Leibler"]


def test_a_diverging_checkpointed_training_stops_before_its_backup_saves_the_nan_epoch(tmp_path):
    from lib_tf import distribute
    from lib_tf.data.pipeline import repeated_batches
    from lib_tf.model.training import TrainingDivergedError
    from lib_tf.model import LIB

    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3)).astype(np.float32)
    L = np.eye(3, dtype=np.float32)[rng.integers(0, 3, 40)]
    stream, steps = repeated_batches(X.astype(np.float32), L.astype(np.float32), 16, seed=0)
    model = LIB(3, latent_dim=4, hidden_units=8, seed=0)
    with pytest.raises(TrainingDivergedError, match=r"learning_rate=1e\+30, alpha=1.0, beta=1.0"):
        distribute.fit_lib(model, stream, epochs=3, steps_per_epoch=steps, features=X, learning_rate=1e30,
                           backup_dir=tmp_path / "backup")
    assert not (tmp_path / "backup" / "training_metadata.json").exists()
