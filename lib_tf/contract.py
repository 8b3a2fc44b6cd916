"""The serving contract of an exported LIB, defined once: signature names, input and output
names, the ``tf.Example`` encoding and its keys.

Everything here is importable without TensorFlow (it is imported inside the functions that
need it), so clients and the data layer can share the names cheaply. Every ``tf.Example`` the
package writes (the requests of :mod:`lib_tf.serving`, the export's warm-up requests, the
TFRecord shards of :mod:`lib_tf.data.streaming`, the ExampleGen files of :mod:`lib_tf.tfx`) is
built by :func:`serialize_example` and read by :func:`parse_floats` (the export's
``serving_examples`` signature; the TFRecord readers of :mod:`lib_tf.data.streaming`, which
:mod:`lib_tf.tfx` uses too, take the widths from a file's first example).

Signatures (see :mod:`lib_tf.export`):

- :data:`DEFAULT_SIGNATURE` (``"serving_default"``): inputs :data:`FEATURES` (float32
  ``[None, d]``, raw features) and, for a label-aware model, :data:`LOGICAL_LABELS` (float32
  ``[None, c]``, 0 or 1, at least one 1 per row);
- :data:`EXAMPLES_SIGNATURE` (``"serving_examples"``): input :data:`EXAMPLES` (string
  ``[None]``, serialized ``tf.Example``);
- both return :data:`LABEL_DISTRIBUTION` (float32 ``[None, c]``, rows sum to 1) and
  :data:`GAP_DEVIATION` (float32 ``[None, 1]``, sigma_delta > 0).

``tf.Example`` encoding: every value is a float list. A key given as one name holds a whole
row (d or c values); a key given as a list of names holds one scalar float per name, in that
order (the layout ``CsvExampleGen`` writes for columns). The features sit under
:data:`DEFAULT_FEATURE_KEY` unless the export names another key, the logical labels under
:data:`LOGICAL_LABELS`, and the ground-truth label distribution, where a file carries one,
under :data:`GROUND_TRUTH_KEY`. Files written before the names were unified may carry the
ground truth under a name of :data:`LEGACY_GROUND_TRUTH_KEYS`; readers fall back to it.
"""
from __future__ import annotations

from typing import Mapping, Sequence, Union

DEFAULT_SIGNATURE = "serving_default"
EXAMPLES_SIGNATURE = "serving_examples"
FEATURES = "features"
LOGICAL_LABELS = "logical_labels"
EXAMPLES = "examples"
LABEL_DISTRIBUTION = "label_distribution"
GAP_DEVIATION = "gap_deviation"
OUTPUT_NAMES = (LABEL_DISTRIBUTION, GAP_DEVIATION)
DEFAULT_FEATURE_KEY = FEATURES
#: The ground truth of an instance is its label distribution: the name of the output that
#: estimates it. ``lib_tf.data.streaming`` wrote ``"distributions"`` before; still read.
GROUND_TRUTH_KEY = LABEL_DISTRIBUTION
LEGACY_GROUND_TRUTH_KEYS = ("distributions",)

#: One name (a float list of the whole row) or a list of names (one scalar float each).
Key = Union[str, Sequence[str]]


def feature_keys(feature_key: Key, width: int) -> Key:
    """Check a ``tf.Example`` key for rows of ``width`` values.

    Parameters
    ----------
    feature_key : str or sequence of str
        One non-empty name, or ``width`` distinct non-empty names.
    width : int
        Values per row (d for features, c for labels).

    Returns
    -------
    str or list of str
        The name, or the names as a list of ``str``.

    Raises
    ------
    ValueError
        If the name is empty, or the list does not hold ``width`` distinct non-empty names.
    """
    if isinstance(feature_key, str):
        if not feature_key:
            raise ValueError("feature_key must be a non-empty string or a list of d names")
        return feature_key
    keys = [str(k) for k in feature_key]
    if len(keys) != width or len(set(keys)) != len(keys) or not all(keys):
        raise ValueError(f"feature_key as a list needs {width} distinct non-empty names (one per feature), got {keys}")
    return keys


def serialize_example(columns: Mapping[Key, Sequence[float]]) -> bytes:
    """One serialized ``tf.Example`` from ``{key: row}``.

    Parameters
    ----------
    columns : mapping
        Key (one name, or a list of names) to a row of numbers (1-D). A name gets the row
        as one float list; a list of names gets one scalar float per name.

    Returns
    -------
    bytes
        The serialized ``tf.train.Example``.

    Raises
    ------
    ValueError
        If a list of names and its row differ in length.
    """
    import numpy as np
    import tensorflow as tf

    feature = {}
    for key, row in columns.items():
        values = np.asarray(row, np.float32).ravel().tolist()
        if isinstance(key, str):
            feature[key] = tf.train.Feature(float_list=tf.train.FloatList(value=values))
            continue
        names = list(key)
        if len(names) != len(values):
            raise ValueError(f"{len(names)} keys for {len(values)} values")
        for name, value in zip(names, values):
            feature[name] = tf.train.Feature(float_list=tf.train.FloatList(value=[value]))
    # deterministic: the feature map's order is otherwise per process (two keys for a label-aware model)
    return tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString(deterministic=True)


def parse_floats(serialized, columns: Sequence[tuple]) -> list:
    """Rows of floats from serialized ``tf.Example``, in one parse (eager or in a graph).

    Parameters
    ----------
    serialized : string Tensor, shape (n,)
        Serialized ``tf.Example`` protos.
    columns : sequence of (key, width, role)
        What to read: ``key`` is one name holding ``width`` floats per example or ``width``
        names of one scalar float each; ``role`` says what the key holds, for the error
        message (``"feature"``, ``"label"``, ...).

    Returns
    -------
    list of float32 Tensor
        One (n, width) tensor per column, in the order of ``columns``.

    Raises
    ------
    tf.errors.InvalidArgumentError
        At run time, if an example lacks a key or holds another number of values under one
        name (message: ``every tf.Example needs exactly <width> float values under the <role>
        key '<key>'``).
    """
    import tensorflow as tf

    spec = {}
    for key, _, _ in columns:
        if isinstance(key, str):  # ragged, then checked: a clearer message than FixedLenFeature's
            spec[key] = tf.io.RaggedFeature(tf.float32)
        else:
            spec.update((name, tf.io.FixedLenFeature([], tf.float32)) for name in key)
    parsed = tf.io.parse_example(serialized, spec)
    rows = []
    for key, width, role in columns:
        if not isinstance(key, str):
            rows.append(tf.stack([parsed[name] for name in key], axis=-1))
            continue
        lengths = parsed[key].row_lengths()
        check = tf.debugging.assert_equal(
            lengths, tf.fill(tf.shape(lengths), tf.constant(width, lengths.dtype)),
            message=f"every tf.Example needs exactly {width} float values under the {role} key '{key}'")
        rows.append(tf.reshape(gated(parsed[key].flat_values, [check]), [-1, width]))
    return rows


def gated(tensor, checks):
    """``tensor`` through an identity that runs after ``checks`` (run-time assertions). An op
    made in the context whose inputs come from outside it carries the checks: the identity
    does; a reshape to a shape built in the context would not (the shape's constant drops
    control dependencies, and the ops after it count them as implied)."""
    import tensorflow as tf

    with tf.control_dependencies(checks):
        return tf.identity(tensor)


def checked_label_values(logical_labels, message: str):
    """Logical labels (n, c) behind run-time checks of their values: 0 or 1 only (which refuses
    NaN and inf too), then every row with at least one 1 (LIB's read-out and the binarisation
    rule it follows have no answer for a row of zeros). Each check reads the labels that passed
    the one before, so labels are refused for their first fault; ``message`` begins both
    messages (``"... must"``). Used by the export's serving graph and the TFRecord readers."""
    import tensorflow as tf

    logical_labels = gated(logical_labels, [tf.debugging.assert_equal(
        tf.reduce_all(tf.logical_or(tf.equal(logical_labels, 0.0), tf.equal(logical_labels, 1.0))), True,
        message=f"{message} hold 0 or 1 only (logical labels)")])
    # after the values' check, so a row such as [0, 2, 0] is refused for its 2, every time
    return gated(logical_labels, [tf.debugging.assert_equal(
        tf.reduce_all(tf.reduce_any(tf.equal(logical_labels, 1.0), axis=1)), True,
        message=f"{message} mark at least one relevant label (a 1) in every row; a row of zeros has no "
                f"label distribution")])


def serialize_examples(features, feature_key: Key = DEFAULT_FEATURE_KEY, logical_labels=None) -> list:
    """Rows as serialized ``tf.Example`` for the ``serving_examples`` signature.

    Parameters
    ----------
    features : array-like, shape (n, d)
        Raw features, one example per row, under ``feature_key``.
    feature_key : str or sequence of str
        One name (a float list of d values) or d names (one scalar each).
    logical_labels : array-like, shape (n, c), optional
        Each row's logical labels, under :data:`LOGICAL_LABELS` (what a label-aware model's
        examples carry).

    Returns
    -------
    list of bytes
        n serialized examples.

    Raises
    ------
    ValueError
        If ``features`` is not 2-D, ``logical_labels`` is not 2-D with n rows, or
        ``feature_key`` is not a name or d distinct names.
    """
    import numpy as np

    features = np.asarray(features, dtype=np.float32)
    if features.ndim != 2:
        raise ValueError(f"features must be 2-D (n, d), got shape {features.shape}")
    if logical_labels is not None:
        logical_labels = np.asarray(logical_labels, dtype=np.float32)
        if logical_labels.ndim != 2 or logical_labels.shape[0] != features.shape[0]:
            raise ValueError(f"logical_labels must be 2-D with one row per row of features ({features.shape[0]}), "
                             f"got shape {logical_labels.shape}")
    keys = feature_keys(feature_key, features.shape[1])
    keys = keys if isinstance(keys, str) else tuple(keys)  # a dict key
    return [serialize_example({keys: row} if logical_labels is None else {keys: row, LOGICAL_LABELS: logical_labels[i]})
            for i, row in enumerate(features)]
