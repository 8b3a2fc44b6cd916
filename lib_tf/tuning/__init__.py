"""Hyper-parameter search for LIB and LA-LIB with Keras Tuner, and the settings it ships (presets).

What is searched (:class:`LIBHyperModel`; the spaces are :data:`~lib_tf.tuning.objectives.SPACES`):

- the paper model (``model="paper"``, the default): alpha (weight of the **gap** term) and beta
  (weight of the **KL** term), both log-uniform on [1e-3, 10]; the learning rate
  (log-uniform); the latent size and hidden width (choices); the batch size (choice);
- the label-aware model (``fixed={"model": "label-aware"}``, ``lib-tf tune --model
  label-aware``): alpha, beta (log-uniform on [1e-3, 10] and [1e-2, 100]), the learning rate,
  ``label_dropout`` (uniform on [0, 0.75]), the latent size, ``head_units`` (the width of the
  three networks that read h; the encoder keeps ``hidden_units``) and the batch size; its
  trials train and read out with the logical labels (``{"features": X, "logical_labels": L}``);
- for both, the number of epochs within a budget (log-uniform integer; Hyperband sets it
  itself).

The read-out, T of ``softmax(z / T)`` (paper) or (T, T_l) of ``rule_consistent(softmax(z / T
+ l / T_l), l)`` (label-aware, :class:`lib_tf.readout.forms.TwoTemperatureReadouts` with the
logits kept), does not change training (the gap is on the logits), so it is *picked per trial*
after training, on the signal the objective may use, instead of being searched (paper model:
``temperature="search"`` makes T an ordinary choice). The first trial of a fresh random or
Bayesian search is the model's shipped settings (``LabelEnhancer()`` or
``LabelEnhancer.label_aware()``), so a search never ends worse than them on its objective.

Objectives, each named by what it uses:

``revealed`` (metric ``revealed_kl``, minimised)
    The ground-truth distributions of a revealed share of the instances (default 10%,
    ``np.random.default_rng(seed).permutation(n)[:round(share * n)]``). Each trial trains on
    the features and logical labels of *all* instances (LE is transductive), picks the
    read-out on the revealed share with :func:`lib_tf.readout.selection.select_readout`, and
    scores its KL(D || read-out) on that share. Nothing about the other instances' ground truth
    is used; every figure we report is on them. The best settings carry the read-out picked
    (``temperature``, and ``label_temperature`` for the label-aware model).

``truth-free`` (metric ``heldout_expected_kl``, minimised)
    No ground truth at all. The instances are split (default 20% held out, same permutation
    rule); a trial trains on the rest and, on the held-out instances, computes the logits made
    without each instance's own label (``model.predict_logits_without_own_labels``: the paper
    model never reads labels; the label-aware one reads logit j with label j hidden), fits the
    binarisation posterior to them and their logical labels
    (:func:`lib_tf.readout.posterior.fit_binarisation_posterior`), picks the read-out with the
    least expected KL under it, and reports that expected KL: an estimate of KL(truth ||
    read-out) on instances the trial never trained on, made from X and L alone. The best
    settings carry ``readout="truth-free"``: the final fit picks its read-out the same way
    (:class:`lib_tf.LabelEnhancer`), on all instances.

    Measured over the same 12 random trials per data set (``benchmarks/TUNING.md``), its
    Spearman correlation with the true KL on all instances is .87 to .94 on SJAFFE, SBU_3DFE,
    Emotion6 and Natural_Scene; on Yeast_spo5, where every trial lay within .0005 of the
    others, it is -.23, but its pick was the best trial there. It replaced the former
    ``unsupervised`` objective (how far the read-out is from binarising into the held-out
    labels), which ranged from -.72 to .97 on the same trials and picked an ordinary trial on
    four of the five sets.

Budget: a trial is as costly as its epochs times the data size. ``max_epochs`` bounds the
epochs of every trial (Hyperband's ``max_epochs``); the default gives about 2000 Adam
steps at batch 128, like :class:`lib_tf.LabelEnhancer`.

Tuners: ``make_tuner("random" | "bayesian" | "hyperband", ...)`` returns a stock Keras Tuner
tuner (RandomSearch, BayesianOptimization, Hyperband) over :class:`LIBHyperModel`; its oracle
state lives in ``directory/project_name`` so an interrupted search resumes
(``overwrite=False``; finished trials are not repeated). Keras Tuner treats ``seed=0`` as
"no seed", so the oracle gets ``seed + 1``.

Batched start (``run_search(..., batched_start=K)``, ``lib-tf tune --batched-start K``): a
fresh random or Bayesian search trains its first K trials side by side as one batched fit
(:mod:`~lib_tf.tuning.batched_start`): the shipped settings, then alpha, beta and
label_dropout spread over the space by a seeded Latin hypercube, every other value at the
shipped settings (members of one graph share sizes, learning rate, batch size and epochs).
Each is recorded as the trial it is, with the metrics that trial alone scores (float rounding
apart); the search goes on from them. ``benchmarks/TUNING.md`` says what it saves.

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

Modules: :mod:`~lib_tf.tuning.objectives` (the objectives and the search spaces),
:mod:`~lib_tf.tuning.hypermodel` (:class:`LIBHyperModel` and the tuner classes; imports Keras
Tuner), :mod:`~lib_tf.tuning.batched_start` (the batched start), :mod:`~lib_tf.tuning.search` (:func:`make_tuner`, :func:`run_search`; imports Keras
Tuner only when a tuner is made), so ``import lib_tf.tuning`` stays free of TensorFlow.
Hyper-parameter files (``save_hparams``, ``load_hparams``, ``preset_params``) live in
:mod:`lib_tf.hparams`.
"""
from __future__ import annotations

from .objectives import (DEFAULT_SHARES, DEFAULT_SPACE, LABEL_AWARE_SPACE, OBJECTIVES, SEARCHED_MODEL, SPACES,
                         default_max_epochs)
from .search import (HPARAMS_FILE, SUMMARY_FILE, TUNERS, best_trial, completed_trials, default_values,
                     is_parallel_worker, make_tuner, run_search, search_state_exists)

__all__ = [
    "OBJECTIVES", "DEFAULT_SHARES", "DEFAULT_SPACE", "LABEL_AWARE_SPACE", "SEARCHED_MODEL", "SPACES", "TUNERS", "HPARAMS_FILE",
    "SUMMARY_FILE", "default_max_epochs", "default_values",
    "make_tuner", "run_search", "search_state_exists", "is_parallel_worker", "completed_trials", "best_trial",
]
