"""TFX-style entry points for LIB: ``run_fn`` (Trainer) and ``tuner_fn`` (Tuner).

TFX itself is not a dependency: these functions follow its module-file contracts with
TensorFlow, Keras and Keras Tuner only, so a pipeline can name them
(``Trainer(run_fn="lib_tf.tfx.run_fn", ...)``, ``Tuner(tuner_fn="lib_tf.tfx.tuner_fn", ...)``;
see ``examples/tfx_pipeline.py``) and tests can call them with ``fn_args``-like objects.
Keras is imported as ``keras``, never through ``tf.keras`` (importing ``tfx`` sets
``TF_USE_LEGACY_KERAS=1``, which would turn ``tf.keras`` into Keras 2).

Data: the ``train_files`` / ``eval_files`` that ExampleGen writes, gzipped TFRecords of
``tf.Example`` (:func:`write_examples` writes such files from arrays). Per example, keys of
``fn_args.custom_config`` (defaults in brackets):

- ``feature_key`` ["features"]: the d raw features, one float feature of d values, or a list
  of d names of scalar float features (as ``CsvExampleGen`` writes columns);
- ``label_key`` ["logical_labels"]: the c logical labels (0/1), one float feature, or a list;
- ``distribution_key`` ["label_distribution"]: optional ground-truth distributions (c
  floats); when the eval split has them the Tuner's objective is their Kullback-Leibler
  divergence and the model card carries the six metrics. With the default key, examples
  without it are read under ``distributions`` (where TFRecord shards of
  :mod:`lib_tf.data.streaming` written before the names were unified keep it).

The keys' defaults and the encoding (float lists) are those of :mod:`lib_tf.contract`.

Other ``custom_config`` entries: ``enhancer`` (``LabelEnhancer`` arguments fixed for the
Trainer and, where the hypermodel searches them, for the Tuner too, e.g.
``{"hidden_units": 64, "epochs": 100}``), ``model_name``, ``data_name``, ``label_names``; for
the Tuner ``tuner`` ["random"], ``max_trials`` [10], ``tuner_seed`` [0], ``space`` (overrides
of :data:`lib_tf.tuning.DEFAULT_SPACE`), ``project_name``. ``train_steps`` sets the epochs
(of the Trainer, and the Tuner's epoch budget) unless ``enhancer`` gives ``epochs``.
"""
from __future__ import annotations

import collections
import math
import os
from pathlib import Path
from typing import Mapping, Optional

import keras_tuner
import numpy as np

from .contract import DEFAULT_FEATURE_KEY, GROUND_TRUTH_KEY, LEGACY_GROUND_TRUTH_KEYS, Key, serialize_example
from .contract import LOGICAL_LABELS as DEFAULT_LABEL_KEY
from .export import write_saved_model

#: What ``tuner_fn`` returns (the fields of TFX's ``TunerFnResult``).
TunerFnResult = collections.namedtuple("TunerFnResult", ["tuner", "fit_kwargs"])

DEFAULT_DISTRIBUTION_KEY = GROUND_TRUTH_KEY


# -- tf.Example files -------------------------------------------------------------------------
def write_examples(path, features, logical_labels, distributions=None, feature_key: Key = DEFAULT_FEATURE_KEY,
                   label_key: Key = DEFAULT_LABEL_KEY, distribution_key: Key = DEFAULT_DISTRIBUTION_KEY) -> str:
    """Write rows as a gzipped TFRecord file of ``tf.Example`` (the ExampleGen format).

    Parameters
    ----------
    path : str or os.PathLike
        The file to write (its folder is made).
    features : array-like, shape (n, d)
    logical_labels : array-like, shape (n, c)
    distributions : array-like, shape (n, c), optional
        Ground truth, under ``distribution_key``.
    feature_key, label_key, distribution_key : str or sequence of str
        One name (a float list per row) or one name per column (a scalar each), as
        :func:`lib_tf.contract.serialize_example` writes them.

    Returns
    -------
    str
        ``path``.

    Raises
    ------
    ValueError
        If the arrays' row counts differ, or a list of names does not match its row's width.
    """
    import tensorflow as tf

    features, logical_labels = np.asarray(features), np.asarray(logical_labels)
    if len(features) != len(logical_labels) or (distributions is not None and len(distributions) != len(features)):
        raise ValueError("features, logical_labels and distributions need the same number of rows")
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    hashable = [k if isinstance(k, str) else tuple(k) for k in (feature_key, label_key, distribution_key)]
    with tf.io.TFRecordWriter(str(path), options="GZIP") as writer:
        for i in range(len(features)):
            columns = {hashable[0]: features[i], hashable[1]: logical_labels[i]}
            if distributions is not None:
                columns[hashable[2]] = distributions[i]
            writer.write(serialize_example(columns))
    return str(path)


def _files(patterns) -> list:
    import tensorflow as tf

    if isinstance(patterns, str):
        patterns = [patterns]
    files = []
    for pattern in patterns or []:
        # ExampleGen hands over folders (Split-train) as well as globs (Split-train/*).
        if tf.io.gfile.isdir(pattern):
            pattern = os.path.join(pattern, "*")
        files.extend(sorted(tf.io.gfile.glob(pattern)))
    return files


def read_examples(patterns, feature_key: Key = DEFAULT_FEATURE_KEY, label_key: Key = DEFAULT_LABEL_KEY,
                  distribution_key: Optional[Key] = DEFAULT_DISTRIBUTION_KEY):
    """Read TFRecord files of ``tf.Example`` (gzipped when named ``*.gz``, as ExampleGen
    writes them), widths found from the files.

    Parameters
    ----------
    patterns : str or sequence of str
        Globs or folders (a folder means every file in it).
    feature_key, label_key : str or sequence of str
        One name (a float list per example) or one name per column (a scalar each).
    distribution_key : str or sequence of str, optional
        Where the ground truth is; examples without it give ``None``. With the default
        (:data:`lib_tf.contract.GROUND_TRUTH_KEY`) the legacy ``"distributions"`` is read
        when it is absent.

    Returns
    -------
    tuple
        ``(features (n, d), logical labels (n, c), distributions (n, c) or None)``, float64.

    Raises
    ------
    FileNotFoundError
        If no file matches.
    ValueError
        If the files hold no examples, or examples hold different numbers of values under one
        key (or none under a required one).
    """
    import tensorflow as tf

    files = _files(patterns)
    if not files:
        raise FileNotFoundError(f"no TFRecord files match {patterns}")
    records = []
    for name in files:
        compression = "GZIP" if name.endswith(".gz") else ""
        records.extend(r.numpy() for r in tf.data.TFRecordDataset(name, compression_type=compression))
    if not records:
        raise ValueError(f"no examples in {files}")
    serialized = tf.constant(records)

    def column(key, required):
        if isinstance(key, str):
            values = tf.io.parse_example(serialized, {key: tf.io.RaggedFeature(tf.float32)})[key]
            lengths = values.row_lengths().numpy()
            if not required and lengths.max() == 0:
                return None
            if lengths.min() != lengths.max() or lengths.min() == 0:
                raise ValueError(f"feature {key!r}: every tf.Example needs the same number of floats "
                                 f"(found lengths {lengths.min()} to {lengths.max()})")
            return values.to_tensor().numpy().astype(np.float64)
        keys = list(key)
        spec = {k: tf.io.FixedLenFeature([], tf.float32) if required else
                tf.io.FixedLenFeature([], tf.float32, default_value=np.nan) for k in keys}
        parsed = tf.io.parse_example(serialized, spec)
        array = np.stack([parsed[k].numpy() for k in keys], axis=1).astype(np.float64)
        return None if not required and np.isnan(array).all() else array

    distributions = column(distribution_key, False) if distribution_key else None
    for legacy in LEGACY_GROUND_TRUTH_KEYS if distributions is None and distribution_key == GROUND_TRUTH_KEY else ():
        distributions = column(legacy, False)
        if distributions is not None:
            break
    return column(feature_key, True), column(label_key, True), distributions


def _keys(config: Mapping):
    return (config.get("feature_key", DEFAULT_FEATURE_KEY), config.get("label_key", DEFAULT_LABEL_KEY),
            config.get("distribution_key", DEFAULT_DISTRIBUTION_KEY))


def _config(fn_args) -> dict:
    return dict(getattr(fn_args, "custom_config", None) or {})


# -- hyper-parameters -------------------------------------------------------------------------
def hyperparameter_values(hyperparameters) -> dict:
    """Plain ``{name: value}`` from what a TFX Tuner hands the Trainer: a keras_tuner
    ``HyperParameters`` object, its ``get_config()`` dict, a plain dict, or None."""
    if hyperparameters is None:
        return {}
    if isinstance(hyperparameters, keras_tuner.HyperParameters):
        hyperparameters = hyperparameters.values
    if isinstance(hyperparameters, Mapping):
        if "space" in hyperparameters and isinstance(hyperparameters.get("values"), Mapping):
            hyperparameters = hyperparameters["values"]
        # Tuner bookkeeping such as Hyperband's "tuner/epochs" is not a model parameter.
        return {k: v for k, v in hyperparameters.items() if "/" not in str(k)}
    raise TypeError(f"cannot read hyperparameters of type {type(hyperparameters).__name__}")


_SEARCHED = ("alpha", "beta", "learning_rate", "latent_dim", "hidden_units", "batch_size", "epochs", "temperature",
             "random_state", "verbose")


def _epochs(config: Mapping, fn_steps, n: int, batch_size: int):
    enhancer = config.get("enhancer", {})
    if enhancer.get("epochs"):
        return int(enhancer["epochs"])
    if fn_steps:
        return max(1, math.ceil(int(fn_steps) / math.ceil(n / batch_size)))
    return None


def _with_complete_best_hyperparameters(tuner):
    """Make ``tuner.get_best_hyperparameters()`` return *all* LabelEnhancer arguments of the
    best trials (``LIBHyperModel.best_hparams``: with the read-out temperature picked per trial
    and the fixed settings), as ``Fixed`` values. The TFX Tuner component writes exactly that
    call's ``get_config()`` for the Trainer, which would otherwise lose T and the fixed values."""

    def get_best_hyperparameters(num_trials=1):
        best = []
        for trial in tuner.oracle.get_best_trials(num_trials):
            hp = keras_tuner.HyperParameters()
            for name, value in tuner.hypermodel.best_hparams(trial).items():
                if value is not None:
                    hp.Fixed(name, value)
            best.append(hp)
        return best

    tuner.get_best_hyperparameters = get_best_hyperparameters
    return tuner


# -- the entry points -------------------------------------------------------------------------
def tuner_fn(fn_args) -> TunerFnResult:
    """TFX Tuner entry point: a Keras Tuner tuner over :class:`lib_tf.tuning.hypermodel.LIBHyperModel`
    (alpha, beta, learning rate, latent size, width, batch size, epochs; T picked per trial)
    and the keyword arguments for ``tuner.search``.

    The objective is that of ``lib-tf tune``, computed inside the train split (LE is
    transductive): ``revealed`` (KL on the ground truth of a revealed 10% of the instances)
    when the train examples carry distributions, else ``unsupervised``. Settings given in
    ``custom_config["enhancer"]`` are fixed, not searched; ``custom_config["tuner"]`` picks
    random (default), bayesian or hyperband; ``custom_config["space"]`` overrides ranges.
    ``tuner.get_best_hyperparameters()`` gives complete LabelEnhancer arguments (T included),
    which :func:`run_fn` receives as ``fn_args.hyperparameters``.
    """
    from . import hparams, tuning

    config = _config(fn_args)
    feature_key, label_key, distribution_key = _keys(config)
    X, L, D = read_examples(fn_args.train_files, feature_key, label_key, distribution_key)
    enhancer = hparams.validate_hparams(dict(config.get("enhancer", {})))
    space = {name: tuple(values) for name, values in (config.get("space") or {}).items()}
    for name in ("alpha", "beta", "learning_rate", "latent_dim", "hidden_units", "batch_size"):
        if name in enhancer:  # fixed by the user: a one-value range
            space[name] = (enhancer[name],)
    max_epochs = _epochs(config, getattr(fn_args, "train_steps", None), len(X), int(enhancer.get("batch_size", 128)))
    max_epochs = max_epochs or tuning.default_max_epochs(len(X))
    objective = "revealed" if D is not None else "unsupervised"
    tuner = tuning.make_tuner(
        config.get("tuner", "random"), L.shape[1], getattr(fn_args, "working_dir", None) or "lib_tuning",
        objective=objective, trials=int(config.get("max_trials", 10)), max_epochs=max_epochs,
        min_epochs=max_epochs if "epochs" in enhancer else None, seed=int(config.get("tuner_seed", 0)),
        overwrite=True, project_name=config.get("project_name", "lib"), space=space,
        temperature=enhancer.get("temperature", "select"),
        fixed={k: v for k, v in enhancer.items() if k not in _SEARCHED})
    fit_kwargs = {"x": X.astype(np.float32), "y": L.astype(np.float32), "verbose": 0}
    if D is not None:
        fit_kwargs["distributions"] = D
    return TunerFnResult(tuner=_with_complete_best_hyperparameters(tuner), fit_kwargs=fit_kwargs)


def run_fn(fn_args):
    """TFX Trainer entry point: fit a ``LabelEnhancer`` on ``fn_args.train_files`` with
    ``fn_args.hyperparameters`` (the Tuner's best, when it ran) over the fixed parameters of
    ``custom_config["enhancer"]``, and write the serving export (both signatures, warm-up,
    model card) to ``fn_args.serving_model_dir``. Returns that folder."""
    from .enhancer import LabelEnhancer
    from .metrics import score

    from .export import VersionExistsError

    target = Path(fn_args.serving_model_dir)
    if target.exists() and (not target.is_dir() or any(target.iterdir())):  # before training, not after
        raise VersionExistsError(f"{target} already exists and is not empty; exported models are never overwritten")
    config = _config(fn_args)
    feature_key, label_key, distribution_key = _keys(config)
    X, L, D = read_examples(fn_args.train_files, feature_key, label_key, distribution_key)
    params = {"random_state": 0, **config.get("enhancer", {}),
              **hyperparameter_values(getattr(fn_args, "hyperparameters", None))}
    enhancer = LabelEnhancer().set_params(**params)
    epochs = _epochs({"enhancer": params}, getattr(fn_args, "train_steps", None), len(X), enhancer.batch_size)
    if epochs:
        enhancer.set_params(epochs=epochs)
    enhancer.fit(X, L)
    metrics = {}
    if D is not None:
        metrics["train"] = score(D, enhancer.distributions_)
    if getattr(fn_args, "eval_files", None):
        X_eval, _, D_eval = read_examples(fn_args.eval_files, feature_key, label_key, distribution_key)
        if D_eval is not None:
            metrics["eval"] = score(D_eval, enhancer.transform(X_eval))
    metrics = {split: {k: float(v) for k, v in values.items()} for split, values in metrics.items()} or None
    return write_saved_model(
        enhancer, fn_args.serving_model_dir, model_name=config.get("model_name", "lib"),
        feature_key=feature_key, label_names=config.get("label_names"), data_name=config.get("data_name", "tfx"),
        metrics=metrics, card_extra={"n_train": len(X), "trained_by": "lib_tf.tfx.run_fn"})
