"""Keras callbacks that report on a training: the six LDL measures against a known ground truth
after each epoch, and a progress bar over epochs."""
from __future__ import annotations

import keras
import numpy as np

from .data.validation import check_distributions, check_features, check_same_rows
from .metrics import score


class DistributionMetrics(keras.callbacks.Callback):
    """At the end of each ``every`` epochs, predict ``x`` and add the six measures against
    ``distributions`` (n, c) to the epoch's logs, so ``History`` and ``TensorBoard`` (listed
    after this callback) record them, named ``prefix + metric`` (e.g. ``ldl_Chebyshev``)."""

    def __init__(self, x, distributions, prefix: str = "ldl_", every: int = 1, batch_size: int = 1024):
        super().__init__()
        self.x = check_features(x, "x")
        self.distributions = check_distributions(distributions, "distributions")
        check_same_rows(x=self.x, distributions=self.distributions)
        if every < 1:
            raise ValueError(f"every must be a positive number of epochs, got {every}")
        self.prefix, self.every, self.batch_size = prefix, every, batch_size

    def on_epoch_end(self, epoch, logs=None):
        if logs is None or (epoch + 1) % self.every:
            return
        recovered = np.asarray(self.model.predict(self.x, batch_size=self.batch_size, verbose=0), dtype=np.float64)
        for name, value in score(self.distributions, recovered).items():
            logs[self.prefix + name] = value


class EpochProgress(keras.callbacks.Callback):
    """A tqdm progress bar over ``epochs`` epochs (Keras' own bar is per step, one line per
    epoch), showing the latest loss terms. When one Keras epoch stands for several (small
    data sets run several per graph call), the bar moves by that many."""

    def __init__(self, epochs: int, description: str = "LIB"):
        super().__init__()
        self.epochs, self.description = epochs, description
        self.bar = None
        self.epochs_per_update = 1

    def on_train_begin(self, logs=None):
        from tqdm.auto import tqdm

        self.epochs_per_update = max(1, self.epochs // max(1, int(self.params.get("epochs") or self.epochs)))
        self.bar = tqdm(total=self.epochs, desc=self.description, unit="epoch", mininterval=1.0)

    def on_epoch_end(self, epoch, logs=None):
        self.bar.update(self.epochs_per_update)
        if logs:
            self.bar.set_postfix({k: f"{float(v):.3g}" for k, v in logs.items() if k in ("loss", "assignment", "gap", "kl")})

    def on_train_end(self, logs=None):
        self.bar.close()
