"""Clients for a LIB model behind TensorFlow Serving: request bodies in, NumPy out.

REST (port 8501 by default)::

    body = rest_body(X)                                  # {"signature_name": ..., "instances": [...]}
    out = predict_rest(rest_url("lib", host="127.0.0.1"), body)
    out["label_distribution"], out["gap_deviation"]      # (n, c), (n, 1) float32 arrays

gRPC (port 8500 by default)::

    out = predict_grpc("127.0.0.1:8500", predict_request(X, "lib"))

``rest_body`` writes either TF Serving form: ``"instances"`` (row form, one object per
instance) or ``"inputs"`` (columnar form, one array per input). The ``serving_examples``
signature takes serialized ``tf.Example`` protos; :func:`rest_examples_body` base64-encodes
them as ``{"b64": ...}`` (JSON cannot carry bytes) and :func:`examples_request` puts them in a
string tensor. Parsing accepts both response forms (``"predictions"`` and ``"outputs"``) and
raises :class:`ServingError` with the server's message for ``{"error": ...}`` replies.

A label-aware model (its model card lists ``logical_labels`` among the inputs) reads each
instance's logical labels too: every client takes them as ``logical_labels`` (n, c) and sends
them beside the features (an input of ``serving_default``; a float list in every tf.Example).

Features are checked here (2-D, numeric, and ``width`` columns when given), and logical labels
(2-D, one row per row of features, 0 or 1 only, at least one relevant label in every row), and
both are sent as float32, the signature's dtype, so the common mistakes fail with a clear
message naming the argument and row before a request leaves the machine. The model refuses
them in its graph too, for clients that do not check.
"""
from __future__ import annotations

import base64
import json
from typing import Mapping, Optional, Sequence, Union

import numpy as np

from .contract import (DEFAULT_FEATURE_KEY, DEFAULT_SIGNATURE, EXAMPLES, EXAMPLES_SIGNATURE, FEATURES, LOGICAL_LABELS, Key,
                       serialize_examples)
from .data.validation import check_logical_labels, check_same_rows

FORMS = ("instances", "inputs")


class ServingError(RuntimeError):
    """The model server answered with an error (its message is kept)."""


def _features(features, width: Optional[int] = None) -> np.ndarray:
    array = np.asarray(features)
    if array.dtype == object or not (np.issubdtype(array.dtype, np.number) or array.dtype == bool):
        raise TypeError(f"features must be numeric (float32 is sent), got dtype {array.dtype}")
    if array.ndim == 1:
        raise ValueError(f"features must be 2-D (n, d); for one instance pass shape (1, {array.shape[0]})")
    if array.ndim != 2:
        raise ValueError(f"features must be 2-D (n, d), got shape {array.shape}")
    if width is not None and array.shape[1] != width:
        raise ValueError(f"features have {array.shape[1]} columns but the model takes {width} (raw features)")
    return array.astype(np.float32)


def _logical_labels(logical_labels, features: np.ndarray) -> np.ndarray:
    """The logical labels of the rows of ``features``, checked (ValueError naming
    ``logical_labels`` and the offending row), as float32."""
    labels = check_logical_labels(logical_labels, LOGICAL_LABELS)
    check_same_rows(features=features, logical_labels=labels)
    return labels.astype(np.float32)


def _inputs(features, width: Optional[int], logical_labels) -> dict:
    """``serving_default``'s inputs: the features and, when given, the logical labels."""
    inputs = {FEATURES: _features(features, width)}
    if logical_labels is not None:
        inputs[LOGICAL_LABELS] = _logical_labels(logical_labels, inputs[FEATURES])
    return inputs


def _check_form(form):
    if form not in FORMS:
        raise ValueError(f"form must be one of {FORMS}, got {form!r}")


def _serialized_examples(features, examples, feature_key, width, logical_labels):
    if (features is None) == (examples is None):
        raise ValueError("give either features (turned into tf.Example) or examples (serialized bytes)")
    if examples is not None:
        if logical_labels is not None:
            raise ValueError(f"logical_labels go with features; serialized examples carry their own under "
                             f"'{LOGICAL_LABELS}'")
        examples = [bytes(e) for e in examples]
        if not examples:
            raise ValueError("examples is empty")
        return examples
    inputs = _inputs(features, width, logical_labels)
    return serialize_examples(inputs[FEATURES], feature_key, inputs.get(LOGICAL_LABELS))


# -- REST -------------------------------------------------------------------------------------
def rest_url(model_name: str, host: str = "127.0.0.1", port: int = 8501, version: Optional[int] = None,
             label: Optional[str] = None) -> str:
    """``http://HOST:PORT/v1/models/NAME[/versions/N | /labels/L]:predict``."""
    if version is not None and label is not None:
        raise ValueError("give a version or a label, not both")
    path = f"/v1/models/{model_name}"
    if version is not None:
        path += f"/versions/{int(version)}"
    elif label is not None:
        path += f"/labels/{label}"
    return f"http://{host}:{int(port)}{path}:predict"


def rest_body(features, form: str = "instances", signature_name: str = DEFAULT_SIGNATURE,
              width: Optional[int] = None, logical_labels=None) -> dict:
    """REST predict body for the ``serving_default`` signature: raw features (n, d) and, for a
    label-aware model, their ``logical_labels`` (n, c)."""
    _check_form(form)
    inputs = {name: value.tolist() for name, value in _inputs(features, width, logical_labels).items()}
    if form == "instances":
        rows = len(inputs[FEATURES])
        return {"signature_name": signature_name,
                "instances": [{name: value[i] for name, value in inputs.items()} for i in range(rows)]}
    return {"signature_name": signature_name, "inputs": inputs}


def rest_examples_body(features=None, examples: Optional[Sequence[bytes]] = None, form: str = "instances",
                       feature_key: Key = DEFAULT_FEATURE_KEY,
                       signature_name: str = EXAMPLES_SIGNATURE, width: Optional[int] = None,
                       logical_labels=None) -> dict:
    """REST predict body for ``serving_examples``: rows of ``features`` as tf.Example (under
    ``feature_key``, with their ``logical_labels`` for a label-aware model), or already
    serialized ``examples``; bytes go as ``{"b64": ...}``."""
    _check_form(form)
    encoded = [{"b64": base64.b64encode(e).decode("ascii")} for e in
               _serialized_examples(features, examples, feature_key, width, logical_labels)]
    if form == "instances":
        return {"signature_name": signature_name, "instances": [{EXAMPLES: e} for e in encoded]}
    return {"signature_name": signature_name, "inputs": {EXAMPLES: encoded}}


def parse_rest_response(response: Union[Mapping, str, bytes]) -> dict:
    """A TF Serving REST predict reply (dict or JSON text) as ``{output name: ndarray}``."""
    if isinstance(response, (str, bytes, bytearray)):
        response = json.loads(response)
    if not isinstance(response, Mapping):
        raise ValueError(f"expected a JSON object, got {type(response).__name__}")
    if "error" in response:
        raise ServingError(str(response["error"]))
    if "predictions" in response:
        rows = response["predictions"]
        if rows and isinstance(rows[0], Mapping):
            return {name: np.asarray([row[name] for row in rows], dtype=np.float32) for name in rows[0]}
        return {"predictions": np.asarray(rows, dtype=np.float32)}
    if "outputs" in response:
        outputs = response["outputs"]
        if isinstance(outputs, Mapping):
            return {name: np.asarray(value, dtype=np.float32) for name, value in outputs.items()}
        return {"outputs": np.asarray(outputs, dtype=np.float32)}
    raise ValueError(f"not a predict reply: no 'predictions', 'outputs' or 'error' (keys: {sorted(response)})")


def predict_rest(url: str, body: Mapping, timeout: float = 30.0) -> dict:
    """POST ``body`` to ``url`` (see :func:`rest_url`) and parse the reply."""
    import urllib.error
    import urllib.request

    request = urllib.request.Request(url, data=json.dumps(body).encode("utf-8"),
                                     headers={"Content-Type": "application/json"}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as reply:
            text = reply.read()
    except urllib.error.HTTPError as error:
        text = error.read()
        try:
            return parse_rest_response(text)
        except (ValueError, json.JSONDecodeError):
            raise ServingError(f"HTTP {error.code}: {text[:500]!r}") from None
    return parse_rest_response(text)


# -- gRPC -------------------------------------------------------------------------------------
def _request(model_name, signature_name, version, label, inputs):
    import tensorflow as tf
    from tensorflow_serving.apis import predict_pb2

    if version is not None and label is not None:
        raise ValueError("give a version or a label, not both")
    request = predict_pb2.PredictRequest()
    request.model_spec.name = model_name
    request.model_spec.signature_name = signature_name
    if version is not None:
        request.model_spec.version.value = int(version)
    elif label is not None:
        request.model_spec.version_label = label
    for name, value in inputs.items():
        request.inputs[name].CopyFrom(tf.make_tensor_proto(value))
    return request


def predict_request(features, model_name: str, signature_name: str = DEFAULT_SIGNATURE,
                    version: Optional[int] = None, label: Optional[str] = None, width: Optional[int] = None,
                    logical_labels=None):
    """A gRPC ``PredictRequest`` for ``serving_default``: a float32 ``features`` tensor (n, d)
    and, for a label-aware model, a float32 ``logical_labels`` tensor (n, c)."""
    return _request(model_name, signature_name, version, label, _inputs(features, width, logical_labels))


def examples_request(model_name: str, features=None, examples: Optional[Sequence[bytes]] = None,
                     feature_key: Key = DEFAULT_FEATURE_KEY,
                     signature_name: str = EXAMPLES_SIGNATURE, version: Optional[int] = None,
                     label: Optional[str] = None, width: Optional[int] = None, logical_labels=None):
    """A gRPC ``PredictRequest`` for ``serving_examples``: a string tensor of tf.Example (with
    the ``logical_labels`` of each row of ``features`` for a label-aware model)."""
    serialized = np.array(_serialized_examples(features, examples, feature_key, width, logical_labels), dtype=object)
    return _request(model_name, signature_name, version, label, {EXAMPLES: serialized})


def parse_predict_response(response) -> dict:
    """A ``PredictResponse`` as ``{output name: ndarray}``."""
    import tensorflow as tf

    return {name: tf.make_ndarray(proto) for name, proto in response.outputs.items()}


def predict_grpc(target, request, timeout: float = 30.0) -> dict:
    """Send ``request`` to a ``PredictionService`` at ``target`` ("host:port" or a
    ``grpc.Channel``) and parse the reply; server errors raise :class:`ServingError`."""
    import grpc
    from tensorflow_serving.apis import prediction_service_pb2_grpc

    channel = grpc.insecure_channel(target) if isinstance(target, str) else target
    try:
        stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
        response = stub.Predict(request, timeout=timeout)
    except grpc.RpcError as error:
        raise ServingError(f"{error.code().name}: {error.details()}") from None
    finally:
        if isinstance(target, str):
            channel.close()
    return parse_predict_response(response)
