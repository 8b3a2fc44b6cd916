"""LIB as a Keras model and its loss terms.

``LIB`` loads TensorFlow on first use, so NumPy-only modules such as
``lib_tf.model.epochs`` import without it.
"""
from importlib import import_module

__all__ = ["LIB", "LabelAwareLIB", "TwoStageSchedule"]
_HOMES = {"LIB": "lib_tf.model.lib", "TwoStageSchedule": "lib_tf.model.training", "LabelAwareLIB": "lib_tf.model.label_aware"}


def __getattr__(name):
    if name in _HOMES:
        return getattr(import_module(_HOMES[name]), name)
    raise AttributeError(f"module 'lib_tf.model' has no attribute {name!r}")
