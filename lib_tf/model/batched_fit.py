"""Fit many LabelEnhancer-style settings as one :class:`~lib_tf.model.batched.BatchedLIB`:
:func:`fit_members`, through the one training path (:func:`lib_tf.model.training.train`)."""
from __future__ import annotations

import inspect
import random

import numpy as np

from ..data.member_batches import member_batches
from ..data.validation import FLOAT32_RANGE, check_feature_range, check_features, check_logical_labels, check_same_rows
from .batched import PER_MEMBER, BatchedLIB
from .epochs import auto_epochs
from .lib import LIB, model_arguments
from .options import MODELS
from .training import train

#: Training settings every member shares, and their defaults (LabelEnhancer's).
TRAINING_DEFAULTS = {"epochs": None, "batch_size": 128, "learning_rate": 1e-3}
#: Settings of the label-aware model beyond LIB's (ignored by the paper's model, as LabelEnhancer does).
LABEL_AWARE_ARGUMENTS = ("label_temperature", "rule_projection", "label_dropout")
#: Settings that change nothing trained.
IGNORED = ("verbose",)


def _known_settings() -> set:
    model = set(inspect.signature(LIB.__init__).parameters) - {"self", "n_labels", "kwargs", "seed"}
    return model | set(LABEL_AWARE_ARGUMENTS) | set(TRAINING_DEFAULTS) | set(IGNORED) | {"model", "random_state"}


def split_settings(settings) -> tuple[bool, dict, list]:
    """(label_aware, training settings, each member's model arguments) of LabelEnhancer-style
    settings dicts (``LabelEnhancer.get_params()``); a key a dict leaves out takes the single
    model's default (``LIB``'s, ``LabelAwareLIB``'s; epochs None, batch_size 128,
    learning_rate 1e-3). ``random_state`` None draws a seed from Python's ``random`` (which
    ``keras.utils.set_random_seed`` seeds).

    Raises ValueError naming the setting: an unknown name, or a setting that must be the same
    for all members (all but :data:`~lib_tf.model.batched.PER_MEMBER` and ``random_state``)
    and is not.
    """
    settings = [dict(s) for s in settings]
    if not settings:
        raise ValueError("settings must hold at least one settings dict")
    known = _known_settings()
    for index, setting in enumerate(settings):
        unknown = sorted(set(setting) - known)
        if unknown:
            raise ValueError(f"settings[{index}] has unknown names {unknown}; known: {sorted(known)}")
    _require_same(settings, ["model", *TRAINING_DEFAULTS])
    model = settings[0].get("model", "paper")
    if model not in MODELS:
        raise ValueError(f"settings[0]['model'] must be one of {MODELS}, got {model!r}")
    training = {name: settings[0].get(name, default) for name, default in TRAINING_DEFAULTS.items()}
    label_aware = model == "label-aware"
    members = []
    for setting in settings:
        member = model_arguments(setting)
        if label_aware:
            member.update({name: setting[name] for name in LABEL_AWARE_ARGUMENTS if name in setting})
        if member.get("seed") is None:
            member["seed"] = random.randint(0, 2**31 - 2)
        members.append(member)
    shared = sorted(({name for member in members for name in member} - set(PER_MEMBER)))
    _require_same([_with_head_units(member) for member in members], shared)
    return label_aware, training, members


def _with_head_units(member: dict) -> dict:
    """``member`` with head_units None written as the hidden_units it means."""
    if member.get("head_units") is None and "hidden_units" in member:
        return {**member, "head_units": member["hidden_units"]}
    return member


def _require_same(settings: list, names) -> None:
    for name in names:
        values = [s.get(name, "(default)") for s in settings]
        for index, value in enumerate(values):
            if value != values[0]:
                raise ValueError(
                    f"settings must agree on {name!r} to train in one graph: settings[0] has {values[0]!r}, "
                    f"settings[{index}] has {value!r}; fit groups that differ in it separately")


def fit_members(features, logical_labels, settings, *, callbacks=(), verbose=0) -> BatchedLIB:
    """Train one member per settings dict, all in one graph, and return the trained
    :class:`~lib_tf.model.batched.BatchedLIB`.

    Parameters
    ----------
    features : array (n, d)
        Raw features (standardised inside the model, on these rows).
    logical_labels : array (n, c)
        0/1, every row with a 1.
    settings : sequence of dict
        LabelEnhancer-style settings (:func:`split_settings`): members may differ in alpha,
        beta, label_dropout, random_state, min_gap_deviation and the read-out (temperature,
        label_temperature, rule_projection); everything else must agree.
    callbacks : sequence of keras.callbacks.Callback
        Passed to the training path.
    verbose : int
        Keras' verbosity.

    Returns
    -------
    BatchedLIB
        With ``epochs_`` (epochs run) and ``history`` (Keras' History: ``loss``, the sum over
        members that have not diverged, and per-member ``member_loss``, ``assignment``,
        ``gap``, ``kl`` vectors (K,)). ``model.diverged`` marks members whose loss turned NaN
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
    label_aware, training, members = split_settings(settings)
    batch_size = int(training["batch_size"])
    epochs = auto_epochs(len(features), batch_size) if training["epochs"] is None else int(training["epochs"])
    model = BatchedLIB(logical_labels.shape[1], members, label_aware=label_aware)
    features, logical_labels = features.astype(np.float32), logical_labels.astype(np.float32)
    inputs = {"features": features, "logical_labels": logical_labels} if label_aware else features
    dataset, steps_per_epoch = member_batches(inputs, logical_labels, batch_size, [m["seed"] for m in members])
    described = "; ".join(f"member {k}: alpha={m.get('alpha')!r}, beta={m.get('beta')!r}" for k, m in enumerate(members))
    train(model, dataset, epochs=epochs, steps_per_epoch=steps_per_epoch, features=features,
          learning_rate=float(training["learning_rate"]), callbacks=list(callbacks), verbose=verbose,
          settings=f"every member diverged (learning_rate={training['learning_rate']!r}; {described})")
    model.epochs_ = epochs
    return model

