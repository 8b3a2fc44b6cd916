"""LIB as a Keras model and its loss terms.

``LIB`` loads TensorFlow on first use, so NumPy-only helpers such as
``lib_tf.model.temperature`` import without it.
"""
from importlib import import_module

__all__ = ["LIB", "TwoStageSchedule"]


def __getattr__(name):
    if name in __all__:
        return getattr(import_module("lib_tf.model.lib"), name)
    raise AttributeError(f"module 'lib_tf.model' has no attribute {name!r}")
