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
  labels alone: the expected KL divergence under the binarisation posterior
  (:func:`posterior_criterion`, :mod:`lib_tf.readout.posterior`), or the older
  :func:`consistency_loss`.

A choice that lands on a grid's end carries the grid on (:func:`choose_extending`).

NumPy only (no TensorFlow).
"""
from __future__ import annotations

import numpy as np

from ..data.validation import check_distributions, check_same_shape
from ..metrics import MEASURES, higher_is_better
from .forms import TemperatureReadouts
from .posterior import fit_binarisation_posterior

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


#: How many times a choice on a grid's end may carry the grid on (each time one step past it).
MAX_GRID_EXTENSIONS = 6


def choose_extending(form, value_of, metric=None, extend: bool = True):
    """The best candidate of ``form`` by ``value_of(distributions)`` (:func:`best_candidate`).

    Where the best lies on an end of its grid, the grid is carried one step past that end
    (``form.extended``) and the choice made again, up to :data:`MAX_GRID_EXTENSIONS` times, so
    that a choice is never an artefact of where a grid stops.

    Returns
    -------
    tuple
        ``(candidate, value, form, clipped)``: the candidate, its value, the form it was
        chosen from, and whether it still lies on a grid end.
    """
    for extensions in range(MAX_GRID_EXTENSIONS + 1):
        candidates = form.candidates()
        values = [value_of(form, candidate) for candidate in candidates]
        chosen = best_candidate(candidates, values, metric)
        wider = form.extended(chosen) if extend and extensions < MAX_GRID_EXTENSIONS else None
        if wider is None:
            break
        form = wider
    value = values[candidates.index(chosen)]
    return chosen, value, form, form.at_grid_end(form.name(chosen))


def select_readout(logits, distributions, logical_labels=None, form=PAPER_READOUTS, metric: str = SELECTION_METRIC,
                   extend: bool = True):
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
    extend : bool, default=True
        Carry a grid on past an end the choice lies on (:func:`choose_extending`).

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
    measure = MEASURES[metric][0]
    chosen, _, _, _ = choose_extending(
        form, lambda f, c: measure(distributions, f.read_out(logits, logical_labels, c)), metric, extend)
    return chosen


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


def select_readout_without_truth(logits, logical_labels, form=PAPER_READOUTS, criterion=consistency_loss,
                                 extend: bool = True):
    """The candidate of ``form`` whose read-out has the lowest ``criterion(distributions,
    logical_labels)`` (default :func:`consistency_loss`; :func:`posterior_criterion` for the
    binarisation posterior's expected KL): no ground truth used; logits and logical labels
    (n, c). Ties go to the earlier candidate; a choice on a grid's end carries the grid on
    (``extend``, :func:`choose_extending`)."""
    chosen, _, _, _ = choose_extending(
        form, lambda f, c: criterion(f.read_out(logits, logical_labels, c), logical_labels), None, extend)
    return chosen


def posterior_criterion(posterior):
    """The criterion ``(distributions, logical_labels) -> float`` of a fitted
    :class:`~lib_tf.readout.posterior.BinarisationPosterior`: the expected KL divergence of the
    distributions from the truth behind the labels (the labels are the posterior's own)."""
    return lambda distributions, logical_labels: posterior.expected_kl(distributions)


def select_label_softmax_without_truth(logical_labels, form=PAPER_READOUTS, random_state: int = 0):
    """T of the feature-free label softmax ``softmax(l / T)`` chosen without truth: the least
    expected KL under the binarisation posterior centred on the labels themselves (n, c)."""
    labels = np.asarray(logical_labels, dtype=np.float64)
    posterior = fit_binarisation_posterior(labels, labels, random_state=random_state)
    return select_readout_without_truth(labels, labels, form, posterior_criterion(posterior))
