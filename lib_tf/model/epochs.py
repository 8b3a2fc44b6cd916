"""How long LIB trains and how many epochs run per graph call (no TensorFlow needed)."""
from __future__ import annotations

import math

#: Steps of Adam the automatic epoch count aims at, and its bounds (:func:`auto_epochs`).
TARGET_STEPS = 2000
MAX_EPOCHS = 300
MIN_EPOCHS = 20
#: Fewest optimiser steps per graph call: Keras spends milliseconds between its calls, most of
#: an epoch on a small data set, so small data sets run several epochs per call (and longer
#: epochs are cut into calls of this many steps when several epochs per call are not wanted).
STEPS_PER_CALL = 32


def auto_epochs(n_instances: int, batch_size: int) -> int:
    """Epochs giving about ``TARGET_STEPS`` optimiser steps, within [MIN_EPOCHS, MAX_EPOCHS]."""
    steps_per_epoch = math.ceil(n_instances / batch_size)
    return int(min(MAX_EPOCHS, max(MIN_EPOCHS, math.ceil(TARGET_STEPS / steps_per_epoch))))


def epochs_per_call(steps_per_epoch: int, epochs: int, pretrain_epochs: int = 0) -> int:
    """Whole epochs per graph call: the fewest that make ``STEPS_PER_CALL`` steps, lowered to a
    divisor of ``epochs`` and of ``pretrain_epochs`` (so the two-stage schedule switches
    between calls)."""
    wanted = max(1, math.ceil(STEPS_PER_CALL / max(1, steps_per_epoch)))
    return max(k for k in range(1, min(wanted, epochs) + 1) if epochs % k == 0 and pretrain_epochs % k == 0)
