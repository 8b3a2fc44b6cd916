"""``lib-tf benchmark``: run the benchmark, draw its pictures and write its report."""
from __future__ import annotations

import shlex
import sys
import time
from pathlib import Path

from .._files import append_json_line
from ..data import EXTRA_DATASETS, PAPER_DATASETS
from .figures import draw_figures
from .methods import default_methods
from .protocols import PROTOCOLS, Benchmark
from .report import write_report
from .store import INVOCATIONS_FILE, read_invocations

QUICK_DATASETS = ("SJAFFE", "Yeast_spo5")


def add_benchmark_parser(subparsers):
    parser = subparsers.add_parser("benchmark", help="methods x data sets x seeds, ranks, report and pictures",
                                   description="Methods x data sets x seeds under three protocols, with ranks, "
                                               "a report and pictures; resumable (finished runs are kept).")
    parser.add_argument("--methods", nargs="*", help="default: every method of the table")
    parser.add_argument("--datasets", nargs="*", help="names or .mat paths (default: the paper's 13 and "
                                                      f"{', '.join(EXTRA_DATASETS)}; quick: {', '.join(QUICK_DATASETS)})")
    parser.add_argument("--seeds", nargs="*", type=int, help="default 0 1 2 3 4 (quick: 0 1)")
    parser.add_argument("--protocols", nargs="*", choices=PROTOCOLS, default=list(PROTOCOLS))
    parser.add_argument("--quick", action="store_true", help="two small data sets, reduced grids and budgets (CI)")
    parser.add_argument("--out", default="benchmarks/results", help="folder for runs.jsonl, REPORT.md, figures/")
    parser.add_argument("--no-figures", action="store_true", help="skip the pictures")
    parser.set_defaults(func=run_benchmark_command)
    return parser


def run_benchmark_command(args) -> int:
    methods = default_methods(quick=args.quick)
    unknown = sorted(set(args.methods or []) - set(methods))
    if unknown:
        raise ValueError(f"--methods: unknown {unknown}; choose from {list(methods)}")
    if args.methods:
        methods = {name: methods[name] for name in args.methods}
    datasets = args.datasets or (QUICK_DATASETS if args.quick else PAPER_DATASETS + EXTRA_DATASETS)
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
    used = {(name, data) for by_dataset in table.values() for data in by_dataset for name in methods}
    total = sum(run["seconds"] for run in bench.store.runs.values() if (run["method"], run["dataset"]) in used)
    invocation = {"command": command, "finished": time.strftime("%Y-%m-%dT%H:%M:%S"), "computed": len(bench.computed_keys),
                  "reused": len(bench.reused_keys), "wall_seconds": time.perf_counter() - start}
    log = Path(args.out) / INVOCATIONS_FILE
    if invocation["computed"]:  # a rerun that only rewrites the report keeps the history as it is
        append_json_line(log, invocation)
    text = write_report(table, report, command, seeds, methods, quick=args.quick, total_seconds=total,
                        invocations=read_invocations(log))
    summary = [line for line in text.splitlines() if line.startswith(("- LIB", "- LA-LIB"))]
    print("\n".join(summary))
    print(f"{invocation['computed']} runs computed, {invocation['reused']} reused; "
          f"{invocation['wall_seconds']:.0f} s; wrote {report}")
    return 0
