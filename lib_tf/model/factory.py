"""The one place a model is made from settings: :func:`build_model`.

LabelEnhancer, distributed training and the tuner hold LabelEnhancer-style settings (its
``get_params()``: ``model``, ``alpha``, ``beta``, network sizes, ``label_dropout``, ...,
``random_state``) and build the model they train here. Which settings reach the model is read
from the chosen class's constructor, so a new model argument declared in
:data:`lib_tf.hparams.LABEL_ENHANCER_CONSTRAINTS` (and LabelEnhancer's signature) reaches
every path that builds a model without naming it here.
"""
from __future__ import annotations

import contextlib
import inspect

import keras

from .label_aware import LabelAwareLIB
from .lib import LIB

#: The model classes by the name ``LabelEnhancer(model=...)`` takes (:data:`lib_tf.hparams.MODELS`).
MODEL_CLASSES = {"paper": LIB, "label-aware": LabelAwareLIB}
#: Constructor parameters that are no setting: what the caller passes, and Keras' own.
_NOT_SETTINGS = {"self", "n_labels", "kwargs", "seed"}


def model_class(settings: dict) -> type:
    """The class ``settings["model"]`` names (default ``"paper"``: :class:`LIB`)."""
    name = settings.get("model", "paper")
    if name not in MODEL_CLASSES:
        raise ValueError(f"model must be one of {tuple(MODEL_CLASSES)}, got {name!r}")
    return MODEL_CLASSES[name]


def model_arguments(cls: type, settings: dict) -> dict:
    """The entries of ``settings`` that are constructor arguments of ``cls`` or of the classes
    it extends (``cls`` itself first), with ``random_state`` (scikit-learn's name) passed as
    the model's ``seed``."""
    names = set()
    for klass in cls.__mro__:
        if isinstance(klass, type) and issubclass(klass, LIB):
            names |= set(inspect.signature(klass.__init__).parameters) - _NOT_SETTINGS
    arguments = {name: value for name, value in settings.items() if name in names}
    if "random_state" in settings:
        arguments["seed"] = settings["random_state"]
    return arguments


def build_model(n_labels: int, settings: dict, strategy=None):
    """A new :class:`LIB` or :class:`LabelAwareLIB` for ``n_labels`` labels, as ``settings`` say.

    Parameters
    ----------
    n_labels : int
        c, the number of labels.
    settings : dict
        LabelEnhancer constructor arguments (missing ones take the model's defaults). A
        ``random_state`` that is not None seeds Python, NumPy and TensorFlow first
        (``keras.utils.set_random_seed``), so that a refit with the same settings repeats.
    strategy : tf.distribute.Strategy, optional
        Where the model's variables live (default: the current strategy).

    Returns
    -------
    LIB or LabelAwareLIB
    """
    cls = model_class(settings)
    if settings.get("random_state") is not None:
        keras.utils.set_random_seed(int(settings["random_state"]))
    with strategy.scope() if strategy is not None else contextlib.nullcontext():
        return cls(n_labels, **model_arguments(cls, settings))
