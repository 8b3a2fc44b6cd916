"""Writing one SavedModel folder: the serving graph, the warm-up requests and the model card,
staged beside the target and renamed into place when whole."""
from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Mapping, Optional, Union

from ..contract import DEFAULT_FEATURE_KEY, Key
from .card import ASSETS_EXTRA, card_hyperparameters, model_card, write_model_card
from .graph import build_serving_module, signature_specs, signatures
from .versions import check_free, publish, remove_abandoned_staging, staging_folder
from .warmup import WARMUP_FILE, warmup_labels, warmup_rows, write_warmup_requests


def served_model(model_or_enhancer):
    """The trained model of a fitted ``LabelEnhancer`` (or the model itself), checked to be
    exportable: a read-out that needs the labels is only exported by a model that reads them."""
    model = getattr(model_or_enhancer, "model_", model_or_enhancer)
    if not hasattr(model, "normalizer") or not hasattr(model, "distribution_head"):
        raise TypeError(f"expected a fitted LabelEnhancer or a trained LIB model, got {type(model_or_enhancer).__name__}")
    # the fitted read-out (select_temperature may have set it), not the constructor's argument
    label_temperature = getattr(model_or_enhancer, "label_temperature_", getattr(model_or_enhancer, "label_temperature", None))
    if not model.reads_labels and label_temperature is not None:
        raise ValueError("label_temperature is set: that read-out needs each instance's logical labels, which the "
                         "paper model's signatures do not take; fit model='label-aware' (its signatures take "
                         "'logical_labels'), or set label_temperature=None (and pick T alone) to export")
    return model


def write_saved_model(model_or_enhancer, path: Union[str, os.PathLike], *, model_name: Optional[str] = None,
                      feature_key: Key = DEFAULT_FEATURE_KEY, label_names=None, data_name=None,
                      metrics: Optional[Mapping] = None, card_extra: Optional[Mapping] = None) -> Path:
    """Write one complete SavedModel (signatures, warm-up, model card) at exactly ``path``.

    ``path`` must not exist (or be an empty folder). Everything is written to a staging folder
    beside it and renamed into place at the end; on any error the staging folder is removed.
    This is the unversioned writer (a TFX Trainer's ``serving_model_dir``);
    :func:`lib_tf.export.export` adds the TF Serving version layout.
    """
    import tensorflow as tf

    model = served_model(model_or_enhancer)
    target = Path(path)
    check_free(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_abandoned_staging(target.parent)
    staging = staging_folder(target)
    try:
        module = build_serving_module(model, feature_key)
        tf.saved_model.save(module, str(staging), signatures=signatures(module))
        (staging / ASSETS_EXTRA).mkdir(exist_ok=True)
        write_warmup_requests(staging / ASSETS_EXTRA / WARMUP_FILE, warmup_rows(model),
                              model_name or target.parent.name or "lib", feature_key, warmup_labels(model))
        write_model_card(staging, model_card(
            model, signature_specs=signature_specs(module), label_names=label_names, data_name=data_name,
            hyperparameters=card_hyperparameters(model_or_enhancer, model), metrics=metrics, feature_key=feature_key,
            extra=card_extra))
        publish(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target


def folder_size(path: Union[str, os.PathLike]) -> int:
    """Total bytes of the files under ``path``."""
    return sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file())
