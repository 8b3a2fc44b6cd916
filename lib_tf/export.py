"""Export a trained LIB as a SavedModel for TensorFlow Serving.

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

A label-aware model (:class:`lib_tf.model.LabelAwareLIB`) reads each instance's logical labels
too, as LE is used (the client asking for distributions holds the labels): ``serving_default``
then takes ``features`` and ``logical_labels`` (float32 ``[None, c]``, values 0 or 1), and every
``tf.Example`` carries the c labels as one float list under ``logical_labels``.

The graph traces the model's own ``serving_outputs`` (its forward pass at the posterior mean
``h = mu_h`` and its read-out, as ``LabelEnhancer.transform``), behind run-time checks of
each request. A model trained with ``network_dtype="mixed_bfloat16"`` runs its dense layers in
bfloat16 in the export too, as in Keras. The SavedModel holds the variables the signatures
read and no Keras object: loading it needs TensorFlow only (no Keras, no TFP, no ``lib_tf``).

A version is written into a hidden staging folder next to it and renamed into place when it
is complete, so a crash never leaves a half-written version (TF Serving ignores folders whose
names are not integers). A process killed outright cannot remove its staging folder: the next
export into the same folder does (:func:`remove_abandoned_staging`; the folder's name records
the host and process that wrote it, and one whose process still runs is left alone). An
existing version is never overwritten.

Rebuilds are byte-identical when the training is (it is on one machine: same seed, same bytes
of ``variables/``): with ``SOURCE_DATE_EPOCH`` set (the reproducible-builds convention; ``make
saved-model`` sets it) the model card's ``exported_at`` is that time and ``lib-tf export``
leaves the training's wall time out of the card. What still differs is TensorFlow's own
``fingerprint.pb``, which holds a random ``uuid`` per save (its hashes of graph, signatures and
checkpoint agree), and the warm-up requests' model name when the base folder's name differs.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import socket
import time
import uuid
from pathlib import Path
from typing import Mapping, Optional, Union

import numpy as np

from ._files import process_alive
from ._version import __version__
from .contract import (DEFAULT_FEATURE_KEY, DEFAULT_SIGNATURE, EXAMPLES, EXAMPLES_SIGNATURE, FEATURES, GAP_DEVIATION,
                       LABEL_DISTRIBUTION, LOGICAL_LABELS, OUTPUT_NAMES, Key, feature_keys, parse_floats,
                       serialize_examples)

ASSETS_EXTRA = "assets.extra"
WARMUP_FILE = "tf_serving_warmup_requests"
MODEL_CARD = "model_card.json"
STAGING_PREFIX = ".staging-"
_VERSION_NAME = re.compile(r"^[0-9]+$")
#: ``.staging-<target>-<host>-<pid>-<token>``: who wrote it, so a later export can tell an
#: abandoned folder (its process is gone) from one being written now.
_STAGING_NAME = re.compile(rf"^{re.escape(STAGING_PREFIX)}.+-(?P<host>[A-Za-z0-9_]+)-(?P<pid>[0-9]+)-[0-9a-f]{{8}}$")


class VersionExistsError(FileExistsError):
    """The requested model version already exists (versions are never overwritten)."""


# -- versions ---------------------------------------------------------------------------------
def existing_versions(base_dir: Union[str, os.PathLike]) -> list:
    """Integer version folders under ``base_dir`` (sorted); staging folders do not count."""
    base = Path(base_dir)
    if not base.is_dir():
        return []
    return sorted(int(p.name) for p in base.iterdir() if p.is_dir() and _VERSION_NAME.match(p.name))


def next_version(base_dir: Union[str, os.PathLike]) -> int:
    """The next free version number: one more than the highest existing version, or 1."""
    versions = existing_versions(base_dir)
    return versions[-1] + 1 if versions else 1


def _host() -> str:
    return re.sub(r"[^A-Za-z0-9]", "_", socket.gethostname()) or "host"


def _staging_folder(target: Path) -> Path:
    return target.parent / f"{STAGING_PREFIX}{target.name}-{_host()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


def remove_abandoned_staging(base_dir: Union[str, os.PathLike]) -> list:
    """Remove the staging folders under ``base_dir`` whose exporting process was on this host
    and no longer runs (killed before it could clean up); returns the removed paths. Folders
    of a running export, of another host or not named by this module are left alone."""
    base = Path(base_dir)
    if os.name != "posix" or not base.is_dir():
        return []
    removed = []
    for folder in base.iterdir():
        match = _STAGING_NAME.match(folder.name)
        if (match and folder.is_dir() and match["host"] == _host() and int(match["pid"]) != os.getpid()
                and not process_alive(int(match["pid"]))):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


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


# -- the serving graph ------------------------------------------------------------------------
def build_serving_module(model, feature_key: Key = DEFAULT_FEATURE_KEY):
    """The ``tf.Module`` whose two functions the export saves as its signatures.

    Both trace the model's own :meth:`~lib_tf.model.LIB.serving_outputs` (the forward pass at
    the posterior mean, with the model's read-out), behind run-time checks of the request:
    the features' width, finite values (after standardising, so a value that overflows
    float32 there is refused too) and, for a label-aware model, labels of the features' row
    count holding 0 or 1 only. The module tracks exactly the variables those functions read
    (standardisation, encoder, label-distribution and gap heads; not the decoder) and
    nothing of Keras, so the SavedModel loads with TensorFlow alone.

    Parameters
    ----------
    model : lib_tf.model.LIB or lib_tf.model.LabelAwareLIB
        Trained (its standardisation adapted). A label-aware model's functions take the
        logical labels too.
    feature_key : str or sequence of str
        Where ``serving_examples`` reads the features (see :func:`lib_tf.contract.parse_floats`).

    Returns
    -------
    tf.Module
        With ``serve_features`` (``features`` float32 (n, d) [, ``logical_labels`` float32
        (n, c)]) and ``serve_examples`` (``examples`` string (n,)), each returning
        ``{"label_distribution": (n, c), "gap_deviation": (n, 1)}`` float32.

    Raises
    ------
    ValueError
        If the model is not trained or ``feature_key`` is not a name or d distinct names.
    """
    import tensorflow as tf

    from .model import LabelAwareLIB

    if not model.built or not model.standardization_is_adapted:
        raise ValueError("the model is not trained: fit it (or adapt its standardisation) before exporting")
    width, n_labels = int(model.normalizer.mean.shape[0]), int(model.n_labels)
    keys = feature_keys(feature_key, width)
    label_aware = isinstance(model, LabelAwareLIB)

    def checked_features(features, source):
        """The features after run-time checks of their width and values, and their row count."""
        # The signature's static shape is not enforced when a server feeds a tensor, so the
        # width is checked at run time; n * width == size cannot be constant-folded away.
        rows = tf.shape(features, out_type=tf.int64)[0]
        width_check = tf.debugging.assert_equal(
            tf.size(features, out_type=tf.int64), rows * width,
            message=f"LIB serving: '{FEATURES}' must be float32 of shape [batch, {width}] "
                    f"(raw features, {width} per instance); got another width")
        with tf.control_dependencies([width_check]):  # identities carry checks (see checked_labels)
            features = tf.identity(features)
        # NaN or inf would come out as a confident-looking distribution (softmax of NaN
        # logits is NaN, of saturated ones a one-hot): refuse the request instead.
        finite_check = tf.debugging.assert_all_finite(
            model.normalizer(features),
            message=f"LIB serving: {source} must be finite; got NaN or inf (or a value so large that "
                    f"standardising it overflows float32)")
        with tf.control_dependencies([finite_check]):
            return tf.identity(features), rows

    def checked_labels(logical_labels, rows):
        """The labels, after run-time checks of their shape against the features and values
        (0 or 1 only, which refuses NaN and inf too)."""
        checks = [
            tf.debugging.assert_equal(
                tf.size(logical_labels, out_type=tf.int64), rows * n_labels,
                message=f"LIB serving: '{LOGICAL_LABELS}' must be float32 of shape [batch, {n_labels}], one row per "
                        f"row of '{FEATURES}'"),
            tf.debugging.assert_equal(
                tf.reduce_all(tf.logical_or(tf.equal(logical_labels, 0.0), tf.equal(logical_labels, 1.0))), True,
                message=f"LIB serving: '{LOGICAL_LABELS}' must hold 0 or 1 only (logical labels)"),
        ]
        # An op made in the context whose inputs come from outside it carries the checks: the
        # identity does; a reshape to a shape built in the context would not (the shape's
        # constant drops control dependencies, and the ops after it count them as implied).
        with tf.control_dependencies(checks):
            logical_labels = tf.identity(logical_labels)
        return tf.reshape(logical_labels, tf.stack([rows, tf.constant(n_labels, tf.int64)]))

    def outputs(features, source, logical_labels=None):
        features, rows = checked_features(features, source)
        served = (model.serving_outputs(features, checked_labels(logical_labels, rows)) if label_aware
                  else model.serving_outputs(features))
        return {LABEL_DISTRIBUTION: tf.ensure_shape(served[LABEL_DISTRIBUTION], [None, n_labels]),
                GAP_DEVIATION: tf.ensure_shape(served[GAP_DEVIATION], [None, 1])}

    def serve_features(features):
        return outputs(features, f"'{FEATURES}'")

    def serve_features_and_labels(features, logical_labels):
        return outputs(features, f"'{FEATURES}'", logical_labels)

    def serve_examples(examples):
        columns = [(keys, width, "feature")] + ([(LOGICAL_LABELS, n_labels, "label")] if label_aware else [])
        features, *labels = parse_floats(examples, columns)
        logical_labels = labels[0] if label_aware else None
        return outputs(features, f"the features of '{EXAMPLES}' (key {keys!r})", logical_labels)

    feature_spec = tf.TensorSpec([None, width], tf.float32, name=FEATURES)
    module = tf.Module(name="lib_serving")
    if label_aware:
        module.serve_features = tf.function(serve_features_and_labels, input_signature=[
            feature_spec, tf.TensorSpec([None, n_labels], tf.float32, name=LOGICAL_LABELS)])
    else:
        module.serve_features = tf.function(serve_features, input_signature=[feature_spec])
    module.serve_examples = tf.function(serve_examples, input_signature=[tf.TensorSpec([None], tf.string, name=EXAMPLES)])
    # Saving needs every variable the functions capture tracked by the module: these, once
    # each, in the model's order (a function's own list of them has no stable order, and
    # rebuilds are to be byte-identical).
    read = {id(variable) for function in signatures(module).values() for variable in function.variables}
    module.served_variables = [weight.value for weight in model.weights if id(weight.value) in read]
    if len(module.served_variables) != len(read):
        raise RuntimeError("the serving functions read variables that are not the model's weights")
    return module


def signatures(module):
    """The ``{name: concrete function}`` mapping given to ``tf.saved_model.save``."""
    return {DEFAULT_SIGNATURE: module.serve_features.get_concrete_function(),
            EXAMPLES_SIGNATURE: module.serve_examples.get_concrete_function()}


# -- assets.extra -----------------------------------------------------------------------------
def warmup_rows(model, n_rows: int = 4) -> np.ndarray:
    """Synthetic warm-up features (no training data): the training mean, +-1 and +0.5 std."""
    mean = np.asarray(model.normalizer.mean.numpy(), np.float32)
    std = np.asarray(model.normalizer.std.numpy(), np.float32)
    steps = np.array([0.0, 1.0, -1.0, 0.5], np.float32)[:n_rows]
    return mean[None, :] + steps[:, None] * std[None, :]


def warmup_labels(model, n_rows: int = 4) -> Optional[np.ndarray]:
    """Synthetic warm-up logical labels (n_rows, c) for a label-aware model (label i mod c
    relevant in row i), None for the paper's model."""
    from .model import LabelAwareLIB

    if not isinstance(model, LabelAwareLIB):
        return None
    return np.eye(int(model.n_labels), dtype=np.float32)[np.arange(n_rows) % int(model.n_labels)]


def write_warmup_requests(path: Union[str, os.PathLike], rows: np.ndarray, model_name: str,
                          feature_key: Key = DEFAULT_FEATURE_KEY, labels: Optional[np.ndarray] = None) -> int:
    """TF Serving warm-up file: one ``PredictionLog`` per signature; returns the record count.
    ``labels`` (n, c): the logical labels a label-aware model's requests carry."""
    import tensorflow as tf
    from tensorflow_serving.apis import predict_pb2, prediction_log_pb2

    default_inputs = {FEATURES: np.asarray(rows, np.float32)}
    if labels is not None:
        default_inputs[LOGICAL_LABELS] = np.asarray(labels, np.float32)
    requests = []
    for signature, tensor in ((DEFAULT_SIGNATURE, default_inputs),
                              (EXAMPLES_SIGNATURE, {EXAMPLES: np.array(serialize_examples(rows, feature_key, labels),
                                                                             dtype=object)})):
        request = predict_pb2.PredictRequest()
        request.model_spec.name = model_name
        request.model_spec.signature_name = signature
        for name, value in tensor.items():
            request.inputs[name].CopyFrom(tf.make_tensor_proto(value))
        request.output_filter.extend(OUTPUT_NAMES)
        requests.append(request)
    with tf.io.TFRecordWriter(str(path)) as writer:
        for request in requests:
            log = prediction_log_pb2.PredictionLog(predict_log=prediction_log_pb2.PredictLog(request=request))
            writer.write(log.SerializeToString())
    return len(requests)


def model_card(model, *, label_names=None, data_name=None, hyperparameters=None, metrics=None,
               feature_key: Key = DEFAULT_FEATURE_KEY, extra=None) -> dict:
    """The JSON model card written to ``assets.extra/model_card.json``."""
    import tensorflow as tf

    from .model import LabelAwareLIB

    width, n_labels = int(model.normalizer.mean.shape[0]), int(model.n_labels)
    names = [f"label_{j}" for j in range(n_labels)] if label_names is None else [str(n) for n in label_names]
    if len(names) != n_labels:
        raise ValueError(f"label_names has {len(names)} names but the model has {n_labels} labels")
    label_aware = isinstance(model, LabelAwareLIB)
    default_inputs = {FEATURES: f"float32 [None, {width}], raw features"}
    examples_inputs = {EXAMPLES: "string [None], serialized tf.Example"}
    if label_aware:
        default_inputs[LOGICAL_LABELS] = f"float32 [None, {n_labels}], each instance's logical labels (0 or 1)"
        examples_inputs[EXAMPLES] += f", with {n_labels} float values (0 or 1) under '{LOGICAL_LABELS}'"
    card = {
        "model": ("label-aware LIB (lib_tf's extension of the Label Information Bottleneck, CVPR 2023): the "
                  "posterior reads the features and the logical labels" if label_aware else
                  "LIB (Label Information Bottleneck, CVPR 2023) label enhancement"),
        "label_names": names,
        "d": width,
        "c": n_labels,
        "alpha": model.alpha,
        "alpha_weights": "the label-gap term",
        "beta": model.beta,
        "beta_weights": "the KL (bottleneck) term",
        "temperature": model.temperature,
        "readout": ("deterministic, at the posterior mean mu_h: "
                    + (f"rule_consistent(softmax(z / temperature + l / label_temperature), l) with label_temperature "
                       f"{model.label_temperature}, rule projection {model.rule_projection}" if label_aware
                       else "softmax(z / temperature)")),
        "training_data": data_name,
        "hyperparameters": dict(hyperparameters) if hyperparameters is not None else None,
        "metrics": metrics,
        "signatures": {
            DEFAULT_SIGNATURE: {"inputs": default_inputs,
                                "outputs": {LABEL_DISTRIBUTION: f"float32 [None, {n_labels}], rows sum to 1",
                                            GAP_DEVIATION: "float32 [None, 1], sigma_delta > 0"}},
            EXAMPLES_SIGNATURE: {"inputs": examples_inputs,
                                 "feature_key": feature_key if isinstance(feature_key, str) else list(feature_key),
                                 "outputs": "as serving_default"},
        },
        "lib_tf_version": __version__,
        "tensorflow_version": tf.__version__,
        "exported_at": export_timestamp(),
    }
    card.update(extra or {})
    return card


def read_model_card(path: Union[str, os.PathLike]) -> dict:
    """The model card of an exported version folder."""
    return json.loads((Path(path) / ASSETS_EXTRA / MODEL_CARD).read_text())


# -- writing ----------------------------------------------------------------------------------
def _as_model(model_or_enhancer):
    model = getattr(model_or_enhancer, "model_", model_or_enhancer)
    if not hasattr(model, "normalizer") or not hasattr(model, "distribution_head"):
        raise TypeError(f"expected a fitted LabelEnhancer or a trained LIB model, got {type(model_or_enhancer).__name__}")
    from .model import LabelAwareLIB

    # the fitted read-out (select_temperature may have set it), not the constructor's argument
    label_temperature = getattr(model_or_enhancer, "label_temperature_", getattr(model_or_enhancer, "label_temperature", None))
    if not isinstance(model, LabelAwareLIB) and label_temperature is not None:
        raise ValueError("label_temperature is set: that read-out needs each instance's logical labels, which the "
                         "paper model's signatures do not take; fit model='label-aware' (its signatures take "
                         "'logical_labels'), or set label_temperature=None (and pick T alone) to export")
    return model


def _hyperparameters(model_or_enhancer, model):
    if hasattr(model_or_enhancer, "get_params"):
        params = {k: v for k, v in model_or_enhancer.get_params().items() if k != "verbose"}
        if getattr(model_or_enhancer, "epochs_", None) is not None:
            params["epochs_run"] = int(model_or_enhancer.epochs_)
        return params
    config = model.get_config()
    return {k: config[k] for k in ("alpha", "beta", "temperature", "latent_dim", "hidden_units", "depth", "head_units",
                                   "activation", "assignment", "gap_on", "reduction", "seed") if k in config}


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


def write_saved_model(model_or_enhancer, path: Union[str, os.PathLike], *, model_name: Optional[str] = None,
                      feature_key: Key = DEFAULT_FEATURE_KEY, label_names=None, data_name=None,
                      metrics: Optional[Mapping] = None, card_extra: Optional[Mapping] = None) -> Path:
    """Write one complete SavedModel (signatures, warm-up, model card) at exactly ``path``.

    ``path`` must not exist (or be an empty folder). Everything is written to a staging folder
    beside it and renamed into place at the end; on any error the staging folder is removed.
    This is the unversioned writer (a TFX Trainer's ``serving_model_dir``); :func:`export`
    adds the TF Serving version layout.
    """
    import tensorflow as tf

    model = _as_model(model_or_enhancer)
    target = Path(path)
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise VersionExistsError(f"{target} already exists and is not empty; exported models are never overwritten")
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_abandoned_staging(target.parent)
    staging = _staging_folder(target)
    try:
        module = build_serving_module(model, feature_key)
        tf.saved_model.save(module, str(staging), signatures=signatures(module))
        extra = staging / ASSETS_EXTRA
        extra.mkdir(exist_ok=True)
        write_warmup_requests(extra / WARMUP_FILE, warmup_rows(model), model_name or target.parent.name or "lib",
                              feature_key, warmup_labels(model))
        card = model_card(model, label_names=label_names, data_name=data_name,
                          hyperparameters=_hyperparameters(model_or_enhancer, model), metrics=metrics,
                          feature_key=feature_key, extra=card_extra)
        (extra / MODEL_CARD).write_text(json.dumps(card, indent=2, default=_json_default) + "\n")
        _publish(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target


def _publish(staging: Path, target: Path):
    """Rename the finished staging folder to ``target`` (atomic on one file system)."""
    if target.exists():
        if not target.is_dir() or any(target.iterdir()):
            raise VersionExistsError(f"{target} appeared while exporting; it is left as it was")
        target.rmdir()  # an empty placeholder (e.g. a serving_model_dir made in advance)
    os.rename(staging, target)


def export(model_or_enhancer, base_dir: Union[str, os.PathLike], version: Optional[int] = None, **kwargs) -> Path:
    """Export a fitted ``LabelEnhancer`` (or trained LIB) as ``base_dir/<version>/``.

    ``version`` defaults to :func:`next_version`; an existing version raises
    :class:`VersionExistsError`. Keyword arguments go to :func:`write_saved_model`
    (``feature_key``, ``label_names``, ``data_name``, ``metrics``, ``card_extra``).
    Returns the version folder.
    """
    base = Path(base_dir)
    if version is None:
        version = next_version(base)
    if isinstance(version, bool) or not isinstance(version, (int, np.integer)) or version < 1:
        raise ValueError(f"version must be a positive integer, got {version!r}")
    target = base / str(int(version))
    if target.exists():
        raise VersionExistsError(f"version {int(version)} already exists at {target}; versions are never "
                                 f"overwritten (the next free one is {next_version(base)})")
    kwargs.setdefault("model_name", base.name)
    return write_saved_model(model_or_enhancer, target, **kwargs)


def folder_size(path: Union[str, os.PathLike]) -> int:
    """Total bytes of the files under ``path``."""
    return sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file())
