"""The benchmark's Markdown report: tables per protocol beside the paper's Table 2, average
ranks, cell counts against the paper's LIB and the tuned label softmax, the data sets beyond
the paper, and the choices that landed on a grid end."""
from __future__ import annotations

import csv
import os
import platform
from pathlib import Path
from typing import Callable, Dict, List, NamedTuple, Optional

import numpy as np

from .._files import write_atomic
from ..data import PAPER_DATASETS
from ..metrics import METRIC_NAMES, average_ranks, higher_is_better

PAPER_TABLE = Path(__file__).resolve().parent.parent / "data" / "paper_table2.csv"
PAPER_METHODS = ("FCM", "KM", "LP", "ML", "GLLE", "LESC", "LEVI", "LIB")
#: Rows whose standing against the paper's LIB and the label softmax is counted cell by cell.
COUNTED = ("LIB", "LIB+l", "LA-LIB")
LABEL_SOFTMAX = "softmax(l/T)"
PROTOCOL_TEXT = {
    "paper": "every method's parameters and read-out chosen per data set by KL against the ground truth of all "
             "instances (parameters on seed 0, read-out per seed), as the paper chose its figures; scored on all "
             "instances",
    "blind": "the same choices made on a revealed 10% of the instances; scored on the other 90%",
    "zero-truth": "no ground truth of the data set: parameters and read-out chosen on the paper data sets outside "
                  "its family (the ten Yeast sets are one; lowest geometric mean of KL over them, seed 0) and kept for "
                  "every seed; scored on all instances",
    "self": "no ground truth at all, as for a real user: parameters and read-out chosen on the data set at hand by "
            "the truth-free criterion (the expected KL under the binarisation posterior of its logical labels; "
            "parameters on seed 0, read-out per seed); scored on all instances",
}


def paper_figures() -> Dict[tuple, float]:
    """Table 2 of the LIB paper: {(dataset, metric, method): value}; dataset ``AVG_RANK`` holds
    its average ranks."""
    with open(PAPER_TABLE) as handle:
        return {(r["dataset"], r["metric"], r["method"]): float(r["value"]) for r in csv.DictReader(handle)}


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


def split_table(by_dataset: dict):
    """(the paper's data sets, the others) of a ``{dataset: {method: results}}`` table."""
    return ({d: row for d, row in by_dataset.items() if d in PAPER_DATASETS},
            {d: row for d, row in by_dataset.items() if d not in PAPER_DATASETS})


def _cell(result, metric):
    return f"{result['mean'][metric]:.3f}±{result['std'][metric]:.3f}" if result["std"][metric] > 0 else f"{result['mean'][metric]:.3f}"


def _mean_of(by_dataset, method):
    return lambda d, m: by_dataset[d][method]["mean"][m] if method in by_dataset[d] else None


def _metric_tables(by_dataset: dict, methods, ranks_by_metric, paper: Optional[dict]) -> List[str]:
    lines = []
    for metric in METRIC_NAMES:
        arrow = "higher is better" if higher_is_better(metric) else "lower is better"
        header = "| data set | " + " | ".join(methods) + (" | paper LIB |" if paper is not None else " |")
        lines += [f"### {metric} ({arrow})", "", header, "|---|" + "---|" * (len(methods) + (paper is not None))]
        for dataset, row in by_dataset.items():
            cells = " | ".join(_cell(row[m], metric) for m in methods)
            if paper is not None:
                reference = paper.get((dataset, metric, "LIB"))
                cells += f" | {reference if reference is not None else '-'}"
            lines.append(f"| {dataset} | {cells} |")
        ranks = ranks_by_metric[metric]
        lines += ["| **average rank** | " + " | ".join(f"**{ranks[m]:.2f}**" for m in methods)
                  + (" | |" if paper is not None else " |"), ""]
    return lines


def _rank_summary(ranks_by_metric, methods, title) -> List[str]:
    lines = [f"### {title}", "", "| metric | " + " | ".join(methods) + " |", "|---|" + "---|" * len(methods)]
    for metric, ranks in ranks_by_metric.items():
        best = min(ranks.values())
        lines.append(f"| {metric} | " + " | ".join(
            (f"**{ranks[m]:.2f}**" if ranks[m] == best else f"{ranks[m]:.2f}") for m in methods) + " |")
    lines.append("")
    for name in COUNTED:
        if name in methods:
            firsts = [metric for metric, ranks in ranks_by_metric.items() if ranks[name] == min(ranks.values())]
            lines.append(f"- {name} has the best average rank on **{len(firsts)} of {len(METRIC_NAMES)}** metrics"
                         + (f" ({', '.join(firsts)})." if firsts else "."))
    return lines


def _cell_count_lines(by_dataset: dict, paper: Optional[dict], methods, protocol: str) -> List[str]:
    """How the counted rows stand cell by cell against the paper's LIB (where it has figures)
    and the tuned label softmax; under ``paper``, the paper's own LIB against the same label
    softmax for scale."""
    def paper_lib(d, m):
        return paper.get((d, m, "LIB"))

    lines = []
    for name in COUNTED:
        if name not in methods:
            continue
        if paper is not None:
            against_paper = compare_cells(by_dataset, _mean_of(by_dataset, name), paper_lib)
            lines.append(f"- {name} (ours, mean over seeds) matches or beats the paper's LIB on "
                         f"**{against_paper.matched_or_beaten} of {against_paper.cells}** cells "
                         f"(better on {against_paper.better}, equal at 3 decimals on {against_paper.equal}).")
        if LABEL_SOFTMAX in methods:
            against_softmax = compare_cells(by_dataset, _mean_of(by_dataset, name), _mean_of(by_dataset, LABEL_SOFTMAX))
            lines.append(f"- {name} beats the tuned label softmax {LABEL_SOFTMAX} on **{against_softmax.better} of "
                         f"{against_softmax.cells}** cells and equals it at 3 decimals on {against_softmax.equal}.")
    if paper is not None and protocol == "paper" and LABEL_SOFTMAX in methods:
        papers_own = compare_cells(by_dataset, paper_lib, _mean_of(by_dataset, LABEL_SOFTMAX))
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


def _fall_lines(table: dict, ranks: dict, protocol: str) -> List[str]:
    """How far each method falls from ``paper`` to ``protocol`` (paper data sets)."""
    paper, other = split_table(table["paper"])[0], split_table(table[protocol])[0]
    methods = list(next(iter(other.values())))
    lines = [f"## How far each method falls without peeking ({protocol} against paper)", "",
             f"Median over the paper's data sets of ({protocol} - paper) / paper, signed so that **positive is worse**, "
             f"then the average rank paper -> {protocol}.", "",
             "| method | " + " | ".join(METRIC_NAMES) + " | rank (Chebyshev) | rank (KL) |",
             "|---|" + "---|" * (len(METRIC_NAMES) + 2)]
    for method in methods:
        cells = [median_worsening(other, method, metric, lambda d: paper[d][method]["mean"][metric])
                 for metric in METRIC_NAMES]
        moves = [f"{ranks['paper'][m][method]:.2f} -> {ranks[protocol][m][method]:.2f}" for m in ("Chebyshev", "Kullback-Leibler")]
        lines.append(f"| {method} | " + " | ".join("-" if c is None else f"{100 * c[0]:+.1f}%" for c in cells)
                     + " | " + " | ".join(moves) + " |")
    return lines + [""]


def _grid_end_lines(table: dict, specs: dict) -> List[str]:
    """Every chosen read-out that sits on an end of its grid (the grid may have cut the choice)."""
    lines = ["## Read-outs chosen on a grid end", "",
             "A choice on the smallest or largest finite value of a read-out grid may have been cut by the grid; "
             "every such choice is listed (protocol: data set, seeds).", ""]
    found = False
    for protocol, by_dataset in table.items():
        for method, spec in specs.items():
            if spec.readouts is None:
                continue
            hits = []
            for dataset, row in by_dataset.items():
                if method in row:
                    chosen = [r for r in row[method]["temperatures"] if spec.at_grid_end(r)]
                    if chosen:
                        hits.append(f"{dataset} ({', '.join(sorted(set(chosen)))}: {len(chosen)} of "
                                    f"{len(row[method]['temperatures'])} seeds)")
            if hits:
                found = True
                lines.append(f"- {protocol}, {method}: " + "; ".join(hits))
    if not found:
        lines.append("- none")
    return lines + [""]


def write_report(table: dict, path, command: str, seeds, specs: dict, quick: bool = False,
                 total_seconds: Optional[float] = None, invocations: Optional[List[dict]] = None) -> str:
    """Markdown report of a ``{protocol: {dataset: {method: results}}}`` table beside the paper;
    ``specs`` the method specifications (their grids are rendered from them). ``invocations``:
    the commands that computed runs (``read_invocations``)."""
    lines = _header_lines(table, command, seeds, specs, quick, total_seconds, invocations)
    lines += _protocol_lines(table, paper_figures())
    lines += _beyond_lines(table)
    lines += _grid_end_lines(table, specs)
    text = "\n".join(lines)
    write_atomic(path, text)  # a kill mid-write leaves the old report whole
    return text


def _header_lines(table, command, seeds, specs, quick, total_seconds, invocations) -> List[str]:
    """What was run, how and on what: the report's opening."""
    lines = [
        "# lib_tf benchmark: LE methods on the LIB paper's data sets and beyond", "",
        f"Command: `{command}`  ",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
        f"seeds {list(seeds)}{' (quick mode: one grid point for LIB, LA-LIB and LESC, no gLESC or LEVI)' if quick else ''}.",
        "", "Protocols (each table says which):",
        *[f"- **{protocol}**: {PROTOCOL_TEXT[protocol]}." for protocol in table], "",
        "Grids searched (reduced from the papers' to fit the time budget):",
        *[f"- {name}: {spec.describe_grid()}" for name, spec in specs.items()], "",
        "Not the paper's: **LIB+l** reads the same LIB fits out with each instance's logical labels; **LA-LIB** is "
        "LIB whose posterior reads the logical labels too (`lib_tf.LabelAwareLIB`), read out with them and moved "
        "into the binarisation rule's interval; **rule(softmax(l/T))** is the label softmax moved into that "
        "interval (the feature-free reference for LA-LIB). KL is KL(D || D_hat) (truth first); the paper's KL "
        "column was computed the other way for at least the classic baselines (see BASELINES.md).", "",
        "`mean±std` over seeds; methods without randomness run once. `paper LIB` is the paper's Table 2.", "",
    ]
    if total_seconds is not None:
        lines += [f"Fit time of every run this report draws on (all grid points, seeds and protocols; "
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
    return lines


def _protocol_lines(table, paper) -> List[str]:
    """Per protocol, the paper's data sets: metric tables, ranks, cell counts, fit times and the
    differences from the paper; then how far each method falls from paper to blind and zero-truth."""
    lines = []
    ranks_by_protocol = {}
    for protocol, by_dataset in table.items():
        in_paper, _ = split_table(by_dataset)
        if not in_paper:
            continue
        methods = list(next(iter(in_paper.values())))
        ranks = ranks_by_protocol[protocol] = {metric: rank_table(in_paper, metric) for metric in METRIC_NAMES}
        lines += [f"## Protocol: {protocol}", ""]
        lines += _metric_tables(in_paper, methods, ranks, paper)
        lines += _rank_summary(ranks, methods, "Average ranks (ours; the paper's own ranks are over its 8 methods only)")
        lines += _cell_count_lines(in_paper, paper, methods, protocol) + [""]
        seconds = {m: sum(sum(r[m]["seconds"]) for r in in_paper.values()) for m in methods}
        lines += ["Fit time over the runs reported here (seconds): " +
                  ", ".join(f"{m} {seconds[m]:.0f}" for m in methods), ""]
        if protocol == "paper":
            lines += _paper_difference_lines(in_paper, paper, methods)
    for protocol in ("blind", "zero-truth", "self"):
        if "paper" in ranks_by_protocol and protocol in ranks_by_protocol:
            lines += _fall_lines(table, ranks_by_protocol, protocol)
    return lines + _self_against_blind_lines(table)


#: The references a truth-free result must beat though they see 10% of the truth.
BLIND_REFERENCES = (LABEL_SOFTMAX, "rule(softmax(l/T))")
#: How close to its own blind KL a truth-free result counts as "as good as 10% of truth".
WITHIN_BLIND = 0.05


def _self_against_blind_lines(table) -> List[str]:
    """The user's situation: each counted method under ``self`` (no truth) against the feature-free
    references under ``blind`` (10% truth) cell by cell, and against its own blind KL."""
    if "self" not in table or "blind" not in table:
        return []
    lines = ["## No truth against 10% of truth (self against blind)", "",
             "Each row's method chosen by the truth-free criterion (`self`) against the references chosen on a "
             "revealed 10% (`blind`), cells strictly better at 3 decimals; and the data sets where its `self` KL "
             f"is within {WITHIN_BLIND:.0%} of its own `blind` KL.", ""]
    for name in COUNTED:
        for part, rows in zip(("paper data sets", "beyond the paper"), zip(split_table(table["self"]), split_table(table["blind"]))):
            self_rows, blind_rows = rows
            datasets = [d for d in self_rows if name in self_rows[d] and d in blind_rows]
            if not datasets:
                continue
            mine = _mean_of(self_rows, name)
            counts = []
            for reference in BLIND_REFERENCES:
                if all(reference in blind_rows[d] for d in datasets):
                    cells = compare_cells(datasets, mine, _mean_of(blind_rows, reference))
                    counts.append(f"{reference} (blind): better on **{cells.better} of {cells.cells}**")
            close = [d for d in datasets if mine(d, "Kullback-Leibler")
                     <= (1 + WITHIN_BLIND) * blind_rows[d][name]["mean"]["Kullback-Leibler"]]
            lines.append(f"- {name} (self), {part}: " + "; ".join(counts) + f"; KL within {WITHIN_BLIND:.0%} of its blind "
                         f"KL on **{len(close)} of {len(datasets)}** ({', '.join(close) or 'none'}).")
            lines += _scale_split_lines(name, datasets, self_rows, blind_rows)
    return lines + [""]


def _scale_split_lines(name, datasets, self_rows, blind_rows) -> List[str]:
    """The counts above split by whether the data set's logical labels pin the truth's sharpness
    (``scale_identified`` of the self choice), beside the same counts for the method's own blind
    result: where the labels cannot tell the sharpness only the posterior's prior sets it, so
    blind's count there is what 10% of truth buys and a truth-free choice matches only where
    that prior's guess happens to be right."""
    flags = {d: self_rows[d][name].get("scale_identified") for d in datasets}
    if None in flags.values() or all(flags.values()):
        return []
    lines = []
    for identified, words in ((True, "pin the truth's sharpness"), (False, "cannot tell it (only a prior sets it)")):
        group = [d for d in datasets if flags[d] == identified]
        if not group:
            continue
        counts = []
        for reference in BLIND_REFERENCES:
            if all(reference in blind_rows[d] for d in group):
                theirs = _mean_of(blind_rows, reference)
                own, blind = (compare_cells(group, _mean_of(rows, name), theirs) for rows in (self_rows, blind_rows))
                counts.append(f"{reference} (blind): self better on {own.better} of {own.cells}, "
                              f"blind {name} on {blind.better}")
        lines.append(f"  - sets whose logical labels {words} ({len(group)}: {', '.join(group)}): " + "; ".join(counts) + ".")
    return lines


def _beyond_lines(table) -> List[str]:
    """The data sets outside the paper's table, every protocol."""
    lines = []
    beyond = {protocol: split_table(by_dataset)[1] for protocol, by_dataset in table.items()}
    if any(beyond.values()):
        lines += ["## Beyond the paper", "",
                  "Data sets outside the paper's table (no paper figures), every method, every protocol; ranks over "
                  "these data sets only.", ""]
        for protocol, by_dataset in beyond.items():
            if not by_dataset:
                continue
            methods = list(next(iter(by_dataset.values())))
            ranks = {metric: rank_table(by_dataset, metric) for metric in METRIC_NAMES}
            lines += [f"### Beyond the paper, protocol: {protocol}", ""]
            lines += [line.replace("### ", "#### ", 1) if line.startswith("### ") else line
                      for line in _metric_tables(by_dataset, methods, ranks, None)]
            lines += [line.replace("### ", "#### ", 1) if line.startswith("### ") else line
                      for line in _rank_summary(ranks, methods, f"Average ranks beyond the paper ({protocol})")]
            lines += _cell_count_lines(by_dataset, None, methods, protocol) + [""]
    return lines
