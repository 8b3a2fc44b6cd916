"""Fit many LabelEnhancer-style settings as one :class:`~lib_tf.model.batched.BatchedLIB`:
:func:`fit_members`, through the one training path (:func:`lib_tf.model.training.train`)."""
from __future__ import annotations

import math
import random

import numpy as np

from ..data.member_batches import member_batches
from ..data.validation import FLOAT32_RANGE, check_feature_range, check_features, check_logical_labels, check_same_rows
from ..hparams import LABEL_ENHANCER_PARAMETERS, validate_hparams, with_model_defaults
from .batched import PER_MEMBER, BatchedLIB
from .epochs import auto_epochs
from .factory import model_arguments, model_class
from .training import train

#: LabelEnhancer parameters of the training itself, which every member of one graph shares.
TRAINING = ("model", "epochs", "batch_size", "learning_rate")
#: LabelEnhancer parameters that change nothing trained (how it reads out after training).
NOT_TRAINED = ("verbose", "readout", "readout_folds")


def _normalised(setting: dict, index: int) -> tuple[dict, dict]:
    """(training settings, member model arguments) of one LabelEnhancer-style settings dict:
    checked against LabelEnhancer's declared constraints, every missing parameter at its
    declared default (:data:`lib_tf.hparams.LABEL_ENHANCER_PARAMETERS`) or, for None, the model's
    own (:func:`lib_tf.hparams.with_model_defaults`), the model's arguments
    as the model factory passes them (``random_state`` as ``seed``), head_units None as the
    hidden_units it means."""
    try:
        setting = validate_hparams(dict(setting))
    except ValueError as error:
        raise ValueError(f"settings[{index}]: {error}") from error
    setting = with_model_defaults({name: default for name, (default, _) in LABEL_ENHANCER_PARAMETERS.items()} | setting)
    member = model_arguments(model_class(setting), setting)
    if member["head_units"] is None:
        member["head_units"] = member["hidden_units"]
    return {name: setting[name] for name in TRAINING}, member


def graph_key(setting: dict) -> tuple:
    """What settings must share to train in one graph: settings with equal keys can be
    members of one :class:`~lib_tf.model.batched.BatchedLIB` (group a mixed list by it)."""
    training, member = _normalised(dict(setting), 0)
    shared = {name: value for name, value in member.items() if name not in PER_MEMBER}
    return tuple(sorted({**training, **shared}.items(), key=lambda item: item[0]))


def _split_settings(settings) -> tuple[bool, dict, list]:
    """(label_aware, training settings, each member's model arguments) of LabelEnhancer-style
    settings dicts (``LabelEnhancer.get_params()``); a key a dict leaves out takes
    LabelEnhancer's default. ``random_state`` None draws a seed from Python's ``random``
    (which ``keras.utils.set_random_seed`` seeds).

    Raises ValueError naming the setting: a name or value LabelEnhancer refuses, or a training
    setting (:data:`TRAINING`) that differs; BatchedLIB refuses differing model
    arguments (all but :data:`~lib_tf.model.batched.PER_MEMBER`: see :func:`graph_key`).
    """
    if not settings:
        raise ValueError("settings must hold at least one settings dict")
    trainings, members = zip(*(_normalised(dict(setting), index) for index, setting in enumerate(settings)))
    for name in trainings[0]:  # the model's own arguments are BatchedLIB's to check
        for index, training in enumerate(trainings):
            if training[name] != trainings[0][name]:
                raise ValueError(
                    f"settings must agree on {name!r} to train in one graph: settings[0] has {trainings[0][name]!r}, "
                    f"settings[{index}] has {training[name]!r}; fit groups that differ in it separately (graph_key)")
    for member in members:
        if member["seed"] is None:
            member["seed"] = random.randint(0, 2**31 - 2)
    return trainings[0]["model"] == "label-aware", dict(trainings[0]), list(members)


#: A batched fit compiles its update with XLA from this many members and member-steps (members
#: x the longest member's steps). Per step, on 2 CPU cores at LA-LIB's sizes, XLA ran 1 member
#: no faster, 2 alike, 4 ~1.4x and 8-16 ~1.6x faster, about 1.4 ms saved a member-step, while
#: compiling costs ~4-5 s a batch shape: ~3,500 member-steps repay it (``benchmarks/BATCHED.md``).
XLA_FROM_MEMBERS = 4
XLA_FROM_MEMBER_STEPS = 4000


def member_schedule(sizes, epochs, batch_size: int) -> tuple[list, list, int]:
    """(each member's epochs, each member's optimiser steps, the member whose epochs the
    batched fit runs: the one with most steps) for members training on ``sizes`` rows each;
    ``epochs`` None: each member's ``auto_epochs``, as its single fit."""
    member_epochs = [auto_epochs(size, batch_size) if epochs is None else int(epochs) for size in sizes]
    steps = [count * math.ceil(size / batch_size) for count, size in zip(member_epochs, sizes)]
    return member_epochs, steps, int(np.argmax(steps))


def fit_members(features, logical_labels, settings, *, rows=None, callbacks=(), verbose=0,
                xla_update="auto") -> BatchedLIB:
    """Train one member per settings dict, all in one graph, and return the trained
    :class:`~lib_tf.model.batched.BatchedLIB`.

    Parameters
    ----------
    features : array (n, d)
        Raw features (standardised inside the model, on these rows).
    logical_labels : array (n, c)
        0/1, every row with a 1.
    settings : sequence of dict
        LabelEnhancer-style settings (:func:`_split_settings`): members may differ in alpha,
        beta, label_dropout, random_state, min_gap_deviation and the read-out (temperature,
        label_temperature, rule_projection); everything else must agree.
    rows : sequence of K arrays of row indices, optional
        Member k trains on ``features[rows[k]]`` alone, as ``LabelEnhancer(**settings[k])``
        fitted on those rows would: standardised on them, its own epochs of them (``epochs``
        None: as many as those rows call for), then it stays as it is while the others train
        on. None: every member on all rows.
    callbacks : sequence of keras.callbacks.Callback
        Passed to the training path.
    verbose : int
        Keras' verbosity.
    xla_update : "auto" or bool
        Compile each step's update with XLA (:class:`~lib_tf.model.batched.BatchedLIB`'s
        ``xla_update``). "auto": from :data:`XLA_FROM_MEMBERS` members and
        :data:`XLA_FROM_MEMBER_STEPS` member-steps, below which XLA's compilation (seconds) is
        not repaid (``benchmarks/BATCHED.md``).

    Returns
    -------
    BatchedLIB
        With ``epochs_`` (each member's epochs, a list) and ``history`` (Keras' History:
        ``loss``, the sum over members that have not diverged, and per-member ``member_loss``, ``assignment``,
        ``gap``, ``kl`` vectors (K,); with ``rows``, a member's entries after its last step
        are computed with its kept weights). ``model.diverged`` marks members whose loss turned NaN
        or infinite; the others trained as if alone. Member k's distributions:
        ``model.predict_distributions(inputs)[k]`` or ``model.member_model(k)``.

    Notes
    -----
    Member k's minibatches, initial weights, posterior noise and label-dropout masks are
    those of ``LabelEnhancer(**settings[k]).fit(X, L)`` (its seed seeds all of them), so the
    member's training repeats that fit's arithmetic, computed by batched instead of single
    matrix products (tests/test_batched.py measures how close the two come).

    Raises
    ------
    ValueError
        Bad ``features`` or ``logical_labels`` (naming the row), or settings that cannot share
        one graph (naming the setting).
    TrainingDivergedError
        Every member's loss became NaN or infinite.
    """
    features = check_feature_range(check_features(features, "features"), FLOAT32_RANGE, "features")
    logical_labels = check_logical_labels(logical_labels, "logical_labels")
    check_same_rows(features=features, logical_labels=logical_labels)
    if logical_labels.shape[1] < 2:
        raise ValueError(f"logical_labels has {logical_labels.shape[1]} label (column); LIB needs at least 2")
    label_aware, training, members = _split_settings(settings)
    batch_size = int(training["batch_size"])
    sizes = [len(features)] * len(members) if rows is None else [len(np.reshape(member_rows, -1)) for member_rows in rows]
    epochs, steps, longest = member_schedule(sizes, training["epochs"], batch_size)
    if not (min(epochs) > 0 and batch_size > 0 and training["learning_rate"] > 0):
        raise ValueError(f"epochs, batch_size and learning_rate must be positive, got {epochs[0]!r}, {batch_size!r}, "
                         f"{training['learning_rate']!r}")
    if xla_update == "auto":
        xla_update = len(members) >= XLA_FROM_MEMBERS and len(members) * max(steps) >= XLA_FROM_MEMBER_STEPS
    elif not isinstance(xla_update, bool):
        raise ValueError(f"xla_update must be 'auto', True or False, got {xla_update!r}")
    model = BatchedLIB(logical_labels.shape[1], members, label_aware=label_aware, xla_update=xla_update)
    if rows is not None and model.pretrain_epochs > 0:
        raise ValueError(f"rows: members with their own rows switch stages at their own epochs; pretrain_epochs="
                         f"{model.pretrain_epochs} (the two-stage schedule) trains only with rows=None")
    features, logical_labels = features.astype(np.float32), logical_labels.astype(np.float32)
    inputs = {"features": features, "logical_labels": logical_labels} if label_aware else features
    dataset, steps_per_epoch = member_batches(inputs, logical_labels, batch_size, [m["seed"] for m in members], rows)
    if rows is not None:
        model.set_member_steps(steps)
        model.adapt(features, rows)
        steps_per_epoch = steps_per_epoch[longest]
    described = "; ".join(f"member {k}: alpha={m.get('alpha')!r}, beta={m.get('beta')!r}" for k, m in enumerate(members))
    train(model, dataset, epochs=epochs[longest], steps_per_epoch=steps_per_epoch, features=features,
          learning_rate=float(training["learning_rate"]), callbacks=list(callbacks), verbose=verbose,
          settings=f"every member diverged (learning_rate={training['learning_rate']!r}; {described})")
    model.epochs_ = epochs
    return model
