"""Choosing a read-out: which candidate of a form (:mod:`lib_tf.readout.forms`) turns a model's
logits into the distributions to report.

Every choice in the package follows one rule, :func:`best_candidate`: the candidate with the
best value of a metric, ties to the earliest (grid order). What the values are computed from
is what tells the choices apart:

- with truth, :func:`select_readout`: one of the six measures (:mod:`lib_tf.metrics`) against
  known distributions of some instances (``LabelEnhancer.select_temperature``, the tuner's
  ``revealed`` objective, ``lib-tf enhance --reveal``; the benchmark applies
  :func:`best_candidate` to the measures it stores for every read-out);
- without truth, :func:`select_readout_without_truth`: a criterion computed from the logical
  labels alone (:func:`consistency_loss`; the tuner's ``unsupervised`` objective).

NumPy only (no TensorFlow).
"""
from __future__ import annotations

import numpy as np

from ..data.validation import check_distributions, check_same_shape
from ..metrics import MEASURES, higher_is_better
from .forms import TemperatureReadouts

#: The measure choices are made on unless a caller names another.
SELECTION_METRIC = "Kullback-Leibler"
#: The paper's read-out over the temperature grid: what is chosen when no form is named.
PAPER_READOUTS = TemperatureReadouts()


def best_candidate(candidates, values, metric=None):
    """The candidate with the best value: the lowest, or the highest where ``metric`` is a
    higher-is-better measure; ties go to the earliest.

    Parameters
    ----------
    candidates : sequence
        What is chosen from, in its search order.
    values : sequence of float
        One value per candidate.
    metric : str or None
        The measure of :data:`lib_tf.metrics.MEASURES` the values are of (its direction
        decides), or None for a loss (lowest wins).
    """
    candidates = list(candidates)
    if len(candidates) != len(values) or not candidates:
        raise ValueError(f"need one value per candidate, got {len(values)} values for {len(candidates)} candidates")
    maximise = metric is not None and higher_is_better(metric)
    return candidates[int(np.argmax(values) if maximise else np.argmin(values))]


def select_readout(logits, distributions, logical_labels=None, form=PAPER_READOUTS, metric: str = SELECTION_METRIC):
    """The candidate of ``form`` whose read-out is best on ``metric`` against known distributions.

    Parameters
    ----------
    logits : array_like, shape (m, c)
        The model's logits (or the logical labels, for the label softmax) of the instances
        whose truth is known.
    distributions : array_like, shape (m, c)
        Their ground truth.
    logical_labels : array_like, shape (m, c), optional
        Their logical labels, for forms that read them (two temperatures, the rule projection).
    form : TemperatureReadouts or TwoTemperatureReadouts
        The candidates (default: ``softmax(z / T)`` over :data:`~lib_tf.readout.forms.TEMPERATURE_GRID`).
    metric : str
        One of the six measures.

    Returns
    -------
    float or tuple
        The chosen candidate: a T, or a pair ``(T_z, T_l)``; ties go to the earlier one.
    """
    if metric not in MEASURES:
        raise ValueError(f"unknown metric {metric!r}; use one of {tuple(MEASURES)}")
    distributions = check_distributions(distributions, "distributions")
    shapes = {"logits": np.asarray(logits), "distributions": distributions}
    if logical_labels is not None:
        shapes["logical_labels"] = np.asarray(logical_labels)
    check_same_shape(**shapes)
    measure, candidates = MEASURES[metric][0], form.candidates()
    values = [measure(distributions, form.read_out(logits, logical_labels, c)) for c in candidates]
    return best_candidate(candidates, values, metric)


def consistency_loss(distributions, logical_labels, average: bool = True):
    """How far ``distributions`` (n, c) are from binarising (cumulative degree > 0.5) into
    ``logical_labels`` (n, c); 0 when they binarise exactly into them.

    Per instance with relevant set R: ``max(0, max_{j not in R} d_j - min_{j in R} d_j)``
    (relevant labels rank first) ``+ max(0, 0.5 - d(R))`` (R holds more than half the mass)
    ``+ max(0, d(R) - min_{j in R} d_j - 0.5)`` (the last relevant label is needed). It checks
    what the logical labels can check: order and flatness, not the degrees inside R. The mean
    over instances (``average``), or one value each (n,).
    """
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


def select_readout_without_truth(logits, logical_labels, form=PAPER_READOUTS, criterion=consistency_loss):
    """The candidate of ``form`` whose read-out has the lowest ``criterion(distributions,
    logical_labels)`` (default :func:`consistency_loss`): no ground truth used; logits and
    logical labels (n, c). Ties go to the earlier candidate."""
    candidates = form.candidates()
    values = [criterion(form.read_out(logits, logical_labels, c), logical_labels) for c in candidates]
    return best_candidate(candidates, values)
