"""A search's first trials trained side by side: the batched start.

A fresh random or Bayesian search begins with trials that need no model of the objective
(the shipped settings, then random points). :func:`run_batched_start` trains ``members`` such
trials as members of one :class:`~lib_tf.model.batched.BatchedLIB`
(:func:`lib_tf.model.batched_fit.fit_members`) and reports each to the oracle as the trial
it is, with the metrics that trial alone would have scored (each member repeats its single
fit's arithmetic, float rounding apart); the search then goes on from them. Members of one
graph may differ only in their loss weights, label dropout and seed, so the start's trials
keep every other searched value (sizes, learning rate, batch size, epochs) at the shipped
settings (:func:`~lib_tf.tuning.search.default_values`) and spread alpha, beta and
label_dropout over the space by a seeded Latin hypercube; the first is the shipped settings
themselves.
"""
from __future__ import annotations

import contextlib
import time

from .objectives import LOG_SCALE

#: The searched values a batched start varies between its trials (those members of one graph may
#: differ in, :data:`lib_tf.model.batched.PER_MEMBER`).
VARIED = ("alpha", "beta", "label_dropout")


def start_values(hypermodel, defaults: dict, members: int, seed: int) -> list:
    """``members`` value dicts of the search space: ``defaults`` first, then ``defaults`` with
    the :data:`VARIED` entries of the space drawn by a Latin hypercube seeded by ``seed``
    (log-uniform for alpha and beta, uniform for label_dropout); ``defaults`` alone where the
    space fixes every one of them."""
    from scipy.stats import qmc

    varied = [name for name in VARIED if name in hypermodel.space and len(set(hypermodel.value_range(name))) > 1]
    values = [dict(defaults)]
    if members > 1 and varied:
        unit = qmc.LatinHypercube(d=len(varied), seed=seed).random(members - 1)
        for point in unit:
            drawn = dict(defaults)
            for name, position in zip(varied, point):
                low, high = hypermodel.value_range(name)
                log_scale = name in LOG_SCALE
                drawn[name] = float(low * (high / low) ** position if log_scale else low + (high - low) * position)
            values.append(drawn)
    return values


def run_batched_start(tuner, features, logical_labels, defaults: dict, distributions=None, share=None, split_seed=0,
                      members: int = 16) -> list:
    """Train the first ``members`` trials of ``tuner``'s fresh search as one batched fit and
    record them as completed trials; returns their trial ids (none when the search has trials
    already: a resumed search does not repeat its start).

    Parameters
    ----------
    tuner : a tuner of :func:`~lib_tf.tuning.search.make_tuner` (random or Bayesian)
    features, logical_labels
        As the search gets them (:meth:`LIBHyperModel.fit`).
    defaults : dict
        The start's first trial, a value for every searched entry (the shipped settings:
        :func:`~lib_tf.tuning.search.default_values`).
    distributions, share, split_seed
        As the search gets them.
    members : int >= 1
        How many trials (at most the search's ``trials``).

    A trial's ``train_seconds`` is its share of the batched fit's wall time (the cost per
    setting). A member whose loss diverged ends as a failed trial, as it would alone.
    """
    from ..model.batched_fit import fit_members

    hypermodel, oracle = tuner.hypermodel, tuner.oracle
    if not hypermodel.search_epochs:
        raise ValueError("a batched start is for random and Bayesian searches (Hyperband's trials train in brackets)")
    if int(members) < 1:
        raise ValueError(f"members must be positive, got {members}")
    if oracle.trials:
        return []
    X, L, D = hypermodel.check_data(features, logical_labels, distributions)
    first, rest, train_rows = hypermodel.split(len(X), share, split_seed)
    values = start_values(hypermodel, defaults, min(int(members), int(oracle.max_trials or members)), hypermodel.seed)
    hyperparameters = [_with_values(oracle, point) for point in values]
    params = [hypermodel.trial_params(hp) for hp in hyperparameters]
    start = time.perf_counter()
    batched = fit_members(X[train_rows], L[train_rows], params)
    seconds = (time.perf_counter() - start) / len(params)
    diverged = batched.diverged.numpy()
    oracle.verbose = 0  # as the search sets it: progress is the tuner's ``progress`` callback
    ids = []
    for k, (point, trial_params) in enumerate(zip(values, params)):
        with start_with(oracle, point):
            trial = oracle.create_trial(tuner.tuner_id)
        tuner.on_trial_begin(trial)
        if diverged[k]:
            trial.status = "FAILED"  # Keras Tuner's statuses are plain strings
            trial.message = f"the loss diverged in training (settings {trial_params})"
        else:
            metrics = hypermodel.score_trained(batched.member_model(k), trial_params, X, L, D, first, rest, seconds)
            oracle.update_trial(trial.trial_id, metrics)
            trial.status = "COMPLETED"
        tuner.on_trial_end(trial)
        ids.append(trial.trial_id)
    return ids


def populated(oracle, values) -> dict:
    """What ``oracle.populate_space`` answers for a trial that holds ``values`` (its other
    entries at the space's defaults)."""
    return {"status": "RUNNING", "values": {**oracle.hyperparameters.values, **values}}


@contextlib.contextmanager
def start_with(oracle, values):
    """Within the block, the trial ``oracle`` creates holds ``values``."""
    populate = oracle.populate_space
    oracle.populate_space = lambda trial_id: populated(oracle, values)
    try:
        yield
    finally:
        oracle.populate_space = populate


def _with_values(oracle, values):
    """A copy of ``oracle``'s hyper-parameters holding ``values``."""
    hp = oracle.hyperparameters.copy()
    hp.values = {**hp.values, **values}
    return hp
