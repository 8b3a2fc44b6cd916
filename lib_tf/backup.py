"""The checkpoint of distributed training (:func:`lib_tf.distribute.backup_callback`, its only
user): Keras' ``BackupAndRestore`` written so that a kill at any moment leaves a whole one.

A module of its own beside :mod:`lib_tf.distribute` because it imports Keras when imported,
and ``lib_tf.distribute`` does not (the command line reads its strategy names).
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import keras
import numpy as np

from ._files import write_atomic


class AtomicBackupAndRestore(keras.callbacks.BackupAndRestore):
    """``keras.callbacks.BackupAndRestore`` whose checkpoint is never half-written.

    Keras' own writes ``latest.weights.h5`` in place and then ``training_metadata.json``: a
    process killed inside the first write leaves an unreadable file, and every later run
    fails on it ("bad object header version number"); killed between the two, the weights of
    epoch k + 1 are resumed as epoch k. Here each checkpoint's weights go to a file of their
    own (``checkpoint-<epoch>-<batch>.weights.h5``, written under a hidden name and renamed),
    and then the metadata, written atomically, names that file: whatever moment a kill
    strikes, the metadata names whole weights of its own epoch (or there is none yet, and
    training starts afresh). Older weights files are removed after the metadata moved on.
    Local folders only (``os.replace``).

    The metadata also holds the random generators' states (``keras.random.SeedGenerator``:
    LIB's posterior noise), which Keras' weights file leaves out, so that the noise after a
    resume is the noise the uninterrupted run drew. The data order is the caller's part:
    :meth:`saved_epoch` says how many epochs of the stream to skip.
    """

    def _folder(self) -> Path:
        return Path(self.backup_dir)

    def saved_epoch(self) -> int:
        """The epoch a run started now would resume at (0: none saved)."""
        metadata_file = self._folder() / "training_metadata.json"
        if not metadata_file.exists():
            return 0
        metadata = json.loads(metadata_file.read_text())
        return int(metadata["epoch"]) if (self._folder() / metadata.get("weights", "")).is_file() else 0

    def _generator_states(self):
        """The model's variables that are neither weights nor metrics: its seed generators' states."""
        weights = {id(v) for v in self.model.weights} | {id(v) for v in self.model.metrics_variables}
        return [v for v in self.model.variables if id(v) not in weights]

    def _save_model(self):
        folder = self._folder()
        folder.mkdir(parents=True, exist_ok=True)
        name = f"checkpoint-{self._current_epoch}-{self._last_batch_seen}.weights.h5"
        partial = folder / f".partial-{os.getpid()}.weights.h5"  # Keras insists on the suffix
        self.model.save_weights(str(partial), overwrite=True)
        os.replace(partial, folder / name)
        states = [np.asarray(keras.ops.convert_to_numpy(v)).tolist() for v in self._generator_states()]
        write_atomic(folder / "training_metadata.json", json.dumps(
            {"epoch": self._current_epoch, "batch": self._last_batch_seen, "weights": name,
             "generator_states": states}))
        for old in folder.glob("*.weights.h5"):
            if old.name != name:
                old.unlink(missing_ok=True)

    def _load_model(self):
        if not self.model.built:
            raise ValueError("To use the BackupAndRestore callback, the model must be built before fit()")
        metadata_file = self._folder() / "training_metadata.json"
        if not metadata_file.exists():
            return  # nothing saved yet (or only weights whose metadata never followed): start afresh
        metadata = json.loads(metadata_file.read_text())
        weights = self._folder() / metadata.get("weights", "")
        if not weights.is_file():
            return  # a backup being removed when the last run ended: start afresh
        if self.model.optimizer is not None and not self.model.optimizer.built:
            self.model.optimizer.build(self.model.trainable_variables)
        self.model.load_weights(str(weights))
        states = metadata.get("generator_states", [])
        variables = self._generator_states()
        if len(states) == len(variables):
            for variable, state in zip(variables, states):
                variable.assign(np.asarray(state, dtype=variable.dtype))
        self.model._initial_epoch = metadata["epoch"]

    def on_train_end(self, logs=None):
        if self.delete_checkpoint:
            (self._folder() / "training_metadata.json").unlink(missing_ok=True)  # first: the rest is then no backup
        super().on_train_end(logs)
