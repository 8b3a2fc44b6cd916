"""Load an exported LIB SavedModel with TensorFlow only, and run both signatures.

Run it as a script, in a fresh process (it is not meant to be imported)::

    python tools/tf_only_check.py MODEL_VERSION_DIR FEATURES.npy OUT.npz [FEATURE_KEY [LABELS.npy]]

Before anything else it installs an import hook that makes ``import keras``, ``tf_keras``,
``tensorflow_probability`` and ``lib_tf`` fail, then loads the SavedModel with
``tf.saved_model.load`` and writes, into OUT.npz, the outputs of ``serving_default`` on the
features (``default_*``) and of ``serving_examples`` on the same rows as tf.Examples
(``examples_*``, built with TensorFlow's own protos). With LABELS.npy (a label-aware model),
the logical labels go with the features: as ``logical_labels`` and in every tf.Example. Then
it sends both signatures bad requests (NaN and inf features, a wrong width, int32 features, a
tf.Example without the feature key) and an empty batch, and prints ``BAD REQUESTS`` with what
each got: ``refused: <the error's reason>`` or ``answered (n, c)``. It exits non-zero if
loading or running needed one of the blocked packages.

It builds its tf.Examples with TensorFlow's protos alone, as a client without ``lib_tf``
would, following the encoding :mod:`lib_tf.contract` defines (float lists; the labels under
``logical_labels``), which it cannot import.
"""
import importlib.abc
import importlib.machinery
import os
import sys

BLOCKED = ("keras", "tf_keras", "tensorflow_probability", "lib_tf")


class _Refuse(importlib.abc.Loader):
    def create_module(self, spec):
        _BlockImports.attempts.append(spec.name)
        raise ImportError(f"{spec.name} is blocked: the exported model must need TensorFlow only")

    def exec_module(self, module):  # never reached
        raise ImportError(f"{module.__name__} is blocked")


class _BlockImports(importlib.abc.MetaPathFinder):
    """Blocked packages look present but without a location (TensorFlow's own look-up of
    Keras' folder then finds nothing), and importing them raises ImportError."""

    attempts = []

    def find_spec(self, fullname, path=None, target=None):
        if fullname.split(".")[0] in BLOCKED:
            return importlib.machinery.ModuleSpec(fullname, _Refuse())
        return None


def _example(tf, row, key_names, labels_row=None):
    """One serialized tf.Example: the row under one key, or one scalar feature per name; with
    ``labels_row`` the logical labels under ``logical_labels``."""
    if len(key_names) == 1:
        feature = {key_names[0]: tf.train.Feature(float_list=tf.train.FloatList(value=row))}
    else:
        feature = {k: tf.train.Feature(float_list=tf.train.FloatList(value=[v])) for k, v in zip(key_names, row)}
    if labels_row is not None:
        feature["logical_labels"] = tf.train.Feature(float_list=tf.train.FloatList(value=labels_row))
    return tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString()


def _try_bad_requests(tf, np, loaded, features, keys, labels=None):
    """Print what each bad request (and an empty batch) gets from the model; ``labels`` (n, c)
    go with every request of a label-aware model."""
    default, by_example = loaded.signatures["serving_default"], loaded.signatures["serving_examples"]
    rows = np.array(features[:2], np.float32)
    row_labels = None if labels is None else np.array(labels[:2], np.float32)

    def example(i, row, key_names):
        return _example(tf, row, key_names, None if row_labels is None else row_labels[i])

    def serve(array, label_rows=row_labels):
        inputs = {"features": tf.constant(array)}
        if label_rows is not None:
            inputs["logical_labels"] = tf.constant(label_rows)
        return default(**inputs)

    nan, inf = rows.copy(), rows.copy()
    nan[0, 0], inf[-1, -1] = np.nan, np.inf
    other_keys = [f"not_{k}" for k in keys]
    no_labels = None if row_labels is None else row_labels[:0]
    requests = {
        "default NaN": lambda: serve(nan),
        "default inf": lambda: serve(inf),
        "default wrong width": lambda: serve(rows[:, :-1]),
        "default int32": lambda: serve(rows.astype(np.int32)),
        "examples NaN": lambda: by_example(examples=tf.constant([example(i, r, keys) for i, r in enumerate(nan)])),
        "examples inf": lambda: by_example(examples=tf.constant([example(i, r, keys) for i, r in enumerate(inf)])),
        "examples without the key": lambda: by_example(
            examples=tf.constant([example(i, r, other_keys) for i, r in enumerate(rows)])),
        "default empty batch": lambda: serve(np.zeros((0, rows.shape[1]), np.float32), no_labels),
        "examples empty batch": lambda: by_example(examples=tf.constant([], tf.string)),
    }
    print("BAD REQUESTS")
    for name, request in requests.items():
        try:
            shape = tuple(request()["label_distribution"].shape)
        except (tf.errors.InvalidArgumentError, ValueError, TypeError) as error:
            # the reason is the message's last line (TF puts the graph's node trace before it)
            reason = [line.strip() for line in str(error).splitlines() if line.strip() and not line.strip().startswith(
                ("[[", "Detected at node", "Graph execution error", "File ", "^"))]
            print(f"  {name}: refused: {type(error).__name__}: {reason[-1][:300] if reason else ''}")
        else:
            print(f"  {name}: answered {shape}")


def main(argv):
    # Run as a script, sys.path[0] is tools/ itself: drop it so none of its scripts shadow modules.
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != here]
    sys.meta_path.insert(0, _BlockImports())
    import numpy as np
    import tensorflow as tf

    # TensorFlow's own __init__ tries ``keras.src.optimizers`` (in a try/except); that attempt
    # is TensorFlow's, not the model's. What counts is what loading and running asks for.
    at_tf_import = list(_BlockImports.attempts)
    model_dir, features_file, out_file = argv[:3]
    feature_key = argv[3] if len(argv) > 3 else "features"
    features = np.load(features_file).astype(np.float32)
    labels = np.load(argv[4]).astype(np.float32) if len(argv) > 4 else None
    loaded = tf.saved_model.load(model_dir)
    outputs = {}
    inputs = {"features": tf.constant(features)}
    if labels is not None:
        inputs["logical_labels"] = tf.constant(labels)
    default = loaded.signatures["serving_default"](**inputs)
    keys = feature_key.split(",")
    examples = [_example(tf, row, keys, None if labels is None else labels[i]) for i, row in enumerate(features)]
    by_example = loaded.signatures["serving_examples"](examples=tf.constant(examples))
    for prefix, result in (("default", default), ("examples", by_example)):
        for name, value in result.items():
            outputs[f"{prefix}_{name}"] = value.numpy()
    _try_bad_requests(tf, np, loaded, features, keys, labels)
    by_model = _BlockImports.attempts[len(at_tf_import):]
    present = sorted(name for name in sys.modules if name.split(".")[0] in BLOCKED)
    np.savez(out_file, **outputs)
    print(f"TensorFlow {tf.__version__}; blocked imports tried by `import tensorflow`: {at_tf_import}, "
          f"by loading and running the model: {by_model}; blocked modules present: {present}")
    if by_model or present:
        return 1
    print("TF-ONLY OK")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
