"""lib_tf: Label Enhancement with the Label Information Bottleneck in TensorFlow/Keras.

The data and metric layers are NumPy only; names that need TensorFlow load on first use,
so ``import lib_tf`` stays fast for users of the baselines and metrics.
"""
from importlib import import_module

from ._version import __version__
from .data import LDLDataset, binarize, load_ldl, make_artificial
from .metrics import METRIC_NAMES, average_ranks, score

_LAZY = {
    "DistributionMetrics": "lib_tf.callbacks",
    "LIB": "lib_tf.model",
    "LabelAwareLIB": "lib_tf.model",
    "LabelEnhancer": "lib_tf.enhancer",
}

__all__ = ["__version__", "LDLDataset", "binarize", "load_ldl", "make_artificial",
           "METRIC_NAMES", "average_ranks", "score", *_LAZY]


def __getattr__(name):
    if name in _LAZY:
        value = getattr(import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'lib_tf' has no attribute {name!r}")
