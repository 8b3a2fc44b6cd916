"""TF Serving's warm-up requests (``assets.extra/tf_serving_warmup_requests``): one
``PredictionLog`` per signature, replayed by the server before it answers, built from
synthetic rows (no training data leaves in an export)."""
from __future__ import annotations

import os
from typing import Optional, Union

import numpy as np

from ..contract import (DEFAULT_FEATURE_KEY, DEFAULT_SIGNATURE, EXAMPLES, EXAMPLES_SIGNATURE, FEATURES, LOGICAL_LABELS,
                        OUTPUT_NAMES, Key, serialize_examples)

WARMUP_FILE = "tf_serving_warmup_requests"


def warmup_rows(model, n_rows: int = 4) -> np.ndarray:
    """Synthetic warm-up features (no training data): the training mean, +-1 and +0.5 std."""
    mean = np.asarray(model.normalizer.mean.numpy(), np.float32)
    std = np.asarray(model.normalizer.std.numpy(), np.float32)
    steps = np.array([0.0, 1.0, -1.0, 0.5], np.float32)[:n_rows]
    return mean[None, :] + steps[:, None] * std[None, :]


def warmup_labels(model, n_rows: int = 4) -> Optional[np.ndarray]:
    """Synthetic warm-up logical labels (n_rows, c) for a model that reads them (label i mod c
    relevant in row i), None for the paper's model."""
    if not model.reads_labels:
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
