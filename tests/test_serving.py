"""lib_tf.serving against test doubles of TensorFlow Serving on 127.0.0.1.

A real ``tensorflow_model_server`` cannot be installed here. The doubles load an exported
version with ``tf.saved_model.load`` and answer the way the server does: a gRPC
``PredictionService`` built from tensorflow-serving-api's own service definitions, and the REST
predict API (row and columnar forms, ``{"b64": ...}`` for bytes) over ``http.server``.
"""
import base64
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


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(30, 4))
    L = (rng.random((30, 3)) > 0.5).astype(float)
    L[:, 1] = 1
    enhancer = LabelEnhancer(epochs=2, hidden_units=8, latent_dim=4, random_state=1).fit(X, L)
    base = tmp_path_factory.mktemp("served") / MODEL
    version_dir = export(enhancer, base)
    model = ModelDouble(base)
    grpc_server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(PredictionServiceDouble(model), grpc_server)
    grpc_port = grpc_server.add_insecure_port(f"{HOST}:0")
    grpc_server.start()
    http_server = ThreadingHTTPServer((HOST, 0), _rest_handler(model))
    thread = threading.Thread(target=http_server.serve_forever, daemon=True)
    thread.start()
    yield {"X": X, "expected": enhancer.transform(X), "gap": enhancer.gap_deviation(X), "dir": version_dir,
           "model": model, "grpc": f"{HOST}:{grpc_port}", "rest": serving.rest_url(MODEL, HOST, http_server.server_port)}
    http_server.shutdown()
    http_server.server_close()
    grpc_server.stop(None)


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
