"""Running methods x data sets x seeds, and reading the runs under four protocols.

Every finished run is appended at once to ``runs.jsonl`` in the output folder and a rerun
reuses it, so an interrupted benchmark loses nothing and resumes where it stopped. Protocols
are applied when results are read, never by refitting:

- ``paper``: each method's parameters (and read-out) are chosen per data set by KL against
  the ground truth of all instances, parameters on seed 0 and the read-out per seed, as the
  paper did; figures are on all instances.
- ``blind``: the same choices made on a revealed 10% of the instances
  (:func:`lib_tf.data.split_instances`); figures are on the other 90%.
- ``zero-truth``: no ground truth of the data set at all: parameters and read-out are chosen
  on the paper data sets of the run outside its family (leave one family out: the ten Yeast
  sets are one family, :func:`lib_tf.data.family`), as the pair with the lowest geometric
  mean of KL over them on seed 0 (a geometric mean, so that every data set weighs the same
  whatever its scale of KL), and used unchanged on every seed; figures are on all instances.
  A data set with no paper data set of another family in the run is left out.
- ``self``: no ground truth at all, of this data set or any other, as for every real user:
  parameters and read-out are chosen by the truth-free criterion on the data set at hand, the
  expected KL under the binarisation posterior (:mod:`lib_tf.readout.posterior`; each run
  stores it for every read-out), parameters on seed 0 and the read-out per seed, as ``paper``
  does with the truth; figures are on all instances.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Dict

import numpy as np

from .._keras_state import released_keras_state
from ..data import PAPER_DATASETS, family, load_ldl, split_instances
from ..metrics import METRIC_NAMES
from ..readout.selection import SELECTION_METRIC, best_candidate
from .methods import MethodSpec
from .store import RunStore, measures, run_key, score_readouts, selection_values

PROTOCOLS = ("paper", "blind", "zero-truth", "self")
#: What each protocol chooses on, for :meth:`Benchmark.choose`.
_CHOICE_VALUES = {"paper": lambda run: selection_values(run, "all"),
                  "blind": lambda run: selection_values(run, "revealed"),
                  "self": lambda run: run["self_values"]}


class Benchmark:
    """Runs ``methods`` over ``datasets`` and ``seeds`` into ``out/runs.jsonl``."""

    def __init__(self, out, methods: Dict[str, MethodSpec], datasets, seeds, progress: bool = True):
        self.out = Path(out)
        self.methods, self.datasets, self.seeds = methods, list(datasets), list(seeds)
        self.store = RunStore(self.out / "runs.jsonl")
        self.progress = progress
        self.computed_keys, self.reused_keys = set(), set()  # reused: found in the store, not computed here
        self.names = {}  # data set argument -> the loaded set's name (the name in run keys)

    def _key(self, spec: MethodSpec, dataset_name: str, seed: int, params: dict) -> str:
        return run_key(spec.name, dataset_name, seed if spec.seeded else 0, params, spec.signature())

    def _stored(self, spec: MethodSpec, data, seed: int, params: dict, need_self: bool):
        """The stored run of these settings, None if there is none; ``need_self``: a stored run
        without the ``self`` criterion's values (made before it existed) counts as none."""
        found = self.store.get(self._key(spec, data.name, seed if spec.seeded else 0, params))
        return found if found is not None and (not need_self or "self_values" in found) else None

    def _run(self, spec: MethodSpec, data, seed: int, params: dict, need_self: bool = False) -> dict:
        """The stored run, or a new one (see :meth:`_stored` for ``need_self``). A method that fits
        many settings at once (``spec.fit_many``) computes all its missing runs on ``data`` then."""
        seed = seed if spec.seeded else 0
        key = self._key(spec, data.name, seed, params)
        found = self._stored(spec, data, seed, params, need_self)
        if found is not None:
            if key not in self.computed_keys:
                self.reused_keys.add(key)
            return found
        if spec.fit_many is not None:
            self._run_together(spec, data, need_self)
            return self.store.get(key)
        X, L = data.features, data.logical_labels
        with released_keras_state():
            start = time.perf_counter()
            output = np.asarray(spec.fit(X, L, params, seed), dtype=np.float64)
            return self._add_run(spec, data, seed, params, output, time.perf_counter() - start)

    def _run_together(self, spec: MethodSpec, data, need_self: bool) -> None:
        """Every missing run of ``spec`` on ``data`` (its grid x the seeds) in one
        ``spec.fit_many`` call, each stored as its own run under its own key; a run's seconds are
        its share of the call's wall time."""
        requests = [(params, seed) for params in spec.grid for seed in (self.seeds if spec.seeded else [0])
                    if self._stored(spec, data, seed, params, need_self) is None]
        X, L = data.features, data.logical_labels
        with released_keras_state():
            start = time.perf_counter()
            outputs = spec.fit_many(X, L, requests)
            seconds = (time.perf_counter() - start) / len(requests)
            for (params, seed), output in zip(requests, outputs):
                self._add_run(spec, data, seed, params, np.asarray(output, dtype=np.float64), seconds)

    def _add_run(self, spec: MethodSpec, data, seed: int, params: dict, output, seconds: float) -> dict:
        """Read out and score a fit's ``output``, store it as a finished run and return it."""
        revealed, hidden = split_instances(data.n_instances)
        X, L = data.features, data.logical_labels
        posterior = spec.fit_posterior(X, L, params, seed, output) if spec.has_choices else None
        readouts = spec.read_out(output, L, posterior)
        scored = score_readouts(data.distributions, readouts, revealed, hidden)
        if posterior is not None:  # the truth-free criterion of every read-out, for the self protocol
            scored["self_values"] = [float(f"{posterior.expected_kl(readouts[name]):.6g}") for name in scored["readouts"]]
            scored["scale_identified"] = posterior.scale_identified
        key = self._key(spec, data.name, seed, params)
        run = {"key": key, "method": spec.name, "dataset": data.name, "seed": seed, "params": params,
               "seconds": seconds, **scored, "finished": time.strftime("%Y-%m-%dT%H:%M:%S")}
        self.store.add(run)
        self.computed_keys.add(key)
        return run

    def choose(self, spec: MethodSpec, data, protocol: str, seed: int = 0):
        """(params, read-out) chosen on seed ``seed``'s runs over the grid: by KL on all instances
        (``paper``) or on the revealed share (``blind``), or by the truth-free criterion
        (``self``). Ties go to the first in grid order."""
        choices, values = [], []
        for params in spec.grid:
            run = self._run(spec, data, seed, params, need_self=protocol == "self")
            choices += [(params, name) for name in run["readouts"]]
            values += _CHOICE_VALUES[protocol](run)
        return best_candidate(choices, values, None if protocol == "self" else SELECTION_METRIC)

    def choose_without_truth(self, spec: MethodSpec, dataset_name: str):
        """(params, read-out) for ``dataset_name`` chosen on the run's paper data sets outside its
        family (:meth:`choose_across`)."""
        others = self._others(dataset_name)
        if not others:
            raise ValueError(f"zero-truth needs a paper data set outside the family of {dataset_name} in the run")
        return self.choose_across(spec, others)

    def choose_across(self, spec: MethodSpec, others):
        """(params, read-out) with the lowest geometric mean of KL over the data sets ``others``
        (seed 0, all instances), from finished runs: what a user with no ground truth of their
        own data set would be given (the shipped defaults are this choice over all paper sets)."""
        choices, values = [], []
        for params in spec.grid:
            per_dataset = []
            for other in others:
                run = self.store.get(self._key(spec, other, 0, params))
                if run is None:
                    raise RuntimeError(f"{spec.name} on {other} (seed 0, {params}) must run before zero-truth choices")
                per_dataset.append(np.log(np.maximum(selection_values(run, "all"), 1e-12)))
            choices += [(params, name) for name in self.store.get(self._key(spec, others[0], 0, params))["readouts"]]
            values += list(np.mean(per_dataset, axis=0))
        return best_candidate(choices, values, SELECTION_METRIC)

    def _others(self, dataset_name: str):
        """The paper data sets of the run outside ``dataset_name``'s family (what zero-truth
        chooses on)."""
        return [name for name in self.names.values()
                if name in PAPER_DATASETS and family(name) != family(dataset_name)]

    def results(self, spec: MethodSpec, data, protocol: str):
        """Per-seed scores under ``protocol`` (see the module doc) and their mean and std."""
        self_chosen = protocol == "self" and spec.has_choices
        if protocol == "zero-truth":
            params, fixed_readout = self.choose_without_truth(spec, data.name)
        else:  # a method with nothing to choose is its only run under self, as under paper
            params, _ = self.choose(spec, data, protocol if self_chosen or protocol != "self" else "paper")
        per_seed, readouts, seconds, identified = [], [], [], []
        for seed in (self.seeds if spec.seeded else self.seeds[:1]):
            run = self._run(spec, data, seed, params, need_self=self_chosen)
            identified.append(run.get("scale_identified"))
            if protocol == "blind":
                readout, figures = run["blind_pick"], measures(run, run["blind_pick"], "hidden")
            else:
                if protocol == "zero-truth":
                    readout = fixed_readout
                elif self_chosen:
                    readout = best_candidate(run["readouts"], run["self_values"])
                else:
                    readout = best_candidate(run["readouts"], selection_values(run, "all"), SELECTION_METRIC)
                figures = measures(run, readout, "all")
            per_seed.append(figures)
            readouts.append(readout)
            seconds.append(run["seconds"])
        result = {"params": params, "temperatures": readouts, "seconds": seconds, "per_seed": per_seed,
                  "mean": {m: float(np.mean([s[m] for s in per_seed])) for m in METRIC_NAMES},
                  "std": {m: float(np.std([s[m] for s in per_seed])) for m in METRIC_NAMES}}
        if self_chosen and None not in identified:  # the report splits on whether the labels pin the truth's sharpness
            result["scale_identified"] = all(identified)
        return result

    def _load(self, dataset):
        data = load_ldl(dataset)
        self.names[dataset] = data.name
        return data

    def run(self, protocols=PROTOCOLS) -> dict:
        """Everything: ``{protocol: {dataset: {method: results}}}``. Every data set's grid runs on
        seed 0 come first, since a zero-truth choice reads those of the other data sets."""
        protocols = list(protocols)
        table = {p: {} for p in protocols}
        bar = None
        if self.progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=2 * len(self.datasets) * len(self.methods), unit="method", mininterval=1.0)
        for stage in ("grid", "results"):
            for dataset in self.datasets:
                data = self._load(dataset)
                for name, spec in self.methods.items():
                    if bar is not None:
                        bar.set_description(f"{name} on {data.name} ({stage})")
                    if stage == "grid":
                        for params in spec.grid:
                            self._run(spec, data, 0, params)
                    else:
                        for protocol in protocols:
                            if protocol == "zero-truth" and not self._others(data.name):
                                continue  # nothing to choose on: the data set is left out of this protocol
                            table[protocol].setdefault(data.name, {})[name] = self.results(spec, data, protocol)
                    if bar is not None:
                        bar.update(1)
        if bar is not None:
            bar.close()
        return {protocol: by_dataset for protocol, by_dataset in table.items() if by_dataset}
