"""The methods the benchmark runs: how each is fitted, the parameter grid it searches and how
its output is read out as label distributions."""
from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional

import numpy as np

from ..baselines import get_method
from ..baselines.glle import LAMBDA_GRID as GLLE_LAMBDA_GRID
from ..hparams import MODEL_DEFAULTS
from ..readout.forms import TemperatureReadouts, TwoTemperatureReadouts, model_readouts, values_in_words
from ..readout.posterior import fit_binarisation_posterior

#: The name of the only read-out of a method that outputs distributions itself.
NO_READOUT = "-"
#: The name of the read-out that is the binarisation posterior's hedge: the average of its mean
#: and the read-out its criterion picks (LA-LIB's truth-free one, as ``LabelEnhancer`` fits it).
POSTERIOR_READOUT = "hedge"
#: The read-out drawn in the toy picture where a method has temperatures: the paper's T = 1.
PAPER_PICTURE = TemperatureReadouts.name(1.0)


@dataclass
class MethodSpec:
    """How the benchmark runs one method: ``fit(X, L, params, seed)`` returns the recovered
    distributions (n, c), or, with ``readouts`` (a form of :mod:`lib_tf.readout.forms`), a
    model's logits that every read-out turns into distributions (searched like a parameter).
    ``grid`` lists the parameter sets searched; ``seeded`` methods run once per seed, the
    others once. ``picture``: the read-out drawn in the toy picture (None: none of a method
    with read-outs is drawn; a method without them draws its output).

    ``posterior(X, L, params, seed, output)`` gives the binarisation posterior the ``self``
    protocol's criterion reads (default: fitted to the method's own output, its logits or the
    log of its distributions); with ``posterior_readout`` its hedge
    (:meth:`~lib_tf.readout.posterior.BinarisationPosterior.hedge` of the read-out with the
    least expected KL) is one more read-out.

    ``fit_many(X, L, requests)``, where given, fits several (params, seed) pairs at once and
    returns their outputs in order, each what ``fit`` gives (LIB's and LA-LIB's: one batched fit,
    :func:`lib_tf.enhancer.fit_together`)."""

    name: str
    fit: Callable
    grid: List[dict] = field(default_factory=lambda: [{}])
    seeded: bool = False
    readouts: Optional[object] = None
    picture: Optional[str] = None
    posterior: Optional[Callable] = None
    posterior_readout: bool = False
    fit_many: Optional[Callable] = None

    def readout_names(self) -> List[str]:
        names = self.readouts.names() if self.readouts is not None else [NO_READOUT]
        return names + ([POSTERIOR_READOUT] if self.posterior_readout else [])

    def read_out(self, output, logical_labels, posterior=None) -> Dict[str, np.ndarray]:
        readouts = {NO_READOUT: output} if self.readouts is None else self.readouts.apply(output, logical_labels)
        if self.posterior_readout:
            chosen = min(readouts.values(), key=posterior.expected_kl)
            readouts[POSTERIOR_READOUT] = posterior.hedge(chosen)
        return readouts

    def signature(self):
        """What identifies the method's read-outs in a run's key (None: its output alone)."""
        if self.readouts is None:
            return [POSTERIOR_READOUT] if self.posterior_readout else None
        return self.readouts.signature() + ([POSTERIOR_READOUT] if self.posterior_readout else [])

    def at_grid_end(self, readout: str) -> bool:
        """Whether ``readout`` lies on an end of its form's grid (never the posterior's hedge)."""
        return readout not in (NO_READOUT, POSTERIOR_READOUT) and self.readouts.at_grid_end(readout)

    @property
    def has_choices(self) -> bool:
        """Whether the method has parameters or read-outs to choose (what ``self`` needs a criterion for)."""
        return len(self.grid) > 1 or self.readouts is not None or self.posterior_readout

    def fit_posterior(self, X, L, params, seed, output):
        """The binarisation posterior of this run (see the class docstring)."""
        if self.posterior is not None:
            return self.posterior(X, L, params, seed, output)
        logits = output if self.readouts is not None else np.log(np.clip(output, 1e-12, None))
        return fit_binarisation_posterior(logits, L, random_state=seed)

    def describe_grid(self) -> str:
        """The searched grid in words (parameters, then read-outs), for the report."""
        names = sorted({name for params in self.grid for name in params})
        parts = [f"{name} in {values_in_words(sorted({params[name] for params in self.grid}))}" for name in names]
        if self.readouts is not None:
            parts.append(self.readouts.describe())
        if self.posterior_readout:
            parts.append("or the binarisation posterior's hedge (its mean averaged with the read-out it ranks first)")
        return "; ".join(parts) if parts else "nothing to choose"


def _baseline(name, **fixed):
    def fit(X, L, params, seed):
        cls = get_method(name)
        settings = {**fixed, **params}
        if "random_state" in cls._get_param_names():
            settings["random_state"] = seed
        return cls(**settings).fit_transform(X, L)
    return fit


def _lib_enhancer(params, seed):
    from ..enhancer import LabelEnhancer

    return LabelEnhancer(model="paper", **params, random_state=seed)


def _label_aware_enhancer(params, seed):
    from ..enhancer import LabelEnhancer

    return LabelEnhancer(model="label-aware", readout="truth-free", **params, random_state=seed)


def _lib_logits(X, L, params, seed):
    return _lib_enhancer(params, seed).fit(X, L).logits(X)


def _lib_logits_many(X, L, requests):
    from ..enhancer import fit_together

    return [enhancer.logits(X) for enhancer in fit_together([_lib_enhancer(*request) for request in requests], X, L)]


def _memoised(fit, fit_many=None, cache_size: int = 16):
    """``fit(X, L, params, seed)`` memoised on (X, L, params, seed), so that what one fit
    gives (two read-outs of the same model, LIB and LIB+l; a fit's logits and its posterior)
    is computed once in a process. ``fit_many(X, L, requests)`` fits several (params, seed)
    pairs at once: the memoised ``.many(X, L, requests)`` fits those not in the cache with it
    (and keeps all of the requests)."""
    cache: "OrderedDict[tuple, object]" = OrderedDict()

    def digest_of(X, L):
        return hashlib.sha1(np.ascontiguousarray(X).tobytes() + np.ascontiguousarray(L).tobytes()).hexdigest()

    def key_of(digest, params, seed):
        return digest, json.dumps(params, sort_keys=True), seed

    def keep(key, value, room):
        cache[key] = value
        while len(cache) > max(cache_size, room):
            cache.popitem(last=False)

    def memoised(X, L, params, seed):
        key = key_of(digest_of(X, L), params, seed)
        if key not in cache:
            keep(key, fit(X, L, params, seed), 1)
        return cache[key]

    def many(X, L, requests):
        digest = digest_of(X, L)  # once for all requests: the data is the same
        keys = [key_of(digest, params, seed) for params, seed in requests]
        missing = {key: request for key, request in zip(keys, requests) if key not in cache}
        if missing:
            for key, value in zip(missing, fit_many(X, L, list(missing.values()))):
                keep(key, value, len(keys))
        return [cache[key] for key in keys]

    memoised.many = many if fit_many is not None else None
    memoised.cache_clear = cache.clear  # what a timing of the fits themselves needs
    return memoised


def _label_aware_fit_many(X, L, requests):
    """LA-LIB fitted with its truth-free read-out for each (params, seed): (logits with the labels
    shown, posterior) each; all fits' models and fold models trained side by side."""
    from ..enhancer import fit_together

    fitted = fit_together([_label_aware_enhancer(*request) for request in requests], X, L)
    return [(enhancer.logits(X, L), enhancer.posterior_) for enhancer in fitted]


def _label_aware_fit_alone(X, L, params, seed):
    """LA-LIB fitted with its truth-free read-out: (logits with the labels shown, posterior)."""
    enhancer = _label_aware_enhancer(params, seed).fit(X, L)
    return enhancer.logits(X, L), enhancer.posterior_


_label_aware_fit = _memoised(_label_aware_fit_alone, _label_aware_fit_many)


def _label_aware_logits_many(X, L, requests):
    return [logits for logits, _ in _label_aware_fit.many(X, L, requests)]


def _label_aware_logits(X, L, params, seed):
    return _label_aware_fit(X, L, params, seed)[0]


def _label_aware_posterior(X, L, params, seed, output):
    return _label_aware_fit(X, L, params, seed)[1]


def _label_logits(X, L, params, seed):
    return np.asarray(L, dtype=np.float64)


#: LA-LIB's read-outs: its logits always count (no T_z = inf), the labels may be dropped.
LABEL_AWARE_READOUTS = model_readouts(label_aware=True)


def default_methods(quick: bool = False) -> Dict[str, MethodSpec]:
    """The table's methods with the grids the benchmark searches (reduced from the papers'
    grids to fit the time budget on 2 cores). ``quick``: one grid point for LIB, LA-LIB and
    LESC, no gLESC or LEVI."""
    lesc_grid = [{"lambda1": a, "lambda2": b} for a in (1e-3, 1e-1) for b in (1e-3, 1e-1, 10.0)]
    lib_grid = [{"alpha": a, "beta": b} for a in (0.001, 1.0) for b in (1.0, 10.0)]
    # LA-LIB at its shipped setting only, as LabelEnhancer.label_aware() fits it: its truth-free
    # criterion does not choose label_dropout well (benchmarks/TRUTH_FREE.md), so no protocol does
    shipped = MODEL_DEFAULTS["label-aware"]
    label_aware_grid = [{name: shipped[name] for name in ("latent_dim", "head_units", "alpha", "beta", "label_dropout")}]
    if quick:
        lesc_grid, lib_grid = lesc_grid[:1], lib_grid[:1]
    lib_fit = _memoised(_lib_logits, _lib_logits_many)
    specs = [
        MethodSpec("l/sum(l)", _baseline("l/sum(l)")),
        MethodSpec("softmax(l/T)", _label_logits, readouts=TemperatureReadouts(), picture=PAPER_PICTURE),
        MethodSpec("rule(softmax(l/T))", _label_logits, readouts=TemperatureReadouts(rule_projection=True),
                   picture=PAPER_PICTURE),
        MethodSpec("FCM", _baseline("FCM"), seeded=True),
        MethodSpec("KM", _baseline("KM")),
        MethodSpec("LP", _baseline("LP")),
        MethodSpec("ML", _baseline("ML")),
        MethodSpec("GLLE", _baseline("GLLE"), grid=[{"lam": v} for v in GLLE_LAMBDA_GRID]),
        MethodSpec("LESC", _baseline("LESC"), grid=lesc_grid),
        MethodSpec("gLESC", _baseline("gLESC"), grid=lesc_grid),
        MethodSpec("LEVI", _baseline("LEVI"), seeded=True),
        MethodSpec("LIB", lib_fit, grid=lib_grid, seeded=True, readouts=TemperatureReadouts(), picture=PAPER_PICTURE,
                   fit_many=lib_fit.many),
        MethodSpec("LIB+l", lib_fit, grid=lib_grid, seeded=True, readouts=TwoTemperatureReadouts(), fit_many=lib_fit.many),
        MethodSpec("LA-LIB", _label_aware_logits, grid=label_aware_grid, seeded=True, readouts=LABEL_AWARE_READOUTS,
                   posterior=_label_aware_posterior, posterior_readout=True, fit_many=_label_aware_logits_many),
    ]
    if quick:  # the slowest baselines stay out of the quick mode
        specs = [spec for spec in specs if spec.name not in ("gLESC", "LEVI")]
    return {spec.name: spec for spec in specs}
