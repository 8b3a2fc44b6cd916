"""Label-enhancement baselines behind one interface (:class:`lib_tf.base.BaseEnhancer`).

``METHODS`` maps each method's name to ``module:Class``; :func:`get_method` imports on
demand, so listing methods costs nothing and LEVI's Keras import happens only when used.
"""
from importlib import import_module

from .reference import LabelSoftmax, NaiveNormalize, label_softmax

METHODS = {
    "l/sum(l)": "lib_tf.baselines.reference:NaiveNormalize",
    "softmax(l/T)": "lib_tf.baselines.reference:LabelSoftmax",
    "FCM": "lib_tf.baselines.fcm:FCM",
    "KM": "lib_tf.baselines.km:KM",
    "LP": "lib_tf.baselines.lp:LP",
    "ML": "lib_tf.baselines.ml:ML",
    "GLLE": "lib_tf.baselines.glle:GLLE",
    "LESC": "lib_tf.baselines.lesc:LESC",
    "gLESC": "lib_tf.baselines.glesc:GLESC",
    "LEVI": "lib_tf.baselines.levi:LEVI",
}


def get_method(name: str):
    """The enhancer class registered under ``name`` (one of ``METHODS``)."""
    if name not in METHODS:
        raise ValueError(f"unknown method {name!r}; choose from {list(METHODS)}")
    module, cls = METHODS[name].split(":")
    return getattr(import_module(module), cls)


__all__ = ["METHODS", "get_method", "NaiveNormalize", "LabelSoftmax", "label_softmax"]
