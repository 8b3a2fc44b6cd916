"""``lib-tf benchmark``: run the benchmark, draw its pictures and write its report
(:func:`lib_tf.benchmark.run.run_benchmark`)."""
from __future__ import annotations

import shlex
import sys

from ..benchmark.protocols import PROTOCOLS
from ..benchmark.run import QUICK_DATASETS
from ..data import EXTRA_DATASETS


def add_benchmark_parser(subparsers):
    """Register ``lib-tf benchmark`` on the ``lib-tf`` sub-command parsers."""
    parser = subparsers.add_parser("benchmark", help="methods x data sets x seeds, ranks, report and pictures",
                                   description="Methods x data sets x seeds under four protocols, with ranks, "
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
    """Run ``lib-tf benchmark``: parse, run, print."""
    from ..benchmark.run import run_benchmark

    arguments = " ".join(shlex.quote(a) for a in sys.argv[1:])
    command = f"lib-tf {arguments}" if sys.argv[0].endswith("lib-tf") else f"python -m lib_tf.cli {arguments}"
    session = run_benchmark(args.out, command, methods=args.methods, datasets=args.datasets, seeds=args.seeds,
                            protocols=args.protocols, quick=args.quick, figures=not args.no_figures)
    for path in session.figures:
        print(f"wrote {path}")
    summary = [line for line in session.report_text.splitlines() if line.startswith(("- LIB", "- LA-LIB"))]
    print("\n".join(summary))
    print(f"{session.computed} runs computed, {session.reused} reused; {session.wall_seconds:.0f} s; wrote {session.report}")
    return 0
