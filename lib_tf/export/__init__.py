"""Export a trained LIB as a SavedModel for TensorFlow Serving: :func:`export`.

Layout (what ``tensorflow_model_server --model_base_path`` expects)::

    saved_models/NAME/
        1/  saved_model.pb  variables/  assets.extra/tf_serving_warmup_requests
                                        assets.extra/model_card.json
        2/  ...

Two signatures (names, inputs, outputs and the ``tf.Example`` encoding are those of
:mod:`lib_tf.contract`), both with the outputs ``label_distribution`` (float32 ``[None, c]``,
rows sum to 1) and ``gap_deviation`` (float32 ``[None, 1]``, LIB's per-instance sigma_delta):

- ``serving_default``: input ``features``, float32 ``[None, d]``, *raw* features (the
  standardisation fitted in training is inside the graph);
- ``serving_examples``: input ``examples``, string ``[None]`` of serialized ``tf.Example``
  (the TFX convention), the features under ``feature_key`` (default ``"features"``: one
  float list of d values; a list of d names: one scalar float each, as ``CsvExampleGen``
  writes columns).

A model that reads each instance's logical labels (``model.reads_labels``: the label-aware
:class:`lib_tf.model.LabelAwareLIB`, as LE is used: the client asking for distributions holds
the labels) takes them too: ``serving_default`` then takes ``features`` and ``logical_labels``
(float32 ``[None, c]``, values 0 or 1, at least one 1 per row), and every ``tf.Example``
carries the c labels as one float list under ``logical_labels``. The model card lists each
signature's inputs and outputs with their dtypes and shapes.

The graph traces the model's own ``serving_outputs`` (its forward pass at the posterior mean
``h = mu_h`` and its read-out, as ``LabelEnhancer.transform``), behind run-time checks of
each request. A model trained with ``network_dtype="mixed_bfloat16"`` runs its dense layers in
bfloat16 in the export too, as in Keras. The SavedModel holds the variables the signatures
read and no Keras object: loading it needs TensorFlow only (no Keras, no TFP, no ``lib_tf``).

One job per module: :mod:`~lib_tf.export.versions` (the version layout and the staging that
keeps a version whole), :mod:`~lib_tf.export.graph` (the signatures), :mod:`~lib_tf.export.card`
(the model card), :mod:`~lib_tf.export.warmup` (TF Serving's warm-up requests) and
:mod:`~lib_tf.export.writer` (one SavedModel folder, unversioned: a TFX Trainer's
``serving_model_dir``).

Rebuilds are byte-identical when the training is (it is on one machine: same seed, same bytes
of ``variables/``; see :mod:`~lib_tf.export.card` for ``SOURCE_DATE_EPOCH``). What still
differs is TensorFlow's own ``fingerprint.pb``, which holds a random ``uuid`` per save (its
hashes of graph, signatures and checkpoint agree), and the warm-up requests' model name when
the base folder's name differs.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Optional, Union

from .versions import version_folder
from .writer import write_saved_model


def export(model_or_enhancer, base_dir: Union[str, os.PathLike], version: Optional[int] = None, **kwargs) -> Path:
    """Export a fitted ``LabelEnhancer`` (or trained LIB) as ``base_dir/<version>/``.

    ``version`` defaults to the next free one (:func:`lib_tf.export.versions.next_version`);
    an existing version raises :class:`lib_tf.export.versions.VersionExistsError`. Keyword
    arguments go to :func:`lib_tf.export.writer.write_saved_model` (``feature_key``,
    ``label_names``, ``data_name``, ``metrics``, ``card_extra``). Returns the version folder.
    """
    target = version_folder(base_dir, version)
    kwargs.setdefault("model_name", Path(base_dir).name)
    return write_saved_model(model_or_enhancer, target, **kwargs)
