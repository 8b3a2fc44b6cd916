"""Hyper-parameter search for LIB with Keras Tuner (the settings it ships live in lib_tf.hparams).

What is searched (:class:`LIBHyperModel`): alpha (weight of the **gap** term) and beta
(weight of the **KL** term), both log-uniform on [1e-3, 10]; the learning rate (log-uniform);
the latent size and hidden width (choices); the batch size (choice); the number of epochs
within a budget (log-uniform integer; Hyperband sets it itself); and the read-out
temperature T of ``softmax(z / T)``, which does not change training (the gap is on the
logits) and is therefore *picked per trial* after training, on the signal the objective may
use, instead of being searched (``temperature="search"`` makes it an ordinary choice).

Objectives, each named by what it uses:

``revealed`` (metric ``revealed_kl``, minimised)
    The ground-truth distributions of a revealed share of the instances (default 10%,
    ``np.random.default_rng(seed).permutation(n)[:round(share * n)]``). Each trial trains on
    the features and logical labels of *all* instances (LE is transductive), picks T on the
    revealed share with :func:`lib_tf.model.temperature.select_temperature`, and scores
    KL(D || softmax(z / T)) on that share. Nothing about the other instances' ground truth is
    used; every figure we report is on them.

``unsupervised`` (metric ``heldout_consistency``, minimised)
    No ground truth at all. The instances are split (default 20% held out, same permutation
    rule); a trial trains on the logical labels of the rest and, on the held-out instances,
    measures how far ``softmax(z / T)`` is from being binarised back into their logical
    labels by the field's rule (DESIGN.md: sort, mark until the cumulative degree exceeds
    0.5). Per instance with relevant set R: ``max(0, max_{j not in R} d_j - min_{j in R} d_j)``
    (relevant labels must rank first) ``+ max(0, 0.5 - d(R))`` (R must hold more than half
    the mass) ``+ max(0, d(R) - min_{j in R} d_j - 0.5)`` (the last relevant label must be
    needed). T is picked by the same loss on the training instances. The score checks what
    the logical labels can check: order and flatness, not the degrees inside R.

    How well it tracks recovery quality, measured (``benchmarks/tuning_benchmark.py
    --section unsupervised``, 10 random trials per data set, figures in
    ``benchmarks/TUNING.md``): the Spearman correlation between a trial's held-out
    consistency and its true KL was **-0.19 on SJAFFE and -0.38 on Yeast_cold** (no
    tracking, if anything the wrong way); the trial it picked ranked 6th of 10 on SJAFFE
    (true KL .070 against .037 for the best trial) and 8th of 10 on Yeast_cold (.0130 against
    .0128). It does flag collapsed trials (consistency .34 / .20 went with true KL .30 / .072),
    so ``unsupervised`` is a guard against broken settings, not a way to find good ones:
    without ground truth keep LabelEnhancer's defaults or a preset, and use ``revealed``
    whenever some ground truth can be revealed.

Budget: a trial is as costly as its epochs times the data size. ``max_epochs`` bounds the
epochs of every trial (Hyperband's ``max_epochs``); the default gives about 2000 Adam
steps at batch 128, like :class:`lib_tf.LabelEnhancer`.

Tuners: ``make_tuner("random" | "bayesian" | "hyperband", ...)`` returns a stock Keras Tuner
tuner (RandomSearch, BayesianOptimization, Hyperband) over :class:`LIBHyperModel`; its oracle
state lives in ``directory/project_name`` so an interrupted search resumes
(``overwrite=False``; finished trials are not repeated). Keras Tuner treats ``seed=0`` as
"no seed", so the oracle gets ``seed + 1``.

Parallel search (Keras Tuner's chief/worker mode): start the same ``lib-tf tune`` command
(same ``--out``) once as the chief and once per worker, with::

    KERASTUNER_ORACLE_IP=127.0.0.1 KERASTUNER_ORACLE_PORT=8000 KERASTUNER_TUNER_ID=chief lib-tf tune ...
    KERASTUNER_ORACLE_IP=127.0.0.1 KERASTUNER_ORACLE_PORT=8000 KERASTUNER_TUNER_ID=tuner0 lib-tf tune ...
    KERASTUNER_ORACLE_IP=127.0.0.1 KERASTUNER_ORACLE_PORT=8000 KERASTUNER_TUNER_ID=tuner1 lib-tf tune ...

The chief only serves the oracle (gRPC on IP:PORT; use the chief's address on other
machines, and a shared ``--out`` folder, or copy the best trial afterwards); workers run
trials and return when the oracle has no more; the chief returns when every worker has
finished, and writes the best hyper-parameters. ``tests/test_tuning.py`` runs a chief and a
worker on 127.0.0.1.

Files: the search writes its best settings with :func:`lib_tf.hparams.save_hparams`, a *plain
JSON dict of LabelEnhancer constructor arguments* (read by ``lib-tf enhance --hparams`` and
``lib-tf export --hparams``); :mod:`lib_tf.hparams` also reads the shipped ``presets.json``.
"""
from __future__ import annotations

import json
import os
import shlex
import sys
import time
from pathlib import Path

import numpy as np

from ._arguments import add_dataset_arguments, load_dataset_argument
from ._keras_state import released_keras_state
from .readout import TEMPERATURE_GRID
from .data.splits import split_instances
# Hyper-parameter files and presets live in lib_tf.hparams; re-exported here for the callers
# that still import them from the tuning module (the tune/enhance command-line code among them).
from .hparams import (PRESETS_FILE, load_hparams, load_presets, preset_hparams, preset_params,  # noqa: F401
                      save_hparams, validate_hparams)

OBJECTIVES = {"revealed": "revealed_kl", "unsupervised": "heldout_consistency"}
TUNERS = ("random", "bayesian", "hyperband")
HPARAMS_FILE = "best_hparams.json"
SUMMARY_FILE = "search_summary.json"
#: Default search space; every entry can be overridden through ``LIBHyperModel(space=...)``.
DEFAULT_SPACE = {
    "alpha": (1e-3, 10.0),
    "beta": (1e-3, 10.0),
    "learning_rate": (3e-4, 1e-2),
    "latent_dim": (16, 32, 64, 128, 256),
    "hidden_units": (32, 64, 128, 256),
    "batch_size": (64, 128, 256),  # smaller batches cost more per epoch on CPU
}


# -- objective functions (NumPy) -----------------------------------------------------------
def consistency_loss(distributions, logical_labels, average: bool = True):
    """How far ``distributions`` (n, c) are from binarising (cumulative degree > 0.5) into
    ``logical_labels`` (n, c); 0 when they binarise exactly into them (see module doc)."""
    D = np.asarray(distributions, dtype=np.float64)
    relevant = np.asarray(logical_labels) > 0.5
    big = 2.0
    min_relevant = np.where(relevant, D, big).min(axis=1)
    max_irrelevant = np.where(relevant, -big, D).max(axis=1)
    mass = np.where(relevant, D, 0.0).sum(axis=1)
    has_irrelevant = (~relevant).any(axis=1)
    loss = (np.where(has_irrelevant, np.maximum(0.0, max_irrelevant - min_relevant), 0.0)
            + np.where(has_irrelevant, np.maximum(0.0, 0.5 - mass), 0.0)
            + np.maximum(0.0, mass - min_relevant - 0.5))
    return float(loss.mean()) if average else loss


def select_temperature_unsupervised(logits, logical_labels, grid=TEMPERATURE_GRID) -> float:
    """The T of ``grid`` whose ``softmax(logits / T)`` has the lowest :func:`consistency_loss`
    against the logical labels (no ground truth used); ties go to the earlier grid value."""
    from .model.temperature import softmax_with_temperature

    values = [consistency_loss(softmax_with_temperature(logits, t), logical_labels) for t in grid]
    return float(grid[int(np.argmin(values))])


# -- the hypermodel -----------------------------------------------------------------------
def _keras_tuner():
    try:
        import keras_tuner
    except ImportError as error:  # pragma: no cover - keras-tuner is a requirement
        raise ImportError("lib_tf.tuning needs keras-tuner (pip install 'keras-tuner[bayesian]' tensorboard)") from error
    return keras_tuner


def default_max_epochs(n_instances: int) -> int:
    """About 2000 Adam steps at batch 128 (LabelEnhancer's automatic count), 20 to 300 epochs."""
    from .model.epochs import auto_epochs

    return auto_epochs(n_instances, 128)


def __getattr__(name):
    # Keras Tuner (and with it TensorFlow) loads on first use of the hypermodel, so that the
    # command line and the hyper-parameter files stay light.
    if name == "LIBHyperModel":
        cls = _make_hypermodel_class()
        globals()[name] = cls
        return cls
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _make_hypermodel_class():
    class LIBHyperModel(_keras_tuner().HyperModel):
        """A Keras Tuner ``HyperModel`` over :class:`lib_tf.model.LIB`.

        Parameters
        ----------
        n_labels: c.
        objective: ``"revealed"`` or ``"unsupervised"`` (see the module doc).
        max_epochs: largest number of epochs of a trial (the budget); ``min_epochs`` the smallest.
        search_epochs: whether ``epochs`` is a hyper-parameter (False under Hyperband, which
            sets the epochs of each trial itself).
        temperature: ``"select"`` (picked per trial after training, on the objective's own
            signal), ``"search"`` (a choice from the temperature grid) or a fixed number.
        space: overrides of :data:`DEFAULT_SPACE` (ranges for alpha, beta, learning_rate;
            choices for latent_dim, hidden_units, batch_size). A one-element tuple fixes a value.
        fixed: further LabelEnhancer arguments passed to every trial unchanged
            (``depth``, ``activation``, ``assignment``, ...).
        seed: seeds every trial's initialisation and shuffling (the same for all trials, so
            trials differ by their settings only, and a refit with the best settings and this
            seed repeats the best trial).
        diagnose: also report ground-truth figures of every trial (``truth_kl``,
            ``truth_chebyshev``: on the unrevealed rest for ``revealed``, on all instances for
            ``unsupervised``), to measure how well an objective tracks recovery quality. They
            are stored with the trial and never used to choose.

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
                          batch_size=self._choice(hp, "batch_size"), seed=self.seed)
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
            import keras

            from .model import LIB

            params = self.trial_params(hp)
            # As LabelEnhancer.fit does, so that a refit with these settings repeats the trial.
            keras.utils.set_random_seed(self.seed)
            names = ("alpha", "beta", "temperature", "latent_dim", "hidden_units", "depth", "activation", "assignment",
                     "gap_on", "reduction", "pretrain_epochs", "network_dtype", "seed")
            return LIB(self.n_labels, **{k: params[k] for k in names if k in params})

        def fit(self, hp, model, x, y, distributions=None, share=None, split_seed=0, epochs=None, initial_epoch=0,
                callbacks=None, verbose=0, **unused):
            import keras

            from .model.training import train
            from .model.temperature import select_temperature, softmax_with_temperature

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
                t = params.get("temperature") or select_temperature(logits[first], D[first])
                from .metrics import kullback_leibler

                value = kullback_leibler(D[first], softmax_with_temperature(logits[first], t))
            else:
                t = params.get("temperature") or select_temperature_unsupervised(logits[train_rows], L[train_rows])
                value = consistency_loss(softmax_with_temperature(logits[first], t), L[first])
            model.set_temperature(float(t))
            metrics = {self.metric: float(value), "temperature": float(t), "train_seconds": float(seconds)}
            if self.diagnose and distributions is not None:
                # For measuring how well an objective tracks recovery quality; never used to choose.
                from .metrics import chebyshev, kullback_leibler

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
            from .enhancer import LabelEnhancer

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

    return LIBHyperModel


# -- tuners ---------------------------------------------------------------------------------
def _tuner_class(kind: str):
    kt = _keras_tuner()
    base = {"random": kt.RandomSearch, "bayesian": kt.BayesianOptimization, "hyperband": kt.Hyperband}[kind]

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


def default_values(hypermodel, n_instances=None) -> dict:
    """LabelEnhancer's defaults as values of ``hypermodel``'s search space (clipped into the
    ranges, nearest choice; epochs: the automatic count for ``n_instances`` within the budget)."""
    from .enhancer import LabelEnhancer
    from .model.epochs import auto_epochs

    defaults = LabelEnhancer().get_params()
    values = {}
    for name in ("alpha", "beta", "learning_rate"):
        low, high = (hypermodel.space[name] * 2)[:2] if len(hypermodel.space[name]) == 1 else hypermodel.space[name]
        values[name] = float(min(max(defaults[name], low), high))
    for name in ("latent_dim", "hidden_units", "batch_size"):
        values[name] = int(min(hypermodel.space[name], key=lambda v: (abs(v - defaults[name]), v)))
    if hypermodel.search_epochs:
        wanted = auto_epochs(n_instances, 128) if n_instances else hypermodel.max_epochs
        values["epochs"] = int(min(max(wanted, hypermodel.min_epochs), hypermodel.max_epochs))
    if hypermodel.temperature == "search":
        values["temperature"] = 1.0
    return values


def _start_from(oracle, values):
    """Make ``oracle``'s first trial (of a fresh search) the given values."""
    populate = oracle.populate_space

    def populate_space(trial_id):
        if not oracle.trials:
            return {"status": "RUNNING", "values": {**oracle.hyperparameters.values, **values}}
        return populate(trial_id)

    oracle.populate_space = populate_space


def make_tuner(kind: str, n_labels: int, directory, objective: str = "revealed", trials: int = 30,
               max_epochs: int = 300, seed: int = 0, overwrite: bool = False, project_name: str = "lib",
               progress=None, hyperband_factor: int = 3, start_from_defaults: bool = True, n_instances=None,
               **hypermodel_kwargs):
    """A Keras Tuner tuner (``kind``: random, bayesian, hyperband) over :class:`LIBHyperModel`.

    ``trials`` bounds the number of trials for every kind (for Hyperband too, whose brackets
    would otherwise decide); Bayesian optimisation starts from ``trials // 3`` random points
    (2 to 10). ``seed`` seeds the trials and, as ``seed + 1``, the oracle
    (Keras Tuner reads 0 as "no seed"). ``progress(tuner, trial)`` is called after each trial.
    With ``start_from_defaults`` (random and Bayesian search), the first trial of a fresh
    search is LabelEnhancer's defaults within the space and budget (:func:`default_values`;
    pass ``n_instances`` for the default epoch count), so a search never ends worse than the
    defaults on its own objective.
    """
    kt = _keras_tuner()
    if kind not in TUNERS:
        raise ValueError(f"tuner must be one of {TUNERS}, got {kind!r}")
    if int(trials) < 1:
        raise ValueError(f"trials must be positive, got {trials}")
    hypermodel = __getattr__("LIBHyperModel")(n_labels, objective=objective, max_epochs=max_epochs, seed=seed,
                               search_epochs=kind != "hyperband", **hypermodel_kwargs)
    common = dict(hypermodel=hypermodel, objective=kt.Objective(hypermodel.metric, direction="min"),
                  directory=str(directory), project_name=project_name, overwrite=overwrite, seed=int(seed) + 1)
    if kind == "hyperband":
        tuner = _tuner_class(kind)(max_epochs=int(max_epochs), factor=hyperband_factor, **common)
        tuner.oracle.max_trials = int(trials)
    elif kind == "bayesian":
        # Keras Tuner's default is 3 random points per hyper-parameter (21 here): with a
        # budget of 30 or fewer trials that would leave the Gaussian process nothing to do.
        initial = max(2, min(10, int(trials) // 3))
        tuner = _tuner_class(kind)(max_trials=int(trials), num_initial_points=initial, **common)
        tuner.oracle.max_trials = int(trials)
    else:
        tuner = _tuner_class(kind)(max_trials=int(trials), **common)
        tuner.oracle.max_trials = int(trials)  # a resumed search may be given a new bound
    if start_from_defaults and kind != "hyperband" and not is_parallel_worker():
        _start_from(tuner.oracle, default_values(hypermodel, n_instances))
    tuner.progress = progress
    return tuner


def is_parallel_worker() -> bool:
    """True in a worker of Keras Tuner's chief/worker mode (KERASTUNER_* variables set)."""
    return "KERASTUNER_ORACLE_IP" in os.environ and "chief" not in os.environ.get("KERASTUNER_TUNER_ID", "")


def completed_trials(tuner):
    kt = _keras_tuner()
    return [t for t in tuner.oracle.trials.values() if t.status == kt.engine.trial.TrialStatus.COMPLETED]


def best_trial(tuner):
    """The finished trial with the best objective value (ties: the earlier trial)."""
    done = completed_trials(tuner)
    if not done:
        raise RuntimeError("no finished trial yet")
    return min(done, key=lambda t: (t.score, t.trial_id))


# -- the command line -------------------------------------------------------------------------
def add_tune_parser(subparsers):
    """Register ``lib-tf tune`` on the CLI's subparsers."""
    tune = subparsers.add_parser(
        "tune", help="search LIB's hyper-parameters with Keras Tuner",
        description="Search alpha (gap weight), beta (KL weight), learning rate, latent size, hidden width, batch "
                    "size, epochs and the read-out temperature; write the best as a JSON of LabelEnhancer "
                    "arguments (use it with `lib-tf enhance --hparams`). Rerunning with the same --out resumes.")
    add_dataset_arguments(tune)
    tune.add_argument("--tuner", choices=TUNERS, default="bayesian")
    tune.add_argument("--trials", type=int, default=30, help="most trials (default 30)")
    tune.add_argument("--objective", choices=tuple(OBJECTIVES), default="revealed",
                      help="revealed: KL on the ground truth of a revealed share; unsupervised: no ground truth")
    tune.add_argument("--reveal", type=float, default=None,
                      help="share revealed (revealed objective, default 0.1) or held out (unsupervised, default 0.2)")
    tune.add_argument("--max-epochs", type=int, default=None,
                      help="epochs budget per trial (default: about 2000 Adam steps at batch 128)")
    tune.add_argument("--min-epochs", type=int, default=None, help="fewest epochs of a trial (default max/10)")
    tune.add_argument("--seed", type=int, default=0, help="split, initialisation and oracle seed (default 0)")
    tune.add_argument("--out", default="lib_tf_tuning", help="folder of the search state and best_hparams.json")
    tune.add_argument("--overwrite", action="store_true", help="start afresh instead of resuming")
    tune.add_argument("--quiet", action="store_true", help="no line per trial")
    tune.set_defaults(func=cmd_tune)
    return tune


def _format_trial(tuner, trial, metric):
    values = trial.hyperparameters.values
    parts = [f"{name}={values[name]:.3g}" for name in ("alpha", "beta", "learning_rate") if name in values]
    parts += [f"{name}={values[name]}" for name in ("latent_dim", "hidden_units", "batch_size", "epochs",
                                                   "tuner/epochs") if name in values]
    status = str(trial.status).split(".")[-1]
    # A worker of a parallel search gets no score back from the chief: use the trial's own results.
    results = dict(getattr(tuner.hypermodel, "last_metrics", None) or {})
    if trial.score is not None:
        results.update({name: trial.metrics.get_last_value(name) for name in trial.metrics.metrics})
    if metric not in results or status != "COMPLETED":
        return f"trial {trial.trial_id} {status}: " + " ".join(parts)
    try:
        done = len(completed_trials(tuner))
        best = f" | best {best_trial(tuner).score:.5f} ({done}/{tuner.oracle.max_trials} done)"
    except Exception:  # a worker's oracle client knows no trials
        best = ""
    return (f"trial {trial.trial_id}: {metric}={results[metric]:.5f} T={results['temperature']:g} "
            f"{results['train_seconds']:.1f}s{best} | " + " ".join(parts))


def run_search(dataset, kind="bayesian", trials=30, objective="revealed", reveal=None, seed=0, out="lib_tf_tuning",
               overwrite=False, max_epochs=None, min_epochs=None, quiet=False, command=None, **hypermodel_kwargs):
    """Search on an :class:`lib_tf.LDLDataset`; writes ``best_hparams.json`` and
    ``search_summary.json`` to ``out`` and returns the best LabelEnhancer arguments (or None
    on a worker of a parallel search)."""
    out = Path(out)
    share = reveal if reveal is not None else (0.1 if objective == "revealed" else 0.2)
    if not 0 < share < 1:
        raise ValueError(f"--reveal must lie in (0, 1), got {share}")
    if objective == "revealed" and dataset.distributions is None:
        raise ValueError("the revealed objective needs ground-truth distributions (use --objective unsupervised)")
    max_epochs = int(max_epochs or default_max_epochs(dataset.n_instances))
    metric = OBJECTIVES[objective]
    state = out / "lib" / "oracle.json"
    if state.exists() and not overwrite and not quiet:
        print(f"resuming the search in {out} (pass --overwrite to start afresh)", flush=True)

    def progress(tuner, trial):
        if not quiet:
            print(_format_trial(tuner, trial, metric), flush=True)

    tuner = make_tuner(kind, dataset.n_labels, out, objective=objective, trials=trials, max_epochs=max_epochs,
                       min_epochs=min_epochs, seed=seed, overwrite=overwrite, progress=progress,
                       n_instances=dataset.n_instances, **hypermodel_kwargs)
    start = time.perf_counter()
    tuner.search(dataset.features, dataset.logical_labels, distributions=dataset.distributions, share=share,
                 split_seed=seed, verbose=0)
    seconds = time.perf_counter() - start
    if is_parallel_worker():
        return None
    trial = best_trial(tuner)
    params = tuner.hypermodel.best_hparams(trial)
    save_hparams(params, out / HPARAMS_FILE)
    summary = {"data": dataset.name, "source": dataset.source, "tuner": kind, "objective": objective,
               "metric": metric, "share": share, "seed": seed, "max_epochs": max_epochs,
               "trials_done": len(completed_trials(tuner)), "best_trial": trial.trial_id,
               "best_score": trial.score, "this_run_seconds": round(seconds, 1), "hparams": params,
               "command": command}
    (out / SUMMARY_FILE).write_text(json.dumps(summary, indent=2) + "\n")
    return params


def cmd_tune(args) -> int:
    dataset = load_dataset_argument(args)
    if not args.quiet:
        print(dataset, flush=True)
    command = "lib-tf " + " ".join(shlex.quote(a) for a in sys.argv[1:]) if sys.argv[1:2] == ["tune"] else None
    params = run_search(dataset, kind=args.tuner, trials=args.trials, objective=args.objective, reveal=args.reveal,
                        seed=args.seed, out=args.out, overwrite=args.overwrite, max_epochs=args.max_epochs,
                        min_epochs=args.min_epochs, quiet=args.quiet, command=command)
    if params is not None:
        print(f"best hyper-parameters: {json.dumps(params)}\nwrote {Path(args.out) / HPARAMS_FILE}; "
              f"use it with: lib-tf enhance --dataset {dataset.name} --hparams {Path(args.out) / HPARAMS_FILE}")
    return 0


def add_enhance_arguments(enhance):
    """``--hparams FILE`` and ``--preset NAME`` on ``lib-tf enhance``."""
    group = enhance.add_argument_group("tuned settings (one of, instead of --alpha/--beta/...)")
    group.add_argument("--hparams", help="JSON of LabelEnhancer arguments, e.g. best_hparams.json of `lib-tf tune`")
    group.add_argument("--preset", help="shipped settings for a data set, e.g. SJAFFE (see lib_tf/presets.json)")


_ENHANCE_FLAGS = {"model": "paper", "alpha": None, "beta": None, "temperature": None, "epochs": None, "batch_size": 128}


def enhancer_params_from_args(args) -> dict:
    """LabelEnhancer arguments for ``lib-tf enhance``: the flags, or ``--hparams``/``--preset``
    (with ``--seed`` and ``--quiet`` from the command line; a changed ``--alpha``, ``--beta``,
    ``--temperature``, ``--epochs`` or ``--batch-size`` beside them is an error)."""
    hparams_file, preset = getattr(args, "hparams", None), getattr(args, "preset", None)
    if hparams_file and preset:
        raise ValueError("give --hparams or --preset, not both")
    verbose = 0 if args.quiet else 1
    if not (hparams_file or preset):
        from .enhancer import LABEL_AWARE_DEFAULTS

        shipped = dict(LABEL_AWARE_DEFAULTS) if args.model == "label-aware" else {}
        flags = {name: getattr(args, name) for name in ("alpha", "beta", "temperature") if getattr(args, name) is not None}
        return {**shipped, **flags, "epochs": args.epochs, "batch_size": args.batch_size, "random_state": args.seed,
                "verbose": verbose}
    changed = [f"--{name.replace('_', '-')}" for name, default in _ENHANCE_FLAGS.items() if getattr(args, name) != default]
    if changed:
        raise ValueError(f"{', '.join(changed)} cannot be combined with --hparams/--preset; edit the JSON instead")
    params = load_hparams(hparams_file) if hparams_file else preset_params(preset)
    return {**params, "random_state": args.seed, "verbose": verbose}
