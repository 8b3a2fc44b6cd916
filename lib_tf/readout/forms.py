"""The read-out forms: how a model's logits z (or the logical labels l) become label
distributions, in float64 NumPy, and the grids of their temperatures.

- ``softmax(z / T)`` (:func:`softmax_with_temperature`, LIB's read-out and, with ``z = l``,
  the feature-free label softmax);
- ``softmax(z / T_z + l / T_l)`` (:func:`softmax_two_temperatures`, LIB+l and LA-LIB);
- ``rule_consistent(d, l)``: a distribution moved into the interval the field's binarisation
  rule allows (LA-LIB and the ``rule(softmax(l / T))`` reference);
- :class:`TemperatureReadouts` and :class:`TwoTemperatureReadouts`: a form over a grid of its
  temperatures, the candidates that :mod:`lib_tf.readout.selection` chooses from.

:mod:`lib_tf.readout.tf_forms` holds the TensorFlow twins the Keras models read out with.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Dict, List

import numpy as np

#: Temperatures searched for a read-out. The label-softmax reference figures used 0.5 to 8;
#: the feature-rich sets chose 0.5, the grid's end, so it goes down to 0.1.
TEMPERATURE_GRID = (0.1, 0.15, 0.25, 0.35, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0)


def softmax_with_temperature(logits, temperature: float) -> np.ndarray:
    """Row-wise ``softmax(z / T)`` in float64; logits (n, c) -> (n, c)."""
    if not temperature > 0:
        raise ValueError(f"temperature must be positive, got {temperature}")
    scaled = np.asarray(logits, dtype=np.float64) / temperature
    scaled -= scaled.max(axis=1, keepdims=True)
    weights = np.exp(scaled)
    return weights / weights.sum(axis=1, keepdims=True)


#: Temperatures of the logical labels in the two-temperature read-out; ``inf`` drops the term.
LABEL_TEMPERATURE_GRID = (*TEMPERATURE_GRID, float("inf"))
#: Temperatures of a model's logits beside the labels: a model that carries little beside the
#: labels (the Yeast sets) needs a weak logit term, so the grid goes on above 8 (coarser, to
#: keep the pairs few).
FEATURE_TEMPERATURE_GRID = (0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0, 16.0, 24.0, 32.0)


def two_temperature_pairs(grid=FEATURE_TEMPERATURE_GRID, label_grid=LABEL_TEMPERATURE_GRID, drop_logits: bool = True) -> list:
    """The ``(T_z, T_l)`` searched for :func:`softmax_two_temperatures`: ``grid`` (plus inf
    with ``drop_logits``) for the logits, ``label_grid`` for the labels, without the pair
    that drops both terms."""
    logit_grid = (*grid, float("inf")) if drop_logits else tuple(grid)
    return [(tz, tl) for tz in logit_grid for tl in label_grid if not (np.isinf(tz) and np.isinf(tl))]


def softmax_two_temperatures(logits, logical_labels, logits_temperature: float, labels_temperature: float) -> np.ndarray:
    """``softmax(z / T_z + l / T_l)`` row-wise; logits z and logical labels l (n, c) -> (n, c).

    A transductive read-out of a model's logits that also uses each instance's own logical
    labels: ``T_l = inf`` is the model alone (``softmax(z / T_z)``), ``T_z = inf`` the
    feature-free label softmax (``softmax(l / T_l)``), so choosing both on known
    distributions can only match or beat each of the two on the selection metric.
    """
    logits = np.asarray(logits, dtype=np.float64)
    labels = np.asarray(logical_labels, dtype=np.float64)
    if logits.shape != labels.shape:
        raise ValueError(f"logits {logits.shape} and logical_labels {labels.shape} must have the same shape")
    for name, value in (("logits_temperature", logits_temperature), ("labels_temperature", labels_temperature)):
        if not value > 0:
            raise ValueError(f"{name} must be positive (inf drops the term), got {value}")
    if np.isinf(logits_temperature) and np.isinf(labels_temperature):
        raise ValueError("logits_temperature and labels_temperature cannot both be inf")
    combined = np.zeros_like(logits)
    if np.isfinite(logits_temperature):
        combined += logits / logits_temperature
    if np.isfinite(labels_temperature):
        combined += labels / labels_temperature
    return softmax_with_temperature(combined, 1.0)


def _group_shares(values, mask):
    """Row-wise shares of ``values`` inside ``mask`` (n, c); uniform inside the mask where
    its total is 0, zero outside."""
    inside = np.where(mask, values, 0.0)
    total = inside.sum(axis=1, keepdims=True)
    uniform = mask / np.maximum(mask.sum(axis=1, keepdims=True), 1)
    return np.where(total > 0, inside / np.where(total > 0, total, 1.0), uniform)


#: How far above one half the relevant mass is kept: the rule needs it to *exceed* 0.5.
RULE_MARGIN = 1e-6


def rule_consistent(distributions, logical_labels) -> np.ndarray:
    """Move each row's relevant mass into the interval the field's binarisation allows.

    The logical labels of an LE data set mark the smallest set of top labels whose degrees
    sum past 0.5 (:func:`lib_tf.data.binarize`). Keeping the shares inside the relevant set R
    (``w``) and inside the rest (``v``) of a distribution with relevant mass m, the rule holds
    for ``lower <= m <= upper`` with ``lower = max(0.5 + RULE_MARGIN, max v / (min w + max v))``
    (R holds more than half the mass and every relevant degree is at least every irrelevant one) and
    ``upper = min(1, 0.5 / (1 - min w))`` (without its smallest label R holds at most half).
    Rows whose mass lies outside are moved to the nearer end; rows inside, and rows whose
    labels are all relevant, are returned unchanged. distributions, logical_labels: (n, c) ->
    (n, c).
    """
    P = np.asarray(distributions, dtype=np.float64)
    relevant = np.asarray(logical_labels) > 0.5
    if P.shape != relevant.shape:
        raise ValueError(f"distributions {P.shape} and logical_labels {relevant.shape} must have the same shape")
    mass = np.where(relevant, P, 0.0).sum(axis=1, keepdims=True)
    within_relevant, within_rest = _group_shares(P, relevant), _group_shares(P, ~relevant)
    smallest_relevant = np.where(relevant, within_relevant, np.inf).min(axis=1, keepdims=True)
    largest_rest = np.where(relevant, -np.inf, within_rest).max(axis=1, keepdims=True)
    upper = np.minimum(1.0, 0.5 / np.maximum(1.0 - smallest_relevant, 1e-12))
    with np.errstate(invalid="ignore"):  # rows with every label relevant (no rest) are returned as they are, below
        lower = np.minimum(upper, np.maximum(0.5 + RULE_MARGIN, largest_rest / (smallest_relevant + largest_rest)))
        moved = np.clip(mass, lower, upper)
    result = moved * within_relevant + (1.0 - moved) * within_rest
    every_label_relevant = relevant.all(axis=1)
    result[every_label_relevant] = P[every_label_relevant]
    return result


def values_in_words(grid) -> str:
    """``{0.1, 0.5, 1}``: a grid as the report prints it."""
    return "{" + ", ".join(f"{value:g}" for value in grid) + "}"


class _Readouts:
    """What every form over a grid offers besides its own ``candidates``, ``name`` and
    ``read_out``: the candidates' names and distributions, in the grid's order."""

    def names(self) -> List[str]:
        return [self.name(candidate) for candidate in self.candidates()]

    def apply(self, logits, logical_labels) -> Dict[str, np.ndarray]:
        """Every candidate's distributions, by name."""
        return {self.name(c): self.read_out(logits, logical_labels, c) for c in self.candidates()}


@dataclass(frozen=True)
class TemperatureReadouts(_Readouts):
    """``softmax(z / T)`` for every T of ``grid``, optionally moved into the binarisation
    rule's interval (:func:`rule_consistent`). A candidate is a T; read-outs are named
    ``repr(T)``."""

    grid: tuple = TEMPERATURE_GRID
    rule_projection: bool = False

    def candidates(self) -> list:
        return [float(t) for t in self.grid]

    @staticmethod
    def name(candidate) -> str:
        return repr(float(candidate))

    def read_out(self, logits, logical_labels, candidate) -> np.ndarray:
        """The distributions (n, c) of ``candidate`` for logits and logical labels (n, c)."""
        distributions = softmax_with_temperature(logits, candidate)
        return rule_consistent(distributions, logical_labels) if self.rule_projection else distributions

    def signature(self):
        """What identifies the form and its grid (part of a benchmark run's key)."""
        return ["softmax(z/T)" + ("+rule" if self.rule_projection else ""), [float(t) for t in self.grid]]

    def describe(self) -> str:
        moved = ", moved into the binarisation rule's interval" if self.rule_projection else ""
        return f"T in {values_in_words(self.grid)}" + moved

    def at_grid_end(self, name: str) -> bool:
        return float(name) in (min(self.grid), max(self.grid))

    def extended(self, candidate):
        """The form with its grid carried one step past the end ``candidate`` lies on (half the
        smallest T, twice the largest), or None where it lies inside."""
        grid = _extended_grid(self.grid, candidate)
        return None if grid is None else replace(self, grid=grid)


@dataclass(frozen=True)
class TwoTemperatureReadouts(_Readouts):
    """``softmax(z / T_z + l / T_l)`` over ``logit_grid`` x ``label_grid`` (:func:`two_temperature_pairs`:
    inf drops a term, never both; ``drop_logits`` adds T_z = inf), optionally moved into the
    binarisation rule's interval (:func:`rule_consistent`). A candidate is a pair
    ``(T_z, T_l)``; read-outs are named ``"T_z/T_l"``."""

    logit_grid: tuple = FEATURE_TEMPERATURE_GRID
    label_grid: tuple = LABEL_TEMPERATURE_GRID
    drop_logits: bool = True
    rule_projection: bool = False

    def candidates(self) -> list:
        pairs = two_temperature_pairs(self.logit_grid, self.label_grid, self.drop_logits)
        return [(float(tz), float(tl)) for tz, tl in pairs]

    @staticmethod
    def name(candidate) -> str:
        return f"{candidate[0]:g}/{candidate[1]:g}"

    def read_out(self, logits, logical_labels, candidate) -> np.ndarray:
        """The distributions (n, c) of ``candidate`` for logits and logical labels (n, c)."""
        distributions = softmax_two_temperatures(logits, logical_labels, *candidate)
        return rule_consistent(distributions, logical_labels) if self.rule_projection else distributions

    def signature(self):
        """What identifies the form and its grids (part of a benchmark run's key)."""
        return ["softmax(z/T_z+l/T_l)" + ("+rule" if self.rule_projection else ""), [float(t) for t in self.logit_grid],
                [float(t) for t in self.label_grid], self.drop_logits]

    def describe(self) -> str:
        logits = values_in_words(self.logit_grid) + (" or inf" if self.drop_logits else "")
        text = f"softmax(z / T_z + l / T_l), T_z in {logits}, T_l in {values_in_words(self.label_grid)}"
        return text + (", moved into the binarisation rule's interval" if self.rule_projection else "")

    def at_grid_end(self, name: str) -> bool:
        ends = ({min(self.logit_grid), max(self.logit_grid)},
                {min(self.label_grid), max(t for t in self.label_grid if math.isfinite(t))})
        return any(float(value) in end for value, end in zip(name.split("/"), ends))

    def extended(self, candidate):
        """The form with the grid of each temperature of ``candidate`` that lies on an end of
        its grid carried one step past it (inf, which drops a term, is no end), or None."""
        logit_grid = _extended_grid(self.logit_grid, candidate[0]) or self.logit_grid
        label_grid = _extended_grid(self.label_grid, candidate[1]) or self.label_grid
        if (logit_grid, label_grid) == (self.logit_grid, self.label_grid):
            return None
        return replace(self, logit_grid=logit_grid, label_grid=label_grid)


def model_readouts(label_aware: bool, rule_projection: bool = True):
    """The read-outs a fitted model's temperatures are chosen from: ``softmax(z / T)``
    (:class:`TemperatureReadouts`) for the paper's LIB; for the label-aware LIB
    ``softmax(z / T_z + l / T_l)`` with its logits always kept (no T_z = inf), moved into the
    binarisation rule's interval with ``rule_projection`` (:class:`TwoTemperatureReadouts`)."""
    if label_aware:
        return TwoTemperatureReadouts(drop_logits=False, rule_projection=rule_projection)
    return TemperatureReadouts()


def _extended_grid(grid, value):
    """``grid`` with half its smallest finite value added where ``value`` is that value, twice
    its largest finite one where ``value`` is that; None where ``value`` is inside (or inf)."""
    finite = [t for t in grid if math.isfinite(t)]
    if not math.isfinite(value) or min(finite) < value < max(finite):
        return None
    extra = min(finite) / 2 if value == min(finite) else max(finite) * 2
    return tuple(sorted({*grid, extra}, key=lambda t: (not math.isfinite(t), t)))
