"""What a trial is scored on, and the search spaces: no Keras Tuner, no TensorFlow.

The objectives are described in :mod:`lib_tf.tuning`; what they compute is the read-out
package's (:mod:`lib_tf.readout.selection`, :mod:`lib_tf.readout.posterior`).
"""
from __future__ import annotations

from ..model.epochs import auto_epochs

#: Objective name -> the metric a trial reports for it (minimised).
OBJECTIVES = {"revealed": "revealed_kl", "truth-free": "heldout_expected_kl"}
#: Objective name -> the share of the instances it sets apart by default: revealed (their
#: ground truth is the trial's score) or held out (not trained on; the trial is scored on them).
DEFAULT_SHARES = {"revealed": 0.1, "truth-free": 0.2}
#: Search-space entries sampled on a log scale, on a linear one; every other entry is a choice.
LOG_SCALE = ("alpha", "beta", "learning_rate")
LINEAR_SCALE = ("label_dropout",)
#: The paper model's search space; every entry can be overridden through ``LIBHyperModel(space=...)``.
DEFAULT_SPACE = {
    "alpha": (1e-3, 10.0),
    "beta": (1e-3, 10.0),
    "learning_rate": (3e-4, 1e-2),
    "latent_dim": (16, 32, 64, 128, 256),
    "hidden_units": (32, 64, 128, 256),
    "batch_size": (64, 128, 256),  # smaller batches cost more per epoch on CPU
}
#: The label-aware model's: its share of hidden labels, and the width of the three networks that
#: read h (``head_units``) instead of every network's (the encoder keeps ``hidden_units``); beta
#: reaches past its shipped 10 (the prototype's grid went to 30, benchmarks/LABEL_AWARE.md).
LABEL_AWARE_SPACE = {
    "alpha": (1e-3, 10.0),
    "beta": (1e-2, 100.0),
    "learning_rate": (3e-4, 1e-2),
    "label_dropout": (0.0, 0.75),
    "latent_dim": (16, 32, 64, 128, 256),
    "head_units": (32, 64, 128, 256),
    "batch_size": (64, 128, 256),
}
#: The space searched for each model LabelEnhancer fits (``LabelEnhancer(model=...)``).
SPACES = {"paper": DEFAULT_SPACE, "label-aware": LABEL_AWARE_SPACE}
#: The model a search tunes unless told (``lib-tf tune``, the hyper-model, the TFX entry points):
#: the paper's LIB, whose search space and presets came first.
SEARCHED_MODEL = "paper"


def default_max_epochs(n_instances: int) -> int:
    """About 2000 Adam steps at batch 128 (LabelEnhancer's automatic count), 20 to 300 epochs."""
    return auto_epochs(n_instances, 128)
