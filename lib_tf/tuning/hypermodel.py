"""Keras Tuner's side of the search: :class:`LIBHyperModel` and the tuner classes.

This module imports Keras Tuner (and with it TensorFlow) when it is imported; the rest of
:mod:`lib_tf.tuning` does not, so that the command line and the hyper-parameter files stay
light. :func:`lib_tf.tuning.make_tuner` imports it when a tuner is made.
"""
from __future__ import annotations

import time

import keras_tuner
import numpy as np

from .._keras_state import released_keras_state
from ..data.splits import split_instances
from ..hparams import validate_hparams
from ..metrics import chebyshev, kullback_leibler
from ..readout.forms import TEMPERATURE_GRID, softmax_with_temperature
from ..readout.selection import consistency_loss, select_readout, select_readout_without_truth
from .objectives import DEFAULT_SPACE, OBJECTIVES


class LIBHyperModel(keras_tuner.HyperModel):
    """A Keras Tuner ``HyperModel`` over :class:`lib_tf.model.LIB`.

    Parameters
    ----------
    n_labels : int
        Number of labels c.
    objective : {"revealed", "unsupervised"}
        What a trial is scored on (see :mod:`lib_tf.tuning`).
    max_epochs : int
        Largest number of epochs of a trial (the budget).
    min_epochs : int, optional
        Smallest number of epochs of a trial (default ``max_epochs // 10``, at least 1).
    search_epochs : bool
        Whether ``epochs`` is a hyper-parameter (False under Hyperband, which sets the
        epochs of each trial itself).
    temperature : {"select", "search"} or float
        ``"select"``: picked per trial after training, on the objective's own signal;
        ``"search"``: a choice from the temperature grid; a number: fixed.
    space : dict, optional
        Overrides of :data:`~lib_tf.tuning.DEFAULT_SPACE` (ranges for alpha, beta,
        learning_rate; choices for latent_dim, hidden_units, batch_size). A one-element
        tuple fixes a value.
    fixed : dict, optional
        Further LabelEnhancer arguments passed to every trial unchanged (``depth``,
        ``activation``, ``assignment``, ...).
    seed : int
        Seeds every trial's initialisation and shuffling (the same for all trials, so trials
        differ by their settings only, and a refit with the best settings and this seed
        repeats the best trial).
    diagnose : bool
        Also report ground-truth figures of every trial (``truth_kl``, ``truth_chebyshev``:
        on the unrevealed rest for ``revealed``, on all instances for ``unsupervised``), to
        measure how well an objective tracks recovery quality. They are stored with the
        trial and never used to choose.

    Notes
    -----
    ``fit(hp, model, X, L, distributions=None, share=..., split_seed=...)`` trains one trial
    and returns its metrics: the objective, ``temperature`` (the T used) and
    ``train_seconds``. ``best_hparams(trial)`` turns a trial into LabelEnhancer arguments.
    """

    def __init__(self, n_labels: int, objective: str = "revealed", max_epochs: int = 300, min_epochs: int = None,
                 search_epochs: bool = True, temperature="select", space=None, fixed=None, seed: int = 0,
                 diagnose: bool = False, **kwargs):
        super().__init__(name=kwargs.pop("name", "lib"), **kwargs)
        if objective not in OBJECTIVES:
            raise ValueError(f"objective must be one of {tuple(OBJECTIVES)}, got {objective!r}")
        if not (isinstance(temperature, (int, float)) and temperature > 0) and temperature not in ("select", "search"):
            raise ValueError(f"temperature must be 'select', 'search' or a positive number, got {temperature!r}")
        if int(max_epochs) < 1:
            raise ValueError(f"max_epochs must be positive, got {max_epochs}")
        unknown = set(space or {}) - set(DEFAULT_SPACE)
        if unknown:
            raise ValueError(f"unknown search-space entries {sorted(unknown)}; known: {sorted(DEFAULT_SPACE)}")
        if (fixed or {}).get("model", "paper") != "paper":
            raise ValueError(f"the tuner searches the paper model's settings (model='paper'), got "
                             f"model={fixed['model']!r}: its trials read out without the logical labels a "
                             "label-aware model reads")
        self.n_labels = int(n_labels)
        self.objective = objective
        self.max_epochs = int(max_epochs)
        self.min_epochs = max(1, min(self.max_epochs, int(min_epochs) if min_epochs else max(1, self.max_epochs // 10)))
        self.search_epochs = search_epochs
        self.temperature = temperature
        self.space = {**DEFAULT_SPACE, **(space or {})}
        self.fixed = dict(fixed or {})
        self.seed = int(seed)
        self.diagnose = bool(diagnose)

    @property
    def metric(self) -> str:
        return OBJECTIVES[self.objective]

    def _float(self, hp, name):
        low, high = (self.space[name] * 2)[:2] if len(self.space[name]) == 1 else self.space[name]
        if low == high:
            return hp.Fixed(name, float(low))
        return hp.Float(name, float(low), float(high), sampling="log")

    def _choice(self, hp, name):
        values = [int(v) for v in self.space[name]]
        return hp.Fixed(name, values[0]) if len(values) == 1 else hp.Choice(name, values)

    def trial_params(self, hp) -> dict:
        """LabelEnhancer arguments of a trial (declaring the hyper-parameters on ``hp``)."""
        params = dict(self.fixed)
        params.update(alpha=self._float(hp, "alpha"), beta=self._float(hp, "beta"),
                      learning_rate=self._float(hp, "learning_rate"),
                      latent_dim=self._choice(hp, "latent_dim"), hidden_units=self._choice(hp, "hidden_units"),
                      batch_size=self._choice(hp, "batch_size"), random_state=self.seed)
        if self.search_epochs:
            if self.min_epochs == self.max_epochs:
                params["epochs"] = hp.Fixed("epochs", self.max_epochs)
            else:
                # Keras Tuner's log-scale Int can land one past max_value: clamp.
                params["epochs"] = min(self.max_epochs, hp.Int("epochs", self.min_epochs, self.max_epochs, sampling="log"))
        else:
            params["epochs"] = int(hp.values.get("tuner/epochs", self.max_epochs))
        if self.temperature == "search":
            params["temperature"] = hp.Choice("temperature", list(TEMPERATURE_GRID))
        elif self.temperature != "select":
            params["temperature"] = float(self.temperature)
        return params

    def build(self, hp):
        from ..model.factory import build_model

        # As LabelEnhancer.fit builds, so that a refit with these settings repeats the trial.
        return build_model(self.n_labels, self.trial_params(hp))

    def fit(self, hp, model, x, y, distributions=None, share=None, split_seed=0, epochs=None, initial_epoch=0,
            callbacks=None, verbose=0, **unused):
        import keras

        from ..model.training import train

        params = self.trial_params(hp)
        X, L = np.asarray(x, np.float32), np.asarray(y, np.float32)
        share = (0.1 if self.objective == "revealed" else 0.2) if share is None else share
        first, rest = split_instances(len(X), share, split_seed)
        if self.objective == "revealed":
            if distributions is None:
                raise ValueError("the 'revealed' objective needs the ground-truth distributions of the revealed share")
            train_rows = np.arange(len(X))
        else:
            train_rows = rest  # held-out instances are `first`; their logical labels are not trained on
        total = int(epochs if epochs is not None else params["epochs"])
        todo = total - int(initial_epoch)
        start = time.perf_counter()
        if todo > 0:
            train(model, X[train_rows], L[train_rows], epochs=todo, batch_size=params["batch_size"],
                  learning_rate=params["learning_rate"], seed=self.seed)
        seconds = time.perf_counter() - start
        logits = model.predict_logits(X)
        if self.objective == "revealed":
            D = np.asarray(distributions, np.float64)
            t = params.get("temperature") or select_readout(logits[first], D[first])
            value = kullback_leibler(D[first], softmax_with_temperature(logits[first], t))
        else:
            t = params.get("temperature") or select_readout_without_truth(logits[train_rows], L[train_rows])
            value = consistency_loss(softmax_with_temperature(logits[first], t), L[first])
        model.set_temperature(float(t))
        metrics = {self.metric: float(value), "temperature": float(t), "train_seconds": float(seconds)}
        if self.diagnose and distributions is not None:
            # For measuring how well an objective tracks recovery quality; never used to choose.
            D = np.asarray(distributions, np.float64)
            scored = rest if self.objective == "revealed" else np.arange(len(X))
            recovered = softmax_with_temperature(logits[scored], t)
            metrics.update(truth_kl=float(kullback_leibler(D[scored], recovered)),
                           truth_chebyshev=float(chebyshev(D[scored], recovered)))
        # Keras Tuner's checkpoint callback (Hyperband continues trials from it): save once.
        self.last_metrics = dict(metrics)
        for callback in callbacks or []:
            if hasattr(callback, "_save_model") and hasattr(callback, "filepath"):
                callback.set_model(model)
                callback.on_epoch_end(total - 1, logs=dict(metrics))
        return metrics

    def best_hparams(self, trial) -> dict:
        """LabelEnhancer constructor arguments of a finished trial (a plain dict)."""
        from ..enhancer import LabelEnhancer

        values = trial.hyperparameters.values
        params = dict(self.fixed)
        for name in ("alpha", "beta", "learning_rate"):
            params[name] = float(values[name])
        for name in ("latent_dim", "hidden_units", "batch_size"):
            params[name] = int(values[name])
        params["epochs"] = min(self.max_epochs, int(values["epochs"] if "epochs" in values
                                                    else values.get("tuner/epochs", self.max_epochs)))
        temperature = values.get("temperature") if self.temperature == "search" else None
        if temperature is None:
            temperature = trial.metrics.get_last_value("temperature") if self.temperature == "select" else self.temperature
        params["temperature"] = float(temperature)
        params["random_state"] = self.seed
        return validate_hparams(params, LabelEnhancer)


def tuner_class(kind: str):
    """The stock Keras Tuner class of ``kind`` with progress reports and released trial state.

    Parameters
    ----------
    kind : {"random", "bayesian", "hyperband"}
        RandomSearch, BayesianOptimization or Hyperband.

    Returns
    -------
    type
        A subclass of the stock tuner whose ``progress(tuner, trial)`` attribute, when set,
        is called after every trial.
    """
    base = {"random": keras_tuner.RandomSearch, "bayesian": keras_tuner.BayesianOptimization,
            "hyperband": keras_tuner.Hyperband}[kind]

    class ReportingTuner(base):
        """The stock tuner, plus a call of ``self.progress(trial)`` after every trial; what
        Keras and TF keep of a trial's fits is released after it (its models are discarded)."""

        progress = None

        def run_trial(self, trial, *args, **kwargs):
            with released_keras_state():
                return super().run_trial(trial, *args, **kwargs)

        def on_trial_end(self, trial):
            super().on_trial_end(trial)
            if self.progress is not None:
                self.progress(self, trial)

    ReportingTuner.__name__ = ReportingTuner.__qualname__ = f"Reporting{base.__name__}"
    return ReportingTuner

