"""The serving graph: the ``tf.Module`` whose two functions an export saves as its signatures.

Both trace the model's own :meth:`~lib_tf.model.LIB.serving_outputs` (the forward pass at the
posterior mean, with the model's read-out) behind run-time checks of each request: the
features' width, finite values (after standardising, so a value that overflows float32 there
is refused too) and, for a model that reads the logical labels (``model.reads_labels``),
labels of the features' row count holding 0 or 1 only, each row with at least one 1. The
module tracks exactly the variables those functions read (standardisation, encoder,
label-distribution and gap heads; not the decoder) and nothing of Keras, so the SavedModel
loads with TensorFlow alone.
"""
from __future__ import annotations

from ..contract import (DEFAULT_FEATURE_KEY, DEFAULT_SIGNATURE, EXAMPLES, EXAMPLES_SIGNATURE, FEATURES, GAP_DEVIATION,
                        LABEL_DISTRIBUTION, LOGICAL_LABELS, Key, checked_label_values, feature_keys, gated,
                        parse_floats)


def checked_features(model, features, source: str):
    """The raw features (n, d) after run-time checks of their width and values, and n (int64).
    ``source`` names them in the messages."""
    import tensorflow as tf

    width = int(model.normalizer.mean.shape[0])
    # The signature's static shape is not enforced when a server feeds a tensor, so the
    # width is checked at run time; n * width == size cannot be constant-folded away.
    rows = tf.shape(features, out_type=tf.int64)[0]
    features = gated(features, [tf.debugging.assert_equal(
        tf.size(features, out_type=tf.int64), rows * width,
        message=f"LIB serving: '{FEATURES}' must be float32 of shape [batch, {width}] "
                f"(raw features, {width} per instance); got another width")])
    # NaN or inf would come out as a confident-looking distribution (softmax of NaN
    # logits is NaN, of saturated ones a one-hot): refuse the request instead.
    return gated(features, [tf.debugging.assert_all_finite(
        model.normalizer(features),
        message=f"LIB serving: {source} must be finite; got NaN or inf (or a value so large that "
                f"standardising it overflows float32)")]), rows


def checked_labels(logical_labels, rows, n_labels: int):
    """The logical labels (n, c) after run-time checks of their shape against the features'
    row count ``rows``, of their values (0 or 1 only, which refuses NaN and inf too) and of
    every row marking at least one label relevant (the model's read-out and the binarisation
    rule it follows have no answer for a row of zeros; the Python API refuses it too). Each
    check reads the labels that passed the one before (shape, values, rows), so a request is
    refused for its first fault; an empty batch passes them all."""
    import tensorflow as tf

    message = f"LIB serving: '{LOGICAL_LABELS}' must"
    logical_labels = gated(logical_labels, [tf.debugging.assert_equal(
        tf.size(logical_labels, out_type=tf.int64), rows * n_labels,
        message=f"{message} be float32 of shape [batch, {n_labels}], one row per row of '{FEATURES}'")])
    logical_labels = tf.reshape(logical_labels, tf.stack([rows, tf.constant(n_labels, tf.int64)]))
    return checked_label_values(logical_labels, message)


def served_outputs(model, features, source: str, logical_labels=None) -> dict:
    """The signatures' outputs for one request, behind the checks of its inputs."""
    import tensorflow as tf

    n_labels = int(model.n_labels)
    features, rows = checked_features(model, features, source)
    served = (model.serving_outputs(features, checked_labels(logical_labels, rows, n_labels)) if model.reads_labels
              else model.serving_outputs(features))
    return {LABEL_DISTRIBUTION: tf.ensure_shape(served[LABEL_DISTRIBUTION], [None, n_labels]),
            GAP_DEVIATION: tf.ensure_shape(served[GAP_DEVIATION], [None, 1])}


def _serving_functions(model, keys: Key):
    """``(serve_features, serve_examples)``, the two ``tf.function`` with their input signatures."""
    import tensorflow as tf

    width, n_labels = int(model.normalizer.mean.shape[0]), int(model.n_labels)
    feature_spec = tf.TensorSpec([None, width], tf.float32, name=FEATURES)
    columns = [(keys, width, "feature")] + ([(LOGICAL_LABELS, n_labels, "label")] if model.reads_labels else [])

    def serve_examples(examples):
        features, *labels = parse_floats(examples, columns)
        return served_outputs(model, features, f"the features of '{EXAMPLES}' (key {keys!r})", *labels)

    if model.reads_labels:
        def serve_features(features, logical_labels):
            return served_outputs(model, features, f"'{FEATURES}'", logical_labels)

        specs = [feature_spec, tf.TensorSpec([None, n_labels], tf.float32, name=LOGICAL_LABELS)]
    else:
        def serve_features(features):
            return served_outputs(model, features, f"'{FEATURES}'")

        specs = [feature_spec]
    return (tf.function(serve_features, input_signature=specs),
            tf.function(serve_examples, input_signature=[tf.TensorSpec([None], tf.string, name=EXAMPLES)]))


def build_serving_module(model, feature_key: Key = DEFAULT_FEATURE_KEY):
    """The ``tf.Module`` whose two functions the export saves as its signatures.

    Parameters
    ----------
    model : lib_tf.model.LIB or lib_tf.model.LabelAwareLIB
        Trained (its standardisation adapted). A model that reads the logical labels
        (``model.reads_labels``) gets functions that take them too.
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

    if not model.built or not model.standardization_is_adapted:
        raise ValueError("the model is not trained: fit it (or adapt its standardisation) before exporting")
    module = tf.Module(name="lib_serving")
    module.serve_features, module.serve_examples = _serving_functions(
        model, feature_keys(feature_key, int(model.normalizer.mean.shape[0])))
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


def signature_specs(module) -> dict:
    """What each signature takes and gives, as saved: ``{signature: {"inputs": {name: spec},
    "outputs": {name: spec}}}``, each spec ``{"dtype": "float32", "shape": [None, d]}`` (None: any
    size), read from the traced functions (so the model card cannot disagree with them)."""
    def spec(tensor):
        return {"dtype": tensor.dtype.name, "shape": tensor.shape.as_list()}

    return {name: {"inputs": {tensor.name: spec(tensor) for tensor in function.structured_input_signature[0]},
                   "outputs": {key: spec(tensor) for key, tensor in function.structured_outputs.items()}}
            for name, function in signatures(module).items()}
