"""Kills at any moment lose nothing: a SIGKILL of ``lib-tf export`` while it writes (resumed
to the bytes of an uninterrupted export made in another fresh process, no staging folder left)
and a backup cut off mid-write. The full harness (every command, many kills each) is
``benchmarks/fault_injection.py``; ``tests/test_cli.py`` and ``tests/test_distribute.py`` hold
the enhance and --backup-dir cases."""
import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("fault_injection", ROOT / "benchmarks" / "fault_injection.py")
faults = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = faults  # its dataclasses look themselves up there
_spec.loader.exec_module(faults)


def test_killed_exports_resume_to_the_bytes_of_an_uninterrupted_one_in_another_process(tmp_path):
    scenario = faults.scenarios()["export"]
    faults.prepare(tmp_path)
    rng = np.random.default_rng(19)
    reference_out, out = tmp_path / "reference", tmp_path / "killed"
    with open(tmp_path / "reference.log", "ab") as log:  # alongside the kills: two cores, half the wall time
        reference = faults._start(scenario, tmp_path, reference_out, log)
        # one kill, while the export writes (its staging folder appears): where a partial version
        # or a leftover folder would be made; the script's uniform kills are too slow for the suite
        killed = faults.kill_once(scenario, tmp_path, out, tmp_path / "killed.log", rng, 6.0, "writing")
        assert reference.wait() == 0, (tmp_path / "reference.log").read_text()[-3000:]
    assert killed, "the export finished before it was killed"
    # whatever the kills left: nothing that looks like a version, or a whole one
    after_kill = faults.read_result("export", out)
    expected = faults.read_result("export", reference_out)
    if after_kill is not None:
        assert faults.compare("export", after_kill, expected, partial=True)[1] == 0
    faults.run_to_end(scenario, tmp_path, out, tmp_path / "resumed.log")
    resumed = faults.read_result("export", out)
    # the same seed in two fresh processes: byte-identical SavedModels (bar fingerprint.pb's
    # random uuid), so identical weights and distributions, and a reproducible model card
    assert resumed is not None and faults.compare("export", resumed, expected, partial=False) == (0, 0, 0.0)
    assert faults._partials(out) == [], "a staging folder or partial file was left behind"


def test_a_backup_cut_off_mid_write_is_never_resumed_from(tmp_path):
    """A kill while the weights file is written must not leave a backup that every later run
    fails on (Keras' own BackupAndRestore wrote latest.weights.h5 in place: "bad object header
    version number" on each restart); the restart resumes from the last whole checkpoint."""
    import keras

    from lib_tf import distribute
    from lib_tf.data.pipeline import repeated_batches
    from lib_tf.model import LIB

    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3)).astype(np.float32)
    L = np.eye(3, dtype=np.float32)[rng.integers(0, 3, 40)]
    backup = tmp_path / "backup"

    def train(cut_at=None):
        keras.utils.set_random_seed(0)
        model = LIB(3, latent_dim=4, hidden_units=8, seed=0)
        real, calls = model.save_weights, []

        def save_weights(*args, **kwargs):  # the kill: half the file written, then nothing
            path = Path(kwargs.get("filepath", args[0] if args else None))
            calls.append(path)
            real(*args, **kwargs)
            if len(calls) == cut_at:
                path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
                raise KeyboardInterrupt("killed while writing the backup")

        model.save_weights = save_weights
        seen = []
        epochs = keras.callbacks.LambdaCallback(on_epoch_begin=lambda epoch, logs: seen.append(epoch))
        stream, steps = repeated_batches(X.astype(np.float32), L.astype(np.float32), 16, seed=0)
        distribute.fit_lib(model, stream, epochs=3, steps_per_epoch=steps, features=X, backup_dir=backup,
                           callbacks=[epochs])
        return seen

    with pytest.raises(KeyboardInterrupt):
        train(cut_at=2)  # epoch 1's backup whole, epoch 2's cut off
    assert train() == [1, 2]  # resumed after the whole one
    assert not backup.exists()
