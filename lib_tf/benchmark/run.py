"""One benchmark session: run (or reuse) the runs, draw the pictures, write the report and
log the invocation; what ``lib-tf benchmark`` runs (:func:`run_benchmark`)."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from .._files import append_json_line
from ..data import EXTRA_DATASETS, PAPER_DATASETS
from .figures import draw_figures
from .methods import default_methods
from .protocols import PROTOCOLS, Benchmark
from .report import write_report
from .store import INVOCATIONS_FILE, read_invocations

QUICK_DATASETS = ("SJAFFE", "Yeast_spo5")


@dataclass
class BenchmarkSession:
    """What :func:`run_benchmark` did.

    Attributes
    ----------
    report : Path
        ``REPORT.md``.
    report_text : str
        Its contents.
    figures : list of Path
        The pictures drawn.
    computed, reused : int
        Runs computed by this session, and finished runs it read from the store.
    wall_seconds : float
        Wall time of the session.
    """

    report: Path
    report_text: str
    figures: list = field(default_factory=list)
    computed: int = 0
    reused: int = 0
    wall_seconds: float = 0.0


def run_benchmark(out, command: str, methods=None, datasets=None, seeds=None, protocols=PROTOCOLS, quick: bool = False,
                  figures: bool = True) -> BenchmarkSession:
    """Methods x data sets x seeds under the protocols, resumable (finished runs are kept).

    Parameters
    ----------
    out : path
        Folder of ``runs.jsonl``, ``invocations.jsonl``, ``REPORT.md`` and ``figures/``.
    command : str
        The command line, recorded in the report and the invocation log.
    methods : list of str, optional
        Names from :func:`~lib_tf.benchmark.default_methods` (default: all).
    datasets : list of str, optional
        Names or .mat paths (default: the paper's 13 and the extra ones; quick: two small ones).
    seeds : list of int, optional
        Default 0 1 2 3 4 (quick: 0 1).
    protocols : sequence of str
        From :data:`~lib_tf.benchmark.PROTOCOLS`.
    quick : bool
        Two small data sets, reduced grids and budgets (CI).
    figures : bool
        Draw the pictures (before the report, so that its wall time includes their fits).

    Returns
    -------
    BenchmarkSession
    """
    table_of_methods = default_methods(quick=quick)
    unknown = sorted(set(methods or []) - set(table_of_methods))
    if unknown:
        raise ValueError(f"--methods: unknown {unknown}; choose from {list(table_of_methods)}")
    if methods:
        table_of_methods = {name: table_of_methods[name] for name in methods}
    datasets = datasets or (QUICK_DATASETS if quick else PAPER_DATASETS + EXTRA_DATASETS)
    seeds = seeds if seeds else ([0, 1] if quick else [0, 1, 2, 3, 4])
    bench = Benchmark(out, table_of_methods, datasets, seeds)
    start = time.perf_counter()
    table = bench.run(protocols)
    report = Path(out) / "REPORT.md"
    drawn = list(draw_figures(bench, table, Path(out) / "figures", sensitivity=not quick)) if figures else []
    used = {(name, data) for by_dataset in table.values() for data in by_dataset for name in table_of_methods}
    total = sum(run["seconds"] for run in bench.store.runs.values() if (run["method"], run["dataset"]) in used)
    invocation = {"command": command, "finished": time.strftime("%Y-%m-%dT%H:%M:%S"), "computed": len(bench.computed_keys),
                  "reused": len(bench.reused_keys), "wall_seconds": time.perf_counter() - start}
    log = Path(out) / INVOCATIONS_FILE
    if invocation["computed"]:  # a rerun that only rewrites the report keeps the history as it is
        append_json_line(log, invocation)
    text = write_report(table, report, command, seeds, table_of_methods, quick=quick, total_seconds=total,
                        invocations=read_invocations(log))
    return BenchmarkSession(report, text, drawn, invocation["computed"], invocation["reused"], invocation["wall_seconds"])
