"""Keras Tuner's side of the search: :class:`LIBHyperModel` and the tuner classes.

This module imports Keras Tuner (and with it TensorFlow) when it is imported; the rest of
:mod:`lib_tf.tuning` does not, so that the command line and the hyper-parameter files stay
light. :func:`lib_tf.tuning.make_tuner` imports it when a tuner is made.
"""
from __future__ import annotations

import math
import time

import keras_tuner
import numpy as np

from .._keras_state import released_keras_state
from ..contract import FEATURES, LOGICAL_LABELS
from ..data.splits import split_instances
from ..hparams import validate_hparams
from ..metrics import chebyshev, kullback_leibler
from ..readout.forms import TEMPERATURE_GRID, model_readouts
from ..readout.posterior import fit_binarisation_posterior
from ..readout.selection import choose_extending, select_readout
from .objectives import DEFAULT_SHARES, LINEAR_SCALE, LOG_SCALE, OBJECTIVES, SEARCHED_MODEL, SPACES


class LIBHyperModel(keras_tuner.HyperModel):
    """A Keras Tuner ``HyperModel`` over :class:`lib_tf.model.LIB` or :class:`lib_tf.model.LabelAwareLIB`.

    Parameters
    ----------
    n_labels : int
        Number of labels c.
    objective : {"revealed", "truth-free"}
        What a trial is scored on (see :mod:`lib_tf.tuning`).
    max_epochs : int
        Largest number of epochs of a trial (the budget).
    min_epochs : int, optional
        Smallest number of epochs of a trial (default ``max_epochs // 10``, at least 1).
    search_epochs : bool
        Whether ``epochs`` is a hyper-parameter (False under Hyperband, which sets the
        epochs of each trial itself).
    temperature : {"select", "search"} or float
        ``"select"``: the read-out (T, or (T, T_l) for the label-aware model) picked per trial
        after training, on the objective's own signal; paper model only: ``"search"``, T a choice
        from the temperature grid, or a number, T fixed.
    space : dict, optional
        Overrides of the model's space (:data:`~lib_tf.tuning.objectives.SPACES`: ranges for
        alpha, beta, learning_rate and, label-aware, label_dropout; choices for latent_dim,
        hidden_units or head_units, batch_size). A one-element tuple fixes a value.
    fixed : dict, optional
        Further LabelEnhancer arguments passed to every trial unchanged (``depth``,
        ``activation``, ...). ``model`` picks the model and its space: ``"paper"`` (default) or
        ``"label-aware"`` (trials read the logical labels, and so does their read-out).
    seed : int
        Seeds every trial's initialisation and shuffling (the same for all trials, so trials
        differ by their settings only, and a refit with the best settings and this seed
        repeats the best trial).
    diagnose : bool
        Also report ground-truth figures of every trial (``truth_kl``, ``truth_chebyshev``:
        on the unrevealed rest for ``revealed``, on all instances otherwise), to measure how
        well an objective tracks recovery quality. They are stored with the trial and never
        used to choose.

    Notes
    -----
    ``fit(hp, model, X, L, distributions=None, share=..., split_seed=...)`` trains one trial
    and returns its metrics: the objective, the read-out used (``temperature``, and for the
    label-aware model ``label_temperature``, inf where the labels' term is dropped) and
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
        # the model always named: a trial's settings and the best ones then build and refit it
        # whatever LabelEnhancer's default model is
        self.fixed = {"model": SEARCHED_MODEL, **dict(fixed or {})}
        self.model_name = self.fixed["model"]
        if self.model_name not in SPACES:
            raise ValueError(f"fixed['model'] must be one of {tuple(SPACES)}, got {self.model_name!r}")
        if self.label_aware and temperature != "select":
            raise ValueError(f"temperature must be 'select' for the label-aware model (its read-out (T, T_l) is "
                             f"picked per trial), got {temperature!r}")
        unknown = set(space or {}) - set(SPACES[self.model_name])
        if unknown:
            raise ValueError(f"unknown search-space entries {sorted(unknown)} for model={self.model_name!r}; "
                             f"known: {sorted(SPACES[self.model_name])}")
        self.n_labels = int(n_labels)
        self.objective = objective
        self.max_epochs = int(max_epochs)
        self.min_epochs = max(1, min(self.max_epochs, int(min_epochs) if min_epochs else max(1, self.max_epochs // 10)))
        self.search_epochs = search_epochs
        self.temperature = temperature
        self.space = {**SPACES[self.model_name], **(space or {})}
        self.seed = int(seed)
        self.diagnose = bool(diagnose)

    @property
    def metric(self) -> str:
        return OBJECTIVES[self.objective]

    @property
    def label_aware(self) -> bool:
        return self.model_name == "label-aware"

    def readout_form(self):
        """The read-outs a trial picks from: ``softmax(z / T)`` for the paper model; for the
        label-aware one ``softmax(z / T + l / T_l)`` with the logits kept, moved into the
        binarisation rule's interval (unless ``fixed`` turns ``rule_projection`` off)."""
        return model_readouts(self.label_aware, self.fixed.get("rule_projection", True))

    def value_range(self, name):
        """(low, high) of a ranged entry of the space (a one-element entry is both)."""
        return (self.space[name] * 2)[:2] if len(self.space[name]) == 1 else self.space[name]

    def _float(self, hp, name):
        low, high = self.value_range(name)
        if low == high:
            return hp.Fixed(name, float(low))
        return hp.Float(name, float(low), float(high), sampling="log" if name in LOG_SCALE else "linear")

    def _choice(self, hp, name):
        values = [int(v) for v in self.space[name]]
        return hp.Fixed(name, values[0]) if len(values) == 1 else hp.Choice(name, values)

    def trial_params(self, hp) -> dict:
        """LabelEnhancer arguments of a trial (declaring the hyper-parameters on ``hp``)."""
        params = dict(self.fixed)
        for name in self.space:
            params[name] = self._float(hp, name) if name in LOG_SCALE + LINEAR_SCALE else self._choice(hp, name)
        params["random_state"] = self.seed
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

    def _inputs(self, X, L):
        """What the model reads: the features, or features and logical labels (label-aware)."""
        return {FEATURES: X, LOGICAL_LABELS: L} if self.label_aware else X

    def fit(self, hp, model, x, y, distributions=None, share=None, split_seed=0, epochs=None, initial_epoch=0,
            callbacks=None, verbose=0, **unused):
        from ..model.training import train

        params = self.trial_params(hp)
        X, L, D = self.check_data(x, y, distributions)
        first, rest, train_rows = self.split(len(X), share, split_seed)
        total = int(epochs if epochs is not None else params["epochs"])
        start = time.perf_counter()
        if total > int(initial_epoch):
            train(model, self._inputs(X[train_rows], L[train_rows]), L[train_rows], epochs=total - int(initial_epoch),
                  batch_size=params["batch_size"], learning_rate=params["learning_rate"], seed=self.seed)
        metrics = self.score_trained(model, params, X, L, D, first, rest, time.perf_counter() - start)
        # Keras Tuner's checkpoint callback (Hyperband continues trials from it): save once.
        self.last_metrics = dict(metrics)
        for callback in callbacks or []:
            if hasattr(callback, "_save_model") and hasattr(callback, "filepath"):
                callback.set_model(model)
                callback.on_epoch_end(total - 1, logs=dict(metrics))
        return metrics

    def check_data(self, x, y, distributions):
        """(X, L, D) of a search as float arrays; D, the ground truth, may be None unless the
        objective is ``revealed``."""
        X, L = np.asarray(x, np.float32), np.asarray(y, np.float32)
        D = None if distributions is None else np.asarray(distributions, np.float64)
        if self.objective == "revealed" and D is None:
            raise ValueError("the 'revealed' objective needs the ground-truth distributions of the revealed share")
        return X, L, D

    def split(self, n: int, share=None, split_seed: int = 0) -> tuple:
        """(first, rest, train_rows) index arrays of a trial on n instances: ``first`` the
        revealed (``revealed``) or held-out (``truth-free``) share, ``rest`` the others, and
        the rows a trial trains on: all of them for ``revealed`` (LE is transductive), ``rest``
        otherwise."""
        first, rest = split_instances(n, DEFAULT_SHARES[self.objective] if share is None else share, split_seed)
        return first, rest, (np.arange(n) if self.objective == "revealed" else rest)

    def score_trained(self, model, params, X, L, D, first, rest, seconds) -> dict:
        """A trained trial's metrics: the objective, the read-out it picked (set on ``model``),
        ``train_seconds`` and, with ``diagnose``, the truth's KL and Chebyshev of that read-out.
        ``params``: the trial's LabelEnhancer arguments; ``first``, ``rest``: :meth:`split`'s."""
        logits = model.predict_logits(self._inputs(X, L))
        readout, value = self._score(model, X, L, D, logits, first, params.get("temperature"))
        model.set_temperature(*(readout if self.label_aware else (readout,)))
        metrics = {self.metric: float(value), **self._readout_metrics(readout), "train_seconds": float(seconds)}
        if self.diagnose and D is not None:
            # For measuring how well an objective tracks recovery quality; never used to choose.
            scored = rest if self.objective == "revealed" else np.arange(len(X))
            recovered = self.readout_form().read_out(logits[scored], L[scored], readout)
            metrics.update(truth_kl=float(kullback_leibler(D[scored], recovered)),
                           truth_chebyshev=float(chebyshev(D[scored], recovered)))
        return metrics

    def _score(self, model, X, L, D, logits, first, temperature):
        """(read-out, objective value) of a trained trial; ``first``: the revealed or held-out
        rows; ``temperature``: a T given (searched or fixed) instead of picked."""
        form = self.readout_form()
        if self.objective == "revealed":
            readout = temperature or select_readout(logits[first], D[first], L[first], form=form)
            return readout, kullback_leibler(D[first], form.read_out(logits[first], L[first], readout))
        return self._score_without_truth(model, X[first], L[first], logits[first], temperature)

    def _score_without_truth(self, model, X, L, logits, temperature):
        """(read-out, expected KL) on held-out rows X, L (m, d), (m, c) with the trial's logits
        (m, c): the binarisation posterior fitted to their logits made without their own labels,
        and the read-out of the least expected KL under it (or the T given)."""
        held_out = model.predict_logits_without_own_labels(X, L)
        posterior = fit_binarisation_posterior(held_out, L, random_state=self.seed)

        def expected_kl(form, candidate):
            return posterior.expected_kl(form.read_out(logits, L, candidate))

        if temperature:
            return temperature, expected_kl(self.readout_form(), temperature)
        readout, value, _, _ = choose_extending(self.readout_form(), expected_kl)
        return readout, value

    def _readout_metrics(self, readout) -> dict:
        if self.label_aware:
            return {"temperature": float(readout[0]), "label_temperature": float(readout[1])}
        return {"temperature": float(readout)}

    def best_hparams(self, trial) -> dict:
        """LabelEnhancer constructor arguments of a finished trial (a plain dict).

        The read-out: under ``truth-free`` (with ``temperature="select"``) ``readout="truth-free"``,
        so that the final fit picks its own without truth; otherwise the temperatures the trial
        used (a label temperature of inf, which drops the labels' term, is left out)."""
        from ..enhancer import LabelEnhancer

        values = trial.hyperparameters.values
        params = dict(self.fixed)
        for name in self.space:
            params[name] = float(values[name]) if name in LOG_SCALE + LINEAR_SCALE else int(values[name])
        params["epochs"] = min(self.max_epochs, int(values["epochs"] if "epochs" in values
                                                    else values.get("tuner/epochs", self.max_epochs)))
        if self.temperature == "search":
            params["temperature"] = float(values["temperature"])
        elif self.temperature != "select":
            params["temperature"] = float(self.temperature)
        elif self.objective == "truth-free":
            params["readout"] = "truth-free"
        else:
            params["readout"] = "given"
            params["temperature"] = float(trial.metrics.get_last_value("temperature"))
            label_temperature = trial.metrics.get_last_value("label_temperature") if self.label_aware else math.inf
            if not math.isinf(label_temperature):
                params["label_temperature"] = float(label_temperature)
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

