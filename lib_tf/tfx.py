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
  divergence and the model card carries the six metrics.

Other ``custom_config`` entries: ``enhancer`` (fixed ``LabelEnhancer`` parameters, e.g.
``{"hidden_units": 64, "epochs": 100}``), ``model_name``, ``data_name``, ``max_trials`` [10],
``tuner_seed`` [0], ``alpha_grid`` / ``beta_grid`` (default the paper's
{0.001, 0.01, 0.1, 1, 10}), ``project_name``.
"""
from __future__ import annotations

import collections
import math
import os
from typing import Mapping, Optional, Sequence, Union

import keras  # Keras 3 itself, never tf.keras (TFX sets TF_USE_LEGACY_KERAS=1)
import keras_tuner
import numpy as np

from .export import DEFAULT_FEATURE_KEY, write_saved_model

#: What ``tuner_fn`` returns (the fields of TFX's ``TunerFnResult``).
TunerFnResult = collections.namedtuple("TunerFnResult", ["tuner", "fit_kwargs"])

DEFAULT_LABEL_KEY = "logical_labels"
DEFAULT_DISTRIBUTION_KEY = "label_distribution"
#: The paper's grid for alpha (weight of the gap term) and beta (weight of the KL term).
PAPER_GRID = (0.001, 0.01, 0.1, 1.0, 10.0)

Key = Union[str, Sequence[str]]


# -- tf.Example files -------------------------------------------------------------------------
def _feature(values):
    import tensorflow as tf

    return tf.train.Feature(float_list=tf.train.FloatList(value=np.asarray(values, np.float32).ravel()))


def _put(feature, key: Key, row):
    if isinstance(key, str):
        feature[key] = _feature(row)
    else:
        if len(key) != len(row):
            raise ValueError(f"{len(key)} keys for {len(row)} values")
        for name, value in zip(key, row):
            feature[name] = _feature([value])


def write_examples(path, features, logical_labels, distributions=None, feature_key: Key = DEFAULT_FEATURE_KEY,
                   label_key: Key = DEFAULT_LABEL_KEY, distribution_key: Key = DEFAULT_DISTRIBUTION_KEY) -> str:
    """Write rows as a gzipped TFRecord file of ``tf.Example`` (the ExampleGen format)."""
    import tensorflow as tf

    features, logical_labels = np.asarray(features), np.asarray(logical_labels)
    if len(features) != len(logical_labels) or (distributions is not None and len(distributions) != len(features)):
        raise ValueError("features, logical_labels and distributions need the same number of rows")
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with tf.io.TFRecordWriter(str(path), options="GZIP") as writer:
        for i in range(len(features)):
            feature = {}
            _put(feature, feature_key, features[i])
            _put(feature, label_key, logical_labels[i])
            if distributions is not None:
                _put(feature, distribution_key, distributions[i])
            writer.write(tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString())
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
    """Read TFRecord files (gzipped when named ``*.gz``, as ExampleGen writes them) into
    ``(features (n, d), logical labels (n, c), distributions (n, c) or None)``."""
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


class ValidationDistributionMetrics(keras.callbacks.Callback):
    """Adds ``val_<measure>`` (the six LE measures of the predictions on ``x`` against the
    ground-truth ``distributions``, e.g. ``val_kullback_leibler``) to every epoch's logs; put
    it first, so that the tuner's callbacks read them."""

    def __init__(self, x, distributions):
        super().__init__()
        self.x, self.distributions = np.asarray(x, np.float32), np.asarray(distributions, np.float64)

    def on_epoch_end(self, epoch, logs=None):
        from .metrics import score

        if logs is None:
            return
        predicted = self.model.predict(self.x, batch_size=4096, verbose=0)
        for name, value in score(self.distributions, predicted).items():
            logs["val_" + name.lower().replace("-", "_")] = float(value)


class LIBHyperModel(keras_tuner.HyperModel):
    """A small Keras Tuner hypermodel over LIB's alpha (weight of the gap term) and beta
    (weight of the KL term), on the paper's grid by default; the other LIB parameters are
    fixed (``fixed``). A stand-in until the tuning module's hypermodel exists."""

    def __init__(self, n_labels: int, fixed: Optional[Mapping] = None, alpha_grid=PAPER_GRID,
                 beta_grid=PAPER_GRID, batch_size: int = 128, learning_rate: float = 1e-3, **kwargs):
        super().__init__(**kwargs)
        self.n_labels = int(n_labels)
        self.fixed = dict(fixed or {})
        self.alpha_grid, self.beta_grid = [float(a) for a in alpha_grid], [float(b) for b in beta_grid]
        self.batch_size, self.learning_rate = int(batch_size), float(learning_rate)

    def build(self, hp):
        from .model import LIB

        return LIB(self.n_labels, alpha=hp.Choice("alpha", self.alpha_grid),
                   beta=hp.Choice("beta", self.beta_grid), **self.fixed)

    def fit(self, hp, model, x, y, validation_distributions=None, epochs=50, callbacks=None, **kwargs):
        """``model.fit`` on (features, logical labels); with ``validation_distributions`` =
        (features, ground-truth distributions) the epoch logs gain ``val_kullback_leibler``
        and the other five measures."""
        callbacks = list(callbacks or [])
        if validation_distributions is not None:
            callbacks.insert(0, ValidationDistributionMetrics(*validation_distributions))
        if not model.compiled and self.learning_rate != 1e-3:
            model.compile(keras.optimizers.Adam(self.learning_rate))  # else LIB.fit compiles (faster)
        kwargs.setdefault("verbose", 0)
        return model.fit(x, y, batch_size=self.batch_size, epochs=epochs, callbacks=callbacks, **kwargs)


_MODEL_PARAMS = ("temperature", "latent_dim", "hidden_units", "depth", "activation", "assignment", "gap_on",
                 "reduction", "pretrain_epochs", "network_dtype", "seed")


def _epochs(config: Mapping, fn_steps, n: int, batch_size: int):
    enhancer = config.get("enhancer", {})
    if enhancer.get("epochs"):
        return int(enhancer["epochs"])
    if fn_steps:
        return max(1, math.ceil(int(fn_steps) / math.ceil(n / batch_size)))
    return None


# -- the entry points -------------------------------------------------------------------------
def tuner_fn(fn_args) -> TunerFnResult:
    """TFX Tuner entry point: a Keras Tuner ``RandomSearch`` over alpha and beta, and the
    keyword arguments for ``tuner.search``.

    The objective is ``val_kullback_leibler`` (min) against the eval split's ground-truth
    distributions when it has them, else ``val_assignment`` (min): the held-out assignment
    term, which alpha and beta do not weight.
    """
    from .enhancer import auto_epochs

    config = _config(fn_args)
    feature_key, label_key, distribution_key = _keys(config)
    X, L, _ = read_examples(fn_args.train_files, feature_key, label_key, None)
    X_eval, L_eval, D_eval = read_examples(fn_args.eval_files, feature_key, label_key, distribution_key)
    enhancer = dict(config.get("enhancer", {}))
    batch_size = int(enhancer.get("batch_size", 128))
    fixed = {k: v for k, v in enhancer.items() if k in _MODEL_PARAMS}
    fixed.setdefault("seed", 0)
    hypermodel = LIBHyperModel(L.shape[1], fixed, config.get("alpha_grid", PAPER_GRID),
                               config.get("beta_grid", PAPER_GRID), batch_size=batch_size,
                               learning_rate=float(enhancer.get("learning_rate", 1e-3)))
    if D_eval is not None:
        objective = keras_tuner.Objective("val_kullback_leibler", direction="min")
    else:
        objective = keras_tuner.Objective("val_assignment", direction="min")
    tuner = keras_tuner.RandomSearch(
        hypermodel, objective=objective, max_trials=int(config.get("max_trials", 10)),
        seed=int(config.get("tuner_seed", 0)), directory=getattr(fn_args, "working_dir", None) or "lib_tuning",
        project_name=config.get("project_name", "lib"), overwrite=True)
    epochs = _epochs(config, getattr(fn_args, "train_steps", None), len(X), batch_size) or auto_epochs(len(X), batch_size)
    fit_kwargs = {"x": X.astype(np.float32), "y": L.astype(np.float32), "epochs": epochs}
    if D_eval is not None:
        fit_kwargs["validation_distributions"] = (X_eval.astype(np.float32), D_eval)
    else:
        fit_kwargs["validation_data"] = (X_eval.astype(np.float32), L_eval.astype(np.float32))
    return TunerFnResult(tuner=tuner, fit_kwargs=fit_kwargs)


def run_fn(fn_args):
    """TFX Trainer entry point: fit a ``LabelEnhancer`` on ``fn_args.train_files`` with
    ``fn_args.hyperparameters`` (the Tuner's best, when it ran) over the fixed parameters of
    ``custom_config["enhancer"]``, and write the serving export (both signatures, warm-up,
    model card) to ``fn_args.serving_model_dir``. Returns that folder."""
    from .enhancer import LabelEnhancer
    from .metrics import score

    config = _config(fn_args)
    feature_key, label_key, distribution_key = _keys(config)
    X, L, D = read_examples(fn_args.train_files, feature_key, label_key, distribution_key)
    params = {"seed": 0, **config.get("enhancer", {}),
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
