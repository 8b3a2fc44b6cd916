"""Load an exported LIB SavedModel with TensorFlow only, and run both signatures.

Run it as a script, in a fresh process (it is not meant to be imported)::

    python lib_tf/tf_only_check.py MODEL_VERSION_DIR FEATURES.npy OUT.npz [FEATURE_KEY [LABELS.npy]]

Before anything else it installs an import hook that makes ``import keras``, ``tf_keras``,
``tensorflow_probability`` and ``lib_tf`` fail, then loads the SavedModel with
``tf.saved_model.load`` and writes, into OUT.npz, the outputs of ``serving_default`` on the
features (``default_*``) and of ``serving_examples`` on the same rows as tf.Examples
(``examples_*``, built with TensorFlow's own protos). With LABELS.npy (a label-aware model),
the logical labels go with the features: as ``logical_labels`` and in every tf.Example. It exits non-zero if loading or
running needed one of the blocked packages.
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


def main(argv):
    # Run as a script, sys.path[0] is lib_tf/ itself: drop it so none of its modules shadow others.
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
    examples = []
    for i, row in enumerate(features):
        if len(keys) == 1:
            feature = {keys[0]: tf.train.Feature(float_list=tf.train.FloatList(value=row))}
        else:
            feature = {k: tf.train.Feature(float_list=tf.train.FloatList(value=[v])) for k, v in zip(keys, row)}
        if labels is not None:
            feature["logical_labels"] = tf.train.Feature(float_list=tf.train.FloatList(value=labels[i]))
        examples.append(tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString())
    by_example = loaded.signatures["serving_examples"](examples=tf.constant(examples))
    for prefix, result in (("default", default), ("examples", by_example)):
        for name, value in result.items():
            outputs[f"{prefix}_{name}"] = value.numpy()
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
