"""lib_tf.serving against test doubles of TensorFlow Serving on 127.0.0.1.

A real ``tensorflow_model_server`` cannot be installed here. The doubles load an exported
version with ``tf.saved_model.load`` and answer the way the server does: a gRPC
``PredictionService`` built from tensorflow-serving-api's own service definitions, and the REST
predict API (row and columnar forms, ``{"b64": ...}`` for bytes) over ``http.server``.
"""
import base64
import contextlib
import json
import threading
from concurrent import futures
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import grpc
import numpy as np
import pytest
import tensorflow as tf
from tensorflow_serving.apis import predict_pb2, prediction_log_pb2, prediction_service_pb2_grpc

from lib_tf.export import export, versions
from lib_tf import serving
from lib_tf.enhancer import LabelEnhancer
from lib_tf.metrics import METRIC_NAMES, higher_is_better, score

HOST = "127.0.0.1"
MODEL = "lib"


class ModelDouble:
    """The newest version under a model base folder, loaded as TF Serving would serve it."""

    def __init__(self, base_dir):
        self.version = versions.existing_versions(base_dir)[-1]
        self.loaded = tf.saved_model.load(str(base_dir / str(self.version)))

    def run(self, signature_name, inputs):
        signature_name = signature_name or "serving_default"
        if signature_name not in self.loaded.signatures:
            raise KeyError(f"Serving signature name: \"{signature_name}\" not found in signature def")
        outputs = self.loaded.signatures[signature_name](**{k: tf.constant(v) for k, v in inputs.items()})
        return {name: value.numpy() for name, value in outputs.items()}


class PredictionServiceDouble(prediction_service_pb2_grpc.PredictionServiceServicer):
    def __init__(self, model):
        self.model = model

    def Predict(self, request, context):
        if request.model_spec.name != MODEL:
            context.abort(grpc.StatusCode.NOT_FOUND, f"Servable not found for request: {request.model_spec.name}")
        try:
            inputs = {name: tf.make_ndarray(proto) for name, proto in request.inputs.items()}
            outputs = self.model.run(request.model_spec.signature_name, inputs)
        except (tf.errors.InvalidArgumentError, KeyError, TypeError, ValueError) as error:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(error))
        response = predict_pb2.PredictResponse()
        response.model_spec.name = MODEL
        response.model_spec.version.value = self.model.version
        response.model_spec.signature_name = request.model_spec.signature_name or "serving_default"
        for name, value in outputs.items():
            if not request.output_filter or name in request.output_filter:
                response.outputs[name].CopyFrom(tf.make_tensor_proto(value))
        return response


def _decode(value):
    if isinstance(value, dict) and set(value) == {"b64"}:
        return base64.b64decode(value["b64"])
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value


def _array(values):
    """JSON values as the signature's dtype (the server converts numbers to float32); bytes
    stay objects (NumPy's fixed-width bytes would drop trailing zero bytes of a proto)."""
    if values and isinstance(values[0], bytes):
        return np.array(values, dtype=object)
    return np.array(values, dtype=np.float32)


def _rest_handler(model):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def _reply(self, code, body):
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self):
            if not self.path.startswith(f"/v1/models/{MODEL}") or not self.path.endswith(":predict"):
                return self._reply(404, {"error": f"Servable not found for request: {self.path}"})
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            try:
                signature = body.get("signature_name", "serving_default")
                if "instances" in body:  # row form: one object per instance
                    rows = body["instances"]
                    inputs = {name: _array([_decode(r[name]) for r in rows]) for name in rows[0]}
                else:
                    inputs = {name: _array(_decode(v)) for name, v in body["inputs"].items()}
                outputs = model.run(signature, inputs)
            except (tf.errors.InvalidArgumentError, KeyError, ValueError) as error:
                return self._reply(400, {"error": str(error)})
            if "instances" in body:
                n = len(next(iter(outputs.values())))
                return self._reply(200, {"predictions": [{k: v[i].tolist() for k, v in outputs.items()} for i in range(n)]})
            return self._reply(200, {"outputs": {k: v.tolist() for k, v in outputs.items()}})

    return Handler


@contextlib.contextmanager
def _servers(base):
    """Both doubles serving the newest version under ``base``: ``{"model", "grpc", "rest"}``."""
    model = ModelDouble(base)
    grpc_server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(PredictionServiceDouble(model), grpc_server)
    grpc_port = grpc_server.add_insecure_port(f"{HOST}:0")
    grpc_server.start()
    http_server = ThreadingHTTPServer((HOST, 0), _rest_handler(model))
    thread = threading.Thread(target=http_server.serve_forever, daemon=True)
    thread.start()
    try:
        yield {"model": model, "grpc": f"{HOST}:{grpc_port}", "rest": serving.rest_url(MODEL, HOST, http_server.server_port)}
    finally:
        http_server.shutdown()
        http_server.server_close()
        grpc_server.stop(None)


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(30, 4))
    L = (rng.random((30, 3)) > 0.5).astype(float)
    L[:, 1] = 1
    enhancer = LabelEnhancer(model="paper", epochs=2, hidden_units=8, latent_dim=4, random_state=1).fit(X, L)
    base = tmp_path_factory.mktemp("served") / MODEL
    version_dir = export(enhancer, base)
    with _servers(base) as servers:
        yield {"X": X, "expected": enhancer.transform(X), "gap": enhancer.gap_deviation(X), "dir": version_dir, **servers}


def _check(out, served):
    assert out["label_distribution"].shape == served["expected"].shape
    assert out["gap_deviation"].shape == (len(served["X"]), 1)
    np.testing.assert_allclose(out["label_distribution"], served["expected"], atol=1e-5)
    np.testing.assert_allclose(out["gap_deviation"][:, 0], served["gap"], atol=1e-5)


@pytest.mark.parametrize("form", serving.FORMS)
def test_rest_bodies_both_forms_and_both_signatures(served, form):
    _check(serving.predict_rest(served["rest"], serving.rest_body(served["X"], form=form)), served)
    body = serving.rest_examples_body(served["X"], form=form)
    assert json.dumps(body)  # JSON-clean: bytes travel as {"b64": ...}
    _check(serving.predict_rest(served["rest"], body), served)


def test_grpc_requests_both_signatures_and_a_pinned_version(served):
    _check(serving.predict_grpc(served["grpc"], serving.predict_request(served["X"], MODEL)), served)
    request = serving.examples_request(MODEL, served["X"], version=1)
    assert request.model_spec.version.value == 1 and request.model_spec.signature_name == "serving_examples"
    _check(serving.predict_grpc(served["grpc"], request), served)


def test_server_errors_come_back_clear(served):
    too_narrow = served["X"][:, :3]
    with pytest.raises(serving.ServingError, match=r"(?s)INVALID_ARGUMENT.*shape \[batch, 4\]"):
        # Width is checked inside the graph too, for clients that do not check it.
        serving.predict_grpc(served["grpc"], serving.predict_request(too_narrow, MODEL))
    with pytest.raises(serving.ServingError, match="exactly 4 float values under the feature key .{0,2}features"):
        serving.predict_rest(served["rest"], serving.rest_examples_body(too_narrow))
    with pytest.raises(serving.ServingError, match="NOT_FOUND"):
        serving.predict_grpc(served["grpc"], serving.predict_request(served["X"], "other"))


def test_clients_refuse_bad_features_before_sending():
    with pytest.raises(ValueError, match="3 columns but the model takes 4"):
        serving.rest_body(np.zeros((2, 3)), width=4)
    with pytest.raises(ValueError, match="2-D"):
        serving.predict_request(np.zeros(4), MODEL)
    with pytest.raises(TypeError, match="numeric"):
        serving.rest_body([["a", "b"]])
    with pytest.raises(ValueError, match="form must be one of"):
        serving.rest_body(np.zeros((1, 4)), form="rows")
    request = serving.predict_request(np.zeros((2, 4), dtype=np.float64), MODEL)
    assert request.inputs["features"].dtype == tf.float32.as_datatype_enum


def test_response_parsing():
    rows = {"predictions": [{"label_distribution": [0.2, 0.8], "gap_deviation": [0.1]}] * 2}
    parsed = serving.parse_rest_response(json.dumps(rows))
    assert parsed["label_distribution"].shape == (2, 2) and parsed["gap_deviation"].shape == (2, 1)
    assert serving.parse_rest_response({"outputs": {"gap_deviation": [[1.0]]}})["gap_deviation"].dtype == np.float32
    with pytest.raises(serving.ServingError, match="boom"):
        serving.parse_rest_response({"error": "boom"})
    assert serving.rest_url("m", port=9, version=3) == "http://127.0.0.1:9/v1/models/m/versions/3:predict"


def test_warmup_requests_replay_on_the_model(served):
    records = list(tf.data.TFRecordDataset(str(served["dir"] / "assets.extra" / "tf_serving_warmup_requests")))
    signatures = set()
    for record in records:
        log = prediction_log_pb2.PredictionLog.FromString(record.numpy())
        request = log.predict_log.request
        signatures.add(request.model_spec.signature_name)
        out = served["model"].run(request.model_spec.signature_name,
                                  {k: tf.make_ndarray(v) for k, v in request.inputs.items()})
        np.testing.assert_allclose(out["label_distribution"].sum(1), 1, atol=1e-5)
    assert signatures == {"serving_default", "serving_examples"}


# -- the label-aware model: the clients send each instance's logical labels -----------------------
@pytest.fixture(scope="module")
def served_label_aware(sjaffe_label_aware_fit, tmp_path_factory):
    """LA-LIB's truth-free fit on SJAFFE (213 instances, 243 features, 6 labels; conftest.py),
    exported and served by both doubles."""
    data, enhancer = sjaffe_label_aware_fit
    base = tmp_path_factory.mktemp("served_label_aware") / MODEL
    export(enhancer, base, data_name=data.name)
    with _servers(base) as servers:
        yield {"data": data, "enhancer": enhancer, **servers}


def test_label_aware_model_through_every_client_is_its_read_out_and_beats_label_shares(served_label_aware):
    """The served LA-LIB answers what its fitted read-out (``read_out(X, L)``, at the temperatures
    its truth-free fit chose) gives, through REST (both forms, both signatures) and gRPC (both
    signatures), and that answer recovers SJAFFE's ground truth better than ``l / sum(l)`` on
    all six measures."""
    data, enhancer = served_label_aware["data"], served_label_aware["enhancer"]
    X, L, truth = data.features, data.logical_labels, data.distributions
    rest, target = served_label_aware["rest"], served_label_aware["grpc"]
    answers = {f"REST {signature} {form}": serving.predict_rest(rest, body(X, form=form, logical_labels=L))
               for form in serving.FORMS
               for signature, body in (("serving_default", serving.rest_body), ("serving_examples", serving.rest_examples_body))}
    answers["gRPC serving_default"] = serving.predict_grpc(target, serving.predict_request(X, MODEL, logical_labels=L))
    answers["gRPC serving_examples"] = serving.predict_grpc(target, serving.examples_request(MODEL, X, logical_labels=L))
    expected, gap = enhancer.read_out(X, L), enhancer.gap_deviation(X, L)
    label_shares = score(truth, L / L.sum(1, keepdims=True))
    for client, out in answers.items():
        np.testing.assert_allclose(out["label_distribution"], expected, atol=1e-5, err_msg=client)
        np.testing.assert_allclose(out["gap_deviation"][:, 0], gap, atol=1e-5, err_msg=client)
        served = score(truth, out["label_distribution"])
        for metric in METRIC_NAMES:
            better = served[metric] > label_shares[metric] if higher_is_better(metric) else served[metric] < label_shares[metric]
            assert better, (client, metric, served[metric], label_shares[metric])


CLIENT_LABEL_CASES = {  # labels (4 rows of 3) of one kind -> the client's message
    "NaN": "logical_labels has NaN or inf values .first in row 1",
    "2": r"logical_labels must hold logical labels in \{0, 1\}; row 1, column 0 is .*2\.0",
    "0.5": r"logical_labels must hold logical labels in \{0, 1\}; row 1, column 0 is .*0\.5",
    "no relevant label": "logical_labels row 2 has no relevant label",
    "row count": "row counts differ: features has 4, logical_labels has 3",
    "not 2-D": r"logical_labels must be a 2-D array",
}


@pytest.mark.parametrize("case", CLIENT_LABEL_CASES)
def test_clients_refuse_bad_labels_before_sending_naming_the_argument_and_row(case):
    features = np.zeros((4, 5))
    labels = np.eye(3)[np.arange(4) % 3]
    if case in ("NaN", "2", "0.5"):
        labels[1, 0] = float(case)
    elif case == "no relevant label":
        labels[2] = 0
    elif case == "row count":
        labels = labels[:3]
    elif case == "not 2-D":
        labels = labels[:, 0]
    for build in (lambda: serving.rest_body(features, logical_labels=labels),
                  lambda: serving.rest_body(features, form="inputs", logical_labels=labels),
                  lambda: serving.rest_examples_body(features, logical_labels=labels),
                  lambda: serving.predict_request(features, MODEL, logical_labels=labels),
                  lambda: serving.examples_request(MODEL, features, logical_labels=labels)):
        with pytest.raises(ValueError, match=CLIENT_LABEL_CASES[case]):
            build()
    with pytest.raises(ValueError, match="serialized examples carry their own"):
        serving.rest_examples_body(examples=[b"x"], logical_labels=labels)


def test_a_row_without_a_relevant_label_is_refused_by_the_server_too(served_label_aware):
    """A client that skips lib_tf's checks gets the model's INVALID_ARGUMENT, naming the input,
    over REST and gRPC: never a distribution (this row was answered with one summing to 0.5)."""
    X, L = served_label_aware["data"].features[:3], served_label_aware["data"].logical_labels[:3].copy()
    L[1] = 0
    body = {"signature_name": "serving_default",
            "instances": [{"features": x.tolist(), "logical_labels": l.tolist()} for x, l in zip(X, L)]}
    with pytest.raises(serving.ServingError, match="logical_labels.{0,2} must mark at least one relevant label"):
        serving.predict_rest(served_label_aware["rest"], body)
    request = serving.predict_request(X, MODEL, logical_labels=served_label_aware["data"].logical_labels[:3])
    request.inputs["logical_labels"].CopyFrom(tf.make_tensor_proto(L.astype(np.float32)))
    with pytest.raises(serving.ServingError, match="(?s)INVALID_ARGUMENT.*must mark at least one relevant label"):
        serving.predict_grpc(served_label_aware["grpc"], request)
