"""The model card (``assets.extra/model_card.json``): what was exported, how it reads out, its
hyper-parameters, measures and signatures (per signature each input and output: name, dtype,
shape and what it holds; for ``serving_examples`` what every tf.Example carries), and when.

Rebuilds are byte-identical when the training is: with ``SOURCE_DATE_EPOCH`` set (the
reproducible-builds convention; ``make saved-model`` sets it) the card's ``exported_at`` is that
time, and ``lib-tf export`` leaves the training's wall time out of the card.
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Mapping, Union

import numpy as np

from .._version import __version__
from ..contract import (DEFAULT_FEATURE_KEY, EXAMPLES, EXAMPLES_SIGNATURE, FEATURES, GAP_DEVIATION, LABEL_DISTRIBUTION,
                        LOGICAL_LABELS, Key)

ASSETS_EXTRA = "assets.extra"
MODEL_CARD = "model_card.json"


def reproducible_build() -> bool:
    """Whether ``SOURCE_DATE_EPOCH`` asks for a reproducible export (set and not empty)."""
    return bool(os.environ.get("SOURCE_DATE_EPOCH"))


def export_timestamp() -> str:
    """UTC time for the model card: ``SOURCE_DATE_EPOCH`` (seconds) if set, else now."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if not epoch:
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    try:
        seconds = int(epoch)
    except ValueError:
        raise ValueError(f"SOURCE_DATE_EPOCH must be an integer number of seconds, got {epoch!r}") from None
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def card_hyperparameters(model_or_enhancer, model) -> dict:
    """The card's ``hyperparameters``: every argument of a fitted ``LabelEnhancer``
    (``get_params()`` but ``verbose``) and the epochs it ran as ``epochs_run``; of a bare model,
    its constructor arguments (``get_config()`` without what every Keras layer's config has).
    A new hyper-parameter appears on the card without a change here."""
    if hasattr(model_or_enhancer, "get_params"):
        params = {k: v for k, v in model_or_enhancer.get_params().items() if k != "verbose"}
        if getattr(model_or_enhancer, "epochs_", None) is not None:
            params["epochs_run"] = int(model_or_enhancer.epochs_)
        return params
    import keras

    keras_own = set(keras.layers.Layer.get_config(model))
    return {k: v for k, v in model.get_config().items() if k not in keras_own}


def _readout(model) -> str:
    if not model.reads_labels:
        return "deterministic, at the posterior mean mu_h: softmax(z / temperature)"
    return ("deterministic, at the posterior mean mu_h: rule_consistent(softmax(z / temperature + l / label_temperature), "
            f"l) with label_temperature {model.label_temperature}, rule projection {model.rule_projection}")


#: What each signature input and output holds, by name (the card adds it to dtype and shape).
_HOLDS = {
    FEATURES: "raw features, one row per instance (the standardisation is inside the graph)",
    LOGICAL_LABELS: (f"each instance's logical labels, one row per row of '{FEATURES}': 0 or 1 only, at least one 1 "
                     "(a relevant label) in every row"),
    EXAMPLES: "serialized tf.Example, one per instance, holding the values of 'example_features'",
    LABEL_DISTRIBUTION: "the recovered label distribution, rows sum to 1",
    GAP_DEVIATION: "sigma_delta > 0, LIB's per-instance gap deviation",
}


def _described(specs: Mapping) -> dict:
    """``{name: {"dtype", "shape", "holds"}}`` from ``{name: {"dtype", "shape"}}``."""
    return {name: {**spec, "holds": _HOLDS[name]} for name, spec in specs.items()}


def _signatures(model, signature_specs: Mapping, feature_key: Key) -> dict:
    """The card's ``signatures``: per signature its inputs and outputs (name, dtype, shape and
    what it holds), and for ``serving_examples`` what each tf.Example carries."""
    width, n_labels = int(model.normalizer.mean.shape[0]), int(model.n_labels)
    example_features = {FEATURES: {"key": feature_key if isinstance(feature_key, str) else list(feature_key),
                                   "dtype": "float32", "values": width, "holds": _HOLDS[FEATURES]}}
    if model.reads_labels:
        example_features[LOGICAL_LABELS] = {"key": LOGICAL_LABELS, "dtype": "float32", "values": n_labels,
                                            "holds": _HOLDS[LOGICAL_LABELS]}
    card = {name: {"inputs": _described(specs["inputs"]), "outputs": _described(specs["outputs"])}
            for name, specs in signature_specs.items()}
    card[EXAMPLES_SIGNATURE].update(feature_key=example_features[FEATURES]["key"], example_features=example_features)
    return card


def model_card(model, *, signature_specs: Mapping, label_names=None, data_name=None, hyperparameters=None,
               metrics=None, feature_key: Key = DEFAULT_FEATURE_KEY, extra=None) -> dict:
    """The JSON model card written to ``assets.extra/model_card.json``; ``signature_specs``:
    what the saved signatures take and give (:func:`lib_tf.export.graph.signature_specs`)."""
    import tensorflow as tf

    n_labels = int(model.n_labels)
    names = [f"label_{j}" for j in range(n_labels)] if label_names is None else [str(n) for n in label_names]
    if len(names) != n_labels:
        raise ValueError(f"label_names has {len(names)} names but the model has {n_labels} labels")
    card = {
        "model": ("label-aware LIB (lib_tf's extension of the Label Information Bottleneck, CVPR 2023): the "
                  "posterior reads the features and the logical labels" if model.reads_labels else
                  "LIB (Label Information Bottleneck, CVPR 2023) label enhancement"),
        "label_names": names,
        "d": int(model.normalizer.mean.shape[0]),
        "c": n_labels,
        "alpha": model.alpha,
        "alpha_weights": "the label-gap term",
        "beta": model.beta,
        "beta_weights": "the KL (bottleneck) term",
        "temperature": model.temperature,
        "readout": _readout(model),
        "training_data": data_name,
        "hyperparameters": dict(hyperparameters) if hyperparameters is not None else None,
        "metrics": metrics,
        "signatures": _signatures(model, signature_specs, feature_key),
        "lib_tf_version": __version__,
        "tensorflow_version": tf.__version__,
        "exported_at": export_timestamp(),
    }
    card.update(extra or {})
    return card


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


def write_model_card(version_dir: Union[str, os.PathLike], card: dict) -> Path:
    """Write ``card`` as ``<version_dir>/assets.extra/model_card.json`` (NumPy values as plain
    numbers, anything else JSON cannot hold as its ``str``); returns the file."""
    path = Path(version_dir) / ASSETS_EXTRA / MODEL_CARD
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(card, indent=2, default=_json_default) + "\n")
    return path


def read_model_card(path: Union[str, os.PathLike]) -> dict:
    """The model card of an exported version folder."""
    return json.loads((Path(path) / ASSETS_EXTRA / MODEL_CARD).read_text())
