"""Hyper-parameter search for LIB with Keras Tuner, and the settings it ships (presets).

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
    revealed share with :func:`lib_tf.readout.selection.select_readout`, and scores
    KL(D || softmax(z / T)) on that share. Nothing about the other instances' ground truth is
    used; every figure we report is on them.

``unsupervised`` (metric ``heldout_consistency``, minimised)
    No ground truth at all. The instances are split (default 20% held out, same permutation
    rule); a trial trains on the logical labels of the rest and, on the held-out instances,
    measures how far ``softmax(z / T)`` is from being binarised back into their logical
    labels by the field's rule (:func:`lib_tf.data.binarize`: sort, mark until the cumulative
    degree exceeds 0.5), with :func:`lib_tf.readout.selection.consistency_loss`. Per instance
    with relevant set R: ``max(0, max_{j not in R} d_j - min_{j in R} d_j)`` (relevant labels
    must rank first) ``+ max(0, 0.5 - d(R))`` (R must hold more than half the mass) ``+ max(0,
    d(R) - min_{j in R} d_j - 0.5)`` (the last relevant label must be needed). T is picked by
    the same loss on the training instances
    (:func:`lib_tf.readout.selection.select_readout_without_truth`). The score checks what
    the logical labels can check: order and flatness, not the degrees inside R.

    It checks order and flatness only, so it guards against broken settings (collapsed
    trials score badly) rather than finding good ones (``benchmarks/TUNING.md`` has the
    figures): without ground truth keep LabelEnhancer's defaults or a preset, and use ``revealed``
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

Modules: :mod:`~lib_tf.tuning.objectives` (the objectives and the search space),
:mod:`~lib_tf.tuning.hypermodel` (:class:`LIBHyperModel` and the tuner classes; imports Keras
Tuner), :mod:`~lib_tf.tuning.search` (:func:`make_tuner`, :func:`run_search`; imports Keras
Tuner only when a tuner is made), so ``import lib_tf.tuning`` stays free of TensorFlow.
Hyper-parameter files (``save_hparams``, ``load_hparams``, ``preset_params``) live in
:mod:`lib_tf.hparams`.
"""
from __future__ import annotations

from .objectives import DEFAULT_SHARES, DEFAULT_SPACE, LABEL_AWARE_SPACE, OBJECTIVES, SPACES, default_max_epochs
from .search import (HPARAMS_FILE, SUMMARY_FILE, TUNERS, best_trial, completed_trials, default_values,
                     is_parallel_worker, make_tuner, run_search, search_state_exists)

__all__ = [
    "OBJECTIVES", "DEFAULT_SHARES", "DEFAULT_SPACE", "LABEL_AWARE_SPACE", "SPACES", "TUNERS", "HPARAMS_FILE",
    "SUMMARY_FILE", "default_max_epochs", "default_values",
    "make_tuner", "run_search", "search_state_exists", "is_parallel_worker", "completed_trials", "best_trial",
]
