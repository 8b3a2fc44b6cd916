"""Check that the current export writes the same serving contract and outputs as a committed
SavedModel, from that model's own trained weights.

Usage (from the repository root)::

    python tools/export_parity.py [VERSION_DIR]        # default saved_models/artificial/1

It reads the model card's hyper-parameters, builds a :class:`lib_tf.model.LIB` of that shape,
loads into it the committed version's weights (its standardisation and the encoder,
label-distribution and gap networks, which the export layout written before the export traced
``LIB.serving_outputs`` kept as ``mean``, ``std``, ``<part>_kernels`` and ``<part>_biases``),
exports it with the current code into a temporary folder, and prints, for both versions: the
signature definitions (names, input and output names, dtypes and shapes), the variables the
SavedModel captures (count, shapes, bytes) and the largest difference of both signatures'
outputs on the Artificial set's features and on rows far outside them. It also checks that
both refuse NaN features. Exit status 0 when every signature definition is equal, the
variables do not grow, and every output agrees within 1e-6; otherwise 1.
"""
import sys
import tempfile
from pathlib import Path

import numpy as np
import tensorflow as tf
from tensorflow.core.protobuf import saved_model_pb2

from lib_tf import contract
from lib_tf.data import load_ldl
from lib_tf.export.card import read_model_card
from lib_tf.export.writer import write_saved_model
from lib_tf.model import LIB

TOLERANCE = 1e-6
PARTS = (("encoder", "encoder"), ("head", "distribution_head"), ("gap", "gap_head"))


def signature_defs(path):
    """{signature name: (inputs, outputs)}, each {name: (dtype, shape)}, from saved_model.pb."""
    saved = saved_model_pb2.SavedModel.FromString((Path(path) / "saved_model.pb").read_bytes())
    out = {}
    for name, definition in saved.meta_graphs[0].signature_def.items():
        if name.startswith("__"):
            continue
        out[name] = tuple({key: (tf.dtypes.as_dtype(info.dtype).name, tuple(d.size for d in info.tensor_shape.dim))
                           for key, info in sorted(getattr(definition, side).items())} for side in ("inputs", "outputs"))
    return out


def checkpoint_variables(path):
    """[(shape, bytes)] of the variables in the SavedModel's checkpoint, sorted."""
    reader = tf.train.load_checkpoint(str(Path(path) / "variables" / "variables"))
    shapes = reader.get_variable_to_shape_map()
    dtypes = reader.get_variable_to_dtype_map()
    return sorted((tuple(shapes[k]), int(np.prod(shapes[k], dtype=np.int64)) * dtypes[k].size)
                  for k in shapes if k.endswith("VARIABLE_VALUE"))


def model_from(committed, card):
    """A LIB of the card's hyper-parameters holding the committed version's weights."""
    params = card["hyperparameters"]
    keys = ("alpha", "beta", "latent_dim", "hidden_units", "depth", "head_units", "activation", "temperature",
            "assignment", "gap_on", "reduction", "network_dtype", "seed")
    model = LIB(card["c"], **{k: params[k] for k in keys if k in params})
    model.build((None, card["d"]))
    model.normalizer.mean.assign(committed.mean.numpy())
    model.normalizer.std.assign(committed.std.numpy())
    for part, network in PARTS:
        layers = getattr(model, network).layers
        kernels, biases = getattr(committed, f"{part}_kernels"), getattr(committed, f"{part}_biases")
        if len(layers) != len(kernels):
            raise ValueError(f"{part}: {len(kernels)} committed layers, the card's shape gives {len(layers)}")
        for layer, kernel, bias in zip(layers, kernels, biases):
            layer.kernel.assign(kernel.numpy())
            layer.bias.assign(bias.numpy())
    model.standardization_adapted.assign(1.0)
    return model


def outputs(loaded, features, feature_key):
    """{signature/output: array} of both signatures on ``features``."""
    result = {}
    by_default = loaded.signatures[contract.DEFAULT_SIGNATURE](**{contract.FEATURES: tf.constant(features)})
    examples = tf.constant(contract.serialize_examples(features, feature_key))
    by_examples = loaded.signatures[contract.EXAMPLES_SIGNATURE](**{contract.EXAMPLES: examples})
    for signature, values in ((contract.DEFAULT_SIGNATURE, by_default), (contract.EXAMPLES_SIGNATURE, by_examples)):
        for name, value in values.items():
            result[f"{signature}/{name}"] = value.numpy()
    return result


def refuses_nan(loaded, width):
    features = np.zeros((2, width), np.float32)
    features[0, 0] = np.nan
    try:
        loaded.signatures[contract.DEFAULT_SIGNATURE](**{contract.FEATURES: tf.constant(features)})
    except tf.errors.InvalidArgumentError as error:
        return "must be finite" in str(error)
    return False


def main(argv):
    committed_dir = Path(argv[0] if argv else "saved_models/artificial/1")
    card = read_model_card(committed_dir)
    committed = tf.saved_model.load(str(committed_dir))
    feature_key = card["signatures"][contract.EXAMPLES_SIGNATURE]["feature_key"]
    with tempfile.TemporaryDirectory() as tmp:
        fresh_dir = write_saved_model(model_from(committed, card), Path(tmp) / "1", model_name="parity",
                                      feature_key=feature_key)
        fresh = tf.saved_model.load(str(fresh_dir))
        ok = True
        committed_defs, fresh_defs = signature_defs(committed_dir), signature_defs(fresh_dir)
        for name in sorted(set(committed_defs) | set(fresh_defs)):
            same = committed_defs.get(name) == fresh_defs.get(name)
            ok &= same
            print(f"signature {name}: {'equal' if same else 'DIFFERENT'}\n  committed {committed_defs.get(name)}\n"
                  f"  fresh     {fresh_defs.get(name)}")
        for label, folder in (("committed", committed_dir), ("fresh", fresh_dir)):
            variables = checkpoint_variables(folder)
            print(f"{label} variables: {len(variables)}, {sum(b for _, b in variables)} bytes, shapes "
                  f"{[shape for shape, _ in variables]}")
        grows = sum(b for _, b in checkpoint_variables(fresh_dir)) > sum(b for _, b in checkpoint_variables(committed_dir))
        ok &= not grows
        data = load_ldl("Artificial").features.astype(np.float32)
        far = (data[:50] * 25.0).astype(np.float32)  # far outside the training range: saturated units
        for rows_name, rows in (("Artificial features", data), ("25x the first 50 rows", far)):
            before, after = outputs(committed, rows, feature_key), outputs(fresh, rows, feature_key)
            for key in sorted(before):
                gap = float(np.max(np.abs(before[key] - after[key])))
                ok &= gap <= TOLERANCE and before[key].dtype == after[key].dtype
                print(f"{rows_name} ({len(rows)} rows) {key}: max |committed - fresh| = {gap:.3g}")
        for label, loaded in (("committed", committed), ("fresh", fresh)):
            refused = refuses_nan(loaded, card["d"])
            ok &= refused
            print(f"{label} refuses NaN features: {refused}")
    print("PARITY OK" if ok else "PARITY FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
