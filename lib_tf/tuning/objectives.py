"""What a trial is scored on, and the search space: NumPy only (no Keras Tuner, no TensorFlow).

The objectives are described in :mod:`lib_tf.tuning`.
"""
from __future__ import annotations

import numpy as np

from ..model.epochs import auto_epochs
from ..model.temperature import softmax_with_temperature
from ..readout import TEMPERATURE_GRID

#: Objective name -> the metric a trial reports for it (minimised).
OBJECTIVES = {"revealed": "revealed_kl", "unsupervised": "heldout_consistency"}
#: Default search space; every entry can be overridden through ``LIBHyperModel(space=...)``.
DEFAULT_SPACE = {
    "alpha": (1e-3, 10.0),
    "beta": (1e-3, 10.0),
    "learning_rate": (3e-4, 1e-2),
    "latent_dim": (16, 32, 64, 128, 256),
    "hidden_units": (32, 64, 128, 256),
    "batch_size": (64, 128, 256),  # smaller batches cost more per epoch on CPU
}


def consistency_loss(distributions, logical_labels, average: bool = True):
    """How far ``distributions`` (n, c) are from binarising (cumulative degree > 0.5) into
    ``logical_labels`` (n, c); 0 when they binarise exactly into them (see :mod:`lib_tf.tuning`)."""
    D = np.asarray(distributions, dtype=np.float64)
    relevant = np.asarray(logical_labels) > 0.5
    big = 2.0
    min_relevant = np.where(relevant, D, big).min(axis=1)
    max_irrelevant = np.where(relevant, -big, D).max(axis=1)
    mass = np.where(relevant, D, 0.0).sum(axis=1)
    has_irrelevant = (~relevant).any(axis=1)
    loss = (np.where(has_irrelevant, np.maximum(0.0, max_irrelevant - min_relevant), 0.0)
            + np.where(has_irrelevant, np.maximum(0.0, 0.5 - mass), 0.0)
            + np.maximum(0.0, mass - min_relevant - 0.5))
    return float(loss.mean()) if average else loss


def select_temperature_unsupervised(logits, logical_labels, grid=TEMPERATURE_GRID) -> float:
    """The T of ``grid`` whose ``softmax(logits / T)`` has the lowest :func:`consistency_loss`
    against the logical labels (no ground truth used); ties go to the earlier grid value."""
    values = [consistency_loss(softmax_with_temperature(logits, t), logical_labels) for t in grid]
    return float(grid[int(np.argmin(values))])

def default_max_epochs(n_instances: int) -> int:
    """About 2000 Adam steps at batch 128 (LabelEnhancer's automatic count), 20 to 300 epochs."""
    return auto_epochs(n_instances, 128)

