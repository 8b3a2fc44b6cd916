"""What a trial is scored on, and the search space: no Keras Tuner, no TensorFlow.

The objectives are described in :mod:`lib_tf.tuning`; what they compute is the read-out
package's (:mod:`lib_tf.readout.selection`).
"""
from __future__ import annotations

from ..model.epochs import auto_epochs

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


def default_max_epochs(n_instances: int) -> int:
    """About 2000 Adam steps at batch 128 (LabelEnhancer's automatic count), 20 to 300 epochs."""
    return auto_epochs(n_instances, 128)

