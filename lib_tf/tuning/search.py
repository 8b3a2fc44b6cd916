"""Running a search: tuners over :class:`~lib_tf.tuning.hypermodel.LIBHyperModel`, the best
trial, and :func:`run_search` (what ``lib-tf tune`` runs). Importing this module does not
import Keras Tuner; :func:`make_tuner` does.
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

from ..hparams import save_hparams, with_model_defaults
from .batched_start import populated, run_batched_start
from .objectives import DEFAULT_SHARES, LINEAR_SCALE, LOG_SCALE, OBJECTIVES, default_max_epochs

TUNERS = ("random", "bayesian", "hyperband")
HPARAMS_FILE = "best_hparams.json"
SUMMARY_FILE = "search_summary.json"


def default_values(hypermodel, n_instances=None) -> dict:
    """The shipped settings of ``hypermodel``'s model as values of its search space (clipped into
    the ranges, nearest choice; epochs: the automatic count for ``n_instances`` within the
    budget): the model's defaults (:func:`lib_tf.hparams.with_model_defaults`)."""
    from ..enhancer import LabelEnhancer

    defaults = with_model_defaults(LabelEnhancer(model=hypermodel.model_name).get_params())
    values = {}
    for name, space in hypermodel.space.items():
        if name in LOG_SCALE + LINEAR_SCALE:
            low, high = hypermodel.value_range(name)
            values[name] = float(min(max(defaults[name], low), high))
        else:
            values[name] = int(min(space, key=lambda v: (abs(v - defaults[name]), v)))
    if hypermodel.search_epochs:
        wanted = default_max_epochs(n_instances) if n_instances else hypermodel.max_epochs
        values["epochs"] = int(min(max(wanted, hypermodel.min_epochs), hypermodel.max_epochs))
    if hypermodel.temperature == "search":
        values["temperature"] = 1.0
    return values


def _start_from(oracle, values):
    """Make ``oracle``'s first trial (of a fresh search) the given values."""
    populate = oracle.populate_space

    def populate_space(trial_id):
        return populated(oracle, values) if not oracle.trials else populate(trial_id)

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
    search is the model's shipped settings within the space and budget (:func:`default_values`;
    pass ``n_instances`` for the default epoch count), so a search never ends worse than them on its own objective.
    """
    import keras_tuner as kt  # here, not at the top: importing lib_tf.tuning stays free of TensorFlow

    from .hypermodel import LIBHyperModel, tuner_class

    if kind not in TUNERS:
        raise ValueError(f"tuner must be one of {TUNERS}, got {kind!r}")
    if int(trials) < 1:
        raise ValueError(f"trials must be positive, got {trials}")
    hypermodel = LIBHyperModel(n_labels, objective=objective, max_epochs=max_epochs, seed=seed,
                            search_epochs=kind != "hyperband", **hypermodel_kwargs)
    common = dict(hypermodel=hypermodel, objective=kt.Objective(hypermodel.metric, direction="min"),
                  directory=str(directory), project_name=project_name, overwrite=overwrite, seed=int(seed) + 1)
    if kind == "hyperband":
        tuner = tuner_class(kind)(max_epochs=int(max_epochs), factor=hyperband_factor, **common)
        tuner.oracle.max_trials = int(trials)
    elif kind == "bayesian":
        # Keras Tuner's default is 3 random points per hyper-parameter (21 here): with a
        # budget of 30 or fewer trials that would leave the Gaussian process nothing to do.
        initial = max(2, min(10, int(trials) // 3))
        tuner = tuner_class(kind)(max_trials=int(trials), num_initial_points=initial, **common)
        tuner.oracle.max_trials = int(trials)
    else:
        tuner = tuner_class(kind)(max_trials=int(trials), **common)
        tuner.oracle.max_trials = int(trials)  # a resumed search may be given a new bound
    if start_from_defaults and kind != "hyperband" and not is_parallel_worker():
        _start_from(tuner.oracle, default_values(hypermodel, n_instances))
    tuner.progress = progress
    return tuner


def is_parallel_worker() -> bool:
    """True in a worker of Keras Tuner's chief/worker mode (KERASTUNER_* variables set)."""
    return "KERASTUNER_ORACLE_IP" in os.environ and "chief" not in os.environ.get("KERASTUNER_TUNER_ID", "")


def completed_trials(tuner):
    """The finished trials of ``tuner``'s oracle (Keras Tuner's statuses are plain strings)."""
    return [t for t in tuner.oracle.trials.values() if t.status == "COMPLETED"]


def best_trial(tuner):
    """The finished trial with the best objective value (ties: the earlier trial)."""
    done = completed_trials(tuner)
    if not done:
        raise RuntimeError("no finished trial yet")
    return min(done, key=lambda t: (t.score, t.trial_id))


def search_state_exists(out) -> bool:
    """Whether ``out`` holds the state of a search that a rerun resumes."""
    return (Path(out) / "lib" / "oracle.json").exists()


def run_search(dataset, kind="bayesian", trials=30, objective="revealed", reveal=None, seed=0, out="lib_tf_tuning",
               overwrite=False, max_epochs=None, min_epochs=None, progress=None, command=None, batched_start=0,
               **hypermodel_kwargs):
    """Search LIB's (or LA-LIB's) hyper-parameters on a data set and write the best ones.

    Parameters
    ----------
    dataset : lib_tf.LDLDataset
        Features (n, d), logical labels (n, c) and, for the ``revealed`` objective, the
        ground-truth distributions (n, c).
    kind : {"random", "bayesian", "hyperband"}
        The tuner.
    trials : int
        Most trials.
    objective : {"revealed", "truth-free"}
        What a trial is scored on (see :mod:`lib_tf.tuning`).
    reveal : float, optional
        Share of the instances revealed (``revealed``, default 0.1) or held out
        (``truth-free``, default 0.2); in (0, 1).
    seed : int
        Split, initialisation and oracle seed.
    out : path
        Folder of the search state, ``best_hparams.json`` and ``search_summary.json``; a
        rerun with the same folder resumes unless ``overwrite``.
    overwrite : bool
        Start afresh instead of resuming.
    max_epochs, min_epochs : int, optional
        Epoch budget of a trial (default :func:`default_max_epochs`) and its fewest epochs.
    progress : callable, optional
        ``progress(tuner, trial)``, called after every trial.
    command : str, optional
        The command line, recorded in ``search_summary.json``.
    batched_start : int, default=0
        Train a fresh search's first this many trials side by side, as one batched fit
        (:func:`~lib_tf.tuning.batched_start.run_batched_start`: the shipped settings, then alpha,
        beta and label_dropout spread over the space); random and Bayesian search on one
        machine. 0: every trial trains alone.
    **hypermodel_kwargs
        Passed to :class:`~lib_tf.tuning.hypermodel.LIBHyperModel` (``fixed={"model":
        "label-aware"}`` searches the label-aware model).

    Returns
    -------
    dict or None
        The best LabelEnhancer arguments, or None on a worker of a parallel search (the
        chief writes the files).
    """
    out = Path(out)
    if objective not in OBJECTIVES:
        raise ValueError(f"objective must be one of {tuple(OBJECTIVES)}, got {objective!r}")
    share = reveal if reveal is not None else DEFAULT_SHARES[objective]
    if not 0 < share < 1:
        raise ValueError(f"--reveal must lie in (0, 1), got {share}")
    if objective == "revealed" and dataset.distributions is None:
        raise ValueError("the revealed objective needs ground-truth distributions (use --objective truth-free)")
    if int(batched_start) < 0:
        raise ValueError(f"batched_start must be 0 or more, got {batched_start}")
    parallel = "KERASTUNER_ORACLE_IP" in os.environ
    if batched_start and (kind == "hyperband" or parallel):
        raise ValueError(f"batched_start={batched_start}: a batched start is for a random or Bayesian search on one "
                         f"machine (got tuner {kind!r}{', a parallel search' if parallel else ''})")
    max_epochs = int(max_epochs or default_max_epochs(dataset.n_instances))
    metric = OBJECTIVES[objective]
    tuner = make_tuner(kind, dataset.n_labels, out, objective=objective, trials=trials, max_epochs=max_epochs,
                       min_epochs=min_epochs, seed=seed, overwrite=overwrite, progress=progress,
                       n_instances=dataset.n_instances, **hypermodel_kwargs)
    start = time.perf_counter()
    if batched_start:
        run_batched_start(tuner, dataset.features, dataset.logical_labels,
                          default_values(tuner.hypermodel, dataset.n_instances), distributions=dataset.distributions,
                          share=share, split_seed=seed, members=batched_start)
    tuner.search(dataset.features, dataset.logical_labels, distributions=dataset.distributions, share=share,
                 split_seed=seed, verbose=0)
    seconds = time.perf_counter() - start
    if is_parallel_worker():
        return None
    trial = best_trial(tuner)
    params = tuner.hypermodel.best_hparams(trial)
    save_hparams(params, out / HPARAMS_FILE)
    summary = {"data": dataset.name, "source": dataset.source, "model": tuner.hypermodel.model_name, "tuner": kind,
               "objective": objective,
               "metric": metric, "share": share, "seed": seed, "max_epochs": max_epochs,
               "trials_done": len(completed_trials(tuner)), "batched_start": int(batched_start), "best_trial": trial.trial_id,
               "best_score": trial.score, "this_run_seconds": round(seconds, 1), "hparams": params,
               "command": command}
    (out / SUMMARY_FILE).write_text(json.dumps(summary, indent=2) + "\n")
    return params


