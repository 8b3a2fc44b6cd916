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
``{"hidden_units": 64, "epochs": 100}``; ``{"model": "label-aware"}`` trains and tunes LA-LIB,
from its shipped settings), ``model_name``, ``data_name``, ``label_names``; for the Tuner
``tuner`` ["random"], ``max_trials`` [10], ``tuner_seed`` [0], ``space`` (overrides of the
model's space, :data:`lib_tf.tuning.SPACES`), ``project_name``. ``train_steps`` sets the epochs
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

from .contract import DEFAULT_FEATURE_KEY, GROUND_TRUTH_KEY, LEGACY_GROUND_TRUTH_KEYS, Key
from .contract import LOGICAL_LABELS as DEFAULT_LABEL_KEY
from .data.streaming.readers import example_arrays
from .data.streaming.shards import example_widths
from .data.streaming.writers import write_tfrecord
from .export.versions import check_free
from .export.writer import write_saved_model

#: What ``tuner_fn`` returns (the fields of TFX's ``TunerFnResult``).
TunerFnResult = collections.namedtuple("TunerFnResult", ["tuner", "fit_kwargs"])

DEFAULT_DISTRIBUTION_KEY = GROUND_TRUTH_KEY


# -- tf.Example files -------------------------------------------------------------------------
def write_examples(path, features, logical_labels, distributions=None, feature_key: Key = DEFAULT_FEATURE_KEY,
                   label_key: Key = DEFAULT_LABEL_KEY, distribution_key: Key = DEFAULT_DISTRIBUTION_KEY) -> str:
    """Write rows as a gzipped TFRecord file of ``tf.Example`` (the ExampleGen format), with the
    shard writer of :mod:`lib_tf.data.streaming.writers`.

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
        If the arrays are not 2-D with one row count, or a list of names does not match its
        row's width.
    """
    return write_tfrecord(path, features, logical_labels, distributions,
                          keys=(feature_key, label_key, distribution_key), compression="GZIP")


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
    writes them) with the readers of :mod:`lib_tf.data.streaming`, widths found from the
    first example.

    Parameters
    ----------
    patterns : str or sequence of str
        Globs or folders (a folder means every file in it).
    feature_key, label_key : str or sequence of str
        One name (a float list per example) or one name per column (a scalar each).
    distribution_key : str or sequence of str, optional
        Where the ground truth is; files whose first example lacks it give ``None``. With the
        default (:data:`lib_tf.contract.GROUND_TRUTH_KEY`) the legacy ``"distributions"`` is
        read when it is absent.

    Returns
    -------
    tuple
        ``(features (n, d), logical labels (n, c), distributions (n, c) or None)``, float64.

    Raises
    ------
    FileNotFoundError
        If no file matches.
    ValueError
        If the files hold no examples, the first lacks the features or labels, or an example
        holds another number of values under a key than the first (or none).
    """
    files = _files(patterns)
    if not files:
        raise FileNotFoundError(f"no TFRecord files match {patterns}")
    truth_keys = [distribution_key] if distribution_key else []
    if distribution_key == GROUND_TRUTH_KEY:
        truth_keys += list(LEGACY_GROUND_TRUTH_KEYS)
    d, c, *truth_widths = example_widths(files, [feature_key, label_key, *truth_keys], optional=truth_keys)
    columns = [(feature_key, d, "feature"), (label_key, c, "label")]
    columns += [(key, width, "ground-truth") for key, width in zip(truth_keys, truth_widths) if width is not None][:1]
    features, logical_labels, *distributions = (array.astype(np.float64) for array in example_arrays(files, columns))
    return features, logical_labels, (distributions[0] if distributions else None)


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


#: What the Tuner sets for every trial itself, so not passed through as fixed settings (each
#: model's space, :data:`lib_tf.tuning.objectives.SPACES`, is searched unless given).
_SET_BY_TUNER = ("epochs", "temperature", "random_state", "verbose")


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
    (alpha, beta, learning rate, latent size, width, batch size, epochs; the read-out picked per
    trial; ``"model": "label-aware"`` in ``custom_config["enhancer"]`` searches LA-LIB's space)
    and the keyword arguments for ``tuner.search``.

    The objective is that of ``lib-tf tune``, computed inside the train split (LE is
    transductive): ``revealed`` (KL on the ground truth of a revealed 10% of the instances)
    when the train examples carry distributions, else ``truth-free`` (the expected KL under the
    binarisation posterior on a held-out 20%; the best settings then read out with
    ``readout="truth-free"``). Settings given in
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
    searched = tuning.SPACES[enhancer.get("model", tuning.SEARCHED_MODEL)]
    space = {name: tuple(values) for name, values in (config.get("space") or {}).items()}
    for name in searched:
        if name in enhancer:  # fixed by the user: a one-value range
            space[name] = (enhancer[name],)
    max_epochs = _epochs(config, getattr(fn_args, "train_steps", None), len(X), int(enhancer.get("batch_size", 128)))
    max_epochs = max_epochs or tuning.default_max_epochs(len(X))
    objective = "revealed" if D is not None else "truth-free"
    tuner = tuning.make_tuner(
        config.get("tuner", "random"), L.shape[1], getattr(fn_args, "working_dir", None) or "lib_tuning",
        objective=objective, trials=int(config.get("max_trials", 10)), max_epochs=max_epochs,
        min_epochs=max_epochs if "epochs" in enhancer else None, seed=int(config.get("tuner_seed", 0)),
        overwrite=True, project_name=config.get("project_name", "lib"), space=space,
        temperature=enhancer.get("temperature", "select"),
        fixed={k: v for k, v in enhancer.items() if k not in _SET_BY_TUNER and k not in searched})
    fit_kwargs = {"x": X.astype(np.float32), "y": L.astype(np.float32), "verbose": 0}
    if D is not None:
        fit_kwargs["distributions"] = D
    return TunerFnResult(tuner=_with_complete_best_hyperparameters(tuner), fit_kwargs=fit_kwargs)


def trainer_params(enhancer: Mapping, tuned: Mapping) -> dict:
    """The ``LabelEnhancer`` arguments of :func:`run_fn`: ``tuned`` (the Tuner's values) over
    ``enhancer`` (``custom_config["enhancer"]``) over ``random_state=0`` and the model
    :func:`tuner_fn` searches unless told (:data:`lib_tf.tuning.SEARCHED_MODEL`); the model's own defaults fill in the rest
    (:func:`lib_tf.hparams.with_model_defaults`: for ``{"model": "label-aware"}`` its grid point
    and the truth-free read-out, as ``lib-tf enhance`` starts from them). A temperature the
    Tuner picked (its ``revealed`` objective) is read out as given, not chosen again without
    truth."""
    from .tuning import SEARCHED_MODEL

    params = {"random_state": 0, "model": SEARCHED_MODEL, **enhancer, **tuned}
    if "temperature" in tuned and "readout" not in tuned:
        params["readout"] = "given"
    return params


def run_fn(fn_args):
    """TFX Trainer entry point: fit a ``LabelEnhancer`` on ``fn_args.train_files`` with
    ``fn_args.hyperparameters`` (the Tuner's best, when it ran) over the fixed parameters of
    ``custom_config["enhancer"]`` (:func:`trainer_params`; ``{"model": "label-aware"}`` fits
    LA-LIB, which reads the examples' logical labels in training, at read-out and in its
    signatures), and write the serving export (both signatures, warm-up, model card) to
    ``fn_args.serving_model_dir``. Returns that folder.

    The export's ``serving_examples`` reads a label-aware model's labels under the contract's
    ``"logical_labels"`` key (one float list), whatever ``label_key`` the training files use."""
    from .enhancer import LabelEnhancer
    from .metrics import score

    check_free(Path(fn_args.serving_model_dir))  # before training, not after
    config = _config(fn_args)
    feature_key, label_key, distribution_key = _keys(config)
    X, L, D = read_examples(fn_args.train_files, feature_key, label_key, distribution_key)
    params = trainer_params(config.get("enhancer", {}), hyperparameter_values(getattr(fn_args, "hyperparameters", None)))
    enhancer = LabelEnhancer().set_params(**params)
    epochs = _epochs({"enhancer": params}, getattr(fn_args, "train_steps", None), len(X), enhancer.batch_size)
    if epochs:
        enhancer.set_params(epochs=epochs)
    enhancer.fit(X, L)
    metrics = {}
    if D is not None:
        metrics["train"] = score(D, enhancer.distributions_)
    if getattr(fn_args, "eval_files", None):
        X_eval, L_eval, D_eval = read_examples(fn_args.eval_files, feature_key, label_key, distribution_key)
        if D_eval is not None:  # the labels: what the label-aware model reads (the paper model ignores them)
            metrics["eval"] = score(D_eval, enhancer.transform(X_eval, L_eval))
    metrics = {split: {k: float(v) for k, v in values.items()} for split, values in metrics.items()} or None
    return write_saved_model(
        enhancer, fn_args.serving_model_dir, model_name=config.get("model_name", "lib"),
        feature_key=feature_key, label_names=config.get("label_names"), data_name=config.get("data_name", "tfx"),
        metrics=metrics, card_extra={"n_train": len(X), "trained_by": "lib_tf.tfx.run_fn"})
