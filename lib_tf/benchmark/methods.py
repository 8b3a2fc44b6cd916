"""The methods the benchmark runs: how each is fitted, the parameter grid it searches and how
its output is read out as label distributions."""
from __future__ import annotations

import hashlib
import json
import math
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional

import numpy as np

from ..baselines import get_method
from ..baselines.glle import LAMBDA_GRID as GLLE_LAMBDA_GRID
from ..enhancer import LABEL_AWARE_SIZES
from ..readout import (FEATURE_TEMPERATURE_GRID, LABEL_TEMPERATURE_GRID, TEMPERATURE_GRID, rule_consistent,
                       softmax_two_temperatures, softmax_with_temperature, two_temperature_pairs)

#: The name of the only read-out of a method that outputs distributions itself.
NO_READOUT = "-"


def _values(grid) -> str:
    return "{" + ", ".join(f"{value:g}" for value in grid) + "}"


@dataclass(frozen=True)
class TemperatureReadouts:
    """``softmax(z / T)`` for every T of ``grid``, optionally moved into the binarisation
    rule's interval (:func:`lib_tf.readout.rule_consistent`); read-outs are named ``repr(T)``."""

    grid: tuple = TEMPERATURE_GRID
    rule_projection: bool = False
    picture = repr(1.0)  # the read-out drawn in the toy picture: the paper's T = 1

    def names(self) -> List[str]:
        return [repr(float(t)) for t in self.grid]

    def apply(self, output, logical_labels) -> Dict[str, np.ndarray]:
        result = {}
        for t in self.grid:
            distributions = softmax_with_temperature(output, t)
            result[repr(float(t))] = rule_consistent(distributions, logical_labels) if self.rule_projection else distributions
        return result

    def signature(self):
        return ["softmax(z/T)" + ("+rule" if self.rule_projection else ""), [float(t) for t in self.grid]]

    def describe(self) -> str:
        return f"T in {_values(self.grid)}" + (", moved into the binarisation rule's interval" if self.rule_projection else "")

    def at_grid_end(self, name: str) -> bool:
        return float(name) in (min(self.grid), max(self.grid))


@dataclass(frozen=True)
class TwoTemperatureReadouts:
    """``softmax(z / T_z + l / T_l)`` over ``logit_grid`` x ``label_grid`` (inf drops a term,
    never both), optionally moved into the binarisation rule's interval
    (:func:`lib_tf.readout.rule_consistent`); read-outs are named ``"T_z/T_l"``."""

    logit_grid: tuple = FEATURE_TEMPERATURE_GRID
    label_grid: tuple = LABEL_TEMPERATURE_GRID
    drop_logits: bool = True
    rule_projection: bool = False
    picture: Optional[str] = None

    def pairs(self):
        return two_temperature_pairs(self.logit_grid, self.label_grid, drop_logits=self.drop_logits)

    def names(self) -> List[str]:
        return [f"{tz:g}/{tl:g}" for tz, tl in self.pairs()]

    def apply(self, output, logical_labels) -> Dict[str, np.ndarray]:
        result = {}
        for tz, tl in self.pairs():
            distributions = softmax_two_temperatures(output, logical_labels, tz, tl)
            result[f"{tz:g}/{tl:g}"] = rule_consistent(distributions, logical_labels) if self.rule_projection else distributions
        return result

    def signature(self):
        return ["softmax(z/T_z+l/T_l)" + ("+rule" if self.rule_projection else ""), [float(t) for t in self.logit_grid],
                [float(t) for t in self.label_grid], self.drop_logits]

    def describe(self) -> str:
        logits = _values(self.logit_grid) + (" or inf" if self.drop_logits else "")
        text = f"softmax(z / T_z + l / T_l), T_z in {logits}, T_l in {_values(self.label_grid)}"
        return text + (", moved into the binarisation rule's interval" if self.rule_projection else "")

    def at_grid_end(self, name: str) -> bool:
        ends = {min(self.logit_grid), max(self.logit_grid)}, {min(self.label_grid), max(t for t in self.label_grid if math.isfinite(t))}
        return any(float(value) in end for value, end in zip(name.split("/"), ends))


@dataclass
class MethodSpec:
    """How the benchmark runs one method: ``fit(X, L, params, seed)`` returns the recovered
    distributions (n, c), or, with ``readouts``, a model's logits that every read-out turns
    into distributions (searched like a parameter). ``grid`` lists the parameter sets
    searched; ``seeded`` methods run once per seed, the others once."""

    name: str
    fit: Callable
    grid: List[dict] = field(default_factory=lambda: [{}])
    seeded: bool = False
    readouts: Optional[object] = None

    def readout_names(self) -> List[str]:
        return self.readouts.names() if self.readouts is not None else [NO_READOUT]

    def read_out(self, output, logical_labels) -> Dict[str, np.ndarray]:
        if self.readouts is None:
            return {NO_READOUT: output}
        return self.readouts.apply(output, logical_labels)

    def describe_grid(self) -> str:
        """The searched grid in words (parameters, then read-outs), for the report."""
        names = sorted({name for params in self.grid for name in params})
        parts = [f"{name} in {_values(sorted({params[name] for params in self.grid}))}" for name in names]
        if self.readouts is not None:
            parts.append(self.readouts.describe())
        return "; ".join(parts) if parts else "nothing to choose"


def _baseline(name, **fixed):
    def fit(X, L, params, seed):
        cls = get_method(name)
        settings = {**fixed, **params}
        if "random_state" in cls._get_param_names():
            settings["random_state"] = seed
        return cls(**settings).fit_transform(X, L)
    return fit


def _memoised_logits(fit_logits, cache_size: int = 16):
    """``fit_logits(X, L, params, seed)`` memoised on (X, L, params, seed), so that two
    read-outs of the same model (LIB and LIB+l) share every fit made in one process."""
    cache: "OrderedDict[tuple, np.ndarray]" = OrderedDict()

    def fit(X, L, params, seed):
        digest = hashlib.sha1(np.ascontiguousarray(X).tobytes() + np.ascontiguousarray(L).tobytes()).hexdigest()
        key = (digest, json.dumps(params, sort_keys=True), seed)
        if key not in cache:
            cache[key] = fit_logits(X, L, params, seed)
            while len(cache) > cache_size:
                cache.popitem(last=False)
        return cache[key]
    return fit


def _lib_logits(X, L, params, seed):
    from ..enhancer import LabelEnhancer

    return LabelEnhancer(model="paper", **params, random_state=seed).fit(X, L).logits(X)


def _label_aware_logits(X, L, params, seed):
    from ..enhancer import LabelEnhancer

    return LabelEnhancer(model="label-aware", **params, random_state=seed).fit(X, L).logits(X, L)


def _label_logits(X, L, params, seed):
    return np.asarray(L, dtype=np.float64)


#: LA-LIB's read-outs: its logits always count (no T_z = inf), the labels may be dropped.
LABEL_AWARE_READOUTS = TwoTemperatureReadouts(drop_logits=False, rule_projection=True)


def default_methods(quick: bool = False) -> Dict[str, MethodSpec]:
    """The table's methods with the grids the benchmark searches (reduced from the papers'
    grids to fit the time budget on 2 cores). ``quick``: one grid point for LIB, LA-LIB and
    LESC, no gLESC or LEVI."""
    lesc_grid = [{"lambda1": a, "lambda2": b} for a in (1e-3, 1e-1) for b in (1e-3, 1e-1, 10.0)]
    lib_grid = [{"alpha": a, "beta": b} for a in (0.001, 1.0) for b in (1.0, 10.0)]
    label_aware_grid = [{**LABEL_AWARE_SIZES, "alpha": 1.0, "beta": 10.0, "label_dropout": d} for d in (0.0, 0.5)]
    if quick:
        lesc_grid, lib_grid, label_aware_grid = lesc_grid[:1], lib_grid[:1], label_aware_grid[1:]
    lib_fit = _memoised_logits(_lib_logits)
    specs = [
        MethodSpec("l/sum(l)", _baseline("l/sum(l)")),
        MethodSpec("softmax(l/T)", _label_logits, readouts=TemperatureReadouts()),
        MethodSpec("rule(softmax(l/T))", _label_logits, readouts=TemperatureReadouts(rule_projection=True)),
        MethodSpec("FCM", _baseline("FCM"), seeded=True),
        MethodSpec("KM", _baseline("KM")),
        MethodSpec("LP", _baseline("LP")),
        MethodSpec("ML", _baseline("ML")),
        MethodSpec("GLLE", _baseline("GLLE"), grid=[{"lam": v} for v in GLLE_LAMBDA_GRID]),
        MethodSpec("LESC", _baseline("LESC"), grid=lesc_grid),
        MethodSpec("gLESC", _baseline("gLESC"), grid=lesc_grid),
        MethodSpec("LEVI", _baseline("LEVI"), seeded=True),
        MethodSpec("LIB", lib_fit, grid=lib_grid, seeded=True, readouts=TemperatureReadouts()),
        MethodSpec("LIB+l", lib_fit, grid=lib_grid, seeded=True, readouts=TwoTemperatureReadouts()),
        MethodSpec("LA-LIB", _label_aware_logits, grid=label_aware_grid, seeded=True, readouts=LABEL_AWARE_READOUTS),
    ]
    if quick:  # the slowest baselines stay out of the quick mode
        specs = [spec for spec in specs if spec.name not in ("gLESC", "LEVI")]
    return {spec.name: spec for spec in specs}
