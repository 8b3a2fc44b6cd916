"""Methods x data sets x seeds, the six measures, two protocols, average ranks.

Every finished run is appended at once to ``runs.jsonl`` in the output folder and a rerun
reuses it, so an interrupted benchmark loses nothing and resumes where it stopped.

A run stores, for each read-out its method has (LIB and the label softmax read out
``softmax(z / T)`` for every T; "LIB+l" reads LIB's logits out with the logical labels,
``softmax(z / T_z + l / T_l)``; the others have one output), the six measures on three instance
sets: all instances, the revealed 10% (``numpy`` seed 0 permutation) and the other 90%.
Protocols are applied when results are read, never by refitting:

- ``paper``: each method's parameters (and T) are chosen per data set by KL against the
  ground truth of all instances, on seed 0, as the paper did; figures are on all instances.
- ``blind``: the same choice made on the revealed 10% only; figures are on the other 90%.
"""
from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, NamedTuple, Optional

import numpy as np

from ._keras_state import released_keras_state
from .baselines import TEMPERATURE_GRID, get_method
from .baselines.glle import LAMBDA_GRID as GLLE_LAMBDA_GRID
from .data import load_ldl
from .metrics import METRIC_NAMES, average_ranks, higher_is_better, score
from .readout import softmax_two_temperatures, softmax_with_temperature, two_temperature_pairs

PROTOCOLS = ("paper", "blind")
REVEAL_SHARE = 0.1
SELECTION_METRIC = "Kullback-Leibler"
NO_TEMPERATURE = "-"


@dataclass
class MethodSpec:
    """How the benchmark runs one method: ``fit(X, L, params, seed)`` returns either the
    recovered distributions (n, c) or, with ``has_temperature``, logits read out as
    ``softmax(z / T)`` for every T of the grid. ``grid`` lists the parameter sets searched;
    ``seeded`` methods are run once per seed, the others once. ``readouts(output, L)``, when
    given, replaces the temperature grid: ``{name: distributions}`` of every read-out searched."""

    name: str
    fit: Callable
    grid: List[dict] = field(default_factory=lambda: [{}])
    seeded: bool = False
    has_temperature: bool = False
    readouts: Optional[Callable] = None


def _baseline(name, **fixed):
    def fit(X, L, params, seed):
        cls = get_method(name)
        settings = {**fixed, **params}
        if "random_state" in cls._param_names():
            settings["random_state"] = seed
        return cls(**settings).fit_transform(X, L)
    return fit


def _lib(cache_size: int = 16):
    """LIB's fit, returning its logits; memoised on (X, L, params, seed) so that "LIB" and
    "LIB+l" (two read-outs of the same model) share every fit made in one process."""
    cache: "OrderedDict[tuple, np.ndarray]" = OrderedDict()

    def fit(X, L, params, seed):
        from .enhancer import LabelEnhancer

        digest = hashlib.sha1(np.ascontiguousarray(X).tobytes() + np.ascontiguousarray(L).tobytes()).hexdigest()
        key = (digest, json.dumps(params, sort_keys=True), seed)
        if key not in cache:
            cache[key] = LabelEnhancer(**params, seed=seed).fit(X, L).logits(X)
            while len(cache) > cache_size:
                cache.popitem(last=False)
        return cache[key]
    return fit


def _two_temperature_readouts(logits, L):
    """``softmax(z / T_z + l / T_l)`` over both temperature grids (inf drops a term)."""
    return {f"{tz:g}/{tl:g}": softmax_two_temperatures(logits, L, tz, tl) for tz, tl in two_temperature_pairs()}


def _label_logits(X, L, params, seed):
    return np.asarray(L, dtype=np.float64)


def default_methods(quick: bool = False) -> Dict[str, MethodSpec]:
    """The table's methods with the grids the benchmark searches (reduced from the papers'
    grids to fit 13 data sets x 5 seeds in 90 minutes on 2 cores; stated in the report).
    ``quick``: one grid point for LIB and LESC, no gLESC or LEVI."""
    lesc_grid = [{"lambda1": a, "lambda2": b} for a in (1e-3, 1e-1) for b in (1e-3, 1e-1, 10.0)]
    lib_grid = [{"alpha": a, "beta": b} for a in (0.001, 1.0) for b in (1.0, 10.0)]
    if quick:
        lesc_grid, lib_grid = lesc_grid[:1], lib_grid[:1]
    lib_fit = _lib()
    specs = [
        MethodSpec("l/sum(l)", _baseline("l/sum(l)")),
        MethodSpec("softmax(l/T)", _label_logits, has_temperature=True),
        MethodSpec("FCM", _baseline("FCM"), seeded=True),
        MethodSpec("KM", _baseline("KM")),
        MethodSpec("LP", _baseline("LP")),
        MethodSpec("ML", _baseline("ML")),
        MethodSpec("GLLE", _baseline("GLLE"), grid=[{"lam": v} for v in GLLE_LAMBDA_GRID]),
        MethodSpec("LESC", _baseline("LESC"), grid=lesc_grid),
        MethodSpec("gLESC", _baseline("gLESC"), grid=lesc_grid),
        MethodSpec("LEVI", _baseline("LEVI"), seeded=True),
        MethodSpec("LIB", lib_fit, grid=lib_grid, seeded=True, has_temperature=True),
        MethodSpec("LIB+l", lib_fit, grid=lib_grid, seeded=True, readouts=_two_temperature_readouts),
    ]
    if quick:  # the slowest baselines stay out of the quick mode
        specs = [spec for spec in specs if spec.name not in ("gLESC", "LEVI")]
    return {spec.name: spec for spec in specs}


def reveal_split(n: int):
    """Indices of the revealed share and of the rest (fixed: numpy seed 0 permutation)."""
    order = np.random.default_rng(0).permutation(n)
    cut = max(1, int(round(REVEAL_SHARE * n)))
    return np.sort(order[:cut]), np.sort(order[cut:])


def _three_sets(D, recovered, revealed, hidden):
    return {"all": score(D, recovered), "revealed": score(D[revealed], recovered[revealed]),
            "hidden": score(D[hidden], recovered[hidden])}


def compact_readouts(by_readout: dict) -> dict:
    """Keep what the protocols read from a run with many read-outs (LIB+l's 168): the
    selection metric on all instances and on the revealed share for every read-out, and the
    six measures only where a protocol can pick the read-out (the best on all instances for
    ``paper``, the best on the revealed share for ``blind``; ties to the first, as
    :meth:`Benchmark.results` breaks them). Keeps ``runs.jsonl`` small."""
    def best(subset):
        return min(by_readout, key=lambda name: by_readout[name][subset][SELECTION_METRIC])

    compact = {name: {subset: {SELECTION_METRIC: sets[subset][SELECTION_METRIC]} for subset in ("all", "revealed")}
               for name, sets in by_readout.items()}
    compact[best("all")]["all"] = by_readout[best("all")]["all"]
    compact[best("revealed")].update(by_readout[best("revealed")])
    return compact


def run_key(method: str, dataset: str, seed: int, params: dict) -> str:
    return json.dumps([method, dataset, seed, params], sort_keys=True)


class RunStore:
    """Append-only JSON-lines file of finished runs, keyed by (method, data set, seed, params)."""

    def __init__(self, path):
        self.path = Path(path)
        self.runs: Dict[str, dict] = {}
        if self.path.is_file():
            for line_number, line in enumerate(self.path.read_text().splitlines(), 1):
                if not line.strip():
                    continue
                try:
                    run = json.loads(line)
                except json.JSONDecodeError:
                    # a run cut off mid-write by a crash: the only line that can be partial
                    continue
                self.runs[run["key"]] = run

    def get(self, key):
        return self.runs.get(key)

    def add(self, run: dict):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a") as handle:
            handle.write(json.dumps(run) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        self.runs[run["key"]] = run


class Benchmark:
    """Runs ``methods`` over ``datasets`` and ``seeds`` into ``out/runs.jsonl``."""

    def __init__(self, out, methods: Dict[str, MethodSpec], datasets, seeds, progress: bool = True):
        self.out = Path(out)
        self.methods, self.datasets, self.seeds = methods, list(datasets), list(seeds)
        self.store = RunStore(self.out / "runs.jsonl")
        self.progress = progress
        self.computed_keys, self.reused_keys = set(), set()  # reused: found in the store, not computed here

    def _run(self, spec: MethodSpec, data, seed: int, params: dict) -> dict:
        seed = seed if spec.seeded else 0
        key = run_key(spec.name, data.name, seed, params)
        found = self.store.get(key)
        if found is not None:
            if key not in self.computed_keys:
                self.reused_keys.add(key)
            return found
        revealed, hidden = reveal_split(data.n_instances)
        with released_keras_state():
            start = time.perf_counter()
            output = np.asarray(spec.fit(data.features, data.logical_labels, params, seed), dtype=np.float64)
            seconds = time.perf_counter() - start
        D = data.distributions
        if spec.readouts is not None:
            by_t = compact_readouts({name: _three_sets(D, distributions, revealed, hidden)
                                     for name, distributions in spec.readouts(output, data.logical_labels).items()})
        elif spec.has_temperature:
            by_t = {repr(t): _three_sets(D, softmax_with_temperature(output, t), revealed, hidden)
                    for t in TEMPERATURE_GRID}
        else:
            by_t = {NO_TEMPERATURE: _three_sets(D, output, revealed, hidden)}
        run = {"key": key, "method": spec.name, "dataset": data.name, "seed": seed, "params": params,
               "seconds": seconds, "by_temperature": by_t, "finished": time.strftime("%Y-%m-%dT%H:%M:%S")}
        self.store.add(run)
        self.computed_keys.add(key)
        return run

    def choose(self, spec: MethodSpec, data, protocol: str, seed: int = 0):
        """(params, T) chosen by KL on seed ``seed``'s runs over the grid: on all instances
        (``paper``) or on the revealed share (``blind``)."""
        subset = "all" if protocol == "paper" else "revealed"
        best = None
        for params in spec.grid:
            run = self._run(spec, data, seed, params)
            for t, sets in run["by_temperature"].items():
                value = sets[subset][SELECTION_METRIC]
                if best is None or value < best[0]:
                    best = (value, params, t)
        return best[1], best[2]

    def results(self, spec: MethodSpec, data, protocol: str):
        """Per-seed scores under ``protocol``: params chosen on seed 0, T chosen per seed by the
        same rule, figures on all instances (paper) or the unrevealed 90% (blind)."""
        params, _ = self.choose(spec, data, protocol)
        subset, target = ("all", "all") if protocol == "paper" else ("revealed", "hidden")
        per_seed, temperatures, seconds = [], [], []
        for seed in (self.seeds if spec.seeded else self.seeds[:1]):
            run = self._run(spec, data, seed, params)
            t = min(run["by_temperature"], key=lambda k: run["by_temperature"][k][subset][SELECTION_METRIC])
            per_seed.append(run["by_temperature"][t][target])
            temperatures.append(t)
            seconds.append(run["seconds"])
        return {"params": params, "temperatures": temperatures, "seconds": seconds, "per_seed": per_seed,
                "mean": {m: float(np.mean([s[m] for s in per_seed])) for m in METRIC_NAMES},
                "std": {m: float(np.std([s[m] for s in per_seed])) for m in METRIC_NAMES}}

    def run(self, protocols=PROTOCOLS) -> dict:
        """Everything: ``{protocol: {dataset: {method: results}}}``."""
        table = {p: {} for p in protocols}
        jobs = [(d, m) for d in self.datasets for m in self.methods]
        bar = None
        if self.progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=len(jobs), unit="method", mininterval=1.0)
        loaded = {}
        for dataset, method in jobs:
            if dataset not in loaded:
                loaded.clear()
                loaded[dataset] = load_ldl(dataset)
            data = loaded[dataset]
            if bar is not None:
                bar.set_description(f"{method} on {data.name}")
            for protocol in protocols:
                table[protocol].setdefault(data.name, {})[method] = self.results(self.methods[method], data, protocol)
            if bar is not None:
                bar.update(1)
        if bar is not None:
            bar.close()
        return table


def rank_table(table: dict, metric: str) -> Dict[str, float]:
    """Average ranks of the methods of a ``{dataset: {method: results}}`` table on ``metric``."""
    return average_ranks({d: {m: r["mean"][metric] for m, r in row.items()} for d, row in table.items()}, metric)


class CellComparison(NamedTuple):
    """Cells (data set, metric) where one figure is ``better`` than another, ``equal`` to it
    at the compared precision, out of ``cells`` where both exist."""
    better: int
    equal: int
    cells: int

    @property
    def matched_or_beaten(self) -> int:
        return self.better + self.equal


def compare_cells(datasets, mine: Callable[[str, str], Optional[float]], reference: Callable[[str, str], Optional[float]],
                  decimals: int = 3) -> CellComparison:
    """Compare ``mine(dataset, metric)`` with ``reference(dataset, metric)`` on every cell of
    ``datasets`` x the six metrics where both are known, both rounded to ``decimals`` (the
    paper prints 3), so a difference the paper could not print counts as equal."""
    better = equal = cells = 0
    for dataset in datasets:
        for metric in METRIC_NAMES:
            ours, theirs = mine(dataset, metric), reference(dataset, metric)
            if ours is None or theirs is None:
                continue
            ours, theirs = round(ours, decimals), round(theirs, decimals)
            cells += 1
            equal += ours == theirs
            better += ours > theirs if higher_is_better(metric) else ours < theirs
    return CellComparison(better, equal, cells)


def relative_worsening(value: float, reference: float, metric: str) -> Optional[float]:
    """How much worse ``value`` is than ``reference`` on ``metric``, as a fraction of the
    reference (negative: better); None where the reference is 0."""
    if reference == 0:
        return None
    return (reference - value) / reference if higher_is_better(metric) else (value - reference) / reference


def median_worsening(table: dict, method: str, metric: str, reference: Callable[[str], Optional[float]],
                     tolerance: float = 0.1) -> Optional[tuple]:
    """Over the data sets of a ``{dataset: {method: results}}`` table: (median relative
    worsening of ``method``'s mean against ``reference(dataset)``, cells within ``tolerance``
    or better, cells compared); None where no cell has a reference."""
    changes = []
    for dataset, row in table.items():
        target = reference(dataset)
        if method not in row or target is None:
            continue
        change = relative_worsening(row[method]["mean"][metric], target, metric)
        if change is not None:
            changes.append(change)
    if not changes:
        return None
    return float(np.median(changes)), sum(c <= tolerance for c in changes), len(changes)


PAPER_TABLE = Path(__file__).resolve().parent / "data" / "paper_table2.csv"
PAPER_METHODS = ("FCM", "KM", "LP", "ML", "GLLE", "LESC", "LEVI", "LIB")


def paper_figures() -> Dict[tuple, float]:
    """Table 2 of the LIB paper: {(dataset, metric, method): value}; dataset ``AVG_RANK`` holds
    its average ranks."""
    import csv

    with open(PAPER_TABLE) as handle:
        return {(r["dataset"], r["metric"], r["method"]): float(r["value"]) for r in csv.DictReader(handle)}


def _cell(result, metric):
    return f"{result['mean'][metric]:.3f}±{result['std'][metric]:.3f}" if result["std"][metric] > 0 else f"{result['mean'][metric]:.3f}"


def write_report(table: dict, path, command: str, seeds, quick: bool = False, total_seconds: Optional[float] = None,
                 invocations: Optional[List[dict]] = None) -> str:
    """Markdown report of a ``{protocol: {dataset: {method: results}}}`` table beside the paper.
    ``invocations``: the commands that computed runs (``read_invocations``), each with
    ``command``, ``finished``, ``computed``, ``reused`` and ``wall_seconds``."""
    import platform

    paper = paper_figures()
    lines = [
        "# lib_tf benchmark: LE methods on the LIB paper's data sets", "",
        f"Command: `{command}`  ",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
        f"seeds {list(seeds)}{' (quick mode: one grid point for LIB and LESC, no gLESC or LEVI)' if quick else ''}.", "",
        "Protocols (each table says which):",
        "- **paper**: every method's parameters (LIB: alpha, beta; GLLE: lambda; LESC/gLESC: lambda1, lambda2) "
        "and read-out temperature T are chosen per data set by KL against the ground truth of all instances "
        "(parameters on seed 0, T per seed), exactly as the paper chose its figures; scored on all instances.",
        "- **blind**: the same choices made on a revealed 10% of the instances (numpy seed 0 permutation); "
        "scored on the other 90%.",
        "Grids searched (reduced from the papers' to fit the time budget): LIB alpha in {0.001, 1} x beta in "
        "{1, 10}; GLLE lambda in {0.01, 0.1, 1, 10, 100}; LESC/gLESC lambda1 in {1e-3, 0.1} x lambda2 in "
        "{1e-3, 0.1, 10}; T in {0.5, ..., 8}. **LIB+l** is not the paper's: the same LIB fits (same grid, "
        "same seeds) read out with each instance's logical labels, softmax(z / T_z + l / T_l), T_z in the T grid "
        "or inf, T_l in the T grid or inf (T_l = inf is LIB, T_z = inf the label softmax), chosen "
        "by the same protocol. KL is KL(D || D_hat) (truth first); the paper's KL column "
        "was computed the other way for at least the classic baselines (see BASELINES.md).", "",
        "`mean±std` over seeds; methods without randomness run once. `paper LIB` is the paper's Table 2.", "",
    ]
    if total_seconds is not None:
        lines += [f"Fit time of every run this report draws on (all grid points, seeds and both protocols; "
                  f"a fit shared by LIB and LIB+l counted once when made in one process): "
                  f"**{total_seconds / 60:.1f} min** (times recorded on a machine that may have been busy).", ""]
    if invocations:
        lines += ["Commands that computed these runs (wall time includes the pictures where drawn):", ""]
        for past in invocations:
            scope = "every run from scratch, one uninterrupted process" if past["reused"] == 0 else \
                f"{past['reused']} runs reused from earlier commands"
            lines.append(f"- {past['finished']} `{past['command']}`: {past['computed']} runs computed ({scope}), "
                         f"wall time **{past['wall_seconds'] / 60:.1f} min**.")
        lines.append("")
    ranks_by_protocol = {protocol: {metric: rank_table(by_dataset, metric) for metric in METRIC_NAMES}
                         for protocol, by_dataset in table.items()}
    for protocol, by_dataset in table.items():
        methods = list(next(iter(by_dataset.values())))
        ranks_by_metric = ranks_by_protocol[protocol]
        lines += [f"## Protocol: {protocol}", ""]
        for metric in METRIC_NAMES:
            arrow = "higher is better" if higher_is_better(metric) else "lower is better"
            lines += [f"### {metric} ({arrow})", "", "| data set | " + " | ".join(methods) + " | paper LIB |",
                      "|---|" + "---|" * (len(methods) + 1)]
            for dataset, row in by_dataset.items():
                reference = paper.get((dataset, metric, "LIB"))
                lines.append(f"| {dataset} | " + " | ".join(_cell(row[m], metric) for m in methods) +
                             f" | {reference if reference is not None else '-'} |")
            ranks = ranks_by_metric[metric]
            lines += ["| **average rank** | " + " | ".join(f"**{ranks[m]:.2f}**" for m in methods) + " | |", ""]
        lines += ["### Average ranks (ours; the paper's own ranks are over its 8 methods only)", "",
                  "| metric | " + " | ".join(methods) + " |", "|---|" + "---|" * len(methods)]
        for metric, ranks in ranks_by_metric.items():
            best = min(ranks.values())
            lines.append(f"| {metric} | " + " | ".join(
                (f"**{ranks[m]:.2f}**" if ranks[m] == best else f"{ranks[m]:.2f}") for m in methods) + " |")
        lines.append("")
        for name in ("LIB", "LIB+l"):
            if name in methods:
                firsts = [metric for metric, ranks in ranks_by_metric.items() if ranks[name] == min(ranks.values())]
                lines.append(f"- {name} has the best average rank on **{len(firsts)} of {len(METRIC_NAMES)}** metrics"
                             + (f" ({', '.join(firsts)})." if firsts else "."))
        if "LIB" in methods:
            lines += _cell_count_lines(by_dataset, paper, methods, protocol)
            lines.append("")
        seconds = {m: sum(sum(r[m]["seconds"]) for r in by_dataset.values()) for m in methods}
        lines += ["Fit time over the runs reported here (seconds): " +
                  ", ".join(f"{m} {seconds[m]:.0f}" for m in methods), ""]
        if protocol == "paper":
            lines += _paper_difference_lines(by_dataset, paper, methods)
    if "paper" in table and "blind" in table:
        lines += _blind_fall_lines(table, ranks_by_protocol)
    text = "\n".join(lines)
    Path(path).write_text(text)
    return text


def _cell_count_lines(by_dataset: dict, paper: dict, methods, protocol: str) -> List[str]:
    """How LIB and LIB+l stand cell by cell against the paper's LIB and the tuned label
    softmax; under ``paper``, the paper's own LIB figures against the same label softmax for
    scale (under ``blind`` the label softmax is scored on other instances than the paper's)."""
    def mean_of(method):
        return lambda d, m: by_dataset[d][method]["mean"][m] if method in by_dataset[d] else None

    def paper_lib(d, m):
        return paper.get((d, m, "LIB"))

    lines = []
    for name in ("LIB", "LIB+l"):
        if name not in methods:
            continue
        against_paper = compare_cells(by_dataset, mean_of(name), paper_lib)
        lines.append(f"- {name} (ours, mean over seeds) matches or beats the paper's LIB on "
                     f"**{against_paper.matched_or_beaten} of {against_paper.cells}** cells "
                     f"(better on {against_paper.better}, equal at 3 decimals on {against_paper.equal}).")
        if "softmax(l/T)" in methods:
            against_softmax = compare_cells(by_dataset, mean_of(name), mean_of("softmax(l/T)"))
            lines.append(f"- {name} beats the tuned label softmax softmax(l/T) on **{against_softmax.better} of "
                         f"{against_softmax.cells}** cells and equals it at 3 decimals on {against_softmax.equal}.")
    if protocol == "paper" and "softmax(l/T)" in methods:
        papers_own = compare_cells(by_dataset, paper_lib, mean_of("softmax(l/T)"))
        lines.append(f"- For scale, the paper's own LIB figures beat this label softmax on **{papers_own.better} of "
                     f"{papers_own.cells}** cells and equal it on {papers_own.equal}.")
    return lines


def _paper_difference_lines(by_dataset: dict, paper: dict, methods) -> List[str]:
    named = [m for m in methods if m in PAPER_METHODS]
    if not named:
        return []
    lines = ["### Differences from the paper's Table 2 (same method, paper protocol)", "",
             "Median over data sets of (ours - paper) / paper, signed so that **negative is better than the paper**; "
             "in brackets the cells within 10% of the paper's figure or better. The KL column is not comparable "
             "for the classic baselines (the paper's KL ran the other way, see above).", "",
             "| method | " + " | ".join(METRIC_NAMES) + " |", "|---|" + "---|" * len(METRIC_NAMES)]
    for method in named:
        cells = [median_worsening(by_dataset, method, metric, lambda d: paper.get((d, metric, method)))
                 for metric in METRIC_NAMES]
        lines.append(f"| {method} | " + " | ".join(
            "-" if c is None else f"{100 * c[0]:+.1f}% ({c[1]}/{c[2]})" for c in cells) + " |")
    return lines + [""]


def _blind_fall_lines(table: dict, ranks: dict) -> List[str]:
    paper, blind = table["paper"], table["blind"]
    methods = list(next(iter(blind.values())))
    lines = ["## How far each method falls without peeking (blind against paper)", "",
             "Median over data sets of (blind - paper) / paper, signed so that **positive is worse** (blind: "
             "choices on the revealed 10%, figures on the other 90%; paper: choices and figures on all instances), "
             "then the average rank paper -> blind.", "",
             "| method | " + " | ".join(METRIC_NAMES) + " | rank (Chebyshev) | rank (KL) |",
             "|---|" + "---|" * (len(METRIC_NAMES) + 2)]
    for method in methods:
        # both protocols come from one run over the same data sets and methods
        cells = [median_worsening(blind, method, metric, lambda d: paper[d][method]["mean"][metric])
                 for metric in METRIC_NAMES]
        moves = [f"{ranks['paper'][m][method]:.2f} -> {ranks['blind'][m][method]:.2f}" for m in ("Chebyshev", "Kullback-Leibler")]
        lines.append(f"| {method} | " + " | ".join("-" if c is None else f"{100 * c[0]:+.1f}%" for c in cells)
                     + " | " + " | ".join(moves) + " |")
    return lines + [""]


QUICK_DATASETS = ("SJAFFE", "Yeast_spo5")
INVOCATIONS_FILE = "invocations.jsonl"


def read_invocations(path) -> List[dict]:
    """The commands that computed runs into a results folder, oldest first (one JSON line each)."""
    path = Path(path)
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.is_file() else []


SENSITIVITY_GRID = (0.001, 0.01, 0.1, 1.0, 10.0)


def draw_figures(bench: Benchmark, table: dict, figures_dir, sensitivity: bool = True):
    """The toy set recovered by every method (Fig. 3), LIB's alpha x beta sensitivity on
    SBU_3DFE (Fig. 4, T = 1, seed 0; 25 fits, resumable) and per-metric rank charts."""
    from .data import make_artificial
    from .plots import plot_ranks, plot_sensitivity, plot_toy_recovery

    figures_dir = Path(figures_dir)
    written = []
    toy = make_artificial()
    panels = {"ground truth": toy.distributions}
    for name, spec in bench.methods.items():
        if spec.readouts is not None:  # LIB+l: LIB's model with the labels added at read-out
            continue
        params = spec.grid[0]
        with released_keras_state():
            output = np.asarray(spec.fit(toy.features, toy.logical_labels, params, 0), dtype=np.float64)
        panels[name] = softmax_with_temperature(output, 1.0) if spec.has_temperature else output
    written.append(plot_toy_recovery(toy.features, panels, figures_dir / "toy_all_methods.png",
                                     title="Artificial: label distributions as RGB (defaults, T = 1)"))
    if sensitivity and "LIB" in bench.methods:
        data = load_ldl("SBU_3DFE")
        spec = MethodSpec("LIB", bench.methods["LIB"].fit, seeded=True, has_temperature=True)
        grids = {m: np.zeros((len(SENSITIVITY_GRID), len(SENSITIVITY_GRID))) for m in ("Chebyshev", "Cosine", "Intersection")}
        for i, alpha in enumerate(SENSITIVITY_GRID):
            for j, beta in enumerate(SENSITIVITY_GRID):
                run = bench._run(spec, data, 0, {"alpha": alpha, "beta": beta})
                for metric in grids:
                    grids[metric][i, j] = run["by_temperature"][repr(1.0)]["all"][metric]
        written.append(plot_sensitivity(grids, SENSITIVITY_GRID, SENSITIVITY_GRID, figures_dir / "lib_sensitivity_SBU_3DFE.png",
                                        title="LIB on SBU_3DFE: alpha x beta (T = 1, seed 0)"))
    for protocol, by_dataset in table.items():
        ranks = {metric: rank_table(by_dataset, metric) for metric in METRIC_NAMES}
        written.append(plot_ranks(ranks, figures_dir / f"ranks_{protocol}.png", title=f"Average ranks ({protocol} protocol)"))
    return written


def add_benchmark_parser(subparsers):
    parser = subparsers.add_parser("benchmark", help="methods x data sets x seeds, ranks, report and pictures",
                                   description=__doc__.split("\n\n")[0])
    parser.add_argument("--methods", nargs="*", help="default: every method of the table")
    parser.add_argument("--datasets", nargs="*", help="names or .mat paths (default: the paper's 13; quick: 2)")
    parser.add_argument("--seeds", nargs="*", type=int, help="default 0 1 2 3 4 (quick: 0 1)")
    parser.add_argument("--protocols", nargs="*", choices=PROTOCOLS, default=list(PROTOCOLS))
    parser.add_argument("--quick", action="store_true", help="two small data sets, reduced grids and budgets (CI)")
    parser.add_argument("--out", default="benchmarks/results", help="folder for runs.jsonl, REPORT.md, figures/")
    parser.add_argument("--no-figures", action="store_true", help="skip the pictures")
    parser.set_defaults(func=run_benchmark_command)
    return parser


def run_benchmark_command(args) -> int:
    import shlex

    from .data import PAPER_DATASETS

    methods = default_methods(quick=args.quick)
    unknown = sorted(set(args.methods or []) - set(methods))
    if unknown:
        raise ValueError(f"--methods: unknown {unknown}; choose from {list(methods)}")
    if args.methods:
        methods = {name: methods[name] for name in args.methods}
    datasets = args.datasets or (QUICK_DATASETS if args.quick else PAPER_DATASETS)
    seeds = args.seeds if args.seeds else ([0, 1] if args.quick else [0, 1, 2, 3, 4])
    bench = Benchmark(args.out, methods, datasets, seeds)
    start = time.perf_counter()
    table = bench.run(args.protocols)
    command = "lib-tf " + " ".join(shlex.quote(a) for a in sys.argv[1:]) if sys.argv[0].endswith("lib-tf") else \
        "python -m lib_tf.cli " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    report = Path(args.out) / "REPORT.md"
    if not args.no_figures:  # before the report, so that its wall time includes the pictures' fits
        for path in draw_figures(bench, table, Path(args.out) / "figures", sensitivity=not args.quick):
            print(f"wrote {path}")
    used = {(name, data) for data in table[args.protocols[0]] for name in methods}
    total = sum(run["seconds"] for run in bench.store.runs.values() if (run["method"], run["dataset"]) in used)
    invocation = {"command": command, "finished": time.strftime("%Y-%m-%dT%H:%M:%S"), "computed": len(bench.computed_keys),
                  "reused": len(bench.reused_keys), "wall_seconds": time.perf_counter() - start}
    log = Path(args.out) / INVOCATIONS_FILE
    if invocation["computed"]:  # a rerun that only rewrites the report keeps the history as it is
        with open(log, "a") as handle:
            handle.write(json.dumps(invocation) + "\n")
    text = write_report(table, report, command, seeds, quick=args.quick, total_seconds=total,
                        invocations=read_invocations(log))
    summary = [line for line in text.splitlines() if line.startswith("- LIB")]
    print("\n".join(summary))
    print(f"{invocation['computed']} runs computed, {invocation['reused']} reused; "
          f"{invocation['wall_seconds']:.0f} s; wrote {report}")
    return 0
